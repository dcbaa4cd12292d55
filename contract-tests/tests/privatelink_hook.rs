//! `Rpdk::Governance::PrivateLinkHook` as CloudFormation calls it, through the local stack's
//! Lambda endpoint in both protocols: the principals rule on our type and on the native
//! permissions, the notification rule on our type and, for native services, over a stack's
//! template read from its presigned `payload` URL (an object in the run's moto S3), and the
//! answers to documents that cannot be read.

use contract_tests::hook_call::HookCall;
use contract_tests::stack;
use rpdk_local::ResponseBucket;
use serde_json::{Value, json};

const HOOK: HookCall = HookCall { type_name: "Rpdk::Governance::PrivateLinkHook", function: "privatelink-hook" };
const ALIAS: &str = "Private::Lambda::PrivateLink";
const PARTNER: &str = "arn:aws:iam::111122223333:root";
const STRANGER: &str = "arn:aws:iam::444455556666:role/app";
const NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/front/0123456789abcdef";

fn approved() -> Value {
    json!({"AllowedPrincipalAccountIds": ["111122223333"]})
}

fn resource(properties: Value) -> Value {
    json!({"resourceProperties": properties})
}

fn assert_non_compliant(answer: &Value, says: &str) {
    assert_eq!(
        (answer["hookStatus"].as_str(), answer["errorCode"].as_str()),
        (Some("FAILED"), Some("NonCompliant")),
        "{answer}"
    );
    assert!(answer["message"].as_str().is_some_and(|m| m.contains(says)), "not '{says}': {answer}");
}

#[test]
fn every_resource_rule_compliant_and_not_registered() {
    let rows = [
        ("AWS::EC2::VPCEndpointServicePermissions", json!({"AllowedPrincipals": [PARTNER]}), None),
        (
            "AWS::EC2::VPCEndpointServicePermissions",
            json!({"AllowedPrincipals": ["*"]}),
            Some("AllowedPrincipals[0]: '*' is refused"),
        ),
        (
            "AWS::EC2::VPCEndpointServicePermissions",
            json!({"AllowedPrincipals": [PARTNER, STRANGER]}),
            Some("AllowedPrincipals[1]: 'arn:aws:iam::444455556666:role/app' belongs to account 444455556666"),
        ),
        ("Rpdk::EC2::PrivateLinkService", json!({"LoadBalancerArns": [NLB], "AllowedPrincipals": [PARTNER]}), None),
        (
            "Rpdk::EC2::PrivateLinkService",
            json!({"LoadBalancerArns": [NLB], "AcceptanceRequired": "false"}),
            Some("AcceptanceRequired: false without a connection notification"),
        ),
        (
            "AWS::EC2::VPCEndpointService",
            json!({"AcceptanceRequired": "false", "NetworkLoadBalancerArns": [NLB]}),
            None,
        ),
    ];
    for point in ["CREATE_PRE_PROVISION", "UPDATE_PRE_PROVISION"] {
        for (target, properties, fault) in &rows {
            let answer = HOOK.invoke(&HOOK.registered(point, target, resource(properties.clone()), approved()));
            match fault {
                None => assert_eq!(answer["hookStatus"], "SUCCESS", "{point} {target} {properties}: {answer}"),
                Some(fault) => assert_non_compliant(&answer, fault),
            }
        }
    }
}

#[test]
fn as_a_lambda_hook_the_functions_own_rules_apply() {
    // The local stack's function has no RPDK_HOOK_CONFIGURATION: no account list, so '*' is
    // refused unless AllowAnyPrincipal, and any account's principal passes.
    let open = HOOK.invoke(&HOOK.lambda_hook(
        ALIAS,
        "CREATE_PRE_PROVISION",
        "AWS::EC2::VPCEndpointServicePermissions",
        resource(json!({"AllowedPrincipals": ["*"]})),
    ));
    assert_non_compliant(&open, "AllowAnyPrincipal: true");
    let stranger = HOOK.invoke(&HOOK.lambda_hook(
        ALIAS,
        "CREATE_PRE_PROVISION",
        "AWS::EC2::VPCEndpointServicePermissions",
        resource(json!({"AllowedPrincipals": [STRANGER]})),
    ));
    assert_eq!(stranger["hookStatus"], "SUCCESS", "{stranger}");
}

