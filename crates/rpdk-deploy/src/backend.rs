//! The engine's one seam to the local stack.

use rpdk::wire::HandlerRequest;
use serde_json::Value;

use crate::BackendError;

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
    /// Invokes a hook's function once with a hook request, after putting in the credentials
    /// CloudFormation passes a hook of `type_name` (as JSON strings); answers its event.
    fn invoke_hook(&self, function: &str, type_name: &str, request: &mut Value) -> Result<Value, BackendError> {
        let _ = (function, type_name, request);
        Err("this backend serves no hooks".into())
    }
    /// Stores a stack hook's document under `key`; answers a presigned URL that reads it, as
    /// CloudFormation hands a hook its stack's template.
    fn payload_url(&self, key: &str, document: &Value) -> Result<String, BackendError> {
        let _ = (key, document);
        Err("this backend stores no hook payloads".into())
    }
    /// The account's configuration of `type_name` in the registry, if one is set there.
    fn type_configuration(&self, type_name: &str) -> Result<Option<Value>, BackendError>;
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
