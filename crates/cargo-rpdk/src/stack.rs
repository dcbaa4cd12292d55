//! The local stack: moto server, scim2-server, and the handlers behind the Lambda runtime API of
//! `cargo lambda watch --only-lambda-apis`, on free loopback ports, stopped by process group
//! when dropped. A second moto stands for CloudFormation's own S3 bucket of custom resource
//! responses. The handlers reach moto through the fault proxy (contract-tests/fault_proxy.py),
//! which passes every call through until a test asks it to stall or throttle some.
//!
//! `cargo rpdk deploy`, `delete` and `events` share one stack that outlives them: the first
//! starts it in the background and describes it in `.rpdk/local-stack.json` (or the file named
//! by `RPDK_STACK_FILE`, which is how the test run lends its own stack); later commands attach
//! to it while every process still answers, and `cargo rpdk stop` ends it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use rpdk::wire::HandlerRequest;
use rpdk_deploy::BackendError;
use rpdk_local::{Functions, ResponseBucket, StackDescription};

use crate::project::Project;
use crate::tools::Tools;

pub use rpdk_local::{ACCOUNT_ID, REGION};
/// How long one handler invocation may work on the local stack.
pub const INVOCATION_SECONDS: u64 = 15;

/// AWS credentials, as the registry passes them to a handler.
pub use rpdk::Credentials;

/// A role of the run and a session of it.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub role_arn: String,
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
    pub principals: Principals,
    /// The handlers, at the Lambda endpoint.
    pub functions: Functions,
    children: Vec<Child>,
    /// The process groups of a stack attached to rather than started here.
    attached_groups: Vec<u32>,
    agent: ureq::Agent,
}

