//! `cargo rpdk invoke`: one action for one type against the local stack, each progress event
//! printed, re-invoking on IN_PROGRESS as CloudFormation does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};
use rpdk::Action;
use rpdk::follow::{Bound, Operation};
use rpdk::wire::{HandlerRequest, RequestData};
use serde_json::Value;

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
            .map(|p| -> Result<Value> {
                Ok(serde_json::from_str(
                    &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
                )?)
            })
            .transpose()
    };
    let action = options.action.to_ascii_uppercase();
    let call =
        Call::new(&entry.binary, &project.type_name(&entry), &action, read(&options.model)?, read(&options.previous)?);
    drive(&stack, call, &mut print_event)?;
    Ok(())
}

/// Prints a progress event as pretty JSON.
pub fn print_event(event: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(event)?);
    Ok(())
}

/// How long CloudFormation lets a handler operation run when its schema names no
/// `timeoutInMinutes`: the registry's default of 120 minutes.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(120 * 60);

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
    /// How long the operation may take, IN_PROGRESS events followed, before it fails.
    pub timeout: Duration,
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
            timeout: HANDLER_TIMEOUT,
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
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed))
}

/// Sends one operation and follows its IN_PROGRESS events until it ends or its timeout runs
/// out, with fresh credentials for every invocation; `on_event` sees each event as it arrives.
/// Answers the last event.
pub fn drive(stack: &Stack, call: Call, on_event: &mut dyn FnMut(&Value) -> Result<()>) -> Result<Value> {
    let action: Action = serde_json::from_value(Value::String(call.action.clone()))
        .map_err(|_| anyhow!("{}: not an action; use CREATE, READ, UPDATE, DELETE or LIST", call.action))?;
    let updating = call.previous.is_some();
    let request = HandlerRequest {
        action: Some(action),
        aws_account_id: Some(ACCOUNT_ID.to_owned()),
        region: Some(REGION.to_owned()),
        bearer_token: Some(call.token),
        resource_type: Some(call.type_name.clone()),
        stack_id: call.stack_id,
        callback_context: call.context,
        request_data: RequestData {
            logical_resource_id: Some(call.logical_id),
            resource_properties: call.model,
            previous_resource_properties: call.previous,
            type_configuration: call.type_configuration,
            stack_tags: call.stack_tags,
            previous_stack_tags: call.previous_stack_tags.unwrap_or_default(),
            previous_system_tags: if updating { call.system_tags.clone() } else { BTreeMap::new() },
            system_tags: call.system_tags,
            provider_log_group_name: stack.principals.provider.is_some().then(|| log_group_name(&call.type_name)),
            ..RequestData::default()
        },
        ..HandlerRequest::default()
    };
    let operation = Operation::new(request, Bound::Until(SystemTime::now() + call.timeout));
    let mut fresh_credentials = |request: &mut HandlerRequest| -> Result<()> {
        request.request_data.caller_credentials = Some(stack.fresh_credentials(&call.type_name)?);
        request.request_data.provider_credentials = stack.fresh_provider_credentials()?;
        Ok(())
    };
    stack.functions.follow(&call.function, operation, &mut fresh_credentials, &mut |answer| on_event(&answer.event))
}
