//! The native contract suite of `Rpdk::IAM::CrossAccountRole`, against moto through the
//! handler served by `cargo lambda watch`.

use aws_sdk_iam::Client;
use contract_tests::{Handler, assert_model, token, unique};
use serde_json::{Value, json};

const TYPE: &str = "Rpdk::IAM::CrossAccountRole";
const UNORDERED: &[&str] = &["TrustedAccountIds", "TrustedPrincipalArns", "ManagedPolicyArns", "Policies", "Tags"];

fn handler() -> Handler {
    Handler::new("cross-account-role", TYPE)
}

/// IAM in moto as the run's admin, for preparing and inspecting state behind the handler's back.
fn iam() -> Client {
    Client::new(&contract_tests::admin_config())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn role_exists(name: &str) -> bool {
    use aws_sdk_iam::error::ProvideErrorMetadata;
    runtime().block_on(async {
        match iam().get_role().role_name(name).send().await {
            Ok(_) => true,
            Err(error) if error.code() == Some("NoSuchEntity") => false,
            Err(error) => panic!("cannot tell whether {name} exists: {error:?}"),
        }
    })
}

/// A fresh managed policy, made by the admin; returns its ARN.
fn managed_policy(stem: &str) -> String {
    let document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]});
    runtime().block_on(async {
        let created = iam()
            .create_policy()
            .policy_name(unique(stem))
            .policy_document(document.to_string())
            .send()
            .await
            .expect("the admin makes a policy");
        created.policy().and_then(|p| p.arn()).expect("a policy ARN").to_owned()
    })
}

/// How many roles have the managed policy attached.
fn attachments(policy_arn: &str) -> i32 {
    runtime().block_on(async {
        let policy = iam().get_policy().policy_arn(policy_arn).send().await.expect("the policy exists");
        policy.policy().and_then(|p| p.attachment_count()).unwrap_or_default()
    })
}

