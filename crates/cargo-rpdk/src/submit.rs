//! `cargo rpdk submit`: registers the project's types as private extensions in the account and
//! region of the developer's own AWS configuration, in one command: the package, the execution
//! role, where the handlers' logs and metrics go, the upload, the registration followed to its
//! end, the default version and the type configuration.

mod aws;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::deploy::Output;
use crate::package::{self, Arch, HOOK_ROLE, RESOURCE_ROLE};
use crate::project::{HookEntry, Project, TypeEntry};
use crate::tools::Tools;

/// Options of `cargo rpdk submit`.
#[derive(clap::Args)]
pub struct Options {
    /// Submit this type (`Namespace::Service::Resource` or `Service::Resource`); repeat for
    /// more [default: every type of rpdk-config.json].
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Make each newly registered version its type's default.
    #[arg(long)]
    pub set_default: bool,
    /// Set a type's configuration once it is registered, `TYPE=FILE` (a JSON object), checked
    /// against the type's configuration schema before anything is sent; repeat for more types.
    #[arg(long = "type-config", value_name = "TYPE=FILE")]
    pub type_configurations: Vec<String>,
    /// Upload the packages to this bucket instead of the private, encrypted one submit keeps in
    /// the stack `rpdk-submit-bucket`.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Run every submitted type with this execution role instead of deploying each package's
    /// resource-role.yaml as the stack `<type stem>-role-stack`.
    #[arg(long)]
    pub role_arn: Option<String>,
    /// Deliver the handlers' logs to this existing log group instead of `<type stem>-logs`,
    /// which submit creates.
    #[arg(long, value_name = "NAME")]
    pub log_group: Option<String>,
    /// Register without a logging configuration: the handlers' logs and metrics go nowhere.
    #[arg(long, conflicts_with = "log_group")]
    pub no_logging: bool,
    /// How long to follow each registration before giving up on it: `90s`, `20m`, `1h`. The
    /// service usually takes minutes, and sometimes most of an hour.
    #[arg(long, default_value = "60m", value_parser = duration)]
    pub timeout: Duration,
    /// Package, check the type configurations and print the calls submit would make; call
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Take the packages `cargo rpdk package --out DIR` wrote instead of packaging now.
    #[arg(long, value_name = "DIR")]
    pub packages: Option<PathBuf>,
    /// `text` for people, `json` (one object per type and line) for scripts.
    #[arg(long, default_value = "text")]
    pub output: Output,
}

/// A `--timeout` value: a number of seconds, minutes or hours.
fn duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("'{text}': write a number and a unit: 90s, 20m, 1h"))?;
    let seconds = match unit {
        "s" | "" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(format!("'{text}': the unit is s, m or h")),
    };
    if seconds == 0 {
        return Err("the timeout must be longer than nothing".into());
    }
    Ok(Duration::from_secs(seconds))
}

/// One type to submit, as checked before any call.
pub struct Submission {
    type_name: String,
    stem: String,
    /// A hook, registered as `HOOK`; otherwise a resource type.
    hook: bool,
    package: PathBuf,
    /// The execution role's template (the package's resource-role.yaml), unless `--role-arn`.
    role_template: Option<String>,
    logging: Option<Logging>,
    /// The type configuration to set: the file it came from and its JSON text.
    configuration: Option<(String, String)>,
}

/// Where a type's handlers deliver their logs and metrics.
struct Logging {
    group: String,
    /// The stack of the log group (unless given) and the log delivery role.
    template: String,
}

/// The stack holding each type's execution role, as `cfn submit` names it.
fn role_stack(stem: &str) -> String {
    format!("{stem}-role-stack")
}

/// The stack holding each type's log group and log delivery role.
fn logging_stack(stem: &str) -> String {
    format!("{stem}-logging-stack")
}

/// The stack of the bucket packages are uploaded to.
const BUCKET_STACK: &str = "rpdk-submit-bucket";

