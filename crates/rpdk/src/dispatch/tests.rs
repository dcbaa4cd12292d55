//! Wire tests: production-shaped and `cfn test`-shaped requests, identifier-only requests and
//! malformed payloads through a small in-memory resource type.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::chain::Wait;
use crate::chain::tests::FakeClock;
use crate::resource::{Empty, ListPage};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Note {
    name: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    secret: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NoteName {
    name: String,
}

#[derive(Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct NoteConfig {
    max_count: Option<i64>,
}

/// Notes become readable `ready_after` after their creation.
struct Notes {
    clock: Arc<FakeClock>,
    ready_after: Duration,
    store: Mutex<BTreeMap<String, (Note, std::time::SystemTime)>>,
}

impl Notes {
    fn new(clock: Arc<FakeClock>, ready_after: Duration) -> Self {
        Self { clock, ready_after, store: Mutex::default() }
    }

    fn get(&self, name: &str) -> Option<(Note, std::time::SystemTime)> {
        self.store.lock().expect("lock").get(name).cloned()
    }
}

impl ResourceHandler for Notes {
    type Model = Note;
    type Identifier = NoteName;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = NoteConfig;

    fn metadata() -> Metadata {
        Metadata {
            write_only: &["/properties/Secret"],
            create_only: &["/properties/Name"],
            ..Metadata::new("Demo", "Note", "A note.", &["/properties/Name"])
        }
    }

    async fn create(&self, req: &Request<Note, NoteConfig>, session: &mut Session<Empty>) -> HandlerResult<Note> {
        let note = req.model.clone();
        if note.name == "panic" {
            panic!("boom");
        }
        if note.name == "stalls-before-checkpoint" {
            std::future::pending::<()>().await;
        }
        if let (Some(max), Some(count)) = (req.type_configuration.max_count, note.count)
            && count > max
        {
            return Err(HandlerError::invalid_request(format!("Count: {count} is above the configured {max}")).into());
        }
        session
            .call("put", || async {
                let mut store = self.store.lock().expect("lock");
                if store.contains_key(&note.name) {
                    return Err(HandlerError::already_exists(&req.type_name, &note.name));
                }
                store.insert(note.name.clone(), (note.clone(), self.clock.now()));
                Ok(())
            })
            .await?;
        session.checkpoint(&note)?;
        if note.name == "stalls-after-checkpoint" {
            std::future::pending::<()>().await;
        }
        session
            .stabilize("ready", Wait::new(Duration::from_secs(5), Duration::from_secs(300)), || async {
                let (_, at) = self.get(&note.name).ok_or_else(|| HandlerError::internal("vanished"))?;
                Ok(self.clock.now().duration_since(at).unwrap_or_default() >= self.ready_after)
            })
            .await?;
        Ok(note)
    }

    async fn read(&self, req: &Request<NoteName, NoteConfig>) -> Result<Note, HandlerError> {
        if req.model.name == "stalls" {
            std::future::pending::<()>().await;
        }
        self.get(&req.model.name)
            .map(|(note, _)| note)
            .ok_or_else(|| HandlerError::not_found(&req.type_name, &req.model.name))
    }

    async fn update(&self, req: &Request<Note, NoteConfig>, _session: &mut Session<Empty>) -> HandlerResult<Note> {
        let mut store = self.store.lock().expect("lock");
        let entry =
            store.get_mut(&req.model.name).ok_or_else(|| HandlerError::not_found(&req.type_name, &req.model.name))?;
        entry.0 = req.model.clone();
        Ok(req.model.clone())
    }

    async fn delete(&self, req: &Request<NoteName, NoteConfig>, _session: &mut Session<Empty>) -> HandlerResult<()> {
        self.store
            .lock()
            .expect("lock")
            .remove(&req.model.name)
            .map(|_| ())
            .ok_or_else(|| HandlerError::not_found(&req.type_name, &req.model.name).into())
    }

