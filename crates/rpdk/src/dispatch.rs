//! Decode → dispatch → encode, independent of any runtime: a JSON payload in, a progress event
//! out, whatever happens in between.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::chain::{HandlerResult, Interrupt, Session};
use crate::deadline::{Clock, Deadline, SystemClock};
use crate::error::{HandlerError, HandlerErrorCode};
use crate::partition::Partition;
use crate::recast::recast;
use crate::resource::{Metadata, Request, ResourceHandler};
use crate::schema::{SchemaError, registry_schema};
use crate::wire::{Action, HandlerRequest, OperationStatus, ProgressEvent};

/// The namespace used when a request does not name its type.
pub const DEFAULT_NAMESPACE: &str = "Rpdk";

/// Schema faults named in one message; a model can break many rules at once.
const MAX_FAULTS_SHOWN: usize = 5;

/// What is kept back from the invocation's deadline for encoding and returning the event.
const SAFETY_MARGIN: Duration = Duration::from_secs(2);

/// Serves one resource type: decodes registry requests, calls the handler, encodes events
/// that keep every rule of the protocol.
pub struct Dispatcher<R: ResourceHandler> {
    handler: R,
    metadata: Metadata,
    schema: Value,
    /// The schema compiled for validating desired models: built on the first CREATE or UPDATE,
    /// so that READ, DELETE and LIST (and the cold start) never pay for it.
    validator: OnceLock<Result<jsonschema::Validator, String>>,
    clock: Arc<dyn Clock>,
}

impl<R: ResourceHandler> Dispatcher<R> {
    /// A dispatcher for `handler`; fails when the type's schema cannot be emitted.
    pub fn new(handler: R) -> Result<Self, SchemaError> {
        let metadata = R::metadata();
        let schema = registry_schema::<R::Model, R::TypeConfiguration>(&metadata, DEFAULT_NAMESPACE)?;
        Ok(Self { handler, metadata, schema, validator: OnceLock::new(), clock: Arc::new(SystemClock) })
    }

    /// Replaces the clock (tests inject a fake one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The type's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The type's registry schema under `namespace`.
    pub fn schema(&self, namespace: &str) -> Result<Value, SchemaError> {
        registry_schema::<R::Model, R::TypeConfiguration>(&self.metadata, namespace)
    }

    /// Handles one request. Never fails and never panics: every fault is a FAILED event.
    /// `deadline` is when the runtime stops the invocation, if it says.
    pub async fn handle(&self, payload: Value, deadline: Option<SystemTime>) -> ProgressEvent {
        match AssertUnwindSafe(self.dispatch(payload, deadline)).catch_unwind().await {
            Ok(Ok(event)) => event,
            Ok(Err(error)) => failed(&error, None),
            Err(_) => {
                tracing::error!("the handler panicked");
                ProgressEvent::failed(
                    HandlerErrorCode::InternalFailure,
                    "the handler failed unexpectedly (it panicked); its log has the details",
                )
            }
        }
    }

