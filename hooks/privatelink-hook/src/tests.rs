use rpdk::HandlerErrorCode;
use rpdk::hook::{AnnotationStatus, HookDispatcher, HookProgressEvent, HookStatus};
use serde_json::{Value, json};

use super::*;

const PARTNER: &str = "arn:aws:iam::111122223333:root";
const STRANGER: &str = "arn:aws:iam::444455556666:role/app";

fn request(target: &str, target_model: Value, configuration: Value) -> Value {
    let target_type = if ["STACK", "CHANGE_SET"].contains(&target) { target } else { "RESOURCE" };
    json!({
        "clientRequestToken": "3b3f6bb9-0000-4000-8000-000000000002",
        "awsAccountId": "123456789012",
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/partner/1",
        "hookTypeName": "Rpdk::Governance::PrivateLinkHook",
        "hookTypeVersion": "00000001",
        "hookModel": configuration,
        "actionInvocationPoint": "CREATE_PRE_PROVISION",
        "requestData": {
            "targetName": target,
            "targetType": target_type,
            "targetLogicalId": if target_type == "RESOURCE" { "Endpoint" } else { "partner" },
            "targetModel": target_model,
        },
        "requestContext": {"invocation": 1}
    })
}

fn invoke(payload: Value) -> HookProgressEvent {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(HookDispatcher::new(PrivateLinkHook).handle(payload, None))
}

fn resource(target: &str, properties: Value, configuration: Value) -> HookProgressEvent {
    invoke(request(target, json!({"resourceProperties": properties}), configuration))
}

fn approved() -> Value {
    json!({"AllowedPrincipalAccountIds": ["111122223333"]})
}

fn non_compliance(event: &HookProgressEvent) -> &str {
    assert_eq!(
        (event.hook_status, event.error_code),
        (HookStatus::Failed, Some(HandlerErrorCode::NonCompliant)),
        "{event:?}"
    );
    event.message.as_deref().unwrap_or_default()
}

#[test]
fn permissions_of_approved_accounts_comply() {
    let event =
        resource(SERVICE_PERMISSIONS, json!({"ServiceId": "vpce-svc-1", "AllowedPrincipals": [PARTNER]}), approved());
    assert_eq!(event.hook_status, HookStatus::Success, "{event:?}");
    assert_eq!(event.annotations[0].annotation_name, PRINCIPALS_RULE);
    assert_eq!(event.annotations[0].status, AnnotationStatus::Passed);
}

#[test]
fn a_wildcard_or_a_stranger_is_refused_naming_the_principal_and_the_setting() {
    let open = resource(SERVICE_PERMISSIONS, json!({"AllowedPrincipals": ["*"]}), approved());
    let message = non_compliance(&open);
    assert!(
        message.starts_with(
            "Endpoint: AllowedPrincipals[0]: '*' is refused by the hook configuration's AllowedPrincipalAccountIds"
        ),
        "{message}"
    );
    let without_list = resource(SERVICE_PERMISSIONS, json!({"AllowedPrincipals": ["*"]}), json!({}));
    assert!(non_compliance(&without_list).contains("AllowAnyPrincipal: true"));
    let stranger = resource(SERVICE_PERMISSIONS, json!({"AllowedPrincipals": [PARTNER, STRANGER]}), approved());
    let message = non_compliance(&stranger);
    assert!(message.contains("AllowedPrincipals[1]: '") && message.contains("444455556666"), "{message}");
    let annotation = &stranger.annotations[0];
    assert_eq!((annotation.status, annotation.severity_level), (AnnotationStatus::Failed, Some(Severity::High)));
    assert_eq!(annotation.remediation_link.as_deref(), Some(PRINCIPALS_DOCS));
}

#[test]
fn our_service_is_held_to_both_rules_with_stringified_values() {
    let reviewed = resource(
        PRIVATELINK_SERVICE,
        json!({"AcceptanceRequired": "true", "AllowedPrincipals": [PARTNER]}),
        approved(),
    );
    assert_eq!(reviewed.hook_status, HookStatus::Success, "{reviewed:?}");
    assert_eq!(reviewed.annotations.len(), 2);

    let unseen =
        resource(PRIVATELINK_SERVICE, json!({"AcceptanceRequired": "false", "AllowedPrincipals": ["*"]}), approved());
    let message = non_compliance(&unseen);
    assert!(
        message.contains("AllowedPrincipals[0]")
            && message.contains("AcceptanceRequired: false without a connection notification"),
        "{message}"
    );

    let seen = resource(
        PRIVATELINK_SERVICE,
        json!({"AcceptanceRequired": false, "ConnectionNotifications": [{"SnsTopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Events": ["Connect"]}]}),
        json!({}),
    );
    assert_eq!(seen.hook_status, HookStatus::Success, "{seen:?}");
    let waived = resource(
        PRIVATELINK_SERVICE,
        json!({"AcceptanceRequired": false}),
        json!({"RequireNotificationWhenAutoAccept": "false"}),
    );
    assert_eq!(waived.hook_status, HookStatus::Success, "{waived:?}");
}

