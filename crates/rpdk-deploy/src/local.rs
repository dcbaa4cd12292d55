//! The local stack as the engine's [`Backend`]: handlers invoked at its Lambda endpoint with a
//! fresh session of their type's role each time, custom resources' responses in its bucket,
//! type configurations from its registry and dynamic references read as its admin.

use rpdk::wire::HandlerRequest;
use rpdk_local::{Stack, log_group_name};
use serde_json::Value;

use crate::{Backend, BackendError};

impl Backend for Stack {
    fn invoke(&self, function: &str, request: &HandlerRequest) -> Result<Value, BackendError> {
        Ok(self.functions.invoke(function, request)?)
    }

    fn prepare(&self, request: &mut HandlerRequest) -> Result<(), BackendError> {
        let type_name = request.resource_type.clone().unwrap_or_default();
        request.request_data.caller_credentials = Some(self.fresh_credentials(&type_name)?);
        request.request_data.provider_credentials = self.fresh_provider_credentials()?;
        request.request_data.provider_log_group_name =
            self.principals.provider.is_some().then(|| log_group_name(&type_name));
        Ok(())
    }

    fn invoke_custom(&self, function: &str, request: &Value) -> Result<String, BackendError> {
        Ok(self.functions.invoke_bytes(function, &serde_json::to_vec(request)?)?)
    }

    fn invoke_hook(&self, function: &str, type_name: &str, request: &mut Value) -> Result<Value, BackendError> {
        let data = &mut request["requestData"];
        data["callerCredentials"] = Value::String(serde_json::to_string(&self.fresh_credentials(type_name)?)?);
        if let Some(provider) = self.fresh_provider_credentials()? {
            data["providerCredentials"] = Value::String(serde_json::to_string(&provider)?);
            data["providerLogGroupName"] = Value::String(log_group_name(type_name));
        }
        Ok(self.functions.invoke(function, request)?)
    }

    fn payload_url(&self, key: &str, document: &Value) -> Result<String, BackendError> {
        let bucket = self.response_bucket();
        bucket.write(key, document)?;
        Ok(bucket.presigned("GET", key)?)
    }

    fn response_url(&self, key: &str) -> Result<String, BackendError> {
        Ok(self.response_bucket().presigned("PUT", key)?)
    }

    fn response(&self, key: &str) -> Result<Option<Value>, BackendError> {
        Ok(self.response_bucket().read(key)?)
    }

    fn type_configuration(&self, type_name: &str) -> Result<Option<Value>, BackendError> {
        Ok(self.admin().type_configuration(type_name)?)
    }

    fn ssm_parameter(&self, key: &str) -> Result<String, BackendError> {
        Ok(self.admin().ssm_parameter(key)?)
    }

    fn secret_string(
        &self,
        secret_id: &str,
        stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<String, BackendError> {
        Ok(self.admin().secret_string(secret_id, stage, version_id)?)
    }
}
