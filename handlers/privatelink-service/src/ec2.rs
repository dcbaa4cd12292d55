//! The EC2 calls of the type, and the model as EC2 stores it.
//!
//! # Permissions
//!
//! Each EC2 operation needs the action of the same name (the EC2 chapter of AWS's Service
//! Authorization Reference), and one needs more, depending on its input. `cargo rpdk test`
//! records every call with the actions [`implied`] adds and checks both directions against the
//! permissions each handler declares in [`crate::model`].
//!
//! | Operation | Actions | Reference |
//! |---|---|---|
//! | `CreateVpcEndpointServiceConfiguration` with `TagSpecifications` | `ec2:CreateVpcEndpointServiceConfiguration`, `ec2:CreateTags` | EC2 User Guide, "Grant permission to tag resources during creation": tagging on create needs `ec2:CreateTags` |
//! | every other call: `Describe`/`ModifyVpcEndpointServiceConfiguration(s)`, `Describe`/`ModifyVpcEndpointServicePermissions`, `Create`/`Describe`/`Modify`/`DeleteVpcEndpointConnectionNotification(s)`, `DescribeVpcEndpointConnections`, `DeleteVpcEndpointServiceConfigurations`, `CreateTags`, `DeleteTags` | the action of the same name | SAR: no dependent actions |

use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::types::{Filter, ResourceType, ServiceConfiguration, ServiceState, TagSpecification};
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rpdk::{HandlerError, HandlerErrorCode, ListPage, Request};
use rpdk_aws::{CallRecorder, RetryWatch};

use crate::MARKER_KEY;
use crate::model::{
    ConnectionEvent, ConnectionNotification, IpAddressType, LoadBalancerType, PrivateDnsNameConfiguration,
    PrivateLinkService, Tag,
};

/// EC2's own modeled codes, as CloudFormation should see them (the shared ones are in
/// `rpdk_aws`'s common table).
const EC2_CODES: &[(&str, HandlerErrorCode)] = &[
    ("InvalidVpcEndpointServiceId.NotFound", HandlerErrorCode::NotFound),
    ("InvalidVpcEndpointService.NotFound", HandlerErrorCode::NotFound),
    ("InvalidVpcEndpointServiceId.Malformed", HandlerErrorCode::NotFound),
    ("InvalidConnectionNotification", HandlerErrorCode::NotFound),
    ("InvalidParameter", HandlerErrorCode::InvalidRequest),
    ("LoadBalancerNotFound", HandlerErrorCode::InvalidRequest),
    ("InvalidLoadBalancerArn", HandlerErrorCode::InvalidRequest),
    ("VpcEndpointServiceLimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("ResourceLimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("TagLimitExceeded", HandlerErrorCode::ServiceLimitExceeded),
    ("IncorrectState", HandlerErrorCode::ResourceConflict),
    ("DependencyViolation", HandlerErrorCode::ResourceConflict),
];

fn failed<E>(operation: &str, error: SdkError<E, HttpResponse>) -> HandlerError
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let error = rpdk_aws::classify(&format!("EC2 {operation}"), error, EC2_CODES);
    match error.code() {
        // The only input these calls take that EC2 can find missing is a load balancer.
        HandlerErrorCode::InvalidRequest
            if operation.contains("ServiceConfiguration") && error.message().contains("oadBalancer") =>
        {
            HandlerError::invalid_request(format!("LoadBalancerArns: {}", error.message()))
        }
        _ => error,
    }
}

/// Actions a call implies beyond its own (see the table above): creating a service with tags
/// needs `ec2:CreateTags`.
fn implied(context: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<&'static str> {
    use aws_sdk_ec2::operation::create_vpc_endpoint_service_configuration::CreateVpcEndpointServiceConfigurationInput;
    match context.input().downcast_ref::<CreateVpcEndpointServiceConfigurationInput>() {
        Some(input) if input.tag_specifications().iter().any(|spec| !spec.tags().is_empty()) => vec!["ec2:CreateTags"],
        _ => Vec::new(),
    }
}

/// What EC2 holds for one service.
pub struct Snapshot {
    config: ServiceConfiguration,
    principals: Vec<String>,
    notifications: Vec<(String, ConnectionNotification)>,
}

impl Snapshot {
    /// The connection notifications, by their EC2 id.
    pub fn notifications(&self) -> &[(String, ConnectionNotification)] {
        &self.notifications
    }

