//! Schema emission: the Rust model plus its [`Metadata`] become a registry resource schema.
//!
//! schemars writes JSON Schema 2020-12; the registry reads a restricted draft-07 dialect
//! (`provider.definition.schema.v1.json`). Each difference is one rewrite rule below, applied
//! to every subschema, with a golden test of its own:
//!
//! - [`hoist_definitions`]: `$defs` become top-level `definitions`; `$schema`, `$id`, `title` go;
//! - [`drop_null`]: `Option` is absence, never `null` (`type: [T, "null"]`, `anyOf [T, null]`);
//! - [`free_form`]: an unconstrained value (`serde_json::Value`) is a free-form JSON object, and
//!   an object without `properties` takes any keys (an IAM policy document);
//! - [`close_objects`]: every object that declares properties gets `additionalProperties: false`;
//! - [`exclusive_choices`]: a flattened enum at the top becomes `oneOf` of `required` lists with
//!   every alternative's properties declared at the top;
//! - [`enums_with_type`]: `const` and documented variants (`oneOf` of `const`) become a typed `enum`;
//! - [`ascii_patterns`]: `\d`, `\w`, `\s` become explicit ASCII classes; unanchored patterns are
//!   refused;
//! - [`inline_arrays`]: arrays behind a `$ref` are declared inline (the contract tests lose
//!   `insertionOrder` across a `$ref`);
//! - [`drop_keywords`]: `readOnly`/`writeOnly` become the schema's property lists; numeric
//!   `format`s that JSON Schema does not define are dropped.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::resource::{Metadata, ReplacementStrategy};
use crate::wire::Action;

/// Why a type's schema cannot be emitted. The message names the place and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(String);

impl SchemaError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The registry's limit on a whole schema.
pub const MAX_SCHEMA_BYTES: usize = 60 * 1024;

/// The registry schema of a model type with its metadata under `namespace`, with type
/// configuration schema `C` (a type without one passes [`crate::Empty`]).
pub fn registry_schema<M: JsonSchema, C: JsonSchema>(
    metadata: &Metadata,
    namespace: &str,
) -> Result<Value, SchemaError> {
    let mut model = rewrite(schemars_output::<M>())?;
    let mut definitions = take_object(&mut model, "definitions");
    let mut collected = Collected::default();
    collect_access_keywords(&mut model, &mut collected);

    let mut schema = Map::new();
    schema.insert("typeName".into(), json!(metadata.type_name(namespace)));
    schema.insert("description".into(), json!(metadata.description));
    if let Some(url) = metadata.source_url {
        schema.insert("sourceUrl".into(), json!(url));
    }

    let type_configuration = type_configuration_schema::<C>(&mut definitions)?;
    if !definitions.is_empty() {
        schema.insert("definitions".into(), Value::Object(definitions));
    }
    schema.insert("properties".into(), model.get("properties").cloned().unwrap_or_else(|| json!({})));
    if let Some(one_of) = model.get("oneOf") {
        schema.insert("oneOf".into(), one_of.clone());
    }
    if let Some(required) = model.get("required").filter(|r| r.as_array().is_some_and(|r| !r.is_empty())) {
        schema.insert("required".into(), required.clone());
    }

    let read_only = union(metadata.read_only, &collected.read_only);
    let write_only = union(metadata.write_only, &collected.write_only);
    for (key, list) in [
        ("readOnlyProperties", read_only),
        ("writeOnlyProperties", write_only),
        ("createOnlyProperties", metadata.create_only.iter().map(|p| (*p).to_owned()).collect()),
    ] {
        if !list.is_empty() {
            schema.insert(key.into(), json!(list));
        }
    }
    schema.insert("primaryIdentifier".into(), json!(metadata.primary_identifier));
    if !metadata.additional_identifiers.is_empty() {
        schema.insert("additionalIdentifiers".into(), json!(metadata.additional_identifiers));
    }
    schema.insert("handlers".into(), handlers_section(metadata));
    schema.insert("tagging".into(), tagging_section(metadata));
    if let Some(strategy) = metadata.replacement_strategy {
        let name = match strategy {
            ReplacementStrategy::CreateThenDelete => "create_then_delete",
            ReplacementStrategy::DeleteThenCreate => "delete_then_create",
        };
        schema.insert("replacementStrategy".into(), json!(name));
    }
    if let Some(config) = type_configuration {
        schema.insert("typeConfiguration".into(), config);
    }
    schema.insert("additionalProperties".into(), json!(false));

    let schema = Value::Object(schema);
    check(&schema, metadata)?;
    Ok(schema)
}

