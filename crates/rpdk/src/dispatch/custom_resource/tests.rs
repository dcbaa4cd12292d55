//! The custom resource mapping through a small in-memory type with a composite identifier,
//! a read-only report of chosen size, a write-only secret and a settable readiness delay, on a
//! fake clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;

use super::*;
use crate::chain::tests::FakeClock;
use crate::chain::{HandlerResult, Session, Wait};
use crate::deadline::Clock;
use crate::error::HandlerError;
use crate::resource::{Empty, ListPage, Metadata, Request};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Door {
    site: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    label: String,
    /// Seconds until the door is ready.
    #[serde(default)]
    ready_after: u64,
    /// Bytes of the read-only report.
    #[serde(default)]
    report_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opened: Option<Opened>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Opened {
    by: String,
    count: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DoorKey {
    site: String,
    id: String,
}

/// Doors by `(site, id)`, each with the time it becomes ready.
struct Doors {
    clock: Arc<FakeClock>,
    store: Mutex<BTreeMap<(String, String), (Door, SystemTime)>>,
    requests: Mutex<Vec<(String, String)>>,
}

impl ResourceHandler for Doors {
    type Model = Door;
    type Identifier = DoorKey;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> Metadata {
        Metadata {
            read_only: &[
                "/properties/Id",
                "/properties/Report",
                "/properties/Opened",
                "/properties/Opened/By",
                "/properties/Opened/Count",
            ],
            write_only: &["/properties/Secret"],
            create_only: &["/properties/Site"],
            ..Metadata::new("Demo", "Door", "A door.", &["/properties/Site", "/properties/Id"])
        }
    }

    async fn create(&self, req: &Request<Door, Empty>, session: &mut Session<Empty>) -> HandlerResult<Door> {
        self.record(req);
        let mut door = req.model.clone();
        if door.label.is_empty() {
            return Err(HandlerError::invalid_request("Label: must not be empty").into());
        }
        let id = session
            .call("put", || async {
                let mut store = self.store.lock().expect("lock");
                let id = format!("d{}", store.len() + 1);
                let mut made = door.clone();
                made.id = Some(id.clone());
                made.report = Some("r".repeat(door.report_size));
                made.opened = Some(Opened { by: "tester".into(), count: 1 });
                store.insert(
                    (door.site.clone(), id.clone()),
                    (made, self.clock.now() + Duration::from_secs(door.ready_after)),
                );
                Ok(id)
            })
            .await?;
        door.id = Some(id.clone());
        session.checkpoint(&door)?;
        let key = (door.site.clone(), id);
        session
            .stabilize("ready", Wait::new(Duration::from_secs(10), Duration::from_secs(3600)), || async {
                let ready = self
                    .store
                    .lock()
                    .expect("lock")
                    .get(&key)
                    .map(|(_, at)| *at)
                    .ok_or_else(|| HandlerError::internal("vanished"))?;
                Ok(self.clock.now() >= ready)
            })
            .await?;
        Ok(self.get(&key).expect("made"))
    }

    async fn read(&self, req: &Request<DoorKey, Empty>) -> Result<Door, HandlerError> {
        let key = (req.model.site.clone(), req.model.id.clone());
        self.get(&key).ok_or_else(|| HandlerError::not_found(&req.type_name, &req.model.id))
    }

    async fn update(&self, req: &Request<Door, Empty>, _session: &mut Session<Empty>) -> HandlerResult<Door> {
        self.record(req);
        let id = req.model.id.clone().ok_or_else(|| HandlerError::invalid_request("Id: missing"))?;
        let mut store = self.store.lock().expect("lock");
        let entry = store
            .get_mut(&(req.model.site.clone(), id.clone()))
            .ok_or_else(|| HandlerError::not_found(&req.type_name, &id))?;
        entry.0.label = req.model.label.clone();
        Ok(entry.0.clone())
    }

    async fn delete(&self, req: &Request<DoorKey, Empty>, _session: &mut Session<Empty>) -> HandlerResult<()> {
        let key = (req.model.site.clone(), req.model.id.clone());
        self.store
            .lock()
            .expect("lock")
            .remove(&key)
            .map(|_| ())
            .ok_or_else(|| HandlerError::not_found(&req.type_name, &req.model.id).into())
    }

    async fn list(&self, _req: &Request<Empty, Empty>) -> Result<ListPage<Door>, HandlerError> {
        Ok(ListPage { models: Vec::new(), next_token: None })
    }
}

impl Doors {
    fn get(&self, key: &(String, String)) -> Option<Door> {
        self.store.lock().expect("lock").get(key).map(|(door, _)| door.clone())
    }

    /// What each create and update saw: its client request token and its region.
    fn record<M>(&self, req: &Request<M, Empty>) {
        self.requests.lock().expect("lock").push((req.client_request_token.clone(), req.region.clone()));
    }
}

fn dispatcher() -> (Dispatcher<Doors>, Arc<FakeClock>) {
    let clock = FakeClock::new();
    let doors = Doors { clock: clock.clone(), store: Mutex::default(), requests: Mutex::default() };
    (Dispatcher::new(doors).expect("schema").with_clock(clock.clone()), clock)
}

const STACK: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/0a1b";

fn request(kind: &str, physical_id: Option<&str>, properties: Value, old: Option<Value>) -> CustomResourceRequest {
    let mut raw = json!({
        "RequestType": kind,
        "ResponseURL": "https://example.invalid/response",
        "StackId": STACK,
        "RequestId": format!("req-{kind}"),
        "ResourceType": "Custom::Door",
        "LogicalResourceId": "Front",
        "ResourceProperties": properties,
    });
    if let Some(id) = physical_id {
        raw["PhysicalResourceId"] = id.into();
    }
    if let Some(old) = old {
        raw["OldResourceProperties"] = old;
    }
    serde_json::from_value(raw).expect("a request")
}

fn context() -> CustomResourceContext {
    CustomResourceContext { deadline: None, ..CustomResourceContext::default() }
}

async fn answer(dispatcher: &Dispatcher<Doors>, request: &CustomResourceRequest) -> Value {
    let response = dispatcher.handle_custom_resource(request, &context()).await;
    let body = response.body();
    assert!(body.len() <= RESPONSE_LIMIT, "{} bytes", body.len());
    serde_json::from_str(&body).expect("JSON")
}

#[tokio::test]
async fn create_answers_the_encoded_identifier_the_read_only_data_and_no_echo() {
    let (dispatcher, _) = dispatcher();
    let properties = json!({"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:doors", "Site": "north|50%", "Label": "front", "ReadyAfter": "0", "ReportSize": "3", "Secret": "s"});
    let response = answer(&dispatcher, &request("Create", None, properties, None)).await;
    assert_eq!(
        response,
        json!({
            "Status": "SUCCESS",
            "PhysicalResourceId": "north%7C50%25|d1",
            "StackId": STACK,
            "RequestId": "req-Create",
            "LogicalResourceId": "Front",
            "NoEcho": true,
            "Data": {"Id": "d1", "Report": "rrr", "Opened.By": "tester", "Opened.Count": 1}
        })
    );
    let (token, region) = dispatcher.handler.requests.lock().expect("lock")[0].clone();
    assert_eq!(
        (token.as_str(), region.as_str()),
        ("req-Create", "eu-west-1"),
        "RequestId is the token; the stack names the region"
    );
}

#[tokio::test]
async fn in_progress_is_driven_in_process_until_success() {
    let (dispatcher, clock) = dispatcher();
    let started = clock.now();
    let properties = json!({"Site": "s", "Label": "l", "ReadyAfter": 200});
    let context = CustomResourceContext { call_limit: Some(Duration::from_secs(30)), ..context() };
    let response = dispatcher.handle_custom_resource(&request("Create", None, properties, None), &context).await;
    assert_eq!(response.status, CustomResourceStatus::Success, "{response:?}");
    assert_eq!(response.physical_resource_id, "s|d1");
    assert!(clock.now().duration_since(started).expect("forward") >= Duration::from_secs(200));
    assert_eq!(dispatcher.handler.store.lock().expect("lock").len(), 1, "the resumed calls replayed the create step");
}

#[tokio::test]
async fn out_of_time_after_the_identifier_is_known_fails_with_it_and_the_rollback_deletes() {
    let (dispatcher, _) = dispatcher();
    let properties = json!({"Site": "s", "Label": "l", "ReadyAfter": 5000, "ServiceTimeout": "120"});
    let response =
        dispatcher.handle_custom_resource(&request("Create", None, properties.clone(), None), &context()).await;
    assert_eq!(response.status, CustomResourceStatus::Failed);
    assert_eq!(response.physical_resource_id, "s|d1", "the rollback's Delete must reach the resource");
    let reason = response.reason.expect("a reason");
    assert!(reason.contains("did not finish within the 115 s") && reason.contains("rollback deletes it"), "{reason}");

    let rollback = answer(&dispatcher, &request("Delete", Some("s|d1"), properties, None)).await;
    assert_eq!(rollback["Status"], "SUCCESS", "{rollback}");
    assert!(dispatcher.handler.store.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn the_function_deadline_bounds_the_time_too() {
    let (dispatcher, clock) = dispatcher();
    let context = CustomResourceContext { deadline: Some(clock.now() + Duration::from_secs(60)), ..context() };
    let properties = json!({"Site": "s", "Label": "l", "ReadyAfter": 5000});
    let response = dispatcher.handle_custom_resource(&request("Create", None, properties, None), &context).await;
    assert!(response.reason.as_deref().is_some_and(|r| r.contains("within the 55 s")), "{response:?}");
}

#[tokio::test]
async fn a_create_failing_before_the_identifier_invents_an_id_whose_delete_succeeds() {
    let (dispatcher, _) = dispatcher();
    let properties = json!({"Site": "s", "Label": ""});
    let response = answer(&dispatcher, &request("Create", None, properties.clone(), None)).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["Reason"], "InvalidRequest: Label: must not be empty");
    assert_eq!(response["PhysicalResourceId"], format!("{INVENTED_ID_PREFIX}req-Create"));
    assert!(response.get("Data").is_none());

    let rollback =
        answer(&dispatcher, &request("Delete", Some(&format!("{INVENTED_ID_PREFIX}req-Create")), properties, None))
            .await;
    assert_eq!(rollback["Status"], "SUCCESS");
    assert_eq!(rollback["PhysicalResourceId"], format!("{INVENTED_ID_PREFIX}req-Create"));
}

#[tokio::test]
async fn bad_input_is_a_failure_naming_the_field() {
    let (dispatcher, _) = dispatcher();
    let response =
        answer(&dispatcher, &request("Create", None, json!({"Site": "s", "Label": "l", "ReadyAfter": "soon"}), None))
            .await;
    assert_eq!(response["Status"], "FAILED");
    assert!(
        response["Reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("InvalidRequest: requestData.resourceProperties.ReadyAfter")),
        "{response}"
    );
    let response =
        answer(&dispatcher, &request("Create", None, json!({"Site": "s", "Label": "l", "ServiceTimeout": "0"}), None))
            .await;
    assert_eq!(response["Reason"], "ServiceTimeout: \"0\" is not a number of seconds from 1 to 3600");
    let response = answer(
        &dispatcher,
        &request(
            "Update",
            Some("only-one-part"),
            json!({"Site": "s", "Label": "l"}),
            Some(json!({"Site": "s", "Label": "l"})),
        ),
    )
    .await;
    assert_eq!(response["Reason"], "PhysicalResourceId: 'only-one-part' is not an identifier of this type (Site|Id)");
    assert_eq!(response["PhysicalResourceId"], "only-one-part", "a failed update keeps the id");
}

#[tokio::test]
async fn update_in_place_keeps_the_id_and_replacement_makes_a_new_one() {
    let (dispatcher, _) = dispatcher();
    let old = json!({"Site": "s", "Label": "one"});
    let created = answer(&dispatcher, &request("Create", None, old.clone(), None)).await;
    let id = created["PhysicalResourceId"].as_str().expect("an id").to_owned();

    let renamed = json!({"Site": "s", "Label": "two"});
    let updated = answer(&dispatcher, &request("Update", Some(&id), renamed.clone(), Some(old))).await;
    assert_eq!(
        (updated["Status"].as_str(), updated["PhysicalResourceId"].as_str()),
        (Some("SUCCESS"), Some(id.as_str())),
        "{updated}"
    );
    assert_eq!(dispatcher.handler.get(&("s".into(), "d1".into())).expect("kept").label, "two");

    let moved = json!({"Site": "t", "Label": "two"});
    let replaced = answer(&dispatcher, &request("Update", Some(&id), moved, Some(renamed.clone()))).await;
    assert_eq!(replaced["PhysicalResourceId"], "t|d2", "{replaced}");
    assert_eq!(
        dispatcher.handler.store.lock().expect("lock").len(),
        2,
        "the old one stays until CloudFormation deletes it"
    );
    let cleanup = answer(&dispatcher, &request("Delete", Some(&id), renamed, None)).await;
    assert_eq!(cleanup["Status"], "SUCCESS");
    assert!(dispatcher.handler.get(&("s".into(), "d1".into())).is_none());
}

#[tokio::test]
async fn a_failed_replacement_keeps_the_old_id_and_deletes_the_half_made_new_resource() {
    let (dispatcher, _) = dispatcher();
    let old = json!({"Site": "s", "Label": "l"});
    let created = answer(&dispatcher, &request("Create", None, old.clone(), None)).await;
    let id = created["PhysicalResourceId"].as_str().expect("an id").to_owned();
    let moved = json!({"Site": "t", "Label": "l", "ReadyAfter": 5000, "ServiceTimeout": 60});
    let response = answer(&dispatcher, &request("Update", Some(&id), moved, Some(old))).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["PhysicalResourceId"], id.as_str());
    assert!(
        response["Reason"].as_str().is_some_and(|r| r.ends_with("the new resource t|d2 was deleted again")),
        "{response}"
    );
    assert_eq!(
        dispatcher.handler.store.lock().expect("lock").keys().cloned().collect::<Vec<_>>(),
        vec![("s".to_owned(), "d1".to_owned())]
    );
}

#[tokio::test]
async fn deleting_what_is_gone_or_was_never_ours_succeeds() {
    let (dispatcher, _) = dispatcher();
    let gone = answer(&dispatcher, &request("Delete", Some("s|d9"), json!({"Site": "s", "Label": "l"}), None)).await;
    assert_eq!((gone["Status"].as_str(), gone["PhysicalResourceId"].as_str()), (Some("SUCCESS"), Some("s|d9")));
    let foreign = answer(&dispatcher, &request("Delete", Some("no-separator"), json!({}), None)).await;
    assert_eq!(foreign["Status"], "SUCCESS");
    let without = answer(&dispatcher, &request("Delete", None, json!({}), None)).await;
    assert_eq!(without["Status"], "SUCCESS");
    assert!(without["PhysicalResourceId"].as_str().is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn an_oversize_response_leaves_out_the_largest_attributes_and_says_which() {
    let (dispatcher, _) = dispatcher();
    let properties = json!({"Site": "s", "Label": "l", "ReportSize": 5000});
    let response = answer(&dispatcher, &request("Create", None, properties, None)).await;
    assert_eq!(response["Status"], "SUCCESS");
    assert_eq!(response["Data"], json!({"Id": "d1", "Opened.By": "tester", "Opened.Count": 1}), "only the report went");
    assert_eq!(
        response["Reason"],
        "Data left out Report to fit CloudFormation's 4096-byte response; read them with the type's READ handler"
    );
}

#[test]
fn a_long_reason_is_cut_at_a_character_boundary() {
    let response = CustomResourceResponse {
        status: CustomResourceStatus::Failed,
        reason: Some("é".repeat(5000)),
        physical_resource_id: "p".into(),
        stack_id: STACK.into(),
        request_id: "r".into(),
        logical_resource_id: "l".into(),
        no_echo: false,
        data: Map::new(),
    };
    let fitted = fit(response);
    assert!(fitted.body().len() <= RESPONSE_LIMIT);
    assert!(fitted.reason.as_deref().is_some_and(|r| r.ends_with('…') && r.len() > 3000));
}

#[test]
fn a_refused_request_fails_except_the_delete_of_what_was_never_made() {
    let failed = CustomResourceResponse::refused(&request("Create", None, json!({}), None), "no such type".into());
    assert_eq!((failed.status, failed.reason.as_deref()), (CustomResourceStatus::Failed, Some("no such type")));
    assert_eq!(failed.physical_resource_id, format!("{INVENTED_ID_PREFIX}req-Create"));
    let invented = format!("{INVENTED_ID_PREFIX}req-Create");
    let rollback =
        CustomResourceResponse::refused(&request("Delete", Some(&invented), json!({}), None), "no such type".into());
    assert_eq!(
        (rollback.status, rollback.physical_resource_id.as_str()),
        (CustomResourceStatus::Success, invented.as_str())
    );
    let real =
        CustomResourceResponse::refused(&request("Delete", Some("s|d1"), json!({}), None), "no such type".into());
    assert_eq!(real.status, CustomResourceStatus::Failed, "a real resource is not forgotten silently");
}