fn full_model(name: &str) -> Value {
    json!({
        "RoleName": name,
        "Path": "/partners/",
        "TrustedAccountIds": ["111122223333", "444455556666"],
        "TrustedPrincipalArns": ["arn:aws:iam::777788889999:role/provisioner"],
        "ExternalId": "ext-1234",
        "RequireMfa": false,
        "MaxSessionDuration": 7200,
        "Description": "native suite",
        "Policies": [{"PolicyName": "p1", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}}],
        "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    })
}

#[test]
fn full_lifecycle_with_strict_comparison_and_identifier_only_requests() {
    let handler = handler();
    let name = unique("native-full");
    let model = full_model(&name);

    let created = handler.call("CREATE", &token(), model.clone(), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    assert_model(&model, &created["resourceModel"], UNORDERED);
    assert!(created["resourceModel"]["Arn"].as_str().is_some_and(|a| a.ends_with(&format!(":role/partners/{name}"))));
    assert!(
        created["resourceModel"]["Tags"].as_array().is_some_and(|t| t.len() == 2),
        "the ownership tag stays hidden"
    );

    let read = handler.call("READ", &token(), json!({"RoleName": name}), None);
    assert_eq!(read["status"], "SUCCESS", "{read}");
    assert_model(&model, &read["resourceModel"], UNORDERED);
    assert_eq!(read["resourceModel"], created["resourceModel"]);

    let mut updated = model.clone();
    updated["TrustedAccountIds"] = json!(["444455556666", "999988887777"]);
    updated["ExternalId"] = json!("ext-rotated");
    updated["RequireMfa"] = json!(true);
    updated["MaxSessionDuration"] = json!(3600);
    updated["Policies"] = json!([{"PolicyName": "p2", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]);
    updated["Tags"] = json!([{"Key": "b", "Value": "3"}, {"Key": "c", "Value": "4"}]);
    let after = handler.call("UPDATE", &token(), updated.clone(), Some(model.clone()));
    assert_eq!(after["status"], "SUCCESS", "{after}");
    assert_model(&updated, &after["resourceModel"], UNORDERED);
    assert_eq!(after["resourceModel"]["RoleId"], created["resourceModel"]["RoleId"], "updated in place");

    let listed = handler.list_all();
    assert!(listed.iter().any(|m| m["RoleName"] == name), "LIST (no model) finds the role");

    let deleted = handler.call("DELETE", &token(), json!({"RoleName": name}), None);
    assert_eq!(deleted, json!({"status": "SUCCESS"}));
    assert!(!role_exists(&name));
    for action in ["READ", "DELETE", "UPDATE"] {
        let model = if action == "UPDATE" { updated.clone() } else { json!({"RoleName": name}) };
        let gone = handler.call(action, &token(), model, None);
        assert_eq!(gone["errorCode"], "NotFound", "{action}: {gone}");
    }
    assert!(!handler.list_all().iter().any(|m| m["RoleName"] == name), "LIST no longer has it");
}

#[test]
fn a_generated_name_is_returned_and_a_retried_create_adopts_it() {
    let handler = handler();
    let mut model = full_model("unused");
    model.as_object_mut().expect("object").remove("RoleName");
    let same_token = token();
    let first = handler.call("CREATE", &same_token, model.clone(), None);
    assert_eq!(first["status"], "SUCCESS", "{first}");
    let name = first["resourceModel"]["RoleName"].as_str().expect("a generated name").to_owned();
    assert!(name.starts_with("PartnerRole-") && name.len() == "PartnerRole-".len() + 12, "{name}");

    let retried = handler.call("CREATE", &same_token, model.clone(), None);
    assert_eq!(retried["status"], "SUCCESS", "a retry of the same operation succeeds: {retried}");
    assert_eq!(retried["resourceModel"]["RoleName"], name.as_str());
    assert_eq!(retried["resourceModel"]["RoleId"], first["resourceModel"]["RoleId"], "the same role, adopted");

    let mut named = model.clone();
    named["RoleName"] = json!(name);
    let other = handler.call("CREATE", &token(), named, None);
    assert_eq!(other["errorCode"], "AlreadyExists", "another operation may not take the role: {other}");

    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}

#[test]
fn the_trust_policy_as_aws_stores_it_reads_back_as_the_model() {
    let name = unique("native-stored");
    // A single principal as a string, the external id as a list, an account as a bare id and
    // a deleted principal as its unique id: all forms IAM returns.
    let stored = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "AROAEXAMPLEDELETED01", "444455556666"]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": ["ext-stored"]}, "Bool": {"aws:MultiFactorAuthPresent": "true"}}
        }]
    });
    runtime().block_on(async {
        iam()
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(stored.to_string())
            .send()
            .await
            .expect("created in IAM");
    });
    let read = handler().call("READ", &token(), json!({"RoleName": name}), None);
    assert_eq!(read["status"], "SUCCESS", "{read}");
    assert_model(
        &json!({
            "RoleName": name,
            "Path": "/",
            "TrustedAccountIds": ["111122223333", "444455556666"],
            "TrustedPrincipalArns": ["AROAEXAMPLEDELETED01"],
            "ExternalId": "ext-stored",
            "RequireMfa": true,
            "MaxSessionDuration": 3600
        }),
        &read["resourceModel"],
        UNORDERED,
    );
    assert!(read["resourceModel"].get("Tags").is_none());
    assert_eq!(handler().call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}

#[test]
fn invalid_input_fails_before_any_iam_call() {
    let name = unique("native-invalid");
    let mut model = full_model(&name);
    model["TrustedPrincipalArns"] = json!(["arn:aws:iam::111122223333:root"]);
    let event = handler().call("CREATE", &token(), model, None);
    assert_eq!(event["errorCode"], "InvalidRequest", "{event}");
    assert!(
        event["message"].as_str().is_some_and(
            |m| m.starts_with("requestData.resourceProperties.TrustedPrincipalArns.0: value does not match")
        ),
        "the schema's rule, before any handler code: {event}"
    );
    assert!(!role_exists(&name), "nothing was created");

    let stringly = handler().call("CREATE", &token(), json!({"RoleName": name, "ExternalId": "ext-1", "TrustedAccountIds": ["111122223333"], "MaxSessionDuration": "lots"}), None);
    assert_eq!(stringly["errorCode"], "InvalidRequest");
    assert!(stringly["message"].as_str().is_some_and(|m| m.contains("MaxSessionDuration")), "{stringly}");
}

