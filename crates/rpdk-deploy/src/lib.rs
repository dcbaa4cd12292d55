//! The local deploy engine as a library: CloudFormation's deploy, update, rollback and delete
//! of a stack, applied through registry handlers and classic custom resources.
//!
//! - [`template`] reads a template (YAML with short-form tags, or JSON) into CloudFormation's
//!   long form and checks it as a whole; [`evaluate`] binds it to parameters and conditions and
//!   evaluates intrinsic functions; [`plan`] checks what this deployment's values make wrong
//!   before anything is made.
//! - A [`Site`] deploys and deletes stacks: its engine applies a template, each resource one
//!   job, independent ones in parallel within the [`LIMITS`], recording events and [`state`]
//!   after every change so an interrupted run resumes.
//! - [`Backend`] is the engine's one seam to the local stack: single invocations, the response
//!   bucket of [`custom`] resources, dynamic references. Following an operation's IN_PROGRESS
//!   events within its handler timeout is the engine's ([`operate`]).

mod backend;
pub mod custom;
mod engine;
mod error;
pub mod evaluate;
pub mod hooks;
mod local;
mod operation;
pub mod plan;
mod record;
mod run;
mod schedule;
mod site;
pub mod state;
pub mod status;
pub mod template;

pub use backend::Backend;
pub use engine::ServedType;
pub use error::{BackendError, Error};
pub use operation::operate;
pub use record::Printer;
pub use run::{Deleted, Deployment, Finding};
pub use schedule::{LIMITS, Limits};
pub use site::Site;
