//! AWS SDK helpers for rpdk handlers.
//!
//! - [`sdk_config`] builds the SDK configuration for one invocation from the request's caller
//!   credentials and region, with no default provider chain (nothing is probed: no
//!   environment credentials, no profile files, no instance metadata). `AWS_ENDPOINT_URL`
//!   redirects every client, which is how the handlers run against a local emulator.
//! - [`classify`] turns any SDK error into a [`HandlerError`] with the right code, from the
//!   modeled error code, the HTTP status and the kind of failure, never from message text.
//! - [`CallRecorder`] records the operations a handler calls, for the permission tests.
//! - [`RetryWatch`] notes the faults the SDK retries on the request's deadline.
//! - [`tags`] applies the stack's tags to what a type makes and keeps READ to the resource's own.

use std::error::Error as StdError;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials as SdkCredentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, InterceptorContext,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::{ErrorKind, RetryConfig};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use rpdk::{Credentials, Deadline, HandlerError, HandlerErrorCode, Request};
use sha2::{Digest, Sha256};

pub mod tags;

/// The environment variable that redirects every AWS client (the SDKs' standard name).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL";

/// The SDK configuration for one invocation: the caller's credentials, the request's region,
/// standard retries and bounded timeouts. Build it anew for every invocation: the
/// credentials change each time.
pub fn sdk_config(credentials: Option<&Credentials>, region: &str) -> Result<SdkConfig, HandlerError> {
    let credentials = credentials.filter(|c| !c.access_key_id.is_empty()).ok_or_else(|| {
        HandlerError::new(
            HandlerErrorCode::InvalidCredentials,
            "requestData.callerCredentials: missing; the handler needs the credentials of the type's execution role \
             (as a custom resource, the function's own: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its environment, which Lambda sets)",
        )
    })?;
    if region.is_empty() {
        return Err(HandlerError::invalid_request("region: missing; the request must name the region"));
    }
    let provider = SdkCredentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        credentials.session_token.clone(),
        None,
        "cloudformation-caller",
    );
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(200)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(25))
                .build(),
        );
    if let Some(endpoint) = std::env::var(ENDPOINT_ENV).ok().filter(|e| !e.is_empty()) {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// Modeled error codes shared by AWS services, and what they mean to CloudFormation.
const COMMON_CODES: &[(&str, HandlerErrorCode)] = &[
    ("Throttling", HandlerErrorCode::Throttling),
    ("ThrottlingException", HandlerErrorCode::Throttling),
    ("ThrottledException", HandlerErrorCode::Throttling),
    ("RequestLimitExceeded", HandlerErrorCode::Throttling),
    ("RequestThrottled", HandlerErrorCode::Throttling),
    ("RequestThrottledException", HandlerErrorCode::Throttling),
    ("TooManyRequestsException", HandlerErrorCode::Throttling),
    ("SlowDown", HandlerErrorCode::Throttling),
    ("PriorRequestNotComplete", HandlerErrorCode::Throttling),
    ("AccessDenied", HandlerErrorCode::AccessDenied),
    ("AccessDeniedException", HandlerErrorCode::AccessDenied),
    ("UnauthorizedOperation", HandlerErrorCode::AccessDenied),
    ("InvalidClientTokenId", HandlerErrorCode::InvalidCredentials),
    ("UnrecognizedClientException", HandlerErrorCode::InvalidCredentials),
    ("InvalidAccessKeyId", HandlerErrorCode::InvalidCredentials),
    ("SignatureDoesNotMatch", HandlerErrorCode::InvalidCredentials),
    ("IncompleteSignature", HandlerErrorCode::InvalidCredentials),
    ("MissingAuthenticationToken", HandlerErrorCode::InvalidCredentials),
    ("AuthFailure", HandlerErrorCode::InvalidCredentials),
    ("ExpiredToken", HandlerErrorCode::InvalidCredentials),
    ("ExpiredTokenException", HandlerErrorCode::InvalidCredentials),
    ("InternalFailure", HandlerErrorCode::ServiceInternalError),
    ("InternalError", HandlerErrorCode::ServiceInternalError),
    ("InternalServerError", HandlerErrorCode::ServiceInternalError),
    ("ServiceFailure", HandlerErrorCode::ServiceInternalError),
    ("ServiceUnavailable", HandlerErrorCode::ServiceInternalError),
    ("ServiceUnavailableException", HandlerErrorCode::ServiceInternalError),
    ("ValidationError", HandlerErrorCode::InvalidRequest),
    ("ValidationException", HandlerErrorCode::InvalidRequest),
    ("InvalidParameterValue", HandlerErrorCode::InvalidRequest),
    ("InvalidParameterCombination", HandlerErrorCode::InvalidRequest),
    ("MissingParameter", HandlerErrorCode::InvalidRequest),
    ("InvalidInput", HandlerErrorCode::InvalidRequest),
];

/// Classifies an SDK error. `operation` names the call in the message (e.g. `IAM CreateRole`);
/// `service_codes` maps the service's own modeled codes and is consulted first.
pub fn classify<E>(
    operation: &str,
    error: SdkError<E, HttpResponse>,
    service_codes: &[(&str, HandlerErrorCode)],
) -> HandlerError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let (code, detail) = match &error {
        SdkError::ServiceError(service) => {
            let modeled = service.err().code();
            let status = service.raw().status().as_u16();
            let code = modeled
                .and_then(|m| lookup(service_codes, m).or_else(|| lookup(COMMON_CODES, m)))
                .unwrap_or_else(|| by_status(status));
            let message = service.err().message().unwrap_or("no message");
            let detail = match modeled {
                Some(modeled) => format!("{modeled}: {message}"),
                None => format!("HTTP {status}: {message}"),
            };
            (code, detail)
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            (by_status(status), format!("unreadable response (HTTP {status})"))
        }
        SdkError::TimeoutError(_) => (HandlerErrorCode::NetworkFailure, "timed out".to_owned()),
        SdkError::DispatchFailure(_) => (HandlerErrorCode::NetworkFailure, "could not reach the service".to_owned()),
        _ => (HandlerErrorCode::InternalFailure, "the request could not be built".to_owned()),
    };
    HandlerError::new(code, format!("{operation} failed: {detail}")).with_source(error)
}

