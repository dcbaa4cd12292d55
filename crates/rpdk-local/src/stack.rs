//! The local stack: moto server, scim2-server, and the handlers behind the Lambda runtime API of
//! `cargo lambda watch --only-lambda-apis`, on free loopback ports, stopped by process group
//! when dropped. A second moto stands for CloudFormation's own S3 bucket of custom resource
//! responses. The handlers reach moto through the fault proxy (contract-tests/fault_proxy.py),
//! which passes every call through until a test asks it to stall or throttle some.
//!
//! A stack is started from a [`Setup`]: the emulators are a list of [`Spec`]s started by one
//! loop, then the run's principals are made, then each handler is started with its function
//! role. A stack outlives the command that started it by being described in a file
//! ([`StackDescription`]); later commands, and the native suite, attach to it by that file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rpdk::Credentials;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::admin::Admin;
use crate::process::{
    Probe, Spec, boot_id, free_port, group_alive, handed_on, run_secret, start_all, started_run_dir, stop, terminate,
    wait_until, write_private,
};
use crate::{ACCOUNT_ID, Error, Functions, REGION, ResponseBucket, StackDescription};

/// How long one handler invocation may work on the local stack: short, so waits that outlast
/// one reach IN_PROGRESS and resume within a test's time.
pub const INVOCATION_SECONDS: u64 = 15;

/// What a stack is started from: where the project keeps things, and what it serves.
pub struct Setup {
    /// The project's root, where `cargo lambda watch` runs.
    pub root: PathBuf,
    /// The project's work directory (`.rpdk`): logs, the files of each start, locks.
    pub work_dir: PathBuf,
    /// The harness's scripts and configuration (`contract-tests/`).
    pub harness: PathBuf,
    /// The tools' virtual environments (`.tools/`), one per tool.
    pub tools: PathBuf,
    /// Where the handler binaries were built.
    pub bin_dir: PathBuf,
    /// Per type (or hook): its handler binary and the IAM actions its schema declares.
    pub types: BTreeMap<String, ServedType>,
}

/// A type the stack serves.
pub struct ServedType {
    /// Its handler binary, which is also the Lambda function's name.
    pub binary: String,
    /// The IAM actions its handlers declare.
    pub actions: BTreeSet<String>,
}

impl Setup {
    /// An executable of one tool environment.
    pub fn tool(&self, environment: &str, executable: &str) -> PathBuf {
        self.tools.join(environment).join("bin").join(executable)
    }

    fn harness_file(&self, name: &str) -> PathBuf {
        self.harness.join(name)
    }
}

/// A role of the run and a session of it.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// The role's ARN.
    pub role_arn: String,
    /// A session of it.
    pub credentials: Credentials,
}

/// The principals of a run (see contract-tests/principals.py).
#[derive(Deserialize, Serialize)]
pub struct Principals {
    /// Allowed everything: fixtures, and state prepared or inspected behind a handler's back.
    pub admin: Credentials,
    /// Per type: exactly the declared permissions.
    pub handlers: BTreeMap<String, Role>,
    /// Per handler binary: its execution role as a custom resource's function, with every
    /// permission its types declare.
    pub functions: BTreeMap<String, Role>,
    /// The role CloudFormation passes as `providerCredentials`: only the provider's own logs
    /// and metrics (absent from a stack started before it existed).
    #[serde(default)]
    pub provider: Option<Role>,
    /// No permissions at all.
    pub denied: Credentials,
}

/// A running local stack. moto enforces IAM: every caller needs the permissions it uses.
pub struct Stack {
    /// Its endpoints, files and processes, as its description file holds them.
    pub described: StackDescription,
    /// The run's principals.
    pub principals: Principals,
    /// The handlers, at the Lambda endpoint.
    pub functions: Functions,
    children: Vec<Child>,
    /// The process groups of a stack attached to rather than started here.
    attached_groups: Vec<u32>,
    agent: ureq::Agent,
}

