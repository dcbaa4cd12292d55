//! `Rpdk::SCIM::Connector`, `Rpdk::SCIM::User` and `Rpdk::SCIM::Group`: users and groups in
//! any SCIM 2.0 service provider (RFC 7643/7644), through a connection kept in SSM.
//!
//! A connector is proven before it is saved (discovery, then an authenticated call); its
//! token is stored only as a SecureString (see [`store`] for the layout), never returned,
//! logged or shown in `Debug`. Users and groups load their connector from SSM with the
//! caller's credentials on every invocation.
//!
//! Updates never erase what the model does not manage: with PATCH, minimal operations
//! (member add/remove for groups); without it, a GET, the managed attributes overlaid and a
//! PUT, conditional on the ETag when the provider has them (a 412 is `ResourceConflict`).
//!
//! A retried CREATE of a user or group (same client request token) answers what its first
//! attempt made: see [`member::Provider::create_once`].

mod connector;
mod group;
pub mod member;
pub mod model;
pub mod scim;
pub mod store;
mod user;
pub mod validate;

pub use connector::ConnectorType;
pub use group::GroupType;
pub use user::UserType;