fn lookup(table: &[(&str, HandlerErrorCode)], code: &str) -> Option<HandlerErrorCode> {
    table.iter().find(|(name, _)| *name == code).map(|(_, handler_code)| *handler_code)
}

fn by_status(status: u16) -> HandlerErrorCode {
    match status {
        401 | 403 => HandlerErrorCode::AccessDenied,
        404 => HandlerErrorCode::NotFound,
        409 => HandlerErrorCode::ResourceConflict,
        429 => HandlerErrorCode::Throttling,
        500..=599 => HandlerErrorCode::ServiceInternalError,
        _ => HandlerErrorCode::GeneralServiceException,
    }
}

/// The environment variable naming the file [`CallRecorder`] appends to.
pub const RECORD_ENV: &str = "RPDK_RECORD_CALLS";

/// Names the IAM actions a call implies beyond its own, from its input (for example
/// `iam:TagRole` for a `CreateRole` with tags).
pub type Implied = fn(&BeforeSerializationInterceptorContextRef<'_>) -> Vec<&'static str>;

/// An SDK interceptor that appends one line per call to the file named by `RPDK_RECORD_CALLS`:
/// the type, the registry action, the IAM action (`service:Operation`) and the operation (a
/// hash of the client request token, the same for every invocation of one operation), then one
/// line for each action its input implies. It does nothing when that variable is unset. Only
/// names are written, never inputs.
#[derive(Clone, Debug)]
pub struct CallRecorder {
    file: Option<Arc<Mutex<std::fs::File>>>,
    origin: String,
    operation: String,
    implied: Implied,
}

impl CallRecorder {
    /// A recorder for the calls made while handling `request`, with the service's `implied`
    /// rules.
    pub fn for_request<M, T>(request: &Request<M, T>, implied: Implied) -> Self {
        let file = std::env::var(RECORD_ENV)
            .ok()
            .filter(|path| !path.is_empty())
            .and_then(|path| OpenOptions::new().create(true).append(true).open(path).ok())
            .map(|file| Arc::new(Mutex::new(file)));
        Self {
            file,
            origin: format!("{}\t{}", request.type_name, request.action.as_str()),
            operation: operation_id(&request.client_request_token),
            implied,
        }
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (Some(file), Some(metadata)) = (&self.file, config.load::<Metadata>()) else { return Ok(()) };
        let mut lines =
            format!("{}\t{}:{}\t{}\n", self.origin, iam_prefix(metadata.service()), metadata.name(), self.operation);
        for action in (self.implied)(context) {
            lines.push_str(&format!("{}\t{action}\t{}\n", self.origin, self.operation));
        }
        if let Ok(mut file) = file.lock() {
            file.write_all(lines.as_bytes())?;
        }
        Ok(())
    }
}

/// A retry classifier that decides nothing: it runs after the SDK's own classifiers and notes
/// each fault they found retriable on the request's [`Deadline`]. The SDK retries inside one
/// call, out of the handler's sight; with these notes, a request that runs out of time answers
/// `Throttling` when throttling is what used the time. Add it to every client of a handler
/// (`.retry_classifier(RetryWatch::for_request(req))`).
#[derive(Clone, Debug)]
pub struct RetryWatch {
    deadline: Deadline,
}

impl RetryWatch {
    /// A watch for the calls made while handling `request`.
    pub fn for_request<M, T>(request: &Request<M, T>) -> Self {
        Self { deadline: request.deadline.clone() }
    }
}

impl ClassifyRetry for RetryWatch {
    fn classify_retry(&self, _context: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, context: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        if let RetryAction::RetryIndicated(RetryReason::RetryableError { kind, .. }) = previous {
            let (code, fault) = match kind {
                ErrorKind::ThrottlingError => (HandlerErrorCode::Throttling, "was throttled"),
                ErrorKind::ServerError => (HandlerErrorCode::ServiceInternalError, "met a server error"),
                _ => (HandlerErrorCode::NetworkFailure, "timed out or lost its connection"),
            };
            let status = context.response().map(|r| format!(" (HTTP {})", r.status().as_u16())).unwrap_or_default();
            self.deadline.note(code, format!("an AWS call {fault}{status}"));
        }
        RetryAction::NoActionIndicated
    }

    fn name(&self) -> &'static str {
        "RetryWatch"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// How recorded calls name an operation: the first 16 hex digits of the SHA-256 of its client
/// request token.
pub fn operation_id(client_request_token: &str) -> String {
    Sha256::digest(client_request_token.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The IAM action prefix of an SDK service name (`IAM` → `iam`, `Elastic Load Balancing v2` →
/// `elasticloadbalancing`).
fn iam_prefix(service: &str) -> String {
    match service {
        "Elastic Load Balancing v2" | "Elastic Load Balancing" => "elasticloadbalancing".to_owned(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_codes() {
        assert_eq!(by_status(403), HandlerErrorCode::AccessDenied);
        assert_eq!(by_status(404), HandlerErrorCode::NotFound);
        assert_eq!(by_status(409), HandlerErrorCode::ResourceConflict);
        assert_eq!(by_status(429), HandlerErrorCode::Throttling);
        assert_eq!(by_status(503), HandlerErrorCode::ServiceInternalError);
        assert_eq!(by_status(400), HandlerErrorCode::GeneralServiceException);
    }

    #[test]
    fn service_codes_win_over_common_ones() {
        let table = [("LimitExceeded", HandlerErrorCode::ServiceLimitExceeded)];
        assert_eq!(lookup(&table, "LimitExceeded"), Some(HandlerErrorCode::ServiceLimitExceeded));
        assert_eq!(lookup(COMMON_CODES, "RequestLimitExceeded"), Some(HandlerErrorCode::Throttling));
        assert_eq!(lookup(COMMON_CODES, "Nope"), None);
    }

    #[test]
    fn missing_credentials_are_invalid_credentials() {
        let error = sdk_config(None, "us-east-1").expect_err("refused");
        assert_eq!(error.code(), HandlerErrorCode::InvalidCredentials);
        assert!(error.message().starts_with("requestData.callerCredentials"));
    }

    #[test]
    fn the_watch_notes_what_the_sdk_retries_and_changes_no_verdict() {
        use aws_smithy_runtime_api::client::interceptors::context::Input;
        let deadline = Deadline::after(Duration::from_secs(60));
        let watch = RetryWatch { deadline: deadline.clone() };
        let context = InterceptorContext::new(Input::erase(()));
        assert_eq!(watch.classify_retry_v2(&context, &RetryAction::NoActionIndicated), RetryAction::NoActionIndicated);
        assert_eq!(deadline.ran_out().code(), HandlerErrorCode::NetworkFailure, "nothing noted yet");
        assert_eq!(watch.classify_retry_v2(&context, &RetryAction::server_error()), RetryAction::NoActionIndicated);
        assert_eq!(deadline.ran_out().code(), HandlerErrorCode::ServiceInternalError);
        assert_eq!(watch.classify_retry_v2(&context, &RetryAction::throttling_error()), RetryAction::NoActionIndicated);
        assert_eq!(deadline.ran_out().code(), HandlerErrorCode::Throttling);
        assert!(
            watch.priority() > RetryClassifierPriority::transient_error_classifier(),
            "runs after the SDK's classifiers"
        );
    }

    #[test]
    fn service_names_become_action_prefixes() {
        assert_eq!(iam_prefix("IAM"), "iam");
        assert_eq!(iam_prefix("EC2"), "ec2");
        assert_eq!(iam_prefix("SSM"), "ssm");
        assert_eq!(iam_prefix("Elastic Load Balancing v2"), "elasticloadbalancing");
    }
}
