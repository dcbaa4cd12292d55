//! The model of `Rpdk::EC2::PrivateLinkService`, its identifier, its type configuration and its
//! metadata.

use rpdk::{HandlerSpec, Handlers, Metadata, ReplacementStrategy, Tagging};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A PrivateLink endpoint service with its allowed principals and connection notifications,
/// managed as one resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PrivateLinkService {
    /// The kind of the load balancers: `network` (the default) or `gateway`. Changing it
    /// replaces the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_type: Option<LoadBalancerType>,
    /// The load balancers behind the service, all of `LoadBalancerType`.
    #[schemars(
        extend("insertionOrder" = false),
        length(min = 1, max = 10),
        inner(regex(pattern = r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/(net|gwy)/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"))
    )]
    pub load_balancer_arns: Vec<String>,
    /// Whether each endpoint connection must be accepted (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_required: Option<bool>,
    /// Who may create endpoints for the service: IAM account roots, roles and users, or `*`
    /// where the type configuration permits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        extend("insertionOrder" = false),
        inner(regex(pattern = r"^(\*|arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/[A-Za-z0-9_+=,.@/-]{1,512}|user/[A-Za-z0-9_+=,.@/-]{1,512}))$"))
    )]
    pub allowed_principals: Option<Vec<String>>,
    /// SNS topics told about endpoint connections, one entry per topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false))]
    pub connection_notifications: Option<Vec<ConnectionNotification>>,
    /// The private DNS name consumers' endpoints resolve (verified through a TXT record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"),
        length(max = 255)
    )]
    pub private_dns_name: Option<String>,
    /// The IP address types the service accepts (default `ipv4`; `ipv6` needs dual-stack load
    /// balancers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), length(min = 1, max = 2))]
    pub supported_ip_address_types: Option<Vec<IpAddressType>>,
    /// Tags of the service (EC2's limits; the type keeps one of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), length(max = 49))]
    pub tags: Option<Vec<Tag>>,
    /// The service's id (`vpce-svc-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The name consumers create endpoints for (`com.amazonaws.vpce.<region>.vpce-svc-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `Pending`, `Available`, `Deleting`, `Deleted` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_state: Option<String>,
    /// The service's DNS names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_endpoint_dns_names: Option<Vec<String>>,
    /// The TXT record that proves ownership of `PrivateDnsName`, and its verification state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_dns_name_configuration: Option<PrivateDnsNameConfiguration>,
}

/// The kind of load balancer behind a service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadBalancerType {
    /// Network load balancers (an interface endpoint service).
    #[default]
    Network,
    /// Gateway load balancers (a gateway load balancer endpoint service).
    Gateway,
}

impl LoadBalancerType {
    /// The segment of the load balancer ARNs of this kind: `loadbalancer/net/…`.
    pub fn arn_segment(self) -> &'static str {
        match self {
            Self::Network => ":loadbalancer/net/",
            Self::Gateway => ":loadbalancer/gwy/",
        }
    }

    /// The name templates use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Gateway => "gateway",
        }
    }
}

/// An IP address type an endpoint service accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpAddressType {
    /// IPv4.
    Ipv4,
    /// IPv6 (needs dual-stack load balancers).
    Ipv6,
}

impl IpAddressType {
    /// EC2's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
        }
    }
}

/// One SNS topic told about endpoint connections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionNotification {
    /// The topic's ARN.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"))]
    pub sns_topic_arn: String,
    /// The connection events the topic hears of.
    #[schemars(extend("insertionOrder" = false), length(min = 1, max = 4))]
    pub events: Vec<ConnectionEvent>,
}

/// A connection event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum ConnectionEvent {
    /// A consumer requested a connection.
    Connect,
    /// A connection was accepted.
    Accept,
    /// A connection was rejected.
    Reject,
    /// A connection was deleted.
    Delete,
}

impl ConnectionEvent {
    /// EC2's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "Connect",
            Self::Accept => "Accept",
            Self::Reject => "Reject",
            Self::Delete => "Delete",
        }
    }
}

/// The DNS record that verifies the service's private DNS name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PrivateDnsNameConfiguration {
    /// The record type (`TXT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// The record's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The record's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `pendingVerification`, `verified` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A tag.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key (1 to 127 characters; `aws:` and `rpdk:` are reserved).
    #[schemars(length(min = 1, max = 127))]
    pub key: String,
    /// The value (at most 255 characters).
    #[schemars(length(max = 255))]
    pub value: String,
}