    async fn list(&self, _req: &Request<Empty, NoteConfig>) -> Result<ListPage<Note>, HandlerError> {
        let models = self.store.lock().expect("lock").values().map(|(note, _)| note.clone()).collect();
        Ok(ListPage { models, next_token: None })
    }
}

fn dispatcher(ready_after: Duration) -> (Dispatcher<Notes>, Arc<FakeClock>) {
    let clock = FakeClock::new();
    let dispatcher = Dispatcher::new(Notes::new(clock.clone(), ready_after)).expect("schema").with_clock(clock.clone());
    (dispatcher, clock)
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture parses")
}

async fn call(dispatcher: &Dispatcher<Notes>, payload: Value) -> Value {
    let event = dispatcher.handle(payload, None).await;
    serde_json::to_value(event).expect("encodes")
}

fn assert_no_nulls(value: &Value) {
    match value {
        Value::Null => panic!("null on the wire"),
        Value::Array(items) => items.iter().for_each(assert_no_nulls),
        Value::Object(map) => map.values().for_each(assert_no_nulls),
        _ => {}
    }
}

#[tokio::test]
async fn production_request_with_strings_nulls_and_unknown_keys() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let event = call(&dispatcher, fixture(include_str!("../../fixtures/create-production.json"))).await;
    assert_eq!(
        event,
        json!({"status": "SUCCESS", "resourceModel": {"Name": "n1", "Text": "hello", "Count": 3600, "Enabled": true}}),
        "recast primitives, write-only Secret stripped, no nulls, no delay, no error code"
    );
}

#[tokio::test]
async fn cfn_test_request_shape() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let event = call(&dispatcher, fixture(include_str!("../../fixtures/create-cfn-test.json"))).await;
    assert_eq!(event["status"], "SUCCESS");
    assert_eq!(event["resourceModel"]["Count"], 5);
    assert_no_nulls(&event);
}

#[tokio::test]
async fn identifier_only_read_delete_and_model_less_list() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    call(&dispatcher, fixture(include_str!("../../fixtures/create-production.json"))).await;

    let read = call(&dispatcher, fixture(include_str!("../../fixtures/read-identifier-only.json"))).await;
    assert_eq!(read["status"], "SUCCESS");
    assert_eq!(read["resourceModel"]["Text"], "hello");
    assert!(read["resourceModel"].get("Secret").is_none(), "write-only stripped from READ");

    let list = call(&dispatcher, fixture(include_str!("../../fixtures/list-no-model.json"))).await;
    assert_eq!(
        list,
        json!({"status": "SUCCESS", "resourceModels": [{"Name": "n1", "Text": "hello", "Count": 3600, "Enabled": true}]})
    );

    let delete = call(&dispatcher, fixture(include_str!("../../fixtures/delete-identifier-only.json"))).await;
    assert_eq!(delete, json!({"status": "SUCCESS"}), "a successful DELETE carries no model");

    let list = call(&dispatcher, fixture(include_str!("../../fixtures/list-no-model.json"))).await;
    assert_eq!(list, json!({"status": "SUCCESS", "resourceModels": []}), "LIST always writes resourceModels");
}

#[tokio::test]
async fn missing_identifier_is_not_found_for_read_update_and_delete() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    for action in ["READ", "UPDATE", "DELETE"] {
        let event =
            call(&dispatcher, json!({"action": action, "requestData": {"resourceProperties": {"Text": "x"}}})).await;
        assert_eq!(event["status"], "FAILED", "{action}");
        assert_eq!(event["errorCode"], "NotFound", "{action}");
        assert!(event["message"].as_str().is_some_and(|m| m.contains("/properties/Name")), "{event}");
    }
}

