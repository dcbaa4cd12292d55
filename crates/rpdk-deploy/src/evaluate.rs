//! Parameter values, conditions and intrinsic functions, evaluated as CloudFormation does.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::template::{self, ParameterKind, Problem, SubPart, Template, scalar_text, single_function, sub_parts};

/// The stack a template is deployed as: what the pseudo parameters answer.
#[derive(Clone, Debug)]
pub struct StackIdentity {
    /// The stack's name (`AWS::StackName`).
    pub name: String,
    /// The stack's id (`AWS::StackId`).
    pub id: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::Partition`.
    pub partition: String,
    /// `AWS::URLSuffix`.
    pub url_suffix: String,
}

/// Parameter values and condition outcomes of one deployment.
#[derive(Clone, Debug)]
pub struct Bindings {
    /// Parameter values, by name, typed as their parameters declare.
    pub parameters: BTreeMap<String, Value>,
    /// Each condition's value.
    pub conditions: BTreeMap<String, bool>,
    /// The values `Fn::ImportValue` finds, by export name: other stacks' exports.
    pub imports: BTreeMap<String, Value>,
    pseudo: BTreeMap<&'static str, Value>,
    mappings: BTreeMap<String, Map<String, Value>>,
}

/// What resources offer to references: the `Ref` value (the physical id) and attributes.
pub trait Resources {
    /// What `Ref` of `resource` answers, once known.
    fn reference(&self, resource: &str) -> Option<Value>;
    /// What `Fn::GetAtt` of `resource`'s `attribute` answers, once known.
    fn attribute(&self, resource: &str, attribute: &str) -> Option<Value>;
}

impl Bindings {
    /// Binds `given` values (and defaults) to the template's parameters and evaluates its
    /// conditions.
    pub fn new(
        template: &Template,
        given: &BTreeMap<String, String>,
        stack: &StackIdentity,
    ) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        for name in given.keys().filter(|name| !template.parameters.contains_key(*name)) {
            problems.push(Problem::new(format!("--parameter {name}"), "the template has no such parameter"));
        }
        let mut parameters = BTreeMap::new();
        for (name, parameter) in &template.parameters {
            let at = format!("Parameters.{name}");
            let Some(text) = given.get(name).or(parameter.default.as_ref()) else {
                problems
                    .push(Problem::new(at, format!("no value: pass --parameter {name}=VALUE, or give it a Default")));
                continue;
            };
            if text.len() > template::MAX_PARAMETER_BYTES {
                problems.push(Problem::new(
                    at,
                    format!(
                        "a value of {} bytes; CloudFormation takes parameter values of at most {} bytes",
                        text.len(),
                        template::MAX_PARAMETER_BYTES
                    ),
                ));
                continue;
            }
            if let Some(violation) = parameter.violation(text) {
                problems.push(Problem::new(at, violation));
                continue;
            }
            let value = match parameter.kind {
                ParameterKind::String => Value::String(text.clone()),
                ParameterKind::Number if template::number(text).is_some() => Value::String(text.trim().to_owned()),
                ParameterKind::Number => {
                    problems.push(Problem::new(at, "the value is not a number"));
                    continue;
                }
                ParameterKind::CommaDelimitedList => {
                    Value::Array(text.split(',').map(|item| Value::String(item.trim().to_owned())).collect())
                }
            };
            parameters.insert(name.clone(), value);
        }
        let pseudo = BTreeMap::from([
            ("AWS::Region", Value::String(stack.region.clone())),
            ("AWS::AccountId", Value::String(stack.account.clone())),
            ("AWS::StackName", Value::String(stack.name.clone())),
            ("AWS::StackId", Value::String(stack.id.clone())),
            ("AWS::Partition", Value::String(stack.partition.clone())),
            ("AWS::URLSuffix", Value::String(stack.url_suffix.clone())),
        ]);
        let mut bindings = Self {
            parameters,
            conditions: BTreeMap::new(),
            imports: BTreeMap::new(),
            pseudo,
            mappings: template.mappings.clone(),
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        // Conditions may name each other; the template check proved there is no cycle.
        while bindings.conditions.len() < template.conditions.len() {
            let before = bindings.conditions.len();
            for (name, condition) in &template.conditions {
                if bindings.conditions.contains_key(name) {
                    continue;
                }
                match bindings.condition(condition, &NoResources) {
                    Ok(Some(outcome)) => {
                        bindings.conditions.insert(name.clone(), outcome);
                    }
                    Ok(None) => {}
                    Err(message) => problems.push(Problem::new(format!("Conditions.{name}"), message)),
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            if bindings.conditions.len() == before {
                return Err(vec![Problem::new(
                    "Conditions",
                    "the conditions cannot be evaluated (a circular reference)",
                )]);
            }
        }
        Ok(bindings)
    }

    /// Whether a resource or output with this `Condition` exists in this deployment.
    pub fn holds(&self, condition: Option<&String>) -> bool {
        condition.is_none_or(|name| self.conditions.get(name).copied().unwrap_or(false))
    }

    /// A condition's outcome, or `None` while a condition it names is still unknown.
    fn condition(&self, value: &Value, resources: &dyn Resources) -> Result<Option<bool>, String> {
        let Some((key, argument)) = value.as_object().and_then(single_function) else {
            return Err("a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition".to_owned());
        };
        let items = argument.as_array().map(Vec::as_slice).unwrap_or_default();
        Ok(match key {
            "Condition" => argument.as_str().and_then(|name| self.conditions.get(name).copied()),
            "Fn::Equals" => {
                let [a, b] = items else { return Err("Fn::Equals takes [value, value]".to_owned()) };
                // Scalars compare as text (`1` equals `"1"`); lists compare item by item.
                let comparable =
                    |value: Option<Value>| value.map(|value| scalar_text(&value).map_or(value, Value::String));
                Some(comparable(self.evaluate(a, resources)?) == comparable(self.evaluate(b, resources)?))
            }
            "Fn::Not" => {
                let [item] = items else { return Err("Fn::Not takes [condition]".to_owned()) };
                self.condition(item, resources)?.map(|outcome| !outcome)
            }
            "Fn::And" | "Fn::Or" => {
                let mut outcomes = Vec::new();
                for item in items {
                    match self.condition(item, resources)? {
                        Some(outcome) => outcomes.push(outcome),
                        None => return Ok(None),
                    }
                }
                Some(if key == "Fn::And" { outcomes.iter().all(|o| *o) } else { outcomes.iter().any(|o| *o) })
            }
            other => return Err(format!("{other} is not a condition function")),
        })
    }

    /// A value known before any resource exists: `None` when it needs one, or is `AWS::NoValue`.
    pub fn evaluate_static(&self, value: &Value) -> Option<Value> {
        self.evaluate(value, &NoResources).ok().flatten()
    }

    /// `value` with each `Fn::If` replaced by the branch its condition takes.
    pub fn taken(&self, value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|item| self.taken(item)).collect()),
            Value::Object(map) => match single_function(map) {
                Some(("Fn::If", Value::Array(items))) if items.len() == 3 => {
                    let outcome =
                        items[0].as_str().and_then(|name| self.conditions.get(name)).copied().unwrap_or(false);
                    self.taken(&items[if outcome { 1 } else { 2 }])
                }
                _ => Value::Object(map.iter().map(|(key, item)| (key.clone(), self.taken(item))).collect()),
            },
            other => other.clone(),
        }
    }

    /// The problems of the functions in `value` that fail whatever the resources hold, such as
    /// `Fn::Select` past the end of a list parameter: found before anything is made. A function
    /// that reads a resource or an import is left to the deployment.
    pub fn known_problems(&self, value: &Value, at: &str, problems: &mut Vec<Problem>) {
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(index, item)| self.known_problems(item, &format!("{at}[{index}]"), problems)),
            Value::Object(map) if single_function(map).is_none() => {
                map.iter().for_each(|(key, item)| self.known_problems(item, &format!("{at}.{key}"), problems))
            }
            Value::Object(_) => {
                let probe = Probe::default();
                let imports = value.to_string().contains("\"Fn::ImportValue\"");
                if let Err(message) = self.evaluate(value, &probe)
                    && !probe.asked.get()
                    && !imports
                {
                    problems.push(Problem::new(at, message));
                }
            }
            _ => {}
        }
    }

    /// Evaluates a value; `None` is `AWS::NoValue` (the property is left out).
    pub fn evaluate(&self, value: &Value, resources: &dyn Resources) -> Result<Option<Value>, String> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(item) = self.evaluate(item, resources)? {
                        out.push(item);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) => match single_function(map) {
                Some((key, argument)) => self.function(key, argument, resources),
                None => {
                    let mut out = Map::new();
                    for (key, item) in map {
                        if let Some(item) = self.evaluate(item, resources)? {
                            out.insert(key.clone(), item);
                        }
                    }
                    Ok(Some(Value::Object(out)))
                }
            },
            other => Ok(Some(other.clone())),
        }
    }

    fn function(&self, key: &str, argument: &Value, resources: &dyn Resources) -> Result<Option<Value>, String> {
        let items = argument.as_array().map(Vec::as_slice).unwrap_or_default();
        let needed =
            |value: Result<Option<Value>, String>, what: &str| value?.ok_or_else(|| format!("{what} is AWS::NoValue"));
        match key {
            "Ref" => {
                let name = argument.as_str().unwrap_or_default();
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                self.name(name, resources).map(Some)
            }
            "Fn::GetAtt" => {
                let (Some(resource), Some(attribute)) =
                    (items.first().and_then(Value::as_str), items.get(1).and_then(Value::as_str))
                else {
                    return Err("Fn::GetAtt takes [Resource, Attribute]".to_owned());
                };
                resources
                    .attribute(resource, attribute)
                    .map(Some)
                    .ok_or_else(|| format!("{resource}.{attribute} has no value (yet)"))
            }
            "Fn::Sub" => {
                let (text, variables) = match argument {
                    Value::Array(parts) => (
                        parts.first().and_then(Value::as_str).unwrap_or_default(),
                        parts.get(1).and_then(Value::as_object),
                    ),
                    other => (other.as_str().unwrap_or_default(), None),
                };
                let mut out = String::new();
                for part in sub_parts(text)? {
                    match part {
                        SubPart::Text(text) => out.push_str(&text),
                        SubPart::Variable(name) => {
                            let value = match variables.and_then(|v| v.get(&name)) {
                                Some(value) => needed(self.evaluate(value, resources), &name)?,
                                None => match name.split_once('.') {
                                    Some((resource, attribute)) if !self.pseudo.contains_key(name.as_str()) => {
                                        resources
                                            .attribute(resource, attribute)
                                            .ok_or_else(|| format!("{name} has no value (yet)"))?
                                    }
                                    _ => self.name(&name, resources)?,
                                },
                            };
                            out.push_str(
                                &scalar_text(&value).ok_or_else(|| format!("Fn::Sub: ${{{name}}} is not a string"))?,
                            );
                        }
                    }
                }
                Ok(Some(Value::String(out)))
            }
            "Fn::Join" => {
                let [Value::String(delimiter), list] = items else {
                    return Err("Fn::Join takes [delimiter, [values]]".to_owned());
                };
                let list = needed(self.evaluate(list, resources), "Fn::Join's list")?;
                let texts = list
                    .as_array()
                    .ok_or("Fn::Join: the values are not a list")?
                    .iter()
                    .map(|v| scalar_text(v).ok_or("Fn::Join: a value is not a string"))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Value::String(texts.join(delimiter))))
            }
            "Fn::Select" => {
                let [index, list] = items else { return Err("Fn::Select takes [index, [values]]".to_owned()) };
                let index = needed(self.evaluate(index, resources), "Fn::Select's index")?;
                let index = scalar_text(&index)
                    .and_then(|t| t.parse::<usize>().ok())
                    .ok_or("Fn::Select: the index is not a number")?;
                let list = needed(self.evaluate(list, resources), "Fn::Select's list")?;
                list.as_array()
                    .and_then(|items| items.get(index))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| format!("Fn::Select: no value at index {index}"))
            }
            "Fn::ImportValue" => {
                let name = needed(self.evaluate(argument, resources), "Fn::ImportValue's name")?;
                let name = scalar_text(&name).ok_or("Fn::ImportValue: the name is not a string")?;
                self.imports.get(&name).cloned().map(Some).ok_or_else(|| format!("Fn::ImportValue: no stack on this local stack exports {name}; deploy the stack that exports it first"))
            }
            "Fn::Split" => {
                let [Value::String(delimiter), source] = items else {
                    return Err("Fn::Split takes [delimiter, string]".to_owned());
                };
                let source = needed(self.evaluate(source, resources), "Fn::Split's string")?;
                let text = source.as_str().ok_or("Fn::Split: the value to split is not a string")?;
                Ok(Some(Value::Array(
                    text.split(delimiter.as_str()).map(|part| Value::String(part.to_owned())).collect(),
                )))
            }
            "Fn::Base64" => {
                let value = needed(self.evaluate(argument, resources), "Fn::Base64's string")?;
                let text = scalar_text(&value).ok_or("Fn::Base64: the value is not a string")?;
                Ok(Some(Value::String(base64::engine::general_purpose::STANDARD.encode(text))))
            }
            "Fn::FindInMap" => {
                let [map, top, second] = items else {
                    return Err("Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]".to_owned());
                };
                let name = |key: &Value| -> Result<String, String> {
                    let key = needed(self.evaluate(key, resources), "a Fn::FindInMap name")?;
                    scalar_text(&key).ok_or_else(|| "Fn::FindInMap: a name is not a string".to_owned())
                };
                let (map, top, second) = (name(map)?, name(top)?, name(second)?);
                let found = self
                    .mappings
                    .get(&map)
                    .ok_or_else(|| format!("Fn::FindInMap: {map} is not a map under Mappings"))?;
                let value =
                    found.get(&top).ok_or_else(|| format!("Fn::FindInMap: {map} has no key {top}"))?.get(&second);
                value.cloned().map(Some).ok_or_else(|| format!("Fn::FindInMap: {map}.{top} has no key {second}"))
            }
            "Fn::If" => {
                let [Value::String(condition), when_true, when_false] = items else {
                    return Err("Fn::If takes [condition, if true, if false]".to_owned());
                };
                let outcome = self
                    .conditions
                    .get(condition)
                    .copied()
                    .ok_or_else(|| format!("condition {condition} is unknown"))?;
                self.evaluate(if outcome { when_true } else { when_false }, resources)
            }
            other => Err(format!("{other} is not supported here")),
        }
    }

    fn name(&self, name: &str, resources: &dyn Resources) -> Result<Value, String> {
        if let Some(value) = self.pseudo.get(name).or_else(|| self.parameters.get(name)) {
            return Ok(value.clone());
        }
        resources.reference(name).ok_or_else(|| format!("{name} has no value (yet)"))
    }
}

/// No resource yet, noting whether one was asked for.
#[derive(Default)]
struct Probe {
    asked: std::cell::Cell<bool>,
}

impl Resources for Probe {
    fn reference(&self, _: &str) -> Option<Value> {
        self.asked.set(true);
        None
    }

    fn attribute(&self, _: &str, _: &str) -> Option<Value> {
        self.asked.set(true);
        None
    }
}

/// Conditions are evaluated before any resource exists.
struct NoResources;

impl Resources for NoResources {
    fn reference(&self, _: &str) -> Option<Value> {
        None
    }

    fn attribute(&self, _: &str, _: &str) -> Option<Value> {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::{TypeInfo, parse_text};

    struct Made(BTreeMap<&'static str, Value>);

    impl Resources for Made {
        fn reference(&self, resource: &str) -> Option<Value> {
            self.0.get(resource).and_then(|model| model.get("Name")).cloned()
        }

        fn attribute(&self, resource: &str, attribute: &str) -> Option<Value> {
            self.0.get(resource)?.pointer(&format!("/{}", attribute.replace('.', "/"))).cloned()
        }
    }

    fn stack() -> StackIdentity {
        StackIdentity {
            name: "demo".into(),
            id: "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
            url_suffix: "amazonaws.com".into(),
        }
    }

    fn template(yaml: &str) -> Template {
        let types = BTreeMap::from([(
            "Rpdk::IAM::CrossAccountRole".to_owned(),
            TypeInfo::from_schema(&json!({"readOnlyProperties": ["/properties/Arn", "/properties/Meta/Id"]})),
        )]);
        Template::check(&parse_text(yaml).expect("parses"), &types).expect("passes")
    }

    const YAML: &str = r#"
Parameters:
  Env:
    Type: String
    Default: prod
    AllowedValues: [prod, dev]
  Ids:
    Type: CommaDelimitedList
    Default: "1, 2,3"
Mappings:
  Regions:
    us-east-1:
      Tier: prod
      Zones: [a, b]
Conditions:
  IsProd: !Equals [!Ref Env, !FindInMap [Regions, !Ref AWS::Region, Tier]]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Not [!Condition IsDev]]
Resources:
  A:
    Type: Rpdk::IAM::CrossAccountRole
    Properties:
      Name: !Sub "a-${Env}-${AWS::Region}-${!Keep}"
  B:
    Type: Rpdk::IAM::CrossAccountRole
    Properties:
      Name: !Join ["/", [!Ref A, !GetAtt A.Meta.Id, !Select [2, !Ref Ids]]]
      Arn: !Sub ["${X}:${A.Arn}", {X: !Ref AWS::Partition}]
      Maybe: !If [IsDev, yes, !Ref AWS::NoValue]
      List: [!If [IsProd, kept, !Ref AWS::NoValue], !If [IsDev, gone, !Ref AWS::NoValue]]
      Zone: !Select [1, !FindInMap [Regions, !Ref AWS::Region, Zones]]
      Parts: !Split [":", !GetAtt A.Arn]
      Encoded:
        Fn::Base64: !Sub "${Env}!"
"#;

    #[test]
    fn parameters_conditions_and_functions_evaluate() {
        let template = template(YAML);
        let bindings = Bindings::new(&template, &BTreeMap::new(), &stack()).expect("binds");
        assert_eq!(
            bindings.conditions,
            BTreeMap::from([("Both".to_owned(), true), ("IsDev".to_owned(), false), ("IsProd".to_owned(), true)])
        );
        let made = Made(BTreeMap::from([("A", json!({"Name": "a-prod", "Arn": "arn:a", "Meta": {"Id": "7"}}))]));
        let a = bindings.evaluate(&template.resources["A"].properties, &made).expect("evaluates");
        assert_eq!(a, Some(json!({"Name": "a-prod-us-east-1-${Keep}"})));
        let b = bindings.evaluate(&template.resources["B"].properties, &made).expect("evaluates");
        assert_eq!(
            b,
            Some(
                json!({"Name": "a-prod/7/3", "Arn": "aws:arn:a", "List": ["kept"], "Zone": "b", "Parts": ["arn", "a"], "Encoded": "cHJvZCE="})
            )
        );
    }

    #[test]
    fn bad_parameter_values_are_refused_by_name() {
        let template = template(YAML);
        let given = BTreeMap::from([("Env".to_owned(), "staging".to_owned()), ("Nope".to_owned(), "x".to_owned())]);
        let problems: Vec<String> =
            Bindings::new(&template, &given, &stack()).expect_err("refused").iter().map(ToString::to_string).collect();
        assert!(problems.contains(&"--parameter Nope: the template has no such parameter".to_owned()), "{problems:?}");
        assert!(
            problems.contains(&"Parameters.Env: 'staging' is not one of the AllowedValues prod, dev".to_owned()),
            "{problems:?}"
        );
    }

    const CONSTRAINED: &str = r#"
Parameters:
  Account:
    Type: String
    AllowedPattern: "[0-9]{12}"
    ConstraintDescription: a 12-digit AWS account ID
  Name:
    Type: String
    MinLength: 3
    MaxLength: 5
  Port:
    Type: Number
    MinValue: 1
    MaxValue: 65535
  Zones:
    Type: CommaDelimitedList
    AllowedValues: [a, b]
  Secret:
    Type: String
    NoEcho: true
    AllowedPattern: "x+"
Resources:
  A:
    Type: Rpdk::IAM::CrossAccountRole
"#;

    #[test]
    fn parameter_constraints_hold_for_the_whole_value_and_each_item() {
        let template = template(CONSTRAINED);
        let values = |pairs: [(&str, &str); 5]| {
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<BTreeMap<_, _>>()
        };
        let good = values([
            ("Account", "111122223333"),
            ("Name", "abc"),
            ("Port", "443"),
            ("Zones", "a, b"),
            ("Secret", "xxx"),
        ]);
        Bindings::new(&template, &good, &stack()).expect("allowed values bind");
        let bad = values([
            ("Account", "1111222233334444"),
            ("Name", "ab"),
            ("Port", "70000"),
            ("Zones", "a, c"),
            ("Secret", "xyz"),
        ]);
        let problems: Vec<String> =
            Bindings::new(&template, &bad, &stack()).expect_err("refused").iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "Parameters.Account: '1111222233334444' does not match the AllowedPattern [0-9]{12}: a 12-digit AWS account ID",
                "Parameters.Name: 'ab' is 2 characters; MinLength 3, MaxLength 5",
                "Parameters.Port: '70000' is outside MinValue 1, MaxValue 65535",
                "Parameters.Secret: the value given does not match the AllowedPattern x+",
                "Parameters.Zones: 'c' is not one of the AllowedValues a, b",
            ]
        );
    }

    #[test]
    fn a_missing_value_says_how_to_give_it() {
        let template = template(
            "Parameters:\n  Secret:\n    Type: String\n    NoEcho: true\nResources:\n  A:\n    Type: Rpdk::IAM::CrossAccountRole\n",
        );
        let problems = Bindings::new(&template, &BTreeMap::new(), &stack()).expect_err("refused");
        assert_eq!(
            problems[0].to_string(),
            "Parameters.Secret: no value: pass --parameter Secret=VALUE, or give it a Default"
        );
    }

    #[test]
    fn a_parameter_value_past_cloudformations_limit_is_refused() {
        let template =
            template("Parameters:\n  Note: {Type: String}\nResources:\n  R: {Type: Rpdk::IAM::CrossAccountRole}\n");
        let long = BTreeMap::from([("Note".to_owned(), "n".repeat(4097))]);
        let problems = Bindings::new(&template, &long, &stack()).expect_err("refused");
        assert_eq!(
            problems[0].to_string(),
            "Parameters.Note: a value of 4097 bytes; CloudFormation takes parameter values of at most 4096 bytes"
        );
        let most = BTreeMap::from([("Note".to_owned(), "n".repeat(4096))]);
        Bindings::new(&template, &most, &stack()).expect("4096 bytes pass");
    }
}
