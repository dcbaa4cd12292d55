"""VPC endpoint services as their provider sees them, beyond what moto models.

moto creates, describes, modifies and deletes endpoint service configurations, but reports every
service ``Available`` with a fixed, already verified private DNS record; it ignores
``SupportedIpAddressTypes``, ``RemovePrivateDnsName``, ``ClientToken``, the describe ``Filters``
and paging; it deletes a service that endpoints still connect to; and it has neither connection
notifications nor ``DescribeVpcEndpointConnections``. This module adds them as methods of moto's
EC2 backend and response classes, so every action takes moto's normal path, IAM enforcement
included:

- connection notifications: ``Create``, ``Describe``, ``Modify`` and
  ``DeleteVpcEndpointConnectionNotification(s)``;
- ``SupportedIpAddressTypes`` on create, modify and describe (``ipv6`` needs dual-stack load
  balancers);
- a private DNS name awaits verification (``StartVpcEndpointServicePrivateDnsVerification``);
- ``ClientToken`` idempotency on create, ``Filters`` and paging on describe;
- ``ServiceState`` from moto's state manager, model ``ec2::vpc_endpoint_service_configuration``
  (``Pending``, then ``Available``): immediate unless a test sets a transition; each describe
  that returns a service advances it;
- ``DescribeVpcEndpointConnections``, and deletion refused while endpoints are connected;
- a load balancer is associated once: adding one the service already has changes nothing (moto
  appends it again, so a modify retried after its answer was lost doubled it).
"""

import inspect
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import (
    EC2ClientError,
    InvalidParameter,
    InvalidParameterCombination,
    InvalidParameterValue,
    MissingParameterError,
    NoLoadBalancersProvided,
    UnknownVpcEndpointService,
)
from moto.ec2.models.vpc_service_configuration import (
    VPCServiceConfiguration,
    VPCServiceConfigurationBackend,
)
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.responses.vpc_service_configuration import VPCEndpointServiceConfiguration
from moto.moto_api import state_manager
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.managed_state_model import ManagedState

MODEL_NAME = "ec2::vpc_endpoint_service_configuration"
state_manager.register_default_transition(MODEL_NAME, transition={"progression": "immediate"})

IP_ADDRESS_TYPES = ("ipv4", "ipv6")
CONNECTION_EVENTS = ("Accept", "Connect", "Delete", "Reject")
# AWS refuses to delete a service while endpoints in these states connect to it.
ACTIVE_CONNECTION_STATES = ("pendingAcceptance", "available")
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}(\.fifo)?")
MAX_RESULTS = 1000


class EndpointService(VPCServiceConfiguration, ManagedState):
    """moto's service configuration with a managed state, IP address types, a private DNS
    verification record and the endpoints connected to it."""

    def __init__(
        self,
        supported_ip_address_types: list[str],
        client_token: str | None,
        request: dict[str, Any],
        **kwargs: Any,
    ):
        VPCServiceConfiguration.__init__(self, **kwargs)
        ManagedState.__init__(self, MODEL_NAME, transitions=[("Pending", "Available")])
        self.supported_ip_address_types = supported_ip_address_types
        self.client_token = client_token
        self.request = request
        self.connections: dict[str, EndpointConnection] = {}
        self._dns_record = _pending_dns_record() if self.private_dns_name else None

    @property
    def service_state(self) -> str | None:
        # The state as of the last refresh_state: a describe reports the state, then advances
        # the service, and reading ``status`` while serialising would apply the next transition.
        return self._status

    @service_state.setter
    def service_state(self, _: str) -> None:
        """Drops the ``Available`` moto's constructor assigns: the state manager decides."""

    def refresh_state(self) -> None:
        self._status = self.status

    @property
    def private_dns_name_configuration(self) -> dict[str, str] | None:
        return self._dns_record

    def rename_private_dns(self, name: str | None) -> None:
        if name != self.private_dns_name:
            self.private_dns_name = name
            self._dns_record = _pending_dns_record() if name else None

    def verify_private_dns(self) -> None:
        if not self._dns_record:
            raise InvalidParameter(f"The service {self.id} has no private DNS name to verify.")
        self._dns_record["State"] = "verified"

    def connect(self, endpoint: Any) -> None:
        # Accepting is decided when the endpoint is created: changing AcceptanceRequired later
        # does not affect existing connections.
        state = "pendingAcceptance" if self.acceptance_required else "available"
        self.connections[endpoint.id] = EndpointConnection(self, endpoint, state)

    def live_connections(self) -> list["EndpointConnection"]:
        return [c for c in self.connections.values() if c.endpoint.state != "deleted"]

    def to_dict(self) -> dict[str, Any]:
        """The service as DescribeVpcEndpointServices shows it to consumers."""
        detail = super().to_dict()
        name = self.private_dns_name
        detail["PrivateDnsNames"] = [{"PrivateDnsName": name}] if name else []
        detail["SupportedIpAddressTypes"] = self.supported_ip_address_types
        if self._dns_record:
            detail["PrivateDnsNameVerificationState"] = self._dns_record["State"]
        return detail


