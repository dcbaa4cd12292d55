//! `Rpdk::IAM::CrossAccountRole`: the role a SaaS partner assumes into this account, with the
//! confused-deputy guard (`sts:ExternalId`) the onboarding guides call for.
//!
//! Ownership: the type tags every role it creates with `rpdk:created-by` =
//! `<TypeName>/<hash of the client request token>`. The tag lets a retried CREATE (same
//! token) adopt the role its first attempt made while a CREATE of an existing name with another
//! token is `AlreadyExists`, and it lets LIST return exactly the roles of this type. READ hides
//! it, input may not set `rpdk:` keys, UPDATE never removes it, and it counts toward IAM's 50
//! tags (so `Tags` holds at most 49).
//!
//! The stack's tags go on the role too, the role's own winning a key both name; READ reports
//! only the role's own (see `rpdk_aws::tags`), and the total is checked against IAM's limit
//! before anything is made.

mod iam;
pub mod model;
pub mod trust;
pub mod validate;

use std::time::Duration;

use rpdk::{Empty, HandlerError, HandlerResult, Interrupt, ListPage, Request, ResourceHandler, Session, Wait};
use sha2::{Digest, Sha256};

pub use model::{CrossAccountRole, Policy, RoleKey, Tag};

use crate::iam::Iam;

/// The tag that marks a role as created by this type.
pub const MARKER_KEY: &str = "rpdk:created-by";

/// The most tags IAM lets a role carry.
const IAM_TAG_LIMIT: usize = 50;

/// Roles looked at per LIST page: each costs one `ListRoleTags` call.
const LIST_PAGE_SIZE: u32 = 20;

/// How long a new role may take to become readable (IAM is eventually consistent).
const READABLE: Wait = Wait::new(Duration::from_secs(1), Duration::from_secs(120));

/// The handlers of `Rpdk::IAM::CrossAccountRole`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossAccountRoleType;

impl ResourceHandler for CrossAccountRoleType {
    type Model = CrossAccountRole;
    type Identifier = RoleKey;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> rpdk::Metadata {
        model::metadata()
    }

    async fn create(
        &self,
        req: &Request<CrossAccountRole, Empty>,
        session: &mut Session<Empty>,
    ) -> HandlerResult<CrossAccountRole> {
        validate::desired(&req.model, req.partition)?;
        let mut model = req.model.clone();
        let name = model
            .role_name
            .clone()
            .unwrap_or_else(|| generated_name(req.logical_resource_id.as_deref(), &req.client_request_token));
        model.role_name = Some(name.clone());
        let applied = applied_tags(req)?;
        let iam = Iam::connect(req)?;
        let marker = marker_value(&req.type_name, &req.client_request_token);

        session.call("create-role", || iam.create_role(&model, &name, &marker, &applied, req)).await?;
        session.checkpoint(&model)?;
        match configure_new_role(&iam, &model, &name, session).await {
            Err(Interrupt::Failed(error)) => {
                // The role is ours (created or adopted under this operation's token): leave nothing behind.
                if let Err(cleanup) = iam.delete_role_fully(&name).await {
                    tracing::error!(role = %name, error = %cleanup, "rollback of a failed create left the role behind");
                }
                Err(error.into())
            }
            other => other,
        }?;
        read_model(&iam, &name, &req.type_name).await.map_err(Into::into)
    }

    async fn read(&self, req: &Request<RoleKey, Empty>) -> Result<CrossAccountRole, HandlerError> {
        let iam = Iam::connect(req)?;
        read_model(&iam, &req.model.role_name, &req.type_name).await
    }

    async fn update(
        &self,
        req: &Request<CrossAccountRole, Empty>,
        session: &mut Session<Empty>,
    ) -> HandlerResult<CrossAccountRole> {
        let desired = &req.model;
        validate::desired(desired, req.partition)?;
        let applied = applied_tags(req)?;
        let name = desired.role_name.clone().unwrap_or_default();
        let iam = Iam::connect(req)?;
        let current = iam.snapshot(&name).await?.ok_or_else(|| HandlerError::not_found(&req.type_name, &name))?;
        session.checkpoint(desired)?;
        iam.converge(&current, desired, &applied, req.partition, session).await?;
        read_model(&iam, &name, &req.type_name).await.map_err(Into::into)
    }

