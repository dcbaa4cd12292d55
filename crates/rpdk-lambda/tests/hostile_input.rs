//! Generated hostile input through the one entry every payload takes (`Types::serve`): arbitrary
//! bytes, arbitrary JSON, and production-shaped registry, hook and custom resource requests with
//! values swapped for arbitrary ones at arbitrary places (stringified scalars, callback contexts,
//! models included). Whatever arrives, the function answers in the protocol it was asked in and
//! never panics; the decoders' faults are `InvalidRequest`, never the `InternalFailure` a caught
//! panic becomes. `RPDK_PROPERTY_CASES` sets the cases per property (512 by default).

use std::io::{Read, Write};
use std::net::TcpListener;

use proptest::prelude::*;
use rpdk::hook::{HookHandler, HookHandlerSpec, HookMetadata, HookRequest, HookResult, Verdict};
use rpdk::{Empty, HandlerError, HandlerResult, Interrupt, ListPage, Metadata, Request, ResourceHandler, Session};
use rpdk_lambda::Types;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Note {
    name: String,
    text: String,
    count: Option<i64>,
    enabled: Option<bool>,
    tags: Option<Vec<Tag>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NoteName {
    name: String,
}

/// Carried between invocations: a context the request may send back altered.
#[derive(Default, Serialize, Deserialize)]
struct Progress {
    step: u32,
    seen: Vec<String>,
}

/// Answers from its input alone, in two steps for CREATE: only the framework is under test.
struct Notes;

impl ResourceHandler for Notes {
    type Model = Note;
    type Identifier = NoteName;
    type ListInput = Empty;
    type Context = Progress;
    type TypeConfiguration = Empty;

    fn metadata() -> Metadata {
        Metadata::new("Demo", "Note", "A note.", &["/properties/Name"])
    }

    async fn create(&self, req: &Request<Note, Empty>, session: &mut Session<Progress>) -> HandlerResult<Note> {
        if session.state().step == 0 {
            session.state_mut().step = 1;
            // CloudFormation learns the identifier before it waits.
            session.checkpoint(&req.model)?;
            return Err(Interrupt::InProgress { delay: std::time::Duration::ZERO });
        }
        Ok(req.model.clone())
    }

    async fn read(&self, req: &Request<NoteName, Empty>) -> Result<Note, HandlerError> {
        Ok(Note { name: req.model.name.clone(), text: String::new(), count: None, enabled: None, tags: None })
    }

    async fn update(&self, req: &Request<Note, Empty>, _: &mut Session<Progress>) -> HandlerResult<Note> {
        Ok(req.model.clone())
    }

    async fn delete(&self, _: &Request<NoteName, Empty>, _: &mut Session<Progress>) -> HandlerResult<()> {
        Ok(())
    }

    async fn list(&self, _: &Request<Empty, Empty>) -> Result<ListPage<Note>, HandlerError> {
        Ok(ListPage { models: Vec::new(), next_token: Some("page-2".to_owned()) })
    }
}

#[derive(Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Rules {
    required: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Queue {
    sqs_managed_sse_enabled: Option<bool>,
}

/// A hook with a typed configuration and a typed view of its target.
struct Encrypted;

impl HookHandler for Encrypted {
    type Configuration = Rules;
    type Context = Progress;

    fn metadata() -> HookMetadata {
        HookMetadata {
            service: "Demo",
            hook: "Encrypted",
            description: "Queues are encrypted",
            source_url: None,
            documentation_url: None,
            pre_create: Some(HookHandlerSpec { target_names: &["AWS::SQS::Queue", "STACK"], permissions: &[] }),
            pre_update: None,
            pre_delete: None,
        }
    }

    async fn pre_create(&self, req: &HookRequest<Rules>, _: &mut Progress) -> HookResult {
        req.template()?;
        let queue: Queue = req.properties()?;
        Ok(if queue.sqs_managed_sse_enabled == Some(true) {
            Verdict::compliant()
        } else {
            Verdict::non_compliant("SqsManagedSseEnabled: not true")
        })
    }
}

fn types() -> Types {
    Types::new().with(Notes).expect("the type").with_hook(Encrypted).expect("the hook")
}

fn cases() -> u32 {
    std::env::var("RPDK_PROPERTY_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
}

/// Any JSON value, nested a few levels, with the protocol's key names among the keys so objects
/// reach past the first checks.
fn any_json() -> impl Strategy<Value = Value> {
    let keys = prop_oneof![
        Just("action".to_owned()),
        Just("requestData".to_owned()),
        Just("resourceProperties".to_owned()),
        Just("callbackContext".to_owned()),
        Just("actionInvocationPoint".to_owned()),
        Just("RequestType".to_owned()),
        "[A-Za-z]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::from),
        prop_oneof![Just("CREATE"), Just("true"), Just("3600"), Just("STACK"), Just("Create")].prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Paths never swapped: what would send the function to the network (provider delivery, a
/// payload document, a response URL), which is not what these properties are about.
const KEPT: &[&str] = &["providerCredentials", "payload", "ResponseURL"];

/// `request` with the values at the places `picks` choose replaced by `values`.
fn mutated(mut request: Value, picks: &[(u32, Value)]) -> Value {
    for (pick, value) in picks {
        let mut places = Vec::new();
        collect_places(&request, String::new(), &mut places);
        if places.is_empty() {
            break;
        }
        let place = &places[*pick as usize % places.len()];
        if let Some(slot) = request.pointer_mut(place) {
            *slot = value.clone();
        }
    }
    request
}

fn collect_places(value: &Value, at: String, places: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter().filter(|(key, _)| !KEPT.contains(&key.as_str())) {
                let path = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                places.push(path.clone());
                collect_places(item, path, places);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let path = format!("{at}/{index}");
                places.push(path.clone());
                collect_places(item, path, places);
            }
        }
        _ => {}
    }
}

fn registry_request() -> Value {
    let mut request: Value =
        serde_json::from_str(include_str!("../../rpdk/fixtures/create-production.json")).expect("the fixture");
    request["resourceType"] = json!("Rpdk::Demo::Note");
    request["requestData"]["resourceProperties"] = json!({"Name": "n1", "Text": "hello", "Count": "3600", "Enabled": "true", "Tags": [{"Key": "a", "Value": "b"}]});
    request["callbackContext"] = json!({"step": 1, "seen": ["x"]});
    request
}

fn hook_request() -> Value {
    json!({
        "clientRequestToken": "3b3f6bb9-0000-4000-8000-000000000003",
        "awsAccountId": "123456789012",
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "hookTypeName": "Rpdk::Demo::Encrypted",
        "hookModel": {"Required": "true"},
        "actionInvocationPoint": "CREATE_PRE_PROVISION",
        "requestData": {
            "targetName": "AWS::SQS::Queue",
            "targetType": "RESOURCE",
            "targetLogicalId": "Queue",
            "targetModel": {"resourceProperties": {"SqsManagedSseEnabled": "true"}, "Template": "Resources: {}"},
            "callerCredentials": "{\"accessKeyId\": \"a\", \"secretAccessKey\": \"s\", \"sessionToken\": \"t\"}",
        },
        "requestContext": {"invocation": 1, "callbackContext": "{\"step\": 0, \"seen\": []}"},
    })
}

/// A loopback endpoint that takes every custom resource response PUT to it, one for the run.
fn responder() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(start_responder).clone()
}

fn start_responder() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}/response", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 65536];
            // The whole request fits: the response is at most 4 KiB.
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    url
}