/// What READ and DELETE need: the service's id.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceKey {
    /// The service's id.
    pub service_id: String,
}

/// The account's rules for endpoint services, set with `SetTypeConfiguration`; the same rules
/// `Rpdk::Governance::PrivateLinkHook` applies to the native types.
pub use privatelink_governance::Governance;

/// CREATE's actions.
pub const CREATE_PERMISSIONS: &[&str] = &[
    "ec2:CreateTags",
    "ec2:CreateVpcEndpointConnectionNotification",
    "ec2:CreateVpcEndpointServiceConfiguration",
    "ec2:DeleteVpcEndpointConnectionNotifications",
    "ec2:DeleteVpcEndpointServiceConfigurations",
    "ec2:DescribeVpcEndpointConnectionNotifications",
    "ec2:DescribeVpcEndpointServiceConfigurations",
    "ec2:DescribeVpcEndpointServicePermissions",
    "ec2:ModifyVpcEndpointServicePermissions",
];
/// READ's actions.
pub const READ_PERMISSIONS: &[&str] = &[
    "ec2:DescribeVpcEndpointConnectionNotifications",
    "ec2:DescribeVpcEndpointServiceConfigurations",
    "ec2:DescribeVpcEndpointServicePermissions",
];
/// UPDATE's actions.
pub const UPDATE_PERMISSIONS: &[&str] = &[
    "ec2:CreateTags",
    "ec2:CreateVpcEndpointConnectionNotification",
    "ec2:DeleteTags",
    "ec2:DeleteVpcEndpointConnectionNotifications",
    "ec2:DescribeVpcEndpointConnectionNotifications",
    "ec2:DescribeVpcEndpointServiceConfigurations",
    "ec2:DescribeVpcEndpointServicePermissions",
    "ec2:ModifyVpcEndpointConnectionNotification",
    "ec2:ModifyVpcEndpointServiceConfiguration",
    "ec2:ModifyVpcEndpointServicePermissions",
];
/// DELETE's actions.
pub const DELETE_PERMISSIONS: &[&str] = &[
    "ec2:DeleteVpcEndpointConnectionNotifications",
    "ec2:DeleteVpcEndpointServiceConfigurations",
    "ec2:DescribeVpcEndpointConnectionNotifications",
    "ec2:DescribeVpcEndpointConnections",
    "ec2:DescribeVpcEndpointServiceConfigurations",
];
/// LIST's actions.
pub const LIST_PERMISSIONS: &[&str] = &[
    "ec2:DescribeVpcEndpointConnectionNotifications",
    "ec2:DescribeVpcEndpointServiceConfigurations",
    "ec2:DescribeVpcEndpointServicePermissions",
];

/// The type's metadata.
pub fn metadata() -> Metadata {
    Metadata {
        service: "EC2",
        resource: "PrivateLinkService",
        description: "A PrivateLink endpoint service with its allowed principals and connection notifications, governed by account-level rules on who may connect and how connections are seen.",
        source_url: Some("https://github.com/rpdk-rs/rpdk-rs"),
        primary_identifier: &["/properties/ServiceId"],
        additional_identifiers: &[],
        list_input: &[],
        read_only: &[
            "/properties/ServiceId",
            "/properties/ServiceName",
            "/properties/ServiceState",
            "/properties/BaseEndpointDnsNames",
            "/properties/PrivateDnsNameConfiguration",
            // Listed one by one so templates can `!GetAtt` each part of the TXT record.
            "/properties/PrivateDnsNameConfiguration/Type",
            "/properties/PrivateDnsNameConfiguration/Name",
            "/properties/PrivateDnsNameConfiguration/Value",
            "/properties/PrivateDnsNameConfiguration/State",
        ],
        write_only: &[],
        create_only: &["/properties/LoadBalancerType"],
        handlers: Handlers {
            create: HandlerSpec { permissions: CREATE_PERMISSIONS, timeout_in_minutes: Some(30) },
            read: HandlerSpec { permissions: READ_PERMISSIONS, timeout_in_minutes: None },
            update: HandlerSpec { permissions: UPDATE_PERMISSIONS, timeout_in_minutes: Some(30) },
            delete: HandlerSpec { permissions: DELETE_PERMISSIONS, timeout_in_minutes: Some(30) },
            list: HandlerSpec { permissions: LIST_PERMISSIONS, timeout_in_minutes: None },
        },
        tagging: Tagging::full(&["ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeVpcEndpointServiceConfigurations"]),
        replacement_strategy: Some(ReplacementStrategy::CreateThenDelete),
    }
}
