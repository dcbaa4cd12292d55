//! Templates: YAML (short-form tags included) or JSON, read into CloudFormation's long form,
//! then checked as a whole before anything is created. Every refusal names the place in the
//! template and what to do.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use rpdk::Action;
use rpdk_local::HANDLER_TIMEOUT;
use serde_json::{Map, Value};

/// Intrinsic functions the engine evaluates.
pub const SUPPORTED_FUNCTIONS: &[&str] = &[
    "Ref",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::FindInMap",
    "Fn::Base64",
    "Fn::ImportValue",
    "Fn::If",
    "Fn::Equals",
    "Fn::And",
    "Fn::Or",
    "Fn::Not",
];
/// Pseudo parameters and what `!Ref` gives for them.
pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::Region",
    "AWS::AccountId",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::NoValue",
];
/// Top-level sections the engine reads; `Metadata` is accepted and ignored.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];
/// What is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// A path into the template, e.g. `Resources.Role.Properties.ExternalId`.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl Problem {
    /// A problem at `location` (a dotted path in the template).
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self { location: location.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// CloudFormation's largest template body (one stored in S3): 1 MB.
pub const MAX_TEMPLATE_BYTES: usize = 1 << 20;
/// CloudFormation's largest parameter value, in bytes.
pub const MAX_PARAMETER_BYTES: usize = 4096;
/// CloudFormation's longest logical ID.
const MAX_LOGICAL_ID_CHARS: usize = 255;
/// How many entries CloudFormation takes in a template's sections.
const MAX_ENTRIES: [(&str, usize); 4] = [("Resources", 500), ("Parameters", 200), ("Outputs", 200), ("Mappings", 200)];

/// Reads a template: JSON when it parses as JSON, else YAML (see [`rpdk::template::parse`]),
/// no larger than CloudFormation takes.
pub fn parse_text(text: &str) -> Result<Value, Problem> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(Problem::new(
            "template",
            format!(
                "{} bytes; CloudFormation takes a template body of at most {MAX_TEMPLATE_BYTES} bytes (1 MB): split it into stacks that share values through exports",
                text.len()
            ),
        ));
    }
    rpdk::template::parse(text).map_err(|fault| Problem::new(fault.location, fault.message))
}

/// What the engine needs to know of a type, from its registry schema.
#[derive(Clone, Debug, Default)]
pub struct TypeInfo {
    /// Attributes `Fn::GetAtt` may read: read-only properties, dotted (`A.B`).
    pub attributes: BTreeSet<String>,
    /// The top-level properties that make up the primary identifier, in order.
    pub primary_identifier: Vec<String>,
    /// Top-level properties whose change replaces the resource.
    pub create_only: BTreeSet<String>,
    /// Top-level properties a handler never returns (and the state never keeps).
    pub write_only: BTreeSet<String>,
    /// Whether the type takes tags: the stack's tags reach it, and a change of them alone
    /// updates it.
    pub taggable: bool,
    /// The handlers' `timeoutInMinutes`, by action (`CREATE`, ...), where the schema gives one.
    pub timeouts: BTreeMap<String, Duration>,
}

impl TypeInfo {
    /// What a type's registry schema tells the engine.
    pub fn from_schema(schema: &Value) -> Self {
        let pointers = |key: &str| {
            schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|p| p.trim_start_matches("/properties/").to_owned())
        };
        let top_level = |key: &str| pointers(key).map(|p| p.split('/').next().unwrap_or_default().to_owned()).collect();
        Self {
            attributes: pointers("readOnlyProperties").map(|p| p.replace('/', ".")).collect(),
            primary_identifier: pointers("primaryIdentifier").collect(),
            create_only: top_level("createOnlyProperties"),
            write_only: top_level("writeOnlyProperties"),
            taggable: schema.pointer("/tagging/taggable").and_then(Value::as_bool).unwrap_or(false),
            timeouts: schema
                .get("handlers")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(action, handler)| {
                    let minutes = handler.get("timeoutInMinutes")?.as_u64()?;
                    Some((action.to_ascii_uppercase(), Duration::from_secs(minutes * 60)))
                })
                .collect(),
        }
    }

    /// How long CloudFormation lets an operation of `action` run: the schema's timeout, else
    /// the registry's default.
    pub fn timeout(&self, action: Action) -> Duration {
        self.timeouts.get(action.as_str()).copied().unwrap_or(HANDLER_TIMEOUT)
    }
}

/// A template parameter.
#[derive(Clone, Debug, Default)]
pub struct Parameter {
    /// `Type`.
    pub kind: ParameterKind,
    /// `Default`.
    pub default: Option<String>,
    /// `AllowedValues`.
    pub allowed_values: Vec<String>,
    /// `AllowedPattern`, anchored: it must match the whole value (each item of a list).
    pub allowed_pattern: Option<(String, regex::Regex)>,
    /// `MinLength`.
    pub min_length: Option<usize>,
    /// `MaxLength`.
    pub max_length: Option<usize>,
    /// `MinValue`.
    pub min_value: Option<f64>,
    /// `MaxValue`.
    pub max_value: Option<f64>,
    /// `ConstraintDescription`: said when a value is refused.
    pub constraint_description: Option<String>,
    /// `NoEcho`: the value is never stored nor shown.
    pub no_echo: bool,
}

/// What a parameter may say of itself.
const PARAMETER_ATTRIBUTES: &[&str] = &[
    "Type",
    "Default",
    "Description",
    "NoEcho",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "ConstraintDescription",
];

