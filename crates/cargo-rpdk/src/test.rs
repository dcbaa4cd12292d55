//! `cargo rpdk test`: every test of the project, against the local stack, ending with one line
//! `N passed, N failed`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::project::{HookEntry, Project, TypeEntry, cargo, run_checked, write};
use rpdk_local::{ACCOUNT_ID, REGION, Stack};

use crate::stack;
use crate::tools::Tools;

mod package_check;

/// Options of `cargo rpdk test`.
#[derive(clap::Args)]
pub struct Options {
    /// Only run the `cfn test` cases whose names contain this (pytest's -k).
    #[arg(long)]
    pub cfn_filter: Option<String>,
}

/// Counts of one run.
#[derive(Default)]
struct Report {
    passed: u64,
    failed: u64,
    skipped: u64,
    failures: Vec<String>,
}

impl Report {
    fn check(&mut self, name: &str, outcome: Result<()>) {
        match outcome {
            Ok(()) => {
                self.passed += 1;
                eprintln!("PASS {name}");
            }
            Err(error) => {
                self.failed += 1;
                eprintln!("FAIL {name}: {error:#}");
                self.failures.push(name.to_owned());
            }
        }
    }

    fn add(&mut self, name: &str, counts: Counts) {
        eprintln!("{name}: {} passed, {} failed, {} skipped", counts.passed, counts.failed, counts.skipped);
        self.passed += counts.passed;
        self.failed += counts.failed;
        self.skipped += counts.skipped;
        if counts.failed > 0 {
            self.failures.push(name.to_owned());
        }
    }
}

#[derive(Default)]
struct Counts {
    passed: u64,
    failed: u64,
    skipped: u64,
}