/// A type or a hook of the project, as submit handles them.
#[derive(Clone, Copy)]
pub enum Extension<'a> {
    /// A resource type.
    Type(&'a TypeEntry),
    /// A hook.
    Hook(&'a HookEntry),
}

impl Extension<'_> {
    fn name(self, project: &Project) -> String {
        match self {
            Self::Type(entry) => project.type_name(entry),
            Self::Hook(entry) => project.hook_name(entry),
        }
    }

    fn stem(self, project: &Project) -> String {
        match self {
            Self::Type(entry) => project.type_stem(entry),
            Self::Hook(entry) => project.hook_stem(entry),
        }
    }

    fn schema_path(self, project: &Project) -> PathBuf {
        match self {
            Self::Type(entry) => project.schema_path(entry),
            Self::Hook(entry) => project.hook_schema_path(entry),
        }
    }

    fn is_hook(self) -> bool {
        matches!(self, Self::Hook(_))
    }

    /// The package's execution role template.
    fn role_file(self) -> &'static str {
        if self.is_hook() { HOOK_ROLE } else { RESOURCE_ROLE }
    }
}

/// The extensions `--type` names (a type or a hook, by full name or `Service::Name`), or all.
fn selected<'a>(project: &'a Project, names: &[String]) -> Result<Vec<Extension<'a>>> {
    if names.is_empty() {
        let types = project.config.types.iter().map(Extension::Type);
        return Ok(types.chain(project.config.hooks.iter().map(Extension::Hook)).collect());
    }
    names
        .iter()
        .map(|name| match project.find_hook(name) {
            Some(hook) => Ok(Extension::Hook(hook)),
            None => project.find_type(name).map(Extension::Type),
        })
        .collect()
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let entries = selected(&project, &options.types)?;
    if let Some(group) = &options.log_group {
        check_log_group_name(group)?;
    }
    let mut configurations = configurations(&project, &entries, &options.type_configurations)?;
    let packages = match &options.packages {
        Some(dir) => dir.clone(),
        None => {
            let tools = Tools::ensure(&project)?;
            let lambda_dir = package::build_for_lambda(&project, &tools, Arch::X86_64)?;
            let out = project.target_dir().join("rpdk").join("package");
            for entry in &entries {
                match entry {
                    Extension::Type(entry) => {
                        let bootstrap = lambda_dir.join(&entry.binary).join("bootstrap");
                        package::write_package(&project, entry, &bootstrap, &out)?;
                    }
                    Extension::Hook(entry) => {
                        let bootstrap = lambda_dir.join(&entry.binary).join("bootstrap");
                        package::write_hook_package(&project, &tools, entry, &bootstrap, &out)?;
                    }
                }
            }
            out
        }
    };
    let mut submissions = Vec::new();
    for entry in entries {
        let type_name = entry.name(&project);
        let stem = entry.stem(&project);
        let dir = packages.join(&stem);
        let package = dir.join(format!("{stem}.zip"));
        packaged_schema_is_current(&type_name, &entry.schema_path(&project), &package)?;
        let role_template = match options.role_arn {
            Some(_) => None,
            None => Some(
                std::fs::read_to_string(dir.join(entry.role_file()))
                    .with_context(|| format!("{type_name}: no {} in {}", entry.role_file(), dir.display()))?,
            ),
        };
        let logging = (!options.no_logging).then(|| logging(&type_name, entry.is_hook(), options.log_group.as_deref()));
        let configuration = configurations.remove(&type_name);
        submissions.push(Submission {
            type_name,
            stem,
            hook: entry.is_hook(),
            package,
            role_template,
            logging,
            configuration,
        });
    }
    if options.dry_run {
        print_plan(&submissions, options);
        return Ok(());
    }
    let outcomes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(aws::submit_all(&submissions, options))?;
    let failed = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    for (submission, outcome) in submissions.iter().zip(&outcomes) {
        print_outcome(&submission.type_name, outcome.as_ref(), options.output);
    }
    if failed > 0 {
        bail!("{failed} of {} types were not registered", submissions.len());
    }
    Ok(())
}

