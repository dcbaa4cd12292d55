//! `cargo rpdk init`: a new type, one command away. It writes a handler crate of a small real
//! type (a named setting kept as an SSM parameter, from `templates/ssm-type/`), adds the type to
//! `rpdk-config.json`, emits its schema and writes its `cfn test` inputs, so `cargo rpdk test`
//! covers it with no other edit: schema drift, `cfn validate`, `cfn test`, the permission proofs
//! and the generic lifecycle test of the native suite.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use rpdk_local::type_stem;
use serde_json::Value;

use crate::project::{Project, write};

/// Options of `cargo rpdk init`.
#[derive(clap::Args)]
pub struct Options {
    /// The new type's name, `Namespace::Service::Resource`; the namespace is the project's.
    pub type_name: String,
    /// The handler crate's name (default: `service-resource`, lowercase).
    #[arg(long = "crate")]
    pub crate_name: Option<String>,
}

/// The names one type's files are written with.
#[derive(Debug, PartialEq, Eq)]
pub struct Names {
    namespace: String,
    service: String,
    resource: String,
    crate_name: String,
}

impl Names {
    /// The names of `type_name` in a project of `namespace`, its crate `crate_name` when given.
    pub fn new(type_name: &str, namespace: &str, crate_name: Option<&str>) -> Result<Self> {
        let parts: Vec<&str> = type_name.split("::").collect();
        let [given_namespace, service, resource] = parts[..] else {
            bail!("{type_name}: write the type as Namespace::Service::Resource, e.g. {namespace}::SSM::Setting");
        };
        if given_namespace != namespace {
            bail!(
                "{type_name}: this project's namespace is {namespace} (rpdk-config.json); write {namespace}::{service}::{resource}"
            );
        }
        for (what, part) in [("Service", service), ("Resource", resource)] {
            let valid = part.len() <= 64
                && part.starts_with(|c: char| c.is_ascii_uppercase())
                && part.chars().all(|c| c.is_ascii_alphanumeric());
            if !valid {
                bail!(
                    "{type_name}: the {what} part {part:?} must start with a capital letter and hold only letters and digits (at most 64)"
                );
            }
        }
        let crate_name = crate_name.map_or_else(|| format!("{service}-{resource}").to_ascii_lowercase(), str::to_owned);
        let valid = crate_name.starts_with(|c: char| c.is_ascii_lowercase())
            && crate_name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !crate_name.ends_with('-');
        if !valid {
            bail!(
                "--crate {crate_name}: a crate name here is lowercase letters, digits and hyphens, starting with a letter"
            );
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            resource: resource.to_owned(),
            crate_name,
        })
    }

    fn type_name(&self) -> String {
        format!("{}::{}::{}", self.namespace, self.service, self.resource)
    }

    fn stem(&self) -> String {
        type_stem(&self.type_name())
    }

    /// The templates, filled.
    fn render(&self, template: &str) -> String {
        [
            ("@@TYPE_NAME@@", self.type_name()),
            ("@@SERVICE@@", self.service.clone()),
            ("@@RESOURCE@@", self.resource.clone()),
            ("@@CRATE_IDENT@@", self.crate_name.replace('-', "_")),
            ("@@CRATE@@", self.crate_name.clone()),
            ("@@ROOT@@", format!("/{}", self.stem())),
        ]
        .iter()
        .fold(template.to_owned(), |text, (marker, value)| text.replace(marker, value))
    }

    /// Every file of the type, by its path from the project's root, Rust files as rustfmt
    /// writes them with the project's configuration in `root`.
    pub fn files(&self, root: &Path) -> Result<Vec<(PathBuf, String)>> {
        let crate_dir = PathBuf::from("handlers").join(&self.crate_name);
        let inputs = PathBuf::from("contract-tests").join("types").join(self.stem()).join("inputs");
        [
            (crate_dir.join("Cargo.toml"), include_str!("../templates/ssm-type/Cargo.toml.tmpl")),
            (crate_dir.join("src").join("main.rs"), include_str!("../templates/ssm-type/main.rs.tmpl")),
            (crate_dir.join("src").join("lib.rs"), include_str!("../templates/ssm-type/lib.rs.tmpl")),
            (crate_dir.join("src").join("model.rs"), include_str!("../templates/ssm-type/model.rs.tmpl")),
            (crate_dir.join("src").join("ssm.rs"), include_str!("../templates/ssm-type/ssm.rs.tmpl")),
            (inputs.join("inputs_1_create.json"), include_str!("../templates/ssm-type/inputs_1_create.json.tmpl")),
            (inputs.join("inputs_1_update.json"), include_str!("../templates/ssm-type/inputs_1_update.json.tmpl")),
            (inputs.join("inputs_1_invalid.json"), include_str!("../templates/ssm-type/inputs_1_invalid.json.tmpl")),
        ]
        .into_iter()
        .map(|(path, template)| {
            let text = self.render(template);
            let text = if path.extension().is_some_and(|e| e == "rs") { rustfmt(root, &text)? } else { text };
            Ok((path, text))
        })
        .collect()
    }
}