pub fn run(options: &Options) -> Result<()> {
    let project = Project::discover()?;
    let tools = Tools::ensure(&project)?;
    let mut report = Report::default();

    // One build of everything; every later step reuses it.
    run_checked(
        Command::new(cargo()).current_dir(&project.root).args(["test", "--workspace", "--no-run", "--quiet"]),
        "building the tests",
    )?;
    let bin_dir = project.build_handlers()?;

    report.add("unit tests", cargo_tests(&project, &["--workspace", "--exclude", "contract-tests"], &[])?);
    report.check(
        "every benchmark runs once (cargo test --benches)",
        run_checked(
            Command::new(cargo()).current_dir(&project.root).args([
                "test",
                "--workspace",
                "--exclude",
                "contract-tests",
                "--benches",
                "--quiet",
            ]),
            "the benchmarks",
        ),
    );
    report.check("the tree is formatted (rustfmt)", formatted(&project));
    report.check("schemas/ and docs/ match the code", schema_drift(&project, &bin_dir));
    for entry in &project.config.types {
        report.check(&format!("cfn validate {}", project.type_name(entry)), cfn_validate(&project, &tools, entry));
    }
    for entry in &project.config.hooks {
        report.check(&format!("cfn validate {}", project.hook_name(entry)), cfn_validate_hook(&project, &tools, entry));
        report.check(
            &format!("package layout of {}", project.hook_name(entry)),
            package_check::check_hook(&project, &tools, entry, &bin_dir),
        );
    }
    lint_examples(&project, &tools, &mut report)?;
    report.check("cfn-lint passes the stacks cargo rpdk submit deploys", lint_submit_templates(&project, &tools));
    for entry in &project.config.types {
        report.check(
            &format!("package layout of {}", project.type_name(entry)),
            package_check::check(&project, &tools, entry, &bin_dir),
        );
    }
    for entry in project.binaries() {
        let name = format!("custom resource bundles and role of {}", entry.binary);
        report.check(&name, package_check::check_custom_resource(&project, &tools, &entry.binary, &bin_dir));
    }
    type_configurations(&project, &tools, &mut report)?;
    match harness_python_tests(&project, &tools) {
        Ok(counts) => report.add("moto extension and fault proxy tests", counts),
        Err(error) => report.check("moto extension and fault proxy tests", Err(error)),
    }

    let stack = Stack::start(&stack::setup(&project, &tools, &bin_dir)?)?;
    // Lent to the deploy tests: `cargo rpdk deploy` attaches to it rather than starting its own.
    let stack_file = project.work_dir()?.join("test-stack.json");
    stack.save(&stack_file)?;
    let cli = std::env::current_exe()?;
    // The deploy tests' stacks live and die with this run's local stack: a directory of this
    // run's own, emptied first, so stacks of earlier runs neither pile up nor get in the way.
    let deploy_dir = project.work_dir()?.join("test-stacks");
    if deploy_dir.exists() {
        std::fs::remove_dir_all(&deploy_dir)?;
    }
    // Each type's prerequisites, made once: the native suite reads them from a file, the
    // cfn test inputs get them as placeholder values.
    let mut fixtures = BTreeMap::new();
    for entry in &project.config.types {
        fixtures.insert(project.type_name(entry), placeholders(&project, &tools, &stack, entry)?);
    }
    let fixtures_file = project.work_dir()?.join("fixtures.json");
    let as_json: BTreeMap<&String, BTreeMap<&String, &String>> =
        fixtures.iter().map(|(name, values)| (name, values.iter().map(|(k, v)| (k, v)).collect())).collect();
    write(&fixtures_file, serde_json::to_vec_pretty(&as_json)?)?;
    report.add(
        "native contract suite",
        cargo_tests(
            &project,
            // The integration tests of contract-tests, selected within the workspace: a
            // `--package` selection resolves other features and would rebuild the SDKs.
            &["--workspace", "--test", "*"],
            &[
                ("RPDK_BIN_DIR", &bin_dir.display().to_string()),
                ("RPDK_TOOLS_PATH", &tools.path_with("lambda")),
                ("AWS_ENDPOINT_URL", stack.described.moto_url.as_str()),
                ("RPDK_FIXTURES", &fixtures_file.display().to_string()),
                ("RPDK_LOGS", &project.work_dir()?.join("logs").display().to_string()),
                // The suite attaches to the stack by its description: endpoints, principals, token.
                ("RPDK_STACK_FILE", &stack_file.display().to_string()),
                ("RPDK_CLI", &cli.display().to_string()),
                ("RPDK_WORK_DIR", &deploy_dir.display().to_string()),
                // The registration packages the layout checks wrote from the host-built
                // handlers: what the submit tests register (moto runs no handler).
                ("RPDK_PACKAGES", &project.work_dir()?.join("package").display().to_string()),
            ],
        )?,
    );
    for entry in &project.config.types {
        let name = format!("cfn test {}", project.type_name(entry));
        match cfn_test(
            &project,
            &tools,
            &stack,
            entry,
            &fixtures[&project.type_name(entry)],
            options.cfn_filter.as_deref(),
        ) {
            Ok(counts) => report.add(&name, counts),
            Err(error) => report.check(&name, Err(error)),
        }
    }
    for entry in &project.config.hooks {
        let name = format!("cfn test {}", project.hook_name(entry));
        match cfn_test_hook(&project, &tools, &stack, entry, options.cfn_filter.as_deref()) {
            Ok(counts) => report.add(&name, counts),
            Err(error) => report.check(&name, Err(error)),
        }
    }
    for entry in &project.config.types {
        report.check(
            &format!("permissions of {} are exact", project.type_name(entry)),
            permissions_exact(&project, &stack, entry),
        );
    }
    drop(stack);

    if !report.failures.is_empty() {
        eprintln!("failed: {}", report.failures.join("; "));
    }
    println!("{} passed, {} failed, {} skipped", report.passed, report.failed, report.skipped);
    if report.failed > 0 {
        bail!("{} failed", report.failed);
    }
    Ok(())
}

