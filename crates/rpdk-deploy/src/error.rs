//! The crate's one error type: what ends a deploy or delete, as opposed to a resource's
//! failure, which the engine records as an event and rolls back.

use std::path::PathBuf;

/// What the local stack's side of the [`crate::Backend`] seam failed with.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// What can end a deploy, a delete or a read of a stack's records.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A stack name CloudFormation would refuse.
    #[error(
        "--stack-name {0}: a stack name starts with a letter and holds only letters, digits and hyphens (at most 128)"
    )]
    StackName(String),
    /// Another command holds the stack.
    #[error("another deploy or delete of this stack is running; let it end first")]
    Locked,
    /// A template that this deployment's values, or the other stacks, make wrong.
    #[error("{} problem(s) in the template; nothing was created", .0.len())]
    Template(Vec<crate::template::Problem>),
    /// A deploy of a stack whose delete has not ended.
    #[error("stack {stack} is {status}: finish deleting it with `cargo rpdk delete --stack-name {stack}` first")]
    Deleting {
        /// The stack.
        stack: String,
        /// Its status.
        status: crate::status::Status,
    },
    /// A delete of a stack that is not here.
    #[error("there is no stack {0} here (`.rpdk/stacks/`)")]
    NoStack(String),
    /// A delete of a stack whose export another stack imports.
    #[error(
        "stack {stack} exports {export}, which {stacks} import(s): delete them, or stop importing it, first; nothing was deleted"
    )]
    Imported {
        /// The stack.
        stack: String,
        /// The export.
        export: String,
        /// The importing stacks, comma-separated.
        stacks: String,
    },
    /// A stack's file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A stack that has no event history here.
    #[error("no events recorded for this stack ({})", .0.display())]
    NoEvents(PathBuf),
    /// A stack's file holds something else than its records.
    #[error("{} is not {what}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What it should hold.
        what: &'static str,
        /// Why it is not that.
        source: serde_json::Error,
    },
    /// A stack holds resources of a type no handler serves.
    #[error(
        "stack {stack} holds resources of {missing}, which no handler here serves now: add the type back to rpdk-config.json (then `cargo rpdk stop`) to update or delete the stack"
    )]
    Unserved {
        /// The stack.
        stack: String,
        /// The types, comma-separated.
        missing: String,
    },
    /// A hook's configuration that cannot be read.
    #[error("the configuration of hook {hook}: {fault}")]
    HookConfiguration {
        /// The hook.
        hook: String,
        /// What is wrong.
        fault: String,
    },
    /// A deploy failed and was rolled back.
    #[error("stack {stack} rolled back: {reason}")]
    RolledBack {
        /// The stack.
        stack: String,
        /// What failed, secrets masked.
        reason: String,
    },
    /// A delete left resources.
    #[error("stack {stack} was not deleted: {reason}")]
    NotDeleted {
        /// The stack.
        stack: String,
        /// What could not be deleted, secrets masked.
        reason: String,
    },
    /// The local stack could not be asked.
    #[error("the local stack: {0}")]
    Backend(BackendError),
    /// An operation could not be followed to its end.
    #[error(transparent)]
    Local(#[from] rpdk_local::Error),
    /// A broken promise of the engine itself.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A file error, with its path.
    pub(crate) fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::File { path, source }
    }
}
