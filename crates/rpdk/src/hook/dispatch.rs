//! A hook request in, a hook progress event out, whatever happens in between.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use serde_json::Value;

use super::wire::{HookInvocationRequest, HookProgressEvent, HookStatus};
use super::{HookHandler, HookMetadata, HookRequest, InvocationPoint, Outcome, Target, TargetType, Verdict};
use crate::deadline::{Clock, Deadline, SystemClock};
use crate::dispatch::{DEFAULT_NAMESPACE, chain, decode, located, within};
use crate::error::{HandlerError, HandlerErrorCode};
use crate::schema::SchemaError;
use crate::wire::Credentials;

/// The environment variable a Lambda hook's function reads its configuration from (a JSON
/// object of the hook's configuration properties): a Lambda hook's `hookModel` names only
/// the function.
pub const LAMBDA_HOOK_CONFIGURATION_ENV: &str = "RPDK_HOOK_CONFIGURATION";

/// How long CloudFormation waits for one invocation: 30 s for a Lambda hook (the service's
/// documented limit), 60 s for a registered hook, as for a resource handler.
const LAMBDA_HOOK_BUDGET: Duration = Duration::from_secs(30);
const REGISTRY_HOOK_BUDGET: Duration = Duration::from_secs(60);
/// What is kept back from the deadline for encoding and returning the answer.
const SAFETY_MARGIN: Duration = Duration::from_secs(2);
/// A Lambda hook may answer IN_PROGRESS on this many invocations; the next must decide.
const LAMBDA_HOOK_INVOCATIONS: u32 = 3;

/// Fetches the document of a stack or change-set target from its presigned `payload` URL. The
/// runtime supplies one (rpdk-lambda's fetches over HTTPS); a dispatcher without one refuses
/// such targets, naming why.
pub trait PayloadFetcher: Send + Sync {
    /// The JSON document at `url`, or why it could not be read (never the URL's query, which
    /// holds a signature).
    fn fetch<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>>;
}

/// Serves one hook: decodes its requests, calls its handlers, encodes answers that keep every
/// rule of the hook protocol.
pub struct HookDispatcher<H: HookHandler> {
    handler: H,
    metadata: HookMetadata,
    clock: Arc<dyn Clock>,
    fetcher: Option<Arc<dyn PayloadFetcher>>,
    lambda_configuration: Option<Value>,
}

impl<H: HookHandler> HookDispatcher<H> {
    /// A dispatcher for `handler`.
    pub fn new(handler: H) -> Self {
        Self {
            handler,
            metadata: H::metadata(),
            clock: Arc::new(SystemClock),
            fetcher: None,
            lambda_configuration: None,
        }
    }

