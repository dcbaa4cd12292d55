//! Golden tests: one per rewrite rule, then whole schemas.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::Empty;
use crate::resource::{HandlerSpec, Handlers, Metadata, Tagging};

fn applied(rule: fn(&mut Value), mut input: Value) -> Value {
    visit(&mut input, &mut |schema| rule(schema));
    input
}

#[test]
fn hoists_defs_and_rewrites_references() {
    let input = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Model",
        "properties": {"A": {"$ref": "#/$defs/Tag"}},
        "$defs": {"Tag": {"type": "object", "properties": {"B": {"$ref": "#/$defs/Other"}}}, "Other": {"type": "string"}}
    });
    assert_eq!(
        hoist_definitions(input),
        json!({
            "properties": {"A": {"$ref": "#/definitions/Tag"}},
            "definitions": {"Tag": {"type": "object", "properties": {"B": {"$ref": "#/definitions/Other"}}}, "Other": {"type": "string"}}
        })
    );
}

#[test]
fn drops_null_types_enums_defaults_and_alternatives() {
    let input = json!({"properties": {
        "A": {"type": ["integer", "null"], "format": "int64"},
        "B": {"anyOf": [{"$ref": "#/definitions/X"}, {"type": "null"}], "description": "d"},
        "C": {"type": "string", "enum": ["x", null], "default": null}
    }});
    assert_eq!(
        applied(drop_null, input),
        json!({"properties": {
            "A": {"type": "integer", "format": "int64"},
            "B": {"$ref": "#/definitions/X", "description": "d"},
            "C": {"type": "string", "enum": ["x"]}
        }})
    );
}

#[test]
fn unconstrained_values_are_free_form_objects() {
    let input = json!({"properties": {
        "Doc": true,
        "Documented": {"description": "d"},
        "Map": {"type": "object", "additionalProperties": true}
    }});
    assert_eq!(
        applied(free_form, input),
        json!({"properties": {
            "Doc": {"type": "object"},
            "Documented": {"description": "d", "type": "object"},
            "Map": {"type": "object"}
        }})
    );
}

#[test]
fn structured_objects_are_closed_and_free_form_ones_stay_open() {
    let input = json!({"properties": {"S": {"type": "object", "properties": {"X": {"type": "string"}}}, "F": {"type": "object"}}});
    assert_eq!(
        applied(close_objects, input),
        json!({"additionalProperties": false, "properties": {
            "S": {"type": "object", "properties": {"X": {"type": "string"}}, "additionalProperties": false},
            "F": {"type": "object"}
        }})
    );
}

#[test]
fn documented_variants_and_consts_become_typed_enums() {
    let input = json!({"properties": {
        "Kind": {"oneOf": [{"const": "network", "description": "n"}, {"const": "gateway", "description": "g"}]},
        "One": {"const": 3},
        "Untyped": {"enum": [true, false]}
    }});
    assert_eq!(
        applied(enums_with_type, input),
        json!({"properties": {
            "Kind": {"type": "string", "enum": ["network", "gateway"]},
            "One": {"type": "integer", "enum": [3]},
            "Untyped": {"type": "boolean", "enum": [true, false]}
        }})
    );
}

#[test]
fn patterns_become_ascii_classes() {
    let mut schema = json!({"pattern": r"^\d{12}$"});
    ascii_patterns(&mut schema).expect("anchored");
    assert_eq!(schema, json!({"pattern": "^[0-9]{12}$"}));
    let mut schema = json!({"pattern": r"^[\w+=,.@-]{1,64}\\d$"});
    ascii_patterns(&mut schema).expect("anchored");
    assert_eq!(schema, json!({"pattern": r"^[A-Za-z0-9_+=,.@-]{1,64}\\d$"}), "an escaped backslash stays");
}

#[test]
fn unanchored_patterns_are_refused_with_the_fix() {
    for pattern in ["[a-z]+", "^[a-z]+", "[a-z]+$", r"^[a-z]+\$"] {
        let error = ascii_patterns(&mut json!({ "pattern": pattern })).expect_err(pattern);
        assert!(error.to_string().contains("start it with ^ and end it with $"), "{error}");
    }
}

#[test]
fn numeric_formats_and_access_keywords_are_dropped() {
    let input = json!({"properties": {"N": {"type": "integer", "format": "uint32", "title": "t"}, "D": {"type": "string", "format": "date-time"}}});
    assert_eq!(
        applied(drop_keywords, input),
        json!({"properties": {"N": {"type": "integer"}, "D": {"type": "string", "format": "date-time"}}})
    );
}

#[test]
fn a_top_level_choice_becomes_one_of_required_lists() {
    let mut root = json!({
        "type": "object",
        "properties": {"Name": {"type": "string"}},
        "oneOf": [
            {"type": "object", "properties": {"A": {"type": "string"}}, "required": ["A"]},
            {"type": "object", "properties": {"B": {"type": "integer"}}, "required": ["B"]}
        ]
    });
    exclusive_choices(&mut root);
    assert_eq!(
        root,
        json!({
            "type": "object",
            "properties": {"Name": {"type": "string"}, "A": {"type": "string"}, "B": {"type": "integer"}},
            "oneOf": [{"required": ["A"]}, {"required": ["B"]}]
        })
    );
}

