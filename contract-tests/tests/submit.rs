//! `cargo rpdk submit` as a user runs it: the CLI (`RPDK_CLI`) with the run admin's keys as its
//! AWS configuration and moto as its endpoint, registering the packages the layout checks wrote
//! (`RPDK_PACKAGES`) into moto's registry (contract-tests/moto_ext/registry.py). Each test
//! submits in a region of its own, so neither they nor the deploy tests see each other's types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_cloudformation::Client as CloudFormation;
use aws_sdk_cloudformation::types::{Capability, RegistryType, ThirdPartyType, TypeConfigurationIdentifier};
use contract_tests::project::Project;
use contract_tests::{ACCOUNT_ID, admin_config_in, principals};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the project root").to_owned()
}

fn packages() -> PathBuf {
    PathBuf::from(std::env::var("RPDK_PACKAGES").expect("RPDK_PACKAGES is unset: run through `cargo rpdk test`"))
}

/// `cargo rpdk submit ARGS` in `region`, as the run's admin, with nothing of the machine's own
/// AWS configuration.
fn submit(region: &str, args: &[&str]) -> Output {
    let cli = std::env::var("RPDK_CLI").expect("RPDK_CLI is unset: the submit tests run through `cargo rpdk test`");
    let admin = &principals()["admin"];
    let key = |name: &str| admin[name].as_str().expect("admin credentials").to_owned();
    let output = Command::new(cli)
        .args(["rpdk", "submit"])
        .args(args)
        .current_dir(root())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_REGION", region)
        .env("AWS_ACCESS_KEY_ID", key("accessKeyId"))
        .env("AWS_SECRET_ACCESS_KEY", key("secretAccessKey"))
        .output()
        .expect("cargo rpdk submit runs");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The JSON line of each type a `--output json` submit printed, by type name.
fn outcomes(output: &Output) -> BTreeMap<String, Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .map(|outcome| (outcome["typeName"].as_str().expect("typeName").to_owned(), outcome))
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("a runtime")
}

/// The stack's outputs by key.
async fn outputs(cloudformation: &CloudFormation, stack: &str) -> BTreeMap<String, String> {
    let described = cloudformation.describe_stacks().stack_name(stack).send().await.expect("DescribeStacks");
    described.stacks()[0]
        .outputs()
        .iter()
        .map(|o| (o.output_key().unwrap_or_default().to_owned(), o.output_value().unwrap_or_default().to_owned()))
        .collect()
}

/// A role's trust policy, session limit and inline policies (name → document).
async fn role(iam: &aws_sdk_iam::Client, arn: &str) -> (Value, i32, BTreeMap<String, Value>) {
    let name = arn.rsplit('/').next().expect("a role ARN");
    let role = iam.get_role().role_name(name).send().await.expect("GetRole");
    let role = role.role().expect("a role");
    let decode = |text: &str| -> Value {
        let text = percent_encoding::percent_decode_str(text).decode_utf8().expect("UTF-8");
        serde_json::from_str(&text).expect("a policy document")
    };
    let trust = decode(role.assume_role_policy_document().expect("a trust policy"));
    let mut policies = BTreeMap::new();
    for policy in iam.list_role_policies().role_name(name).send().await.expect("ListRolePolicies").policy_names() {
        let document = iam.get_role_policy().role_name(name).policy_name(policy).send().await.expect("GetRolePolicy");
        policies.insert(policy.clone(), decode(document.policy_document()));
    }
    (trust, role.max_session_duration().unwrap_or_default(), policies)
}

/// A template value with `Ref` and `Fn::Sub` of the pseudo parameters resolved as CloudFormation
/// resolves them in `region` of the run's account.
fn resolved(value: &Value, region: &str) -> Value {
    let pseudo = |text: &str| {
        text.replace("${AWS::Partition}", "aws")
            .replace("${AWS::Region}", region)
            .replace("${AWS::AccountId}", ACCOUNT_ID)
    };
    match value {
        Value::Object(object) if object.len() == 1 && object.contains_key("Ref") => {
            Value::from(pseudo(&format!("${{{}}}", object["Ref"].as_str().expect("a Ref names"))))
        }
        Value::Object(object) if object.len() == 1 && object.contains_key("Fn::Sub") => {
            Value::from(pseudo(object["Fn::Sub"].as_str().expect("a plain Fn::Sub")))
        }
        Value::Object(object) => Value::Object(object.iter().map(|(k, v)| (k.clone(), resolved(v, region))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolved(v, region)).collect()),
        other => other.clone(),
    }
}

