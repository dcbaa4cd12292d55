"""The ``endpoint_services`` extension, and ``signed_body``, through boto3 against moto's server."""

import re
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import REGION, client, users_then_enforcement

TOPIC = "arn:aws:sns:us-east-1:123456789012:endpoint-events"
OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:other-events"
MODEL_NAME = "ec2::vpc_endpoint_service_configuration"


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


def create_service(ec2, nlb, **kwargs):
    return ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb], **kwargs
    )["ServiceConfiguration"]


def describe_service(ec2, service_id):
    return ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])[
        "ServiceConfigurations"
    ][0]


def create_endpoint(ec2, network, service):
    return ec2.create_vpc_endpoint(
        VpcId=network["vpc"],
        ServiceName=service["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=network["subnets"][:1],
    )["VpcEndpoint"]["VpcEndpointId"]


# Connection notifications


def test_connection_notification_lifecycle(ec2, network):
    service = create_service(ec2, network["ipv4_nlb"])
    assert (
        error_code(
            ec2.create_vpc_endpoint_connection_notification,
            ServiceId=service["ServiceId"],
            ConnectionNotificationArn=TOPIC,
            ConnectionEvents=["Accept"],
            DryRun=True,
        )
        == "DryRunOperation"
    )
    assert ec2.describe_vpc_endpoint_connection_notifications()["ConnectionNotificationSet"] == []
    created = ec2.create_vpc_endpoint_connection_notification(
        ServiceId=service["ServiceId"],
        ConnectionNotificationArn=TOPIC,
        ConnectionEvents=["Accept", "Reject"],
    )["ConnectionNotification"]
    notification_id = created["ConnectionNotificationId"]
    assert re.fullmatch(r"vpce-nfn-[0-9a-f]{17}", notification_id)
    assert created["ServiceId"] == service["ServiceId"]
    assert "VpcEndpointId" not in created
    assert created["ConnectionNotificationArn"] == TOPIC
    assert created["ConnectionEvents"] == ["Accept", "Reject"]
    assert created["ConnectionNotificationType"] == "Topic"
    assert created["ConnectionNotificationState"] == "Enabled"

    described = ec2.describe_vpc_endpoint_connection_notifications(
        ConnectionNotificationId=notification_id
    )["ConnectionNotificationSet"]
    assert described == [created]

    assert ec2.modify_vpc_endpoint_connection_notification(
        ConnectionNotificationId=notification_id,
        ConnectionNotificationArn=OTHER_TOPIC,
        ConnectionEvents=["Connect", "Delete"],
    )["ReturnValue"]
    modified = ec2.describe_vpc_endpoint_connection_notifications(
        ConnectionNotificationId=notification_id
    )["ConnectionNotificationSet"][0]
    assert modified["ConnectionNotificationArn"] == OTHER_TOPIC
    assert modified["ConnectionEvents"] == ["Connect", "Delete"]

    # Modifying only the events keeps the topic.
    ec2.modify_vpc_endpoint_connection_notification(
        ConnectionNotificationId=notification_id, ConnectionEvents=["Accept"]
    )
    modified = ec2.describe_vpc_endpoint_connection_notifications(
        ConnectionNotificationId=notification_id
    )["ConnectionNotificationSet"][0]
    assert (modified["ConnectionNotificationArn"], modified["ConnectionEvents"]) == (
        OTHER_TOPIC,
        ["Accept"],
    )

    unknown = "vpce-nfn-0123456789abcdef0"
    unsuccessful = ec2.delete_vpc_endpoint_connection_notifications(
        ConnectionNotificationIds=[notification_id, unknown]
    )["Unsuccessful"]
    assert [(u["ResourceId"], u["Error"]["Code"]) for u in unsuccessful] == [
        (unknown, "InvalidConnectionNotification")
    ]
    assert ec2.describe_vpc_endpoint_connection_notifications()["ConnectionNotificationSet"] == []
    assert (
        error_code(
            ec2.describe_vpc_endpoint_connection_notifications,
            ConnectionNotificationId=notification_id,
        )
        == "InvalidConnectionNotification"
    )
    assert (
        error_code(
            ec2.modify_vpc_endpoint_connection_notification,
            ConnectionNotificationId=notification_id,
            ConnectionEvents=["Accept"],
        )
        == "InvalidConnectionNotification"
    )


def test_connection_notification_for_an_endpoint(ec2, network):
    service = create_service(ec2, network["ipv4_nlb"])
    endpoint_id = create_endpoint(ec2, network, service)
    created = ec2.create_vpc_endpoint_connection_notification(
        VpcEndpointId=endpoint_id, ConnectionNotificationArn=TOPIC, ConnectionEvents=["Accept"]
    )["ConnectionNotification"]
    assert created["VpcEndpointId"] == endpoint_id
    assert "ServiceId" not in created


def test_connection_notification_validation(ec2, network):
    service_id = create_service(ec2, network["ipv4_nlb"])["ServiceId"]
    create = ec2.create_vpc_endpoint_connection_notification
    valid = {"ConnectionNotificationArn": TOPIC, "ConnectionEvents": ["Accept"]}

    assert (
        error_code(create, ServiceId="vpce-svc-0123456789abcdef0", **valid)
        == "InvalidVpcEndpointServiceId.NotFound"
    )
    assert (
        error_code(create, VpcEndpointId="vpce-0123456789abcdef0", **valid)
        == "InvalidVpcEndpointId.NotFound"
    )
    assert error_code(create, **valid) == "MissingParameter"
    assert (
        error_code(create, ServiceId=service_id, VpcEndpointId="vpce-0123456789abcdef0", **valid)
        == "InvalidParameterCombination"
    )
    for arn in (
        "not-an-arn",
        "arn:aws:sqs:us-east-1:123456789012:queue",
        "arn:aws:sns:us-east-1:1:topic",
    ):
        assert (
            error_code(
                create,
                ServiceId=service_id,
                ConnectionNotificationArn=arn,
                ConnectionEvents=["Accept"],
            )
            == "InvalidParameter"
        ), arn
    assert (
        error_code(
            create, ServiceId=service_id, ConnectionNotificationArn=TOPIC, ConnectionEvents=["Open"]
        )
        == "InvalidParameterValue"
    )
    notification_id = create(ServiceId=service_id, **valid)["ConnectionNotification"][
        "ConnectionNotificationId"
    ]
    assert (
        error_code(
            ec2.modify_vpc_endpoint_connection_notification,
            ConnectionNotificationId=notification_id,
            ConnectionNotificationArn="arn:aws:sqs:us-east-1:123456789012:queue",
        )
        == "InvalidParameter"
    )
    assert (
        error_code(
            ec2.modify_vpc_endpoint_connection_notification,
            ConnectionNotificationId=notification_id,
            ConnectionEvents=["Open"],
        )
        == "InvalidParameterValue"
    )


def test_connection_notification_client_token(ec2, network):
    service_id = create_service(ec2, network["ipv4_nlb"])["ServiceId"]
    request = {
        "ServiceId": service_id,
        "ConnectionNotificationArn": TOPIC,
        "ConnectionEvents": ["Accept"],
        "ClientToken": "token-1",
    }
    first = ec2.create_vpc_endpoint_connection_notification(**request)
    again = ec2.create_vpc_endpoint_connection_notification(**request)
    assert first["ClientToken"] == again["ClientToken"] == "token-1"
    assert first["ConnectionNotification"] == again["ConnectionNotification"]
    notifications = ec2.describe_vpc_endpoint_connection_notifications()
    assert len(notifications["ConnectionNotificationSet"]) == 1
    assert (
        error_code(
            ec2.create_vpc_endpoint_connection_notification,
            **{**request, "ConnectionEvents": ["Reject"]},
        )
        == "IdempotentParameterMismatch"
    )


def test_connection_notification_filters_and_paging(ec2, network):
    first = create_service(ec2, network["ipv4_nlb"])
    second = create_service(ec2, network["dualstack_nlb"])
    endpoint_id = create_endpoint(ec2, network, first)

    def notify(topic, **target):
        return ec2.create_vpc_endpoint_connection_notification(
            ConnectionNotificationArn=topic, ConnectionEvents=["Accept"], **target
        )["ConnectionNotification"]["ConnectionNotificationId"]

    on_first = notify(TOPIC, ServiceId=first["ServiceId"])
    on_second = notify(OTHER_TOPIC, ServiceId=second["ServiceId"])
    on_endpoint = notify(TOPIC, VpcEndpointId=endpoint_id)

    def ids(*filters):
        found = ec2.describe_vpc_endpoint_connection_notifications(
            Filters=[{"Name": name, "Values": values} for name, values in filters]
        )["ConnectionNotificationSet"]
        return sorted(n["ConnectionNotificationId"] for n in found)

    assert ids() == sorted([on_first, on_second, on_endpoint])
    assert ids(("service-id", [first["ServiceId"]])) == [on_first]
    assert ids(("service-id", [first["ServiceId"], second["ServiceId"]])) == sorted(
        [on_first, on_second]
    )
    assert ids(("vpc-endpoint-id", [endpoint_id])) == [on_endpoint]
    assert ids(("connection-notification-arn", [TOPIC])) == sorted([on_first, on_endpoint])
    assert ids(("connection-notification-id", [on_second])) == [on_second]
    assert ids(("connection-notification-state", ["Enabled"])) == ids()
    assert ids(("connection-notification-state", ["Disabled"])) == []
    assert ids(("connection-notification-type", ["Topic"])) == ids()
    assert ids(("connection-notification-arn", [TOPIC]), ("service-id", [first["ServiceId"]])) == [
        on_first
    ]
    assert (
        error_code(
            ec2.describe_vpc_endpoint_connection_notifications,
            Filters=[{"Name": "no-such-filter", "Values": ["x"]}],
        )
        == "InvalidParameterValue"
    )

    page = ec2.describe_vpc_endpoint_connection_notifications(MaxResults=2)
    rest = ec2.describe_vpc_endpoint_connection_notifications(
        MaxResults=2, NextToken=page["NextToken"]
    )
    assert len(page["ConnectionNotificationSet"]) == 2
    assert len(rest["ConnectionNotificationSet"]) == 1
    assert "NextToken" not in rest
    paged = page["ConnectionNotificationSet"] + rest["ConnectionNotificationSet"]
    assert sorted(n["ConnectionNotificationId"] for n in paged) == ids()


# Service configurations


def test_supported_ip_address_types(ec2, network):
    ipv4_nlb, dualstack_nlb = network["ipv4_nlb"], network["dualstack_nlb"]
    default = create_service(ec2, ipv4_nlb)
    assert default["SupportedIpAddressTypes"] == ["ipv4"]

    with pytest.raises(ClientError) as raised:
        create_service(ec2, ipv4_nlb, SupportedIpAddressTypes=["ipv4", "ipv6"])
    assert raised.value.response["Error"]["Code"] == "InvalidParameter"
    assert ipv4_nlb in raised.value.response["Error"]["Message"]
    assert (
        error_code(create_service, ec2=ec2, nlb=dualstack_nlb, SupportedIpAddressTypes=["ipv5"])
        == "InvalidParameterValue"
    )

    dual = create_service(ec2, dualstack_nlb, SupportedIpAddressTypes=["ipv4", "ipv6"])
    assert dual["SupportedIpAddressTypes"] == ["ipv4", "ipv6"]
    assert describe_service(ec2, dual["ServiceId"])["SupportedIpAddressTypes"] == ["ipv4", "ipv6"]

    modify = ec2.modify_vpc_endpoint_service_configuration
    with pytest.raises(ClientError) as raised:
        modify(ServiceId=default["ServiceId"], AddSupportedIpAddressTypes=["ipv6"])
    assert raised.value.response["Error"]["Code"] == "InvalidParameter"
    assert ipv4_nlb in raised.value.response["Error"]["Message"]
    # A rejected modification changes nothing.
    with pytest.raises(ClientError):
        modify(
            ServiceId=default["ServiceId"],
            AddSupportedIpAddressTypes=["ipv6"],
            AcceptanceRequired=False,
        )
    assert describe_service(ec2, default["ServiceId"])["AcceptanceRequired"] is True

    # Adding the dual-stack balancer alone is not enough while the IPv4 one stays.
    assert (
        error_code(
            modify,
            ServiceId=default["ServiceId"],
            AddNetworkLoadBalancerArns=[dualstack_nlb],
            AddSupportedIpAddressTypes=["ipv6"],
        )
        == "InvalidParameter"
    )
    modify(
        ServiceId=default["ServiceId"],
        AddNetworkLoadBalancerArns=[dualstack_nlb],
        RemoveNetworkLoadBalancerArns=[ipv4_nlb],
        AddSupportedIpAddressTypes=["ipv6"],
    )
    described = describe_service(ec2, default["ServiceId"])
    assert described["SupportedIpAddressTypes"] == ["ipv4", "ipv6"]
    # And an IPv4 balancer cannot join a service that supports ipv6.
    assert (
        error_code(modify, ServiceId=default["ServiceId"], AddNetworkLoadBalancerArns=[ipv4_nlb])
        == "InvalidParameter"
    )

    modify(ServiceId=dual["ServiceId"], RemoveSupportedIpAddressTypes=["ipv4"])
    assert describe_service(ec2, dual["ServiceId"])["SupportedIpAddressTypes"] == ["ipv6"]
    assert (
        error_code(modify, ServiceId=dual["ServiceId"], RemoveSupportedIpAddressTypes=["ipv6"])
        == "InvalidParameter"
    )
    assert (
        error_code(modify, ServiceId=dual["ServiceId"], AddSupportedIpAddressTypes=["ipv5"])
        == "InvalidParameterValue"
    )

    details = ec2.describe_vpc_endpoint_services(ServiceNames=[dual["ServiceName"]])[
        "ServiceDetails"
    ]
    assert details[0]["SupportedIpAddressTypes"] == ["ipv6"]


def test_private_dns_name_verification(ec2, network):
    plain = create_service(ec2, network["ipv4_nlb"])
    assert "PrivateDnsName" not in plain
    assert "PrivateDnsNameConfiguration" not in plain
    assert (
        error_code(
            ec2.start_vpc_endpoint_service_private_dns_verification, ServiceId=plain["ServiceId"]
        )
        == "InvalidParameter"
    )
    assert (
        error_code(
            ec2.start_vpc_endpoint_service_private_dns_verification,
            ServiceId="vpce-svc-0123456789abcdef0",
        )
        == "InvalidVpcEndpointServiceId.NotFound"
    )

    service = create_service(ec2, network["ipv4_nlb"], PrivateDnsName="api.example.com")
    service_id = service["ServiceId"]
    pending = service["PrivateDnsNameConfiguration"]
    assert pending["State"] == "pendingVerification"
    assert pending["Type"] == "TXT"
    assert re.fullmatch(r"_[a-z0-9]{20}", pending["Name"])
    assert re.fullmatch(r"vpce:[A-Za-z0-9]{20}", pending["Value"])
    assert describe_service(ec2, service_id)["PrivateDnsNameConfiguration"] == pending

    assert ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service_id)[
        "ReturnValue"
    ]
    verified = describe_service(ec2, service_id)["PrivateDnsNameConfiguration"]
    assert verified == {**pending, "State": "verified"}

    def consumer_view():
        detail = ec2.describe_vpc_endpoint_services(ServiceNames=[service["ServiceName"]])[
            "ServiceDetails"
        ][0]
        return (
            detail.get("PrivateDnsName"),
            detail.get("PrivateDnsNames"),
            detail.get("PrivateDnsNameVerificationState"),
        )

    assert consumer_view() == (
        "api.example.com",
        [{"PrivateDnsName": "api.example.com"}],
        "verified",
    )

    # The same name keeps its verification; another name needs a new one.
    modify = ec2.modify_vpc_endpoint_service_configuration
    modify(ServiceId=service_id, PrivateDnsName="api.example.com")
    assert describe_service(ec2, service_id)["PrivateDnsNameConfiguration"] == verified
    modify(ServiceId=service_id, PrivateDnsName="www.example.com")
    renamed = describe_service(ec2, service_id)
    assert renamed["PrivateDnsName"] == "www.example.com"
    assert renamed["PrivateDnsNameConfiguration"]["State"] == "pendingVerification"
    assert renamed["PrivateDnsNameConfiguration"]["Name"] != pending["Name"]
    assert renamed["PrivateDnsNameConfiguration"]["Value"] != pending["Value"]
    assert consumer_view() == (
        "www.example.com",
        [{"PrivateDnsName": "www.example.com"}],
        "pendingVerification",
    )

    assert (
        error_code(
            modify, ServiceId=service_id, PrivateDnsName="a.example.com", RemovePrivateDnsName=True
        )
        == "InvalidParameterCombination"
    )
    modify(ServiceId=service_id, RemovePrivateDnsName=True)
    removed = describe_service(ec2, service_id)
    assert "PrivateDnsName" not in removed
    assert "PrivateDnsNameConfiguration" not in removed
    assert consumer_view() == (None, [], None)


