//! `cargo rpdk invoke`: one action for one type against the local stack, each progress event
//! printed, re-invoking on IN_PROGRESS as CloudFormation does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
    let action = options.action.to_ascii_uppercase();
    let call = Call::new(&entry.binary, &project.type_name(&entry), &action, read(&options.model)?, read(&options.previous)?);
    drive(&stack, call, &mut print_event)?;
    Ok(())
}

/// Prints a progress event as pretty JSON.
pub fn print_event(event: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(event)?);
    Ok(())
}

/// One registry operation on one resource, as CloudFormation requests it.
pub struct Call {
    pub function: String,
    pub type_name: String,
    pub action: String,
    pub logical_id: String,
    pub stack_id: Option<String>,
    /// The client request token: the same for every invocation of one operation.
    pub token: String,
    pub model: Option<Value>,
    pub previous: Option<Value>,
    /// Set when resuming an operation an earlier invocation left IN_PROGRESS.
    pub context: Option<Value>,
    pub type_configuration: Option<Value>,
    /// The stack's tags, for a taggable type.
    pub stack_tags: BTreeMap<String, String>,
    /// The stack's tags before an update.
    pub previous_stack_tags: Option<BTreeMap<String, String>>,
    /// CloudFormation's own tags of the resource (`aws:cloudformation:*`).
    pub system_tags: BTreeMap<String, String>,
}

impl Call {
    /// A new operation outside any stack.
    pub fn new(function: &str, type_name: &str, action: &str, model: Option<Value>, previous: Option<Value>) -> Self {
        Self {
            function: function.to_owned(),
            type_name: type_name.to_owned(),
            action: action.to_owned(),
            logical_id: "Invoked".to_owned(),
            stack_id: None,
            token: new_token(),
            model,
            previous,
            context: None,
            type_configuration: None,
            stack_tags: BTreeMap::new(),
            previous_stack_tags: None,
            system_tags: BTreeMap::new(),
        }
    }
}

/// The log group of a type's provider logs: the one `cfn submit` registers it with
/// (`rpdk-iam-crossaccountrole-logs`).
pub fn log_group_name(type_name: &str) -> String {
    format!("{}-logs", crate::project::stem_of(type_name))
}

/// A client request token no other operation has.
pub fn new_token() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed))
}

/// Sends one operation and follows its IN_PROGRESS events until it ends, with fresh
/// credentials for every invocation; `on_event` sees each event as it arrives. Answers the
/// last event.
pub fn drive(stack: &Stack, call: Call, on_event: &mut dyn FnMut(&Value) -> Result<()>) -> Result<Value> {
    let updating = call.previous.is_some();
    let mut request = json!({
        "action": call.action,
        "awsAccountId": ACCOUNT_ID,
        "region": REGION,
        "bearerToken": call.token,
        "resourceType": call.type_name,
        "stackId": call.stack_id,
        "callbackContext": call.context,
        "requestData": {
            "logicalResourceId": call.logical_id,
            "resourceProperties": call.model,
            "previousResourceProperties": call.previous,
            "typeConfiguration": call.type_configuration,
        }
    });
    let data = &mut request["requestData"];
    if !call.stack_tags.is_empty() {
        data["stackTags"] = json!(call.stack_tags);
    }
    if let Some(previous) = &call.previous_stack_tags {
        data["previousStackTags"] = json!(previous);
    }
    if !call.system_tags.is_empty() {
        data["systemTags"] = json!(call.system_tags);
        if updating {
            data["previousSystemTags"] = json!(call.system_tags);
        }
    }
    if stack.principals.provider.is_some() {
        request["requestData"]["providerLogGroupName"] = log_group_name(&call.type_name).into();
    }
    loop {
        request["requestData"]["callerCredentials"] = serde_json::to_value(stack.fresh_credentials(&call.type_name)?)?;
        if let Some(provider) = stack.fresh_provider_credentials()? {
            request["requestData"]["providerCredentials"] = serde_json::to_value(provider)?;
        }
        let event = stack.invoke(&call.function, &request)?;
        on_event(&event)?;
        if event.get("status").and_then(Value::as_str) != Some("IN_PROGRESS") {
            return Ok(event);
        }
        let delay = event.get("callbackDelaySeconds").and_then(Value::as_u64).unwrap_or(1);
        std::thread::sleep(Duration::from_secs(delay));
        request["callbackContext"] = event.get("callbackContext").cloned().unwrap_or(Value::Null);
        request["requestData"]["resourceProperties"] = event.get("resourceModel").cloned().unwrap_or(Value::Null);
    }
}
