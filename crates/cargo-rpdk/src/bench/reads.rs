//! A READ of a real resource of each type, cold and warm. On a local stack serving the Lambda
//! builds, each type's resource is made from its contract-test fixtures (`bench.json` where the
//! type has one, else `inputs/inputs_1_create.json`), then read with the request CloudFormation
//! sends: the model as made, its primitives as strings, `callerCredentials`. Cold: a fresh
//! process per READ, from its start to its answer. Warm: one process answering READ after READ,
//! each timed from the request to the answer. The resource is deleted after.
//!
//! The processes call moto directly, not through the stack's fault proxy, and hold their
//! function's role as Lambda gives it (`Stack::function_command`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rpdk::Action;
use rpdk_local::process::stop;
use rpdk_local::{ACCOUNT_ID, Call, REGION, Stack, new_token, stringified};
use serde_json::Value;

use super::{FUNCTION, cold_start, high_water_mark_kib, start};
use crate::project::{Project, TypeEntry};
use crate::stack;
use crate::test::{placeholders, render};
use crate::tools::Tools;

/// Warm READs per cold one: a warm READ is short, and its spread wants more samples.
const WARM_PER_COLD: usize = 5;

/// How long making or deleting a bench resource may take.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(300);

/// Measures every type's READ; prints a line per type.
pub fn measure(project: &Project, tools: &Tools, lambda_dir: &Path, runs: usize) -> Result<()> {
    let bin_dir = bootstraps_by_binary(project, lambda_dir)?;
    eprintln!("bench: starting a local stack serving the Lambda builds, for a READ of a real resource of each type");
    let stack = Stack::start(&stack::setup(project, tools, &bin_dir)?)?;
    for entry in &project.config.types {
        let resource = Resource::create(project, tools, &stack, entry)?;
        let measured = resource.read(&stack, &bin_dir.join(&entry.binary), runs);
        let deleted = resource.delete(&stack);
        println!("{}", measured?);
        deleted?;
    }
    Ok(())
}

/// `<work dir>/bench-bin/<binary>`, each the Lambda build's `bootstrap` of that binary: the
/// layout a [`Stack`] starts its handlers from.
fn bootstraps_by_binary(project: &Project, lambda_dir: &Path) -> Result<PathBuf> {
    let dir = project.work_dir()?.join("bench-bin");
    std::fs::create_dir_all(&dir)?;
    for (_, binary) in project.all_binaries() {
        let link = dir.join(binary);
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link)?;
        }
        std::os::unix::fs::symlink(lambda_dir.join(binary).join("bootstrap"), &link)
            .with_context(|| format!("cannot link {}", link.display()))?;
    }
    Ok(dir)
}

/// A resource made for the benchmark, as its CREATE answered it.
struct Resource {
    type_name: String,
    binary: String,
    type_configuration: Option<Value>,
    stack_id: String,
    model: Value,
}

impl Resource {
    /// Makes a resource of `entry`'s type from its fixtures, as a stack would.
    fn create(project: &Project, tools: &Tools, stack: &Stack, entry: &TypeEntry) -> Result<Self> {
        let type_name = project.type_name(entry);
        let values = placeholders(project, tools, stack, entry)?;
        let fixtures = project.fixture_dir(entry);
        let rendered = |path: &Path| -> Result<Value> {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(serde_json::from_str(&render(&text, &values, path)?)?)
        };
        let bench = fixtures.join("bench.json");
        let desired =
            rendered(&if bench.is_file() { bench } else { fixtures.join("inputs").join("inputs_1_create.json") })?;
        let type_configuration = Some(fixtures.join("typeconfig.json")).filter(|p| p.is_file()).map(|p| rendered(&p));
        let mut resource = Self {
            type_name,
            binary: entry.binary.clone(),
            type_configuration: type_configuration.transpose()?,
            stack_id: format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/rpdk-bench/{}", new_token()),
            model: Value::Null,
        };
        resource.model = resource.operate(stack, Action::Create, desired)?;
        Ok(resource)
    }