/// A registered version of a type.
pub struct Registered {
    type_arn: String,
    version_arn: String,
    is_default: bool,
    execution_role: String,
    log_group: Option<String>,
    configuration_arn: Option<String>,
}

fn print_outcome(type_name: &str, outcome: Result<&Registered, &anyhow::Error>, output: Output) {
    match (output, outcome) {
        (Output::Text, Ok(registered)) => println!(
            "{type_name}  {}  version {}  {}",
            registered.version_arn,
            version_id(&registered.version_arn),
            if registered.is_default { "default" } else { "not default" }
        ),
        (Output::Text, Err(error)) => println!("{type_name}  FAILED: {error:#}"),
        (Output::Json, Ok(registered)) => println!(
            "{}",
            json!({
                "typeName": type_name,
                "status": "REGISTERED",
                "typeArn": registered.type_arn,
                "typeVersionArn": registered.version_arn,
                "versionId": version_id(&registered.version_arn),
                "isDefaultVersion": registered.is_default,
                "executionRoleArn": registered.execution_role,
                "logGroupName": registered.log_group,
                "configurationArn": registered.configuration_arn,
            })
        ),
        (Output::Json, Err(error)) => {
            println!("{}", json!({"typeName": type_name, "status": "FAILED", "error": format!("{error:#}")}))
        }
    }
}

/// `00000002` of `arn:...:type/resource/Rpdk-IAM-CrossAccountRole/00000002`.
fn version_id(version_arn: &str) -> &str {
    version_arn.rsplit('/').next().unwrap_or(version_arn)
}

/// What a submit would call, type by type.
fn print_plan(submissions: &[Submission], options: &Options) {
    let bucket = options.bucket.clone().unwrap_or_else(|| format!("(the bucket of stack {BUCKET_STACK})"));
    for submission in submissions {
        let stem = &submission.stem;
        let mut calls = Vec::new();
        match &options.role_arn {
            Some(arn) => calls.push(format!("execution role {arn}")),
            None => calls.push(format!(
                "CloudFormation stack {}: {RESOURCE_ROLE} (created, or updated when it differs)",
                role_stack(stem)
            )),
        }
        if let Some(logging) = &submission.logging {
            calls.push(format!(
                "CloudFormation stack {}: log delivery role for log group {}{}",
                logging_stack(stem),
                logging.group,
                if options.log_group.is_some() { "" } else { " (made there too)" }
            ));
        }
        calls.push(format!("S3 PutObject s3://{bucket}/{stem}-<time>.zip from {}", submission.package.display()));
        calls.push(format!(
            "CloudFormation RegisterType {}, then DescribeTypeRegistration until it ends (at most {} s)",
            submission.type_name,
            options.timeout.as_secs()
        ));
        if options.set_default {
            calls.push("CloudFormation SetTypeDefaultVersion".into());
        }
        if let Some((file, _)) = &submission.configuration {
            calls.push(format!("CloudFormation SetTypeConfiguration from {file} (checked: valid)"));
        }
        match options.output {
            Output::Text => {
                println!("{}", submission.type_name);
                for call in &calls {
                    println!("  {call}");
                }
            }
            Output::Json => println!("{}", json!({"typeName": submission.type_name, "calls": calls})),
        }
    }
}

/// A log group name CloudWatch Logs accepts, and so one a template can carry as it is.
fn check_log_group_name(group: &str) -> Result<()> {
    ensure!(
        !group.is_empty()
            && group.len() <= 512
            && group.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c)),
        "--log-group '{group}': a log group name is 1 to 512 of the characters a-z, A-Z, 0-9 and . _ - / #"
    );
    Ok(())
}

