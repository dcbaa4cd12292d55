//! The handler trait and the metadata a resource type declares in code.

use std::collections::BTreeMap;
use std::future::Future;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::chain::{HandlerResult, Session};
use crate::deadline::Deadline;
use crate::error::HandlerError;
use crate::partition::Partition;
use crate::wire::{Action, Credentials};

/// A resource type's handlers: one async method per action.
///
/// READ and LIST return a plain `Result`, so they cannot answer IN_PROGRESS. CREATE, UPDATE and
/// DELETE get a [`Session`], which memoizes finished steps across re-invocations and decides
/// between waiting in-process and returning IN_PROGRESS.
pub trait ResourceHandler: Send + Sync + 'static {
    /// The resource's properties, as the schema declares them.
    type Model: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;
    /// What READ and DELETE need: the primary identifier, or an additional one. Decoded from
    /// the request's model, which may hold nothing else.
    type Identifier: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The input LIST accepts (declare [`Empty`] when it takes none).
    type ListInput: DeserializeOwned + Default + Send + Sync + 'static;
    /// State carried from an IN_PROGRESS event to the next invocation.
    type Context: Serialize + DeserializeOwned + Default + Send + Sync + 'static;
    /// The account-level configuration of the type (declare [`Empty`] when it has none).
    type TypeConfiguration: Serialize + DeserializeOwned + JsonSchema + Default + Send + Sync + 'static;

    /// What the schema says beyond the properties.
    fn metadata() -> Metadata;

    /// Creates the resource described by `req.model`.
    fn create(
        &self,
        req: &Request<Self::Model, Self::TypeConfiguration>,
        session: &mut Session<Self::Context>,
    ) -> impl Future<Output = HandlerResult<Self::Model>> + Send;

    /// Reads the resource named by `req.model`.
    fn read(
        &self,
        req: &Request<Self::Identifier, Self::TypeConfiguration>,
    ) -> impl Future<Output = Result<Self::Model, HandlerError>> + Send;

    /// Updates the resource from `req.previous_model` to `req.model`.
    fn update(
        &self,
        req: &Request<Self::Model, Self::TypeConfiguration>,
        session: &mut Session<Self::Context>,
    ) -> impl Future<Output = HandlerResult<Self::Model>> + Send;

    /// Deletes the resource named by `req.model`.
    fn delete(
        &self,
        req: &Request<Self::Identifier, Self::TypeConfiguration>,
        session: &mut Session<Self::Context>,
    ) -> impl Future<Output = HandlerResult<()>> + Send;

    /// Lists one page of the resources of this type.
    fn list(
        &self,
        req: &Request<Self::ListInput, Self::TypeConfiguration>,
    ) -> impl Future<Output = Result<ListPage<Self::Model>, HandlerError>> + Send;
}

/// The input, context or type configuration of a type that has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct Empty {}

/// One LIST page.
#[derive(Debug)]
pub struct ListPage<M> {
    /// The models of this page (possibly none, with a `next_token` still).
    pub models: Vec<M>,
    /// Where the next page starts.
    pub next_token: Option<String>,
}

/// A handler's typed view of one request.
#[derive(Debug)]
pub struct Request<M, T> {
    /// The action being performed.
    pub action: Action,
    /// The full type name, e.g. `Rpdk::IAM::CrossAccountRole`.
    pub type_name: String,
    /// The desired model (CREATE, UPDATE), the identifier (READ, DELETE) or the LIST input.
    pub model: M,
    /// The model before an UPDATE.
    pub previous_model: Option<M>,
    /// The account's configuration of the type.
    pub type_configuration: T,
    /// The template's logical id.
    pub logical_resource_id: Option<String>,
    /// The same for every invocation of one operation, retries included.
    pub client_request_token: String,
    /// The account.
    pub account_id: String,
    /// The region.
    pub region: String,
    /// The partition of the region.
    pub partition: Partition,
    /// The stack.
    pub stack_id: Option<String>,
    /// The LIST page to continue from.
    pub next_token: Option<String>,
    /// The most models the LIST page may hold, when the caller says (see [`Request::page_size`]).
    pub max_results: Option<u32>,
    /// Whether CloudFormation asks for a snapshot before DELETE.
    pub snapshot_requested: bool,
    /// Whether the operation rolls back an earlier one.
    pub rollback: bool,
    /// Whether the request is part of drift detection.
    pub driftable: bool,
    /// Service features the request is made under, by name.
    pub features: BTreeMap<String, serde_json::Value>,
    /// The registered version of the type that serves the request.
    pub resource_type_version: Option<String>,
    /// The tags the resource should carry, as the Java wrapper merges them: the stack's tags
    /// overlaid by the resource's own (its tag property). A taggable type applies these on
    /// CREATE and reconciles to them on UPDATE; an UPDATE that changes only the stack's tags
    /// arrives with equal models and other tags here.
    pub desired_resource_tags: BTreeMap<String, String>,
    /// The tags the resource carried before an UPDATE, merged the same way.
    pub previous_resource_tags: BTreeMap<String, String>,
    /// The stack's tags.
    pub stack_tags: BTreeMap<String, String>,
    /// The stack's tags before an update.
    pub previous_stack_tags: BTreeMap<String, String>,
    /// CloudFormation's own tags.
    pub system_tags: BTreeMap<String, String>,
    /// CloudFormation's own tags before an update.
    pub previous_system_tags: BTreeMap<String, String>,
    /// The credentials of the type's execution role, new on every invocation.
    pub credentials: Option<Credentials>,
    /// When the handler must have answered. The dispatcher stops the handler then; clients
    /// that retry on their own note each retried fault on it, so that the answer names what
    /// used the time.
    pub deadline: Deadline,
}