#[test]
fn stringified_primitives_from_templates_are_accepted() {
    let handler = handler();
    let name = unique("native-strings");
    let model = json!({"RoleName": name, "ExternalId": "ext-1", "TrustedAccountIds": ["111122223333"], "MaxSessionDuration": "7200", "RequireMfa": "true"});
    let created = handler.call("CREATE", &token(), model, None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    assert_eq!(created["resourceModel"]["MaxSessionDuration"], 7200);
    assert_eq!(created["resourceModel"]["RequireMfa"], true);
    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}

#[test]
fn a_failure_after_the_role_exists_leaves_nothing_behind() {
    let name = unique("native-rollback");
    let attached = managed_policy("native-rollback");
    let mut model = full_model(&name);
    model["ManagedPolicyArns"] = json!([attached, "arn:aws:iam::123456789012:policy/does-not-exist"]);
    let event = handler().call("CREATE", &token(), model, None);
    assert_eq!(event["errorCode"], "InvalidRequest", "{event}");
    assert!(event["message"].as_str().is_some_and(|m| m.contains("ManagedPolicyArns")), "{event}");
    assert!(!role_exists(&name), "the half-made role was rolled back");
    assert_eq!(attachments(&attached), 0, "the policy attached before the failure was detached");
}

#[test]
fn an_update_sets_and_removes_the_boundary_and_managed_policies_in_place() {
    let handler = handler();
    let name = unique("native-boundary");
    let (boundary, managed) = (managed_policy("native-boundary"), managed_policy("native-managed"));
    let model = json!({"RoleName": name, "ExternalId": "ext-1", "TrustedAccountIds": ["111122223333"]});
    let created = handler.call("CREATE", &token(), model.clone(), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");

    let mut bounded = model.clone();
    bounded["PermissionsBoundary"] = json!(boundary);
    bounded["ManagedPolicyArns"] = json!([managed]);
    let after = handler.call("UPDATE", &token(), bounded.clone(), Some(model.clone()));
    assert_eq!(after["status"], "SUCCESS", "{after}");
    assert_model(&bounded, &after["resourceModel"], UNORDERED);
    assert_eq!(after["resourceModel"]["RoleId"], created["resourceModel"]["RoleId"], "updated in place");

    let unbounded = handler.call("UPDATE", &token(), model.clone(), Some(bounded));
    assert_eq!(unbounded["status"], "SUCCESS", "{unbounded}");
    for removed in ["PermissionsBoundary", "ManagedPolicyArns"] {
        assert!(unbounded["resourceModel"].get(removed).is_none(), "{removed} removed: {unbounded}");
    }
    assert_eq!(attachments(&managed), 0);
    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}

#[test]
fn a_create_only_change_is_not_updatable() {
    let handler = handler();
    let name = unique("native-createonly");
    let model = full_model(&name);
    assert_eq!(handler.call("CREATE", &token(), model.clone(), None)["status"], "SUCCESS");
    let mut moved = model.clone();
    moved["Path"] = json!("/elsewhere/");
    let event = handler.call("UPDATE", &token(), moved, Some(model));
    assert_eq!(event["errorCode"], "NotUpdatable", "{event}");
    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}

#[test]
fn requests_without_the_identifier_are_not_found() {
    for action in ["READ", "DELETE"] {
        let event = handler().call(action, &token(), json!({}), None);
        assert_eq!(event["errorCode"], "NotFound", "{action}: {event}");
    }
}

/// The proof that the suite's passes mean something: moto really enforces IAM, so a handler
/// whose role lacks the permissions is refused, and says so with the right code.
#[test]
fn without_its_permissions_the_handler_is_denied() {
    let handler = handler();
    let name = unique("native-denied");
    assert_eq!(handler.call("CREATE", &token(), full_model(&name), None)["status"], "SUCCESS");
    let denied = Handler::new("cross-account-role", TYPE).without_permissions();
    for action in ["READ", "DELETE"] {
        let event = denied.call(action, &token(), json!({"RoleName": name}), None);
        assert_eq!(event["errorCode"], "AccessDenied", "{action}: {event}");
    }
    assert!(role_exists(&name), "the denied DELETE changed nothing");
    assert_eq!(handler.call("DELETE", &token(), json!({"RoleName": name}), None)["status"], "SUCCESS");
}
