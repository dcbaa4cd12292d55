//! `cargo rpdk deploy`, `delete` and `events` as a user runs them: the CLI (`RPDK_CLI`) on
//! examples/partner-onboarding.yaml and variants of it, attached to the run's local stack
//! (`RPDK_STACK_FILE`), with what they made checked in moto and scim2-server.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_iam::error::ProvideErrorMetadata;
use contract_tests::project::Project;
use contract_tests::{Caller, Fault, FaultKind, FaultRule, Handler, HeldTransitions, SERVICE_MODEL, token, unique};
use serde_json::{Value, json};

/// Deploys share moto's transition settings and the SCIM provider: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the project root").to_owned()
}

fn cli() -> Command {
    let cli = std::env::var("RPDK_CLI").expect("RPDK_CLI is unset: the deploy tests run through `cargo rpdk test`");
    let mut command = Command::new(cli);
    command.arg("rpdk").current_dir(root());
    command
}

/// One CLI run with `--output json`: its events, its closing summary and what it said.
struct Run {
    ok: bool,
    events: Vec<Value>,
    summary: Value,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let lines: Vec<Value> = stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
        let (events, summaries): (Vec<Value>, Vec<Value>) =
            lines.into_iter().partition(|line| line.get("logicalId").is_some());
        Self {
            ok: output.status.success(),
            events,
            summary: summaries.last().cloned().unwrap_or_default(),
            stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn expect_ok(self, what: &str) -> Self {
        assert!(self.ok, "{what} failed:\n{}\n{}", self.stdout, self.stderr);
        self
    }

    /// Index of the first event of `logical_id` with `status`.
    fn at(&self, logical_id: &str, status: &str) -> usize {
        self.events
            .iter()
            .position(|e| e["logicalId"] == logical_id && e["status"] == status)
            .unwrap_or_else(|| panic!("no {status} event of {logical_id} in:\n{}", self.stdout))
    }

    fn of_resource(&self, logical_id: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["logicalId"] == logical_id).collect()
    }
}

/// A deployment of the example's partner: a fresh account id (user names derive from it) and
/// external id.
struct Partner {
    stack: String,
    account: String,
    external_id: String,
}

impl Partner {
    fn new(stem: &str) -> Self {
        let digits: String =
            token().chars().filter(char::is_ascii_digit).collect::<String>().chars().rev().take(12).collect();
        Self {
            stack: unique(stem).replace('_', "-"),
            account: format!("{digits:0>12}"),
            external_id: format!("ext-{}", token()),
        }
    }

    fn deploy(&self, template: &Path, extra: &[&str]) -> Run {
        self.deploy_with(template, extra, &[], &[])
    }

    /// A deploy with the stack's tags given as `--tags`.
    fn deploy_tagged(&self, template: &Path, extra: &[&str], tags: &[&str]) -> Run {
        self.deploy_with(template, extra, tags, &[])
    }

    /// A deploy with more parameters, the stack's tags and other options.
    fn deploy_with(&self, template: &Path, extra: &[&str], tags: &[&str], options: &[&str]) -> Run {
        Run::of(self.deploy_command(template, extra, tags, options).output().expect("the CLI runs"))
    }

    /// The command of such a deploy, not yet run.
    fn deploy_command(&self, template: &Path, extra: &[&str], tags: &[&str], options: &[&str]) -> Command {
        let account = format!("PartnerAccountId={}", self.account);
        let external = format!("PartnerExternalId={}", self.external_id);
        let mut command = cli();
        command.arg("deploy").arg(template).args([
            "--stack-name",
            &self.stack,
            "--output",
            "json",
            "--parameter",
            &account,
            "--parameter",
            &external,
        ]);
        for parameter in extra {
            command.args(["--parameter", parameter]);
        }
        if !tags.is_empty() {
            command.arg("--tags").args(tags);
        }
        command.args(options);
        command
    }

