//! The local stack: moto server and `cargo lambda watch` serving the handlers, on free
//! loopback ports, stopped by process group when dropped.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::project::Project;
use crate::tools::Tools;

/// The account moto answers for.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region of every local run.
pub const REGION: &str = "us-east-1";

/// A running local stack.
pub struct Stack {
    pub moto_url: String,
    pub lambda_url: String,
    /// Where the handlers record the AWS operations they call.
    pub record_file: PathBuf,
    children: Vec<Child>,
    agent: ureq::Agent,
}

impl Stack {
    /// Starts moto and the handlers; returns once every handler answers.
    pub fn start(project: &Project, tools: &Tools) -> Result<Self> {
        let logs = project.work_dir()?.join("logs");
        std::fs::create_dir_all(&logs)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        let moto_port = free_port()?;
        let lambda_port = free_port()?;
        let record_file = project.work_dir()?.join("recorded-calls.txt");
        std::fs::write(&record_file, "")?;
        let mut stack = Self {
            moto_url: format!("http://127.0.0.1:{moto_port}"),
            lambda_url: format!("http://127.0.0.1:{lambda_port}"),
            record_file,
            children: Vec::new(),
            agent,
        };

        let moto = Command::new(tools.bin("moto", "moto_server"))
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .stdout(log_file(&logs, "moto.log")?)
            .stderr(log_file(&logs, "moto.log")?)
            .process_group(0)
            .spawn()
            .context("cannot start moto_server")?;
        stack.children.push(moto);
        stack.wait_until("moto", Duration::from_secs(60), |s| {
            s.agent.get(format!("{}/moto-api/data.json", s.moto_url)).call().is_ok_and(|r| r.status().is_success())
        })?;

        let watch = Command::new(tools.bin("lambda", "cargo-lambda"))
            .args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &lambda_port.to_string()])
            .args(["--env-var", &format!("AWS_ENDPOINT_URL={}", stack.moto_url)])
            .args(["--env-var", &format!("RPDK_RECORD_CALLS={}", stack.record_file.display())])
            .current_dir(&project.root)
            .env("PATH", tools.path_with("lambda"))
            .stdout(log_file(&logs, "lambda.log")?)
            .stderr(log_file(&logs, "lambda.log")?)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .context("cannot start cargo lambda watch")?;
        stack.children.push(watch);
        for entry in project.binaries() {
            // The first invocation compiles (a no-op after the harness's own build) and starts
            // the function; an empty payload answers at once with a FAILED event.
            stack.wait_until(&entry.binary, Duration::from_secs(900), |s| {
                s.invoke(&entry.binary, &serde_json::json!({})).is_ok_and(|event| event.get("status").is_some())
            })?;
        }
        Ok(stack)
    }

    /// Invokes a handler once and returns its JSON answer.
    pub fn invoke(&self, function: &str, payload: &Value) -> Result<Value> {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.lambda_url);
        let mut response = self.agent.post(&url).send_json(payload)?;
        let status = response.status();
        let body = response.body_mut().read_to_string()?;
        if !status.is_success() {
            bail!("invoke {function}: HTTP {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("invoke {function}: not JSON: {body}"))
    }

    fn wait_until(&mut self, what: &str, limit: Duration, ready: impl Fn(&Self) -> bool) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if ready(self) {
                eprintln!("stack: {what} ready after {:.1} s", start.elapsed().as_secs_f64());
                return Ok(());
            }
            for child in &mut self.children {
                if let Some(status) = child.try_wait()? {
                    bail!("waiting for {what}: a stack process ended ({status}); see .rpdk/logs/");
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        bail!("{what} did not become ready within {} s; see .rpdk/logs/", limit.as_secs())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Each child leads its own process group: stop it with everything it started.
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn log_file(dir: &std::path::Path, name: &str) -> Result<File> {
    Ok(File::options().create(true).append(true).open(dir.join(name))?)
}
