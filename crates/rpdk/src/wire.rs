//! The registry's JSON shapes, as CloudFormation sends and reads them.
//!
//! Decoding is lenient: unknown keys are ignored and every optional key may be absent or
//! `null`. Models stay JSON here; they are recast and decoded against the resource's schema by
//! the dispatcher. Encoding is strict: absent fields are omitted, never written as `null`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{HandlerError, HandlerErrorCode};

/// Reads an invocation's payload, whatever the caller sent: bytes that are not UTF-8, not JSON,
/// nested deeper than the parser goes or not a JSON object are an `InvalidRequest` saying which.
pub fn parse_payload(bytes: &[u8]) -> Result<Value, HandlerError> {
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(HandlerError::invalid_request(format!(
            "the payload is not UTF-8 text (invalid byte at offset {}); send the request as a JSON object",
            error.valid_up_to()
        )));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        HandlerError::invalid_request(format!(
            "the payload is not a JSON document ({error}); send the request as a JSON object"
        ))
    })?;
    if !value.is_object() {
        return Err(HandlerError::invalid_request(format!(
            "the payload is a JSON {}, not an object; send the request as a JSON object",
            json_kind(&value)
        )));
    }
    Ok(value)
}

pub use crate::dispatch::decode_request;
pub use crate::lenient::outline;

/// The log stream of a resource's provider logs, as the Python and TypeScript plugins name it:
/// `{stackId}/{logicalResourceId}`, or `{account}-{region}` for a request outside a stack (the
/// contract tests), with `:` (which stream names may not hold) written `__`, at most 512
/// characters.
pub fn provider_log_stream(stack_id: Option<&str>, logical_id: Option<&str>, account: &str, region: &str) -> String {
    let name = match (stack_id, logical_id) {
        (Some(stack_id), Some(logical_id)) => format!("{stack_id}/{logical_id}"),
        _ => format!("{account}-{region}"),
    };
    name.replace(':', "__").replace('*', "_").chars().take(512).collect()
}

/// The JSON name of a value's kind, for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The five handler actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    List,
}

impl Action {
    /// The wire name (`CREATE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Read => "READ",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::List => "LIST",
        }
    }

    /// The lowercase name the schema's `handlers` section uses.
    pub fn handler_key(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::List => "list",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// AWS credentials as the registry passes them. `Debug` never shows the secret parts.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The access key id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub access_key_id: String,
    /// The secret access key.
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &"<redacted>")
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The request CloudFormation sends to a registry handler (protocol version 2.0.0). It reads
/// leniently and writes as CloudFormation writes: absent fields are left out. Its documents
/// (models, callback context, type configuration) are JSON values, or `&RawValue` where they
/// are read straight from the payload's text.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "D: Deserialize<'de>"))]
pub struct HandlerRequest<D = Value> {
    /// The action to perform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The account the resource lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    /// The client request token: the same for every call of one operation, retries included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
    /// The region the resource lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The resource type name, e.g. `Rpdk::IAM::CrossAccountRole`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The registered version of the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type_version: Option<String>,
    /// The stack that owns the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    /// The context returned by the previous IN_PROGRESS event of this operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_context: Option<D>,
    /// The LIST page to continue from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// The most models one LIST page may hold.
    #[serde(default, deserialize_with = "lenient_count", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    /// Whether CloudFormation asks for a snapshot before DELETE (`DeletionPolicy: Snapshot`).
    #[serde(default, deserialize_with = "lenient_flag", skip_serializing_if = "Option::is_none")]
    pub snapshot_requested: Option<bool>,
    /// Whether the operation undoes an earlier one (a stack rollback).
    #[serde(default, deserialize_with = "lenient_flag", skip_serializing_if = "Option::is_none")]
    pub rollback: Option<bool>,
    /// Whether the request is part of drift detection.
    #[serde(default, deserialize_with = "lenient_flag", skip_serializing_if = "Option::is_none")]
    pub driftable: Option<bool>,
    /// Service features the request is made under, by name.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, Value>,
    /// The request's payload.
    #[serde(default, deserialize_with = "null_as_default")]
    pub request_data: RequestData<D>,
    /// Whether the payload names another protocol's key: a hook's `actionInvocationPoint` or a
    /// custom resource's `RequestType` (both at once do not decode). Such a payload is not a
    /// registry request; never written.
    #[serde(
        default,
        rename = "actionInvocationPoint",
        alias = "RequestType",
        deserialize_with = "present",
        skip_serializing
    )]
    pub other_protocol: bool,
}

