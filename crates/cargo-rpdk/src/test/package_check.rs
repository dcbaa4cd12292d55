//! The layout of `cargo rpdk package`'s output, checked from the host-built handler (no second
//! compile): protocol.md §6 item by item, then entry by entry against what the reference
//! tooling (`cfn generate`, `cfn submit --dry-run`) makes from the same project.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::{cfn, cfn_project};
use crate::package::{
    Arch, HANDLER_BUNDLE, HOOK_ROLE, RESOURCE_ROLE, declared_permissions, write_custom_resource, write_hook_package,
    write_package,
};
use crate::project::{HookEntry, Project, TypeEntry};
use crate::tools::Tools;

/// `.rpdk-config`'s size limit (protocol.md §6).
const MAX_SETTINGS_BYTES: usize = 10 * 1024;

/// A zip's entries: name → (unix mode, contents).
type Entries = BTreeMap<String, (u32, Vec<u8>)>;

pub fn check(project: &Project, tools: &Tools, entry: &TypeEntry, bin_dir: &Path) -> Result<()> {
    let binary_path = bin_dir.join(&entry.binary);
    let written = write_package(project, entry, &binary_path, &project.work_dir()?.join("package"))?;
    let ours = entries(&std::fs::read(&written.package)?)?;

    let settings = ours.get(".rpdk-config").map(|(_, bytes)| bytes).context("no .rpdk-config")?;
    ensure!(settings.len() <= MAX_SETTINGS_BYTES, ".rpdk-config is {} bytes, over the 10 KiB limit", settings.len());
    let settings: Value = serde_json::from_slice(settings)?;
    for (pointer, want) in [
        ("/artifact_type", "RESOURCE"),
        ("/typeName", project.type_name(entry).as_str()),
        ("/runtime", project.config.runtime.as_str()),
        ("/entrypoint", "bootstrap"),
        ("/settings/protocolVersion", "2.0.0"),
    ] {
        ensure!(
            settings.pointer(pointer) == Some(&Value::from(want)),
            ".rpdk-config{pointer} is {:?}, not {want:?}",
            settings.pointer(pointer)
        );
    }
    ensure!(
        ours.get("schema.json").map(|(_, bytes)| bytes) == Some(&std::fs::read(project.schema_path(entry))?),
        "schema.json differs from the committed schema"
    );
    let bundle = entries(&ours.get(HANDLER_BUNDLE).context("no handler.zip")?.1)?;
    ensure!(
        bundle.keys().eq(["bootstrap"]),
        "handler.zip holds {:?}, not just bootstrap",
        bundle.keys().collect::<Vec<_>>()
    );
    let (mode, bootstrap) = &bundle["bootstrap"];
    ensure!(mode & 0o111 == 0o111, "bootstrap is not executable (mode {mode:o})");
    ensure!(*bootstrap == std::fs::read(&binary_path)?, "bootstrap is not the handler binary");
    for (name, (_, contents)) in ours.range("inputs/".to_owned()..) {
        let Some(file) = name.strip_prefix("inputs/") else { break };
        let committed = std::fs::read(project.fixture_dir(entry).join("inputs").join(file))?;
        ensure!(*contents == committed, "{name} is not the committed input (its placeholders must stay unrendered)");
    }

    // The same project for the reference tooling: our settings, schema, inputs and bundle.
    let dir = cfn_project(project, entry, "package")?;
    for name in ours.keys().filter(|n| n.starts_with("inputs/")) {
        crate::project::write(&dir.join(name), &ours[name].1)?;
    }
    same_as_cfn_submit(project, tools, &dir, &written, &ours, &project.type_stem(entry), RESOURCE_ROLE)
}

