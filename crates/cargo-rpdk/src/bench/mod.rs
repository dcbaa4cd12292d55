//! `cargo rpdk bench`: cold start and peak memory of each handler as built for Lambda, through
//! a real local Lambda runtime API (`cargo lambda watch --only-lambda-apis`).
//!
//! Each run starts the `bootstrap` binary afresh and sends it one registry request that the
//! framework answers without calling AWS for the resource, so the time covers process start,
//! runtime and logging set-up, schema emission, one poll of the runtime API, decode, dispatch,
//! encode and the posted response. Three requests: a READ without an identifier (`NotFound`);
//! a CREATE with an unknown property, refused by the schema validator it builds first
//! (`InvalidRequest`); and the READ again with provider logging on, so the time also covers
//! delivering the logs and metrics to a local moto. Peak RSS is the kernel's high-water mark of
//! the process (`VmHWM`) once it has answered.
//!
//! Then, on a local stack serving the same builds, a READ of a real resource of each type, cold
//! and warm ([`reads`]).
//!
//! `--beside-python` times a READ of a real role beside the official Python plugin's version of
//! it instead (contract-tests/python-plugin/compare.py).

mod reads;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use rpdk::Action;
use rpdk::wire::HandlerRequest;
use rpdk_local::process::{free_port, start_all, stop};
use rpdk_local::{ACCOUNT_ID, Call, REGION};
use serde_json::json;

use crate::package::{Arch, build_for_lambda};
use crate::project::Project;
use crate::stack;
use crate::tools::Tools;

/// Options of `cargo rpdk bench`.
#[derive(clap::Args)]
pub struct Options {
    /// Cold starts per handler and request; a real resource's READ is also timed five times
    /// as often in one warm process.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Instead, time Rpdk::IAM::CrossAccountRole's READ of a real role beside the official
    /// Python plugin's version of it (contract-tests/python-plugin), cold and warm, and print
    /// the ratios.
    #[arg(long)]
    pub beside_python: bool,
}

/// The function name `cargo lambda watch --only-lambda-apis` serves.
const FUNCTION: &str = "_";

pub fn run(options: &Options) -> Result<()> {
    ensure!(options.runs > 0, "--runs must be at least 1");
    let project = Project::discover()?;
    let tools = Tools::ensure(&project)?;
    let lambda_dir = build_for_lambda(&project, &tools, Arch::X86_64)?;

    let logs = project.work_dir()?.join("logs");
    std::fs::create_dir_all(&logs)?;
    let setup = stack::setup(&project, &tools, &lambda_dir)?;
    let (port, moto_port) = (free_port()?, free_port()?);
    let mut processes = start_all(
        vec![setup.lambda_api(port, "bench-runtime-api.log"), setup.moto(moto_port, "bench-moto.log")],
        &logs,
    )?;
    let moto_url = format!("http://127.0.0.1:{moto_port}");
    let outcome = if options.beside_python {
        beside_python(&project, &tools, &lambda_dir, port, &moto_url, options.runs)
    } else {
        measure_all(&project, &lambda_dir, port, &moto_url, options.runs)
    };
    processes.iter_mut().for_each(stop);
    outcome?;
    if options.beside_python { Ok(()) } else { reads::measure(&project, &tools, &lambda_dir, options.runs) }
}

/// One kind of cold invocation measured for every type.
struct Scenario {
    name: &'static str,
    /// The request for a type.
    request: fn(&str) -> HandlerRequest,
    /// The error code the answer must carry: each scenario is answered without calling AWS
    /// for the resource itself.
    answer: &'static str,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "READ",
        request: |type_name| Call::new(FUNCTION, type_name, Action::Read, Some(json!({})), None).request(),
        answer: "NotFound",
    },
    Scenario {
        name: "CREATE refused by the schema",
        request: |type_name| {
            Call::new(FUNCTION, type_name, Action::Create, Some(json!({"NotAProperty": 1})), None).request()
        },
        answer: "InvalidRequest",
    },
    Scenario {
        name: "READ with provider logs and metrics",
        request: |type_name| {
            let call = Call {
                logical_id: "Bench".to_owned(),
                stack_id: Some(format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/bench/1")),
                ..Call::new(FUNCTION, type_name, Action::Read, Some(json!({})), None)
            };
            let mut request = call.request();
            request.request_data.provider_log_group_name = Some("rpdk-bench-logs".to_owned());
            request.request_data.provider_credentials = Some(rpdk::Credentials {
                access_key_id: "AKIDBENCH".to_owned(),
                secret_access_key: "bench".to_owned(),
                session_token: Some("bench".to_owned()),
            });
            request
        },
        answer: "NotFound",
    },
];