    /// A deploy started in the background, its output dropped: for killing it.
    fn spawn_deploy(&self, template: &Path) -> std::process::Child {
        self.deploy_command(template, &[], &[], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the CLI starts")
    }

    fn delete(&self) -> Run {
        Run::of(cli().args(["delete", "--stack-name", &self.stack, "--output", "json"]).output().expect("the CLI runs"))
    }

    fn state_dir(&self) -> PathBuf {
        std::env::var_os("RPDK_WORK_DIR")
            .map_or_else(|| root().join(".rpdk"), PathBuf::from)
            .join("stacks")
            .join(&self.stack)
    }

    fn state(&self) -> Value {
        let text = std::fs::read_to_string(self.state_dir().join("state.json")).expect("a state file");
        serde_json::from_str(&text).expect("the state is JSON")
    }
}

fn example() -> PathBuf {
    root().join("examples").join("partner-onboarding.yaml")
}

/// The example with `from` replaced by `to` (which must occur), as a template file.
fn variant(name: &str, replacements: &[(&str, &str)]) -> PathBuf {
    variant_of(&example(), name, replacements)
}

/// `source` with `from` replaced by `to` (which must occur), as a template file.
fn variant_of(source: &Path, name: &str, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(source).expect("the example");
    for (from, to) in replacements {
        assert!(text.contains(from), "the example has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    template_file(name, &text)
}

/// `text` as a template file of its own.
fn template_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("rpdk-deploy-tests");
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join(format!("{}.yaml", unique(name)));
    std::fs::write(&path, text).expect("the template is written");
    path
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn config() -> aws_types::SdkConfig {
    contract_tests::admin_config()
}

fn role(name: &str) -> Option<aws_sdk_iam::types::Role> {
    runtime().block_on(async {
        match aws_sdk_iam::Client::new(&config()).get_role().role_name(name).send().await {
            Ok(found) => found.role,
            Err(error) if error.code() == Some("NoSuchEntity") => None,
            Err(error) => panic!("cannot tell whether role {name} exists: {error:?}"),
        }
    })
}

fn service_ids() -> Vec<String> {
    runtime().block_on(async {
        let described = aws_sdk_ec2::Client::new(&config())
            .describe_vpc_endpoint_service_configurations()
            .send()
            .await
            .expect("describe");
        described.service_configurations().iter().filter_map(|c| c.service_id()).map(str::to_owned).collect()
    })
}

/// The tags of a role, a service and a connector's two parameters, as their services hold them.
fn tags_in_services(
    role_name: &str,
    service_id: &str,
    connector: &str,
) -> [std::collections::BTreeMap<String, String>; 4] {
    use aws_sdk_ssm::types::ResourceTypeForTagging;
    runtime().block_on(async {
        let role = aws_sdk_iam::Client::new(&config())
            .list_role_tags()
            .role_name(role_name)
            .send()
            .await
            .expect("the role's tags");
        let role = role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        let described = aws_sdk_ec2::Client::new(&config())
            .describe_vpc_endpoint_service_configurations()
            .service_ids(service_id)
            .send()
            .await
            .expect("the service");
        let service = described
            .service_configurations()
            .iter()
            .flat_map(|c| c.tags())
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect();
        let ssm = aws_sdk_ssm::Client::new(&config());
        let mut parameters = Vec::new();
        for leaf in ["settings", "token"] {
            let listed = ssm
                .list_tags_for_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(format!("/rpdk/scim/connectors/{connector}/{leaf}"))
                .send()
                .await
                .expect("the parameter's tags");
            parameters.push(listed.tag_list().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect());
        }
        let token = parameters.pop().unwrap_or_default();
        let settings = parameters.pop().unwrap_or_default();
        [role, service, settings, token]
    })
}

/// A resource of scim2-server, or `None` once it is gone.
fn scim(kind: &str, id: &str) -> Option<Value> {
    let base = contract_tests::stack().scim_url.clone();
    let token = contract_tests::stack().scim_token.clone();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut answer = agent
        .get(format!("{base}/{kind}/{id}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("scim2-server answers");
    match answer.status().as_u16() {
        404 => None,
        200 => Some(answer.body_mut().read_json().expect("SCIM JSON")),
        other => panic!("scim2-server answered {other} for {kind}/{id}"),
    }
}

/// Every resource of a registry type the events name that its type still finds: each is asked
/// of the type itself (READ of its identifier, with the type's own role), so a type added to
/// the project is checked with no change here. Custom resources answer for themselves through
/// their functions, and the stack is no resource.
fn left_behind(events: &[Value]) -> Vec<String> {
    let project = Project::load();
    let named: BTreeSet<(&str, &str)> =
        events.iter().filter_map(|e| Some((e["type"].as_str()?, e["physicalId"].as_str()?))).collect();
    named
        .into_iter()
        .filter(|(type_name, physical)| match project.find(type_name) {
            Some(served) => {
                let read = Handler::new(&served.binary, type_name).call(
                    "READ",
                    &token(),
                    served.identifier_of(physical),
                    None,
                );
                match (read["status"].as_str(), read["errorCode"].as_str()) {
                    (Some("SUCCESS"), _) => true,
                    (Some("FAILED"), Some("NotFound")) => false,
                    _ => panic!("cannot tell whether {type_name} {physical} is left: {read}"),
                }
            }
            None if type_name.starts_with("Custom::") || *type_name == "AWS::CloudFormation::Stack" => false,
            None => panic!("{type_name} is no type of this project; cannot ask it whether {physical} is left"),
        })
        .map(|(type_name, physical)| format!("{type_name} {physical}"))
        .collect()
}

fn physical(event: &Value) -> String {
    event["physicalId"].as_str().unwrap_or_else(|| panic!("no physical id in {event}")).to_owned()
}

#[test]
fn the_example_deploys_updates_in_place_and_by_replacement_and_deletes() {
    let _serial = one_at_a_time();
    let partner = Partner::new("onboard");
    let created = partner.deploy(&example(), &[]).expect_ok("the first deploy");
    assert_eq!(created.summary["status"], "CREATE_COMPLETE", "{}", created.stdout);
    let outputs = &created.summary["outputs"];
    let role_name = physical(&created.events[created.at("PartnerRole", "CREATE_COMPLETE")]);
    let before = role(&role_name).expect("the partner's role exists");
    assert_eq!(outputs["RoleArn"], before.arn(), "the output is the role's ARN");
    let service = physical(&created.events[created.at("PartnerService", "CREATE_COMPLETE")]);
    assert!(
        service_ids().contains(&service)
            && outputs["ServiceName"].as_str().is_some_and(|name| name.ends_with(&service)),
        "{outputs}"
    );
    let group = scim("Groups", outputs["OperatorsGroupId"].as_str().expect("a group id"))
        .expect("the group exists in the provider");
    assert_eq!(group["members"].as_array().map(Vec::len), Some(2), "both users are members: {group}");
    let grace = physical(&created.events[created.at("Grace", "CREATE_COMPLETE")]);
    let grace_id = grace.rsplit('|').next().expect("a user id").to_owned();
    assert_eq!(scim("Users", &grace_id).expect("Grace exists")["active"], true);

    // In place: staging turns MFA off and Grace inactive; the rest is untouched.
    let staged = partner.deploy(&example(), &["Environment=staging"]).expect_ok("the update in place");
    assert_eq!(staged.summary["status"], "UPDATE_COMPLETE", "{}", staged.stdout);
    assert_eq!(physical(&staged.events[staged.at("Grace", "UPDATE_COMPLETE")]), grace, "updated in place");
    assert_eq!(scim("Users", &grace_id).expect("Grace exists")["active"], false);
    let after = role(&role_name).expect("the same role");
    assert_eq!(after.role_id(), before.role_id(), "the role was updated, not replaced");
    for untouched in ["PartnerService", "Ada", "Operators", "Directory"] {
        assert!(
            staged.of_resource(untouched).is_empty(),
            "{untouched} did not change, so it has no events: {}",
            staged.stdout
        );
    }

    // By replacement: a new Path makes a new role; the service's tag follows its ARN; the old
    // role goes in the cleanup.
    let moved = variant(
        "path",
        &[("      MaxSessionDuration: 3600\n", "      MaxSessionDuration: 3600\n      Path: /partners/\n")],
    );
    let replaced = partner.deploy(&moved, &["Environment=staging"]).expect_ok("the replacement");
    let started = &replaced.events[replaced.at("PartnerRole", "UPDATE_IN_PROGRESS")];
    assert!(
        started["reason"].as_str().is_some_and(|r| r.contains("requires the creation of a new physical resource")),
        "{started}"
    );
    let new_role = physical(&replaced.events[replaced.at("PartnerRole", "UPDATE_COMPLETE")]);
    assert_ne!(new_role, role_name);
    let new_arn = role(&new_role).expect("the new role exists").arn().to_owned();
    assert!(new_arn.contains(":role/partners/"), "{new_arn}");
    assert_eq!(replaced.summary["outputs"]["RoleArn"], new_arn.as_str());
    assert!(
        replaced.at("PartnerService", "UPDATE_COMPLETE") > replaced.at("PartnerRole", "CONFIGURATION_COMPLETE"),
        "the tag follows the new ARN"
    );
    let cleanup = replaced.at(&partner.stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS");
    let old_deleted = replaced.events.iter().position(|e| {
        e["logicalId"] == "PartnerRole" && e["status"] == "DELETE_COMPLETE" && e["physicalId"] == role_name.as_str()
    });
    assert!(old_deleted.is_some_and(|at| at > cleanup), "the old role is deleted in the cleanup: {}", replaced.stdout);
    assert!(role(&role_name).is_none(), "the old role is gone");

    let deleted = partner.delete().expect_ok("the delete");
    assert_eq!(
        deleted.events.last().map(|e| &e["status"]),
        Some(&Value::from("DELETE_COMPLETE")),
        "{}",
        deleted.stdout
    );
    // Dependents first: the group before its users, the users before their connector.
    assert!(deleted.at("Operators", "DELETE_COMPLETE") < deleted.at("Ada", "DELETE_IN_PROGRESS"));
    assert!(deleted.at("Grace", "DELETE_COMPLETE") < deleted.at("Directory", "DELETE_IN_PROGRESS"));
    assert!(deleted.at("PartnerService", "DELETE_COMPLETE") < deleted.at("PartnerRole", "DELETE_IN_PROGRESS"));
    let every_event: Vec<Value> = [created.events, staged.events, replaced.events, deleted.events].concat();
    assert_eq!(left_behind(&every_event), Vec::<String>::new(), "everything the stack made is gone");
    assert!(!partner.state_dir().join("state.json").exists(), "a deleted stack has no state");
    let history = Run::of(
        cli().args(["events", "--stack-name", &partner.stack, "--output", "json"]).output().expect("the CLI runs"),
    )
    .expect_ok("events");
    assert_eq!(history.events.len(), every_event.len(), "`events` prints the whole history");
    assert_eq!(history.events.last(), every_event.last());
}

#[test]
fn the_state_and_events_hold_no_secret_and_noecho_values_are_given_again() {
    let _serial = one_at_a_time();
    let partner = Partner::new("secrets");
    let created = partner.deploy(&example(), &[]).expect_ok("the deploy");
    let scim_token = contract_tests::stack().scim_token.clone();
    for file in ["state.json", "events.jsonl"] {
        let text = std::fs::read_to_string(partner.state_dir().join(file)).expect("the stack's file");
        assert!(!text.contains(&partner.external_id), "{file} holds the NoEcho external id");
        assert!(!text.contains(&scim_token), "{file} holds the bearer token");
    }
    assert!(
        !created.stdout.contains(&partner.external_id) && !created.stdout.contains(&scim_token),
        "the output holds a secret"
    );
    let state = partner.state();
    assert!(
        state["parameters"].get("PartnerExternalId").is_none(),
        "NoEcho parameters are not kept: {}",
        state["parameters"]
    );
    assert_eq!(state["resources"]["PartnerRole"]["properties"]["ExternalId"], "****");
    assert_eq!(
        state["resources"]["Directory"]["properties"]["BearerToken"],
        "{{resolve:secretsmanager:rpdk/local/scim-token}}",
        "the reference, never its value"
    );

    // The handlers' records went to each type's log group, stream per resource, as on AWS.
    let logs = cli().args(["logs", "--stack-name", &partner.stack]).output().expect("the CLI runs");
    let logs = String::from_utf8_lossy(&logs.stdout).into_owned();
    for logical_id in ["PartnerRole", "PartnerService", "Directory", "Ada", "Grace", "Operators"] {
        assert!(
            logs.lines()
                .any(|line| line.contains(&format!(" {logical_id} {{")) && line.contains("\"message\":\"done\"")),
            "no records of {logical_id}:\n{logs}"
        );
    }
    assert!(!logs.contains(&partner.external_id) && !logs.contains(&scim_token), "the delivered logs hold a secret");
    let one = cli()
        .args(["logs", "--stack-name", &partner.stack, "--logical-id", "Directory"])
        .output()
        .expect("the CLI runs");
    let one = String::from_utf8_lossy(&one.stdout).into_owned();
    assert!(!one.is_empty() && one.lines().all(|line| line.contains(" Directory {")), "{one}");

    let account = format!("PartnerAccountId={}", partner.account);
    let without = Run::of(
        cli()
            .args(["deploy"])
            .arg(example())
            .args(["--stack-name", &partner.stack, "--parameter", &account])
            .output()
            .expect("the CLI runs"),
    );
    assert!(
        !without.ok
            && without.stderr.contains("Parameters.PartnerExternalId")
            && without.stderr.contains("--parameter PartnerExternalId"),
        "{}",
        without.stderr
    );
    partner.delete().expect_ok("the delete");
}

#[test]
fn the_stacks_tags_reach_every_taggable_resource_and_a_change_of_them_alone_retags() {
    let _serial = one_at_a_time();
    let partner = Partner::new("tagged");
    let created = partner
        .deploy_tagged(&example(), &[], &["team=platform", "partner-role=from-the-stack"])
        .expect_ok("the deploy");
    let id = |logical_id: &str| physical(created.of_resource(logical_id).last().expect("events of the resource"));
    let (role_name, service_id, connector) = (id("PartnerRole"), id("PartnerService"), id("Directory"));
    let [role, service, settings, token] = tags_in_services(&role_name, &service_id, &connector);
    for (what, tags) in
        [("role", &role), ("service", &service), ("connector settings", &settings), ("connector token", &token)]
    {
        assert_eq!(
            tags.get("team").map(String::as_str),
            Some("platform"),
            "the {what} lacks the stack's tag: {tags:?}"
        );
    }
    assert_eq!(role.get("partner-role").map(String::as_str), Some("from-the-stack"));
    assert!(
        service.get("partner-role").is_some_and(|v| v.starts_with("arn:aws:iam::")),
        "the service's own tag wins over the stack's: {service:?}"
    );
    let state = partner.state();
    assert!(
        state["resources"]["PartnerRole"]["model"].get("Tags").is_none(),
        "READ reports the role's own tags only: {}",
        state["resources"]["PartnerRole"]["model"]
    );
    let service_tags = &state["resources"]["PartnerService"]["model"]["Tags"];
    assert_eq!(service_tags.as_array().map(Vec::len), Some(1), "the service's own tag only: {service_tags}");

    // The same template and parameters, other stack tags: an update of what carries them.
    let retagged = partner.deploy_tagged(&example(), &[], &["team=identity"]).expect_ok("the tags-only update");
    for logical_id in ["PartnerRole", "PartnerService", "Directory"] {
        retagged.at(logical_id, "UPDATE_COMPLETE");
    }
    assert!(
        retagged.of_resource("Ada").iter().all(|e| e["status"] != "UPDATE_IN_PROGRESS"),
        "a type without tags is left alone"
    );
    let [role, service, settings, token] = tags_in_services(&role_name, &service_id, &connector);
    for (what, tags) in
        [("role", &role), ("service", &service), ("connector settings", &settings), ("connector token", &token)]
    {
        assert_eq!(tags.get("team").map(String::as_str), Some("identity"), "the {what} was not retagged: {tags:?}");
    }
    assert!(!role.contains_key("partner-role"), "a stack tag taken away is removed: {role:?}");
    assert!(service.contains_key("partner-role"), "the service's own tag stays: {service:?}");
    // The service holds no masked value, so nothing but a change of tags would update it.
    let kept = partner.deploy(&example(), &[]).expect_ok("an update without --tags");
    assert!(
        kept.of_resource("PartnerService").iter().all(|e| e["status"] != "UPDATE_IN_PROGRESS"),
        "without --tags the stack keeps its tags"
    );
    let [role, ..] = tags_in_services(&role_name, &service_id, &connector);
    assert_eq!(
        role.get("team").map(String::as_str),
        Some("identity"),
        "the role sent again keeps the stack's tags: {role:?}"
    );
    partner.delete().expect_ok("the delete");
}

#[test]
fn a_failing_resource_rolls_back_everything_the_run_created() {
    let _serial = one_at_a_time();
    let partner = Partner::new("rollback");
    // The sixth resource to start fails in its handler, after the other five exist.
    let broken = variant("empty-group", &[("DisplayName: !Sub ${AWS::StackName}-operators", "DisplayName: \"\"")]);
    let failed = partner.deploy(&broken, &[]);
    assert!(!failed.ok, "{}", failed.stdout);
    assert!(
        failed.stderr.contains("Operators failed") && failed.stderr.contains("DisplayName"),
        "the error names the resource and why: {}",
        failed.stderr
    );
    let failure = failed.at("Operators", "CREATE_FAILED");
    assert!(
        failed.events[failure]["reason"].as_str().is_some_and(|r| r.contains("HandlerErrorCode: InvalidRequest")),
        "{}",
        failed.events[failure]
    );
    let rollback = failed.at(&partner.stack, "ROLLBACK_IN_PROGRESS");
    assert!(failed.events[rollback]["reason"].as_str().is_some_and(|r| r.contains("[Operators]")));
    for created in ["PartnerRole", "PartnerService", "Directory", "Ada", "Grace"] {
        assert!(
            failed.at(created, "CREATE_COMPLETE") < failure && failed.at(created, "DELETE_COMPLETE") > rollback,
            "{created} was made, then deleted"
        );
    }
    assert!(failed.at("Ada", "DELETE_COMPLETE") < failed.at("Directory", "DELETE_IN_PROGRESS"), "in reverse order");
    assert_eq!(failed.events.last().map(|e| &e["status"]), Some(&Value::from("ROLLBACK_COMPLETE")));
    assert_eq!(left_behind(&failed.events), Vec::<String>::new(), "nothing is left in moto or scim2-server");
    assert_eq!(partner.state()["resources"], serde_json::json!({}));
}

#[test]
fn type_configurations_reach_the_handlers() {
    let _serial = one_at_a_time();
    let partner = Partner::new("governed");
    let governance = std::env::temp_dir().join(format!("{}.json", unique("governance")));
    std::fs::write(&governance, r#"{"AllowedPrincipalAccountIds": ["999999999999"]}"#)
        .expect("the configuration is written");
    let option = format!("Rpdk::EC2::PrivateLinkService={}", governance.display());
    let account = format!("PartnerAccountId={}", partner.account);
    let external = format!("PartnerExternalId={}", partner.external_id);
    let output = cli()
        .arg("deploy")
        .arg(example())
        .args([
            "--stack-name",
            &partner.stack,
            "--output",
            "json",
            "--parameter",
            &account,
            "--parameter",
            &external,
            "--type-config",
            &option,
        ])
        .output()
        .expect("the CLI runs");
    let governed = Run::of(output);
    assert!(!governed.ok, "{}", governed.stdout);
    let refused = &governed.events[governed.at("PartnerService", "CREATE_FAILED")];
    let expected = format!(
        "belongs to account {}, which the type configuration's AllowedPrincipalAccountIds (999999999999) does not list",
        partner.account
    );
    assert!(refused["reason"].as_str().is_some_and(|r| r.contains(&expected)), "{refused}");
    assert_eq!(left_behind(&governed.events), Vec::<String>::new());
}

/// A type's or hook's configuration set in the local registry, as an account's administrator
/// sets it with `SetTypeConfiguration` (through `contract-tests/local_registry.py`); cleared
/// when dropped.
struct RegistryConfiguration {
    type_name: &'static str,
    kind: &'static str,
}

impl RegistryConfiguration {
    fn set(type_name: &'static str, schema: &str, configuration: &str) -> Self {
        let schema = root().join("schemas").join(schema);
        local_registry(&["set", type_name, &schema.display().to_string(), configuration]);
        let text = std::fs::read_to_string(&schema).expect("the schema");
        let hook = text.contains("\"preCreate\"") || text.contains("\"preUpdate\"") || text.contains("\"preDelete\"");
        Self { type_name, kind: if hook { "HOOK" } else { "RESOURCE" } }
    }
}

impl Drop for RegistryConfiguration {
    fn drop(&mut self) {
        local_registry(&["clear", self.type_name, self.kind]);
    }
}

fn local_registry(args: &[&str]) {
    let admin = &contract_tests::principals()["admin"];
    let output = Command::new(root().join(".tools").join("moto").join("bin").join("python"))
        .arg(root().join("contract-tests").join("local_registry.py"))
        .args(args)
        .env("RPDK_MOTO_URL", &contract_tests::stack().moto_url)
        .env("AWS_ACCESS_KEY_ID", admin["accessKeyId"].as_str().expect("the admin's key"))
        .env("AWS_SECRET_ACCESS_KEY", admin["secretAccessKey"].as_str().expect("the admin's key"))
        .env("AWS_DEFAULT_REGION", contract_tests::REGION)
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("python runs");
    assert!(output.status.success(), "local_registry.py {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_registrys_type_configuration_reaches_the_handlers_and_type_config_overrides_it_for_a_run() {
    let _serial = one_at_a_time();
    let partner = Partner::new("registry");
    // The account's governance, as set in the registry: no principal of the partner's account.
    let _registry = RegistryConfiguration::set(
        "Rpdk::EC2::PrivateLinkService",
        "rpdk-ec2-privatelinkservice.json",
        r#"{"AllowedPrincipalAccountIds": ["999999999999"]}"#,
    );
    let governed = partner.deploy(&example(), &[]);
    assert!(!governed.ok, "{}", governed.stdout);
    let refused = &governed.events[governed.at("PartnerService", "CREATE_FAILED")];
    assert!(
        refused["reason"].as_str().is_some_and(|r| r.contains("AllowedPrincipalAccountIds (999999999999)")),
        "the registry's configuration reached the handler: {refused}"
    );
    assert_eq!(left_behind(&governed.events), Vec::<String>::new());

    // Given for a run, a configuration overrides the registry's.
    let allowing = std::env::temp_dir().join(format!("{}.json", unique("allowing")));
    std::fs::write(&allowing, format!(r#"{{"AllowedPrincipalAccountIds": ["{}"]}}"#, partner.account))
        .expect("the configuration is written");
    let option = format!("--type-config=Rpdk::EC2::PrivateLinkService={}", allowing.display());
    let overridden = Run::of(
        cli()
            .arg("deploy")
            .arg(example())
            .args(["--stack-name", &partner.stack, "--output", "json", &option])
            .args(["--parameter", &format!("PartnerAccountId={}", partner.account)])
            .args(["--parameter", &format!("PartnerExternalId={}", partner.external_id)])
            .output()
            .expect("the CLI runs"),
    )
    .expect_ok("the deploy with --type-config");
    let deleted = Run::of(
        cli()
            .args(["delete", "--stack-name", &partner.stack, "--output", "json", &option])
            .output()
            .expect("the CLI runs"),
    )
    .expect_ok("the delete");
    let every_event: Vec<Value> = [overridden.events, deleted.events].concat();
    assert_eq!(left_behind(&every_event), Vec::<String>::new());
}

#[test]
fn a_failed_update_puts_back_what_it_changed_in_place() {
    let _serial = one_at_a_time();
    let partner = Partner::new("revert");
    let created = partner.deploy(&example(), &[]).expect_ok("the deploy");
    let grace = physical(&created.events[created.at("Grace", "CREATE_COMPLETE")]);
    let grace_id = grace.rsplit('|').next().expect("a user id").to_owned();
    // Grace turns inactive (in place), then the group, which waits for her, fails.
    let broken = variant("empty-group", &[("DisplayName: !Sub ${AWS::StackName}-operators", "DisplayName: \"\"")]);
    let failed = partner.deploy(&broken, &["Environment=staging"]);
    assert!(!failed.ok);
    assert!(failed.at("Grace", "UPDATE_COMPLETE") < failed.at("Operators", "UPDATE_FAILED"));
    let revert = failed
        .events
        .iter()
        .position(|e| e["logicalId"] == "Grace" && e["reason"].as_str().is_some_and(|r| r.contains("Rolling back")));
    assert!(
        revert.is_some_and(|at| at > failed.at(&partner.stack, "UPDATE_ROLLBACK_IN_PROGRESS")),
        "{}",
        failed.stdout
    );
    assert_eq!(failed.events.last().map(|e| &e["status"]), Some(&Value::from("UPDATE_ROLLBACK_COMPLETE")));
    assert_eq!(scim("Users", &grace_id).expect("Grace exists")["active"], true, "put back as she was");
    assert_eq!(partner.state()["resources"]["Grace"]["physicalId"], grace.as_str());
    partner.delete().expect_ok("the delete");
}

#[test]
fn a_custom_named_resource_is_not_replaced_onto_its_own_name() {
    let _serial = one_at_a_time();
    let partner = Partner::new("named");
    let name = unique("partner-role");
    let named_line = format!("      RoleName: {name}\n      MaxSessionDuration: 3600\n");
    let named = variant("named", &[("      MaxSessionDuration: 3600\n", &named_line)]);
    partner.deploy(&named, &[]).expect_ok("the deploy");
    let before = role(&name).expect("the named role");
    let moved_line = format!("{named_line}      Path: /partners/\n");
    let moved = variant("named-moved", &[("      MaxSessionDuration: 3600\n", &moved_line)]);
    let refused = partner.deploy(&moved, &[]);
    assert!(!refused.ok);
    let failure = &refused.events[refused.at("PartnerRole", "UPDATE_FAILED")];
    assert!(failure["reason"].as_str().is_some_and(|r| r.contains("custom-named resource requires replacing") && r.contains("Rename PartnerRole")), "{failure}");
    assert_eq!(refused.events.last().map(|e| &e["status"]), Some(&Value::from("UPDATE_ROLLBACK_COMPLETE")));
    assert_eq!(role(&name).expect("the role stays").role_id(), before.role_id());
    partner.delete().expect_ok("the delete");
}

#[test]
fn dependents_start_once_configured_and_independent_resources_run_in_parallel() {
    let _serial = one_at_a_time();
    let partner = Partner::new("order");
    // An auditor user titled with the service's name: it needs the service configured, not
    // available.
    let auditor = "  Auditor:\n    Type: Rpdk::SCIM::User\n    Properties:\n      Connector: !Ref Directory\n      UserName: !Sub auditor@${PartnerAccountId}.partner.example.com\n      Title: !GetAtt PartnerService.ServiceName\nOutputs:\n";
    let template = variant("auditor", &[("Outputs:\n", auditor)]);
    let run = {
        // The service stays Pending for six describes: longer than one invocation.
        let _held = HeldTransitions::hold(SERVICE_MODEL, 6);
        partner.deploy(&template, &[]).expect_ok("the deploy")
    };
    let dependencies: &[(&str, &[&str])] = &[
        ("PartnerService", &["PartnerRole"]),
        ("Ada", &["Directory"]),
        ("Grace", &["Directory"]),
        ("Operators", &["Directory", "Ada", "Grace"]),
        ("Auditor", &["Directory", "PartnerService"]),
    ];
    for (resource, needs) in dependencies {
        for need in *needs {
            assert!(
                run.at(need, "CONFIGURATION_COMPLETE") < run.at(resource, "CREATE_IN_PROGRESS"),
                "{resource} starts after {need} is configured:\n{}",
                run.stdout
            );
        }
    }
    let (service_started, service_configured, service_done) = (
        run.at("PartnerService", "CREATE_IN_PROGRESS"),
        run.at("PartnerService", "CONFIGURATION_COMPLETE"),
        run.at("PartnerService", "CREATE_COMPLETE"),
    );
    for independent in ["Ada", "Grace", "Operators"] {
        let done = run.at(independent, "CREATE_COMPLETE");
        assert!(
            service_started < done && done < service_done,
            "{independent} completes while the service stabilizes:\n{}",
            run.stdout
        );
    }
    let auditor_started = run.at("Auditor", "CREATE_IN_PROGRESS");
    assert!(
        service_configured < auditor_started && auditor_started < service_done,
        "the auditor starts before the service is available:\n{}",
        run.stdout
    );
    assert!(run.at(&partner.stack, "CONFIGURATION_COMPLETE") < run.at(&partner.stack, "CREATE_COMPLETE"));
    partner.delete().expect_ok("the delete");
}

/// On a terminal, a line on stderr says what the deploy waits on while a resource stabilizes,
/// redrawn in place. `script` (util-linux) gives the CLI a terminal.
#[test]
fn a_terminal_shows_what_a_long_wait_waits_on() {
    let _serial = one_at_a_time();
    let partner = Partner::new("terminal");
    let cli = std::env::var("RPDK_CLI").expect("RPDK_CLI is unset: the deploy tests run through `cargo rpdk test`");
    let command = [
        cli.as_str(),
        "rpdk",
        "deploy",
        &example().display().to_string(),
        "--stack-name",
        &partner.stack,
        "--parameter",
        &format!("PartnerAccountId={}", partner.account),
        "--parameter",
        &format!("PartnerExternalId={}", partner.external_id),
    ]
    .iter()
    .map(|word| format!("'{word}'"))
    .collect::<Vec<_>>()
    .join(" ");
    let output = {
        let _held = HeldTransitions::hold(SERVICE_MODEL, 6);
        Command::new("script")
            .args(["--quiet", "--return", "--command", &command, "/dev/null"])
            .current_dir(root())
            .stdin(Stdio::null())
            .output()
            .expect("script runs")
    };
    let seen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the deploy on a terminal:\n{seen}");
    assert!(
        seen.contains("\r\x1b[2Kwaiting on PartnerService "),
        "a progress line names the resource waited on:\n{seen}"
    );
    assert!(
        seen.contains("CREATE_COMPLETE") && seen.contains("Outputs of"),
        "events and outputs are printed as text:\n{seen}"
    );
    partner.delete().expect_ok("the delete");
}

#[test]
fn an_interrupted_deploy_resumes_without_a_second_resource() {
    let _serial = one_at_a_time();
    let partner = Partner::new("resume");
    let services_before = service_ids().len();
    let held = HeldTransitions::hold(SERVICE_MODEL, 8);
    let mut first = partner
        .deploy_command(&example(), &[], &[], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the CLI starts");
    // Interrupted once the service exists and waits to become available.
    let started = Instant::now();
    let events = partner.state_dir().join("events.jsonl");
    while !std::fs::read_to_string(&events)
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("\"PartnerService\"") && l.contains("CONFIGURATION_COMPLETE"))
    {
        assert!(started.elapsed() < Duration::from_secs(120), "the service never reached its checkpoint");
        assert!(first.try_wait().expect("the CLI runs").is_none(), "the deploy ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(200));
    }
    first.kill().expect("the deploy is killed");
    first.wait().expect("the deploy ends");
    let interrupted = partner.state();
    assert_eq!(interrupted["status"], "CREATE_IN_PROGRESS");
    let service = &interrupted["resources"]["PartnerService"];
    assert_eq!(service["status"], "CREATE_IN_PROGRESS");
    assert!(service["operation"]["token"].is_string(), "the operation under way is recorded: {service}");
    let service_id = service["physicalId"].as_str().expect("the service's id is recorded").to_owned();

    let resumed = partner.deploy(&example(), &[]).expect_ok("the resumed deploy");
    drop(held);
    let resuming = &resumed.events[resumed.at("PartnerService", "CREATE_IN_PROGRESS")];
    assert!(resuming["reason"].as_str().is_some_and(|r| r.contains("Resuming")), "{resuming}");
    assert_eq!(
        physical(&resumed.events[resumed.at("PartnerService", "CREATE_COMPLETE")]),
        service_id,
        "the same service, resumed"
    );
    assert_eq!(resumed.summary["status"], "CREATE_COMPLETE");
    assert_eq!(service_ids().len(), services_before + 1, "one service, not two");
    partner.delete().expect_ok("the delete");
}

/// examples/partner-role-custom-resource.yaml, the template the README deploys to AWS, with its
/// custom resource served by the same function on the local stack and each response read back
/// from the response bucket. moto holds no AWS managed policies, so the variant attaches none.
#[test]
fn a_custom_resource_template_deploys_updates_and_deletes_through_its_function() {
    let _serial = one_at_a_time();
    let partner = Partner::new("custom");
    let template = custom_example("custom", &[]);
    let created = partner.deploy(&template, &[]).expect_ok("the custom resource deploy");
    let completed = &created.events[created.at("PartnerRole", "CREATE_COMPLETE")];
    assert_eq!(completed["type"], "Custom::CrossAccountRole");
    let role_name = physical(completed);
    let made = role(&role_name).expect("the function made the role");
    assert_eq!(made.max_session_duration(), Some(7200));
    assert_eq!(created.summary["outputs"]["RoleName"], role_name.as_str(), "Ref answers the physical id");
    assert_eq!(created.summary["outputs"]["RoleArn"], made.arn(), "Fn::GetAtt reads the response's Data");
    let state = std::fs::read_to_string(partner.state_dir().join("state.json")).expect("a state file");
    assert!(!state.contains(&partner.external_id), "the NoEcho external id is not stored");

    let shorter = custom_example("custom-update", &[("MaxSessionDuration: 7200", "MaxSessionDuration: 3600")]);
    let updated = partner.deploy(&shorter, &[]).expect_ok("the update");
    assert_eq!(physical(&updated.events[updated.at("PartnerRole", "UPDATE_COMPLETE")]), role_name, "updated in place");
    assert_eq!(role(&role_name).and_then(|r| r.max_session_duration()), Some(3600));

    partner.delete().expect_ok("the delete").at("PartnerRole", "DELETE_COMPLETE");
    assert!(role(&role_name).is_none(), "the function deleted the role");

    let elsewhere = partner.deploy(&template, &["FunctionName=my-function"]);
    assert!(!elsewhere.ok, "a function the local stack does not serve is refused");
    for text in [
        "Resources.PartnerRole.Properties.ServiceToken",
        "the local stack serves cross-account-role",
        "nothing was created",
    ] {
        assert!(elsewhere.stderr.contains(text), "the refusal names {text:?}:\n{}", elsewhere.stderr);
    }
}

/// examples/partner-role-custom-resource.yaml without the managed policy moto lacks, with
/// `from` replaced by `to` in each pair.
fn custom_example(name: &str, replacements: &[(&str, &str)]) -> PathBuf {
    let source = root().join("examples").join("partner-role-custom-resource.yaml");
    let no_managed_policy =
        ("      ManagedPolicyArns:\n        - !Sub arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess\n", "");
    variant_of(&source, name, &[&[no_managed_policy], replacements].concat())
}

/// One stack exports its role's ARN, another imports it into its own role's description; the
/// export is held while imported, and names are unique across the stacks.
#[test]
fn stacks_share_values_through_exports_and_imports() {
    let _serial = one_at_a_time();
    let (exporter, importer, rival) = (Partner::new("exporter"), Partner::new("importer"), Partner::new("rival"));
    let export_name = format!("{}-RoleArn", exporter.stack);
    let exported = (
        "    Value: !GetAtt PartnerRole.Arn\n",
        "    Value: !GetAtt PartnerRole.Arn\n    Export:\n      Name: !Sub \"${AWS::StackName}-RoleArn\"\n",
    );
    let exporting = custom_example("exporter", &[exported]);
    let made = exporter.deploy(&exporting, &[]).expect_ok("the exporting stack");
    let arn = made.summary["outputs"]["RoleArn"].as_str().expect("an ARN").to_owned();

    let description = "Description: Read-only access for the partner's monitoring service";
    let importing = custom_example("importer", &[(description, &format!("Description: !ImportValue {export_name}"))]);
    let imported = importer.deploy(&importing, &[]).expect_ok("the importing stack");
    let role_name = imported.summary["outputs"]["RoleName"].as_str().expect("a role").to_owned();
    assert_eq!(
        role(&role_name).and_then(|r| r.description).as_deref(),
        Some(arn.as_str()),
        "the imported value reaches the handler"
    );

    let held = exporter.delete();
    assert!(
        !held.ok && held.stderr.contains(&export_name) && held.stderr.contains(&importer.stack),
        "an export in use keeps its stack:\n{}",
        held.stderr
    );
    let dropped = exporter.deploy(&custom_example("dropped", &[]), &[]);
    assert!(!dropped.ok, "an export in use cannot be removed");
    assert!(
        dropped
            .stderr
            .contains(&format!("Cannot update or remove export {export_name} as it is in use by {}", importer.stack)),
        "{}",
        dropped.stderr
    );
    assert_eq!(exporter.state()["status"], "UPDATE_ROLLBACK_COMPLETE");

    let taken = (
        "    Value: !GetAtt PartnerRole.Arn\n",
        &*format!("    Value: !GetAtt PartnerRole.Arn\n    Export:\n      Name: {export_name}\n"),
    );
    let clash = rival.deploy(&custom_example("rival", &[taken]), &[]);
    assert!(
        !clash.ok
            && clash
                .stderr
                .contains(&format!("Export with name {export_name} is already exported by stack {}", exporter.stack)),
        "{}",
        clash.stderr
    );
    assert!(
        role(&physical(&clash.events[clash.at("PartnerRole", "CREATE_COMPLETE")])).is_none(),
        "the rival's role is rolled back"
    );

    let missing = custom_example("missing", &[(description, "Description: !ImportValue nobody-exports-this")]);
    let lonely = Partner::new("lonely");
    let refused = lonely.deploy(&missing, &[]);
    assert!(
        !refused.ok
            && refused.stderr.contains("Fn::ImportValue: no stack on this local stack exports nobody-exports-this")
            && refused.stderr.contains("nothing was created"),
        "{}",
        refused.stderr
    );
    assert!(!lonely.state_dir().exists(), "no stack was begun");

    importer.delete().expect_ok("the importer goes first");
    exporter.delete().expect_ok("then the exporter");
}

/// `DeletionPolicy: Retain`, kept in the state file between commands: deleting the stack
/// leaves the role.
#[test]
fn a_retained_resource_outlives_its_stack() {
    let _serial = one_at_a_time();
    let partner = Partner::new("retained");
    let template = custom_example(
        "retained",
        &[("    Type: Custom::CrossAccountRole\n", "    Type: Custom::CrossAccountRole\n    DeletionPolicy: Retain\n")],
    );
    let created = partner.deploy(&template, &[]).expect_ok("the deploy");
    let role_name = physical(&created.events[created.at("PartnerRole", "CREATE_COMPLETE")]);
    let deleted = partner.delete().expect_ok("the delete");
    let skipped = &deleted.events[deleted.at("PartnerRole", "DELETE_SKIPPED")];
    assert!(skipped["reason"].as_str().is_some_and(|r| r.contains("Retain")), "{skipped}");
    assert!(role(&role_name).is_some(), "the role outlives the stack");
    runtime().block_on(async {
        aws_sdk_iam::Client::new(&config())
            .delete_role()
            .role_name(&role_name)
            .send()
            .await
            .expect("the admin deletes the role")
    });
}

#[test]
fn bad_templates_are_refused_one_class_at_a_time_before_anything_is_made() {
    let _serial = one_at_a_time();
    /// A class of mistake: how the example is spoiled, and what the refusal must name.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "an unsupported function",
            &[("!GetAtt PartnerRole.Arn", "!Select [0, !GetAZs '']")],
            &["Resources.PartnerService.Properties.Tags[0].Value", "Fn::GetAZs"],
        ),
        (
            "a type with no handler",
            &[("Type: Rpdk::SCIM::Group", "Type: AWS::S3::Bucket")],
            &["Resources.Operators.Type", "AWS::S3::Bucket"],
        ),
        (
            "a cycle",
            &[(
                "  PartnerRole:\n    Type: Rpdk::IAM::CrossAccountRole\n",
                "  PartnerRole:\n    Type: Rpdk::IAM::CrossAccountRole\n    DependsOn: PartnerService\n",
            )],
            &["circular dependency", "PartnerRole", "PartnerService"],
        ),
        (
            "a bad GetAtt",
            &[("!GetAtt Ada.Id", "!GetAtt Ada.Email")],
            &["Resources.Operators.Properties.Members[0]", "Email"],
        ),
        (
            "an unknown Ref",
            &[("!Ref Directory\n      UserName: !Sub ada", "!Ref Directory2\n      UserName: !Sub ada")],
            &["Resources.Ada.Properties.Connector", "Directory2"],
        ),
        (
            "a secure SSM reference",
            &[("DisplayName: Ada Lovelace", "DisplayName: \"{{resolve:ssm-secure:/ada/name}}\"")],
            &["Resources.Ada.Properties.DisplayName", "SSM Secure reference is not supported in: [Rpdk::SCIM::User]"],
        ),
        (
            "a value outside AllowedValues",
            &[("Default: production", "Default: prod")],
            &["Parameters.Environment", "AllowedValues"],
        ),
        (
            "a value outside AllowedPattern",
            &[("AllowedPattern: \"^[0-9]{12}$\"", "AllowedPattern: \"^[0-9]{13}$\"")],
            &["Parameters.PartnerAccountId", "does not match the AllowedPattern"],
        ),
        (
            "a reference to a resource the parameters leave out",
            &[
                ("Default: production", "Default: staging"),
                (
                    "  Grace:\n    Type: Rpdk::SCIM::User\n",
                    "  Grace:\n    Type: Rpdk::SCIM::User\n    Condition: IsProduction\n",
                ),
            ],
            &[
                "Resources.Operators.Properties.Members[1].Fn::GetAtt",
                "Grace is not created in this deployment (its condition IsProduction is false)",
            ],
        ),
    ];
    for (class, replacements, expected) in cases {
        let partner = Partner::new("refused");
        let template = variant("refused", replacements);
        let refused = partner.deploy(&template, &[]);
        assert!(!refused.ok, "{class} is refused");
        for text in *expected {
            assert!(refused.stderr.contains(text), "{class}: the refusal names {text:?}:\n{}", refused.stderr);
        }
        assert!(refused.stderr.contains("nothing was created"), "{class}:\n{}", refused.stderr);
        assert!(refused.events.is_empty() && !partner.state_dir().exists(), "{class}: no stack was begun");
    }
    let partner = Partner::new("refused");
    let missing = Run::of(
        cli().arg("deploy").arg(example()).args(["--stack-name", &partner.stack]).output().expect("the CLI runs"),
    );
    assert!(
        !missing.ok
            && missing.stderr.contains("Parameters.PartnerAccountId")
            && missing.stderr.contains("--parameter PartnerAccountId=VALUE"),
        "a missing parameter:\n{}",
        missing.stderr
    );
}

/// The README's first command, as a newcomer runs it: `cargo rpdk deploy` of the example,
/// starting a local stack of its own in the background (in a work directory of its own, so a
/// developer's stacks are left alone), printing events and outputs.
#[test]
fn the_quick_start_deploys_the_example_on_a_local_stack_it_starts() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("the README");
    let quick_start = readme
        .split("## Quick start")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("a quick start block");
    let command =
        quick_start.lines().find(|line| line.starts_with("cargo rpdk deploy ")).expect("the quick start deploys");
    let stack =
        command.split("--stack-name ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("a stack name");
    let work_dir = std::env::temp_dir().join(unique("rpdk-quick-start"));
    let in_own_stack = |command: &mut Command| {
        command.current_dir(root()).env("RPDK_WORK_DIR", &work_dir).env_remove("RPDK_STACK_FILE");
    };
    let mut shell = Command::new("sh");
    shell.args(["-c", command]);
    in_own_stack(&mut shell);
    let deployed = shell.output().expect("the quick start runs");
    let stdout = String::from_utf8_lossy(&deployed.stdout).into_owned();
    let mut delete = cli();
    delete.args(["delete", "--stack-name", stack]);
    in_own_stack(&mut delete);
    let deleted = delete.output().expect("the CLI runs");
    let mut stop = cli();
    stop.arg("stop");
    in_own_stack(&mut stop);
    let stopped = stop.output().expect("the CLI runs");
    assert!(
        deployed.status.success(),
        "the quick start failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    assert!(
        String::from_utf8_lossy(&deployed.stderr).contains("starting the local stack in the background"),
        "it started its own stack"
    );
    for resource in ["PartnerRole", "PartnerService", "Directory", "Ada", "Grace", "Operators"] {
        assert!(
            stdout.lines().any(|line| line.contains(" CREATE_COMPLETE ") && line.contains(&format!(" {resource} "))),
            "{resource} is created:\n{stdout}"
        );
    }
    assert!(
        stdout.lines().any(|line| line.contains(" CREATE_COMPLETE ") && line.contains(&format!(" {stack} "))),
        "the stack is created:\n{stdout}"
    );
    let outputs =
        stdout.split(&format!("Outputs of {stack}:")).nth(1).unwrap_or_else(|| panic!("no outputs:\n{stdout}"));
    for output in ["RoleArn", "ServiceName", "Connector", "OperatorsGroupId"] {
        assert!(outputs.contains(output), "{output} is printed:\n{outputs}");
    }
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    assert!(
        String::from_utf8_lossy(&stopped.stdout).contains("The local stack is stopped"),
        "{}",
        String::from_utf8_lossy(&stopped.stdout)
    );
}

/// The processes with a file open under `dir`: a local stack's servers and handlers hold their
/// logs there.
fn processes_holding(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.starts_with(dir)))
        })
        .collect()
}

/// Ctrl-C while `deploy` starts the local stack stops what it had started, rather than leave
/// servers running that no stack description names.
#[test]
fn a_deploy_interrupted_while_the_local_stack_starts_leaves_nothing_running() {
    let work_dir = std::env::temp_dir().join(unique("rpdk-interrupted"));
    let mut deploy = cli();
    deploy
        .arg("deploy")
        .arg(example())
        .args([
            "--stack-name",
            "interrupted",
            "--parameter",
            "PartnerAccountId=111122223333",
            "--parameter",
            "PartnerExternalId=x",
        ])
        .current_dir(root())
        .env("RPDK_WORK_DIR", &work_dir)
        .env_remove("RPDK_STACK_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut running = deploy.spawn().expect("the CLI runs");
    let moto_log = work_dir.join("logs").join("moto.log");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !moto_log.exists() {
        assert!(Instant::now() < deadline, "moto never started");
        assert!(running.try_wait().expect("the CLI").is_none(), "the deploy ended before starting moto");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Past moto's spawn, well before the stack is ready (moto alone takes seconds).
    std::thread::sleep(Duration::from_millis(300));
    let interrupted = Command::new("kill").args(["-INT", &running.id().to_string()]).status().expect("kill");
    let status = running.wait().expect("the CLI ends");
    let settled = Instant::now() + Duration::from_secs(10);
    let mut left = processes_holding(&work_dir);
    while !left.is_empty() && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(100));
        left = processes_holding(&work_dir);
    }
    for pid in &left {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    assert!(interrupted.success());
    assert_eq!(status.code(), Some(130), "the deploy ends as interrupted");
    assert!(left.is_empty(), "processes left running: {left:?}");
    let runs = std::fs::read_dir(work_dir.join("runs")).map(|entries| entries.count()).unwrap_or(0);
    assert_eq!(runs, 0, "the start's keys are removed");
    assert!(!work_dir.join("local-stack.json").exists(), "no stack is described");
}

/// A template of the type `cargo rpdk init` made (`Rpdk::SSM::Setting`, checked in as made).
const SETTING: &str = r#"
Parameters:
  PartnerAccountId: {Type: String}
  PartnerExternalId: {Type: String}
  Value: {Type: String, Default: first}
Resources:
  Setting:
    Type: Rpdk::SSM::Setting
    Properties:
      Name: !Sub "${AWS::StackName}-setting"
      Value: !Ref Value
Outputs:
  SettingArn:
    Value: !GetAtt Setting.Arn
"#;

#[test]
fn a_type_made_by_init_deploys_updates_and_deletes_with_no_test_of_its_own() {
    let _serial = one_at_a_time();
    let partner = Partner::new("setting");
    let template = template_file("setting", SETTING);
    let name = format!("{}-setting", partner.stack);

    let created = partner.deploy(&template, &[]).expect_ok("the create");
    let arn = created.summary["outputs"]["SettingArn"].as_str().expect("an output").to_owned();
    assert!(arn.ends_with(&format!("/rpdk-ssm-setting/{name}")), "{arn}");
    let updated = partner.deploy(&template, &["Value=second"]).expect_ok("the update");
    updated.at("Setting", "UPDATE_COMPLETE");
    assert!(updated.of_resource("Setting").iter().all(|e| e["status"] != "CREATE_IN_PROGRESS"), "updated in place");
    let read = Handler::new("ssm-setting", "Rpdk::SSM::Setting").call("READ", &token(), json!({"Name": name}), None);
    assert_eq!(read["resourceModel"]["Value"], "second", "{read}");

    let deleted = partner.delete().expect_ok("the delete");
    let every_event: Vec<Value> = [created.events, updated.events, deleted.events].concat();
    assert_eq!(left_behind(&every_event), Vec::<String>::new(), "the setting is gone");
}

const PRIVATELINK_HOOK: &str = "Rpdk::Governance::PrivateLinkHook";
const ENCRYPTION_HOOK: &str = "Rpdk::Governance::EncryptionHook";

/// A hook's configuration document, as `SetTypeConfiguration` takes it.
fn hook_configuration(failure_mode: &str, operations: &[&str], properties: Value) -> String {
    json!({"CloudFormationConfiguration": {"HookConfiguration": {
        "HookInvocationStatus": "ENABLED",
        "FailureMode": failure_mode,
        "TargetOperations": operations,
        "Properties": properties,
    }}})
    .to_string()
}

/// `--hook-config HOOK=FILE` of `document`, written to a file.
fn hook_option(hook: &str, document: &str) -> String {
    let file = std::env::temp_dir().join(format!("{}.json", unique("hook-config")));
    std::fs::write(&file, document).expect("the configuration is written");
    format!("--hook-config={hook}={}", file.display())
}

#[test]
fn an_activated_hook_stops_a_non_compliant_resource_under_fail_and_lets_it_through_under_warn() {
    let _serial = one_at_a_time();
    // The hook approves another account than the partner's; the type's own configuration
    // (none) would let the partner in.
    let approved = json!({"AllowedPrincipalAccountIds": ["999999999999"]});
    let strict = hook_option(PRIVATELINK_HOOK, &hook_configuration("FAIL", &["RESOURCE", "STACK"], approved.clone()));
    let partner = Partner::new("hook-fail");
    let services_before = service_ids();
    let stopped = partner.deploy_with(&example(), &[], &[], &[&strict]);
    assert!(!stopped.ok, "{}", stopped.stdout);

    // The stack's template was checked first, through its payload URL: no native service in it.
    let stack_checked = stopped.at(&partner.stack, "HOOK_COMPLETE_SUCCEEDED");
    assert!(stack_checked < stopped.at("PartnerService", "HOOK_IN_PROGRESS"), "{}", stopped.stdout);

    let checking = stopped.at("PartnerService", "HOOK_IN_PROGRESS");
    let found = stopped.at("PartnerService", "HOOK_COMPLETE_FAILED");
    let refused = stopped.at("PartnerService", "CREATE_FAILED");
    assert!(checking < found && found < refused, "{}", stopped.stdout);
    let finding = &stopped.events[found];
    assert_eq!(
        (&finding["hookType"], &finding["hookInvocationPoint"], &finding["hookFailureMode"]),
        (&json!(PRIVATELINK_HOOK), &json!("PRE_PROVISION"), &json!("FAIL")),
        "{finding}"
    );
    let breach = format!(
        "belongs to account {}, which the hook configuration's AllowedPrincipalAccountIds (999999999999) does not list",
        partner.account
    );
    assert!(finding["reason"].as_str().is_some_and(|r| r.contains(&breach)), "{finding}");
    let reason = stopped.events[refused]["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with(&format!("The following hook(s) failed: [{PRIVATELINK_HOOK}]")), "{reason}");
    // The handler was never asked: no service was made, and the rest rolled back.
    assert!(stopped.of_resource("PartnerService").iter().all(|e| e["status"] != "CREATE_IN_PROGRESS"));
    assert_eq!(service_ids(), services_before);
    assert_eq!(left_behind(&stopped.events), Vec::<String>::new());

    // Activated in the registry with FailureMode WARN, as an administrator activates it.
    let _registry = RegistryConfiguration::set(
        PRIVATELINK_HOOK,
        "rpdk-governance-privatelinkhook.json",
        &hook_configuration("WARN", &["RESOURCE"], approved),
    );
    let partner = Partner::new("hook-warn");
    let warned = partner.deploy(&example(), &[]).expect_ok("the deploy under WARN");
    let finding = &warned.events[warned.at("PartnerService", "HOOK_COMPLETE_FAILED")];
    assert_eq!(finding["hookFailureMode"], "WARN", "{finding}");
    assert!(
        finding["reason"].as_str().is_some_and(|r| r.ends_with("(FailureMode WARN: the operation goes on)")),
        "{finding}"
    );
    warned.at("PartnerService", "CREATE_COMPLETE");
    assert!(
        warned.events.iter().all(|e| e["logicalId"] != partner.stack.as_str() || e["hookType"].is_null()),
        "RESOURCE only"
    );
    // The hook has no preDelete handler: the delete is not checked.
    let deleted = partner.delete().expect_ok("the delete");
    assert!(deleted.events.iter().all(|e| e["hookType"].is_null()), "{}", deleted.stdout);
    assert_eq!(left_behind(&[warned.events, deleted.events].concat()), Vec::<String>::new());
}

/// A dry run of the governance example with both hooks activated: its JSON plan and findings.
fn governance_dry_run(failure_mode: &str) -> (bool, Value, String, String) {
    let stack = unique("governance").replace('_', "-");
    let encryption = hook_option(ENCRYPTION_HOOK, &hook_configuration(failure_mode, &["RESOURCE"], json!({})));
    let approved = json!({"AllowedPrincipalAccountIds": ["111122223333"]});
    let privatelink =
        hook_option(PRIVATELINK_HOOK, &hook_configuration(failure_mode, &["RESOURCE", "STACK"], approved));
    let output = cli()
        .arg("deploy")
        .arg(root().join("examples").join("governance.yaml"))
        .args(["--stack-name", &stack, "--dry-run", "--output", "json", &encryption, &privatelink])
        .output()
        .expect("the CLI runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let plan: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not a JSON plan ({e}): {stdout}"));
    (output.status.success(), plan, String::from_utf8_lossy(&output.stderr).into_owned(), stack)
}

#[test]
fn the_dry_run_reports_both_hooks_findings_on_the_governance_example() {
    let _serial = one_at_a_time();
    let (ok, plan, stderr, stack) = governance_dry_run("FAIL");
    assert!(!ok, "non-compliant resources under FAIL fail the dry run");
    assert!(stderr.contains("4 hook finding(s) would stop this deployment"), "{stderr}");
    let findings = plan["hooks"].as_array().unwrap_or_else(|| panic!("no findings: {plan}"));
    let of = |logical_id: &str, hook: &str| -> &Value {
        findings
            .iter()
            .find(|f| f["logicalId"] == logical_id && f["hookType"] == hook)
            .unwrap_or_else(|| panic!("no finding of {hook} on {logical_id}: {plan}"))
    };
    for (logical_id, hook, status, says) in [
        ("EncryptedBucket", ENCRYPTION_HOOK, "HOOK_COMPLETE_SUCCEEDED", "declares its encryption"),
        ("PlainBucket", ENCRYPTION_HOOK, "HOOK_COMPLETE_FAILED", "PlainBucket: BucketEncryption: missing"),
        ("EncryptedQueue", ENCRYPTION_HOOK, "HOOK_COMPLETE_SUCCEEDED", "declares its encryption"),
        ("PlainQueue", ENCRYPTION_HOOK, "HOOK_COMPLETE_FAILED", "neither declares encryption"),
        ("PartnerPermissions", PRIVATELINK_HOOK, "HOOK_COMPLETE_SUCCEEDED", "follows the account's PrivateLink rules"),
        ("OpenPermissions", PRIVATELINK_HOOK, "HOOK_COMPLETE_FAILED", "AllowedPrincipals[0]: '*' is refused"),
        ("UnwatchedService", PRIVATELINK_HOOK, "HOOK_COMPLETE_SUCCEEDED", "checked against the stack's template"),
        (
            stack.as_str(),
            PRIVATELINK_HOOK,
            "HOOK_COMPLETE_FAILED",
            "Resources.UnwatchedService.Properties.AcceptanceRequired",
        ),
    ] {
        let finding = of(logical_id, hook);
        assert_eq!(finding["hookStatus"], status, "{finding}");
        assert!(finding["reason"].as_str().is_some_and(|r| r.contains(says)), "{finding}");
    }
    let stack_finding = of(&stack, PRIVATELINK_HOOK)["reason"].as_str().unwrap_or_default().to_owned();
    assert!(!stack_finding.contains("AutoAcceptedService"), "its notification is declared: {stack_finding}");
    // A value that needs a resource made first is named, not guessed.
    assert_eq!(of("PartnerPermissions", PRIVATELINK_HOOK)["unknown"], json!(["Ref ReviewedService"]));
    let stacks = std::env::var_os("RPDK_WORK_DIR").map_or_else(|| root().join(".rpdk"), PathBuf::from).join("stacks");
    assert!(!stacks.join(&stack).exists(), "a dry run makes no stack");

    let (ok, plan, stderr, _) = governance_dry_run("WARN");
    assert!(ok, "under WARN the findings let the deployment through: {stderr}");
    let failed = plan["hooks"].as_array().into_iter().flatten().filter(|f| f["hookStatus"] == "HOOK_COMPLETE_FAILED");
    assert_eq!(failed.count(), 4, "{plan}");
}

/// CloudFormation's most resources in one stack, all of one type in one wave, so one function
/// serves every request: the engine's bounds keep the local stack answering throughout.
#[test]
fn a_stack_of_500_resources_of_one_type_deploys_and_deletes() {
    let _serial = one_at_a_time();
    let stack = unique("load").replace('_', "-");
    let resources: String = (0..500)
        .map(|i| format!("  S{i}:\n    Type: Rpdk::SSM::Setting\n    Properties:\n      Name: !Sub load-${{AWS::StackName}}-s{i}\n      Value: v{i}\n"))
        .collect();
    let template = std::env::temp_dir().join(format!("{stack}.yaml"));
    std::fs::write(&template, format!("Resources:\n{resources}")).expect("the template is written");
    let run = |command: &str| {
        let mut cli = cli();
        cli.arg(command);
        if command == "deploy" {
            cli.arg(&template);
        }
        Run::of(cli.args(["--stack-name", &stack, "--output", "json"]).output().expect("the CLI runs"))
    };
    let deployed = run("deploy").expect_ok("the deploy of 500 resources");
    let created = deployed.events.iter().filter(|e| e["status"] == "CREATE_COMPLETE").count();
    assert_eq!(created, 501, "500 resources and the stack");
    let deleted = run("delete").expect_ok("the delete of 500 resources");
    let gone = deleted.events.iter().filter(|e| e["status"] == "DELETE_COMPLETE").count();
    assert_eq!(gone, 501, "500 resources and the stack");
    assert_eq!(left_behind(&deployed.events), Vec::<String>::new());
}

/// A deploy killed (`kill -9`) while creates are unanswered, then deleted: every create that
/// never answered is asked again with the same request and token, which each type adopts, so
/// the delete removes what it made. Tried at several moments of the first creates.
#[test]
fn a_delete_after_a_killed_deploy_removes_what_unanswered_creates_made() {
    let _serial = one_at_a_time();
    let services_before: BTreeSet<String> = service_ids().into_iter().collect();
    // The service waits in its first invocation: its create is unanswered while it waits.
    let held = HeldTransitions::hold(SERVICE_MODEL, 3);
    for delay in [Duration::ZERO, Duration::from_millis(50), Duration::from_millis(150)] {
        let partner = Partner::new("killed");
        let mut deploy = partner.spawn_deploy(&example());
        let events = partner.state_dir().join("events.jsonl");
        let started = Instant::now();
        while !std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains("\"PartnerService\"") && l.contains("CREATE_IN_PROGRESS"))
        {
            assert!(started.elapsed() < Duration::from_secs(120), "the service's create never started");
            assert!(deploy.try_wait().expect("the CLI runs").is_none(), "the deploy ended before it could be killed");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(delay);
        deploy.kill().expect("kill -9");
        deploy.wait().expect("the deploy ends");
        let killed = partner.state();
        let service = &killed["resources"]["PartnerService"];
        assert!(service["physicalId"].is_null() && service["operation"]["token"].is_string(), "unanswered: {service}");
        let run_events: Vec<Value> = std::fs::read_to_string(&events)
            .expect("the events")
            .lines()
            .map(|l| serde_json::from_str(l).expect("an event"))
            .collect();

        let deleted = partner.delete().expect_ok("the delete after the kill");
        let asked = deleted.at("PartnerService", "DELETE_IN_PROGRESS");
        assert!(
            deleted.events[asked]["reason"].as_str().is_some_and(|r| r.contains("asking the type")),
            "{}",
            deleted.stdout
        );
        let services: BTreeSet<String> = service_ids().into_iter().collect();
        assert_eq!(services.difference(&services_before).count(), 0, "{delay:?}: no endpoint service is left");
        assert_eq!(left_behind(&[run_events, deleted.events].concat()), Vec::<String>::new(), "{delay:?}");
        assert!(
            !partner.state_dir().join("in-flight").join("PartnerService.json").exists(),
            "the request is forgotten"
        );
    }
    drop(held);
}

/// Kills spread over the whole of a deploy, in a bounded loop: wherever the CLI dies, what the
/// stack made stays known, and the next command ends clean: a `deploy` again (then its
/// `delete`) after every other kill, a `delete` after the rest.
#[test]
fn a_deploy_killed_anywhere_is_finished_or_deleted_clean() {
    const KILLS: u32 = 6;
    let _serial = one_at_a_time();
    let services_before: BTreeSet<String> = service_ids().into_iter().collect();
    let timed = Partner::new("timed");
    let started = Instant::now();
    timed.deploy(&example(), &[]).expect_ok("the timed deploy");
    let whole = started.elapsed();
    timed.delete().expect_ok("the timed delete");
    // Where in each slice of the deploy a kill lands varies from run to run; the message says.
    let jitter = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    for kill in 0..KILLS {
        let slice = whole / KILLS;
        let at = slice * kill + slice.mul_f64(f64::from(jitter.wrapping_mul(kill + 1) % 1000) / 1000.0);
        let partner = Partner::new("killed-anywhere");
        let mut deploy = partner.spawn_deploy(&example());
        std::thread::sleep(at);
        deploy.kill().expect("kill -9");
        deploy.wait().expect("the deploy ends");
        let what = format!("killed {at:?} into a deploy of {whole:?}");
        let events_file = partner.state_dir().join("events.jsonl");
        let mut events: Vec<Value> = std::fs::read_to_string(&events_file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an event"))
            .collect();
        if partner.state_dir().join("state.json").exists() {
            if kill % 2 == 0 {
                let again = partner.deploy(&example(), &[]).expect_ok(&format!("the deploy again, {what}"));
                events.extend(again.events);
            }
            events.extend(partner.delete().expect_ok(&format!("the delete, {what}")).events);
        }
        let services: BTreeSet<String> = service_ids().into_iter().collect();
        assert_eq!(services.difference(&services_before).count(), 0, "{what}: an endpoint service is left");
        assert_eq!(left_behind(&events), Vec::<String>::new(), "{what}");
        let in_flight = partner.state_dir().join("in-flight");
        assert!(
            std::fs::read_dir(&in_flight).map_or(true, |mut entries| entries.next().is_none()),
            "{what}: a request is still unanswered in {}",
            in_flight.display()
        );
    }
}

/// A role, and a PrivateLink service that names it: the service starts once the role is made.
const ROLE_AND_SERVICE: &str = r#"
Parameters:
  PartnerAccountId: {Type: String}
  PartnerExternalId: {Type: String, NoEcho: true}
  Access: {Type: String, Default: read}
Resources:
  PartnerRole:
    Type: Rpdk::IAM::CrossAccountRole
    Properties:
      TrustedAccountIds: [!Ref PartnerAccountId]
      ExternalId: !Ref PartnerExternalId
      Description: !Sub "${Access} access for ${AWS::StackName}"
  PartnerService:
    Type: Rpdk::EC2::PrivateLinkService
    Properties:
      LoadBalancerArns: ["{{resolve:ssm:/rpdk/local/network-load-balancer-arn}}"]
      AcceptanceRequired: true
      AllowedPrincipals: [!Sub "arn:${AWS::Partition}:iam::${PartnerAccountId}:root"]
      Tags:
        - Key: partner-role
          Value: !GetAtt PartnerRole.Arn
"#;

/// The service's own faults while a stack is created, updated, rolled back and deleted, for
/// every caller (a deploy's handlers sign each invocation with a fresh session; the deploy tests
/// run one at a time, so the stack's calls are this test's). A call denied fails the phase for
/// good (`AccessDenied`, which no retry helps); once the fault is gone, the next `deploy` or
/// `delete` ends clean. Throttling that outlasts the SDK's own retries is absorbed by the
/// handlers' and the stack deploys and deletes. Nothing is left behind.
#[test]
fn a_fault_during_a_stacks_create_update_rollback_or_delete_leaves_a_state_the_next_command_ends() {
    let _serial = one_at_a_time();
    let services_before: BTreeSet<String> = service_ids().into_iter().collect();
    let template = template_file("faulted", ROLE_AND_SERVICE);
    let mut events = Vec::new();

    // Create: the service's create is denied; the rollback deletes the role.
    let partner = Partner::new("faulted");
    let failed = denied_run(
        &["CreateVpcEndpointServiceConfiguration"],
        || partner.deploy(&template, &[]),
        ("PartnerService", "CREATE_FAILED"),
        "ROLLBACK_COMPLETE",
    );
    assert!(failed.at("PartnerRole", "DELETE_COMPLETE") > failed.at("PartnerService", "CREATE_FAILED"));
    events.extend(failed.events);
    let created = partner.deploy(&template, &[]).expect_ok("the deploy again, after the create's fault");
    let role_name = physical(&created.events[created.at("PartnerRole", "CREATE_COMPLETE")]);
    events.extend(created.events);

    // Update: the role's UpdateRole is denied; the update rolls back, then goes through.
    let failed = denied_run(
        &["UpdateRole"],
        || partner.deploy(&template, &["Access=write"]),
        ("PartnerRole", "UPDATE_FAILED"),
        "UPDATE_ROLLBACK_COMPLETE",
    );
    let described = |role: Option<aws_sdk_iam::types::Role>| role.and_then(|r| r.description).unwrap_or_default();
    assert!(described(role(&role_name)).starts_with("read access"), "the role is as it was");
    events.extend(failed.events);
    let updated = partner.deploy(&template, &["Access=write"]).expect_ok("the update again, after its fault");
    updated.at("PartnerRole", "UPDATE_COMPLETE");
    assert!(described(role(&role_name)).starts_with("write access"), "the role is updated");
    events.extend(updated.events);

    // Delete: the service's delete is denied; the stack's delete fails, then is done again.
    let failed = denied_run(
        &["DeleteVpcEndpointServiceConfigurations"],
        || partner.delete(),
        ("PartnerService", "DELETE_FAILED"),
        "DELETE_FAILED",
    );
    events.extend(failed.events);
    events.extend(partner.delete().expect_ok("the delete again, after its fault").events);

    // Rollback: the service's create is denied, and so is the rollback's delete of the role.
    let partner = Partner::new("faulted-rollback");
    let failed = denied_run(
        &["CreateVpcEndpointServiceConfiguration", "DeleteRole"],
        || partner.deploy(&template, &[]),
        ("PartnerRole", "DELETE_FAILED"),
        "ROLLBACK_FAILED",
    );
    events.extend(failed.events);
    events.extend(partner.delete().expect_ok("the delete, after the rollback's fault").events);

    // Throttled past the SDK's retries at each create and delete: the handlers retry.
    let partner = Partner::new("throttled");
    let operations =
        ["CreateRole", "CreateVpcEndpointServiceConfiguration", "DeleteVpcEndpointServiceConfigurations", "DeleteRole"];
    let throttled =
        operations.map(|operation| FaultRule::new(FaultKind::Throttle, operation, &Caller::Any).times(3).arm());
    events.extend(partner.deploy(&template, &[]).expect_ok("the deploy, throttled").events);
    events.extend(partner.delete().expect_ok("the delete, throttled").events);
    for (operation, fault) in operations.iter().zip(&throttled) {
        assert_eq!(fault.hits(), 3, "{operation} was throttled");
    }

    let services: BTreeSet<String> = service_ids().into_iter().collect();
    assert_eq!(services.difference(&services_before).count(), 0, "no endpoint service is left");
    assert_eq!(left_behind(&events), Vec::<String>::new());
}

/// Runs `command` with the calls of `operations` denied for every caller (each must be tried):
/// it fails, `logical_id` reaches `resource_status` for the denial, and the stack ends at
/// `stack_status`.
fn denied_run(
    operations: &[&str],
    command: impl FnOnce() -> Run,
    (logical_id, resource_status): (&str, &str),
    stack_status: &str,
) -> Run {
    let faults: Vec<Fault> =
        operations.iter().map(|operation| FaultRule::new(FaultKind::Denied, operation, &Caller::Any).arm()).collect();
    let run = command();
    for (operation, fault) in operations.iter().zip(&faults) {
        assert!(fault.hits() > 0, "{operation} was never called");
    }
    drop(faults);
    assert!(!run.ok, "{}", run.stdout);
    let denial = run
        .events
        .iter()
        .find(|e| e["logicalId"] == logical_id && e["status"] == resource_status)
        .unwrap_or_else(|| panic!("no {resource_status} event of {logical_id} in:\n{}", run.stdout));
    assert!(denial["reason"].as_str().is_some_and(|r| r.contains("HandlerErrorCode: AccessDenied")), "{denial}");
    assert_eq!(run.events.last().map(|e| &e["status"]), Some(&Value::from(stack_status)), "{}", run.stdout);
    run
}
