//! The native contract suite of `Rpdk::SCIM::Connector`, `::User` and `::Group`, against moto
//! (SSM) and scim2-server (the SCIM provider), through the handler served on the local stack.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use contract_tests::{Caller, FaultKind, FaultRule, Handler, ProviderLogging, assert_model, token, unique};
use rpdk::{HandlerErrorCode, Secret};
use scim_connector::scim::{Endpoint, Scim};
use serde_json::{Value, json};

const CONNECTOR: &str = "Rpdk::SCIM::Connector";
const USER: &str = "Rpdk::SCIM::User";
const GROUP: &str = "Rpdk::SCIM::Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn handler(type_name: &str) -> Handler {
    Handler::new("scim-connector", type_name)
}

fn scim_url() -> String {
    contract_tests::stack().scim_url.clone()
}

fn scim_token() -> String {
    contract_tests::stack().scim_token.clone()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&contract_tests::admin_config())
}

/// scim2-server itself, as an administrator of the provider would use it.
fn provider(method: &str, path: &str, body: Option<Value>) -> Value {
    provider_at(&scim_url(), method, path, body)
}

fn provider_at(base_url: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let url = format!("{base_url}/{path}");
    let auth = format!("Bearer {}", scim_token());
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(&url)
        .header("Authorization", auth)
        .header("Content-Type", "application/scim+json");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = match body {
        Some(body) => agent.run(request.body(body.to_string()).expect("request")),
        None => agent.run(request.body(()).expect("request")),
    }
    .expect("scim2-server answers");
    response.body_mut().read_json().unwrap_or(Value::Null)
}

/// A connector to the run's scim2-server, made through the handler.
fn connector(stem: &str) -> String {
    connector_to(stem, &scim_url())
}

fn connector_to(stem: &str, base_url: &str) -> String {
    let name = unique(stem);
    let created = handler(CONNECTOR).call(
        "CREATE",
        &token(),
        json!({"Name": name, "BaseUrl": base_url, "BearerToken": scim_token()}),
        None,
    );
    assert_eq!(created["status"], "SUCCESS", "{created}");
    name
}

fn id(event: &Value) -> String {
    event["resourceModel"]["Id"].as_str().unwrap_or_else(|| panic!("no Id in {event}")).to_owned()
}