def _pending_dns_record() -> dict[str, str]:
    # The TXT record a provider publishes to prove it owns the name.
    return {
        "State": "pendingVerification",
        "Type": "TXT",
        "Name": "_" + mock_random.get_random_string(length=20, lower_case=True),
        "Value": "vpce:" + mock_random.get_random_string(length=20),
    }


class EndpointConnection:
    """A VPC endpoint as the service it connects to sees it (shape VpcEndpointConnection)."""

    def __init__(self, service: EndpointService, endpoint: Any, state: str):
        self.service = service
        self.endpoint = endpoint
        self.vpc_endpoint_state = state

    @property
    def service_id(self) -> str:
        return self.service.id

    @property
    def vpc_endpoint_id(self) -> str:
        return self.endpoint.id

    @property
    def vpc_endpoint_owner(self) -> str:
        return self.endpoint.owner_id

    @property
    def creation_timestamp(self) -> Any:
        return self.endpoint.creation_timestamp

    @property
    def dns_entries(self) -> list[dict[str, str]]:
        return self.endpoint.dns_entries

    @property
    def network_load_balancer_arns(self) -> list[str] | None:
        return self.service.network_load_balancer_arns or None

    @property
    def gateway_load_balancer_arns(self) -> list[str] | None:
        return self.service.gateway_load_balancer_arns or None


class ConnectionNotification:
    """Shape ConnectionNotification: an SNS topic told of a service's or endpoint's events."""

    def __init__(
        self,
        service_id: str | None,
        vpc_endpoint_id: str | None,
        arn: str,
        events: list[str],
        region: str,
        client_token: str | None,
        request: dict[str, Any],
    ):
        self.connection_notification_id = f"vpce-nfn-{mock_random.get_random_hex(17)}"
        self.service_id = service_id
        self.vpc_endpoint_id = vpc_endpoint_id
        self.connection_notification_type = "Topic"
        self.connection_notification_arn = arn
        self.connection_events = events
        self.connection_notification_state = "Enabled"
        self.service_region = region if service_id else None
        self.client_token = client_token
        self.request = request


SERVICE_FILTERS: dict[str, Callable[[Any], list[Any]]] = {
    "service-name": lambda s: [s.service_name],
    "service-id": lambda s: [s.id],
    "service-state": lambda s: [s.service_state],
    "supported-ip-address-types": lambda s: s.supported_ip_address_types,
    "tag-key": lambda s: [t["key"] for t in s.get_tags()],
}
NOTIFICATION_FILTERS: dict[str, Callable[[Any], list[Any]]] = {
    "connection-notification-arn": lambda n: [n.connection_notification_arn],
    "connection-notification-id": lambda n: [n.connection_notification_id],
    "connection-notification-state": lambda n: [n.connection_notification_state],
    "connection-notification-type": lambda n: [n.connection_notification_type],
    "service-id": lambda n: [n.service_id],
    "vpc-endpoint-id": lambda n: [n.vpc_endpoint_id],
}
CONNECTION_FILTERS: dict[str, Callable[[Any], list[Any]]] = {
    "service-id": lambda c: [c.service_id],
    "vpc-endpoint-id": lambda c: [c.vpc_endpoint_id],
    "vpc-endpoint-owner": lambda c: [c.vpc_endpoint_owner],
    "vpc-endpoint-state": lambda c: [c.vpc_endpoint_state],
}