/// A type's logging: its log group (the given one, or `<stem>-logs`, made by the stack) and the
/// stack's template.
fn logging(type_name: &str, hook: bool, given_group: Option<&str>) -> Logging {
    let group = given_group.map_or_else(|| rpdk_local::log_group_name(type_name), str::to_owned);
    let log_group_resource = if given_group.is_some() {
        String::new()
    } else {
        format!(include_str!("../templates/submit/log-group.yaml"), log_group = group)
    };
    let template = format!(
        include_str!("../templates/submit/logging.yaml"),
        type_name = type_name,
        log_group = group,
        log_group_resource = log_group_resource,
        arn_type = type_name.replace("::", "-"),
        kind = if hook { "hook" } else { "resource" },
        service = if hook { "hooks.cloudformation.amazonaws.com" } else { "resources.cloudformation.amazonaws.com" },
        metrics_namespace = format!("AWS/CloudFormation/{}", type_name.replace("::", "/")),
    );
    Logging { group, template }
}

/// The bucket stack's template.
fn bucket_template() -> &'static str {
    include_str!("../templates/submit/bucket.yaml")
}

/// Every template a submit of the project may deploy besides resource-role.yaml, by file name:
/// the bucket's, and each type's logging with its group made and with a group given.
pub fn infrastructure_templates(project: &Project) -> Vec<(String, String)> {
    let mut templates = vec![(format!("{BUCKET_STACK}.yaml"), bucket_template().to_owned())];
    for entry in selected(project, &[]).unwrap_or_default() {
        let (type_name, stem) = (entry.name(project), entry.stem(project));
        templates.push((format!("{}.yaml", logging_stack(&stem)), logging(&type_name, entry.is_hook(), None).template));
        templates.push((
            format!("{}-given-group.yaml", logging_stack(&stem)),
            logging(&type_name, entry.is_hook(), Some("/platform/types")).template,
        ));
    }
    templates
}

/// The package's schema must be the committed one: a package older than the schema would
/// register what the code no longer is.
fn packaged_schema_is_current(type_name: &str, schema_path: &Path, package: &Path) -> Result<()> {
    let stale = || format!("{type_name}: run `cargo rpdk package --arch x86_64`, or submit without --packages");
    let bytes = std::fs::read(package).with_context(|| format!("{type_name}: no package at {}", package.display()))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| format!("{type_name}: {} is not a zip", package.display()))?;
    let mut packaged = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("schema.json").with_context(|| format!("{type_name}: the package has no schema.json"))?,
        &mut packaged,
    )?;
    let committed = std::fs::read_to_string(schema_path)?;
    if packaged != committed {
        return Err(anyhow::anyhow!("the package at {} holds an older schema", package.display())).context(stale());
    }
    Ok(())
}

