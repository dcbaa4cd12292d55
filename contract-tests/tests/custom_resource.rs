//! The handlers as classic custom resources: requests as CloudFormation sends them (properties
//! as strings, a presigned S3 `ResponseURL`), through `cargo lambda watch`, with each response
//! read back from the response bucket. The functions call AWS with their own execution roles
//! (every permission their types declare), as on Lambda.

use aws_sdk_iam::Client;
use contract_tests::custom_resource::Function;
use contract_tests::{Handler, HeldTransitions, SERVICE_MODEL, fixture, token, unique};
use rpdk::custom_resource::INVENTED_ID_PREFIX;
use serde_json::{Value, json};

fn roles() -> Function {
    Function::new("cross-account-role", "Custom::CrossAccountRole")
}

fn iam() -> Client {
    Client::new(&contract_tests::admin_config())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// The role as IAM has it, or `None` when there is no such role.
fn role(name: &str) -> Option<aws_sdk_iam::types::Role> {
    use aws_sdk_iam::error::ProvideErrorMetadata;
    runtime().block_on(async {
        match iam().get_role().role_name(name).send().await {
            Ok(found) => found.role,
            Err(error) if error.code() == Some("NoSuchEntity") => None,
            Err(error) => panic!("cannot tell whether {name} exists: {error:?}"),
        }
    })
}

fn partner_role(name: &str) -> Value {
    json!({
        "RoleName": name,
        "TrustedAccountIds": ["111122223333"],
        "ExternalId": "partner-7f3a",
        "RequireMfa": true,
        "MaxSessionDuration": 3600,
        "Description": "Partner access",
    })
}

#[test]
fn a_role_is_created_updated_in_place_replaced_and_deleted() {
    let function = roles();
    let name = unique("custom-partner");
    let properties = partner_role(&name);
    let created = function.send("Create", "PartnerRole", None, &properties, None);
    assert_eq!(created.status(), "SUCCESS", "{}", created.response);
    assert_eq!(created.physical_id(), name, "the primary identifier is the physical id");
    assert_eq!(created.returned, created.response, "the function returns what it sent");
    let made = role(&name).expect("the role exists");
    assert_eq!(made.max_session_duration(), Some(3600), "\"3600\" was decoded as the number it is");
    assert_eq!(
        created.response["Data"],
        json!({"Arn": made.arn(), "RoleId": made.role_id()}),
        "Data holds the read-only properties, for Fn::GetAtt"
    );
    assert!(created.response.get("NoEcho").is_none(), "no write-only properties, nothing to mask");
    assert!(created.response.get("Reason").is_none());

    let mut longer = properties.clone();
    longer["MaxSessionDuration"] = json!(7200);
    longer["Description"] = json!("Partner access, longer sessions");
    let updated = function.send("Update", "PartnerRole", Some(&name), &longer, Some(&properties));
    assert_eq!((updated.status(), updated.physical_id()), ("SUCCESS", name.clone()), "{}", updated.response);
    let changed = role(&name).expect("the same role");
    assert_eq!((changed.max_session_duration(), changed.role_id()), (Some(7200), made.role_id()), "changed in place");

    let new_name = unique("custom-partner-new");
    let mut renamed = longer.clone();
    renamed["RoleName"] = json!(new_name);
    let replaced = function.send("Update", "PartnerRole", Some(&name), &renamed, Some(&longer));
    assert_eq!((replaced.status(), replaced.physical_id()), ("SUCCESS", new_name.clone()), "{}", replaced.response);
    assert!(role(&name).is_some() && role(&new_name).is_some(), "the old role stays until CloudFormation deletes it");
    assert_eq!(replaced.response["Data"]["Arn"], json!(role(&new_name).expect("the new role").arn()));

    // CloudFormation's clean-up after a replacement: Delete of the old id, with the old properties.
    let cleanup = function.send("Delete", "PartnerRole", Some(&name), &longer, None);
    assert_eq!((cleanup.status(), cleanup.physical_id()), ("SUCCESS", name.clone()), "{}", cleanup.response);
    assert!(role(&name).is_none() && role(&new_name).is_some());

    let deleted = function.send("Delete", "PartnerRole", Some(&new_name), &renamed, None);
    assert_eq!(deleted.status(), "SUCCESS", "{}", deleted.response);
    assert!(role(&new_name).is_none());
}

#[test]
fn a_failed_create_answers_an_invented_id_and_its_rollback_delete_succeeds() {
    let function = roles();
    let name = unique("custom-invalid");
    let properties = json!({"RoleName": name, "TrustedAccountIds": ["12345"], "ExternalId": "partner-7f3a"});
    let failed = function.send("Create", "BadRole", None, &properties, None);
    assert_eq!(failed.status(), "FAILED");
    assert!(
        failed
            .reason()
            .starts_with("InvalidRequest: requestData.resourceProperties.TrustedAccountIds.0: value does not match"),
        "the reason names the field: {}",
        failed.reason()
    );
    assert!(failed.physical_id().starts_with(INVENTED_ID_PREFIX), "{}", failed.physical_id());
    assert!(failed.response.get("Data").is_none());
    assert!(role(&name).is_none());

    let rollback = function.send("Delete", "BadRole", Some(&failed.physical_id()), &properties, None);
    assert_eq!((rollback.status(), rollback.physical_id()), ("SUCCESS", failed.physical_id()), "{}", rollback.response);
}

#[test]
fn deleting_a_role_that_is_already_gone_succeeds() {
    let function = roles();
    let name = unique("custom-gone");
    let properties = partner_role(&name);
    let created = function.send("Create", "GoneRole", None, &properties, None);
    assert_eq!(created.status(), "SUCCESS", "{}", created.response);
    runtime()
        .block_on(async { iam().delete_role().role_name(&name).send().await.expect("the admin deletes the role") });

    let deleted = function.send("Delete", "GoneRole", Some(&name), &properties, None);
    assert_eq!((deleted.status(), deleted.physical_id()), ("SUCCESS", name), "{}", deleted.response);
}

#[test]
fn a_service_out_of_time_fails_with_its_id_and_the_rollback_deletes_it() {
    let function = Function::new("privatelink-service", "Custom::PrivateLinkService");
    let properties = json!({
        "LoadBalancerArns": [fixture("Rpdk::EC2::PrivateLinkService", "NetworkLoadBalancerArn")],
        "AcceptanceRequired": true,
        "ServiceTimeout": 20,
    });
    let held = HeldTransitions::hold(SERVICE_MODEL, 1000);
    let failed = function.send("Create", "PartnerService", None, &properties, None);
    drop(held);
    assert_eq!(failed.status(), "FAILED", "{}", failed.response);
    let service_id = failed.physical_id();
    assert!(service_id.starts_with("vpce-svc-"), "the service exists, so its id is the physical id: {service_id}");
    assert!(failed.reason().contains("did not finish within the 15 s"), "{}", failed.reason());

    let rollback = function.send("Delete", "PartnerService", Some(&service_id), &properties, None);
    assert_eq!(rollback.status(), "SUCCESS", "{}", rollback.response);
    let read = Handler::new("privatelink-service", "Rpdk::EC2::PrivateLinkService").call(
        "READ",
        &token(),
        json!({"ServiceId": service_id}),
        None,
    );
    assert_eq!(read["errorCode"], "NotFound", "the rollback deleted the service: {read}");
}

#[test]
fn scim_types_answer_to_their_custom_names_with_composite_ids_and_masked_secrets() {
    let scim_url = contract_tests::stack().scim_url.clone();
    let scim_token = contract_tests::stack().scim_token.clone();
    let connectors = Function::new("scim-connector", "Custom::ScimConnector");
    let name = unique("custom-idp");
    let connector = json!({"Name": name, "BaseUrl": scim_url, "BearerToken": scim_token});
    let made = connectors.send("Create", "Directory", None, &connector, None);
    assert_eq!((made.status(), made.physical_id()), ("SUCCESS", name.clone()), "{}", made.response);
    assert_eq!(made.response["NoEcho"], true, "the type has a write-only property");
    assert_eq!(
        made.response["Data"]["Capabilities.Patch"], true,
        "nested read-only properties by their GetAtt names: {}",
        made.response
    );
    assert!(!made.response.to_string().contains(&scim_token), "the token is never in a response");

    let users = Function::new("scim-connector", "Custom::ScimUser");
    let user = json!({"Connector": name, "UserName": unique("custom-ada"), "Active": true});
    let created = users.send("Create", "Ada", None, &user, None);
    assert_eq!(created.status(), "SUCCESS", "{}", created.response);
    let user_id = created.response["Data"]["Id"].as_str().expect("the Id attribute").to_owned();
    assert_eq!(created.physical_id(), format!("{name}|{user_id}"), "a composite identifier, joined by |");

    let wrong = Function::new("scim-connector", "Custom::Widget");
    let refused = wrong.send("Create", "Widget", None, &user, None);
    assert_eq!(refused.status(), "FAILED");
    assert!(
        refused.reason().contains("'Custom::Widget' names none of the types")
            && refused.reason().contains("Custom::ScimUser"),
        "{}",
        refused.reason()
    );

    let deleted = users.send("Delete", "Ada", Some(&created.physical_id()), &user, None);
    assert_eq!(deleted.status(), "SUCCESS", "{}", deleted.response);
    let read = Handler::new("scim-connector", "Rpdk::SCIM::User").call(
        "READ",
        &token(),
        json!({"Connector": name, "Id": user_id}),
        None,
    );
    assert_eq!(read["errorCode"], "NotFound", "{read}");
    let removed = connectors.send("Delete", "Directory", Some(&name), &connector, None);
    assert_eq!(removed.status(), "SUCCESS", "{}", removed.response);
}

/// The README's `cargo lambda deploy` commands, a custom resource's function and a Lambda
/// hook's, run by `sh` as a reader runs them, against moto's Lambda API, with the host build of
/// each binary standing in for the release bundle: each finds its bootstrap and creates the
/// function with the role given, the environment the command sets, and the timeout and memory
/// of its crate's `[package.metadata.lambda.deploy]`. They run against the moto without IAM
/// enforcement: with enforcement on, moto refuses every signed Lambda API request
/// (`SignatureDoesNotMatch`, boto3's included).
#[test]
fn the_readme_deploy_commands_create_the_functions() {
    let moto = contract_tests::stack().responses_url.clone();
    let bin_dir = std::env::var("RPDK_BIN_DIR").expect("RPDK_BIN_DIR is unset: run through `cargo rpdk test`");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let iam = Client::from_conf(
        aws_sdk_iam::config::Builder::from(&contract_tests::admin_config()).endpoint_url(&moto).build(),
    );
    let role_arn = runtime().block_on(async {
        let made = iam
            .create_role()
            .role_name(unique("function-role"))
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("the admin makes the role");
        made.role.expect("a role").arn
    });
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("the README");
    let commands: Vec<String> = readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .flat_map(|block| block.replace("\\\n", " ").lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| line.starts_with("cargo lambda deploy"))
        .collect();
    // Each binary, the timeout and memory of its crate's metadata, and the environment the
    // README's command gives it.
    let expected = [
        (
            "privatelink-hook",
            (30, 128),
            Some(r#"RPDK_HOOK_CONFIGURATION={"AllowedPrincipalAccountIds":["111122223333"]}"#),
        ),
        ("cross-account-role", (900, 256), None),
    ];
    let binaries: Vec<&str> = commands.iter().filter_map(|c| c.split_whitespace().last()).collect();
    assert_eq!(binaries, expected.map(|(binary, ..)| binary), "the README's commands: {commands:?}");
    for (command, (binary, (timeout, memory), environment)) in commands.iter().zip(expected) {
        let lambda_dir = std::env::temp_dir().join(unique("rpdk-lambda-dir"));
        std::fs::create_dir_all(lambda_dir.join(binary)).expect("a lambda dir");
        std::fs::copy(format!("{bin_dir}/{binary}"), lambda_dir.join(binary).join("bootstrap")).expect("the binary");
        let function_name = unique(binary);
        // The README's words, then the binary it names (its last word) from this run's lambda
        // dir, deployed under a function name of its own.
        let words = command.trim_end().strip_suffix(binary).expect("the command ends with the binary");
        let deploy = |extra: &str| {
            let admin = &contract_tests::principals()["admin"];
            let script = format!(
                "{words} --endpoint-url {moto} --output-format json {extra} --lambda-dir {} --binary-name {binary} {function_name}",
                lambda_dir.display()
            );
            std::process::Command::new("sh")
                .args(["-c", &script])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .env("role", &role_arn)
                .env(
                    "PATH",
                    std::env::var("RPDK_TOOLS_PATH").expect("RPDK_TOOLS_PATH is unset: run through `cargo rpdk test`"),
                )
                .env("AWS_ACCESS_KEY_ID", admin["accessKeyId"].as_str().expect("admin"))
                .env("AWS_SECRET_ACCESS_KEY", admin["secretAccessKey"].as_str().expect("admin"))
                .env("AWS_REGION", contract_tests::REGION)
                .output()
                .expect("sh runs")
        };
        let json_of = |output: &std::process::Output| -> Value {
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{command}: failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
            // Progress lines may precede the JSON document.
            let document = stdout.find('{').map_or("", |start| &stdout[start..]);
            serde_json::from_str(document).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
        };
        // What the command resolves, the crate's deploy metadata included, before it deploys.
        let planned = json_of(&deploy("--dry"));
        let config = &planned["config"];
        assert_eq!((config["timeout"].as_u64(), config["memory"].as_u64()), (Some(timeout), Some(memory)), "{planned}");
        assert_eq!(config["role"], role_arn.as_str(), "{planned}");
        let variables: Vec<&str> =
            config["env_var"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        assert_eq!(variables, environment.into_iter().collect::<Vec<_>>(), "{planned}");
        let deployed = json_of(&deploy(""));
        std::fs::remove_dir_all(&lambda_dir).expect("clean up");
        assert_eq!(
            deployed["function_arn"],
            format!(
                "arn:aws:lambda:{}:{}:function:{function_name}",
                contract_tests::REGION,
                contract_tests::ACCOUNT_ID
            ),
            "{deployed}"
        );
    }
}

/// No type here has read-only properties that outgrow CloudFormation's 4096 bytes, so this
/// one is made for it (the suite's only made-up type) and served in-process through
/// `rpdk_lambda::Types::serve`, the function's own entry point; the response goes to the real
/// response bucket.
mod oversize {
    use rpdk::{Empty, HandlerError, HandlerResult, ListPage, Metadata, Request, ResourceHandler, Session};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "PascalCase")]
    pub struct Archive {
        name: String,
        size: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct ArchiveName {
        name: String,
    }

    pub struct Archives;

    impl ResourceHandler for Archives {
        type Model = Archive;
        type Identifier = ArchiveName;
        type ListInput = Empty;
        type Context = Empty;
        type TypeConfiguration = Empty;

        fn metadata() -> Metadata {
            Metadata {
                read_only: &["/properties/Digest", "/properties/Location"],
                create_only: &["/properties/Name"],
                ..Metadata::new(
                    "Test",
                    "Archive",
                    "An archive whose digest is as long as asked.",
                    &["/properties/Name"],
                )
            }
        }

        async fn create(&self, req: &Request<Archive, Empty>, _session: &mut Session<Empty>) -> HandlerResult<Archive> {
            let mut archive = req.model.clone();
            archive.digest = Some("d".repeat(archive.size));
            archive.location = Some(format!("s3://archives/{}", archive.name));
            Ok(archive)
        }

        async fn read(&self, req: &Request<ArchiveName, Empty>) -> Result<Archive, HandlerError> {
            Err(HandlerError::not_found(&req.type_name, &req.model.name))
        }

        async fn update(&self, req: &Request<Archive, Empty>, _session: &mut Session<Empty>) -> HandlerResult<Archive> {
            Ok(req.model.clone())
        }

        async fn delete(&self, _req: &Request<ArchiveName, Empty>, _session: &mut Session<Empty>) -> HandlerResult<()> {
            Ok(())
        }

        async fn list(&self, _req: &Request<Empty, Empty>) -> Result<ListPage<Archive>, HandlerError> {
            Ok(ListPage { models: Vec::new(), next_token: None })
        }
    }
}

#[test]
fn an_oversize_data_leaves_out_the_largest_attribute_and_names_it() {
    let function = Function::new("in-process", "Custom::Archive");
    let (request, key) = function.request("Create", "Archive", None, &json!({"Name": "big", "Size": 6000}), None);
    let types = rpdk_lambda::Types::new().with(oversize::Archives).expect("the schema");
    let returned =
        runtime().block_on(types.serve(request.to_string().as_bytes(), None)).expect("the response is delivered");
    let response = contract_tests::custom_resource::read_response(&key).expect("a response in the bucket");
    assert_eq!(returned, response);
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], "big");
    assert_eq!(response["Data"], json!({"Location": "s3://archives/big"}), "the small attribute stays");
    assert_eq!(
        response["Reason"],
        "Data left out Digest to fit CloudFormation's 4096-byte response; read them with the type's READ handler"
    );
}

