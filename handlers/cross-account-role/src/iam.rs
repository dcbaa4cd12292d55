//! The IAM calls of the type, and the model as IAM stores it.
//!
//! # Permissions
//!
//! Each IAM operation needs the action of the same name (the IAM chapter of AWS's Service
//! Authorization Reference), and one needs more, depending on its input. `cargo rpdk test`
//! records every call with the actions [`implied`] adds and checks both directions against the
//! permissions each handler declares in [`crate::model`].
//!
//! | Operation | Actions | Reference |
//! |---|---|---|
//! | `CreateRole` | `iam:CreateRole`, and `iam:TagRole` when `Tags` are given | IAM User Guide, "Permissions required to tag IAM entities": creating a role with tags needs `iam:TagRole` too |
//! | `CreateRole` with `PermissionsBoundary` | `iam:CreateRole` (the boundary is a condition key, `iam:PermissionsBoundary`, not a separate action) | SAR, `CreateRole` |
//! | every other call: `GetRole`, `UpdateRole`, `UpdateAssumeRolePolicy`, `Put`/`DeleteRolePermissionsBoundary`, `Put`/`Get`/`Delete`/`ListRolePolicies`, `Attach`/`Detach`/`ListAttachedRolePolicies`, `Tag`/`Untag`/`ListRoleTags`, `ListRoles`, `DeleteRole` | the action of the same name | SAR: no dependent actions |

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::Client;
use aws_sdk_iam::error::SdkError;
use aws_sdk_iam::types::Role;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::{StreamExt, TryStreamExt};
use rpdk::{Empty, HandlerError, HandlerErrorCode, HandlerResult, ListPage, Partition, Request, Session};
use rpdk_aws::{CallRecorder, RetryWatch};

use crate::MARKER_KEY;
use crate::model::{CrossAccountRole, Policy, Tag};
use crate::trust::{Trust, decode_document};

/// At most this many IAM calls of one read are in flight at once: IAM's control plane
/// throttles an account's bursts.
const CONCURRENT_CALLS: usize = 4;

/// IAM's own modeled codes, as CloudFormation should see them (the shared ones, such as
/// `InvalidInput` and `ServiceFailure`, are in `rpdk_aws`'s common table).
const IAM_CODES: &[(&str, HandlerErrorCode)] = &[
    ("NoSuchEntity", HandlerErrorCode::NotFound),
    ("EntityAlreadyExists", HandlerErrorCode::AlreadyExists),
    ("LimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("MalformedPolicyDocument", HandlerErrorCode::InvalidRequest),
    ("DeleteConflict", HandlerErrorCode::ResourceConflict),
    ("ConcurrentModification", HandlerErrorCode::ResourceConflict),
    ("EntityTemporarilyUnmodifiable", HandlerErrorCode::ResourceConflict),
    ("UnmodifiableEntity", HandlerErrorCode::InvalidRequest),
    ("PolicyNotAttachable", HandlerErrorCode::InvalidRequest),
    ("PackedPolicyTooLarge", HandlerErrorCode::InvalidRequest),
];

fn failed<E>(operation: &str, error: SdkError<E, HttpResponse>) -> HandlerError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    rpdk_aws::classify(&format!("IAM {operation}"), error, IAM_CODES)
}

/// Actions a call implies beyond its own (see the table above): creating a role with tags
/// needs `iam:TagRole`.
fn implied(context: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<&'static str> {
    use aws_sdk_iam::operation::create_role::CreateRoleInput;
    match context.input().downcast_ref::<CreateRoleInput>() {
        Some(input) if !input.tags().is_empty() => vec!["iam:TagRole"],
        _ => Vec::new(),
    }
}

/// What IAM holds for one role.
pub struct Snapshot {
    role: Role,
    inline: Vec<Policy>,
    managed: Vec<String>,
    tags: Vec<Tag>,
}

