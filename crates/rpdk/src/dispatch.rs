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
use serde_json::value::RawValue;

use crate::chain::{HandlerResult, Interrupt, Session};
use crate::deadline::{Clock, Deadline, SystemClock};
use crate::error::{HandlerError, HandlerErrorCode};
use crate::lenient::Plan;
use crate::partition::Partition;
use crate::recast::recast;
use crate::resource::{Metadata, Request, ResourceHandler};
use crate::schema::{SchemaError, registry_schema};
use crate::wire::{Action, HandlerRequest, OperationStatus, ProgressEvent, parse_payload};

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
    /// The schema compiled for the fast decode (`None`: it uses a rule the fast decode does
    /// not check), built on first use.
    plan: OnceLock<Option<Plan>>,
    /// The properties the dispatcher itself reads from a model, by action (identifiers,
    /// create-only properties, tags, LIST input), as paths of property names.
    outline_paths: [Vec<Vec<String>>; 5],
    /// The write-only properties, as paths of property names: left out of SUCCESS and FAILED
    /// events.
    write_only_paths: Vec<Vec<String>>,
    clock: Arc<dyn Clock>,
}

impl<R: ResourceHandler> Dispatcher<R> {
    /// A dispatcher for `handler`; fails when the type's schema cannot be emitted.
    pub fn new(handler: R) -> Result<Self, SchemaError> {
        let metadata = R::metadata();
        let schema = registry_schema::<R::Model, R::TypeConfiguration>(&metadata, DEFAULT_NAMESPACE)?;
        let outline_paths = ACTIONS.map(|action| outline_paths(&metadata, action));
        let write_only_paths = metadata.write_only.iter().map(|pointer| segments(property_path(pointer))).collect();
        Ok(Self {
            handler,
            metadata,
            schema,
            validator: OnceLock::new(),
            plan: OnceLock::new(),
            outline_paths,
            write_only_paths,
            clock: Arc::new(SystemClock),
        })
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

    /// Handles one request given as a JSON value, the event's models read as JSON values too;
    /// see [`Dispatcher::handle_payload`].
    pub async fn handle(&self, payload: Value, deadline: Option<SystemTime>) -> ProgressEvent {
        let event = match serde_json::to_vec(&payload) {
            Ok(bytes) => self.handle_payload(&bytes, deadline).await,
            Err(error) => failed(&HandlerError::invalid_request(format!("the request cannot be read: {error}")), None),
        };
        event.into_values().unwrap_or_else(|error| {
            ProgressEvent::failed(HandlerErrorCode::InternalFailure, format!("the event cannot be read: {error}"))
        })
    }

    /// Handles one request, the payload's bytes as Lambda delivers them. Never fails and never
    /// panics: every fault is a FAILED event. `deadline` is when the runtime stops the
    /// invocation, if it says.
    pub async fn handle_payload(&self, payload: &[u8], deadline: Option<SystemTime>) -> ProgressEvent<Box<RawValue>> {
        match decode_request(payload) {
            Ok(request) => self.handle_request(request, deadline).await,
            Err(error) => failed(&error, None),
        }
    }

    /// Handles one request whose envelope is read already (its documents still text), as
    /// [`Dispatcher::handle_payload`] does.
    pub async fn handle_request(
        &self,
        request: HandlerRequest<&RawValue>,
        deadline: Option<SystemTime>,
    ) -> ProgressEvent<Box<RawValue>> {
        match AssertUnwindSafe(self.dispatch(request, deadline)).catch_unwind().await {
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

    async fn dispatch(
        &self,
        mut request: HandlerRequest<&RawValue>,
        deadline: Option<SystemTime>,
    ) -> Result<ProgressEvent<Box<RawValue>>, HandlerError> {
        let action = request.action.ok_or_else(|| {
            HandlerError::invalid_request("action: missing; send one of CREATE, READ, UPDATE, DELETE, LIST")
        })?;
        let type_name = request.resource_type.clone().unwrap_or_else(|| self.metadata.type_name(DEFAULT_NAMESPACE));
        let type_configuration = self.type_configuration(
            request
                .request_data
                .type_configuration
                .take()
                .map(|raw| document(raw, "requestData.typeConfiguration"))
                .transpose()?,
        )?;
        let model = request.request_data.resource_properties.take();
        let previous = request.request_data.previous_resource_properties.take();
        let outline = self.outline(model, action)?;
        let previous_outline = previous.map(|previous| self.outline(Some(previous), action)).transpose()?;
        let (desired_tags, previous_tags) = if self.metadata.tagging.taggable {
            let own = |outline: Option<&Value>| {
                outline.map(|o| tags_at(o, property_path(self.metadata.tagging.tag_property))).unwrap_or_default()
            };
            (
                merged(&request.request_data.stack_tags, own(Some(&outline))),
                merged(&request.request_data.previous_stack_tags, own(previous_outline.as_ref())),
            )
        } else {
            Default::default()
        };
        // `{}` is no context: a first invocation.
        let context = request
            .callback_context
            .take()
            .map(|raw| document(raw, "callbackContext"))
            .transpose()?
            .filter(|context| context.as_object().is_none_or(|o| !o.is_empty()));
        let first_invocation = context.is_none();
        // A re-invocation's model is the one CloudFormation holds for the resource: a failure
        // from here on still names it, so a rollback can remove what was made.
        let held = if first_invocation {
            None
        } else {
            model.map(|raw| document(raw, "requestData.resourceProperties")).transpose()?
        };
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
                let model = self.desired_model(model, first_invocation)?;
                let req = envelope.into_request(model, None);
                let mut session = self.session(context, held, deadline.clone())?;
                let result = within(&deadline, self.handler.create(&req, &mut session))
                    .await
                    .unwrap_or_else(|_| Err(session.ran_out()));
                self.finish(result.map(Some), session)
            }
            Action::Update => {
                self.require_identifier(&outline, &envelope.type_name)?;
                let model = self.desired_model(model, first_invocation)?;
                if let Some(previous_outline) = &previous_outline {
                    self.refuse_create_only_changes(previous_outline, &outline)?;
                }
                let previous = previous
                    .map(|previous| self.model(Some(previous), "requestData.previousResourceProperties"))
                    .transpose()?;
                let req = envelope.into_request(model, previous);
                let mut session = self.session(context, held, deadline.clone())?;
                let result = within(&deadline, self.handler.update(&req, &mut session))
                    .await
                    .unwrap_or_else(|_| Err(session.ran_out()));
                self.finish(result.map(Some), session)
            }
            Action::Read => {
                self.require_identifier(&outline, &envelope.type_name)?;
                let identifier = self.model(model, "requestData.resourceProperties")?;
                let req = envelope.into_request(identifier, None);
                let model = within(&deadline, self.handler.read(&req)).await??;
                Ok(self.success(Some(self.encode(&model)?)))
            }
            Action::Delete => {
                self.require_identifier(&outline, &envelope.type_name)?;
                let identifier: R::Identifier = self.model(model, "requestData.resourceProperties")?;
                let req = envelope.into_request(identifier, None);
                let mut session = self.session(context, held, deadline.clone())?;
                let result = within(&deadline, self.handler.delete(&req, &mut session))
                    .await
                    .unwrap_or_else(|_| Err(session.ran_out()));
                self.finish(result.map(|()| None::<R::Model>), session)
            }
            Action::List => {
                self.require_list_input(&outline, &envelope.type_name)?;
                let input: R::ListInput = match model {
                    Some(raw) if !names_nothing(raw) => self.model(Some(raw), "requestData.resourceProperties")?,
                    _ => R::ListInput::default(),
                };
                let mut req = envelope.into_request(input, None);
                req.next_token =
                    req.next_token.map(|token| crate::page_token::opened(&req.type_name, &token)).transpose()?;
                let page = within(&deadline, self.handler.list(&req)).await??;
                let models = page.models.iter().map(|m| self.encode(m)).collect::<Result<Vec<_>, _>>()?;
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

    /// The desired model of a CREATE or UPDATE, decoded (and on the first invocation checked)
    /// straight from its text; what the fast decode declines, the authoritative path answers.
    fn desired_model(&self, raw: Option<&RawValue>, first_invocation: bool) -> Result<R::Model, HandlerError> {
        let text = raw.map_or("{}", RawValue::get);
        if let Some(model) = self.plan().and_then(|plan| plan.decode(text, first_invocation)) {
            return Ok(model);
        }
        let model = self.desired(parse_document(text, "requestData.resourceProperties")?, first_invocation)?;
        decode(model, "requestData.resourceProperties")
    }

    /// Decodes a model (or identifier, or LIST input) leniently against the type's schema.
    fn model<M: DeserializeOwned>(&self, raw: Option<&RawValue>, field: &str) -> Result<M, HandlerError> {
        let text = raw.map_or("{}", RawValue::get);
        if let Some(model) = self.plan().and_then(|plan| plan.decode(text, false)) {
            return Ok(model);
        }
        let mut model = parse_document(text, field)?;
        recast(&mut model, &self.schema, &self.schema);
        decode(model, field)
    }

    fn plan(&self) -> Option<&Plan> {
        self.plan.get_or_init(|| Plan::compile(&self.schema, &self.schema)).as_ref()
    }

    /// The properties of a model the dispatcher reads itself, recast, in a value holding only
    /// them: the rest of the model is skipped, not copied.
    fn outline(&self, raw: Option<&RawValue>, action: Action) -> Result<Value, HandlerError> {
        let paths = &self.outline_paths[action_index(action)];
        let (Some(raw), false) = (raw, paths.is_empty()) else { return Ok(Value::Object(Default::default())) };
        let mut outline = crate::lenient::outline(raw.get().as_bytes(), paths)
            .map_err(|error| HandlerError::invalid_request(format!("the model cannot be read: {error}")))?;
        recast(&mut outline, &self.schema, &self.schema);
        Ok(outline)
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
    fn require_list_input(&self, model: &Value, type_name: &str) -> Result<(), HandlerError> {
        let missing: Vec<&str> = self
            .metadata
            .list_input
            .iter()
            .map(|pointer| property_path(pointer))
            .filter(|path| model.pointer(path).is_none_or(Value::is_null))
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
    ) -> Result<ProgressEvent<Box<RawValue>>, HandlerError> {
        match result {
            Ok(model) => Ok(self.success(model.as_ref().map(|m| self.encode(m)).transpose()?)),
            Err(Interrupt::Failed(error)) => {
                Ok(failed(&error, session.checkpoint_model().map(|m| self.encode(m)).transpose()?))
            }
            Err(Interrupt::InProgress { delay }) => {
                let Some(model) = session.checkpoint_model() else {
                    return Err(HandlerError::internal(
                        "the handler asked to continue later without a checkpoint model holding the primary identifier",
                    ));
                };
                // Write-only properties stay: CloudFormation feeds this model to the next call.
                let model = encoded(crate::outgoing::encode(model, &[] as &[&[&str]]))?;
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

    fn success(&self, model: Option<Box<RawValue>>) -> ProgressEvent<Box<RawValue>> {
        ProgressEvent { resource_model: model, ..empty(OperationStatus::Success) }
    }

    /// A model as it leaves in a SUCCESS or FAILED event: without nulls, and without write-only
    /// properties, which leave the handler only in IN_PROGRESS events (CloudFormation feeds
    /// those back to the next invocation).
    fn encode<M: serde::Serialize>(&self, model: &M) -> Result<Box<RawValue>, HandlerError> {
        encoded(crate::outgoing::encode(model, &self.write_only_paths))
    }
}

/// The request minus the models, waiting for them to be decoded.
struct Envelope<'a, T> {
    request: HandlerRequest<&'a RawValue>,
    action: Action,
    type_name: String,
    type_configuration: T,
    desired_tags: BTreeMap<String, String>,
    previous_tags: BTreeMap<String, String>,
    deadline: Deadline,
}

impl<T> Envelope<'_, T> {
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

fn empty<D>(status: OperationStatus) -> ProgressEvent<D> {
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

fn failed(error: &HandlerError, model: Option<Box<RawValue>>) -> ProgressEvent<Box<RawValue>> {
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

/// Decodes a registry request's envelope straight from the payload's bytes; its documents
/// (models, callback context, type configuration) stay text, read when and as far as they are
/// needed. A payload that is not one is an `InvalidRequest` saying where it is wrong.
pub fn decode_request(payload: &[u8]) -> Result<HandlerRequest<&RawValue>, HandlerError> {
    if let Ok(request) = serde_json::from_slice(payload) {
        return Ok(request);
    }
    // Say what is wrong: the payload's kind, else the field, located as in every message.
    decode::<HandlerRequest>(parse_payload(payload)?, "")?;
    let mut json = serde_json::Deserializer::from_slice(payload);
    match serde_path_to_error::deserialize::<_, HandlerRequest<&RawValue>>(&mut json) {
        Ok(request) => Ok(request),
        Err(error) => {
            Err(HandlerError::invalid_request(format!("{}: {}", located("", &error.path().to_string()), error.inner())))
        }
    }
}

/// The document at `field` of the request, as a JSON value. Its text is JSON (the payload was
/// read), but it may nest deeper than a value is read.
fn document(raw: &RawValue, field: &str) -> Result<Value, HandlerError> {
    parse_document(raw.get(), field)
}

fn parse_document(text: &str, field: &str) -> Result<Value, HandlerError> {
    serde_json::from_str(text)
        .map_err(|error| HandlerError::invalid_request(format!("{field}: cannot be read ({error})")))
}

/// A LIST input that names nothing: not an object, or `{}`.
fn names_nothing(raw: &RawValue) -> bool {
    let text = raw.get().trim();
    text.strip_prefix('{').and_then(|inner| inner.strip_suffix('}')).is_none_or(|inner| inner.trim().is_empty())
}

const ACTIONS: [Action; 5] = [Action::Create, Action::Read, Action::Update, Action::Delete, Action::List];

fn action_index(action: Action) -> usize {
    ACTIONS.iter().position(|a| *a == action).unwrap_or_default()
}

/// The properties the dispatcher reads from an `action`'s models: the identifiers of READ,
/// UPDATE and DELETE, the create-only properties of UPDATE, the tags of CREATE and UPDATE, the
/// LIST input.
fn outline_paths(metadata: &Metadata, action: Action) -> Vec<Vec<String>> {
    let identifiers =
        metadata.primary_identifier.iter().chain(metadata.additional_identifiers.iter().flat_map(|set| set.iter()));
    let tags = metadata.tagging.taggable.then_some(&metadata.tagging.tag_property);
    let pointers: Vec<&&str> = match action {
        Action::Create => tags.into_iter().collect(),
        Action::Read | Action::Delete => identifiers.collect(),
        Action::Update => identifiers.chain(metadata.create_only).chain(tags).collect(),
        Action::List => metadata.list_input.iter().collect(),
    };
    let mut paths: Vec<Vec<String>> = pointers.into_iter().map(|pointer| segments(property_path(pointer))).collect();
    paths.sort();
    paths.dedup();
    paths
}

/// `/A/B` → `["A", "B"]`, JSON pointer escapes undone.
fn segments(pointer: &str) -> Vec<String> {
    pointer.trim_start_matches('/').split('/').map(|part| part.replace("~1", "/").replace("~0", "~")).collect()
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

fn encoded(model: Result<Box<RawValue>, serde_json::Error>) -> Result<Box<RawValue>, HandlerError> {
    model.map_err(|error| HandlerError::internal(format!("cannot encode the model: {error}")))
}

/// `/Tags/0/Key` → `Tags.0.Key` (`.` for the root), the form of the other messages' paths.
fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return ".".to_owned();
    }
    segments(pointer).join(".")
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

pub mod custom_resource;

#[cfg(test)]
mod fast_path_tests;
#[cfg(test)]
mod tests;
