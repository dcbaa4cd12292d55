//! Runs rpdk resource types and hooks on AWS Lambda.
//!
//! A handler binary is three lines (the project README has a complete type and its `main`,
//! compiled as a doctest of this crate):
//!
//! ```text
//! #[tokio::main]
//! async fn main() -> Result<(), rpdk_lambda::Error> {
//!     rpdk_lambda::run(rpdk_lambda::Types::new().with(MyType)?).await
//! }
//! ```
//!
//! On Lambda the binary serves three protocols, told apart by the payload's shape:
//! - the registry's: the payload is decoded, dispatched to the type named by its `resourceType`
//!   (the only one, for a single-type binary) and answered with a progress event; faults of any
//!   kind, panics included, become FAILED events;
//! - the classic custom resource's (a payload with `RequestType`): the type is the one the
//!   template's `Custom::` name stands for ([`custom_names`]; a single-type binary takes any
//!   name), the operation runs to its end in-process with the function's own credentials (see
//!   [`rpdk::custom_resource`]), and the response is PUT to the request's `ResponseURL`;
//! - the hook protocol (a payload with `actionInvocationPoint`), for hooks added with
//!   [`Types::with_hook`]: registered hooks and Lambda hooks alike (a Lambda hook's
//!   configuration is the function's `RPDK_HOOK_CONFIGURATION`, a JSON object); the hook is the
//!   one `hookTypeName` names, or the only one.
//!
//! Run by hand, `<binary> schema [--namespace NS]` prints the registry schemas of its types (the
//! build step uses it).
//!
//! Logs are JSON lines on stdout with the action, type, logical id and request id of each
//! invocation. When a registry request names `providerCredentials` and `providerLogGroupName`
//! (a type registered with a `LoggingConfig`), the invocation's records also go to that log
//! group and its metrics to CloudWatch, in the type author's account (see `provider.rs`).
//! Models, credentials and response URLs (their query is a signature) are never logged.
//!
//! The payload is taken as bytes and read here, so that any input, even one that is not JSON,
//! gets an answer: a FAILED event saying what is wrong with it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use futures::future::Either;
use lambda_runtime::layers::TracingLayer;
use lambda_runtime::{LambdaEvent, Runtime, service_fn};
use rpdk::custom_resource::{CustomResourceContext, CustomResourceRequest, CustomResourceResponse};
use rpdk::hook::{HookDispatcher, HookHandler, HookProgressEvent, LAMBDA_HOOK_CONFIGURATION_ENV};
use rpdk::schema::SchemaError;
use rpdk::wire::{HandlerRequest, ProgressEvent};
use rpdk::{Action, DEFAULT_NAMESPACE, Dispatcher, HandlerError, HandlerErrorCode, ResourceHandler};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::Instrument;

mod custom;
mod hook;
mod provider;
mod raw;

pub use custom::custom_names;

/// The error of [`run`]: the runtime could not start or lost its API.
pub type Error = lambda_runtime::Error;

/// A resource type a binary can serve: any [`ResourceHandler`].
trait Serve: Send + Sync {
    /// `Service::Resource`, the type name without its namespace.
    fn type_key(&self) -> String;
    /// Handles one registry request, its envelope read from the payload.
    fn handle<'a>(
        &'a self,
        request: HandlerRequest<&'a RawValue>,
        deadline: Option<SystemTime>,
    ) -> Pin<Box<dyn Future<Output = ProgressEvent<Box<RawValue>>> + Send + 'a>>;
    /// Serves one custom resource request to its end.
    fn handle_custom(
        &self,
        request: CustomResourceRequest,
        context: CustomResourceContext,
    ) -> Pin<Box<dyn Future<Output = CustomResourceResponse> + Send + '_>>;
    /// The type's registry schema under `namespace`.
    fn schema(&self, namespace: &str) -> Result<Value, SchemaError>;
}

impl<R: ResourceHandler> Serve for Dispatcher<R> {
    fn type_key(&self) -> String {
        let metadata = self.metadata();
        format!("{}::{}", metadata.service, metadata.resource)
    }