impl Parameter {
    /// Why `text` is not a value this parameter allows, if it is not: CloudFormation's checks,
    /// item by item for a list. The `ConstraintDescription`, when given, is the reason.
    pub fn violation(&self, text: &str) -> Option<String> {
        let shown = |value: &str| if self.no_echo { "the value given".to_owned() } else { format!("'{value}'") };
        let items: Vec<&str> = match self.kind {
            ParameterKind::CommaDelimitedList => text.split(',').map(str::trim).collect(),
            _ => vec![text],
        };
        let broken = items.iter().find_map(|item| {
            if !self.allowed_values.is_empty() && !self.allowed_values.iter().any(|allowed| allowed == item) {
                return Some(format!(
                    "{} is not one of the AllowedValues {}",
                    shown(item),
                    self.allowed_values.join(", ")
                ));
            }
            if let Some((pattern, regex)) = &self.allowed_pattern
                && !regex.is_match(item)
            {
                return Some(format!("{} does not match the AllowedPattern {pattern}", shown(item)));
            }
            let length = item.chars().count();
            if self.min_length.is_some_and(|min| length < min) || self.max_length.is_some_and(|max| length > max) {
                let bound = |b: Option<usize>| b.map_or("-".to_owned(), |b| b.to_string());
                return Some(format!(
                    "{} is {length} characters; MinLength {}, MaxLength {}",
                    shown(item),
                    bound(self.min_length),
                    bound(self.max_length)
                ));
            }
            None
        });
        let broken = broken.or_else(|| {
            let number = (self.kind == ParameterKind::Number).then(|| number(text)).flatten()?;
            let outside =
                self.min_value.is_some_and(|min| number < min) || self.max_value.is_some_and(|max| number > max);
            let bound = |b: Option<f64>| b.map_or("-".to_owned(), |b| b.to_string());
            outside.then(|| {
                format!(
                    "{} is outside MinValue {}, MaxValue {}",
                    shown(text),
                    bound(self.min_value),
                    bound(self.max_value)
                )
            })
        })?;
        Some(match &self.constraint_description {
            Some(description) => format!("{broken}: {description}"),
            None => broken,
        })
    }
}

/// A Number parameter's value: finite (Rust would also read `NaN` and `inf`).
pub fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|number| number.is_finite())
}

/// The parameter types the engine takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParameterKind {
    /// `String`.
    #[default]
    String,
    /// `Number`.
    Number,
    /// `CommaDelimitedList`.
    CommaDelimitedList,
}

/// A template resource.
#[derive(Clone, Debug)]
pub struct Resource {
    /// `Type`.
    pub type_name: String,
    /// `Properties`, in long form.
    pub properties: Value,
    /// `DependsOn`.
    pub depends_on: BTreeSet<String>,
    /// `Condition`.
    pub condition: Option<String>,
    /// `DeletionPolicy` other than `Delete`: `Retain` or `RetainExceptOnCreate`.
    pub deletion_policy: Option<String>,
    /// `UpdateReplacePolicy` other than `Delete`: `Retain`.
    pub update_replace_policy: Option<String>,
}

/// A template output.
#[derive(Clone, Debug)]
pub struct Output {
    /// `Value`, in long form.
    pub value: Value,
    /// `Condition`.
    pub condition: Option<String>,
    /// `Export.Name`: the name other stacks import the value by.
    pub export: Option<Value>,
}

/// A template that passed every static check.
#[derive(Clone, Debug)]
pub struct Template {
    /// `Parameters`, by name.
    pub parameters: BTreeMap<String, Parameter>,
    /// Map name → top-level key → second-level key → value.
    pub mappings: BTreeMap<String, Map<String, Value>>,
    /// `Conditions`, by name, in long form.
    pub conditions: BTreeMap<String, Value>,
    /// `Resources`, by logical id.
    pub resources: BTreeMap<String, Resource>,
    /// `Outputs`, by name.
    pub outputs: BTreeMap<String, Output>,
}

/// What a piece of a template refers to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    /// `Ref` of a parameter, pseudo parameter or resource.
    Name(String),
    /// `Fn::GetAtt` of a resource's attribute.
    Attribute(String, String),
    /// A condition by name.
    Condition(String),
    /// `Fn::FindInMap`: the map, and the keys where they are written out.
    Mapping(String, Option<String>, Option<String>),
}