    /// Every tag of the service but the ownership marker: what an update reconciles.
    pub fn tags_but_ownership(&self) -> Vec<Tag> {
        self.config
            .tags()
            .iter()
            .filter_map(|t| Some(Tag { key: t.key()?.to_owned(), value: t.value().unwrap_or_default().to_owned() }))
            .filter(|t| t.key != MARKER_KEY)
            .collect()
    }

    /// The model as EC2 stores it: its own tags only (neither the type's marker nor the
    /// stack's).
    pub fn to_model(&self) -> PrivateLinkService {
        let config = &self.config;
        let gateway = config.gateway_load_balancer_arns();
        let (kind, arns) = if gateway.is_empty() {
            (LoadBalancerType::Network, config.network_load_balancer_arns())
        } else {
            (LoadBalancerType::Gateway, gateway)
        };
        let ip_types: Vec<IpAddressType> = config
            .supported_ip_address_types()
            .iter()
            .filter_map(|t| match t.as_str() {
                "ipv4" => Some(IpAddressType::Ipv4),
                "ipv6" => Some(IpAddressType::Ipv6),
                _ => None,
            })
            .collect();
        let all = config.tags().iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
        let tags: Vec<Tag> = rpdk_aws::tags::own(all, |key| key == MARKER_KEY)
            .into_iter()
            .map(|(key, value)| Tag { key: key.to_owned(), value: value.to_owned() })
            .collect();
        let mut notifications: Vec<ConnectionNotification> =
            self.notifications.iter().map(|(_, n)| n.clone()).collect();
        notifications.sort_by(|a, b| a.sns_topic_arn.cmp(&b.sns_topic_arn));
        PrivateLinkService {
            load_balancer_type: Some(kind),
            load_balancer_arns: arns.to_vec(),
            acceptance_required: config.acceptance_required(),
            allowed_principals: non_empty(self.principals.clone()),
            connection_notifications: non_empty(notifications),
            private_dns_name: config.private_dns_name().filter(|n| !n.is_empty()).map(str::to_owned),
            supported_ip_address_types: non_empty(ip_types),
            tags: non_empty(tags),
            service_id: config.service_id().map(str::to_owned),
            service_name: config.service_name().map(str::to_owned),
            service_state: config.service_state().map(|s| s.as_str().to_owned()),
            base_endpoint_dns_names: non_empty(config.base_endpoint_dns_names().to_vec()),
            private_dns_name_configuration: config.private_dns_name_configuration().map(|dns| {
                PrivateDnsNameConfiguration {
                    r#type: dns.r#type().map(str::to_owned),
                    name: dns.name().map(str::to_owned),
                    value: dns.value().map(str::to_owned),
                    state: dns.state().map(|s| s.as_str().to_owned()),
                }
            }),
        }
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn sdk_tag(key: &str, value: &str) -> aws_sdk_ec2::types::Tag {
    aws_sdk_ec2::types::Tag::builder().key(key).value(value).build()
}

fn service_filter(service_id: &str) -> Filter {
    Filter::builder().name("service-id").values(service_id).build()
}

/// What an UPDATE changes in the service configuration itself.
#[derive(Default)]
pub struct ConfigurationChanges {
    pub acceptance_required: Option<bool>,
    pub private_dns_name: Option<String>,
    pub remove_private_dns_name: bool,
    pub add_load_balancers: Vec<String>,
    pub remove_load_balancers: Vec<String>,
    pub add_ip_types: Vec<String>,
    pub remove_ip_types: Vec<String>,
}

impl ConfigurationChanges {
    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.acceptance_required.is_none()
            && self.private_dns_name.is_none()
            && !self.remove_private_dns_name
            && self.add_load_balancers.is_empty()
            && self.remove_load_balancers.is_empty()
            && self.add_ip_types.is_empty()
            && self.remove_ip_types.is_empty()
    }
}

/// An EC2 client for one invocation.
pub struct Ec2 {
    client: Client,
}

impl Ec2 {
    /// Connects with the request's caller credentials.
    pub fn connect<M, T>(req: &Request<M, T>) -> Result<Self, HandlerError> {
        let config = rpdk_aws::sdk_config(req.credentials.as_ref(), &req.region)?;
        let config = aws_sdk_ec2::config::Builder::from(&config)
            .interceptor(CallRecorder::for_request(req, implied))
            .retry_classifier(RetryWatch::for_request(req))
            .build();
        Ok(Self { client: Client::from_conf(config) })
    }

