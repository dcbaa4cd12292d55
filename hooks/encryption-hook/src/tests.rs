use rpdk::HandlerErrorCode;
use rpdk::hook::{HookDispatcher, HookProgressEvent, HookStatus};
use serde_json::{Value, json};

use super::*;

fn invoke(point: &str, target: &str, properties: Value, configuration: Value) -> HookProgressEvent {
    let payload = json!({
        "clientRequestToken": "3b3f6bb9-0000-4000-8000-000000000001",
        "awsAccountId": "123456789012",
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/data/1",
        "hookTypeName": "Rpdk::Governance::EncryptionHook",
        "hookTypeVersion": "00000001",
        "hookModel": configuration,
        "actionInvocationPoint": point,
        "requestData": {
            "targetName": target,
            "targetType": "RESOURCE",
            "targetLogicalId": "Store",
            "targetModel": {"resourceProperties": properties},
            "callerCredentials": "{\"accessKeyId\": \"AKIA\", \"secretAccessKey\": \"s\", \"sessionToken\": \"t\"}"
        },
        "requestContext": {"invocation": 1}
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(HookDispatcher::new(EncryptionHook).handle(payload, None))
}

fn encrypted_bucket(algorithm: &str) -> Value {
    json!({"BucketName": "data", "BucketEncryption": {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}, "BucketKeyEnabled": "true"}
    ]}})
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
fn an_encrypted_bucket_complies_with_a_passed_annotation() {
    for point in ["CREATE_PRE_PROVISION", "UPDATE_PRE_PROVISION"] {
        let event = invoke(point, BUCKET, encrypted_bucket("aws:kms"), json!({}));
        assert_eq!(event.hook_status, HookStatus::Success, "{event:?}");
        assert_eq!(event.annotations[0].annotation_name, BUCKET_RULE);
    }
}

#[test]
fn a_bucket_without_encryption_is_refused_naming_the_property_and_the_fix() {
    let event = invoke("CREATE_PRE_PROVISION", BUCKET, json!({"BucketName": "data"}), json!({}));
    let message = non_compliance(&event);
    assert!(message.starts_with("Store: BucketEncryption: missing; add"), "{message}");
    let annotation = &event.annotations[0];
    assert_eq!(annotation.severity_level, Some(Severity::High));
    assert_eq!(annotation.remediation_link.as_deref(), Some(BUCKET_DOCS));
}

#[test]
fn a_bucket_of_another_algorithm_than_required_is_refused() {
    let required = json!({"RequiredBucketAlgorithm": "aws:kms"});
    let message = non_compliance(&invoke("CREATE_PRE_PROVISION", BUCKET, encrypted_bucket("AES256"), required.clone()))
        .to_owned();
    assert!(message.contains("SSEAlgorithm: AES256, but this account requires aws:kms"), "{message}");
    let kms = invoke("UPDATE_PRE_PROVISION", BUCKET, encrypted_bucket("aws:kms"), required);
    assert_eq!(kms.hook_status, HookStatus::Success);
}

#[test]
fn a_queue_complies_with_sqs_managed_encryption_sent_as_a_string_or_a_kms_key() {
    let managed = invoke("CREATE_PRE_PROVISION", QUEUE, json!({"SqsManagedSseEnabled": "true"}), json!({}));
    assert_eq!(managed.hook_status, HookStatus::Success, "{managed:?}");
    let kms = invoke("CREATE_PRE_PROVISION", QUEUE, json!({"KmsMasterKeyId": "alias/aws/sqs"}), json!({}));
    assert_eq!(kms.hook_status, HookStatus::Success, "{kms:?}");
}

#[test]
fn a_queue_without_encryption_or_without_a_required_kms_key_is_refused() {
    for properties in [json!({}), json!({"SqsManagedSseEnabled": "false"}), json!({"KmsMasterKeyId": " "})] {
        let event = invoke("CREATE_PRE_PROVISION", QUEUE, properties, json!({}));
        assert!(non_compliance(&event).contains("set SqsManagedSseEnabled: true"), "{event:?}");
    }
    let event = invoke(
        "CREATE_PRE_PROVISION",
        QUEUE,
        json!({"SqsManagedSseEnabled": true}),
        json!({"RequireKmsForQueues": "true"}),
    );
    assert!(non_compliance(&event).contains("KmsMasterKeyId: missing"), "{event:?}");
}

#[test]
fn other_targets_and_deletes_are_not_this_hooks() {
    let topic = invoke("CREATE_PRE_PROVISION", "AWS::SNS::Topic", json!({}), json!({}));
    assert_eq!(topic.error_code, Some(HandlerErrorCode::UnsupportedTarget), "{topic:?}");
    let delete = invoke("DELETE_PRE_PROVISION", BUCKET, json!({}), json!({}));
    assert_eq!(delete.error_code, Some(HandlerErrorCode::UnsupportedTarget), "{delete:?}");
}

#[test]
fn a_configuration_the_schema_refuses_is_an_invalid_type_configuration() {
    let event =
        invoke("CREATE_PRE_PROVISION", BUCKET, encrypted_bucket("AES256"), json!({"RequiredBucketAlgorithm": "rot13"}));
    assert_eq!(event.error_code, Some(HandlerErrorCode::InvalidTypeConfiguration), "{event:?}");
    assert!(event.message.is_some_and(|m| m.contains("hookModel.RequiredBucketAlgorithm")));
}
