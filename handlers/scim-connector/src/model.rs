//! The models, identifiers and metadata of the three types.

use rpdk::{HandlerSpec, Handlers, Metadata, Secret, Tagging};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A named connection to one SCIM 2.0 service provider; its token lives only in SSM
/// Parameter Store, as a SecureString.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Connector {
    /// The connector's name, unique in the account and region; users and groups name it.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,64}$"))]
    pub name: String,
    /// The SCIM base URL, the one that serves `/Users` (https; plain http only for loopback
    /// hosts).
    #[schemars(length(min = 8, max = 2048))]
    pub base_url: String,
    /// The bearer token the provider expects. Stored as a SecureString and never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub bearer_token: Option<Secret>,
    /// The KMS key that encrypts the token (default: the account's `aws/ssm` key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub kms_key_id: Option<String>,
    /// What the connector is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Tags of the connector's SSM parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), length(max = 50))]
    pub tags: Option<Vec<Tag>>,
    /// What the provider supports, discovered from its `/ServiceProviderConfig` at create and
    /// update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}

/// A tag of the connector's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key (at most 128 characters; `aws:` is reserved).
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// The value (at most 256 characters).
    #[schemars(length(max = 256))]
    pub value: String,
}

/// The features a SCIM service provider announces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Capabilities {
    /// PATCH: updates send minimal operations.
    pub patch: bool,
    /// Bulk operations.
    pub bulk: bool,
    /// Filters: READ by `UserName` needs them.
    pub filter: bool,
    /// Sorting: LIST pages in creation order.
    pub sort: bool,
    /// ETags: updates are conditional on the version read.
    #[serde(rename = "ETag")]
    pub etag: bool,
    /// Password changes.
    pub change_password: bool,
    /// The most resources one filtered or listed answer holds (0 when not announced).
    pub max_results: u64,
}

impl Capabilities {
    /// Reads a `/ServiceProviderConfig` document (RFC 7643 §5).
    pub fn from_service_provider_config(config: &Value) -> Self {
        let supported =
            |feature: &str| config.pointer(&format!("/{feature}/supported")).and_then(Value::as_bool).unwrap_or(false);
        Self {
            patch: supported("patch"),
            bulk: supported("bulk"),
            filter: supported("filter"),
            sort: supported("sort"),
            etag: supported("etag"),
            change_password: supported("changePassword"),
            max_results: config.pointer("/filter/maxResults").and_then(Value::as_u64).unwrap_or(0),
        }
    }
}

/// What READ and DELETE of a connector need.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectorKey {
    /// The connector's name.
    pub name: String,
}

/// One user, provisioned through a connector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    /// The connector the user is provisioned through.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,64}$"))]
    pub connector: String,
    /// The unique name the user signs in with.
    #[schemars(length(min = 1, max = 256))]
    pub user_name: String,
    /// The provisioning client's identifier of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub external_id: Option<String>,
    /// The name shown for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub display_name: Option<String>,
    /// The parts of the user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    /// E-mail addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), length(max = 20))]
    pub emails: Option<Vec<Email>>,
    /// The user's job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub title: Option<String>,
    /// Whether the account is enabled (default true); false disables it without deleting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// HR attributes of the enterprise extension (RFC 7643 §4.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<Enterprise>,
    /// The provider's id of the user, for `!GetAtt` (group members, managers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The parts of a user's name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PersonName {
    /// The given (first) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub given_name: Option<String>,
    /// The family (last) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub family_name: Option<String>,
    /// The full name, formatted for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub formatted: Option<String>,
}

/// An e-mail address of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Email {
    /// The address.
    #[schemars(length(min = 3, max = 320))]
    pub value: String,
    /// `work`, `home` or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub r#type: Option<String>,
    /// Whether this is the primary address (one at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// The enterprise extension's attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Enterprise {
    /// The employee number HR assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub employee_number: Option<String>,
    /// The cost center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub cost_center: Option<String>,
    /// The organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub organization: Option<String>,
    /// The division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub division: Option<String>,
    /// The department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub department: Option<String>,
    /// The provider's id of the user's manager (`!GetAtt Manager.Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub manager: Option<String>,
}

/// What READ and DELETE of a user need: the connector and the id, or (READ) the user name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserKey {
    /// The connector.
    pub connector: String,
    /// The provider's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The additional identifier.
    #[serde(default)]
    pub user_name: Option<String>,
}

/// One group and its members, provisioned through a connector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    /// The connector the group is provisioned through.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,64}$"))]
    pub connector: String,
    /// The group's name.
    #[schemars(length(min = 1, max = 256))]
    pub display_name: String,
    /// The provider's ids of the member users (`!GetAtt User.Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), inner(length(min = 1, max = 256)))]
    pub members: Option<Vec<String>>,
    /// The provider's id of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// What READ and DELETE of a group need.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupKey {
    /// The connector.
    pub connector: String,
    /// The provider's id.
    pub id: String,
}

/// LIST of users and groups: the connector to list through.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ThroughConnector {
    /// The connector.
    pub connector: String,
}

