use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::HandlerErrorCode;

/// A made-up hook: buckets must name an algorithm (the configuration may require one);
/// `Wait` in the properties answers IN_PROGRESS once; `Panic` panics.
struct BucketRule;

#[derive(Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Rules {
    /// The algorithm every bucket must name.
    required_algorithm: Option<String>,
    /// Buckets of at most this many tags.
    max_tags: Option<u32>,
}

#[derive(Default, Serialize, Deserialize)]
struct Waited {
    waited: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Bucket {
    algorithm: Option<String>,
    #[serde(default)]
    wait: bool,
    #[serde(default)]
    panic: bool,
    #[serde(default)]
    tag_count: u32,
}

impl HookHandler for BucketRule {
    type Configuration = Rules;
    type Context = Waited;

    fn metadata() -> HookMetadata {
        HookMetadata {
            service: "Test",
            hook: "BucketRule",
            description: "Buckets name their encryption.",
            source_url: None,
            documentation_url: None,
            pre_create: Some(HookHandlerSpec { target_names: &["AWS::S3::Bucket", "STACK"], permissions: &[] }),
            pre_update: Some(HookHandlerSpec { target_names: &["AWS::S3::*"], permissions: &[] }),
            pre_delete: None,
        }
    }

    async fn pre_create(&self, req: &HookRequest<Rules>, context: &mut Waited) -> HookResult {
        if req.target.target_type == TargetType::Stack {
            let template = req.target.stack.as_ref().and_then(|s| s.get("template")).and_then(Value::as_str);
            return Ok(Verdict::compliant_with(format!("template of {} bytes", template.map_or(0, str::len))));
        }
        let bucket: Bucket = req.properties()?;
        if bucket.panic {
            panic!("told to");
        }
        if bucket.wait && !context.waited {
            context.waited = true;
            return Ok(Verdict::in_progress(Duration::from_secs(3)));
        }
        if req.configuration.max_tags.is_some_and(|max| bucket.tag_count > max) {
            return Ok(Verdict::non_compliant("TagCount: too many tags"));
        }
        match (bucket.algorithm, &req.configuration.required_algorithm) {
            (None, _) => Ok(Verdict::non_compliant("Algorithm: missing; name one").with_annotation(
                Annotation::failed("Encryption", "no algorithm", Severity::High)
                    .remediation("set Algorithm", Some("https://example.com/encryption")),
            )),
            (Some(found), Some(required)) if found != *required => {
                Ok(Verdict::non_compliant(format!("Algorithm: {found}, not {required}")))
            }
            (Some(_), _) => Ok(Verdict::compliant().with_annotation(Annotation::passed("Encryption", "named"))),
        }
    }

    async fn pre_update(&self, req: &HookRequest<Rules>, context: &mut Waited) -> HookResult {
        let previous: Option<Bucket> = req.previous_properties()?;
        if previous.is_none() {
            return Err(crate::HandlerError::invalid_request("an update without previous properties"));
        }
        self.pre_create(req, context).await
    }
}

fn request(point: &str, target: &str, properties: Value) -> Value {
    json!({
        "clientRequestToken": "token-1",
        "awsAccountId": "123456789012",
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "hookTypeName": "Rpdk::Test::BucketRule",
        "hookTypeVersion": "00000001",
        "hookModel": {"RequiredAlgorithm": "aws:kms", "MaxTags": "3"},
        "actionInvocationPoint": point,
        "invocationId": "not in the model",
        "requestData": {
            "targetName": target,
            "targetType": "RESOURCE",
            "targetLogicalId": "Bucket",
            "targetModel": {"resourceProperties": properties, "previousResourceProperties": {"Algorithm": "AES256"}},
            "callerCredentials": "{\"accessKeyId\": \"AKIA\", \"secretAccessKey\": \"s3cret\", \"sessionToken\": \"t\"}",
            "providerLogGroupName": "logs"
        },
        "requestContext": {"invocation": 1, "callbackContext": null}
    })
}

fn handle(payload: Value) -> HookProgressEvent {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(HookDispatcher::new(BucketRule).handle(payload, None))
}

#[test]
fn a_compliant_target_succeeds_with_its_annotations_and_the_token() {
    let event = handle(request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({"Algorithm": "aws:kms"})));
    let wire = serde_json::to_value(&event).expect("JSON");
    assert_eq!(
        wire,
        json!({"hookStatus": "SUCCESS", "clientRequestToken": "token-1",
               "annotations": [{"annotationName": "Encryption", "status": "PASSED", "statusMessage": "named"}]})
    );
}