impl Template {
    /// Checks a template for what the engine serves: `types` are the types with handlers here.
    pub fn check(document: &Value, types: &BTreeMap<String, TypeInfo>) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let Some(root) = document.as_object() else {
            return Err(vec![Problem::new(
                "template",
                "must be a mapping of sections (Parameters, Resources, Outputs, ...)",
            )]);
        };
        for key in root.keys().filter(|key| !SECTIONS.contains(&key.as_str())) {
            problems.push(Problem::new(
                key.as_str(),
                format!("this section is not supported here; supported: {}", SECTIONS.join(", ")),
            ));
        }
        let section = |name: &str, problems: &mut Vec<Problem>| -> Map<String, Value> {
            match root.get(name) {
                None => Map::new(),
                Some(Value::Object(map)) => {
                    if let Some((_, most)) = MAX_ENTRIES.iter().find(|(section, _)| *section == name)
                        && map.len() > *most
                    {
                        problems.push(Problem::new(
                            name,
                            format!("{} entries; CloudFormation takes at most {most} in a template", map.len()),
                        ));
                    }
                    for key in map.keys().filter(|key| key.chars().count() > MAX_LOGICAL_ID_CHARS) {
                        let start: String = key.chars().take(32).collect();
                        problems.push(Problem::new(
                            format!("{name}.{start}..."),
                            format!(
                                "a logical ID of {} characters; CloudFormation takes at most {MAX_LOGICAL_ID_CHARS}: shorten it",
                                key.chars().count()
                            ),
                        ));
                    }
                    // As CloudFormation requires; the state also relies on it to keep a
                    // replaced resource under a key no logical ID can take.
                    for key in map.keys().filter(|key| {
                        name != "Conditions" && (key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()))
                    }) {
                        problems.push(Problem::new(
                            format!("{name}.{key}"),
                            "a logical ID holds only letters and digits (A-Za-z0-9); rename it",
                        ));
                    }
                    map.clone()
                }
                Some(_) => {
                    problems.push(Problem::new(name, "must be a mapping of logical names"));
                    Map::new()
                }
            }
        };
        let parameters = section("Parameters", &mut problems)
            .into_iter()
            .filter_map(|(name, spec)| parameter(&name, &spec).map_err(|p| problems.push(p)).ok().map(|p| (name, p)))
            .collect::<BTreeMap<_, _>>();
        let mappings = section("Mappings", &mut problems)
            .into_iter()
            .filter_map(|(name, map)| mapping(&name, map).map_err(|p| problems.push(p)).ok().map(|m| (name, m)))
            .collect();
        let conditions: BTreeMap<String, Value> = section("Conditions", &mut problems).into_iter().collect();
        let resources_raw = section("Resources", &mut problems);
        if resources_raw.is_empty() {
            problems.push(Problem::new("Resources", "a template needs at least one resource"));
        }
        let mut resources = BTreeMap::new();
        for (name, spec) in resources_raw {
            // A refused resource still counts for references to it, so they are not refused too.
            let (resource, mut found) = resource(&name, &spec, types);
            problems.append(&mut found);
            resources.insert(name, resource);
        }
        let outputs = section("Outputs", &mut problems)
            .into_iter()
            .filter_map(|(name, spec)| {
                let at = format!("Outputs.{name}");
                let Some(value) = spec.get("Value").cloned() else {
                    problems.push(Problem::new(at, "an output needs a Value"));
                    return None;
                };
                if let Some(key) = spec
                    .as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .find(|key| !["Value", "Description", "Condition", "Export"].contains(&key.as_str()))
                {
                    problems.push(Problem::new(
                        format!("{at}.{key}"),
                        "not an output attribute; an output has Value, Description, Condition and Export",
                    ));
                }
                let export = match spec.get("Export") {
                    None => None,
                    Some(export) => match export.as_object().filter(|e| e.len() == 1).and_then(|e| e.get("Name")) {
                        Some(name) => Some(name.clone()),
                        None => {
                            problems.push(Problem::new(format!("{at}.Export"), "an export is {Name: name}"));
                            None
                        }
                    },
                };
                let condition = condition_name(&spec, &at).map_err(|p| problems.push(p)).ok().flatten();
                Some((name, Output { value, condition, export }))
            })
            .collect();
        for name in resources.keys().filter(|name| parameters.contains_key(*name)) {
            problems.push(Problem::new(
                format!("Resources.{name}"),
                "a parameter has this name too; a logical ID names one parameter or resource: rename one",
            ));
        }
        let template = Self { parameters, mappings, conditions, resources, outputs };
        template.check_references(types, &mut problems);
        if problems.is_empty() {
            if let Err(problem) = template.creation_order() {
                problems.push(problem);
            }
            if let Err(problem) = template.condition_order() {
                problems.push(problem);
            }
        }
        if problems.is_empty() { Ok(template) } else { Err(problems) }
    }

    /// Every reference resolves, every function is supported and well formed.
    fn check_references(&self, types: &BTreeMap<String, TypeInfo>, problems: &mut Vec<Problem>) {
        let check = |at: String, value: &Value, in_condition: bool, problems: &mut Vec<Problem>| {
            for (location, reference) in walk(value, &at, in_condition, problems) {
                if let Some(problem) = self.unresolved(&reference, types) {
                    problems.push(Problem::new(location, problem));
                }
            }
        };
        for (name, condition) in &self.conditions {
            check(format!("Conditions.{name}"), condition, true, problems);
            self.refuse_resources(
                &format!("Conditions.{name}"),
                condition,
                true,
                "a condition reads parameters, pseudo parameters, mappings and other conditions",
                problems,
            );
        }
        for (name, resource) in &self.resources {
            check(format!("Resources.{name}.Properties"), &resource.properties, false, problems);
            for dependency in &resource.depends_on {
                if !self.resources.contains_key(dependency) {
                    problems.push(Problem::new(
                        format!("Resources.{name}.DependsOn"),
                        format!("{dependency} is not a resource of this template"),
                    ));
                }
            }
            if let Some(condition) = resource.condition.as_ref().filter(|c| !self.conditions.contains_key(*c)) {
                problems.push(Problem::new(
                    format!("Resources.{name}.Condition"),
                    format!("{condition} is not a condition of this template"),
                ));
            }
            check_dynamic_references(
                &format!("Resources.{name}.Properties"),
                &resource.properties,
                &resource.type_name,
                problems,
            );
        }
        for (name, output) in &self.outputs {
            check(format!("Outputs.{name}.Value"), &output.value, false, problems);
            if let Some(export) = &output.export {
                check(format!("Outputs.{name}.Export.Name"), export, false, problems);
                self.refuse_resources(
                    &format!("Outputs.{name}.Export.Name"),
                    export,
                    false,
                    "an export's name is built from parameters and pseudo parameters",
                    problems,
                );
            }
            if let Some(condition) = output.condition.as_ref().filter(|c| !self.conditions.contains_key(*c)) {
                problems.push(Problem::new(
                    format!("Outputs.{name}.Condition"),
                    format!("{condition} is not a condition of this template"),
                ));
            }
        }
    }

    /// A problem for each resource `value` refers to, where no resource may be read.
    fn refuse_resources(
        &self,
        at: &str,
        value: &Value,
        in_condition: bool,
        what_instead: &str,
        problems: &mut Vec<Problem>,
    ) {
        for (location, reference) in references(value, at, in_condition) {
            if let Reference::Name(name) | Reference::Attribute(name, _) = &reference
                && self.resources.contains_key(name)
            {
                problems.push(Problem::new(
                    location,
                    format!("{name} is a resource, which cannot be read here: {what_instead}"),
                ));
            }
        }
    }

    fn unresolved(&self, reference: &Reference, types: &BTreeMap<String, TypeInfo>) -> Option<String> {
        match reference {
            Reference::Name(name)
                if PSEUDO_PARAMETERS.contains(&name.as_str())
                    || self.parameters.contains_key(name)
                    || self.resources.contains_key(name) =>
            {
                None
            }
            Reference::Name(name) => {
                Some(format!("Ref {name}: no parameter, resource or pseudo parameter has that name"))
            }
            Reference::Condition(name) if self.conditions.contains_key(name) => None,
            Reference::Condition(name) => Some(format!("condition {name} is not defined under Conditions")),
            Reference::Mapping(map, top, second) => {
                let Some(found) = self.mappings.get(map) else {
                    return Some(format!("Fn::FindInMap: {map} is not a map under Mappings"));
                };
                let Some(top) = top else { return None };
                let Some(keys) = found.get(top) else {
                    let known: Vec<&str> = found.keys().map(String::as_str).collect();
                    return Some(format!("Fn::FindInMap: {map} has no key {top}; it has {}", known.join(", ")));
                };
                second.as_ref().filter(|second| keys.get(second.as_str()).is_none()).map(|second| {
                    let known: Vec<&str> =
                        keys.as_object().into_iter().flat_map(|k| k.keys()).map(String::as_str).collect();
                    format!("Fn::FindInMap: {map}.{top} has no key {second}; it has {}", known.join(", "))
                })
            }
            Reference::Attribute(resource, attribute) => {
                let Some(found) = self.resources.get(resource) else {
                    return Some(format!(
                        "Fn::GetAtt {resource}.{attribute}: {resource} is not a resource of this template"
                    ));
                };
                let info = types.get(&found.type_name)?;
                (!info.attributes.contains(attribute)).then(|| {
                    let known: Vec<&str> = info.attributes.iter().map(String::as_str).collect();
                    format!(
                        "Fn::GetAtt {resource}.{attribute}: {} has no attribute {attribute}; it has {}",
                        found.type_name,
                        known.join(", ")
                    )
                })
            }
        }
    }

    /// Every `Fn::ImportValue` in resources and outputs: its location and the name's expression.
    pub fn imports(&self) -> Vec<(String, Value)> {
        fn find(value: &Value, at: &str, out: &mut Vec<(String, Value)>) {
            match value {
                Value::Object(map) if map.len() == 1 && map.contains_key("Fn::ImportValue") => {
                    out.push((format!("{at}.Fn::ImportValue"), map["Fn::ImportValue"].clone()))
                }
                Value::Object(map) => map.iter().for_each(|(key, item)| find(item, &format!("{at}.{key}"), out)),
                Value::Array(items) => {
                    items.iter().enumerate().for_each(|(index, item)| find(item, &format!("{at}[{index}]"), out))
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (name, resource) in &self.resources {
            find(&resource.properties, &format!("Resources.{name}.Properties"), &mut out);
        }
        for (name, output) in &self.outputs {
            find(&output.value, &format!("Outputs.{name}.Value"), &mut out);
        }
        out
    }

    /// The resources each resource needs first (by `Ref`, `Fn::GetAtt`, `Fn::Sub` and
    /// `DependsOn`), both branches of an `Fn::If` included, as CloudFormation counts them.
    pub fn dependencies(&self, name: &str) -> BTreeSet<String> {
        let Some(resource) = self.resources.get(name) else { return BTreeSet::new() };
        let mut ignored = Vec::new();
        let mut found: BTreeSet<String> = walk(&resource.properties, "", false, &mut ignored)
            .into_iter()
            .filter_map(|(_, reference)| match reference {
                Reference::Name(name) | Reference::Attribute(name, _) if self.resources.contains_key(&name) => {
                    Some(name)
                }
                _ => None,
            })
            .collect();
        found.extend(resource.depends_on.iter().cloned());
        found
    }

    /// The attributes of `resource` that other resources and the outputs read: a resource
    /// counts as configured once its model holds them.
    pub fn attributes_read(&self, resource: &str) -> BTreeSet<String> {
        let mut ignored = Vec::new();
        let values = self.resources.values().map(|r| &r.properties).chain(self.outputs.values().map(|o| &o.value));
        values
            .flat_map(|value| walk(value, "", false, &mut ignored))
            .filter_map(|(_, reference)| match reference {
                Reference::Attribute(name, attribute) if name == resource => Some(attribute),
                _ => None,
            })
            .collect()
    }

    /// Resources in an order where each comes after what it needs; a cycle is a problem that
    /// names it.
    pub fn creation_order(&self) -> Result<Vec<String>, Problem> {
        let graph: BTreeMap<&str, BTreeSet<String>> =
            self.resources.keys().map(|name| (name.as_str(), self.dependencies(name))).collect();
        topological(&graph).map_err(|cycle| {
            Problem::new(
                "Resources",
                format!("circular dependency: {}; break it by removing one reference or DependsOn", cycle.join(" → ")),
            )
        })
    }

    fn condition_order(&self) -> Result<Vec<String>, Problem> {
        let mut ignored = Vec::new();
        let graph: BTreeMap<&str, BTreeSet<String>> = self
            .conditions
            .iter()
            .map(|(name, value)| {
                let needs = walk(value, "", true, &mut ignored)
                    .into_iter()
                    .filter_map(|(_, r)| if let Reference::Condition(c) = r { Some(c) } else { None })
                    .collect();
                (name.as_str(), needs)
            })
            .collect();
        topological(&graph)
            .map_err(|cycle| Problem::new("Conditions", format!("circular condition: {}", cycle.join(" → "))))
    }
}

fn parameter(name: &str, spec: &Value) -> Result<Parameter, Problem> {
    let at = format!("Parameters.{name}");
    let kind = match spec.get("Type").and_then(Value::as_str) {
        Some("String") => ParameterKind::String,
        Some("Number") => ParameterKind::Number,
        Some("CommaDelimitedList") => ParameterKind::CommaDelimitedList,
        Some(other) => {
            return Err(Problem::new(
                at,
                format!("Type {other} is not supported here; use String, Number or CommaDelimitedList"),
            ));
        }
        None => return Err(Problem::new(at, "a parameter needs a Type (String, Number or CommaDelimitedList)")),
    };
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    };
    if let Some(key) =
        spec.as_object().into_iter().flat_map(|o| o.keys()).find(|key| !PARAMETER_ATTRIBUTES.contains(&key.as_str()))
    {
        return Err(Problem::new(
            format!("{at}.{key}"),
            format!("not a parameter attribute; a parameter has {}", PARAMETER_ATTRIBUTES.join(", ")),
        ));
    }
    let for_kinds = |key: &str, kinds: &[ParameterKind], what: &str| match spec.get(key) {
        Some(_) if !kinds.contains(&kind) => {
            Err(Problem::new(format!("{at}.{key}"), format!("applies to {what} parameters only")))
        }
        _ => Ok(spec.get(key)),
    };
    let textual = [ParameterKind::String, ParameterKind::CommaDelimitedList];
    let whole = |key: &str| -> Result<Option<usize>, Problem> {
        for_kinds(key, &textual, "String and CommaDelimitedList")?
            .map(|value| {
                text(value)
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| Problem::new(format!("{at}.{key}"), "must be a whole number from 0"))
            })
            .transpose()
    };
    let number = |key: &str| -> Result<Option<f64>, Problem> {
        for_kinds(key, &[ParameterKind::Number], "Number")?
            .map(|value| {
                text(value)
                    .as_deref()
                    .and_then(number)
                    .ok_or_else(|| Problem::new(format!("{at}.{key}"), "must be a number"))
            })
            .transpose()
    };
    let allowed_pattern = match for_kinds("AllowedPattern", &textual, "String and CommaDelimitedList")? {
        None => None,
        Some(Value::String(pattern)) => {
            let anchored = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|error| {
                Problem::new(
                    format!("{at}.AllowedPattern"),
                    format!("not a pattern the engine reads (no look-around or back-references): {error}"),
                )
            })?;
            Some((pattern.clone(), anchored))
        }
        Some(_) => return Err(Problem::new(format!("{at}.AllowedPattern"), "must be a string")),
    };
    let default = spec
        .get("Default")
        .map(|value| {
            text(value).ok_or_else(|| {
                Problem::new(
                    format!("{at}.Default"),
                    "must be a string or a number (a list's items in one string, separated by commas)",
                )
            })
        })
        .transpose()?;
    let allowed_values = match spec.get("AllowedValues") {
        None => Vec::new(),
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(text).collect::<Option<_>>().ok_or_else(|| {
                Problem::new(format!("{at}.AllowedValues"), "each allowed value must be a string or a number")
            })?
        }
        Some(_) => return Err(Problem::new(format!("{at}.AllowedValues"), "must be a list of the values allowed")),
    };
    let no_echo = match spec.get("NoEcho") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(flag)) if flag.eq_ignore_ascii_case("true") || flag.eq_ignore_ascii_case("false") => {
            flag.eq_ignore_ascii_case("true")
        }
        Some(_) => return Err(Problem::new(format!("{at}.NoEcho"), "must be true or false")),
    };
    Ok(Parameter {
        kind,
        default,
        allowed_values,
        allowed_pattern,
        min_length: whole("MinLength")?,
        max_length: whole("MaxLength")?,
        min_value: number("MinValue")?,
        max_value: number("MaxValue")?,
        constraint_description: spec.get("ConstraintDescription").and_then(text),
        no_echo,
    })
}

