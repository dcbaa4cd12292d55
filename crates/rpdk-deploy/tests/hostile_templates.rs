//! Generated hostile templates: arbitrary text, the examples with bytes flipped, and the examples
//! with values swapped for arbitrary ones (intrinsic functions of any shape among them), through
//! the parser, the whole-template check, the binding of parameters and the evaluation of every
//! resource's properties. Each step answers, a value or problems naming their place, and never
//! panics. `RPDK_PROPERTY_CASES` sets the cases per property (512 by default).

use std::collections::BTreeMap;

use proptest::prelude::*;
use rpdk_deploy::evaluate::{Bindings, Resources, StackIdentity};
use rpdk_deploy::template::{Template, TypeInfo, parse_text};
use serde_json::Value;

const EXAMPLES: [&str; 3] = [
    include_str!("../../../examples/partner-onboarding.yaml"),
    include_str!("../../../examples/partner-role-custom-resource.yaml"),
    include_str!("../../../examples/privatelink-service.yaml"),
];

fn types() -> BTreeMap<String, TypeInfo> {
    let schemas = [
        include_str!("../../../schemas/rpdk-iam-crossaccountrole.json"),
        include_str!("../../../schemas/rpdk-ec2-privatelinkservice.json"),
        include_str!("../../../schemas/rpdk-scim-connector.json"),
        include_str!("../../../schemas/rpdk-scim-user.json"),
        include_str!("../../../schemas/rpdk-scim-group.json"),
    ];
    let mut types: BTreeMap<String, TypeInfo> = schemas
        .iter()
        .map(|text| {
            let schema: Value = serde_json::from_str(text).expect("a schema");
            (schema["typeName"].as_str().expect("a type name").to_owned(), TypeInfo::from_schema(&schema))
        })
        .collect();
    types.insert("AWS::SNS::Topic".to_owned(), TypeInfo::default());
    types
}

fn stack() -> StackIdentity {
    StackIdentity {
        name: "hostile".into(),
        id: "arn:aws:cloudformation:us-east-1:123456789012:stack/hostile/1".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        partition: "aws".into(),
        url_suffix: "amazonaws.com".into(),
    }
}

/// Every resource made, every attribute a string.
struct Made;

impl Resources for Made {
    fn reference(&self, resource: &str) -> Option<Value> {
        Some(Value::from(format!("{resource}-id")))
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Option<Value> {
        Some(Value::from(format!("{resource}.{attribute}")))
    }
}

/// The whole road a template takes before anything is made; it must end, whatever the input.
fn through_the_engine(text: &str) {
    let Ok(document) = parse_text(text) else { return };
    let Ok(template) = Template::check(&document, &types()) else { return };
    let given = BTreeMap::from([
        ("PartnerAccountId".to_owned(), "111122223333".to_owned()),
        ("PartnerExternalId".to_owned(), "ext-abcdefghijklmnop".to_owned()),
        ("LoadBalancerArn".to_owned(), "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/a/1".to_owned()),
    ]);
    let given = given.into_iter().filter(|(name, _)| template.parameters.contains_key(name)).collect();
    let Ok(bindings) = Bindings::new(&template, &given, &stack()) else { return };
    for resource in template.resources.values() {
        let _ = bindings.evaluate(&resource.properties, &Made);
    }
    for output in template.outputs.values() {
        let _ = bindings.evaluate(&output.value, &Made);
    }
}

/// Values of any shape, intrinsic functions among them, nested a few levels.
fn any_value() -> impl Strategy<Value = Value> {
    let functions = prop_oneof![
        Just("Ref"),
        Just("Fn::GetAtt"),
        Just("Fn::Sub"),
        Just("Fn::Join"),
        Just("Fn::Select"),
        Just("Fn::Split"),
        Just("Fn::FindInMap"),
        Just("Fn::Base64"),
        Just("Fn::ImportValue"),
        Just("Fn::If"),
        Just("Fn::Equals"),
        Just("Fn::And"),
        Just("Fn::Or"),
        Just("Fn::Not"),
        Just("Condition"),
        Just("Fn::GetAZs"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
        prop_oneof![
            Just("PartnerRole"),
            Just("PartnerRole.Arn"),
            Just("AWS::Region"),
            Just("AWS::NoValue"),
            Just("${PartnerAccountId}-${AWS::StackName}"),
            Just("${Missing.Attr}"),
            Just("{{resolve:ssm:x}}"),
            Just("-1"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            (functions.clone(), inner.clone()).prop_map(|(function, argument)| Value::Object(
                [(function.to_owned(), argument)].into_iter().collect()
            )),
            prop::collection::btree_map("[A-Za-z]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn places(value: &Value, at: String, found: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        let path = format!("{at}/{key}");
        found.push(path.clone());
        places(child, path, found);
    }
}

fn cases() -> u32 {
    std::env::var("RPDK_PROPERTY_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_read_or_refused(text in ".{0,512}") {
        through_the_engine(&text);
    }

    #[test]
    fn an_example_with_flipped_bytes_is_read_or_refused(
        example in 0..EXAMPLES.len(),
        flips in prop::collection::vec((any::<u32>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = EXAMPLES[example].as_bytes().to_vec();
        for (at, byte) in flips {
            let index = at as usize % bytes.len();
            bytes[index] = byte;
        }
        through_the_engine(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn an_example_with_swapped_values_is_checked_bound_and_evaluated_or_refused(
        example in 0..EXAMPLES.len(),
        swaps in prop::collection::vec((any::<u32>(), any_value()), 1..4),
    ) {
        let mut document = parse_text(EXAMPLES[example]).expect("the example parses");
        for (pick, value) in swaps {
            let mut found = Vec::new();
            places(&document, String::new(), &mut found);
            let place = &found[pick as usize % found.len()];
            if let Some(slot) = document.pointer_mut(place) {
                *slot = value;
            }
        }
        through_the_engine(&document.to_string());
    }
}
