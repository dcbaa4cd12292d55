//! `cargo rpdk package`: the Lambda bundle and the registration package of every type
//! (protocol.md §6), built for Lambda (x86_64) with cargo-lambda; and per handler binary the
//! bundles of its classic custom resource function, for x86_64 and arm64, with the template of
//! the function's execution role.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::project::{HookEntry, Project, TypeEntry, run_checked, write};
use crate::tools::Tools;

/// Options of `cargo rpdk package`.
#[derive(clap::Args)]
pub struct Options {
    /// Where to write the packages [default: <target dir>/rpdk/package].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The architectures to build: registration needs only x86_64; a custom resource's function
    /// may run on either.
    #[arg(long, value_enum, default_value = "all")]
    pub arch: Architectures,
}

/// Which architectures `package` builds.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Architectures {
    /// x86_64 alone: what registration needs.
    #[value(name = "x86_64")]
    X86_64,
    /// arm64 alone: custom resource functions only.
    Arm64,
    /// Both.
    All,
}

/// The name of the Lambda bundle inside the registration package, as the language plugin
/// hands it to `cfn submit` (see contract-tests/cfn-plugin).
pub const HANDLER_BUNDLE: &str = "handler.zip";
/// The role template `cfn submit` deploys as the type's execution role.
pub const RESOURCE_ROLE: &str = "resource-role.yaml";

/// `cfn generate`'s bounds for the execution role's session: 70 s per minute of the longest
/// handler timeout (120 minutes when a handler declares none), between 1 and 12 hours.
const DEFAULT_TIMEOUT_MINUTES: u64 = 120;
const SESSION_SECONDS_PER_MINUTE: u64 = 70;
const MIN_SESSION_SECONDS: u64 = 3600;
const MAX_SESSION_SECONDS: u64 = 43_200;

/// What one type's package consists of.
pub struct Written {
    pub dir: PathBuf,
    pub bundle: PathBuf,
    pub package: PathBuf,
}

/// The directory of the custom resource functions inside the output.
pub const CUSTOM_RESOURCE_DIR: &str = "custom-resource";
/// The template of a custom resource function's execution role.
pub const FUNCTION_ROLE: &str = "function-role.yaml";

/// A Lambda architecture: cargo-lambda's flag and the name in file names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Self::X86_64 => "--x86-64",
            Self::Arm64 => "--arm64",
        }
    }
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let tools = Tools::ensure(&project)?;
    let arches: Vec<Arch> = match options.arch {
        Architectures::X86_64 => vec![Arch::X86_64],
        Architectures::Arm64 => vec![Arch::Arm64],
        Architectures::All => vec![Arch::X86_64, Arch::Arm64],
    };
    let mut built = Vec::new();
    for arch in arches {
        built.push((arch, build_for_lambda(&project, &tools, arch)?));
    }
    let out = options.out.clone().unwrap_or_else(|| project.target_dir().join("rpdk").join("package"));
    // Registered types run on x86_64 (protocol.md §6): an arm64 build has no registration package.
    let x86_64 = built.iter().find(|(arch, _)| *arch == Arch::X86_64).map(|(_, dir)| dir);
    for (entry, x86_64) in project.config.types.iter().filter_map(|entry| Some((entry, x86_64?))) {
        let bootstrap = x86_64.join(&entry.binary).join("bootstrap");
        let written = write_package(&project, entry, &bootstrap, &out)?;
        print_written(&project.type_name(entry), &bootstrap, &written, RESOURCE_ROLE)?;
    }
    for (entry, x86_64) in project.config.hooks.iter().filter_map(|entry| Some((entry, x86_64?))) {
        let bootstrap = x86_64.join(&entry.binary).join("bootstrap");
        let written = write_hook_package(&project, &tools, entry, &bootstrap, &out)?;
        print_written(&format!("{} (hook)", project.hook_name(entry)), &bootstrap, &written, HOOK_ROLE)?;
    }
    for entry in project.binaries() {
        let bootstraps: Vec<(Arch, PathBuf)> =
            built.iter().map(|(arch, dir)| (*arch, dir.join(&entry.binary).join("bootstrap"))).collect();
        let written = write_custom_resource(&project, &entry.binary, &bootstraps, &out)?;
        println!("{} as a custom resource function", entry.binary);
        for (arch, bundle) in &written.bundles {
            println!("  {:<8} {:>6.2} MiB  {}", arch.name(), file_size(bundle)? as f64 / 1_048_576.0, bundle.display());
        }
        println!("  role              {}", written.role.display());
    }
    Ok(())
}