    async fn dispatch(&self, payload: Value, deadline: Option<SystemTime>) -> Result<ProgressEvent, HandlerError> {
        let mut request = decode_request(payload)?;
        let action = request.action.ok_or_else(|| {
            HandlerError::invalid_request("action: missing; send one of CREATE, READ, UPDATE, DELETE, LIST")
        })?;
        let type_name = request.resource_type.clone().unwrap_or_else(|| self.metadata.type_name(DEFAULT_NAMESPACE));
        let type_configuration = self.type_configuration(request.request_data.type_configuration.take())?;
        let model = request.request_data.resource_properties.take();
        let previous = request.request_data.previous_resource_properties.take();
        let (desired_tags, previous_tags) = if self.metadata.tagging.taggable {
            let own = |model: Option<&Value>| {
                model.map(|m| tags_at(m, property_path(self.metadata.tagging.tag_property))).unwrap_or_default()
            };
            (
                merged(&request.request_data.stack_tags, own(model.as_ref())),
                merged(&request.request_data.previous_stack_tags, own(previous.as_ref())),
            )
        } else {
            Default::default()
        };
        let context = request.callback_context.take();
        let first_invocation = context.is_none();
        // A re-invocation's model is the one CloudFormation holds for the resource: a failure
        // from here on still names it, so a rollback can remove what was made.
        let held = context.is_some().then(|| model.clone()).flatten();
        let started = self.clock.now();
        let budget = if matches!(action, Action::Read | Action::List) { 30 } else { 60 };
        let contract_end = started + Duration::from_secs(budget);
        let end = deadline.map_or(contract_end, |d| d.min(contract_end));
        let deadline = Deadline::new(end.checked_sub(SAFETY_MARGIN).unwrap_or(started), self.clock.clone());
        let envelope = Envelope {
            request,
            action,
            type_name,
            type_configuration,
            desired_tags,
            previous_tags,
            deadline: deadline.clone(),
        };

        match action {
            Action::Create => {
                let model =
                    self.desired(model.unwrap_or_else(|| Value::Object(Default::default())), first_invocation)?;
                let model = decode(model, "requestData.resourceProperties")?;
                let req = envelope.into_request(model, None);
                let mut session = self.session(context, held, deadline.clone())?;
                let result = within(&deadline, self.handler.create(&req, &mut session))
                    .await
                    .unwrap_or_else(|_| Err(session.ran_out()));
                self.finish(result.map(Some), session)
            }
            Action::Update => {
                let raw = model.unwrap_or_default();
                self.require_identifier(&raw, &envelope.type_name)?;
                let raw = self.desired(raw, first_invocation)?;
                let previous = previous.map(|mut previous| {
                    recast(&mut previous, &self.schema, &self.schema);
                    previous
                });
                if let Some(previous) = &previous {
                    self.refuse_create_only_changes(previous, &raw)?;
                }
                let model = decode(raw, "requestData.resourceProperties")?;
                let previous =
                    previous.map(|previous| decode(previous, "requestData.previousResourceProperties")).transpose()?;
                let req = envelope.into_request(model, previous);
                let mut session = self.session(context, held, deadline.clone())?;
                let result = within(&deadline, self.handler.update(&req, &mut session))
                    .await
                    .unwrap_or_else(|_| Err(session.ran_out()));
                self.finish(result.map(Some), session)
            }
            Action::Read => {
                let raw = model.unwrap_or_default();
                self.require_identifier(&raw, &envelope.type_name)?;
                let identifier = self.model(Some(raw), "requestData.resourceProperties")?;
                let req = envelope.into_request(identifier, None);
                let model = within(&deadline, self.handler.read(&req)).await??;
                Ok(self.success(Some(to_json(&model)?)))
            }
            Action::Delete => {
                let raw = model.unwrap_or_default();
                self.require_identifier(&raw, &envelope.type_name)?;
                let identifier: R::Identifier = self.model(Some(raw), "requestData.resourceProperties")?;
                let req = envelope.into_request(identifier, None);
                let mut session = self.session(context, held, deadline.clone())?;
                let result = within(&deadline, self.handler.delete(&req, &mut session))
                    .await
                    .unwrap_or_else(|_| Err(session.ran_out()));
                self.finish(result.map(|()| None::<R::Model>), session)
            }
            Action::List => {
                self.require_list_input(model.as_ref(), &envelope.type_name)?;
                let input: R::ListInput = match model {
                    Some(raw) if raw.as_object().is_some_and(|o| !o.is_empty()) => {
                        self.model(Some(raw), "requestData.resourceProperties")?
                    }
                    _ => R::ListInput::default(),
                };
                let mut req = envelope.into_request(input, None);
                req.next_token =
                    req.next_token.map(|token| crate::page_token::opened(&req.type_name, &token)).transpose()?;
                let page = within(&deadline, self.handler.list(&req)).await??;
                let models =
                    page.models.iter().map(|m| to_json(m).map(|v| self.outgoing(v))).collect::<Result<Vec<_>, _>>()?;
                Ok(ProgressEvent {
                    resource_models: Some(models),
                    next_token: page.next_token.map(|token| crate::page_token::sealed(&req.type_name, &token)),
                    ..empty(OperationStatus::Success)
                })
            }
        }
    }

