//! Input validation, before any IAM call. IAM (and more so its emulators) accepts some input
//! that later breaks, so every rule the type relies on is checked here, naming the field.

use std::collections::BTreeSet;

use rpdk::{HandlerError, Partition};

use crate::model::CrossAccountRole;
use crate::trust::{TRUST_POLICY_LIMIT, Trust, is_account_id};

/// Checks a desired model; `partition` is the request's.
pub fn desired(model: &CrossAccountRole, partition: Partition) -> Result<(), HandlerError> {
    if let Some(name) = &model.role_name {
        check_chars("RoleName", name, 1, 64, |c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))?;
    }
    if let Some(path) = &model.path
        && (!path.starts_with('/')
            || !path.ends_with('/')
            || path.len() > 512
            || !path.chars().all(|c| ('\x21'..='\x7e').contains(&c)))
    {
        return Err(invalid(format!(
            "Path: '{path}' must start and end with '/' and hold at most 512 printable ASCII characters, e.g. /partners/"
        )));
    }
    let accounts = model.trusted_account_ids.as_deref().unwrap_or_default();
    for (index, id) in accounts.iter().enumerate() {
        if !is_account_id(id) {
            return Err(invalid(format!("TrustedAccountIds[{index}]: '{id}' is not a 12-digit AWS account id")));
        }
    }
    let principals = model.trusted_principal_arns.as_deref().unwrap_or_default();
    for (index, arn) in principals.iter().enumerate() {
        principal(index, arn, partition)?;
    }
    if accounts.is_empty() && principals.is_empty() {
        return Err(invalid(
            "TrustedAccountIds, TrustedPrincipalArns: name at least one account or principal that may assume the role",
        ));
    }
    check_chars("ExternalId", &model.external_id, 2, 1224, |c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))?;
    if let Some(seconds) = model.max_session_duration
        && !(3600..=43200).contains(&seconds)
    {
        return Err(invalid(format!("MaxSessionDuration: {seconds} is outside 3600 to 43200 seconds")));
    }
    if let Some(description) = &model.description {
        let iam_char = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}');
        if description.chars().count() > 1000 || !description.chars().all(iam_char) {
            return Err(invalid("Description: at most 1000 characters, printable Latin-1 only (IAM's character set)"));
        }
    }
    if let Some(arn) = &model.permissions_boundary {
        policy_arn("PermissionsBoundary", arn, partition)?;
    }
    for (index, arn) in model.managed_policy_arns.as_deref().unwrap_or_default().iter().enumerate() {
        policy_arn(&format!("ManagedPolicyArns[{index}]"), arn, partition)?;
    }
    let mut names = BTreeSet::new();
    for (index, policy) in model.policies.as_deref().unwrap_or_default().iter().enumerate() {
        let field = format!("Policies[{index}].PolicyName");
        check_chars(&field, &policy.policy_name, 1, 128, |c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))?;
        if !names.insert(policy.policy_name.as_str()) {
            return Err(invalid(format!(
                "{field}: '{}' appears twice; inline policy names are unique per role",
                policy.policy_name
            )));
        }
        if !policy.policy_document.is_object() {
            return Err(invalid(format!(
                "Policies[{index}].PolicyDocument: must be a JSON object (an IAM policy document)"
            )));
        }
    }
    tags(model)?;
    let trust = Trust {
        account_ids: accounts.to_vec(),
        principal_arns: principals.to_vec(),
        external_id: model.external_id.clone(),
        require_mfa: model.require_mfa.unwrap_or(false),
    };
    let length = trust.document(partition).chars().count();
    if length > TRUST_POLICY_LIMIT {
        return Err(invalid(format!(
            "TrustedAccountIds, TrustedPrincipalArns: the trust policy would be {length} characters, over IAM's default limit of {TRUST_POLICY_LIMIT}; trust fewer principals (or a shorter ExternalId)"
        )));
    }
    Ok(())
}

fn principal(index: usize, arn: &str, partition: Partition) -> Result<(), HandlerError> {
    let field = format!("TrustedPrincipalArns[{index}]");
    if arn.contains('*') {
        return Err(invalid(format!("{field}: '{arn}' is a wildcard; name the partner's role or user")));
    }
    let Some(rest) = arn.strip_prefix("arn:") else {
        return Err(invalid(format!(
            "{field}: '{arn}' is not an IAM role or user ARN (arn:{partition}:iam::<account>:role/<name>)"
        )));
    };
    let mut parts = rest.splitn(5, ':');
    let (arn_partition, service, region, account, resource) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next().unwrap_or_default());
    if arn_partition != Some(partition.as_str()) {
        return Err(invalid(format!(
            "{field}: '{arn}' is not in this stack's partition ({partition}); IAM cannot trust principals of another partition"
        )));
    }
    if service != Some("iam") || region != Some("") || !account.is_some_and(is_account_id) {
        return Err(invalid(format!(
            "{field}: '{arn}' is not an IAM ARN of the form arn:{partition}:iam::<account>:role/<name>"
        )));
    }
    if resource == "root" {
        return Err(invalid(format!(
            "{field}: '{arn}' names a whole account; put the account id in TrustedAccountIds"
        )));
    }
    let named = resource.strip_prefix("role/").or_else(|| resource.strip_prefix("user/"));
    if named.is_none_or(str::is_empty) {
        return Err(invalid(format!("{field}: '{arn}' is neither a role nor a user; only those may be trusted")));
    }
    Ok(())
}

