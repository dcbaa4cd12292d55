//! The settings in SSM Parameter Store: one String parameter each, under [`ROOT`], tagged with
//! the operation that created it.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::SdkError;
use aws_sdk_ssm::types::{Parameter, ParameterType, ResourceTypeForTagging, Tag};
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rpdk::{HandlerError, HandlerErrorCode, Request};
use rpdk_aws::{CallRecorder, RetryWatch};

use crate::MARKER_KEY;
use crate::model::{ROOT, Setting};

/// SSM's own codes, as CloudFormation understands them.
const SSM_CODES: &[(&str, HandlerErrorCode)] = &[
    ("ParameterNotFound", HandlerErrorCode::NotFound),
    ("ParameterAlreadyExists", HandlerErrorCode::AlreadyExists),
    ("ParameterLimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("ParameterMaxVersionLimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("TooManyUpdates", HandlerErrorCode::Throttling),
];

fn failed<E>(operation: &str, error: SdkError<E, HttpResponse>) -> HandlerError
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    rpdk_aws::classify(&format!("SSM {operation}"), error, SSM_CODES)
}

/// A `PutParameter` with tags needs `ssm:AddTagsToResource` as well.
fn implied(context: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<&'static str> {
    use aws_sdk_ssm::operation::put_parameter::PutParameterInput;
    match context.input().downcast_ref::<PutParameterInput>() {
        Some(put) if !put.tags().is_empty() => vec!["ssm:AddTagsToResource"],
        _ => Vec::new(),
    }
}

/// The parameter of the setting `name`.
fn parameter_name(name: &str) -> String {
    format!("{ROOT}/{name}")
}

/// SSM for one invocation.
pub struct Ssm {
    client: Client,
}

impl Ssm {
    /// Connects with the request's caller credentials.
    pub fn connect<M, T>(req: &Request<M, T>) -> Result<Self, HandlerError> {
        let config = rpdk_aws::sdk_config(req.credentials.as_ref(), &req.region)?;
        let config = aws_sdk_ssm::config::Builder::from(&config)
            .interceptor(CallRecorder::for_request(req, implied))
            .retry_classifier(RetryWatch::for_request(req))
            .build();
        Ok(Self { client: Client::from_conf(config) })
    }

    /// Creates the setting's parameter tagged with `marker`; one that exists already is adopted
    /// when it carries the same marker (an earlier attempt of this operation made it).
    pub async fn create(&self, name: &str, value: &str, marker: &str, type_name: &str) -> Result<(), HandlerError> {
        let tag = Tag::builder()
            .key(MARKER_KEY)
            .value(marker)
            .build()
            .map_err(|e| HandlerError::internal(format!("a tag: {e}")))?;
        let put = self
            .client
            .put_parameter()
            .name(parameter_name(name))
            .r#type(ParameterType::String)
            .value(value)
            .tags(tag)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_parameter_already_exists()) => {
                if self.marker(name).await?.as_deref() == Some(marker) {
                    Ok(())
                } else {
                    Err(HandlerError::already_exists(type_name, name))
                }
            }
            Err(error) => Err(failed("PutParameter", error)),
        }
    }

    /// The ownership marker of the setting's parameter, if it has one.
    async fn marker(&self, name: &str) -> Result<Option<String>, HandlerError> {
        let output = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(parameter_name(name))
            .send()
            .await
            .map_err(|e| failed("ListTagsForResource", e))?;
        Ok(output.tag_list().iter().find(|tag| tag.key() == MARKER_KEY).map(|tag| tag.value().to_owned()))
    }

    /// Sets the value of an existing setting.
    pub async fn overwrite(&self, name: &str, value: &str) -> Result<(), HandlerError> {
        self.client
            .put_parameter()
            .name(parameter_name(name))
            .r#type(ParameterType::String)
            .value(value)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| failed("PutParameter", e))?;
        Ok(())
    }

    /// The setting `name`, or `None` when there is none.
    pub async fn read(&self, name: &str) -> Result<Option<Setting>, HandlerError> {
        match self.client.get_parameter().name(parameter_name(name)).send().await {
            Ok(output) => Ok(output.parameter().and_then(model)),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_parameter_not_found()) => Ok(None),
            Err(error) => Err(failed("GetParameter", error)),
        }
    }

    /// Deletes the setting `name`; `NotFound` when there is none.
    pub async fn delete(&self, name: &str, type_name: &str) -> Result<(), HandlerError> {
        match self.client.delete_parameter().name(parameter_name(name)).send().await {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_parameter_not_found()) => {
                Err(HandlerError::not_found(type_name, name))
            }
            Err(error) => Err(failed("DeleteParameter", error)),
        }
    }

    /// One page of settings and where the next page starts.
    pub async fn list(
        &self,
        next_token: Option<&str>,
        page_size: u32,
    ) -> Result<(Vec<Setting>, Option<String>), HandlerError> {
        let page = self
            .client
            .get_parameters_by_path()
            .path(ROOT)
            .max_results(i32::try_from(page_size).unwrap_or(1))
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| failed("GetParametersByPath", e))?;
        let models = page.parameters().iter().filter_map(model).collect();
        Ok((models, page.next_token().filter(|token| !token.is_empty()).map(str::to_owned)))
    }
}

/// The setting a parameter holds.
fn model(parameter: &Parameter) -> Option<Setting> {
    let name = parameter.name()?.strip_prefix(&format!("{ROOT}/"))?;
    Some(Setting {
        name: name.to_owned(),
        value: parameter.value().unwrap_or_default().to_owned(),
        arn: parameter.arn().map(str::to_owned),
    })
}
