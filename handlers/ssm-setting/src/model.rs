//! The model of `Rpdk::SSM::Setting`, its identifier and its metadata.

use rpdk::{HandlerSpec, Handlers, Metadata};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where every setting's parameter lives.
pub const ROOT: &str = "/rpdk-ssm-setting";

/// A named setting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Setting {
    /// The setting's name, unique in the account and region.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{1,128}$"))]
    pub name: String,
    /// Its value.
    #[schemars(length(min = 1, max = 4096))]
    pub value: String,
    /// The ARN of the SSM parameter that holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// What READ and DELETE need: the setting's name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SettingKey {
    /// The setting's name.
    pub name: String,
}

/// The SSM actions of each handler: exactly the calls each makes, plus `ssm:AddTagsToResource`,
/// which a `PutParameter` with tags implies (`cargo rpdk test` proves both directions).
pub const CREATE_PERMISSIONS: &[&str] =
    &["ssm:AddTagsToResource", "ssm:GetParameter", "ssm:ListTagsForResource", "ssm:PutParameter"];
/// READ's actions.
pub const READ_PERMISSIONS: &[&str] = &["ssm:GetParameter"];
/// UPDATE's actions.
pub const UPDATE_PERMISSIONS: &[&str] = &["ssm:GetParameter", "ssm:PutParameter"];
/// DELETE's actions.
pub const DELETE_PERMISSIONS: &[&str] = &["ssm:DeleteParameter"];
/// LIST's actions.
pub const LIST_PERMISSIONS: &[&str] = &["ssm:GetParametersByPath"];

/// The type's metadata.
pub fn metadata() -> Metadata {
    Metadata {
        read_only: &["/properties/Arn"],
        create_only: &["/properties/Name"],
        handlers: Handlers {
            create: HandlerSpec { permissions: CREATE_PERMISSIONS, timeout_in_minutes: Some(5) },
            read: HandlerSpec { permissions: READ_PERMISSIONS, timeout_in_minutes: None },
            update: HandlerSpec { permissions: UPDATE_PERMISSIONS, timeout_in_minutes: Some(5) },
            delete: HandlerSpec { permissions: DELETE_PERMISSIONS, timeout_in_minutes: Some(5) },
            list: HandlerSpec { permissions: LIST_PERMISSIONS, timeout_in_minutes: None },
        },
        ..Metadata::new("SSM", "Setting", "A named setting kept as an SSM parameter.", &["/properties/Name"])
    }
}
