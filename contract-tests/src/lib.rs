//! The native contract suite's client of the local stack.
//!
//! `cargo rpdk test` starts the stack and runs these tests with `RPDK_STACK_FILE` naming its
//! description (endpoints, the run's principals, the SCIM token: [`stack`]); run alone, they
//! fail and say so. moto enforces IAM, so each handler runs
//! with a role holding only its declared permissions, as CloudFormation runs it. They cover what `cfn test` asserts and what it cannot: identifier-only requests,
//! retried creates, the forms AWS stores, error paths and strict comparison of unordered lists.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod custom_resource;
pub mod hook_call;
pub mod project;

use rpdk::follow::{Bound, Operation};
use rpdk::wire::{HandlerRequest, RequestData};
use rpdk_local::{Answer, Functions, StackDescription};
use serde_json::{Value, json};

pub use rpdk_local::{ACCOUNT_ID, REGION};

/// The local stack the suite runs against, as its description file (`RPDK_STACK_FILE`, which
/// `cargo rpdk test` sets) describes it.
pub fn stack() -> &'static StackDescription {
    static STACK: OnceLock<StackDescription> = OnceLock::new();
    STACK.get_or_init(|| {
        let file = std::env::var_os("RPDK_STACK_FILE").expect(
            "RPDK_STACK_FILE is unset: the contract suite runs against the local stack, through `cargo rpdk test`",
        );
        StackDescription::read(Path::new(&file)).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The principals of the run (see contract-tests/principals.py).
pub fn principals() -> Value {
    let path = &stack().principals_file;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the principals file is JSON")
}

/// SDK configuration for the run's admin, who may do anything: for preparing and inspecting
/// state behind a handler's back.
pub fn admin_config() -> aws_types::SdkConfig {
    admin_config_in(REGION)
}

/// The admin's SDK configuration in another region.
pub fn admin_config_in(region: &str) -> aws_types::SdkConfig {
    let admin = &principals()["admin"];
    let field = |name: &str| admin[name].as_str().expect("admin credentials").to_owned();
    let credentials = rpdk::Credentials {
        access_key_id: field("accessKeyId"),
        secret_access_key: field("secretAccessKey"),
        session_token: None,
    };
    rpdk_aws::sdk_config(Some(&credentials), region).expect("the admin's SDK configuration")
}

/// A prerequisite the type's `fixture.py` made for this run (`RPDK_FIXTURES`).
pub fn fixture(type_name: &str, key: &str) -> String {
    let path = std::env::var("RPDK_FIXTURES").expect("RPDK_FIXTURES is unset: run through `cargo rpdk test`");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let fixtures: Value = serde_json::from_str(&text).expect("the fixtures file is JSON");
    fixtures[type_name][key].as_str().unwrap_or_else(|| panic!("no fixture {key} for {type_name}")).to_owned()
}

/// The AWS actions the handlers recorded for one operation (by `rpdk_aws::operation_id` of its
/// client request token), in order.
pub fn recorded_actions(operation: &str) -> Vec<String> {
    let path = &stack().record_file;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| match line.split('\t').collect::<Vec<_>>()[..] {
            [_, _, action, op] if op == operation => Some(action.to_owned()),
            _ => None,
        })
        .collect()
}

/// Credentials of a new IAM user allowed what the type's CREATE and DELETE declare (schema
/// `schemas/<stem>.json`) except `leave_out`: for failures half-way through a handler.
pub fn credentials_without(stem: &str, leave_out: &str) -> Value {
    user_allowed(stem, &["create", "delete"], Some(leave_out))
}

/// Credentials of a new IAM user allowed everything the type's handlers declare: a signer no
/// other test uses, for fault proxy rules that must take this test's calls only.
pub fn own_credentials(stem: &str) -> Value {
    user_allowed(stem, &["create", "read", "update", "delete", "list"], None)
}

fn user_allowed(stem: &str, handlers: &[&str], leave_out: Option<&str>) -> Value {
    let path = format!("{}/../schemas/{stem}.json", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .expect("the schema is JSON");
    let mut actions: Vec<&str> = handlers
        .iter()
        .flat_map(|h| schema["handlers"][h]["permissions"].as_array().into_iter().flatten().filter_map(Value::as_str))
        .filter(|a| Some(*a) != leave_out)
        .collect();
    actions.sort_unstable();
    actions.dedup();
    let name = unique("rpdk-user");
    let policy =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]});
    let iam = aws_sdk_iam::Client::new(&admin_config());
    tokio::runtime::Runtime::new().expect("runtime").block_on(async {
        iam.create_user().user_name(&name).send().await.expect("a user");
        iam.put_user_policy()
            .user_name(&name)
            .policy_name("allowed")
            .policy_document(policy.to_string())
            .send()
            .await
            .expect("its policy");
        let key = iam.create_access_key().user_name(&name).send().await.expect("its key");
        let key = key.access_key().expect("an access key");
        json!({"accessKeyId": key.access_key_id(), "secretAccessKey": key.secret_access_key()})
    })
}

