//! The engine's one seam to the local stack, and one operation followed through it.

use std::time::SystemTime;

use rpdk::follow::{Bound, Operation};
use rpdk::wire::HandlerRequest;
use rpdk_local::Call;
use serde_json::Value;

use crate::template::is_custom;
use crate::{BackendError, Error, custom};

/// What the engine needs of the local stack: single invocations of registry handlers and of
/// custom resources' functions, the bucket their responses go to, and the values dynamic
/// references name. Following an operation is the engine's, so every backend is bounded alike.
pub trait Backend: Sync {
    /// Invokes a registry handler once; answers the event it returned.
    fn invoke(&self, function: &str, request: &HandlerRequest) -> Result<Value, BackendError>;
    /// Readies a registry request before each invocation: CloudFormation passes fresh
    /// credentials every time.
    fn prepare(&self, request: &mut HandlerRequest) -> Result<(), BackendError>;
    /// Sends a classic custom resource request to `function`; answers what it returned.
    fn invoke_custom(&self, function: &str, request: &Value) -> Result<String, BackendError>;
    /// The presigned URL where a custom resource's function puts its response under `key`.
    fn response_url(&self, key: &str) -> Result<String, BackendError>;
    /// The custom resource response under `key`, once one was put.
    fn response(&self, key: &str) -> Result<Option<Value>, BackendError>;
    /// The value of an SSM parameter, `name` or `name:version`.
    fn ssm_parameter(&self, key: &str) -> Result<String, BackendError>;
    /// A secret's `SecretString`, at a stage or version when one is given.
    fn secret_string(
        &self,
        secret_id: &str,
        stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<String, BackendError>;
}

/// Runs `call` to its end through `backend`, as CloudFormation does: a registry operation's
/// IN_PROGRESS events followed until its timeout, a custom resource's one request answered
/// through the response bucket. `on_event` sees each event as it arrives; answers the last.
pub fn operate(
    backend: &dyn Backend,
    call: &Call,
    on_event: &mut dyn FnMut(&Value) -> Result<(), Error>,
) -> Result<Value, Error> {
    if is_custom(&call.type_name) {
        let event = custom::operate(backend, call)?;
        on_event(&event)?;
        return Ok(event);
    }
    let operation = Operation::new(call.request(), Bound::Until(SystemTime::now() + call.timeout));
    rpdk_local::follow(
        &call.function,
        operation,
        &mut |request| backend.invoke(&call.function, request).map_err(Error::Backend),
        &mut |request| backend.prepare(request).map_err(Error::Backend),
        &mut |answer| on_event(&answer.event),
    )
}
