//! A deploy or delete of one stack from start to end: the stack held for the run, its saved
//! state read and checked against the running local stack and the other stacks, the engine
//! run, and what the stack imports kept as the outcome leaves it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::Error;
use crate::engine::Engine;
use crate::evaluate::Bindings;
use crate::hooks::{ActiveHook, HookConfiguration};
use crate::plan::{self, Neighbours};
use crate::site::Site;
use crate::state::{StackState, Store};
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