/// The state-manager model of endpoint services (contract-tests/moto_ext/endpoint_services.py).
pub const SERVICE_MODEL: &str = "ec2::vpc_endpoint_service_configuration";

/// moto's state manager holding each new `model` in its intermediate state for `times`
/// describes; every transition is immediate again when this is dropped, however the test ends.
pub struct HeldTransitions {
    model: String,
}

impl HeldTransitions {
    /// Starts holding.
    pub fn hold(model: &str, times: u32) -> Self {
        set_transition(model, json!({"progression": "manual", "times": times}));
        Self { model: model.to_owned() }
    }
}

impl Drop for HeldTransitions {
    fn drop(&mut self) {
        set_transition(&self.model, json!({"progression": "immediate"}));
    }
}

fn set_transition(model: &str, transition: Value) {
    let moto = &stack().moto_url;
    ureq::post(format!("{moto}/moto-api/state-manager/set-transition"))
        .send_json(json!({"model_name": model, "transition": transition}))
        .expect("moto's state manager answers");
}

/// How long one handler invocation may work on the local stack: the deadline every request is
/// given.
pub fn invocation_limit() -> Duration {
    Duration::from_secs(stack().invocation_seconds)
}

/// What the fault proxy does to the calls a [`Fault`] takes (contract-tests/fault_proxy.py).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Hold the call its seconds, then close its connection unanswered; it never reaches the
    /// service.
    Stall,
    /// Close the connection at once, unanswered; the call never reaches the service.
    Reset,
    /// Pass the call on, then close the connection instead of answering: the service did the
    /// work, the caller never hears of it.
    LoseResponse,
    /// Wait its seconds, then answer the service's throttling error (HTTP 429 for SCIM).
    Throttle,
    /// Answer HTTP 500, the service's internal error.
    Internal,
    /// Answer HTTP 503: the service unavailable (for SCIM, a load balancer's page).
    Unavailable,
    /// Answer the service's access denied error (HTTP 403), as when a policy changes under a
    /// running operation: no retry helps.
    Denied,
}

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            Self::Stall => "stall",
            Self::Reset => "reset",
            Self::LoseResponse => "lose",
            Self::Throttle => "throttle",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Denied => "denied",
        }
    }
}

/// Who a call of the fault proxy's comes from, which keeps tests running at once apart.
pub enum Caller<'a> {
    /// AWS calls signed with these credentials (as a handler request carries them).
    Signer(&'a Value),
    /// SCIM calls through [`Caller::scim_base_url`] of this scope.
    Scope(&'a str),
    /// Every caller: for a test that has the stack's calls to itself, such as a deploy's, whose
    /// handlers sign each invocation with a fresh session.
    Any,
}

impl Caller<'_> {
    fn key(&self) -> String {
        match self {
            Self::Signer(credentials) => credentials["accessKeyId"].as_str().expect("an access key id").to_owned(),
            Self::Scope(scope) => (*scope).to_owned(),
            Self::Any => "*".to_owned(),
        }
    }

    /// The SCIM base URL that reaches scim2-server through the fault proxy as `scope`.
    pub fn scim_base_url(scope: &str) -> String {
        format!("{}/rpdk-scope/{scope}/v2", stack().scim_faults_url)
    }

    /// The operations the fault proxy saw from this caller since [`Caller::forget_calls`], each
    /// attempt of a retried call included, in the order they arrived.
    pub fn calls(&self) -> Vec<String> {
        let url = format!("{}/rpdk-faults/calls/{}", stack().faults_url, self.key());
        let mut response = ureq::get(&url).call().expect("the fault proxy answers");
        let answer: Value = response.body_mut().read_json().expect("the fault proxy answers JSON");
        serde_json::from_value(answer["calls"].clone()).expect("a list of operations")
    }

    /// Forgets the calls seen from this caller.
    pub fn forget_calls(&self) {
        ureq::delete(format!("{}/rpdk-faults/calls/{}", stack().faults_url, self.key()))
            .call()
            .expect("the fault proxy answers");
    }
}