def test_create_client_token(ec2, network):
    request = {"NetworkLoadBalancerArns": [network["ipv4_nlb"]], "ClientToken": "service-token"}
    first = ec2.create_vpc_endpoint_service_configuration(**request)
    again = ec2.create_vpc_endpoint_service_configuration(**request)
    assert first["ClientToken"] == again["ClientToken"] == "service-token"
    assert first["ServiceConfiguration"]["ServiceId"] == again["ServiceConfiguration"]["ServiceId"]
    assert len(ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]) == 1
    assert (
        error_code(
            ec2.create_vpc_endpoint_service_configuration, **request, AcceptanceRequired=False
        )
        == "IdempotentParameterMismatch"
    )
    # Without a token, each call creates a service.
    ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[network["ipv4_nlb"]])
    ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[network["ipv4_nlb"]])
    assert len(ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]) == 3


def test_describe_filters_and_paging(ec2, network):
    def tagged(team, nlb=network["ipv4_nlb"], **kwargs):
        return create_service(
            ec2,
            nlb,
            TagSpecifications=[
                {"ResourceType": "vpc-endpoint-service", "Tags": [{"Key": "Team", "Value": team}]}
            ],
            **kwargs,
        )["ServiceId"]

    red = [tagged("red") for _ in range(3)]
    blue = [tagged("blue") for _ in range(2)]
    dual = tagged("blue", network["dualstack_nlb"], SupportedIpAddressTypes=["ipv4", "ipv6"])
    untagged = create_service(ec2, network["ipv4_nlb"])
    everything = sorted([*red, *blue, dual, untagged["ServiceId"]])

    def ids(*filters, **kwargs):
        found = ec2.describe_vpc_endpoint_service_configurations(
            Filters=[{"Name": name, "Values": values} for name, values in filters], **kwargs
        )["ServiceConfigurations"]
        return sorted(s["ServiceId"] for s in found)

    assert ids() == everything
    assert ids(("service-id", [red[0], dual])) == sorted([red[0], dual])
    assert ids(("service-name", [untagged["ServiceName"]])) == [untagged["ServiceId"]]
    assert ids(("service-state", ["Available"])) == everything
    assert ids(("service-state", ["Pending"])) == []
    assert ids(("supported-ip-address-types", ["ipv6"])) == [dual]
    assert ids(("supported-ip-address-types", ["ipv4"])) == everything
    assert ids(("tag:Team", ["red"])) == sorted(red)
    assert ids(("tag:Team", ["blue"]), ("supported-ip-address-types", ["ipv4"])) == sorted(
        [*blue, dual]
    )
    assert ids(("tag-key", ["Team"])) == sorted([*red, *blue, dual])
    assert ids(("tag:Team", ["red"]), ServiceIds=[red[0], blue[0]]) == [red[0]]
    assert (
        error_code(
            ec2.describe_vpc_endpoint_service_configurations,
            Filters=[{"Name": "vpc-id", "Values": ["x"]}],
        )
        == "InvalidParameterValue"
    )

    page = ec2.describe_vpc_endpoint_service_configurations(MaxResults=5)
    assert len(page["ServiceConfigurations"]) == 5
    rest = ec2.describe_vpc_endpoint_service_configurations(
        MaxResults=5, NextToken=page["NextToken"]
    )
    assert len(rest["ServiceConfigurations"]) == 2
    assert "NextToken" not in rest
    paged = page["ServiceConfigurations"] + rest["ServiceConfigurations"]
    assert sorted(s["ServiceId"] for s in paged) == everything
    assert (
        error_code(ec2.describe_vpc_endpoint_service_configurations, MaxResults=4)
        == "InvalidParameterValue"
    )
    assert (
        error_code(ec2.describe_vpc_endpoint_service_configurations, NextToken="bogus")
        == "InvalidPaginationToken"
    )
    paginator = ec2.get_paginator("describe_vpc_endpoint_service_configurations")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))
    assert sorted(s["ServiceId"] for p in pages for s in p["ServiceConfigurations"]) == everything

    # Deleting the first service of the next page does not break paging.
    page = ec2.describe_vpc_endpoint_service_configurations(MaxResults=5)
    first_of_next = everything[5]
    ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[first_of_next])
    rest = ec2.describe_vpc_endpoint_service_configurations(
        MaxResults=5, NextToken=page["NextToken"]
    )
    assert [s["ServiceId"] for s in rest["ServiceConfigurations"]] == everything[6:]


