//! What every type does for its author on AWS, checked on the local stack: provider logs
//! delivered to the log group the request names and metrics published, both with the provider's
//! credentials; and a progress event for any payload, however malformed.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use contract_tests::{Handler, ProviderLogging, token, unique};
use serde_json::{Value, json};

/// Every type, its function and a READ of something that does not exist.
fn missing_of_each_type() -> [(&'static str, &'static str, Value); 5] {
    [
        ("Rpdk::IAM::CrossAccountRole", "cross-account-role", json!({"RoleName": unique("missing")})),
        ("Rpdk::EC2::PrivateLinkService", "privatelink-service", json!({"ServiceId": "vpce-svc-0123456789abcdef0"})),
        ("Rpdk::SCIM::Connector", "scim-connector", json!({"Name": unique("missing")})),
        (
            "Rpdk::SCIM::User",
            "scim-connector",
            json!({"Connector": unique("missing"), "Id": "2819c223-7f76-453a-919d-413861904646"}),
        ),
        (
            "Rpdk::SCIM::Group",
            "scim-connector",
            json!({"Connector": unique("missing"), "Id": "e9e30dba-f08f-4109-8486-d5c6a331660a"}),
        ),
    ]
}

/// The JSON log records among `messages`.
fn records(messages: &[String]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| serde_json::from_str(m).unwrap_or_else(|e| panic!("a delivered record is not JSON ({e}): {m}")))
        .collect()
}

/// The sum of `metric` in `namespace` with exactly `dimensions`, over the last hour.
fn metric_sum(namespace: &str, metric: &str, dimensions: &[(&str, &str)]) -> f64 {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&contract_tests::admin_config());
    let now = SystemTime::now();
    tokio::runtime::Runtime::new().expect("runtime").block_on(async {
        let statistics = cloudwatch
            .get_metric_statistics()
            .namespace(namespace)
            .metric_name(metric)
            .set_dimensions(Some(
                dimensions.iter().map(|(name, value)| Dimension::builder().name(*name).value(*value).build()).collect(),
            ))
            .start_time((now - Duration::from_secs(3600)).into())
            .end_time((now + Duration::from_secs(60)).into())
            .period(3600)
            .statistics(Statistic::Sum)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetMetricStatistics {namespace} {metric}: {e:?}"));
        statistics.datapoints().iter().filter_map(|point| point.sum()).sum()
    })
}

#[test]
fn every_type_delivers_its_records_and_metrics_where_the_request_says() {
    for (type_name, function, missing) in missing_of_each_type() {
        let logging = ProviderLogging::new("provider-logs");
        let handler = Handler::new(function, type_name).with_provider_logging(&logging);
        let event = handler.call("READ", &token(), missing, None);
        assert_eq!(event["status"], "FAILED", "{type_name}: {event}");
        let code = event["errorCode"].as_str().expect("a FAILED event has a code").to_owned();

        let delivered = records(&logging.delivered("PartnerRole"));
        let done = delivered
            .iter()
            .find(|r| r["message"] == "done")
            .unwrap_or_else(|| panic!("{type_name}: no closing record among {delivered:?}"));
        assert_eq!(done["status"], "FAILED", "plain values, not debug forms: {done}");
        assert_eq!(done["error_code"], code.as_str(), "{done}");
        assert_eq!(done["span"]["action"], "READ", "{done}");
        assert_eq!(done["span"]["resource_type"], type_name, "{done}");

        let namespace = format!("AWS/CloudFormation/{}", type_name.replace("::", "/"));
        let by_type = [("Action", "READ"), ("ResourceType", type_name)];
        assert!(
            metric_sum(&namespace, "HandlerInvocationCount", &by_type) >= 1.0,
            "{namespace}: no invocation counted"
        );
        assert!(
            metric_sum(&namespace, "HandlerExceptionByErrorCode", &[("Action", "READ"), ("HandlerErrorCode", &code)])
                >= 1.0,
            "{namespace}: {code} not counted"
        );
        let exception = [
            ("Action", "READ"),
            ("ExceptionType", "rpdk::HandlerError"),
            ("ResourceType", type_name),
            ("HandlerErrorCode", code.as_str()),
        ];
        assert!(metric_sum(&namespace, "HandlerException", &exception) >= 1.0, "{namespace}: no HandlerException");
    }
}