    fn handle<'a>(
        &'a self,
        request: HandlerRequest<&'a RawValue>,
        deadline: Option<SystemTime>,
    ) -> Pin<Box<dyn Future<Output = ProgressEvent<Box<RawValue>>> + Send + 'a>> {
        Box::pin(Dispatcher::handle_request(self, request, deadline))
    }

    fn handle_custom(
        &self,
        request: CustomResourceRequest,
        context: CustomResourceContext,
    ) -> Pin<Box<dyn Future<Output = CustomResourceResponse> + Send + '_>> {
        Box::pin(async move { self.handle_custom_resource(&request, &context).await })
    }

    fn schema(&self, namespace: &str) -> Result<Value, SchemaError> {
        Dispatcher::schema(self, namespace)
    }
}

/// The resource types and hooks one binary serves, keyed by `Service::Resource` and
/// `Service::Hook`.
#[derive(Default)]
pub struct Types {
    served: BTreeMap<String, Box<dyn Serve>>,
    hooks: BTreeMap<String, Box<dyn hook::ServeHook>>,
    lambda_hook_configuration: Option<Value>,
    call_limit: Option<Duration>,
}

impl Types {
    /// No types yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a type; fails when its schema cannot be emitted.
    pub fn with<R: ResourceHandler>(mut self, handler: R) -> Result<Self, SchemaError> {
        let dispatcher = Dispatcher::new(handler)?;
        self.served.insert(Serve::type_key(&dispatcher), Box::new(dispatcher));
        Ok(self)
    }

    /// Adds a hook; fails when its schema cannot be emitted.
    pub fn with_hook<H: HookHandler>(mut self, handler: H) -> Result<Self, SchemaError> {
        let mut dispatcher =
            HookDispatcher::new(handler).with_payload_fetcher(std::sync::Arc::new(hook::HttpsFetcher::new()));
        dispatcher.schema(DEFAULT_NAMESPACE)?;
        if let Some(configuration) = &self.lambda_hook_configuration {
            dispatcher.set_lambda_hook_configuration(configuration.clone());
        }
        self.hooks.insert(hook::ServeHook::type_key(&dispatcher), Box::new(dispatcher));
        Ok(self)
    }

    /// The configuration Lambda hook requests are checked under, for every hook (run sets it
    /// from `RPDK_HOOK_CONFIGURATION`).
    pub fn with_lambda_hook_configuration(mut self, configuration: Option<Value>) -> Self {
        if let Some(configuration) = &configuration {
            for hook in self.hooks.values_mut() {
                hook.set_lambda_hook_configuration(configuration.clone());
            }
        }
        self.lambda_hook_configuration = configuration;
        self
    }

    /// Bounds how long one handler call may work before it answers IN_PROGRESS (run sets it
    /// from `RPDK_INVOCATION_SECONDS`).
    pub fn with_call_limit(mut self, limit: Option<Duration>) -> Self {
        self.call_limit = limit;
        self
    }

    /// Serves one Lambda payload of either protocol, as the runtime does: returns the progress
    /// event of a registry request, or the response body a custom resource request was
    /// answered with, once it is PUT. Whatever the bytes, a registry caller gets a progress
    /// event: a payload that is not a JSON object is a FAILED `InvalidRequest` saying why.
    /// `deadline` is when the invocation ends, if known. Fails only when a custom resource
    /// response cannot be delivered (or the payload says where to deliver none).
    pub async fn serve(&self, payload: &[u8], deadline: Option<SystemTime>) -> Result<Value, Error> {
        Ok(serde_json::to_value(self.answer(payload, deadline).await?)?)
    }

    /// [`Types::serve`], the answer left for the runtime to encode once.
    pub async fn answer(&self, payload: &[u8], deadline: Option<SystemTime>) -> Result<Answer, Error> {
        match self.registry_request(payload) {
            Some(request) => Ok(self.answer_registry(request, deadline).await),
            None => self.answer_outlined(payload, outline(payload), deadline).await,
        }
    }