/// What `cfn generate` and `cfn submit --dry-run` make of the cfn project `dir` (given our
/// bundle) is `ours`, entry by entry, with the same role template `role`.
fn same_as_cfn_submit(
    project: &Project,
    tools: &Tools,
    dir: &Path,
    written: &crate::package::Written,
    ours: &Entries,
    stem: &str,
    role: &str,
) -> Result<()> {
    std::fs::copy(&written.bundle, dir.join(HANDLER_BUNDLE))?;
    for args in [&["generate"][..], &["submit", "--dry-run"]] {
        let output = cfn(tools, project, dir, None, args)?;
        ensure!(output.status.success(), "cfn {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    let theirs = entries(&std::fs::read(dir.join(format!("{stem}.zip")))?)?;
    ensure!(
        ours.keys().eq(theirs.keys()),
        "entries differ from cfn submit's: ours {:?}, cfn's {:?}",
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (name, (_, contents)) in ours {
        // .cfn_metadata.json names the tool that wrote the package.
        if name != ".cfn_metadata.json" && !same_contents(contents, &theirs[name].1) {
            bail!("{name} differs from what cfn submit writes");
        }
    }
    same_role(tools, &written.dir.join(role), &dir.join(role))
}

/// The custom resource output of `binary`, written from the host build for both
/// architectures: each bundle holds only the executable `bootstrap`, and the function role is
/// valid for cfn-lint and allows exactly what the binary's types declare.
pub fn check_custom_resource(project: &Project, tools: &Tools, binary: &str, bin_dir: &Path) -> Result<()> {
    let host = bin_dir.join(binary);
    let bootstraps = [(Arch::X86_64, host.clone()), (Arch::Arm64, host.clone())];
    let written = write_custom_resource(project, binary, &bootstraps, &project.work_dir()?.join("package"))?;
    let binary_bytes = std::fs::read(&host)?;
    for (arch, bundle) in &written.bundles {
        let entries = entries(&std::fs::read(bundle)?)?;
        ensure!(
            entries.keys().eq(["bootstrap"]),
            "the {} bundle holds {:?}, not just bootstrap",
            arch.name(),
            entries.keys().collect::<Vec<_>>()
        );
        let (mode, contents) = &entries["bootstrap"];
        ensure!(
            mode & 0o111 == 0o111 && *contents == binary_bytes,
            "the {} bundle's bootstrap is not the executable handler",
            arch.name()
        );
    }
    let lint = Command::new(tools.bin("cfn", "cfn-lint")).arg("--").arg(&written.role).output()?;
    ensure!(
        lint.status.success(),
        "cfn-lint refused {}:\n{}",
        written.role.display(),
        String::from_utf8_lossy(&lint.stdout)
    );
    let role = std::fs::read_to_string(&written.role)?;
    let allowed: std::collections::BTreeSet<&str> =
        role.lines().filter_map(|line| line.trim().strip_prefix("- \"")?.strip_suffix('"')).collect();
    let mut declared = std::collections::BTreeSet::new();
    let schemas: Vec<Value> = project
        .config
        .types
        .iter()
        .filter(|entry| entry.binary == binary)
        .map(|entry| Ok(serde_json::from_str(&std::fs::read_to_string(project.schema_path(entry))?)?))
        .collect::<Result<_>>()?;
    for schema in &schemas {
        declared.extend(declared_permissions(schema)?);
    }
    ensure!(allowed == declared, "the function role allows {allowed:?}, the types declare {declared:?}");
    Ok(())
}

fn entries(zip_bytes: &[u8]) -> Result<Entries> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))?;
    let mut entries = Entries::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index)?;
        let mut contents = Vec::new();
        file.read_to_end(&mut contents)?;
        entries.insert(file.name()?.into_owned(), (file.unix_mode().unwrap_or(0), contents));
    }
    Ok(entries)
}

/// Equal bytes, or equal JSON documents (cfn indents generated JSON differently).
fn same_contents(a: &[u8], b: &[u8]) -> bool {
    a == b
        || matches!(
            (serde_json::from_slice::<Value>(a), serde_json::from_slice::<Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Both role templates describe the same role (read as YAML data; descriptions aside).
fn same_role(tools: &Tools, ours: &Path, theirs: &Path) -> Result<()> {
    let output = Command::new(tools.bin("cfn", "python"))
        .args(["-c", "import json, sys, yaml; print(json.dumps([yaml.safe_load(open(p)) for p in sys.argv[1:]]))"])
        .arg(ours)
        .arg(theirs)
        .output()?;
    ensure!(output.status.success(), "cannot read the role templates: {}", String::from_utf8_lossy(&output.stderr));
    same_templates(&output.stdout, &ours.file_name().unwrap_or_default().to_string_lossy())
}

/// A hook's package, written from the host-built binary, against what the reference tooling
/// makes of the same project (`cfn generate`, then `cfn submit --dry-run`, with the same target
/// schemas): the same entries with the same contents, and the same `hook-role.yaml`.
pub fn check_hook(project: &Project, tools: &Tools, entry: &HookEntry, bin_dir: &Path) -> Result<()> {
    let binary_path = bin_dir.join(&entry.binary);
    let written = write_hook_package(project, tools, entry, &binary_path, &project.work_dir()?.join("package"))?;
    let ours = entries(&std::fs::read(&written.package)?)?;
    let settings: Value = serde_json::from_slice(&ours.get(".rpdk-config").context("no .rpdk-config")?.1)?;
    ensure!(
        settings["artifact_type"] == "HOOK",
        ".rpdk-config/artifact_type is {}, not HOOK",
        settings["artifact_type"]
    );
    ensure!(
        ours.get("schema.json").map(|(_, bytes)| bytes) == Some(&std::fs::read(project.hook_schema_path(entry))?),
        "schema.json differs from the committed hook schema"
    );
    let bundle = entries(&ours.get(HANDLER_BUNDLE).context("no handler.zip")?.1)?;
    ensure!(bundle.keys().eq(["bootstrap"]), "handler.zip holds {:?}", bundle.keys().collect::<Vec<_>>());
    ensure!(bundle["bootstrap"].1 == std::fs::read(&binary_path)?, "bootstrap is not the hook binary");

    let dir = super::cfn_hook_project(project, tools, entry, "package")?;
    same_as_cfn_submit(project, tools, &dir, &written, &ours, &project.hook_stem(entry), HOOK_ROLE)
}

/// The two role templates of `json` (a list: ours, then the reference's) are the same data,
/// their descriptions aside.
fn same_templates(json: &[u8], file: &str) -> Result<()> {
    let mut templates: Vec<Value> = serde_json::from_slice(json)?;
    for template in &mut templates {
        template.as_object_mut().context("a role template is not a mapping")?.remove("Description");
    }
    ensure!(
        templates[0] == templates[1],
        "{file} differs from the reference's:\nours: {}\ntheirs: {}",
        templates[0],
        templates[1]
    );
    Ok(())
}