fn resource(name: &str, spec: &Value, types: &BTreeMap<String, TypeInfo>) -> (Resource, Vec<Problem>) {
    let at = format!("Resources.{name}");
    let mut problems = Vec::new();
    let type_name = spec.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned();
    if is_custom(&type_name) {
        if spec.pointer("/Properties/ServiceToken").is_none() {
            problems.push(Problem::new(
                format!("{at}.Properties.ServiceToken"),
                "a custom resource needs the ServiceToken of its function",
            ));
        }
    } else if !types.contains_key(&type_name) {
        let served: Vec<&str> = types.keys().map(String::as_str).collect();
        let what = if type_name.is_empty() {
            "a resource needs a Type".to_owned()
        } else {
            format!("no handler here serves {type_name}")
        };
        problems.push(Problem::new(
            format!("{at}.Type"),
            format!("{what}; the types served here are {} and custom resources (Custom::NAME)", served.join(", ")),
        ));
    }
    for key in spec.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy", "UpdateReplacePolicy"]
            .contains(&key.as_str())
        {
            problems.push(Problem::new(format!("{at}.{key}"), "not supported here; a resource has Type, Properties, DependsOn, Condition, Metadata, DeletionPolicy and UpdateReplacePolicy"));
        }
    }
    let mut policy = |key: &str, allowed: &[&str]| -> Option<String> {
        let given = spec.get(key)?;
        match given.as_str() {
            Some(policy) if allowed.contains(&policy) => Some(policy.to_owned()).filter(|p| p != "Delete"),
            Some("Snapshot") => {
                problems.push(Problem::new(
                    format!("{at}.{key}"),
                    "Snapshot is for types with snapshots (volumes, databases); these have none: use Retain or Delete",
                ));
                None
            }
            _ => {
                problems
                    .push(Problem::new(format!("{at}.{key}"), format!("must be {}, written out", allowed.join(", "))));
                None
            }
        }
    };
    let deletion_policy = policy("DeletionPolicy", &["Delete", "Retain", "RetainExceptOnCreate"]);
    let update_replace_policy = policy("UpdateReplacePolicy", &["Delete", "Retain"]);
    let depends_on = match spec.get("DependsOn") {
        None => BTreeSet::new(),
        Some(Value::String(one)) => BTreeSet::from([one.clone()]),
        Some(Value::Array(many)) if many.iter().all(Value::is_string) => {
            many.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        Some(_) => {
            problems.push(Problem::new(format!("{at}.DependsOn"), "must be a resource name or a list of them"));
            BTreeSet::new()
        }
    };
    let properties = spec.get("Properties").cloned().unwrap_or_else(|| Value::Object(Map::new()));
    if !properties.is_object() {
        problems.push(Problem::new(format!("{at}.Properties"), "must be a mapping"));
    }
    let condition = condition_name(spec, &at).map_err(|p| problems.push(p)).ok().flatten();
    (Resource { type_name, properties, depends_on, condition, deletion_policy, update_replace_policy }, problems)
}