const SOURCE_URL: Option<&str> = Some("https://github.com/rpdk-rs/rpdk-rs");

/// Loading a connector: its settings, and its token decrypted.
const LOAD_CONNECTOR: &[&str] = &["kms:Decrypt", "ssm:GetParameters"];

/// The connector's CREATE actions.
pub const CONNECTOR_CREATE: &[&str] = &[
    "kms:Encrypt",
    "ssm:AddTagsToResource",
    "ssm:DeleteParameters",
    "ssm:GetParameter",
    "ssm:GetParametersByPath",
    "ssm:ListTagsForResource",
    "ssm:PutParameter",
];
/// The connector's READ actions.
pub const CONNECTOR_READ: &[&str] = &["ssm:GetParameter", "ssm:ListTagsForResource"];
/// The connector's UPDATE actions.
pub const CONNECTOR_UPDATE: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "ssm:AddTagsToResource",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:ListTagsForResource",
    "ssm:PutParameter",
    "ssm:RemoveTagsFromResource",
];
/// The connector's DELETE actions.
pub const CONNECTOR_DELETE: &[&str] = &["ssm:DeleteParameters", "ssm:GetParameter", "ssm:GetParametersByPath"];
/// The connector's LIST actions.
pub const CONNECTOR_LIST: &[&str] = &["ssm:GetParametersByPath", "ssm:ListTagsForResource"];

/// CREATE of a user or group: the connector, and the marker that makes a retried create
/// find what its first attempt made.
pub const MEMBER_CREATE: &[&str] = &[
    "kms:Decrypt",
    "ssm:DeleteParameters",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:PutParameter",
];

/// The metadata of `Rpdk::SCIM::Connector`.
pub fn connector_metadata() -> Metadata {
    Metadata {
        service: "SCIM",
        resource: "Connector",
        description: "A named connection to a SCIM 2.0 service provider: its base URL, and its bearer token kept as an SSM SecureString. Users and groups are provisioned through it.",
        source_url: SOURCE_URL,
        primary_identifier: &["/properties/Name"],
        additional_identifiers: &[],
        list_input: &[],
        read_only: &[
            "/properties/Capabilities",
            // Listed one by one so templates can `!GetAtt` each.
            "/properties/Capabilities/Patch",
            "/properties/Capabilities/Bulk",
            "/properties/Capabilities/Filter",
            "/properties/Capabilities/Sort",
            "/properties/Capabilities/ETag",
            "/properties/Capabilities/ChangePassword",
            "/properties/Capabilities/MaxResults",
        ],
        write_only: &["/properties/BearerToken"],
        create_only: &["/properties/Name"],
        handlers: Handlers {
            create: HandlerSpec { permissions: CONNECTOR_CREATE, timeout_in_minutes: None },
            read: HandlerSpec { permissions: CONNECTOR_READ, timeout_in_minutes: None },
            update: HandlerSpec { permissions: CONNECTOR_UPDATE, timeout_in_minutes: None },
            delete: HandlerSpec { permissions: CONNECTOR_DELETE, timeout_in_minutes: None },
            list: HandlerSpec { permissions: CONNECTOR_LIST, timeout_in_minutes: None },
        },
        tagging: Tagging::full(&["ssm:AddTagsToResource", "ssm:ListTagsForResource", "ssm:RemoveTagsFromResource"]),
        replacement_strategy: None,
    }
}

/// The metadata of `Rpdk::SCIM::User`.
pub fn user_metadata() -> Metadata {
    member_metadata(
        "User",
        "One user in a SCIM 2.0 service provider, provisioned through a Rpdk::SCIM::Connector: profile, e-mail addresses, enterprise (HR) attributes, enabled or disabled.",
        &[&["/properties/Connector", "/properties/UserName"]],
    )
}

/// The metadata of `Rpdk::SCIM::Group`.
pub fn group_metadata() -> Metadata {
    member_metadata(
        "Group",
        "One group and its members in a SCIM 2.0 service provider, provisioned through a Rpdk::SCIM::Connector.",
        &[],
    )
}

fn member_metadata(
    resource: &'static str,
    description: &'static str,
    additional_identifiers: &'static [&'static [&'static str]],
) -> Metadata {
    Metadata {
        service: "SCIM",
        resource,
        description,
        source_url: SOURCE_URL,
        primary_identifier: &["/properties/Connector", "/properties/Id"],
        additional_identifiers,
        list_input: &["/properties/Connector"],
        read_only: &["/properties/Id"],
        write_only: &[],
        create_only: &["/properties/Connector"],
        handlers: Handlers {
            create: HandlerSpec { permissions: MEMBER_CREATE, timeout_in_minutes: None },
            read: HandlerSpec { permissions: LOAD_CONNECTOR, timeout_in_minutes: None },
            update: HandlerSpec { permissions: LOAD_CONNECTOR, timeout_in_minutes: None },
            delete: HandlerSpec { permissions: LOAD_CONNECTOR, timeout_in_minutes: None },
            list: HandlerSpec { permissions: LOAD_CONNECTOR, timeout_in_minutes: None },
        },
        tagging: Tagging::none(),
        replacement_strategy: None,
    }
}
