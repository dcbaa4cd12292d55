//! Classic custom resources: a `Custom::*` resource whose `ServiceToken` is the handler's
//! function (protocol.md §3), served by the same handlers as the registry type.
//!
//! CloudFormation sends one request per change and waits for a response PUT to a presigned
//! URL; it never invokes again. So the operation is driven to its end here: the handler is
//! called as the registry would call it, again and again while it answers IN_PROGRESS, within
//! the time the function has.
//!
//! - `Create` → CREATE. `Update` → UPDATE, or CREATE when a create-only property changes: the
//!   new physical id tells CloudFormation to delete the old resource. `Delete` → DELETE, where
//!   a resource already gone counts as deleted.
//! - The physical id is the primary identifier; the parts of a composite one are joined with
//!   `|` (Cloud Control's form), `%` and `|` inside a part percent-encoded. A create that fails
//!   before the identifier is known answers an invented id starting [`INVENTED_ID_PREFIX`], and
//!   deleting such an id succeeds at once, so rollbacks never stick in `DELETE_FAILED`.
//! - `Data` holds the read-only properties (nested ones as `A.B`, the name `Fn::GetAtt` uses),
//!   `NoEcho` is set when the type has write-only properties, and the body fits CloudFormation's
//!   [`RESPONSE_LIMIT`].

use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Dispatcher, property_path};
use crate::error::HandlerErrorCode;
use crate::recast::recast;
use crate::resource::ResourceHandler;
use crate::wire::{Credentials, OperationStatus};

/// How physical ids of resources that were never created begin.
pub const INVENTED_ID_PREFIX: &str = "rpdk:not-created:";
/// The largest response body CloudFormation accepts, in bytes.
pub const RESPONSE_LIMIT: usize = 4096;
/// What CloudFormation waits for a response when the template sets no `ServiceTimeout`.
const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Kept back from the end of the custom resource's time, to send the response.
const RESPONSE_RESERVE: Duration = Duration::from_secs(5);
/// A handler call gets at least this much time; with less left, the operation is out of time.
const SHORTEST_CALL: Duration = Duration::from_secs(5);
/// Properties CloudFormation itself reads, never part of the model.
const SERVICE_TOKEN: &str = "ServiceToken";
const SERVICE_TIMEOUT: &str = "ServiceTimeout";

/// `%` and `|` inside an identifier part are encoded, so the parts split apart again.
const PART: &AsciiSet = &CONTROLS.add(b'%').add(b'|');

/// What CloudFormation asks of a custom resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

/// The request CloudFormation sends a custom resource's function. Decoding is lenient: unknown
/// keys are ignored and everything but `RequestType` and `ResponseURL` may be missing.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceRequest {
    /// Create, Update or Delete.
    pub request_type: RequestType,
    /// The presigned URL the response is PUT to.
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    /// The stack's ARN; it also names the region and the account.
    #[serde(default)]
    pub stack_id: Option<String>,
    /// Unique per request; the handlers' client request token.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The template's type, e.g. `Custom::CrossAccountRole`.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The template's logical id.
    #[serde(default)]
    pub logical_resource_id: Option<String>,
    /// The id an earlier response gave (Update and Delete).
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// The template's properties, values as strings, `ServiceToken` included.
    #[serde(default)]
    pub resource_properties: Option<Value>,
    /// The properties before an update.
    #[serde(default)]
    pub old_resource_properties: Option<Value>,
}

impl CustomResourceRequest {
    /// The physical id CloudFormation sent, if any.
    fn given_id(&self) -> Option<&str> {
        self.physical_resource_id.as_deref().filter(|id| !id.is_empty())
    }

    /// The physical id of a resource this request never made.
    fn invented_id(&self) -> String {
        format!("{INVENTED_ID_PREFIX}{}", self.request_id.as_deref().unwrap_or_default())
    }
}

/// SUCCESS or FAILED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum CustomResourceStatus {
    Success,
    Failed,
}

impl CustomResourceStatus {
    /// The wire name (`SUCCESS`, `FAILED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
        }
    }
}

