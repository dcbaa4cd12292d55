//! Where stacks are deployed: what every run of the engine works with.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::hooks::ServedHook;
use crate::record::Printer;
use crate::{Backend, ServedType};

/// Where stacks are deployed: the local stack's handlers, the project's types and hooks, and
/// the work directory that keeps each stack's state and events.
pub struct Site<'a> {
    /// The local stack.
    pub backend: &'a dyn Backend,
    /// The types served, by name.
    pub types: &'a BTreeMap<String, ServedType>,
    /// Type configurations by type name, given for a run: they override the account's in the
    /// registry; never stored.
    pub configurations: &'a BTreeMap<String, Value>,
    /// The hooks served, by name: those configured (given here, else in the registry) run
    /// before the operations they target.
    pub hooks: &'a BTreeMap<String, ServedHook>,
    /// Hook configurations by hook name, given for a run: they override the account's in the
    /// registry; never stored.
    pub hook_configurations: &'a BTreeMap<String, Value>,
    /// The project's work directory (`.rpdk`).
    pub work_dir: &'a Path,
    /// The start of the local stack (its boot id): stacks of an earlier start went with it.
    pub generation: &'a str,
    /// How events reach the user.
    pub printer: &'a Printer,
}
