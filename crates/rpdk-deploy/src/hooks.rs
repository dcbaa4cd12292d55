//! Hooks on the local stack, as CloudFormation runs the hooks activated on an account: each
//! hook's configuration (`CloudFormationConfiguration.HookConfiguration`) says whether it runs,
//! what a failure does (`FailureMode`), and which operations, targets and stacks it checks; a
//! check is one hook request to the hook's function, followed while it answers IN_PROGRESS.

use std::collections::BTreeMap;
use std::time::Duration;

use rpdk::hook::{InvocationPoint, target_matches};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Backend;

/// CloudFormation follows a hook that answers IN_PROGRESS through at most three invocations.
const MOST_INVOCATIONS: u32 = 3;
/// The longest wait between invocations the engine honours.
const LONGEST_DELAY: Duration = Duration::from_secs(60);

/// A hook the local stack serves: its function and the targets its schema names per handler.
#[derive(Clone, Debug)]
pub struct ServedHook {
    /// The hook's binary, as the Lambda function name.
    pub function: String,
    /// `targetNames` by handler (`preCreate`, ...), wildcards included.
    pub targets: BTreeMap<String, Vec<String>>,
}

impl ServedHook {
    /// What a hook's registry schema says of its handlers.
    pub fn from_schema(function: &str, schema: &Value) -> Self {
        let targets = schema["handlers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(handler, spec)| {
                let names = spec["targetNames"].as_array().into_iter().flatten().filter_map(Value::as_str);
                (handler.clone(), names.map(str::to_owned).collect())
            })
            .collect();
        Self { function: function.to_owned(), targets }
    }

    fn handles(&self, point: InvocationPoint, target: &str) -> bool {
        self.targets.get(point.handler_key()).is_some_and(|names| names.iter().any(|n| target_matches(n, target)))
    }
}

/// What a failed check does to the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMode {
    /// The operation fails, and the stack rolls back.
    Fail,
    /// The operation goes on; the events say the hook failed.
    Warn,
}

impl FailureMode {
    /// CloudFormation's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "FAIL",
            Self::Warn => "WARN",
        }
    }
}

