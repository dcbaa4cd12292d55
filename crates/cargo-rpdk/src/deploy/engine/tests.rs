//! The engine's retry of a dependent that fails while what it needs still stabilizes, against
//! made-up handlers: no emulator fails a request retriably exactly while another resource is
//! stabilizing. Everything else the engine does is tested through the real handlers on the
//! local stack (contract-tests/tests/deploy.rs).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::{Backend, Engine, Printer, ServedType};
use crate::deploy::evaluate::{Bindings, StackIdentity};
use crate::deploy::state::{StackState, Store};
use crate::deploy::template::{Template, TypeInfo, parse_text};
use crate::invoke::Call;

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
}

impl Handlers {
    fn new(always_conflict: bool) -> Self {
        Self { always_conflict, base_done: AtomicBool::new(false), dependent_tried: (Mutex::new(false), Condvar::new()), calls: Mutex::new(Vec::new()) }
    }
}

impl Backend for Handlers {
    fn operate(&self, call: Call, on_event: &mut dyn FnMut(&Value) -> Result<()>) -> Result<Value> {
        self.calls.lock().expect("calls").push(format!("{} {}", call.logical_id, call.action));
        let last = match (call.type_name.as_str(), call.action.as_str()) {
            ("Test::Base", "CREATE") => {
                on_event(&json!({"status": "IN_PROGRESS", "resourceModel": {"Id": "base-1", "Name": "base"}, "callbackDelaySeconds": 1}))?;
                let (tried, signal) = &self.dependent_tried;
                let tried = signal.wait_timeout_while(tried.lock().expect("flag"), Duration::from_secs(10), |tried| !*tried).expect("flag");
                assert!(*tried.0, "the dependent started while the base was still stabilizing");
                self.base_done.store(true, Ordering::SeqCst);
                json!({"status": "SUCCESS", "resourceModel": {"Id": "base-1", "Name": "base"}})
            }
            ("Test::Dependent", "CREATE") => {
                let busy = !self.base_done.load(Ordering::SeqCst);
                *self.dependent_tried.0.lock().expect("flag") = true;
                self.dependent_tried.1.notify_all();
                if busy || self.always_conflict {
                    json!({"status": "FAILED", "errorCode": "ResourceConflict", "message": "the base is busy"})
                } else {
                    json!({"status": "SUCCESS", "resourceModel": {"Id": "dependent-1", "Base": call.model.as_ref().map_or(Value::Null, |m| m["Base"].clone())}})
                }
            }
            (_, "DELETE") => json!({"status": "SUCCESS"}),
            (type_name, action) => bail!("no {action} for {type_name}"),
        };
        on_event(&last)?;
        Ok(last)
    }

    fn ssm_parameter(&self, _: &str) -> Result<String> {
        bail!("no SSM here")
    }

    fn secret_string(&self, _: &str, _: Option<&str>, _: Option<&str>) -> Result<String> {
        bail!("no Secrets Manager here")
    }
}

/// Deploys the template with `handlers` onto `state` (a new stack when `None`); answers the
/// outcome, the events as `Name STATUS`, and the state after.
fn deploy(handlers: &Handlers, state: Option<StackState>) -> (Result<()>, Vec<String>, StackState) {
    let info = TypeInfo { attributes: ["Id".to_owned()].into(), primary_identifier: vec!["Id".to_owned()], ..TypeInfo::default() };
    let types: BTreeMap<String, ServedType> =
        ["Test::Base", "Test::Dependent"].into_iter().map(|name| (name.to_owned(), ServedType { info: info.clone(), function: "test".to_owned() })).collect();
    let infos = types.iter().map(|(name, served)| (name.clone(), served.info.clone())).collect();
    let template = Template::check(&parse_text(TEMPLATE).expect("YAML"), &infos).expect("a valid template");
    let identity = StackIdentity {
        name: "retries".to_owned(),
        id: "arn:aws:cloudformation:us-east-1:123456789012:stack/retries/1".to_owned(),
        region: "us-east-1".to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        url_suffix: "amazonaws.com".to_owned(),
    };
    let bindings = Bindings::new(&template, &BTreeMap::new(), &identity).expect("bound");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let store = Store::new(&std::env::temp_dir().join(format!("rpdk-engine-{nanos}")), "retries").expect("a store");
    let state = state.map_or_else(
        || StackState { stack_name: identity.name.clone(), stack_id: identity.id.clone(), run: "run-1".to_owned(), ..StackState::default() },
        |state| StackState { run: "run-2".to_owned(), ..state },
    );
    let (configurations, printer) = (BTreeMap::new(), Printer::new(true));
    let mut engine = Engine::new(handlers, &types, &configurations, &store, &printer, state, Vec::new(), false);
    let outcome = engine.deploy(&template, &bindings);
    let events = store.events().expect("events").iter().map(|e| format!("{} {}", e.logical_id, e.status)).collect();
    (outcome, events, engine.state)
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
    assert_eq!(events.last().map(String::as_str), Some("retries CREATE_COMPLETE"));
    assert_eq!(state.resources["Dependent"].physical_id.as_deref(), Some("dependent-1"));
}

#[test]
fn a_retriable_failure_once_everything_it_needs_is_complete_fails_and_rolls_back() {
    let handlers = Handlers::new(true);
    let (outcome, events, state) = deploy(&handlers, None);
    let error = outcome.expect_err("the deploy fails").to_string();
    assert!(error.contains("Dependent failed") && error.contains("ResourceConflict"), "{error}");
    assert_eq!(*handlers.calls.lock().expect("calls"), ["Base CREATE", "Dependent CREATE", "Dependent CREATE", "Base DELETE"]);
    assert!(position(&events, "Dependent CREATE_FAILED") < position(&events, "Base DELETE_COMPLETE"));
    assert_eq!(events.last().map(String::as_str), Some("retries ROLLBACK_COMPLETE"));
    assert!(state.resources.is_empty(), "{:?}", state.resources);
}

#[test]
fn an_unchanged_stack_is_left_alone() {
    let handlers = Handlers::new(false);
    let (outcome, _, state) = deploy(&handlers, None);
    outcome.expect("the first deploy");
    let calls = handlers.calls.lock().expect("calls").len();
    let (outcome, events, _) = deploy(&handlers, Some(state));
    outcome.expect("the second deploy");
    assert_eq!(handlers.calls.lock().expect("calls").len(), calls, "no handler is called");
    assert_eq!(events, ["retries UPDATE_IN_PROGRESS", "retries CONFIGURATION_COMPLETE", "retries UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "retries UPDATE_COMPLETE"]);
}