impl Stack {
    /// Starts the emulators and the handlers of `setup`; returns once every handler answers.
    pub fn start(setup: &Setup) -> Result<Self, Error> {
        let logs = setup.work_dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(Error::file(&logs))?;
        let generation = run_secret();
        // Files of this start alone: a second stack (a test run beside a background stack)
        // has principals and a call record of its own.
        let run_dir = setup.work_dir.join("runs").join(&generation);
        std::fs::create_dir_all(&run_dir).map_err(Error::file(&run_dir))?;
        started_run_dir(&run_dir);
        let record_file = run_dir.join("recorded-calls.txt");
        std::fs::write(&record_file, "").map_err(Error::file(&record_file))?;
        let mut described = StackDescription {
            generation,
            record_file,
            principals_file: run_dir.join("principals.json"),
            scim_token: run_secret(),
            invocation_seconds: INVOCATION_SECONDS,
            ..StackDescription::default()
        };
        let emulators = Ports::free()?.emulators(setup, &mut described);
        let started =
            start_all(emulators, &logs).and_then(|mut children| match make_principals(setup, &described.moto_url) {
                Ok(principals) => Ok((children, principals)),
                Err(error) => {
                    children.iter_mut().for_each(stop);
                    Err(error)
                }
            });
        let (children, principals) = started.inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&run_dir);
        })?;
        write_private(&described.principals_file, &to_json(&principals)?)?;
        let mut stack = Self {
            functions: Functions::new(described.lambda_url.clone()),
            described,
            principals,
            children,
            attached_groups: Vec::new(),
            agent: agent(),
        };
        stack.response_bucket().create()?;
        for binary in setup.types.values().map(|served| &served.binary).collect::<BTreeSet<_>>() {
            stack.start_function(setup, binary, &logs)?;
        }
        let mut seed = Command::new(setup.tool("moto", "python"));
        seed.arg(setup.harness_file("local_values.py"));
        stack.admin_env(&mut seed);
        run(
            seed.stdout(Stdio::null()),
            "making the local stack's load balancer, SCIM URL and token (local_values.py)",
        )?;
        Ok(stack)
    }

    /// Starts one handler binary with its function role, as Lambda would.
    fn start_function(&mut self, setup: &Setup, binary: &str, logs: &Path) -> Result<(), Error> {
        let mut command = self.function_command(&setup.bin_dir.join(binary), binary, &self.described.faults_url)?;
        command
            .env("RPDK_RECORD_CALLS", &self.described.record_file)
            .env("RPDK_INVOCATION_SECONDS", INVOCATION_SECONDS.to_string());
        self.children.push(crate::process::spawn(command, binary, logs, &format!("{binary}.log"))?);
        // An empty payload answers at once with a FAILED event.
        let mut children = std::mem::take(&mut self.children);
        let functions = &self.functions;
        // Any answer of the protocol is ready: a resource type's event, or a hook's.
        let ready = || {
            functions
                .invoke(binary, &json!({}))
                .is_ok_and(|event| event.get("status").is_some() || event.get("hookStatus").is_some())
        };
        let outcome = wait_until(binary, &mut children, ready);
        self.children = children;
        outcome
    }

    /// The command that runs `program` (a build of `binary`) as this stack's Lambda function
    /// `binary`, as Lambda would: with its function role in its environment, its runtime API at
    /// this stack's Lambda endpoint, and AWS at `endpoint`.
    pub fn function_command(&self, program: &Path, binary: &str, endpoint: &str) -> Result<Command, Error> {
        // A custom resource's function calls AWS with its own execution role's credentials,
        // which Lambda puts in its environment.
        let role = &self
            .principals
            .functions
            .get(binary)
            .ok_or_else(|| Error::Principals(format!("no function role for {binary}")))?
            .credentials;
        let mut command = Command::new(program);
        command
            .env("AWS_ACCESS_KEY_ID", &role.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &role.secret_access_key)
            .env("AWS_SESSION_TOKEN", role.session_token.as_deref().unwrap_or_default())
            .env("AWS_REGION", REGION)
            .env("AWS_LAMBDA_RUNTIME_API", format!("{}/.rt/{binary}", self.described.lambda_url))
            .env("AWS_LAMBDA_FUNCTION_NAME", binary)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_ENDPOINT_URL", endpoint);
        Ok(command)
    }

    /// The stack described in `file`, attached to if every one of its processes still runs;
    /// else, with the description file held against other commands, one `start` starts and
    /// hands to the file. `start` runs only when no stack runs.
    pub fn shared<E: From<Error>>(file: &Path, start: impl FnOnce() -> Result<Self, E>) -> Result<Self, E> {
        // Two commands starting the stack at once would start two; the second waits and
        // attaches to the first's.
        let _starting = Self::hold(file)?;
        if let Some(stack) = Self::attach(file)? {
            return Ok(stack);
        }
        stop_described(file);
        eprintln!("stack: starting the local stack in the background (`cargo rpdk stop` ends it)");
        let mut stack = start()?;
        stack.save(file)?;
        // From here the processes belong to the file, not to this command.
        stack.attached_groups = stack.children.drain(..).map(|child| child.id()).collect();
        handed_on(&stack.attached_groups, &stack.described.principals_file);
        Ok(stack)
    }

    /// Holds the stack described in `file` against other commands starting or stopping it,
    /// until the answered file is dropped.
    pub fn hold(file: &Path) -> Result<File, Error> {
        let lock_file = file.with_extension("lock");
        let lock = File::create(&lock_file).map_err(Error::file(&lock_file))?;
        lock.lock().map_err(Error::file(&lock_file))?;
        Ok(lock)
    }

    /// Writes what attaching to this stack takes to `file`, readable by its owner only.
    pub fn save(&self, file: &Path) -> Result<(), Error> {
        let described = StackDescription {
            process_groups: self.children.iter().map(Child::id).chain(self.attached_groups.iter().copied()).collect(),
            boot_id: boot_id(),
            ..self.described.clone()
        };
        // Replaced whole, so an attaching command never reads half a description.
        let temporary = file.with_extension("json.new");
        write_private(&temporary, &to_json(&described)?)?;
        std::fs::rename(&temporary, file).map_err(Error::file(file))
    }

    /// The stack `file` describes, if every one of its processes is still running.
    pub fn attach(file: &Path) -> Result<Option<Self>, Error> {
        if !file.exists() {
            return Ok(None);
        }
        let described = StackDescription::read(file)?;
        if described.boot_id != boot_id() || !described.process_groups.iter().all(|group| group_alive(*group)) {
            return Ok(None);
        }
        let path = &described.principals_file;
        let text = std::fs::read_to_string(path).map_err(Error::file(path))?;
        let principals = serde_json::from_str(&text).map_err(|e| Error::Principals(e.to_string()))?;
        let stack = Self {
            functions: Functions::new(described.lambda_url.clone()),
            attached_groups: described.process_groups.clone(),
            described,
            principals,
            children: Vec::new(),
            agent: agent(),
        };
        // A connection, not a request of moto's state: a dump of it races with the calls the
        // stack is serving and can fail while moto runs well.
        let moto = stack.described.moto_url.trim_start_matches("http://").to_owned();
        Ok(std::net::TcpStream::connect(moto).is_ok().then_some(stack))
    }

    /// The environment of a Python tool acting as the stack's admin.
    pub fn admin_env<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("RPDK_MOTO_URL", &self.described.moto_url)
            .env("AWS_ACCESS_KEY_ID", &self.principals.admin.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.principals.admin.secret_access_key)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("RPDK_LAMBDA_URL", &self.described.lambda_url)
            .env("RPDK_CREDENTIALS", &self.described.principals_file)
            .env("RPDK_SCIM_URL", &self.described.scim_url)
            .env("RPDK_SCIM_TOKEN", &self.described.scim_token)
    }

    /// moto's API as the stack's admin: what the deploying user does outside the handlers.
    pub fn admin(&self) -> Admin<'_> {
        Admin { agent: &self.agent, endpoint: &self.described.moto_url, credentials: &self.principals.admin }
    }

    /// A new session of the role of `type_name`'s handlers, as CloudFormation passes one to
    /// every invocation.
    pub fn fresh_credentials(&self, type_name: &str) -> Result<Credentials, Error> {
        let role = self
            .principals
            .handlers
            .get(type_name)
            .ok_or_else(|| Error::Principals(format!("no handler role for {type_name}")))?;
        self.admin().assume_role(&role.role_arn, "rpdk-deploy")
    }

    /// A new session of the provider role, as CloudFormation passes one to every invocation of
    /// a type registered with a `LoggingConfig`.
    pub fn fresh_provider_credentials(&self) -> Result<Option<Credentials>, Error> {
        self.principals
            .provider
            .as_ref()
            .map(|role| self.admin().assume_role(&role.role_arn, "rpdk-provider"))
            .transpose()
    }

    /// CloudFormation's bucket of custom resource responses.
    pub fn response_bucket(&self) -> ResponseBucket {
        ResponseBucket::new(self.described.responses_url.clone())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // A stack started here (not one attached to, nor one handed to its description).
        if !self.children.is_empty() {
            self.children.iter_mut().for_each(stop);
            remove_run_dir(&self.described.principals_file);
            let groups: Vec<u32> = self.children.iter().map(Child::id).collect();
            handed_on(&groups, &self.described.principals_file);
        }
    }
}