#[test]
fn a_broken_rule_is_non_compliant_with_its_message() {
    let event = handle(request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({"Algorithm": "AES256"})));
    assert_eq!((event.hook_status, event.error_code), (HookStatus::Failed, Some(HandlerErrorCode::NonCompliant)));
    assert_eq!(event.message.as_deref(), Some("Algorithm: AES256, not aws:kms"));
    let missing = handle(request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({})));
    let annotation = serde_json::to_value(&missing.annotations[0]).expect("JSON");
    assert_eq!(
        annotation,
        json!({"annotationName": "Encryption", "status": "FAILED", "statusMessage": "no algorithm",
               "remediationMessage": "set Algorithm", "remediationLink": "https://example.com/encryption",
               "severityLevel": "HIGH"})
    );
}

#[test]
fn stringified_values_are_read_as_the_schema_declares_them() {
    // The configuration's MaxTags arrives as "3", the target's TagCount as "4".
    let event =
        handle(request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({"Algorithm": "aws:kms", "TagCount": "4"})));
    assert_eq!(event.message.as_deref(), Some("TagCount: too many tags"), "{event:?}");
}

#[test]
fn an_undeclared_target_or_point_is_unsupported_before_the_handler_runs() {
    for (point, target) in [
        ("CREATE_PRE_PROVISION", "AWS::SQS::Queue"),
        ("UPDATE_PRE_PROVISION", "AWS::SQS::Queue"),
        ("DELETE_PRE_PROVISION", "AWS::S3::Bucket"),
    ] {
        let event = handle(request(point, target, json!({"Panic": true})));
        assert_eq!(event.error_code, Some(HandlerErrorCode::UnsupportedTarget), "{point} {target}: {event:?}");
        assert!(event.message.as_deref().is_some_and(|m| m.contains("Rpdk::Test::BucketRule")), "{event:?}");
        assert_eq!(event.client_request_token.as_deref(), Some("token-1"));
    }
    // A wildcard matches: the update handler runs for any S3 type.
    let event = handle(request("UPDATE_PRE_PROVISION", "AWS::S3::AccessPoint", json!({"Algorithm": "aws:kms"})));
    assert_eq!(event.hook_status, HookStatus::Success, "{event:?}");
}

#[test]
fn in_progress_carries_the_context_back_and_the_next_invocation_decides() {
    let first =
        handle(request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({"Algorithm": "aws:kms", "Wait": "true"})));
    assert_eq!(first.hook_status, HookStatus::InProgress);
    assert_eq!(
        (first.callback_context.clone(), first.callback_delay_seconds),
        (Some(json!({"waited": true})), Some(3))
    );
    assert_eq!(first.error_code, None);
    let mut again = request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({"Algorithm": "aws:kms", "Wait": "true"}));
    again["requestContext"] = json!({"invocation": 2, "callbackContext": first.callback_context});
    assert_eq!(handle(again.clone()).hook_status, HookStatus::Success);
    // The same context sent back as JSON text, as a Lambda hook's may be.
    again["requestContext"]["callbackContext"] = json!(json!({"waited": true}).to_string());
    assert_eq!(handle(again.clone()).hook_status, HookStatus::Success);
    for (hostile, needle) in [(json!("{not json"), "not JSON text"), (json!([1]), "requestContext.callbackContext")] {
        again["requestContext"]["callbackContext"] = hostile;
        let event = handle(again.clone());
        assert_eq!(event.error_code, Some(HandlerErrorCode::InvalidRequest), "{event:?}");
        assert!(event.message.is_some_and(|m| m.contains(needle)));
    }
}