/// The `requestData` part of a [`HandlerRequest`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "D: Deserialize<'de>"))]
pub struct RequestData<D = Value> {
    /// Credentials of the type's execution role, for the handler's own AWS calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_credentials: Option<Credentials>,
    /// Credentials for the provider's own logs and metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_credentials: Option<Credentials>,
    /// The log group the provider may write to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_log_group_name: Option<String>,
    /// The template's logical id of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_resource_id: Option<String>,
    /// The desired model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_properties: Option<D>,
    /// The previous model (UPDATE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_resource_properties: Option<D>,
    /// The account's configuration of the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_configuration: Option<D>,
    /// Tags CloudFormation adds (`aws:cloudformation:*`).
    #[serde(default, deserialize_with = "lenient_tags", skip_serializing_if = "BTreeMap::is_empty")]
    pub system_tags: BTreeMap<String, String>,
    /// System tags before an update.
    #[serde(default, deserialize_with = "lenient_tags", skip_serializing_if = "BTreeMap::is_empty")]
    pub previous_system_tags: BTreeMap<String, String>,
    /// The stack's tags.
    #[serde(default, deserialize_with = "lenient_tags", skip_serializing_if = "BTreeMap::is_empty")]
    pub stack_tags: BTreeMap<String, String>,
    /// The stack's tags before an update.
    #[serde(default, deserialize_with = "lenient_tags", skip_serializing_if = "BTreeMap::is_empty")]
    pub previous_stack_tags: BTreeMap<String, String>,
}

// By hand: a document type need not have a default (`&RawValue` has none).
impl<D> Default for HandlerRequest<D> {
    fn default() -> Self {
        Self {
            action: None,
            aws_account_id: None,
            bearer_token: None,
            region: None,
            resource_type: None,
            resource_type_version: None,
            stack_id: None,
            callback_context: None,
            next_token: None,
            max_results: None,
            snapshot_requested: None,
            rollback: None,
            driftable: None,
            features: BTreeMap::new(),
            request_data: RequestData::default(),
            other_protocol: false,
        }
    }
}

impl<D> Default for RequestData<D> {
    fn default() -> Self {
        Self {
            caller_credentials: None,
            provider_credentials: None,
            provider_log_group_name: None,
            logical_resource_id: None,
            resource_properties: None,
            previous_resource_properties: None,
            type_configuration: None,
            system_tags: BTreeMap::new(),
            previous_system_tags: BTreeMap::new(),
            stack_tags: BTreeMap::new(),
            previous_stack_tags: BTreeMap::new(),
        }
    }
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A flag that may arrive recast as `"true"` / `"false"`.
fn lenient_flag<'de, D>(deserializer: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Bool(flag)) => Some(flag),
        Some(Value::String(text)) => text.parse().ok(),
        _ => None,
    })
}

/// A positive count that may arrive recast as a string; anything else is no count.
fn lenient_count<'de, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(number)) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    }
    .filter(|count| *count > 0))
}

/// Tag maps whose values may be recast primitives or null.
fn lenient_tags<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<BTreeMap<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .filter_map(|(key, value)| match value {
            Value::Null => None,
            Value::String(s) => Some((key, s)),
            other => Some((key, other.to_string())),
        })
        .collect())
}