    /// The payload read as a registry request, in one pass over its bytes, when it is one this
    /// binary serves: it names an action and no other protocol's key. Anything else is sorted
    /// out by its outline.
    fn registry_request<'a>(&self, payload: &'a [u8]) -> Option<HandlerRequest<&'a RawValue>> {
        if self.served.is_empty() {
            return None;
        }
        serde_json::from_slice::<HandlerRequest<&RawValue>>(payload)
            .ok()
            .filter(|request| request.action.is_some() && !request.other_protocol)
    }

    async fn answer_registry(&self, request: HandlerRequest<&RawValue>, deadline: Option<SystemTime>) -> Answer {
        let deadline = capped(deadline, SystemTime::now(), self.call_limit);
        Answer::Progress(match self.pick(request.resource_type.as_deref()) {
            Ok(served) => served.handle(request, deadline).await,
            Err(message) => ProgressEvent::failed(HandlerErrorCode::InvalidRequest, message),
        })
    }

    /// Answers a payload whose [`outline`] is read already. A registry request is read
    /// straight from its bytes; only hook and custom resource requests become JSON values.
    async fn answer_outlined(
        &self,
        payload: &[u8],
        outline: Option<Value>,
        deadline: Option<SystemTime>,
    ) -> Result<Answer, Error> {
        let hooks_only = self.served.is_empty() && !self.hooks.is_empty();
        let Some(outline) = outline else {
            // Not a JSON object: say what it is, in the protocol this binary serves.
            let error = match rpdk::wire::parse_payload(payload) {
                Err(error) => error,
                Ok(_) => HandlerError::invalid_request("the payload cannot be read; send the request as a JSON object"),
            };
            if hooks_only {
                return Ok(Answer::Hook(HookProgressEvent::failed(error.code(), error.message())));
            }
            return Ok(Answer::Progress(ProgressEvent::failed(error.code(), error.message())));
        };
        if outline.get("actionInvocationPoint").is_some() || hooks_only {
            let deadline = capped(deadline, SystemTime::now(), self.call_limit);
            let answer = match rpdk::wire::parse_payload(payload) {
                Ok(payload) => self.handle_hook(payload, deadline).await,
                Err(error) => HookProgressEvent::failed(error.code(), error.message()),
            };
            return Ok(Answer::Hook(answer));
        }
        if outline.get("RequestType").is_none() {
            // A registry request that is not read as one: say where it is wrong.
            return Ok(match rpdk::wire::decode_request(payload) {
                Ok(request) => self.answer_registry(request, deadline).await,
                Err(error) => Answer::Progress(ProgressEvent::failed(error.code(), error.message())),
            });
        }
        let payload = rpdk::wire::parse_payload(payload)?;
        let request: CustomResourceRequest = match CustomResourceRequest::deserialize(&payload) {
            Ok(request) => request,
            Err(error) => {
                let reason = format!("not a request CloudFormation sends a custom resource ({error})");
                let Some((url, response)) = CustomResourceResponse::unreadable(&payload, reason.clone()) else {
                    return Err(format!("{reason}; it names no ResponseURL, so nothing can be answered").into());
                };
                custom::respond(&url, &response, deadline).await?;
                return Ok(Answer::Custom(response));
            }
        };
        let response_url = request.response_url.clone();
        let response = match self.pick_custom(request.resource_type.as_deref()) {
            Ok(served) => {
                let context = CustomResourceContext {
                    credentials: custom::execution_role_credentials(),
                    region: std::env::var("AWS_REGION").ok(),
                    deadline,
                    call_limit: self.call_limit,
                };
                served.handle_custom(request, context).await
            }
            Err(reason) => CustomResourceResponse::refused(&request, reason),
        };
        custom::respond(&response_url, &response, deadline).await?;
        Ok(Answer::Custom(response))
    }

    /// Handles one hook payload: picks the hook by `hookTypeName` (the only one for a Lambda
    /// hook's alias), then dispatches.
    pub async fn handle_hook(&self, payload: Value, deadline: Option<SystemTime>) -> HookProgressEvent {
        let name = payload.get("hookTypeName").and_then(Value::as_str).unwrap_or_default();
        let key = name.split_once("::").map_or(name, |(_, rest)| rest);
        let hook =
            self.hooks.get(key).or_else(|| (self.hooks.len() == 1).then(|| self.hooks.values().next()).flatten());
        match hook {
            Some(hook) => hook.handle(payload, deadline).await,
            None => {
                let known: Vec<String> = self.hooks.keys().map(|k| format!("<namespace>::{k}")).collect();
                let mut event = HookProgressEvent::failed(
                    HandlerErrorCode::InvalidRequest,
                    format!(
                        "hookTypeName: '{name}' is not served here; this function serves {}",
                        if known.is_empty() { "no hook".to_owned() } else { known.join(", ") }
                    ),
                );
                event.client_request_token =
                    payload.get("clientRequestToken").and_then(Value::as_str).map(str::to_owned);
                event
            }
        }
    }

    fn pick(&self, resource_type: Option<&str>) -> Result<&dyn Serve, String> {
        let only = (self.served.len() == 1).then(|| self.served.values().next()).flatten();
        let Some(resource_type) = resource_type else {
            return only
                .map(AsRef::as_ref)
                .ok_or_else(|| format!("resourceType: missing; this handler serves {}", self.names()));
        };
        let key = resource_type.split_once("::").map_or(resource_type, |(_, rest)| rest);
        self.served.get(key).map(AsRef::as_ref).ok_or_else(|| {
            format!("resourceType: '{resource_type}' is not served here; this handler serves {}", self.names())
        })
    }

    fn pick_custom(&self, resource_type: Option<&str>) -> Result<&dyn Serve, String> {
        if let [only] = self.served.values().collect::<Vec<_>>()[..] {
            return Ok(only.as_ref());
        }
        let name = resource_type.unwrap_or_default();
        let mut matching = self.served.iter().filter(|(key, _)| custom::names_type(name, key));
        match (matching.next(), matching.next()) {
            (Some((_, served)), None) => Ok(served.as_ref()),
            _ => {
                let names: Vec<String> = self.served.keys().map(|key| custom_names(key)[0].clone()).collect();
                Err(format!(
                    "ResourceType: '{name}' names none of the types this function serves; use one of {}",
                    names.join(", ")
                ))
            }
        }
    }

    fn names(&self) -> String {
        self.served.keys().map(|k| format!("<namespace>::{k}")).collect::<Vec<_>>().join(", ")
    }

    /// The registry schemas of every type and hook under `namespace`.
    pub fn schemas(&self, namespace: &str) -> Result<Vec<Value>, SchemaError> {
        let types = self.served.values().map(|served| served.schema(namespace));
        types.chain(self.hooks.values().map(|hook| hook.schema(namespace))).collect()
    }
}

