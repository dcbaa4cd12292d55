//! `cargo rpdk deploy`, `delete` and `events`: templates through the handlers on the local
//! stack.
//!
//! A template is read (YAML with short-form tags, or JSON), checked as a whole and bound to its
//! parameters before anything is created ([`template`], [`evaluate`]); `--dry-run` stops there
//! and prints the plan. The [`engine`] applies it through the registry handlers on the shared
//! local stack, recording events and [`state`] under `.rpdk/stacks/<name>/`.

pub mod custom;
pub mod engine;
pub mod evaluate;
pub mod state;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use self::engine::{Engine, Neighbours, Printer, ServedType};
use self::evaluate::{Bindings, StackIdentity};
use self::state::{StackState, Store};
use self::template::{Problem, Template, TypeInfo};
use crate::invoke::new_token;
use crate::project::Project;
use crate::stack::{ACCOUNT_ID, REGION, Stack};

/// Options of `cargo rpdk deploy`.
#[derive(clap::Args)]
pub struct Options {
    /// The template: YAML (short-form tags included) or JSON.
    pub template: PathBuf,
    /// The stack's name.
    #[arg(long)]
    pub stack_name: String,
    /// A parameter value, `Name=Value`; repeat for more. NoEcho values are never stored, so
    /// they are given again on every update.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// A tag of the stack, `Key=Value`; repeat for more. Every taggable resource carries the
    /// stack's tags (its own tag of the same key wins). Given, they replace the stack's tags;
    /// left out, an update keeps them, as CloudFormation's UpdateStack does.
    #[arg(long = "tags", value_name = "KEY=VALUE", num_args = 1..)]
    pub tags: Option<Vec<String>>,
    /// The type configuration of a type, `Type=FILE` (a JSON file); never stored.
    #[arg(long = "type-config", value_name = "TYPE=FILE")]
    pub type_configurations: Vec<String>,
    /// Check the template and print the plan; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `text` for people, `json` (one object per line) for machines.
    #[arg(long, default_value = "text")]
    pub output: Output,
}

/// Options of `cargo rpdk delete`.
#[derive(clap::Args)]
pub struct DeleteOptions {
    #[arg(long)]
    pub stack_name: String,
    /// As for deploy: handlers may need their type configuration to delete.
    #[arg(long = "type-config", value_name = "TYPE=FILE")]
    pub type_configurations: Vec<String>,
    #[arg(long, default_value = "text")]
    pub output: Output,
}

