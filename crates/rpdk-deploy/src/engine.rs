//! The engine: a checked template applied to a stack through the registry handlers, as
//! CloudFormation applies it.
//!
//! Each resource is one job. A job starts once the resources it needs are configured: their
//! model holds the primary identifier and every attribute the template reads of them, even
//! while they still stabilize (optimistic start). Independent jobs run in parallel, each on a
//! thread that follows its handler's IN_PROGRESS events; this thread alone records events and
//! state. A failure stops new starts, lets running jobs end, and rolls back this run's changes
//! in reverse dependency order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rpdk::Action;
use rpdk::hook::InvocationPoint;
use rpdk_local::{Call, new_token, stringified};
use serde_json::{Map, Value, json};

use crate::evaluate::{Bindings, Resources};
use crate::hooks::{ActiveHook, Check, FailureMode, Outcome};
use crate::plan::Neighbours;
use crate::record::{Recorder, stamped};
use crate::schedule::{Job, Kind, LIMITS, Schedule};
use crate::site::Site;
use crate::state::{
    HookMark, MASK, Operation, REPLACED, ResourceState, STACK_TYPE, StackEvent, StackState, Store, holds_mask,
    mask_secrets, masked, restored,
};
use crate::status::{Stage, Status, Verb};
use crate::template::{Template, TypeInfo, dynamic_references, is_custom, scalar_text};
use crate::{Error, custom, operate};

/// What a resource, and then the stack, reach once their models hold what others read of them.
const CONFIGURATION_COMPLETE: Status = Status::new(Verb::Configuration, Stage::Complete);

/// Handler error codes worth another attempt once the resources a job needs have stabilized.
const RETRIABLE: &[&str] =
    &["NotStabilized", "ResourceConflict", "Throttling", "NetworkFailure", "ServiceInternalError"];
/// Attempts of one job, the first included: a retry waits until what the job needs has
/// completed, so a second retriable failure is the resource's own.
const ATTEMPTS: u32 = 2;

/// A type served on the local stack.
#[derive(Clone, Debug)]
pub struct ServedType {
    /// The type's schema, as the engine reads it.
    pub info: TypeInfo,
    /// The handler binary, as the Lambda function name.
    pub function: String,
}

/// How a job begins.
enum Begin {
    /// Nothing to do: the resource already matches.
    Done,
    Failed(String),
    Run(Box<Call>),
}

/// What a job's event means for the schedule.
#[derive(PartialEq, Eq)]
enum Progress {
    Waiting,
    Configured,
    Completed,
    Failed(String),
    Retry,
}

enum Message {
    Event(String, Value),
    /// A job's thread ended, after the attempt numbered, with the reason it failed if it could
    /// not follow its operation to the end.
    Ended(String, u32, Option<String>),
}

/// The template being applied, for `Apply` jobs.
struct Plan<'t> {
    template: &'t Template,
    bindings: &'t Bindings,
}

/// A stack's state, as `Ref` and `Fn::GetAtt` see it.
struct StateResources<'s>(&'s BTreeMap<String, ResourceState>);

impl Resources for StateResources<'_> {
    fn reference(&self, resource: &str) -> Option<Value> {
        self.0.get(resource)?.physical_id.clone().map(Value::String)
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Option<Value> {
        let pointer = format!("/{}", attribute.replace('.', "/"));
        self.0.get(resource)?.model.as_ref()?.pointer(&pointer).filter(|value| !value.is_null()).cloned()
    }
}

/// Values by name: outputs, exports.
type Values = BTreeMap<String, Value>;

/// One run of a deploy or delete of one stack.
pub(crate) struct Engine<'a> {
    site: &'a Site<'a>,
    recorder: Recorder<'a>,
    /// The stack's state, updated as the run goes.
    pub state: StackState,
    /// Whether this run continues one that was interrupted.
    pub resuming: bool,
    /// This run's resolved properties per resource, secrets included, in memory only.
    desired: BTreeMap<String, Value>,
    configured_announced: BTreeSet<String>,
    /// The other stacks, whose exports this one may import or must not take.
    pub neighbours: Neighbours,
    /// The type configuration each type runs with, never stored.
    pub configurations: BTreeMap<String, Value>,
    /// The hooks activated on the local stack, with their configurations.
    pub hooks: Vec<ActiveHook>,
    /// The document a stack hook reads (`{"Template": text}`), for a deploy.
    pub stack_document: Option<Value>,
}

impl<'a> Engine<'a> {
    /// A run on `state`, recorded in `store`, not yet begun; `secrets` are never written.
    pub fn new(site: &'a Site<'a>, store: &'a Store, state: StackState, secrets: Vec<String>) -> Self {
        Self {
            site,
            recorder: Recorder::new(store, site.printer, secrets),
            state,
            resuming: false,
            desired: BTreeMap::new(),
            configured_announced: BTreeSet::new(),
            neighbours: Neighbours::default(),
            configurations: site.configurations.clone(),
            hooks: Vec::new(),
            stack_document: None,
        }
    }

    /// Creates or updates the stack to match the template; rolls back on failure.
    pub fn deploy(&mut self, template: &Template, bindings: &Bindings) -> Result<(), Error> {
        self.check_served()?;
        let creating =
            self.state.resources.values().all(|resource| resource.run == self.state.run && resource.previous.is_none());
        let verb = if creating { Verb::Create } else { Verb::Update };
        let rollback = Status::new(if creating { Verb::Rollback } else { Verb::UpdateRollback }, Stage::InProgress);
        if self.state.status.rolling_back() && self.state.status.stage == Stage::InProgress {
            // The interrupted run was rolling back: finish that first.
            let status = self.state.status;
            self.rollback(status, "Resuming the rollback of the interrupted run")?;
        }
        let reason = self.resuming.then(|| "Resuming the run that was interrupted".to_owned());
        self.stack_status(Status::new(verb, Stage::InProgress), reason)?;
        let wanted: BTreeSet<String> = template
            .resources
            .iter()
            .filter(|(_, r)| bindings.holds(r.condition.as_ref()))
            .map(|(name, _)| name.clone())
            .collect();
        let jobs = wanted
            .iter()
            .map(|name| Job {
                waits_for: template.dependencies(name).intersection(&wanted).cloned().collect(),
                ..Job::new(name, Kind::Apply, &template.resources[name].type_name)
            })
            .collect();
        let plan = Plan { template, bindings };
        let point = if creating { InvocationPoint::PreCreate } else { InvocationPoint::PreUpdate };
        let refused = if self.resuming { None } else { self.stack_hooks(point)? };
        let failures = match &refused {
            Some(reason) => vec![(self.state.stack_name.clone(), reason.clone())],
            None => self.run_jobs(jobs, Some(&plan))?,
        };
        if !failures.is_empty() {
            let names: Vec<&str> = failures.iter().map(|(name, _)| name.as_str()).collect();
            let verb_lower = if creating { "create" } else { "update" };
            let summary = refused.clone().unwrap_or_else(|| {
                format!("The following resource(s) failed to {verb_lower}: [{}].", names.join(", "))
            });
            self.rollback(rollback, &summary)?;
            let (name, reason) = &failures[0];
            return Err(Error::RolledBack {
                stack: self.state.stack_name.clone(),
                reason: format!("{name} failed: {}", self.recorder.masked(reason)),
            });
        }
        match self.outputs(template, bindings) {
            Ok((outputs, exports)) => (self.state.outputs, self.state.exports) = (outputs, exports),
            Err(problem) => {
                self.rollback(rollback, &problem)?;
                return Err(Error::RolledBack {
                    stack: self.state.stack_name.clone(),
                    reason: self.recorder.masked(&problem),
                });
            }
        }
        if !creating {
            self.stack_status(Status::new(Verb::UpdateCompleteCleanup, Stage::InProgress), None)?;
            let cleanup = self.cleanup_jobs(&wanted);
            // CloudFormation ends the update even when removing an old resource fails; the
            // resource stays in the state, DELETE_FAILED, and the next update retries it.
            self.run_jobs(cleanup, None)?;
        }
        // What was updated in place stays as it is now: nothing left to roll back to.
        self.forget_updates_in_place();
        // Unchanged resources take this template's dependencies too: later deletes follow it.
        for name in &wanted {
            if let Some(resource) = self.state.resources.get_mut(name) {
                resource.dependencies = template.dependencies(name);
            }
        }
        self.stack_status(Status::new(verb, Stage::Complete), None)
    }

