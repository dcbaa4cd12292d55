//! Hooks: checks CloudFormation runs before it provisions a target (a resource, or a whole
//! stack or change set), answering compliant, non-compliant with a message, or in progress.
//!
//! A hook is an implementation of [`HookHandler`] (one async method per invocation point) and
//! its [`HookMetadata`] (the targets and permissions of each handler). The [`HookDispatcher`]
//! serves it in both forms CloudFormation offers: as a registered hook (the registry's hook
//! protocol, with the hook's configuration in `hookModel` and the execution role's
//! credentials) and as the function of a Lambda hook (`AWS::CloudFormation::LambdaHook`, whose
//! requests carry no credentials and whose configuration is the function's own). Every input
//! gets an answer; a target the handler does not declare is refused with `UnsupportedTarget`
//! before the handler runs.

mod dispatch;
mod schema;
pub mod wire;

use std::future::Future;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::deadline::Deadline;
use crate::error::HandlerError;
use crate::wire::Credentials;

pub use dispatch::{HookDispatcher, LAMBDA_HOOK_CONFIGURATION_ENV, PayloadFetcher};
pub use schema::hook_schema;
pub use wire::{Annotation, AnnotationStatus, HookProgressEvent, HookStatus, Severity};

/// A hook's handlers: one async method per invocation point. A point the metadata declares no
/// handler for is never called (the dispatcher answers for it), so implement those declared.
pub trait HookHandler: Send + Sync + 'static {
    /// The hook's configuration: the `Properties` of its type configuration, which arrive as
    /// `hookModel` (declare [`crate::Empty`] when it has none).
    type Configuration: Serialize + DeserializeOwned + JsonSchema + Default + Send + Sync + 'static;
    /// State carried from an IN_PROGRESS answer to the next invocation.
    type Context: Serialize + DeserializeOwned + Default + Send + Sync + 'static;

    /// The targets and permissions of each handler.
    fn metadata() -> HookMetadata;

    /// Before a target is created.
    fn pre_create(
        &self,
        req: &HookRequest<Self::Configuration>,
        context: &mut Self::Context,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = context;
        async move { Err(unsupported(req)) }
    }

    /// Before a target is updated (`req.target.previous_properties` holds what it was).
    fn pre_update(
        &self,
        req: &HookRequest<Self::Configuration>,
        context: &mut Self::Context,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = context;
        async move { Err(unsupported(req)) }
    }

    /// Before a target is deleted (`req.target.properties` holds what it is).
    fn pre_delete(
        &self,
        req: &HookRequest<Self::Configuration>,
        context: &mut Self::Context,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = context;
        async move { Err(unsupported(req)) }
    }
}

fn unsupported<C>(req: &HookRequest<C>) -> HandlerError {
    HandlerError::new(
        crate::HandlerErrorCode::UnsupportedTarget,
        format!("{} has no {} handler for {}", req.hook_type_name, req.invocation_point.handler_key(), req.target.name),
    )
}

/// What a hook handler answers: a [`Verdict`], or an error (FAILED with its code).
pub type HookResult = Result<Verdict, HandlerError>;

/// The invocation points of a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvocationPoint {
    /// `CREATE_PRE_PROVISION`: the `preCreate` handler.
    PreCreate,
    /// `UPDATE_PRE_PROVISION`: the `preUpdate` handler.
    PreUpdate,
    /// `DELETE_PRE_PROVISION`: the `preDelete` handler.
    PreDelete,
}

impl InvocationPoint {
    /// Every point, in the schema's order.
    pub const ALL: [InvocationPoint; 3] = [Self::PreCreate, Self::PreUpdate, Self::PreDelete];

    /// The wire name (`actionInvocationPoint`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreCreate => "CREATE_PRE_PROVISION",
            Self::PreUpdate => "UPDATE_PRE_PROVISION",
            Self::PreDelete => "DELETE_PRE_PROVISION",
        }
    }

    /// The handler's key in the schema's `handlers`.
    pub fn handler_key(self) -> &'static str {
        match self {
            Self::PreCreate => "preCreate",
            Self::PreUpdate => "preUpdate",
            Self::PreDelete => "preDelete",
        }
    }

    /// The point of a wire name.
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|point| point.as_str() == name)
    }
}

/// What a target is: one resource, or a whole stack or change set (whose template arrives
/// instead of properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetType {
    /// A resource of the stack (`targetName` is its type, e.g. `AWS::S3::Bucket`).
    Resource,
    /// The stack (`targetName` `STACK`).
    Stack,
    /// A change set (`targetName` `CHANGE_SET`).
    ChangeSet,
}