/// What `package` wrote for one type or hook: sizes and paths.
fn print_written(name: &str, bootstrap: &Path, written: &Written, role: &str) -> Result<()> {
    println!("{name}");
    for (label, path) in [("binary", bootstrap), ("bundle", &written.bundle), ("package", &written.package)] {
        println!("  {label:<8} {:>6.2} MiB  {}", file_size(path)? as f64 / 1_048_576.0, path.display());
    }
    println!("  role              {}", written.dir.join(role).display());
    Ok(())
}

/// Release-builds every handler for Lambda on `arch` in one cargo invocation, so the
/// dependencies they share compile once, with one set of features; returns the directory
/// holding `<binary>/bootstrap`. Cargo's own progress shows on a terminal.
pub fn build_for_lambda(project: &Project, tools: &Tools, arch: Arch) -> Result<PathBuf> {
    let lambda_dir = match arch {
        // Where `cargo lambda deploy` looks by default: custom resource and Lambda hook
        // functions, which run on Graviton, deploy without naming a directory.
        Arch::Arm64 => project.target_dir().join("lambda"),
        Arch::X86_64 => project.target_dir().join("lambda").join(arch.name()),
    };
    // zig links against Lambda's glibc, and cross-compiles for arm64.
    let mut command = Command::new(tools.bin("lambda", "cargo-lambda"));
    command.args(["lambda", "build", "--release", arch.flag()]);
    let binaries = project.all_binaries();
    for (crate_name, binary) in &binaries {
        command.args(["--package", crate_name, "--bin", binary]);
    }
    command.arg("--lambda-dir").arg(&lambda_dir).current_dir(&project.root).env("PATH", tools.path_with("lambda"));
    eprintln!("package: building {} handler and hook binaries for Lambda ({})", binaries.len(), arch.name());
    run_checked(&mut command, &format!("building the handlers for Lambda ({})", arch.name()))?;
    Ok(lambda_dir)
}

/// What one custom resource function's output consists of.
pub struct CustomResourceWritten {
    pub bundles: Vec<(Arch, PathBuf)>,
    pub role: PathBuf,
}

/// Writes `<out>/custom-resource/<binary>/`: `<binary>-<arch>.zip` per architecture (`bootstrap`
/// at the root, what `cargo lambda deploy` and `aws lambda create-function` take) and
/// `function-role.yaml`, the function's execution role.
pub fn write_custom_resource(
    project: &Project,
    binary: &str,
    bootstraps: &[(Arch, PathBuf)],
    out: &Path,
) -> Result<CustomResourceWritten> {
    let dir = out.join(CUSTOM_RESOURCE_DIR).join(binary);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let mut bundles = Vec::new();
    for (arch, bootstrap) in bootstraps {
        let binary_bytes =
            std::fs::read(bootstrap).with_context(|| format!("no handler binary at {}", bootstrap.display()))?;
        let bundle = dir.join(format!("{binary}-{}.zip", arch.name()));
        write(&bundle, lambda_bundle(&binary_bytes)?)?;
        bundles.push((*arch, bundle));
    }
    let mut schemas = Vec::new();
    for entry in project.config.types.iter().filter(|entry| entry.binary == binary) {
        let text = std::fs::read_to_string(project.schema_path(entry))
            .context("no committed schema: run `cargo rpdk schema`")?;
        schemas.push((project.type_name(entry), serde_json::from_str::<Value>(&text)?));
    }
    let role = dir.join(FUNCTION_ROLE);
    write(&role, function_role(binary, &schemas)?)?;
    Ok(CustomResourceWritten { bundles, role })
}

pub fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len())
}

/// Writes `<out>/<type stem>/`: `handler.zip` (the Lambda bundle, `bootstrap` at its root),
/// `<type stem>.zip` (what `cfn submit` uploads and `RegisterType` takes) and
/// `resource-role.yaml`, from the handler binary at `bootstrap`.
pub fn write_package(project: &Project, entry: &TypeEntry, bootstrap: &Path, out: &Path) -> Result<Written> {
    let dir = out.join(project.type_stem(entry));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;

    let binary = std::fs::read(bootstrap).with_context(|| format!("no handler binary at {}", bootstrap.display()))?;
    let bundle = dir.join(HANDLER_BUNDLE);
    write(&bundle, lambda_bundle(&binary)?)?;

    let schema_text =
        std::fs::read_to_string(project.schema_path(entry)).context("no committed schema: run `cargo rpdk schema`")?;
    let schema: Value = serde_json::from_str(&schema_text)?;
    let package = dir.join(format!("{}.zip", project.type_stem(entry)));
    write(&package, registration_package(project, entry, &schema_text, &schema, &std::fs::read(&bundle)?)?)?;
    write(&dir.join(RESOURCE_ROLE), resource_role(&project.type_name(entry), &schema)?)?;
    Ok(Written { dir, bundle, package })
}