def _filtered(
    items: list[Any],
    filters: dict[str, list[str]],
    table: dict[str, Callable[[Any], list[Any]]],
    tagged: bool = False,
) -> list[Any]:
    """The items matching every filter; a filter matches when any value matches any of its
    values (wildcards ``*`` and ``?`` allowed)."""
    for name, wanted in filters.items():
        if tagged and name.startswith("tag:"):
            values_of = _tag_values(name[len("tag:") :])
        elif name in table:
            values_of = table[name]
        else:
            raise InvalidParameterValue(f"The filter '{name}' is invalid")
        items = [
            item
            for item in items
            if any(
                fnmatchcase(value, pattern)
                for value in values_of(item)
                if value is not None
                for pattern in wanted
            )
        ]
    return items


def _tag_values(key: str) -> Callable[[Any], list[Any]]:
    return lambda item: [t["value"] for t in item.get_tags() if t["key"] == key]


_TOKEN_PREFIX = "page:"


def _page(
    items: list[Any],
    max_results: int | None,
    next_token: str | None,
    key: Callable[[Any], str],
    minimum: int,
) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next.

    Items come sorted by key and the token names the first key of the next page, so paging
    resumes where it stopped even when items are deleted in between, as with AWS's tokens.
    """
    if max_results is not None and max_results < minimum:
        raise InvalidParameterValue(
            f"Value ( {max_results} ) for parameter maxResults is invalid. "
            f"Expecting a value between {minimum} and {MAX_RESULTS}."
        )
    items = sorted(items, key=key)
    start = 0
    if next_token:
        if not next_token.startswith(_TOKEN_PREFIX):
            raise EC2ClientError(
                "InvalidPaginationToken", f"Invalid pagination token: {next_token}"
            )
        resume_at = next_token[len(_TOKEN_PREFIX) :]
        start = next((i for i, item in enumerate(items) if key(item) >= resume_at), len(items))
    stop = start + min(max_results or MAX_RESULTS, MAX_RESULTS)
    return items[start:stop], (_TOKEN_PREFIX + key(items[stop]) if stop < len(items) else None)


def _unsuccessful(resource_id: str, code: str, message: str) -> dict[str, Any]:
    return {"ResourceId": resource_id, "Error": {"Code": code, "Message": message}}


def _check_ip_address_types(types: list[str], load_balancers: list[Any]) -> None:
    if not types:
        raise InvalidParameter("An endpoint service must support at least one IP address type.")
    if "ipv6" in types:
        ipv4_only = [lb.arn for lb in load_balancers if lb.ip_address_type != "dualstack"]
        if ipv4_only:
            raise InvalidParameter(
                "The IP address type ipv6 needs dual-stack load balancers, and these are not: "
                + ", ".join(ipv4_only)
            )


def _check_ip_address_type_values(types: list[str]) -> None:
    for value in types:
        if value not in IP_ADDRESS_TYPES:
            raise InvalidParameterValue(
                f"Invalid supported IP address type '{value}': expecting ipv4 or ipv6."
            )


def _check_topic_arn(arn: str) -> None:
    if not SNS_TOPIC_ARN.fullmatch(arn):
        raise InvalidParameter(
            f"Invalid ConnectionNotificationArn '{arn}': expecting an SNS topic ARN."
        )


def _check_events(events: list[str]) -> None:
    if not events:
        raise MissingParameterError("ConnectionEvents")
    for event in events:
        if event not in CONNECTION_EVENTS:
            raise InvalidParameterValue(
                f"Invalid connection event '{event}': expecting Accept, Connect, Delete or Reject."
            )


def _ec2_backends_in(region: str) -> list[Any]:
    from moto.ec2.models import ec2_backends

    # Only backends that exist: indexing a BackendDict creates one.
    return [regions[region] for regions in list(ec2_backends.values()) if region in regions.keys()]


class EndpointServiceBackend:
    """Methods set on moto's VPCServiceConfigurationBackend, a base of its EC2 backend."""

    def __init__(self) -> None:
        _moto_backend_init(self)
        self.connection_notifications: dict[str, ConnectionNotification] = {}

    def get_endpoint_service(self, service_id: str) -> EndpointService:
        service = self.configurations.get(service_id)
        if service is None:
            raise UnknownVpcEndpointService(service_id)
        return service

    def _load_balancers(self, arns: list[str]) -> list[Any]:
        found = self.elbv2_backend.load_balancers
        return [found[arn] for arn in arns if arn in found]

    def create_vpc_endpoint_service_configuration(
        self,
        lb_arns: list[str],
        acceptance_required: bool,
        private_dns_name: str | None,
        tags: list[dict[str, str]],
        supported_regions: list[str],
        supported_ip_address_types: list[str] | None = None,
        client_token: str | None = None,
        request: dict[str, Any] | None = None,
    ) -> EndpointService:
        if client_token:
            for service in self.configurations.values():
                if service.client_token == client_token:
                    if service.request != request:
                        raise EC2ClientError(
                            "IdempotentParameterMismatch",
                            f"The client token {client_token} was used with other parameters.",
                        )
                    return service
        types = supported_ip_address_types or ["ipv4"]
        _check_ip_address_type_values(types)
        load_balancers = self.elbv2_backend.describe_load_balancers(arns=lb_arns, names=None)
        _check_ip_address_types(types, load_balancers)
        service = EndpointService(
            supported_ip_address_types=list(dict.fromkeys(types)),
            client_token=client_token,
            request=request or {},
            load_balancers=load_balancers,
            region=self.region_name,
            acceptance_required=acceptance_required,
            private_dns_name=private_dns_name,
            supported_regions=supported_regions,
            ec2_backend=self,
        )
        for tag in tags or []:
            service.add_tag(tag["Key"], tag["Value"])
        self.configurations[service.id] = service
        return service

    def modify_vpc_endpoint_service_configuration(
        self,
        service_id: str,
        acceptance_required: bool | None,
        private_dns_name: str | None,
        add_network_lbs: list[str],
        remove_network_lbs: list[str],
        add_gateway_lbs: list[str],
        remove_gateway_lbs: list[str],
        add_supported_regions: list[str],
        remove_supported_regions: list[str],
        remove_private_dns_name: bool = False,
        add_supported_ip_address_types: list[str] | None = None,
        remove_supported_ip_address_types: list[str] | None = None,
    ) -> None:
        service = self.get_endpoint_service(service_id)
        add_types = add_supported_ip_address_types or []
        remove_types = remove_supported_ip_address_types or []
        if private_dns_name is not None and remove_private_dns_name:
            raise InvalidParameterCombination(
                "PrivateDnsName and RemovePrivateDnsName cannot be specified together."
            )
        _check_ip_address_type_values([*add_types, *remove_types])
        types = [
            t
            for t in dict.fromkeys([*service.supported_ip_address_types, *add_types])
            if t not in remove_types
        ]
        lb_arns = [
            arn
            for arn in [*service.network_load_balancer_arns, *add_network_lbs]
            if arn not in remove_network_lbs
        ] + [
            arn
            for arn in [*service.gateway_load_balancer_arns, *add_gateway_lbs]
            if arn not in remove_gateway_lbs
        ]
        # Checked on the outcome, before anything changes.
        _check_ip_address_types(types, self._load_balancers(lb_arns))
        _moto_modify(
            self,
            service_id,
            acceptance_required=acceptance_required,
            private_dns_name=None,
            add_network_lbs=[arn for arn in dict.fromkeys(add_network_lbs) if arn not in service.network_load_balancer_arns],
            remove_network_lbs=remove_network_lbs,
            add_gateway_lbs=[arn for arn in dict.fromkeys(add_gateway_lbs) if arn not in service.gateway_load_balancer_arns],
            remove_gateway_lbs=remove_gateway_lbs,
            add_supported_regions=add_supported_regions,
            remove_supported_regions=remove_supported_regions,
        )
        service.supported_ip_address_types = types
        if remove_private_dns_name:
            service.rename_private_dns(None)
        elif private_dns_name is not None:
            service.rename_private_dns(private_dns_name)

    def delete_vpc_endpoint_service_configurations(
        self, service_ids: list[str]
    ) -> list[dict[str, Any]]:
        """Deletes the services and their notifications; returns the Unsuccessful items."""
        unsuccessful = []
        for service_id in service_ids:
            service = self.configurations.get(service_id)
            if service is None:
                unsuccessful.append(
                    _unsuccessful(
                        service_id,
                        "InvalidVpcEndpointService.NotFound",
                        f"The VpcEndpointService Id '{service_id}' does not exist",
                    )
                )
                continue
            active = [
                c.vpc_endpoint_id
                for c in service.live_connections()
                if c.vpc_endpoint_state in ACTIVE_CONNECTION_STATES
            ]
            if active:
                unsuccessful.append(
                    _unsuccessful(
                        service_id,
                        "ExistingVpcEndpointConnections",
                        "Service has existing active VPC Endpoint connections: "
                        + ", ".join(active),
                    )
                )
                continue
            del self.configurations[service_id]
            for notification in list(self.connection_notifications.values()):
                if notification.service_id == service_id:
                    del self.connection_notifications[notification.connection_notification_id]
        return unsuccessful

    def start_vpc_endpoint_service_private_dns_verification(self, service_id: str) -> None:
        self.get_endpoint_service(service_id).verify_private_dns()

    def describe_vpc_endpoint_connections(self) -> list[EndpointConnection]:
        return [c for s in self.configurations.values() for c in s.live_connections()]

    def create_vpc_endpoint_connection_notification(
        self,
        service_id: str | None,
        vpc_endpoint_id: str | None,
        arn: str | None,
        events: list[str],
        client_token: str | None,
        request: dict[str, Any],
    ) -> ConnectionNotification:
        if not arn:
            raise MissingParameterError("ConnectionNotificationArn")
        _check_events(events)
        if service_id and vpc_endpoint_id:
            raise InvalidParameterCombination(
                "Specify either ServiceId or VpcEndpointId, not both."
            )
        if not service_id and not vpc_endpoint_id:
            raise MissingParameterError("ServiceId or VpcEndpointId")
        _check_topic_arn(arn)
        if service_id:
            self.get_endpoint_service(service_id)
        else:
            self.get_vpc_end_point(vpc_endpoint_id)  # type: ignore[attr-defined]
        if client_token:
            for notification in self.connection_notifications.values():
                if notification.client_token == client_token:
                    if notification.request != request:
                        raise EC2ClientError(
                            "IdempotentParameterMismatch",
                            f"The client token {client_token} was used with other parameters.",
                        )
                    return notification
        notification = ConnectionNotification(
            service_id, vpc_endpoint_id, arn, events, self.region_name, client_token, request
        )
        self.connection_notifications[notification.connection_notification_id] = notification
        return notification

    def get_connection_notification(self, notification_id: str) -> ConnectionNotification:
        notification = self.connection_notifications.get(notification_id)
        if notification is None:
            raise EC2ClientError(
                "InvalidConnectionNotification",
                f"The connection notification Id '{notification_id}' does not exist",
            )
        return notification

    def describe_vpc_endpoint_connection_notifications(
        self, notification_id: str | None
    ) -> list[ConnectionNotification]:
        if notification_id:
            return [self.get_connection_notification(notification_id)]
        return list(self.connection_notifications.values())

    def modify_vpc_endpoint_connection_notification(
        self, notification_id: str, arn: str | None, events: list[str] | None
    ) -> None:
        notification = self.get_connection_notification(notification_id)
        if arn is not None:
            _check_topic_arn(arn)
        if events is not None:
            _check_events(events)
        # Both are checked before either changes.
        if arn is not None:
            notification.connection_notification_arn = arn
        if events is not None:
            notification.connection_events = events

    def delete_vpc_endpoint_connection_notifications(
        self, notification_ids: list[str]
    ) -> list[dict[str, Any]]:
        unsuccessful = []
        for notification_id in notification_ids:
            if self.connection_notifications.pop(notification_id, None) is None:
                unsuccessful.append(
                    _unsuccessful(
                        notification_id,
                        "InvalidConnectionNotification",
                        f"The connection notification Id '{notification_id}' does not exist",
                    )
                )
        return unsuccessful


