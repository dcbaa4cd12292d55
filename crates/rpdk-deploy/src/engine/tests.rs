//! The engine's retry of a dependent that fails while what it needs still stabilizes, its hold
//! on a replaced resource whose delete fails, its policies, its delete order and its handler
//! timeout, against made-up handlers: no emulator fails a request retriably exactly while
//! another resource is stabilizing, nor a delete on cue, nor answers IN_PROGRESS for ever.
//! Everything else the engine does is tested through the real handlers on the
//! local stack (contract-tests/tests/deploy.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rpdk::Action;
use rpdk::wire::HandlerRequest;
use serde_json::{Value, json};

use super::{Engine, ServedType};
use crate::evaluate::{Bindings, StackIdentity};
use crate::state::{StackState, Store};
use crate::template::{Template, TypeInfo, parse_text};
use crate::{Backend, BackendError, Error, Printer, Site};

const TEMPLATE: &str = "
Resources:
  Base:
    Type: Test::Base
    Properties:
      Name: base
  Dependent:
    Type: Test::Dependent
    Properties:
      Base: !GetAtt Base.Id
";

/// A base that configures at once but completes only after the dependent has tried, and a
/// dependent that answers `ResourceConflict` while the base is busy (or, `always_conflict`,
/// always).
struct Handlers {
    always_conflict: bool,
    base_done: AtomicBool,
    dependent_tried: (Mutex<bool>, Condvar),
    calls: Mutex<Vec<String>>,
    /// The previous properties of each dependent UPDATE.
    dependent_previous: Mutex<Vec<Value>>,
    /// The next base UPDATE fails (once the dependent has tried).
    base_update_fails: AtomicBool,
}

impl Handlers {
    fn new(always_conflict: bool) -> Self {
        Self {
            always_conflict,
            base_done: AtomicBool::new(false),
            dependent_tried: (Mutex::new(false), Condvar::new()),
            calls: Mutex::new(Vec::new()),
            dependent_previous: Mutex::new(Vec::new()),
            base_update_fails: AtomicBool::new(false),
        }
    }

    /// The base busy again, for the next run.
    fn rearm(&self) {
        self.base_done.store(false, Ordering::SeqCst);
        *self.dependent_tried.0.lock().expect("flag") = false;
    }
}

/// Made-up registry handlers, answering one invocation at a time; no custom resources, no
/// dynamic references.
trait Handler: Sync {
    fn answer(&self, request: &Sent<'_>) -> Value;
}

/// What a request asks, as a handler reads it.
struct Sent<'r> {
    action: Action,
    type_name: &'r str,
    logical_id: &'r str,
    model: Value,
    previous: Option<&'r Value>,
    /// Set on every invocation after an IN_PROGRESS event.
    resumed: bool,
    request: &'r HandlerRequest,
}

impl<T: Handler> Backend for T {
    fn invoke(&self, _: &str, request: &HandlerRequest) -> Result<Value, BackendError> {
        let data = &request.request_data;
        let sent = Sent {
            action: request.action.ok_or("no action")?,
            type_name: request.resource_type.as_deref().unwrap_or_default(),
            logical_id: data.logical_resource_id.as_deref().unwrap_or_default(),
            model: data.resource_properties.clone().unwrap_or_default(),
            previous: data.previous_resource_properties.as_ref(),
            resumed: request.callback_context.is_some(),
            request,
        };
        Ok(self.answer(&sent))
    }

    fn prepare(&self, _: &mut HandlerRequest) -> Result<(), BackendError> {
        Ok(())
    }

    fn invoke_custom(&self, _: &str, _: &Value) -> Result<String, BackendError> {
        Err("no custom resources here".into())
    }

    fn response_url(&self, _: &str) -> Result<String, BackendError> {
        Err("no response bucket here".into())
    }

    fn response(&self, _: &str) -> Result<Option<Value>, BackendError> {
        Err("no response bucket here".into())
    }

    fn type_configuration(&self, _: &str) -> Result<Option<Value>, BackendError> {
        Ok(None)
    }

    fn ssm_parameter(&self, _: &str) -> Result<String, BackendError> {
        Err("no SSM here".into())
    }

    fn secret_string(&self, _: &str, _: Option<&str>, _: Option<&str>) -> Result<String, BackendError> {
        Err("no Secrets Manager here".into())
    }
}

fn unexpected(sent: &Sent<'_>) -> Value {
    json!({"status": "FAILED", "errorCode": "InternalFailure", "message": format!("no {} for {}", sent.action, sent.type_name)})
}

