//! Input a schema cannot refuse, as a hostile or careless caller sends it: each answered
//! `InvalidRequest` naming the field, before any call to the service.

use contract_tests::{Handler, recorded_actions, token};
use serde_json::{Value, json};

/// A LIST whose `nextToken` is `next`; answers the event and the AWS actions it called.
fn list_with_token(function: &str, type_name: &str, input: Value, next: &str) -> (Value, Vec<String>) {
    let handler = Handler::new(function, type_name);
    let operation = token();
    let mut request = handler.request("LIST", &operation, input, None);
    request["nextToken"] = json!(next);
    (handler.invoke(&request), recorded_actions(&rpdk_aws::operation_id(&operation)))
}

#[test]
fn a_list_token_no_type_issued_is_refused_before_any_call() {
    let types = [
        ("cross-account-role", "Rpdk::IAM::CrossAccountRole", Value::Null),
        ("privatelink-service", "Rpdk::EC2::PrivateLinkService", Value::Null),
        ("scim-connector", "Rpdk::SCIM::Connector", Value::Null),
        ("scim-connector", "Rpdk::SCIM::User", json!({"Connector": "any"})),
        ("scim-connector", "Rpdk::SCIM::Group", json!({"Connector": "any"})),
        ("ssm-setting", "Rpdk::SSM::Setting", Value::Null),
    ];
    for (function, type_name, input) in types {
        for next in ["garbage", "0/garbage", "AAAA~0000000000000000", "~"] {
            let (answer, calls) = list_with_token(function, type_name, input.clone(), next);
            assert_eq!(
                (answer["status"].as_str(), answer["errorCode"].as_str()),
                (Some("FAILED"), Some("InvalidRequest")),
                "{type_name} {next}: {answer}"
            );
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("nextToken: not a token this type issued"), "{type_name}: {message}");
            assert_eq!(calls, Vec::<String>::new(), "{type_name} {next}: no call");
        }
    }
}

#[test]
fn a_tag_with_a_control_character_is_refused_before_the_service_is_made() {
    let handler = Handler::new("privatelink-service", "Rpdk::EC2::PrivateLinkService");
    let operation = token();
    let model = json!({
        "LoadBalancerArns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/front/0123456789abcdef"],
        "Tags": [{"Key": "team", "Value": "plat\u{0}form"}],
    });
    let answer = handler.call("CREATE", &operation, model, None);
    assert_eq!(answer["errorCode"], "InvalidRequest", "{answer}");
    assert_eq!(
        answer["message"], "Tags[0].Value: holds the control character '\\0'; tags take printable text only",
        "{answer}"
    );
    assert_eq!(recorded_actions(&rpdk_aws::operation_id(&operation)), Vec::<String>::new(), "no EC2 call");
}

/// The run's SCIM token is on no process's command line, which any user can read (`ps`), and
/// the work directory whose files hold it (cfn test inputs and logs, fixtures) is its owner's.
#[test]
fn the_local_stacks_secret_is_on_no_command_line_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let secret = &contract_tests::stack().scim_token;
    let mut read = 0;
    for entry in std::fs::read_dir("/proc").expect("procfs").flatten() {
        // Processes come and go while the loop runs.
        let Ok(command_line) = std::fs::read(entry.path().join("cmdline")) else { continue };
        read += 1;
        let command_line = String::from_utf8_lossy(&command_line).replace('\0', " ");
        assert!(
            !command_line.contains(secret.as_str()),
            "a command line holds the SCIM token: {}",
            entry.path().display()
        );
    }
    assert!(read > 10, "the processes were read");
    let file = std::env::var_os("RPDK_STACK_FILE").expect("RPDK_STACK_FILE");
    let work_dir = std::path::Path::new(&file).parent().expect("the work dir");
    let mode = std::fs::metadata(work_dir).expect("the work dir").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{} is {mode:o}", work_dir.display());
}