#[test]
fn every_malformed_request_is_answered_failed_naming_the_field() {
    let cases = [
        (json!("a string"), HandlerErrorCode::InvalidRequest, "not a JSON object"),
        (json!({}), HandlerErrorCode::InvalidRequest, "actionInvocationPoint: missing"),
        (
            json!({"actionInvocationPoint": "CREATE_POST_PROVISION", "clientRequestToken": "t"}),
            HandlerErrorCode::InvalidRequest,
            "'CREATE_POST_PROVISION' is not one of",
        ),
        (
            json!({"actionInvocationPoint": "CREATE_PRE_PROVISION"}),
            HandlerErrorCode::InvalidRequest,
            "clientRequestToken: missing",
        ),
        (
            json!({"actionInvocationPoint": "CREATE_PRE_PROVISION", "clientRequestToken": "t"}),
            HandlerErrorCode::InvalidRequest,
            "requestData.targetName: missing",
        ),
        (
            json!({"actionInvocationPoint": "CREATE_PRE_PROVISION", "clientRequestToken": "t", "requestData": {"targetName": 5}}),
            HandlerErrorCode::InvalidRequest,
            "requestData.targetName",
        ),
    ];
    for (payload, code, needle) in cases {
        let event = handle(payload.clone());
        assert_eq!(event.hook_status, HookStatus::Failed, "{payload}");
        assert_eq!(event.error_code, Some(code), "{payload}: {event:?}");
        assert!(event.message.as_deref().is_some_and(|m| m.contains(needle)), "{payload}: {event:?}");
    }
    let mut model = request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({}));
    model["requestData"]["targetModel"]["resourceProperties"] = json!([1]);
    assert!(handle(model).message.is_some_and(|m| m.contains("requestData.targetModel.resourceProperties")));
    let mut configuration = request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({}));
    configuration["hookModel"] = json!({"MaxTags": "many"});
    let event = handle(configuration);
    assert_eq!(event.error_code, Some(HandlerErrorCode::InvalidTypeConfiguration), "{event:?}");
    assert!(event.message.is_some_and(|m| m.contains("hookModel.MaxTags")));
    let mut credentials = request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({}));
    credentials["requestData"]["callerCredentials"] = json!("{\"accessKeyId\": \"AKIA\", \"secretAccessKey\": 7}");
    let event = handle(credentials);
    assert_eq!(event.error_code, Some(HandlerErrorCode::InvalidCredentials), "{event:?}");
    assert!(!event.message.unwrap_or_default().contains("AKIA"), "credentials never appear in a message");
}

#[test]
fn a_panic_is_a_failure_with_the_token() {
    let event = handle(request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", json!({"Panic": true})));
    assert_eq!((event.hook_status, event.error_code), (HookStatus::Failed, Some(HandlerErrorCode::InternalFailure)));
    assert_eq!(event.client_request_token.as_deref(), Some("token-1"));
}

#[test]
fn a_lambda_hook_is_checked_under_the_functions_configuration_and_decides_by_its_third_invocation() {
    let lambda = |properties: Value, invocation: u32| {
        let mut payload = request("CREATE_PRE_PROVISION", "AWS::S3::Bucket", properties);
        payload["hookModel"] = json!({"LambdaFunction": "arn:aws:lambda:us-east-1:123456789012:function:hook"});
        payload["requestData"]["targetType"] = json!("AWS::S3::Bucket");
        payload["requestData"].as_object_mut().expect("data").remove("callerCredentials");
        payload["requestContext"] = json!({"invocation": invocation, "callbackContext": null});
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let mut dispatcher = HookDispatcher::new(BucketRule);
        dispatcher.set_lambda_hook_configuration(json!({"RequiredAlgorithm": "AES256"}));
        runtime.block_on(dispatcher.handle(payload, None))
    };
    assert_eq!(lambda(json!({"Algorithm": "AES256"}), 1).hook_status, HookStatus::Success);
    assert_eq!(lambda(json!({"Algorithm": "aws:kms"}), 1).message.as_deref(), Some("Algorithm: aws:kms, not AES256"));
    assert_eq!(lambda(json!({"Algorithm": "AES256", "Wait": true}), 2).hook_status, HookStatus::InProgress);
    let last = lambda(json!({"Algorithm": "AES256", "Wait": true}), 3);
    assert_eq!(last.hook_status, HookStatus::Failed, "{last:?}");
    assert!(last.message.is_some_and(|m| m.contains("invocation 3")));
}

struct Fetched;

impl PayloadFetcher for Fetched {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send + 'a>> {
        Box::pin(async move {
            if url.contains("missing") { Err("403 Forbidden".into()) } else { Ok(json!({"template": "Resources: {}"})) }
        })
    }
}

