//! The account's rules for PrivateLink endpoint services, in one place: the type configuration
//! of `Rpdk::EC2::PrivateLinkService` applies them as it makes a service, and the hook
//! configuration of `Rpdk::Governance::PrivateLinkHook` applies them to the native
//! `AWS::EC2::VPCEndpointService*` types before CloudFormation makes those. A breach names the
//! field, the value and the setting behind the rule.

use std::fmt;

use rpdk::Partition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The account's rules for endpoint services: a type's or a hook's configuration, set with
/// `SetTypeConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Governance {
    /// When set, every allowed principal must belong to one of these accounts, and `*` is
    /// refused whatever else is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("insertionOrder" = false), inner(regex(pattern = r"^[0-9]{12}$")))]
    pub allowed_principal_account_ids: Option<Vec<String>>,
    /// Permits `*` among the allowed principals when no account list is set (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_any_principal: Option<bool>,
    /// Refuses `AcceptanceRequired: false` without a connection notification (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_notification_when_auto_accept: Option<bool>,
}

/// Where the rules were set, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A resource type's configuration (`SetTypeConfiguration`).
    TypeConfiguration,
    /// A hook's configuration (`SetTypeConfiguration` of the hook, or a Lambda hook's
    /// environment).
    HookConfiguration,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::TypeConfiguration => "type configuration",
            Self::HookConfiguration => "hook configuration",
        }
    }
}

/// A broken rule: the field (`AllowedPrincipals[0]`) and a message that begins with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Breach {
    /// The field the rule is about.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl Breach {
    fn new(field: impl Into<String>, detail: impl fmt::Display) -> Self {
        let field = field.into();
        Self { message: format!("{field}: {detail}"), field }
    }
}

