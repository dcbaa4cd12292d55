//! The local stack as a library: what `cargo rpdk` and the native contract suite share to
//! drive handlers on it.
//!
//! - [`Call`] is one registry operation as CloudFormation requests it, and [`Functions`] the
//!   typed protocol client of the stack's Lambda endpoint, which sends it and [`follow`]s it.
//! - [`ResponseBucket`] is CloudFormation's bucket of custom resource responses.
//! - [`StackDescription`] is what a running stack says of itself in its description file, and
//!   what a command or the suite attaches to it by.

mod bucket;
mod call;
mod description;
mod error;
mod functions;

pub use bucket::ResponseBucket;
pub use call::{Call, HANDLER_TIMEOUT, new_token};
pub use description::StackDescription;
pub use error::Error;
pub use functions::{Answer, Functions, follow};

/// The account the local stack's emulators answer for.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region of every local run.
pub const REGION: &str = "us-east-1";