/// The Lambda bundle: the binary as `bootstrap`, executable, at the zip's root.
fn lambda_bundle(binary: &[u8]) -> Result<Vec<u8>> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "bootstrap",
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).unix_permissions(0o755),
    )?;
    zip.write_all(binary)?;
    Ok(zip.finish()?.into_inner())
}

/// The registration package, laid out as `cfn submit` lays it out: `.rpdk-config`,
/// `schema.json`, `configuration-schema.json` when the type has a configuration, the inputs
/// (placeholders, never values), the handler bundle and `.cfn_metadata.json`. Entries are
/// stored, as `cfn submit` stores them: the bundle inside is already compressed.
fn registration_package(
    project: &Project,
    entry: &TypeEntry,
    schema_text: &str,
    schema: &Value,
    bundle: &[u8],
) -> Result<Vec<u8>> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(configuration) = configuration_schema(&project.type_name(entry), schema) {
        files.push(("configuration-schema.json".into(), serde_json::to_string_pretty(&configuration)?.into_bytes()));
    }
    files.push((".rpdk-config".into(), serde_json::to_string_pretty(&rpdk_config(project, entry))?.into_bytes()));
    files.push(("schema.json".into(), schema_text.as_bytes().to_vec()));
    for input in inputs(project, entry)? {
        let name = input.file_name().and_then(|n| n.to_str()).context("input file names are UTF-8")?;
        files.push((format!("inputs/{name}"), std::fs::read(&input)?));
    }
    files.push((HANDLER_BUNDLE.into(), bundle.to_vec()));
    files.push((".cfn_metadata.json".into(), cfn_metadata().to_string().into_bytes()));
    stored_zip(&files)
}

/// The `.rpdk-config` of a type: the project file `cfn` reads and the package carries.
pub fn rpdk_config(project: &Project, entry: &TypeEntry) -> Value {
    json!({
        "artifact_type": "RESOURCE",
        "typeName": project.type_name(entry),
        "language": "rust",
        "runtime": project.config.runtime,
        "entrypoint": "bootstrap",
        "testEntrypoint": "bootstrap",
        "settings": {"protocolVersion": "2.0.0"}
    })
}

/// The committed contract-test inputs of a type, sorted; their `{{Name}}` placeholders stay
/// unrendered, so no run's values (or secrets) end up in a package.
fn inputs(project: &Project, entry: &TypeEntry) -> Result<Vec<PathBuf>> {
    let dir = project.fixture_dir(entry).join("inputs");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    Ok(files)
}

/// `typeConfiguration` with the schema's definitions and the type name, as `cfn` derives it.
fn configuration_schema(type_name: &str, schema: &Value) -> Option<Value> {
    let mut configuration = schema.get("typeConfiguration")?.as_object()?.clone();
    configuration
        .insert("definitions".into(), schema.get("definitions").cloned().unwrap_or_else(|| Value::Object(Map::new())));
    configuration.insert("typeName".into(), type_name.into());
    Some(Value::Object(configuration))
}