#[test]
fn a_connector_is_proven_stored_as_a_secure_string_and_never_shown() {
    let handler = handler(CONNECTOR);
    let name = unique("partner-idp");
    let model = json!({
        "Name": name, "BaseUrl": scim_url(), "BearerToken": scim_token(), "Description": "partner directory",
        "Tags": [{"Key": "team", "Value": "identity"}, {"Key": "tier", "Value": "1"}]
    });
    let created = handler.call("CREATE", &token(), model.clone(), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    assert!(created["resourceModel"].get("BearerToken").is_none(), "write-only: {created}");
    let capabilities = &created["resourceModel"]["Capabilities"];
    for feature in ["Patch", "Filter", "Sort", "ETag"] {
        assert_eq!(capabilities[feature], true, "discovered {feature}: {capabilities}");
    }
    assert_eq!(capabilities["MaxResults"], 1000);

    let token_parameter = runtime().block_on(async {
        ssm()
            .get_parameter()
            .name(format!("/rpdk/scim/connectors/{name}/token"))
            .send()
            .await
            .expect("the token parameter")
    });
    let parameter = token_parameter.parameter().expect("a parameter");
    assert_eq!(parameter.r#type(), Some(&ParameterType::SecureString));
    assert_ne!(parameter.value(), Some(scim_token().as_str()), "stored encrypted");

    let read = handler.call("READ", &token(), json!({"Name": name}), None);
    assert_eq!(read["resourceModel"], created["resourceModel"], "READ answers from SSM what CREATE did");

    // No token in the update: the stored one proves the connection again.
    let mut updated = created["resourceModel"].clone();
    updated["Description"] = json!("partner directory, v2");
    updated["Tags"] = json!([{"Key": "team", "Value": "iam"}]);
    let after = handler.call("UPDATE", &token(), updated.clone(), Some(created["resourceModel"].clone()));
    assert_eq!(after["status"], "SUCCESS", "{after}");
    assert_model(
        &json!({"Description": "partner directory, v2", "Tags": [{"Key": "team", "Value": "iam"}]}),
        &after["resourceModel"],
        &["Tags"],
    );

    let mut wrong = updated.clone();
    wrong["BearerToken"] = json!("not-the-token");
    let refused = handler.call("UPDATE", &token(), wrong, Some(after["resourceModel"].clone()));
    assert_eq!(refused["errorCode"], "AccessDenied", "{refused}");
    assert!(refused["message"].as_str().is_some_and(|m| m.starts_with("BearerToken:")), "{refused}");

    assert!(handler.list_all().iter().any(|m| m["Name"] == json!(name)), "LIST finds the connector");
    let deleted = handler.call("DELETE", &token(), json!({"Name": name}), None);
    assert_eq!(deleted, json!({"status": "SUCCESS"}));
    for action in ["READ", "DELETE"] {
        assert_eq!(handler.call(action, &token(), json!({"Name": name}), None)["errorCode"], "NotFound", "{action}");
    }
    let left = runtime().block_on(async {
        ssm()
            .get_parameters_by_path()
            .path(format!("/rpdk/scim/connectors/{name}"))
            .recursive(true)
            .send()
            .await
            .expect("a listing")
    });
    assert!(left.parameters().is_empty(), "nothing left in SSM");
}

#[test]
fn a_connector_that_cannot_be_proven_is_refused_saying_what_to_fix() {
    let handler = handler(CONNECTOR);
    let tls_to_plain_http = scim_url().replace("http://", "https://");
    for (base_url, bearer, code, names) in [
        (scim_url(), "wrong-token".to_owned(), "AccessDenied", "BearerToken"),
        ("http://127.0.0.1:9/v2".to_owned(), scim_token(), "NetworkFailure", "BaseUrl"),
        (tls_to_plain_http, scim_token(), "NetworkFailure", "BaseUrl"),
        // The Users endpoint instead of the base URL: no ServiceProviderConfig there.
        (format!("{}/Users", scim_url()), scim_token(), "InvalidRequest", "BaseUrl"),
        ("http://idp.example.com/scim/v2".to_owned(), scim_token(), "InvalidRequest", "BaseUrl"),
    ] {
        let name = unique("refused");
        let event =
            handler.call("CREATE", &token(), json!({"Name": name, "BaseUrl": base_url, "BearerToken": bearer}), None);
        assert_eq!(event["errorCode"], code, "{base_url}: {event}");
        assert!(event["message"].as_str().is_some_and(|m| m.contains(names)), "names {names}: {event}");
        assert_eq!(
            handler.call("READ", &token(), json!({"Name": name}), None)["errorCode"],
            "NotFound",
            "nothing saved"
        );
    }
}

#[test]
fn a_connector_name_is_taken_once_and_a_retried_create_succeeds() {
    let handler = handler(CONNECTOR);
    let name = unique("shared");
    let model = json!({"Name": name, "BaseUrl": scim_url(), "BearerToken": scim_token()});
    let operation = token();
    assert_eq!(handler.call("CREATE", &operation, model.clone(), None)["status"], "SUCCESS");
    assert_eq!(
        handler.call("CREATE", &operation, model.clone(), None)["status"],
        "SUCCESS",
        "the same operation again"
    );
    assert_eq!(handler.call("CREATE", &token(), model, None)["errorCode"], "AlreadyExists", "another operation");
    handler.call("DELETE", &token(), json!({"Name": name}), None);
}

#[test]
fn a_connector_that_fails_half_way_leaves_nothing_behind() {
    let limited = handler(CONNECTOR)
        .with_credentials(contract_tests::credentials_without("rpdk-scim-connector", "ssm:AddTagsToResource"));
    let name = unique("half-made");
    let model = json!({"Name": name, "BaseUrl": scim_url(), "BearerToken": scim_token(), "Tags": [{"Key": "team", "Value": "identity"}]});
    let failed = limited.call("CREATE", &token(), model, None);
    assert_eq!(failed["errorCode"], "AccessDenied", "{failed}");
    assert_eq!(
        handler(CONNECTOR).call("READ", &token(), json!({"Name": name}), None)["errorCode"],
        "NotFound",
        "rolled back"
    );
}

#[test]
fn a_user_lives_through_its_connector_and_keeps_what_it_does_not_manage() {
    let connector = connector("users");
    let handler = handler(USER);
    let manager = handler.call("CREATE", &token(), json!({"Connector": connector, "UserName": unique("grace")}), None);
    let user_name = unique("ada");
    let model = json!({
        "Connector": connector, "UserName": user_name, "ExternalId": "E-1815", "DisplayName": "Ada Lovelace",
        "Name": {"GivenName": "Ada", "FamilyName": "Lovelace"},
        "Emails": [{"Value": "ada@example.com", "Type": "work", "Primary": true}, {"Value": "ada@home.example", "Type": "home"}],
        "Title": "Analyst",
        "Enterprise": {"EmployeeNumber": "1815", "CostCenter": "C-1", "Organization": "Babbage", "Division": "R", "Department": "Engines", "Manager": id(&manager)}
    });
    let created = handler.call("CREATE", &token(), model.clone(), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    assert_model(&model, &created["resourceModel"], &["Emails"]);
    assert_eq!(created["resourceModel"]["Active"], true, "enabled by default");
    let user_id = id(&created);
    let key = json!({"Connector": connector, "Id": user_id});
    assert_eq!(handler.call("READ", &token(), key.clone(), None)["resourceModel"], created["resourceModel"]);
    let by_name = handler.call("READ", &token(), json!({"Connector": connector, "UserName": user_name}), None);
    assert_eq!(by_name["resourceModel"], created["resourceModel"], "the additional identifier finds the same user");

    // Someone sets an attribute the template does not manage.
    provider(
        "PATCH",
        &format!("Users/{user_id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "nickName", "value": "Countess"}]}),
        ),
    );

    let renamed = unique("ada-king");
    let mut disabled = created["resourceModel"].clone();
    disabled["UserName"] = json!(renamed);
    disabled["Active"] = json!(false);
    disabled.as_object_mut().expect("object").remove("Title");
    disabled["Enterprise"]["Department"] = json!("Analytical Engines");
    let after = handler.call("UPDATE", &token(), disabled.clone(), Some(created["resourceModel"].clone()));
    assert_eq!(after["status"], "SUCCESS", "{after}");
    assert_model(
        &json!({"UserName": renamed, "Active": false, "Enterprise": disabled["Enterprise"]}),
        &after["resourceModel"],
        &[],
    );
    assert!(after["resourceModel"].get("Title").is_none(), "a managed attribute the model drops is removed: {after}");
    let held = provider("GET", &format!("Users/{user_id}"), None);
    assert_eq!(held["nickName"], "Countess", "an unmanaged attribute survives the update");
    assert_eq!(held[ENTERPRISE]["costCenter"], "C-1");

    let mut enabled = after["resourceModel"].clone();
    enabled.as_object_mut().expect("object").remove("Active");
    let again = handler.call("UPDATE", &token(), enabled, Some(after["resourceModel"].clone()));
    assert_eq!(again["resourceModel"]["Active"], true, "Active defaults to true: {again}");

    let listed = handler.list_all_with(json!({"Connector": connector}));
    assert!(listed.iter().any(|m| m["Id"] == json!(user_id)), "LIST through the connector finds the user");
    for user in [key, json!({"Connector": connector, "Id": id(&manager)})] {
        assert_eq!(handler.call("DELETE", &token(), user.clone(), None), json!({"status": "SUCCESS"}));
        assert_eq!(handler.call("READ", &token(), user.clone(), None)["errorCode"], "NotFound");
        assert_eq!(handler.call("DELETE", &token(), user, None)["errorCode"], "NotFound");
    }
}

#[test]
fn a_user_name_is_unique_and_a_retried_create_returns_the_same_user() {
    let connector = connector("unique");
    let handler = handler(USER);
    let model = json!({"Connector": connector, "UserName": unique("linus")});
    let operation = token();
    let first = handler.call("CREATE", &operation, model.clone(), None);
    let retried = handler.call("CREATE", &operation, model.clone(), None);
    assert_eq!(id(&retried), id(&first), "the marker in SSM answers the first attempt's user");
    let taken = handler.call("CREATE", &token(), model, None);
    assert_eq!(taken["errorCode"], "AlreadyExists", "{taken}");
    handler.call("DELETE", &token(), json!({"Connector": connector, "Id": id(&first)}), None);
}

#[test]
fn an_interrupted_create_adopts_what_its_first_attempt_made() {
    let connector = connector("interrupted");
    let operation = token();
    let user_name = unique("interrupted");
    // The first attempt marked the operation and POSTed, then stopped before recording the id.
    let marker = format!("/rpdk/scim/connectors/{connector}/creates/{}", rpdk_aws::operation_id(&operation));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
    runtime().block_on(async {
        ssm()
            .put_parameter()
            .name(&marker)
            .value(format!("pending {now}"))
            .r#type(ParameterType::String)
            .send()
            .await
            .expect("a marker")
    });
    let made = provider(
        "POST",
        "Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "active": true})),
    );
    let retried =
        handler(USER).call("CREATE", &operation, json!({"Connector": connector, "UserName": user_name}), None);
    assert_eq!(retried["status"], "SUCCESS", "{retried}");
    assert_eq!(id(&retried), made["id"].as_str().expect("an id"), "adopted, not created twice");
}

/// A connector whose SCIM calls pass the fault proxy in a scope of their own.
fn connector_through_faults(stem: &str) -> (String, String) {
    let scope = unique("scope");
    (connector_to(stem, &Caller::scim_base_url(&scope)), scope)
}

/// Stack A's create is interrupted after its POST made the user (the answer is lost each time
/// the client tries); stack B then creates the same user name, is refused, and retries. B
/// must never adopt A's user; A's own retry does.
#[test]
fn a_retried_create_never_adopts_what_another_operation_made() {
    let (connector, scope) = connector_through_faults("no-crossing");
    let handler = handler(USER);
    let model = json!({"Connector": connector, "UserName": unique("shared")});
    let (first_stack, second_stack) = (token(), token());
    let lost = FaultRule::new(FaultKind::LoseResponse, "POST /v2/Users", &Caller::Scope(&scope)).arm();
    let interrupted = handler.call("CREATE", &first_stack, model.clone(), None);
    assert_eq!(interrupted["errorCode"], "NetworkFailure", "{interrupted}");
    drop(lost);

    let refused = handler.call("CREATE", &second_stack, model.clone(), None);
    assert_eq!(refused["errorCode"], "AlreadyExists", "{refused}");
    let retried = handler.call("CREATE", &second_stack, model.clone(), None);
    assert_eq!(retried["errorCode"], "AlreadyExists", "the other stack's user is not adopted: {retried}");

    let resumed = handler.call("CREATE", &first_stack, model, None);
    assert_eq!(resumed["status"], "SUCCESS", "its own user is adopted: {resumed}");
    let deleted = handler.call("DELETE", &token(), json!({"Connector": connector, "Id": id(&resumed)}), None);
    assert_eq!(deleted["status"], "SUCCESS", "{deleted}");
}

/// Both stacks' creates are interrupted around their POSTs of the same user name: whose the
/// user is cannot be told, so neither adopts it, and both say so.
#[test]
fn a_user_two_interrupted_creates_may_have_made_is_adopted_by_neither() {
    let (connector, scope) = connector_through_faults("ambiguous");
    let handler = handler(USER);
    let user_name = unique("either");
    let model = json!({"Connector": connector, "UserName": user_name});
    let (first_stack, second_stack) = (token(), token());
    let lost = FaultRule::new(FaultKind::LoseResponse, "POST /v2/Users", &Caller::Scope(&scope)).arm();
    for stack in [&first_stack, &second_stack] {
        let interrupted = handler.call("CREATE", stack, model.clone(), None);
        assert_eq!(interrupted["errorCode"], "NetworkFailure", "{interrupted}");
    }
    drop(lost);
    for stack in [&first_stack, &second_stack] {
        let retried = handler.call("CREATE", stack, model.clone(), None);
        assert_eq!(retried["errorCode"], "AlreadyExists", "{retried}");
        assert!(retried["message"].as_str().is_some_and(|m| m.contains("not adopted")), "{retried}");
    }
    let found = provider("GET", &format!("Users?filter=userName%20eq%20%22{user_name}%22"), None);
    let id = found["Resources"][0]["id"].as_str().expect("the one user");
    provider("DELETE", &format!("Users/{id}"), None);
}

#[test]
fn expired_create_markers_are_swept() {
    let connector = connector("sweep");
    let expired = format!("/rpdk/scim/connectors/{connector}/creates/0000000000000000");
    for (type_name, model) in [
        (USER, json!({"Connector": connector, "UserName": unique("sweeper")})),
        (GROUP, json!({"Connector": connector, "DisplayName": unique("sweepers")})),
    ] {
        runtime().block_on(async {
            ssm()
                .put_parameter()
                .name(&expired)
                .value("created 1000000000 old-id")
                .r#type(ParameterType::String)
                .send()
                .await
                .expect("an old marker")
        });
        let created = handler(type_name).call("CREATE", &token(), model, None);
        assert_eq!(created["status"], "SUCCESS", "{created}");
        let gone = runtime().block_on(async { ssm().get_parameter().name(&expired).send().await });
        assert!(gone.is_err(), "{type_name}: the expired marker is deleted");
    }
}

#[test]
fn group_membership_follows_the_model() {
    let connector = connector("groups");
    let users = handler(USER);
    let member = |stem: &str| {
        id(&users.call("CREATE", &token(), json!({"Connector": connector, "UserName": unique(stem)}), None))
    };
    let (a, b, outsider) = (member("a"), member("b"), member("outsider"));
    let handler = handler(GROUP);
    let created = handler.call(
        "CREATE",
        &token(),
        json!({"Connector": connector, "DisplayName": unique("eng"), "Members": [a]}),
        None,
    );
    assert_eq!(created["status"], "SUCCESS", "{created}");
    let group_id = id(&created);

    let mut both = created["resourceModel"].clone();
    both["Members"] = json!([b, a]);
    both["DisplayName"] = json!(unique("analysts"));
    let after = handler.call("UPDATE", &token(), both.clone(), Some(created["resourceModel"].clone()));
    assert_model(
        &json!({"Members": [a, b], "DisplayName": both["DisplayName"]}),
        &after["resourceModel"],
        &["Members"],
    );

    // A member added outside the template stays when the model stops managing members.
    provider(
        "PATCH",
        &format!("Groups/{group_id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": outsider}]}]}),
        ),
    );
    let mut unmanaged = after["resourceModel"].clone();
    unmanaged.as_object_mut().expect("object").remove("Members");
    let released = handler.call("UPDATE", &token(), unmanaged, Some(both));
    assert_eq!(released["resourceModel"]["Members"], json!([outsider]), "{released}");

    let key = json!({"Connector": connector, "Id": group_id});
    assert!(handler.list_all_with(json!({"Connector": connector})).iter().any(|m| m["Id"] == json!(group_id)));
    assert_eq!(handler.call("DELETE", &token(), key.clone(), None), json!({"status": "SUCCESS"}));
    assert_eq!(handler.call("READ", &token(), key, None)["errorCode"], "NotFound");
}