/// Options of `cargo rpdk events`.
#[derive(clap::Args)]
pub struct EventsOptions {
    #[arg(long)]
    pub stack_name: String,
    #[arg(long, default_value = "text")]
    pub output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let text = std::fs::read_to_string(&options.template)
        .with_context(|| format!("cannot read {}", options.template.display()))?;
    let types = served_types(&project)?;
    let given = parameter_values(&options.parameters)?;
    let tags = options.tags.as_deref().map(stack_tags).transpose()?;
    let configurations = type_configurations(&options.type_configurations, &types)?;
    let store = Store::new(&project.work_dir()?, &options.stack_name)?;
    let existing = store.load()?;
    let stack_id = existing
        .as_ref()
        .filter(|state| continues(state))
        .map_or_else(|| new_stack_id(&options.stack_name), |state| state.stack_id.clone());
    let identity = StackIdentity {
        name: options.stack_name.clone(),
        id: stack_id.clone(),
        region: REGION.to_owned(),
        account: ACCOUNT_ID.to_owned(),
        // The local stack's region is in the commercial partition.
        partition: "aws".to_owned(),
        url_suffix: "amazonaws.com".to_owned(),
    };
    let (template, mut bindings) = match checked(&text, &types, &given, &identity) {
        Ok(checked) => checked,
        Err(problems) => return Err(refusal(&options.template, &problems)),
    };
    if options.dry_run {
        // With no local stack running, no stack exports anything: a deploy would start one.
        let neighbours = match Stack::running(&project)? {
            Some(stack) => neighbours(&project, &options.stack_name, &stack.described.generation)?,
            None => Neighbours::default(),
        };
        imports(&template, &bindings, &neighbours).map_err(|problems| refusal(&options.template, &problems))?;
        return print_plan(options, &template, &bindings);
    }
    let _held = store.lock()?;
    let existing = store.load()?;
    let stack = Stack::shared(&project)?;
    if let Some(state) = existing.as_ref().filter(|state| {
        state.local_stack == stack.described.generation
            && state.status.starts_with("DELETE_")
            && state.status != "DELETE_COMPLETE"
    }) {
        bail!(
            "stack {} is {}: finish deleting it with `cargo rpdk delete --stack-name {}` first",
            options.stack_name,
            state.status,
            options.stack_name
        );
    }
    let neighbours = neighbours(&project, &options.stack_name, &stack.described.generation)?;
    bindings.imports =
        imports(&template, &bindings, &neighbours).map_err(|problems| refusal(&options.template, &problems))?;
    let no_echo: Vec<&String> = template.parameters.iter().filter(|(_, p)| p.no_echo).map(|(name, _)| name).collect();
    let secrets: Vec<String> = no_echo
        .iter()
        .filter_map(|name| bindings.parameters.get(*name))
        .flat_map(|value| match value {
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            other => other.as_str().map(str::to_owned).into_iter().collect::<Vec<_>>(),
        })
        .collect();
    let (mut state, resuming) = match existing {
        Some(state) if state.local_stack != stack.described.generation => {
            eprintln!(
                "note: stack {} was deployed on a local stack that has stopped since; its resources went with it, so it is deployed afresh",
                options.stack_name
            );
            (fresh_state(&store, &options.stack_name, &stack_id, &stack)?, false)
        }
        Some(state) if !continues(&state) => (fresh_state(&store, &options.stack_name, &stack_id, &stack)?, false),
        Some(state) if state.status.ends_with("_IN_PROGRESS") => (state, true),
        Some(state) => (StackState { run: new_token(), ..state }, false),
        None => (fresh_state(&store, &options.stack_name, &stack_id, &stack)?, false),
    };
    if !resuming {
        state.tags_before = state.tags.clone();
        if let Some(tags) = tags {
            state.tags = tags;
        }
    }
    state.parameters = bindings
        .parameters
        .iter()
        .filter(|(name, _)| !no_echo.contains(name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Until the run completes, the stack may still use what it imported before as well.
    let imports: BTreeSet<String> = bindings.imports.keys().cloned().collect();
    let imported_before = state.imports.clone();
    state.imports.extend(imports.iter().cloned());
    let printer = Printer::new(options.output == Output::Json);
    let mut engine = Engine::new(&stack, &types, &configurations, &store, &printer, state, secrets, resuming);
    engine.neighbours = neighbours;
    let outcome = engine.deploy(&template, &bindings);
    match &outcome {
        Ok(()) => engine.state.imports = imports,
        Err(_) if engine.state.status.ends_with("ROLLBACK_COMPLETE") => engine.state.imports = imported_before,
        // A rollback that failed may leave either template's resources: both sets stay held.
        Err(_) => {}
    }
    store.save(&engine.state)?;
    outcome?;
    print_outputs(&engine.state, options.output)
}

pub fn delete(options: &DeleteOptions) -> Result<()> {
    let project = Project::discover()?;
    let types = served_types(&project)?;
    let configurations = type_configurations(&options.type_configurations, &types)?;
    let store = Store::new(&project.work_dir()?, &options.stack_name)?;
    if store.load()?.is_none() {
        bail!("there is no stack {} here (`.rpdk/stacks/`)", options.stack_name);
    }
    let _held = store.lock()?;
    let Some(state) = store.load()? else { bail!("stack {} was deleted meanwhile", options.stack_name) };
    let stack = Stack::shared(&project)?;
    if state.local_stack != stack.described.generation {
        store.remove_state()?;
        eprintln!(
            "stack {} was deployed on a local stack that has stopped since; its resources went with it. Forgotten.",
            options.stack_name
        );
        return Ok(());
    }
    let neighbours = neighbours(&project, &options.stack_name, &stack.described.generation)?;
    for export in state.exports.keys() {
        if let Some(importers) = neighbours.importers.get(export) {
            let stacks = importers.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
            bail!(
                "stack {} exports {export}, which {stacks} import(s): delete them, or stop importing it, first; nothing was deleted",
                options.stack_name
            );
        }
    }
    let printer = Printer::new(options.output == Output::Json);
    let mut engine = Engine::new(&stack, &types, &configurations, &store, &printer, state, Vec::new(), false);
    engine.delete()?;
    store.remove_state()
}

pub fn events(options: &EventsOptions) -> Result<()> {
    let project = Project::discover()?;
    let store = Store::new(&project.work_dir()?, &options.stack_name)?;
    let printer = Printer::new(options.output == Output::Json);
    for event in store.events()? {
        printer.event(&event);
    }
    Ok(())
}

/// Prints a template's problems; the error that ends the command.
fn refusal(template: &std::path::Path, problems: &[Problem]) -> anyhow::Error {
    for problem in problems {
        eprintln!("{}: {problem}", template.display());
    }
    anyhow::anyhow!("{} problem(s) in {}; nothing was created", problems.len(), template.display())
}

/// What the other stacks deployed on this start of the local stack export and import.
fn neighbours(project: &Project, own: &str, generation: &str) -> Result<Neighbours> {
    let work_dir = project.work_dir()?;
    let mut neighbours = Neighbours::default();
    let Ok(entries) = std::fs::read_dir(work_dir.join("stacks")) else { return Ok(neighbours) };
    for name in
        entries.flatten().map(|entry| entry.file_name().to_string_lossy().into_owned()).filter(|name| name != own)
    {
        let Ok(store) = Store::new(&work_dir, &name) else { continue };
        let Some(state) = store.load()? else { continue };
        if state.local_stack != generation || !continues(&state) {
            continue;
        }
        for (export, value) in state.exports {
            neighbours.exports.insert(export, (name.clone(), value));
        }
        for import in state.imports {
            neighbours.importers.entry(import).or_default().insert(name.clone());
        }
    }
    Ok(neighbours)
}

/// The values the template's `Fn::ImportValue`s find. Their names are known before anything
/// is made ([`checked`] proved it), so a missing export is refused then.
fn imports(
    template: &Template,
    bindings: &Bindings,
    neighbours: &Neighbours,
) -> Result<BTreeMap<String, Value>, Vec<Problem>> {
    let mut found = BTreeMap::new();
    let mut problems = Vec::new();
    for (at, name) in template.imports() {
        let Some(name) = bindings.evaluate_static(&name).as_ref().and_then(template::scalar_text) else { continue };
        match neighbours.exports.get(&name) {
            Some((_, value)) => {
                found.insert(name, value.clone());
            }
            None => problems.push(Problem::new(
                at,
                format!("no stack on this local stack exports {name}; deploy the stack that exports it first"),
            )),
        }
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}

/// Whether a saved state is the stack a deploy goes on with (not one rolled back or deleted
/// whole, which a deploy replaces with a new stack of the same name).
fn continues(state: &StackState) -> bool {
    !matches!(state.status.as_str(), "ROLLBACK_COMPLETE" | "DELETE_COMPLETE")
}

fn new_stack_id(name: &str) -> String {
    format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{name}/{}", new_token())
}

fn fresh_state(store: &Store, name: &str, stack_id: &str, stack: &Stack) -> Result<StackState> {
    store.clear_events()?;
    Ok(StackState {
        stack_name: name.to_owned(),
        stack_id: stack_id.to_owned(),
        local_stack: stack.described.generation.clone(),
        run: new_token(),
        ..StackState::default()
    })
}

fn print_outputs(state: &StackState, output: Output) -> Result<()> {
    match output {
        Output::Json => println!(
            "{}",
            json!({"stackName": state.stack_name, "stackId": state.stack_id, "status": state.status, "outputs": state.outputs})
        ),
        Output::Text => {
            if !state.outputs.is_empty() {
                println!("Outputs of {}:", state.stack_name);
                let width = state.outputs.keys().map(String::len).max().unwrap_or(0);
                for (name, value) in &state.outputs {
                    let text = template::scalar_text(value).unwrap_or_else(|| value.to_string());
                    println!("  {name:<width$}  {text}");
                }
            }
        }
    }
    Ok(())
}

fn print_plan(options: &Options, template: &Template, bindings: &Bindings) -> Result<()> {
    let waves = waves(template, bindings);
    match options.output {
        Output::Json => {
            let plan = json!({
                "stackName": options.stack_name,
                "waves": waves.iter().map(|wave| wave.iter().map(|name| json!({"logicalId": name, "type": template.resources[name].type_name})).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "conditions": bindings.conditions,
            });
            println!("{}", serde_json::to_string_pretty(&plan)?);
        }
        Output::Text => {
            println!("{}: the template passes; the plan for stack {}:", options.template.display(), options.stack_name);
            for (index, wave) in waves.iter().enumerate() {
                let names: Vec<String> =
                    wave.iter().map(|name| format!("{name} ({})", template.resources[name].type_name)).collect();
                println!("  {}. {}", index + 1, names.join(", "));
            }
            let skipped: Vec<&String> = template
                .resources
                .iter()
                .filter(|(_, r)| !bindings.holds(r.condition.as_ref()))
                .map(|(name, _)| name)
                .collect();
            let outputs: Vec<&String> = template
                .outputs
                .iter()
                .filter(|(_, o)| bindings.holds(o.condition.as_ref()))
                .map(|(name, _)| name)
                .collect();
            if !outputs.is_empty() {
                println!("  outputs: {}", outputs.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
            }
            if !skipped.is_empty() {
                println!(
                    "  left out by their conditions: {}",
                    skipped.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
            println!("Nothing was created (--dry-run).");
        }
    }
    Ok(())
}

/// `--type-config Type=FILE` options as configurations by type; each file must be a JSON object.
fn type_configurations(options: &[String], types: &BTreeMap<String, ServedType>) -> Result<BTreeMap<String, Value>> {
    let mut configurations = BTreeMap::new();
    for option in options {
        let Some((type_name, file)) = option.split_once('=') else { bail!("--type-config {option}: write Type=FILE") };
        if !types.contains_key(type_name) {
            bail!(
                "--type-config {type_name}: no such type here; the types are {}",
                types.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let text =
            std::fs::read_to_string(file).with_context(|| format!("--type-config {type_name}: cannot read {file}"))?;
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("--type-config {type_name}: {file} is not JSON"))?;
        if !value.is_object() {
            bail!("--type-config {type_name}: {file} must hold a JSON object");
        }
        configurations.insert(type_name.to_owned(), value);
    }
    Ok(configurations)
}

/// The project's types, by full name, as the engine sees them (from the committed schemas).
fn served_types(project: &Project) -> Result<BTreeMap<String, ServedType>> {
    project
        .config
        .types
        .iter()
        .map(|entry| {
            let schema: Value = serde_json::from_str(
                &std::fs::read_to_string(project.schema_path(entry))
                    .context("no committed schema: run `cargo rpdk schema`")?,
            )?;
            Ok((
                project.type_name(entry),
                ServedType { info: TypeInfo::from_schema(&schema), function: entry.binary.clone() },
            ))
        })
        .collect()
}

/// `--parameter Name=Value` options as a map; a repeated name is refused.
fn parameter_values(options: &[String]) -> Result<BTreeMap<String, String>> {
    pairs("--parameter", "Name=Value", options, str::trim)
}

/// `Name=Value` options of `flag` by name (as `name_of` reads it), each name once.
fn pairs(flag: &str, form: &str, options: &[String], name_of: fn(&str) -> &str) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for option in options {
        let Some((name, value)) = option.split_once('=') else {
            bail!("{flag} {option}: write {form}");
        };
        if values.insert(name_of(name).to_owned(), value.to_owned()).is_some() {
            bail!("{flag} {name}: given twice");
        }
    }
    Ok(values)
}

/// `--tags` as CloudFormation takes a stack's tags: at most 50, keys of 1 to 128 characters
/// outside `aws:`, values of at most 256.
fn stack_tags(options: &[String]) -> Result<BTreeMap<String, String>> {
    let tags = pairs("--tags", "Key=Value", options, |key| key)?;
    for (key, value) in &tags {
        if key.is_empty() || key.chars().count() > 128 || key.to_ascii_lowercase().starts_with("aws:") {
            bail!("--tags {key}={value}: a key has 1 to 128 characters and does not start with aws:");
        }
        if value.chars().count() > 256 {
            bail!("--tags {key}: a value has at most 256 characters");
        }
    }
    if tags.len() > 50 {
        bail!("--tags: {} tags; a stack has at most 50", tags.len());
    }
    Ok(tags)
}

/// The template checked and bound, or every problem found.
pub fn checked(
    text: &str,
    types: &BTreeMap<String, ServedType>,
    given: &BTreeMap<String, String>,
    stack: &StackIdentity,
) -> Result<(Template, Bindings), Vec<Problem>> {
    let document = template::parse_text(text).map_err(|problem| vec![problem])?;
    let infos = types.iter().map(|(name, served)| (name.clone(), served.info.clone())).collect();
    let template = Template::check(&document, &infos)?;
    let bindings = Bindings::new(&template, given, stack)?;
    let problems = deployment_problems(&template, &bindings, types);
    if problems.is_empty() { Ok((template, bindings)) } else { Err(problems) }
}

/// What this deployment's parameter values and conditions make wrong, found before anything
/// is made: a reference to a resource its condition leaves out, a function that fails on the
/// values given, an import whose name needs a resource, a ServiceToken naming no function here.
fn deployment_problems(template: &Template, bindings: &Bindings, types: &BTreeMap<String, ServedType>) -> Vec<Problem> {
    // The condition that leaves a resource out of this deployment, if one does.
    let left_out = |name: &str| {
        template.resources.get(name).and_then(|r| r.condition.clone().filter(|_| !bindings.holds(r.condition.as_ref())))
    };
    let unresolved = |name: &str, condition: &str| {
        format!(
            "{name} is not created in this deployment (its condition {condition} is false): refer to it only inside Fn::If [{condition}, ...]"
        )
    };
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for (name, resource) in template.resources.iter().filter(|(_, r)| bindings.holds(r.condition.as_ref())) {
        for dependency in &resource.depends_on {
            if let Some(condition) = left_out(dependency) {
                problems.push(Problem::new(format!("Resources.{name}.DependsOn"), unresolved(dependency, &condition)));
            }
        }
        values.push((format!("Resources.{name}.Properties"), &resource.properties));
    }
    for (name, output) in template.outputs.iter().filter(|(_, o)| bindings.holds(o.condition.as_ref())) {
        values.push((format!("Outputs.{name}.Value"), &output.value));
        values.extend(output.export.iter().map(|export| (format!("Outputs.{name}.Export.Name"), export)));
    }
    for (at, value) in values {
        let taken = bindings.taken(value);
        for (location, reference) in template::references(&taken, &at, false) {
            if let template::Reference::Name(name) | template::Reference::Attribute(name, _) = &reference
                && let Some(condition) = left_out(name)
            {
                problems.push(Problem::new(location, unresolved(name, &condition)));
            }
        }
        bindings.known_problems(&taken, &at, &mut problems);
    }
    for (at, name) in template.imports() {
        if bindings.evaluate_static(&name).as_ref().and_then(template::scalar_text).is_none() {
            problems.push(Problem::new(
                at,
                "the name must be known before anything is made: build it from parameters and pseudo parameters only",
            ));
        }
    }
    // A ServiceToken known before anything exists is checked now; one made of resources'
    // values, when its resource starts.
    let functions = types.values().map(|served| served.function.clone()).collect();
    for (name, resource) in template
        .resources
        .iter()
        .filter(|(_, r)| template::is_custom(&r.type_name) && bindings.holds(r.condition.as_ref()))
    {
        let Some(token) = resource.properties.get("ServiceToken").and_then(|token| bindings.evaluate_static(token))
        else {
            continue;
        };
        let problem = match token.as_str() {
            Some(token) => custom::function(token, &functions).err(),
            None => Some("the ServiceToken is not a string".to_owned()),
        };
        problems
            .extend(problem.map(|problem| Problem::new(format!("Resources.{name}.Properties.ServiceToken"), problem)));
    }
    problems
}

/// The resources this deployment creates, in waves: each wave needs only earlier ones.
pub fn waves(template: &Template, bindings: &Bindings) -> Vec<Vec<String>> {
    let mut level: BTreeMap<String, usize> = BTreeMap::new();
    // The template check proved the order exists.
    for name in template.creation_order().unwrap_or_default() {
        if bindings.holds(template.resources[&name].condition.as_ref()) {
            let deepest = template.dependencies(&name).iter().filter_map(|d| level.get(d)).max().map_or(0, |l| l + 1);
            level.insert(name, deepest);
        }
    }
    let mut waves: Vec<Vec<String>> = Vec::new();
    for (name, index) in level {
        if waves.len() <= index {
            waves.resize(index + 1, Vec::new());
        }
        waves[index].push(name);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> BTreeMap<String, ServedType> {
        let schema = json!({"primaryIdentifier": ["/properties/RoleName"], "readOnlyProperties": ["/properties/Arn"]});
        BTreeMap::from([(
            "Rpdk::IAM::CrossAccountRole".to_owned(),
            ServedType { info: TypeInfo::from_schema(&schema), function: "cross-account-role".to_owned() },
        )])
    }

    #[test]
    fn an_operation_may_run_as_long_as_its_handler_timeout_or_the_registrys_default() {
        let info = TypeInfo::from_schema(
            &json!({"handlers": {"create": {"permissions": [], "timeoutInMinutes": 15}, "read": {"permissions": []}}}),
        );
        assert_eq!(info.timeout("CREATE"), std::time::Duration::from_secs(15 * 60));
        assert_eq!(info.timeout("READ"), crate::invoke::HANDLER_TIMEOUT);
    }

    fn problems(yaml: &str, given: &[(&str, &str)]) -> Vec<String> {
        let stack = StackIdentity {
            name: "s".into(),
            id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1".into(),
            region: REGION.into(),
            account: ACCOUNT_ID.into(),
            partition: "aws".into(),
            url_suffix: "amazonaws.com".into(),
        };
        let given = given.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        match checked(yaml, &served(), &given, &stack) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    const CONDITIONAL: &str = r#"
Parameters:
  Env: {Type: String}
  Ids: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Audit:
    Type: Rpdk::IAM::CrossAccountRole
    Condition: IsProd
  Partner:
    Type: Rpdk::IAM::CrossAccountRole
    DependsOn: Audit
    Properties:
      Description: !If [IsProd, !GetAtt Audit.Arn, none]
      ExternalId: !Ref Audit
      Path: !Select [1, !Ref Ids]
Outputs:
  AuditArn:
    Value: !GetAtt Audit.Arn
"#;

    #[test]
    fn what_the_parameters_leave_out_or_break_is_refused_before_anything_is_made() {
        assert_eq!(problems(CONDITIONAL, &[("Env", "prod")]), Vec::<String>::new());
        let unresolved = "Audit is not created in this deployment (its condition IsProd is false): refer to it only inside Fn::If [IsProd, ...]";
        assert_eq!(
            problems(CONDITIONAL, &[("Env", "dev"), ("Ids", "a")]),
            [
                format!("Resources.Partner.DependsOn: {unresolved}"),
                format!("Resources.Partner.Properties.ExternalId.Ref: {unresolved}"),
                "Resources.Partner.Properties.Path: Fn::Select: no value at index 1".to_owned(),
                format!("Outputs.AuditArn.Value.Fn::GetAtt: {unresolved}"),
            ]
        );
    }

    #[test]
    fn a_number_parameter_is_finite() {
        let template = "Parameters:\n  Port: {Type: Number, MaxValue: 10}\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n";
        assert_eq!(problems(template, &[("Port", "NaN")]), ["Parameters.Port: the value is not a number"]);
        assert_eq!(problems(template, &[("Port", "9")]), Vec::<String>::new());
    }
}
