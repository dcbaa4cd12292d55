//! A type's reference page, written from its emitted registry schema as `cfn generate` writes
//! `docs/README.md`: the syntax in JSON and YAML, every property (description, type, whether
//! required, its constraints, what an update of it does), the return values of `Ref` and
//! `Fn::GetAtt`, the objects the properties use, and the type configuration.

use std::fmt::Write as _;

use serde_json::{Map, Value};

const UPDATE_BEHAVIORS: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html";
const GET_ATT: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getatt.html";

/// The reference page of the type whose schema is `schema`.
pub fn markdown(schema: &Value) -> String {
    let type_name = text(schema, "typeName");
    let properties = object(schema, "properties");
    let pointers = |key: &str| -> Vec<String> {
        schema[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|p| p.strip_prefix("/properties/"))
            .map(|p| p.replace('/', "."))
            .collect()
    };
    let read_only = pointers("readOnlyProperties");
    let create_only = pointers("createOnlyProperties");
    let write_only = pointers("writeOnlyProperties");
    let required = strings(&schema["required"]);
    let settable: Vec<(&String, &Value)> = properties.iter().filter(|(name, _)| !read_only.contains(*name)).collect();

    let mut page = format!("# {type_name}\n\n{}\n\n", text(schema, "description"));
    page.push_str(
        "## Syntax\n\nTo declare this entity in your AWS CloudFormation template, use the following syntax:\n\n",
    );
    page.push_str("### JSON\n\n```json\n{\n    \"Type\" : \"");
    page.push_str(&type_name);
    page.push_str("\",\n    \"Properties\" : {\n");
    let json_lines: Vec<String> =
        settable.iter().map(|(name, property)| format!("        \"{name}\" : {}", json_shape(property))).collect();
    page.push_str(&json_lines.join(",\n"));
    page.push_str("\n    }\n}\n```\n\n### YAML\n\n```yaml\nType: ");
    page.push_str(&type_name);
    page.push_str("\nProperties:\n");
    for (name, property) in &settable {
        let _ = writeln!(page, "    {name}:{}", yaml_shape(property, "    "));
    }
    page.push_str("```\n\n## Properties\n\n");
    for (name, property) in &settable {
        let update = if create_only.contains(*name) {
            format!("[Replacement]({UPDATE_BEHAVIORS}#update-replacement)")
        } else {
            format!("[No interruption]({UPDATE_BEHAVIORS}#update-no-interrupt)")
        };
        let mut facts = vec![("Required", yes_no(required.contains(*name)))];
        if write_only.contains(*name) {
            facts.push(("Write-only", "Yes: sent to the handlers, never returned by a read".to_owned()));
        }
        facts.push(("Update requires", update));
        describe(&mut page, "####", name, property, &facts);
    }
    page.push_str("## Return Values\n\n### Ref\n\n");
    let identifier = pointers("primaryIdentifier");
    let _ = writeln!(
        page,
        "When you pass the logical ID of this resource to the intrinsic `Ref` function, Ref returns the {}.\n",
        identifier.join(" and the ")
    );
    if identifier.len() > 1 {
        page.push_str("The parts are joined by `|`, in that order.\n\n");
    }
    if !read_only.is_empty() {
        let _ = writeln!(
            page,
            "### Fn::GetAtt\n\nThe `Fn::GetAtt` intrinsic function returns a value for a specified attribute of this type. The following are the available attributes.\n\nFor more information about using the `Fn::GetAtt` intrinsic function, see [Fn::GetAtt]({GET_ATT}).\n"
        );
        for name in &read_only {
            let property = name.split('.').fold(schema, |node, part| resolved(schema, &node["properties"][part]));
            let _ = writeln!(page, "#### {name}\n\n{}\n", description(property));
        }
    }
    objects(&mut page, schema, "The objects the properties above hold.");
    configuration(
        &mut page,
        schema,
        "## Type configuration\n\nSet once per account and region (`SetTypeConfiguration`); the handlers receive it with every request.\n\n",
    );
    page.truncate(page.trim_end().len());
    page.push('\n');
    page
}