/// A READ of a missing role inside `logging`'s stack, with `credentials` as the provider's and
/// the log group only when `with_group`.
fn read_missing_role(logging: &ProviderLogging, credentials: Value, with_group: bool) -> Value {
    let handler = Handler::new("cross-account-role", "Rpdk::IAM::CrossAccountRole");
    let mut request = handler.request("READ", &token(), json!({"RoleName": unique("missing")}), None);
    request["stackId"] = logging.stack_id.clone().into();
    request["requestData"]["providerCredentials"] = credentials;
    if with_group {
        request["requestData"]["providerLogGroupName"] = logging.log_group.clone().into();
    }
    handler.invoke(&request)
}

#[test]
fn without_a_log_group_nothing_is_delivered_and_the_answer_is_the_same() {
    let logging = ProviderLogging::new("no-group");
    let event = read_missing_role(&logging, contract_tests::principals()["provider"]["credentials"].clone(), false);
    assert_eq!(event["errorCode"], "NotFound", "{event}");
    assert!(logging.delivered("PartnerRole").is_empty());
}

#[test]
fn a_provider_that_may_not_log_changes_nothing_in_the_answer() {
    let logging = ProviderLogging::new("denied-logs");
    let event = read_missing_role(&logging, contract_tests::principals()["denied"].clone(), true);
    assert_eq!(event, json!({"status": "FAILED", "errorCode": "NotFound", "message": event["message"]}), "{event}");
    assert!(logging.delivered("PartnerRole").is_empty(), "a role without the logging permissions delivered records");
}

/// Payloads a hostile or broken client sends; each gets a progress event with the code
/// CloudFormation would act on.
#[test]
fn every_malformed_payload_gets_a_progress_event() {
    let handler = Handler::new("cross-account-role", "Rpdk::IAM::CrossAccountRole");
    let deep = format!("{{\"action\":\"READ\",\"requestData\":{}{}}}", "[".repeat(300), "]".repeat(300));
    let mut bad_utf8 = br#"{"action":"READ","resourceType":"Rpdk::IAM::CrossAccountRole","requestData":{"resourceProperties":{"RoleName":""#.to_vec();
    bad_utf8.extend_from_slice(b"\xff\xfe\"}}}");
    let rows: [(&str, Vec<u8>, &str); 5] = [
        ("deeper than the parser goes", deep.into_bytes(), "recursion limit exceeded"),
        ("not JSON", b"CREATE please".to_vec(), "not a JSON document"),
        ("not UTF-8", bad_utf8, "not UTF-8 text"),
        ("a bare string", b"\"READ\"".to_vec(), "a JSON string, not an object"),
        ("nothing", Vec::new(), "not a JSON document"),
    ];
    for (what, payload, says) in rows {
        let event = handler.invoke_bytes(&payload);
        assert_eq!(event["status"], "FAILED", "{what}: {event}");
        assert_eq!(event["errorCode"], "InvalidRequest", "{what}: {event}");
        assert!(event["message"].as_str().is_some_and(|m| m.contains(says)), "{what}: {event}");
    }

    let mut delete = handler.request("DELETE", &token(), json!({"RoleName": unique("missing")}), None);
    delete["callbackContext"] = json!({});
    let event = handler.invoke(&delete);
    assert_eq!(event["errorCode"], "NotFound", "an empty context is a first invocation: {event}");

    let mut list = handler.request("LIST", &token(), Value::Null, None);
    list["nextToken"] = "".into();
    let event = handler.invoke(&list);
    assert_eq!(event["status"], "SUCCESS", "an empty nextToken is the first page: {event}");
}