def test_pending_switch(ec2, network, set_transition):
    assert create_service(ec2, network["ipv4_nlb"])["ServiceState"] == "Available"

    set_transition(MODEL_NAME, {"progression": "manual", "times": 2})
    created = create_service(ec2, network["ipv4_nlb"])
    assert created["ServiceState"] == "Pending"
    states = [describe_service(ec2, created["ServiceId"])["ServiceState"] for _ in range(4)]
    assert states == ["Pending", "Pending", "Available", "Available"]

    # Only describes that return a service advance it.
    other = create_service(ec2, network["ipv4_nlb"])["ServiceId"]
    for _ in range(2):
        describe_service(ec2, created["ServiceId"])
    assert describe_service(ec2, other)["ServiceState"] == "Pending"
    pending = ec2.describe_vpc_endpoint_service_configurations(
        Filters=[{"Name": "service-state", "Values": ["Pending"]}]
    )["ServiceConfigurations"]
    assert [s["ServiceId"] for s in pending] == [other]


def test_endpoint_connections_and_delete(ec2, network):
    gated = create_service(ec2, network["ipv4_nlb"], AcceptanceRequired=True)
    open_ = create_service(ec2, network["dualstack_nlb"], AcceptanceRequired=False)
    gated_endpoint = create_endpoint(ec2, network, gated)
    open_endpoints = [create_endpoint(ec2, network, open_) for _ in range(5)]

    connections = ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]
    by_endpoint = {c["VpcEndpointId"]: c for c in connections}
    assert set(by_endpoint) == {gated_endpoint, *open_endpoints}
    gated_connection = by_endpoint[gated_endpoint]
    assert gated_connection["ServiceId"] == gated["ServiceId"]
    assert gated_connection["VpcEndpointState"] == "pendingAcceptance"
    assert gated_connection["VpcEndpointOwner"] == "123456789012"
    assert gated_connection["NetworkLoadBalancerArns"] == [network["ipv4_nlb"]]
    assert gated_connection["DnsEntries"][0]["DnsName"]
    assert "CreationTimestamp" in gated_connection
    assert {by_endpoint[e]["VpcEndpointState"] for e in open_endpoints} == {"available"}

    def ids(*filters):
        found = ec2.describe_vpc_endpoint_connections(
            Filters=[{"Name": name, "Values": values} for name, values in filters]
        )["VpcEndpointConnections"]
        return sorted(c["VpcEndpointId"] for c in found)

    assert ids(("service-id", [gated["ServiceId"]])) == [gated_endpoint]
    assert ids(("vpc-endpoint-state", ["available"])) == sorted(open_endpoints)
    assert ids(("vpc-endpoint-state", ["pendingAcceptance"])) == [gated_endpoint]
    assert ids(("vpc-endpoint-id", open_endpoints[:2])) == sorted(open_endpoints[:2])
    assert (
        error_code(
            ec2.describe_vpc_endpoint_connections, Filters=[{"Name": "vpc-id", "Values": ["x"]}]
        )
        == "InvalidParameterValue"
    )
    page = ec2.describe_vpc_endpoint_connections(MaxResults=5)
    rest = ec2.describe_vpc_endpoint_connections(MaxResults=5, NextToken=page["NextToken"])
    assert len(page["VpcEndpointConnections"]) == 5
    assert len(rest["VpcEndpointConnections"]) == 1
    assert "NextToken" not in rest

    # Changing AcceptanceRequired later leaves existing connections as they are.
    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=gated["ServiceId"], AcceptanceRequired=False
    )
    assert ids(("vpc-endpoint-state", ["pendingAcceptance"])) == [gated_endpoint]

    notification_id = ec2.create_vpc_endpoint_connection_notification(
        ServiceId=gated["ServiceId"], ConnectionNotificationArn=TOPIC, ConnectionEvents=["Accept"]
    )["ConnectionNotification"]["ConnectionNotificationId"]

    missing = "vpce-svc-0123456789abcdef0"
    unsuccessful = ec2.delete_vpc_endpoint_service_configurations(
        ServiceIds=[gated["ServiceId"], open_["ServiceId"], missing]
    )["Unsuccessful"]
    by_service = {u["ResourceId"]: u["Error"] for u in unsuccessful}
    assert set(by_service) == {gated["ServiceId"], open_["ServiceId"], missing}
    assert by_service[gated["ServiceId"]]["Code"] == "ExistingVpcEndpointConnections"
    assert gated_endpoint in by_service[gated["ServiceId"]]["Message"]
    assert by_service[open_["ServiceId"]]["Code"] == "ExistingVpcEndpointConnections"
    assert all(e in by_service[open_["ServiceId"]]["Message"] for e in open_endpoints)
    assert by_service[missing]["Code"] == "InvalidVpcEndpointService.NotFound"
    assert describe_service(ec2, gated["ServiceId"])["ServiceId"] == gated["ServiceId"]

    ec2.delete_vpc_endpoints(VpcEndpointIds=[gated_endpoint])
    assert ids(("service-id", [gated["ServiceId"]])) == []
    assert ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[gated["ServiceId"]])[
        "Unsuccessful"
    ] == []
    assert (
        error_code(
            ec2.describe_vpc_endpoint_service_configurations, ServiceIds=[gated["ServiceId"]]
        )
        == "InvalidVpcEndpointServiceId.NotFound"
    )
    remaining = ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
    assert [s["ServiceId"] for s in remaining] == [open_["ServiceId"]]
    # Its notifications went with it.
    assert (
        error_code(
            ec2.describe_vpc_endpoint_connection_notifications,
            ConnectionNotificationId=notification_id,
        )
        == "InvalidConnectionNotification"
    )