    /// Creates the service with its tags; the client request token makes a retried create
    /// return the service its first attempt made.
    /// Creates the service; answers its id and name, both known at once, so the checkpoint of
    /// a create still waiting for the service can give them to what depends on it.
    pub async fn create_service(
        &self,
        model: &PrivateLinkService,
        applied: &[Tag],
        marker: &str,
        token: &str,
    ) -> Result<(String, Option<String>), HandlerError> {
        let mut tags = vec![sdk_tag(MARKER_KEY, marker)];
        tags.extend(applied.iter().map(|t| sdk_tag(&t.key, &t.value)));
        let arns = Some(model.load_balancer_arns.clone());
        let (network, gateway) = match model.load_balancer_type.unwrap_or_default() {
            LoadBalancerType::Network => (arns, None),
            LoadBalancerType::Gateway => (None, arns),
        };
        let ip_types = model
            .supported_ip_address_types
            .as_ref()
            .map(|types| types.iter().map(|t| t.as_str().to_owned()).collect());
        let output = self
            .client
            .create_vpc_endpoint_service_configuration()
            .acceptance_required(model.acceptance_required.unwrap_or(true))
            .set_network_load_balancer_arns(network)
            .set_gateway_load_balancer_arns(gateway)
            .set_private_dns_name(model.private_dns_name.clone())
            .set_supported_ip_address_types(ip_types)
            .client_token(token)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::VpcEndpointService)
                    .set_tags(Some(tags))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failed("CreateVpcEndpointServiceConfiguration", e))?;
        let created = output.service_configuration();
        let service_id = created.and_then(|c| c.service_id()).map(str::to_owned).ok_or_else(|| {
            HandlerError::internal("EC2 CreateVpcEndpointServiceConfiguration answered without a service id")
        })?;
        Ok((service_id, created.and_then(|c| c.service_name()).map(str::to_owned)))
    }

    /// The service's configuration; `None` when it is missing, deleting or deleted.
    pub async fn describe(&self, service_id: &str) -> Result<Option<ServiceConfiguration>, HandlerError> {
        let described = self.client.describe_vpc_endpoint_service_configurations().service_ids(service_id).send().await;
        let output = match described {
            Ok(output) => output,
            Err(error) => {
                let error = failed("DescribeVpcEndpointServiceConfigurations", error);
                return if error.code() == HandlerErrorCode::NotFound { Ok(None) } else { Err(error) };
            }
        };
        Ok(output
            .service_configurations()
            .iter()
            .find(|c| c.service_id() == Some(service_id))
            .filter(|c| !matches!(c.service_state(), Some(ServiceState::Deleting | ServiceState::Deleted)))
            .cloned())
    }

    /// Everything EC2 holds for the service, or `None` when it is gone.
    pub async fn snapshot(&self, service_id: &str) -> Result<Option<Snapshot>, HandlerError> {
        let Some(config) = self.describe(service_id).await? else { return Ok(None) };
        self.snapshot_of(config).await.map(Some)
    }

    async fn snapshot_of(&self, config: ServiceConfiguration) -> Result<Snapshot, HandlerError> {
        let service_id = config.service_id().unwrap_or_default().to_owned();
        // Independent reads of one service: asked together.
        let (principals, notifications) =
            tokio::try_join!(self.principals(&service_id), self.notifications(&service_id))?;
        Ok(Snapshot { config, principals, notifications })
    }

    async fn principals(&self, service_id: &str) -> Result<Vec<String>, HandlerError> {
        let pages = self
            .client
            .describe_vpc_endpoint_service_permissions()
            .service_id(service_id)
            .into_paginator()
            .items()
            .send();
        let allowed = pages
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| failed("DescribeVpcEndpointServicePermissions", e))?;
        let mut principals: Vec<String> = allowed.iter().filter_map(|p| p.principal().map(str::to_owned)).collect();
        principals.sort();
        Ok(principals)
    }

    /// The service's connection notifications, by their EC2 id.
    pub async fn notifications(&self, service_id: &str) -> Result<Vec<(String, ConnectionNotification)>, HandlerError> {
        let pages = self
            .client
            .describe_vpc_endpoint_connection_notifications()
            .filters(service_filter(service_id))
            .into_paginator()
            .items()
            .send();
        let found = pages
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| failed("DescribeVpcEndpointConnectionNotifications", e))?;
        Ok(found
            .iter()
            .filter_map(|n| {
                let mut events: Vec<ConnectionEvent> =
                    n.connection_events().iter().filter_map(|e| event_of(e)).collect();
                events.sort();
                let notification =
                    ConnectionNotification { sns_topic_arn: n.connection_notification_arn()?.to_owned(), events };
                Some((n.connection_notification_id()?.to_owned(), notification))
            })
            .collect())
    }

    /// Whether the service is ready: `Available` is, `Pending` is not yet, `Failed` never will be.
    pub async fn available(&self, service_id: &str, type_name: &str) -> Result<bool, HandlerError> {
        let config = self.describe(service_id).await?.ok_or_else(|| HandlerError::not_found(type_name, service_id))?;
        match config.service_state() {
            Some(ServiceState::Available) => Ok(true),
            Some(ServiceState::Failed) => Err(HandlerError::new(
                HandlerErrorCode::NotStabilized,
                format!("endpoint service {service_id} failed to become available; check its load balancers"),
            )),
            _ => Ok(false),
        }
    }

    /// Adds and removes allowed principals.
    pub async fn set_principals(
        &self,
        service_id: &str,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> Result<(), HandlerError> {
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        self.client
            .modify_vpc_endpoint_service_permissions()
            .service_id(service_id)
            .set_add_allowed_principals(non_empty(add))
            .set_remove_allowed_principals(non_empty(remove))
            .send()
            .await
            .map_err(|e| failed("ModifyVpcEndpointServicePermissions", e))?;
        Ok(())
    }

    /// Creates a connection notification; `token` makes a retry return the same one.
    pub async fn create_notification(
        &self,
        service_id: &str,
        notification: &ConnectionNotification,
        token: &str,
    ) -> Result<String, HandlerError> {
        let output = self
            .client
            .create_vpc_endpoint_connection_notification()
            .service_id(service_id)
            .connection_notification_arn(&notification.sns_topic_arn)
            .set_connection_events(Some(notification.events.iter().map(|e| e.as_str().to_owned()).collect()))
            .client_token(token)
            .send()
            .await
            .map_err(|e| failed("CreateVpcEndpointConnectionNotification", e))?;
        output
            .connection_notification()
            .and_then(|n| n.connection_notification_id())
            .map(str::to_owned)
            .ok_or_else(|| HandlerError::internal("EC2 CreateVpcEndpointConnectionNotification answered without an id"))
    }

    /// Changes the events a notification hears of.
    pub async fn modify_notification(
        &self,
        id: &str,
        notification: &ConnectionNotification,
    ) -> Result<(), HandlerError> {
        self.client
            .modify_vpc_endpoint_connection_notification()
            .connection_notification_id(id)
            .set_connection_events(Some(notification.events.iter().map(|e| e.as_str().to_owned()).collect()))
            .send()
            .await
            .map_err(|e| failed("ModifyVpcEndpointConnectionNotification", e))?;
        Ok(())
    }

    /// Deletes notifications; one already gone counts as deleted.
    pub async fn delete_notifications(&self, ids: Vec<String>) -> Result<(), HandlerError> {
        if ids.is_empty() {
            return Ok(());
        }
        let output = self
            .client
            .delete_vpc_endpoint_connection_notifications()
            .set_connection_notification_ids(Some(ids))
            .send()
            .await
            .map_err(|e| failed("DeleteVpcEndpointConnectionNotifications", e))?;
        unsuccessful(
            "DeleteVpcEndpointConnectionNotifications",
            output.unsuccessful(),
            &["InvalidConnectionNotification"],
        )
    }

    /// Applies changes to the service configuration.
    pub async fn modify_service(
        &self,
        service_id: &str,
        kind: LoadBalancerType,
        changes: ConfigurationChanges,
    ) -> Result<(), HandlerError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (add, remove) = (non_empty(changes.add_load_balancers), non_empty(changes.remove_load_balancers));
        let mut call = self
            .client
            .modify_vpc_endpoint_service_configuration()
            .service_id(service_id)
            .set_acceptance_required(changes.acceptance_required)
            .set_private_dns_name(changes.private_dns_name)
            .set_add_supported_ip_address_types(non_empty(changes.add_ip_types))
            .set_remove_supported_ip_address_types(non_empty(changes.remove_ip_types));
        if changes.remove_private_dns_name {
            call = call.remove_private_dns_name(true);
        }
        call = match kind {
            LoadBalancerType::Network => {
                call.set_add_network_load_balancer_arns(add).set_remove_network_load_balancer_arns(remove)
            }
            LoadBalancerType::Gateway => {
                call.set_add_gateway_load_balancer_arns(add).set_remove_gateway_load_balancer_arns(remove)
            }
        };
        call.send().await.map_err(|e| failed("ModifyVpcEndpointServiceConfiguration", e))?;
        Ok(())
    }

    /// Adds or replaces tags.
    pub async fn tag(&self, service_id: &str, tags: &[Tag]) -> Result<(), HandlerError> {
        if tags.is_empty() {
            return Ok(());
        }
        self.client
            .create_tags()
            .resources(service_id)
            .set_tags(Some(tags.iter().map(|t| sdk_tag(&t.key, &t.value)).collect()))
            .send()
            .await
            .map_err(|e| failed("CreateTags", e))?;
        Ok(())
    }

    /// Removes tags by key.
    pub async fn untag(&self, service_id: &str, keys: &[String]) -> Result<(), HandlerError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.client
            .delete_tags()
            .resources(service_id)
            .set_tags(Some(keys.iter().map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build()).collect()))
            .send()
            .await
            .map_err(|e| failed("DeleteTags", e))?;
        Ok(())
    }

    /// The endpoints still connected or asking to be (pending acceptance, pending or
    /// available): AWS refuses to delete a service that has any.
    pub async fn live_connections(&self, service_id: &str) -> Result<Vec<String>, HandlerError> {
        let pages = self
            .client
            .describe_vpc_endpoint_connections()
            .filters(service_filter(service_id))
            .into_paginator()
            .items()
            .send();
        let connections =
            pages.collect::<Result<Vec<_>, _>>().await.map_err(|e| failed("DescribeVpcEndpointConnections", e))?;
        Ok(connections
            .iter()
            .filter(|c| {
                matches!(
                    c.vpc_endpoint_state().map(|s| s.as_str()),
                    Some("pendingAcceptance" | "pending" | "available")
                )
            })
            .filter_map(|c| c.vpc_endpoint_id().map(str::to_owned))
            .collect())
    }

    /// Deletes the service configuration.
    pub async fn delete_service(&self, service_id: &str) -> Result<(), HandlerError> {
        let output = self
            .client
            .delete_vpc_endpoint_service_configurations()
            .service_ids(service_id)
            .send()
            .await
            .map_err(|e| failed("DeleteVpcEndpointServiceConfigurations", e))?;
        unsuccessful(
            "DeleteVpcEndpointServiceConfigurations",
            output.unsuccessful(),
            &["InvalidVpcEndpointService.NotFound", "InvalidVpcEndpointServiceId.NotFound"],
        )
    }

    /// One page of at most `page_size` services this type manages (those with its marker tag)
    /// with everything READ would return for each. EC2 pages hold at least
    /// [`EC2_SMALLEST_PAGE`] configurations, so the token names an EC2 page and how many of its
    /// services earlier pages returned: `<returned>/<EC2 token>`.
    pub async fn list_owned(
        &self,
        marker: &str,
        next_token: Option<&str>,
        page_size: u32,
    ) -> Result<ListPage<PrivateLinkService>, HandlerError> {
        let (returned, ec2_token) = match next_token {
            None => (0, None),
            Some(token) => token
                .split_once('/')
                .and_then(|(returned, ec2_token)| {
                    Some((returned.parse::<usize>().ok()?, Some(ec2_token).filter(|t| !t.is_empty())))
                })
                .ok_or_else(|| {
                    HandlerError::invalid_request(format!("nextToken: '{token}' is not a token this type issued"))
                })?,
        };
        let output = self
            .client
            .describe_vpc_endpoint_service_configurations()
            .filters(Filter::builder().name(format!("tag:{MARKER_KEY}")).values(marker).build())
            .max_results(i32::try_from(page_size.max(EC2_SMALLEST_PAGE)).unwrap_or(i32::MAX))
            .set_next_token(ec2_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| failed("DescribeVpcEndpointServiceConfigurations", e))?;
        let live: Vec<_> = output
            .service_configurations()
            .iter()
            .filter(|config| !matches!(config.service_state(), Some(ServiceState::Deleting | ServiceState::Deleted)))
            .collect();
        let end = returned.saturating_add(page_size as usize).min(live.len());
        // The futures are made before they are polled: a closure that returns one is not
        // general enough for the Send bound on the handler's future.
        let reads: Vec<_> = live
            .get(returned..end)
            .unwrap_or_default()
            .iter()
            .map(|config| self.snapshot_of((*config).clone()))
            .collect();
        let snapshots: Vec<Snapshot> = futures::stream::iter(reads).buffered(CONCURRENT_SERVICES).try_collect().await?;
        let models = snapshots.iter().map(Snapshot::to_model).collect();
        let next_token = if end < live.len() {
            Some(format!("{end}/{}", ec2_token.unwrap_or_default()))
        } else {
            output.next_token().filter(|t| !t.is_empty()).map(|t| format!("0/{t}"))
        };
        Ok(ListPage { models, next_token })
    }
}