    /// One operation on the resource as the stack's CloudFormation sends it, followed to its
    /// end; the model it answers.
    fn operate(&self, stack: &Stack, action: Action, model: Value) -> Result<Value> {
        let call = Call { timeout: OPERATION_TIMEOUT, ..self.call(action, model) };
        let event = rpdk_deploy::operate(stack, &call, &mut |_| Ok(()))?;
        if event["status"] != "SUCCESS" {
            bail!("{} of {}: {}", action.as_str(), self.type_name, event);
        }
        Ok(event["resourceModel"].clone())
    }

    fn call(&self, action: Action, model: Value) -> Call {
        Call {
            logical_id: "Bench".to_owned(),
            stack_id: Some(self.stack_id.clone()),
            type_configuration: self.type_configuration.clone(),
            system_tags: BTreeMap::from([
                ("aws:cloudformation:stack-name".to_owned(), "rpdk-bench".to_owned()),
                ("aws:cloudformation:stack-id".to_owned(), self.stack_id.clone()),
                ("aws:cloudformation:logical-id".to_owned(), "Bench".to_owned()),
            ]),
            ..Call::new(&self.binary, &self.type_name, action, Some(model), None)
        }
    }

    /// Times `runs` cold READs and `runs` × [`WARM_PER_COLD`] warm ones of `bootstrap`; the
    /// line that says how long they took.
    fn read(&self, stack: &Stack, bootstrap: &Path, runs: usize) -> Result<String> {
        let mut request = self.call(Action::Read, stringified(&self.model)).request();
        request.request_data.caller_credentials = Some(stack.fresh_credentials(&self.type_name)?);
        let payload = serde_json::to_vec(&request)?;
        // The processes timed here take the invocations of the endpoint's default function,
        // which none of the stack's own handlers polls.
        let command = || -> Result<Command> {
            let mut command = stack.function_command(bootstrap, &self.binary, &stack.described.moto_url)?;
            command
                .env("AWS_LAMBDA_RUNTIME_API", format!("{}/.rt", stack.described.lambda_url))
                .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION);
            Ok(command)
        };
        let read = || -> Result<String> {
            let answer = stack.functions.invoke_bytes(FUNCTION, &payload)?;
            let event: Value = serde_json::from_str(&answer)?;
            if event["status"] != "SUCCESS" {
                bail!("READ of {}: {answer}", self.type_name);
            }
            Ok(answer)
        };

        let (mut colds, mut cold_peak_kib) = (Vec::with_capacity(runs), 0);
        for _ in 0..runs {
            let cold = cold_start(command()?, read)?;
            colds.push(cold.took);
            cold_peak_kib = cold_peak_kib.max(cold.peak_kib);
        }

        let mut process = start(command()?)?;
        let warm = (|| -> Result<(Vec<Duration>, u64)> {
            read()?;
            let mut times = Vec::with_capacity(runs * WARM_PER_COLD);
            for _ in 0..runs * WARM_PER_COLD {
                let started = Instant::now();
                read()?;
                times.push(started.elapsed());
            }
            Ok((times, high_water_mark_kib(process.id())?))
        })();
        stop(&mut process);
        let (mut warms, warm_peak_kib) = warm?;
        let mib = |kib: u64| kib as f64 / 1024.0;
        Ok(format!(
            "{}, READ of a real resource ({} B request, {} B model): cold {} over {runs}; warm {} over {}; peak RSS {:.1} MiB cold, {:.1} MiB warm",
            self.type_name,
            payload.len(),
            self.model.to_string().len(),
            spread(&mut colds),
            spread(&mut warms),
            warms.len(),
            mib(cold_peak_kib),
            mib(warm_peak_kib),
        ))
    }

    /// Deletes the resource, as its stack's delete would.
    fn delete(&self, stack: &Stack) -> Result<()> {
        self.operate(stack, Action::Delete, self.model.clone()).map(drop)
    }
}

/// `min a / median b / max c ms` of `times`.
fn spread(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    match (times.first(), times.get(times.len() / 2), times.last()) {
        (Some(min), Some(median), Some(max)) => {
            format!("min {:.1} / median {:.1} / max {:.1} ms", ms(min), ms(median), ms(max))
        }
        _ => "no runs".to_owned(),
    }
}
