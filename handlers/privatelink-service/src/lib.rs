//! `Rpdk::EC2::PrivateLinkService`: a PrivateLink endpoint service, its allowed principals and
//! its connection notifications as one resource, refused before anything is created when its
//! shape breaks the account's governance rules (the type configuration, [`Governance`]).
//!
//! Ownership: the type tags every service it creates with `rpdk:created-by` = the type name;
//! LIST filters on it, READ hides it, input may not set `rpdk:` keys and UPDATE never removes
//! it. A retried CREATE returns the service its first attempt made: the client request token is
//! EC2's `ClientToken`.
//!
//! DELETE answers `ResourceConflict`, naming the endpoints, while consumers' endpoint
//! connections are pending or available: AWS refuses to delete such a service, and rejecting
//! or deleting other accounts' endpoints is not this type's decision.

mod ec2;
pub mod model;
pub mod validate;

use std::collections::BTreeSet;
use std::time::Duration;

use rpdk::{
    Empty, HandlerError, HandlerErrorCode, HandlerResult, Interrupt, ListPage, Request, ResourceHandler, Session, Wait,
};
use sha2::{Digest, Sha256};

pub use model::{
    ConnectionEvent, ConnectionNotification, Governance, IpAddressType, LoadBalancerType, PrivateLinkService,
    ServiceKey, Tag,
};

use crate::ec2::{ConfigurationChanges, Ec2, notification_diff};

/// The tag that marks a service as created by this type.
pub const MARKER_KEY: &str = "rpdk:created-by";

/// The most tags EC2 lets a resource carry.
const EC2_TAG_LIMIT: usize = 50;

/// Services looked at per LIST page: each costs two more describe calls.
const LIST_PAGE_SIZE: u32 = 10;

/// How long a new service may stay `Pending`.
const AVAILABLE: Wait = Wait::new(Duration::from_secs(5), Duration::from_secs(25 * 60));

/// How long a deleted service may take to disappear.
const GONE: Wait = Wait::new(Duration::from_secs(5), Duration::from_secs(25 * 60));

/// The handlers of `Rpdk::EC2::PrivateLinkService`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrivateLinkServiceType;

type Req<M> = Request<M, Governance>;

impl ResourceHandler for PrivateLinkServiceType {
    type Model = PrivateLinkService;
    type Identifier = ServiceKey;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = Governance;

    fn metadata() -> rpdk::Metadata {
        model::metadata()
    }

    async fn create(
        &self,
        req: &Req<PrivateLinkService>,
        session: &mut Session<Empty>,
    ) -> HandlerResult<PrivateLinkService> {
        validate::desired(&req.model, &req.type_configuration, req.partition)?;
        let applied = applied_tags(req)?;
        let ec2 = Ec2::connect(req)?;
        let (service_id, service_name): (String, Option<String>) = session
            .call("create-service", || {
                ec2.create_service(&req.model, &applied, &req.type_name, &req.client_request_token)
            })
            .await?;
        let mut model = req.model.clone();
        model.service_id = Some(service_id.clone());
        model.service_name = service_name;
        session.checkpoint(&model)?;
        match configure_new_service(&ec2, &service_id, req, session).await {
            Err(Interrupt::Failed(error)) => {
                // The service is this operation's own (same token): leave nothing behind.
                if let Err(cleanup) = remove_service(&ec2, &service_id).await {
                    tracing::error!(service = %service_id, error = %cleanup, "rollback of a failed create left the service behind");
                }
                Err(error.into())
            }
            other => other,
        }?;
        read_model(&ec2, &service_id, &req.type_name).await.map_err(Into::into)
    }

    async fn read(&self, req: &Req<ServiceKey>) -> Result<PrivateLinkService, HandlerError> {
        let ec2 = Ec2::connect(req)?;
        read_model(&ec2, &req.model.service_id, &req.type_name).await
    }