/// `code` as rustfmt writes it with the configuration of the project in `root`: the templates
/// are formatted for one name, and a longer or shorter one moves line breaks.
fn rustfmt(root: &Path, code: &str) -> Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--config-path"])
        .arg(root.join("rustfmt.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run rustfmt (the rustfmt component of the toolchain)")?;
    child.stdin.take().context("rustfmt has no stdin")?.write_all(code.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("rustfmt refused a generated file: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?)
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let names = Names::new(&options.type_name, &project.config.namespace, options.crate_name.as_deref())?;
    let type_name = names.type_name();
    if project.config.types.iter().any(|entry| project.type_name(entry) == type_name) {
        bail!("{type_name} is already a type of this project (rpdk-config.json)");
    }
    let files = names.files(&project.root)?;
    if let Some((taken, _)) = files.iter().find(|(path, _)| project.root.join(path).exists()) {
        bail!("{} exists already: choose another type name or --crate, or remove it first", taken.display());
    }
    for (path, text) in &files {
        write(&project.root.join(path), text)?;
        eprintln!("init: wrote {}", path.display());
    }
    add_to_config(&project, &names)?;
    eprintln!("init: added {type_name} to rpdk-config.json; building it to emit its schema");
    let project = Project::discover()?;
    let bin_dir = project.build_handlers()?;
    crate::schema::emit(&project, &bin_dir, false)?;
    println!(
        "{type_name} is ready in handlers/{}: `cargo rpdk test` covers it (schema, cfn validate, cfn test, permissions, lifecycle); `cargo rpdk demo {type_name}` runs it",
        names.crate_name
    );
    Ok(())
}

/// Appends the type's entry to `rpdk-config.json`, leaving the rest of the file as it is
/// written (a JSON rewrite would sort its keys).
fn add_to_config(project: &Project, names: &Names) -> Result<()> {
    let path = project.root.join("rpdk-config.json");
    let text = std::fs::read_to_string(&path).context("cannot read rpdk-config.json")?;
    let entry = format!(
        "    {{\n      \"service\": \"{}\",\n      \"resource\": \"{}\",\n      \"crate\": \"{}\",\n      \"binary\": \"{}\"\n    }}",
        names.service, names.resource, names.crate_name, names.crate_name
    );
    let spliced = text.rfind(']').map(|end| {
        let before = text[..end].trim_end();
        let joint = if before.ends_with('[') { "\n" } else { ",\n" };
        format!("{before}{joint}{entry}\n  {}", &text[end..])
    });
    let added = |config: &Value| {
        config["types"].as_array().and_then(|types| types.last()).is_some_and(|last| {
            last["resource"] == names.resource.as_str() && last["service"] == names.service.as_str()
        })
    };
    match spliced {
        Some(spliced) if serde_json::from_str::<Value>(&spliced).is_ok_and(|config| added(&config)) => {
            write(&path, spliced)
        }
        _ => bail!(
            "rpdk-config.json: cannot add the type to its \"types\" list; add {{\"service\": \"{}\", \"resource\": \"{}\", \"crate\": \"{}\", \"binary\": \"{}\"}} there yourself",
            names.service,
            names.resource,
            names.crate_name,
            names.crate_name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_name_is_the_projects_namespace_and_two_capitalised_parts() {
        let names = Names::new("Rpdk::SSM::Setting", "Rpdk", None).expect("valid");
        assert_eq!((names.crate_name.as_str(), names.stem()), ("ssm-setting", "rpdk-ssm-setting".to_owned()));
        let other = Names::new("Acme::SSM::Setting", "Rpdk", None).expect_err("another namespace");
        assert!(other.to_string().contains("write Rpdk::SSM::Setting"), "{other}");
        for bad in ["Rpdk::SSM", "Rpdk::ssm::Setting", "Rpdk::SSM::Set-ting", "Rpdk::SSM::Setting::X"] {
            assert!(Names::new(bad, "Rpdk", None).is_err(), "{bad}");
        }
        assert!(Names::new("Rpdk::SSM::Setting", "Rpdk", Some("Bad_Name")).is_err());
    }

    /// The example type is what `init` writes: it is `cargo rpdk init Rpdk::SSM::Setting`, run
    /// once and checked in, so every test of `cargo rpdk test` proves what `init` makes.
    #[test]
    fn the_checked_in_example_type_is_what_init_writes() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let names = Names::new("Rpdk::SSM::Setting", "Rpdk", None).expect("valid");
        for (path, text) in names.files(&root).expect("the files") {
            let committed =
                std::fs::read_to_string(root.join(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(committed, text, "{} differs from what init writes", path.display());
        }
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("rpdk-config.json")).expect("config"))
                .expect("JSON");
        let entries = config["types"].as_array().expect("types");
        assert!(
            entries.iter().any(|e| e["service"] == "SSM" && e["resource"] == "Setting" && e["binary"] == "ssm-setting"),
            "rpdk-config.json has the example type"
        );
    }
}