/// The target a hook is asked about.
#[derive(Clone, Debug)]
pub struct Target {
    /// The resource type (`AWS::S3::Bucket`), or `STACK` / `CHANGE_SET`.
    pub name: String,
    /// Resource, stack or change set.
    pub target_type: TargetType,
    /// The resource's logical id in the template (the stack's name for a stack target).
    pub logical_id: Option<String>,
    /// The resource's properties as the template gives them (after the change, for an
    /// update; before it, for a delete). CloudFormation sends template values as strings:
    /// read them with [`HookRequest::properties`].
    pub properties: Value,
    /// The resource's properties before an update.
    pub previous_properties: Option<Value>,
    /// For a stack or change set: the document its `payload` URL held (`Template`,
    /// `PreviousTemplate`, `ResolvedTemplate`, and for a change set `ChangedResources`; a
    /// Lambda hook's in camel case). Read the template with [`HookRequest::template`].
    pub stack: Option<Value>,
}

/// A hook handler's typed view of one request.
#[derive(Debug)]
pub struct HookRequest<C> {
    /// Which handler runs.
    pub invocation_point: InvocationPoint,
    /// The hook's type name as registered (or the Lambda hook's alias).
    pub hook_type_name: String,
    /// The target.
    pub target: Target,
    /// The hook's configuration.
    pub configuration: C,
    /// The same for every invocation of one check.
    pub client_request_token: String,
    /// The account.
    pub account_id: String,
    /// The stack.
    pub stack_id: Option<String>,
    /// The change set, when the operation is one.
    pub change_set_id: Option<String>,
    /// How many times the handler has been invoked for this check, this one included.
    pub invocation: u32,
    /// The credentials of the hook's execution role (none for a Lambda hook, which calls AWS
    /// with its function's own role).
    pub credentials: Option<Credentials>,
    /// Whether the request came as a Lambda hook's.
    pub lambda_hook: bool,
    /// When the handler must have answered.
    pub deadline: Deadline,
}

impl<C> HookRequest<C> {
    /// The target's properties as `T` (a serde struct of the properties the hook checks, or any
    /// `Deserialize` view): strings that CloudFormation sent for numbers and booleans are read
    /// as `T`'s schema declares them first. A fault names the property.
    pub fn properties<T: DeserializeOwned + JsonSchema>(&self) -> Result<T, HandlerError> {
        typed_properties(&self.target.properties, "requestData.targetModel.resourceProperties")
    }

    /// The target's properties before an update, as `T`; `None` outside an update.
    pub fn previous_properties<T: DeserializeOwned + JsonSchema>(&self) -> Result<Option<T>, HandlerError> {
        self.target
            .previous_properties
            .as_ref()
            .map(|previous| typed_properties(previous, "requestData.targetModel.previousResourceProperties"))
            .transpose()
    }
}

impl<C> HookRequest<C> {
    /// A stack or change-set target's template in its long (JSON) form, whether the document
    /// holds it as text (JSON or YAML, as CloudFormation sends it) or as an object; `None` for a
    /// resource target or a document without one.
    pub fn template(&self) -> Result<Option<Value>, HandlerError> {
        let Some(document) = &self.target.stack else { return Ok(None) };
        let Some((key, template)) = ["Template", "template"].iter().find_map(|k| Some((*k, document.get(*k)?))) else {
            return Ok(None);
        };
        match template {
            Value::Null => Ok(None),
            Value::String(text) => crate::template::parse(text)
                .map(Some)
                .map_err(|fault| HandlerError::invalid_request(format!("requestData.payload {key}: {fault}"))),
            object @ Value::Object(_) => Ok(Some(object.clone())),
            other => Err(HandlerError::invalid_request(format!(
                "requestData.payload {key}: {}, not a template",
                crate::wire::json_kind(other)
            ))),
        }
    }
}

fn typed_properties<T: DeserializeOwned + JsonSchema>(raw: &Value, field: &str) -> Result<T, HandlerError> {
    let mut value = raw.clone();
    recast_as::<T>(&mut value);
    crate::dispatch::decode(value, field)
}

/// Recasts the strings in `value` that `T`'s schema declares numbers or booleans, as the
/// registry's own (rewritten) schema reads them. A schema that cannot be rewritten recasts
/// nothing: decoding then names the fault.
fn recast_as<T: JsonSchema>(value: &mut Value) {
    if let Ok(schema) = crate::schema::rewrite(crate::schema::schemars_output::<T>()) {
        crate::recast::recast(value, &schema, &schema);
    }
}