impl Governance {
    /// The rules themselves: every listed account is a 12-digit id.
    pub fn check(&self, source: Source) -> Result<(), Breach> {
        for (index, id) in self.allowed_principal_account_ids.as_deref().unwrap_or_default().iter().enumerate() {
            if !is_account_id(id) {
                return Err(Breach::new(
                    format!("AllowedPrincipalAccountIds[{index}]"),
                    format!(
                        "'{id}' is not a 12-digit account id; correct the {} with SetTypeConfiguration",
                        source.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Who may connect (`AllowedPrincipals`). An account list, when set, wins: it refuses `*`
    /// whatever `AllowAnyPrincipal` says, and every principal must belong to a listed account.
    pub fn allowed_principals(
        &self,
        principals: &[String],
        partition: Partition,
        source: Source,
    ) -> Result<(), Breach> {
        let source = source.as_str();
        for (index, principal) in principals.iter().enumerate() {
            let field = format!("AllowedPrincipals[{index}]");
            match (&self.allowed_principal_account_ids, principal.as_str()) {
                (Some(accounts), "*") => {
                    return Err(Breach::new(
                        field,
                        format!(
                            "'*' is refused by the {source}'s AllowedPrincipalAccountIds ({}), whatever AllowAnyPrincipal says: name principals of those accounts",
                            accounts.join(", ")
                        ),
                    ));
                }
                (Some(accounts), arn) => match principal_account(arn, partition) {
                    Some(account) if accounts.iter().any(|a| a == account) => {}
                    Some(account) => {
                        return Err(Breach::new(
                            field,
                            format!(
                                "'{arn}' belongs to account {account}, which the {source}'s AllowedPrincipalAccountIds ({}) does not list",
                                accounts.join(", ")
                            ),
                        ));
                    }
                    None => {
                        return Err(Breach::new(
                            field,
                            format!(
                                "'{arn}' is not an IAM principal ARN of partition {partition} (arn:{partition}:iam::<account>:root, :role/<name> or :user/<name>) of the {source}'s AllowedPrincipalAccountIds ({})",
                                accounts.join(", ")
                            ),
                        ));
                    }
                },
                (None, "*") if !self.allow_any_principal.unwrap_or(false) => {
                    return Err(Breach::new(
                        field,
                        format!(
                            "'*' lets any AWS account connect and is refused unless the {source} sets AllowAnyPrincipal: true (default false)"
                        ),
                    ));
                }
                (None, _) => {}
            }
        }
        Ok(())
    }

    /// A service that accepts connections without review (`AcceptanceRequired: false`) must
    /// notify someone of them. `acceptance_required` is `None` where the template leaves it
    /// out (the service then requires acceptance); `notified` says whether a notification is
    /// declared.
    pub fn auto_accept(&self, acceptance_required: Option<bool>, notified: bool, source: Source) -> Result<(), Breach> {
        if acceptance_required == Some(false) && !notified && self.require_notification_when_auto_accept.unwrap_or(true)
        {
            return Err(Breach::new(
                "AcceptanceRequired",
                format!(
                    "false without a connection notification is refused by the {}'s RequireNotificationWhenAutoAccept (default true): add a notification so every auto-accepted connection is seen",
                    source.as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// Twelve digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The account of an IAM account-root, role or user ARN of `partition`.
pub fn principal_account(arn: &str, partition: Partition) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?.strip_prefix(partition.as_str())?.strip_prefix(":iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let name_ok = |name: &str| {
        !name.is_empty()
            && name.len() <= 512
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@/-".contains(c))
    };
    let valid = resource == "root"
        || resource.strip_prefix("role/").is_some_and(name_ok)
        || resource.strip_prefix("user/").is_some_and(name_ok);
    (is_account_id(account) && valid).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTNER: &str = "arn:aws:iam::111122223333:root";

    fn listed() -> Governance {
        Governance { allowed_principal_account_ids: Some(vec!["111122223333".to_owned()]), ..Governance::default() }
    }

    fn principals(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn a_listed_account_passes_and_others_are_named() {
        listed()
            .allowed_principals(&principals(&[PARTNER]), Partition::Aws, Source::HookConfiguration)
            .expect("listed");
        let breach = listed()
            .allowed_principals(
                &principals(&[PARTNER, "arn:aws:iam::444455556666:role/app"]),
                Partition::Aws,
                Source::HookConfiguration,
            )
            .expect_err("a stranger");
        assert_eq!(breach.field, "AllowedPrincipals[1]");
        assert!(breach.message.contains("444455556666") && breach.message.contains("hook configuration"), "{breach}");
        let breach = listed()
            .allowed_principals(&principals(&["partner"]), Partition::Aws, Source::TypeConfiguration)
            .expect_err("not an ARN");
        assert!(breach.message.contains("not an IAM principal ARN"), "{breach}");
    }

    #[test]
    fn a_wildcard_needs_allow_any_principal_and_never_passes_an_account_list() {
        let open = principals(&["*"]);
        let breach = Governance::default()
            .allowed_principals(&open, Partition::Aws, Source::TypeConfiguration)
            .expect_err("refused");
        assert!(breach.message.contains("AllowAnyPrincipal: true"), "{breach}");
        let permissive = Governance { allow_any_principal: Some(true), ..Governance::default() };
        permissive.allowed_principals(&open, Partition::Aws, Source::TypeConfiguration).expect("permitted");
        let both = Governance { allow_any_principal: Some(true), ..listed() };
        let breach =
            both.allowed_principals(&open, Partition::Aws, Source::TypeConfiguration).expect_err("listed wins");
        assert!(breach.message.contains("whatever AllowAnyPrincipal says"), "{breach}");
    }

    #[test]
    fn auto_accept_needs_a_notification_unless_waived() {
        let rules = Governance::default();
        assert!(rules.auto_accept(Some(false), false, Source::HookConfiguration).is_err());
        rules.auto_accept(Some(false), true, Source::HookConfiguration).expect("notified");
        rules.auto_accept(None, false, Source::HookConfiguration).expect("acceptance required by default");
        rules.auto_accept(Some(true), false, Source::HookConfiguration).expect("reviewed");
        let waived = Governance { require_notification_when_auto_accept: Some(false), ..rules };
        waived.auto_accept(Some(false), false, Source::HookConfiguration).expect("waived");
    }

    #[test]
    fn the_rules_check_their_account_ids() {
        let bad = Governance { allowed_principal_account_ids: Some(vec!["12345".to_owned()]), ..Governance::default() };
        let breach = bad.check(Source::HookConfiguration).expect_err("refused");
        assert_eq!(breach.field, "AllowedPrincipalAccountIds[0]");
        listed().check(Source::HookConfiguration).expect("valid");
    }
}