/// The reference page of the hook whose schema is `schema`: what it checks, how it is enabled,
/// its handlers' targets and permissions, and its configuration.
pub fn hook_markdown(schema: &Value) -> String {
    let type_name = text(schema, "typeName");
    let mut page = format!("# {type_name}\n\n{}\n\n", text(schema, "description"));
    page.push_str(
        "## Enabling\n\nRegistered (`cargo rpdk submit`), the hook checks nothing until its configuration enables it \
         for the account and region (`SetTypeConfiguration`, or `submit --type-config`); `Properties` holds the \
         configuration below:\n\n```json\n",
    );
    let example = serde_json::json!({"CloudFormationConfiguration": {"HookConfiguration": {
        "HookInvocationStatus": "ENABLED", "FailureMode": "FAIL", "TargetOperations": ["RESOURCE"], "Properties": {}}}});
    page.push_str(&serde_json::to_string_pretty(&example).unwrap_or_default());
    page.push_str("\n```\n\n## Handlers\n\n| handler | targets | permissions |\n|---|---|---|\n");
    for (handler, spec) in &object(schema, "handlers") {
        let listed = |key: &str| {
            let items: Vec<String> = strings(&spec[key]).iter().map(|s| format!("`{s}`")).collect();
            if items.is_empty() { "none".to_owned() } else { items.join(", ") }
        };
        let _ = writeln!(page, "| {handler} | {} | {} |", listed("targetNames"), listed("permissions"));
    }
    page.push('\n');
    configuration(&mut page, schema, "## Configuration\n\nThe `Properties` of the hook's configuration.\n\n");
    objects(&mut page, schema, "The objects the configuration holds.");
    page.truncate(page.trim_end().len());
    page.push('\n');
    page
}

/// The objects of the schema's `definitions`, property by property.
fn objects(page: &mut String, schema: &Value, intro: &str) {
    let definitions = object(schema, "definitions");
    if !definitions.is_empty() {
        let _ = write!(page, "## Objects\n\n{intro}\n\n");
        for (name, definition) in &definitions {
            let _ = writeln!(page, "### {name}\n\n{}\n", description(definition));
            let required = strings(&definition["required"]);
            for (property_name, property) in &object(definition, "properties") {
                describe(
                    page,
                    "####",
                    property_name,
                    property,
                    &[("Required", yes_no(required.contains(property_name)))],
                );
            }
        }
    }
}

/// The schema's `typeConfiguration`, property by property, under `heading`.
fn configuration(page: &mut String, schema: &Value, heading: &str) {
    if let Some(configuration) = schema.get("typeConfiguration") {
        page.push_str(heading);
        let required = strings(&configuration["required"]);
        for (name, property) in &object(configuration, "properties") {
            describe(page, "###", name, property, &[("Required", yes_no(required.contains(name)))]);
        }
    }
}

/// One property: its description, then its type, constraints and `facts`.
fn describe(page: &mut String, heading: &str, name: &str, property: &Value, facts: &[(&str, String)]) {
    let _ = writeln!(page, "{heading} {name}\n\n{}\n", description(property));
    let mut lines: Vec<(&str, String)> = facts[..1].to_vec();
    lines.push(("Type", type_text(property)));
    lines.extend(constraints(property));
    lines.extend(facts[1..].iter().cloned());
    for (label, value) in lines {
        let _ = writeln!(page, "_{label}_: {value}\n");
    }
}

fn constraints(property: &Value) -> Vec<(&'static str, String)> {
    let node = if property["type"] == "array" { &property["items"] } else { property };
    let mut found = Vec::new();
    if let Some(values) = node["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("<code>{}</code>", plain(v))).collect();
        found.push(("Allowed values", values.join(" | ")));
    }
    if let Some(pattern) = node["pattern"].as_str() {
        found.push(("Pattern", format!("<code>{}</code>", escape(pattern))));
    }
    for (key, label) in [
        ("minLength", "Minimum length"),
        ("maxLength", "Maximum length"),
        ("minimum", "Minimum"),
        ("maximum", "Maximum"),
    ] {
        if let Some(value) = node.get(key) {
            found.push((label, value.to_string()));
        }
    }
    for (key, label) in [("minItems", "Minimum items"), ("maxItems", "Maximum items")] {
        if let Some(value) = property.get(key) {
            found.push((label, value.to_string()));
        }
    }
    if property["type"] == "array" && property["insertionOrder"] == false {
        found.push(("Order", "not significant".to_owned()));
    }
    found
}

/// The type as the page names it: `String`, `List of Policy`, `Map of String`.
fn type_text(property: &Value) -> String {
    if let Some(name) = reference(property) {
        return name.to_owned();
    }
    match property["type"].as_str() {
        Some("array") => format!("List of {}", type_text(&property["items"])),
        Some("object") => match property.get("additionalProperties").filter(|a| a.is_object()) {
            Some(values) => format!("Map of {}", type_text(values)),
            None => "Object".to_owned(),
        },
        Some(kind) => capitalised(kind),
        None => match property["type"].as_array() {
            Some(kinds) => kinds.iter().filter_map(Value::as_str).map(capitalised).collect::<Vec<_>>().join(" or "),
            None => "Object".to_owned(),
        },
    }
}

fn json_shape(property: &Value) -> String {
    match property["type"].as_str() {
        Some("array") => format!("[ {}, ... ]", json_shape(&property["items"])),
        _ => type_text(property),
    }
}