/// At most this many services of a LIST page are read at once (two calls each): EC2 throttles
/// an account's bursts of describe calls.
const CONCURRENT_SERVICES: usize = 2;

/// The fewest configurations one `DescribeVpcEndpointServiceConfigurations` page may ask for.
const EC2_SMALLEST_PAGE: u32 = 5;

/// EC2's batch deletes answer 200 and list what failed: an item already gone counts as done
/// (`gone_codes`); anything else fails the call, a service with live connections as a conflict.
fn unsuccessful(
    operation: &str,
    items: &[aws_sdk_ec2::types::UnsuccessfulItem],
    gone_codes: &[&str],
) -> Result<(), HandlerError> {
    for item in items {
        let code = item.error().and_then(|e| e.code()).unwrap_or_default();
        if gone_codes.contains(&code) {
            continue;
        }
        let message = item.error().and_then(|e| e.message()).unwrap_or("no message");
        let resource = item.resource_id().unwrap_or("?");
        let handler_code = match code {
            "ExistingVpcEndpointConnections" => HandlerErrorCode::ResourceConflict,
            _ => HandlerErrorCode::GeneralServiceException,
        };
        return Err(HandlerError::new(
            handler_code,
            format!("EC2 {operation} failed for {resource}: {code}: {message}"),
        ));
    }
    Ok(())
}

