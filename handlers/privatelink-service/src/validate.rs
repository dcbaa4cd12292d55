//! Input validation and governance, before any EC2 call. A refused shape names the field, the
//! offending value and, for a governance rule, the type-configuration setting behind it.

use std::collections::BTreeSet;

use privatelink_governance::{Breach, Source, is_account_id, principal_account};
use rpdk::{HandlerError, HandlerErrorCode, Partition};

use crate::model::{Governance, PrivateLinkService};

/// Checks the account's type configuration itself.
pub fn governance(config: &Governance) -> Result<(), HandlerError> {
    config
        .check(Source::TypeConfiguration)
        .map_err(|breach| HandlerError::new(HandlerErrorCode::InvalidTypeConfiguration, breach.message))
}

/// Checks a desired model against the input rules and the account's governance rules;
/// `partition` is the request's.
pub fn desired(model: &PrivateLinkService, config: &Governance, partition: Partition) -> Result<(), HandlerError> {
    governance(config)?;
    let kind = model.load_balancer_type.unwrap_or_default();
    if model.load_balancer_arns.is_empty() {
        return Err(invalid("LoadBalancerArns: name at least one load balancer"));
    }
    let mut seen = BTreeSet::new();
    for (index, arn) in model.load_balancer_arns.iter().enumerate() {
        let prefix = format!("arn:{}:elasticloadbalancing:", partition.as_str());
        if !arn.starts_with(&prefix) || !arn.contains(kind.arn_segment()) {
            return Err(invalid(format!(
                "LoadBalancerArns[{index}]: '{arn}' is not a {} load balancer ARN of partition {} (…{}…); LoadBalancerType is '{}'",
                kind.as_str(),
                partition.as_str(),
                kind.arn_segment(),
                kind.as_str()
            )));
        }
        unique(&mut seen, arn, &format!("LoadBalancerArns[{index}]"))?;
    }

    let principals = model.allowed_principals.as_deref().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (index, principal) in principals.iter().enumerate() {
        let field = format!("AllowedPrincipals[{index}]");
        if principal != "*" {
            principal_account(principal, partition).ok_or_else(|| {
                invalid(format!(
                    "{field}: '{principal}' is not an IAM principal ARN of partition {} (arn:{}:iam::<account>:root, :role/<name> or :user/<name>)",
                    partition.as_str(),
                    partition.as_str()
                ))
            })?;
        }
        unique(&mut seen, principal, &field)?;
    }
    config.allowed_principals(principals, partition, Source::TypeConfiguration).map_err(refused)?;

    let notifications = model.connection_notifications.as_deref().unwrap_or_default();
    let mut topics = BTreeSet::new();
    for (index, notification) in notifications.iter().enumerate() {
        let field = format!("ConnectionNotifications[{index}]");
        let arn = &notification.sns_topic_arn;
        if !is_topic_arn(arn, partition) {
            return Err(invalid(format!(
                "{field}.SnsTopicArn: '{arn}' is not an SNS topic ARN of partition {}",
                partition.as_str()
            )));
        }
        unique(&mut topics, arn, &format!("{field}.SnsTopicArn"))?;
        if notification.events.is_empty() {
            return Err(invalid(format!("{field}.Events: name at least one of Connect, Accept, Reject, Delete")));
        }
        let mut events = BTreeSet::new();
        for (event_index, event) in notification.events.iter().enumerate() {
            unique(&mut events, event.as_str(), &format!("{field}.Events[{event_index}]"))?;
        }
    }
    config
        .auto_accept(model.acceptance_required, !notifications.is_empty(), Source::TypeConfiguration)
        .map_err(refused)?;

    if let Some(name) = &model.private_dns_name
        && !is_dns_name(name)
    {
        return Err(invalid(format!(
            "PrivateDnsName: '{name}' is not a DNS name such as api.example.com (at most 255 characters)"
        )));
    }
    let types = model.supported_ip_address_types.as_deref().unwrap_or_default();
    if model.supported_ip_address_types.is_some() && types.is_empty() {
        return Err(invalid("SupportedIpAddressTypes: name ipv4, ipv6 or both, or leave it out for ipv4"));
    }
    let mut seen = BTreeSet::new();
    for (index, kind) in types.iter().enumerate() {
        unique(&mut seen, kind.as_str(), &format!("SupportedIpAddressTypes[{index}]"))?;
    }

    let tags = model.tags.as_deref().unwrap_or_default();
    rpdk_aws::tags::check(tags.iter().map(|tag| (tag.key.as_str(), tag.value.as_str())), rpdk_aws::tags::EC2_TAGS)
}

fn invalid(message: impl Into<String>) -> HandlerError {
    HandlerError::invalid_request(message)
}

fn refused(breach: Breach) -> HandlerError {
    invalid(breach.message)
}

fn unique<'a>(seen: &mut BTreeSet<&'a str>, value: &'a str, field: &str) -> Result<(), HandlerError> {
    if seen.insert(value) { Ok(()) } else { Err(invalid(format!("{field}: '{value}' appears twice"))) }
}

