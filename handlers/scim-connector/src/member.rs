//! What users and groups share: reaching the provider through their connector, and creating
//! exactly once.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use rpdk::{Action, HandlerError, HandlerErrorCode, Request};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::Capabilities;
use crate::scim::{Endpoint, Resource, Scim};
use crate::store::{Marker, Store};

/// How far the provider's clock may lag the handler's when a retried create looks for what its first
/// attempt made.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// What a create marker says is being created, without saying it (a user name is personal
/// data): the first 16 hex digits of the SHA-256 of the endpoint, attribute and value.
fn subject(endpoint: Endpoint, attribute: &str, value: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{attribute}\n{value}", endpoint.noun()).as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Whether a failed `POST` is known to have made nothing: the provider answered it with a
/// refusal. A transport failure or a server error may come after the work was done.
fn made_nothing(error: &HandlerError) -> bool {
    !matches!(
        error.code(),
        HandlerErrorCode::NetworkFailure
            | HandlerErrorCode::ServiceInternalError
            | HandlerErrorCode::GeneralServiceException
            | HandlerErrorCode::InternalFailure
    )
}

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
    ///
    /// Adoption never takes another operation's resource (another stack's, or a killed run's):
    /// a `POST` the provider refused forgets the marker, so its retry does not adopt what
    /// someone else made meanwhile; a resource another marker names as created is theirs; and
    /// one that another operation, also interrupted around its `POST` of the same value, may
    /// have made is left to no one (`AlreadyExists`, naming it).
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
        let subject = subject(endpoint, attribute, value);
        let adopted = match self.store.marker(connector, &operation).await? {
            Some(Marker::Created(id)) => return Ok(id),
            Some(Marker::Pending { since, .. }) => {
                self.adoptable(connector, &operation, &subject, (endpoint, attribute, value), since).await?
            }
            None => {
                if !self.store.mark_pending(connector, &operation, &subject).await? {
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
            None => match self.scim.create(endpoint, body).await {
                Ok(created) => id_of(&created)?,
                Err(error) => {
                    if made_nothing(&error) {
                        self.store.forget(connector, &operation).await?;
                    }
                    return Err(error);
                }
            },
        };
        self.store.mark_created(connector, &operation, &id).await?;
        Ok(id)
    }

    /// The resource this operation's interrupted attempt made, if it can be only this one's.
    async fn adoptable(
        &self,
        connector: &str,
        operation: &str,
        subject: &str,
        (endpoint, attribute, value): (Endpoint, &str, &str),
        since: i64,
    ) -> Result<Option<String>, HandlerError> {
        let Some((id, created)) = self.created_since(endpoint, attribute, value, since).await? else {
            return Ok(None);
        };
        for (other, marker) in self.store.markers(connector).await? {
            if other == operation {
                continue;
            }
            match marker {
                // Theirs: this operation's POST never got through, and trying it says so.
                Marker::Created(theirs) if theirs == id => return Ok(None),
                Marker::Pending { since: their_since, subject: Some(theirs) }
                    if theirs == subject && their_since <= created + CLOCK_SKEW_SECONDS =>
                {
                    return Err(HandlerError::new(
                        HandlerErrorCode::AlreadyExists,
                        format!(
                            "a {} with this {attribute} exists (id {id}), made while another create of the same {attribute} was interrupted too, so whose it is cannot be told; it is not adopted. Delete it from the provider, or give another {attribute}, and retry",
                            endpoint.noun()
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(Some(id))
    }

    /// The id and creation time of a resource with `attribute` `value` created since `since`.
    async fn created_since(
        &self,
        endpoint: Endpoint,
        attribute: &str,
        value: &str,
        since: i64,
    ) -> Result<Option<(String, i64)>, HandlerError> {
        if !self.capabilities.filter {
            return Ok(None);
        }
        let found = self.scim.find(endpoint, attribute, value).await?;
        Ok(found.iter().find_map(|resource| {
            let created = resource
                .pointer("/meta/created")
                .and_then(Value::as_str)
                .and_then(|created| DateTime::from_str(created, Format::DateTimeWithOffset).ok())?
                .secs();
            let id = resource.get("id").and_then(Value::as_str)?;
            (created >= since - CLOCK_SKEW_SECONDS).then(|| (id.to_owned(), created))
        }))
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