/// A rule of the fault proxy between the handlers and the services: the calls of one operation
/// from one caller fail as its kind says. The rule is removed when this is dropped, however
/// the test ends.
pub struct Fault {
    url: String,
}

impl Fault {
    /// Takes the calls of `operation` signed with `credentials` (as a handler request carries
    /// them), each held `seconds`, at most `times` calls (all when `None`).
    pub fn arm(kind: FaultKind, operation: &str, credentials: &Value, seconds: u64, times: Option<u32>) -> Self {
        let mut rule = FaultRule::new(kind, operation, &Caller::Signer(credentials)).seconds(seconds);
        if let Some(times) = times {
            rule = rule.times(times);
        }
        rule.arm()
    }

    /// How many calls the rule has taken.
    pub fn hits(&self) -> u64 {
        let mut response = ureq::get(&self.url).call().expect("the fault proxy answers");
        let answer: Value = response.body_mut().read_json().expect("the fault proxy answers JSON");
        answer["hits"].as_u64().expect("a hit count")
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.url).call();
    }
}

/// A [`Fault`] before it is armed.
pub struct FaultRule {
    rule: Value,
}

impl FaultRule {
    /// Fails every call of `operation` from `caller` as `kind` says.
    pub fn new(kind: FaultKind, operation: &str, caller: &Caller) -> Self {
        Self { rule: json!({"operation": operation, "caller": caller.key(), "fault": kind.name()}) }
    }

    /// How long a stall holds, or a throttling answer waits.
    pub fn seconds(mut self, seconds: u64) -> Self {
        self.rule["seconds"] = seconds.into();
        self
    }

    /// A `Retry-After` header on the answer.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.rule["retry_after"] = seconds.into();
        self
    }

    /// From the `nth` call on (1 for the first): the ones before pass.
    pub fn from_nth(mut self, nth: u32) -> Self {
        self.rule["skip"] = nth.saturating_sub(1).into();
        self
    }

    /// At most `times` calls.
    pub fn times(mut self, times: u32) -> Self {
        self.rule["times"] = times.into();
        self
    }

    /// Sets the rule on the proxy.
    pub fn arm(self) -> Fault {
        let base = &stack().faults_url;
        let mut response = ureq::post(format!("{base}/rpdk-faults/rules"))
            .send_json(&self.rule)
            .expect("the fault proxy takes the rule");
        let answer: Value = response.body_mut().read_json().expect("the fault proxy answers JSON");
        Fault { url: format!("{base}/rpdk-faults/rules/{}", answer["id"].as_str().expect("a rule id")) }
    }
}

/// A handler served by the local stack.
pub struct Handler {
    functions: Functions,
    function: String,
    type_name: String,
    credentials: Value,
    type_configuration: Value,
    provider_logging: Option<ProviderLogging>,
}

/// Where a handler is asked to deliver its provider logs, as for a type registered with a
/// `LoggingConfig`, inside a stack.
#[derive(Clone)]
pub struct ProviderLogging {
    /// The stack the requests name.
    pub stack_id: String,
    /// The type's log group.
    pub log_group: String,
}

impl ProviderLogging {
    /// A new stack's requests, logging to a log group of their own.
    pub fn new(stem: &str) -> Self {
        let name = unique(stem);
        Self {
            stack_id: format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{name}/{}", token()),
            log_group: format!("{name}-logs"),
        }
    }

    /// The stream of `logical_id`'s records.
    pub fn stream(&self, logical_id: &str) -> String {
        rpdk::wire::provider_log_stream(Some(&self.stack_id), Some(logical_id), ACCOUNT_ID, REGION)
    }

