//! A deploy or delete of one stack from start to end: the stack held for the run, its saved
//! state read and checked against the running local stack and the other stacks, the engine
//! run, and what the stack imports kept as the outcome leaves it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use rpdk::hook::InvocationPoint;
use rpdk_local::stringified;

use serde_json::{Value, json};

use crate::Error;
use crate::engine::Engine;
use crate::evaluate::{Bindings, Resources};
use crate::hooks::{ActiveHook, Check, FailureMode, HookConfiguration, Outcome};
use crate::plan::{self, Neighbours};
use crate::site::Site;
use crate::state::{ResourceState, STACK_TYPE, StackState, Store};
use crate::status::{Stage, Verb};
use crate::template::Template;

/// A deploy of one stack: its template, checked and bound to this deployment's values.
pub struct Deployment<'t> {
    /// The stack's name.
    pub stack_name: &'t str,
    /// The stack's id, as the bindings' `AWS::StackId` has it ([`plan::stack_id`]).
    pub stack_id: String,
    /// The template.
    pub template: &'t Template,
    /// Its parameters and conditions.
    pub bindings: Bindings,
    /// The stack's tags when given; left out, an update keeps them.
    pub tags: Option<BTreeMap<String, String>>,
    /// The template's text, as stack hooks read it.
    pub body: &'t str,
}

/// How a delete ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Deleted {
    /// Every resource of the stack was deleted (or retained by its policy).
    Deleted,
    /// The stack lived on a local stack that has stopped since: its resources went with it,
    /// and its state is forgotten.
    Forgotten,
}

