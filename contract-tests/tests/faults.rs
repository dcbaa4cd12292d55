//! Every call of every handler, failed every way a real service fails: the fault proxy
//! (contract-tests/fault_proxy.py) stands between the handlers and moto and scim2-server. For
//! each type and action, a first run learns the calls the handler makes (each operation of each
//! caller, in order); then, for each of those calls and each fault, a fresh resource goes through
//! the action with that one call failed:
//! - the answer is SUCCESS (the client's own retry absorbed the fault) or FAILED with a
//!   retriable code, and never InternalFailure or a code that blames the input;
//! - the same request sent again, as CloudFormation retries it, finishes the action;
//! - a CREATE made exactly one resource, an UPDATE left the model the update asked for;
//! - after the resource's DELETE, the type's LIST finds nothing carrying the case's name (no
//!   orphan role, endpoint service, parameter or SCIM user).
//!
//! The table of calls × faults tried, passed and leaked is printed and written to
//! `$RPDK_LOGS/fault-table.txt`. `RPDK_FAULT_TYPES` (type names), `RPDK_FAULT_ACTIONS` and
//! `RPDK_FAULT_KINDS` (the table's fault names), comma-separated, narrow the walk.
//!
//! Each handler binary serves one invocation at a time, so the types of one binary walk one
//! after another, and binaries side by side.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use contract_tests::project::{Project, ProjectType};
use contract_tests::{
    Caller, Fault, FaultKind, FaultRule, Handler, assert_model, own_credentials, panic_message, token, unique,
};
use serde_json::{Value, json};

/// Longer than the SDK's attempt timeout and the SCIM client's request timeout.
const STALL_SECONDS: u64 = 21;

/// As many attempts as the clients make of one call (the SDK's `max_attempts`, the SCIM
/// client's attempts of a throttled request): a fault this many times over is not retried
/// away inside the handler, and the handler must answer it.
const ATTEMPTS: u32 = 3;

/// One way of failing a call, as the table names it.
struct Failing {
    name: &'static str,
    kind: FaultKind,
    /// How many calls of the operation, from the chosen one on, fail.
    times: u32,
    retry_after: Option<u64>,
}

const FAULTS: [Failing; 8] = [
    Failing { name: "throttled x3", kind: FaultKind::Throttle, times: ATTEMPTS, retry_after: None },
    Failing { name: "throttled x3 Retry-After", kind: FaultKind::Throttle, times: ATTEMPTS, retry_after: Some(1) },
    Failing { name: "500 x3", kind: FaultKind::Internal, times: ATTEMPTS, retry_after: None },
    Failing { name: "503 x3", kind: FaultKind::Unavailable, times: ATTEMPTS, retry_after: None },
    Failing { name: "reset x3", kind: FaultKind::Reset, times: ATTEMPTS, retry_after: None },
    Failing { name: "stalled", kind: FaultKind::Stall, times: 1, retry_after: None },
    Failing { name: "response lost", kind: FaultKind::LoseResponse, times: 1, retry_after: None },
    Failing { name: "response lost x3", kind: FaultKind::LoseResponse, times: ATTEMPTS, retry_after: None },
];

/// The type the SCIM resources name their service by.
const CONNECTOR: &str = "Rpdk::SCIM::Connector";

const ACTIONS: [&str; 5] = ["CREATE", "READ", "UPDATE", "LIST", "DELETE"];

/// The codes CloudFormation retries.
const RETRIABLE: [&str; 4] = ["Throttling", "ServiceInternalError", "NetworkFailure", "ResourceConflict"];