/// A provider without PATCH (it answers 501 to one): updates GET, overlay the managed
/// attributes and PUT, conditional on the ETag, keeping everything else.
#[test]
fn without_patch_updates_replace_the_resource_and_keep_the_rest() {
    let put_only = contract_tests::stack().scim_put_only_url.clone();
    let connector = connector_to("put-only", &put_only);
    let users = handler(USER);
    let created = users.call(
        "CREATE",
        &token(),
        json!({"Connector": connector, "UserName": unique("put"), "Title": "Analyst", "DisplayName": "Put"}),
        None,
    );
    assert_eq!(created["status"], "SUCCESS", "{created}");
    let user_id = id(&created);
    let unmanaged = json!({"value": "+1 555 0100", "type": "work"});
    let mut held = provider_at(&put_only, "GET", &format!("Users/{user_id}"), None);
    held["phoneNumbers"] = json!([unmanaged]);
    provider_at(&put_only, "PUT", &format!("Users/{user_id}"), Some(held));

    let mut desired = created["resourceModel"].clone();
    desired.as_object_mut().expect("object").remove("Title");
    desired["DisplayName"] = json!("Replaced");
    let after = users.call("UPDATE", &token(), desired, Some(created["resourceModel"].clone()));
    assert_eq!(after["status"], "SUCCESS", "{after}");
    assert_eq!(after["resourceModel"]["DisplayName"], "Replaced");
    assert!(after["resourceModel"].get("Title").is_none(), "{after}");
    assert_eq!(
        provider_at(&put_only, "GET", &format!("Users/{user_id}"), None)["phoneNumbers"],
        json!([unmanaged]),
        "PUT keeps what the model does not manage"
    );

    let groups = handler(GROUP);
    let group =
        groups.call("CREATE", &token(), json!({"Connector": connector, "DisplayName": unique("put-group")}), None);
    let mut with_member = group["resourceModel"].clone();
    with_member["Members"] = json!([user_id]);
    let after = groups.call("UPDATE", &token(), with_member, Some(group["resourceModel"].clone()));
    assert_eq!(after["resourceModel"]["Members"], json!([user_id]), "{after}");
}