impl Setup {
    /// moto with the project's extensions (`moto_server.py`), logging to `log`.
    pub fn moto(&self, port: u16, log: &str) -> Spec {
        let mut command = Command::new(self.tool("moto", "python"));
        command.arg(self.harness_file("moto_server.py")).args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        // RegisterType checks schemas against the registry's meta-schema, as cloudformation-cli
        // ships it (moto_ext/registry.py).
        command.env("RPDK_CFN_VENV", self.tools.join("cfn"));
        spec("moto", log, command, Probe::Http(format!("http://127.0.0.1:{port}/moto-api/data.json")))
    }

    /// The Lambda runtime API alone (`cargo lambda watch --only-lambda-apis`), logging to `log`:
    /// the handlers run from the harness's own build, so no second cargo build (with another
    /// feature set, rebuilding the SDKs) happens there.
    pub fn lambda_api(&self, port: u16, log: &str) -> Spec {
        let mut command = Command::new(self.tool("lambda", "cargo-lambda"));
        // cargo-lambda finds zig in its own environment.
        let path = format!(
            "{}:{}",
            self.tools.join("lambda").join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(&self.root)
            .env("PATH", path);
        spec("the Lambda runtime API", log, command, Probe::Port(port))
    }

    /// scim2-server on `port` with the run's bearer `token` (in its environment, through
    /// `scim_server.py`, not on its command line), and the service provider configuration
    /// `config` when given.
    fn scim(&self, name: &str, port: u16, token: &str, config: Option<PathBuf>) -> Spec {
        let mut command = Command::new(self.tool("scim", "python"));
        command.arg(self.harness_file("scim_server.py"));
        command.args(["--hostname", "127.0.0.1", "--port", &port.to_string()]).env("RPDK_SCIM_TOKEN", token);
        if let Some(config) = config {
            command.arg("--service-provider-config").arg(config);
        }
        let probe = Probe::Http(format!("http://127.0.0.1:{port}/v2/ServiceProviderConfig"));
        spec(name, &format!("{name}.log"), command, probe)
    }

    /// The fault proxy (mitmproxy with `fault_proxy.py`): on `port` in front of `moto_url`, on
    /// `scim_port` in front of `scim_root` (scim2-server's root URL).
    fn fault_proxy(&self, (port, moto_url): (u16, &str), (scim_port, scim_root): (u16, &str)) -> Spec {
        let mut command = Command::new(self.tool("proxy", "mitmdump"));
        command
            .arg("--mode")
            .arg(format!("reverse:{moto_url}@{port}"))
            .arg("--mode")
            .arg(format!("reverse:{scim_root}@{scim_port}"))
            .args(["--listen-host", "127.0.0.1", "--set", "keep_host_header=true", "--set"])
            .arg(format!("confdir={}", self.work_dir.join("mitmproxy").display()))
            .arg("-q")
            .arg("-s")
            .arg(self.harness_file("fault_proxy.py"));
        spec(
            "the fault proxy",
            "fault-proxy.log",
            command,
            Probe::Http(format!("http://127.0.0.1:{port}/rpdk-faults/rules")),
        )
    }

    /// moto as CloudFormation's response bucket, without the project's extensions or IAM
    /// enforcement.
    fn response_bucket(&self, port: u16) -> Spec {
        let mut command = Command::new(self.tool("moto", "moto_server"));
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        spec(
            "the response bucket",
            "responses.log",
            command,
            Probe::Http(format!("http://127.0.0.1:{port}/moto-api/data.json")),
        )
    }
}

fn spec(name: &str, log: &str, command: Command, probe: Probe) -> Spec {
    Spec { name: name.to_owned(), log: log.to_owned(), command, probe }
}

/// The ports of one start's emulators.
struct Ports {
    moto: u16,
    responses: u16,
    proxy: u16,
    scim_proxy: u16,
    lambda: u16,
    scim: u16,
    scim_put_only: u16,
}

impl Ports {
    fn free() -> Result<Self, Error> {
        Ok(Self {
            moto: free_port()?,
            responses: free_port()?,
            proxy: free_port()?,
            scim_proxy: free_port()?,
            lambda: free_port()?,
            scim: free_port()?,
            scim_put_only: free_port()?,
        })
    }

