//! Stack tags on what a type makes, and READ reporting only the resource's own.
//!
//! CloudFormation asks a taggable type to apply the stack's tags too
//! ([`rpdk::Request::desired_resource_tags`]), but drift detection compares READ with the
//! template, which names only the resource's own. So a type records, on the resource, which keys
//! only the stack gave: one tag, [`STACK_TAGS_KEY`], holding five hex digits of each key's
//! SHA-256 (IAM, EC2 and SSM allow 256 characters: 51 keys, more than a resource can carry
//! beside its own). READ leaves those keys and the marker out.

use std::collections::BTreeMap;

use rpdk::{HandlerError, Request};
use sha2::{Digest, Sha256};

/// The tag that names the keys only the stack gave.
pub const STACK_TAGS_KEY: &str = "rpdk:stack-tags";
/// Tag keys the type keeps for itself.
pub const RESERVED_PREFIX: &str = "rpdk:";
const DIGITS: usize = 5;

/// How long a service lets a tag's key and value be, in characters.
#[derive(Clone, Copy, Debug)]
pub struct TagLimits {
    /// The longest key.
    pub key: usize,
    /// The longest value.
    pub value: usize,
}

/// IAM's and SSM's tags.
pub const IAM_SSM_TAGS: TagLimits = TagLimits { key: 128, value: 256 };
/// EC2's tags.
pub const EC2_TAGS: TagLimits = TagLimits { key: 127, value: 255 };

/// A template's `Tags` checked before any call, each refusal naming `Tags[i].Key` or `.Value`:
/// lengths within the service's `limits`, no control character (a NUL reaches some services and
/// is refused only after the resource is made), neither `aws:` nor the type's reserved prefix,
/// and each key once.
pub fn check<'t>(tags: impl IntoIterator<Item = (&'t str, &'t str)>, limits: TagLimits) -> Result<(), HandlerError> {
    let invalid = HandlerError::invalid_request;
    let mut keys = std::collections::BTreeSet::new();
    for (index, (key, value)) in tags.into_iter().enumerate() {
        let field = format!("Tags[{index}]");
        if key.is_empty() || key.chars().count() > limits.key {
            return Err(invalid(format!("{field}.Key: must be 1 to {} characters", limits.key)));
        }
        if value.chars().count() > limits.value {
            return Err(invalid(format!("{field}.Value: must be at most {} characters", limits.value)));
        }
        for (part, text) in [("Key", key), ("Value", value)] {
            if let Some(control) = text.chars().find(|c| c.is_control()) {
                return Err(invalid(format!(
                    "{field}.{part}: holds the control character {control:?}; tags take printable text only"
                )));
            }
        }
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("aws:") || lower.starts_with(RESERVED_PREFIX) {
            return Err(invalid(format!(
                "{field}.Key: '{key}' uses a reserved prefix (aws:, {RESERVED_PREFIX}); choose another key"
            )));
        }
        if !keys.insert(key) {
            return Err(invalid(format!("{field}.Key: '{key}' appears twice")));
        }
    }
    Ok(())
}

/// The tags to apply to a resource: the desired resource tags of `req` and, when the stack
/// gives keys the model does not name (`own_keys`), the marker of those keys. Refused up front
/// when they exceed the service's `limit` with the `reserved` tags the type adds of its own, or
/// when a stack tag uses the type's reserved prefix.
pub fn applied<'a, M, T>(
    req: &'a Request<M, T>,
    own_keys: impl IntoIterator<Item = &'a str>,
    limit: usize,
    reserved: usize,
    service: &str,
) -> Result<BTreeMap<String, String>, HandlerError> {
    let own: std::collections::BTreeSet<&str> = own_keys.into_iter().collect();
    let from_stack = req.stack_only_tag_keys(own.iter().copied());
    if let Some(key) = from_stack.iter().find(|key| key.to_ascii_lowercase().starts_with(RESERVED_PREFIX)) {
        return Err(HandlerError::invalid_request(format!(
            "stack tag '{key}': the {RESERVED_PREFIX} prefix is reserved for the type's own tags; rename the stack's tag"
        )));
    }
    let mut tags = req.desired_resource_tags.clone();
    if !from_stack.is_empty() {
        tags.insert(STACK_TAGS_KEY.to_owned(), marker(from_stack.iter().copied()));
    }
    let total = tags.len() + reserved;
    if total > limit {
        let markers = total.saturating_sub(own.len() + from_stack.len());
        return Err(HandlerError::invalid_request(format!(
            "Tags: {service} allows {limit} tags on a resource, and this one would carry {total}: {} of its own (Tags), {} from the stack's tags and {markers} the type keeps for itself; remove tags from the template or from the stack",
            own.len(),
            from_stack.len()
        )));
    }
    Ok(tags)
}

/// The resource's own tags among all it carries: without the stack's (as the marker names
/// them), the marker, and whatever `also_hidden` says is the type's.
pub fn own<'a>(
    all: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    also_hidden: impl Fn(&str) -> bool,
) -> Vec<(&'a str, &'a str)> {
    let marker =
        all.clone().into_iter().find(|(key, _)| *key == STACK_TAGS_KEY).map(|(_, value)| value).unwrap_or_default();
    let from_stack: Vec<&str> =
        (0..marker.len() / DIGITS).filter_map(|i| marker.get(i * DIGITS..(i + 1) * DIGITS)).collect();
    all.into_iter()
        .filter(|(key, _)| *key != STACK_TAGS_KEY && !also_hidden(key) && !from_stack.contains(&digest(key).as_str()))
        .collect()
}