impl Handler for Handlers {
    fn answer(&self, sent: &Sent<'_>) -> Value {
        let model = &sent.model;
        match (sent.type_name, sent.action) {
            ("Test::Base", Action::Create | Action::Update) if !sent.resumed => {
                self.calls.lock().expect("calls").push(format!("{} {}", sent.logical_id, sent.action));
                let name = model.get("Name").cloned().unwrap_or_default();
                json!({"status": "IN_PROGRESS", "resourceModel": {"Id": "base-1", "Name": name}, "callbackContext": {"stabilizing": true}, "callbackDelaySeconds": 0})
            }
            ("Test::Base", Action::Create | Action::Update) => {
                let name = model.get("Name").cloned().unwrap_or_default();
                let (tried, signal) = &self.dependent_tried;
                let tried = signal
                    .wait_timeout_while(tried.lock().expect("flag"), Duration::from_secs(10), |tried| !*tried)
                    .expect("flag");
                assert!(*tried.0, "the dependent started while the base was still stabilizing");
                self.base_done.store(true, Ordering::SeqCst);
                if sent.action == Action::Update && self.base_update_fails.swap(false, Ordering::SeqCst) {
                    json!({"status": "FAILED", "errorCode": "InvalidRequest", "message": "no such name"})
                } else {
                    json!({"status": "SUCCESS", "resourceModel": {"Id": "base-1", "Name": name}})
                }
            }
            ("Test::Dependent", Action::Create | Action::Update) => {
                self.calls.lock().expect("calls").push(format!("{} {}", sent.logical_id, sent.action));
                if sent.action == Action::Update {
                    self.dependent_previous.lock().expect("previous").push(sent.previous.cloned().unwrap_or_default());
                }
                let busy = !self.base_done.load(Ordering::SeqCst);
                *self.dependent_tried.0.lock().expect("flag") = true;
                self.dependent_tried.1.notify_all();
                if busy || self.always_conflict {
                    json!({"status": "FAILED", "errorCode": "ResourceConflict", "message": "the base is busy"})
                } else {
                    json!({"status": "SUCCESS", "resourceModel": {"Id": "dependent-1", "Base": model["Base"], "Label": model["Label"]}})
                }
            }
            (_, Action::Delete) => {
                self.calls.lock().expect("calls").push(format!("{} {}", sent.logical_id, sent.action));
                json!({"status": "SUCCESS"})
            }
            _ => unexpected(sent),
        }
    }
}

/// One stack's surroundings: its types (all with the same `info`), its store and identity.
struct Fixture {
    types: BTreeMap<String, ServedType>,
    work_dir: std::path::PathBuf,
    store: Store,
    identity: StackIdentity,
    configurations: BTreeMap<String, Value>,
    printer: Printer,
    runs: std::cell::Cell<u32>,
}

impl Fixture {
    fn new(type_names: &[&str], info: TypeInfo) -> Self {
        let types = type_names
            .iter()
            .map(|name| (name.to_string(), ServedType { info: info.clone(), function: "test".to_owned() }))
            .collect();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let identity = StackIdentity {
            name: "engine".to_owned(),
            id: "arn:aws:cloudformation:us-east-1:123456789012:stack/engine/1".to_owned(),
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
            partition: "aws".to_owned(),
            url_suffix: "amazonaws.com".to_owned(),
        };
        let work_dir = std::env::temp_dir().join(format!("rpdk-engine-{nanos}"));
        let store = Store::new(&work_dir, &identity.name).expect("a store");
        Self {
            types,
            work_dir,
            store,
            identity,
            configurations: BTreeMap::new(),
            printer: Printer::new(true),
            runs: std::cell::Cell::new(0),
        }
    }

    /// The two types of `TEMPLATE`, identified by `Id`.
    fn base_and_dependent() -> Self {
        Self::new(
            &["Test::Base", "Test::Dependent"],
            TypeInfo {
                attributes: ["Id".to_owned()].into(),
                primary_identifier: vec!["Id".to_owned()],
                ..TypeInfo::default()
            },
        )
    }

