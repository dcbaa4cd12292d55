//! Where connectors live: SSM Parameter Store, under `/rpdk/scim/connectors/<Name>/`.
//!
//! - `settings`: a String parameter holding the base URL, description, KMS key id, the
//!   discovered capabilities and the operation that created the connector, as JSON;
//! - `token`: the bearer token, a SecureString encrypted with `KmsKeyId` (or `aws/ssm`);
//! - `creates/<operation>`: small String markers that make a retried CREATE of a user or group
//!   find what its first attempt made; each CREATE sweeps those older than a day (one page).
//!
//! Both connector parameters carry the connector's tags.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::SdkError;
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging};
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rpdk::{HandlerError, HandlerErrorCode, Request, Secret};
use rpdk_aws::{CallRecorder, RetryWatch};
use serde::{Deserialize, Serialize};

use crate::model::{Capabilities, Tag};

/// Where every connector's parameters live.
pub const ROOT: &str = "/rpdk/scim/connectors";
/// How long a create marker is kept: longer than any retry of one operation.
const MARKER_LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// SSM deletes at most this many parameters per call.
const DELETE_BATCH: usize = 10;
/// Connectors looked at per LIST page: SSM's largest page of parameters.
pub const LIST_PAGE_SIZE: u32 = 10;

/// SSM's own codes, as CloudFormation understands them.
const SSM_CODES: &[(&str, HandlerErrorCode)] = &[
    ("ParameterNotFound", HandlerErrorCode::NotFound),
    ("ParameterAlreadyExists", HandlerErrorCode::AlreadyExists),
    ("ParameterLimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("ParameterMaxVersionLimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("TooManyTagsError", HandlerErrorCode::ServiceLimitExceeded),
    ("TooManyUpdates", HandlerErrorCode::Throttling),
    ("InvalidKeyId", HandlerErrorCode::InvalidRequest),
    ("InvalidResourceId", HandlerErrorCode::NotFound),
    ("HierarchyLevelLimitExceededException", HandlerErrorCode::ServiceLimitExceeded),
];

fn failed<E>(operation: &str, error: SdkError<E, HttpResponse>) -> HandlerError
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    rpdk_aws::classify(&format!("SSM {operation}"), error, SSM_CODES)
}

/// KMS actions the SSM calls imply: encrypting a SecureString on `PutParameter`, decrypting
/// on reads `WithDecryption` (with a customer managed key, IAM must allow them; with
/// `aws/ssm` the key policy does), and `ssm:AddTagsToResource` for a `PutParameter` with tags.
fn implied(context: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<&'static str> {
    use aws_sdk_ssm::operation::get_parameters::GetParametersInput;
    use aws_sdk_ssm::operation::put_parameter::PutParameterInput;
    let input = context.input();
    if let Some(put) = input.downcast_ref::<PutParameterInput>() {
        let mut actions = Vec::new();
        if put.r#type() == Some(&ParameterType::SecureString) {
            actions.push("kms:Encrypt");
        }
        if !put.tags().is_empty() {
            actions.push("ssm:AddTagsToResource");
        }
        return actions;
    }
    match input.downcast_ref::<GetParametersInput>() {
        Some(get) if get.with_decryption() == Some(true) => vec!["kms:Decrypt"],
        _ => Vec::new(),
    }
}

/// What the `settings` parameter holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Settings {
    /// The SCIM base URL.
    pub base_url: String,
    /// The connector's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key of the token's SecureString.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// What the provider supports.
    pub capabilities: Capabilities,
    /// The operation (`rpdk_aws::operation_id`) that created the connector.
    pub created_by: String,
}

/// A create marker: what the first attempt of an operation got to. Its value is
/// `pending <unix seconds> <subject>` or `created <unix seconds> <id>`; the time (the handler's
/// clock) dates it for adoption and for the sweep, and the subject names what is being created
/// (see [`crate::member`]) without repeating it. Markers written before subjects existed are
/// `pending <unix seconds>`.
#[derive(Debug, PartialEq)]
pub enum Marker {
    /// About to create.
    Pending {
        /// Since this Unix time.
        since: i64,
        /// What is being created.
        subject: Option<String>,
    },
    /// Created the resource with this id.
    Created(String),
}

