//! The local stack as a library: what `cargo rpdk` and the native contract suite share to
//! drive handlers on it.
//!
//! - [`Call`] is one registry operation as CloudFormation requests it, and [`Functions`] the
//!   typed protocol client of the stack's Lambda endpoint, which sends it and [`follow`]s it.
//! - [`ResponseBucket`] is CloudFormation's bucket of custom resource responses.
//! - [`StackDescription`] is what a running stack says of itself in its description file, and
//!   what a command or the suite attaches to it by.
//! - [`Stack`] is the supervisor of a running stack: its emulators started from a [`Setup`] as a
//!   list of [`process::Spec`]s, its principals, its handlers, and its admin ([`Admin`]).

mod admin;
mod bucket;
mod call;
mod description;
mod error;
mod functions;
pub mod process;
mod stack;

pub use admin::{Admin, LogPage};
pub use bucket::{ResponseBucket, stringified};
pub use call::{Call, HANDLER_TIMEOUT, new_token};
pub use description::StackDescription;
pub use error::Error;
pub use functions::{Answer, Functions, follow};
pub use stack::{INVOCATION_SECONDS, Principals, Role, ServedType, Setup, Stack, stop_described};

/// The account the local stack's emulators answer for.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region of every local run.
pub const REGION: &str = "us-east-1";

/// `Rpdk::IAM::CrossAccountRole` → `rpdk-iam-crossaccountrole`: the stem the registry's files
/// and log group of a type are named by.
pub fn type_stem(type_name: &str) -> String {
    type_name.replace("::", "-").to_ascii_lowercase()
}

/// The log group of a type's provider logs: the one `cfn submit` registers it with
/// (`rpdk-iam-crossaccountrole-logs`).
pub fn log_group_name(type_name: &str) -> String {
    format!("{}-logs", type_stem(type_name))
}