const UNWATCHED: &str = "Resources:
  Front:
    Type: AWS::EC2::VPCEndpointService
    Properties: {AcceptanceRequired: false, NetworkLoadBalancerArns: [arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/front/1]}
";

fn watched() -> String {
    format!(
        "{UNWATCHED}  FrontNotification:
    Type: AWS::EC2::VPCEndpointConnectionNotification
    Properties: {{ServiceId: !Ref Front, ConnectionEvents: [Connect], ConnectionNotificationArn: arn:aws:sns:us-east-1:123456789012:t}}
"
    )
}

/// The document stored as CloudFormation stores it, and a presigned GET of it. The bucket is
/// the run's response bucket: the moto that enforces IAM answers presigned URLs with a 500.
fn payload_url(key: &str, document: &Value) -> String {
    let bucket = ResponseBucket::new(&stack().responses_url);
    bucket.create().expect("the bucket");
    bucket.write(key, document).expect("the document is stored");
    bucket.presigned("GET", key).expect("a presigned GET")
}

fn stack_request(point: &str, target: &str, url: &str, lambda: bool) -> Value {
    let mut request = if lambda {
        HOOK.lambda_hook(ALIAS, point, target, Value::Null)
    } else {
        HOOK.registered(point, target, json!({}), approved())
    };
    request["requestData"]["targetLogicalId"] = json!("partner");
    request["requestData"]["payload"] = json!(url);
    request
}

#[test]
fn a_stacks_template_is_read_from_its_payload_url_in_both_protocols() {
    let run = std::process::id();
    for (lambda, key_name, previous) in
        [(false, "Template", "PreviousTemplate"), (true, "template", "previousTemplate")]
    {
        for target in ["STACK", "CHANGE_SET"] {
            let unwatched = payload_url(&format!("{run}/{target}/{lambda}/unwatched"), &json!({key_name: UNWATCHED}));
            let answer = HOOK.invoke(&stack_request("CREATE_PRE_PROVISION", target, &unwatched, lambda));
            assert_non_compliant(&answer, "partner: Resources.Front.Properties.AcceptanceRequired: false without");
            assert!(answer["message"].as_str().is_some_and(|m| m.contains("ServiceId: !Ref Front")), "{answer}");

            let watched = payload_url(
                &format!("{run}/{target}/{lambda}/watched"),
                &json!({key_name: watched(), previous: UNWATCHED}),
            );
            let answer = HOOK.invoke(&stack_request("UPDATE_PRE_PROVISION", target, &watched, lambda));
            assert_eq!(answer["hookStatus"], "SUCCESS", "{lambda} {target}: {answer}");
            assert_eq!(answer["annotations"][0]["status"], "PASSED", "{answer}");
        }
    }
}

#[test]
fn a_document_that_cannot_be_read_is_answered_without_the_urls_signature() {
    let missing =
        payload_url(&format!("{}/exists", std::process::id()), &json!({})).replace("%2Fexists?", "%2Fmissing?");
    let answer = HOOK.invoke(&stack_request("CREATE_PRE_PROVISION", "STACK", &missing, false));
    assert_eq!(
        (answer["hookStatus"].as_str(), answer["errorCode"].as_str()),
        (Some("FAILED"), Some("InternalFailure")),
        "{answer}"
    );
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.contains("404") && message.contains("missing") && !message.contains("X-Amz-Signature"), "{answer}");

    let broken = payload_url(&format!("{}/broken", std::process::id()), &json!({"Template": "Resources: [unclosed"}));
    let answer = HOOK.invoke(&stack_request("CREATE_PRE_PROVISION", "STACK", &broken, false));
    assert_eq!(answer["errorCode"], "InvalidRequest", "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.starts_with("requestData.payload Template:")), "{answer}");
}