#[test]
fn an_unreachable_response_url_is_an_error_of_the_invocation() {
    let function = Function::new("in-process", "Custom::Archive");
    let (mut request, _) = function.request("Create", "Archive", None, &json!({"Name": "small", "Size": 1}), None);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("an address");
    request["ResponseURL"] = json!(format!("http://{closed}/bucket/key?X-Amz-Signature=secret-signature"));
    let types = rpdk_lambda::Types::new().with(oversize::Archives).expect("the schema");
    let error = runtime()
        .block_on(types.serve(request.to_string().as_bytes(), None))
        .expect_err("nothing could be delivered")
        .to_string();
    assert!(error.contains(&format!("http://{closed}/bucket/key in 5 attempts")), "{error}");
    assert!(!error.contains("secret-signature"), "the URL's signature is not shown: {error}");
}

/// A request CloudFormation would not send still gets its answer at the ResponseURL, rather
/// than leaving the stack to wait an hour for one.
#[test]
fn an_unknown_request_type_is_answered_failed_at_its_response_url() {
    let function = roles();
    let (mut request, key) = function.request("Create", "Odd", None, &json!({"ExternalId": "x"}), None);
    request["RequestType"] = "Replace".into();
    function.invoke(&request);
    let response = contract_tests::custom_resource::read_response(&key).expect("a response in the bucket");
    assert_eq!(response["Status"], "FAILED", "{response}");
    assert!(response["Reason"].as_str().is_some_and(|r| r.contains("unknown variant `Replace`")), "{response}");
    for copied in ["StackId", "RequestId", "LogicalResourceId"] {
        assert_eq!(response[copied], request[copied], "{copied} is copied from the request");
    }
    assert!(response["PhysicalResourceId"].as_str().is_some_and(|id| id.starts_with(INVENTED_ID_PREFIX)), "{response}");
}