impl Site<'_> {
    /// Creates or updates a stack to match its template, rolling back on failure; answers the
    /// state after, outputs included.
    pub fn deploy(&self, deployment: Deployment<'_>) -> Result<StackState, Error> {
        let Deployment { stack_name, stack_id, template, mut bindings, tags, body } = deployment;
        let store = Store::new(self.work_dir, stack_name)?;
        let _held = store.lock()?;
        let saved = store.load()?;
        if let Some(state) = saved.as_ref().filter(|state| {
            state.local_stack == self.generation
                && state.status.verb == Verb::Delete
                && state.status.stage != Stage::Complete
        }) {
            return Err(Error::Deleting { stack: stack_name.to_owned(), status: state.status });
        }
        let neighbours = Neighbours::read(self.work_dir, stack_name, self.generation)?;
        bindings.imports = plan::imports(template, &bindings, &neighbours).map_err(Error::Template)?;
        if saved.as_ref().is_some_and(|state| state.local_stack != self.generation) {
            self.printer.note(&format!(
                "stack {stack_name} was deployed on a local stack that has stopped since; its resources went with it, so it is deployed afresh"
            ));
        }
        let (mut state, resuming) = plan::starting_state(&store, saved, stack_name, &stack_id, self.generation)?;
        if !resuming {
            state.tags_before = state.tags.clone();
            if let Some(tags) = tags {
                state.tags = tags;
            }
        }
        state.parameters = bindings
            .parameters
            .iter()
            .filter(|(name, _)| !template.parameters.get(*name).is_some_and(|parameter| parameter.no_echo))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        // Until the run completes, the stack may still use what it imported before as well.
        let imports: BTreeSet<String> = bindings.imports.keys().cloned().collect();
        let imported_before = state.imports.clone();
        state.imports.extend(imports.iter().cloned());
        let secrets = plan::no_echo_values(template, &bindings);
        let mut engine = Engine::new(self, &store, state, secrets);
        engine.resuming = resuming;
        engine.neighbours = neighbours;
        engine.configurations = self.type_configurations()?;
        engine.hooks = self.active_hooks()?;
        engine.stack_document = Some(json!({"Template": body}));
        let outcome = engine.deploy(template, &bindings);
        let mut state = engine.state;
        match &outcome {
            Ok(()) => state.imports = imports,
            Err(_) if state.status.rolling_back() && state.status.stage == Stage::Complete => {
                state.imports = imported_before;
            }
            // A rollback that failed may leave either template's resources: both sets stay held.
            Err(_) => {}
        }
        store.save(&state)?;
        outcome.map(|()| state)
    }

    /// Deletes a stack, dependents first.
    pub fn delete(&self, stack_name: &str) -> Result<Deleted, Error> {
        let store = Store::new(self.work_dir, stack_name)?;
        if store.load()?.is_none() {
            return Err(Error::NoStack(stack_name.to_owned()));
        }
        let _held = store.lock()?;
        let Some(state) = store.load()? else { return Err(Error::NoStack(stack_name.to_owned())) };
        if state.local_stack != self.generation {
            store.remove_state()?;
            return Ok(Deleted::Forgotten);
        }
        let neighbours = Neighbours::read(self.work_dir, stack_name, self.generation)?;
        for export in state.exports.keys() {
            if let Some(importers) = neighbours.importers.get(export) {
                let stacks = importers.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
                return Err(Error::Imported { stack: stack_name.to_owned(), export: export.clone(), stacks });
            }
        }
        let mut engine = Engine::new(self, &store, state, Vec::new());
        engine.configurations = self.type_configurations()?;
        engine.hooks = self.active_hooks()?;
        engine.delete()?;
        store.remove_state()?;
        Ok(Deleted::Deleted)
    }

    /// The type configuration each served type runs with, as CloudFormation passes the
    /// account's: the one given for this run, else the one set in the registry.
    fn type_configurations(&self) -> Result<BTreeMap<String, Value>, Error> {
        self.configured(self.types.keys(), self.configurations)
    }

    /// The hooks activated here: each served hook with a configuration (given for this run,
    /// else set in the registry), as a hook runs on an account once it is configured.
    pub fn active_hooks(&self) -> Result<Vec<ActiveHook>, Error> {
        let configured = self.configured(self.hooks.keys(), self.hook_configurations)?;
        configured
            .into_iter()
            .map(|(type_name, document)| {
                let configuration = HookConfiguration::read(&document)
                    .map_err(|fault| Error::HookConfiguration { hook: type_name.clone(), fault })?;
                Ok(ActiveHook { served: self.hooks[&type_name].clone(), type_name, configuration })
            })
            .collect()
    }

    fn configured<'n>(
        &self,
        names: impl Iterator<Item = &'n String>,
        given: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, Error> {
        let mut resolved = BTreeMap::new();
        for name in names {
            let configuration = match given.get(name) {
                Some(given) => Some(given.clone()),
                None => self.backend.type_configuration(name).map_err(Error::Backend)?,
            };
            resolved.extend(configuration.map(|configuration| (name.clone(), configuration)));
        }
        Ok(resolved)
    }
}

/// What one activated hook found of one target in a dry run.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The resource's logical id, or the stack's name.
    pub logical_id: String,
    /// The resource's type, or [`STACK_TYPE`].
    pub type_name: String,
    /// The hook.
    pub hook: String,
    /// What its failure would do.
    pub failure_mode: FailureMode,
    /// The operation checked.
    pub point: InvocationPoint,
    /// What the hook answered.
    pub outcome: Outcome,
    /// The references whose values are not known before anything is made (`Ref Topic`,
    /// `GetAtt Topic.TopicArn`): the hook saw a placeholder in their place.
    pub unknown: Vec<String>,
}

impl Finding {
    /// Whether the deployment would stop on it.
    pub fn stops(&self) -> bool {
        self.failure_mode == FailureMode::Fail && !matches!(self.outcome, Outcome::Compliant(_))
    }
}