/// Serves `types` on Lambda, or answers the `schema` command when run by hand.
pub async fn run(types: Types) -> Result<(), Error> {
    let configuration = match std::env::var(LAMBDA_HOOK_CONFIGURATION_ENV) {
        Err(_) => None,
        Ok(text) => Some(serde_json::from_str::<Value>(&text).map_err(|e| {
            format!("{LAMBDA_HOOK_CONFIGURATION_ENV}: not JSON ({e}); set a JSON object of the hook's configuration")
        })?),
    };
    let types = types.with_lambda_hook_configuration(configuration);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("schema") {
        let namespace = match args.get(1).map(String::as_str) {
            Some("--namespace") => args.get(2).cloned().ok_or("--namespace needs a value, e.g. --namespace Rpdk")?,
            Some(other) => return Err(format!("unknown argument '{other}'; usage: schema [--namespace NS]").into()),
            None => DEFAULT_NAMESPACE.to_owned(),
        };
        println!("{}", serde_json::to_string_pretty(&types.schemas(&namespace)?)?);
        return Ok(());
    }
    // lambda_runtime panics without its environment; say what is wrong instead.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return Err("AWS_LAMBDA_RUNTIME_API is unset: this binary runs on Lambda (or under `cargo lambda watch`); run it with `schema` to print its schemas".into());
    }
    init_logging();
    let types = &types.with_call_limit(invocation_cap()?);
    let handler = service_fn(move |event: LambdaEvent<raw::RawPayload>| invoke(types, event));
    Runtime::new(handler).layer(raw::RawBodyLayer).layer(TracingLayer::new()).run().await
}