fn is_topic_arn(arn: &str, partition: Partition) -> bool {
    let Some(rest) = arn.strip_prefix(&format!("arn:{}:sns:", partition.as_str())) else { return false };
    let parts: Vec<&str> = rest.split(':').collect();
    matches!(parts[..], [region, account, name]
        if !region.is_empty() && is_account_id(account) && !name.is_empty() && name.len() <= 256
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 255
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectionEvent, ConnectionNotification, IpAddressType, LoadBalancerType, Tag};

    const NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/front/0123456789abcdef";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:endpoint-events";

    fn model() -> PrivateLinkService {
        PrivateLinkService {
            load_balancer_arns: vec![NLB.to_owned()],
            allowed_principals: Some(vec!["arn:aws:iam::111122223333:root".to_owned()]),
            ..PrivateLinkService::default()
        }
    }

    fn refusal(model: &PrivateLinkService, config: &Governance) -> String {
        desired(model, config, Partition::Aws).expect_err("refused").message().to_owned()
    }

    #[test]
    fn a_plain_service_passes() {
        desired(&model(), &Governance::default(), Partition::Aws).expect("valid");
    }

    #[test]
    fn load_balancers_must_be_of_the_declared_kind_and_partition() {
        let mut gateway = model();
        gateway.load_balancer_type = Some(LoadBalancerType::Gateway);
        assert!(refusal(&gateway, &Governance::default()).starts_with("LoadBalancerArns[0]:"));
        let mut china = model();
        china.load_balancer_arns = vec![NLB.replace("arn:aws:", "arn:aws-cn:")];
        assert!(refusal(&china, &Governance::default()).contains("partition aws"));
        let mut none = model();
        none.load_balancer_arns.clear();
        assert!(refusal(&none, &Governance::default()).starts_with("LoadBalancerArns:"));
        let mut twice = model();
        twice.load_balancer_arns.push(NLB.to_owned());
        assert!(refusal(&twice, &Governance::default()).contains("appears twice"));
    }

    #[test]
    fn a_wildcard_needs_allow_any_principal() {
        let mut open = model();
        open.allowed_principals = Some(vec!["*".to_owned()]);
        assert!(refusal(&open, &Governance::default()).contains("AllowAnyPrincipal: true"));
        let permissive = Governance { allow_any_principal: Some(true), ..Governance::default() };
        desired(&open, &permissive, Partition::Aws).expect("permitted");
    }

    #[test]
    fn an_account_list_wins_over_allow_any_principal() {
        let mut open = model();
        open.allowed_principals = Some(vec!["*".to_owned()]);
        let both = Governance {
            allowed_principal_account_ids: Some(vec!["111122223333".to_owned()]),
            allow_any_principal: Some(true),
            ..Governance::default()
        };
        let message = refusal(&open, &both);
        assert!(
            message.contains("AllowedPrincipalAccountIds") && message.contains("whatever AllowAnyPrincipal says"),
            "{message}"
        );

        let mut stranger = model();
        stranger.allowed_principals = Some(vec!["arn:aws:iam::444455556666:role/app".to_owned()]);
        let message = refusal(&stranger, &both);
        assert!(message.starts_with("AllowedPrincipals[0]:") && message.contains("444455556666"), "{message}");
        desired(&model(), &both, Partition::Aws).expect("a listed account passes");
    }

    #[test]
    fn auto_accept_needs_a_notification_unless_the_configuration_waives_it() {
        let mut auto = model();
        auto.acceptance_required = Some(false);
        assert!(refusal(&auto, &Governance::default()).contains("RequireNotificationWhenAutoAccept"));
        let waived = Governance { require_notification_when_auto_accept: Some(false), ..Governance::default() };
        desired(&auto, &waived, Partition::Aws).expect("waived");
        auto.connection_notifications = Some(vec![ConnectionNotification {
            sns_topic_arn: TOPIC.to_owned(),
            events: vec![ConnectionEvent::Connect],
        }]);
        desired(&auto, &Governance::default(), Partition::Aws).expect("seen");
    }

    #[test]
    fn principals_notifications_dns_and_tags_are_checked() {
        let mut root_of_other_partition = model();
        root_of_other_partition.allowed_principals = Some(vec!["arn:aws-cn:iam::111122223333:root".to_owned()]);
        assert!(refusal(&root_of_other_partition, &Governance::default()).starts_with("AllowedPrincipals[0]:"));

        let mut no_events = model();
        no_events.connection_notifications =
            Some(vec![ConnectionNotification { sns_topic_arn: TOPIC.to_owned(), events: vec![] }]);
        assert!(refusal(&no_events, &Governance::default()).starts_with("ConnectionNotifications[0].Events:"));
        let mut bad_topic = model();
        bad_topic.connection_notifications = Some(vec![ConnectionNotification {
            sns_topic_arn: "topic".to_owned(),
            events: vec![ConnectionEvent::Accept],
        }]);
        assert!(refusal(&bad_topic, &Governance::default()).starts_with("ConnectionNotifications[0].SnsTopicArn:"));

        let mut dns = model();
        dns.private_dns_name = Some("not a name".to_owned());
        assert!(refusal(&dns, &Governance::default()).starts_with("PrivateDnsName:"));
        dns.private_dns_name = Some("api.example.com".to_owned());
        desired(&dns, &Governance::default(), Partition::Aws).expect("a DNS name");

        let mut types = model();
        types.supported_ip_address_types = Some(vec![IpAddressType::Ipv4, IpAddressType::Ipv4]);
        assert!(refusal(&types, &Governance::default()).starts_with("SupportedIpAddressTypes[1]:"));

        let mut tags = model();
        tags.tags = Some(vec![Tag { key: "rpdk:owner".to_owned(), value: "x".to_owned() }]);
        assert!(refusal(&tags, &Governance::default()).contains("reserved prefix"));
    }

    #[test]
    fn a_bad_account_id_in_the_configuration_is_an_invalid_type_configuration() {
        let config =
            Governance { allowed_principal_account_ids: Some(vec!["12345".to_owned()]), ..Governance::default() };
        let error = desired(&model(), &config, Partition::Aws).expect_err("refused");
        assert_eq!(error.code(), HandlerErrorCode::InvalidTypeConfiguration);
        assert!(error.message().starts_with("AllowedPrincipalAccountIds[0]:"));
    }
}