impl Stack {
    /// Starts moto and the handlers built in `bin_dir`; returns once every handler answers.
    pub fn start(project: &Project, tools: &Tools, bin_dir: &Path) -> Result<Self> {
        let logs = project.work_dir()?.join("logs");
        std::fs::create_dir_all(&logs)?;
        let agent = agent();
        let moto_port = free_port()?;
        let lambda_port = free_port()?;
        let generation = run_secret();
        // Files of this start alone: a second stack (a test run beside a background stack)
        // has principals and a call record of its own.
        let run_dir = project.work_dir()?.join("runs").join(&generation);
        std::fs::create_dir_all(&run_dir)?;
        lock_started().run_dirs.push(run_dir.clone());
        let record_file = run_dir.join("recorded-calls.txt");
        std::fs::write(&record_file, "")?;
        let moto_url = format!("http://127.0.0.1:{moto_port}");
        let mut moto = spawn_moto(project, tools, moto_port, &logs, "moto.log")?;
        started(&moto);
        let principals = wait_until("moto", Duration::from_secs(60), std::slice::from_mut(&mut moto), || {
            agent_ok(&agent, &format!("{moto_url}/moto-api/data.json"))
        })
        .and_then(|()| make_principals(project, tools, &moto_url));
        let principals = match principals {
            Ok(principals) => principals,
            Err(error) => {
                stop(&mut moto);
                let _ = std::fs::remove_dir_all(&run_dir);
                return Err(error);
            }
        };
        let principals_file = run_dir.join("principals.json");
        write_private(&principals_file, &serde_json::to_vec(&principals)?)?;
        let mut stack = Self {
            described: StackDescription {
                generation,
                moto_url,
                lambda_url: format!("http://127.0.0.1:{lambda_port}"),
                record_file,
                principals_file,
                scim_token: run_secret(),
                invocation_seconds: INVOCATION_SECONDS,
                ..StackDescription::default()
            },
            functions: Functions::new(format!("http://127.0.0.1:{lambda_port}")),
            principals,
            children: vec![moto],
            attached_groups: Vec::new(),
            agent,
        };

        let responses_port = free_port()?;
        let responses = Command::new(tools.bin("moto", "moto_server"))
            .args(["-H", "127.0.0.1", "-p", &responses_port.to_string()])
            .stdout(log_file(&logs, "responses.log")?)
            .stderr(log_file(&logs, "responses.log")?)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .context("cannot start moto_server for the response bucket")?;
        started(&responses);
        stack.children.push(responses);
        stack.described.responses_url = format!("http://127.0.0.1:{responses_port}");
        let probe = format!("{}/moto-api/data.json", stack.described.responses_url);
        wait_until("the response bucket", Duration::from_secs(60), &mut stack.children, || {
            agent_ok(&stack.agent, &probe)
        })?;
        stack.response_bucket().create()?;

        // The SCIM service providers of the SCIM types, with a bearer token of this run: one
        // with every feature, one without PATCH (contract-tests/scim/put-only.json).
        let put_only = project.root.join("contract-tests").join("scim").join("put-only.json");
        for (config, log) in [(None, "scim.log"), (Some(put_only.as_path()), "scim-put-only.log")] {
            let port = free_port()?;
            let mut command = Command::new(tools.bin("scim", "scim2-server"));
            command.args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                &stack.described.scim_token,
            ]);
            if let Some(config) = config {
                command.arg("--service-provider-config").arg(config);
            }
            let server = command
                .stdout(log_file(&logs, log)?)
                .stderr(log_file(&logs, log)?)
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .context("cannot start scim2-server")?;
            started(&server);
            stack.children.push(server);
            let url = format!("http://127.0.0.1:{port}/v2");
            let discovery = format!("{url}/ServiceProviderConfig");
            wait_until(log.trim_end_matches(".log"), Duration::from_secs(60), &mut stack.children, || {
                agent_ok(&stack.agent, &discovery)
            })?;
            match config {
                None => stack.described.scim_url = url,
                Some(_) => stack.described.scim_put_only_url = url,
            }
        }

        let proxy_port = free_port()?;
        let proxy = Command::new(tools.bin("proxy", "mitmdump"))
            .arg("--mode")
            .arg(format!("reverse:{}@{proxy_port}", stack.described.moto_url))
            .args(["--listen-host", "127.0.0.1", "--set", "keep_host_header=true", "--set"])
            .arg(format!("confdir={}", project.work_dir()?.join("mitmproxy").display()))
            .arg("-q")
            .arg("-s")
            .arg(project.root.join("contract-tests").join("fault_proxy.py"))
            .stdout(log_file(&logs, "fault-proxy.log")?)
            .stderr(log_file(&logs, "fault-proxy.log")?)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .context("cannot start the fault proxy (mitmdump)")?;
        started(&proxy);
        stack.children.push(proxy);
        stack.described.faults_url = format!("http://127.0.0.1:{proxy_port}");
        let rules = format!("{}/rpdk-faults/rules", stack.described.faults_url);
        wait_until("the fault proxy", Duration::from_secs(60), &mut stack.children, || agent_ok(&stack.agent, &rules))?;

        // The Lambda runtime API alone: the handlers run from the harness's own build, so no
        // second cargo build (with another feature set, rebuilding the SDKs) happens here.
        let api = Command::new(tools.bin("lambda", "cargo-lambda"))
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &lambda_port.to_string()])
            .current_dir(&project.root)
            .env("PATH", tools.path_with("lambda"))
            .stdout(log_file(&logs, "lambda.log")?)
            .stderr(log_file(&logs, "lambda.log")?)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .context("cannot start cargo lambda watch --only-lambda-apis")?;
        started(&api);
        stack.children.push(api);
        wait_until("the Lambda runtime API", Duration::from_secs(60), &mut stack.children, || {
            std::net::TcpStream::connect(("127.0.0.1", lambda_port)).is_ok()
        })?;
        for entry in project.binaries() {
            // A custom resource's function calls AWS with its own execution role's credentials,
            // which Lambda puts in its environment.
            let role = &stack
                .principals
                .functions
                .get(&entry.binary)
                .with_context(|| format!("no function role for {}", entry.binary))?
                .credentials;
            let function = Command::new(bin_dir.join(&entry.binary))
                .env("AWS_ACCESS_KEY_ID", &role.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", &role.secret_access_key)
                .env("AWS_SESSION_TOKEN", role.session_token.as_deref().unwrap_or_default())
                .env("AWS_REGION", REGION)
                .env("AWS_LAMBDA_RUNTIME_API", format!("{}/.rt/{}", stack.described.lambda_url, entry.binary))
                .env("AWS_LAMBDA_FUNCTION_NAME", &entry.binary)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_ENDPOINT_URL", &stack.described.faults_url)
                .env("RPDK_RECORD_CALLS", &stack.described.record_file)
                // Short invocations, so waits that outlast one reach IN_PROGRESS and resume
                // within a test's time.
                .env("RPDK_INVOCATION_SECONDS", INVOCATION_SECONDS.to_string())
                .stdout(log_file(&logs, &format!("{}.log", entry.binary))?)
                .stderr(log_file(&logs, &format!("{}.log", entry.binary))?)
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .with_context(|| format!("cannot start {}", entry.binary))?;
            started(&function);
            stack.children.push(function);
            // An empty payload answers at once with a FAILED event.
            let mut children = std::mem::take(&mut stack.children);
            let ready =
                || stack.functions.invoke(&entry.binary, &json!({})).is_ok_and(|event| event.get("status").is_some());
            let outcome = wait_until(&entry.binary, Duration::from_secs(60), &mut children, ready);
            stack.children = children;
            outcome?;
        }
        let mut seed = Command::new(tools.bin("moto", "python"));
        seed.arg(project.root.join("contract-tests").join("local_values.py"));
        stack.admin_env(&mut seed);
        crate::project::run_checked(
            seed.stdout(Stdio::null()),
            "making the local stack's load balancer, SCIM URL and token (contract-tests/local_values.py)",
        )?;
        Ok(stack)
    }

    /// The shared stack of `deploy`, `delete` and `events`: the one `RPDK_STACK_FILE` names, or
    /// the project's background stack, started (handlers built first) when it is not running.
    pub fn shared(project: &Project) -> Result<Self> {
        if let Some(file) = std::env::var_os("RPDK_STACK_FILE") {
            let file = PathBuf::from(file);
            return Self::attach(&file)?
                .with_context(|| format!("the local stack of RPDK_STACK_FILE ({}) is not running", file.display()));
        }
        // Two commands starting the stack at once would start two; the second waits and
        // attaches to the first's.
        let _starting = Self::hold_background(project)?;
        let file = Self::background_file(project)?;
        if let Some(stack) = Self::attach(&file)? {
            return Ok(stack);
        }
        stop_described(&file);
        eprintln!("stack: starting the local stack in the background (`cargo rpdk stop` ends it)");
        let tools = Tools::ensure(project)?;
        let bin_dir = project.build_handlers()?;
        let mut stack = Self::start(project, &tools, &bin_dir)?;
        stack.save(&file)?;
        // From here the processes belong to the file, not to this command.
        stack.attached_groups = stack.children.drain(..).map(|child| child.id()).collect();
        handed_on(&stack.attached_groups, &stack.described.principals_file);
        Ok(stack)
    }

    /// The stack `shared` would attach to, if it is running; none is started.
    pub fn running(project: &Project) -> Result<Option<Self>> {
        match std::env::var_os("RPDK_STACK_FILE") {
            Some(file) => Self::attach(Path::new(&file)),
            None => Self::attach(&Self::background_file(project)?),
        }
    }

    /// Holds the project's background stack against other commands starting or stopping it, until
    /// the file is dropped.
    pub fn hold_background(project: &Project) -> Result<File> {
        let locks = project.work_dir()?.join("locks");
        std::fs::create_dir_all(&locks)?;
        let lock = File::create(locks.join("local-stack"))?;
        lock.lock()?;
        Ok(lock)
    }

    /// Where the project's background stack is described.
    pub fn background_file(project: &Project) -> Result<PathBuf> {
        Ok(project.work_dir()?.join("local-stack.json"))
    }

    /// Writes what attaching to this stack takes to `file`, readable by its owner only.
    pub fn save(&self, file: &Path) -> Result<()> {
        let described = StackDescription {
            process_groups: self.children.iter().map(Child::id).chain(self.attached_groups.iter().copied()).collect(),
            boot_id: boot_id(),
            ..self.described.clone()
        };
        // Replaced whole, so an attaching command never reads half a description.
        let temporary = file.with_extension("json.new");
        write_private(&temporary, &serde_json::to_vec_pretty(&described)?)?;
        std::fs::rename(&temporary, file).with_context(|| format!("cannot write {}", file.display()))
    }

    /// The stack `file` describes, if every one of its processes is still running.
    fn attach(file: &Path) -> Result<Option<Self>> {
        if !file.exists() {
            return Ok(None);
        }
        let described = StackDescription::read(file)?;
        if described.boot_id != boot_id() || !described.process_groups.iter().all(|group| group_alive(*group)) {
            return Ok(None);
        }
        let principals = serde_json::from_str(&std::fs::read_to_string(&described.principals_file)?)?;
        let stack = Self {
            functions: Functions::new(described.lambda_url.clone()),
            attached_groups: described.process_groups.clone(),
            described,
            principals,
            children: Vec::new(),
            agent: agent(),
        };
        Ok(agent_ok(&stack.agent, &format!("{}/moto-api/data.json", stack.described.moto_url)).then_some(stack))
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
    pub fn admin(&self) -> crate::aws::Client<'_> {
        crate::aws::Client {
            agent: &self.agent,
            endpoint: &self.described.moto_url,
            credentials: &self.principals.admin,
        }
    }

    /// A new session of the role of `type_name`'s handlers, as CloudFormation passes one to
    /// every invocation.
    pub fn fresh_credentials(&self, type_name: &str) -> Result<Credentials> {
        let role =
            self.principals.handlers.get(type_name).with_context(|| format!("no handler role for {type_name}"))?;
        self.admin().assume_role(&role.role_arn, "rpdk-deploy")
    }

    /// A new session of the provider role, as CloudFormation passes one to every invocation of
    /// a type registered with a `LoggingConfig`.
    pub fn fresh_provider_credentials(&self) -> Result<Option<Credentials>> {
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

/// The local stack as the deploy engine reaches it.
impl rpdk_deploy::Backend for Stack {
    fn invoke(&self, function: &str, request: &HandlerRequest) -> Result<Value, BackendError> {
        Ok(self.functions.invoke(function, request)?)
    }

    fn prepare(&self, request: &mut HandlerRequest) -> Result<(), BackendError> {
        let type_name = request.resource_type.clone().unwrap_or_default();
        request.request_data.caller_credentials = Some(self.fresh_credentials(&type_name)?);
        request.request_data.provider_credentials = self.fresh_provider_credentials()?;
        request.request_data.provider_log_group_name =
            self.principals.provider.is_some().then(|| log_group_name(&type_name));
        Ok(())
    }

    fn invoke_custom(&self, function: &str, request: &Value) -> Result<String, BackendError> {
        Ok(self.functions.invoke_bytes(function, &serde_json::to_vec(request)?)?)
    }

    fn response_url(&self, key: &str) -> Result<String, BackendError> {
        Ok(self.response_bucket().presigned("PUT", key)?)
    }

    fn response(&self, key: &str) -> Result<Option<Value>, BackendError> {
        Ok(self.response_bucket().read(key)?)
    }

    fn ssm_parameter(&self, key: &str) -> Result<String, BackendError> {
        Ok(self.admin().ssm_parameter(key)?)
    }

    fn secret_string(
        &self,
        secret_id: &str,
        stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<String, BackendError> {
        Ok(self.admin().secret_string(secret_id, stage, version_id)?)
    }
}

/// The log group of a type's provider logs: the one `cfn submit` registers it with
/// (`rpdk-iam-crossaccountrole-logs`).
pub fn log_group_name(type_name: &str) -> String {
    format!("{}-logs", crate::project::stem_of(type_name))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// Whether any process of a process group still runs.
fn group_alive(group: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Stops what a stack description names, if anything, and removes the description and the
/// files of that start.
pub fn stop_described(file: &Path) -> bool {
    let Some(described) =
        std::fs::read_to_string(file).ok().and_then(|text| serde_json::from_str::<StackDescription>(&text).ok())
    else {
        return false;
    };
    // Processes of an earlier boot are gone; their ids may name others now.
    let groups = if described.boot_id == boot_id() { described.process_groups } else { Vec::new() };
    groups.into_iter().for_each(terminate);
    let _ = std::fs::remove_file(file);
    remove_run_dir(&described.principals_file);
    true
}

/// This boot of the machine, as Linux names it.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|id| id.trim().to_owned()).unwrap_or_default()
}

/// Removes the files of one start: the directory under `runs/` that holds `principals_file`.
fn remove_run_dir(principals_file: &Path) {
    if let Some(run_dir) =
        principals_file.parent().filter(|dir| dir.parent().and_then(Path::file_name) == Some("runs".as_ref()))
    {
        let _ = std::fs::remove_dir_all(run_dir);
    }
}

/// What this command started and has not handed on: a stack being started, or one a test run
/// or demo owns. Ctrl-C or SIGTERM stops it (see main) instead of leaving it running.
struct Started {
    groups: Vec<u32>,
    run_dirs: Vec<PathBuf>,
}

static STARTED: std::sync::Mutex<Started> = std::sync::Mutex::new(Started { groups: Vec::new(), run_dirs: Vec::new() });

fn lock_started() -> std::sync::MutexGuard<'static, Started> {
    STARTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn started(child: &Child) {
    lock_started().groups.push(child.id());
}

/// `groups` are stopped or belong to a stack description now, not to this command.
fn handed_on(groups: &[u32], principals_file: &Path) {
    let mut started = lock_started();
    started.groups.retain(|group| !groups.contains(group));
    started.run_dirs.retain(|dir| Some(dir.as_path()) != principals_file.parent());
}

/// Stops every process group this command started and has not handed on, and removes their
/// files: what an interrupted command would otherwise leave running.
pub fn stop_started() {
    let started = lock_started();
    started.groups.iter().copied().for_each(terminate);
    for dir in &started.run_dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Sends SIGTERM to a process group: a stack's server with everything it started.
fn terminate(group: u32) {
    let _ = Command::new("kill").args(["-TERM", "--", &format!("-{group}")]).stderr(Stdio::null()).status();
}

/// Writes a file only its owner may read: it holds keys.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut out = File::options()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    out.write_all(contents)?;
    Ok(())
}

fn agent_ok(agent: &ureq::Agent, url: &str) -> bool {
    agent.get(url).call().is_ok_and(|r| r.status().is_success())
}

/// A secret for one run: not guessable from outside, never stored.
fn run_secret() -> String {
    use sha2::{Digest, Sha256};
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let digest = Sha256::digest(format!("{nanos}-{}-{:p}", std::process::id(), &nanos));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Polls `ready` until it holds, failing early when one of `children` ends.
pub fn wait_until(what: &str, limit: Duration, children: &mut [Child], ready: impl Fn() -> bool) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            eprintln!("stack: {what} ready after {:.1} s", start.elapsed().as_secs_f64());
            return Ok(());
        }
        for child in children.iter_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("waiting for {what}: a stack process ended ({status}); see .rpdk/logs/");
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bail!("{what} did not become ready within {} s; see .rpdk/logs/", limit.as_secs())
}

/// moto with the project's extensions (contract-tests/moto_ext) on `port`, logging to `log` in
/// `logs`.
pub fn spawn_moto(project: &Project, tools: &Tools, port: u16, logs: &Path, log: &str) -> Result<Child> {
    Command::new(tools.bin("moto", "python"))
        .arg(project.root.join("contract-tests").join("moto_server.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(log_file(logs, log)?)
        .stderr(log_file(logs, log)?)
        .process_group(0)
        .spawn()
        .context("cannot start moto_server")
}

/// Makes the run's principals (each type's role from the permissions its committed schema
/// declares) and switches moto's IAM enforcement on.
fn make_principals(project: &Project, tools: &Tools, moto_url: &str) -> Result<Principals> {
    let mut types = BTreeMap::new();
    let mut functions: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
    for entry in &project.config.types {
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(project.schema_path(entry))?)?;
        let actions: std::collections::BTreeSet<String> =
            crate::package::declared_permissions(&schema)?.into_iter().map(str::to_owned).collect();
        functions.entry(&entry.binary).or_default().extend(actions.iter().cloned());
        types.insert(project.type_name(entry), actions);
    }
    let mut child = Command::new(tools.bin("moto", "python"))
        .arg(project.root.join("contract-tests").join("principals.py"))
        .env("RPDK_MOTO_URL", moto_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run contract-tests/principals.py")?;
    let spec = json!({"account": ACCOUNT_ID, "region": REGION, "types": types, "functions": functions});
    child.stdin.take().context("no stdin")?.write_all(spec.to_string().as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("contract-tests/principals.py failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    serde_json::from_slice(&output.stdout).context("contract-tests/principals.py printed no principals")
}

/// The permissions a schema declares, per registry action (`CREATE` → actions).
pub fn declared_actions(schema: &Value) -> BTreeMap<String, Vec<String>> {
    let handlers = schema.get("handlers").and_then(Value::as_object);
    handlers
        .into_iter()
        .flatten()
        .map(|(key, handler)| {
            let actions = handler
                .get("permissions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            (key.to_ascii_uppercase(), actions)
        })
        .collect()
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

/// Stops a child that leads its own process group, with everything it started.
pub fn stop(child: &mut Child) {
    terminate(child.id());
    let _ = child.wait();
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn log_file(dir: &std::path::Path, name: &str) -> Result<File> {
    Ok(File::options().create(true).append(true).open(dir.join(name))?)
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

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