/// The raw schemars output for `T`, before any rewrite.
pub fn schemars_output<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12().for_deserialize().into_generator().into_root_schema_for::<T>().to_value()
}

/// Applies every rewrite rule to a schemars root schema.
pub fn rewrite(root: Value) -> Result<Value, SchemaError> {
    let mut root = hoist_definitions(root);
    visit(&mut root, &mut drop_null);
    visit(&mut root, &mut free_form);
    visit(&mut root, &mut enums_with_type);
    visit(&mut root, &mut drop_keywords);
    exclusive_choices(&mut root);
    inline_arrays(&mut root);
    visit(&mut root, &mut close_objects);
    let mut fault = None;
    visit(&mut root, &mut |schema| {
        if let Err(error) = ascii_patterns(schema).and_then(|()| refuse_typed_map(schema)) {
            fault.get_or_insert(error);
        }
    });
    match fault {
        Some(error) => Err(error),
        None => Ok(root),
    }
}

/// Calls `rule` on every subschema of `schema`, parents before children.
pub fn visit(schema: &mut Value, rule: &mut dyn FnMut(&mut Value)) {
    rule(schema);
    let Value::Object(map) = schema else { return };
    for key in ["properties", "patternProperties", "definitions", "$defs"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            for child in children.values_mut() {
                visit(child, rule);
            }
        }
    }
    for key in ["items", "additionalProperties", "not", "contains"] {
        if let Some(child @ Value::Object(_)) = map.get_mut(key) {
            visit(child, rule);
        }
    }
    for key in ["oneOf", "anyOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            for child in children {
                visit(child, rule);
            }
        }
    }
}

/// Rule: `$defs` (or `definitions`) move to the top as `definitions`; references follow.
pub fn hoist_definitions(mut root: Value) -> Value {
    if let Value::Object(map) = &mut root {
        for key in ["$schema", "$id", "title"] {
            map.remove(key);
        }
        if let Some(defs) = map.remove("$defs") {
            map.insert("definitions".into(), defs);
        }
    }
    visit(&mut root, &mut |schema| {
        if let Some(Value::String(reference)) = schema.get_mut("$ref")
            && let Some(name) = reference.strip_prefix("#/$defs/")
        {
            *reference = format!("#/definitions/{name}");
        }
    });
    root
}

/// Rule: `null` is never a value; an `Option` is expressed by leaving the property out.
pub fn drop_null(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let single = types.remove(0);
            map.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if map.get("default").is_some_and(Value::is_null) {
        map.remove("default");
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(alternatives)) = map.get_mut(key) else { continue };
        alternatives.retain(|alt| alt.get("type") != Some(&json!("null")) && alt.get("const") != Some(&Value::Null));
        if alternatives.len() == 1 {
            let Some(Value::Object(only)) = alternatives.pop() else { continue };
            map.remove(key);
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        }
    }
}

/// Rule: an unconstrained value is a free-form JSON object, and an object without declared
/// properties takes any keys.
pub fn free_form(schema: &mut Value) {
    if *schema == Value::Bool(true) {
        *schema = json!({"type": "object"});
        return;
    }
    let Value::Object(map) = schema else { return };
    // Only annotations (a documented `serde_json::Value`): nothing constrains the value.
    if map.keys().all(|k| matches!(k.as_str(), "description" | "default" | "examples" | "title")) {
        map.insert("type".into(), json!("object"));
    }
    if map.get("additionalProperties") == Some(&Value::Bool(true)) {
        map.remove("additionalProperties");
    }
}

/// Rule: every object that declares `properties` or `patternProperties` is closed.
pub fn close_objects(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if map.contains_key("properties") || map.contains_key("patternProperties") {
        map.insert("additionalProperties".into(), json!(false));
    }
}