    /// Replaces the clock (tests inject a fake one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How stack and change-set targets' documents are read.
    pub fn with_payload_fetcher(mut self, fetcher: Arc<dyn PayloadFetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// The configuration a Lambda hook's requests are checked under (see
    /// [`LAMBDA_HOOK_CONFIGURATION_ENV`]).
    pub fn set_lambda_hook_configuration(&mut self, configuration: Value) {
        self.lambda_configuration = Some(configuration);
    }

    /// The hook's metadata.
    pub fn metadata(&self) -> &HookMetadata {
        &self.metadata
    }

    /// The hook's schema under `namespace`.
    pub fn schema(&self, namespace: &str) -> Result<Value, SchemaError> {
        super::hook_schema::<H::Configuration>(&self.metadata, namespace)
    }

    /// Handles one request. Never fails and never panics: every fault is a FAILED answer, and
    /// the request's token is echoed whenever the request holds one.
    pub async fn handle(&self, payload: Value, deadline: Option<SystemTime>) -> HookProgressEvent {
        let token = payload.get("clientRequestToken").and_then(Value::as_str).map(str::to_owned);
        let mut event = match AssertUnwindSafe(self.dispatch(payload, deadline)).catch_unwind().await {
            Ok(Ok(event)) => event,
            Ok(Err(error)) => {
                tracing::warn!(code = %error.code(), error = %chain(&error), "hook invocation failed");
                HookProgressEvent::failed(error.code(), error.message())
            }
            Err(_) => {
                tracing::error!("the hook handler panicked");
                HookProgressEvent::failed(
                    HandlerErrorCode::InternalFailure,
                    "the hook failed unexpectedly (it panicked); its log has the details",
                )
            }
        };
        event.client_request_token = token;
        event
    }

    async fn dispatch(&self, payload: Value, deadline: Option<SystemTime>) -> Result<HookProgressEvent, HandlerError> {
        if !payload.is_object() {
            return Err(HandlerError::invalid_request(format!(
                "the request is {}, not a JSON object: send CloudFormation's hook request",
                crate::wire::json_kind(&payload)
            )));
        }
        let request: HookInvocationRequest = decode(payload, "")?;
        let point = invocation_point(request.action_invocation_point.as_deref())?;
        let token = required(request.client_request_token.as_deref(), "clientRequestToken")?;
        let data = &request.request_data;
        let target_name = required(data.target_name.as_deref(), "requestData.targetName")?;
        let hook_type_name =
            request.hook_type_name.clone().unwrap_or_else(|| self.metadata.type_name(DEFAULT_NAMESPACE));
        let spec = self.metadata.handler(point).ok_or_else(|| {
            HandlerError::new(
                HandlerErrorCode::UnsupportedTarget,
                format!("Hook of type '{hook_type_name}' has no {} handler", point.handler_key()),
            )
        })?;
        if !spec.handles(target_name) {
            return Err(HandlerError::new(
                HandlerErrorCode::UnsupportedTarget,
                format!(
                    "Hook of type '{hook_type_name}' received request for unsupported target '{target_name}': its {} \
                     handler checks {}",
                    point.handler_key(),
                    spec.target_names.join(", ")
                ),
            ));
        }

        let lambda_hook = is_lambda_hook(request.hook_model.as_ref());
        let configuration = if lambda_hook {
            self.configuration(self.lambda_configuration.clone(), LAMBDA_HOOK_CONFIGURATION_ENV)?
        } else {
            self.configuration(request.hook_model.clone(), "hookModel")?
        };
        let target = self.target(target_name, &request).await?;
        let credentials = if lambda_hook {
            None
        } else {
            credentials(data.caller_credentials.as_ref(), "requestData.callerCredentials")?
        };
        let mut context: H::Context = match request.request_context.callback_context.clone() {
            // A Lambda hook's context may come back as the JSON text of the object answered.
            Some(Value::String(text)) if !text.is_empty() => {
                let raw: Value = serde_json::from_str(&text).map_err(|e| {
                    HandlerError::invalid_request(format!("requestContext.callbackContext: not JSON text ({e})"))
                })?;
                decode(raw, "requestContext.callbackContext")?
            }
            // `{}` is no context: a first invocation.
            None | Some(Value::Null | Value::String(_)) => H::Context::default(),
            Some(Value::Object(object)) if object.is_empty() => H::Context::default(),
            Some(raw) => decode(raw, "requestContext.callbackContext")?,
        };
        let invocation = request.request_context.invocation.unwrap_or(1).max(1);

        let started = self.clock.now();
        let budget = if lambda_hook { LAMBDA_HOOK_BUDGET } else { REGISTRY_HOOK_BUDGET };
        let end = deadline.map_or(started + budget, |d| d.min(started + budget));
        let deadline = Deadline::new(end.checked_sub(SAFETY_MARGIN).unwrap_or(started), self.clock.clone());
        let req = HookRequest {
            invocation_point: point,
            hook_type_name,
            target,
            configuration,
            client_request_token: token.to_owned(),
            account_id: request.aws_account_id.clone().unwrap_or_default(),
            stack_id: request.stack_id.clone().filter(|s| !s.is_empty()),
            change_set_id: request.change_set_id.clone().filter(|s| !s.is_empty()),
            invocation,
            credentials,
            lambda_hook,
            deadline: deadline.clone(),
        };
        let verdict = within(&deadline, async {
            match point {
                InvocationPoint::PreCreate => self.handler.pre_create(&req, &mut context).await,
                InvocationPoint::PreUpdate => self.handler.pre_update(&req, &mut context).await,
                InvocationPoint::PreDelete => self.handler.pre_delete(&req, &mut context).await,
            }
        })
        .await??;
        answer(verdict, &context, lambda_hook && invocation >= LAMBDA_HOOK_INVOCATIONS)
    }

    /// The hook's configuration read leniently against its schema (values may be strings); a
    /// fault names the field and is `InvalidTypeConfiguration`.
    fn configuration(&self, raw: Option<Value>, field: &str) -> Result<H::Configuration, HandlerError> {
        let Some(mut raw) = raw.filter(|v| !v.is_null()) else {
            return Ok(H::Configuration::default());
        };
        super::recast_as::<H::Configuration>(&mut raw);
        serde_path_to_error::deserialize(raw).map_err(|error| {
            HandlerError::new(
                HandlerErrorCode::InvalidTypeConfiguration,
                format!(
                    "{}: {}; correct the hook's configuration (SetTypeConfiguration, or {LAMBDA_HOOK_CONFIGURATION_ENV} \
                     for a Lambda hook)",
                    located(field, &error.path().to_string()),
                    error.inner()
                ),
            )
        })
    }

    /// The target as the handler sees it; a stack's or change set's document read from its
    /// payload URL when the request does not carry it.
    async fn target(&self, name: &str, request: &HookInvocationRequest) -> Result<Target, HandlerError> {
        let data = &request.request_data;
        let target_type = match (name, data.target_type.as_deref()) {
            ("STACK", _) | (_, Some("STACK")) => TargetType::Stack,
            ("CHANGE_SET", _) | (_, Some("CHANGE_SET")) => TargetType::ChangeSet,
            _ => TargetType::Resource,
        };
        let model = match &data.target_model {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(model)) => model.clone(),
            Some(other) => {
                return Err(HandlerError::invalid_request(format!(
                    "requestData.targetModel: {}, not an object of resourceProperties and previousResourceProperties",
                    crate::wire::json_kind(other)
                )));
            }
        };
        let object = |key: &str| -> Result<Option<Value>, HandlerError> {
            match model.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(value @ Value::Object(_)) => Ok(Some(value.clone())),
                Some(other) => Err(HandlerError::invalid_request(format!(
                    "requestData.targetModel.{key}: {}, not an object of the target's properties",
                    crate::wire::json_kind(other)
                ))),
            }
        };
        let properties = object("resourceProperties")?;
        let previous_properties = object("previousResourceProperties")?;
        // A stack's document comes in the request when its target model holds anything but
        // empty objects (`cfn test` sends `{"resourceProperties": {}}`); else from `payload`.
        let carried = model.values().any(|value| value.as_object().is_none_or(|o| !o.is_empty()));
        let stack = match target_type {
            TargetType::Resource => None,
            _ if carried => Some(Value::Object(model.clone())),
            _ => match data.payload.as_deref().filter(|url| !url.is_empty()) {
                None => Some(Value::Object(model.clone())),
                Some(url) => {
                    let fetcher = self.fetcher.as_ref().ok_or_else(|| {
                        HandlerError::internal("requestData.payload: this runtime cannot read a stack's template")
                    })?;
                    Some(fetcher.fetch(url).await.map_err(|why| {
                        HandlerError::internal(format!(
                            "requestData.payload: cannot read the {} document from {}: {why}",
                            if target_type == TargetType::Stack { "stack's" } else { "change set's" },
                            without_query(url)
                        ))
                    })?)
                }
            },
        };
        Ok(Target {
            name: name.to_owned(),
            target_type,
            logical_id: data.target_logical_id.clone(),
            properties: properties.unwrap_or_else(|| Value::Object(Default::default())),
            previous_properties,
            stack,
        })
    }
}