fn custom_request(response_url: &str) -> Value {
    json!({
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:notes",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "ResourceType": "Custom::Note",
        "LogicalResourceId": "Note",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:notes", "Name": "n1", "Text": "t", "Count": "3"},
    })
}

/// What a registry caller must get back: a progress event whose failure is named.
fn assert_registry_answer(answer: &Value) -> Result<(), TestCaseError> {
    let status = answer["status"].as_str().unwrap_or_default();
    prop_assert!(["SUCCESS", "FAILED", "IN_PROGRESS"].contains(&status), "not a progress event: {answer}");
    if status == "FAILED" {
        prop_assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "unnamed failure: {answer}");
        prop_assert_ne!(&answer["errorCode"], "InternalFailure", "a panic: {}", answer);
    }
    Ok(())
}

fn assert_hook_answer(answer: &Value) -> Result<(), TestCaseError> {
    let status = answer["hookStatus"].as_str().unwrap_or_default();
    prop_assert!(["SUCCESS", "FAILED", "IN_PROGRESS"].contains(&status), "not a hook event: {answer}");
    if status == "FAILED" {
        prop_assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "unnamed failure: {answer}");
        prop_assert_ne!(&answer["errorCode"], "InternalFailure", "a panic: {}", answer);
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_get_a_progress_event(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let answer = runtime().block_on(types().serve(&bytes, None));
        let answer = answer.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
        prop_assert!(answer.get("status").is_some() || answer.get("hookStatus").is_some(), "{answer}");
    }

    #[test]
    fn any_json_gets_an_answer_in_its_protocol(mut payload in any_json()) {
        // A custom resource request names where its answer goes: none here can be delivered.
        if let Some(object) = payload.as_object_mut() {
            object.remove("RequestType");
        }
        let bytes = serde_json::to_vec(&payload).expect("JSON");
        let answer = runtime().block_on(types().serve(&bytes, None)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if payload.get("actionInvocationPoint").is_some() {
            assert_hook_answer(&answer)?;
        } else {
            assert_registry_answer(&answer)?;
        }
    }

    #[test]
    fn a_registry_request_with_swapped_values_gets_a_progress_event(
        picks in prop::collection::vec((any::<u32>(), any_json()), 1..4),
    ) {
        let request = mutated(registry_request(), &picks);
        let bytes = serde_json::to_vec(&request).expect("JSON");
        let answer = runtime().block_on(types().serve(&bytes, None)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        assert_registry_answer(&answer)?;
    }

    #[test]
    fn a_hook_request_with_swapped_values_gets_a_hook_event(
        picks in prop::collection::vec((any::<u32>(), any_json()), 1..4),
    ) {
        let request = mutated(hook_request(), &picks);
        prop_assume!(request.get("actionInvocationPoint").is_some());
        let bytes = serde_json::to_vec(&request).expect("JSON");
        let answer = runtime().block_on(types().serve(&bytes, None)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        assert_hook_answer(&answer)?;
    }

    #[test]
    fn a_custom_resource_request_with_swapped_values_is_answered_at_its_url(
        picks in prop::collection::vec((any::<u32>(), any_json()), 1..4),
    ) {
        let request = mutated(custom_request(&responder()), &picks);
        prop_assume!(request.get("RequestType").is_some() && request.get("actionInvocationPoint").is_none());
        let bytes = serde_json::to_vec(&request).expect("JSON");
        let answer = runtime().block_on(types().serve(&bytes, None));
        match answer {
            Ok(response) => {
                let status = response["Status"].as_str().unwrap_or_default();
                prop_assert!(["SUCCESS", "FAILED"].contains(&status), "{response}");
                if status == "FAILED" {
                    prop_assert!(response["Reason"].as_str().is_some_and(|r| !r.is_empty()), "{response}");
                }
            }
            // Only a request that names no URL to answer at goes unanswered.
            Err(error) => prop_assert!(error.to_string().contains("ResponseURL"), "{error}"),
        }
    }
}