#[test]
fn list_pages_through_every_user_of_a_connector() {
    let connector = connector("paging");
    let stem = unique("paged");
    let made: Vec<String> = (0..55)
        .map(|i| {
            provider("POST", "Users", Some(json!({"userName": format!("{stem}-{i}")})))["id"]
                .as_str()
                .expect("an id")
                .to_owned()
        })
        .collect();
    let pages = handler(USER).list_pages_with(json!({"Connector": connector}));
    assert!(pages.len() >= 2, "{} page(s)", pages.len());
    let listed: Vec<&Value> = pages.iter().flatten().map(|m| &m["Id"]).collect();
    for id in &made {
        assert_eq!(listed.iter().filter(|l| **l == id).count(), 1, "{id} listed once");
    }
}

#[test]
fn requests_name_what_is_missing() {
    let missing =
        handler(USER).call("CREATE", &token(), json!({"Connector": "no-such-connector", "UserName": "x"}), None);
    assert_eq!(missing["errorCode"], "InvalidRequest", "{missing}");
    assert!(missing["message"].as_str().is_some_and(|m| m.contains("'no-such-connector'")), "{missing}");
    let list = handler(GROUP).invoke(&handler(GROUP).request("LIST", &token(), json!({}), None));
    assert_eq!(list["errorCode"], "InvalidRequest", "LIST needs its connector: {list}");
    let read = handler(GROUP).call("READ", &token(), json!({"Connector": "x"}), None);
    assert_eq!(read["errorCode"], "NotFound", "{read}");
}

