//! What users and groups share: reaching the provider through their connector, and creating
//! exactly once.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use rpdk::{Action, HandlerError, HandlerErrorCode, Request};
use serde_json::Value;

use crate::model::Capabilities;
use crate::scim::{Endpoint, Resource, Scim};
use crate::store::{Marker, Store};

/// How far the provider's clock may lag the handler's when a retried create looks for what its first
/// attempt made.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// The provider behind `connector`, with the caller's credentials.
pub struct Provider {
    /// SSM, for create markers.
    pub store: Store,
    /// The SCIM client.
    pub scim: Scim,
    /// What the provider supports.
    pub capabilities: Capabilities,
}

impl Provider {
    /// Loads the connector (settings and token) from SSM. A missing connector is the template's
    /// mistake when a resource is created or listed (`InvalidRequest` naming it); for a
    /// resource that exists, it means the resource went with its connector (`NotFound`, so a
    /// stack's delete goes on and a READ answers as for any resource that is gone).
    pub async fn connect<M, T>(req: &Request<M, T>, connector: &str) -> Result<Self, HandlerError> {
        let store = Store::connect(req)?;
        let Some((settings, token)) = store.load(connector).await? else {
            return Err(match req.action {
                Action::Create | Action::List => HandlerError::invalid_request(format!(
                    "Connector: there is no Rpdk::SCIM::Connector named '{connector}' in this account and region; create it first (or fix the name)"
                )),
                Action::Read | Action::Update | Action::Delete => HandlerError::new(
                    HandlerErrorCode::NotFound,
                    format!("Rpdk::SCIM::Connector '{connector}' no longer exists, and with it this {}", req.type_name),
                ),
            });
        };
        let scim = Scim::new(&settings.base_url, token, req.deadline.clone())?;
        Ok(Self { store, scim, capabilities: settings.capabilities })
    }

    /// Creates the resource once per operation, and returns its id.
    ///
    /// A marker in SSM, written before the `POST` and completed with the id after it, tells a
    /// retried CREATE (same client request token) what its first attempt got to: done, it
    /// answers that id; interrupted around the `POST`, it first looks for a resource with the
    /// same `attribute` created since the marker, and adopts it instead of creating another.
    pub async fn create_once(
        &self,
        req_token: &str,
        connector: &str,
        endpoint: Endpoint,
        body: &Value,
        attribute: &str,
        value: &str,
    ) -> Result<String, HandlerError> {
        let operation = rpdk_aws::operation_id(req_token);
        let adopted = match self.store.marker(connector, &operation).await? {
            Some(Marker::Created(id)) => return Ok(id),
            Some(Marker::Pending(since)) => self.created_since(endpoint, attribute, value, since).await?,
            None => {
                if !self.store.mark_pending(connector, &operation).await? {
                    // A concurrent attempt of the same operation got here first.
                    return Err(HandlerError::new(
                        rpdk::HandlerErrorCode::ResourceConflict,
                        "another attempt of this operation is creating the resource; retry",
                    ));
                }
                None
            }
        };
        let id = match adopted {
            Some(id) => id,
            None => id_of(&self.scim.create(endpoint, body).await?)?,
        };
        self.store.mark_created(connector, &operation, &id).await?;
        Ok(id)
    }

    async fn created_since(
        &self,
        endpoint: Endpoint,
        attribute: &str,
        value: &str,
        since: i64,
    ) -> Result<Option<String>, HandlerError> {
        if !self.capabilities.filter {
            return Ok(None);
        }
        let found = self.scim.find(endpoint, attribute, value).await?;
        let recent = |resource: &&Value| {
            resource
                .pointer("/meta/created")
                .and_then(Value::as_str)
                .and_then(|created| DateTime::from_str(created, Format::DateTimeWithOffset).ok())
                .is_some_and(|created| created.secs() >= since - CLOCK_SKEW_SECONDS)
        };
        Ok(found.iter().find(recent).and_then(|r| r.get("id")).and_then(Value::as_str).map(str::to_owned))
    }

    /// The resource, or NotFound naming it.
    pub async fn get(
        &self,
        endpoint: Endpoint,
        id: &str,
        type_name: &str,
        connector: &str,
    ) -> Result<Resource, HandlerError> {
        self.scim
            .get(endpoint, id)
            .await?
            .ok_or_else(|| HandlerError::not_found(type_name, &format!("{connector}|{id}")))
    }

    /// Every one of `members` (ids of users through `connector`) exists, or the first that does
    /// not is named: a provider may accept a group with unknown members and drop them silently.
    pub async fn existing_users<'m>(
        &self,
        members: impl IntoIterator<Item = (usize, &'m String)>,
        connector: &str,
    ) -> Result<(), HandlerError> {
        for (index, id) in members {
            if self.scim.get(Endpoint::Users, id).await?.is_none() {
                return Err(HandlerError::invalid_request(format!(
                    "Members[{index}]: no user '{id}' through connector {connector}; name the Id of a Rpdk::SCIM::User of that connector"
                )));
            }
        }
        Ok(())
    }
}

/// The id of a resource the provider answered.
pub fn id_of(resource: &Resource) -> Result<String, HandlerError> {
    resource.body.get("id").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        HandlerError::new(
            rpdk::HandlerErrorCode::GeneralServiceException,
            "the SCIM service answered a resource without an id",
        )
    })
}

/// One LIST page of `endpoint` through `connector`; the registry's `nextToken` is the next
/// `startIndex`.
pub async fn list<I, T, M>(
    req: &Request<I, T>,
    connector: &str,
    endpoint: Endpoint,
    model: impl Fn(&Value) -> M,
) -> Result<rpdk::ListPage<M>, HandlerError> {
    let provider = Provider::connect(req, connector).await?;
    let start = match req.next_token.as_deref() {
        Some(token) => token.parse::<u64>().ok().filter(|s| *s >= 1).ok_or_else(|| {
            HandlerError::invalid_request(format!("nextToken: '{token}' is not a token this type issued"))
        })?,
        None => 1,
    };
    let count = match provider.capabilities.max_results {
        0 => u64::from(req.page_size(50)),
        max => max.min(u64::from(req.page_size(50))),
    };
    let page = provider.scim.list(endpoint, start, count, provider.capabilities.sort).await?;
    Ok(rpdk::ListPage {
        models: page.resources.iter().map(model).collect(),
        next_token: page.next_start.map(|s| s.to_string()),
    })
}