/// The response CloudFormation reads from the presigned URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceResponse {
    /// SUCCESS or FAILED.
    pub status: CustomResourceStatus,
    /// Why it failed (or what the response left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The resource's id: `Ref` answers it, and a new one means replacement.
    pub physical_resource_id: String,
    /// Copied from the request.
    pub stack_id: String,
    /// Copied from the request.
    pub request_id: String,
    /// Copied from the request.
    pub logical_resource_id: String,
    /// Masks `Fn::GetAtt` values in the console and API output.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_echo: bool,
    /// The attributes `Fn::GetAtt` reads.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
}

impl CustomResourceResponse {
    /// A SUCCESS answering `request`, with the ids copied and the physical id the resource has
    /// (an invented one when it has none yet).
    fn answering(request: &CustomResourceRequest) -> Self {
        let request_id = request.request_id.clone().unwrap_or_default();
        Self {
            status: CustomResourceStatus::Success,
            reason: None,
            physical_resource_id: request.given_id().map_or_else(|| request.invented_id(), str::to_owned),
            stack_id: request.stack_id.clone().unwrap_or_default(),
            request_id,
            logical_resource_id: request.logical_resource_id.clone().unwrap_or_default(),
            no_echo: false,
            data: Map::new(),
        }
    }

    /// The answer to a request no type can serve: FAILED with `reason`, except a `Delete` of a
    /// resource that was never made, which succeeds so that a rollback does not stick.
    pub fn refused(request: &CustomResourceRequest, reason: String) -> Self {
        let mut response = Self::answering(request);
        let never_made = request.given_id().is_none_or(|id| id.starts_with(INVENTED_ID_PREFIX));
        if !(request.request_type == RequestType::Delete && never_made) {
            response.status = CustomResourceStatus::Failed;
            response.reason = Some(reason);
        }
        response
    }

    /// The answer to a payload that is no request CloudFormation sends (an unknown
    /// `RequestType`, a field of the wrong type): FAILED with `reason`, with the ids the payload
    /// holds, and where to PUT it. `None` when the payload names no `ResponseURL`: then there
    /// is nobody to answer.
    pub fn unreadable(payload: &Value, reason: String) -> Option<(String, Self)> {
        let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
        let url = text("ResponseURL").filter(|url| !url.is_empty())?;
        let request_id = text("RequestId").unwrap_or_default();
        let physical_resource_id = text("PhysicalResourceId")
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("{INVENTED_ID_PREFIX}{request_id}"));
        let response = Self {
            status: CustomResourceStatus::Failed,
            reason: Some(reason),
            physical_resource_id,
            stack_id: text("StackId").unwrap_or_default(),
            request_id,
            logical_resource_id: text("LogicalResourceId").unwrap_or_default(),
            no_echo: false,
            data: Map::new(),
        };
        Some((url, fit(response)))
    }

    /// The body as sent: compact JSON.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What the function knows beyond the request.
#[derive(Clone, Debug, Default)]
pub struct CustomResourceContext {
    /// The function's own credentials (its execution role): custom resource requests carry
    /// none.
    pub credentials: Option<Credentials>,
    /// The function's region, used when the stack id names none.
    pub region: Option<String>,
    /// When the function's invocation ends, if known.
    pub deadline: Option<SystemTime>,
    /// The most one handler call may work before it answers IN_PROGRESS.
    pub call_limit: Option<Duration>,
}

/// How one driven operation ended.
enum Driven {
    Succeeded(Option<Value>),
    Failed { code: HandlerErrorCode, message: String, identified: Option<Value> },
    OutOfTime { identified: Option<Value> },
}

impl<R: ResourceHandler> Dispatcher<R> {
    /// Serves one custom resource request to its end and returns the response to PUT. Never
    /// fails: every fault is a FAILED response with a reason.
    pub async fn handle_custom_resource(
        &self,
        request: &CustomResourceRequest,
        context: &CustomResourceContext,
    ) -> CustomResourceResponse {
        let received = self.clock.now();
        // Until the operation says otherwise, the resource keeps the id it has.
        let mut response = CustomResourceResponse {
            no_echo: !self.metadata.write_only.is_empty(),
            ..CustomResourceResponse::answering(request)
        };
        let invented = request.invented_id();
        let outcome = self.custom_operation(request, context, received, request.given_id(), &invented).await;
        match outcome {
            Ok((physical_id, model)) => {
                response.physical_resource_id = physical_id;
                if let Some(model) = model {
                    response.data = self.attributes(&model);
                }
            }
            Err((physical_id, reason)) => {
                response.status = CustomResourceStatus::Failed;
                response.physical_resource_id = physical_id.unwrap_or(response.physical_resource_id);
                response.reason = Some(reason);
            }
        }
        fit(response)
    }