    /// The desired model of a CREATE or UPDATE, recast, and on the first invocation checked
    /// against the type's schema as the Java wrapper checks it before its handlers run: unknown
    /// properties, lengths, patterns, enums, ranges and item counts, each fault named by its
    /// path and rule, its value never shown (it may be a secret). A re-invocation's model is the
    /// handler's own. Null fields are absent, as decoding reads them.
    fn desired(&self, mut model: Value, first_invocation: bool) -> Result<Value, HandlerError> {
        recast(&mut model, &self.schema, &self.schema);
        if !first_invocation {
            return Ok(model);
        }
        if let Value::Object(properties) = &mut model {
            properties.retain(|_, value| !value.is_null());
        }
        let validator = self
            .validator
            .get_or_init(|| {
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft7)
                    .build(&self.schema)
                    .map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(|error| {
                HandlerError::internal(format!("the type's schema cannot be compiled for validation: {error}"))
            })?;
        let faults: Vec<String> = validator
            .iter_errors(&model)
            .take(MAX_FAULTS_SHOWN)
            .map(|error| {
                let pointer = error.instance_path().to_string();
                format!(
                    "{}: {} (schema rule {})",
                    located("requestData.resourceProperties", &dotted(&pointer)),
                    error.masked(),
                    error.kind().keyword()
                )
            })
            .collect();
        if faults.is_empty() {
            return Ok(model);
        }
        Err(HandlerError::invalid_request(faults.join("; ")))
    }

    /// The session of a CREATE, UPDATE or DELETE; a re-invocation starts from the model
    /// CloudFormation holds (`held`).
    fn session(
        &self,
        context: Option<Value>,
        held: Option<Value>,
        deadline: Deadline,
    ) -> Result<Session<R::Context>, HandlerError> {
        let mut session = Session::resume(context, deadline)?;
        if let Some(held) = held {
            session.checkpoint(&held)?;
        }
        Ok(session)
    }

    /// A create-only property cannot change in an UPDATE (CloudFormation replaces the resource
    /// instead): one both models hold with different values is `NotUpdatable`. One that only
    /// one model holds is no change here: the service adds identifiers to the desired model,
    /// and a value given or dropped cannot be told from the default the resource has (the
    /// handler, which knows its defaults and the resource, judges that). Both models are
    /// recast already.
    fn refuse_create_only_changes(&self, previous: &Value, desired: &Value) -> Result<(), HandlerError> {
        for pointer in self.metadata.create_only {
            let path = property_path(pointer);
            let (before, after) =
                (previous.pointer(path).filter(|v| !v.is_null()), desired.pointer(path).filter(|v| !v.is_null()));
            if before.is_some() && after.is_some() && before != after {
                return Err(HandlerError::new(
                    HandlerErrorCode::NotUpdatable,
                    format!(
                        "{} is create-only: an update cannot change it; change it in the template and CloudFormation replaces the resource",
                        path.trim_start_matches('/').replace('/', ".")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn type_configuration(&self, raw: Option<Value>) -> Result<R::TypeConfiguration, HandlerError> {
        let Some(mut raw) = raw.filter(|v| !v.is_null()) else {
            return Ok(R::TypeConfiguration::default());
        };
        if let Some(section) = self.schema.get("typeConfiguration") {
            recast(&mut raw, section, &self.schema);
        }
        serde_path_to_error::deserialize(raw).map_err(|error| {
            HandlerError::new(
                HandlerErrorCode::InvalidTypeConfiguration,
                format!(
                    "{}: {}; correct the type configuration with SetTypeConfiguration",
                    located("typeConfiguration", &error.path().to_string()),
                    error.inner()
                ),
            )
        })
    }

    /// Decodes a model (or identifier, or LIST input) leniently against the type's schema.
    fn model<M: DeserializeOwned>(&self, raw: Option<Value>, field: &str) -> Result<M, HandlerError> {
        let mut raw = raw.unwrap_or_else(|| Value::Object(Default::default()));
        recast(&mut raw, &self.schema, &self.schema);
        decode(raw, field)
    }

    /// READ, UPDATE and DELETE need the primary identifier, or one additional identifier.
    fn require_identifier(&self, model: &Value, type_name: &str) -> Result<(), HandlerError> {
        let present = |set: &[&str]| {
            set.iter().all(|pointer| model.pointer(property_path(pointer)).is_some_and(|v| !v.is_null()))
        };
        if present(self.metadata.primary_identifier)
            || self.metadata.additional_identifiers.iter().any(|set| present(set))
        {
            return Ok(());
        }
        Err(HandlerError::new(
            HandlerErrorCode::NotFound,
            format!(
                "Resource of type '{type_name}' was not found: the request gives no identifier ({})",
                self.metadata.primary_identifier.join(", ")
            ),
        ))
    }

    /// LIST of a type that lists within a parent needs the parent named in its input.
    fn require_list_input(&self, model: Option<&Value>, type_name: &str) -> Result<(), HandlerError> {
        let missing: Vec<&str> = self
            .metadata
            .list_input
            .iter()
            .map(|pointer| property_path(pointer))
            .filter(|path| model.and_then(|m| m.pointer(path)).is_none_or(Value::is_null))
            .map(|path| path.trim_start_matches('/'))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(HandlerError::new(
            HandlerErrorCode::InvalidRequest,
            format!(
                "LIST of {type_name} needs {} in its input (the schema's handlers.list.handlerSchema)",
                missing.join(", ")
            ),
        ))
    }

    fn finish<M: serde::Serialize>(
        &self,
        result: HandlerResult<Option<M>>,
        session: Session<R::Context>,
    ) -> Result<ProgressEvent, HandlerError> {
        match result {
            Ok(model) => Ok(self.success(model.as_ref().map(to_json).transpose()?)),
            Err(Interrupt::Failed(error)) => {
                Ok(failed(&error, session.checkpoint_model().map(|m| self.outgoing(m.clone()))))
            }
            Err(Interrupt::InProgress { delay }) => {
                let Some(mut model) = session.checkpoint_model().cloned() else {
                    return Err(HandlerError::internal(
                        "the handler asked to continue later without a checkpoint model holding the primary identifier",
                    ));
                };
                without_nulls(&mut model);
                let seconds = u32::try_from(delay.as_secs().max(1)).unwrap_or(u32::MAX);
                Ok(ProgressEvent {
                    resource_model: Some(model),
                    callback_context: Some(session.into_context()?),
                    callback_delay_seconds: Some(seconds),
                    ..empty(OperationStatus::InProgress)
                })
            }
        }
    }

    fn success(&self, model: Option<Value>) -> ProgressEvent {
        ProgressEvent { resource_model: model.map(|m| self.outgoing(m)), ..empty(OperationStatus::Success) }
    }

    /// A model as it leaves in a SUCCESS or FAILED event: without nulls, and without write-only
    /// properties, which leave the handler only in IN_PROGRESS events (CloudFormation feeds
    /// those back to the next invocation).
    fn outgoing(&self, mut model: Value) -> Value {
        for pointer in self.metadata.write_only {
            remove_pointer(&mut model, property_path(pointer));
        }
        without_nulls(&mut model);
        model
    }
}

/// The request minus the models, waiting for them to be decoded.
struct Envelope<T> {
    request: HandlerRequest,
    action: Action,
    type_name: String,
    type_configuration: T,
    desired_tags: BTreeMap<String, String>,
    previous_tags: BTreeMap<String, String>,
    deadline: Deadline,
}

impl<T> Envelope<T> {
    fn into_request<M>(self, model: M, previous_model: Option<M>) -> Request<M, T> {
        let request = self.request;
        let data = request.request_data;
        let region = request.region.unwrap_or_default();
        Request {
            action: self.action,
            type_name: self.type_name,
            model,
            previous_model,
            type_configuration: self.type_configuration,
            logical_resource_id: data.logical_resource_id,
            client_request_token: request.bearer_token.unwrap_or_default(),
            account_id: request.aws_account_id.unwrap_or_default(),
            partition: Partition::of_region(&region),
            region,
            stack_id: request.stack_id,
            next_token: request.next_token.filter(|token| !token.is_empty()),
            max_results: request.max_results,
            snapshot_requested: request.snapshot_requested.unwrap_or_default(),
            rollback: request.rollback.unwrap_or_default(),
            driftable: request.driftable.unwrap_or_default(),
            features: request.features,
            resource_type_version: request.resource_type_version,
            desired_resource_tags: self.desired_tags,
            previous_resource_tags: self.previous_tags,
            stack_tags: data.stack_tags,
            previous_stack_tags: data.previous_stack_tags,
            system_tags: data.system_tags,
            previous_system_tags: data.previous_system_tags,
            credentials: data.caller_credentials,
            deadline: self.deadline,
        }
    }
}

/// Runs a handler until the deadline. One still running then is stopped, and the error says
/// what used the time.
pub(crate) async fn within<T>(deadline: &Deadline, work: impl Future<Output = T>) -> Result<T, HandlerError> {
    tokio::time::timeout(deadline.remaining(), work).await.map_err(|_| deadline.ran_out())
}

fn empty(status: OperationStatus) -> ProgressEvent {
    ProgressEvent {
        status,
        error_code: None,
        message: None,
        resource_model: None,
        resource_models: None,
        next_token: None,
        callback_context: None,
        callback_delay_seconds: None,
    }
}

fn failed(error: &HandlerError, model: Option<Value>) -> ProgressEvent {
    tracing::warn!(code = %error.code(), error = %chain(error), "operation failed");
    ProgressEvent { resource_model: model, ..ProgressEvent::failed(error.code(), error.message()) }
}

/// The error and its causes, for the log.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Decodes the request envelope. Its documents (models, callback context, type configuration)
/// are moved aside first and put back after, so only the small envelope is decoded and nothing
/// large is copied.
fn decode_request(mut payload: Value) -> Result<HandlerRequest, HandlerError> {
    let mut take = |pointer: &str| payload.pointer_mut(pointer).map(Value::take).filter(|v| !v.is_null());
    let (context, properties, previous, configuration) = (
        // `{}` is no context: a first invocation.
        take("/callbackContext").filter(|context| context.as_object().is_none_or(|o| !o.is_empty())),
        take("/requestData/resourceProperties"),
        take("/requestData/previousResourceProperties"),
        take("/requestData/typeConfiguration"),
    );
    let mut request: HandlerRequest = decode(payload, "")?;
    request.callback_context = context;
    request.request_data.resource_properties = properties;
    request.request_data.previous_resource_properties = previous;
    request.request_data.type_configuration = configuration;
    Ok(request)
}

pub(crate) fn decode<T: DeserializeOwned>(value: Value, field: &str) -> Result<T, HandlerError> {
    // Tracking the path of every value costs more than the rest of an invocation: decode
    // without it, and again with it only to locate a fault.
    T::deserialize(&value).or_else(|_| {
        serde_path_to_error::deserialize(value).map_err(|error| {
            HandlerError::invalid_request(format!("{}: {}", located(field, &error.path().to_string()), error.inner()))
        })
    })
}

/// `requestData.resourceProperties` + `MaxSessionDuration` → a dotted path for messages.
pub(crate) fn located(field: &str, path: &str) -> String {
    match (field.is_empty(), path == ".") {
        (true, true) => "the request".to_owned(),
        (true, false) => path.to_owned(),
        (false, true) => field.to_owned(),
        (false, false) => format!("{field}.{path}"),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, HandlerError> {
    serde_json::to_value(value).map_err(|error| HandlerError::internal(format!("cannot encode the model: {error}")))
}

/// `/Tags/0/Key` → `Tags.0.Key` (`.` for the root), the form of the other messages' paths.
fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return ".".to_owned();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|part| part.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// `/properties/A/B` → `/A/B`: the pointer inside the model itself.
fn property_path(pointer: &str) -> &str {
    pointer.strip_prefix("/properties").unwrap_or(pointer)
}

/// The tags a model holds at `pointer`: a list of `{Key, Value}` (the form AWS's types use) or
/// a map; values recast to text as CloudFormation recasts them.
fn tags_at(model: &Value, pointer: &str) -> BTreeMap<String, String> {
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match model.pointer(pointer) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| Some((text(item.get("Key")?), item.get("Value").map(text).unwrap_or_default())))
            .collect(),
        Some(Value::Object(map)) => {
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), text(v))).collect()
        }
        _ => BTreeMap::new(),
    }
}

/// `base` overlaid by `own`: a resource's own tag wins over the stack's tag of its key.
fn merged(base: &BTreeMap<String, String>, own: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut tags = base.clone();
    tags.extend(own);
    tags
}

/// Removes nulls at every depth: object fields and list items. The protocol never carries one.
fn without_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(without_nulls);
        }
        Value::Array(items) => {
            items.retain(|v| !v.is_null());
            items.iter_mut().for_each(without_nulls);
        }
        _ => {}
    }
}

fn remove_pointer(value: &mut Value, pointer: &str) {
    let Some((parent, key)) = pointer.rsplit_once('/') else { return };
    if let Some(Value::Object(map)) = value.pointer_mut(parent) {
        map.remove(key);
    }
}

pub mod custom_resource;

#[cfg(test)]
mod tests;