    /// Runs `run` on an engine for a new run on `state` (a new stack when `None`); answers its
    /// outcome and the state after.
    fn run(
        &self,
        backend: &dyn Backend,
        state: Option<StackState>,
        run: impl FnOnce(&mut Engine<'_>) -> Result<(), Error>,
    ) -> (Result<(), Error>, StackState) {
        self.runs.set(self.runs.get() + 1);
        let state = state.unwrap_or_else(|| StackState {
            stack_name: self.identity.name.clone(),
            stack_id: self.identity.id.clone(),
            ..StackState::default()
        });
        let site = Site {
            backend,
            types: &self.types,
            configurations: &self.configurations,
            hooks: &BTreeMap::new(),
            hook_configurations: &BTreeMap::new(),
            work_dir: &self.work_dir,
            generation: "test",
            printer: &self.printer,
        };
        let mut engine = Engine::new(
            &site,
            &self.store,
            StackState { run: format!("run-{}", self.runs.get()), ..state },
            Vec::new(),
        );
        let outcome = run(&mut engine);
        (outcome, engine.state)
    }

    /// Deletes the stack of `state`; answers the outcome and the state after.
    fn delete(&self, backend: &dyn Backend, state: StackState) -> (Result<(), Error>, StackState) {
        self.run(backend, Some(state), |engine| engine.delete())
    }

    /// Deploys `template` with `parameters`; answers the outcome, this run's events as
    /// `Name STATUS`, and the state after.
    fn deploy(
        &self,
        backend: &dyn Backend,
        template: &str,
        parameters: &[(&str, &str)],
        state: Option<StackState>,
    ) -> (Result<(), Error>, Vec<String>, StackState) {
        let infos = self.types.iter().map(|(name, served)| (name.clone(), served.info.clone())).collect();
        let template = Template::check(&parse_text(template).expect("YAML"), &infos).expect("a valid template");
        let given = parameters.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
        let bindings = Bindings::new(&template, &given, &self.identity).expect("bound");
        // A stack with no run yet has no events file.
        let before = self.store.events().map_or(0, |events| events.len());
        let (outcome, state) = self.run(backend, state, |engine| engine.deploy(&template, &bindings));
        (outcome, self.events().split_off(before), state)
    }

    fn events(&self) -> Vec<String> {
        self.store.events().expect("events").iter().map(|e| format!("{} {}", e.logical_id, e.status)).collect()
    }
}

/// Deploys `TEMPLATE` with `handlers`, each time on a stack of its own.
fn deploy(handlers: &Handlers, state: Option<StackState>) -> (Result<(), Error>, Vec<String>, StackState) {
    Fixture::base_and_dependent().deploy(handlers, TEMPLATE, &[], state)
}

fn position(events: &[String], event: &str) -> usize {
    events.iter().position(|e| e == event).unwrap_or_else(|| panic!("no {event} in {events:#?}"))
}

#[test]
fn a_dependent_failing_retriably_while_its_base_stabilizes_is_retried_after() {
    let handlers = Handlers::new(false);
    let (outcome, events, state) = deploy(&handlers, None);
    outcome.expect("the deploy succeeds on the retry");
    assert_eq!(*handlers.calls.lock().expect("calls"), ["Base CREATE", "Dependent CREATE", "Dependent CREATE"]);
    let base_done = position(&events, "Base CREATE_COMPLETE");
    assert!(position(&events, "Base CONFIGURATION_COMPLETE") < position(&events, "Dependent CREATE_IN_PROGRESS"));
    let retried = events.iter().rposition(|e| e == "Dependent CREATE_IN_PROGRESS").expect("a second start");
    assert!(retried > base_done, "the retry waits until the base has completed: {events:#?}");
    assert_eq!(events.last().map(String::as_str), Some("engine CREATE_COMPLETE"));
    assert_eq!(state.resources["Dependent"].physical_id.as_deref(), Some("dependent-1"));
}

#[test]
fn a_retriable_failure_once_everything_it_needs_is_complete_fails_and_rolls_back() {
    let handlers = Handlers::new(true);
    let (outcome, events, state) = deploy(&handlers, None);
    let error = outcome.expect_err("the deploy fails").to_string();
    assert!(error.contains("Dependent failed") && error.contains("ResourceConflict"), "{error}");
    assert_eq!(
        *handlers.calls.lock().expect("calls"),
        ["Base CREATE", "Dependent CREATE", "Dependent CREATE", "Base DELETE"]
    );
    assert!(position(&events, "Dependent CREATE_FAILED") < position(&events, "Base DELETE_COMPLETE"));
    assert_eq!(events.last().map(String::as_str), Some("engine ROLLBACK_COMPLETE"));
    assert!(state.resources.is_empty(), "{:?}", state.resources);
    assert_eq!(
        state.status_reason.as_deref(),
        Some("The following resource(s) failed to create: [Dependent]."),
        "the final state names what failed"
    );
}

const LABELLED: &str = "
Parameters:
  Label:
    Type: String
Resources:
  Base:
    Type: Test::Base
    Properties:
      Name: !Ref Label
  Dependent:
    Type: Test::Dependent
    Properties:
      Base: !GetAtt Base.Id
      Label: !Ref Label
";

/// `LABELLED` created with the label `one`, the base busy again for the next run.
fn labelled_one() -> (Handlers, Fixture, StackState) {
    let (handlers, fixture) = (Handlers::new(false), Fixture::base_and_dependent());
    let (outcome, _, state) = fixture.deploy(&handlers, LABELLED, &[("Label", "one")], None);
    outcome.expect("created");
    handlers.rearm();
    (handlers, fixture, state)
}

#[test]
fn a_retried_update_in_place_is_sent_with_the_properties_before_the_run() {
    let (handlers, fixture, state) = labelled_one();
    let (outcome, events, state) = fixture.deploy(&handlers, LABELLED, &[("Label", "two")], Some(state));
    outcome.expect("updated on the retry");
    let previous = handlers.dependent_previous.lock().expect("previous").clone();
    assert_eq!(previous.len(), 2, "tried, then retried: {events:#?}");
    assert!(
        previous.iter().all(|p| p["Label"] == "one"),
        "both attempts update from the properties before the run: {previous:?}"
    );
    assert_eq!(state.resources["Dependent"].model.as_ref().map(|m| m["Label"].clone()), Some(json!("two")));
}

#[test]
fn an_attempt_awaiting_its_retry_is_rolled_back_when_the_run_fails_first() {
    let (handlers, fixture, state) = labelled_one();
    handlers.base_update_fails.store(true, Ordering::SeqCst);
    let before = handlers.calls.lock().expect("calls").len();
    let (outcome, events, _) = fixture.deploy(&handlers, LABELLED, &[("Label", "two")], Some(state));
    outcome.expect_err("the base fails");
    let calls = handlers.calls.lock().expect("calls").split_off(before);
    // The dependent's attempt may have changed it: it is updated back before the base is.
    assert_eq!(calls, ["Base UPDATE", "Dependent UPDATE", "Dependent UPDATE", "Base UPDATE"], "{events:#?}");
    assert_eq!(
        handlers.dependent_previous.lock().expect("previous").last().map(|p| p["Label"].clone()),
        Some(json!("two")),
        "the revert goes from the attempt's properties"
    );
    assert_eq!(events.last().map(String::as_str), Some("engine UPDATE_ROLLBACK_COMPLETE"));
}

#[test]
fn an_unchanged_stack_is_left_alone() {
    let handlers = Handlers::new(false);
    let fixture = Fixture::base_and_dependent();
    let (outcome, _, state) = fixture.deploy(&handlers, TEMPLATE, &[], None);
    outcome.expect("the first deploy");
    let calls = handlers.calls.lock().expect("calls").len();
    let (outcome, events, _) = fixture.deploy(&handlers, TEMPLATE, &[], Some(state));
    outcome.expect("the second deploy");
    assert_eq!(handlers.calls.lock().expect("calls").len(), calls, "no handler is called");
    assert_eq!(
        events,
        [
            "engine UPDATE_IN_PROGRESS",
            "engine CONFIGURATION_COMPLETE",
            "engine UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "engine UPDATE_COMPLETE"
        ]
    );
}

const NAMED: &str = "
Parameters:
  Name:
    Type: String
Resources:
  Named:
    Type: Test::Named
    Properties:
      Name: !Ref Name
";

/// Resources named at creation (a new name replaces them; the name `fail` fails) whose delete
/// fails while their id is `stuck` and takes a while when it is `slow`; what exists is kept, as
/// a cloud would.
#[derive(Default)]
struct Named {
    stuck: Mutex<Option<String>>,
    /// An id whose delete takes a while.
    slow: Mutex<Option<String>>,
    existing: Mutex<BTreeSet<String>>,
}

impl Handler for Named {
    fn answer(&self, sent: &Sent<'_>) -> Value {
        let model = &sent.model;
        match sent.action {
            Action::Create if model["Name"] == "fail" => {
                json!({"status": "FAILED", "errorCode": "InvalidRequest", "message": "no such name"})
            }
            Action::Create => {
                let id = format!("{}-id", model["Name"].as_str().unwrap_or_default());
                self.existing.lock().expect("existing").insert(id.clone());
                json!({"status": "SUCCESS", "resourceModel": {"Id": id, "Name": model["Name"]}})
            }
            Action::Delete => {
                let id = model["Id"].as_str().unwrap_or_default().to_owned();
                if self.slow.lock().expect("slow").as_ref() == Some(&id) {
                    std::thread::sleep(Duration::from_millis(300));
                }
                if self.stuck.lock().expect("stuck").as_ref() == Some(&id) {
                    json!({"status": "FAILED", "errorCode": "GeneralServiceException", "message": format!("{id} is in use")})
                } else {
                    self.existing.lock().expect("existing").remove(&id);
                    json!({"status": "SUCCESS"})
                }
            }
            _ => unexpected(sent),
        }
    }
}

#[test]
fn a_replaced_resource_that_could_not_be_deleted_stays_tracked_through_later_replacements() {
    let (fixture, named) = (named(), Named::default());
    let (outcome, _, state) = fixture.deploy(&named, NAMED, &[("Name", "one")], None);
    outcome.expect("created");

    *named.stuck.lock().expect("stuck") = Some("one-id".to_owned());
    let (outcome, events, state) = fixture.deploy(&named, NAMED, &[("Name", "two")], Some(state));
    outcome.expect("an update whose cleanup fails still completes, as on CloudFormation");
    assert!(events.contains(&"Named DELETE_FAILED".to_owned()), "{events:#?}");
    let (outcome, events, state) = fixture.deploy(&named, NAMED, &[("Name", "three")], Some(state));
    outcome.expect("replaced again");
    assert_eq!(events.iter().filter(|e| *e == "Named DELETE_COMPLETE").count(), 1, "two-id is deleted: {events:#?}");
    assert!(events.contains(&"Named DELETE_FAILED".to_owned()), "one-id is tried again: {events:#?}");
    assert_eq!(*named.existing.lock().expect("existing"), BTreeSet::from(["one-id".to_owned(), "three-id".to_owned()]));
    let tracked: BTreeSet<String> = state.resources.values().filter_map(|r| r.physical_id.clone()).collect();
    assert_eq!(tracked, BTreeSet::from(["one-id".to_owned(), "three-id".to_owned()]), "{:#?}", state.resources);

    *named.stuck.lock().expect("stuck") = None;
    let (outcome, state) = fixture.delete(&named, state);
    outcome.expect("the stack is deleted");
    assert!(named.existing.lock().expect("existing").is_empty(), "nothing is left");
    assert!(state.resources.is_empty(), "{:#?}", state.resources);
}

fn named() -> Fixture {
    Fixture::new(
        &["Test::Named"],
        TypeInfo {
            attributes: ["Id".to_owned()].into(),
            primary_identifier: vec!["Id".to_owned()],
            create_only: ["Name".to_owned()].into(),
            ..TypeInfo::default()
        },
    )
}

fn existing(named: &Named) -> BTreeSet<String> {
    named.existing.lock().expect("existing").clone()
}

#[test]
fn a_stack_deleted_before_a_failed_cleanup_succeeded_deletes_the_replaced_resource_too() {
    let (fixture, named) = (named(), Named::default());
    let (outcome, _, state) = fixture.deploy(&named, NAMED, &[("Name", "one")], None);
    outcome.expect("created");
    *named.stuck.lock().expect("stuck") = Some("one-id".to_owned());
    let (outcome, _, state) = fixture.deploy(&named, NAMED, &[("Name", "two")], Some(state));
    outcome.expect("replaced, its cleanup failing");
    *named.stuck.lock().expect("stuck") = None;
    // Were the two deleted side by side, the replacement's delete would end first.
    *named.slow.lock().expect("slow") = Some("one-id".to_owned());
    let (outcome, state) = fixture.delete(&named, state);
    outcome.expect("the stack is deleted");
    assert!(existing(&named).is_empty(), "nothing is left: {:?}", existing(&named));
    assert!(state.resources.is_empty(), "{:#?}", state.resources);
}

/// `NAMED` with policies, and a second resource that fails once `Named` exists.
fn with_policies(deletion: &str, replace: &str, failing: bool) -> String {
    let policies = format!("    DeletionPolicy: {deletion}\n    UpdateReplacePolicy: {replace}\n");
    let mut template = NAMED.replacen("    Type: Test::Named\n", &format!("    Type: Test::Named\n{policies}"), 1);
    if failing {
        template
            .push_str("  Failing:\n    Type: Test::Named\n    DependsOn: Named\n    Properties:\n      Name: fail\n");
    }
    template
}

#[test]
fn a_retained_resource_left_mid_update_is_not_deleted_with_the_stack() {
    let (fixture, named) = (named(), Named::default());
    let (outcome, _, mut state) =
        fixture.deploy(&named, &with_policies("Retain", "Delete", false), &[("Name", "one")], None);
    outcome.expect("created");
    // An update in place that was interrupted keeps the resource as it was, same identifier.
    let before = state.resources["Named"].clone();
    state.resources.get_mut("Named").expect("Named").previous = Some(Box::new(before));
    let (outcome, _) = fixture.delete(&named, state);
    outcome.expect("the stack is deleted");
    assert_eq!(existing(&named), BTreeSet::from(["one-id".to_owned()]), "DeletionPolicy Retain keeps it");
    assert_eq!(fixture.events().iter().filter(|e| *e == "Named DELETE_SKIPPED").count(), 1);
}

#[test]
fn deleting_follows_the_dependencies_of_the_latest_template() {
    let (fixture, named) = (named(), Named::default());
    let first = "Resources:\n  A:\n    Type: Test::Named\n    DependsOn: B\n    Properties:\n      Name: a\n  B:\n    Type: Test::Named\n    Properties:\n      Name: b\n";
    let (outcome, _, state) = fixture.deploy(&named, first, &[], None);
    outcome.expect("created");
    // A is unchanged but no longer needs B; B now needs A, and is replaced.
    let second = "Resources:\n  A:\n    Type: Test::Named\n    Properties:\n      Name: a\n  B:\n    Type: Test::Named\n    DependsOn: A\n    Properties:\n      Name: b2\n";
    let (outcome, _, state) = fixture.deploy(&named, second, &[], Some(state));
    outcome.expect("updated");
    let (outcome, _) = fixture.delete(&named, state);
    outcome.expect("the stack is deleted in the order the second template gives");
    assert!(existing(&named).is_empty(), "{:?}", existing(&named));
}

#[test]
fn retained_resources_are_left_when_replaced_removed_or_rolled_back() {
    let (fixture, named) = (named(), Named::default());
    let retained = with_policies("Retain", "Retain", false);
    let (outcome, _, state) = fixture.deploy(&named, &retained, &[("Name", "one")], None);
    outcome.expect("created");
    let (outcome, events, state) = fixture.deploy(&named, &retained, &[("Name", "two")], Some(state));
    outcome.expect("replaced");
    assert!(events.contains(&"Named DELETE_SKIPPED".to_owned()), "UpdateReplacePolicy keeps the old one: {events:#?}");
    let (outcome, state) = fixture.delete(&named, state);
    outcome.expect("the stack is deleted");
    assert!(state.resources.is_empty(), "the stack forgets what it retained");
    assert_eq!(
        existing(&named),
        BTreeSet::from(["one-id".to_owned(), "two-id".to_owned()]),
        "DeletionPolicy keeps the last one"
    );

    let (outcome, events, _) =
        fixture.deploy(&named, &with_policies("Retain", "Delete", true), &[("Name", "three")], None);
    outcome.expect_err("Failing fails");
    assert!(
        events.contains(&"Named DELETE_SKIPPED".to_owned()),
        "Retain keeps even what a rollback would delete: {events:#?}"
    );
    assert!(existing(&named).contains("three-id"));
    let (outcome, events, _) =
        fixture.deploy(&named, &with_policies("RetainExceptOnCreate", "Delete", true), &[("Name", "four")], None);
    outcome.expect_err("Failing fails");
    assert!(
        events.contains(&"Named DELETE_COMPLETE".to_owned()),
        "RetainExceptOnCreate lets the rollback delete: {events:#?}"
    );
    assert!(!existing(&named).contains("four-id"));
}

/// A custom resource's function, answering every request with one physical id, and the bucket
/// its responses go to.
#[derive(Default)]
struct Function {
    /// The `RequestType` of each request.
    calls: Mutex<Vec<String>>,
    responses: Mutex<BTreeMap<String, Value>>,
}

impl Backend for Function {
    fn invoke(&self, function: &str, _: &HandlerRequest) -> Result<Value, BackendError> {
        Err(format!("{function} is a custom resource's function, no registry handler").into())
    }