    /// The physical id and model of a success, or the physical id (when it changes) and the
    /// reason of a failure.
    async fn custom_operation(
        &self,
        request: &CustomResourceRequest,
        context: &CustomResourceContext,
        received: SystemTime,
        given: Option<&str>,
        invented: &str,
    ) -> Result<(String, Option<Value>), (Option<String>, String)> {
        let kind = request.request_type;
        let (properties, timeout) = split_properties(request.resource_properties.clone());
        let timeout = match (timeout, kind) {
            (Ok(timeout), _) => timeout,
            // A delete must not stick on a value CloudFormation itself accepted earlier.
            (Err(_), RequestType::Delete) => DEFAULT_SERVICE_TIMEOUT,
            (Err(reason), _) => return Err((None, reason)),
        };
        let old_properties = split_properties(request.old_resource_properties.clone()).0;
        let end = context.deadline.map_or(received + timeout, |d| d.min(received + timeout));
        let end = end.checked_sub(RESPONSE_RESERVE).filter(|end| *end > received).unwrap_or(received);
        let base = self.registry_request(request, context);
        let drive = |action: &str, model: Value, previous: Option<Value>| {
            let mut payload = base.clone();
            payload["action"] = action.into();
            payload["requestData"]["resourceProperties"] = model;
            if let Some(previous) = previous {
                payload["requestData"]["previousResourceProperties"] = previous;
            }
            self.drive(payload, end, context.call_limit)
        };
        let seconds = end.duration_since(received).unwrap_or_default().as_secs();
        let identifier = match given {
            Some(id) if !id.starts_with(INVENTED_ID_PREFIX) => Some(self.identifier_from_physical_id(id)),
            _ => None,
        };

        match (kind, identifier) {
            // Nothing was ever made under an invented id (or none): an update makes it now.
            (RequestType::Create, _) | (RequestType::Update, None) => {
                let driven = drive("CREATE", properties, None).await;
                self.created(driven, invented, seconds)
            }
            (RequestType::Update, Some(None)) | (RequestType::Delete, Some(None)) => {
                let id = given.unwrap_or_default();
                if kind == RequestType::Delete {
                    tracing::warn!(physical_id = id, "not an identifier of this type: nothing of it to delete");
                    return Ok((id.to_owned(), None));
                }
                Err((
                    None,
                    format!(
                        "PhysicalResourceId: '{id}' is not an identifier of this type ({})",
                        self.identifier_shape()
                    ),
                ))
            }
            (RequestType::Update, Some(Some(identifier))) => {
                let id = given.unwrap_or_default().to_owned();
                if self.replaces(&old_properties, &properties) {
                    return self
                        .replace(drive("CREATE", properties, None).await, &base, end, context, &id, seconds)
                        .await;
                }
                let model = with_identifier(properties, &identifier);
                let previous = with_identifier(old_properties, &identifier);
                match drive("UPDATE", model, Some(previous)).await {
                    Driven::Succeeded(model) => {
                        Ok((model.as_ref().and_then(|m| self.physical_id(m)).unwrap_or(id), model))
                    }
                    Driven::Failed { code, message, .. } => Err((None, format!("{code}: {message}"))),
                    Driven::OutOfTime { .. } => {
                        Err((None, out_of_time("the update", seconds, "CloudFormation's rollback updates it back")))
                    }
                }
            }
            (RequestType::Delete, None) => Ok((given.unwrap_or(invented).to_owned(), None)),
            (RequestType::Delete, Some(Some(identifier))) => {
                let id = given.unwrap_or_default().to_owned();
                match drive("DELETE", with_identifier(properties, &identifier), None).await {
                    Driven::Succeeded(_) => Ok((id, None)),
                    Driven::Failed { code: HandlerErrorCode::NotFound, .. } => Ok((id, None)),
                    Driven::Failed { code, message, .. } => Err((None, format!("{code}: {message}"))),
                    Driven::OutOfTime { .. } => Err((
                        None,
                        out_of_time("the delete", seconds, "delete the stack again, or give the function more time"),
                    )),
                }
            }
        }
    }