#[tokio::test]
async fn required_properties_are_enforced_on_create_and_update_only() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    for action in ["CREATE", "UPDATE"] {
        let event =
            call(&dispatcher, json!({"action": action, "requestData": {"resourceProperties": {"Name": "n"}}})).await;
        assert_eq!(event["errorCode"], "InvalidRequest", "{action}");
        assert_eq!(
            event["message"],
            "requestData.resourceProperties: \"Text\" is a required property (schema rule required)"
        );
    }
}

#[tokio::test]
async fn a_bad_value_is_named_by_its_path() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let event = call(
        &dispatcher,
        json!({"action": "CREATE", "requestData": {"resourceProperties": {"Name": "n", "Text": "t", "Count": "many"}}}),
    )
    .await;
    assert_eq!(event["errorCode"], "InvalidRequest");
    let message = event["message"].as_str().unwrap_or_default();
    assert_eq!(message, "requestData.resourceProperties.Count: value is not of type \"integer\" (schema rule type)");
}

#[tokio::test]
async fn the_desired_model_keeps_the_schema_and_a_broken_rule_is_named_without_its_value() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let create = |properties: Value| json!({"action": "CREATE", "requestData": {"resourceProperties": properties}});
    let event = call(&dispatcher, create(json!({"Name": "n", "Text": "t", "Colour": "red"}))).await;
    assert_eq!(
        event["message"],
        "requestData.resourceProperties: Additional properties are not allowed ('Colour' was unexpected) (schema rule additionalProperties)"
    );
    let event = call(&dispatcher, create(json!({"Name": "n", "Text": "t", "Secret": "x".repeat(65)}))).await;
    assert_eq!(
        event["message"],
        "requestData.resourceProperties.Secret: value is longer than 64 characters (schema rule maxLength)"
    );
    let event =
        call(&dispatcher, create(json!({"Name": "n", "Text": "t", "Secret": "x".repeat(65), "Colour": "red"}))).await;
    assert!(
        event["message"].as_str().is_some_and(|m| m.contains("Colour") && m.contains("Secret") && m.contains("; ")),
        "every fault: {event}"
    );
    let event = call(&dispatcher, create(json!({"Name": "n", "Text": "t", "Count": null}))).await;
    assert_eq!(event["status"], "SUCCESS", "a null is an absent property: {event}");
}

#[tokio::test]
async fn only_the_first_invocation_of_a_create_or_update_is_validated() {
    let (dispatcher, _) = dispatcher(Duration::from_secs(600));
    let create = json!({"action": "CREATE", "requestData": {"resourceProperties": {"Name": "later", "Text": "t"}}});
    let first = call(&dispatcher, create.clone()).await;
    let mut again = create;
    again["callbackContext"] = first["callbackContext"].clone();
    again["requestData"]["resourceProperties"] = json!({"Name": "later", "Text": "t", "Internal": "the handler's own"});
    let event = call(&dispatcher, again).await;
    assert_ne!(event["errorCode"], "InvalidRequest", "a re-invocation's model is the handler's own: {event}");
    let event = call(
        &dispatcher,
        json!({"action": "READ", "requestData": {"resourceProperties": {"Name": "later", "Stale": 1}}}),
    )
    .await;
    assert_eq!(event["status"], "SUCCESS", "READ stays lenient: {event}");
}

#[tokio::test]
async fn malformed_payloads_are_failed_events() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let cases = [
        (json!("not an object"), "the payload is a JSON string, not an object"),
        (json!({"requestData": {}}), "action: missing"),
        (json!({"action": "PATCH"}), "action: unknown variant `PATCH`"),
        (json!({"action": "CREATE", "requestData": "x"}), "requestData: invalid type"),
        (
            json!({"action": "CREATE", "requestData": {"callerCredentials": {"accessKeyId": 7}}}),
            "requestData.callerCredentials.accessKeyId: invalid type",
        ),
    ];
    for (payload, expected) in cases {
        let event = call(&dispatcher, payload.clone()).await;
        assert_eq!(event["status"], "FAILED", "{payload}");
        assert_eq!(event["errorCode"], "InvalidRequest", "{payload}");
        let message = event["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(expected), "{payload}: {message}");
    }
}