fn marker<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    let mut digests: Vec<String> = keys.map(digest).collect();
    digests.sort();
    digests.concat()
}

fn digest(key: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    hash.iter()
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .take(DIGITS)
        .map(|nibble| char::from_digit(u32::from(nibble), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(stack: &[(&str, &str)], own: &[(&str, &str)]) -> Request<(), ()> {
        let mut desired: BTreeMap<String, String> =
            stack.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        desired.extend(own.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Request {
            action: rpdk::Action::Create,
            type_name: "Rpdk::Demo::Thing".into(),
            model: (),
            previous_model: None,
            type_configuration: (),
            logical_resource_id: None,
            client_request_token: String::new(),
            account_id: String::new(),
            region: String::new(),
            partition: rpdk::Partition::Aws,
            stack_id: None,
            next_token: None,
            max_results: None,
            snapshot_requested: false,
            rollback: false,
            driftable: false,
            features: BTreeMap::new(),
            resource_type_version: None,
            desired_resource_tags: desired,
            previous_resource_tags: BTreeMap::new(),
            stack_tags: BTreeMap::new(),
            previous_stack_tags: BTreeMap::new(),
            system_tags: BTreeMap::new(),
            previous_system_tags: BTreeMap::new(),
            credentials: None,
            deadline: rpdk::Deadline::after(std::time::Duration::from_secs(60)),
        }
    }

    #[test]
    fn the_stacks_keys_are_applied_marked_and_left_out_of_read() {
        let req = request(&[("env", "prod"), ("team", "stack")], &[("team", "own")]);
        let tags = applied(&req, ["team"], 50, 1, "IAM").expect("within the limit");
        assert_eq!(tags.get("team").map(String::as_str), Some("own"), "the resource's own tag wins");
        assert_eq!(tags.get("env").map(String::as_str), Some("prod"));
        let marker = tags.get(STACK_TAGS_KEY).expect("a marker").clone();
        assert_eq!(marker.len(), DIGITS);
        let all: Vec<(&str, &str)> =
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain([("rpdk:created-by", "x")]).collect();
        assert_eq!(own(all.iter().copied(), |key| key == "rpdk:created-by"), [("team", "own")]);
    }

    #[test]
    fn without_stack_keys_there_is_no_marker() {
        let req = request(&[], &[("team", "own")]);
        let tags = applied(&req, ["team"], 50, 1, "IAM").expect("within the limit");
        assert!(!tags.contains_key(STACK_TAGS_KEY));
    }

    fn as_refs(tags: &[(String, String)]) -> Vec<(&str, &str)> {
        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn the_limit_counts_the_stacks_tags_and_names_where_they_come_from() {
        let stack: Vec<(String, String)> = (0..30).map(|i| (format!("s{i}"), "v".to_owned())).collect();
        let own_tags: Vec<(String, String)> = (0..20).map(|i| (format!("o{i}"), "v".to_owned())).collect();
        let req = request(&as_refs(&stack), &as_refs(&own_tags));
        let error = applied(&req, own_tags.iter().map(|(k, _)| k.as_str()), 50, 1, "IAM").expect_err("over the limit");
        assert_eq!(
            error.message(),
            "Tags: IAM allows 50 tags on a resource, and this one would carry 52: 20 of its own (Tags), 30 from the stack's tags and 2 the type keeps for itself; remove tags from the template or from the stack"
        );
        let reserved = request(&[("rpdk:created-by", "x")], &[]);
        assert!(
            applied(&reserved, [], 50, 1, "IAM")
                .expect_err("reserved")
                .message()
                .starts_with("stack tag 'rpdk:created-by'")
        );
    }

    #[test]
    fn template_tags_are_checked_before_any_call() {
        let refused = |tags: &[(&str, &str)], limits| {
            check(tags.iter().copied(), limits).expect_err("refused").message().to_owned()
        };
        check([("team", "platform"), ("cost-centre", "")], EC2_TAGS).expect("valid");
        assert_eq!(
            refused(&[("team", "a\0b")], EC2_TAGS),
            "Tags[0].Value: holds the control character '\\0'; tags take printable text only"
        );
        assert!(
            refused(&[("ok", "x"), ("line\nbreak", "x")], IAM_SSM_TAGS)
                .starts_with("Tags[1].Key: holds the control character")
        );
        assert_eq!(refused(&[(&"k".repeat(128), "x")], EC2_TAGS), "Tags[0].Key: must be 1 to 127 characters");
        check([(&*"k".repeat(128), "x")], IAM_SSM_TAGS).expect("128 characters pass for IAM");
        assert!(refused(&[("AWS:team", "x")], IAM_SSM_TAGS).contains("reserved prefix"));
        assert!(refused(&[("rpdk:owner", "x")], IAM_SSM_TAGS).contains("reserved prefix"));
        assert_eq!(refused(&[("team", "a"), ("team", "b")], IAM_SSM_TAGS), "Tags[1].Key: 'team' appears twice");
    }
}