/// A presigned URL without its query (which holds the signature), for messages.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, HandlerError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
        HandlerError::invalid_request(format!("{field}: missing; CloudFormation's hook requests carry it"))
    })
}

fn invocation_point(raw: Option<&str>) -> Result<InvocationPoint, HandlerError> {
    let names = || InvocationPoint::ALL.map(InvocationPoint::as_str).join(", ");
    let raw = raw.ok_or_else(|| {
        HandlerError::invalid_request(format!("actionInvocationPoint: missing; send one of {}", names()))
    })?;
    InvocationPoint::from_wire(raw).ok_or_else(|| {
        HandlerError::invalid_request(format!("actionInvocationPoint: '{raw}' is not one of {}", names()))
    })
}

/// A Lambda hook's `hookModel` names its function and nothing else.
fn is_lambda_hook(model: Option<&Value>) -> bool {
    model.and_then(Value::as_object).is_some_and(|m| m.len() == 1 && m.contains_key("LambdaFunction"))
}

/// Credentials as the hook protocol sends them: a JSON object encoded as a string (an object
/// is read too).
fn credentials(raw: Option<&Value>, field: &str) -> Result<Option<Credentials>, HandlerError> {
    let parsed: Result<Credentials, String> = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) if text.is_empty() => return Ok(None),
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| e.to_string()),
        Some(object @ Value::Object(_)) => serde_json::from_value(object.clone()).map_err(|e| e.to_string()),
        Some(other) => Err(format!("{}, not a JSON string", crate::wire::json_kind(other))),
    };
    // The fault is named, never the value: it holds a secret.
    parsed.map(Some).map_err(|why| {
        HandlerError::new(
            HandlerErrorCode::InvalidCredentials,
            format!("{field}: not credentials ({}); CloudFormation sends a JSON object of accessKeyId, secretAccessKey and sessionToken as a string", why.split(" at line").next().unwrap_or_default()),
        )
    })
}