#[tokio::test]
async fn a_panic_is_an_internal_failure() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let event = call(
        &dispatcher,
        json!({"action": "CREATE", "requestData": {"resourceProperties": {"Name": "panic", "Text": "t"}}}),
    )
    .await;
    assert_eq!(event["status"], "FAILED");
    assert_eq!(event["errorCode"], "InternalFailure");
}

#[tokio::test]
async fn an_invalid_type_configuration_is_named() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let event = call(
        &dispatcher,
        json!({"action": "CREATE", "requestData": {"typeConfiguration": {"MaxCount": "lots"}, "resourceProperties": {"Name": "n", "Text": "t"}}}),
    )
    .await;
    assert_eq!(event["errorCode"], "InvalidTypeConfiguration");
    assert!(event["message"].as_str().is_some_and(|m| m.starts_with("typeConfiguration.MaxCount:")), "{event}");

    let event = call(
        &dispatcher,
        json!({"action": "CREATE", "requestData": {"typeConfiguration": {"MaxCount": "3"}, "resourceProperties": {"Name": "n", "Text": "t", "Count": 4}}}),
    )
    .await;
    assert_eq!(event["message"], "Count: 4 is above the configured 3", "the configuration reaches the handler, recast");
}

#[tokio::test]
async fn in_progress_carries_context_delay_and_the_unstripped_model_then_resumes() {
    let (dispatcher, clock) = dispatcher(Duration::from_secs(600));
    let create = json!({"action": "CREATE", "bearerToken": "t", "requestData": {"resourceProperties": {"Name": "slow", "Text": "t", "Secret": "s"}}});
    let first = call(&dispatcher, create.clone()).await;
    assert_eq!(first["status"], "IN_PROGRESS");
    assert!(first.get("errorCode").is_none());
    assert_eq!(first["callbackDelaySeconds"], 5);
    assert_eq!(first["resourceModel"]["Secret"], "s", "IN_PROGRESS keeps write-only properties for the next call");
    assert!(
        first["callbackContext"]["steps"].as_object().is_some_and(|s| s.contains_key("put")),
        "the finished step is recorded"
    );

    clock.advance(Duration::from_secs(600));
    let mut again = create;
    again["callbackContext"] = first["callbackContext"].clone();
    again["requestData"]["resourceProperties"] = first["resourceModel"].clone();
    let second = call(&dispatcher, again).await;
    assert_eq!(
        second,
        json!({"status": "SUCCESS", "resourceModel": {"Name": "slow", "Text": "t"}}),
        "the put step was not repeated (it would fail AlreadyExists)"
    );
}

#[tokio::test]
async fn a_handler_still_running_at_the_deadline_is_stopped_and_answered_for() {
    let (dispatcher, clock) = dispatcher(Duration::ZERO);
    let lambda_deadline = || Some(clock.now() + SAFETY_MARGIN + crate::MIN_CALL_TIME + Duration::from_millis(200));
    let stopped = async |action: &str, name: &str| {
        let payload = json!({"action": action, "bearerToken": "t", "requestData": {"resourceProperties": {"Name": name, "Text": "t", "Secret": "s"}}});
        let answered = tokio::time::timeout(Duration::from_secs(30), dispatcher.handle(payload, lambda_deadline()));
        serde_json::to_value(answered.await.expect("answered at the deadline")).expect("encodes")
    };

    let read = stopped("READ", "stalls").await;
    assert_eq!(read["status"], "FAILED");
    assert_eq!(read["errorCode"], "NetworkFailure", "nothing was noted: a call that did not answer");
    assert!(read["message"].as_str().is_some_and(|m| m.starts_with("time ran out")), "{read}");

    let early = stopped("CREATE", "stalls-before-checkpoint").await;
    assert_eq!(
        (early["status"].as_str(), early["errorCode"].as_str()),
        (Some("FAILED"), Some("NetworkFailure")),
        "nothing to resume from: {early}"
    );

    let late = stopped("CREATE", "stalls-after-checkpoint").await;
    assert_eq!(late["status"], "IN_PROGRESS", "{late}");
    assert_eq!(late["callbackDelaySeconds"], 1);
    assert_eq!(late["resourceModel"]["Name"], "stalls-after-checkpoint");
    assert!(
        late["callbackContext"]["steps"].as_object().is_some_and(|s| s.contains_key("put")),
        "the step finished before the stop is recorded: {late}"
    );
}

