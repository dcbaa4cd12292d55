//! The statuses of stacks and resources, as CloudFormation names them: an operation and how far
//! it got (`CREATE_IN_PROGRESS`, `UPDATE_ROLLBACK_COMPLETE`, `DELETE_SKIPPED`, ...).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a stack or resource is going through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// `CREATE`.
    Create,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// `ROLLBACK`: a failed stack creation undone.
    Rollback,
    /// `UPDATE_ROLLBACK`: a failed stack update undone.
    UpdateRollback,
    /// `UPDATE_COMPLETE_CLEANUP`: what an update replaced or removed is deleted.
    UpdateCompleteCleanup,
    /// `CONFIGURATION`: a resource's model, or every resource of the stack, is configured.
    Configuration,
    /// `HOOK`: a hook checks a resource or the stack before an operation (hook events only,
    /// never a resource's or stack's own status).
    Hook,
}

/// How far it got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `IN_PROGRESS`.
    InProgress,
    /// `COMPLETE`.
    Complete,
    /// `FAILED`.
    Failed,
    /// `SKIPPED`: a resource kept by its policy instead of deleted.
    Skipped,
    /// `COMPLETE_SUCCEEDED`: a hook found the target compliant.
    CompleteSucceeded,
    /// `COMPLETE_FAILED`: a hook found the target non-compliant.
    CompleteFailed,
}

/// A status: `verb` at `stage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// What is going on.
    pub verb: Verb,
    /// How far it got.
    pub stage: Stage,
}

const VERBS: &[(Verb, &str)] = &[
    // Longest first: `UPDATE_ROLLBACK_...` is not an `UPDATE`.
    (Verb::UpdateCompleteCleanup, "UPDATE_COMPLETE_CLEANUP"),
    (Verb::UpdateRollback, "UPDATE_ROLLBACK"),
    (Verb::Configuration, "CONFIGURATION"),
    (Verb::Hook, "HOOK"),
    (Verb::Rollback, "ROLLBACK"),
    (Verb::Create, "CREATE"),
    (Verb::Update, "UPDATE"),
    (Verb::Delete, "DELETE"),
];

const STAGES: &[(Stage, &str)] = &[
    (Stage::InProgress, "IN_PROGRESS"),
    (Stage::Complete, "COMPLETE"),
    (Stage::Failed, "FAILED"),
    (Stage::Skipped, "SKIPPED"),
    (Stage::CompleteSucceeded, "COMPLETE_SUCCEEDED"),
    (Stage::CompleteFailed, "COMPLETE_FAILED"),
];

impl Default for Status {
    /// A stack not made yet is about to be created.
    fn default() -> Self {
        Self::new(Verb::Create, Stage::InProgress)
    }
}

impl Status {
    /// `verb` at `stage`.
    pub const fn new(verb: Verb, stage: Stage) -> Self {
        Self { verb, stage }
    }

    /// The same operation at another stage.
    pub const fn at(self, stage: Stage) -> Self {
        Self { stage, ..self }
    }

    /// Whether a stack with this status is undoing a failed run.
    pub fn rolling_back(self) -> bool {
        matches!(self.verb, Verb::Rollback | Verb::UpdateRollback)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = VERBS.iter().find(|(verb, _)| *verb == self.verb).map_or("", |(_, name)| name);
        let stage = STAGES.iter().find(|(stage, _)| *stage == self.stage).map_or("", |(_, name)| name);
        // `pad` keeps the width and alignment a caller asks for.
        f.pad(&format!("{verb}_{stage}"))
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        VERBS
            .iter()
            .filter_map(|(verb, name)| Some((*verb, text.strip_prefix(name)?.strip_prefix('_')?)))
            .find_map(|(verb, rest)| {
                STAGES.iter().find(|(_, name)| *name == rest).map(|(stage, _)| Self::new(verb, *stage))
            })
            .ok_or_else(|| format!("{text} is not a CloudFormation status"))
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_write_as_cloudformation_names_them() {
        for name in [
            "CREATE_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE",
            "ROLLBACK_FAILED",
            "DELETE_SKIPPED",
            "CONFIGURATION_COMPLETE",
            "HOOK_IN_PROGRESS",
            "HOOK_COMPLETE_SUCCEEDED",
            "HOOK_COMPLETE_FAILED",
            "HOOK_FAILED",
        ] {
            let status: Status = name.parse().expect(name);
            assert_eq!(status.to_string(), name);
        }
        assert_eq!("UPDATE_ROLLBACK_IN_PROGRESS".parse(), Ok(Status::new(Verb::UpdateRollback, Stage::InProgress)));
        assert!("CREATE_DONE".parse::<Status>().is_err());
        assert!("UPDATE".parse::<Status>().is_err());
        assert_eq!(format!("{:<20}|", Status::new(Verb::Create, Stage::Complete)), "CREATE_COMPLETE     |");
    }
}
