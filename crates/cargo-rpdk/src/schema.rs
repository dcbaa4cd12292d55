//! `cargo rpdk schema`: emits every type's registry schema into `schemas/`, and its reference
//! page, written from that schema, into `docs/`.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::project::{Project, write};

/// Options of `cargo rpdk schema`.
#[derive(clap::Args)]
pub struct Options {
    /// Fail when schemas/ or docs/ differs from what the code emits, instead of writing.
    #[arg(long)]
    pub check: bool,
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let bin_dir = project.build_handlers()?;
    let drift = emit(&project, &bin_dir, options.check)?;
    if drift.is_empty() {
        println!(
            "schemas and docs: {} types and {} hooks up to date",
            project.config.types.len(),
            project.config.hooks.len()
        );
        Ok(())
    } else if options.check {
        bail!("{} differ from the code: run `cargo rpdk schema` and commit the result", drift.join(", "))
    } else {
        println!("schemas: wrote {}", drift.join(", "));
        Ok(())
    }
}

/// The schema of every type, as the handler binaries emit them, keyed by type name.
pub fn emitted(project: &Project, bin_dir: &std::path::Path) -> Result<Vec<(String, Value)>> {
    let mut all = Vec::new();
    for (_, binary_name) in project.all_binaries() {
        let binary = bin_dir.join(binary_name);
        let output = Command::new(&binary)
            .args(["schema", "--namespace", &project.config.namespace])
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        if !output.status.success() {
            bail!("{binary_name} schema: {}", String::from_utf8_lossy(&output.stderr));
        }
        let schemas: Vec<Value> = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("{binary_name} schema printed no JSON list"))?;
        for schema in schemas {
            let name = schema.get("typeName").and_then(Value::as_str).unwrap_or_default().to_owned();
            all.push((name, schema));
        }
    }
    Ok(all)
}

/// Writes (or, with `check`, compares) every schema; returns the files that differed.
pub fn emit(project: &Project, bin_dir: &std::path::Path, check: bool) -> Result<Vec<String>> {
    let schemas = emitted(project, bin_dir)?;
    let mut drift = Vec::new();
    for entry in &project.config.types {
        let name = project.type_name(entry);
        let schema = schemas
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s)
            .with_context(|| format!("binary {} does not serve {name}; check rpdk-config.json", entry.binary))?;
        let files = [
            (project.schema_path(entry), format!("{}\n", serde_json::to_string_pretty(schema)?)),
            (project.doc_path(entry), crate::docs::markdown(schema)),
        ];
        drift.extend(write_or_compare(project, files, check)?);
    }
    for entry in &project.config.hooks {
        let name = project.hook_name(entry);
        let schema = schemas.iter().find(|(n, _)| *n == name).map(|(_, s)| s).with_context(|| {
            format!("binary {} does not serve the hook {name}; check rpdk-config.json", entry.binary)
        })?;
        let files = [
            (project.hook_schema_path(entry), format!("{}\n", serde_json::to_string_pretty(schema)?)),
            (project.hook_doc_path(entry), crate::docs::hook_markdown(schema)),
        ];
        drift.extend(write_or_compare(project, files, check)?);
    }
    Ok(drift)
}

/// Writes each file whose text differs (or, with `check`, only compares); the files that differed,
/// relative to the project.
fn write_or_compare(project: &Project, files: [(std::path::PathBuf, String); 2], check: bool) -> Result<Vec<String>> {
    let mut differed = Vec::new();
    for (path, text) in files {
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            differed.push(path.strip_prefix(&project.root).unwrap_or(&path).display().to_string());
            if !check {
                write(&path, text)?;
            }
        }
    }
    Ok(differed)
}