    async fn update(
        &self,
        req: &Req<PrivateLinkService>,
        session: &mut Session<Empty>,
    ) -> HandlerResult<PrivateLinkService> {
        let desired = &req.model;
        validate::desired(desired, &req.type_configuration, req.partition)?;
        let applied = applied_tags(req)?;
        let service_id = desired.service_id.clone().unwrap_or_default();
        let ec2 = Ec2::connect(req)?;
        let current =
            ec2.snapshot(&service_id).await?.ok_or_else(|| HandlerError::not_found(&req.type_name, &service_id))?;
        session.checkpoint(desired)?;
        let now = current.to_model();

        let kind = desired.load_balancer_type.unwrap_or_default();
        // The service's own kind, not the previous model's: a model that named none means the
        // default, which the service may not have.
        if now.load_balancer_type.is_some_and(|serving| serving != kind) {
            return Err(HandlerError::new(HandlerErrorCode::NotUpdatable, "LoadBalancerType: the service serves another kind of load balancer; a new kind needs a new service, which CloudFormation makes when the template changes it").into());
        }
        session
            .call("modify-configuration", || {
                ec2.modify_service(&service_id, kind, configuration_changes(&now, desired))
            })
            .await?;

        let (add, remove) = set_diff(now.allowed_principals.as_deref(), desired.allowed_principals.as_deref());
        session.call("modify-permissions", || ec2.set_principals(&service_id, add.clone(), remove.clone())).await?;

        let wanted = desired.connection_notifications.as_deref().unwrap_or_default();
        let (create, modify, delete) = notification_diff(current.notifications(), wanted);
        for notification in &create {
            let token = child_token(&req.client_request_token, &notification.sns_topic_arn);
            session
                .call(&format!("notify:{}", notification.sns_topic_arn), || {
                    ec2.create_notification(&service_id, notification, &token)
                })
                .await?;
        }
        for (id, notification) in &modify {
            session.call(&format!("renotify:{id}"), || ec2.modify_notification(id, notification)).await?;
        }
        session.call("unnotify", || ec2.delete_notifications(delete.clone())).await?;

        let current_tags = current.tags_but_ownership();
        let desired_tags = applied;
        let set: Vec<Tag> = desired_tags.iter().filter(|t| !current_tags.contains(t)).cloned().collect();
        let unset: Vec<String> = current_tags
            .iter()
            .filter(|t| !desired_tags.iter().any(|d| d.key == t.key))
            .map(|t| t.key.clone())
            .collect();
        session.call("untag", || ec2.untag(&service_id, &unset)).await?;
        session.call("tag", || ec2.tag(&service_id, &set)).await?;

        read_model(&ec2, &service_id, &req.type_name).await.map_err(Into::into)
    }

    async fn delete(&self, req: &Req<ServiceKey>, session: &mut Session<Empty>) -> HandlerResult<()> {
        let service_id = &req.model.service_id;
        let ec2 = Ec2::connect(req)?;
        if ec2.describe(service_id).await?.is_none() {
            return Err(HandlerError::not_found(&req.type_name, service_id).into());
        }
        let live = ec2.live_connections(service_id).await?;
        if !live.is_empty() {
            return Err(HandlerError::new(
                HandlerErrorCode::ResourceConflict,
                format!(
                    "endpoint service {service_id} still has endpoint connections ({}); AWS deletes a service only without them: reject or delete those endpoints, then delete again",
                    live.join(", ")
                ),
            )
            .into());
        }
        session.checkpoint(&req.model)?;
        session.call("delete-service", || remove_service(&ec2, service_id)).await?;
        session.stabilize("gone", GONE, || async { Ok(ec2.describe(service_id).await?.is_none()) }).await
    }

    async fn list(&self, req: &Req<Empty>) -> Result<ListPage<PrivateLinkService>, HandlerError> {
        let ec2 = Ec2::connect(req)?;
        ec2.list_owned(&req.type_name, req.next_token.as_deref(), req.page_size(LIST_PAGE_SIZE)).await
    }
}

/// The tags the service carries: the stack's and its own (see [`rpdk_aws::tags`]), beside the
/// ownership marker.
fn applied_tags(req: &Req<PrivateLinkService>) -> Result<Vec<Tag>, HandlerError> {
    let own = req.model.tags.iter().flatten().map(|t| t.key.as_str());
    let tags = rpdk_aws::tags::applied(req, own, EC2_TAG_LIMIT, 1, "EC2")?;
    Ok(tags.into_iter().map(|(key, value)| Tag { key, value }).collect())
}

/// Permissions, notifications, then the wait until the service is available.
async fn configure_new_service(
    ec2: &Ec2,
    service_id: &str,
    req: &Req<PrivateLinkService>,
    session: &mut Session<Empty>,
) -> HandlerResult<()> {
    let principals = req.model.allowed_principals.clone().unwrap_or_default();
    session.call("permissions", || ec2.set_principals(service_id, principals.clone(), Vec::new())).await?;
    for notification in req.model.connection_notifications.as_deref().unwrap_or_default() {
        let token = child_token(&req.client_request_token, &notification.sns_topic_arn);
        session
            .call(&format!("notify:{}", notification.sns_topic_arn), || {
                ec2.create_notification(service_id, notification, &token)
            })
            .await?;
    }
    session.stabilize("available", AVAILABLE, || ec2.available(service_id, &req.type_name)).await
}