/// A hook's configuration on the account, as `SetTypeConfiguration` takes it.
#[derive(Clone, Debug)]
pub struct HookConfiguration {
    /// `HookInvocationStatus: ENABLED`.
    pub enabled: bool,
    /// `FailureMode` (default FAIL).
    pub failure_mode: FailureMode,
    /// `TargetOperations`: RESOURCE, STACK, CHANGE_SET, CLOUD_CONTROL (default RESOURCE).
    pub target_operations: Vec<String>,
    target_filters: Option<TargetFilters>,
    stack_filters: Option<StackFilters>,
    /// `Properties`: the hook's own configuration, its `hookModel`.
    pub properties: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Frame {
    hook_invocation_status: String,
    failure_mode: Option<String>,
    target_operations: Option<Vec<String>>,
    target_stacks: Option<String>,
    target_filters: Option<TargetFilters>,
    stack_filters: Option<StackFilters>,
    properties: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct TargetFilters {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    invocation_points: Vec<String>,
    #[serde(default)]
    target_names: Vec<String>,
    #[serde(default)]
    targets: Vec<TargetFilter>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct TargetFilter {
    target_name: String,
    action: String,
    invocation_point: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct StackFilters {
    filtering_criteria: String,
    stack_names: Option<IncludeExclude>,
    stack_roles: Option<IncludeExclude>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct IncludeExclude {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

impl IncludeExclude {
    /// Whether `value` passes: not excluded, and included where an include list is given.
    fn passes(&self, value: Option<&str>) -> bool {
        let listed = |list: &[String]| value.is_some_and(|v| list.iter().any(|item| item == v));
        !listed(&self.exclude) && (self.include.is_empty() || listed(&self.include))
    }
}

impl HookConfiguration {
    /// Reads a hook's configuration document (`{"CloudFormationConfiguration":
    /// {"HookConfiguration": {...}}}`); a fault names the field and what it takes.
    pub fn read(document: &Value) -> Result<Self, String> {
        let frame = document.pointer("/CloudFormationConfiguration/HookConfiguration").ok_or(
            "not a hook configuration: write {\"CloudFormationConfiguration\": {\"HookConfiguration\": \
             {\"HookInvocationStatus\": \"ENABLED\", \"FailureMode\": \"FAIL\", \"TargetOperations\": [\"RESOURCE\"], \
             \"Properties\": {...}}}}",
        )?;
        let frame: Frame =
            serde_json::from_value(frame.clone()).map_err(|error| format!("HookConfiguration: {error}"))?;
        one_of("HookInvocationStatus", &frame.hook_invocation_status, &["ENABLED", "DISABLED"])?;
        let failure_mode = match frame.failure_mode.as_deref() {
            None | Some("FAIL") => FailureMode::Fail,
            Some("WARN") => FailureMode::Warn,
            Some(other) => return Err(format!("HookConfiguration.FailureMode: '{other}' is not one of FAIL, WARN")),
        };
        if let Some(stacks) = &frame.target_stacks {
            one_of("TargetStacks", stacks, &["ALL", "NONE"])?;
        }
        let target_operations = frame.target_operations.unwrap_or_else(|| vec!["RESOURCE".to_owned()]);
        for operation in &target_operations {
            one_of("TargetOperations", operation, &["RESOURCE", "STACK", "CHANGE_SET", "CLOUD_CONTROL"])?;
        }
        if let Some(filters) = &frame.target_filters {
            let singles = filters.targets.iter().map(|t| (t.action.as_str(), t.invocation_point.as_str()));
            for (action, point) in filters
                .actions
                .iter()
                .map(|a| (a.as_str(), "PRE_PROVISION"))
                .chain(filters.invocation_points.iter().map(|p| ("CREATE", p.as_str())))
                .chain(singles)
            {
                one_of("TargetFilters Action", action, &["CREATE", "UPDATE", "DELETE"])?;
                one_of("TargetFilters InvocationPoint", point, &["PRE_PROVISION"])?;
            }
            let lists = !(filters.actions.is_empty()
                && filters.invocation_points.is_empty()
                && filters.target_names.is_empty());
            if !filters.targets.is_empty() && lists {
                return Err("HookConfiguration.TargetFilters: either Targets, or Actions/InvocationPoints/TargetNames, not both".to_owned());
            }
        }
        if let Some(filters) = &frame.stack_filters {
            one_of("StackFilters.FilteringCriteria", &filters.filtering_criteria, &["ALL", "ANY"])?;
        }
        Ok(Self {
            enabled: frame.hook_invocation_status == "ENABLED" && frame.target_stacks.as_deref() != Some("NONE"),
            failure_mode,
            target_operations,
            target_filters: frame.target_filters,
            stack_filters: frame.stack_filters,
            properties: frame.properties.unwrap_or_else(|| json!({})),
        })
    }

    /// Whether the target filters let `point` of `target` through. `TargetNames` filter
    /// resource types; a stack or change set passes them.
    fn targets(&self, point: InvocationPoint, target: &str) -> bool {
        let Some(filters) = &self.target_filters else { return true };
        let action = point.as_str().trim_end_matches("_PRE_PROVISION");
        let resource = !matches!(target, "STACK" | "CHANGE_SET");
        if !filters.targets.is_empty() {
            return filters.targets.iter().any(|t| {
                t.action == action
                    && t.invocation_point == "PRE_PROVISION"
                    && (!resource || target_matches(&t.target_name, target))
            });
        }
        let any = |list: &[String], matches: &dyn Fn(&str) -> bool| list.is_empty() || list.iter().any(|v| matches(v));
        any(&filters.actions, &|a| a == action)
            && any(&filters.invocation_points, &|p| p == "PRE_PROVISION")
            && (!resource || any(&filters.target_names, &|name| target_matches(name, target)))
    }

    /// Whether the stack filters let the stack `name` through; a local stack has no role.
    fn stacks(&self, name: &str) -> bool {
        let Some(filters) = &self.stack_filters else { return true };
        let results: Vec<bool> = [
            filters.stack_names.as_ref().map(|names| names.passes(Some(name))),
            filters.stack_roles.as_ref().map(|roles| roles.passes(None)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if filters.filtering_criteria == "ANY" {
            results.is_empty() || results.contains(&true)
        } else {
            !results.contains(&false)
        }
    }
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!("HookConfiguration.{field}: '{value}' is not one of {}", allowed.join(", ")))
    }
}

/// A hook activated on the local stack: what it is, where it runs, how it is configured.
#[derive(Clone, Debug)]
pub struct ActiveHook {
    /// The hook's type name.
    pub type_name: String,
    /// Its function and targets.
    pub served: ServedHook,
    /// Its configuration.
    pub configuration: HookConfiguration,
}

impl ActiveHook {
    /// Whether the hook checks `point` of `target` (a resource type, `STACK` or `CHANGE_SET`)
    /// in the stack `stack_name`.
    pub fn wants(&self, point: InvocationPoint, target: &str, stack_name: &str) -> bool {
        let configuration = &self.configuration;
        let operation = if matches!(target, "STACK" | "CHANGE_SET") { target } else { "RESOURCE" };
        configuration.enabled
            && configuration.target_operations.iter().any(|o| o == operation)
            && self.served.handles(point, target)
            && configuration.targets(point, target)
            && configuration.stacks(stack_name)
    }
}

/// One check a hook is asked for.
pub struct Check<'c> {
    /// The operation about to happen.
    pub point: InvocationPoint,
    /// A resource type, or `STACK`.
    pub target: &'c str,
    /// The resource's logical id, or the stack's name.
    pub logical_id: &'c str,
    /// `resourceProperties` (and `previousResourceProperties`), empty for a stack.
    pub target_model: Value,
    /// A stack's document, as a presigned URL.
    pub payload: Option<String>,
    /// The stack's id.
    pub stack_id: &'c str,
}

/// How a check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Compliant (`HOOK_COMPLETE_SUCCEEDED`), with the hook's message if it gave one.
    Compliant(Option<String>),
    /// Non-compliant (`HOOK_COMPLETE_FAILED`).
    NonCompliant(String),
    /// The hook could not decide (`HOOK_FAILED`): its error, or why it could not be invoked.
    Failed(String),
}

impl ActiveHook {
    /// Asks the hook, following IN_PROGRESS answers with their context and delay through at
    /// most three invocations, as CloudFormation does.
    pub fn check(&self, backend: &dyn Backend, check: &Check<'_>) -> Outcome {
        let token = rpdk_local::new_token();
        let mut context = Value::Null;
        for invocation in 1..=MOST_INVOCATIONS {
            let mut request = json!({
                "clientRequestToken": token,
                "awsAccountId": rpdk_local::ACCOUNT_ID,
                "stackId": check.stack_id,
                "hookTypeName": self.type_name,
                "hookTypeVersion": "00000001",
                "hookModel": self.configuration.properties,
                "actionInvocationPoint": check.point.as_str(),
                "requestData": {
                    "targetName": check.target,
                    "targetType": if check.target == "STACK" { "STACK" } else { "RESOURCE" },
                    "targetLogicalId": check.logical_id,
                    "targetModel": check.target_model,
                    "payload": check.payload,
                },
                "requestContext": {"invocation": invocation, "callbackContext": context},
            });
            let answer = match backend.invoke_hook(&self.served.function, &self.type_name, &mut request) {
                Ok(answer) => answer,
                Err(error) => return Outcome::Failed(format!("the hook could not be invoked: {error}")),
            };
            let message = answer["message"].as_str().filter(|m| !m.is_empty()).map(str::to_owned);
            match (answer["hookStatus"].as_str(), answer["errorCode"].as_str()) {
                (Some("SUCCESS"), _) => return Outcome::Compliant(message),
                (Some("FAILED"), Some("NonCompliant")) => {
                    return Outcome::NonCompliant(message.unwrap_or_else(|| "non-compliant".to_owned()));
                }
                (Some("FAILED"), code) => {
                    let code = code.unwrap_or("no error code");
                    return Outcome::Failed(format!("{code}: {}", message.unwrap_or_default()));
                }
                (Some("IN_PROGRESS"), _) => {
                    context = answer["callbackContext"].clone();
                    let delay = answer["callbackDelaySeconds"].as_u64().unwrap_or(0);
                    std::thread::sleep(Duration::from_secs(delay).min(LONGEST_DELAY));
                }
                _ => return Outcome::Failed(format!("the hook answered outside the hook protocol: {answer}")),
            }
        }
        Outcome::Failed(format!("the hook answered IN_PROGRESS {MOST_INVOCATIONS} times"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configuration(frame: Value) -> Result<HookConfiguration, String> {
        HookConfiguration::read(&json!({"CloudFormationConfiguration": {"HookConfiguration": frame}}))
    }

    fn hook(frame: Value) -> ActiveHook {
        let schema = json!({"handlers": {
            "preCreate": {"targetNames": ["AWS::S3::*", "STACK"]},
            "preUpdate": {"targetNames": ["AWS::S3::Bucket"]},
        }});
        ActiveHook {
            type_name: "Rpdk::Governance::Test".to_owned(),
            served: ServedHook::from_schema("test", &schema),
            configuration: configuration(frame).expect("a configuration"),
        }
    }

    const BUCKET: &str = "AWS::S3::Bucket";

    #[test]
    fn a_hook_checks_what_its_schema_and_its_target_operations_name() {
        let enabled = hook(json!({"HookInvocationStatus": "ENABLED"}));
        assert!(enabled.wants(InvocationPoint::PreCreate, BUCKET, "s"));
        assert!(enabled.wants(InvocationPoint::PreUpdate, BUCKET, "s"));
        assert!(!enabled.wants(InvocationPoint::PreDelete, BUCKET, "s"), "no preDelete handler");
        assert!(!enabled.wants(InvocationPoint::PreCreate, "AWS::SQS::Queue", "s"));
        assert!(!enabled.wants(InvocationPoint::PreCreate, "STACK", "s"), "RESOURCE only by default");
        let stacks = hook(json!({"HookInvocationStatus": "ENABLED", "TargetOperations": ["STACK"]}));
        assert!(stacks.wants(InvocationPoint::PreCreate, "STACK", "s"));
        assert!(!stacks.wants(InvocationPoint::PreCreate, BUCKET, "s"));
        assert!(!hook(json!({"HookInvocationStatus": "DISABLED"})).wants(InvocationPoint::PreCreate, BUCKET, "s"));
        assert_eq!(enabled.configuration.failure_mode, FailureMode::Fail);
    }

    #[test]
    fn target_filters_narrow_actions_and_names() {
        let filtered = hook(json!({"HookInvocationStatus": "ENABLED", "FailureMode": "WARN",
            "TargetFilters": {"Actions": ["UPDATE"], "TargetNames": ["AWS::S3::Bucket"]}}));
        assert!(!filtered.wants(InvocationPoint::PreCreate, BUCKET, "s"));
        assert!(filtered.wants(InvocationPoint::PreUpdate, BUCKET, "s"));
        let singles = hook(json!({"HookInvocationStatus": "ENABLED",
            "TargetFilters": {"Targets": [{"TargetName": "AWS::S3::Bucket", "Action": "CREATE", "InvocationPoint": "PRE_PROVISION"}]}}));
        assert!(singles.wants(InvocationPoint::PreCreate, BUCKET, "s"));
        assert!(!singles.wants(InvocationPoint::PreCreate, "AWS::S3::AccessPoint", "s"));
    }

    #[test]
    fn stack_filters_include_exclude_and_criteria() {
        let names = hook(json!({"HookInvocationStatus": "ENABLED",
            "StackFilters": {"FilteringCriteria": "ALL", "StackNames": {"Include": ["prod", "shared"], "Exclude": ["shared"]}}}));
        assert!(names.wants(InvocationPoint::PreCreate, BUCKET, "prod"));
        assert!(!names.wants(InvocationPoint::PreCreate, BUCKET, "shared"), "Exclude wins");
        assert!(!names.wants(InvocationPoint::PreCreate, BUCKET, "dev"));
        let any = hook(json!({"HookInvocationStatus": "ENABLED", "StackFilters": {"FilteringCriteria": "ANY",
            "StackNames": {"Include": ["prod"]}, "StackRoles": {"Include": ["arn:aws:iam::123456789012:role/deployer"]}}}));
        assert!(any.wants(InvocationPoint::PreCreate, BUCKET, "prod"));
        assert!(!any.wants(InvocationPoint::PreCreate, BUCKET, "dev"), "a local stack has no role");
    }

    #[test]
    fn a_bad_configuration_names_the_field() {
        for (frame, says) in [
            (json!({}), "missing field `HookInvocationStatus`"),
            (json!({"HookInvocationStatus": "ON"}), "HookInvocationStatus: 'ON'"),
            (json!({"HookInvocationStatus": "ENABLED", "FailureMode": "STOP"}), "FailureMode: 'STOP'"),
            (json!({"HookInvocationStatus": "ENABLED", "TargetOperations": ["STACKS"]}), "TargetOperations: 'STACKS'"),
            (json!({"HookInvocationStatus": "ENABLED", "TargetFilters": {"Actions": ["MAKE"]}}), "Action: 'MAKE'"),
            (json!({"HookInvocationStatus": "ENABLED", "Targets": []}), "unknown field `Targets`"),
            (json!({"HookInvocationStatus": "ENABLED", "StackFilters": {"FilteringCriteria": "SOME"}}), "'SOME'"),
        ] {
            let fault = configuration(frame.clone()).expect_err("refused");
            assert!(fault.contains(says), "{frame}: {fault}");
        }
        assert!(HookConfiguration::read(&json!({"HookInvocationStatus": "ENABLED"})).is_err());
    }
}