/// One invocation: the answer, with the provider's logs and metrics delivered when the request
/// asks for them.
async fn invoke(types: &Types, event: LambdaEvent<raw::RawPayload>) -> Result<Answer, Error> {
    let started = Instant::now();
    let deadline = capped(event.context.deadline(), SystemTime::now(), None);
    let payload = &event.payload.0;
    let request_id = &event.context.request_id;
    // A registry request is read once, straight from its bytes; any other payload is outlined.
    let (delivery, span, work) = match types.registry_request(payload) {
        Some(request) => {
            let delivery = provider::Delivery::requested(provider::Addressed::of_request(&request));
            let data = &request.request_data;
            let span = invocation_span(
                [
                    request.action.map(Action::as_str),
                    request.resource_type.as_deref(),
                    data.logical_resource_id.as_deref(),
                ],
                request_id,
            );
            (delivery, span, Either::Left(async { Ok(types.answer_registry(request, deadline).await) }))
        }
        None => {
            let outline = outline(payload);
            let delivery =
                outline.as_ref().and_then(|o| provider::Delivery::requested(provider::Addressed::of_outline(o)));
            let span = invocation_span(outlined_identity(outline.as_ref()), request_id);
            (delivery, span, Either::Right(types.answer_outlined(payload, outline, deadline)))
        }
    };
    let work = async {
        let answer = work.await;
        match &answer {
            Ok(answer) => tracing::info!(status = answer.status(), error_code = answer.error_code(), "done"),
            Err(error) => tracing::error!(%error, "failed"),
        }
        answer
    }
    .instrument(span);
    // Records are kept only for a request that asks for them to be delivered.
    let Some(delivery) = delivery else { return work.await };
    let capture = provider::Capture::default();
    let answer = capture.scope(work).await;
    if let Ok(answer) = &answer {
        let failure = (answer.status() == "FAILED")
            .then(|| answer.error_code().unwrap_or(HandlerErrorCode::InternalFailure.as_str()));
        delivery.deliver(&capture, failure, started.elapsed(), deadline).await;
    }
    answer
}

/// What one invocation answers, in its protocol's shape, encoded once by the runtime.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// A registry request's progress event.
    Progress(ProgressEvent<Box<RawValue>>),
    /// A hook request's progress event.
    Hook(HookProgressEvent),
    /// The response a custom resource request was answered with (PUT to its `ResponseURL`).
    Custom(CustomResourceResponse),
}

impl Answer {
    /// The status as written on the wire: `SUCCESS`, `FAILED`, `IN_PROGRESS`, ...
    pub fn status(&self) -> &'static str {
        match self {
            Self::Progress(event) => event.status.as_str(),
            Self::Hook(event) => event.hook_status.as_str(),
            Self::Custom(response) => response.status.as_str(),
        }
    }

    /// The error code, if the answer has one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::Progress(event) => event.error_code.map(HandlerErrorCode::as_str),
            Self::Hook(event) => event.error_code.map(HandlerErrorCode::as_str),
            Self::Custom(_) => None,
        }
    }
}