impl Marker {
    fn parse(value: &str) -> Option<(i64, Self)> {
        let mut parts = value.splitn(3, ' ');
        let (state, at) = (parts.next()?, parts.next()?.parse::<i64>().ok()?);
        match (state, parts.next()) {
            ("pending", subject) => Some((at, Self::Pending { since: at, subject: subject.map(str::to_owned) })),
            ("created", Some(id)) => Some((at, Self::Created(id.to_owned()))),
            _ => None,
        }
    }
}

/// The parameters of one connector.
pub fn settings_name(connector: &str) -> String {
    format!("{ROOT}/{connector}/settings")
}

fn token_name(connector: &str) -> String {
    format!("{ROOT}/{connector}/token")
}

fn creates_path(connector: &str) -> String {
    format!("{ROOT}/{connector}/creates")
}

/// SSM for one invocation.
pub struct Store {
    client: Client,
}

impl Store {
    /// Connects with the request's caller credentials.
    pub fn connect<M, T>(req: &Request<M, T>) -> Result<Self, HandlerError> {
        let config = rpdk_aws::sdk_config(req.credentials.as_ref(), &req.region)?;
        let config = aws_sdk_ssm::config::Builder::from(&config)
            .interceptor(CallRecorder::for_request(req, implied))
            .retry_classifier(RetryWatch::for_request(req))
            .build();
        Ok(Self { client: Client::from_conf(config) })
    }

    /// The connector's settings, or `None` when there is no such connector.
    pub async fn settings(&self, connector: &str) -> Result<Option<Settings>, HandlerError> {
        let Some(value) = self.value(&settings_name(connector)).await? else {
            return Ok(None);
        };
        parse_settings(connector, &value).map(Some)
    }