#[tokio::test]
async fn a_failure_after_the_checkpoint_carries_the_stripped_model() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let create =
        json!({"action": "CREATE", "requestData": {"resourceProperties": {"Name": "dup", "Text": "t", "Secret": "s"}}});
    call(&dispatcher, create.clone()).await;
    let event = call(&dispatcher, create).await;
    assert_eq!(
        event,
        json!({"status": "FAILED", "errorCode": "AlreadyExists", "message": "Resource of type 'Rpdk::Demo::Note' with identifier 'dup' already exists."})
    );
}

#[tokio::test]
async fn an_update_of_a_missing_resource_is_not_found() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let event = call(&dispatcher, json!({"action": "UPDATE", "resourceType": "Rpdk::Demo::Note", "requestData": {"resourceProperties": {"Name": "ghost", "Text": "t"}}})).await;
    assert_eq!(event["errorCode"], "NotFound");
    assert_eq!(event["message"], "Resource of type 'Rpdk::Demo::Note' with identifier 'ghost' was not found.");
}

#[test]
fn the_partition_reaches_the_request() {
    let request = decode_request(include_bytes!("../../fixtures/create-production.json")).expect("decodes");
    let request = bare_envelope(request, Action::Create).into_request((), None);
    assert_eq!(request.partition, Partition::AwsUsGov);
    assert_eq!(request.logical_resource_id.as_deref(), Some("MyNote"));
    assert_eq!(request.stack_tags.get("team").map(String::as_str), Some("core"));
    assert_eq!(request.client_request_token, "0f1d5c2e-8f0e-4b9a-9d41-0c0c9e1c7a11");
    let shown = format!("{request:?}");
    assert!(!shown.contains("fixture-secret") && !shown.contains("AKIAFIXTURE"), "{shown}");
}

/// The envelope of `request` alone: no type name, configuration or tags.
fn bare_envelope(request: HandlerRequest<&RawValue>, action: Action) -> Envelope<'_, ()> {
    Envelope {
        request,
        action,
        type_name: String::new(),
        type_configuration: (),
        desired_tags: BTreeMap::new(),
        previous_tags: BTreeMap::new(),
        deadline: Deadline::after(Duration::from_secs(60)),
    }
}

#[tokio::test]
async fn an_empty_context_is_a_first_invocation() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    let create = json!({"action": "CREATE", "callbackContext": {}, "requestData": {"resourceProperties": {"Name": "fresh", "Text": "t"}}});
    let event = call(&dispatcher, create).await;
    assert_eq!(event, json!({"status": "SUCCESS", "resourceModel": {"Name": "fresh", "Text": "t"}}));
}

#[tokio::test]
async fn a_failure_on_a_re_invocation_carries_the_model_cloudformation_holds_without_secrets_or_nulls() {
    let (dispatcher, _) = dispatcher(Duration::from_secs(600));
    let create = json!({"action": "CREATE", "requestData": {"resourceProperties": {"Name": "held", "Text": "t", "Count": 5, "Secret": "s"}}});
    let first = call(&dispatcher, create.clone()).await;
    assert_eq!(first["status"], "IN_PROGRESS");
    let mut again = create;
    again["callbackContext"] = first["callbackContext"].clone();
    again["requestData"]["resourceProperties"] = first["resourceModel"].clone();
    again["requestData"]["resourceProperties"]["Enabled"] = Value::Null;
    // The account's configuration changed between the two calls: the handler fails before it
    // records a checkpoint of its own.
    again["requestData"]["typeConfiguration"] = json!({"MaxCount": 1});
    let event = call(&dispatcher, again).await;
    assert_eq!(
        event,
        json!({"status": "FAILED", "errorCode": "InvalidRequest", "message": "Count: 5 is above the configured 1",
               "resourceModel": {"Name": "held", "Text": "t", "Count": 5}}),
        "the model names what was made, so a rollback can delete it"
    );
}