    /// Deletes every resource of the stack, dependents first.
    pub fn delete(&mut self) -> Result<(), Error> {
        self.check_served()?;
        // An update in place left unfinished is one resource, deleted once, under its own
        // DeletionPolicy.
        self.forget_updates_in_place();
        self.stack_status(Status::new(Verb::Delete, Stage::InProgress), None)?;
        let mut jobs = Vec::new();
        for (name, resource) in &self.state.resources {
            let mut dependents: BTreeSet<String> = self
                .state
                .resources
                .iter()
                .filter(|(_, other)| other.dependencies.contains(name))
                .map(|(other, _)| other.clone())
                .collect();
            if resource.previous.is_some() {
                let previous = Job {
                    waits_for: dependents.iter().map(|d| format!("{d}#previous")).collect(),
                    ..Job::new(name, Kind::Delete { previous: true, rollback: false }, &resource.type_name)
                };
                // The resource it replaced goes first: deleting the resource itself puts the
                // one it replaced back in its place (as a rollback wants), which would then be
                // left.
                dependents.insert(previous.key());
                jobs.push(previous);
            }
            jobs.push(Job {
                waits_for: dependents,
                ..Job::new(name, Kind::Delete { previous: false, rollback: false }, &resource.type_name)
            });
        }
        let failures = self.run_jobs(jobs, None)?;
        if let Some((name, reason)) = failures.first() {
            let summary = format!("The following resource(s) failed to delete: [{name}].");
            self.stack_status(Status::new(Verb::Delete, Stage::Failed), Some(summary))?;
            return Err(Error::NotDeleted {
                stack: self.state.stack_name.clone(),
                reason: format!("{name}: {}", self.recorder.masked(reason)),
            });
        }
        self.stack_status(Status::new(Verb::Delete, Stage::Complete), None)
    }

    /// Drops the earlier state of each resource updated in place (same identifier), keeping
    /// that of replacements, whose old resource is still to be deleted.
    fn forget_updates_in_place(&mut self) {
        for resource in self.state.resources.values_mut() {
            if resource.previous.as_ref().is_some_and(|previous| previous.physical_id == resource.physical_id) {
                resource.previous = None;
            }
        }
    }

    /// Every type the state holds still has a handler here: a stack is changed and deleted by
    /// the handlers that made it.
    fn check_served(&self) -> Result<(), Error> {
        let held = self
            .state
            .resources
            .values()
            .flat_map(|resource| std::iter::once(resource).chain(resource.previous.as_deref()));
        let missing: BTreeSet<&str> = held
            .map(|resource| resource.type_name.as_str())
            .filter(|name| !is_custom(name) && !self.site.types.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            let missing = missing.into_iter().collect::<Vec<_>>().join(", ");
            return Err(Error::Unserved { stack: self.state.stack_name.clone(), missing });
        }
        Ok(())
    }

    /// Undoes this run's changes: what it created is deleted, what it replaced or updated is
    /// put back, dependents first.
    fn rollback(&mut self, status: Status, reason: &str) -> Result<(), Error> {
        self.stack_status(status, Some(reason.to_owned()))?;
        let run = self.state.run.clone();
        let touched: BTreeSet<String> =
            self.state.resources.iter().filter(|(_, r)| r.run == run).map(|(name, _)| name.clone()).collect();
        let mut jobs = Vec::new();
        for name in &touched {
            let resource = &self.state.resources[name];
            let kind = match &resource.previous {
                Some(previous) if previous.physical_id == resource.physical_id => Kind::Revert,
                _ => Kind::Delete { previous: false, rollback: true },
            };
            let dependents = touched
                .iter()
                .filter(|other| self.state.resources[*other].dependencies.contains(name))
                .cloned()
                .collect();
            jobs.push(Job { waits_for: dependents, ..Job::new(name, kind, &resource.type_name) });
        }
        let failures = self.run_jobs(jobs, None)?;
        // The resources went back to the stack's tags before the run; so does the stack.
        self.state.tags = self.state.tags_before.clone();
        let done = status.at(if failures.is_empty() { Stage::Complete } else { Stage::Failed });
        // A complete rollback keeps the reason it began with: what failed.
        let reason = failures
            .first()
            .map_or_else(|| reason.to_owned(), |(name, failure)| format!("{name} could not be rolled back: {failure}"));
        self.stack_status(done, Some(reason))
    }

    /// Old resources to delete after a successful update: those the template no longer has,
    /// and those replaced. Dependents go first.
    fn cleanup_jobs(&self, wanted: &BTreeSet<String>) -> Vec<Job> {
        let old_dependencies = |resource: &ResourceState| {
            resource.previous.as_ref().map_or(&resource.dependencies, |p| &p.dependencies).clone()
        };
        let mut jobs = Vec::new();
        let mut keys = BTreeMap::new();
        for (name, resource) in &self.state.resources {
            let job = if !wanted.contains(name) {
                Job::new(name, Kind::Delete { previous: false, rollback: false }, &resource.type_name)
            } else if resource.previous.as_ref().is_some_and(|previous| previous.physical_id != resource.physical_id) {
                Job::new(name, Kind::Delete { previous: true, rollback: false }, &resource.type_name)
            } else {
                continue;
            };
            keys.insert(name.clone(), job.key());
            jobs.push(job);
        }
        for job in &mut jobs {
            job.waits_for = self
                .state
                .resources
                .iter()
                .filter(|(other, resource)| {
                    keys.contains_key(*other) && old_dependencies(resource).contains(&job.logical_id)
                })
                .map(|(other, _)| keys[other].clone())
                .collect();
        }
        jobs
    }

