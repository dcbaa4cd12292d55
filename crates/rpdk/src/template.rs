//! CloudFormation templates as text: JSON, or YAML with its short-form tags, read into the
//! long (JSON) form that the service and every tool after it work on. The deploy engine reads a
//! stack's template with it, and a hook reads the template of a stack or change-set target.

use serde_json::{Map, Value};

/// Why a template cannot be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct TemplateError {
    /// A path into the template, e.g. `template.Resources.Queue`.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl TemplateError {
    fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self { location: location.into(), message: message.into() }
    }
}

/// YAML short forms: `!Ref x` is `{"Ref": x}`, `!Condition x` is `{"Condition": x}`, any
/// other `!Name v` is `{"Fn::Name": v}`.
const SHORT_FORMS: &[&str] = &[
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "If",
    "Equals",
    "And",
    "Or",
    "Not",
    "Split",
    "Base64",
    "GetAZs",
    "FindInMap",
    "ImportValue",
    "Cidr",
    "Length",
    "ToJsonString",
    "Transform",
];

/// Reads a template: JSON when it parses as JSON, else YAML, short-form tags (`!Ref`) read into
/// their long form (`{"Ref": ...}`) and `Fn::GetAtt`'s string form split into its list form.
pub fn parse(text: &str) -> Result<Value, TemplateError> {
    if flow_depth_over(text, MAX_DEPTH) {
        return Err(TemplateError::new(
            "template",
            format!("values nested deeper than {MAX_DEPTH} levels of [ ] or {{ }}; no template needs that many"),
        ));
    }
    let mut document = match serde_json::from_str::<Value>(text) {
        Ok(value) => value,
        Err(_) => {
            let yaml: yaml_serde::Value = yaml_serde::from_str(text)
                .map_err(|error| TemplateError::new("template", format!("neither JSON nor YAML: {error}")))?;
            long_form(yaml, "template")?
        }
    };
    get_att_lists(&mut document);
    Ok(document)
}

/// The deepest nesting of brackets the parsers are given: theirs refuse 128 levels, but only
/// after scanning in time that grows with the square of the depth.
const MAX_DEPTH: usize = 128;

/// Whether `[` and `{` outside quoted strings nest deeper than `limit`, found in one pass.
fn flow_depth_over(text: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for byte in text.bytes() {
        match (quote, byte) {
            (Some(b'"'), b'\\') => escaped = !escaped,
            (Some(open), _) if byte == open && !escaped => quote = None,
            (Some(_), _) => escaped = false,
            (None, b'"' | b'\'') => quote = Some(byte),
            (None, b'[' | b'{') => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    false
}

/// `Fn::GetAtt: Resource.Attribute.Path`, as a string, is `[Resource, Attribute.Path]`: it
/// splits at the first dot, as CloudFormation splits it.
fn get_att_lists(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("Fn::GetAtt").filter(|_| map.len() == 1)
                && let Some((resource, attribute)) = text.split_once('.')
            {
                let list = Value::from(vec![resource, attribute]);
                map.insert("Fn::GetAtt".to_owned(), list);
                return;
            }
            map.values_mut().for_each(get_att_lists);
        }
        Value::Array(items) => items.iter_mut().for_each(get_att_lists),
        _ => {}
    }
}

/// A YAML value in CloudFormation's long (JSON) form.
fn long_form(value: yaml_serde::Value, at: &str) -> Result<Value, TemplateError> {
    use yaml_serde::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Value::from(integer)
            } else if let Some(unsigned) = number.as_u64() {
                Value::from(unsigned)
            } else {
                number
                    .as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| TemplateError::new(at, format!("{number} is not a number JSON can hold")))?
            }
        }
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| long_form(item, &format!("{at}[{index}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, item) in mapping {
                let key = match key {
                    Yaml::String(text) => text,
                    Yaml::Number(number) => number.to_string(),
                    Yaml::Bool(flag) => flag.to_string(),
                    other => return Err(TemplateError::new(at, format!("a key must be a string, not {other:?}"))),
                };
                let value = long_form(item, &format!("{at}.{key}"))?;
                object.insert(key, value);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let name = tagged.tag.to_string().trim_start_matches('!').to_owned();
            if !SHORT_FORMS.contains(&name.as_str()) {
                return Err(TemplateError::new(
                    at,
                    format!(
                        "!{name} is not a CloudFormation function; the short forms are !{}",
                        SHORT_FORMS.join(", !")
                    ),
                ));
            }
            let inner = long_form(tagged.value, at)?;
            let key = if name == "Ref" || name == "Condition" { name } else { format!("Fn::{name}") };
            Value::Object(Map::from_iter([(key, inner)]))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_outside_quoted_strings() {
        assert!(!flow_depth_over(r#"{"a": [[1]], "b": "[[[[", 'c': '{{{'}"#, 3));
        assert!(flow_depth_over("[[[[1]]]]", 3));
        assert!(!flow_depth_over(r#"{"a": "\"[[[[[["}"#, 1));
        let deep = format!("Resources: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let fault = parse(&deep).expect_err("refused");
        assert!(fault.message.contains("nested deeper than 128 levels"), "{fault}");
    }
}