# IAM enforcement (a server process of its own: enforcement is process-wide)


@pytest.fixture(scope="module")
def enforced(own_server):
    keys = users_then_enforcement(
        own_server,
        {"describer": ["ec2:Describe*"], "notifier": ["ec2:CreateVpcEndpointConnectionNotification"]},
    )
    return own_server, keys


def test_iam_enforcement_covers_connection_notifications(enforced):
    url, keys = enforced
    request = {
        "ServiceId": "vpce-svc-0123456789abcdef0",
        "ConnectionNotificationArn": TOPIC,
        "ConnectionEvents": ["Accept"],
    }
    describer = client("ec2", url, **keys["describer"])
    # The describer may describe, so enforcement lets its calls through...
    assert describer.describe_vpc_endpoint_connection_notifications()[
        "ConnectionNotificationSet"
    ] == []
    # ...but not this one, which its policy omits.
    assert error_code(describer.create_vpc_endpoint_connection_notification, **request) in (
        "AccessDenied",
        "UnauthorizedOperation",
    )
    # A caller allowed the action gets past enforcement, to the action's own checks.
    notifier = client("ec2", url, **keys["notifier"])
    assert (
        error_code(notifier.create_vpc_endpoint_connection_notification, **request)
        == "InvalidVpcEndpointServiceId.NotFound"
    )
    # The default keys are unknown to IAM once enforcement is on.
    assert error_code(client("ec2", url).describe_vpc_endpoint_connections) in (
        "AuthFailure",
        "InvalidClientTokenId",
    )