impl Snapshot {
    /// The model as IAM stores it: its own tags only (neither the type's marker nor the
    /// stack's).
    pub fn to_model(&self) -> CrossAccountRole {
        let mut model = model_of_role(&self.role);
        model.policies = non_empty(self.inline.clone());
        model.managed_policy_arns = non_empty(self.managed.clone());
        let all = self.tags.iter().map(|t| (t.key.as_str(), t.value.as_str()));
        let own = rpdk_aws::tags::own(all, |key| key == MARKER_KEY);
        model.tags = non_empty(
            own.into_iter().map(|(key, value)| Tag { key: key.to_owned(), value: value.to_owned() }).collect(),
        );
        model
    }
}

fn model_of_role(role: &Role) -> CrossAccountRole {
    let trust = role.assume_role_policy_document().and_then(Trust::parse).unwrap_or_default();
    CrossAccountRole {
        role_name: Some(role.role_name().to_owned()),
        path: Some(role.path().to_owned()),
        trusted_account_ids: non_empty(trust.account_ids),
        trusted_principal_arns: non_empty(trust.principal_arns),
        external_id: trust.external_id,
        require_mfa: Some(trust.require_mfa),
        max_session_duration: Some(i64::from(role.max_session_duration().unwrap_or(3600))),
        description: role.description().filter(|d| !d.is_empty()).map(str::to_owned),
        permissions_boundary: role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned),
        managed_policy_arns: None,
        policies: None,
        tags: None,
        arn: Some(role.arn().to_owned()),
        role_id: Some(role.role_id().to_owned()),
    }
}

/// Every tag but the type's ownership marker: what an update reconciles.
fn user_tags(tags: &[Tag]) -> Vec<Tag> {
    tags.iter().filter(|t| t.key != MARKER_KEY).cloned().collect()
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn sdk_tag(key: &str, value: &str) -> Result<aws_sdk_iam::types::Tag, HandlerError> {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| HandlerError::internal(format!("cannot build tag '{key}': {e}")))
}

/// An IAM client for one invocation.
pub struct Iam {
    client: Client,
}

impl Iam {
    /// Connects with the request's caller credentials.
    pub fn connect<M, T>(req: &Request<M, T>) -> Result<Self, HandlerError> {
        let config = rpdk_aws::sdk_config(req.credentials.as_ref(), &req.region)?;
        let config = aws_sdk_iam::config::Builder::from(&config)
            .interceptor(CallRecorder::for_request(req, implied))
            .retry_classifier(RetryWatch::for_request(req))
            .build();
        Ok(Self { client: Client::from_conf(config) })
    }