/// A user or group belongs to its connector for life: another one is a new resource.
#[test]
fn a_new_connector_is_not_updatable() {
    for (type_name, model) in [(USER, json!({"UserName": "moved"})), (GROUP, json!({"DisplayName": "moved"}))] {
        let mut previous = model.clone();
        previous["Connector"] = "first".into();
        previous["Id"] = "2819c223-7f76-453a-919d-413861904646".into();
        let mut desired = previous.clone();
        desired["Connector"] = "second".into();
        let event = handler(type_name).call("UPDATE", &token(), desired, Some(previous));
        assert_eq!(event["errorCode"], "NotUpdatable", "{type_name}: {event}");
        assert!(event["message"].as_str().is_some_and(|m| m.starts_with("Connector is create-only")), "{event}");
    }
}

/// A stale ETag at the client layer: the provider answers 412, the client ResourceConflict.
#[test]
fn a_stale_etag_is_a_conflict() {
    let made = provider("POST", "Users", Some(json!({"userName": unique("etag")})));
    let user_id = made["id"].as_str().expect("an id").to_owned();
    let stale = made["meta"]["version"].as_str().expect("a version").to_owned();
    provider(
        "PATCH",
        &format!("Users/{user_id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "changed"}]}),
        ),
    );
    let scim = Scim::new(&scim_url(), Secret::new(scim_token()), rpdk::Deadline::after(Duration::from_secs(60)))
        .expect("a client");
    let replace = json!([{"op": "replace", "path": "title", "value": "mine"}]);
    let error = runtime()
        .block_on(scim.patch(Endpoint::Users, &user_id, replace.as_array().expect("ops").clone(), Some(&stale)))
        .expect_err("412");
    assert_eq!(error.code(), HandlerErrorCode::ResourceConflict, "{}", error.message());
}