    async fn delete(&self, req: &Request<RoleKey, Empty>, session: &mut Session<Empty>) -> HandlerResult<()> {
        let name = &req.model.role_name;
        let iam = Iam::connect(req)?;
        if !iam.exists(name).await? {
            return Err(HandlerError::not_found(&req.type_name, name).into());
        }
        session.checkpoint(&req.model)?;
        iam.delete_role_in_steps(name, session).await
    }

    async fn list(&self, req: &Request<Empty, Empty>) -> Result<ListPage<CrossAccountRole>, HandlerError> {
        let iam = Iam::connect(req)?;
        let owner = format!("{}/", req.type_name);
        iam.list_owned(req.next_token.as_deref(), req.page_size(LIST_PAGE_SIZE), &owner).await
    }
}

async fn configure_new_role(
    iam: &Iam,
    model: &CrossAccountRole,
    name: &str,
    session: &mut Session<Empty>,
) -> HandlerResult<()> {
    session.stabilize("role-readable", READABLE, || iam.exists(name)).await?;
    for policy in model.policies.as_deref().unwrap_or_default() {
        session.call(&format!("put-policy:{}", policy.policy_name), || iam.put_policy(name, policy)).await?;
    }
    for arn in model.managed_policy_arns.as_deref().unwrap_or_default() {
        session.call(&format!("attach:{arn}"), || iam.attach(name, arn)).await?;
    }
    Ok(())
}

async fn read_model(iam: &Iam, name: &str, type_name: &str) -> Result<CrossAccountRole, HandlerError> {
    let snapshot = iam.snapshot(name).await?.ok_or_else(|| HandlerError::not_found(type_name, name))?;
    Ok(snapshot.to_model())
}

/// The tags the role carries: the stack's and its own (see [`rpdk_aws::tags`]), beside the
/// ownership marker.
fn applied_tags(req: &Request<CrossAccountRole, Empty>) -> Result<Vec<Tag>, HandlerError> {
    let own = req.model.tags.iter().flatten().map(|t| t.key.as_str());
    let tags = rpdk_aws::tags::applied(req, own, IAM_TAG_LIMIT, 1, "IAM")?;
    Ok(tags.into_iter().map(|(key, value)| Tag { key, value }).collect())
}

/// The value of the ownership tag for a role created under `token`.
pub fn marker_value(type_name: &str, token: &str) -> String {
    format!("{type_name}/{}", short_hash(token, 32))
}

/// A name for a role whose template gives none: the logical id (IAM's characters only) and a
/// hash of the client request token, so a retried create computes the same name.
pub fn generated_name(logical_id: Option<&str>, token: &str) -> String {
    let stem: String = logical_id
        .unwrap_or("CrossAccountRole")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(43)
        .collect();
    let stem = if stem.is_empty() { "CrossAccountRole".to_owned() } else { stem };
    format!("{stem}-{}", short_hash(token, 12))
}

fn short_hash(text: &str, length: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    hex[..length.min(hex.len())].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_deterministic_valid_and_token_bound() {
        let first = generated_name(Some("PartnerRole"), "token-1");
        assert_eq!(first, generated_name(Some("PartnerRole"), "token-1"));
        assert_ne!(first, generated_name(Some("PartnerRole"), "token-2"));
        assert!(first.starts_with("PartnerRole-") && first.len() == "PartnerRole-".len() + 12, "{first}");
        let long = generated_name(Some(&"Ab#".repeat(60)), "t");
        assert!(long.len() <= 64 && long.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{long}");
        assert!(generated_name(None, "t").starts_with("CrossAccountRole-"));
        assert!(generated_name(Some("###"), "t").starts_with("CrossAccountRole-"));
    }

    #[test]
    fn marker_names_the_type_and_hides_the_token() {
        let value = marker_value("Rpdk::IAM::CrossAccountRole", "secret-token");
        assert!(value.starts_with("Rpdk::IAM::CrossAccountRole/"));
        assert!(!value.contains("secret-token"));
        assert!(value.len() <= 256);
    }
}
