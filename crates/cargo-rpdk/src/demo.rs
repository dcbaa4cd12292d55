//! `cargo rpdk demo`: the full lifecycle of each type against the local stack, printing every
//! progress event: CREATE, READ (by identifier only), UPDATE, LIST, DELETE.

use anyhow::{Context, Result, bail};
use rpdk::Action;
use rpdk_local::Call;
use serde_json::{Map, Value};

use crate::invoke::print_event;
use crate::project::Project;
use rpdk_local::Stack;

use crate::stack;
use crate::test::{placeholders, render};
use crate::tools::Tools;

/// Options of `cargo rpdk demo`.
#[derive(clap::Args)]
pub struct Options {
    /// Only this type (default: every type of the project).
    pub type_name: Option<String>,
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let entries = match &options.type_name {
        Some(name) => vec![project.find_type(name)?.clone()],
        None => project.config.types.clone(),
    };
    let tools = Tools::ensure(&project)?;
    let bin_dir = project.build_handlers()?;
    let stack = Stack::start(&stack::setup(&project, &tools, &bin_dir)?)?;
    for entry in &entries {
        let type_name = project.type_name(entry);
        let values = placeholders(&project, &tools, &stack, entry)?;
        let inputs = project.fixture_dir(entry).join("inputs");
        let load = |file: &str| -> Result<Value> {
            let path = inputs.join(file);
            Ok(serde_json::from_str(&render(&std::fs::read_to_string(&path)?, &values, &path)?)?)
        };
        let (create, update) = (load("inputs_1_create.json")?, load("inputs_1_update.json")?);
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(project.schema_path(entry))?)?;

        let created = step(&stack, &entry.binary, &type_name, Action::Create, Some(create.clone()), None)?;
        let identifier = identifier(&schema, &created)?;
        step(&stack, &entry.binary, &type_name, Action::Read, Some(identifier.clone()), None)?;
        // As CloudFormation sends it: the desired properties with the resource's identifier.
        let mut desired = update;
        merge(&mut desired, &identifier);
        step(&stack, &entry.binary, &type_name, Action::Update, Some(desired), created.get("resourceModel").cloned())?;
        step(&stack, &entry.binary, &type_name, Action::List, list_input(&schema, &created), None)?;
        step(&stack, &entry.binary, &type_name, Action::Delete, Some(identifier), None)?;
    }
    Ok(())
}

fn step(
    stack: &Stack,
    function: &str,
    type_name: &str,
    action: Action,
    model: Option<Value>,
    previous: Option<Value>,
) -> Result<Value> {
    println!("== {action} {type_name}");
    let last = rpdk_deploy::operate(stack, &Call::new(function, type_name, action, model, previous), &mut print_event)?;
    if last.get("status").and_then(Value::as_str) != Some("SUCCESS") {
        bail!("{action} {type_name} did not succeed");
    }
    Ok(last)
}

/// The primary identifier of the created model: all READ and DELETE need.
fn identifier(schema: &Value, created: &Value) -> Result<Value> {
    let mut identifier = Map::new();
    for pointer in
        schema.get("primaryIdentifier").and_then(Value::as_array).context("the schema has no primaryIdentifier")?
    {
        let name =
            pointer.as_str().and_then(|p| p.strip_prefix("/properties/")).context("unexpected identifier pointer")?;
        let value =
            created.pointer(&format!("/resourceModel/{name}")).context("the created model lacks its identifier")?;
        identifier.insert(name.to_owned(), value.clone());
    }
    Ok(Value::Object(identifier))
}

fn merge(model: &mut Value, identifier: &Value) {
    if let (Some(model), Some(identifier)) = (model.as_object_mut(), identifier.as_object()) {
        model.extend(identifier.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// The properties LIST requires (`handlers.list.handlerSchema`), from the created model.
fn list_input(schema: &Value, created: &Value) -> Option<Value> {
    let required = schema.pointer("/handlers/list/handlerSchema/required")?.as_array()?;
    let input: Map<String, Value> = required
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|name| Some((name.to_owned(), created.pointer(&format!("/resourceModel/{name}"))?.clone())))
        .collect();
    Some(Value::Object(input))
}