    /// Runs jobs to their end in dependency order, independent ones in parallel within the
    /// [`LIMITS`]; answers the failed jobs and why. After a failure no job starts; running ones
    /// finish.
    fn run_jobs(&mut self, jobs: Vec<Job>, plan: Option<&Plan<'_>>) -> Result<Vec<(String, String)>, Error> {
        let mut schedule = Schedule::new(jobs, LIMITS);
        let backend = self.site.backend;
        let (sender, receiver) = mpsc::channel::<Message>();
        // When each running job last heard from its handler.
        let mut heard: BTreeMap<String, Instant> = BTreeMap::new();
        let mut stack_configured = false;
        std::thread::scope(|scope| -> Result<(), Error> {
            loop {
                // Jobs with nothing to do complete at once and may free others.
                while let Some(running) = schedule.start_next() {
                    let job = running.job.clone();
                    let key = job.key();
                    match self.begin(&job, plan)? {
                        Begin::Done => {
                            schedule.completed(&key);
                            schedule.stopped(&key, job.attempts);
                        }
                        Begin::Failed(reason) => {
                            schedule.failed(&job.logical_id, reason);
                            schedule.stopped(&key, job.attempts);
                        }
                        Begin::Run(call) => {
                            let sender = sender.clone();
                            let thread_key = key.clone();
                            let attempt = job.attempts;
                            scope.spawn(move || {
                                let outcome = operate(backend, &call, &mut |event| {
                                    sender
                                        .send(Message::Event(thread_key.clone(), event.clone()))
                                        .map_err(|_| Error::Internal("the engine stopped listening".to_owned()))
                                });
                                let failure = outcome.err().map(|error| match error {
                                    Error::Local(unfinished @ rpdk_local::Error::Unfinished { .. }) => {
                                        format!("the operation timed out: {unfinished}")
                                    }
                                    other => format!("the handler could not be invoked: {other}"),
                                });
                                let _ = sender.send(Message::Ended(thread_key, attempt, failure));
                            });
                            heard.insert(key, Instant::now());
                        }
                    }
                }
                if plan.is_some() && !stack_configured && schedule.all_configured() {
                    stack_configured = true;
                    let name = self.state.stack_name.clone();
                    let id = self.state.stack_id.clone();
                    self.emit(&name, STACK_TYPE, Some(id), CONFIGURATION_COMPLETE, None)?;
                }
                if !schedule.is_running() {
                    let stuck = schedule.stuck();
                    if !stuck.is_empty() {
                        return Err(Error::Internal(format!("jobs that can never start: {}", stuck.join(", "))));
                    }
                    return Ok(());
                }
                let message = match receiver.recv_timeout(Duration::from_secs(1)) {
                    Ok(message) => message,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        let waits: Vec<String> = schedule
                            .running_keys()
                            .map(|key| {
                                let since = heard.get(key).map_or(0, |since| since.elapsed().as_secs());
                                format!("{key} {since} s")
                            })
                            .collect();
                        self.recorder.waiting(&format!("waiting on {}", waits.join(", ")));
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(Error::Internal("every job thread ended".to_owned()));
                    }
                };
                match message {
                    Message::Event(key, event) => {
                        let Some(running) = schedule.running(&key) else { continue };
                        let (job, early) = (running.job.clone(), running.early);
                        heard.insert(key.clone(), Instant::now());
                        match self.progress(&job, &event, plan, early)? {
                            Progress::Waiting => {}
                            Progress::Configured => schedule.configured(&key),
                            Progress::Completed => schedule.completed(&key),
                            Progress::Retry => schedule.retry(&key),
                            Progress::Failed(reason) => schedule.failed(&job.logical_id, reason),
                        }
                    }
                    Message::Ended(key, attempt, failure) => {
                        // A retried job's first thread ends after its second has started.
                        let Some(job) = schedule.stopped(&key, attempt) else { continue };
                        heard.remove(&key);
                        if let Some(reason) = failure {
                            self.finish_failed(&job, &reason)?;
                            schedule.failed(&job.logical_id, reason);
                        }
                    }
                }
            }
        })?;
        Ok(schedule.into_failures())
    }

    /// Decides what a job does and records it before the first request is sent.
    fn begin(&mut self, job: &Job, plan: Option<&Plan<'_>>) -> Result<Begin, Error> {
        match (job.kind, plan) {
            (Kind::Apply, Some(plan)) => self.begin_apply(job, plan),
            (Kind::Apply, None) => Err(Error::Internal("an Apply job without a template".to_owned())),
            (Kind::Delete { previous, rollback }, _) => self.begin_delete(&job.logical_id, previous, rollback),
            (Kind::Revert, _) => self.begin_revert(&job.logical_id),
        }
    }

    fn begin_apply(&mut self, job: &Job, plan: &Plan<'_>) -> Result<Begin, Error> {
        let name = &job.logical_id;
        let resource = &plan.template.resources[name];
        let info = self.info(&resource.type_name);
        let evaluated = match plan.bindings.evaluate(&resource.properties, &StateResources(&self.state.resources)) {
            Ok(value) => value.unwrap_or_else(|| json!({})),
            Err(problem) => {
                return self.refuse_apply(job, resource.type_name.clone(), format!("Properties: {problem}"));
            }
        };
        let saved = masked(&evaluated, self.recorder.secrets(), &info.write_only, &BTreeSet::new());
        let resolved = match self.resolve(&evaluated, &resource.type_name) {
            Ok(resolved) => resolved,
            Err(problem) => return self.refuse_apply(job, resource.type_name.clone(), problem),
        };
        if let Err(problem) = self.function(&resource.type_name, Some(&resolved)) {
            return self.refuse_apply(job, resource.type_name.clone(), problem);
        }
        self.desired.insert(name.clone(), resolved.clone());
        if let Some(entry) = self.state.resources.get_mut(name) {
            // A policy takes effect without a request, as on CloudFormation.
            entry.deletion_policy.clone_from(&resource.deletion_policy);
            entry.update_replace_policy.clone_from(&resource.update_replace_policy);
        }
        let existing = self.state.resources.get(name).cloned();

        // An operation the interrupted run left under way continues from its checkpoint.
        if let Some(existing) = existing.as_ref().filter(|e| self.resuming && e.run == self.state.run)
            && let Some(operation) = existing.operation.as_ref().filter(|op| op.action != Action::Delete)
        {
            let model = existing.model.as_ref().map_or_else(|| resolved.clone(), |model| restored(model, &resolved));
            let previous =
                existing.previous.as_ref().and_then(|p| p.properties.as_ref()).map(|p| restored(p, &resolved));
            let status = existing.status;
            let physical = existing.physical_id.clone();
            self.emit(
                name,
                &resource.type_name,
                physical,
                status,
                Some("Resuming the operation the interrupted run left under way".to_owned()),
            )?;
            let mut call = match self.call(name, &resource.type_name, operation.action, Some(model), previous) {
                Ok(call) => call,
                Err(problem) => return self.refuse_apply(job, resource.type_name.clone(), problem),
            };
            call.token = operation.token.clone();
            call.context = operation.context.clone();
            self.keep_in_flight(name, &call)?;
            return Ok(Begin::Run(Box::new(call)));
        }

        // A retry begins where the first attempt began: from the resource before this run.
        let existing = if job.attempts > 0 {
            existing.and_then(|attempt| attempt.previous).map(|before| *before)
        } else {
            existing
        };
        let dependencies = plan.template.dependencies(name);
        let (action, previous, reason) = match existing.filter(|e| e.physical_id.is_some()) {
            None => (Action::Create, None, None),
            Some(existing) => {
                let old = existing.properties.clone().unwrap_or_else(|| json!({}));
                // A change of the stack's tags alone updates what carries them, as on CloudFormation.
                let retag = info.taggable && self.state.tags != self.state.tags_before;
                if old == saved && !holds_mask(&saved) && existing.status.stage == Stage::Complete && !retag {
                    return Ok(Begin::Done);
                }
                if is_custom(&resource.type_name) && saved.get("ServiceToken") != old.get("ServiceToken") {
                    // As CloudFormation refuses it: the function that made it must change it.
                    let reason = "Modifying service token is not allowed.".to_owned();
                    self.emit(
                        name,
                        &resource.type_name,
                        existing.physical_id.clone(),
                        Status::new(Verb::Update, Stage::Failed),
                        Some(reason.clone()),
                    )?;
                    return Ok(Begin::Failed(reason));
                }
                let replaced: Vec<&String> = info
                    .create_only
                    .iter()
                    .filter(|p| saved.get(*p) != old.get(*p) && !saved.get(*p).is_some_and(holds_mask))
                    .collect();
                if replaced.is_empty() {
                    let reason = holds_mask(&saved).then(|| {
                        "Sent again: NoEcho and write-only values are not kept, so they are compared as changed"
                            .to_owned()
                    });
                    (Action::Update, Some(existing), reason)
                } else {
                    let custom: Vec<&String> =
                        info.primary_identifier.iter().filter(|p| !info.attributes.contains(*p)).collect();
                    let same_name = !custom.is_empty()
                        && custom.len() == info.primary_identifier.len()
                        && custom.iter().all(|p| {
                            saved.get(*p).is_some() && saved.get(*p) == existing.model.as_ref().and_then(|m| m.get(*p))
                        });
                    if same_name {
                        let properties = custom.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
                        let reason = format!(
                            "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename {name} ({properties}) and update the stack again."
                        );
                        let physical = existing.physical_id.clone();
                        let status = Status::new(Verb::Update, Stage::Failed);
                        self.emit(name, &resource.type_name, physical, status, Some(reason.clone()))?;
                        return Ok(Begin::Failed(reason));
                    }
                    let names = replaced.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
                    (
                        Action::Create,
                        Some(existing),
                        Some(format!(
                            "Requested update requires the creation of a new physical resource ({names} changed); hence creating one."
                        )),
                    )
                }
            }
        };
        if job.attempts == 0 {
            let point = if action == Action::Create { InvocationPoint::PreCreate } else { InvocationPoint::PreUpdate };
            let mut target_model = json!({"resourceProperties": stringified(&saved)});
            if let Some(old) =
                previous.as_ref().filter(|_| action == Action::Update).and_then(|p| p.properties.as_ref())
            {
                target_model["previousResourceProperties"] = stringified(old);
            }
            let physical = previous.as_ref().and_then(|p| p.physical_id.clone());
            if let Some(refusal) = self.run_hooks(name, &resource.type_name, point, target_model, None, physical)? {
                return self.refuse_apply(job, resource.type_name.clone(), refusal);
            }
        }
        let token = new_token();
        let status = Status::new(if previous.is_some() { Verb::Update } else { Verb::Create }, Stage::InProgress);
        let mut model = resolved.clone();
        let keeps_identity = action == Action::Update;
        // A replacement is a CREATE, which CloudFormation sends without previous properties.
        let previous_properties = previous
            .as_ref()
            .filter(|_| keeps_identity)
            .and_then(|p| p.properties.as_ref())
            .map(|p| restored(p, &resolved));
        if keeps_identity
            && let (Some(model), Some(Value::Object(old))) =
                (model.as_object_mut(), previous.as_ref().and_then(|p| p.model.as_ref()))
        {
            // As CloudFormation sends an update: the template's properties with the resource's
            // primary identifier.
            for property in &info.primary_identifier {
                if let Some(value) = old.get(property) {
                    model.insert(property.clone(), value.clone());
                }
            }
        }
        let stale_replacement = previous
            .as_ref()
            .and_then(|p| p.previous.as_deref().filter(|old| old.physical_id != p.physical_id).cloned());
        let entry = ResourceState {
            type_name: resource.type_name.clone(),
            status,
            physical_id: previous.as_ref().filter(|_| keeps_identity).and_then(|p| p.physical_id.clone()),
            model: previous.as_ref().filter(|_| keeps_identity).and_then(|p| p.model.clone()),
            properties: Some(saved),
            dependencies,
            run: self.state.run.clone(),
            operation: Some(Operation { action, token: token.clone(), context: None }),
            deletion_policy: resource.deletion_policy.clone(),
            update_replace_policy: resource.update_replace_policy.clone(),
            previous: previous.map(|mut p| {
                p.previous = None;
                p.operation = None;
                Box::new(p)
            }),
        };
        let physical = entry.physical_id.clone();
        if let Some(replaced) = stale_replacement {
            // Replaced in an earlier run and not yet deleted: it keeps its own place in the
            // state so a later cleanup or delete still removes it.
            let key = format!("{name}{REPLACED}{}", replaced.physical_id.as_deref().unwrap_or_default());
            self.state.resources.insert(key, replaced);
        }
        self.state.resources.insert(name.clone(), entry);
        self.emit(name, &resource.type_name, physical, status, reason)?;
        let mut call = match self.call(name, &resource.type_name, action, Some(model), previous_properties) {
            Ok(call) => call,
            Err(problem) => return self.refuse_apply(job, resource.type_name.clone(), problem),
        };
        call.token = token;
        self.keep_in_flight(name, &call)?;
        Ok(Begin::Run(Box::new(call)))
    }

    /// A resource that cannot start: recorded as failed without a request.
    fn refuse_apply(&mut self, job: &Job, type_name: String, reason: String) -> Result<Begin, Error> {
        let existing = self.state.resources.get(&job.logical_id);
        let verb = if existing.is_some_and(|e| e.physical_id.is_some()) { Verb::Update } else { Verb::Create };
        let status = Status::new(verb, Stage::Failed);
        let physical = existing.and_then(|e| e.physical_id.clone());
        self.emit(&job.logical_id, &type_name, physical, status, Some(reason.clone()))?;
        Ok(Begin::Failed(reason))
    }

    fn begin_delete(&mut self, name: &str, previous: bool, rollback: bool) -> Result<Begin, Error> {
        let Some(resource) = self.target(name, previous).cloned() else { return Ok(Begin::Done) };
        if let Some(policy) = self.retention(name, &resource, previous, rollback) {
            self.remove_target(name, previous);
            self.emit(
                name,
                &resource.type_name,
                resource.physical_id.clone(),
                Status::new(Verb::Delete, Stage::Skipped),
                Some(format!("Retained ({policy}); delete it yourself when it is no longer needed")),
            )?;
            return Ok(Begin::Done);
        }
        let unanswered = resource.physical_id.is_none() && !previous;
        let resource = match resource.operation.as_ref().filter(|op| unanswered && op.action == Action::Create) {
            Some(operation) => self.learn_what_was_made(name, resource.clone(), &operation.token)?,
            None => resource,
        };
        let Some(physical) = resource.physical_id.clone() else {
            // Nothing was created, unless a create request never answered and its request was
            // not kept: that one is named.
            self.remove_target(name, previous);
            if resource.operation.is_some() {
                let reason = "Its create request never answered: if the handler made it, it is not known here; look for it in the local stack";
                let status = Status::new(Verb::Delete, Stage::Complete);
                self.emit(name, &resource.type_name, None, status, Some(reason.to_owned()))?;
            }
            self.save()?;
            return Ok(Begin::Done);
        };
        let mut identifier = Map::new();
        if is_custom(&resource.type_name)
            && let Some(Value::Object(properties)) =
                resource.properties.as_ref().map(|p| restored(p, self.desired.get(name).unwrap_or(&Value::Null)))
        {
            // CloudFormation sends a custom resource's last properties with its Delete.
            identifier = properties;
        }
        let parts: Vec<&str> = physical.split('|').collect();
        for (index, property) in self.info(&resource.type_name).primary_identifier.iter().enumerate() {
            let value = resource
                .model
                .as_ref()
                .and_then(|m| m.get(property))
                .cloned()
                .or_else(|| parts.get(index).map(|part| json!(part)));
            if let Some(value) = value {
                identifier.insert(property.clone(), value);
            }
        }
        let (token, context) = match resource.operation.as_ref().filter(|op| op.action == Action::Delete) {
            Some(operation) => (operation.token.clone(), operation.context.clone()),
            None => {
                // A rollback and the removal of what an update replaced are not checked, as
                // CloudFormation does not check them.
                if !rollback && !previous {
                    let properties = stringified(resource.properties.as_ref().unwrap_or(&json!({})));
                    let target_model = json!({"resourceProperties": properties});
                    let point = InvocationPoint::PreDelete;
                    let physical = Some(physical.clone());
                    if let Some(refusal) =
                        self.run_hooks(name, &resource.type_name, point, target_model, None, physical)?
                    {
                        return self.unstartable(name, previous, Status::new(Verb::Delete, Stage::Failed), refusal);
                    }
                }
                (new_token(), None)
            }
        };
        if let Some(target) = self.target_mut(name, previous) {
            target.status = Status::new(Verb::Delete, Stage::InProgress);
            target.operation =
                Some(Operation { action: Action::Delete, token: token.clone(), context: context.clone() });
        }
        self.save()?;
        self.emit(name, &resource.type_name, Some(physical), Status::new(Verb::Delete, Stage::InProgress), None)?;
        let mut call = match self.call(name, &resource.type_name, Action::Delete, Some(Value::Object(identifier)), None)
        {
            Ok(call) => call,
            Err(problem) => return self.unstartable(name, previous, Status::new(Verb::Delete, Stage::Failed), problem),
        };
        call.token = token;
        call.context = context;
        Ok(Begin::Run(Box::new(call)))
    }

    /// The policy that keeps a resource instead of deleting it, if one does: a replaced resource
    /// follows the `UpdateReplacePolicy` of what replaced it; any other, its `DeletionPolicy`,
    /// where `RetainExceptOnCreate` lets a rollback delete what the failed run created.
    fn retention(&self, name: &str, resource: &ResourceState, previous: bool, rollback: bool) -> Option<String> {
        let policy = if previous {
            self.state.resources.get(name).and_then(|replacement| replacement.update_replace_policy.clone())
        } else if name.contains(REPLACED) {
            resource.update_replace_policy.clone()
        } else {
            resource.deletion_policy.clone().filter(|policy| !(rollback && policy == "RetainExceptOnCreate"))
        };
        policy.filter(|policy| policy != "Delete")
    }

    fn begin_revert(&mut self, name: &str) -> Result<Begin, Error> {
        let resource = self.state.resources[name].clone();
        let Some(previous) = resource.previous.as_deref() else { return Ok(Begin::Done) };
        let desired = self.desired.get(name).cloned().unwrap_or_else(|| json!({}));
        let Some(properties) = previous.properties.as_ref().map(|p| restored(p, &desired)) else {
            return Ok(Begin::Done);
        };
        let mut model = properties.clone();
        if let (Some(model), Some(Value::Object(current))) = (model.as_object_mut(), resource.model.as_ref()) {
            for property in &self.info(&resource.type_name).primary_identifier {
                if let Some(value) = current.get(property) {
                    model.insert(property.clone(), value.clone());
                }
            }
        }
        let token = new_token();
        if let Some(target) = self.state.resources.get_mut(name) {
            target.status = Status::new(Verb::Update, Stage::InProgress);
            target.operation = Some(Operation { action: Action::Update, token: token.clone(), context: None });
        }
        self.emit(
            name,
            &resource.type_name,
            resource.physical_id.clone(),
            Status::new(Verb::Update, Stage::InProgress),
            Some("Rolling back to the properties before this run".to_owned()),
        )?;
        let current = resource.properties.as_ref().map(|p| restored(p, &desired));
        let mut call = match self.call(name, &resource.type_name, Action::Update, Some(model), current) {
            Ok(call) => call,
            Err(problem) => return self.unstartable(name, false, Status::new(Verb::Update, Stage::Failed), problem),
        };
        call.token = token;
        Ok(Begin::Run(Box::new(call)))
    }

    fn call(
        &self,
        name: &str,
        type_name: &str,
        action: Action,
        model: Option<Value>,
        previous: Option<Value>,
    ) -> Result<Call, String> {
        let function = self.function(type_name, model.as_ref())?;
        let mut call = Call::new(&function, type_name, action, model, previous);
        call.logical_id = name.to_owned();
        call.stack_id = Some(self.state.stack_id.clone());
        call.type_configuration = self.configurations.get(type_name).cloned();
        call.timeout = self.info(type_name).timeout(action);
        // As CloudFormation sends them: the stack's tags (those before the run while it rolls
        // back) to taggable types, and its own system tags to every type.
        if self.info(type_name).taggable {
            let (tags, previous_tags) = if self.state.status.rolling_back() {
                (&self.state.tags_before, &self.state.tags)
            } else {
                (&self.state.tags, &self.state.tags_before)
            };
            call.stack_tags = tags.clone();
            call.previous_stack_tags = (action == Action::Update).then(|| previous_tags.clone());
        }
        call.system_tags = BTreeMap::from([
            ("aws:cloudformation:stack-name".to_owned(), self.state.stack_name.clone()),
            ("aws:cloudformation:stack-id".to_owned(), self.state.stack_id.clone()),
            ("aws:cloudformation:logical-id".to_owned(), name.to_owned()),
        ]);
        Ok(call)
    }

    /// What the engine knows of a type; the template check proved every type is served.
    fn info(&self, type_name: &str) -> &'a TypeInfo {
        if is_custom(type_name) { custom::info() } else { &self.site.types[type_name].info }
    }

    /// The function serving a resource: its type's handler, or the one a custom resource's
    /// `ServiceToken` (in `properties`) names.
    fn function(&self, type_name: &str, properties: Option<&Value>) -> Result<String, String> {
        if !is_custom(type_name) {
            return Ok(self.site.types[type_name].function.clone());
        }
        let served = self.site.types.values().map(|served| served.function.clone()).collect();
        let token = properties
            .and_then(|p| p.get("ServiceToken"))
            .and_then(Value::as_str)
            .ok_or("a custom resource needs a ServiceToken")?;
        custom::function(token, &served)
    }

    /// A job that cannot send its request: recorded as failed with the reason.
    fn unstartable(&mut self, name: &str, previous: bool, status: Status, reason: String) -> Result<Begin, Error> {
        let Some(target) = self.target_mut(name, previous) else { return Ok(Begin::Failed(reason)) };
        target.status = status;
        target.operation = None;
        let (type_name, physical) = (target.type_name.clone(), target.physical_id.clone());
        self.emit(name, &type_name, physical, status, Some(reason.clone()))?;
        Ok(Begin::Failed(reason))
    }

    /// Records one handler event of a job; answers what it means for the schedule.
    /// `early`: the job started before everything it needs had completed.
    fn progress(&mut self, job: &Job, event: &Value, plan: Option<&Plan<'_>>, early: bool) -> Result<Progress, Error> {
        let progress = self.progress_event(job, event, plan, early)?;
        let name = &job.logical_id;
        let answered = event.get("status").and_then(Value::as_str) != Some("IN_PROGRESS")
            || self.state.resources.get(name).is_some_and(|r| r.physical_id.is_some());
        if job.kind == Kind::Apply && answered {
            // The state now says what the create made (or that it made nothing): its request
            // need not be kept.
            self.save()?;
            self.recorder.store().answered(name)?;
        }
        Ok(progress)
    }

    fn progress_event(
        &mut self,
        job: &Job,
        event: &Value,
        plan: Option<&Plan<'_>>,
        early: bool,
    ) -> Result<Progress, Error> {
        let name = &job.logical_id;
        let previous = matches!(job.kind, Kind::Delete { previous: true, .. });
        let Some(resource) = self.target(name, previous).cloned() else { return Ok(Progress::Completed) };
        let info = self.info(&resource.type_name);
        let status = event.get("status").and_then(Value::as_str).unwrap_or_default();
        let deleting = matches!(job.kind, Kind::Delete { .. });
        if !deleting && let Some(model) = event.get("resourceModel").filter(|m| m.is_object()) {
            let physical = physical_id(model, &info.primary_identifier);
            let model = masked(model, self.recorder.secrets(), &info.write_only, &info.attributes);
            let failed = status == "FAILED";
            if let Some(target) = self.target_mut(name, previous) {
                // A failure's model is not the resource's; only an identifier it reports for
                // the first time counts, so the rollback deletes what the attempt made.
                if !failed {
                    target.model = Some(model);
                }
                if physical.is_some() && (!failed || target.physical_id.is_none()) {
                    target.physical_id = physical;
                }
            }
        }
        let verb = resource.status.verb;
        match status {
            "IN_PROGRESS" => {
                if let Some(target) = self.target_mut(name, previous)
                    && let Some(operation) = target.operation.as_mut()
                {
                    operation.context = event.get("callbackContext").cloned().filter(|c| !c.is_null());
                }
                self.save()?;
                if job.kind == Kind::Apply && self.configured(name, plan) {
                    self.announce_configured(name)?;
                    return Ok(Progress::Configured);
                }
                Ok(Progress::Waiting)
            }
            "SUCCESS" => {
                if job.kind == Kind::Apply {
                    self.announce_configured(name)?;
                }
                match job.kind {
                    Kind::Delete { .. } => self.remove_target(name, previous),
                    Kind::Revert => {
                        if let Some(target) = self.state.resources.get_mut(name)
                            && let Some(before) = target.previous.take()
                        {
                            let model = target.model.take();
                            *target = ResourceState { model: model.or(before.model.clone()), ..*before };
                        }
                    }
                    Kind::Apply => {
                        if let Some(target) = self.state.resources.get_mut(name) {
                            target.operation = None;
                            target.status = Status::new(verb, Stage::Complete);
                        }
                    }
                }
                let physical = resource
                    .physical_id
                    .clone()
                    .or_else(|| self.state.resources.get(name).and_then(|r| r.physical_id.clone()));
                let done = match job.kind {
                    Kind::Delete { .. } => Status::new(Verb::Delete, Stage::Complete),
                    _ => Status::new(verb, Stage::Complete),
                };
                self.emit(name, &resource.type_name, physical, done, None)?;
                Ok(Progress::Completed)
            }
            _ => {
                let code = event.get("errorCode").and_then(Value::as_str).unwrap_or("InternalFailure");
                let message = event.get("message").and_then(Value::as_str).unwrap_or("the handler gave no message");
                if deleting && code == "NotFound" {
                    self.remove_target(name, previous);
                    self.emit(
                        name,
                        &resource.type_name,
                        resource.physical_id.clone(),
                        Status::new(Verb::Delete, Stage::Complete),
                        Some("Already gone".to_owned()),
                    )?;
                    return Ok(Progress::Completed);
                }
                let reason = if is_custom(&resource.type_name) {
                    format!("Received response status [FAILED] from custom resource. Message returned: {message}")
                } else {
                    format!("Resource handler returned message: \"{message}\" (HandlerErrorCode: {code})")
                };
                if job.kind == Kind::Apply
                    && early
                    && RETRIABLE.contains(&code)
                    && job.attempts + 1 < ATTEMPTS
                    && self.attempt_left_nothing(name)
                {
                    let physical = resource.physical_id.clone();
                    self.emit(
                        name,
                        &resource.type_name,
                        physical,
                        resource.status,
                        Some(format!("{reason}; retrying once what it needs has stabilized")),
                    )?;
                    // The attempt stays this run's until the retry begins (from where the attempt
                    // began), so a rollback before then undoes it.
                    if let Some(target) = self.state.resources.get_mut(name) {
                        target.operation = None;
                    }
                    self.save()?;
                    return Ok(Progress::Retry);
                }
                self.finish_failed(job, &reason)?;
                Ok(Progress::Failed(reason))
            }
        }
    }

    /// Whether a failed attempt at a resource made nothing new: no identifier, or the one the
    /// resource had before (an update in place). Only such an attempt is retried; what one made
    /// is for the rollback to delete.
    fn attempt_left_nothing(&self, name: &str) -> bool {
        self.state.resources.get(name).is_none_or(|attempt| {
            attempt.physical_id.is_none()
                || attempt.physical_id == attempt.previous.as_ref().and_then(|before| before.physical_id.clone())
        })
    }

    fn finish_failed(&mut self, job: &Job, reason: &str) -> Result<(), Error> {
        let previous = matches!(job.kind, Kind::Delete { previous: true, .. });
        let Some(resource) = self.target(&job.logical_id, previous).cloned() else { return Ok(()) };
        let status = match job.kind {
            Kind::Delete { .. } => Status::new(Verb::Delete, Stage::Failed),
            _ => resource.status.at(Stage::Failed),
        };
        if let Some(target) = self.target_mut(&job.logical_id, previous) {
            target.status = status;
            target.operation = None;
        }
        self.emit(&job.logical_id, &resource.type_name, resource.physical_id.clone(), status, Some(reason.to_owned()))
    }

    /// Whether a resource's model holds its identifier and everything read of it.
    fn configured(&self, name: &str, plan: Option<&Plan<'_>>) -> bool {
        let Some(resource) = self.state.resources.get(name) else { return false };
        let Some(plan) = plan else { return false };
        let view = StateResources(&self.state.resources);
        resource.physical_id.is_some()
            && plan.template.attributes_read(name).iter().all(|attribute| view.attribute(name, attribute).is_some())
    }

    fn announce_configured(&mut self, name: &str) -> Result<(), Error> {
        if !self.configured_announced.insert(name.to_owned()) {
            return Ok(());
        }
        let resource = self.state.resources[name].clone();
        self.emit(name, &resource.type_name, resource.physical_id.clone(), CONFIGURATION_COMPLETE, None)
    }

    fn target(&self, name: &str, previous: bool) -> Option<&ResourceState> {
        let resource = self.state.resources.get(name)?;
        if previous { resource.previous.as_deref() } else { Some(resource) }
    }

    fn target_mut(&mut self, name: &str, previous: bool) -> Option<&mut ResourceState> {
        let resource = self.state.resources.get_mut(name)?;
        if previous { resource.previous.as_deref_mut() } else { Some(resource) }
    }

    /// Forgets a deleted resource; a deleted replacement gives way to the resource it replaced.
    fn remove_target(&mut self, name: &str, previous: bool) {
        if previous {
            if let Some(resource) = self.state.resources.get_mut(name) {
                resource.previous = None;
            }
        } else if let Some(resource) = self.state.resources.remove(name)
            && let Some(before) = resource.previous
        {
            self.state.resources.insert(name.to_owned(), *before);
        }
    }

    /// Resolves `{{resolve:ssm:...}}` and `{{resolve:secretsmanager:...}}` against moto, as
    /// the deploying user; secrets resolved become values never written.
    fn resolve(&mut self, value: &Value, type_name: &str) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) => {
                let mut out = text.clone();
                for reference in dynamic_references(text) {
                    if let Some(refusal) = reference.refusal(type_name) {
                        return Err(refusal);
                    }
                    let resolved = if reference.service == "ssm" {
                        self.site.backend.ssm_parameter(&reference.key)
                    } else {
                        // An ARN holds colons of its own: its first seven parts are the secret id.
                        let parts: Vec<&str> = reference.key.split(':').collect();
                        let id_parts = if reference.key.starts_with("arn:") { 7.min(parts.len()) } else { 1 };
                        let rest = &parts[id_parts..];
                        let field = |index: usize| rest.get(index).copied().filter(|part| !part.is_empty());
                        if field(0).is_some_and(|part| part != "SecretString") {
                            return Err(format!("{}: only SecretString can be referenced", reference.text));
                        }
                        self.site.backend.secret_string(&parts[..id_parts].join(":"), field(2), field(3)).and_then(
                            |secret| {
                                self.recorder.keep_secret(secret.clone());
                                match field(1) {
                                    None => Ok(secret),
                                    Some(key) => {
                                        let fields: Value = serde_json::from_str(&secret)
                                            .map_err(|_| format!("the secret is not JSON, so it has no key {key}"))?;
                                        fields
                                            .get(key)
                                            .and_then(scalar_text)
                                            .ok_or_else(|| format!("the secret has no key {key}").into())
                                    }
                                }
                            },
                        )
                    }
                    .map_err(|error| format!("{}: {error}", reference.text))?;
                    if reference.service == "secretsmanager" {
                        self.recorder.keep_secret(resolved.clone());
                    }
                    out = out.replace(&reference.text, &resolved);
                }
                Value::String(out)
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.resolve(item, type_name)).collect::<Result<_, _>>()?)
            }
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v, type_name)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// The template's outputs, from the resources' models.
    /// The outputs and the exports, masked; an export another stack has, or one in use that
    /// would change or go, is refused as CloudFormation refuses it.
    fn outputs(&self, template: &Template, bindings: &Bindings) -> Result<(Values, Values), String> {
        let resources = StateResources(&self.state.resources);
        let (mut outputs, mut exports) = (BTreeMap::new(), BTreeMap::new());
        for (name, output) in template.outputs.iter().filter(|(_, o)| bindings.holds(o.condition.as_ref())) {
            let Some(value) = bindings
                .evaluate(&output.value, &resources)
                .map_err(|problem| format!("Outputs.{name}.Value: {problem}"))?
            else {
                continue;
            };
            let value = mask_secrets(&value, self.recorder.secrets());
            if let Some(export) = &output.export {
                let export = bindings
                    .evaluate(export, &resources)
                    .map_err(|problem| format!("Outputs.{name}.Export.Name: {problem}"))?;
                let Some(export) = export.as_ref().and_then(scalar_text) else {
                    return Err(format!("Outputs.{name}.Export.Name: not a string"));
                };
                if let Some((stack, _)) = self.neighbours.exports.get(&export) {
                    return Err(format!("Export with name {export} is already exported by stack {stack}"));
                }
                if exports.insert(export.clone(), value.clone()).is_some() {
                    return Err(format!("Outputs.{name}.Export.Name: {export} is exported twice by this template"));
                }
            }
            outputs.insert(name.clone(), value);
        }
        for (export, old) in &self.state.exports {
            if let Some(importers) = self.neighbours.importers.get(export)
                && exports.get(export) != Some(old)
            {
                let stacks = importers.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
                return Err(format!("Cannot update or remove export {export} as it is in use by {stacks}"));
            }
        }
        Ok((outputs, exports))
    }

    fn stack_status(&mut self, status: Status, reason: Option<String>) -> Result<(), Error> {
        let reason = reason.map(|reason| self.recorder.masked(&reason));
        self.state.status = status;
        self.state.status_reason = reason.clone();
        self.save()?;
        let (name, id) = (self.state.stack_name.clone(), self.state.stack_id.clone());
        self.emit(&name, STACK_TYPE, Some(id), status, reason)
    }

    /// Keeps the model of a CREATE about to be sent, until it is answered.
    fn keep_in_flight(&self, name: &str, call: &Call) -> Result<(), Error> {
        match (&call.model, call.action) {
            (Some(model), Action::Create) => self.recorder.store().keep_in_flight(name, model),
            _ => Ok(()),
        }
    }

    /// What a CREATE that never answered made, asked of its type the way a retry asks: the
    /// same request and token, which a type adopts instead of making a second resource. The
    /// resource comes back with its identifier when the type made one, as it was otherwise.
    fn learn_what_was_made(
        &mut self,
        name: &str,
        mut resource: ResourceState,
        token: &str,
    ) -> Result<ResourceState, Error> {
        let Some(model) = self.recorder.store().in_flight(name)? else { return Ok(resource) };
        let status = Status::new(Verb::Delete, Stage::InProgress);
        let reason = "Its create request never answered: asking the type, with the same request, what it made";
        self.emit(name, &resource.type_name, None, status, Some(reason.to_owned()))?;
        let mut call = match self.call(name, &resource.type_name, Action::Create, Some(model), None) {
            Ok(call) => call,
            Err(_) => return Ok(resource),
        };
        call.token = token.to_owned();
        let answer = match operate(self.site.backend, &call, &mut |_| Ok(())) {
            Ok(answer) => answer,
            // No answer again: the resource stays unknown, and is named as such.
            Err(_) => return Ok(resource),
        };
        let info = self.info(&resource.type_name);
        if let Some(model) = answer.get("resourceModel").filter(|_| answer["status"] == "SUCCESS") {
            resource.physical_id = physical_id(model, &info.primary_identifier);
            resource.model = Some(masked(model, self.recorder.secrets(), &info.write_only, &info.attributes));
            if let Some(target) = self.state.resources.get_mut(name) {
                target.physical_id.clone_from(&resource.physical_id);
                target.model.clone_from(&resource.model);
            }
            self.save()?;
        }
        self.recorder.store().answered(name)?;
        Ok(resource)
    }

    /// Runs the stack hooks of `point` over the stack's template, handed over as CloudFormation
    /// hands it (a presigned URL of its document); answers why the stack must not go on.
    fn stack_hooks(&mut self, point: InvocationPoint) -> Result<Option<String>, Error> {
        let stack_name = self.state.stack_name.clone();
        let Some(document) = self.stack_document.clone() else { return Ok(None) };
        if !self.hooks.iter().any(|hook| hook.wants(point, "STACK", &stack_name)) {
            return Ok(None);
        }
        let key = format!("hook-payloads/{stack_name}/{}", new_token());
        let payload = match self.site.backend.payload_url(&key, &document) {
            Ok(url) => url,
            Err(error) => return Ok(Some(format!("the stack's template could not be handed to its hooks: {error}"))),
        };
        let stack_id = Some(self.state.stack_id.clone());
        self.run_hooks(&stack_name, "STACK", point, json!({}), Some(payload), stack_id)
    }

    /// Runs every activated hook that checks `point` of `target` (a resource type, or
    /// `STACK`), each check's events recorded as CloudFormation's stack events show them;
    /// answers why the operation must not go on, when a hook in FAIL mode did not pass it.
    fn run_hooks(
        &mut self,
        logical_id: &str,
        target: &str,
        point: InvocationPoint,
        target_model: Value,
        payload: Option<String>,
        physical_id: Option<String>,
    ) -> Result<Option<String>, Error> {
        let stack_name = self.state.stack_name.clone();
        let hooks: Vec<ActiveHook> =
            self.hooks.iter().filter(|hook| hook.wants(point, target, &stack_name)).cloned().collect();
        let event_type = if target == "STACK" { STACK_TYPE } else { target };
        let mut stopped = Vec::new();
        for hook in hooks {
            let mark = HookMark {
                hook_type: hook.type_name.clone(),
                hook_invocation_point: "PRE_PROVISION".to_owned(),
                hook_failure_mode: hook.configuration.failure_mode.as_str().to_owned(),
            };
            let status = Status::new(Verb::Hook, Stage::InProgress);
            let reason = Some("Hook invocation is in progress".to_owned());
            let checking = stamped(logical_id, event_type, physical_id.clone(), status, reason);
            self.recorder.record(&self.state, StackEvent { hook: Some(mark.clone()), ..checking })?;
            let check = Check {
                point,
                target,
                logical_id,
                target_model: target_model.clone(),
                payload: payload.clone(),
                stack_id: &self.state.stack_id,
            };
            let (stage, message) = match hook.check(self.site.backend, &check) {
                Outcome::Compliant(message) => {
                    (Stage::CompleteSucceeded, message.unwrap_or_else(|| "Hook succeeded".to_owned()))
                }
                Outcome::NonCompliant(message) => (Stage::CompleteFailed, message),
                Outcome::Failed(message) => (Stage::Failed, message),
            };
            let failed = stage != Stage::CompleteSucceeded;
            let reason = if failed && hook.configuration.failure_mode == FailureMode::Warn {
                format!("{message} (FailureMode WARN: the operation goes on)")
            } else {
                message.clone()
            };
            let status = Status::new(Verb::Hook, stage);
            let checked = stamped(logical_id, event_type, physical_id.clone(), status, Some(reason));
            self.recorder.record(&self.state, StackEvent { hook: Some(mark), ..checked })?;
            if failed && hook.configuration.failure_mode == FailureMode::Fail {
                stopped.push((hook.type_name, message));
            }
        }
        if stopped.is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = stopped.iter().map(|(name, _)| name.as_str()).collect();
        let messages: Vec<String> = stopped.iter().map(|(name, message)| format!("{name}: {message}")).collect();
        Ok(Some(format!("The following hook(s) failed: [{}]. {}", names.join(", "), messages.join("; "))))
    }

    fn emit(
        &mut self,
        logical_id: &str,
        type_name: &str,
        physical_id: Option<String>,
        status: Status,
        reason: Option<String>,
    ) -> Result<(), Error> {
        self.recorder.event(&self.state, logical_id, type_name, physical_id, status, reason)
    }

    fn save(&self) -> Result<(), Error> {
        self.recorder.save(&self.state)
    }
}

/// A model's primary identifier, parts joined by `|`, once every part is known.
fn physical_id(model: &Value, identifier: &[String]) -> Option<String> {
    let parts: Option<Vec<String>> = identifier
        .iter()
        .map(|property| model.get(property).and_then(scalar_text).filter(|text| !text.is_empty() && text != MASK))
        .collect();
    parts.filter(|parts| !parts.is_empty()).map(|parts| parts.join("|"))
}

#[cfg(test)]
mod tests;