/// The references in a value already checked, with their locations; `in_condition` as for
/// [`walk`].
pub fn references(value: &Value, at: &str, in_condition: bool) -> Vec<(String, Reference)> {
    walk(value, at, in_condition, &mut Vec::new())
}

/// The references in `value`, with their locations; malformed or unsupported functions become
/// problems. `in_condition` allows `Condition` references (inside `Conditions`).
fn walk(value: &Value, at: &str, in_condition: bool, problems: &mut Vec<Problem>) -> Vec<(String, Reference)> {
    let mut found = Vec::new();
    visit(value, at, in_condition, problems, &mut found);
    found
}

fn visit(
    value: &Value,
    at: &str,
    in_condition: bool,
    problems: &mut Vec<Problem>,
    found: &mut Vec<(String, Reference)>,
) {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(index, item)| visit(item, &format!("{at}[{index}]"), in_condition, problems, found)),
        Value::Object(map) => {
            if let Some((key, argument)) = single_function(map) {
                let at = format!("{at}.{key}");
                function(key, argument, &at, in_condition, problems, found);
            } else {
                for (key, item) in map {
                    visit(item, &format!("{at}.{key}"), in_condition, problems, found);
                }
            }
        }
        _ => {}
    }
}

/// The `Condition` a resource or output is made under: a condition's name, written out.
fn condition_name(spec: &Value, at: &str) -> Result<Option<String>, Problem> {
    match spec.get("Condition") {
        None => Ok(None),
        Some(Value::String(name)) => Ok(Some(name.clone())),
        Some(_) => Err(Problem::new(
            format!("{at}.Condition"),
            "must be the name of a condition under Conditions, written out",
        )),
    }
}