/// The role the package's template (`resource-role.yaml`, `hook-role.yaml`) describes: its
/// properties, resolved in `region`.
fn declared_role(stem: &str, file: &str, region: &str) -> Value {
    let text = std::fs::read_to_string(packages().join(stem).join(file)).expect("the role template");
    let template: Value = yaml_serde::from_str(&text).expect("the role template is YAML");
    resolved(&template["Resources"]["ExecutionRole"]["Properties"], region)
}

/// The project's hooks: (full name, stem), from rpdk-config.json.
fn hooks() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("rpdk-config.json")).expect("rpdk-config.json");
    let config: Value = serde_json::from_str(&text).expect("rpdk-config.json is JSON");
    let namespace = config["namespace"].as_str().unwrap_or("Rpdk");
    config["hooks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hook| {
            let name = format!(
                "{namespace}::{}::{}",
                hook["service"].as_str().unwrap_or_default(),
                hook["hook"].as_str().unwrap_or_default()
            );
            let stem = name.replace("::", "-").to_ascii_lowercase();
            (name, stem)
        })
        .collect()
}

/// Checks a registered extension's roles: the execution role is its package's template as
/// deployed; the log role, trusted by `service` alone, may write only its own group and metrics.
async fn check_roles(
    sdk: &aws_types::SdkConfig,
    outcome: &Value,
    name: &str,
    stem: &str,
    file: &str,
    service: &str,
    region: &str,
) {
    let cloudformation = CloudFormation::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    let version = outcome["typeVersionArn"].as_str().expect("a version ARN");
    let described = cloudformation.describe_type().arn(version).send().await.expect("DescribeType");
    assert_eq!(described.execution_role_arn(), outcome["executionRoleArn"].as_str());

    let (trust, session, policies) = role(&iam, outcome["executionRoleArn"].as_str().expect("a role")).await;
    let declared = declared_role(stem, file, region);
    assert_eq!(trust, declared["AssumeRolePolicyDocument"], "{name}: trust policy");
    assert_eq!(Value::from(session), declared["MaxSessionDuration"], "{name}: session");
    let declared_policies: BTreeMap<String, Value> = declared["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .map(|p| (p["PolicyName"].as_str().expect("a name").to_owned(), p["PolicyDocument"].clone()))
        .collect();
    assert_eq!(policies, declared_policies, "{name}: the role's policies");

    let logging = described.logging_config().expect("a logging configuration");
    let group = format!("{stem}-logs");
    assert_eq!(logging.log_group_name(), Some(group.as_str()));
    let log_role = logging.log_role_arn().expect("a log role");
    assert_eq!(outputs(&cloudformation, &format!("{stem}-logging-stack")).await["LogRoleArn"], log_role);
    let (trust, _, policies) = role(&iam, log_role).await;
    assert_eq!(trust["Statement"][0]["Principal"]["Service"], service, "{name}");
    let statements = &policies["LogAndMetricsDelivery"]["Statement"];
    let group_arn = format!("arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}");
    assert_eq!(
        statements[0]["Resource"],
        json!([group_arn, format!("{group_arn}:*")]),
        "{name}: logs of its own group only"
    );
    assert_eq!(statements[0]["Action"], json!(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]));
    assert_eq!(
        statements[1]["Condition"]["StringEquals"]["cloudwatch:namespace"],
        format!("AWS/CloudFormation/{}", name.replace("::", "/")),
        "{name}: its own metrics only"
    );
    let groups = aws_sdk_cloudwatchlogs::Client::new(sdk)
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .expect("DescribeLogGroups");
    assert_eq!(groups.log_groups().len(), 1, "the log group {group} exists");
}