/// Runs `cargo test` and sums its `test result:` lines.
fn cargo_tests(project: &Project, args: &[&str], env: &[(&str, &str)]) -> Result<Counts> {
    let mut command = Command::new(cargo());
    // Every test binary runs, so one failure neither hides the others nor their counts.
    command.current_dir(&project.root).args(["test", "--no-fail-fast"]).args(args).envs(env.iter().copied());
    let output = command.output().context("cannot run cargo test")?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    eprint!("{text}");
    let mut counts = Counts::default();
    for line in text.lines().filter_map(|l| l.trim().strip_prefix("test result: ")) {
        for part in line.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else { continue };
            let number: u64 = number.parse().unwrap_or(0);
            match label {
                "passed" => counts.passed += number,
                "failed" => counts.failed += number,
                "ignored" => counts.skipped += number,
                _ => {}
            }
        }
    }
    if !output.status.success() && counts.failed == 0 {
        counts.failed = 1;
    }
    Ok(counts)
}

/// The tree is as rustfmt writes it, with the checked-in `rustfmt.toml`.
fn formatted(project: &Project) -> Result<()> {
    let output = Command::new(cargo())
        .current_dir(&project.root)
        .args(["fmt", "--all", "--", "--check", "--files-with-diff"])
        .output()
        .context("cannot run cargo fmt (the rustfmt component of the toolchain)")?;
    if output.status.success() {
        return Ok(());
    }
    let files = String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect::<Vec<_>>().join(", ");
    let detail = if files.is_empty() { String::from_utf8_lossy(&output.stderr).trim().to_owned() } else { files };
    bail!("not formatted: {detail}; run `cargo fmt --all`")
}

fn schema_drift(project: &Project, bin_dir: &Path) -> Result<()> {
    let drift = crate::schema::emit(project, bin_dir, true)?;
    if drift.is_empty() {
        Ok(())
    } else {
        bail!("{} differ from the code: run `cargo rpdk schema` and commit", drift.join(", "))
    }
}