/// Every permission a schema's handlers declare.
pub fn declared_permissions(schema: &Value) -> Result<Vec<&str>> {
    let handlers = schema.get("handlers").and_then(Value::as_object).context("the schema declares no handlers")?;
    let mut actions: Vec<&str> = handlers
        .values()
        .filter_map(|h| h.get("permissions").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .filter(|a| !a.is_empty())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    Ok(actions)
}

/// The execution role `cfn submit` creates for a type: every handler permission, trusted only
/// by CloudFormation's resource service acting for this account and this type.
fn resource_role(type_name: &str, schema: &Value) -> Result<String> {
    execution_role(type_name, schema, Extension::Resource)
}

/// What an execution role serves: the registry's word for it in ARNs, who assumes it, and the
/// names `cfn generate` gives.
#[derive(Clone, Copy)]
enum Extension {
    Resource,
    Hook,
}

fn execution_role(type_name: &str, schema: &Value, extension: Extension) -> Result<String> {
    let handlers = schema.get("handlers").and_then(Value::as_object).context("the schema declares no handlers")?;
    let actions = declared_permissions(schema)?;
    // Hooks declare no timeout: their sessions last as long as the default handler's.
    let longest_minutes = handlers
        .values()
        .map(|h| h.get("timeoutInMinutes").and_then(Value::as_u64).unwrap_or(DEFAULT_TIMEOUT_MINUTES))
        .max()
        .unwrap_or(DEFAULT_TIMEOUT_MINUTES);
    let session = (SESSION_SECONDS_PER_MINUTE * longest_minutes).clamp(MIN_SESSION_SECONDS, MAX_SESSION_SECONDS);
    // A type that needs no permission still gets a valid policy: one that allows nothing.
    let (effect, actions) = if actions.is_empty() { ("Deny", vec!["*"]) } else { ("Allow", actions) };
    if type_name.contains(|c: char| !(c.is_ascii_alphanumeric() || c == ':')) {
        bail!("type name '{type_name}' has characters a role template cannot carry");
    }
    let arn_type = type_name.replace("::", "-");
    let action_lines: String = actions.iter().map(|a| format!("                  - \"{a}\"\n")).collect();
    let (kind, services, policy, runs) = match extension {
        Extension::Resource => {
            ("resource", "Service: resources.cloudformation.amazonaws.com", "ResourceTypePolicy", "the handlers of")
        }
        Extension::Hook => (
            "hook",
            "Service:\n                - hooks.cloudformation.amazonaws.com\n                - resources.cloudformation.amazonaws.com",
            "HookTypePolicy",
            "the hook",
        ),
    };
    Ok(format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Description: >
  The execution role CloudFormation assumes to run {runs} {type_name}.

Resources:
  ExecutionRole:
    Type: AWS::IAM::Role
    Properties:
      MaxSessionDuration: {session}
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              {services}
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                aws:SourceAccount:
                  Ref: AWS::AccountId
              StringLike:
                aws:SourceArn:
                  Fn::Sub: arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:type/{kind}/{arn_type}/*
      Path: "/"
      Policies:
        - PolicyName: {policy}
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: {effect}
                Action:
{action_lines}                Resource: "*"
Outputs:
  ExecutionRoleArn:
    Value:
      Fn::GetAtt: ExecutionRole.Arn
"#
    ))
}

/// The role template `cfn submit` deploys as a hook's execution role.
pub const HOOK_ROLE: &str = "hook-role.yaml";

/// The `.rpdk-config` of a hook.
pub fn hook_rpdk_config(project: &Project, entry: &HookEntry) -> Value {
    json!({
        "artifact_type": "HOOK",
        "typeName": project.hook_name(entry),
        "language": "rust",
        "runtime": project.config.runtime,
        "entrypoint": "bootstrap",
        "testEntrypoint": "bootstrap",
        "settings": {"protocolVersion": "2.0.0"}
    })
}

/// Writes `<out>/<hook stem>/`: `handler.zip`, `<hook stem>.zip` (the HOOK registration package
/// as `cfn submit` writes it: `.rpdk-config`, `schema.json`, `configuration-schema.json`,
/// `target-info.json` and `target-schemas/` for every target type, the handler bundle,
/// `.cfn_metadata.json`) and `hook-role.yaml`, from the hook binary at `bootstrap`.
pub fn write_hook_package(
    project: &Project,
    tools: &Tools,
    entry: &HookEntry,
    bootstrap: &Path,
    out: &Path,
) -> Result<Written> {
    let type_name = project.hook_name(entry);
    let dir = out.join(project.hook_stem(entry));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let binary = std::fs::read(bootstrap).with_context(|| format!("no hook binary at {}", bootstrap.display()))?;
    let bundle = dir.join(HANDLER_BUNDLE);
    write(&bundle, lambda_bundle(&binary)?)?;
    let schema_text = std::fs::read_to_string(project.hook_schema_path(entry))
        .context("no committed hook schema: run `cargo rpdk schema`")?;
    let schema: Value = serde_json::from_str(&schema_text)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(configuration) = configuration_schema(&type_name, &schema) {
        files.push(("configuration-schema.json".into(), serde_json::to_string_pretty(&configuration)?.into_bytes()));
    }
    files.push((".rpdk-config".into(), serde_json::to_string_pretty(&hook_rpdk_config(project, entry))?.into_bytes()));
    files.push(("schema.json".into(), schema_text.into_bytes()));
    let targets = target_schemas(project, tools, &schema)?;
    let info: Map<String, Value> = targets
        .iter()
        .map(|(name, target)| {
            let info = json!({"TypeName": name, "TargetName": name, "TargetType": "RESOURCE", "Schema": target,
                              "IsCfnRegistrySupportedType": true, "SchemaFileAvailable": true});
            (name.clone(), info)
        })
        .collect();
    if !info.is_empty() {
        files.push(("target-info.json".into(), serde_json::to_string_pretty(&info)?.into_bytes()));
    }
    for (name, target) in &targets {
        files.push((
            format!("target-schemas/{}", target_schema_file(name)),
            serde_json::to_string_pretty(target)?.into_bytes(),
        ));
    }
    files.push((HANDLER_BUNDLE.into(), std::fs::read(&bundle)?));
    files.push((".cfn_metadata.json".into(), cfn_metadata().to_string().into_bytes()));
    let package = dir.join(format!("{}.zip", project.hook_stem(entry)));
    write(&package, stored_zip(&files)?)?;
    write(&dir.join(HOOK_ROLE), execution_role(&type_name, &schema, Extension::Hook)?)?;
    Ok(Written { dir, bundle, package })
}

/// `target-schemas/`' file name of a target type: `aws-s3-bucket.json`.
pub fn target_schema_file(type_name: &str) -> String {
    format!("{}.json", type_name.replace("::", "-").to_ascii_lowercase())
}

/// The registry schema of every resource type a hook's handlers target, by type name, as `cfn`
/// resolves them: wildcards against the public types, `STACK` and `CHANGE_SET` left out. The
/// project's own types are read from its committed schemas; the public ones are cfn-lint's copy
/// of the registry's (us-east-1), so nothing is asked of AWS.
pub fn target_schemas(project: &Project, tools: &Tools, schema: &Value) -> Result<BTreeMap<String, Value>> {
    let providers = tools.site_packages("cfn")?.join("cfnlint/data/schemas/providers/us_east_1");
    let names: BTreeSet<&str> = schema["handlers"]
        .as_object()
        .into_iter()
        .flat_map(|handlers| handlers.values())
        .flat_map(|handler| handler["targetNames"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .filter(|name| !["STACK", "CHANGE_SET"].contains(name))
        .collect();
    let read = |file: &Path| -> Result<Value> {
        serde_json::from_str(&std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?)
            .with_context(|| format!("{} is not JSON", file.display()))
    };
    let mut schemas = BTreeMap::new();
    for name in names {
        if let Some(own) = project.config.types.iter().find(|entry| project.type_name(entry) == name) {
            schemas.insert(name.to_owned(), read(&project.schema_path(own))?);
            continue;
        }
        if !name.contains(['*', '?']) {
            let file = providers.join(target_schema_file(name));
            let target = read(&file).with_context(|| format!("target {name}: no registry schema of it"))?;
            schemas.insert(name.to_owned(), target);
            continue;
        }
        for file in std::fs::read_dir(&providers)?.filter_map(|e| e.ok().map(|e| e.path())) {
            let target = read(&file)?;
            let type_name = target["typeName"].as_str().unwrap_or_default().to_owned();
            if rpdk::hook::target_matches(name, &type_name) {
                schemas.insert(type_name, target);
            }
        }
    }
    Ok(schemas)
}

/// A zip of `files`, stored as `cfn submit` stores them (the bundle inside is compressed).
fn stored_zip<N: AsRef<str>>(files: &[(N, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored).unix_permissions(0o644);
    for (name, contents) in files {
        zip.start_file(name.as_ref(), stored)?;
        zip.write_all(contents)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// What `.cfn_metadata.json` says of the tool that wrote a package.
fn cfn_metadata() -> Value {
    json!({"plugin-name": "rust", "plugin-tool": "cargo-rpdk", "plugin-version": env!("CARGO_PKG_VERSION")})
}

/// The execution role of a custom resource function: trusted by Lambda, allowed to write its
/// own logs (AWSLambdaBasicExecutionRole) and every permission its types' handlers declare, since
/// a custom resource calls AWS with the function's own credentials.
fn function_role(binary: &str, schemas: &[(String, Value)]) -> Result<String> {
    let mut actions: Vec<&str> = Vec::new();
    for (_, schema) in schemas {
        actions.extend(declared_permissions(schema)?);
    }
    actions.sort_unstable();
    actions.dedup();
    if actions.is_empty() {
        bail!("{binary}: its types declare no permission");
    }
    let types: Vec<&str> = schemas.iter().map(|(name, _)| name.as_str()).collect();
    let action_lines: String = actions.iter().map(|a| format!("                  - \"{a}\"\n")).collect();
    Ok(format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Description: >
  The execution role of the {binary} function, serving {types} as custom
  resources.

Resources:
  FunctionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Sub arn:${{AWS::Partition}}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
      Policies:
        - PolicyName: HandlerPermissions
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action:
{action_lines}                Resource: "*"
Outputs:
  FunctionRoleArn:
    Value: !GetAtt FunctionRole.Arn
"#,
        types = types.join(", "),
    ))
}
