//! `Rpdk::SCIM::Connector`: a connection, proven before it is saved, kept in SSM.

use rpdk::{Empty, HandlerError, HandlerResult, ListPage, Request, ResourceHandler, Session};

use crate::model::{Connector, ConnectorKey, Tag};
use crate::scim::Scim;
use crate::store::{Settings, Store};
use crate::validate;

/// The most tags SSM lets a parameter carry.
const SSM_TAG_LIMIT: usize = 50;

/// The handlers of `Rpdk::SCIM::Connector`. None of them answers IN_PROGRESS, so no event
/// ever carries the token.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectorType;

type Req<M> = Request<M, Empty>;

impl ResourceHandler for ConnectorType {
    type Model = Connector;
    type Identifier = ConnectorKey;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> rpdk::Metadata {
        crate::model::connector_metadata()
    }

    async fn create(&self, req: &Req<Connector>, _session: &mut Session<Empty>) -> HandlerResult<Connector> {
        let desired = &req.model;
        validate::connector(desired)?;
        let token = desired.bearer_token.clone().ok_or_else(|| {
            HandlerError::invalid_request("BearerToken: required; give the token the SCIM service expects")
        })?;
        let capabilities = prove(&desired.base_url, &token, &req.deadline).await?;
        let store = Store::connect(req)?;
        let operation = rpdk_aws::operation_id(&req.client_request_token);
        let settings = Settings {
            base_url: desired.base_url.clone(),
            description: desired.description.clone(),
            kms_key_id: desired.kms_key_id.clone(),
            capabilities,
            created_by: operation.clone(),
        };
        let tags = applied_tags(req)?;
        match store.claim(&desired.name, &settings, &tags).await? {
            None => {}
            // A retried create: the first attempt claimed the name.
            Some(existing) if existing.created_by == operation => store.save_settings(&desired.name, &settings).await?,
            Some(_) => return Err(HandlerError::already_exists(&req.type_name, &desired.name).into()),
        }
        let saved = async {
            store.save_token(&desired.name, &token, desired.kms_key_id.as_deref()).await?;
            store.tag_token(&desired.name, &tags).await
        };
        if let Err(error) = saved.await {
            if let Err(cleanup) = store.delete_all(&desired.name).await {
                tracing::error!(connector = %desired.name, error = %cleanup, "rollback of a failed create left parameters behind");
            }
            return Err(error.into());
        }
        read(&store, &desired.name, &req.type_name).await.map_err(Into::into)
    }

    async fn read(&self, req: &Req<ConnectorKey>) -> Result<Connector, HandlerError> {
        read(&Store::connect(req)?, &req.model.name, &req.type_name).await
    }

    async fn update(&self, req: &Req<Connector>, _session: &mut Session<Empty>) -> HandlerResult<Connector> {
        let desired = &req.model;
        validate::connector(desired)?;
        let desired_tags = applied_tags(req)?;
        let store = Store::connect(req)?;
        let current = store
            .settings(&desired.name)
            .await?
            .ok_or_else(|| HandlerError::not_found(&req.type_name, &desired.name))?;
        let token = match &desired.bearer_token {
            Some(token) => token.clone(),
            None => {
                let (_, token) = store
                    .load(&desired.name)
                    .await?
                    .ok_or_else(|| HandlerError::not_found(&req.type_name, &desired.name))?;
                token
            }
        };
        let capabilities = prove(&desired.base_url, &token, &req.deadline).await?;
        if desired.bearer_token.is_some() || desired.kms_key_id != current.kms_key_id {
            store.save_token(&desired.name, &token, desired.kms_key_id.as_deref()).await?;
        }
        let settings = Settings {
            base_url: desired.base_url.clone(),
            description: desired.description.clone(),
            kms_key_id: desired.kms_key_id.clone(),
            capabilities,
            created_by: current.created_by,
        };
        store.save_settings(&desired.name, &settings).await?;
        let current_tags = store.tags(&desired.name).await?;
        let set: Vec<Tag> = desired_tags.iter().filter(|t| !current_tags.contains(t)).cloned().collect();
        let unset: Vec<String> = current_tags
            .iter()
            .filter(|t| !desired_tags.iter().any(|d| d.key == t.key))
            .map(|t| t.key.clone())
            .collect();
        store.retag(&desired.name, &set, &unset).await?;
        read(&store, &desired.name, &req.type_name).await.map_err(Into::into)
    }

    async fn delete(&self, req: &Req<ConnectorKey>, _session: &mut Session<Empty>) -> HandlerResult<()> {
        let store = Store::connect(req)?;
        if store.settings(&req.model.name).await?.is_none() {
            return Err(HandlerError::not_found(&req.type_name, &req.model.name).into());
        }
        store.delete_all(&req.model.name).await.map_err(Into::into)
    }

    async fn list(&self, req: &Req<Empty>) -> Result<ListPage<Connector>, HandlerError> {
        let store = Store::connect(req)?;
        let (connectors, next_token) =
            store.list(req.next_token.as_deref(), req.page_size(crate::store::LIST_PAGE_SIZE)).await?;
        let mut models = Vec::with_capacity(connectors.len());
        for (name, settings) in connectors {
            let tags = store.tags(&name).await?;
            models.push(model(name, settings, tags));
        }
        Ok(ListPage { models, next_token })
    }
}

/// Proves the connection: discovery, then an authenticated call (discovery may be public).
async fn prove(
    base_url: &str,
    token: &rpdk::Secret,
    deadline: &rpdk::Deadline,
) -> Result<crate::model::Capabilities, HandlerError> {
    let scim = Scim::new(base_url, token.clone(), deadline.clone())?;
    let capabilities = scim.discover().await?;
    scim.check_token().await?;
    Ok(capabilities)
}

/// READ answers from SSM alone, so drift detection never depends on the provider.
async fn read(store: &Store, name: &str, type_name: &str) -> Result<Connector, HandlerError> {
    // Asked together; a missing connector makes the tags fail too, and its absence is the answer.
    let (settings, tags) = tokio::join!(store.settings(name), store.tags(name));
    let settings = settings?.ok_or_else(|| HandlerError::not_found(type_name, name))?;
    Ok(model(name.to_owned(), settings, tags?))
}

/// The tags the connector's parameters carry: the stack's and its own (see [`rpdk_aws::tags`]).
fn applied_tags(req: &Req<Connector>) -> Result<Vec<Tag>, HandlerError> {
    let own = req.model.tags.iter().flatten().map(|t| t.key.as_str());
    let tags = rpdk_aws::tags::applied(req, own, SSM_TAG_LIMIT, 0, "SSM")?;
    Ok(tags.into_iter().map(|(key, value)| Tag { key, value }).collect())
}

/// The model of a stored connector, with its own tags only (not the stack's).
fn model(name: String, settings: Settings, tags: Vec<Tag>) -> Connector {
    let tags: Vec<Tag> = rpdk_aws::tags::own(tags.iter().map(|t| (t.key.as_str(), t.value.as_str())), |_| false)
        .into_iter()
        .map(|(key, value)| Tag { key: key.to_owned(), value: value.to_owned() })
        .collect();
    Connector {
        name,
        base_url: settings.base_url,
        bearer_token: None,
        kms_key_id: settings.kms_key_id,
        description: settings.description,
        tags: (!tags.is_empty()).then_some(tags),
        capabilities: Some(settings.capabilities),
    }
}