    fn prepare(&self, _: &mut HandlerRequest) -> Result<(), BackendError> {
        Ok(())
    }

    fn invoke_custom(&self, _: &str, request: &Value) -> Result<String, BackendError> {
        self.calls.lock().expect("calls").push(request["RequestType"].as_str().unwrap_or_default().to_owned());
        let key = request["ResponseURL"].as_str().and_then(|url| url.strip_prefix("bucket://")).ok_or("a URL")?;
        let mut response = json!({"Status": "SUCCESS", "PhysicalResourceId": "thing-1"});
        for copied in ["StackId", "RequestId", "LogicalResourceId"] {
            response[copied] = request[copied].clone();
        }
        self.responses.lock().expect("responses").insert(key.to_owned(), response);
        Ok("null".to_owned())
    }

    fn response_url(&self, key: &str) -> Result<String, BackendError> {
        Ok(format!("bucket://{key}"))
    }

    fn response(&self, key: &str) -> Result<Option<Value>, BackendError> {
        Ok(self.responses.lock().expect("responses").get(key).cloned())
    }

    fn type_configuration(&self, _: &str) -> Result<Option<Value>, BackendError> {
        Ok(None)
    }

    fn ssm_parameter(&self, _: &str) -> Result<String, BackendError> {
        Err("no SSM here".into())
    }

