//! One registry operation on one resource, as CloudFormation requests it, and the request it is
//! sent as.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rpdk::Action;
use rpdk::wire::{HandlerRequest, RequestData};
use serde_json::Value;

use crate::{ACCOUNT_ID, REGION};

/// How long CloudFormation lets a handler operation run when its schema names no
/// `timeoutInMinutes`: the registry's default of 120 minutes.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(120 * 60);

/// One registry operation on one resource.
#[derive(Clone, Debug)]
pub struct Call {
    /// The function serving the type.
    pub function: String,
    /// The type, e.g. `Rpdk::IAM::CrossAccountRole`.
    pub type_name: String,
    /// The action.
    pub action: Action,
    /// The resource's logical id in its stack.
    pub logical_id: String,
    /// The stack's id, when the resource has a stack.
    pub stack_id: Option<String>,
    /// The client request token: the same for every invocation of one operation.
    pub token: String,
    /// The desired model (the identifier for READ and DELETE).
    pub model: Option<Value>,
    /// The model before an update.
    pub previous: Option<Value>,
    /// Set when resuming an operation an earlier invocation left IN_PROGRESS.
    pub context: Option<Value>,
    /// The type's configuration, when one is set.
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
    pub fn new(function: &str, type_name: &str, action: Action, model: Option<Value>, previous: Option<Value>) -> Self {
        Self {
            function: function.to_owned(),
            type_name: type_name.to_owned(),
            action,
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

    /// The registry request of the operation's first invocation, as CloudFormation sends it in
    /// the local account and region. Credentials and the log group are the caller's to add
    /// before each invocation.
    pub fn request(&self) -> HandlerRequest {
        let updating = self.previous.is_some();
        HandlerRequest {
            action: Some(self.action),
            aws_account_id: Some(ACCOUNT_ID.to_owned()),
            region: Some(REGION.to_owned()),
            bearer_token: Some(self.token.clone()),
            resource_type: Some(self.type_name.clone()),
            stack_id: self.stack_id.clone(),
            callback_context: self.context.clone(),
            request_data: RequestData {
                logical_resource_id: Some(self.logical_id.clone()),
                resource_properties: self.model.clone(),
                previous_resource_properties: self.previous.clone(),
                type_configuration: self.type_configuration.clone(),
                stack_tags: self.stack_tags.clone(),
                previous_stack_tags: self.previous_stack_tags.clone().unwrap_or_default(),
                previous_system_tags: if updating { self.system_tags.clone() } else { BTreeMap::new() },
                system_tags: self.system_tags.clone(),
                ..RequestData::default()
            },
            ..HandlerRequest::default()
        }
    }
}

/// A client request token no other operation has.
pub fn new_token() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed))
}