    /// The response of a CREATE: the new identifier, or the best id a failure has.
    fn created(
        &self,
        driven: Driven,
        invented: &str,
        seconds: u64,
    ) -> Result<(String, Option<Value>), (Option<String>, String)> {
        match driven {
            Driven::Succeeded(model) => match model.as_ref().and_then(|m| self.physical_id(m)) {
                Some(id) => Ok((id, model)),
                None => Err((
                    Some(invented.to_owned()),
                    "the handler reported success without the primary identifier".to_owned(),
                )),
            },
            Driven::Failed { code, message, identified } => {
                let id = identified.as_ref().and_then(|m| self.physical_id(m));
                let id = id.unwrap_or_else(|| invented.to_owned());
                Err((Some(id), format!("{code}: {message}")))
            }
            Driven::OutOfTime { identified } => match identified.as_ref().and_then(|m| self.physical_id(m)) {
                Some(id) => Err((
                    Some(id),
                    out_of_time("the create", seconds, "the resource exists, and CloudFormation's rollback deletes it"),
                )),
                None => Err((Some(invented.to_owned()), out_of_time("the create", seconds, "nothing was created"))),
            },
        }
    }

    /// An update by replacement: the new resource's id, or a failure that keeps the old id.
    /// A half-made new resource is deleted here, since CloudFormation keeps only the old id.
    async fn replace(
        &self,
        driven: Driven,
        base: &Value,
        end: SystemTime,
        context: &CustomResourceContext,
        old_id: &str,
        seconds: u64,
    ) -> Result<(String, Option<Value>), (Option<String>, String)> {
        let failure = match driven {
            Driven::Succeeded(model) => {
                return match model.as_ref().and_then(|m| self.physical_id(m)) {
                    Some(id) => Ok((id, model)),
                    None => Err((None, "the handler reported success without the primary identifier".to_owned())),
                };
            }
            Driven::Failed { code, message, identified } => {
                (format!("replacement failed: {code}: {message}"), identified)
            }
            Driven::OutOfTime { identified } => {
                (out_of_time("the replacement", seconds, "the old resource stays"), identified)
            }
        };
        let (reason, identified) = failure;
        let Some(new_id) = identified.as_ref().and_then(|m| self.physical_id(m)) else {
            return Err((None, reason));
        };
        let mut payload = base.clone();
        payload["action"] = "DELETE".into();
        payload["requestData"]["resourceProperties"] = identified.unwrap_or_default();
        // The cleanup gets at least one call even when the create used up the time.
        let cleanup_end = end.max(self.clock.now() + SHORTEST_CALL + Duration::from_secs(1));
        let cleaned = match self.drive(payload, cleanup_end, context.call_limit).await {
            Driven::Succeeded(_) | Driven::Failed { code: HandlerErrorCode::NotFound, .. } => {
                format!("the new resource {new_id} was deleted again")
            }
            Driven::Failed { message, .. } => {
                format!("the new resource {new_id} could not be deleted ({message}): delete it by hand")
            }
            Driven::OutOfTime { .. } => {
                format!("the new resource {new_id} is still being deleted: check that it is gone")
            }
        };
        tracing::warn!(new_id, old_id, "a failed replacement was cleaned up");
        Err((None, format!("{reason}; {cleaned}")))
    }