/// What follows a property's name and colon in the YAML syntax: ` String`, or a list's item
/// on the next line.
fn yaml_shape(property: &Value, indent: &str) -> String {
    match property["type"].as_str() {
        Some("array") => format!("\n{indent}  -{}", yaml_shape(&property["items"], &format!("{indent}  "))),
        _ => format!(" {}", type_text(property)),
    }
}

/// The definition a `$ref` names, if the property is one.
fn reference(property: &Value) -> Option<&str> {
    property["$ref"].as_str().and_then(|r| r.strip_prefix("#/definitions/"))
}

/// The property itself, or the definition it refers to.
fn resolved<'a>(schema: &'a Value, property: &'a Value) -> &'a Value {
    match reference(property) {
        Some(name) => &schema["definitions"][name],
        None => property,
    }
}

fn description(property: &Value) -> String {
    property["description"].as_str().unwrap_or("(No description in the schema.)").to_owned()
}

fn object(value: &Value, key: &str) -> Map<String, Value> {
    value[key].as_object().cloned().unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn plain(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

fn yes_no(flag: bool) -> String {
    if flag { "Yes" } else { "No" }.to_owned()
}

fn capitalised(kind: &str) -> String {
    let mut chars = kind.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_uppercase().to_string() + chars.as_str())
}

/// Text safe inside `<code>` in Markdown: `|` would split a table, `<` open a tag.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('|', "&#124;")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_page_says_what_each_property_is_and_what_the_type_returns() {
        let schema = json!({
            "typeName": "Demo::Door::Lock",
            "description": "A lock.",
            "properties": {
                "Name": {"type": "string", "description": "The name.", "pattern": "^[a-z|]+$"},
                "Codes": {"type": "array", "insertionOrder": false, "items": {"$ref": "#/definitions/Code"}},
                "Kind": {"type": "string", "enum": ["pin", "key"]},
                "Secret": {"type": "string"},
                "Arn": {"type": "string", "description": "The ARN."}
            },
            "definitions": {"Code": {"type": "object", "description": "A code.", "properties": {"Digits": {"type": "integer", "minimum": 0}}, "required": ["Digits"]}},
            "required": ["Name"],
            "readOnlyProperties": ["/properties/Arn"],
            "createOnlyProperties": ["/properties/Name"],
            "writeOnlyProperties": ["/properties/Secret"],
            "primaryIdentifier": ["/properties/Name"],
            "typeConfiguration": {"properties": {"Limit": {"type": "integer", "description": "The limit."}}}
        });
        let page = markdown(&schema);
        for expected in [
            "# Demo::Door::Lock\n\nA lock.",
            "\"Codes\" : [ Code, ... ]",
            "    Codes:\n      - Code",
            "#### Name\n\nThe name.\n\n_Required_: Yes\n\n_Type_: String\n\n_Pattern_: <code>^[a-z&#124;]+$</code>\n\n_Update requires_: [Replacement]",
            "_Type_: List of Code",
            "_Order_: not significant",
            "_Allowed values_: <code>pin</code> | <code>key</code>",
            "_Write-only_: Yes",
            "#### Kind",
            "Ref returns the Name.",
            "#### Arn\n\nThe ARN.",
            "### Code\n\nA code.",
            "#### Digits",
            "_Minimum_: 0",
            "## Type configuration",
            "### Limit\n\nThe limit.",
        ] {
            assert!(page.contains(expected), "no {expected:?} in:\n{page}");
        }
        assert!(!page.contains("\"Arn\" :"), "read-only properties are no input: {page}");
        assert!(page.contains("[No interruption]"), "{page}");
    }

    #[test]
    fn a_hook_page_says_how_it_is_enabled_what_it_checks_and_its_configuration() {
        let schema = json!({
            "typeName": "Demo::Guard::Hook",
            "description": "Guards buckets.",
            "typeConfiguration": {"properties": {"Mode": {"$ref": "#/definitions/Mode", "description": "How strict."}}},
            "definitions": {"Mode": {"type": "string", "enum": ["strict", "lax"], "description": "A mode."}},
            "handlers": {
                "preCreate": {"targetNames": ["AWS::S3::Bucket", "AWS::SQS::Queue"], "permissions": []},
                "preUpdate": {"targetNames": ["AWS::S3::*"], "permissions": ["s3:GetBucketPolicy"]}
            }
        });
        let page = hook_markdown(&schema);
        for expected in [
            "# Demo::Guard::Hook\n\nGuards buckets.",
            "\"HookInvocationStatus\": \"ENABLED\"",
            "| preCreate | `AWS::S3::Bucket`, `AWS::SQS::Queue` | none |",
            "| preUpdate | `AWS::S3::*` | `s3:GetBucketPolicy` |",
            "## Configuration",
            "### Mode\n\nHow strict.",
            "### Mode\n\nA mode.",
        ] {
            assert!(page.contains(expected), "missing {expected:?} in:\n{page}");
        }
    }
}