    /// The messages delivered to the stream of `logical_id`, oldest first (none while the
    /// stream does not exist).
    pub fn delivered(&self, logical_id: &str) -> Vec<String> {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&admin_config());
        tokio::runtime::Runtime::new().expect("runtime").block_on(async {
            let mut messages = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = logs
                    .get_log_events()
                    .log_group_name(&self.log_group)
                    .log_stream_name(self.stream(logical_id))
                    .start_from_head(true)
                    .set_next_token(token.clone())
                    .send()
                    .await;
                let page = match page {
                    Ok(page) => page,
                    Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                        return messages;
                    }
                    Err(error) => panic!("GetLogEvents: {error:?}"),
                };
                if page.events().is_empty() || page.next_forward_token() == token.as_deref() {
                    return messages;
                }
                messages.extend(page.events().iter().filter_map(|e| e.message().map(str::to_owned)));
                token = page.next_forward_token().map(str::to_owned);
            }
        })
    }
}

impl Handler {
    /// The handler binary `function` serving `type_name`, called with the credentials of the
    /// type's role.
    pub fn new(function: &str, type_name: &str) -> Self {
        let base = &stack().lambda_url;
        let credentials = principals()["handlers"][type_name]["credentials"].clone();
        assert!(credentials.is_object(), "the run has no role for {type_name}");
        Self {
            functions: Functions::new(base),
            function: function.to_owned(),
            type_name: type_name.to_owned(),
            credentials,
            type_configuration: Value::Null,
            provider_logging: None,
        }
    }

    /// The same handler, asked to deliver its provider logs and metrics as `logging` says, with
    /// the run's provider role.
    pub fn with_provider_logging(mut self, logging: &ProviderLogging) -> Self {
        self.provider_logging = Some(logging.clone());
        self
    }

    /// The same handler, called with the account's type configuration set to `configuration`.
    pub fn with_type_configuration(mut self, configuration: Value) -> Self {
        self.type_configuration = configuration;
        self
    }

    /// The same handler, called with other credentials.
    pub fn with_credentials(mut self, credentials: Value) -> Self {
        self.credentials = credentials;
        self
    }

    /// The same handler, called with the credentials of a role that may do nothing.
    pub fn without_permissions(self) -> Self {
        self.with_credentials(principals()["denied"].clone())
    }

    /// A registry request as CloudFormation sends it, as JSON (for tests that change it).
    pub fn request(&self, action: &str, token: &str, model: Value, previous: Option<Value>) -> Value {
        serde_json::to_value(self.handler_request(action, token, model, previous)).expect("a request is JSON")
    }

    fn handler_request(&self, action: &str, token: &str, model: Value, previous: Option<Value>) -> HandlerRequest {
        let given = |value: Value| Some(value).filter(|v| !v.is_null());
        let logging = self.provider_logging.as_ref();
        HandlerRequest {
            action: Some(serde_json::from_value(action.into()).unwrap_or_else(|_| panic!("{action} is no action"))),
            aws_account_id: Some(ACCOUNT_ID.to_owned()),
            region: Some(REGION.to_owned()),
            bearer_token: Some(token.to_owned()),
            resource_type: Some(self.type_name.clone()),
            stack_id: logging.map(|l| l.stack_id.clone()),
            request_data: RequestData {
                caller_credentials: serde_json::from_value(self.credentials.clone()).expect("credentials"),
                logical_resource_id: Some("PartnerRole".to_owned()),
                resource_properties: given(model),
                previous_resource_properties: previous.and_then(given),
                type_configuration: given(self.type_configuration.clone()),
                provider_log_group_name: logging.map(|l| l.log_group.clone()),
                provider_credentials: logging.map(|_| {
                    serde_json::from_value(principals()["provider"]["credentials"].clone())
                        .expect("provider credentials")
                }),
                ..RequestData::default()
            },
            ..HandlerRequest::default()
        }
    }