    /// Runs one registry operation to its end, calling again on IN_PROGRESS with the returned
    /// context and model after the returned delay, as CloudFormation does.
    async fn drive(&self, mut payload: Value, end: SystemTime, call_limit: Option<Duration>) -> Driven {
        let mut identified = None;
        loop {
            let now = self.clock.now();
            let call_end = call_limit.map_or(end, |limit| end.min(now + limit));
            let event = self.handle(payload.clone(), Some(call_end)).await;
            if let Some(model) = event.resource_model.as_ref().filter(|m| self.physical_id(m).is_some()) {
                identified = Some(model.clone());
            }
            match event.status {
                OperationStatus::Success => return Driven::Succeeded(event.resource_model),
                OperationStatus::InProgress => {
                    let delay = Duration::from_secs(event.callback_delay_seconds.unwrap_or(1).into());
                    if self.clock.now() + delay + SHORTEST_CALL > end {
                        return Driven::OutOfTime { identified };
                    }
                    self.clock.sleep(delay).await;
                    payload["callbackContext"] = event.callback_context.unwrap_or_default();
                    payload["requestData"]["resourceProperties"] = event.resource_model.unwrap_or_default();
                }
                OperationStatus::Failed | OperationStatus::Pending => {
                    return Driven::Failed {
                        code: event.error_code.unwrap_or(HandlerErrorCode::InternalFailure),
                        message: event.message.unwrap_or_default(),
                        identified,
                    };
                }
            }
        }
    }

    /// The registry request CloudFormation would send, minus action and models.
    fn registry_request(&self, request: &CustomResourceRequest, context: &CustomResourceContext) -> Value {
        let stack_id = request.stack_id.clone().unwrap_or_default();
        // arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>
        let arn: Vec<&str> = stack_id.splitn(6, ':').collect();
        let from_arn = |index: usize| arn.get(index).filter(|part| !part.is_empty()).map(|part| (*part).to_owned());
        let region = from_arn(3).or_else(|| context.region.clone()).unwrap_or_default();
        let mut payload = json!({
            "bearerToken": request.request_id.clone().unwrap_or_default(),
            "region": region,
            "awsAccountId": from_arn(4).unwrap_or_default(),
            "stackId": stack_id,
            "requestData": {"logicalResourceId": request.logical_resource_id.clone().unwrap_or_default()},
        });
        if let Some(credentials) = &context.credentials {
            payload["requestData"]["callerCredentials"] = json!({
                "accessKeyId": credentials.access_key_id,
                "secretAccessKey": credentials.secret_access_key,
                "sessionToken": credentials.session_token,
            });
        }
        payload
    }

    /// The physical id of a model holding the primary identifier.
    fn physical_id(&self, model: &Value) -> Option<String> {
        let parts =
            self.metadata.primary_identifier.iter().map(|pointer| match model.pointer(property_path(pointer))? {
                Value::String(text) if !text.is_empty() => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                Value::Bool(flag) => Some(flag.to_string()),
                _ => None,
            });
        let parts =
            parts.map(|part| part.map(|p| utf8_percent_encode(&p, PART).to_string())).collect::<Option<Vec<_>>>()?;
        Some(parts.join("|"))
    }

    /// The identifier properties a physical id stands for, or `None` when it has the wrong
    /// number of parts.
    fn identifier_from_physical_id(&self, id: &str) -> Option<Vec<(&'static str, Value)>> {
        let parts: Vec<&str> = id.split('|').collect();
        if parts.len() != self.metadata.primary_identifier.len() {
            return None;
        }
        self.metadata
            .primary_identifier
            .iter()
            .zip(parts)
            .map(|(pointer, part)| {
                Some((property_path(pointer), Value::String(percent_decode_str(part).decode_utf8().ok()?.into_owned())))
            })
            .collect()
    }

    /// `A|B`: the form of this type's physical ids, for messages.
    fn identifier_shape(&self) -> String {
        self.metadata
            .primary_identifier
            .iter()
            .map(|p| property_path(p).trim_start_matches('/'))
            .collect::<Vec<_>>()
            .join("|")
    }

    /// Whether going from `old` to `new` changes a create-only property (compared after
    /// recasting, so `"80"` and `80` are the same value).
    fn replaces(&self, old: &Value, new: &Value) -> bool {
        let (mut old, mut new) = (old.clone(), new.clone());
        recast(&mut old, &self.schema, &self.schema);
        recast(&mut new, &self.schema, &self.schema);
        self.metadata
            .create_only
            .iter()
            .map(|pointer| property_path(pointer))
            .any(|path| old.pointer(path) != new.pointer(path))
    }

    /// The read-only properties of `model`, by the names `Fn::GetAtt` uses.
    fn attributes(&self, model: &Value) -> Map<String, Value> {
        let mut data = Map::new();
        for pointer in self.metadata.read_only {
            let path = property_path(pointer);
            if let Some(value) = model.pointer(path) {
                flatten(path.trim_start_matches('/').replace('/', "."), value, &mut data);
            }
        }
        data
    }
}