impl Site<'_> {
    /// Runs the activated hooks over a deployment before anything is made: every resource its
    /// conditions keep, whatever its type (native AWS types included), with its properties as
    /// far as they are known (a resource of the saved stack answers its references; any other's
    /// are placeholders, listed), and the stack's template. Nothing is recorded.
    pub fn preview_hooks(&self, deployment: &Deployment<'_>) -> Result<Vec<Finding>, Error> {
        let hooks = self.active_hooks()?;
        let saved = Store::new(self.work_dir, deployment.stack_name)?
            .load()?
            .filter(|state| state.local_stack == self.generation)
            .map(|state| state.resources)
            .unwrap_or_default();
        let mut findings = Vec::new();
        let mut ask =
            |logical_id: &str, target: &str, point, check: Result<Check<'_>, String>, unknown: Vec<String>| {
                for hook in hooks.iter().filter(|hook| hook.wants(point, target, deployment.stack_name)) {
                    let outcome = match &check {
                        Ok(check) => hook.check(self.backend, check),
                        Err(problem) => Outcome::Failed(problem.clone()),
                    };
                    findings.push(Finding {
                        logical_id: logical_id.to_owned(),
                        type_name: if target == "STACK" { STACK_TYPE.to_owned() } else { target.to_owned() },
                        hook: hook.type_name.clone(),
                        failure_mode: hook.configuration.failure_mode,
                        point,
                        outcome,
                        unknown: unknown.clone(),
                    });
                }
            };
        let existing = saved.values().any(|resource| resource.physical_id.is_some());
        let point = if existing { InvocationPoint::PreUpdate } else { InvocationPoint::PreCreate };
        if hooks.iter().any(|hook| hook.wants(point, "STACK", deployment.stack_name)) {
            let key = format!("hook-payloads/{}/{}", deployment.stack_name, rpdk_local::new_token());
            let payload = self
                .backend
                .payload_url(&key, &json!({"Template": deployment.body}))
                .map_err(|error| format!("the stack's template could not be handed to its hooks: {error}"));
            let check = payload.map(|payload| Check {
                point,
                target: "STACK",
                logical_id: deployment.stack_name,
                target_model: json!({}),
                payload: Some(payload),
                stack_id: &deployment.stack_id,
            });
            ask(deployment.stack_name, "STACK", point, check, Vec::new());
        }
        for (name, resource) in &deployment.template.resources {
            if !deployment.bindings.holds(resource.condition.as_ref()) {
                continue;
            }
            let known = Unmade { saved: &saved, unknown: RefCell::default() };
            let evaluated = deployment.bindings.evaluate(&resource.properties, &known);
            let previous = saved.get(name).filter(|r| r.physical_id.is_some()).and_then(|r| r.properties.clone());
            let point = if previous.is_some() { InvocationPoint::PreUpdate } else { InvocationPoint::PreCreate };
            let check = evaluated
                .map(|properties| {
                    let mut target_model =
                        json!({"resourceProperties": stringified(&properties.unwrap_or_else(|| json!({})))});
                    if let Some(previous) = &previous {
                        target_model["previousResourceProperties"] = stringified(previous);
                    }
                    Check {
                        point,
                        target: &resource.type_name,
                        logical_id: name,
                        target_model,
                        payload: None,
                        stack_id: &deployment.stack_id,
                    }
                })
                .map_err(|problem| format!("its properties cannot be known before anything is made: {problem}"));
            ask(name, &resource.type_name, point, check, known.unknown.into_inner().into_iter().collect());
        }
        Ok(findings)
    }
}

/// References as a dry run knows them: the saved stack's resources answer theirs; any other
/// answers a placeholder, and is noted.
struct Unmade<'s> {
    saved: &'s BTreeMap<String, ResourceState>,
    unknown: RefCell<BTreeSet<String>>,
}

impl Resources for Unmade<'_> {
    fn reference(&self, resource: &str) -> Option<Value> {
        self.saved.get(resource).and_then(|r| r.physical_id.clone()).map(Value::String).or_else(|| {
            self.unknown.borrow_mut().insert(format!("Ref {resource}"));
            Some(json!(format!("<unknown: Ref {resource}>")))
        })
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Option<Value> {
        let pointer = format!("/{}", attribute.replace('.', "/"));
        let known = self.saved.get(resource).and_then(|r| r.model.as_ref()?.pointer(&pointer).cloned());
        known.filter(|value| !value.is_null()).or_else(|| {
            self.unknown.borrow_mut().insert(format!("GetAtt {resource}.{attribute}"));
            Some(json!(format!("<unknown: GetAtt {resource}.{attribute}>")))
        })
    }
}
