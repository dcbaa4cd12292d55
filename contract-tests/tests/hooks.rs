//! The hooks as CloudFormation calls them: through the local stack's Lambda endpoint, in both
//! protocols. As a registered hook (the hook's configuration as `hookModel`, the hook role's
//! credentials as a JSON string) and as a Lambda hook (`hookModel` naming the function, no
//! credentials, the configuration from the function's environment, which here has none):
//! every rule compliant and not, values sent as strings, targets the hook does not check, and
//! malformed payloads, each answered in the hook protocol with the request's token.

use contract_tests::hook_call::HookCall;
use contract_tests::{ProviderLogging, principals};
use serde_json::{Value, json};

const HOOK: HookCall = HookCall { type_name: "Rpdk::Governance::EncryptionHook", function: "encryption-hook" };
const ALIAS: &str = "Private::Lambda::Encryption";

fn registered(point: &str, target: &str, properties: Value, configuration: Value) -> Value {
    HOOK.registered(point, target, json!({"resourceProperties": properties}), configuration)
}

fn lambda_hook(point: &str, target: &str, properties: Value) -> Value {
    HOOK.lambda_hook(ALIAS, point, target, json!({"resourceProperties": properties}))
}

fn invoke(request: &Value) -> Value {
    HOOK.invoke(request)
}

fn bucket(algorithm: Option<&str>) -> Value {
    match algorithm {
        None => json!({"BucketName": "records"}),
        Some(algorithm) => json!({"BucketName": "records", "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]}}),
    }
}

#[test]
fn every_rule_compliant_and_not_in_both_protocols() {
    let kms = json!({"RequiredBucketAlgorithm": "aws:kms", "RequireKmsForQueues": "false"});
    let rows = [
        ("AWS::S3::Bucket", bucket(Some("aws:kms")), None),
        ("AWS::S3::Bucket", bucket(None), Some("BucketEncryption: missing")),
        ("AWS::S3::Bucket", bucket(Some("AES256")), Some("requires aws:kms")),
        ("AWS::SQS::Queue", json!({"SqsManagedSseEnabled": "true"}), None),
        ("AWS::SQS::Queue", json!({"KmsMasterKeyId": "alias/events"}), None),
        ("AWS::SQS::Queue", json!({"SqsManagedSseEnabled": "false"}), Some("neither declares encryption")),
    ];
    for point in ["CREATE_PRE_PROVISION", "UPDATE_PRE_PROVISION"] {
        for (target, properties, fault) in &rows {
            let answer = invoke(&registered(point, target, properties.clone(), kms.clone()));
            match fault {
                None => assert_eq!(answer["hookStatus"], "SUCCESS", "{point} {target} {properties}: {answer}"),
                Some(fault) => {
                    assert_eq!(
                        (answer["hookStatus"].as_str(), answer["errorCode"].as_str()),
                        (Some("FAILED"), Some("NonCompliant")),
                        "{answer}"
                    );
                    assert!(
                        answer["message"].as_str().is_some_and(|m| m.starts_with("Store: ") && m.contains(fault)),
                        "{answer}"
                    );
                    assert_eq!(answer["annotations"][0]["status"], "FAILED", "{answer}");
                }
            }
        }
    }
    // As a Lambda hook the function's own configuration (none here) applies: any algorithm.
    assert_eq!(
        invoke(&lambda_hook("CREATE_PRE_PROVISION", "AWS::S3::Bucket", bucket(Some("AES256"))))["hookStatus"],
        "SUCCESS"
    );
    let refused = invoke(&lambda_hook("CREATE_PRE_PROVISION", "AWS::SQS::Queue", json!({})));
    assert_eq!(refused["errorCode"], "NonCompliant", "{refused}");
}

#[test]
fn targets_and_points_the_hook_does_not_check_are_unsupported() {
    for (point, target) in [("CREATE_PRE_PROVISION", "AWS::SNS::Topic"), ("DELETE_PRE_PROVISION", "AWS::S3::Bucket")] {
        for request in [registered(point, target, json!({}), json!({})), lambda_hook(point, target, json!({}))] {
            let answer = invoke(&request);
            assert_eq!(answer["errorCode"], "UnsupportedTarget", "{point} {target}: {answer}");
        }
    }
}

#[test]
fn every_malformed_payload_is_answered_in_the_hook_protocol() {
    let rows: [(&str, Vec<u8>, &str, &str); 4] = [
        ("not JSON", b"{\"actionInvocationPoint\": ".to_vec(), "InvalidRequest", "not a JSON document"),
        ("a JSON list", b"[1, 2]".to_vec(), "InvalidRequest", "not an object"),
        (
            "no invocation point",
            br#"{"clientRequestToken": "t"}"#.to_vec(),
            "InvalidRequest",
            "actionInvocationPoint: missing",
        ),
        (
            "credentials that are not credentials",
            serde_json::to_vec(&{
                let mut request =
                    registered("CREATE_PRE_PROVISION", "AWS::S3::Bucket", bucket(Some("aws:kms")), json!({}));
                request["requestData"]["callerCredentials"] = json!("{\"accessKeyId\": 5}");
                request
            })
            .expect("JSON"),
            "InvalidCredentials",
            "requestData.callerCredentials",
        ),
    ];
    for (what, payload, code, says) in rows {
        let text = HOOK.invoke_bytes(&payload);
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
        assert_eq!(
            (answer["hookStatus"].as_str(), answer["errorCode"].as_str()),
            (Some("FAILED"), Some(code)),
            "{what}: {answer}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| m.contains(says)), "{what}: {answer}");
    }
    let bad_configuration = invoke(&registered(
        "CREATE_PRE_PROVISION",
        "AWS::S3::Bucket",
        bucket(Some("aws:kms")),
        json!({"RequiredBucketAlgorithm": "rot13"}),
    ));
    assert_eq!(bad_configuration["errorCode"], "InvalidTypeConfiguration", "{bad_configuration}");
}

#[test]
fn a_registered_hook_delivers_its_records_where_the_request_says() {
    let logging = ProviderLogging::new("hook-logs");
    let mut request = registered("CREATE_PRE_PROVISION", "AWS::S3::Bucket", bucket(None), json!({}));
    request["stackId"] = json!(logging.stack_id);
    request["requestData"]["providerLogGroupName"] = json!(logging.log_group);
    // As the hook protocol sends every credential: a JSON object encoded as a string.
    request["requestData"]["providerCredentials"] = json!(principals()["provider"]["credentials"].to_string());
    let answer = invoke(&request);
    assert_eq!(answer["errorCode"], "NonCompliant", "{answer}");
    let delivered: Vec<Value> =
        logging.delivered("Store").iter().map(|m| serde_json::from_str(m).expect("a JSON record")).collect();
    let done =
        delivered.iter().find(|r| r["message"] == "done").unwrap_or_else(|| panic!("no closing record: {delivered:?}"));
    assert_eq!(
        (done["status"].as_str(), done["error_code"].as_str()),
        (Some("FAILED"), Some("NonCompliant")),
        "{done}"
    );
    assert_eq!(done["span"]["action"], "CREATE_PRE_PROVISION", "{done}");
    assert_eq!(done["span"]["resource_type"], "AWS::S3::Bucket", "{done}");
}
