//! The stack's processes: each started in a process group of its own, so a stop takes
//! everything it started, and remembered until it is stopped or handed to a stack description,
//! so an interrupted command stops what it was starting ([`stop_started`]).

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::Error;

/// How long a process may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// How a process is known to be ready.
pub enum Probe {
    /// An HTTP GET of this URL answers 2xx.
    Http(String),
    /// Something listens on this loopback port.
    Port(u16),
    /// The check holds.
    Check(Box<dyn Fn() -> bool>),
}

/// One process of the stack, not started yet.
pub struct Spec {
    /// What it is, as messages name it.
    pub name: String,
    /// Its log file, under the logs directory.
    pub log: String,
    /// How it starts.
    pub command: Command,
    /// How it is known ready.
    pub probe: Probe,
}

/// What a command started and has not handed on. Ctrl-C or SIGTERM stops it instead of leaving
/// it running.
struct Started {
    groups: Vec<u32>,
    run_dirs: Vec<PathBuf>,
}

static STARTED: Mutex<Started> = Mutex::new(Started { groups: Vec::new(), run_dirs: Vec::new() });

fn lock_started() -> MutexGuard<'static, Started> {
    STARTED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts every process of `specs` at once, then waits until each is ready, logging into
/// `logs`; answers them in order. Should one fail to start or become ready, those started are
/// stopped.
pub fn start_all(specs: Vec<Spec>, logs: &Path) -> Result<Vec<Child>, Error> {
    let mut children = Vec::new();
    let mut probes = Vec::new();
    for spec in specs {
        match spawn(spec.command, &spec.name, logs, &spec.log) {
            Ok(child) => children.push(child),
            Err(error) => {
                children.iter_mut().for_each(stop);
                return Err(error);
            }
        }
        probes.push((spec.name, spec.probe));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    for (name, probe) in probes {
        let ready: Box<dyn Fn() -> bool> = match probe {
            Probe::Http(url) => {
                let agent = agent.clone();
                Box::new(move || agent.get(&url).call().is_ok_and(|r| r.status().is_success()))
            }
            Probe::Port(port) => Box::new(move || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
            Probe::Check(check) => check,
        };
        if let Err(error) = wait_until(&name, &mut children, ready) {
            children.iter_mut().for_each(stop);
            return Err(error);
        }
    }
    Ok(children)
}

/// Starts `command` in a process group of its own, its output appended to `log` in `logs`.
pub fn spawn(mut command: Command, name: &str, logs: &Path, log: &str) -> Result<Child, Error> {
    let file = |path: PathBuf| File::options().create(true).append(true).open(&path).map_err(Error::file(path));
    let child = command
        .stdout(file(logs.join(log))?)
        .stderr(file(logs.join(log))?)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|source| Error::Start { what: name.to_owned(), source })?;
    lock_started().groups.push(child.id());
    Ok(child)
}

/// Polls `ready` until it holds, failing early when one of `children` ends.
pub fn wait_until(what: &str, children: &mut [Child], ready: impl Fn() -> bool) -> Result<(), Error> {
    let start = Instant::now();
    while start.elapsed() < READY_WITHIN {
        if ready() {
            eprintln!("stack: {what} ready after {:.1} s", start.elapsed().as_secs_f64());
            return Ok(());
        }
        for child in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(Error::NotReady {
                    what: what.to_owned(),
                    why: format!("a stack process ended ({status})"),
                });
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(Error::NotReady { what: what.to_owned(), why: format!("not ready within {} s", READY_WITHIN.as_secs()) })
}

/// Stops a child that leads its own process group, with everything it started.
pub fn stop(child: &mut Child) {
    terminate(child.id());
    let _ = child.wait();
}

/// Sends SIGTERM to a process group: a stack's server with everything it started.
pub(crate) fn terminate(group: u32) {
    let _ = Command::new("kill").args(["-TERM", "--", &format!("-{group}")]).stderr(Stdio::null()).status();
}

/// Whether any process of a process group still runs.
pub(crate) fn group_alive(group: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// This boot of the machine, as Linux names it: after a reboot, process ids name others.
pub(crate) fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|id| id.trim().to_owned()).unwrap_or_default()
}

/// `run_dir` holds files of a stack being started: removed should the command be interrupted.
pub(crate) fn started_run_dir(run_dir: &Path) {
    lock_started().run_dirs.push(run_dir.to_owned());
}

/// `groups` are stopped or belong to a stack description now, not to this command; so do the
/// files of the start whose principals are in `principals_file`.
pub(crate) fn handed_on(groups: &[u32], principals_file: &Path) {
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

/// A free loopback port.
pub fn free_port() -> Result<u16, Error> {
    let bound = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr());
    bound.map(|address| address.port()).map_err(|source| Error::Start { what: "a free port".to_owned(), source })
}

/// Writes a file only its owner may read: it holds keys.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let write = || -> std::io::Result<()> {
        File::options().create(true).write(true).truncate(true).mode(0o600).open(path)?.write_all(contents)
    };
    write().map_err(Error::file(path))
}

/// A secret for one run: not guessable from outside, never stored.
pub(crate) fn run_secret() -> String {
    use sha2::{Digest, Sha256};
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let digest = Sha256::digest(format!("{nanos}-{}-{:p}", std::process::id(), &nanos));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
