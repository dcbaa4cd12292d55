//! A stack's state and events on disk, in `.rpdk/stacks/<name>/`.
//!
//! The state is rewritten whole (a temporary file renamed over the old one) after every change,
//! and a resource is recorded before its first request is sent, so an interrupted run leaves a
//! state that names everything it may have created. No secret is kept: write-only properties
//! and every value of a `NoEcho` parameter or a Secrets Manager reference are masked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use rpdk::Action;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;
use crate::status::Status;
use crate::template::dynamic_references;

/// What the state keeps in place of a secret.
pub const MASK: &str = "****";

/// Joins a logical ID and a physical ID into the state's key of a replaced resource still to be
/// deleted; no logical ID holds it.
pub const REPLACED: &str = "#replaced:";

/// The type of the stack's own events, as CloudFormation names it.
pub const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// One deployed stack.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackState {
    /// The stack's name.
    pub stack_name: String,
    /// The stack's id, an ARN.
    pub stack_id: String,
    /// The start of the local stack the resources live in.
    pub local_stack: String,
    /// The stack's status, as CloudFormation names it (`CREATE_COMPLETE`, ...).
    pub status: Status,
    /// Why the stack has its status, when it is not plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The run that made the latest changes: what a rollback undoes.
    pub run: String,
    /// Parameter values, `NoEcho` ones left out.
    pub parameters: BTreeMap<String, Value>,
    /// The resources, by logical id (replaced ones still to delete under keys of their own).
    pub resources: BTreeMap<String, ResourceState>,
    /// Output values, masked.
    pub outputs: BTreeMap<String, Value>,
    /// Export name → value, for `Fn::ImportValue` in other stacks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exports: BTreeMap<String, Value>,
    /// The export names this stack imports: while it does, their stacks keep them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub imports: BTreeSet<String>,
    /// The stack's tags, which every taggable resource carries.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The stack's tags before the latest run: what a rollback puts back.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags_before: BTreeMap<String, String>,
}

/// One resource of a stack.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceState {
    /// The resource's type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The resource's status, as CloudFormation names it.
    pub status: Status,
    /// The primary identifier, parts joined by `|`: what `Ref` answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    /// The handler's latest model, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Value>,
    /// The properties the template gave, masked, dynamic references unresolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    /// The logical ids of the resources it needs: deleted after it.
    pub dependencies: BTreeSet<String>,
    /// The run that last created or changed it.
    pub run: String,
    /// The handler operation under way, kept so an interrupted run can resume it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// `DeletionPolicy` and `UpdateReplacePolicy` when not `Delete`: kept here because a stack
    /// is deleted without its template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
    /// `UpdateReplacePolicy`, when not `Delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<String>,
    /// The resource as it was before this run updated or replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<ResourceState>>,
}

/// A handler operation under way.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// What the operation does.
    pub action: Action,
    /// Its client request token, sent again when it resumes.
    pub token: String,
    /// The callback context of its latest IN_PROGRESS event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// One stack event.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackEvent {
    /// When it happened (UTC, milliseconds).
    pub timestamp: String,
    /// The resource's logical id, or the stack's name.
    pub logical_id: String,
    /// The physical id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    /// The resource's type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The status reached.
    pub status: Status,
    /// Why, when there is more to say than the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a hook's event (`HOOK_...`): the hook, its invocation point and failure mode.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookMark>,
}

/// What a hook's event says of the hook, as CloudFormation's stack events name it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HookMark {
    /// The hook's type name.
    pub hook_type: String,
    /// `PRE_PROVISION`.
    pub hook_invocation_point: String,
    /// `FAIL` or `WARN`.
    pub hook_failure_mode: String,
}

/// Where a stack's files live.
pub struct Store {
    dir: PathBuf,
    /// The lock file, outside `dir`: a command refused before it begins leaves no stack.
    lock_file: PathBuf,
}