class EndpointServiceResponse:
    """Methods set on moto's VPCEndpointServiceConfiguration, a base of its EC2Response."""

    def _request_fingerprint(self) -> dict[str, Any]:
        # What a retry with the same ClientToken must repeat.
        return {k: v for k, v in self.params.items() if k not in ("ClientToken", "DryRun")}

    def create_vpc_endpoint_service_configuration(self) -> ActionResult:
        self.error_on_dryrun()
        gateway_lbs = self._get_param("GatewayLoadBalancerArns", [])
        network_lbs = self._get_param("NetworkLoadBalancerArns", [])
        if not gateway_lbs and not network_lbs:
            raise NoLoadBalancersProvided
        tags = self._get_param("TagSpecifications", [])
        client_token = self._get_param("ClientToken")
        service = self.ec2_backend.create_vpc_endpoint_service_configuration(
            gateway_lbs or network_lbs,
            acceptance_required=self._get_param("AcceptanceRequired", True),
            private_dns_name=self._get_param("PrivateDnsName"),
            tags=tags[0].get("Tags") if tags else [],
            supported_regions=self._get_param("SupportedRegions", []),
            supported_ip_address_types=self._get_param("SupportedIpAddressTypes", []),
            client_token=client_token,
            request=self._request_fingerprint(),
        )
        service.refresh_state()
        return ActionResult({"ServiceConfiguration": service, "ClientToken": client_token})

    def describe_vpc_endpoint_service_configurations(self) -> ActionResult:
        services = self.ec2_backend.describe_vpc_endpoint_service_configurations(
            self._get_param("ServiceIds", [])
        )
        for service in services:
            service.refresh_state()
        services = _filtered(
            services, self._filters_from_querystring(), SERVICE_FILTERS, tagged=True
        )
        page, next_token = _page(
            services,
            self._get_int_param("MaxResults"),
            self._get_param("NextToken"),
            key=lambda s: s.id,
            minimum=5,
        )
        for service in page:
            service.advance()
        return ActionResult({"ServiceConfigurations": page, "NextToken": next_token})

    def modify_vpc_endpoint_service_configuration(self) -> ActionResult:
        self.error_on_dryrun()
        self.ec2_backend.modify_vpc_endpoint_service_configuration(
            self._get_param("ServiceId"),
            acceptance_required=self._get_param("AcceptanceRequired"),
            private_dns_name=self._get_param("PrivateDnsName"),
            add_network_lbs=self._get_param("AddNetworkLoadBalancerArns", []),
            remove_network_lbs=self._get_param("RemoveNetworkLoadBalancerArns", []),
            add_gateway_lbs=self._get_param("AddGatewayLoadBalancerArns", []),
            remove_gateway_lbs=self._get_param("RemoveGatewayLoadBalancerArns", []),
            add_supported_regions=self._get_param("AddSupportedRegions", []),
            remove_supported_regions=self._get_param("RemoveSupportedRegions", []),
            remove_private_dns_name=self._get_bool_param("RemovePrivateDnsName", False),
            add_supported_ip_address_types=self._get_param("AddSupportedIpAddressTypes", []),
            remove_supported_ip_address_types=self._get_param("RemoveSupportedIpAddressTypes", []),
        )
        return ActionResult({"Return": True})

    def delete_vpc_endpoint_service_configurations(self) -> ActionResult:
        self.error_on_dryrun()
        unsuccessful = self.ec2_backend.delete_vpc_endpoint_service_configurations(
            self._get_param("ServiceIds", [])
        )
        return ActionResult({"Unsuccessful": unsuccessful})

    def start_vpc_endpoint_service_private_dns_verification(self) -> ActionResult:
        self.error_on_dryrun()
        self.ec2_backend.start_vpc_endpoint_service_private_dns_verification(
            self._get_param("ServiceId")
        )
        return ActionResult({"ReturnValue": True})

    def describe_vpc_endpoint_connections(self) -> ActionResult:
        connections = _filtered(
            self.ec2_backend.describe_vpc_endpoint_connections(),
            self._filters_from_querystring(),
            CONNECTION_FILTERS,
        )
        page, next_token = _page(
            connections,
            self._get_int_param("MaxResults"),
            self._get_param("NextToken"),
            key=lambda c: c.vpc_endpoint_id,
            minimum=5,
        )
        return ActionResult({"VpcEndpointConnections": page, "NextToken": next_token})

    def create_vpc_endpoint_connection_notification(self) -> ActionResult:
        self.error_on_dryrun()
        client_token = self._get_param("ClientToken")
        notification = self.ec2_backend.create_vpc_endpoint_connection_notification(
            service_id=self._get_param("ServiceId"),
            vpc_endpoint_id=self._get_param("VpcEndpointId"),
            arn=self._get_param("ConnectionNotificationArn"),
            events=self._get_param("ConnectionEvents", []),
            client_token=client_token,
            request=self._request_fingerprint(),
        )
        return ActionResult({"ConnectionNotification": notification, "ClientToken": client_token})

    def describe_vpc_endpoint_connection_notifications(self) -> ActionResult:
        notifications = _filtered(
            self.ec2_backend.describe_vpc_endpoint_connection_notifications(
                self._get_param("ConnectionNotificationId")
            ),
            self._filters_from_querystring(),
            NOTIFICATION_FILTERS,
        )
        page, next_token = _page(
            notifications,
            self._get_int_param("MaxResults"),
            self._get_param("NextToken"),
            key=lambda n: n.connection_notification_id,
            minimum=1,
        )
        return ActionResult({"ConnectionNotificationSet": page, "NextToken": next_token})

    def modify_vpc_endpoint_connection_notification(self) -> ActionResult:
        self.error_on_dryrun()
        self.ec2_backend.modify_vpc_endpoint_connection_notification(
            self._get_param("ConnectionNotificationId"),
            arn=self._get_param("ConnectionNotificationArn"),
            events=self._get_param("ConnectionEvents"),
        )
        return ActionResult({"ReturnValue": True})

    def delete_vpc_endpoint_connection_notifications(self) -> ActionResult:
        self.error_on_dryrun()
        unsuccessful = self.ec2_backend.delete_vpc_endpoint_connection_notifications(
            self._get_param("ConnectionNotificationIds", [])
        )
        return ActionResult({"Unsuccessful": unsuccessful})


def _create_vpc_endpoint_and_connect_it(self: Any, *args: Any, **kwargs: Any) -> Any:
    endpoint = _moto_create_vpc_endpoint(self, *args, **kwargs)
    # The service may belong to another account of the region.
    for backend in _ec2_backends_in(self.region_name):
        for service in backend.configurations.values():
            if service.service_name == endpoint.service_name:
                service.connect(endpoint)
    return endpoint


def _graft(target: type, source: type) -> None:
    """Sets the functions ``source`` defines on moto's class ``target``."""
    for name, member in vars(source).items():
        if inspect.isfunction(member):
            setattr(target, name, member)


_moto_backend_init = VPCServiceConfigurationBackend.__init__
_moto_modify = VPCServiceConfigurationBackend.modify_vpc_endpoint_service_configuration
_moto_create_vpc_endpoint = VPCBackend.create_vpc_endpoint

_graft(VPCServiceConfigurationBackend, EndpointServiceBackend)
_graft(VPCEndpointServiceConfiguration, EndpointServiceResponse)
VPCBackend.create_vpc_endpoint = _create_vpc_endpoint_and_connect_it