/// `{"Ref": ...}`, `{"Condition": ...}` or `{"Fn::X": ...}`: the function's name and argument.
pub fn single_function(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let (key, argument) = map.iter().next().filter(|_| map.len() == 1)?;
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::")).then_some((key.as_str(), argument))
}

/// A `Mappings` entry: a map of keys to maps of keys to strings or lists of strings.
fn mapping(name: &str, map: Value) -> Result<Map<String, Value>, Problem> {
    let shape = "a map holds keys, each a map of keys to strings or lists of strings";
    let Value::Object(map) = map else { return Err(Problem::new(format!("Mappings.{name}"), shape)) };
    for (top, keys) in &map {
        let Some(keys) = keys.as_object() else { return Err(Problem::new(format!("Mappings.{name}.{top}"), shape)) };
        for (second, value) in keys {
            let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
            if !scalar(value) && !value.as_array().is_some_and(|items| items.iter().all(scalar)) {
                return Err(Problem::new(format!("Mappings.{name}.{top}.{second}"), shape));
            }
        }
    }
    Ok(map)
}

/// Whether a type is a classic custom resource, served by the function its `ServiceToken` names.
pub fn is_custom(type_name: &str) -> bool {
    type_name.starts_with("Custom::") || type_name == "AWS::CloudFormation::CustomResource"
}

/// Whether `value` is a function call, whose value is known only when the stack deploys.
fn is_function(value: &Value) -> bool {
    value.as_object().and_then(single_function).is_some()
}

