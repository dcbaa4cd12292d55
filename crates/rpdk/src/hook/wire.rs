//! The hook protocol on the wire: the request CloudFormation sends a hook (registered, or a
//! Lambda hook's function), read leniently, and the progress event a hook answers, written
//! strictly (absent fields are left out).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::HandlerErrorCode;

/// The request CloudFormation sends a hook. Unknown fields (`invocationId`, `encryptedFas`, the
/// service adds more) are ignored; every field may be absent, and the dispatcher names the
/// ones a request needs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookInvocationRequest {
    /// The same for every invocation of one check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    /// The account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    /// The stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    /// The change set, for a change-set operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set_id: Option<String>,
    /// The hook's type name (a Lambda hook's alias).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_type_name: Option<String>,
    /// The registered version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_type_version: Option<String>,
    /// The hook's configuration (`Properties`); a Lambda hook's is `{"LambdaFunction": ARN}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_model: Option<Value>,
    /// `CREATE_PRE_PROVISION`, `UPDATE_PRE_PROVISION` or `DELETE_PRE_PROVISION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_invocation_point: Option<String>,
    /// The target and the credentials.
    pub request_data: HookRequestData,
    /// The invocation count and the context of an earlier IN_PROGRESS answer.
    pub request_context: HookRequestContext,
}

/// `requestData` of a hook request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookRequestData {
    /// The resource type, `STACK` or `CHANGE_SET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// `RESOURCE`, `STACK` or `CHANGE_SET` (a Lambda hook may get the resource type here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    /// The resource's logical id (the stack's name, the change set's ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_logical_id: Option<String>,
    /// `resourceProperties` and `previousResourceProperties`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_model: Option<Value>,
    /// For stack and change-set targets: where the template document is (a presigned URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The execution role's credentials: a JSON object encoded as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_credentials: Option<Value>,
    /// The log delivery role's credentials, encoded the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_credentials: Option<Value>,
    /// Where the hook's own logs go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_log_group_name: Option<String>,
}

/// `requestContext` of a hook request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookRequestContext {
    /// How many times the hook has been invoked for this check, this one included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation: Option<u32>,
    /// The context of the previous IN_PROGRESS answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_context: Option<Value>,
}

/// A hook's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum HookStatus {
    InProgress,
    Success,
    Failed,
}

impl HookStatus {
    /// The wire name (`IN_PROGRESS`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
        }
    }
}

/// The progress event a hook answers, as written on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookProgressEvent {
    /// The status.
    pub hook_status: HookStatus,
    /// The code of a FAILED answer: `NonCompliant` for a rule broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<HandlerErrorCode>,
    /// A message for people; always present when FAILED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The context CloudFormation passes back on the next invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_context: Option<Value>,
    /// How long CloudFormation waits before invoking again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_delay_seconds: Option<u32>,
    /// The request's token, echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    /// The result of each rule checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

impl HookProgressEvent {
    /// A FAILED answer: a code and a message.
    pub fn failed(code: HandlerErrorCode, message: impl Into<String>) -> Self {
        Self {
            hook_status: HookStatus::Failed,
            error_code: Some(code),
            message: Some(message.into()),
            callback_context: None,
            callback_delay_seconds: None,
            client_request_token: None,
            annotations: Vec::new(),
        }
    }
}

/// One rule's result, shown with the hook's invocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    /// The rule's name.
    pub annotation_name: String,
    /// Whether the target passed it.
    pub status: AnnotationStatus,
    /// What was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// How to comply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_message: Option<String>,
    /// Where the rule is explained (an HTTP URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_link: Option<String>,
    /// How much a failure matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_level: Option<Severity>,
}

impl Annotation {
    /// A rule the target passed.
    pub fn passed(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(name, AnnotationStatus::Passed, message)
    }

    /// A rule the target broke; add the remediation with [`Annotation::remediation`].
    pub fn failed(name: impl Into<String>, message: impl Into<String>, severity: Severity) -> Self {
        Self { severity_level: Some(severity), ..Self::new(name, AnnotationStatus::Failed, message) }
    }

    /// A rule that did not apply to the target.
    pub fn skipped(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(name, AnnotationStatus::Skipped, message)
    }

    /// How to comply, and where the rule is explained.
    pub fn remediation(mut self, message: impl Into<String>, link: Option<&str>) -> Self {
        self.remediation_message = Some(message.into());
        self.remediation_link = link.map(str::to_owned);
        self
    }

    fn new(name: impl Into<String>, status: AnnotationStatus, message: impl Into<String>) -> Self {
        Self {
            annotation_name: name.into(),
            status,
            status_message: Some(message.into()),
            remediation_message: None,
            remediation_link: None,
            severity_level: None,
        }
    }
}

/// An annotation's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum AnnotationStatus {
    Passed,
    Failed,
    Skipped,
}

/// How much a broken rule matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}