fn measure_all(project: &Project, lambda_dir: &std::path::Path, port: u16, moto_url: &str, runs: usize) -> Result<()> {
    let address = format!("http://127.0.0.1:{port}");
    let functions = rpdk_local::Functions::new(address.clone());

    for entry in &project.config.types {
        let type_name = project.type_name(entry);
        let bootstrap = lambda_dir.join(&entry.binary).join("bootstrap");
        for scenario in &SCENARIOS {
            let request = (scenario.request)(&type_name);
            let mut starts = Vec::with_capacity(runs);
            let mut peak_kib = 0;
            for _ in 0..runs {
                let mut command = Command::new(&bootstrap);
                command
                    .env("AWS_LAMBDA_RUNTIME_API", format!("{address}/.rt"))
                    .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                    .env("AWS_ENDPOINT_URL", moto_url);
                let cold = cold_start(command, || Ok(functions.invoke(FUNCTION, &request)?))?;
                ensure!(
                    cold.answer["errorCode"] == scenario.answer,
                    "{type_name}, {}: unexpected answer {}",
                    scenario.name,
                    cold.answer
                );
                starts.push(cold.took);
                peak_kib = peak_kib.max(cold.peak_kib);
            }
            starts.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "{type_name}, {}: process start to first response {:.1} ms median, {:.1} ms p90, {:.1} ms max over {runs} cold starts; peak RSS {:.1} MiB",
                scenario.name,
                ms(starts[runs / 2]),
                ms(starts[(runs * 9 / 10).min(runs - 1)]),
                ms(starts[runs - 1]),
                peak_kib as f64 / 1024.0
            );
        }
    }
    Ok(())
}

/// Runs contract-tests/python-plugin/compare.py in an environment of its own, with the Python
/// plugin's runtime library and Lambda's Python runtime interface client installed.
fn beside_python(
    project: &Project,
    tools: &Tools,
    lambda_dir: &std::path::Path,
    port: u16,
    moto_url: &str,
    runs: usize,
) -> Result<()> {
    let dir = project.root.join("contract-tests").join("python-plugin");
    let requirements = dir.join("requirements.txt");
    tools.ensure_environment("python-plugin", &requirements, std::slice::from_ref(&requirements), None)?;
    let status = Command::new(tools.bin("python-plugin", "python"))
        .arg(dir.join("compare.py"))
        .arg("--bootstrap")
        .arg(lambda_dir.join("cross-account-role").join("bootstrap"))
        .args(["--runtime-api", &format!("http://127.0.0.1:{port}"), "--moto", moto_url, "--runs", &runs.to_string()])
        .status()
        .context("cannot run compare.py")?;
    ensure!(status.success(), "compare.py failed ({status})");
    Ok(())
}

/// One process started for one invocation.
struct Cold<T> {
    /// What it answered.
    answer: T,
    /// From its start to its answer.
    took: Duration,
    /// Its peak resident set size once it had answered.
    peak_kib: u64,
}

/// Starts `command` (see [`start`]), sends it one invocation by `invoke`, and stops it.
fn cold_start<T>(command: Command, invoke: impl FnOnce() -> Result<T>) -> Result<Cold<T>> {
    let started = Instant::now();
    let mut process = start(command)?;
    let answer = invoke();
    let took = started.elapsed();
    let peak_kib = high_water_mark_kib(process.id());
    stop(&mut process);
    Ok(Cold { answer: answer?, took, peak_kib: peak_kib? })
}

/// Starts a handler's bootstrap in a process group of its own (which `stop` ends), its output
/// dropped.
fn start(mut command: Command) -> Result<Child> {
    let program = PathBuf::from(command.get_program());
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}; run `cargo rpdk package` first", program.display()))
}

/// The process's peak resident set size so far, from `/proc/<pid>/status`.
fn high_water_mark_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc status")
}