impl Store {
    /// The store of stack `stack_name` under the project's work directory.
    pub fn new(work_dir: &Path, stack_name: &str) -> Result<Self, Error> {
        let valid = !stack_name.is_empty()
            && stack_name.len() <= 128
            && stack_name.starts_with(|c: char| c.is_ascii_alphabetic())
            && stack_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(Error::StackName(stack_name.to_owned()));
        }
        Ok(Self { dir: work_dir.join("stacks").join(stack_name), lock_file: work_dir.join("locks").join(stack_name) })
    }

    /// Holds the stack for one command: a second deploy or delete of it waits for nothing and
    /// is refused. The operating system releases the lock when the holder ends, however it ends.
    pub fn lock(&self) -> Result<std::fs::File, Error> {
        if let Some(locks) = self.lock_file.parent() {
            std::fs::create_dir_all(locks).map_err(Error::file(locks))?;
        }
        let file = std::fs::File::create(&self.lock_file).map_err(Error::file(&self.lock_file))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked),
            Err(std::fs::TryLockError::Error(error)) => Err(Error::file(&self.lock_file)(error)),
        }
    }

    fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn events_file(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    fn create_dir(&self) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(Error::file(&self.dir))
    }

    /// The stack's state, if it has one.
    pub fn load(&self) -> Result<Option<StackState>, Error> {
        let path = self.state_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|source| Error::Unreadable {
                path,
                what: "a stack state",
                source,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::file(path)(error)),
        }
    }

    /// Replaces the state whole: a reader sees the old state or the new one, never a mix.
    pub fn save(&self, state: &StackState) -> Result<(), Error> {
        self.create_dir()?;
        let temporary = self.dir.join("state.json.new");
        let text = serde_json::to_vec_pretty(state).map_err(|error| Error::Internal(error.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temporary, self.state_file())?;
            // The rename itself lasts only once the directory is on disk.
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(Error::file(self.state_file()))
    }

    /// Forgets the stack's state, and the models of its creates: a run killed after a create's
    /// answer was saved but before its model was forgotten leaves the model behind, and with
    /// the stack gone no request of it is unanswered. Its events stay readable.
    pub fn remove_state(&self) -> Result<(), Error> {
        let in_flight = self.dir.join("in-flight");
        match std::fs::remove_dir_all(&in_flight) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(Error::file(in_flight)(error)),
            _ => {}
        }
        match std::fs::remove_file(self.state_file()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(Error::file(self.state_file())(error)),
            _ => Ok(()),
        }
    }

    fn in_flight_file(&self, logical_id: &str) -> PathBuf {
        self.dir.join("in-flight").join(format!("{logical_id}.json"))
    }

    /// Keeps the model of a CREATE about to be sent until it is answered: a delete after a run
    /// that died before the answer sends the same request to learn what it made. The model may
    /// hold secrets, so the file is its owner's alone (in a work directory that is its owner's
    /// too) and lives only while the request is unanswered.
    pub fn keep_in_flight(&self, logical_id: &str, model: &Value) -> Result<(), Error> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.in_flight_file(logical_id);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::file(dir))?;
        }
        let text = serde_json::to_vec(model).map_err(|error| Error::Internal(error.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::options().create(true).write(true).truncate(true).mode(0o600).open(&path)?;
            file.write_all(&text)?;
            file.sync_all()
        };
        write().map_err(Error::file(&path))
    }

    /// The model of a CREATE that was never answered, if one was kept.
    pub fn in_flight(&self, logical_id: &str) -> Result<Option<Value>, Error> {
        let path = self.in_flight_file(logical_id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| Error::Unreadable {
                path,
                what: "a create request's model",
                source,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::file(path)(error)),
        }
    }

    /// Forgets the model of a CREATE that was answered.
    pub fn answered(&self, logical_id: &str) -> Result<(), Error> {
        let path = self.in_flight_file(logical_id);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(Error::file(path)(error)),
            _ => Ok(()),
        }
    }

    /// Starts the event history afresh: a new stack of an old name.
    pub fn clear_events(&self) -> Result<(), Error> {
        self.create_dir()?;
        std::fs::write(self.events_file(), "").map_err(Error::file(self.events_file()))
    }

    /// Appends one event to the stack's history.
    pub fn append_event(&self, event: &StackEvent) -> Result<(), Error> {
        self.create_dir()?;
        let line = serde_json::to_string(event).map_err(|error| Error::Internal(error.to_string()))?;
        let path = self.events_file();
        let mut file = std::fs::File::options().create(true).append(true).open(&path).map_err(Error::file(&path))?;
        writeln!(file, "{line}").map_err(Error::file(path))
    }

    /// The stack's events, oldest first.
    pub fn events(&self) -> Result<Vec<StackEvent>, Error> {
        let path = self.events_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoEvents(path)),
            Err(error) => return Err(Error::file(path)(error)),
        };
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|source| Error::Unreadable {
                    path: path.clone(),
                    what: "a stack's events",
                    source,
                })
            })
            .collect()
    }
}

/// `value` with every secret masked and the top-level `write_only` properties replaced by
/// [`MASK`], except those given only as dynamic references, whose text names a secret
/// without holding it. The `attributes` (read-only properties, dotted) are kept as the service
/// made them: an ARN that holds a NoEcho value is read by `Fn::GetAtt` whole, as CloudFormation
/// shows it.
pub fn masked(
    value: &Value,
    secrets: &[String],
    write_only: &BTreeSet<String>,
    attributes: &BTreeSet<String>,
) -> Value {
    let mut out = mask_secrets(value, secrets);
    if let Some(members) = out.as_object_mut() {
        for (name, member) in members.iter_mut() {
            let only_references = member.as_str().is_some_and(|text| {
                dynamic_references(text).iter().map(|r| r.text.as_str()).collect::<String>() == text
            });
            if write_only.contains(name) && !only_references {
                *member = Value::String(MASK.to_owned());
            }
        }
    }
    for pointer in attributes.iter().map(|attribute| format!("/{}", attribute.replace('.', "/"))) {
        if let (Some(made), Some(kept)) = (value.pointer(&pointer), out.pointer_mut(&pointer)) {
            kept.clone_from(made);
        }
    }
    out
}

