//! The pinned Python tools, each in its own project-local virtual environment under `.tools/`
//! (cloudformation-cli and moto's server extras need different jsonschema versions).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::project::{Project, run_checked};

/// One virtual environment: its name and its requirements file under `contract-tests/tools/`.
const ENVIRONMENTS: [(&str, &str); 5] =
    [("moto", "moto.txt"), ("cfn", "cfn.txt"), ("lambda", "lambda.txt"), ("scim", "scim.txt"), ("proxy", "proxy.txt")];

/// The installed tools.
pub struct Tools {
    dir: PathBuf,
}

impl Tools {
    /// Installs whatever is missing or whose pins changed; a no-op otherwise.
    pub fn ensure(project: &Project) -> Result<Self> {
        let tools = Self { dir: project.root.join(".tools") };
        let requirements = project.root.join("contract-tests").join("tools");
        let plugin = project.root.join("contract-tests").join("cfn-plugin");
        for (name, file) in ENVIRONMENTS {
            let mut inputs = vec![requirements.join(file)];
            if name == "cfn" {
                // cfn.txt includes lint.txt; the plugin is installed beside them.
                inputs.extend([
                    requirements.join("lint.txt"),
                    plugin.join("pyproject.toml"),
                    plugin.join("rpdk_rust").join("__init__.py"),
                ]);
            }
            let plugin = (name == "cfn").then_some(plugin.as_path());
            tools.ensure_environment(name, &requirements.join(file), &inputs, plugin)?;
        }
        Ok(tools)
    }

    /// Installs the environment `name` from the requirements file `requirements` unless it is
    /// installed from the same `inputs` already, with the local package `package` beside them.
    pub fn ensure_environment(
        &self,
        name: &str,
        requirements: &Path,
        inputs: &[PathBuf],
        package: Option<&Path>,
    ) -> Result<()> {
        let venv = self.dir.join(name);
        let stamp = fingerprint(inputs)?;
        let stamp_file = venv.join(".rpdk-stamp");
        if std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
            return Ok(());
        }
        eprintln!("tools: installing {name} into {}", venv.display());
        if venv.exists() {
            std::fs::remove_dir_all(&venv)?;
        }
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(&venv), "creating a virtual environment")?;
        let pip = venv.join("bin").join("pip");
        run_checked(
            Command::new(&pip)
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(requirements)
                .current_dir(requirements.parent().unwrap_or(Path::new("."))),
            &format!("installing {}", requirements.display()),
        )?;
        if let Some(package) = package {
            // A copy, so the build leaves no files in the source tree.
            let copy = venv.join("plugin-src");
            copy_dir(package, &copy)?;
            run_checked(
                Command::new(&pip).args(["install", "--quiet", "--disable-pip-version-check"]).arg(&copy),
                &format!("installing {}", package.display()),
            )?;
        }
        std::fs::write(&stamp_file, &stamp)?;
        Ok(())
    }

    /// Where the environments are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// An executable of one environment.
    pub fn bin(&self, environment: &str, executable: &str) -> PathBuf {
        self.dir.join(environment).join("bin").join(executable)
    }

    /// The `site-packages` directory of one environment (`lib/python3.X/site-packages`).
    pub fn site_packages(&self, environment: &str) -> Result<PathBuf> {
        let lib = self.dir.join(environment).join("lib");
        std::fs::read_dir(&lib)
            .with_context(|| format!("cannot read {}", lib.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path().join("site-packages")))
            .find(|path| path.is_dir())
            .with_context(|| format!("no python*/site-packages in {}", lib.display()))
    }

    /// PATH with one environment's `bin` directory first (cargo-lambda finds zig there).
    pub fn path_with(&self, environment: &str) -> String {
        format!("{}:{}", self.dir.join(environment).join("bin").display(), std::env::var("PATH").unwrap_or_default())
    }
}

fn fingerprint(files: &[PathBuf]) -> Result<String> {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "build" || name.to_string_lossy().ends_with(".egg-info") {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
