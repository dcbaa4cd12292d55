//! The project's local stack ([`rpdk_local::Stack`]): its setup from the project, and the one
//! `deploy`, `delete` and `events` share, which outlives them. The first starts it in the
//! background and describes it in `.rpdk/local-stack.json` (or the file named by
//! `RPDK_STACK_FILE`, which is how the test run lends its own stack); later commands attach to
//! it while every process still answers, and `cargo rpdk stop` ends it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rpdk_local::{ServedType, Setup, Stack};
use serde_json::Value;

use crate::project::Project;
use crate::tools::Tools;

/// What the project's stack is started from, its handlers built into `bin_dir`.
pub fn setup(project: &Project, tools: &Tools, bin_dir: &Path) -> Result<Setup> {
    let mut types = std::collections::BTreeMap::new();
    for entry in &project.config.types {
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(project.schema_path(entry))?)?;
        let actions = crate::package::declared_permissions(&schema)?.into_iter().map(str::to_owned).collect();
        types.insert(project.type_name(entry), ServedType { binary: entry.binary.clone(), actions });
    }
    // Hooks are served as the types are: their binary on the Lambda endpoint, a role holding
    // exactly their declared permissions.
    for entry in &project.config.hooks {
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(project.hook_schema_path(entry))?)?;
        let actions = crate::package::declared_permissions(&schema)?.into_iter().map(str::to_owned).collect();
        types.insert(project.hook_name(entry), ServedType { binary: entry.binary.clone(), actions });
    }
    Ok(Setup {
        root: project.root.clone(),
        work_dir: project.work_dir()?,
        harness: project.root.join("contract-tests"),
        tools: tools.dir().to_owned(),
        bin_dir: bin_dir.to_owned(),
        types,
    })
}

/// Starts a stack of the project's handlers (built first) that ends with this command.
pub fn start(project: &Project) -> Result<Stack> {
    let tools = Tools::ensure(project)?;
    let bin_dir = project.build_handlers()?;
    Ok(Stack::start(&setup(project, &tools, &bin_dir)?)?)
}

/// The shared stack: the one `RPDK_STACK_FILE` names, or the project's background stack,
/// started (handlers built first) when it is not running.
pub fn shared(project: &Project) -> Result<Stack> {
    if let Some(file) = std::env::var_os("RPDK_STACK_FILE") {
        let file = PathBuf::from(file);
        return Stack::attach(&file)?
            .with_context(|| format!("the local stack of RPDK_STACK_FILE ({}) is not running", file.display()));
    }
    Stack::shared(&background_file(project)?, || start(project))
}

/// The stack `shared` would attach to, if it is running; none is started.
pub fn running(project: &Project) -> Result<Option<Stack>> {
    let file = match std::env::var_os("RPDK_STACK_FILE") {
        Some(file) => PathBuf::from(file),
        None => background_file(project)?,
    };
    Ok(Stack::attach(&file)?)
}

/// Where the project's background stack is described.
pub fn background_file(project: &Project) -> Result<PathBuf> {
    Ok(project.work_dir()?.join("local-stack.json"))
}