def signed_query(url, credentials, signed_body, sent_body=None):
    """POSTs a query-protocol EC2 request whose SigV4 signature covers ``signed_body``."""
    request = AWSRequest(
        method="POST",
        url=f"{url}/",
        data=signed_body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(
        Credentials(credentials["aws_access_key_id"], credentials["aws_secret_access_key"]),
        "ec2",
        REGION,
    ).add_auth(request)
    sent = urllib.request.Request(
        f"{url}/", data=sent_body or signed_body, headers=dict(request.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(sent) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_signed_body_checks_the_bytes_the_client_signed(enforced):
    url, keys = enforced
    # A space encoded as %20, as the AWS SDK for Rust encodes it (botocore would send "+").
    body = (
        b"Action=DescribeVpcs&Version=2016-11-15"
        b"&Filter.1.Name=tag%3AName&Filter.1.Value.1=my%20vpc"
    )
    status, text = signed_query(url, keys["describer"], body)
    assert status == 200, text
    assert "<vpcSet" in text
    # The signature is really checked: other bytes than the signed ones are refused (EC2
    # reports a signature mismatch as AuthFailure).
    status, text = signed_query(url, keys["describer"], body, body.replace(b"%20", b"+"))
    assert status in (401, 403)
    assert "<Code>AuthFailure</Code>" in text


def test_load_balancer_arns_name_their_kind(elbv2, network):
    assert ":loadbalancer/net/ipv4-nlb/" in network["ipv4_nlb"]
    described = elbv2.describe_load_balancers(LoadBalancerArns=[network["ipv4_nlb"]])
    assert described["LoadBalancers"][0]["LoadBalancerArn"] == network["ipv4_nlb"]
    tags = elbv2.describe_tags(ResourceArns=[network["dualstack_nlb"]])["TagDescriptions"]
    assert tags[0]["ResourceArn"] == network["dualstack_nlb"]
    application = elbv2.create_load_balancer(Name="web", Subnets=network["subnets"])
    assert ":loadbalancer/app/web/" in application["LoadBalancers"][0]["LoadBalancerArn"]


def test_a_load_balancer_added_again_stays_associated_once(ec2, network):
    ipv4_nlb, dualstack_nlb = network["ipv4_nlb"], network["dualstack_nlb"]
    service = create_service(ec2, ipv4_nlb)
    for _ in range(2):  # a retried modify
        ec2.modify_vpc_endpoint_service_configuration(
            ServiceId=service["ServiceId"], AddNetworkLoadBalancerArns=[dualstack_nlb, ipv4_nlb]
        )
    assert describe_service(ec2, service["ServiceId"])["NetworkLoadBalancerArns"] == [ipv4_nlb, dualstack_nlb]
    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=service["ServiceId"], RemoveNetworkLoadBalancerArns=[dualstack_nlb]
    )
    assert describe_service(ec2, service["ServiceId"])["NetworkLoadBalancerArns"] == [ipv4_nlb]