#[test]
fn arrays_behind_a_reference_are_inlined() {
    let mut root = json!({
        "properties": {"Tags": {"$ref": "#/definitions/Tags", "insertionOrder": false}},
        "definitions": {
            "Tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
            "Tag": {"type": "object", "properties": {"Key": {"type": "string"}}},
            "Unused": {"type": "string"}
        }
    });
    inline_arrays(&mut root);
    assert_eq!(
        root,
        json!({
            "properties": {"Tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}, "insertionOrder": false}},
            "definitions": {"Tag": {"type": "object", "properties": {"Key": {"type": "string"}}}}
        })
    );
}

#[test]
fn typed_maps_are_refused() {
    let error = rewrite(json!({"properties": {"M": {"type": "object", "additionalProperties": {"type": "string"}}}}))
        .expect_err("refused");
    assert!(error.to_string().contains("list of key/value items"), "{error}");
}

/// A model exercising every rule through schemars itself.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Widget {
    /// The widget's name.
    #[schemars(regex(pattern = r"^[\w-]{1,64}$"))]
    name: Option<String>,
    size: u32,
    #[schemars(extend("insertionOrder" = false))]
    tags: Option<Vec<Tag>>,
    document: Option<serde_json::Value>,
    kind: Option<Kind>,
    #[schemars(extend("readOnly" = true))]
    id: Option<String>,
    #[serde(flatten)]
    source: Source,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Tag {
    key: String,
    value: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Kind {
    /// Small.
    Small,
    /// Large.
    Large,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
enum Source {
    Url(String),
    Bucket(String),
}

fn widget_metadata() -> Metadata {
    Metadata {
        additional_identifiers: &[&["/properties/Name"]],
        read_only: &["/properties/Id"],
        create_only: &["/properties/Name"],
        handlers: Handlers {
            create: HandlerSpec { permissions: &["demo:Create"], timeout_in_minutes: Some(30) },
            ..Handlers::default()
        },
        tagging: Tagging::full(&["demo:Tag"]),
        ..Metadata::new("Demo", "Widget", "A widget.", &["/properties/Id"])
    }
}

#[test]
fn a_whole_model_in_the_registry_dialect() {
    let schema = registry_schema::<Widget, Empty>(&widget_metadata(), "Rpdk").expect("emits");
    let expected: Value = serde_json::from_str(include_str!("golden/widget.json")).expect("golden parses");
    assert_eq!(schema, expected, "got:\n{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
}

#[test]
fn pointers_must_name_declared_properties() {
    let metadata = Metadata { create_only: &["/properties/Nope"], ..widget_metadata() };
    let error = registry_schema::<Widget, Empty>(&metadata, "Rpdk").expect_err("refused");
    assert!(error.to_string().contains("createOnlyProperties names '/properties/Nope'"), "{error}");
}

#[test]
fn timeouts_must_be_in_the_registry_range() {
    let mut metadata = widget_metadata();
    metadata.handlers.read.timeout_in_minutes = Some(1);
    let error = registry_schema::<Widget, Empty>(&metadata, "Rpdk").expect_err("refused");
    assert!(error.to_string().contains("handlers.read.timeoutInMinutes is 1"), "{error}");
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Config {
    /// Accounts that may be named.
    allowed_accounts: Option<Vec<String>>,
}

#[test]
fn type_configuration_refers_to_top_level_definitions() {
    let schema = registry_schema::<Widget, Config>(&widget_metadata(), "Acme").expect("emits");
    assert_eq!(schema["typeName"], "Acme::Demo::Widget");
    assert_eq!(
        schema["typeConfiguration"],
        json!({
            "properties": {"AllowedAccounts": {"description": "Accounts that may be named.", "type": "array", "items": {"type": "string"}}},
            "additionalProperties": false
        })
    );
}

#[test]
fn list_input_becomes_the_list_handler_schema() {
    let metadata = Metadata { list_input: &["/properties/Name"], ..widget_metadata() };
    let schema = registry_schema::<Widget, Empty>(&metadata, "Rpdk").expect("emits");
    assert_eq!(
        schema["handlers"]["list"]["handlerSchema"],
        json!({"properties": {"Name": {"$ref": "resource-schema.json#/properties/Name"}}, "required": ["Name"]})
    );
    let unknown = Metadata { list_input: &["/properties/Parent"], ..widget_metadata() };
    let error = registry_schema::<Widget, Empty>(&unknown, "Rpdk").expect_err("refused");
    assert!(error.to_string().contains("handlers.list.handlerSchema names '/properties/Parent'"), "{error}");
}