/// The model's properties without `ServiceToken` and `ServiceTimeout`, and the time
/// `ServiceTimeout` gives (or why it is invalid).
fn split_properties(properties: Option<Value>) -> (Value, Result<Duration, String>) {
    let mut properties = properties.filter(Value::is_object).unwrap_or_else(|| json!({}));
    let object = properties.as_object_mut().expect("an object");
    object.remove(SERVICE_TOKEN);
    let timeout = match object.remove(SERVICE_TIMEOUT) {
        None | Some(Value::Null) => Ok(DEFAULT_SERVICE_TIMEOUT),
        Some(value) => {
            let seconds = match &value {
                Value::String(text) => text.trim().parse::<u64>().ok(),
                other => other.as_u64(),
            };
            seconds
                .filter(|s| (1..=3600).contains(s))
                .map(Duration::from_secs)
                .ok_or_else(|| format!("{SERVICE_TIMEOUT}: {value} is not a number of seconds from 1 to 3600"))
        }
    };
    (properties, timeout)
}

/// `properties` with the identifier's values set.
fn with_identifier(mut properties: Value, identifier: &[(&str, Value)]) -> Value {
    for (path, value) in identifier {
        set_pointer(&mut properties, path, value.clone());
    }
    properties
}

fn set_pointer(target: &mut Value, path: &str, value: Value) {
    let mut current = target;
    let keys: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (index, key) in keys.iter().enumerate() {
        if !current.is_object() {
            *current = json!({});
        }
        let object = current.as_object_mut().expect("an object");
        if index + 1 == keys.len() {
            object.insert((*key).to_owned(), value);
            return;
        }
        current = object.entry(*key).or_insert_with(|| json!({}));
    }
}

/// Objects become one attribute per leaf, `A.B`; arrays and scalars stay as they are.
fn flatten(name: String, value: &Value, data: &mut Map<String, Value>) {
    match value {
        Value::Object(members) => {
            members.iter().for_each(|(key, member)| flatten(format!("{name}.{key}"), member, data))
        }
        Value::Null => {}
        other => {
            data.insert(name, other.clone());
        }
    }
}

fn out_of_time(what: &str, seconds: u64, consequence: &str) -> String {
    format!(
        "{what} did not finish within the {seconds} s this custom resource has (the function's remaining time or ServiceTimeout, \
         less {} s to send this response); {consequence}. Raise the function's timeout (at most 900 s) or ServiceTimeout",
        RESPONSE_RESERVE.as_secs()
    )
}

/// Makes the body fit [`RESPONSE_LIMIT`]: the largest attributes go first (the reason names
/// them), then the end of the reason.
fn fit(mut response: CustomResourceResponse) -> CustomResourceResponse {
    let mut dropped: Vec<String> = Vec::new();
    let base_reason = response.reason.clone();
    while response.body().len() > RESPONSE_LIMIT {
        let largest = response
            .data
            .iter()
            .max_by_key(|(name, value)| name.len() + value.to_string().len())
            .map(|(name, _)| name.clone());
        let Some(name) = largest else { break };
        response.data.remove(&name);
        dropped.push(name);
        let note = format!(
            "Data left out {} to fit CloudFormation's {RESPONSE_LIMIT}-byte response; read them with the type's READ handler",
            dropped.join(", ")
        );
        response.reason = Some(base_reason.as_ref().map_or(note.clone(), |reason| format!("{reason}; {note}")));
    }
    if !dropped.is_empty() {
        tracing::warn!(dropped = dropped.join(", "), "attributes left out of the response to fit its limit");
    }
    while response.body().len() > RESPONSE_LIMIT {
        let over = response.body().len() - RESPONSE_LIMIT;
        let Some(reason) = response.reason.as_mut().filter(|r| !r.is_empty()) else { break };
        let mut keep = reason.len().saturating_sub(over + '…'.len_utf8());
        while !reason.is_char_boundary(keep) {
            keep -= 1;
        }
        reason.truncate(keep);
        reason.push('…');
    }
    response
}

#[cfg(test)]
mod tests;