/// The fields of a payload the runtime layer reads itself (protocol, type, log and metrics
/// delivery, the log span), picked out of its bytes without reading the rest; `None` when the
/// payload is not a JSON object.
fn outline(payload: &[u8]) -> Option<Value> {
    const FIELDS: &[&[&str]] = &[
        &["action"],
        &["actionInvocationPoint"],
        &["RequestType"],
        &["resourceType"],
        &["ResourceType"],
        &["hookTypeName"],
        &["LogicalResourceId"],
        &["region"],
        &["stackId"],
        &["awsAccountId"],
        &["requestData", "logicalResourceId"],
        &["requestData", "targetLogicalId"],
        &["requestData", "targetName"],
        &["requestData", "providerLogGroupName"],
        &["requestData", "providerCredentials"],
    ];
    rpdk::wire::outline(payload, FIELDS).ok().filter(Value::is_object)
}

/// `RPDK_INVOCATION_SECONDS`: how long one invocation may work before it answers IN_PROGRESS
/// (within the protocol's own 60 s); unset, only the runtime's deadline and the protocol bound it.
const INVOCATION_SECONDS_ENV: &str = "RPDK_INVOCATION_SECONDS";

fn invocation_cap() -> Result<Option<Duration>, Error> {
    match std::env::var(INVOCATION_SECONDS_ENV) {
        Err(_) => Ok(None),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(Some(Duration::from_secs(seconds))),
            _ => Err(format!("{INVOCATION_SECONDS_ENV}: '{text}' is not a positive number of seconds, e.g. 20").into()),
        },
    }
}

/// The deadline the handlers work to. A runtime deadline already past when the invocation
/// starts is not a deadline (local runtime APIs send a duration where Lambda sends a time):
/// it is ignored rather than turning every wait into an immediate IN_PROGRESS.
fn capped(runtime: impl Into<Option<SystemTime>>, now: SystemTime, cap: Option<Duration>) -> Option<SystemTime> {
    let runtime = runtime.into();
    let runtime = runtime.filter(|runtime| *runtime > now);
    let capped = cap.map(|cap| now + cap);
    match (runtime, capped) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The action, type and logical id an outlined payload names, in any protocol's words.
fn outlined_identity(outline: Option<&Value>) -> [Option<&str>; 3] {
    let field = |pointers: [&str; 3]| pointers.iter().find_map(|p| outline?.pointer(p)?.as_str());
    [
        field(["/action", "/RequestType", "/actionInvocationPoint"]),
        field(["/resourceType", "/ResourceType", "/requestData/targetName"]),
        field(["/requestData/logicalResourceId", "/LogicalResourceId", "/requestData/targetLogicalId"]),
    ]
}

/// The span of one invocation, for either protocol, with the action, type and logical id the
/// payload names.
fn invocation_span(identity: [Option<&str>; 3], request_id: &str) -> tracing::Span {
    let span = tracing::info_span!(
        "invocation",
        action = tracing::field::Empty,
        resource_type = tracing::field::Empty,
        logical_id = tracing::field::Empty,
        request_id,
    );
    for (name, value) in ["action", "resource_type", "logical_id"].into_iter().zip(identity) {
        if let Some(value) = value {
            span.record(name, value);
        }
    }
    span
}

/// JSON lines on stdout (and, for the invocation, in its capture); the level comes from
/// `RPDK_LOG` (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_env_var("RPDK_LOG")
        .with_default_directive(tracing_subscriber::filter::LevelFilter::INFO.into())
        .from_env_lossy();
    // A second initialisation (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(provider::Tee)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_past_runtime_deadline_is_ignored_and_the_cap_bounds_the_rest() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let epoch_plus_ten_minutes = SystemTime::UNIX_EPOCH + Duration::from_secs(600);
        assert_eq!(capped(epoch_plus_ten_minutes, now, None), None);
        let cap = Some(Duration::from_secs(20));
        assert_eq!(capped(epoch_plus_ten_minutes, now, cap), Some(now + Duration::from_secs(20)));
        let soon = now + Duration::from_secs(5);
        assert_eq!(capped(soon, now, cap), Some(soon), "the earlier of the two");
        assert_eq!(capped(now + Duration::from_secs(900), now, cap), Some(now + Duration::from_secs(20)));
    }
}

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
