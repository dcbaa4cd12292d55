//! `cargo rpdk deploy`, `delete` and `events`: the options, the project's types and the shared
//! local stack handed to [`rpdk_deploy`], which checks the template, plans the run and applies
//! it, recording events and state under `.rpdk/stacks/<name>/`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use rpdk_deploy::evaluate::{Bindings, StackIdentity};
use rpdk_deploy::hooks::{HookConfiguration, Outcome, ServedHook};
use rpdk_deploy::plan::{self, Neighbours};
use rpdk_deploy::state::{StackState, Store};
use rpdk_deploy::template::{self, Problem, Template, TypeInfo};
use rpdk_deploy::{Deleted, Deployment, Finding, Printer, ServedType, Site};
use rpdk_local::Stack;
use serde_json::{Value, json};

use crate::project::Project;
use rpdk_local::{ACCOUNT_ID, REGION};

use crate::stack;
use crate::tools::Tools;

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
    /// Activates a hook of the project on the local stack for this run, `Hook=FILE`: its whole
    /// configuration as `SetTypeConfiguration` takes it (`{"CloudFormationConfiguration":
    /// {"HookConfiguration": {...}}}`); it overrides the one set in the local registry. Never
    /// stored.
    #[arg(long = "hook-config", value_name = "HOOK=FILE")]
    pub hook_configurations: Vec<String>,
    /// Check the template and print the plan; create nothing. Hooks activated with
    /// `--hook-config` (or on a running local stack) check every resource, native AWS types
    /// included.
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
    /// As for deploy: hooks with a preDelete handler check what is deleted.
    #[arg(long = "hook-config", value_name = "HOOK=FILE")]
    pub hook_configurations: Vec<String>,
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
    let hooks = served_hooks(&project)?;
    let hook_configurations = hook_configurations(&options.hook_configurations, &hooks)?;
    let store = Store::new(&project.work_dir()?, &options.stack_name)?;
    let stack_id = plan::stack_id(store.load()?.as_ref(), &options.stack_name);
    let identity = StackIdentity {
        name: options.stack_name.clone(),
        id: stack_id.clone(),
        region: REGION.to_owned(),
        account: ACCOUNT_ID.to_owned(),
        // The local stack's region is in the commercial partition.
        partition: "aws".to_owned(),
        url_suffix: "amazonaws.com".to_owned(),
    };
    // A dry run checks native AWS types too, for the hooks to see: only a deploy needs a handler.
    let checked_types = if options.dry_run { with_native_types(&project, &text, &types)? } else { types.clone() };
    let (template, bindings) = match plan::checked(&text, &checked_types, &given, &identity) {
        Ok(checked) => checked,
        Err(problems) => return Err(refusal(&options.template, &problems)),
    };
    let configured = Configured {
        types: &types,
        configurations: &configurations,
        hooks: &hooks,
        hook_configurations: &hook_configurations,
    };
    if options.dry_run {
        // Hooks run on a local stack: the one running, or one started for --hook-config.
        let stack =
            if hook_configurations.is_empty() { stack::running(&project)? } else { Some(stack::shared(&project)?) };
        // With no local stack running, no stack exports anything: a deploy would start one.
        let neighbours = match &stack {
            Some(stack) => Neighbours::read(&project.work_dir()?, &options.stack_name, &stack.described.generation)?,
            None => Neighbours::default(),
        };
        let mut bindings = bindings;
        bindings.imports = plan::imports(&template, &bindings, &neighbours)
            .map_err(|problems| refusal(&options.template, &problems))?;
        let findings = match &stack {
            Some(stack) => {
                let deployment = Deployment {
                    stack_name: &options.stack_name,
                    stack_id,
                    template: &template,
                    bindings: bindings.clone(),
                    tags,
                    body: &text,
                };
                let printer = Printer::new(options.output == Output::Json);
                let work_dir = project.work_dir()?;
                let site = configured.site(stack, &work_dir, &printer);
                Some(site.preview_hooks(&deployment)?)
            }
            None => None,
        };
        print_plan(options, &template, &bindings, !hooks.is_empty(), findings.as_deref())?;
        let stopping = findings.iter().flatten().filter(|finding| finding.stops()).count();
        if stopping > 0 {
            bail!("{stopping} hook finding(s) would stop this deployment (FailureMode FAIL); nothing was created");
        }
        return Ok(());
    }
    let deployment =
        Deployment { stack_name: &options.stack_name, stack_id, template: &template, bindings, tags, body: &text };
    let state = on_shared_stack(&project, &configured, options.output, |site| {
        site.deploy(deployment).map_err(|error| match error {
            rpdk_deploy::Error::Template(problems) => refusal(&options.template, &problems),
            other => other.into(),
        })
    })?;
    print_outputs(&state, options.output)
}