/// Runs the `cfn` CLI offline (see contract-tests/cfn_offline.py) in `dir`, as the stack's
/// admin when there is a stack (commands that make no AWS call need none).
fn cfn(tools: &Tools, project: &Project, dir: &Path, stack: Option<&Stack>, args: &[&str]) -> Result<Output> {
    let mut command = Command::new(tools.bin("cfn", "python"));
    command.arg(project.root.join("contract-tests").join("cfn_offline.py")).args(args).current_dir(dir);
    match stack {
        Some(stack) => stack.admin_env(&mut command),
        // The wrapper needs an endpoint; nothing listens there.
        None => command
            .env("RPDK_MOTO_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "unused")
            .env("AWS_SECRET_ACCESS_KEY", "unused"),
    };
    command
        .env("AWS_DEFAULT_REGION", REGION)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .context("cannot run cfn")
}

/// Writes a cfn project for one type into a fresh directory: `.rpdk-config` and the schema.
fn cfn_project(project: &Project, entry: &TypeEntry, label: &str) -> Result<PathBuf> {
    let settings = crate::package::rpdk_config(project, entry);
    cfn_project_of(project, &project.type_stem(entry), &settings, &project.schema_path(entry), label)
}

/// A cfn project of `stem` with these settings and this committed schema.
fn cfn_project_of(project: &Project, stem: &str, settings: &Value, schema: &Path, label: &str) -> Result<PathBuf> {
    let dir = project.work_dir()?.join("cfn").join(format!("{stem}-{label}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    write(&dir.join(".rpdk-config"), serde_json::to_string_pretty(settings)?)?;
    let schema = std::fs::read(schema).context("no committed schema: run `cargo rpdk schema`")?;
    write(&dir.join(format!("{stem}.json")), schema)?;
    Ok(dir)
}

fn cfn_validate(project: &Project, tools: &Tools, entry: &TypeEntry) -> Result<()> {
    validate_in(project, tools, &cfn_project(project, entry, "validate")?)
}

/// `cfn validate` of a hook: its schema against the hooks meta-schema.
fn cfn_validate_hook(project: &Project, tools: &Tools, entry: &HookEntry) -> Result<()> {
    validate_in(project, tools, &cfn_hook_project(project, tools, entry, "validate")?)
}

/// A cfn project of a hook: `.rpdk-config`, the schema and `target-schemas/`, the registry
/// schemas of its targets (see `package::target_schemas`), which cfn reads instead of asking AWS.
fn cfn_hook_project(project: &Project, tools: &Tools, entry: &HookEntry, label: &str) -> Result<PathBuf> {
    let settings = crate::package::hook_rpdk_config(project, entry);
    let schema_path = project.hook_schema_path(entry);
    let dir = cfn_project_of(project, &project.hook_stem(entry), &settings, &schema_path, label)?;
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path)?)?;
    for (name, target) in crate::package::target_schemas(project, tools, &schema)? {
        write(&dir.join("target-schemas").join(crate::package::target_schema_file(&name)), target.to_string())?;
    }
    Ok(dir)
}

fn validate_in(project: &Project, tools: &Tools, dir: &Path) -> Result<()> {
    let output = cfn(tools, project, dir, None, &["validate"])?;
    if output.status.success() {
        Ok(())
    } else {
        bail!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    }
}

/// Values the inputs' `{{Name}}` placeholders take in one run; `RunId` keeps the names of one
/// run apart from those of earlier runs against the same emulator.
pub fn placeholders(
    project: &Project,
    tools: &Tools,
    stack: &Stack,
    entry: &TypeEntry,
) -> Result<Vec<(String, String)>> {
    let run_id =
        format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() % 0xff_ffff);
    let run_id = run_id.as_str();
    let mut values = vec![
        ("RunId".to_owned(), run_id.to_owned()),
        ("AccountId".to_owned(), ACCOUNT_ID.to_owned()),
        ("Partition".to_owned(), "aws".to_owned()),
        ("Region".to_owned(), REGION.to_owned()),
        ("ScimUrl".to_owned(), stack.described.scim_url.clone()),
        ("ScimToken".to_owned(), stack.described.scim_token.clone()),
    ];
    let fixture = project.fixture_dir(entry).join("fixture.py");
    if fixture.is_file() {
        let output = stack
            .admin_env(Command::new(tools.bin("moto", "python")).arg(&fixture).env("RPDK_RUN_ID", run_id))
            .output()?;
        if !output.status.success() {
            bail!("{}: {}", fixture.display(), String::from_utf8_lossy(&output.stderr));
        }
        let made: serde_json::Map<String, Value> = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("{} must print a JSON object of placeholder values", fixture.display()))?;
        for (key, value) in made {
            values.push((key, value.as_str().map_or_else(|| value.to_string(), str::to_owned)));
        }
    }
    Ok(values)
}