impl<M, T> Request<M, T> {
    /// The keys of the desired tags that only the stack gives: what READ leaves out, since it
    /// reports the resource's own tags.
    pub fn stack_only_tag_keys<'a>(
        &'a self,
        own: impl IntoIterator<Item = &'a str>,
    ) -> std::collections::BTreeSet<&'a str> {
        let own: std::collections::BTreeSet<&str> = own.into_iter().collect();
        self.desired_resource_tags.keys().map(String::as_str).filter(|key| !own.contains(key)).collect()
    }

    /// How many models a LIST page holds: the type's own page size, capped by the caller's
    /// `maxResults`.
    pub fn page_size(&self, own: u32) -> u32 {
        self.max_results.map_or(own, |cap| cap.min(own)).max(1)
    }
}

/// How CloudFormation replaces a resource whose create-only property changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplacementStrategy {
    /// Create the new resource, then delete the old one (the default).
    CreateThenDelete,
    /// Delete the old resource first (for resources whose name must be unique).
    DeleteThenCreate,
}

/// The permissions and timeout of one handler.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandlerSpec {
    /// The IAM actions the handler calls, exactly.
    pub permissions: &'static [&'static str],
    /// The longest the operation may take, in minutes (2..=2160).
    pub timeout_in_minutes: Option<u32>,
}

/// The `tagging` section of the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagging {
    /// Whether the type takes tags at all.
    pub taggable: bool,
    /// Whether tags are applied on create.
    pub tag_on_create: bool,
    /// Whether tags can change in place.
    pub tag_updatable: bool,
    /// Whether CloudFormation may add its `aws:cloudformation:*` tags.
    pub cloudformation_system_tags: bool,
    /// The property that holds the tags.
    pub tag_property: &'static str,
    /// The permissions tagging needs.
    pub permissions: &'static [&'static str],
}

impl Tagging {
    /// A type that takes tags in `/properties/Tags`, settable on create and on update, without
    /// CloudFormation's system tags (which IAM, EC2 and SSM refuse from callers).
    pub const fn full(permissions: &'static [&'static str]) -> Self {
        Self {
            taggable: true,
            tag_on_create: true,
            tag_updatable: true,
            cloudformation_system_tags: false,
            tag_property: "/properties/Tags",
            permissions,
        }
    }

    /// A type that takes no tags.
    pub const fn none() -> Self {
        Self {
            taggable: false,
            tag_on_create: false,
            tag_updatable: false,
            cloudformation_system_tags: false,
            tag_property: "/properties/Tags",
            permissions: &[],
        }
    }
}

/// What a resource type declares about itself beyond its properties. Property references are
/// JSON pointers as the schema writes them: `/properties/Name`.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// The service part of the type name (`IAM` in `Rpdk::IAM::CrossAccountRole`). The
    /// namespace comes from the project configuration.
    pub service: &'static str,
    /// The resource part of the type name.
    pub resource: &'static str,
    /// What the type is, for the registry.
    pub description: &'static str,
    /// Where the type's source lives.
    pub source_url: Option<&'static str>,
    /// The properties that identify a resource.
    pub primary_identifier: &'static [&'static str],
    /// Other property sets that identify a resource.
    pub additional_identifiers: &'static [&'static [&'static str]],
    /// Properties LIST needs as input, e.g. the parent of the resources it lists (the schema's
    /// `handlers.list.handlerSchema`); a LIST without them is an invalid request.
    pub list_input: &'static [&'static str],
    /// Properties only the handlers set.
    pub read_only: &'static [&'static str],
    /// Properties never returned (secrets).
    pub write_only: &'static [&'static str],
    /// Properties whose change replaces the resource.
    pub create_only: &'static [&'static str],
    /// Per-action permissions and timeouts.
    pub handlers: Handlers,
    /// Tagging.
    pub tagging: Tagging,
    /// How replacement happens.
    pub replacement_strategy: Option<ReplacementStrategy>,
}

/// Permissions and timeouts of every handler.
#[derive(Clone, Debug, Default)]
pub struct Handlers {
    /// CREATE.
    pub create: HandlerSpec,
    /// READ.
    pub read: HandlerSpec,
    /// UPDATE.
    pub update: HandlerSpec,
    /// DELETE.
    pub delete: HandlerSpec,
    /// LIST.
    pub list: HandlerSpec,
}

impl Handlers {
    /// The spec of one action.
    pub fn get(&self, action: Action) -> &HandlerSpec {
        match action {
            Action::Create => &self.create,
            Action::Read => &self.read,
            Action::Update => &self.update,
            Action::Delete => &self.delete,
            Action::List => &self.list,
        }
    }
}

impl Metadata {
    /// The metadata of a type identified by `primary_identifier`, with nothing else declared:
    /// no other identifiers, no read-only, write-only or create-only properties, no
    /// permissions, no tags. Declare the rest with struct update syntax:
    /// `Metadata { write_only: &["/properties/Secret"], ..Metadata::new(...) }`.
    pub fn new(
        service: &'static str,
        resource: &'static str,
        description: &'static str,
        primary_identifier: &'static [&'static str],
    ) -> Self {
        Self {
            service,
            resource,
            description,
            source_url: None,
            primary_identifier,
            additional_identifiers: &[],
            list_input: &[],
            read_only: &[],
            write_only: &[],
            create_only: &[],
            handlers: Handlers::default(),
            tagging: Tagging::none(),
            replacement_strategy: None,
        }
    }

    /// The full type name under `namespace`.
    pub fn type_name(&self, namespace: &str) -> String {
        format!("{namespace}::{}::{}", self.service, self.resource)
    }
}