pub fn delete(options: &DeleteOptions) -> Result<()> {
    let project = Project::discover()?;
    let types = served_types(&project)?;
    let configurations = type_configurations(&options.type_configurations, &types)?;
    let hooks = served_hooks(&project)?;
    let hook_configurations = hook_configurations(&options.hook_configurations, &hooks)?;
    let configured = Configured {
        types: &types,
        configurations: &configurations,
        hooks: &hooks,
        hook_configurations: &hook_configurations,
    };
    let deleted = on_shared_stack(&project, &configured, options.output, |site| Ok(site.delete(&options.stack_name)?))?;
    if deleted == Deleted::Forgotten {
        eprintln!(
            "stack {} was deployed on a local stack that has stopped since; its resources went with it. Forgotten.",
            options.stack_name
        );
    }
    Ok(())
}

/// The project's types and hooks, and the configurations given for one run.
struct Configured<'a> {
    types: &'a BTreeMap<String, ServedType>,
    configurations: &'a BTreeMap<String, Value>,
    hooks: &'a BTreeMap<String, ServedHook>,
    hook_configurations: &'a BTreeMap<String, Value>,
}

impl Configured<'_> {
    /// Where they are deployed: `stack`, with the project's `work_dir`.
    fn site<'s>(&'s self, stack: &'s Stack, work_dir: &'s std::path::Path, printer: &'s Printer) -> Site<'s> {
        Site {
            backend: stack,
            types: self.types,
            configurations: self.configurations,
            hooks: self.hooks,
            hook_configurations: self.hook_configurations,
            work_dir,
            generation: &stack.described.generation,
            printer,
        }
    }
}