pub fn render(template: &str, values: &[(String, String)], source: &Path) -> Result<String> {
    let mut text = template.to_owned();
    for (key, value) in values {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    if let Some(start) = text.find("{{") {
        let name: String = text[start..].chars().take_while(|c| *c != '}').collect();
        bail!("{}: no value for placeholder {name}}}}}", source.display());
    }
    Ok(text)
}

/// `cfn test` of a hook: its contract suite with the inputs in `contract-tests/hooks/<stem>/`
/// (`inputs_N_pre_create.json`, `inputs_N_invalid_pre_create.json`, ... keyed by target type)
/// and its configuration, against the hook's function on the local stack.
fn cfn_test_hook(
    project: &Project,
    tools: &Tools,
    stack: &Stack,
    entry: &HookEntry,
    filter: Option<&str>,
) -> Result<Counts> {
    let stem = project.hook_stem(entry);
    let dir = cfn_hook_project(project, tools, entry, "test")?;
    let fixtures = project.root.join("contract-tests").join("hooks").join(&stem);
    let inputs = fixtures.join("inputs");
    std::fs::create_dir_all(dir.join("inputs"))?;
    for file in std::fs::read_dir(&inputs).with_context(|| format!("no cfn test inputs in {}", inputs.display()))? {
        let path = file?.path();
        std::fs::copy(&path, dir.join("inputs").join(path.file_name().unwrap_or_default()))?;
    }
    std::fs::copy(fixtures.join("typeconfig.json"), dir.join("typeconfig.json"))
        .with_context(|| format!("no typeconfig.json in {}", fixtures.display()))?;
    let role = stack.principals.handlers.get(&project.hook_name(entry)).context("no hook role")?.role_arn.clone();
    run_cfn_test(project, tools, stack, &dir, &entry.binary, &role, filter)
}

fn cfn_test(
    project: &Project,
    tools: &Tools,
    stack: &Stack,
    entry: &TypeEntry,
    values: &[(String, String)],
    filter: Option<&str>,
) -> Result<Counts> {
    let dir = cfn_project(project, entry, "test")?;
    let fixtures = project.fixture_dir(entry);
    let inputs = fixtures.join("inputs");
    for file in std::fs::read_dir(&inputs).with_context(|| format!("no cfn test inputs in {}", inputs.display()))? {
        let path = file?.path();
        let rendered = render(&std::fs::read_to_string(&path)?, values, &path)?;
        write(&dir.join("inputs").join(path.file_name().unwrap_or_default()), rendered)?;
    }
    let type_config = fixtures.join("typeconfig.json");
    let type_config = if type_config.is_file() {
        render(&std::fs::read_to_string(&type_config)?, values, &type_config)?
    } else {
        "{}".to_owned()
    };
    write(&dir.join("typeconfig.json"), type_config)?;
    let role = stack.principals.handlers.get(&project.type_name(entry)).context("no handler role")?.role_arn.clone();
    run_cfn_test(project, tools, stack, &dir, &entry.binary, &role, filter)
}

/// Runs `cfn test` in the cfn project `dir` against `function` on the local stack, each call
/// made with `role`'s credentials; its JUnit counts.
fn run_cfn_test(
    project: &Project,
    tools: &Tools,
    stack: &Stack,
    dir: &Path,
    function: &str,
    role: &str,
    filter: Option<&str>,
) -> Result<Counts> {
    let junit = dir.join("junit.xml");
    let mut args = vec![
        "test".to_owned(),
        "--endpoint".to_owned(),
        stack.described.lambda_url.clone(),
        "--function-name".to_owned(),
        function.to_owned(),
        "--region".to_owned(),
        REGION.to_owned(),
        "--typeconfig".to_owned(),
        "typeconfig.json".to_owned(),
        // cfn test assumes the role for each handler call, as CloudFormation does.
        "--role-arn".to_owned(),
        role.to_owned(),
        "--".to_owned(),
        "-p".to_owned(),
        "no:cacheprovider".to_owned(),
        format!("--junitxml={}", junit.display()),
    ];
    if let Some(filter) = filter {
        args.extend(["-k".to_owned(), filter.to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = cfn(tools, project, dir, Some(stack), &args)?;
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    write(&dir.join("cfn-test.log"), &log)?;
    for line in log
        .lines()
        .filter(|l| l.contains("PASSED") || l.contains("FAILED") || l.contains("SKIPPED") || l.contains("ERROR"))
    {
        eprintln!("  {line}");
    }
    let xml = std::fs::read_to_string(&junit)
        .with_context(|| format!("cfn test wrote no results; see {}", dir.join("cfn-test.log").display()))?;
    let counts = junit_counts(&xml)?;
    if !output.status.success() && counts.failed == 0 {
        bail!("cfn test failed; see {}", dir.join("cfn-test.log").display());
    }
    Ok(counts)
}

/// Each handler's declared permissions equal the actions it was seen calling in this run
/// (recorded by rpdk-aws's CallRecorder, implied actions included), in both directions.
fn permissions_exact(project: &Project, stack: &Stack, entry: &TypeEntry) -> Result<()> {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(project.schema_path(entry))?)?;
    let recorded = std::fs::read_to_string(&stack.described.record_file)?;
    let problems = permission_differences(&declared_actions(&schema), &recorded, &project.type_name(entry));
    if problems.is_empty() { Ok(()) } else { bail!("{}", problems.join("; ")) }
}

/// The IAM actions a schema's handlers declare, per registry action (`CREATE` → actions).
fn declared_actions(schema: &Value) -> BTreeMap<String, Vec<String>> {
    let handlers = schema.get("handlers").and_then(Value::as_object);
    handlers
        .into_iter()
        .flatten()
        .map(|(key, handler)| {
            let actions = handler
                .get("permissions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            (key.to_ascii_uppercase(), actions)
        })
        .collect()
}

/// What differs between the declared permissions (per registry action) and the recorded
/// calls (`type<TAB>ACTION<TAB>service:Operation<TAB>operation` lines) of one type.
fn permission_differences(declared: &BTreeMap<String, Vec<String>>, recorded: &str, type_name: &str) -> Vec<String> {
    let mut observed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for line in recorded.lines() {
        if let [line_type, action, permission, ..] = line.split('\t').collect::<Vec<_>>()[..]
            && line_type == type_name
        {
            observed.entry(action).or_default().insert(permission);
        }
    }
    let mut problems = Vec::new();
    for (action, declared) in declared {
        let declared: BTreeSet<&str> = declared.iter().map(String::as_str).collect();
        let seen = observed.remove(action.as_str()).unwrap_or_default();
        let unused: Vec<_> = declared.difference(&seen).collect();
        let undeclared: Vec<_> = seen.difference(&declared).collect();
        if !unused.is_empty() {
            problems.push(format!(
                "{action} declares {unused:?} but never called them (remove them, or add the test that needs them)"
            ));
        }
        if !undeclared.is_empty() {
            problems.push(format!("{action} called {undeclared:?} without declaring them"));
        }
    }
    for (action, seen) in observed {
        problems.push(format!("{action} has no handler in the schema but called {seen:?}"));
    }
    problems
}

/// The tests of the harness's own Python parts: the moto extensions (contract-tests/moto_ext/tests)
/// and the fault proxy (contract-tests/fault_proxy_tests), which start their own servers.
fn harness_python_tests(project: &Project, tools: &Tools) -> Result<Counts> {
    let junit = project.work_dir()?.join("harness-python-junit.xml");
    let output = Command::new(tools.bin("moto", "python"))
        .args([
            "-m",
            "pytest",
            "contract-tests/moto_ext/tests",
            "contract-tests/fault_proxy_tests",
            "-p",
            "no:cacheprovider",
            "-q",
        ])
        .arg(format!("--junitxml={}", junit.display()))
        .env("RPDK_MITMDUMP", tools.bin("proxy", "mitmdump"))
        .env("RPDK_MITMPROXY_CONFDIR", project.work_dir()?.join("mitmproxy"))
        // The registry's meta-schema, as cloudformation-cli ships it (moto_ext/registry.py).
        .env("RPDK_CFN_VENV", tools.dir().join("cfn"))
        .current_dir(&project.root)
        .output()
        .context("cannot run pytest")?;
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    eprint!("{log}");
    let counts = junit_counts(&std::fs::read_to_string(&junit).context("pytest wrote no results")?)?;
    if !output.status.success() && counts.failed == 0 {
        bail!("pytest failed: {log}");
    }
    Ok(counts)
}

/// The totals of pytest's JUnit report (its `<testsuite>` element).
fn junit_counts(xml: &str) -> Result<Counts> {
    let suite = xml.find("<testsuite ").map(|i| &xml[i..]).context("no <testsuite> in the JUnit report")?;
    let suite = &suite[..suite.find('>').unwrap_or(suite.len())];
    let attribute = |name: &str| -> u64 {
        suite
            .find(&format!(" {name}=\""))
            .and_then(|i| suite[i + name.len() + 3..].split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (tests, failures, errors, skipped) =
        (attribute("tests"), attribute("failures"), attribute("errors"), attribute("skipped"));
    Ok(Counts { passed: tests.saturating_sub(failures + errors + skipped), failed: failures + errors, skipped })
}

/// Every template in examples/ passes cfn-lint with our schemas; every template in
/// contract-tests/lint/ is refused with each rule its `# cfn-lint must report:` line names
/// (proof that the linter really checks our types, not that it fails for another reason).
fn lint_examples(project: &Project, tools: &Tools, report: &mut Report) -> Result<()> {
    let lint = |template: &Path| -> Result<Output> {
        Ok(Command::new(tools.bin("cfn", "cfn-lint"))
            .arg("-s")
            .arg(project.root.join("schemas"))
            .arg("--")
            .arg(template)
            .current_dir(&project.root)
            .output()?)
    };
    for (dir, must_pass) in
        [(project.root.join("examples"), true), (project.root.join("contract-tests").join("lint"), false)]
    {
        let shown_dir = dir.strip_prefix(&project.root).unwrap_or(&dir).display().to_string();
        let mut templates: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {shown_dir}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        templates.sort();
        if templates.is_empty() {
            report.check(
                &format!("cfn-lint templates in {shown_dir}"),
                Err(anyhow::anyhow!("no .yaml template to check")),
            );
        }
        for template in templates {
            let output = lint(&template)?;
            let shown = template.strip_prefix(&project.root).unwrap_or(&template).display().to_string();
            let text = String::from_utf8_lossy(&output.stdout).to_string();
            let outcome = match (must_pass, output.status.success()) {
                (true, true) => Ok(()),
                (true, false) => Err(anyhow::anyhow!("cfn-lint refused it:\n{text}")),
                (false, true) => Err(anyhow::anyhow!("cfn-lint accepted a template that must fail")),
                (false, false) => expected_rules(&std::fs::read_to_string(&template)?, &text),
            };
            let name = if must_pass { format!("cfn-lint passes {shown}") } else { format!("cfn-lint refuses {shown}") };
            report.check(&name, outcome);
        }
    }
    Ok(())
}

/// The templates of submit's bucket and logging stacks, written out and linted; cfn-lint knows
/// CloudFormation's own resource types, so it checks every property moto would ignore.
fn lint_submit_templates(project: &Project, tools: &Tools) -> Result<()> {
    let dir = project.work_dir()?.join("submit-templates");
    let mut paths = Vec::new();
    for (name, text) in crate::submit::infrastructure_templates(project) {
        let path = dir.join(name);
        write(&path, text)?;
        paths.push(path);
    }
    let output = Command::new(tools.bin("cfn", "cfn-lint")).arg("--").args(&paths).output()?;
    if !output.status.success() {
        bail!("cfn-lint refused them:\n{}", String::from_utf8_lossy(&output.stdout));
    }
    Ok(())
}

/// Every type configuration the project shows — the README's examples (a ```json block after
/// `<!-- type configuration of TYPE -->`) and the cfn test fixtures — is valid against its
/// type's configuration schema (draft-07, with the schema's definitions).
fn type_configurations(project: &Project, tools: &Tools, report: &mut Report) -> Result<()> {
    let readme = std::fs::read_to_string(project.root.join("README.md"))?;
    let mut examples: Vec<(String, String, String)> = Vec::new();
    for (index, _) in readme.match_indices("<!-- type configuration of ") {
        let rest = &readme[index + "<!-- type configuration of ".len()..];
        let type_name = rest.split(" -->").next().unwrap_or_default().trim().to_owned();
        let block = rest.split_once("```json\n").and_then(|(_, b)| b.split_once("```")).map(|(b, _)| b.to_owned());
        examples.push((format!("README's type configuration of {type_name}"), type_name, block.unwrap_or_default()));
    }
    for entry in &project.config.types {
        let file = project.fixture_dir(entry).join("typeconfig.json");
        if file.is_file() {
            let shown = file.strip_prefix(&project.root).unwrap_or(&file).display().to_string();
            examples.push((shown, project.type_name(entry), std::fs::read_to_string(&file)?));
        }
    }
    for (name, type_name, text) in examples {
        let outcome = project.find_type(&type_name).and_then(|entry| {
            let schema: Value = serde_json::from_str(&std::fs::read_to_string(project.schema_path(entry))?)?;
            let mut configuration = schema.get("typeConfiguration").cloned().context("the type has no configuration schema")?;
            configuration["definitions"] = schema.get("definitions").cloned().unwrap_or(Value::Null);
            let instance: Value = serde_json::from_str(&text).context("not JSON")?;
            let output = Command::new(tools.bin("cfn", "python"))
                .args(["-c", "import json, sys, jsonschema; jsonschema.Draft7Validator(json.loads(sys.argv[1])).validate(json.loads(sys.argv[2]))"])
                .arg(configuration.to_string())
                .arg(instance.to_string())
                .output()?;
            if output.status.success() { Ok(()) } else { bail!("{}", String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("invalid")) }
        });
        report.check(&format!("{name} matches its configuration schema"), outcome);
    }
    Ok(())
}

/// Checks that `report` names every rule the template's `# cfn-lint must report:` line lists.
fn expected_rules(template: &str, report: &str) -> Result<()> {
    let rules: Vec<&str> = template
        .lines()
        .find_map(|line| line.trim().strip_prefix("# cfn-lint must report:"))
        .context("the template has no `# cfn-lint must report: <rules>` line")?
        .split_whitespace()
        .collect();
    let missing: Vec<&str> =
        rules.iter().copied().filter(|rule| !report.lines().any(|l| l.starts_with(rule))).collect();
    if rules.is_empty() || !missing.is_empty() {
        bail!("cfn-lint did not report {missing:?} (of {rules:?}):\n{report}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_totals() {
        let xml = r#"<?xml version="1.0"?><testsuites><testsuite name="pytest" errors="1" failures="2" skipped="3" tests="15" time="1"></testsuite></testsuites>"#;
        let counts = junit_counts(xml).expect("parses");
        assert_eq!((counts.passed, counts.failed, counts.skipped), (9, 3, 3));
    }

    #[test]
    fn a_refusal_must_name_the_expected_rules() {
        let template = "# cfn-lint must report: E3003 E3002\nResources: {}\n";
        expected_rules(template, "E3003 'ExternalId' is a required property\nE3002 Additional properties\n")
            .expect("both named");
        assert!(
            expected_rules(template, "E0000 Parse error\n").is_err(),
            "a refusal for another reason is not the proof"
        );
        assert!(expected_rules("Resources: {}\n", "E3003 x\n").is_err(), "the template must say what it expects");
    }

    #[test]
    fn permissions_must_match_the_calls_in_both_directions() {
        let declared = BTreeMap::from([
            ("CREATE".to_owned(), vec!["iam:CreateRole".to_owned(), "iam:TagRole".to_owned()]),
            ("READ".to_owned(), vec!["iam:GetRole".to_owned()]),
        ]);
        let t = "Rpdk::IAM::CrossAccountRole";
        let exact = format!(
            "{t}\tCREATE\tiam:CreateRole\n{t}\tCREATE\tiam:TagRole\n{t}\tREAD\tiam:GetRole\nOther::Type\tREAD\tiam:ListRoles\n"
        );
        assert!(permission_differences(&declared, &exact, t).is_empty(), "other types' calls do not count");

        let missing = format!("{exact}{t}\tREAD\tiam:ListRoleTags\n");
        let problems = permission_differences(&declared, &missing, t);
        assert!(problems.iter().any(|p| p.contains("READ called") && p.contains("iam:ListRoleTags")), "{problems:?}");

        let unused = format!("{t}\tCREATE\tiam:CreateRole\n{t}\tREAD\tiam:GetRole\n");
        let problems = permission_differences(&declared, &unused, t);
        assert!(problems.iter().any(|p| p.contains("CREATE declares") && p.contains("iam:TagRole")), "{problems:?}");

        let no_handler = format!("{exact}{t}\tLIST\tiam:ListRoles\n");
        assert!(permission_differences(&declared, &no_handler, t).iter().any(|p| p.starts_with("LIST has no handler")));
    }

    #[test]
    fn placeholders_render_and_unknown_ones_fail() {
        let values = vec![("RunId".to_owned(), "ab12".to_owned())];
        assert_eq!(render("role-{{RunId}}", &values, Path::new("x")).expect("renders"), "role-ab12");
        let error = render("{{Nope}}", &values, Path::new("x")).expect_err("refused");
        assert!(error.to_string().contains("{{Nope}}"), "{error}");
    }
}
