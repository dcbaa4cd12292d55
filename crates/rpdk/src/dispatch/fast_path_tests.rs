//! The fast paths held to the authoritative ones, on generated models: the decode straight from
//! text accepts only what the JSON-value path (recast, `jsonschema`, decode) accepts, and
//! decodes the same model; the encode straight to text writes what the value path (to a
//! value, write-only properties removed, nulls removed) writes. `RPDK_PROPERTY_CASES` sets
//! the cases per property (512 by default).

use proptest::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::resource::{Empty, ListPage};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Rich {
    #[schemars(regex(pattern = r"^[a-z0-9-]{1,16}$"))]
    name: String,
    #[schemars(range(min = 1, max = 100))]
    count: Option<i64>,
    ratio: Option<f64>,
    enabled: Option<bool>,
    #[schemars(length(min = 1, max = 8))]
    label: Option<String>,
    mode: Option<Mode>,
    #[schemars(length(max = 3))]
    tags: Option<Vec<RichTag>>,
    document: Option<serde_json::Map<String, Value>>,
    secret: Option<String>,
    nested: Option<Inner>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Mode {
    Fast,
    Slow,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct RichTag {
    #[schemars(length(min = 1, max = 4))]
    key: String,
    value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Inner {
    port: i64,
    primary: Option<bool>,
    hidden: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RichName {
    name: String,
}

/// Never called: the properties exercise decoding and encoding alone.
struct Riches;

impl ResourceHandler for Riches {
    type Model = Rich;
    type Identifier = RichName;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> Metadata {
        Metadata {
            write_only: &["/properties/Secret", "/properties/Nested/Hidden"],
            ..Metadata::new("Demo", "Rich", "A model of every kind of property.", &["/properties/Name"])
        }
    }

    async fn create(&self, _: &Request<Rich, Empty>, _: &mut Session<Empty>) -> HandlerResult<Rich> {
        Err(Interrupt::Failed(HandlerError::internal("not called")))
    }

    async fn read(&self, _: &Request<RichName, Empty>) -> Result<Rich, HandlerError> {
        Err(HandlerError::internal("not called"))
    }

    async fn update(&self, _: &Request<Rich, Empty>, _: &mut Session<Empty>) -> HandlerResult<Rich> {
        Err(Interrupt::Failed(HandlerError::internal("not called")))
    }

    async fn delete(&self, _: &Request<RichName, Empty>, _: &mut Session<Empty>) -> HandlerResult<()> {
        Err(Interrupt::Failed(HandlerError::internal("not called")))
    }

    async fn list(&self, _: &Request<Empty, Empty>) -> Result<ListPage<Rich>, HandlerError> {
        Err(HandlerError::internal("not called"))
    }
}

fn dispatcher() -> Dispatcher<Riches> {
    Dispatcher::new(Riches).expect("the schema")
}

/// The authoritative reading of a model: parsed into a value, recast, on the first invocation
/// validated, then decoded.
fn authoritative(dispatcher: &Dispatcher<Riches>, text: &str, check: bool) -> Result<Rich, HandlerError> {
    let mut model = parse_document(text, "requestData.resourceProperties")?;
    if check {
        model = dispatcher.desired(model, true)?;
    } else {
        recast(&mut model, &dispatcher.schema, &dispatcher.schema);
    }
    decode(model, "requestData.resourceProperties")
}

/// The encode the fast one replaces: to a JSON value, write-only properties removed, then every
/// null at any depth.
fn encoded_through_a_value(model: &Rich, write_only: &[&str]) -> Value {
    let mut value = serde_json::to_value(model).expect("encodes");
    for pointer in write_only {
        let path = property_path(pointer);
        if let Some((parent, key)) = path.rsplit_once('/')
            && let Some(Value::Object(map)) = value.pointer_mut(parent)
        {
            map.remove(key);
        }
    }
    without_nulls(&mut value);
    value
}

fn without_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(without_nulls);
        }
        Value::Array(items) => {
            items.retain(|v| !v.is_null());
            items.iter_mut().for_each(without_nulls);
        }
        _ => {}
    }
}

/// Values as CloudFormation and hostile callers send them: numbers and flags as text, blanks,
/// nulls, the wrong kinds, and values at and past the schema's limits.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0i64), Just(1), Just(100), Just(101), Just(-3), any::<i64>()].prop_map(Value::from),
        prop_oneof![Just(2.5f64), Just(1.0), Just(-0.0), Just(1e300)].prop_map(Value::from),
        prop_oneof![
            Just("5"),
            Just(" 7 "),
            Just("1e3"),
            Just("0.5"),
            Just("true"),
            Just("False"),
            Just(""),
            Just("abc"),
            Just("Fast"),
            Just("Slow"),
            Just("fast"),
            Just("name-1"),
            Just("NAME"),
            Just("toolongforthelimits"),
            Just("é"),
            Just("\u{0660}"),
            Just("NaN"),
            Just("9223372036854775808"),
        ]
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![Just("Key"), Just("Value"), Just("Port"), Just("Primary"), Just("Hidden"), Just("Other")],
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A model: mostly the schema's properties, sometimes an unknown one, each value arbitrary or
/// of the declared shape.
fn model() -> impl Strategy<Value = Value> {
    let tag = (value(), value()).prop_map(|(key, value)| json!({"Key": key, "Value": value}));
    let property = prop_oneof![
        (Just("Name"), prop_oneof![Just(json!("name-1")), scalar()]),
        (Just("Count"), scalar()),
        (Just("Ratio"), scalar()),
        (Just("Enabled"), scalar()),
        (Just("Label"), scalar()),
        (Just("Mode"), scalar()),
        (Just("Tags"), prop_oneof![prop::collection::vec(tag, 0..5).prop_map(Value::Array), value()]),
        (Just("Document"), value()),
        (Just("Secret"), scalar()),
        (Just("Nested"), value()),
        (Just("Unknown"), scalar()),
    ];
    prop::collection::vec(property, 0..8).prop_map(|properties| {
        let mut model: serde_json::Map<String, Value> =
            properties.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        model.entry("Name").or_insert_with(|| json!("name-1"));
        Value::Object(model)
    })
}

fn cases() -> u32 {
    std::env::var("RPDK_PROPERTY_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_fast_decode_accepts_only_what_the_authoritative_path_accepts_and_decodes_the_same(
        model in model(),
        check in any::<bool>(),
    ) {
        let dispatcher = dispatcher();
        let plan = dispatcher.plan().expect("the schema is one the fast decode checks");
        let text = model.to_string();
        if let Some(fast) = plan.decode::<Rich>(&text, check) {
            let reference = authoritative(&dispatcher, &text, check);
            prop_assert!(reference.is_ok(), "accepted by the fast decode only: {text}: {:?}", reference.err());
            prop_assert_eq!(Some(fast), reference.ok(), "{}", text);
        }
    }

    #[test]
    fn the_fast_encode_writes_what_the_value_path_writes(model in model()) {
        let dispatcher = dispatcher();
        let text = model.to_string();
        // Any model the authoritative path reads, whatever its values.
        if let Ok(rich) = authoritative(&dispatcher, &text, false) {
            let fast: Value = serde_json::from_str(dispatcher.encode(&rich).expect("encodes").get()).expect("JSON");
            prop_assert_eq!(fast, encoded_through_a_value(&rich, Riches::metadata().write_only), "{}", text);
        }
    }
}

#[test]
fn a_production_shaped_model_takes_the_fast_paths() {
    let dispatcher = dispatcher();
    let text = json!({
        "Name": "svc-1", "Count": "42", "Ratio": "0.25", "Enabled": "TRUE", "Label": "blue", "Mode": "Slow",
        "Tags": [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "1"}],
        "Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*"]}]},
        "Secret": "s", "Nested": {"Port": "443", "Primary": "false", "Hidden": "h"}, "Unknown": null
    })
    .to_string();
    let plan = dispatcher.plan().expect("the schema is one the fast decode checks");
    let fast: Rich = plan.decode(&text, true).expect("the fast decode reads it");
    assert_eq!(fast.count, Some(42));
    assert_eq!(fast.nested.as_ref().map(|n| n.port), Some(443));
    assert_eq!(Some(&fast), authoritative(&dispatcher, &text, true).ok().as_ref());

    let encoded: Value = serde_json::from_str(dispatcher.encode(&fast).expect("encodes").get()).expect("JSON");
    assert!(encoded.get("Secret").is_none() && encoded["Nested"].get("Hidden").is_none(), "{encoded}");
    assert_eq!(encoded["Nested"], json!({"Port": 443, "Primary": false}), "no nulls: {encoded}");
}