/// The whole lifecycle with a known token: it shows up in no response and no log line, on
/// stdout or delivered to the provider's log group, and neither do the credentials.
#[test]
fn the_token_never_leaves_the_handler() {
    let secret = scim_token();
    let logging = ProviderLogging::new("secretive");
    let handler = handler(CONNECTOR).with_provider_logging(&logging);
    let name = unique("secretive");
    let model = json!({"Name": name, "BaseUrl": scim_url(), "BearerToken": secret});
    let mut events = vec![handler.call("CREATE", &token(), model.clone(), None)];
    events.push(handler.call("READ", &token(), json!({"Name": name}), None));
    events.push(handler.call("UPDATE", &token(), model, Some(events[0]["resourceModel"].clone())));
    events.push(handler.invoke(&handler.request("LIST", &token(), Value::Null, None)));
    events.push(handler.call("DELETE", &token(), json!({"Name": name}), None));
    for event in &events {
        assert!(!event.to_string().contains(&secret), "a response carries the token: {event}");
    }
    // The handler flushes each line as it logs it.
    std::thread::sleep(Duration::from_millis(200));
    let logs = std::env::var("RPDK_LOGS").expect("RPDK_LOGS");
    let log = std::fs::read_to_string(format!("{logs}/scim-connector.log")).expect("the handler's log");
    assert!(log.contains(CONNECTOR), "the log covers the connector's requests");
    assert!(!log.contains(&secret), "the token is in the handler's log");

    let delivered = logging.delivered("PartnerRole").join("\n");
    assert!(delivered.contains("\"message\":\"done\""), "the records of the lifecycle were delivered: {delivered}");
    let principals = contract_tests::principals();
    let credentials = [&principals["handlers"][CONNECTOR]["credentials"], &principals["provider"]["credentials"]];
    for shown in [&log, &delivered] {
        for secret_part in
            credentials.iter().flat_map(|c| [c["secretAccessKey"].as_str(), c["sessionToken"].as_str()]).flatten()
        {
            assert!(!shown.contains(secret_part), "a credential is in the logs");
        }
    }
    assert!(!delivered.contains(&secret), "the token was delivered to the provider's log group");
}

