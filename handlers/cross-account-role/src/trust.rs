//! The trust policy: built from the model, and read back from the form IAM stores.

use rpdk::Partition;
use serde_json::{Value, json};

/// IAM's default limit on a role trust policy, in characters.
pub const TRUST_POLICY_LIMIT: usize = 2048;

/// Who may assume the role, and on what condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trust {
    /// 12-digit account ids.
    pub account_ids: Vec<String>,
    /// Role and user ARNs (or unique ids of deleted principals, on read).
    pub principal_arns: Vec<String>,
    /// The `sts:ExternalId` the caller must pass.
    pub external_id: String,
    /// Whether MFA is required.
    pub require_mfa: bool,
}

impl Trust {
    /// The trust policy document, compact (the form whose length IAM limits).
    pub fn document(&self, partition: Partition) -> String {
        let principals: Vec<String> = self
            .account_ids
            .iter()
            .map(|id| format!("arn:{partition}:iam::{id}:root"))
            .chain(self.principal_arns.iter().cloned())
            .collect();
        let mut condition = json!({ "StringEquals": { "sts:ExternalId": self.external_id } });
        if self.require_mfa {
            condition["Bool"] = json!({ "aws:MultiFactorAuthPresent": "true" });
        }
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "AWS": principals },
                "Action": "sts:AssumeRole",
                "Condition": condition
            }]
        })
        .to_string()
    }

    /// Reads a trust policy as IAM returns it: URL-encoded or not, `Principal.AWS` as a string
    /// or a list, accounts as `:root` ARNs or bare ids, deleted principals as unique ids.
    /// What this type would not have written is kept where it fits, so drift shows.
    pub fn parse(stored: &str) -> Option<Self> {
        let document = decode_document(stored)?;
        let mut trust = Trust::default();
        for statement in as_list(document.get("Statement")?) {
            if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            if let Some(principals) = statement.get("Principal").and_then(|p| p.get("AWS")) {
                for principal in as_list(principals).iter().filter_map(|p| p.as_str()) {
                    match account_of_root(principal) {
                        Some(id) => trust.account_ids.push(id.to_owned()),
                        None => trust.principal_arns.push(principal.to_owned()),
                    }
                }
            }
            if let Some(condition) = statement.get("Condition") {
                if let Some(id) = condition.pointer("/StringEquals/sts:ExternalId").and_then(first_string) {
                    trust.external_id = id;
                }
                trust.require_mfa |= condition
                    .pointer("/Bool/aws:MultiFactorAuthPresent")
                    .and_then(first_string)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            }
        }
        Some(trust)
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); emulators may not.
pub fn decode_document(stored: &str) -> Option<Value> {
    serde_json::from_str(stored).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(stored).decode_utf8().ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn first_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// `arn:<partition>:iam::<id>:root` or a bare 12-digit id → the account id.
fn account_of_root(principal: &str) -> Option<&str> {
    if is_account_id(principal) {
        return Some(principal);
    }
    let rest = principal.strip_prefix("arn:")?;
    let (_, rest) = rest.split_once(':')?;
    let id = rest.strip_prefix("iam::")?.strip_suffix(":root")?;
    is_account_id(id).then_some(id)
}

/// Twelve ASCII digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Trust {
        Trust {
            account_ids: vec!["111122223333".into()],
            principal_arns: vec!["arn:aws:iam::444455556666:role/partner".into()],
            external_id: "ext-123".into(),
            require_mfa: true,
        }
    }

    #[test]
    fn round_trips_through_the_document() {
        let trust = sample();
        assert_eq!(Trust::parse(&trust.document(Partition::Aws)), Some(trust));
    }

    #[test]
    fn reads_the_url_encoded_form_iam_stores() {
        let stored = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws-us-gov%3Aiam%3A%3A111122223333%3Aroot%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Condition%22%3A%7B%22StringEquals%22%3A%7B%22sts%3AExternalId%22%3A%22ext-123%22%7D%7D%7D%5D%7D";
        let trust = Trust::parse(stored).expect("parses");
        assert_eq!(trust.account_ids, ["111122223333"], "a single principal comes back as a string");
        assert_eq!(trust.external_id, "ext-123");
        assert!(!trust.require_mfa);
    }

    #[test]
    fn keeps_unique_ids_of_deleted_principals() {
        let stored = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["AROAEXAMPLEID1234567","123456789012"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":["x1"]}}}]}"#;
        let trust = Trust::parse(stored).expect("parses");
        assert_eq!(trust.principal_arns, ["AROAEXAMPLEID1234567"]);
        assert_eq!(trust.account_ids, ["123456789012"]);
        assert_eq!(trust.external_id, "x1");
    }

    #[test]
    fn builds_root_arns_in_the_request_partition() {
        let document = sample().document(Partition::AwsCn);
        assert!(document.contains("arn:aws-cn:iam::111122223333:root"), "{document}");
        assert!(document.contains(r#""aws:MultiFactorAuthPresent":"true""#), "{document}");
    }
}
