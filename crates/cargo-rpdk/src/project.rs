//! The project: its root, `rpdk-config.json` and the paths derived from them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// `rpdk-config.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The first part of every type name.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The Lambda runtime of the handlers.
    #[serde(default = "default_runtime")]
    pub runtime: String,
    /// The hooks and the binaries that serve them.
    #[serde(default)]
    pub hooks: Vec<HookEntry>,
    /// The types and the handler binaries that serve them.
    pub types: Vec<TypeEntry>,
}

fn default_namespace() -> String {
    "Rpdk".into()
}

fn default_runtime() -> String {
    "provided.al2023".into()
}

/// One type of the project.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypeEntry {
    /// `IAM` in `Rpdk::IAM::CrossAccountRole`.
    pub service: String,
    /// `CrossAccountRole` in `Rpdk::IAM::CrossAccountRole`.
    pub resource: String,
    /// The handler crate.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// The handler binary (one binary may serve several types).
    pub binary: String,
}

/// One hook of the project.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookEntry {
    /// `Governance` in `Rpdk::Governance::EncryptionHook`.
    pub service: String,
    /// `EncryptionHook` in `Rpdk::Governance::EncryptionHook`.
    pub hook: String,
    /// The hook's crate.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// The hook's binary.
    pub binary: String,
}

/// The project on disk.
pub struct Project {
    pub root: PathBuf,
    pub config: Config,
}

impl Project {
    /// Finds the project from the current directory upwards.
    pub fn discover() -> Result<Self> {
        let start = std::env::current_dir()?;
        let root = start
            .ancestors()
            .find(|dir| dir.join("rpdk-config.json").is_file())
            .with_context(|| {
                format!("no rpdk-config.json in {} or above: run from inside an rpdk-rs project", start.display())
            })?
            .to_path_buf();
        let path = root.join("rpdk-config.json");
        let text = std::fs::read_to_string(&path)?;
        let config: Config = serde_json::from_str(&text).with_context(|| format!("{}: invalid", path.display()))?;
        if config.types.is_empty() {
            bail!(
                "{}: \"types\" is empty; list each type with its service, resource, crate and binary",
                path.display()
            );
        }
        Ok(Self { root, config })
    }

    /// `Rpdk::IAM::CrossAccountRole`.
    pub fn type_name(&self, entry: &TypeEntry) -> String {
        format!("{}::{}::{}", self.config.namespace, entry.service, entry.resource)
    }

    /// `rpdk-iam-crossaccountrole`: the registry's file stem for a type.
    pub fn type_stem(&self, entry: &TypeEntry) -> String {
        rpdk_local::type_stem(&self.type_name(entry))
    }

    /// `Rpdk::Governance::EncryptionHook`.
    pub fn hook_name(&self, entry: &HookEntry) -> String {
        format!("{}::{}::{}", self.config.namespace, entry.service, entry.hook)
    }

    /// `rpdk-governance-encryptionhook`: the registry's file stem for a hook.
    pub fn hook_stem(&self, entry: &HookEntry) -> String {
        rpdk_local::type_stem(&self.hook_name(entry))
    }

    /// The committed schema of a hook.
    pub fn hook_schema_path(&self, entry: &HookEntry) -> PathBuf {
        self.root.join("schemas").join(format!("{}.json", self.hook_stem(entry)))
    }

    /// The reference page of a hook, written from its schema.
    pub fn hook_doc_path(&self, entry: &HookEntry) -> PathBuf {
        self.root.join("docs").join(format!("{}.md", self.hook_stem(entry)))
    }

    /// Every binary to build, types' and hooks', each once: (crate, binary).
    pub fn all_binaries(&self) -> Vec<(&str, &str)> {
        let mut all: Vec<(&str, &str)> =
            self.binaries().iter().map(|e| (e.crate_name.as_str(), e.binary.as_str())).collect();
        for hook in &self.config.hooks {
            if !all.iter().any(|(_, binary)| *binary == hook.binary) {
                all.push((&hook.crate_name, &hook.binary));
            }
        }
        all
    }

    /// The committed schema of a type.
    pub fn schema_path(&self, entry: &TypeEntry) -> PathBuf {
        self.root.join("schemas").join(format!("{}.json", self.type_stem(entry)))
    }

    /// The reference page of a type, written from its schema.
    pub fn doc_path(&self, entry: &TypeEntry) -> PathBuf {
        self.root.join("docs").join(format!("{}.md", self.type_stem(entry)))
    }

    /// The per-type contract-test fixtures.
    pub fn fixture_dir(&self, entry: &TypeEntry) -> PathBuf {
        self.root.join("contract-tests").join("types").join(self.type_stem(entry))
    }

    /// The entry whose type name (or `Service::Resource`) is `name`.
    pub fn find_type(&self, name: &str) -> Result<&TypeEntry> {
        self.config
            .types
            .iter()
            .find(|t| self.type_name(t) == name || format!("{}::{}", t.service, t.resource) == name)
            .with_context(|| {
                let known: Vec<String> = self.config.types.iter().map(|t| self.type_name(t)).collect();
                format!("no type '{name}' in rpdk-config.json; known: {}", known.join(", "))
            })
    }

    /// The hook whose name (or `Service::Hook`) is `name`, if any.
    pub fn find_hook(&self, name: &str) -> Option<&HookEntry> {
        self.config.hooks.iter().find(|h| self.hook_name(h) == name || format!("{}::{}", h.service, h.hook) == name)
    }

    /// Cargo's target directory.
    pub fn target_dir(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| self.root.join("target"), PathBuf::from)
    }

    /// Scratch space for logs, temporary projects, the local stack's description and stack
    /// states: `.rpdk/` (git-ignored), or `RPDK_WORK_DIR` when set.
    pub fn work_dir(&self) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::var_os("RPDK_WORK_DIR").map_or_else(|| self.root.join(".rpdk"), PathBuf::from);
        std::fs::create_dir_all(&dir)?;
        // Its files hold the run's secrets (the SCIM token in cfn test inputs and logs, the
        // fixtures): only the owner may enter it.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
        Ok(dir)
    }

    /// The distinct handler binaries.
    pub fn binaries(&self) -> Vec<&TypeEntry> {
        let mut seen = Vec::new();
        let mut entries = Vec::new();
        for entry in &self.config.types {
            if !seen.contains(&entry.binary) {
                seen.push(entry.binary.clone());
                entries.push(entry);
            }
        }
        entries
    }

    /// Builds every handler binary (dev profile) and returns the directory holding them.
    pub fn build_handlers(&self) -> Result<PathBuf> {
        let mut command = Command::new(cargo());
        command.current_dir(&self.root).args(["build", "--quiet"]);
        for (crate_name, binary) in self.all_binaries() {
            command.args(["--package", crate_name, "--bin", binary]);
        }
        run_checked(&mut command, "building the handlers")?;
        Ok(self.target_dir().join("debug"))
    }
}

/// The cargo that runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs a command to completion, failing with `what` when it fails.
pub fn run_checked(command: &mut Command, what: &str) -> Result<()> {
    let status = command.status().with_context(|| format!("{what}: cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Writes `contents` to `path`, creating parent directories.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}