    /// The emulators, started by one loop, and what each exports into the description: moto
    /// with IAM enforcement, moto as the response bucket, scim2-server with every feature and
    /// without PATCH (`scim/put-only.json`), the fault proxy in front of moto and scim2-server, and the Lambda
    /// runtime API.
    fn emulators(&self, setup: &Setup, described: &mut StackDescription) -> Vec<Spec> {
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        described.moto_url = url(self.moto);
        described.responses_url = url(self.responses);
        described.scim_url = format!("{}/v2", url(self.scim));
        described.scim_put_only_url = format!("{}/v2", url(self.scim_put_only));
        described.faults_url = url(self.proxy);
        described.scim_faults_url = url(self.scim_proxy);
        described.lambda_url = url(self.lambda);
        let put_only = setup.harness.join("scim").join("put-only.json");
        vec![
            setup.moto(self.moto, "moto.log"),
            setup.response_bucket(self.responses),
            setup.scim("scim", self.scim, &described.scim_token, None),
            setup.scim("scim-put-only", self.scim_put_only, &described.scim_token, Some(put_only)),
            setup.fault_proxy((self.proxy, &described.moto_url), (self.scim_proxy, &url(self.scim))),
            setup.lambda_api(self.lambda, "lambda.log"),
        ]
    }
}

/// Makes the run's principals (each type's role from the permissions its schema declares, each
/// binary's function role from all its types') and switches moto's IAM enforcement on.
fn make_principals(setup: &Setup, moto_url: &str) -> Result<Principals, Error> {
    let mut types = BTreeMap::new();
    let mut functions: BTreeMap<&str, BTreeSet<&String>> = BTreeMap::new();
    for (type_name, served) in &setup.types {
        functions.entry(&served.binary).or_default().extend(served.actions.iter());
        types.insert(type_name, &served.actions);
    }
    let script = setup.harness_file("principals.py");
    let failed = |why: String| Error::Principals(format!("{}: {why}", script.display()));
    let mut child = Command::new(setup.tool("moto", "python"))
        .arg(&script)
        .env("RPDK_MOTO_URL", moto_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let spec = json!({"account": ACCOUNT_ID, "region": REGION, "types": types, "functions": functions});
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(spec.to_string().as_bytes()).map_err(|e| failed(e.to_string()))?;
    }
    let output = child.wait_with_output().map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    serde_json::from_slice(&output.stdout).map_err(|_| failed("printed no principals".to_owned()))
}

/// Runs `command` to its end; `what` names it in the error.
fn run(command: &mut Command, what: &str) -> Result<(), Error> {
    let status = command.status().map_err(|source| Error::Start { what: what.to_owned(), source })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::NotReady { what: what.to_owned(), why: format!("it failed ({status})") })
    }
}