#[test]
fn a_group_member_that_does_not_exist_is_refused_naming_it() {
    let connector = connector("ghosts");
    let member =
        id(&handler(USER).call("CREATE", &token(), json!({"Connector": connector, "UserName": unique("real")}), None));
    let groups = handler(GROUP);
    let name = unique("ghosts");
    let model = json!({"Connector": connector, "DisplayName": name, "Members": [member, "no-such-user"]});
    let refused = groups.call("CREATE", &token(), model, None);
    assert_eq!(refused["errorCode"], "InvalidRequest", "{refused}");
    let expected = format!("Members[1]: no user 'no-such-user' through connector {connector};");
    assert!(refused["message"].as_str().is_some_and(|m| m.starts_with(&expected)), "{refused}");
    let found = provider("GET", &format!("Groups?filter=displayName%20eq%20%22{name}%22"), None);
    assert_eq!(found["totalResults"].as_u64().unwrap_or_default(), 0, "no group was made: {found}");

    let created = groups.call(
        "CREATE",
        &token(),
        json!({"Connector": connector, "DisplayName": unique("real"), "Members": [member]}),
        None,
    );
    assert_eq!(created["status"], "SUCCESS", "{created}");
    let mut more = created["resourceModel"].clone();
    more["Members"] = json!([member, "gone-user"]);
    let refused = groups.call("UPDATE", &token(), more, Some(created["resourceModel"].clone()));
    assert!(refused["message"].as_str().is_some_and(|m| m.starts_with("Members[1]: no user 'gone-user'")), "{refused}");
    let key = json!({"Connector": connector, "Id": id(&created)});
    assert_eq!(groups.call("READ", &token(), key.clone(), None)["resourceModel"]["Members"], json!([member]));
    assert_eq!(groups.call("DELETE", &token(), key, None), json!({"status": "SUCCESS"}));
}