fn function(
    key: &str,
    argument: &Value,
    at: &str,
    in_condition: bool,
    problems: &mut Vec<Problem>,
    found: &mut Vec<(String, Reference)>,
) {
    let mut bad = |shape: &str| problems.push(Problem::new(at, format!("{key} takes {shape}")));
    match key {
        "Ref" => match argument.as_str() {
            Some(name) => found.push((at.to_owned(), Reference::Name(name.to_owned()))),
            None => bad("a name"),
        },
        "Condition" if in_condition => match argument.as_str() {
            Some(name) => found.push((at.to_owned(), Reference::Condition(name.to_owned()))),
            None => bad("a condition name"),
        },
        "Fn::GetAtt" => match argument.as_array().map(Vec::as_slice) {
            Some([Value::String(resource), Value::String(attribute)]) => {
                found.push((at.to_owned(), Reference::Attribute(resource.clone(), attribute.clone())))
            }
            _ => bad("[Resource, Attribute] or Resource.Attribute"),
        },
        "Fn::Sub" => {
            let (text, variables) = match argument {
                Value::String(text) => (Some(text.as_str()), None),
                Value::Array(parts) => match parts.as_slice() {
                    [Value::String(text), Value::Object(variables)] => (Some(text.as_str()), Some(variables)),
                    _ => (None, None),
                },
                _ => (None, None),
            };
            let Some(text) = text else { return bad("a string, or [string, {Name: value}]") };
            if let Some(variables) = variables {
                for (name, value) in variables {
                    visit(value, &format!("{at}[1].{name}"), in_condition, problems, found);
                }
            }
            match sub_parts(text) {
                Ok(parts) => {
                    for part in parts {
                        if let SubPart::Variable(name) = part {
                            if variables.is_some_and(|v| v.contains_key(&name)) {
                                continue;
                            }
                            let reference = match name.split_once('.') {
                                Some((resource, attribute)) if !PSEUDO_PARAMETERS.contains(&name.as_str()) => {
                                    Reference::Attribute(resource.to_owned(), attribute.to_owned())
                                }
                                _ => Reference::Name(name),
                            };
                            found.push((at.to_owned(), reference));
                        }
                    }
                }
                Err(message) => problems.push(Problem::new(at, message)),
            }
        }
        // What is written out is checked here; what functions produce, when the stack deploys.
        "Fn::Join" => match argument.as_array().map(Vec::as_slice) {
            Some([Value::String(_), list]) => {
                visit(list, &format!("{at}[1]"), in_condition, problems, found);
                let joinable = |item: &Value| {
                    is_function(item) || matches!(item, Value::String(_) | Value::Number(_) | Value::Bool(_))
                };
                if !is_function(list) && !list.as_array().is_some_and(|items| items.iter().all(joinable)) {
                    problems.push(Problem::new(
                        format!("{at}[1]"),
                        "Fn::Join joins a list of strings, numbers or functions",
                    ));
                }
            }
            _ => bad("[delimiter, [values]]"),
        },
        "Fn::Select" => match argument.as_array().map(Vec::as_slice) {
            Some([index, list]) => {
                visit(index, &format!("{at}[0]"), in_condition, problems, found);
                visit(list, &format!("{at}[1]"), in_condition, problems, found);
                let written_index =
                    (!is_function(index)).then(|| scalar_text(index).and_then(|text| text.parse::<usize>().ok()));
                if written_index == Some(None) {
                    problems.push(Problem::new(format!("{at}[0]"), "Fn::Select's index is a whole number from 0"));
                }
                if !is_function(list) && !list.is_array() {
                    problems.push(Problem::new(format!("{at}[1]"), "Fn::Select selects from a list"));
                }
                if let (Some(Some(index)), Some(items)) = (written_index, list.as_array())
                    && index >= items.len()
                {
                    problems.push(Problem::new(
                        format!("{at}[0]"),
                        format!("Fn::Select: no value at index {index}; the list has {}", items.len()),
                    ));
                }
            }
            _ => bad("[index, [values]]"),
        },
        "Fn::ImportValue" if in_condition => problems
            .push(Problem::new(at, "Fn::ImportValue cannot be used in Conditions; pass the value as a parameter")),
        "Fn::ImportValue" if argument.is_string() || is_function(argument) => {
            visit(argument, at, in_condition, problems, found)
        }
        "Fn::ImportValue" => bad("the name of an export"),
        "Fn::Split" => match argument.as_array().map(Vec::as_slice) {
            Some([Value::String(delimiter), source])
                if !delimiter.is_empty() && (source.is_string() || is_function(source)) =>
            {
                visit(source, &format!("{at}[1]"), in_condition, problems, found);
            }
            _ => bad("[delimiter, string] (the delimiter not empty)"),
        },
        "Fn::Base64" if argument.is_string() || is_function(argument) => {
            visit(argument, at, in_condition, problems, found)
        }
        "Fn::Base64" => bad("a string"),
        "Fn::FindInMap" => match argument.as_array().map(Vec::as_slice) {
            Some([map, top, second]) => {
                for (index, key) in [map, top, second].into_iter().enumerate() {
                    if !key.is_string() && !is_function(key) {
                        problems.push(Problem::new(
                            format!("{at}[{index}]"),
                            "Fn::FindInMap's names are strings or functions",
                        ));
                    }
                    visit(key, &format!("{at}[{index}]"), in_condition, problems, found);
                }
                let written = |key: &Value| key.as_str().map(str::to_owned);
                if let Some(map) = written(map) {
                    found.push((
                        at.to_owned(),
                        Reference::Mapping(map, written(top), written(top).and(written(second))),
                    ));
                }
            }
            _ => bad("[MapName, TopLevelKey, SecondLevelKey]"),
        },
        "Fn::If" => match argument.as_array().map(Vec::as_slice) {
            Some([Value::String(condition), when_true, when_false]) if !in_condition => {
                found.push((at.to_owned(), Reference::Condition(condition.clone())));
                visit(when_true, &format!("{at}[1]"), in_condition, problems, found);
                visit(when_false, &format!("{at}[2]"), in_condition, problems, found);
            }
            Some([_, _, _]) if in_condition => {
                problems.push(Problem::new(at, "Fn::If is not allowed inside Conditions; use Fn::And, Fn::Or, Fn::Not"))
            }
            _ => bad("[condition name, value if true, value if false]"),
        },
        "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" if !in_condition => {
            problems.push(Problem::new(at, format!("{key} belongs in Conditions; refer to the condition with Fn::If")));
        }
        "Fn::Equals" => match argument.as_array().map(Vec::as_slice) {
            Some([a, b]) => {
                visit(a, &format!("{at}[0]"), in_condition, problems, found);
                visit(b, &format!("{at}[1]"), in_condition, problems, found);
            }
            _ => bad("[value, value]"),
        },
        "Fn::And" | "Fn::Or" | "Fn::Not" => match argument.as_array() {
            Some(items)
                if (key == "Fn::Not" && items.len() == 1) || (key != "Fn::Not" && (2..=10).contains(&items.len())) =>
            {
                items
                    .iter()
                    .enumerate()
                    .for_each(|(index, item)| visit(item, &format!("{at}[{index}]"), in_condition, problems, found));
            }
            _ => bad(if key == "Fn::Not" { "[condition]" } else { "2 to 10 conditions" }),
        },
        other => problems.push(Problem::new(
            at,
            format!(
                "{other} is not supported here; the supported functions are {} (and Condition inside Conditions)",
                SUPPORTED_FUNCTIONS.join(", ")
            ),
        )),
    }
}

