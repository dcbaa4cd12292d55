//! `cargo rpdk deploy`: templates through the handlers on the local stack.
//!
//! A template is read (YAML with short-form tags, or JSON), checked as a whole and bound to its
//! parameters before anything is created ([`template`], [`evaluate`]); `--dry-run` stops there
//! and prints the plan: the waves of resources that start together, in dependency order.

pub mod evaluate;
pub mod template;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use self::evaluate::{Bindings, StackIdentity};
use self::template::{Problem, Template, TypeInfo};
use crate::project::Project;
use crate::stack::{ACCOUNT_ID, REGION};

/// Options of `cargo rpdk deploy`.
#[derive(clap::Args)]
pub struct Options {
    /// The template: YAML (short-form tags included) or JSON.
    pub template: PathBuf,
    /// The stack's name.
    #[arg(long)]
    pub stack_name: String,
    /// A parameter value, `Name=Value`; repeat for more.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// Check the template and print the plan; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `text` for people, `json` for machines.
    #[arg(long, default_value = "text")]
    pub output: Output,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let text = std::fs::read_to_string(&options.template).with_context(|| format!("cannot read {}", options.template.display()))?;
    let types = served_types(&project)?;
    let given = parameter_values(&options.parameters)?;
    let stack = StackIdentity {
        name: options.stack_name.clone(),
        id: format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{}/local", options.stack_name),
        region: REGION.to_owned(),
        account: ACCOUNT_ID.to_owned(),
        // The local stack's region is in the commercial partition.
        partition: "aws".to_owned(),
        url_suffix: "amazonaws.com".to_owned(),
    };
    let (template, bindings) = match checked(&text, &types, &given, &stack) {
        Ok(checked) => checked,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{}: {problem}", options.template.display());
            }
            bail!("{} problem(s) in {}; nothing was created", problems.len(), options.template.display());
        }
    };
    if !options.dry_run {
        bail!("deploying runs with --dry-run only in this version: it checks the template and prints the plan");
    }
    let waves = waves(&template, &bindings);
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
                let names: Vec<String> = wave.iter().map(|name| format!("{name} ({})", template.resources[name].type_name)).collect();
                println!("  {}. {}", index + 1, names.join(", "));
            }
            let skipped: Vec<&String> = template.resources.iter().filter(|(_, r)| !bindings.holds(r.condition.as_ref())).map(|(name, _)| name).collect();
            let outputs: Vec<&String> = template.outputs.iter().filter(|(_, o)| bindings.holds(o.condition.as_ref())).map(|(name, _)| name).collect();
            if !outputs.is_empty() {
                println!("  outputs: {}", outputs.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
            }
            if !skipped.is_empty() {
                println!("  left out by their conditions: {}", skipped.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
            }
            println!("Nothing was created (--dry-run).");
        }
    }
    Ok(())
}

/// The project's types, by full name, as the engine sees them (from the committed schemas).
fn served_types(project: &Project) -> Result<BTreeMap<String, TypeInfo>> {
    project
        .config
        .types
        .iter()
        .map(|entry| {
            let schema: Value = serde_json::from_str(&std::fs::read_to_string(project.schema_path(entry)).context("no committed schema: run `cargo rpdk schema`")?)?;
            Ok((project.type_name(entry), TypeInfo::from_schema(&schema)))
        })
        .collect()
}

/// `--parameter Name=Value` options as a map; a repeated name is refused.
fn parameter_values(options: &[String]) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for option in options {
        let Some((name, value)) = option.split_once('=') else {
            bail!("--parameter {option}: write Name=Value");
        };
        if values.insert(name.trim().to_owned(), value.to_owned()).is_some() {
            bail!("--parameter {name}: given twice");
        }
    }
    Ok(values)
}

/// The template checked and bound, or every problem found.
pub fn checked(text: &str, types: &BTreeMap<String, TypeInfo>, given: &BTreeMap<String, String>, stack: &StackIdentity) -> Result<(Template, Bindings), Vec<Problem>> {
    let document = template::parse_text(text).map_err(|problem| vec![problem])?;
    let template = Template::check(&document, types)?;
    let bindings = Bindings::new(&template, given, stack)?;
    Ok((template, bindings))
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
