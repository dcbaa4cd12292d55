//! The hooks as CloudFormation calls them: through the local stack's Lambda endpoint, in both
//! protocols. As a registered hook (the hook's configuration as `hookModel`, the hook role's
//! credentials as a JSON string) and as a Lambda hook (`hookModel` naming the function, no
//! credentials, the configuration from the function's environment, which here has none):
//! every rule compliant and not, values sent as strings, targets the hook does not check, and
//! malformed payloads, each answered in the hook protocol with the request's token.

use contract_tests::{ACCOUNT_ID, ProviderLogging, principals, stack};
use rpdk_local::Functions;
use serde_json::{Value, json};

const HOOK: &str = "Rpdk::Governance::EncryptionHook";
const FUNCTION: &str = "encryption-hook";

fn functions() -> Functions {
    Functions::new(&stack().lambda_url)
}

/// A registered hook's request, with the hook role's credentials.
fn registered(point: &str, target: &str, properties: Value, configuration: Value) -> Value {
    let credentials = &principals()["handlers"][HOOK]["credentials"];
    assert!(credentials.is_object(), "the run has a role for {HOOK}");
    json!({
        "clientRequestToken": format!("token-{}", std::process::id()),
        "awsAccountId": ACCOUNT_ID,
        "stackId": format!("arn:aws:cloudformation:us-east-1:{ACCOUNT_ID}:stack/data/1"),
        "hookTypeName": HOOK,
        "hookTypeVersion": "00000001",
        "hookModel": configuration,
        "actionInvocationPoint": point,
        "requestData": {
            "targetName": target,
            "targetType": "RESOURCE",
            "targetLogicalId": "Store",
            "targetModel": {"resourceProperties": properties},
            "callerCredentials": credentials.to_string(),
        },
        "requestContext": {"invocation": 1, "callbackContext": null}
    })
}

/// The same check as a Lambda hook sends it.
fn lambda_hook(point: &str, target: &str, properties: Value) -> Value {
    let mut request = registered(point, target, properties, Value::Null);
    request["hookTypeName"] = json!("Private::Lambda::Encryption");
    request["hookModel"] =
        json!({"LambdaFunction": format!("arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{FUNCTION}")});
    request["requestData"]["targetType"] = json!(target);
    request["requestData"].as_object_mut().expect("requestData").remove("callerCredentials");
    request
}

fn invoke(request: &Value) -> Value {
    let answer = functions().invoke(FUNCTION, request).expect("the hook answers");
    assert_eq!(answer["clientRequestToken"], request["clientRequestToken"], "the token is echoed: {answer}");
    answer
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
        let text = functions().invoke_bytes(FUNCTION, &payload).expect("the hook answers");
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