/// A piece of an `Fn::Sub` string.
#[derive(Debug, PartialEq, Eq)]
pub enum SubPart {
    /// Text kept as it is.
    Text(String),
    /// A `${...}` variable: a parameter, a pseudo parameter, or `Resource.Attribute`.
    Variable(String),
}

/// Splits an `Fn::Sub` string: `${Name}` and `${Resource.Attribute}` are variables,
/// `${!Literal}` is the text `${Literal}`.
pub fn sub_parts(text: &str) -> Result<Vec<SubPart>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        let Some(end) = after.find('}') else {
            return Err(format!("Fn::Sub: '${{' without its closing '}}' in {text:?}"));
        };
        let inner = &after[2..end];
        let mut literal = before.to_owned();
        if let Some(escaped) = inner.strip_prefix('!') {
            literal.push_str(&format!("${{{escaped}}}"));
            push_text(&mut parts, literal);
        } else {
            push_text(&mut parts, literal);
            if inner.trim().is_empty() {
                return Err(format!("Fn::Sub: an empty ${{}} in {text:?}"));
            }
            parts.push(SubPart::Variable(inner.trim().to_owned()));
        }
        rest = &after[end + 1..];
    }
    push_text(&mut parts, rest.to_owned());
    Ok(parts)
}

fn push_text(parts: &mut Vec<SubPart>, text: String) {
    if text.is_empty() {
        return;
    }
    if let Some(SubPart::Text(last)) = parts.last_mut() {
        last.push_str(&text);
    } else {
        parts.push(SubPart::Text(text));
    }
}

/// Dynamic references in a resource's properties: `ssm` and `secretsmanager` are resolved
/// against the local emulator; `ssm-secure` is refused as CloudFormation refuses it.
fn check_dynamic_references(at: &str, value: &Value, type_name: &str, problems: &mut Vec<Problem>) {
    match value {
        Value::String(text) => {
            for reference in dynamic_references(text) {
                if let Some(problem) = reference.refusal(type_name) {
                    problems.push(Problem::new(at, problem));
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, item)| check_dynamic_references(&format!("{at}[{i}]"), item, type_name, problems)),
        Value::Object(map) => map
            .iter()
            .for_each(|(key, item)| check_dynamic_references(&format!("{at}.{key}"), item, type_name, problems)),
        _ => {}
    }
}

/// One `{{resolve:service:key}}` in a string.
#[derive(Debug, PartialEq, Eq)]
pub struct DynamicReference {
    /// The whole `{{resolve:...}}` text.
    pub text: String,
    /// `ssm` or `secretsmanager`.
    pub service: String,
    /// Everything after the service: `name[:version]`, or `secret-id[:SecretString:json-key:stage:version-id]`.
    pub key: String,
}

impl DynamicReference {
    /// Why this reference cannot be resolved in a property of `type_name`, if it cannot.
    pub fn refusal(&self, type_name: &str) -> Option<String> {
        match self.service.as_str() {
            "secretsmanager" if is_custom(type_name) => Some(format!(
                "{{{{resolve:secretsmanager:...}}}}: dynamic references for secure values are not supported in custom \
                 resources ({type_name}); pass the value as a NoEcho parameter, or let the function read the secret itself"
            )),
            "ssm" | "secretsmanager" if !self.key.is_empty() => None,
            "ssm-secure" => Some(format!(
                "{{{{resolve:ssm-secure:...}}}}: SSM Secure reference is not supported in: [{type_name}]. CloudFormation resolves \
                 secure SSM parameters only in the AWS resource properties that list them; pass the value as a NoEcho \
                 parameter or through {{{{resolve:secretsmanager:...}}}}"
            )),
            service => Some(format!(
                "{{{{resolve:{service}:...}}}}: write {{{{resolve:ssm:NAME}}}} or {{{{resolve:secretsmanager:SECRET-ID}}}}"
            )),
        }
    }
}

/// Every dynamic reference in `text`.
pub fn dynamic_references(text: &str) -> Vec<DynamicReference> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{resolve:") {
        let after = &rest[start..];
        let Some(end) = after.find("}}") else { break };
        let whole = &after[..end + 2];
        let inner = &whole["{{resolve:".len()..whole.len() - 2];
        let (service, key) = inner.split_once(':').unwrap_or((inner, ""));
        found.push(DynamicReference { text: whole.to_owned(), service: service.to_owned(), key: key.to_owned() });
        rest = &after[end + 2..];
    }
    found
}

/// Nodes in dependency order, or the nodes of one cycle.
fn topological(graph: &BTreeMap<&str, BTreeSet<String>>) -> Result<Vec<String>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<&str, BTreeSet<String>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = path.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|n| (*n).to_owned()).collect();
                cycle.push(node.to_owned());
                return Err(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Visiting);
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some((key, _)) = graph.get_key_value(next.as_str()) {
                visit(key, graph, marks, path, order)?;
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
        order.push(node.to_owned());
        Ok(())
    }
    let mut marks = BTreeMap::new();
    let mut order = Vec::new();
    for node in graph.keys() {
        visit(node, graph, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// A scalar as CloudFormation turns it into text.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