    /// Creates the role, or adopts it when an earlier attempt of the same operation (same
    /// token, so same marker) made it.
    pub async fn create_role(
        &self,
        model: &CrossAccountRole,
        name: &str,
        marker: &str,
        applied: &[Tag],
        req: &Request<CrossAccountRole, Empty>,
    ) -> Result<(), HandlerError> {
        let trust = trust_of(model);
        let mut tags = vec![sdk_tag(MARKER_KEY, marker)?];
        for tag in applied {
            tags.push(sdk_tag(&tag.key, &tag.value)?);
        }
        let created = self
            .client
            .create_role()
            .role_name(name)
            .path(model.path.as_deref().unwrap_or("/"))
            .assume_role_policy_document(trust.document(req.partition))
            .set_description(model.description.clone())
            .set_max_session_duration(model.max_session_duration.map(session_seconds))
            .set_permissions_boundary(model.permissions_boundary.clone())
            .set_tags(Some(tags))
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error) => {
                let error = failed("CreateRole", error);
                if error.code() != HandlerErrorCode::AlreadyExists {
                    return Err(error);
                }
                let owner = self.tags(name).await?.into_iter().find(|t| t.key == MARKER_KEY).map(|t| t.value);
                if owner.as_deref() == Some(marker) {
                    tracing::info!(role = %name, "adopting the role an earlier attempt of this create made");
                    Ok(())
                } else {
                    Err(HandlerError::already_exists(&req.type_name, name))
                }
            }
        }
    }

    /// Whether the role exists (and is readable yet).
    pub async fn exists(&self, name: &str) -> Result<bool, HandlerError> {
        Ok(self.get_role(name).await?.is_some())
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>, HandlerError> {
        match self.client.get_role().role_name(name).send().await {
            Ok(output) => Ok(output.role),
            Err(error) => {
                let error = failed("GetRole", error);
                if error.code() == HandlerErrorCode::NotFound { Ok(None) } else { Err(error) }
            }
        }
    }

    /// Puts an inline policy (idempotent).
    pub async fn put_policy(&self, name: &str, policy: &Policy) -> Result<(), HandlerError> {
        self.client
            .put_role_policy()
            .role_name(name)
            .policy_name(&policy.policy_name)
            .policy_document(policy.policy_document.to_string())
            .send()
            .await
            .map_err(|e| failed("PutRolePolicy", e))?;
        Ok(())
    }

    /// Attaches a managed policy (idempotent). A policy that does not exist is bad input.
    pub async fn attach(&self, name: &str, arn: &str) -> Result<(), HandlerError> {
        match self.client.attach_role_policy().role_name(name).policy_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(error) => {
                let error = failed("AttachRolePolicy", error);
                if error.code() == HandlerErrorCode::NotFound {
                    Err(HandlerError::invalid_request(format!("ManagedPolicyArns: policy '{arn}' does not exist"))
                        .with_source(error))
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Everything IAM holds for the role; `None` when there is no such role. The role, its
    /// policy names, attached policies and tags are asked for together, then every inline
    /// policy, at most [`CONCURRENT_CALLS`] at a time.
    pub async fn snapshot(&self, name: &str) -> Result<Option<Snapshot>, HandlerError> {
        let (role, inline_names, managed, tags) =
            tokio::join!(self.get_role(name), self.inline_names(name), self.managed_arns(name), self.tags(name));
        // A missing role makes the listings fail too: its absence is the answer.
        let Some(role) = role? else { return Ok(None) };
        let reads: Vec<_> =
            inline_names?.into_iter().map(|policy_name| self.inline_policy(name, policy_name)).collect();
        let inline = futures::stream::iter(reads).buffered(CONCURRENT_CALLS).try_collect().await?;
        Ok(Some(Snapshot { role, inline, managed: managed?, tags: tags? }))
    }

    async fn inline_policy(&self, name: &str, policy_name: String) -> Result<Policy, HandlerError> {
        let output = self
            .client
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy_name)
            .send()
            .await
            .map_err(|e| failed("GetRolePolicy", e))?;
        let document = decode_document(output.policy_document()).ok_or_else(|| {
            HandlerError::new(
                HandlerErrorCode::GeneralServiceException,
                format!("IAM returned an unreadable document for policy '{policy_name}'"),
            )
        })?;
        Ok(Policy { policy_name, policy_document: document })
    }

    async fn inline_names(&self, name: &str) -> Result<Vec<String>, HandlerError> {
        let pages = self.client.list_role_policies().role_name(name).into_paginator().items().send();
        pages.collect::<Result<Vec<_>, _>>().await.map_err(|e| failed("ListRolePolicies", e))
    }

    async fn managed_arns(&self, name: &str) -> Result<Vec<String>, HandlerError> {
        let pages = self.client.list_attached_role_policies().role_name(name).into_paginator().items().send();
        let attached = pages.collect::<Result<Vec<_>, _>>().await.map_err(|e| failed("ListAttachedRolePolicies", e))?;
        Ok(attached.iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect())
    }

    async fn tags(&self, name: &str) -> Result<Vec<Tag>, HandlerError> {
        let pages = self.client.list_role_tags().role_name(name).into_paginator().items().send();
        let tags = pages.collect::<Result<Vec<_>, _>>().await.map_err(|e| failed("ListRoleTags", e))?;
        Ok(tags.iter().map(|t| Tag { key: t.key().to_owned(), value: t.value().to_owned() }).collect())
    }

    /// Brings the role from `current` to `desired`, one memoized step per change.
    pub async fn converge(
        &self,
        current: &Snapshot,
        desired: &CrossAccountRole,
        applied: &[Tag],
        partition: Partition,
        session: &mut Session<Empty>,
    ) -> HandlerResult<()> {
        let name = current.role.role_name();
        let now = current.to_model();

        let wanted_trust = trust_of(desired);
        if !same_trust(&trust_of(&now), &wanted_trust) {
            let document = wanted_trust.document(partition);
            session
                .call("update-trust", || async {
                    self.client
                        .update_assume_role_policy()
                        .role_name(name)
                        .policy_document(&document)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| failed("UpdateAssumeRolePolicy", e))
                })
                .await?;
        }

        let description = desired.description.clone().unwrap_or_default();
        let seconds = desired.max_session_duration.unwrap_or(3600);
        if now.description.clone().unwrap_or_default() != description || now.max_session_duration != Some(seconds) {
            session
                .call("update-role", || async {
                    self.client
                        .update_role()
                        .role_name(name)
                        .description(&description)
                        .max_session_duration(session_seconds(seconds))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| failed("UpdateRole", e))
                })
                .await?;
        }

        if now.permissions_boundary != desired.permissions_boundary {
            match &desired.permissions_boundary {
                Some(arn) => {
                    session
                        .call("put-boundary", || async {
                            self.client
                                .put_role_permissions_boundary()
                                .role_name(name)
                                .permissions_boundary(arn)
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| failed("PutRolePermissionsBoundary", e))
                        })
                        .await?
                }
                None => {
                    session
                        .call("delete-boundary", || async {
                            self.client
                                .delete_role_permissions_boundary()
                                .role_name(name)
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| failed("DeleteRolePermissionsBoundary", e))
                        })
                        .await?
                }
            }
        }

        let current_inline: BTreeMap<&str, &serde_json::Value> =
            current.inline.iter().map(|p| (p.policy_name.as_str(), &p.policy_document)).collect();
        let desired_inline = desired.policies.as_deref().unwrap_or_default();
        for policy in desired_inline {
            if current_inline.get(policy.policy_name.as_str()) != Some(&&policy.policy_document) {
                session.call(&format!("put-policy:{}", policy.policy_name), || self.put_policy(name, policy)).await?;
            }
        }
        let keep: BTreeSet<&str> = desired_inline.iter().map(|p| p.policy_name.as_str()).collect();
        for stale in current_inline.keys().filter(|n| !keep.contains(*n)) {
            session.call(&format!("delete-policy:{stale}"), || self.delete_policy(name, stale)).await?;
        }

        let current_managed: BTreeSet<&str> = current.managed.iter().map(String::as_str).collect();
        let desired_managed: BTreeSet<&str> =
            desired.managed_policy_arns.as_deref().unwrap_or_default().iter().map(String::as_str).collect();
        for arn in desired_managed.difference(&current_managed) {
            session.call(&format!("attach:{arn}"), || self.attach(name, arn)).await?;
        }
        for arn in current_managed.difference(&desired_managed) {
            session.call(&format!("detach:{arn}"), || self.detach(name, arn)).await?;
        }

        self.converge_tags(name, &user_tags(&current.tags), applied, session).await
    }

    async fn converge_tags(
        &self,
        name: &str,
        current: &[Tag],
        desired: &[Tag],
        session: &mut Session<Empty>,
    ) -> HandlerResult<()> {
        let wanted: BTreeMap<&str, &str> = desired.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        let stale: Vec<String> =
            current.iter().filter(|t| !wanted.contains_key(t.key.as_str())).map(|t| t.key.clone()).collect();
        if !stale.is_empty() {
            session
                .call("untag", || async {
                    self.client
                        .untag_role()
                        .role_name(name)
                        .set_tag_keys(Some(stale.clone()))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| failed("UntagRole", e))
                })
                .await?;
        }
        let have: BTreeMap<&str, &str> = current.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        let changed: Vec<&Tag> =
            desired.iter().filter(|t| have.get(t.key.as_str()) != Some(&t.value.as_str())).collect();
        if !changed.is_empty() {
            let tags = changed.iter().map(|t| sdk_tag(&t.key, &t.value)).collect::<Result<Vec<_>, _>>()?;
            session
                .call("tag", || async {
                    self.client
                        .tag_role()
                        .role_name(name)
                        .set_tags(Some(tags.clone()))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| failed("TagRole", e))
                })
                .await?;
        }
        Ok(())
    }

    async fn delete_policy(&self, name: &str, policy_name: &str) -> Result<(), HandlerError> {
        match self.client.delete_role_policy().role_name(name).policy_name(policy_name).send().await {
            Ok(_) => Ok(()),
            Err(error) => ignore_not_found(failed("DeleteRolePolicy", error)),
        }
    }

    async fn detach(&self, name: &str, arn: &str) -> Result<(), HandlerError> {
        match self.client.detach_role_policy().role_name(name).policy_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(error) => ignore_not_found(failed("DetachRolePolicy", error)),
        }
    }

    async fn delete_bare_role(&self, name: &str) -> Result<(), HandlerError> {
        match self.client.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(error) => ignore_not_found(failed("DeleteRole", error)),
        }
    }

    /// Deletes the role and what is attached to it, as memoized steps.
    pub async fn delete_role_in_steps(&self, name: &str, session: &mut Session<Empty>) -> HandlerResult<()> {
        for arn in self.managed_arns(name).await? {
            session.call(&format!("detach:{arn}"), || self.detach(name, &arn)).await?;
        }
        for policy_name in self.inline_names(name).await? {
            session.call(&format!("delete-policy:{policy_name}"), || self.delete_policy(name, &policy_name)).await?;
        }
        session.call("delete-role", || self.delete_bare_role(name)).await
    }

    /// Deletes the role at once: the rollback of a create that failed half-way.
    pub async fn delete_role_fully(&self, name: &str) -> Result<(), HandlerError> {
        for arn in self.managed_arns(name).await? {
            self.detach(name, &arn).await?;
        }
        for policy_name in self.inline_names(name).await? {
            self.delete_policy(name, &policy_name).await?;
        }
        self.delete_bare_role(name).await
    }

    /// One LIST page: the roles of one `ListRoles` page that carry this type's marker.
    pub async fn list_owned(
        &self,
        next_token: Option<&str>,
        page_size: u32,
        owner_prefix: &str,
    ) -> Result<ListPage<CrossAccountRole>, HandlerError> {
        let page = self
            .client
            .list_roles()
            .set_marker(next_token.map(str::to_owned))
            .max_items(i32::try_from(page_size).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| failed("ListRoles", e))?;
        // The futures are made before they are polled: a closure that returns one is not
        // general enough for the Send bound on the handler's future.
        let checks: Vec<_> = page.roles().iter().map(|role| owned_model(self, role, owner_prefix)).collect();
        let owned: Vec<Option<CrossAccountRole>> =
            futures::stream::iter(checks).buffered(CONCURRENT_CALLS).try_collect().await?;
        let models = owned.into_iter().flatten().collect();
        let next_token = page.marker().filter(|_| page.is_truncated()).map(str::to_owned);
        Ok(ListPage { models, next_token })
    }
}

