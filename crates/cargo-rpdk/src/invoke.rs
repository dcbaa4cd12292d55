//! `cargo rpdk invoke`: one action for one type against the local stack, each progress event
//! printed, re-invoking on IN_PROGRESS as CloudFormation does.

use anyhow::{Context, Result, anyhow};
use rpdk::Action;
use rpdk_local::Call;
use serde_json::Value;

use crate::project::Project;
use rpdk_local::Stack;

use crate::stack;
use crate::tools::Tools;

/// Options of `cargo rpdk invoke`.
#[derive(clap::Args)]
pub struct Options {
    /// The type, e.g. Rpdk::IAM::CrossAccountRole.
    pub type_name: String,
    /// CREATE, READ, UPDATE, DELETE or LIST.
    pub action: String,
    /// A JSON file with the desired model (or the identifier for READ/DELETE).
    pub model: Option<std::path::PathBuf>,
    /// A JSON file with the previous model (UPDATE).
    #[arg(long)]
    pub previous: Option<std::path::PathBuf>,
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let entry = project.find_type(&options.type_name)?.clone();
    let tools = Tools::ensure(&project)?;
    let bin_dir = project.build_handlers()?;
    let stack = Stack::start(&stack::setup(&project, &tools, &bin_dir)?)?;
    let read = |path: &Option<std::path::PathBuf>| -> Result<Option<Value>> {
        path.as_ref()
            .map(|p| -> Result<Value> {
                Ok(serde_json::from_str(
                    &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
                )?)
            })
            .transpose()
    };
    let action: Action = serde_json::from_value(Value::String(options.action.to_ascii_uppercase()))
        .map_err(|_| anyhow!("{}: not an action; use CREATE, READ, UPDATE, DELETE or LIST", options.action))?;
    let call =
        Call::new(&entry.binary, &project.type_name(&entry), action, read(&options.model)?, read(&options.previous)?);
    rpdk_deploy::operate(&stack, &call, &mut print_event)?;
    Ok(())
}

/// Prints a progress event as pretty JSON.
pub fn print_event(event: &Value) -> Result<(), rpdk_deploy::Error> {
    println!("{}", serde_json::to_string_pretty(event).unwrap_or_default());
    Ok(())
}