    /// Creates the settings parameter, unless it exists: then answers what it holds.
    pub async fn claim(
        &self,
        connector: &str,
        settings: &Settings,
        tags: &[Tag],
    ) -> Result<Option<Settings>, HandlerError> {
        let put = self
            .client
            .put_parameter()
            .name(settings_name(connector))
            .r#type(ParameterType::String)
            .value(to_json(settings)?)
            .description(format!("SCIM connector {connector} (Rpdk::SCIM::Connector)"))
            .set_tags(sdk_tags(tags)?)
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_parameter_already_exists()) => {
                self.settings(connector).await?.map(Some).ok_or_else(|| {
                    HandlerError::new(
                        HandlerErrorCode::ResourceConflict,
                        format!("connector {connector} is being deleted; try again"),
                    )
                })
            }
            Err(error) => Err(failed("PutParameter", error)),
        }
    }

    /// Overwrites the settings.
    pub async fn save_settings(&self, connector: &str, settings: &Settings) -> Result<(), HandlerError> {
        self.overwrite(&settings_name(connector), &to_json(settings)?, ParameterType::String, None).await
    }

    /// Stores the token as a SecureString (created or overwritten).
    pub async fn save_token(
        &self,
        connector: &str,
        token: &Secret,
        kms_key_id: Option<&str>,
    ) -> Result<(), HandlerError> {
        self.overwrite(&token_name(connector), token.expose(), ParameterType::SecureString, kms_key_id).await
    }

    async fn overwrite(
        &self,
        name: &str,
        value: &str,
        kind: ParameterType,
        kms_key_id: Option<&str>,
    ) -> Result<(), HandlerError> {
        self.client
            .put_parameter()
            .name(name)
            .r#type(kind)
            .value(value)
            .set_key_id(kms_key_id.map(str::to_owned))
            .overwrite(true)
            .send()
            .await
            .map_err(|e| failed("PutParameter", e))?;
        Ok(())
    }

    /// The connector's settings and token, for the handlers of users and groups; `None` when
    /// there is no such connector.
    pub async fn load(&self, connector: &str) -> Result<Option<(Settings, Secret)>, HandlerError> {
        let output = self
            .client
            .get_parameters()
            .names(settings_name(connector))
            .names(token_name(connector))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| failed("GetParameters", e))?;
        let value_of = |name: String| {
            output
                .parameters()
                .iter()
                .find(|p| p.name() == Some(name.as_str()))
                .and_then(|p| p.value())
                .map(str::to_owned)
        };
        match (value_of(settings_name(connector)), value_of(token_name(connector))) {
            (Some(settings), Some(token)) => Ok(Some((parse_settings(connector, &settings)?, Secret::new(token)))),
            _ => Ok(None),
        }
    }

    /// The connector's tags (those of its settings parameter).
    pub async fn tags(&self, connector: &str) -> Result<Vec<Tag>, HandlerError> {
        let output = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(settings_name(connector))
            .send()
            .await
            .map_err(|e| failed("ListTagsForResource", e))?;
        Ok(output.tag_list().iter().map(|t| Tag { key: t.key().to_owned(), value: t.value().to_owned() }).collect())
    }

    /// Sets and removes tags on both of the connector's parameters.
    pub async fn retag(&self, connector: &str, set: &[Tag], unset: &[String]) -> Result<(), HandlerError> {
        for name in [settings_name(connector), token_name(connector)] {
            if !unset.is_empty() {
                self.client
                    .remove_tags_from_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(&name)
                    .set_tag_keys(Some(unset.to_vec()))
                    .send()
                    .await
                    .map_err(|e| failed("RemoveTagsFromResource", e))?;
            }
            if !set.is_empty() {
                self.client
                    .add_tags_to_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(&name)
                    .set_tags(sdk_tags(set)?)
                    .send()
                    .await
                    .map_err(|e| failed("AddTagsToResource", e))?;
            }
        }
        Ok(())
    }

    /// Tags the token parameter like the settings (PutParameter cannot tag an overwrite).
    pub async fn tag_token(&self, connector: &str, tags: &[Tag]) -> Result<(), HandlerError> {
        if tags.is_empty() {
            return Ok(());
        }
        self.client
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(token_name(connector))
            .set_tags(sdk_tags(tags)?)
            .send()
            .await
            .map_err(|e| failed("AddTagsToResource", e))?;
        Ok(())
    }

    /// Deletes every parameter of the connector (settings, token and markers).
    pub async fn delete_all(&self, connector: &str) -> Result<(), HandlerError> {
        let mut names = vec![settings_name(connector), token_name(connector)];
        let mut next_token = None;
        loop {
            let page = self
                .client
                .get_parameters_by_path()
                .path(creates_path(connector))
                .recursive(true)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| failed("GetParametersByPath", e))?;
            names.extend(page.parameters().iter().filter_map(|p| p.name()).map(str::to_owned));
            next_token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        self.delete(names).await
    }

    async fn delete(&self, names: Vec<String>) -> Result<(), HandlerError> {
        for batch in names.chunks(DELETE_BATCH) {
            // Parameters already gone come back as invalid, which is what deleting wants.
            self.client
                .delete_parameters()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| failed("DeleteParameters", e))?;
        }
        Ok(())
    }

    /// One page of connectors: `(name, settings)` pairs and the token of the next page.
    pub async fn list(
        &self,
        next_token: Option<&str>,
        page_size: u32,
    ) -> Result<(Vec<(String, Settings)>, Option<String>), HandlerError> {
        let page = self
            .client
            .get_parameters_by_path()
            .path(ROOT)
            .recursive(true)
            .max_results(i32::try_from(page_size).unwrap_or(1))
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| failed("GetParametersByPath", e))?;
        let mut connectors = Vec::new();
        for parameter in page.parameters() {
            let name = parameter.name().unwrap_or_default();
            let Some(connector) =
                name.strip_prefix(&format!("{ROOT}/")).and_then(|rest| rest.strip_suffix("/settings"))
            else {
                continue;
            };
            connectors.push((connector.to_owned(), parse_settings(connector, parameter.value().unwrap_or_default())?));
        }
        Ok((connectors, page.next_token().filter(|t| !t.is_empty()).map(str::to_owned)))
    }

    /// The marker of `operation` under `connector`.
    pub async fn marker(&self, connector: &str, operation: &str) -> Result<Option<Marker>, HandlerError> {
        let name = format!("{}/{operation}", creates_path(connector));
        let output = match self.client.get_parameter().name(&name).send().await {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_parameter_not_found()) => return Ok(None),
            Err(error) => return Err(failed("GetParameter", error)),
        };
        let value = output.parameter().and_then(|p| p.value()).unwrap_or_default();
        Ok(Marker::parse(value).map(|(_, marker)| marker))
    }

    /// Records that `operation` is about to create `subject`; `false` when its marker already
    /// exists.
    pub async fn mark_pending(&self, connector: &str, operation: &str, subject: &str) -> Result<bool, HandlerError> {
        let put = self
            .client
            .put_parameter()
            .name(format!("{}/{operation}", creates_path(connector)))
            .r#type(ParameterType::String)
            .value(format!("pending {} {subject}", now_seconds()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_parameter_already_exists()) => Ok(false),
            Err(error) => Err(failed("PutParameter", error)),
        }
    }

    /// Forgets the marker of `operation`: it made nothing, and a retry starts afresh.
    pub async fn forget(&self, connector: &str, operation: &str) -> Result<(), HandlerError> {
        self.delete(vec![format!("{}/{operation}", creates_path(connector))]).await
    }

    /// Every operation's marker under `connector`, by operation.
    pub async fn markers(&self, connector: &str) -> Result<Vec<(String, Marker)>, HandlerError> {
        let pages = self.client.get_parameters_by_path().path(creates_path(connector)).into_paginator().send();
        let pages = pages.collect::<Result<Vec<_>, _>>().await.map_err(|e| failed("GetParametersByPath", e))?;
        Ok(pages
            .iter()
            .flat_map(|page| page.parameters())
            .filter_map(|p| {
                let operation = p.name()?.rsplit('/').next()?.to_owned();
                Some((operation, Marker::parse(p.value()?)?.1))
            })
            .collect())
    }

    /// Records what `operation` created, and sweeps expired markers (the first page of them).
    pub async fn mark_created(&self, connector: &str, operation: &str, id: &str) -> Result<(), HandlerError> {
        let value = format!("created {} {id}", now_seconds());
        self.overwrite(&format!("{}/{operation}", creates_path(connector)), &value, ParameterType::String, None)
            .await?;
        let page = self
            .client
            .get_parameters_by_path()
            .path(creates_path(connector))
            .send()
            .await
            .map_err(|e| failed("GetParametersByPath", e))?;
        let expired_before = now_seconds() - MARKER_LIFETIME_SECONDS;
        let expired: Vec<String> = page
            .parameters()
            .iter()
            .filter(|p| p.value().and_then(Marker::parse).is_some_and(|(at, _)| at < expired_before))
            .filter_map(|p| p.name())
            .map(str::to_owned)
            .collect();
        if expired.is_empty() {
            return Ok(());
        }
        self.delete(expired).await
    }

    async fn value(&self, name: &str) -> Result<Option<String>, HandlerError> {
        match self.client.get_parameter().name(name).send().await {
            Ok(output) => Ok(output.parameter().and_then(|p| p.value()).map(str::to_owned)),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_parameter_not_found()) => Ok(None),
            Err(error) => Err(failed("GetParameter", error)),
        }
    }
}