#[tokio::test]
async fn a_changed_create_only_property_is_not_updatable_but_an_added_or_dropped_one_is_no_change() {
    let (dispatcher, _) = dispatcher(Duration::ZERO);
    call(&dispatcher, json!({"action": "CREATE", "requestData": {"resourceProperties": {"Name": "a", "Text": "t"}}}))
        .await;
    let update = |previous: Value| json!({"action": "UPDATE", "resourceType": "Rpdk::Demo::Note", "requestData": {"resourceProperties": {"Name": "a", "Text": "new"}, "previousResourceProperties": previous}});
    let event = call(&dispatcher, update(json!({"Name": "b", "Text": "t"}))).await;
    assert_eq!(event["errorCode"], "NotUpdatable", "{event}");
    assert!(event["message"].as_str().is_some_and(|m| m.starts_with("Name is create-only")), "{event}");
    let event = call(&dispatcher, update(json!({"Name": "a", "Text": "t"}))).await;
    assert_eq!(event["status"], "SUCCESS", "{event}");
    assert!(
        dispatcher.refuse_create_only_changes(&json!({"Text": "t"}), &json!({"Name": "a", "Text": "t"})).is_ok(),
        "the service adds the identifier to the desired model"
    );
    assert!(
        dispatcher.refuse_create_only_changes(&json!({"Name": "a"}), &json!({"Text": "t"})).is_ok(),
        "nor is a dropped one"
    );
}

#[test]
fn list_paging_fields_and_the_java_request_fields_reach_the_request() {
    let payload = json!({"action": "LIST", "nextToken": "", "maxResults": 3, "snapshotRequested": true, "rollback": "true",
                         "driftable": false, "resourceTypeVersion": "00000002", "features": {"SyntheticTags": true}});
    let payload = serde_json::to_vec(&payload).expect("encodes");
    let request = decode_request(&payload).expect("decodes");
    let request = bare_envelope(request, Action::List).into_request((), None);
    assert_eq!(request.next_token, None, "an empty token is no token");
    assert_eq!(request.max_results, Some(3));
    assert_eq!(request.page_size(20), 3);
    assert_eq!(request.page_size(2), 2);
    assert!(request.snapshot_requested && request.rollback && !request.driftable);
    assert_eq!(request.resource_type_version.as_deref(), Some("00000002"));
    assert_eq!(request.features.get("SyntheticTags"), Some(&json!(true)));
}

#[test]
fn the_resource_tags_are_the_stack_tags_overlaid_by_its_own() {
    let stack = BTreeMap::from([("team".to_owned(), "stack".to_owned()), ("env".to_owned(), "prod".to_owned())]);
    let listed = json!({"Tags": [{"Key": "team", "Value": "own"}, {"Key": "cost", "Value": 7}]});
    let desired = merged(&stack, tags_at(&listed, "/Tags"));
    assert_eq!(
        desired,
        BTreeMap::from([("cost".into(), "7".into()), ("env".into(), "prod".into()), ("team".into(), "own".into())])
    );
    let mapped = json!({"Tags": {"team": "own", "gone": null}});
    assert_eq!(tags_at(&mapped, "/Tags"), BTreeMap::from([("team".into(), "own".into())]));
    assert_eq!(merged(&stack, tags_at(&json!({}), "/Tags")), stack, "without tags of its own, the stack's");
}