/// The targets and permissions of a hook's handlers, and what the registry shows of it.
#[derive(Clone, Debug)]
pub struct HookMetadata {
    /// The service part of the type name (`Governance` in `Rpdk::Governance::EncryptionHook`).
    /// The namespace comes from the project configuration.
    pub service: &'static str,
    /// The hook part of the type name.
    pub hook: &'static str,
    /// What the hook checks, for the registry.
    pub description: &'static str,
    /// Where the hook's source lives.
    pub source_url: Option<&'static str>,
    /// Where its documentation lives.
    pub documentation_url: Option<&'static str>,
    /// The `preCreate` handler, if the hook has one.
    pub pre_create: Option<HookHandlerSpec>,
    /// The `preUpdate` handler.
    pub pre_update: Option<HookHandlerSpec>,
    /// The `preDelete` handler.
    pub pre_delete: Option<HookHandlerSpec>,
}

impl HookMetadata {
    /// The full type name under `namespace`.
    pub fn type_name(&self, namespace: &str) -> String {
        format!("{namespace}::{}::{}", self.service, self.hook)
    }

    /// The handler of a point, if the hook has one.
    pub fn handler(&self, point: InvocationPoint) -> Option<&HookHandlerSpec> {
        match point {
            InvocationPoint::PreCreate => self.pre_create.as_ref(),
            InvocationPoint::PreUpdate => self.pre_update.as_ref(),
            InvocationPoint::PreDelete => self.pre_delete.as_ref(),
        }
    }
}

/// The targets one handler checks and the IAM actions it calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookHandlerSpec {
    /// Target type names as the schema's `targetNames` writes them: `AWS::S3::Bucket`,
    /// wildcards (`AWS::S3::*`, `AWS::?QS::Queue`), `STACK`, `CHANGE_SET`.
    pub target_names: &'static [&'static str],
    /// The IAM actions the handler calls, exactly.
    pub permissions: &'static [&'static str],
}

impl HookHandlerSpec {
    /// Whether the handler checks `target` (a resource type, `STACK` or `CHANGE_SET`).
    pub fn handles(&self, target: &str) -> bool {
        self.target_names.iter().any(|pattern| target_matches(pattern, target))
    }
}

/// Whether the target name `pattern` (`*` any run of characters, `?` one character) matches
/// the type name `name`, as the registry matches `targetNames`.
pub fn target_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // The classic two-pointer match with backtracking to the last `*`.
    let (mut p, mut n, mut star, mut resume) = (0, 0, None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            p += 1;
            resume = n;
        } else if let Some(at) = star {
            p = at + 1;
            resume += 1;
            n = resume;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// A hook's answer about a target.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    outcome: Outcome,
    annotations: Vec<Annotation>,
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Compliant(Option<String>),
    NonCompliant(String),
    InProgress(Duration),
}

impl Verdict {
    /// The target may be provisioned.
    pub fn compliant() -> Self {
        Self { outcome: Outcome::Compliant(None), annotations: Vec::new() }
    }

    /// The target may be provisioned; `message` says why or what was checked.
    pub fn compliant_with(message: impl Into<String>) -> Self {
        Self { outcome: Outcome::Compliant(Some(message.into())), annotations: Vec::new() }
    }

    /// The target breaks a rule: `message` names the property and the fix. CloudFormation
    /// stops the operation (or warns, as the hook's failure mode says).
    pub fn non_compliant(message: impl Into<String>) -> Self {
        Self { outcome: Outcome::NonCompliant(message.into()), annotations: Vec::new() }
    }

    /// Not decided yet: CloudFormation invokes the handler again after `delay` with the
    /// context as the handler left it.
    pub fn in_progress(delay: Duration) -> Self {
        Self { outcome: Outcome::InProgress(delay), annotations: Vec::new() }
    }

    /// Adds an annotation: one rule's result, shown with the hook's invocation.
    pub fn with_annotation(mut self, annotation: Annotation) -> Self {
        self.annotations.push(annotation);
        self
    }

    /// Adds annotations.
    pub fn with_annotations(mut self, annotations: impl IntoIterator<Item = Annotation>) -> Self {
        self.annotations.extend(annotations);
        self
    }

    /// Whether the verdict lets the target be provisioned.
    pub fn is_compliant(&self) -> bool {
        matches!(self.outcome, Outcome::Compliant(_))
    }
}

#[cfg(test)]
mod tests;