/// Runs `run` on the project's shared local stack (started when not running), its events shown
/// as `output` asks.
fn on_shared_stack<T>(
    project: &Project,
    configured: &Configured<'_>,
    output: Output,
    run: impl FnOnce(&Site<'_>) -> Result<T>,
) -> Result<T> {
    let stack = stack::shared(project)?;
    let printer = Printer::new(output == Output::Json);
    let work_dir = project.work_dir()?;
    run(&configured.site(&stack, &work_dir, &printer))
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

fn print_plan(
    options: &Options,
    template: &Template,
    bindings: &Bindings,
    has_hooks: bool,
    findings: Option<&[Finding]>,
) -> Result<()> {
    let waves = plan::waves(template, bindings);
    match options.output {
        Output::Json => {
            let mut plan = json!({
                "stackName": options.stack_name,
                "waves": waves.iter().map(|wave| wave.iter().map(|name| json!({"logicalId": name, "type": template.resources[name].type_name})).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "conditions": bindings.conditions,
            });
            if let Some(findings) = findings {
                plan["hooks"] = findings.iter().map(finding_json).collect();
            }
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
            match findings {
                Some([]) => println!("Hooks: none activated on the local stack checks this template."),
                Some(findings) => {
                    println!("Hooks, as activated on the local stack:");
                    for finding in findings {
                        print_finding(finding);
                    }
                }
                None if has_hooks => {
                    println!("Hooks: not run (no local stack is running): activate them with --hook-config HOOK=FILE.")
                }
                None => {}
            }
            println!("Nothing was created (--dry-run).");
        }
    }
    Ok(())
}

/// A finding's status as the hook's stack event would show it, and the hook's message.
fn finding_status(finding: &Finding) -> (&'static str, String) {
    match &finding.outcome {
        Outcome::Compliant(message) => ("HOOK_COMPLETE_SUCCEEDED", message.clone().unwrap_or_default()),
        Outcome::NonCompliant(message) => ("HOOK_COMPLETE_FAILED", message.clone()),
        Outcome::Failed(message) => ("HOOK_FAILED", message.clone()),
    }
}

fn print_finding(finding: &Finding) {
    let (status, message) = finding_status(finding);
    println!(
        "  {:<24} {:<34} {:<22} {status} ({}, {}): {message}",
        finding.logical_id,
        finding.type_name,
        finding.point.as_str(),
        finding.hook,
        finding.failure_mode.as_str()
    );
    if !finding.unknown.is_empty() {
        println!("  {:<24} unknown before anything is made: {}", "", finding.unknown.join(", "));
    }
}

fn finding_json(finding: &Finding) -> Value {
    let (status, message) = finding_status(finding);
    json!({
        "logicalId": finding.logical_id,
        "type": finding.type_name,
        "invocationPoint": finding.point.as_str(),
        "hookType": finding.hook,
        "hookFailureMode": finding.failure_mode.as_str(),
        "hookStatus": status,
        "reason": message,
        "unknown": finding.unknown,
    })
}

/// The served types, with the native AWS types the template names (their schemas cfn-lint's
/// copy of the registry's), so a dry run checks whole a template the hooks are to see.
fn with_native_types(
    project: &Project,
    text: &str,
    types: &BTreeMap<String, ServedType>,
) -> Result<BTreeMap<String, ServedType>> {
    let mut checked = types.clone();
    let Ok(document) = template::parse_text(text) else { return Ok(checked) };
    let native: std::collections::BTreeSet<&str> = document["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, resource)| resource["Type"].as_str())
        .filter(|name| name.starts_with("AWS::") && !types.contains_key(*name))
        .collect();
    if native.is_empty() {
        return Ok(checked);
    }
    let providers = Tools::ensure(project)?.site_packages("cfn")?.join("cfnlint/data/schemas/providers/us_east_1");
    for name in native {
        let file = providers.join(crate::package::target_schema_file(name));
        // A type without a schema is left to the template check, which names it.
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let schema: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
        checked.insert(name.to_owned(), ServedType { info: TypeInfo::from_schema(&schema), function: String::new() });
    }
    Ok(checked)
}

/// `--type-config Type=FILE` options as configurations by type, for the types served here.
fn type_configurations(options: &[String], types: &BTreeMap<String, ServedType>) -> Result<BTreeMap<String, Value>> {
    let mut configurations = BTreeMap::new();
    for (type_name, _, value) in type_configuration_files(options)? {
        if !types.contains_key(&type_name) {
            bail!(
                "--type-config {type_name}: no such type here; the types are {}",
                types.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        configurations.insert(type_name, value);
    }
    Ok(configurations)
}

/// `--hook-config Hook=FILE` options as configurations by hook, each document's frame checked.
fn hook_configurations(options: &[String], hooks: &BTreeMap<String, ServedHook>) -> Result<BTreeMap<String, Value>> {
    let mut configurations = BTreeMap::new();
    for option in options {
        let Some((hook, file)) = option.split_once('=') else { bail!("--hook-config {option}: write Hook=FILE") };
        if !hooks.contains_key(hook) {
            bail!(
                "--hook-config {hook}: no such hook here; the hooks are {}",
                hooks.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let text =
            std::fs::read_to_string(file).with_context(|| format!("--hook-config {hook}: cannot read {file}"))?;
        let document: Value =
            serde_json::from_str(&text).with_context(|| format!("--hook-config {hook}: {file} is not JSON"))?;
        HookConfiguration::read(&document).map_err(|fault| anyhow::anyhow!("--hook-config {hook}: {file}: {fault}"))?;
        configurations.insert(hook.to_owned(), document);
    }
    Ok(configurations)
}

/// The project's hooks, by full name, as the engine sees them (from the committed schemas).
fn served_hooks(project: &Project) -> Result<BTreeMap<String, ServedHook>> {
    project
        .config
        .hooks
        .iter()
        .map(|entry| {
            let schema = committed_schema(&project.hook_schema_path(entry))?;
            Ok((project.hook_name(entry), ServedHook::from_schema(&entry.binary, &schema)))
        })
        .collect()
}

/// `--type-config Type=FILE` options read: type, file and the JSON object the file holds.
pub fn type_configuration_files(options: &[String]) -> Result<Vec<(String, String, Value)>> {
    let mut read = Vec::new();
    for option in options {
        let Some((type_name, file)) = option.split_once('=') else { bail!("--type-config {option}: write Type=FILE") };
        let text =
            std::fs::read_to_string(file).with_context(|| format!("--type-config {type_name}: cannot read {file}"))?;
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("--type-config {type_name}: {file} is not JSON"))?;
        if !value.is_object() {
            bail!("--type-config {type_name}: {file} must hold a JSON object");
        }
        read.push((type_name.to_owned(), file.to_owned(), value));
    }
    Ok(read)
}

/// The project's types, by full name, as the engine sees them (from the committed schemas).
fn served_types(project: &Project) -> Result<BTreeMap<String, ServedType>> {
    project
        .config
        .types
        .iter()
        .map(|entry| {
            let schema = committed_schema(&project.schema_path(entry))?;
            Ok((
                project.type_name(entry),
                ServedType { info: TypeInfo::from_schema(&schema), function: entry.binary.clone() },
            ))
        })
        .collect()
}

/// A committed registry schema.
fn committed_schema(path: &std::path::Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("no committed schema at {}: run `cargo rpdk schema`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
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