fn policy_arn(field: &str, arn: &str, partition: Partition) -> Result<(), HandlerError> {
    let prefix = format!("arn:{partition}:iam::");
    let ok = arn
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once(":policy/"))
        .is_some_and(|(owner, name)| (owner == "aws" || is_account_id(owner)) && !name.is_empty());
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field}: '{arn}' is not a managed policy ARN of this partition ({prefix}<account|aws>:policy/<name>)"
        )))
    }
}

fn tags(model: &CrossAccountRole) -> Result<(), HandlerError> {
    let tags = model.tags.as_deref().unwrap_or_default();
    rpdk_aws::tags::check(tags.iter().map(|tag| (tag.key.as_str(), tag.value.as_str())), rpdk_aws::tags::IAM_SSM_TAGS)
}

fn check_chars(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(), HandlerError> {
    let length = value.chars().count();
    if length < min || length > max || !value.chars().all(allowed) {
        return Err(invalid(format!(
            "{field}: '{value}' must be {min} to {max} characters from the set IAM allows (see the schema's pattern)"
        )));
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> HandlerError {
    HandlerError::invalid_request(message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{Policy, Tag};

    fn valid() -> CrossAccountRole {
        CrossAccountRole {
            role_name: Some("partner-role".into()),
            trusted_account_ids: Some(vec!["111122223333".into()]),
            external_id: "ext-id-1".into(),
            ..CrossAccountRole::default()
        }
    }

    fn refused(change: impl FnOnce(&mut CrossAccountRole)) -> String {
        let mut model = valid();
        change(&mut model);
        desired(&model, Partition::Aws).expect_err("refused").message().to_owned()
    }

    #[test]
    fn a_valid_model_passes() {
        desired(&valid(), Partition::Aws).expect("valid");
    }

    /// A change that breaks one rule.
    type Spoil = Box<dyn FnOnce(&mut CrossAccountRole)>;

    #[test]
    fn each_rule_names_its_field() {
        let cases: Vec<(Spoil, &str)> = vec![
            (Box::new(|m| m.role_name = Some("x".repeat(65))), "RoleName:"),
            (Box::new(|m| m.role_name = Some("bad name".into())), "RoleName:"),
            (Box::new(|m| m.path = Some("partners".into())), "Path:"),
            (Box::new(|m| m.trusted_account_ids = Some(vec!["12345".into()])), "TrustedAccountIds[0]:"),
            (Box::new(|m| m.trusted_account_ids = None), "TrustedAccountIds, TrustedPrincipalArns: name at least one"),
            (
                Box::new(|m| m.trusted_principal_arns = Some(vec!["*".into()])),
                "TrustedPrincipalArns[0]: '*' is a wildcard",
            ),
            (
                Box::new(|m| m.trusted_principal_arns = Some(vec!["arn:aws:iam::111122223333:root".into()])),
                "put the account id in TrustedAccountIds",
            ),
            (
                Box::new(|m| m.trusted_principal_arns = Some(vec!["arn:aws-cn:iam::111122223333:role/r".into()])),
                "not in this stack's partition (aws)",
            ),
            (
                Box::new(|m| m.trusted_principal_arns = Some(vec!["arn:aws:iam::111122223333:group/g".into()])),
                "neither a role nor a user",
            ),
            (
                Box::new(|m| m.trusted_principal_arns = Some(vec!["AROAEXAMPLEID1234567".into()])),
                "TrustedPrincipalArns[0]:",
            ),
            (Box::new(|m| m.external_id = "x".into()), "ExternalId:"),
            (Box::new(|m| m.max_session_duration = Some(60)), "MaxSessionDuration: 60"),
            (Box::new(|m| m.description = Some("emoji \u{1F600}".into())), "Description:"),
            (Box::new(|m| m.permissions_boundary = Some("arn:aws:s3:::bucket".into())), "PermissionsBoundary:"),
            (
                Box::new(|m| m.managed_policy_arns = Some(vec!["arn:aws-cn:iam::aws:policy/X".into()])),
                "ManagedPolicyArns[0]:",
            ),
            (
                Box::new(|m| {
                    let policy = Policy { policy_name: "p".into(), policy_document: json!({}) };
                    m.policies = Some(vec![policy.clone(), policy]);
                }),
                "Policies[1].PolicyName: 'p' appears twice",
            ),
            (
                Box::new(|m| {
                    m.policies = Some(vec![Policy { policy_name: "p".into(), policy_document: json!("text") }])
                }),
                "Policies[0].PolicyDocument",
            ),
            (
                Box::new(|m| m.tags = Some(vec![Tag { key: "aws:x".into(), value: String::new() }])),
                "Tags[0].Key: 'aws:x' uses a reserved prefix",
            ),
            (
                Box::new(|m| m.tags = Some(vec![Tag { key: "rpdk:created-by".into(), value: String::new() }])),
                "reserved prefix",
            ),
        ];
        for (change, expected) in cases {
            let message = refused(change);
            assert!(message.contains(expected), "expected '{expected}' in: {message}");
        }
    }

    #[test]
    fn an_oversize_trust_policy_is_refused_before_any_call() {
        let message = refused(|m| {
            m.trusted_principal_arns =
                Some((0..40).map(|i| format!("arn:aws:iam::111122223333:role/partner-role-{i:02}")).collect());
        });
        assert!(message.contains("over IAM's default limit of 2048"), "{message}");
    }
}