#[test]
fn a_token_with_a_line_break_and_a_url_with_a_secret_are_refused_without_repeating_them() {
    let connectors = handler(CONNECTOR);
    let smuggled = format!("{}\r\nX-Injected: 1", scim_token());
    let refused = connectors.call(
        "CREATE",
        &token(),
        json!({"Name": unique("crlf"), "BaseUrl": scim_url(), "BearerToken": smuggled}),
        None,
    );
    assert_eq!(refused["errorCode"], "InvalidRequest", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("BearerToken: holds a control character") && !message.contains(&scim_token()),
        "{refused}"
    );

    let leaky = format!("{}?access_token=s3cret-in-the-url", scim_url());
    let refused = connectors.call(
        "CREATE",
        &token(),
        json!({"Name": unique("query"), "BaseUrl": leaky, "BearerToken": scim_token()}),
        None,
    );
    assert_eq!(refused["errorCode"], "InvalidRequest", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("BaseUrl: ") && !message.contains("s3cret"), "{refused}");
}

/// A loopback server that answers every request with HTTP 500 and a page of HTML, as a web
/// server that is no SCIM service does.
fn failing_web_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}/v2", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request);
            let page = "<html><body>Internal Server Error</body></html>";
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

#[test]
fn a_base_url_that_is_no_scim_service_is_refused_not_retried() {
    let base_url = failing_web_server();
    let refused = handler(CONNECTOR).call(
        "CREATE",
        &token(),
        json!({"Name": unique("not-scim"), "BaseUrl": base_url, "BearerToken": scim_token()}),
        None,
    );
    assert_eq!(refused["errorCode"], "InvalidRequest", "not a retriable code: {refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("BaseUrl: ") && m.contains("HTTP 500 and no SCIM error")),
        "{refused}"
    );
}
