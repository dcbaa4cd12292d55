//! The native contract suite of `Rpdk::EC2::PrivateLinkService`, against moto (with the
//! project's endpoint-service extensions) through the handler served by `cargo lambda watch`.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Filter;
use contract_tests::{Handler, HeldTransitions, SERVICE_MODEL, assert_model, fixture, recorded_actions, token};
use serde_json::{Value, json};

const TYPE: &str = "Rpdk::EC2::PrivateLinkService";
const UNORDERED: &[&str] =
    &["LoadBalancerArns", "AllowedPrincipals", "ConnectionNotifications", "SupportedIpAddressTypes", "Tags"];

fn handler() -> Handler {
    Handler::new("privatelink-service", TYPE)
}

fn value(key: &str) -> String {
    fixture(TYPE, key)
}

/// EC2 in moto as the run's admin, for what consumers do behind the handler's back.
fn ec2() -> Client {
    Client::new(&contract_tests::admin_config())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn service_id(event: &Value) -> String {
    event["resourceModel"]["ServiceId"].as_str().unwrap_or_else(|| panic!("no ServiceId in {event}")).to_owned()
}

fn delete(handler: &Handler, id: &str) {
    let deleted = handler.call("DELETE", &token(), json!({"ServiceId": id}), None);
    assert_eq!(deleted, json!({"status": "SUCCESS"}));
}

fn full_model() -> Value {
    json!({
        "LoadBalancerArns": [value("NetworkLoadBalancerArn")],
        "AcceptanceRequired": true,
        "AllowedPrincipals": ["arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/consumer"],
        // Events are order-insensitive; EC2 answers them in Connect, Accept, Reject, Delete order.
        "ConnectionNotifications": [{"SnsTopicArn": value("TopicArn"), "Events": ["Connect", "Accept"]}],
        "PrivateDnsName": "api.partner.example.com",
        "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "tier", "Value": "1"}]
    })
}

#[test]
fn full_lifecycle_updates_everything_in_place() {
    let handler = handler();
    let model = full_model();
    let created = handler.call("CREATE", &token(), model.clone(), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    let id = service_id(&created);
    let resource = &created["resourceModel"];
    assert_model(&model, resource, UNORDERED);
    assert_eq!(resource["ServiceState"], "Available");
    assert_eq!(resource["LoadBalancerType"], "network");
    assert_eq!(resource["SupportedIpAddressTypes"], json!(["ipv4"]), "EC2's default");
    assert!(resource["ServiceName"].as_str().is_some_and(|n| n.ends_with(&id)), "{resource}");
    assert_eq!(resource["PrivateDnsNameConfiguration"]["Type"], "TXT", "what DNS verification needs: {resource}");
    assert!(resource["Tags"].as_array().is_some_and(|t| t.len() == 2), "the ownership tag stays hidden");

    let read = handler.call("READ", &token(), json!({"ServiceId": id}), None);
    assert_eq!(read["resourceModel"], created["resourceModel"], "READ answers what CREATE did");

    let mut updated = model.clone();
    updated["ServiceId"] = json!(id);
    updated["LoadBalancerArns"] = json!([value("SecondNetworkLoadBalancerArn"), value("NetworkLoadBalancerArn")]);
    updated["AcceptanceRequired"] = json!(false);
    updated["AllowedPrincipals"] = json!(["arn:aws:iam::444455556666:root"]);
    updated["ConnectionNotifications"] = json!([
        {"SnsTopicArn": value("TopicArn"), "Events": ["Connect", "Accept", "Reject", "Delete"]},
        {"SnsTopicArn": value("SecondTopicArn"), "Events": ["Connect"]}
    ]);
    updated.as_object_mut().expect("object").remove("PrivateDnsName");
    updated["Tags"] = json!([{"Key": "team", "Value": "networking"}]);
    let after = handler.call("UPDATE", &token(), updated.clone(), Some(created["resourceModel"].clone()));
    assert_eq!(after["status"], "SUCCESS", "{after}");
    assert_eq!(service_id(&after), id, "updated in place");
    let mut expected = updated.clone();
    expected["ConnectionNotifications"] = json!([
        {"SnsTopicArn": value("TopicArn"), "Events": ["Connect", "Accept", "Reject", "Delete"]},
        {"SnsTopicArn": value("SecondTopicArn"), "Events": ["Connect"]}
    ]);
    assert_model(&expected, &after["resourceModel"], UNORDERED);
    for gone in ["PrivateDnsName", "PrivateDnsNameConfiguration"] {
        assert!(after["resourceModel"].get(gone).is_none(), "{gone} removed: {after}");
    }

    let mut fewer = updated.clone();
    fewer["ConnectionNotifications"] = json!([{"SnsTopicArn": value("SecondTopicArn"), "Events": ["Connect"]}]);
    let after_fewer = handler.call("UPDATE", &token(), fewer.clone(), Some(after["resourceModel"].clone()));
    assert_eq!(after_fewer["status"], "SUCCESS", "{after_fewer}");
    assert_model(&fewer, &after_fewer["resourceModel"], UNORDERED);

    let listed = handler.list_all();
    assert!(listed.iter().any(|m| m["ServiceId"] == json!(id)), "LIST finds the service");

    delete(&handler, &id);
    for action in ["READ", "DELETE"] {
        let gone = handler.call(action, &token(), json!({"ServiceId": id}), None);
        assert_eq!(gone["errorCode"], "NotFound", "{action}: {gone}");
    }
    assert!(!handler.list_all().iter().any(|m| m["ServiceId"] == json!(id)), "LIST no longer has it");
}

/// Each governance rule alone, and the precedence between them: refused with InvalidRequest
/// (or InvalidTypeConfiguration) naming the rule and the value, and without a single EC2 call.
#[test]
fn governance_refuses_one_rule_at_a_time_before_any_ec2_call() {
    let lb = value("NetworkLoadBalancerArn");
    let base = json!({"LoadBalancerArns": [lb]});
    let with = |patch: Value| {
        let mut model = base.clone();
        for (key, value) in patch.as_object().expect("object") {
            model[key] = value.clone();
        }
        model
    };
    let cases = [
        (
            "'*' needs AllowAnyPrincipal",
            json!({}),
            with(json!({"AllowedPrincipals": ["*"]})),
            "InvalidRequest",
            "AllowAnyPrincipal: true",
        ),
        (
            "an account list refuses '*' whatever AllowAnyPrincipal says",
            json!({"AllowedPrincipalAccountIds": ["111122223333"], "AllowAnyPrincipal": true}),
            with(json!({"AllowedPrincipals": ["*"]})),
            "InvalidRequest",
            "whatever AllowAnyPrincipal says",
        ),
        (
            "an account list refuses principals of other accounts",
            json!({"AllowedPrincipalAccountIds": ["111122223333"]}),
            with(json!({"AllowedPrincipals": ["arn:aws:iam::111122223333:root", "arn:aws:iam::999988887777:role/x"]})),
            "InvalidRequest",
            "AllowedPrincipals[1]: 'arn:aws:iam::999988887777:role/x' belongs to account 999988887777",
        ),
        (
            "auto-accept needs a notification",
            json!({}),
            with(json!({"AcceptanceRequired": false})),
            "InvalidRequest",
            "RequireNotificationWhenAutoAccept",
        ),
        (
            "a bad account id is an invalid type configuration",
            json!({"AllowedPrincipalAccountIds": ["12345"]}),
            base.clone(),
            "InvalidTypeConfiguration",
            "AllowedPrincipalAccountIds[0]: '12345'",
        ),
        (
            "a load balancer of the other kind",
            json!({}),
            with(json!({"LoadBalancerType": "gateway"})),
            "InvalidRequest",
            "LoadBalancerArns[0]",
        ),
    ];
    for (rule, configuration, model, code, says) in cases {
        let operation = token();
        let event = handler().with_type_configuration(configuration).call("CREATE", &operation, model, None);
        assert_eq!(event["errorCode"], code, "{rule}: {event}");
        assert!(event["message"].as_str().is_some_and(|m| m.contains(says)), "{rule}: {event}");
        assert_eq!(recorded_actions(&rpdk_aws::operation_id(&operation)), Vec::<String>::new(), "{rule}: no EC2 call");
    }

    let permitted = handler().with_type_configuration(json!({"AllowAnyPrincipal": true})).call(
        "CREATE",
        &token(),
        with(json!({"AllowedPrincipals": ["*"]})),
        None,
    );
    assert_eq!(permitted["status"], "SUCCESS", "AllowAnyPrincipal permits '*': {permitted}");
    delete(&handler(), &service_id(&permitted));
}

/// A service held `Pending` outlasts one invocation: CREATE answers IN_PROGRESS and the next
/// invocation resumes from the callback context without a second create call.
#[test]
fn a_pending_service_resumes_without_a_second_create() {
    let handler = handler();
    let operation = token();
    let _held = HeldTransitions::hold(SERVICE_MODEL, 6);
    let mut request =
        handler.request("CREATE", &operation, json!({"LoadBalancerArns": [value("NetworkLoadBalancerArn")]}), None);
    let first = handler.invoke(&request);
    assert_eq!(first["status"], "IN_PROGRESS", "{first}");
    assert!(first["callbackDelaySeconds"].as_u64().is_some_and(|d| d > 0), "{first}");
    let id = service_id(&first);
    assert_eq!(first["resourceModel"]["ServiceId"], json!(id), "the checkpoint holds the identifier");
    assert!(
        first["resourceModel"]["ServiceName"].as_str().is_some_and(|name| name.ends_with(&id)),
        "and the name, for what depends on it: {first}"
    );

    let mut last = first;
    for _ in 0..10 {
        if last["status"] != "IN_PROGRESS" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(last["callbackDelaySeconds"].as_u64().unwrap_or(1)));
        request["callbackContext"] = last["callbackContext"].clone();
        request["requestData"]["resourceProperties"] = last["resourceModel"].clone();
        last = handler.invoke(&request);
    }
    assert_eq!(last["status"], "SUCCESS", "{last}");
    assert_eq!(service_id(&last), id);
    assert_eq!(last["resourceModel"]["ServiceState"], "Available");
    let creates = recorded_actions(&rpdk_aws::operation_id(&operation))
        .into_iter()
        .filter(|action| action == "ec2:CreateVpcEndpointServiceConfiguration")
        .count();
    assert_eq!(creates, 1, "the resumed invocation replayed the finished create step");
    delete(&handler, &id);
}

/// A failure after the service exists (here the wait for it, refused by a role missing
/// `ec2:DescribeVpcEndpointServiceConfigurations`) deletes what the create made.
#[test]
fn a_failure_after_the_service_exists_leaves_nothing_behind() {
    let marker = contract_tests::unique("rollback");
    let model = json!({
        "LoadBalancerArns": [value("NetworkLoadBalancerArn")],
        "ConnectionNotifications": [{"SnsTopicArn": value("TopicArn"), "Events": ["Connect"]}],
        "Tags": [{"Key": "test", "Value": marker}]
    });
    let limited = handler().with_credentials(contract_tests::credentials_without(
        "rpdk-ec2-privatelinkservice",
        "ec2:DescribeVpcEndpointServiceConfigurations",
    ));
    let event = limited.call("CREATE", &token(), model, None);
    assert_eq!(event["errorCode"], "AccessDenied", "{event}");
    // The FAILED event carries the checkpoint model: the service the create had made.
    let id = service_id(&event);
    let (services, notifications) = runtime().block_on(async {
        let client = ec2();
        let tagged = Filter::builder().name("tag:test").values(&marker).build();
        let services =
            client.describe_vpc_endpoint_service_configurations().filters(tagged).send().await.expect("describe");
        let of_service = Filter::builder().name("service-id").values(&id).build();
        let notifications =
            client.describe_vpc_endpoint_connection_notifications().filters(of_service).send().await.expect("describe");
        (services.service_configurations().len(), notifications.connection_notification_set().len())
    });
    assert_eq!(services, 0, "the service {id} was deleted");
    assert_eq!(notifications, 0, "its notification was deleted");
}

#[test]
fn a_retried_create_returns_the_same_service() {
    let handler = handler();
    let operation = token();
    let model = json!({"LoadBalancerArns": [value("NetworkLoadBalancerArn")]});
    let first = handler.call("CREATE", &operation, model.clone(), None);
    let again = handler.call("CREATE", &operation, model, None);
    assert_eq!(first["status"], "SUCCESS", "{first}");
    assert_eq!(service_id(&again), service_id(&first), "EC2's ClientToken is the request token");
    delete(&handler, &service_id(&first));
}

#[test]
fn ipv6_needs_dual_stack_load_balancers() {
    let handler = handler();
    let types = json!(["ipv4", "ipv6"]);
    let refused = handler.call(
        "CREATE",
        &token(),
        json!({"LoadBalancerArns": [value("NetworkLoadBalancerArn")], "SupportedIpAddressTypes": types}),
        None,
    );
    assert_eq!(refused["errorCode"], "InvalidRequest", "{refused}");
    let created = handler.call(
        "CREATE",
        &token(),
        json!({"LoadBalancerArns": [value("DualStackLoadBalancerArn")], "SupportedIpAddressTypes": types}),
        None,
    );
    assert_eq!(created["status"], "SUCCESS", "{created}");
    assert_model(&json!({"SupportedIpAddressTypes": types}), &created["resourceModel"], UNORDERED);
    delete(&handler, &service_id(&created));
}

/// AWS refuses to delete a service with live endpoint connections; the handler says so, naming
/// the endpoints, and deletes once they are gone.
#[test]
fn a_service_with_live_connections_is_not_deleted() {
    let handler = handler();
    let created = handler.call("CREATE", &token(), json!({"LoadBalancerArns": [value("NetworkLoadBalancerArn")], "AllowedPrincipals": ["arn:aws:iam::123456789012:root"]}), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    let id = service_id(&created);
    let service_name = created["resourceModel"]["ServiceName"].as_str().expect("a service name").to_owned();
    let endpoint = runtime().block_on(async {
        let made = ec2()
            .create_vpc_endpoint()
            .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
            .vpc_id(value("VpcId"))
            .subnet_ids(value("SubnetId"))
            .service_name(&service_name)
            .send()
            .await
            .expect("a consumer's endpoint");
        made.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()).expect("an endpoint id").to_owned()
    });
    let refused = handler.call("DELETE", &token(), json!({"ServiceId": id}), None);
    assert_eq!(refused["errorCode"], "ResourceConflict", "{refused}");
    assert!(refused["message"].as_str().is_some_and(|m| m.contains(&endpoint)), "names the endpoint: {refused}");

    runtime().block_on(async {
        ec2()
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(&endpoint)
            .send()
            .await
            .expect("the consumer deletes its endpoint")
    });
    delete(&handler, &id);
}

#[test]
fn requests_without_or_with_an_unknown_identifier_are_not_found() {
    for (model, action) in
        [(json!({}), "READ"), (json!({}), "DELETE"), (json!({"ServiceId": "vpce-svc-0123456789abcdef0"}), "READ")]
    {
        let event = handler().call(action, &token(), model, None);
        assert_eq!(event["errorCode"], "NotFound", "{action}: {event}");
    }
}

/// Gateway load balancers change in place; the kind of load balancer does not.
#[test]
fn a_gateway_service_changes_its_balancers_in_place_and_never_its_kind() {
    let handler = handler();
    let refused = handler.call(
        "CREATE",
        &token(),
        json!({"LoadBalancerType": "gateway", "LoadBalancerArns": [value("NetworkLoadBalancerArn")]}),
        None,
    );
    assert_eq!(refused["errorCode"], "InvalidRequest", "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains("LoadBalancerArns[0]")),
        "names the field: {refused}"
    );

    let model = json!({"LoadBalancerType": "gateway", "LoadBalancerArns": [value("GatewayLoadBalancerArn")]});
    let created = handler.call("CREATE", &token(), model.clone(), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    assert_model(&model, &created["resourceModel"], UNORDERED);
    let id = service_id(&created);

    let mut moved = created["resourceModel"].clone();
    moved["LoadBalancerArns"] = json!([value("SecondGatewayLoadBalancerArn")]);
    let after = handler.call("UPDATE", &token(), moved.clone(), Some(created["resourceModel"].clone()));
    assert_eq!(after["status"], "SUCCESS", "{after}");
    assert_eq!(service_id(&after), id, "updated in place");
    assert_eq!(after["resourceModel"]["LoadBalancerArns"], json!([value("SecondGatewayLoadBalancerArn")]));

    let mut other_kind = after["resourceModel"].clone();
    other_kind["LoadBalancerType"] = json!("network");
    other_kind["LoadBalancerArns"] = json!([value("NetworkLoadBalancerArn")]);
    let not_updatable = handler.call("UPDATE", &token(), other_kind, Some(after["resourceModel"].clone()));
    assert_eq!(not_updatable["errorCode"], "NotUpdatable", "{not_updatable}");
    delete(&handler, &id);
}

/// The read model shows the TXT record to publish and follows its verification.
#[test]
fn private_dns_verification_shows_in_the_model() {
    let handler = handler();
    let model =
        json!({"LoadBalancerArns": [value("NetworkLoadBalancerArn")], "PrivateDnsName": "orders.partner.example.com"});
    let created = handler.call("CREATE", &token(), model, None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    let id = service_id(&created);
    let record = &created["resourceModel"]["PrivateDnsNameConfiguration"];
    assert_eq!(record["State"], "pendingVerification", "{created}");
    assert!(
        record["Name"].as_str().is_some_and(|n| !n.is_empty())
            && record["Value"].as_str().is_some_and(|v| !v.is_empty()),
        "{record}"
    );

    runtime().block_on(async {
        ec2()
            .start_vpc_endpoint_service_private_dns_verification()
            .service_id(&id)
            .send()
            .await
            .expect("the provider verifies its name")
    });
    let read = handler.call("READ", &token(), json!({"ServiceId": id}), None);
    assert_eq!(read["resourceModel"]["PrivateDnsNameConfiguration"]["State"], "verified", "{read}");

    let mut renamed = read["resourceModel"].clone();
    renamed["PrivateDnsName"] = json!("billing.partner.example.com");
    let after = handler.call("UPDATE", &token(), renamed, Some(read["resourceModel"].clone()));
    assert_eq!(after["resourceModel"]["PrivateDnsName"], "billing.partner.example.com", "{after}");
    assert_eq!(
        after["resourceModel"]["PrivateDnsNameConfiguration"]["State"], "pendingVerification",
        "a new name needs verifying: {after}"
    );
    delete(&handler, &id);
}

#[test]
fn ip_address_types_change_alone_on_dual_stack() {
    let handler = handler();
    let created =
        handler.call("CREATE", &token(), json!({"LoadBalancerArns": [value("DualStackLoadBalancerArn")]}), None);
    assert_eq!(created["status"], "SUCCESS", "{created}");
    let id = service_id(&created);
    let mut previous = created["resourceModel"].clone();
    for types in [json!(["ipv6", "ipv4"]), json!(["ipv6"]), json!(["ipv4"])] {
        let mut desired = previous.clone();
        desired["SupportedIpAddressTypes"] = types.clone();
        let after = handler.call("UPDATE", &token(), desired, Some(previous));
        assert_eq!(after["status"], "SUCCESS", "{after}");
        assert_eq!(service_id(&after), id, "updated in place");
        assert_model(&json!({"SupportedIpAddressTypes": types}), &after["resourceModel"], UNORDERED);
        let read = handler.call("READ", &token(), json!({"ServiceId": id}), None);
        assert_eq!(read["resourceModel"], after["resourceModel"], "READ agrees");
        previous = after["resourceModel"].clone();
    }
    delete(&handler, &id);
}

/// LIST pages through more services than fit one page, each exactly once.
#[test]
fn list_pages_through_every_managed_service() {
    let handler = handler();
    let model = json!({"LoadBalancerArns": [value("SecondNetworkLoadBalancerArn")]});
    let ids: Vec<String> = (0..11)
        .map(|_| {
            let created = handler.call("CREATE", &token(), model.clone(), None);
            assert_eq!(created["status"], "SUCCESS", "{created}");
            service_id(&created)
        })
        .collect();
    let pages = handler.list_pages();
    assert!(pages.len() >= 2, "more services than one page holds: {} page(s)", pages.len());
    let listed: Vec<&Value> = pages.iter().flatten().map(|m| &m["ServiceId"]).collect();
    for id in &ids {
        assert_eq!(listed.iter().filter(|l| **l == id).count(), 1, "{id} listed once");
    }
    for id in &ids {
        delete(&handler, id);
    }
}