fn event_of(name: &str) -> Option<ConnectionEvent> {
    [ConnectionEvent::Connect, ConnectionEvent::Accept, ConnectionEvent::Reject, ConnectionEvent::Delete]
        .into_iter()
        .find(|e| e.as_str() == name)
}

/// The notifications an UPDATE must create, modify (by EC2 id) and delete to turn `current`
/// into `desired`; a notification is identified by its topic.
pub fn notification_diff(
    current: &[(String, ConnectionNotification)],
    desired: &[ConnectionNotification],
) -> (Vec<ConnectionNotification>, Vec<(String, ConnectionNotification)>, Vec<String>) {
    let by_topic: BTreeMap<&str, &(String, ConnectionNotification)> =
        current.iter().map(|entry| (entry.1.sns_topic_arn.as_str(), entry)).collect();
    let mut create = Vec::new();
    let mut modify = Vec::new();
    for wanted in desired {
        match by_topic.get(wanted.sns_topic_arn.as_str()) {
            None => create.push(wanted.clone()),
            Some((id, existing)) => {
                let sorted =
                    |events: &[ConnectionEvent]| events.iter().copied().collect::<std::collections::BTreeSet<_>>();
                if sorted(&existing.events) != sorted(&wanted.events) {
                    modify.push((id.clone(), wanted.clone()));
                }
            }
        }
    }
    let delete = current
        .iter()
        .filter(|(_, n)| !desired.iter().any(|d| d.sns_topic_arn == n.sns_topic_arn))
        .map(|(id, _)| id.clone())
        .collect();
    (create, modify, delete)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, events: &[ConnectionEvent]) -> ConnectionNotification {
        ConnectionNotification {
            sns_topic_arn: format!("arn:aws:sns:us-east-1:123456789012:{name}"),
            events: events.to_vec(),
        }
    }

    #[test]
    fn notifications_are_created_modified_and_deleted_by_topic() {
        use ConnectionEvent::{Accept, Connect, Delete};
        let current = vec![
            ("vpce-nfn-1".to_owned(), topic("a", &[Accept, Connect])),
            ("vpce-nfn-2".to_owned(), topic("b", &[Connect])),
        ];
        let desired = vec![topic("a", &[Connect, Accept]), topic("c", &[Delete])];
        let (create, modify, delete) = notification_diff(&current, &desired);
        assert_eq!(create, vec![topic("c", &[Delete])]);
        assert!(modify.is_empty(), "the same events in another order change nothing");
        assert_eq!(delete, vec!["vpce-nfn-2".to_owned()]);

        let (_, modify, _) = notification_diff(&current, &[topic("a", &[Accept])]);
        assert_eq!(modify, vec![("vpce-nfn-1".to_owned(), topic("a", &[Accept]))]);
    }
}
