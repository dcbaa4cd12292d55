//! Answers within CloudFormation's limits, on a slow path: the fault proxy in front of moto
//! stalls or throttles one operation of one signer (each test signs with an IAM user of its
//! own), and every invocation must still answer before the deadline it was given, with the
//! outcome the protocol wants: FAILED with a retriable code naming what used the time, or
//! IN_PROGRESS with the saved context once the operation can resume.
//!
//! The local stack runs one process per function, which serves one invocation at a time, so
//! the cases run one after another in one test: run side by side, each would wait for the
//! other's invocation and the time measured would not be the invocation's own.

use contract_tests::{Fault, FaultKind, Handler, invocation_limit, own_credentials, recorded_actions, token, unique};
use serde_json::{Value, json};

const TYPE: &str = "Rpdk::IAM::CrossAccountRole";
/// Longer than any invocation: a stalled call is never answered in time.
const FOREVER: u64 = 120;

/// The role handler, signing with a user no other test uses.
fn handler() -> (Handler, Value) {
    let credentials = own_credentials("rpdk-iam-crossaccountrole");
    (Handler::new("cross-account-role", TYPE).with_credentials(credentials.clone()), credentials)
}

fn role(name: &str) -> Value {
    json!({
        "RoleName": name,
        "TrustedAccountIds": ["111122223333"],
        "ExternalId": "ext-deadline",
        "Policies": [{"PolicyName": "p1", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}}]
    })
}

/// One invocation that must answer before its deadline; returns the event.
fn answered_in_time(handler: &Handler, action: &str, model: Value) -> Value {
    let mut events = handler.events(action, &token(), model, None);
    assert_eq!(events.len(), 1, "{action} answers once: {events:?}");
    let (event, took) = events.remove(0);
    assert!(
        took < invocation_limit(),
        "{action} answered after {took:?}, past the deadline of {:?}: {event}",
        invocation_limit()
    );
    event
}

fn assert_ran_out(event: &Value, code: &str) {
    assert_eq!(event["status"], "FAILED", "{event}");
    assert_eq!(event["errorCode"], code, "{event}");
    assert!(
        event["message"].as_str().is_some_and(|m| m.starts_with("time ran out")),
        "the message says time ran out: {event}"
    );
}

#[test]
fn every_invocation_answers_before_its_deadline_on_a_slow_path() {
    a_read_or_list_whose_call_never_answers_fails_retriably();
    a_read_the_service_throttles_until_the_deadline_fails_as_throttling();
    a_create_whose_first_call_never_answers_fails_retriably_and_makes_nothing();
    a_create_stopped_after_its_checkpoint_resumes_where_it_stopped_and_finishes();
}

fn a_read_or_list_whose_call_never_answers_fails_retriably() {
    let (handler, credentials) = handler();
    let name = unique("deadline-read");
    let created = handler.call("CREATE", &token(), role(&name), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");

    for (action, operation, model) in [("READ", "GetRole", json!({"RoleName": name})), ("LIST", "ListRoles", json!({}))]
    {
        let stall = Fault::arm(FaultKind::Stall, operation, &credentials, FOREVER, None);
        let event = answered_in_time(&handler, action, model);
        assert_ran_out(&event, "NetworkFailure");
        assert!(stall.hits() >= 1, "{operation} was held");
    }
    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}

fn a_read_the_service_throttles_until_the_deadline_fails_as_throttling() {
    let (handler, credentials) = handler();
    let name = unique("deadline-throttled");
    assert_eq!(handler.call("CREATE", &token(), role(&name), None)["status"], "SUCCESS");

    // Each answer a throttling error after 6 s: the SDK's retries use the whole invocation.
    let throttle = Fault::arm(FaultKind::Throttle, "GetRole", &credentials, 6, None);
    let event = answered_in_time(&handler, "READ", json!({"RoleName": name}));
    assert_ran_out(&event, "Throttling");
    assert!(event["message"].as_str().is_some_and(|m| m.contains("throttled")), "{event}");
    assert!(throttle.hits() >= 2, "the SDK retried the throttled call");
    drop(throttle);
    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}

fn a_create_whose_first_call_never_answers_fails_retriably_and_makes_nothing() {
    let (handler, credentials) = handler();
    let name = unique("deadline-create");
    let _stall = Fault::arm(FaultKind::Stall, "CreateRole", &credentials, FOREVER, None);
    let event = answered_in_time(&handler, "CREATE", role(&name));
    assert_ran_out(&event, "NetworkFailure");
    let read = Handler::new("cross-account-role", TYPE).call("READ", &token(), json!({"RoleName": name}), None);
    assert_eq!(read["errorCode"], "NotFound", "the held CreateRole never reached the service: {read}");
}

fn a_create_stopped_after_its_checkpoint_resumes_where_it_stopped_and_finishes() {
    let (handler, credentials) = handler();
    let name = unique("deadline-resume");
    let operation_token = token();
    // The first invocation's PutRolePolicy attempts are held until it is stopped.
    let stall = Fault::arm(FaultKind::Stall, "PutRolePolicy", &credentials, FOREVER, Some(2));
    let events = handler.events("CREATE", &operation_token, role(&name), None);

    for (event, took) in &events {
        assert!(
            *took < invocation_limit(),
            "answered after {took:?}, past the deadline of {:?}: {event}",
            invocation_limit()
        );
    }
    let (first, _) = &events[0];
    assert_eq!(first["status"], "IN_PROGRESS", "{first}");
    assert_eq!(first["resourceModel"]["RoleName"], name.as_str());
    assert!(
        first["callbackContext"]["steps"].get("create-role").is_some(),
        "the finished CreateRole is recorded: {first}"
    );
    assert!(stall.hits() >= 1);

    let (last, _) = events.last().expect("a final event");
    assert_eq!(last["status"], "SUCCESS", "{last}");
    assert_eq!(last["resourceModel"]["Policies"][0]["PolicyName"], "p1", "{last}");
    let creates =
        recorded_actions(&rpdk_aws::operation_id(&operation_token)).iter().filter(|a| *a == "iam:CreateRole").count();
    assert_eq!(creates, 1, "the resumed invocation did not repeat the recorded CreateRole");
    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}
