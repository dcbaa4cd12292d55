//! `Rpdk::Governance::PrivateLinkHook`: before CloudFormation makes or changes a PrivateLink
//! endpoint service or its permissions, the account's rules hold: a service that accepts
//! connections without review notifies someone of every connection, and only principals of the
//! approved accounts may connect, never `*`. They are the rules `Rpdk::EC2::PrivateLinkService`
//! enforces with its type configuration ([`privatelink_governance`]), applied here to the native
//! `AWS::EC2::VPCEndpointService` and `AWS::EC2::VPCEndpointServicePermissions` as well.
//!
//! A native service's notification is a resource of its own
//! (`AWS::EC2::VPCEndpointConnectionNotification`), so that rule reads the whole template: the
//! hook targets `STACK` and `CHANGE_SET` too.

use privatelink_governance::{Breach, Governance, Source};
use rpdk::hook::{
    Annotation, HookHandler, HookHandlerSpec, HookMetadata, HookRequest, HookResult, Severity, TargetType, Verdict,
};
use rpdk::{HandlerError, HandlerErrorCode, Partition};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The hook.
pub struct PrivateLinkHook;

/// The hook's configuration: the same rules as `Rpdk::EC2::PrivateLinkService`'s type
/// configuration.
pub type Configuration = Governance;

/// Our own type: its permissions and notifications are properties of the service.
pub const PRIVATELINK_SERVICE: &str = "Rpdk::EC2::PrivateLinkService";
/// The native service.
pub const ENDPOINT_SERVICE: &str = "AWS::EC2::VPCEndpointService";
/// The native service's permissions.
pub const SERVICE_PERMISSIONS: &str = "AWS::EC2::VPCEndpointServicePermissions";
const NOTIFICATION: &str = "AWS::EC2::VPCEndpointConnectionNotification";
/// The annotation of the principals rule.
pub const PRINCIPALS_RULE: &str = "ApprovedPrincipals";
/// The annotation of the notification rule.
pub const NOTIFICATION_RULE: &str = "AutoAcceptNotified";
const PRINCIPALS_DOCS: &str =
    "https://docs.aws.amazon.com/vpc/latest/privatelink/configure-endpoint-service.html#add-remove-permissions";
const NOTIFICATION_DOCS: &str = "https://docs.aws.amazon.com/vpc/latest/privatelink/configure-endpoint-service.html#create-endpoint-service-notification";

/// What the hook reads of an `Rpdk::EC2::PrivateLinkService`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Service {
    acceptance_required: Option<bool>,
    allowed_principals: Option<Vec<String>>,
    connection_notifications: Option<Vec<Value>>,
}

/// What the hook reads of an `AWS::EC2::VPCEndpointService`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct NativeService {
    acceptance_required: Option<bool>,
}

/// What the hook reads of an `AWS::EC2::VPCEndpointServicePermissions`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Permissions {
    allowed_principals: Option<Vec<String>>,
}

impl HookHandler for PrivateLinkHook {
    type Configuration = Configuration;
    type Context = rpdk::Empty;

    fn metadata() -> HookMetadata {
        let checked = HookHandlerSpec {
            target_names: &[PRIVATELINK_SERVICE, ENDPOINT_SERVICE, SERVICE_PERMISSIONS, "STACK", "CHANGE_SET"],
            permissions: &[],
        };
        HookMetadata {
            service: "Governance",
            hook: "PrivateLinkHook",
            description: "PrivateLink endpoint services are opened only to approved accounts, and accept connections without review only when every connection is notified",
            source_url: Some("https://github.com/rpdk-rs/rpdk-rs"),
            documentation_url: None,
            pre_create: Some(checked.clone()),
            pre_update: Some(checked),
            pre_delete: None,
        }
    }

    async fn pre_create(&self, req: &HookRequest<Configuration>, _context: &mut rpdk::Empty) -> HookResult {
        check(req)
    }

    async fn pre_update(&self, req: &HookRequest<Configuration>, _context: &mut rpdk::Empty) -> HookResult {
        check(req)
    }
}

fn check(req: &HookRequest<Configuration>) -> HookResult {
    req.configuration
        .check(Source::HookConfiguration)
        .map_err(|breach| HandlerError::new(HandlerErrorCode::InvalidTypeConfiguration, breach.message))?;
    if req.target.target_type != TargetType::Resource {
        return stack(req);
    }
    let logical_id = req.target.logical_id.as_deref().unwrap_or("the resource");
    let rules = &req.configuration;
    let partition = partition(req);
    let findings = match req.target.name.as_str() {
        PRIVATELINK_SERVICE => {
            let service = req.properties::<Service>()?;
            let principals = service.allowed_principals.unwrap_or_default();
            let notified = service.connection_notifications.is_some_and(|n| !n.is_empty());
            vec![
                (PRINCIPALS_RULE, rules.allowed_principals(&principals, partition, Source::HookConfiguration)),
                (
                    NOTIFICATION_RULE,
                    rules.auto_accept(service.acceptance_required, notified, Source::HookConfiguration),
                ),
            ]
        }
        SERVICE_PERMISSIONS => {
            let principals = req.properties::<Permissions>()?.allowed_principals.unwrap_or_default();
            vec![(PRINCIPALS_RULE, rules.allowed_principals(&principals, partition, Source::HookConfiguration))]
        }
        // Its notification is another resource of the template: the STACK target checks it.
        _ => {
            let acceptance = match req.properties::<NativeService>()?.acceptance_required {
                Some(true) | None => "requires acceptance",
                Some(false) => "accepts connections without review",
            };
            let why = format!(
                "{logical_id} {acceptance}; a native service's connection notification is a resource of its own ({NOTIFICATION}), checked against the stack's template when the hook targets STACK"
            );
            return Ok(
                Verdict::compliant_with(why.clone()).with_annotation(Annotation::skipped(NOTIFICATION_RULE, why))
            );
        }
    };
    Ok(verdict(logical_id, &req.target.name, findings))
}