#[test]
fn a_model_breaking_a_rule_is_declined_and_answered_by_the_authoritative_path() {
    let dispatcher = dispatcher();
    let plan = dispatcher.plan().expect("the schema is one the fast decode checks");
    for model in [
        json!({"Name": "NAME"}),
        json!({"Name": "n", "Count": 101}),
        json!({"Name": "n", "Count": "many"}),
        json!({"Name": "n", "Label": ""}),
        json!({"Name": "n", "Mode": "fast"}),
        json!({"Name": "n", "Tags": [{"Key": "k"}]}),
        json!({"Name": "n", "Tags": [{"Key": "k", "Value": "v"}, null]}),
        json!({"Name": "n", "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k", "Value": "v"}, {"Key": "k", "Value": "v"}, {"Key": "k", "Value": "v"}]}),
        json!({"Name": "n", "Colour": "red"}),
        json!({"Count": 5}),
    ] {
        let text = model.to_string();
        assert!(plan.decode::<Rich>(&text, true).is_none(), "declined: {text}");
        assert!(authoritative(&dispatcher, &text, true).is_err(), "refused: {text}");
    }
}

#[test]
fn a_schema_with_a_rule_the_fast_decode_does_not_check_has_no_plan() {
    let schema = json!({"properties": {"A": {"type": "string", "format": "uri"}}});
    assert!(Plan::compile(&schema, &schema).is_none());
    let schema = json!({"properties": {"A": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}});
    assert!(Plan::compile(&schema, &schema).is_none());
    let schema = json!({"properties": {"A": {"type": ["string", "null"]}}});
    assert!(Plan::compile(&schema, &schema).is_none());
}