#[test]
fn a_native_service_alone_leaves_its_notification_to_the_stack_target() {
    let event = resource(ENDPOINT_SERVICE, json!({"AcceptanceRequired": false}), json!({}));
    assert_eq!(event.hook_status, HookStatus::Success, "{event:?}");
    assert_eq!(event.annotations[0].status, AnnotationStatus::Skipped);
    let message = event.annotations[0].status_message.as_deref().unwrap_or_default();
    assert!(
        message.starts_with("Endpoint accepts connections without review;") && message.contains("STACK"),
        "{message}"
    );
    let malformed = resource(ENDPOINT_SERVICE, json!({"AcceptanceRequired": "sometimes"}), json!({}));
    assert_eq!(malformed.error_code, Some(HandlerErrorCode::InvalidRequest), "{malformed:?}");
    assert!(malformed.message.as_deref().unwrap_or_default().contains("AcceptanceRequired"), "{malformed:?}");
}

const TEMPLATE: &str = r#"
Parameters:
  Review: {Type: String, AllowedValues: ["true", "false"]}
Resources:
  Reviewed:
    Type: AWS::EC2::VPCEndpointService
    Properties: {AcceptanceRequired: true, NetworkLoadBalancerArns: [arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/1]}
  Watched:
    Type: AWS::EC2::VPCEndpointService
    Properties: {AcceptanceRequired: false}
  WatchedNotification:
    Type: AWS::EC2::VPCEndpointConnectionNotification
    Properties: {ServiceId: !Ref Watched, ConnectionEvents: [Connect], ConnectionNotificationArn: arn:aws:sns:us-east-1:123456789012:t}
  Unwatched:
    Type: AWS::EC2::VPCEndpointService
    Properties: {AcceptanceRequired: "false"}
  Unknown:
    Type: AWS::EC2::VPCEndpointService
    Properties: {AcceptanceRequired: !Ref Review}
  Defaulted:
    Type: AWS::EC2::VPCEndpointService
    Properties: {}
"#;

#[test]
fn the_stack_target_finds_every_auto_accepting_service_without_a_notification() {
    for target in ["STACK", "CHANGE_SET"] {
        let event = invoke(request(target, json!({"Template": TEMPLATE}), json!({})));
        let message = non_compliance(&event);
        assert!(message.contains("Resources.Unwatched.Properties.AcceptanceRequired: false without"), "{message}");
        assert!(message.contains("ServiceId: !Ref Unwatched"), "{message}");
        assert!(message.contains(r#"Resources.Unknown.Properties.AcceptanceRequired: false without a connection notification is refused by the hook configuration's RequireNotificationWhenAutoAccept (default true): add a notification so every auto-accepted connection is seen (its value, {"Ref":"Review"}, is not known"#), "{message}");
        assert!(
            !message.contains("Reviewed") && !message.contains("Watched:") && !message.contains("Defaulted"),
            "{message}"
        );
        let failed = event.annotations.iter().filter(|a| a.status == AnnotationStatus::Failed).count();
        assert_eq!((event.annotations.len(), failed), (5, 2), "{event:?}");
    }
}

#[test]
fn a_notification_by_get_att_counts_and_a_json_template_reads_as_yaml_does() {
    let template = json!({"Resources": {
        "Service": {"Type": ENDPOINT_SERVICE, "Properties": {"AcceptanceRequired": false}},
        "Notice": {"Type": "AWS::EC2::VPCEndpointConnectionNotification",
                   "Properties": {"ServiceId": {"Fn::GetAtt": ["Service", "ServiceId"]}}}
    }});
    let as_text = invoke(request("STACK", json!({"template": template.to_string()}), json!({})));
    assert_eq!(as_text.hook_status, HookStatus::Success, "{as_text:?}");
    let as_object = invoke(request("STACK", json!({"Template": template}), json!({})));
    assert_eq!(as_object.hook_status, HookStatus::Success, "{as_object:?}");
}

#[test]
fn a_broken_template_or_configuration_is_answered_naming_it() {
    let event = invoke(request("STACK", json!({"Template": "Resources: [unclosed"}), json!({})));
    assert_eq!(event.error_code, Some(HandlerErrorCode::InvalidRequest), "{event:?}");
    assert!(event.message.as_deref().unwrap_or_default().starts_with("requestData.payload Template:"), "{event:?}");

    let event = resource(
        SERVICE_PERMISSIONS,
        json!({"AllowedPrincipals": [PARTNER]}),
        json!({"AllowedPrincipalAccountIds": ["1111"]}),
    );
    assert_eq!(event.error_code, Some(HandlerErrorCode::InvalidTypeConfiguration), "{event:?}");
    assert!(event.message.as_deref().unwrap_or_default().starts_with("AllowedPrincipalAccountIds[0]:"), "{event:?}");
}

#[test]
fn a_target_it_does_not_handle_is_unsupported() {
    let event = resource("AWS::S3::Bucket", json!({}), json!({}));
    assert_eq!(event.error_code, Some(HandlerErrorCode::UnsupportedTarget), "{event:?}");
}