#[test]
fn a_stack_targets_document_is_fetched_from_its_payload_url_whose_signature_never_shows() {
    let stack = |url: &str| {
        let mut payload = request("CREATE_PRE_PROVISION", "STACK", json!({}));
        payload["requestData"]["targetType"] = json!("STACK");
        payload["requestData"]["targetModel"] = json!({});
        payload["requestData"]["payload"] = json!(url);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(
            HookDispatcher::new(BucketRule).with_payload_fetcher(std::sync::Arc::new(Fetched)).handle(payload, None),
        )
    };
    assert_eq!(
        stack("https://bucket.s3.amazonaws.com/doc?X-Amz-Signature=abc").message.as_deref(),
        Some("template of 13 bytes")
    );
    let failed = stack("https://bucket.s3.amazonaws.com/missing?X-Amz-Signature=abc");
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("https://bucket.s3.amazonaws.com/missing: 403 Forbidden"), "{message}");
    assert!(!message.contains("Signature"), "{message}");
}

#[test]
fn target_names_match_as_the_registry_matches_wildcards() {
    let spec = HookHandlerSpec { target_names: &["AWS::S3::*", "AWS::?QS::Queue", "STACK"], permissions: &[] };
    for (name, handled) in [
        ("AWS::S3::Bucket", true),
        ("AWS::S3::", true),
        ("AWS::SQS::Queue", true),
        ("AWS::SNS::Topic", false),
        ("AWS::SQS::QueuePolicy", false),
        ("STACK", true),
        ("CHANGE_SET", false),
    ] {
        assert_eq!(spec.handles(name), handled, "{name}");
    }
}

#[test]
fn the_schema_is_in_the_hooks_dialect() {
    let schema = hook_schema::<Rules>(&BucketRule::metadata(), "Rpdk").expect("a schema");
    assert_eq!(schema["typeName"], "Rpdk::Test::BucketRule");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["typeConfiguration"]["additionalProperties"], false);
    assert_eq!(schema["typeConfiguration"]["properties"]["MaxTags"]["type"], "integer", "{schema}");
    assert_eq!(
        schema["handlers"]["preCreate"],
        json!({"targetNames": ["AWS::S3::Bucket", "STACK"], "permissions": []})
    );
    assert!(schema["handlers"].get("preDelete").is_none());
    assert!(schema.get("properties").is_none(), "hooks have no properties of their own");
}

#[test]
fn a_schema_the_registry_would_refuse_is_refused_naming_the_fix() {
    let base = BucketRule::metadata();
    let spec = |targets: &'static [&'static str], permissions: &'static [&'static str]| {
        Some(HookHandlerSpec { target_names: targets, permissions })
    };
    let cases = [
        (HookMetadata { pre_create: None, pre_update: None, ..base.clone() }, "has no handler"),
        (HookMetadata { pre_create: spec(&[], &[]), ..base.clone() }, "checks no target"),
        (HookMetadata { pre_create: spec(&["S3::Bucket"], &[]), ..base.clone() }, "write a type name"),
        (HookMetadata { pre_create: spec(&["AWS::S3::*?"], &[]), ..base.clone() }, "never `*?`"),
        (HookMetadata { pre_create: spec(&["AWS::S3::Bucket"], &["cloudformation:*"]), ..base.clone() }, "refuses it"),
    ];
    for (metadata, needle) in cases {
        let error = hook_schema::<Rules>(&metadata, "Rpdk").expect_err(needle).to_string();
        assert!(error.contains(needle), "{error}");
    }
}