/// Deletes the service's notifications, then the service. It reads nothing but the
/// notifications, so a rollback works even when the failure was a refused describe.
async fn remove_service(ec2: &Ec2, service_id: &str) -> Result<(), HandlerError> {
    let notifications = ec2.notifications(service_id).await?;
    ec2.delete_notifications(notifications.into_iter().map(|(id, _)| id).collect()).await?;
    ec2.delete_service(service_id).await
}

async fn read_model(ec2: &Ec2, service_id: &str, type_name: &str) -> Result<PrivateLinkService, HandlerError> {
    let snapshot = ec2.snapshot(service_id).await?.ok_or_else(|| HandlerError::not_found(type_name, service_id))?;
    Ok(snapshot.to_model())
}

/// What differs between the service as it is and as desired, in its configuration proper.
fn configuration_changes(now: &PrivateLinkService, desired: &PrivateLinkService) -> ConfigurationChanges {
    let acceptance = desired.acceptance_required.unwrap_or(true);
    let (add_load_balancers, remove_load_balancers) =
        set_diff(Some(&now.load_balancer_arns), Some(&desired.load_balancer_arns));
    let names = |types: Option<&[IpAddressType]>| -> Vec<String> {
        types.map_or_else(|| vec!["ipv4".to_owned()], |t| t.iter().map(|t| t.as_str().to_owned()).collect())
    };
    let (add_ip_types, remove_ip_types) = set_diff(
        Some(&names(now.supported_ip_address_types.as_deref())),
        Some(&names(desired.supported_ip_address_types.as_deref())),
    );
    ConfigurationChanges {
        acceptance_required: (now.acceptance_required != Some(acceptance)).then_some(acceptance),
        private_dns_name: desired.private_dns_name.clone().filter(|name| now.private_dns_name.as_ref() != Some(name)),
        remove_private_dns_name: desired.private_dns_name.is_none() && now.private_dns_name.is_some(),
        add_load_balancers,
        remove_load_balancers,
        add_ip_types,
        remove_ip_types,
    }
}

/// The items to add to and remove from `now` to reach `desired`, as sets.
fn set_diff(now: Option<&[String]>, desired: Option<&[String]>) -> (Vec<String>, Vec<String>) {
    let now: BTreeSet<&String> = now.unwrap_or_default().iter().collect();
    let desired: BTreeSet<&String> = desired.unwrap_or_default().iter().collect();
    (desired.difference(&now).map(|s| (*s).clone()).collect(), now.difference(&desired).map(|s| (*s).clone()).collect())
}

/// An idempotency token for one sub-resource of an operation: stable across retries of the
/// operation, distinct per topic, within EC2's 64 characters.
fn child_token(token: &str, part: &str) -> String {
    let digest = Sha256::digest(format!("{token}\n{part}").as_bytes());
    digest.iter().take(24).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_tokens_are_stable_distinct_and_short() {
        assert_eq!(child_token("t", "a"), child_token("t", "a"));
        assert_ne!(child_token("t", "a"), child_token("t", "b"));
        assert_ne!(child_token("t", "a"), child_token("u", "a"));
        assert!(child_token("t", "a").len() <= 64);
    }

    #[test]
    fn configuration_changes_cover_each_mutable_setting() {
        let now = PrivateLinkService {
            load_balancer_arns: vec!["a".into(), "b".into()],
            acceptance_required: Some(true),
            private_dns_name: Some("old.example.com".into()),
            supported_ip_address_types: Some(vec![IpAddressType::Ipv4]),
            ..PrivateLinkService::default()
        };
        let same = PrivateLinkService { load_balancer_arns: vec!["b".into(), "a".into()], ..now.clone() };
        assert!(configuration_changes(&now, &same).is_empty(), "order and defaults change nothing");

        let desired = PrivateLinkService {
            load_balancer_arns: vec!["b".into(), "c".into()],
            acceptance_required: Some(false),
            private_dns_name: None,
            supported_ip_address_types: Some(vec![IpAddressType::Ipv4, IpAddressType::Ipv6]),
            ..PrivateLinkService::default()
        };
        let changes = configuration_changes(&now, &desired);
        assert_eq!(changes.acceptance_required, Some(false));
        assert!(changes.remove_private_dns_name && changes.private_dns_name.is_none());
        assert_eq!(
            (changes.add_load_balancers, changes.remove_load_balancers),
            (vec!["c".to_owned()], vec!["a".to_owned()])
        );
        assert_eq!((changes.add_ip_types, changes.remove_ip_types), (vec!["ipv6".to_owned()], vec![]));

        let renamed = PrivateLinkService { private_dns_name: Some("new.example.com".into()), ..now.clone() };
        assert_eq!(configuration_changes(&now, &renamed).private_dns_name.as_deref(), Some("new.example.com"));
    }
}