fn parse_settings(connector: &str, value: &str) -> Result<Settings, HandlerError> {
    serde_json::from_str(value).map_err(|e| {
        HandlerError::new(
            HandlerErrorCode::InternalFailure,
            format!(
                "the settings of connector {connector} ({}) are not what this type writes: {e}",
                settings_name(connector)
            ),
        )
    })
}

fn to_json(settings: &Settings) -> Result<String, HandlerError> {
    serde_json::to_string(settings)
        .map_err(|e| HandlerError::internal(format!("cannot encode the connector's settings: {e}")))
}

fn sdk_tags(tags: &[Tag]) -> Result<Option<Vec<aws_sdk_ssm::types::Tag>>, HandlerError> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|t| {
            aws_sdk_ssm::types::Tag::builder()
                .key(&t.key)
                .value(&t.value)
                .build()
                .map_err(|e| HandlerError::internal(format!("cannot build a tag: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Marker;

    #[test]
    fn markers_carry_their_time() {
        assert_eq!(
            Marker::parse("pending 1700000000"),
            Some((1_700_000_000, Marker::Pending { since: 1_700_000_000, subject: None }))
        );
        assert_eq!(
            Marker::parse("pending 1700000000 5f3a"),
            Some((1_700_000_000, Marker::Pending { since: 1_700_000_000, subject: Some("5f3a".into()) }))
        );
        assert_eq!(
            Marker::parse("created 1700000001 2819c223 7f76"),
            Some((1_700_000_001, Marker::Created("2819c223 7f76".into())))
        );
        assert_eq!(Marker::parse("created 1700000001"), None);
        assert_eq!(Marker::parse("pending soon"), None);
    }
}