/// The status of a progress event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum OperationStatus {
    Pending,
    InProgress,
    Success,
    Failed,
}

impl OperationStatus {
    /// The wire name (`IN_PROGRESS`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::InProgress => "IN_PROGRESS",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
        }
    }
}

/// The progress event a handler returns, as written on the wire.
///
/// Build it through [`crate::dispatch`], which upholds the protocol's rules; this struct only
/// makes sure that absent fields are omitted. Its models are JSON values, or `Box<RawValue>`
/// where they are encoded straight from the typed model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "D: Deserialize<'de>"))]
pub struct ProgressEvent<D = Value> {
    /// The status.
    pub status: OperationStatus,
    /// The error code of a FAILED event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<HandlerErrorCode>,
    /// A message for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The model of CREATE, READ, UPDATE and of an IN_PROGRESS DELETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_model: Option<D>,
    /// The models of a LIST page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_models: Option<Vec<D>>,
    /// The LIST page to ask for next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// The context CloudFormation passes back on the next invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_context: Option<Value>,
    /// How long CloudFormation waits before invoking again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_delay_seconds: Option<u32>,
}

impl<D> ProgressEvent<D> {
    /// A FAILED event: a code and a message, nothing else.
    pub fn failed(code: HandlerErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: OperationStatus::Failed,
            error_code: Some(code),
            message: Some(message.into()),
            resource_model: None,
            resource_models: None,
            next_token: None,
            callback_context: None,
            callback_delay_seconds: None,
        }
    }
}