/// `value` with every occurrence of a secret in its strings replaced by [`MASK`].
pub fn mask_secrets(value: &Value, secrets: &[String]) -> Value {
    match value {
        Value::String(text) => Value::String(mask_text(text, secrets)),
        Value::Array(items) => Value::Array(items.iter().map(|item| mask_secrets(item, secrets)).collect()),
        Value::Object(members) => {
            Value::Object(members.iter().map(|(k, v)| (k.clone(), mask_secrets(v, secrets))).collect::<Map<_, _>>())
        }
        other => other.clone(),
    }
}

/// `text` with every secret replaced by [`MASK`].
pub fn mask_text(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), MASK))
}

/// Whether a masked value hides something.
pub fn holds_mask(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains(MASK),
        Value::Array(items) => items.iter().any(holds_mask),
        Value::Object(members) => members.values().any(holds_mask),
        _ => false,
    }
}

/// A saved (masked) model made whole again from this run's `desired` properties: each
/// top-level property the state could not keep is taken from the template.
pub fn restored(saved: &Value, desired: &Value) -> Value {
    let mut out = saved.clone();
    if let (Some(out), Some(desired)) = (out.as_object_mut(), desired.as_object()) {
        for (name, value) in desired {
            if out.get(name).is_none_or(holds_mask) {
                out.insert(name.clone(), value.clone());
            }
        }
        out.retain(|_, value| !holds_mask(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_and_write_only_properties_are_masked_and_restored_from_the_template() {
        let secrets = vec!["hunter2".to_owned()];
        let write_only = BTreeSet::from(["BearerToken".to_owned()]);
        let model =
            json!({"Name": "a", "ExternalId": "x-hunter2", "BearerToken": "t0ken", "Tags": [{"Value": "hunter2"}]});
        let saved = masked(&model, &secrets, &write_only, &BTreeSet::new());
        assert_eq!(
            saved,
            json!({"Name": "a", "ExternalId": "x-****", "BearerToken": "****", "Tags": [{"Value": "****"}]})
        );
        let referenced = json!({"BearerToken": "{{resolve:secretsmanager:idp/token}}"});
        assert_eq!(
            masked(&referenced, &secrets, &write_only, &BTreeSet::new()),
            referenced,
            "a reference names the secret without holding it"
        );
        let mixed = json!({"BearerToken": "Bearer {{resolve:secretsmanager:idp/token}}"});
        assert_eq!(masked(&mixed, &secrets, &write_only, &BTreeSet::new())["BearerToken"], MASK);
        let attributes = BTreeSet::from(["Arn".to_owned(), "Meta.Id".to_owned()]);
        let made = json!({"Name": "hunter2-role", "Arn": "arn:aws:iam::1:role/hunter2-role", "Meta": {"Id": "hunter2-1", "Note": "hunter2"}});
        assert_eq!(
            masked(&made, &secrets, &write_only, &attributes),
            json!({"Name": "****-role", "Arn": "arn:aws:iam::1:role/hunter2-role", "Meta": {"Id": "hunter2-1", "Note": "****"}}),
            "attributes are read whole, and only they"
        );
        assert!(!saved.to_string().contains("hunter2") && !saved.to_string().contains("t0ken"));
        let desired = json!({"Name": "a", "ExternalId": "x-hunter2", "BearerToken": "t0ken"});
        // Tags held a secret the template no longer gives: left out rather than sent masked.
        assert_eq!(restored(&saved, &desired), desired);
    }

    #[test]
    fn a_removed_stack_keeps_no_create_model_a_killed_run_left() {
        let dir = std::env::temp_dir().join(format!("rpdk-state-in-flight-{}", std::process::id()));
        let store = Store::new(&dir, "partner-1").expect("a store");
        store.keep_in_flight("Service", &serde_json::json!({"Token": "secret"})).expect("kept");
        store.remove_state().expect("removed");
        assert_eq!(store.in_flight("Service").expect("readable"), None);
        store.remove_state().expect("removing again is no error");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }

    #[test]
    fn stack_names_are_checked() {
        let dir = Path::new("/nonexistent");
        assert!(Store::new(dir, "partner-1").is_ok());
        for bad in ["", "1partner", "a/b", "a_b", "..", &"a".repeat(129)] {
            assert!(Store::new(dir, bad).is_err(), "{bad}");
        }
    }
}