/// One verdict of several rules' findings: non-compliant with every breach named, each rule an
/// annotation.
fn verdict(subject: &str, target: &str, findings: Vec<(&'static str, Result<(), Breach>)>) -> Verdict {
    let breaches: Vec<String> = findings
        .iter()
        .filter_map(|(_, finding)| finding.as_ref().err().map(|breach| format!("{subject}: {breach}")))
        .collect();
    let annotations = findings.into_iter().map(|(rule, finding)| match finding {
        Ok(()) => Annotation::passed(rule, format!("{subject} follows the rule")),
        Err(breach) => {
            let (fix, link) = if rule == PRINCIPALS_RULE {
                ("Name principals of the approved accounts in AllowedPrincipals", PRINCIPALS_DOCS)
            } else {
                (
                    "Declare a connection notification for the service, or set AcceptanceRequired: true",
                    NOTIFICATION_DOCS,
                )
            };
            Annotation::failed(rule, format!("{subject}: {breach}"), Severity::High).remediation(fix, Some(link))
        }
    });
    let verdict = if breaches.is_empty() {
        Verdict::compliant_with(format!("{subject} ({target}) follows the account's PrivateLink rules"))
    } else {
        Verdict::non_compliant(breaches.join("; "))
    };
    verdict.with_annotations(annotations)
}

/// The notification rule over a whole template: every native service that accepts
/// connections without review has a notification whose `ServiceId` refers to it.
fn stack(req: &HookRequest<Configuration>) -> HookResult {
    let subject = req.target.logical_id.as_deref().unwrap_or("the stack");
    let Some(template) = req.template()? else {
        return Ok(Verdict::compliant_with(format!("{subject}: no template to check")));
    };
    let resources = template.get("Resources").and_then(Value::as_object).cloned().unwrap_or_default();
    let notified: Vec<&str> = resources
        .values()
        .filter(|resource| resource["Type"] == NOTIFICATION)
        .filter_map(|resource| referenced(&resource["Properties"]["ServiceId"]))
        .collect();
    let findings: Vec<(&'static str, Result<(), Breach>)> = resources
        .iter()
        .filter(|(_, resource)| resource["Type"] == ENDPOINT_SERVICE)
        .map(|(logical_id, resource)| {
            let declared = &resource["Properties"]["AcceptanceRequired"];
            let acceptance = match declared {
                Value::Null => None,
                Value::Bool(flag) => Some(*flag),
                Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
                // `false`, or a value only known as the stack runs (a parameter, a condition):
                // reviewed only when the template says so.
                _ => Some(false),
            };
            let finding = req
                .configuration
                .auto_accept(acceptance, notified.contains(&logical_id.as_str()), Source::HookConfiguration)
                .map_err(|breach| {
                    let known = if declared.is_boolean() || declared.is_string() {
                        String::new()
                    } else {
                        format!(" (its value, {declared}, is not known before the stack runs, so it is taken as false)")
                    };
                    Breach {
                        message: format!(
                            "Resources.{logical_id}.Properties.{}{known}; declare an {NOTIFICATION} with ServiceId: !Ref {logical_id}",
                            breach.message
                        ),
                        field: format!("Resources.{logical_id}.Properties.AcceptanceRequired"),
                    }
                });
            (NOTIFICATION_RULE, finding)
        })
        .collect();
    Ok(verdict(subject, &req.target.name, findings))
}

/// The logical id a `ServiceId` refers to (`!Ref Service`, `!GetAtt Service.ServiceId`).
fn referenced(service_id: &Value) -> Option<&str> {
    service_id.get("Ref").and_then(Value::as_str).or_else(|| service_id.get("Fn::GetAtt")?.get(0)?.as_str())
}

/// The request's partition, from its stack's ARN (`arn:aws-cn:cloudformation:cn-north-1:…`).
fn partition<C>(req: &HookRequest<C>) -> Partition {
    let region = req.stack_id.as_deref().and_then(|arn| arn.split(':').nth(3)).unwrap_or_default();
    Partition::of_region(region)
}

#[cfg(test)]
mod tests;