impl ProgressEvent<Box<RawValue>> {
    /// The event with its models read as JSON values.
    pub fn into_values(self) -> Result<ProgressEvent, serde_json::Error> {
        let read = |raw: Box<RawValue>| serde_json::from_str(raw.get());
        Ok(ProgressEvent {
            status: self.status,
            error_code: self.error_code,
            message: self.message,
            resource_model: self.resource_model.map(read).transpose()?,
            resource_models: self.resource_models.map(|models| models.into_iter().map(read).collect()).transpose()?,
            next_token: self.next_token,
            callback_context: self.callback_context,
            callback_delay_seconds: self.callback_delay_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::custom_resource::CustomResourceStatus;
    use crate::hook::HookStatus;

    /// `as_str` is what serde writes, for every status of every protocol.
    #[test]
    fn statuses_name_themselves_as_the_wire_does() {
        fn wire_name(status: impl Serialize) -> String {
            serde_json::to_value(status).expect("a status encodes").as_str().expect("as a string").to_owned()
        }
        for status in
            [OperationStatus::Pending, OperationStatus::InProgress, OperationStatus::Success, OperationStatus::Failed]
        {
            assert_eq!(status.as_str(), wire_name(status));
        }
        for status in [HookStatus::InProgress, HookStatus::Success, HookStatus::Failed] {
            assert_eq!(status.as_str(), wire_name(status));
        }
        for status in [CustomResourceStatus::Success, CustomResourceStatus::Failed] {
            assert_eq!(status.as_str(), wire_name(status));
        }
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let creds = Credentials {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: "s3cr3t".into(),
            session_token: Some("tok3n".into()),
        };
        let shown = format!("{creds:?}");
        for secret in ["AKIAEXAMPLE", "s3cr3t", "tok3n"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn failed_event_has_only_code_and_message() {
        let json = serde_json::to_value(ProgressEvent::<Value>::failed(HandlerErrorCode::NotFound, "gone"))
            .expect("serializes");
        assert_eq!(json, serde_json::json!({"status": "FAILED", "errorCode": "NotFound", "message": "gone"}));
    }

    #[test]
    fn every_unreadable_payload_is_an_invalid_request_saying_why() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let cases: [(&[u8], &str); 6] = [
            (b"", "not a JSON document"),
            (b"not json", "not a JSON document"),
            (b"{\"action\": \"\xff\"}", "not UTF-8 text (invalid byte at offset 12)"),
            (deep.as_bytes(), "recursion limit exceeded"),
            (b"\"CREATE\"", "a JSON string, not an object"),
            (b"{} trailing", "not a JSON document"),
        ];
        for (payload, says) in cases {
            let error = parse_payload(payload).expect_err("refused");
            assert_eq!(error.code(), HandlerErrorCode::InvalidRequest);
            assert!(error.message().contains(says), "{}", error.message());
        }
        assert!(parse_payload(b" {\"action\": \"READ\"} ").is_ok());
    }

    #[test]
    fn log_streams_are_named_as_the_python_plugin_names_them() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/partners/2f0c1d20-0000-0000-0000-000000000000";
        assert_eq!(
            provider_log_stream(Some(stack), Some("PartnerRole"), "123456789012", "us-east-1"),
            "arn__aws__cloudformation__us-east-1__123456789012__stack/partners/2f0c1d20-0000-0000-0000-000000000000/PartnerRole"
        );
        assert_eq!(
            provider_log_stream(None, Some("PartnerRole"), "123456789012", "us-east-1"),
            "123456789012-us-east-1"
        );
        assert_eq!(provider_log_stream(Some(&"x".repeat(600)), Some("L"), "", "").len(), 512);
    }

    #[test]
    fn recast_flags_and_counts_are_read_and_nonsense_is_none() {
        let request: HandlerRequest = serde_json::from_value(serde_json::json!({
            "maxResults": "25", "snapshotRequested": "true", "rollback": false, "driftable": null,
            "features": {"a": 1}
        }))
        .expect("decodes");
        assert_eq!(request.max_results, Some(25));
        assert_eq!(request.snapshot_requested, Some(true));
        assert_eq!(request.rollback, Some(false));
        assert_eq!(request.driftable, None);
        assert_eq!(request.features.get("a"), Some(&serde_json::json!(1)));
        for nonsense in [serde_json::json!(0), serde_json::json!(-3), serde_json::json!("many"), serde_json::json!([1])]
        {
            let request: HandlerRequest =
                serde_json::from_value(serde_json::json!({"maxResults": nonsense})).expect("decodes");
            assert_eq!(request.max_results, None, "{nonsense}");
        }
    }

    #[test]
    fn a_request_is_written_as_cloudformation_writes_it_and_reads_back_the_same() {
        let original: HandlerRequest =
            serde_json::from_str(include_str!("../fixtures/create-production.json")).expect("decodes");
        let written = serde_json::to_value(&original).expect("encodes");
        let nulls: Vec<&String> = [&written, &written["requestData"]]
            .iter()
            .filter_map(|o| o.as_object())
            .flatten()
            .filter(|(_, v)| v.is_null())
            .map(|(k, _)| k)
            .collect();
        assert!(nulls.is_empty(), "absent fields are left out, not written null: {nulls:?}");
        assert_eq!(
            written["requestData"]["callerCredentials"]["accessKeyId"],
            original
                .request_data
                .caller_credentials
                .as_ref()
                .map(|c| c.access_key_id.clone())
                .unwrap_or_default()
                .as_str()
        );
        let again: HandlerRequest = serde_json::from_value(written.clone()).expect("reads back");
        assert_eq!(serde_json::to_value(&again).expect("encodes"), written);
    }

    #[test]
    fn tags_accept_nulls_and_recast_values() {
        let data: RequestData = serde_json::from_value(serde_json::json!({
            "stackTags": {"a": "1", "b": 2, "c": null, "d": true},
            "systemTags": null
        }))
        .expect("decodes");
        assert_eq!(data.stack_tags.get("b").map(String::as_str), Some("2"));
        assert_eq!(data.stack_tags.get("d").map(String::as_str), Some("true"));
        assert!(!data.stack_tags.contains_key("c"));
        assert!(data.system_tags.is_empty());
    }
}