/// The verdict as a progress event. `last_chance`: a Lambda hook's last invocation, which may
/// not answer IN_PROGRESS again.
fn answer<C: serde::Serialize>(
    verdict: Verdict,
    context: &C,
    last_chance: bool,
) -> Result<HookProgressEvent, HandlerError> {
    let Verdict { outcome, annotations } = verdict;
    let mut event = match outcome {
        Outcome::Compliant(message) => HookProgressEvent {
            hook_status: HookStatus::Success,
            error_code: None,
            message,
            callback_context: None,
            callback_delay_seconds: None,
            client_request_token: None,
            annotations: Vec::new(),
        },
        Outcome::NonCompliant(message) => {
            let message = if message.trim().is_empty() { "the target does not comply".to_owned() } else { message };
            HookProgressEvent::failed(HandlerErrorCode::NonCompliant, message)
        }
        Outcome::InProgress(_) if last_chance => {
            return Err(HandlerError::internal(format!(
                "the hook was still undecided on invocation {LAMBDA_HOOK_INVOCATIONS}, the last a Lambda hook gets: decide sooner"
            )));
        }
        Outcome::InProgress(delay) => HookProgressEvent {
            hook_status: HookStatus::InProgress,
            error_code: None,
            message: None,
            callback_context: Some(
                serde_json::to_value(context)
                    .map_err(|e| HandlerError::internal(format!("cannot encode the hook's callback context: {e}")))?,
            ),
            callback_delay_seconds: Some(u32::try_from(delay.as_secs()).unwrap_or(u32::MAX)),
            client_request_token: None,
            annotations: Vec::new(),
        },
    };
    event.annotations = annotations;
    Ok(event)
}