    fn secret_string(&self, _: &str, _: Option<&str>, _: Option<&str>) -> Result<String, BackendError> {
        Err("no Secrets Manager here".into())
    }
}

#[test]
fn a_custom_resource_keeps_its_service_token() {
    let (fixture, function) = (Fixture::new(&["Test::Named"], TypeInfo::default()), Function::default());
    let template = |token: &str| {
        format!(
            "Resources:\n  Thing:\n    Type: Custom::Thing\n    Properties:\n      ServiceToken: arn:aws:lambda:us-east-1:123456789012:function:{token}\n      Size: 1\n"
        )
    };
    let (outcome, _, state) = fixture.deploy(&function, &template("test"), &[], None);
    outcome.expect("created");
    let (outcome, events, _) = fixture.deploy(&function, &template("test:live"), &[], Some(state));
    let error = outcome.expect_err("refused").to_string();
    assert!(error.contains("Modifying service token is not allowed."), "{error}");
    assert!(events.contains(&"Thing UPDATE_FAILED".to_owned()), "{events:#?}");
    assert_eq!(*function.calls.lock().expect("calls"), ["Create"], "no Update reaches either function");
}

const TAGGED: &str = "
Resources:
  A:
    Type: Test::Tagged
    Properties:
      Name: a
  B:
    Type: Test::Tagged
    Properties:
      Name: b
";

/// A taggable type that records the stack's tags each request carries; `B`'s next UPDATE
/// fails when `fail_b` is set.
#[derive(Default)]
struct Tagged {
    fail_b: AtomicBool,
    /// `Name ACTION stackTags previousStackTags`.
    seen: Mutex<Vec<String>>,
}

impl Handler for Tagged {
    fn answer(&self, sent: &Sent<'_>) -> Value {
        let tags = |tags: &BTreeMap<String, String>| {
            if tags.is_empty() {
                "-".to_owned()
            } else {
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
            }
        };
        let data = &sent.request.request_data;
        self.seen.lock().expect("seen").push(format!(
            "{} {} {} {}",
            sent.logical_id,
            sent.action,
            tags(&data.stack_tags),
            tags(&data.previous_stack_tags)
        ));
        assert_eq!(
            data.system_tags.get("aws:cloudformation:logical-id").map(String::as_str),
            Some(sent.logical_id),
            "system tags on every request"
        );
        let name = sent.model.get("Name").cloned().unwrap_or_default();
        if sent.logical_id == "B" && sent.action == Action::Update && self.fail_b.swap(false, Ordering::SeqCst) {
            json!({"status": "FAILED", "errorCode": "InvalidRequest", "message": "refused"})
        } else if sent.action == Action::Delete {
            json!({"status": "SUCCESS"})
        } else {
            json!({"status": "SUCCESS", "resourceModel": {"Id": name, "Name": name}})
        }
    }
}

#[test]
fn a_change_of_the_stacks_tags_alone_updates_taggable_resources_and_a_rollback_puts_the_old_ones_back() {
    let fixture = Fixture::new(
        &["Test::Tagged"],
        TypeInfo {
            attributes: ["Id".to_owned()].into(),
            primary_identifier: vec!["Id".to_owned()],
            taggable: true,
            ..TypeInfo::default()
        },
    );
    let handlers = Tagged::default();
    let tagged = |team: &str| BTreeMap::from([("team".to_owned(), team.to_owned())]);
    let first = StackState {
        stack_name: "engine".to_owned(),
        stack_id: fixture.identity.id.clone(),
        tags: tagged("a"),
        ..StackState::default()
    };
    let (outcome, _, state) = fixture.deploy(&handlers, TAGGED, &[], Some(first));
    outcome.expect("the create");
    let mut seen = std::mem::take(&mut *handlers.seen.lock().expect("seen"));
    seen.sort();
    assert_eq!(seen, ["A CREATE team=a -", "B CREATE team=a -"]);

    // Other tags, the same template: both update, with the tags before as the previous ones.
    let retag = StackState { tags_before: state.tags.clone(), tags: tagged("b"), ..state };
    let (outcome, _, state) = fixture.deploy(&handlers, TAGGED, &[], Some(retag));
    outcome.expect("the tags-only update");
    let mut seen = std::mem::take(&mut *handlers.seen.lock().expect("seen"));
    seen.sort();
    assert_eq!(seen, ["A UPDATE team=b team=a", "B UPDATE team=b team=a"]);

    let unchanged = StackState { tags_before: state.tags.clone(), ..state };
    let (outcome, _, state) = fixture.deploy(&handlers, TAGGED, &[], Some(unchanged));
    outcome.expect("an unchanged deploy");
    assert!(handlers.seen.lock().expect("seen").is_empty(), "nothing changed, nothing is sent");

    // B fails this time: A goes back to the tags before the run, and so does the stack.
    handlers.fail_b.store(true, Ordering::SeqCst);
    let failing = StackState { tags_before: state.tags.clone(), tags: tagged("c"), ..state };
    let (outcome, _, state) = fixture.deploy(&handlers, TAGGED, &[], Some(failing));
    assert!(outcome.is_err(), "B's update failed");
    let seen = std::mem::take(&mut *handlers.seen.lock().expect("seen"));
    assert!(seen.contains(&"A UPDATE team=c team=b".to_owned()), "{seen:#?}");
    assert!(
        seen.contains(&"A UPDATE team=b team=c".to_owned()),
        "the rollback sends the tags before the run: {seen:#?}"
    );
    assert_eq!(state.tags, tagged("b"), "the stack keeps its tags from before the run");
}

/// A handler whose CREATE never stops answering IN_PROGRESS, each time with the resource's
/// identifier, and whose DELETE succeeds.
#[derive(Default)]
struct Endless {
    creates: AtomicU32,
    deletes: AtomicU32,
}

impl Handler for Endless {
    fn answer(&self, sent: &Sent<'_>) -> Value {
        match sent.action {
            Action::Create => {
                self.creates.fetch_add(1, Ordering::SeqCst);
                json!({"status": "IN_PROGRESS", "resourceModel": {"Id": "endless-1", "Name": "n"}, "callbackContext": {"waiting": true}, "callbackDelaySeconds": 1})
            }
            Action::Delete => {
                self.deletes.fetch_add(1, Ordering::SeqCst);
                json!({"status": "SUCCESS"})
            }
            _ => unexpected(sent),
        }
    }
}

#[test]
fn a_handler_that_never_stops_answering_in_progress_fails_at_its_timeout_and_is_rolled_back() {
    let fixture = Fixture::new(
        &["Test::Named"],
        TypeInfo {
            attributes: ["Id".to_owned()].into(),
            primary_identifier: vec!["Id".to_owned()],
            timeouts: [("CREATE".to_owned(), Duration::from_secs(2))].into(),
            ..TypeInfo::default()
        },
    );
    let endless = Endless::default();
    let (outcome, events, state) = fixture.deploy(&endless, NAMED, &[("Name", "n")], None);
    let error = outcome.expect_err("the deploy fails").to_string();
    assert!(error.contains("Named failed: the operation timed out"), "{error}");
    assert!(error.contains("when its time ran out"), "{error}");
    let invocations = endless.creates.load(Ordering::SeqCst);
    assert!((2..=3).contains(&invocations), "followed until its 2 s ran out: {invocations} invocations");
    let reason = fixture.store.events().expect("events").into_iter().find(|e| e.status.to_string() == "CREATE_FAILED");
    assert!(
        reason.and_then(|e| e.reason).is_some_and(|r| r.starts_with("the operation timed out: CREATE of Test::Named")),
        "{events:#?}"
    );
    assert_eq!(endless.deletes.load(Ordering::SeqCst), 1, "what it made is deleted by the rollback");
    assert_eq!(events.last().map(String::as_str), Some("engine ROLLBACK_COMPLETE"));
    assert!(state.resources.is_empty(), "{:#?}", state.resources);
}
