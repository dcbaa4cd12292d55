//! `cargo rpdk invoke`: one action for one type against the local stack, each progress event
//! printed, re-invoking on IN_PROGRESS as CloudFormation does.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::project::Project;
use crate::stack::{ACCOUNT_ID, REGION, Stack};
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
    let stack = Stack::start(&project, &tools, &bin_dir)?;
    let read = |path: &Option<std::path::PathBuf>| -> Result<Option<Value>> {
        path.as_ref()
            .map(|p| -> Result<Value> { Ok(serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?)?) })
            .transpose()
    };
    let events = drive(&stack, &entry.binary, &project.type_name(&entry), &options.action.to_ascii_uppercase(), read(&options.model)?, read(&options.previous)?)?;
    for event in events {
        println!("{}", serde_json::to_string_pretty(&event)?);
    }
    Ok(())
}

/// Sends one action and follows IN_PROGRESS events until the operation ends.
pub fn drive(stack: &Stack, function: &str, type_name: &str, action: &str, model: Option<Value>, previous: Option<Value>) -> Result<Vec<Value>> {
    let token = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos());
    let mut request = json!({
        "action": action,
        "awsAccountId": ACCOUNT_ID,
        "region": REGION,
        "bearerToken": token,
        "resourceType": type_name,
        "requestData": {
            "callerCredentials": stack.handler_credentials(type_name)?,
            "logicalResourceId": "Invoked",
            "resourceProperties": model,
            "previousResourceProperties": previous,
        }
    });
    let mut events = Vec::new();
    loop {
        let event = stack.invoke(function, &request)?;
        events.push(event.clone());
        if event.get("status").and_then(Value::as_str) != Some("IN_PROGRESS") {
            return Ok(events);
        }
        let delay = event.get("callbackDelaySeconds").and_then(Value::as_u64).unwrap_or(1);
        std::thread::sleep(Duration::from_secs(delay));
        request["callbackContext"] = event.get("callbackContext").cloned().unwrap_or(Value::Null);
        request["requestData"]["resourceProperties"] = event.get("resourceModel").cloned().unwrap_or(Value::Null);
    }
}