#[test]
fn a_recursive_schema_compiles_once_and_reads_at_every_depth() {
    let schema = json!({
        "properties": {"Root": {"$ref": "#/definitions/Node"}},
        "definitions": {"Node": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"Size": {"type": "integer", "maximum": 9}, "Children": {"type": "array", "items": {"$ref": "#/definitions/Node"}}}
        }}
    });
    let plan = Plan::compile(&schema, &schema).expect("a plan");
    let deep = json!({"Root": {"Size": "1", "Children": [{"Size": 2, "Children": [{"Size": "3"}]}]}}).to_string();
    let read: Value = plan.decode(&deep, true).expect("read");
    assert_eq!(read["Root"]["Children"][0]["Children"][0]["Size"], 3, "recast three levels down: {read}");
    let broken = json!({"Root": {"Children": [{"Children": [{"Size": 10}]}]}}).to_string();
    assert!(plan.decode::<Value>(&broken, true).is_none(), "a rule three levels down is checked");
    let unknown = json!({"Root": {"Children": [{"Colour": "red"}]}}).to_string();
    assert!(plan.decode::<Value>(&unknown, true).is_none(), "a closed node two levels down");
}

#[test]
fn an_outline_holds_only_the_paths_asked_for() {
    let text =
        br#"{"Name": "n", "Tags": [{"Key": "k", "Value": "v"}], "Nested": {"Port": 1, "Hidden": "h"}, "Text": "t"}"#;
    let paths = [
        vec!["Name".to_owned()],
        vec!["Nested".to_owned(), "Port".to_owned()],
        vec!["Text".to_owned(), "Deeper".to_owned()],
    ];
    let outline = crate::lenient::outline(text, &paths).expect("read");
    assert_eq!(
        outline,
        json!({"Name": "n", "Nested": {"Port": 1}, "Text": null}),
        "a path through a string finds nothing"
    );
}