#[test]
fn every_call_of_every_handler_survives_every_fault_and_leaves_nothing_behind() {
    let project = Project::load();
    let mut by_binary: BTreeMap<&str, Vec<&ProjectType>> = BTreeMap::new();
    for served in &project.types {
        if chosen("RPDK_FAULT_TYPES", &served.type_name) {
            by_binary.entry(served.binary.as_str()).or_default().push(served);
        }
    }
    let rows: Vec<Row> = std::thread::scope(|scope| {
        let walks: Vec<_> = by_binary
            .into_values()
            .map(|types| {
                scope.spawn(move || types.into_iter().flat_map(|served| Walk::new(served).rows()).collect::<Vec<_>>())
            })
            .collect();
        walks.into_iter().flat_map(|walk| walk.join().expect("a walk ends")).collect()
    });

    let table = table(&rows);
    // Straight to stderr: the table is the test's report, shown whether it passes or fails.
    let _ = std::io::stderr().write_all(table.as_bytes());
    if let Ok(logs) = std::env::var("RPDK_LOGS") {
        let _ = std::fs::create_dir_all(&logs);
        let _ = std::fs::write(std::path::Path::new(&logs).join("fault-table.txt"), &table);
    }
    let failures: Vec<String> = rows.iter().flat_map(|row| row.failures.iter().cloned()).collect();
    assert!(!rows.is_empty(), "no call was tried");
    assert!(failures.is_empty(), "{} of the cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// One line of the table: a type's action under one fault, over every call it makes.
struct Row {
    type_name: String,
    action: &'static str,
    fault: &'static str,
    tried: usize,
    passed: usize,
    leaked: usize,
    failures: Vec<String>,
}

fn table(rows: &[Row]) -> String {
    let mut text = String::from("\nfault table: each call a handler makes, failed once\n");
    let _ =
        writeln!(text, "{:<30} {:<7} {:<23} {:>5} {:>6} {:>6}", "type", "action", "fault", "calls", "passed", "leaks");
    for row in rows {
        text.push_str(&row_line(row));
    }
    let sum = |f: fn(&Row) -> usize| rows.iter().map(f).sum::<usize>();
    let _ = writeln!(
        text,
        "{} cases: {} passed, {} failed, {} leaked\n",
        sum(|r| r.tried),
        sum(|r| r.passed),
        sum(|r| r.tried - r.passed),
        sum(|r| r.leaked)
    );
    text
}

fn row_line(row: &Row) -> String {
    format!(
        "{:<30} {:<7} {:<23} {:>5} {:>6} {:>6}\n",
        row.type_name, row.action, row.fault, row.tried, row.passed, row.leaked
    )
}

/// Whether `name` is among the comma-separated names of the environment variable `variable`
/// (all are when it is unset).
fn chosen(variable: &str, name: &str) -> bool {
    std::env::var(variable).map_or(true, |names| names.split(',').any(|n| n.trim() == name))
}

/// A call to fail: the caller it comes from, its operation, and which of that operation's calls.
#[derive(Clone, Debug)]
struct Call {
    scim: bool,
    operation: String,
    nth: u32,
}

/// What a case got to.
struct Outcome {
    leaked: bool,
    failure: Option<String>,
}

/// One type's walk: its handler signing with a user of its own, and SCIM calls in a scope of
/// their own, so the proxy's rules take this walk's calls only.
struct Walk<'a> {
    served: &'a ProjectType,
    handler: Handler,
    signer: Value,
    scope: String,
    /// A connector through the proxy, for the types that name one.
    connector: Option<String>,
}

impl<'a> Walk<'a> {
    fn new(served: &'a ProjectType) -> Self {
        let signer = own_credentials(&served.stem);
        let mut handler = Handler::new(&served.binary, &served.type_name).with_credentials(signer.clone());
        if let Some(configuration) = served.type_configuration(&unique("faults")) {
            handler = handler.with_type_configuration(configuration);
        }
        let scope = unique("faults");
        let mut walk = Self { served, handler, signer, scope, connector: None };
        if walk.input("inputs_1_create.json", "probe").get("Connector").is_some() {
            walk.connector = Some(walk.make_connector());
        }
        walk
    }

    /// The connector type's handler, with its role.
    fn connectors(&self) -> Handler {
        Handler::new(&self.served.binary, CONNECTOR)
    }

    /// A connector whose BaseUrl is the walk's scope of the proxy, made through the connector's
    /// own handler.
    fn make_connector(&self) -> String {
        let name = unique("faults-connector");
        let connectors = self.connectors();
        let token = contract_tests::stack().scim_token.clone();
        let model = json!({"Name": name, "BaseUrl": Caller::scim_base_url(&self.scope), "BearerToken": token});
        let made = connectors.call("CREATE", &contract_tests::token(), model, None);
        assert_eq!(made["status"], "SUCCESS", "the walk's connector: {made}");
        name
    }

    /// The type's input `file`, its names carrying `run_id`, its SCIM calls through the proxy.
    fn input(&self, file: &str, run_id: &str) -> Value {
        let mut model = self.served.input(file, run_id);
        if model.get("BaseUrl").is_some() {
            model["BaseUrl"] = Caller::scim_base_url(&self.scope).into();
        }
        if let Some(connector) = &self.connector {
            model["Connector"] = connector.as_str().into();
        }
        model
    }

    fn signer(&self) -> Caller<'_> {
        Caller::Signer(&self.signer)
    }

    fn scope(&self) -> Caller<'_> {
        Caller::Scope(&self.scope)
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for action in ACTIONS.into_iter().filter(|action| chosen("RPDK_FAULT_ACTIONS", action)) {
            let calls = self.calls_of(action);
            let names: Vec<String> = calls.iter().map(|call| format!("{} #{}", call.operation, call.nth)).collect();
            let line =
                format!("{} {action} makes {} calls: {}\n", self.served.type_name, calls.len(), names.join(", "));
            let _ = std::io::stderr().write_all(line.as_bytes());
            for failing in FAULTS.iter().filter(|failing| chosen("RPDK_FAULT_KINDS", failing.name)) {
                let fault = failing.name;
                let mut row = Row {
                    type_name: self.served.type_name.clone(),
                    action,
                    fault,
                    tried: 0,
                    passed: 0,
                    leaked: 0,
                    failures: Vec::new(),
                };
                for call in &calls {
                    let outcome = self.case(action, call, failing);
                    row.tried += 1;
                    row.leaked += usize::from(outcome.leaked);
                    match outcome.failure {
                        None if !outcome.leaked => row.passed += 1,
                        None => row.failures.push(format!(
                            "{} {action}, {} call {} of {}, {fault}: left a resource behind",
                            self.served.type_name,
                            call.operation,
                            call.nth,
                            if call.scim { "SCIM" } else { "AWS" }
                        )),
                        Some(failure) => row.failures.push(format!(
                            "{} {action}, {} call {}, {fault}: {failure}",
                            self.served.type_name, call.operation, call.nth
                        )),
                    }
                }
                // Each row as it ends, straight to stderr: the walk takes minutes.
                let _ = std::io::stderr().write_all(row_line(&row).as_bytes());
                for failure in &row.failures {
                    let _ = std::io::stderr().write_all(format!("  FAILED {failure}\n").as_bytes());
                }
                rows.push(row);
            }
        }
        self.finish();
        rows
    }

    /// The calls `action` makes on a fresh resource, learned from a run without faults.
    fn calls_of(&self, action: &str) -> Vec<Call> {
        let run_id = unique("f");
        let prepared = self.prepare(action, &run_id);
        self.signer().forget_calls();
        self.scope().forget_calls();
        let event = self.send(action, &token(), &prepared);
        assert_eq!(event["status"], "SUCCESS", "{} {action} without faults: {event}", self.served.type_name);
        let mut calls = Vec::new();
        for (scim, seen) in [(false, self.signer().calls()), (true, self.scope().calls())] {
            calls.extend(distinct_calls(&seen).into_iter().map(|(operation, nth)| Call { scim, operation, nth }));
        }
        self.clean_up(&run_id);
        calls
    }

    /// The requests of a case: what the action is sent, and what its resource is.
    fn prepare(&self, action: &str, run_id: &str) -> Prepared {
        let create = self.input("inputs_1_create.json", run_id);
        if action == "CREATE" {
            return Prepared { model: create, previous: None, created: None };
        }
        let made = self.handler.call("CREATE", &token(), create, None);
        assert_eq!(made["status"], "SUCCESS", "{} CREATE to prepare {action}: {made}", self.served.type_name);
        let created = made["resourceModel"].clone();
        let identifier = self.served.identifier(&created);
        let (model, previous) = match action {
            "UPDATE" => {
                let mut desired = self.input("inputs_1_update.json", run_id);
                if let (Some(desired), Some(identifier)) = (desired.as_object_mut(), identifier.as_object()) {
                    desired.extend(identifier.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                (desired, Some(created.clone()))
            }
            "LIST" => (self.served.list_input(&created), None),
            _ => (identifier, None),
        };
        Prepared { model, previous, created: Some(created) }
    }

    /// The action's final event (IN_PROGRESS followed); LIST's first page.
    fn send(&self, action: &str, token: &str, prepared: &Prepared) -> Value {
        if action == "LIST" {
            return self.handler.invoke(&self.handler.request("LIST", token, prepared.model.clone(), None));
        }
        self.handler.call(action, token, prepared.model.clone(), prepared.previous.clone())
    }

    fn case(&self, action: &str, call: &Call, failing: &Failing) -> Outcome {
        let run_id = unique("f");
        let checked = catch_unwind(AssertUnwindSafe(|| self.checked_case(action, call, failing, &run_id)));
        // What a case that stopped half-way left is cleaned up, not counted as a leak.
        let left = catch_unwind(AssertUnwindSafe(|| self.clean_up(&run_id)));
        match checked {
            Ok(()) => Outcome { leaked: left.unwrap_or(true), failure: None },
            Err(panic) => Outcome { leaked: false, failure: Some(panic_message(&*panic)) },
        }
    }

    fn checked_case(&self, action: &str, call: &Call, failing: &Failing, run_id: &str) {
        let prepared = self.prepare(action, run_id);
        let operation_token = token();
        let caller = if call.scim { self.scope() } else { self.signer() };
        let mut rule = FaultRule::new(failing.kind, &call.operation, &caller).from_nth(call.nth).times(failing.times);
        if failing.kind == FaultKind::Stall {
            rule = rule.seconds(STALL_SECONDS);
        }
        if let Some(seconds) = failing.retry_after {
            rule = rule.retry_after(seconds);
        }
        let armed: Fault = rule.arm();
        let first = self.send(action, &operation_token, &prepared);
        let hits = armed.hits();
        drop(armed);
        assert!(hits >= 1, "the call was not made this time (the handler's calls differ run to run): {first}");

        let last = match first["status"].as_str() {
            Some("SUCCESS") => first,
            _ if action == "DELETE" && first["errorCode"] == "NotFound" => first,
            Some("FAILED") => {
                let code = first["errorCode"].as_str().unwrap_or_default();
                assert!(RETRIABLE.contains(&code), "answered {code}, which CloudFormation does not retry: {first}");
                assert!(first.get("callbackDelaySeconds").is_none(), "FAILED with a delay: {first}");
                let again = self.send(action, &operation_token, &prepared);
                let gone = action == "DELETE" && again["errorCode"] == "NotFound";
                assert!(again["status"] == "SUCCESS" || gone, "the same request again did not finish: {again}");
                again
            }
            _ => panic!("no final event: {first}"),
        };
        let identifier = match action {
            "CREATE" => {
                let made = self.carrying(run_id);
                assert_eq!(made.len(), 1, "CREATE made {} resources: {made:?}", made.len());
                Some(self.served.identifier(&last["resourceModel"]))
            }
            "UPDATE" => {
                let identifier = self.served.identifier(&prepared.model);
                let read = self.handler.call("READ", &token(), identifier, None);
                assert_eq!(read["status"], "SUCCESS", "{read}");
                let desired = self.served.without_write_only(&prepared.model);
                assert_model(&desired, &read["resourceModel"], &self.served.unordered());
                Some(self.served.identifier(&prepared.model))
            }
            "DELETE" => {
                let read = self.handler.call("READ", &token(), prepared.model.clone(), None);
                assert_eq!(read["errorCode"], "NotFound", "the deleted resource is still there: {read}");
                None
            }
            _ => prepared.created.as_ref().map(|created| self.served.identifier(created)),
        };
        if let Some(identifier) = identifier {
            let deleted = self.handler.call("DELETE", &token(), identifier, None);
            assert_eq!(deleted["status"], "SUCCESS", "the resource's DELETE: {deleted}");
        }
    }

    /// The models LIST finds that carry `run_id`.
    fn carrying(&self, run_id: &str) -> Vec<Value> {
        let input = self.connector.as_ref().map_or(Value::Null, |connector| json!({"Connector": connector}));
        self.handler.list_all_with(input).into_iter().filter(|model| model.to_string().contains(run_id)).collect()
    }

    /// Deletes what carries `run_id`; answers whether anything did.
    fn clean_up(&self, run_id: &str) -> bool {
        let left = self.carrying(run_id);
        for model in &left {
            let identifier = self.served.identifier(model);
            let deleted = self.handler.call("DELETE", &token(), identifier, None);
            assert_eq!(deleted["status"], "SUCCESS", "cleaning up: {deleted}");
        }
        !left.is_empty()
    }

    /// Deletes the walk's connector.
    fn finish(&self) {
        if let Some(name) = &self.connector {
            let deleted = self.connectors().call("DELETE", &token(), json!({"Name": name}), None);
            assert_eq!(deleted["status"], "SUCCESS", "the walk's connector: {deleted}");
        }
    }
}

/// The calls worth failing, each as (operation, which of its calls): every call, except that a
/// run of one operation called again and again in a row (a loop: a page of tags, a policy
/// each) is tried at its first and its last call.
fn distinct_calls(seen: &[String]) -> Vec<(String, u32)> {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    let numbered: Vec<(&str, u32)> = seen
        .iter()
        .map(|operation| {
            let nth = counts.entry(operation).or_default();
            *nth += 1;
            (operation.as_str(), *nth)
        })
        .collect();
    numbered
        .iter()
        .enumerate()
        .filter(|(i, (operation, _))| {
            let same = |j: Option<usize>| j.and_then(|j| numbered.get(j)).is_some_and(|(other, _)| other == operation);
            !(same(i.checked_sub(1)) && same(Some(i + 1)))
        })
        .map(|(_, (operation, nth))| ((*operation).to_owned(), *nth))
        .collect()
}

/// A case's requests.
struct Prepared {
    model: Value,
    previous: Option<Value>,
    created: Option<Value>,
}