    /// One invocation with `payload` sent as it is, bytes that are no JSON included; answers
    /// what the handler returned, which must be JSON.
    pub fn invoke_bytes(&self, payload: &[u8]) -> Value {
        let text =
            self.functions.invoke_bytes(&self.function, payload).unwrap_or_else(|e| panic!("the handler answers: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("the handler answered no JSON ({e}): {text}"))
    }

    /// One invocation.
    pub fn invoke(&self, payload: &Value) -> Value {
        self.functions.invoke(&self.function, payload).unwrap_or_else(|e| panic!("the handler answers: {e}"))
    }

    /// Invokes, following IN_PROGRESS events as CloudFormation does, and returns the final event.
    pub fn call(&self, action: &str, token: &str, model: Value, previous: Option<Value>) -> Value {
        self.events(action, token, model, previous).pop().expect("at least one event").0
    }

    /// Invokes, following IN_PROGRESS events as CloudFormation does (at most 60 invocations),
    /// and returns every event with how long its invocation took.
    pub fn events(&self, action: &str, token: &str, model: Value, previous: Option<Value>) -> Vec<(Value, Duration)> {
        let operation = Operation::new(self.handler_request(action, token, model, previous), Bound::Invocations(60));
        let mut events = Vec::new();
        let mut record = |answer: &Answer| {
            assert_no_nulls(&answer.event);
            if answer.event["status"] == "IN_PROGRESS" {
                assert!(answer.event.get("errorCode").is_none(), "IN_PROGRESS with an error code: {}", answer.event);
            }
            events.push((answer.event.clone(), answer.took));
            Ok(())
        };
        self.functions
            .follow::<rpdk_local::Error>(&self.function, operation, &mut |_| Ok(()), &mut record)
            .unwrap_or_else(|e| panic!("{e}"));
        events
    }

    /// Every page of an unfiltered LIST, following `nextToken` to the end.
    pub fn list_pages(&self) -> Vec<Vec<Value>> {
        self.list_pages_with(Value::Null)
    }

    /// Every page of a LIST with `input` as its model (e.g. the parent it lists within).
    pub fn list_pages_with(&self, input: Value) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut request = self.request("LIST", &token(), input, None);
        for _ in 0..100 {
            let page = self.invoke(&request);
            assert_eq!(page["status"], "SUCCESS", "{page}");
            pages.push(page["resourceModels"].as_array().expect("LIST always has resourceModels").clone());
            match page.get("nextToken") {
                Some(next) => request["nextToken"] = next.clone(),
                None => return pages,
            }
        }
        panic!("LIST did not end within 100 pages");
    }

    /// The models of every page of an unfiltered LIST.
    pub fn list_all(&self) -> Vec<Value> {
        self.list_pages().into_iter().flatten().collect()
    }

    /// The models of every page of a LIST with `input` as its model.
    pub fn list_all_with(&self, input: Value) -> Vec<Value> {
        self.list_pages_with(input).into_iter().flatten().collect()
    }
}

/// What a caught panic said.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}

/// A fresh client request token.
pub fn token() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("token-{nanos:x}")
}

/// A short suffix that keeps names of one run apart from the previous ones.
pub fn unique(stem: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    format!("{stem}-{nanos:x}")
}

/// The protocol never writes `null`.
pub fn assert_no_nulls(value: &Value) {
    match value {
        Value::Null => panic!("null on the wire"),
        Value::Array(items) => items.iter().for_each(assert_no_nulls),
        Value::Object(map) => map.values().for_each(assert_no_nulls),
        _ => {}
    }
}

/// Asserts that `actual` holds every property of `expected` with the same value, comparing the
/// arrays named in `unordered` as multisets of whole items (extra keys in an item mismatch, as
/// they do for `cfn test`, but nested lists are compared too).
pub fn assert_model(expected: &Value, actual: &Value, unordered: &[&str]) {
    let expected_map = expected.as_object().expect("expected is an object");
    for (key, want) in expected_map {
        let got = actual.get(key).unwrap_or_else(|| panic!("{key} missing from {actual}"));
        if unordered.contains(&key.as_str()) {
            let sorted = |v: &Value| {
                let mut items: Vec<String> = v
                    .as_array()
                    .unwrap_or_else(|| panic!("{key} is not a list"))
                    .iter()
                    .map(Value::to_string)
                    .collect();
                items.sort();
                items
            };
            assert_eq!(sorted(want), sorted(got), "{key} differs (order aside)");
        } else {
            assert_eq!(want, got, "{key} differs");
        }
    }
}