/// The role's model when the type owns it (its marker names `owner_prefix`).
async fn owned_model(iam: &Iam, role: &Role, owner_prefix: &str) -> Result<Option<CrossAccountRole>, HandlerError> {
    match iam.tags(role.role_name()).await {
        Ok(tags) => Ok(tags
            .iter()
            .any(|t| t.key == MARKER_KEY && t.value.starts_with(owner_prefix))
            .then(|| model_of_role(role))),
        // Deleted between the two calls.
        Err(error) if error.code() == HandlerErrorCode::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn trust_of(model: &CrossAccountRole) -> Trust {
    Trust {
        account_ids: model.trusted_account_ids.clone().unwrap_or_default(),
        principal_arns: model.trusted_principal_arns.clone().unwrap_or_default(),
        external_id: model.external_id.clone(),
        require_mfa: model.require_mfa.unwrap_or(false),
    }
}

/// Trust policies are equal when they trust the same principals on the same conditions, in
/// any order.
fn same_trust(a: &Trust, b: &Trust) -> bool {
    let set = |items: &[String]| items.iter().cloned().collect::<BTreeSet<_>>();
    set(&a.account_ids) == set(&b.account_ids)
        && set(&a.principal_arns) == set(&b.principal_arns)
        && a.external_id == b.external_id
        && a.require_mfa == b.require_mfa
}

/// Validation keeps the duration within 3600..=43200, so it fits.
fn session_seconds(seconds: i64) -> i32 {
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

fn ignore_not_found(error: HandlerError) -> Result<(), HandlerError> {
    if error.code() == HandlerErrorCode::NotFound { Ok(()) } else { Err(error) }
}