/// Stops what a stack description names, if anything, and removes the description and the
/// files of that start; answers whether there was one.
pub fn stop_described(file: &Path) -> bool {
    let Ok(described) = StackDescription::read(file) else { return false };
    // Processes of an earlier boot are gone; their ids may name others now.
    let groups = if described.boot_id == boot_id() { described.process_groups } else { Vec::new() };
    groups.into_iter().for_each(terminate);
    let _ = std::fs::remove_file(file);
    remove_run_dir(&described.principals_file);
    true
}

/// Removes the files of one start: the directory under `runs/` that holds `principals_file`.
fn remove_run_dir(principals_file: &Path) {
    if let Some(run_dir) =
        principals_file.parent().filter(|dir| dir.parent().and_then(Path::file_name) == Some("runs".as_ref()))
    {
        let _ = std::fs::remove_dir_all(run_dir);
    }
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec_pretty(value).map_err(Error::Payload)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use std::os::unix::process::CommandExt;

    use super::*;

    /// A description of a stack of one process group, written in `dir`.
    fn describe(dir: &Path, group: u32, boot_id: String) -> PathBuf {
        let described = StackDescription {
            generation: "g".to_owned(),
            record_file: dir.join("recorded-calls.txt"),
            principals_file: dir.join("runs").join("g").join("principals.json"),
            process_groups: vec![group],
            boot_id,
            ..StackDescription::default()
        };
        let file = dir.join("local-stack.json");
        std::fs::write(&file, serde_json::to_vec(&described).expect("JSON")).expect("written");
        file
    }

    #[test]
    fn a_description_from_an_earlier_boot_signals_nothing() {
        let dir = std::env::temp_dir().join(format!("rpdk-stack-{}", run_secret()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let mut process = Command::new("sleep").arg("30").process_group(0).spawn().expect("sleep runs");
        let file = describe(&dir, process.id(), "an-earlier-boot".to_owned());
        assert!(stop_described(&file) && !file.exists(), "the description is read and removed");
        std::thread::sleep(Duration::from_millis(200));
        assert!(process.try_wait().expect("sleep").is_none(), "a process of this boot with the same id is left alone");
        let file = describe(&dir, process.id(), boot_id());
        assert!(stop_described(&file));
        assert_eq!(process.wait().expect("sleep ends").signal(), Some(15), "this boot's stack is stopped");
        let _ = std::fs::remove_dir_all(dir);
    }
}