/// Rule: documented enum variants (`oneOf` of `const`) and lone `const`s become an `enum`, and
/// every `enum` states its `type`.
pub fn enums_with_type(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::Array(alternatives)) = map.get("oneOf") {
        let consts: Option<Vec<Value>> = alternatives
            .iter()
            .map(|alt| alt.get("const").or_else(|| alt.get("enum").and_then(|e| e.get(0))).cloned())
            .collect();
        if let Some(values) = consts {
            map.remove("oneOf");
            map.insert("enum".into(), Value::Array(values));
        }
    }
    if let Some(value) = map.remove("const") {
        map.insert("enum".into(), json!([value]));
    }
    if let Some(Value::Array(values)) = map.get("enum")
        && !map.contains_key("type")
    {
        let types: BTreeSet<&str> = values.iter().map(json_type).collect();
        if types.len() == 1 {
            let only = types.into_iter().next().unwrap_or("string");
            map.insert("type".into(), json!(only));
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Rule: patterns are anchored and ASCII: `\d`, `\w` and `\s` mean ASCII in ECMA-262 but
/// Unicode in Rust's and Python's engines, so they become explicit classes.
pub fn ascii_patterns(schema: &mut Value) -> Result<(), SchemaError> {
    let Some(Value::String(pattern)) = schema.get_mut("pattern") else { return Ok(()) };
    if !pattern.starts_with('^') || !pattern.ends_with('$') || pattern.ends_with("\\$") {
        return Err(SchemaError(format!(
            "pattern '{pattern}' is not anchored: start it with ^ and end it with $ so the whole value must match"
        )));
    }
    *pattern = explicit_classes(pattern);
    Ok(())
}

fn explicit_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let class = match next {
                    'd' => Some("0-9"),
                    'w' => Some("A-Za-z0-9_"),
                    's' => Some(" \\t\\n\\r\\f\\v"),
                    _ => None,
                };
                match (class, in_class) {
                    (Some(class), true) => out.push_str(class),
                    (Some(class), false) => {
                        out.push('[');
                        out.push_str(class);
                        out.push(']');
                    }
                    (None, _) => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Rule: keywords the registry refuses are dropped (`readOnly`/`writeOnly` are collected into
/// the property lists first, see [`registry_schema`]); numeric formats JSON Schema does not
/// define are dropped.
pub fn drop_keywords(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    for key in ["$schema", "$id", "title", "contentEncoding", "contentMediaType", "deprecated"] {
        map.remove(key);
    }
    let numeric_format = map.get("format").and_then(Value::as_str).is_some_and(|f| {
        matches!(
            f,
            "int"
                | "int8"
                | "int16"
                | "int32"
                | "int64"
                | "uint"
                | "uint8"
                | "uint16"
                | "uint32"
                | "uint64"
                | "float"
                | "double"
        )
    });
    if numeric_format {
        map.remove("format");
    }
}

/// Rule: a flattened enum at the top level (schemars writes its variants as `oneOf`/`anyOf`
/// alternatives with their own properties) becomes properties declared at the top plus a
/// `oneOf` that only says which ones are required together.
pub fn exclusive_choices(root: &mut Value) {
    let Value::Object(map) = root else { return };
    let key = if map.contains_key("oneOf") { "oneOf" } else { "anyOf" };
    let Some(Value::Array(alternatives)) = map.get(key) else { return };
    if !alternatives.iter().all(|alt| alt.get("properties").is_some()) {
        return;
    }
    let alternatives = alternatives.clone();
    map.remove(key);
    let mut one_of = Vec::new();
    for alternative in alternatives {
        if let Some(Value::Object(properties)) = alternative.get("properties") {
            let top = map.entry("properties").or_insert_with(|| json!({}));
            if let Value::Object(top) = top {
                for (name, property) in properties {
                    top.entry(name.clone()).or_insert_with(|| property.clone());
                }
            }
        }
        let required = alternative.get("required").cloned().unwrap_or_else(|| json!([]));
        one_of.push(json!({ "required": required }));
    }
    map.insert("oneOf".into(), Value::Array(one_of));
}

/// Rule: arrays referenced through `$ref` are declared inline, keeping the referring schema's
/// own keywords (`insertionOrder`, `description`); definitions no longer referenced go.
pub fn inline_arrays(root: &mut Value) {
    let definitions = root.get("definitions").cloned().unwrap_or_default();
    visit(root, &mut |schema| {
        let Some(Value::String(reference)) = schema.get("$ref") else { return };
        let Some(name) = reference.strip_prefix("#/definitions/") else { return };
        let Some(target) = definitions.get(name).filter(|t| t.get("type") == Some(&json!("array"))) else { return };
        let Value::Object(map) = schema else { return };
        map.remove("$ref");
        if let Value::Object(target) = target {
            for (k, v) in target {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    });
    prune_definitions(root);
}

fn prune_definitions(root: &mut Value) {
    let mut used = BTreeSet::new();
    let mut body = root.clone();
    if let Value::Object(map) = &mut body {
        map.remove("definitions");
    }
    collect_refs(&body, &mut used);
    // Definitions may refer to each other: follow references until nothing new appears.
    let definitions = root.get("definitions").cloned().unwrap_or_default();
    let mut frontier: Vec<String> = used.iter().cloned().collect();
    while let Some(name) = frontier.pop() {
        let mut found = BTreeSet::new();
        if let Some(def) = definitions.get(&name) {
            collect_refs(def, &mut found);
        }
        for name in found {
            if used.insert(name.clone()) {
                frontier.push(name);
            }
        }
    }
    if let Some(Value::Object(defs)) = root.get_mut("definitions") {
        defs.retain(|name, _| used.contains(name));
        if defs.is_empty()
            && let Value::Object(map) = root
        {
            map.remove("definitions");
        }
    }
}

fn collect_refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/")) {
                found.insert(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}

/// Typed maps (`BTreeMap<String, T>`) have no faithful registry form.
fn refuse_typed_map(schema: &Value) -> Result<(), SchemaError> {
    if schema.get("properties").is_none() && schema.get("additionalProperties").is_some_and(Value::is_object) {
        return Err(SchemaError(format!(
            "a map with typed values ({schema}) has no registry form: use a list of key/value items, or serde_json::Value for a free-form document"
        )));
    }
    Ok(())
}

#[derive(Default)]
struct Collected {
    read_only: Vec<String>,
    write_only: Vec<String>,
}

fn collect_access_keywords(model: &mut Value, collected: &mut Collected) {
    let Some(Value::Object(properties)) = model.get_mut("properties") else { return };
    for (name, property) in properties {
        let Value::Object(property) = property else { continue };
        if property.remove("readOnly") == Some(Value::Bool(true)) {
            collected.read_only.push(format!("/properties/{name}"));
        }
        if property.remove("writeOnly") == Some(Value::Bool(true)) {
            collected.write_only.push(format!("/properties/{name}"));
        }
    }
    visit(model, &mut |schema| {
        if let Value::Object(map) = schema {
            map.remove("readOnly");
            map.remove("writeOnly");
        }
    });
}

fn union(declared: &[&str], collected: &[String]) -> Vec<String> {
    let mut all: Vec<String> = declared.iter().map(|p| (*p).to_owned()).collect();
    for pointer in collected {
        if !all.contains(pointer) {
            all.push(pointer.clone());
        }
    }
    all
}

fn take_object(value: &mut Value, key: &str) -> Map<String, Value> {
    match value.as_object_mut().and_then(|m| m.remove(key)) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

pub(crate) fn type_configuration_schema<C: JsonSchema>(
    definitions: &mut Map<String, Value>,
) -> Result<Option<Value>, SchemaError> {
    let mut config = rewrite(schemars_output::<C>())?;
    for (name, definition) in take_object(&mut config, "definitions") {
        match definitions.get(&name) {
            Some(existing) if *existing != definition => {
                return Err(SchemaError(format!(
                    "definition '{name}' differs between the model and the type configuration: rename one of the types"
                )));
            }
            _ => {
                definitions.insert(name, definition);
            }
        }
    }
    let has_properties = config.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
    if !has_properties {
        return Ok(None);
    }
    let mut section = Map::new();
    for key in ["description", "properties", "required"] {
        if let Some(value) = config.get(key) {
            section.insert(key.into(), value.clone());
        }
    }
    section.insert("additionalProperties".into(), json!(false));
    Ok(Some(Value::Object(section)))
}

fn handlers_section(metadata: &Metadata) -> Value {
    let mut handlers = Map::new();
    for action in [Action::Create, Action::Read, Action::Update, Action::Delete, Action::List] {
        let spec = metadata.handlers.get(action);
        let mut entry = Map::new();
        entry.insert("permissions".into(), json!(spec.permissions));
        if let Some(minutes) = spec.timeout_in_minutes {
            entry.insert("timeoutInMinutes".into(), json!(minutes));
        }
        if action == Action::List && !metadata.list_input.is_empty() {
            let names: Vec<&str> = metadata.list_input.iter().map(|pointer| property_name(pointer)).collect();
            let properties: Map<String, Value> = names
                .iter()
                .map(|name| ((*name).to_owned(), json!({"$ref": format!("resource-schema.json#/properties/{name}")})))
                .collect();
            entry.insert("handlerSchema".into(), json!({"properties": properties, "required": names}));
        }
        handlers.insert(action.handler_key().into(), Value::Object(entry));
    }
    Value::Object(handlers)
}

/// `Name` of `/properties/Name`.
fn property_name(pointer: &str) -> &str {
    pointer.strip_prefix("/properties/").unwrap_or(pointer)
}

fn tagging_section(metadata: &Metadata) -> Value {
    let tagging = &metadata.tagging;
    if !tagging.taggable {
        return json!({ "taggable": false });
    }
    let mut section = json!({
        "taggable": true,
        "tagOnCreate": tagging.tag_on_create,
        "tagUpdatable": tagging.tag_updatable,
        "cloudFormationSystemTags": tagging.cloudformation_system_tags,
        "tagProperty": tagging.tag_property,
    });
    if !tagging.permissions.is_empty() {
        section["permissions"] = json!(tagging.permissions);
    }
    section
}

/// Checks what the meta-schema cannot: that every pointer names a declared property, that
/// timeouts are in range, and the size limit.
fn check(schema: &Value, metadata: &Metadata) -> Result<(), SchemaError> {
    let properties = schema.get("properties").and_then(Value::as_object);
    let declared = |pointer: &str| {
        pointer
            .strip_prefix("/properties/")
            .and_then(|path| path.split('/').next())
            .is_some_and(|name| properties.is_some_and(|p| p.contains_key(name)))
    };
    let lists: [(&str, Vec<&str>); 6] = [
        ("primaryIdentifier", metadata.primary_identifier.to_vec()),
        ("handlers.list.handlerSchema", metadata.list_input.to_vec()),
        ("additionalIdentifiers", metadata.additional_identifiers.iter().flat_map(|set| set.iter().copied()).collect()),
        ("readOnlyProperties", metadata.read_only.to_vec()),
        ("writeOnlyProperties", metadata.write_only.to_vec()),
        ("createOnlyProperties", metadata.create_only.to_vec()),
    ];
    for (list, pointers) in lists {
        if let Some(bad) = pointers.into_iter().find(|p| !declared(p)) {
            return Err(SchemaError(format!(
                "{list} names '{bad}', which is not a property of the model: write /properties/<Name> with a declared name"
            )));
        }
    }
    if metadata.primary_identifier.is_empty() {
        return Err(SchemaError("primaryIdentifier is empty: name the properties that identify a resource".into()));
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            let pointer = format!("/properties/{name}");
            if metadata.read_only.contains(&pointer.as_str()) {
                return Err(SchemaError(format!(
                    "{pointer} is read-only and required: make the field an Option, since templates cannot set it"
                )));
            }
        }
    }
    for action in [Action::Create, Action::Read, Action::Update, Action::Delete, Action::List] {
        if let Some(minutes) = metadata.handlers.get(action).timeout_in_minutes
            && !(2..=2160).contains(&minutes)
        {
            return Err(SchemaError(format!(
                "handlers.{}.timeoutInMinutes is {minutes}: the registry accepts 2 to 2160",
                action.handler_key()
            )));
        }
    }
    let size = serde_json::to_vec(schema).map_or(0, |bytes| bytes.len());
    if size > MAX_SCHEMA_BYTES {
        return Err(SchemaError(format!(
            "the schema is {size} bytes; the registry accepts at most {MAX_SCHEMA_BYTES}: shorten descriptions"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
