//! # rpdk: CloudFormation registry resource providers in Rust
//!
//! A resource type is a model (its properties, as a serde + schemars type), its [`Metadata`]
//! (identifiers, read-only, write-only and create-only properties, permissions, tagging) and
//! an implementation of [`ResourceHandler`]: one async method per action. The
//! [`Dispatcher`] turns registry requests into calls of those methods and their results into
//! progress events that keep every rule of the protocol, and serves the same handlers as
//! classic custom resources ([`custom_resource`]); [`registry_schema`] emits the
//! type's schema in the registry's dialect; [`follow`] is the rule a caller follows an
//! operation's progress events by. This crate knows neither Lambda nor the AWS SDK:
//! `rpdk-lambda` runs a dispatcher on Lambda and `rpdk-aws` helps with AWS calls. The
//! project README has a complete type, compiled as a doctest of `rpdk-lambda`.

mod chain;
mod deadline;
mod dispatch;
mod error;
pub mod follow;
pub mod hook;
mod lenient;
mod outgoing;
mod page_token;
mod partition;
mod recast;
mod resource;
pub mod schema;
mod secret;
pub mod template;
pub mod wire;

pub use chain::{HandlerResult, Interrupt, MIN_CALL_TIME, RetryPolicy, Session, Wait};
pub use deadline::{Clock, Deadline, Sleep, SystemClock};
pub use dispatch::{DEFAULT_NAMESPACE, Dispatcher, custom_resource};
pub use error::{HandlerError, HandlerErrorCode};
pub use partition::Partition;
pub use resource::{
    Empty, HandlerSpec, Handlers, ListPage, Metadata, ReplacementStrategy, Request, ResourceHandler, Tagging,
};
pub use schema::registry_schema;
pub use secret::Secret;
pub use wire::{Action, Credentials};
