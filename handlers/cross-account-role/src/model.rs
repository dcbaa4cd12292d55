//! The model of `Rpdk::IAM::CrossAccountRole`, its identifier and its metadata.

use rpdk::{HandlerSpec, Handlers, Metadata, ReplacementStrategy, Tagging};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A role in this account that a partner's principals assume with an external id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CrossAccountRole {
    /// The role's name. When absent, a name is generated from the logical id and the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_+=,.@-]{1,64}$"))]
    pub role_name: Option<String>,
    /// The role's path (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/([\x21-\x7E]{0,510}/)?$"))]
    pub path: Option<String>,
    /// Accounts whose principals may assume the role (12-digit ids; IAM stores each as
    /// `arn:<partition>:iam::<id>:root`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), inner(regex(pattern = r"^[0-9]{12}$")))]
    pub trusted_account_ids: Option<Vec<String>>,
    /// IAM roles and users that may assume the role. On output an entry may also be the unique
    /// id (`AROA…`, `AIDA…`) IAM shows in place of a principal that was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        extend("insertionOrder" = false),
        inner(regex(pattern = r"^(arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9_+=,.@/-]{1,512}|(AROA|AIDA)[A-Z0-9]{12,128})$"))
    )]
    pub trusted_principal_arns: Option<Vec<String>>,
    /// The secret-less shared value the partner must pass as `sts:ExternalId`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"))]
    pub external_id: String,
    /// Whether assuming the role requires MFA (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_mfa: Option<bool>,
    /// The longest session, in seconds (3600 to 43200, default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3600, max = 43200))]
    pub max_session_duration: Option<i64>,
    /// What the role is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000), regex(pattern = r"^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$"))]
    pub description: Option<String>,
    /// The ARN of the managed policy that bounds the role's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[\x21-\x7E]{1,1024}$"))]
    pub permissions_boundary: Option<String>,
    /// Managed policies attached to the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        extend("insertionOrder" = false),
        inner(regex(pattern = r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[\x21-\x7E]{1,1024}$"))
    )]
    pub managed_policy_arns: Option<Vec<String>>,
    /// Inline policies of the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false))]
    pub policies: Option<Vec<Policy>>,
    /// Tags of the role (at most 49: the type keeps one of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), length(max = 49))]
    pub tags: Option<Vec<Tag>>,
    /// The role's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The role's unique id (`AROA…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
}

/// An inline policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    /// The policy's name, unique within the role.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_+=,.@-]{1,128}$"))]
    pub policy_name: String,
    /// The policy document, a JSON object.
    pub policy_document: serde_json::Value,
}

/// A tag.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key (1 to 128 characters; `aws:` and `rpdk:` are reserved).
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// The value (at most 256 characters).
    #[schemars(length(max = 256))]
    pub value: String,
}

/// What READ and DELETE need: the role's name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleKey {
    /// The role's name.
    pub role_name: String,
}

/// The IAM actions of each handler: exactly the calls each makes, plus the actions those calls
/// imply (the reviewed table is in `iam.rs`; `cargo rpdk test` proves both directions).
pub const CREATE_PERMISSIONS: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:TagRole",
];
/// READ's actions.
pub const READ_PERMISSIONS: &[&str] =
    &["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:ListRoleTags"];
/// UPDATE's actions.
pub const UPDATE_PERMISSIONS: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];
/// DELETE's actions.
pub const DELETE_PERMISSIONS: &[&str] = &[
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
];
/// LIST's actions.
pub const LIST_PERMISSIONS: &[&str] = &["iam:ListRoleTags", "iam:ListRoles"];

/// The type's metadata.
pub fn metadata() -> Metadata {
    Metadata {
        service: "IAM",
        resource: "CrossAccountRole",
        description: "An IAM role that principals of partner accounts assume with an external id (the confused-deputy guard), optionally with MFA.",
        source_url: Some("https://github.com/rpdk-rs/rpdk-rs"),
        primary_identifier: &["/properties/RoleName"],
        additional_identifiers: &[],
        list_input: &[],
        read_only: &["/properties/Arn", "/properties/RoleId"],
        write_only: &[],
        create_only: &["/properties/RoleName", "/properties/Path"],
        handlers: Handlers {
            create: HandlerSpec { permissions: CREATE_PERMISSIONS, timeout_in_minutes: Some(15) },
            read: HandlerSpec { permissions: READ_PERMISSIONS, timeout_in_minutes: None },
            update: HandlerSpec { permissions: UPDATE_PERMISSIONS, timeout_in_minutes: Some(15) },
            delete: HandlerSpec { permissions: DELETE_PERMISSIONS, timeout_in_minutes: Some(15) },
            list: HandlerSpec { permissions: LIST_PERMISSIONS, timeout_in_minutes: None },
        },
        tagging: Tagging::full(&["iam:ListRoleTags", "iam:TagRole", "iam:UntagRole"]),
        replacement_strategy: Some(ReplacementStrategy::CreateThenDelete),
    }
}