/// The configuration the registry holds for `name`.
async fn configuration_of(cloudformation: &CloudFormation, kind: ThirdPartyType, name: &str) -> Vec<Value> {
    let configurations = cloudformation
        .batch_describe_type_configurations()
        .type_configuration_identifiers(TypeConfigurationIdentifier::builder().r#type(kind).type_name(name).build())
        .send()
        .await
        .expect("BatchDescribeTypeConfigurations");
    configurations
        .type_configurations()
        .iter()
        .map(|c| serde_json::from_str(c.configuration().unwrap_or_default()).expect("JSON"))
        .collect()
}

#[test]
fn every_type_and_hook_registers_with_its_role_its_logging_as_default_and_configured() {
    let region = "eu-west-1";
    let project = Project::load();
    let configuration =
        json!({"AllowedPrincipalAccountIds": ["111122223333"], "RequireNotificationWhenAutoAccept": true});
    let hook_configuration = json!({"CloudFormationConfiguration": {"HookConfiguration": {
        "HookInvocationStatus": "ENABLED", "FailureMode": "FAIL", "TargetOperations": ["RESOURCE"],
        "Properties": {"RequiredBucketAlgorithm": "aws:kms"}}}});
    let file = std::env::temp_dir().join(format!("submit-config-{}.json", std::process::id()));
    let hook_file = std::env::temp_dir().join(format!("submit-hook-config-{}.json", std::process::id()));
    std::fs::write(&file, configuration.to_string()).expect("write the configuration");
    std::fs::write(&hook_file, hook_configuration.to_string()).expect("write the hook's configuration");
    let type_config = format!("Rpdk::EC2::PrivateLinkService={}", file.display());
    let hook_config = format!("Rpdk::Governance::EncryptionHook={}", hook_file.display());
    let packages = packages().display().to_string();
    let args = [
        "--packages",
        &packages,
        "--set-default",
        "--type-config",
        &type_config,
        "--type-config",
        &hook_config,
        "--output",
        "json",
    ];
    let output = submit(region, &args);
    assert!(output.status.success(), "submit failed: {}", String::from_utf8_lossy(&output.stdout));
    let registered = outcomes(&output);
    let hooks = hooks();
    assert!(!hooks.is_empty(), "the project has hooks to submit");
    let names: Vec<String> =
        project.types.iter().map(|t| t.type_name.clone()).chain(hooks.iter().map(|(name, _)| name.clone())).collect();
    assert_eq!(registered.keys().cloned().collect::<Vec<_>>(), sorted(names), "one line per type and hook");

    runtime().block_on(async {
        let sdk = admin_config_in(region);
        let cloudformation = CloudFormation::new(&sdk);
        for t in &project.types {
            let outcome = &registered[&t.type_name];
            assert_eq!(outcome["status"], "REGISTERED", "{outcome}");
            assert_eq!(outcome["isDefaultVersion"], true, "--set-default: {outcome}");
            assert!(outcome["typeVersionArn"].as_str().is_some_and(|arn| arn.contains(":type/resource/")), "{outcome}");
            let service = "resources.cloudformation.amazonaws.com";
            check_roles(&sdk, outcome, &t.type_name, &t.stem, "resource-role.yaml", service, region).await;
        }
        for (name, stem) in &hooks {
            let outcome = &registered[name];
            assert_eq!(
                (outcome["status"].as_str(), outcome["isDefaultVersion"].as_bool()),
                (Some("REGISTERED"), Some(true)),
                "{outcome}"
            );
            let version = outcome["typeVersionArn"].as_str().expect("a version ARN");
            assert!(version.contains(":type/hook/"), "{outcome}");
            let described = cloudformation.describe_type().arn(version).send().await.expect("DescribeType");
            assert_eq!(described.r#type(), Some(&RegistryType::Hook));
            check_roles(&sdk, outcome, name, stem, "hook-role.yaml", "hooks.cloudformation.amazonaws.com", region)
                .await;
        }

        let set = configuration_of(&cloudformation, ThirdPartyType::Resource, "Rpdk::EC2::PrivateLinkService").await;
        assert_eq!(set, vec![configuration.clone()], "the type configuration is the file's");
        let set = configuration_of(&cloudformation, ThirdPartyType::Hook, "Rpdk::Governance::EncryptionHook").await;
        assert_eq!(set, vec![hook_configuration.clone()], "the hook's configuration is the file's");

        // The packages went to a bucket that only its account can read.
        let bucket = outputs(&cloudformation, "rpdk-submit-bucket").await["BucketName"].clone();
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        let block = s3.get_public_access_block().bucket(&bucket).send().await.expect("GetPublicAccessBlock");
        let block = block.public_access_block_configuration().expect("a public access block");
        assert_eq!(
            [
                block.block_public_acls(),
                block.ignore_public_acls(),
                block.block_public_policy(),
                block.restrict_public_buckets()
            ],
            [Some(true); 4]
        );
        let encryption = s3.get_bucket_encryption().bucket(&bucket).send().await.expect("GetBucketEncryption");
        let rules = encryption.server_side_encryption_configuration().map(|c| c.rules()).unwrap_or_default();
        assert!(!rules.is_empty(), "the bucket is encrypted");
        let uploaded = s3.list_objects_v2().bucket(&bucket).send().await.expect("ListObjectsV2");
        for stem in project.types.iter().map(|t| &t.stem).chain(hooks.iter().map(|(_, stem)| stem)) {
            let prefix = format!("{stem}-");
            assert!(
                uploaded.contents().iter().any(|o| o.key().is_some_and(|k| k.starts_with(&prefix))),
                "{stem} uploaded"
            );
        }
    });

    // Submitted again, a type gets its next version; its stacks stay as they are, and the default
    // stays where it was without --set-default.
    let again = submit(region, &["--packages", &packages, "--type", "Rpdk::SSM::Setting", "--output", "json"]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stdout));
    let second = &outcomes(&again)["Rpdk::SSM::Setting"];
    let first = &registered["Rpdk::SSM::Setting"];
    assert_eq!(second["versionId"], next_version(first["versionId"].as_str().expect("a version")), "{second}");
    assert_eq!(second["isDefaultVersion"], false, "{second}");
    assert_eq!(second["executionRoleArn"], first["executionRoleArn"]);
    let progress = String::from_utf8_lossy(&again.stderr);
    assert!(
        !progress.contains("stack rpdk-ssm-setting-role-stack"),
        "an unchanged role stack is left alone: {progress}"
    );
    let _ = std::fs::remove_file(&file);
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

fn next_version(version: &str) -> String {
    format!("{:08}", version.parse::<u32>().expect("a numbered version") + 1)
}

#[test]
fn a_broken_package_fails_with_the_services_reason_and_the_other_types_still_register() {
    let region = "eu-west-2";
    let dir = std::env::temp_dir().join(format!("submit-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for stem in ["rpdk-ssm-setting", "rpdk-scim-user"] {
        std::fs::create_dir_all(dir.join(stem)).expect("a package dir");
        for file in [format!("{stem}.zip"), "resource-role.yaml".to_owned()] {
            std::fs::copy(packages().join(stem).join(&file), dir.join(stem).join(&file)).expect("copy the package");
        }
    }
    without_bootstrap(&dir.join("rpdk-ssm-setting").join("rpdk-ssm-setting.zip"));

    let packages = dir.display().to_string();
    let output = submit(region, &["--packages", &packages, "--type", "SSM::Setting", "--type", "SCIM::User"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "one type failed, so submit fails: {stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}: {stdout}"))
            .to_owned()
    };
    let failed = line("Rpdk::SSM::Setting ");
    assert!(failed.contains("FAILED") && failed.contains("handler.zip has no bootstrap at its root"), "{failed}");
    let registered = line("Rpdk::SCIM::User ");
    assert!(registered.contains("type/resource/Rpdk-SCIM-User/") && registered.ends_with(" default"), "{registered}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rewrites a registration package so that its handler.zip holds the binary under another name.
fn without_bootstrap(package: &Path) {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::fs::File::open(package).expect("the package")).expect("a zip");
    let mut rewritten = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("an entry");
        let name = entry.name().expect("an entry's name").to_string();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).expect("read an entry");
        if name == "handler.zip" {
            let mut bundle = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            bundle.start_file("main", options).expect("an entry");
            bundle.write_all(b"not a bootstrap").expect("write");
            contents = bundle.finish().expect("a bundle").into_inner();
        }
        rewritten.start_file(name, options).expect("an entry");
        rewritten.write_all(&contents).expect("write");
    }
    std::fs::write(package, rewritten.finish().expect("a package").into_inner()).expect("write the package");
}

#[test]
fn a_role_stack_with_fewer_permissions_than_declared_is_updated_in_place() {
    let region = "eu-west-3";
    let stem = "rpdk-ssm-setting";
    let template =
        std::fs::read_to_string(packages().join(stem).join("resource-role.yaml")).expect("the role template");
    let dropped =
        template.lines().find(|l| l.trim() == "- \"ssm:DeleteParameter\"").expect("a permission line").to_owned();
    let fewer = template.replace(&format!("{dropped}\n"), "");
    let stack = format!("{stem}-role-stack");
    let role_before = runtime().block_on(async {
        let cloudformation = CloudFormation::new(&admin_config_in(region));
        cloudformation
            .create_stack()
            .stack_name(&stack)
            .template_body(&fewer)
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .expect("CreateStack");
        outputs(&cloudformation, &stack).await["ExecutionRoleArn"].clone()
    });

    let packages = packages().display().to_string();
    let output =
        submit(region, &["--packages", &packages, "--type", "SSM::Setting", "--no-logging", "--output", "json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("stack {stack} updated")));
    let outcome = &outcomes(&output)["Rpdk::SSM::Setting"];
    assert_eq!(outcome["executionRoleArn"], role_before.as_str(), "the role is updated, not replaced");
    assert_eq!(outcome["logGroupName"], Value::Null, "--no-logging");
    runtime().block_on(async {
        let sdk = admin_config_in(region);
        let (_, _, policies) = role(&aws_sdk_iam::Client::new(&sdk), &role_before).await;
        let actions = &policies["ResourceTypePolicy"]["Statement"][0]["Action"];
        assert!(actions.as_array().expect("actions").contains(&json!("ssm:DeleteParameter")), "{actions}");
        assert_eq!(
            policies["ResourceTypePolicy"],
            declared_role(stem, "resource-role.yaml", region)["Policies"][0]["PolicyDocument"]
        );
        let version = outcome["typeVersionArn"].as_str().expect("a version");
        let described = CloudFormation::new(&sdk).describe_type().arn(version).send().await.expect("DescribeType");
        assert!(described.logging_config().is_none(), "registered without logging");
    });
}

#[test]
fn a_dry_run_calls_nothing_and_a_configuration_is_checked_before_any_call() {
    let packages = packages().display().to_string();
    let file = std::env::temp_dir().join(format!("submit-dry-config-{}.json", std::process::id()));
    std::fs::write(&file, r#"{"AllowedPrincipalAccountIds": ["not-an-account"]}"#).expect("write");
    let bad = format!("Rpdk::EC2::PrivateLinkService={}", file.display());
    let region = "ap-south-1";
    let refused = submit(region, &["--packages", &packages, "--type-config", &bad]);
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        error.contains("--type-config Rpdk::EC2::PrivateLinkService")
            && error.contains("/AllowedPrincipalAccountIds/0"),
        "{error}"
    );

    let planned =
        submit(region, &["--packages", &packages, "--dry-run", "--set-default", "--type", "IAM::CrossAccountRole"]);
    let plan = String::from_utf8_lossy(&planned.stdout);
    assert!(planned.status.success(), "{plan}");
    for call in [
        "rpdk-iam-crossaccountrole-role-stack",
        "rpdk-iam-crossaccountrole-logging-stack",
        "S3 PutObject",
        "RegisterType",
        "SetTypeDefaultVersion",
    ] {
        assert!(plan.contains(call), "the plan names {call}: {plan}");
    }
    runtime().block_on(async {
        let cloudformation = CloudFormation::new(&admin_config_in(region));
        let found = cloudformation.describe_stacks().stack_name("rpdk-iam-crossaccountrole-role-stack").send().await;
        assert!(found.is_err(), "a dry run makes no stack");
        let types = cloudformation
            .describe_type()
            .r#type(RegistryType::Resource)
            .type_name("Rpdk::IAM::CrossAccountRole")
            .send()
            .await;
        assert!(types.is_err(), "a dry run registers nothing");
    });
    let _ = std::fs::remove_file(&file);
}