/// The `--type-config TYPE=FILE` options by type name, each read and checked against its
/// type's configuration schema (the schema's `typeConfiguration` with its definitions). A hook's
/// file is its whole hook configuration (`CloudFormationConfiguration.HookConfiguration`), whose
/// `Properties` are checked.
fn configurations(
    project: &Project,
    entries: &[Extension<'_>],
    options: &[String],
) -> Result<BTreeMap<String, (String, String)>> {
    let submitted: BTreeMap<String, Extension<'_>> = entries.iter().map(|e| (e.name(project), *e)).collect();
    let mut configurations = BTreeMap::new();
    for (given, file, configuration) in crate::deploy::type_configuration_files(options)? {
        let entry = selected(project, std::slice::from_ref(&given))?[0];
        let type_name = entry.name(project);
        if !submitted.contains_key(&type_name) {
            bail!(
                "--type-config {type_name}: that type is not submitted here; add --type {type_name}, or configure one of {}",
                submitted.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(entry.schema_path(project))?)?;
        let Some(configuration_schema) = schema.get("typeConfiguration") else {
            bail!(
                "--type-config {type_name}: the type has no configuration (its schema declares no typeConfiguration)"
            );
        };
        let mut configuration_schema = configuration_schema.clone();
        if let (Some(object), Some(definitions)) = (configuration_schema.as_object_mut(), schema.get("definitions")) {
            object.insert("definitions".into(), definitions.clone());
        }
        let (checked, at) = if entry.is_hook() {
            (
                hook_properties(&type_name, &file, &configuration)?,
                "/CloudFormationConfiguration/HookConfiguration/Properties",
            )
        } else {
            (&configuration, "")
        };
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&configuration_schema)
            .with_context(|| format!("{type_name}: its configuration schema cannot be compiled"))?;
        let faults: Vec<String> = validator
            .iter_errors(checked)
            .map(|error| {
                let path = format!("{at}{}", error.instance_path());
                format!(
                    "{} {}: {} (schema rule {})",
                    file,
                    if path.is_empty() { "(the whole object)".to_owned() } else { format!("at {path}") },
                    error.masked(),
                    error.kind().keyword()
                )
            })
            .collect();
        if !faults.is_empty() {
            bail!("--type-config {type_name}: {}", faults.join("; "));
        }
        configurations.insert(type_name, (file, configuration.to_string()));
    }
    Ok(configurations)
}

/// The `Properties` of a hook's configuration document, once its frame is as the registry
/// requires.
fn hook_properties<'a>(type_name: &str, file: &str, document: &'a Value) -> Result<&'a Value> {
    let frame = document.pointer("/CloudFormationConfiguration/HookConfiguration").with_context(|| {
        format!(
            "--type-config {type_name}: {file} is not a hook configuration: write {{\"CloudFormationConfiguration\": \
             {{\"HookConfiguration\": {{\"HookInvocationStatus\": \"ENABLED\", \"FailureMode\": \"FAIL\", \
             \"TargetOperations\": [\"RESOURCE\"], \"Properties\": {{...}}}}}}}}"
        )
    })?;
    for (field, allowed, required) in
        [("HookInvocationStatus", &["ENABLED", "DISABLED"][..], true), ("FailureMode", &["FAIL", "WARN"][..], false)]
    {
        match frame.get(field).and_then(Value::as_str) {
            Some(value) if allowed.contains(&value) => {}
            None if !required && frame.get(field).is_none() => {}
            _ => bail!("--type-config {type_name}: {file} at HookConfiguration/{field}: one of {}", allowed.join(", ")),
        }
    }
    static EMPTY: Value = Value::Null;
    Ok(frame.get("Properties").unwrap_or(&EMPTY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_seconds_minutes_and_hours() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("20m"), Ok(Duration::from_secs(1200)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "m", "10d", "-5m", "0s"] {
            assert!(duration(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn the_log_role_may_write_only_its_group_and_its_types_metrics() {
        let made = logging("Rpdk::IAM::CrossAccountRole", false, None);
        assert_eq!(made.group, "rpdk-iam-crossaccountrole-logs");
        assert!(made.template.contains("LogGroupName: rpdk-iam-crossaccountrole-logs"));
        assert!(made.template.contains(":log-group:rpdk-iam-crossaccountrole-logs\n"));
        assert!(made.template.contains(":log-group:rpdk-iam-crossaccountrole-logs:*\n"));
        assert!(made.template.contains("cloudwatch:namespace: AWS/CloudFormation/Rpdk/IAM/CrossAccountRole"));
        assert!(made.template.contains("type/resource/Rpdk-IAM-CrossAccountRole/*"));
        let given = logging("Rpdk::IAM::CrossAccountRole", false, Some("/platform/types"));
        assert!(!given.template.contains("AWS::Logs::LogGroup"), "a given group is not made");
        assert!(given.template.contains(":log-group:/platform/types:*"));
        let hook = logging("Rpdk::Governance::EncryptionHook", true, None);
        assert!(hook.template.contains("Service: hooks.cloudformation.amazonaws.com"));
        assert!(hook.template.contains("type/hook/Rpdk-Governance-EncryptionHook/*"));
    }

    #[test]
    fn log_group_names_are_checked_before_they_reach_a_template() {
        assert!(check_log_group_name("/platform/types-1").is_ok());
        for bad in ["", "a b", "x\ny", "a:b", &"x".repeat(513)] {
            assert!(check_log_group_name(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
