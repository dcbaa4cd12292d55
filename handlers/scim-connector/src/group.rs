//! `Rpdk::SCIM::Group`: a group and its members.

use std::collections::BTreeSet;

use rpdk::{Empty, HandlerError, HandlerResult, ListPage, Request, ResourceHandler, Session};
use serde_json::{Value, json};

use crate::member::{self, Provider};
use crate::model::{Group, GroupKey, ThroughConnector};
use crate::scim::Endpoint;
use crate::validate;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The handlers of `Rpdk::SCIM::Group`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GroupType;

type Req<M> = Request<M, Empty>;

impl ResourceHandler for GroupType {
    type Model = Group;
    type Identifier = GroupKey;
    type ListInput = ThroughConnector;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> rpdk::Metadata {
        crate::model::group_metadata()
    }

    async fn create(&self, req: &Req<Group>, _session: &mut Session<Empty>) -> HandlerResult<Group> {
        let desired = &req.model;
        validate::group(desired)?;
        let provider = Provider::connect(req, &desired.connector).await?;
        provider.existing_users(desired.members.iter().flatten().enumerate(), &desired.connector).await?;
        let body = json!({
            "schemas": [CORE],
            "displayName": desired.display_name,
            "members": members_to_scim(desired.members.iter().flatten()),
        });
        let id = provider
            .create_once(
                &req.client_request_token,
                &desired.connector,
                Endpoint::Groups,
                &body,
                "displayName",
                &desired.display_name,
            )
            .await?;
        let created = provider.get(Endpoint::Groups, &id, &req.type_name, &desired.connector).await?;
        Ok(from_scim(&desired.connector, &created.body))
    }

    async fn read(&self, req: &Req<GroupKey>) -> Result<Group, HandlerError> {
        let key = &req.model;
        let provider = Provider::connect(req, &key.connector).await?;
        let resource = provider.get(Endpoint::Groups, &key.id, &req.type_name, &key.connector).await?;
        Ok(from_scim(&key.connector, &resource.body))
    }

    async fn update(&self, req: &Req<Group>, _session: &mut Session<Empty>) -> HandlerResult<Group> {
        let desired = &req.model;
        validate::group(desired)?;
        let id = desired.id.clone().unwrap_or_default();
        let provider = Provider::connect(req, &desired.connector).await?;
        let current = provider.get(Endpoint::Groups, &id, &req.type_name, &desired.connector).await?;
        let held = members_of(&current.body);
        let added: Vec<(usize, &String)> =
            desired.members.iter().flatten().enumerate().filter(|(_, id)| !held.contains(*id)).collect();
        provider.existing_users(added, &desired.connector).await?;
        let wanted = wanted_members(req.previous_model.as_ref(), desired, &held);
        let rename = current.body.get("displayName").and_then(Value::as_str) != Some(desired.display_name.as_str());
        let etag = current.etag.as_deref().filter(|_| provider.capabilities.etag);
        if provider.capabilities.patch {
            let mut operations = Vec::new();
            if rename {
                operations.push(json!({"op": "replace", "path": "displayName", "value": desired.display_name}));
            }
            let added: Vec<&String> = wanted.difference(&held).collect();
            if !added.is_empty() {
                operations.push(json!({"op": "add", "path": "members", "value": members_to_scim(added)}));
            }
            for removed in held.difference(&wanted) {
                operations.push(
                    json!({"op": "remove", "path": format!("members[value eq {}]", Value::String(removed.clone()))}),
                );
            }
            provider.scim.patch(Endpoint::Groups, &id, operations, etag).await?;
        } else if rename || wanted != held {
            let mut body = current.body;
            body["displayName"] = json!(desired.display_name);
            body["members"] = members_to_scim(wanted.iter());
            provider.scim.replace(Endpoint::Groups, &id, &body, etag).await?;
        }
        let updated = provider.get(Endpoint::Groups, &id, &req.type_name, &desired.connector).await?;
        Ok(from_scim(&desired.connector, &updated.body))
    }

    async fn delete(&self, req: &Req<GroupKey>, _session: &mut Session<Empty>) -> HandlerResult<()> {
        let key = &req.model;
        let provider = Provider::connect(req, &key.connector).await?;
        if !provider.scim.delete(Endpoint::Groups, &key.id).await? {
            return Err(HandlerError::not_found(&req.type_name, &format!("{}|{}", key.connector, key.id)).into());
        }
        Ok(())
    }

    async fn list(&self, req: &Req<ThroughConnector>) -> Result<ListPage<Group>, HandlerError> {
        let connector = &req.model.connector;
        member::list(req, connector, Endpoint::Groups, |body| from_scim(connector, body)).await
    }
}

/// The members after the update: the model's list when it has one (the whole membership);
/// without one, what the provider holds minus what the previous model managed.
fn wanted_members(previous: Option<&Group>, desired: &Group, held: &BTreeSet<String>) -> BTreeSet<String> {
    match &desired.members {
        Some(members) => members.iter().cloned().collect(),
        None => {
            let managed: BTreeSet<&String> = previous.and_then(|p| p.members.as_ref()).into_iter().flatten().collect();
            held.iter().filter(|m| !managed.contains(m)).cloned().collect()
        }
    }
}

fn members_of(body: &Value) -> BTreeSet<String> {
    body.get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("value")?.as_str().map(str::to_owned))
        .collect()
}

fn members_to_scim<'a>(ids: impl IntoIterator<Item = &'a String>) -> Value {
    Value::Array(ids.into_iter().map(|id| json!({"value": id})).collect())
}

fn from_scim(connector: &str, body: &Value) -> Group {
    let members: Vec<String> = members_of(body).into_iter().collect();
    Group {
        connector: connector.to_owned(),
        display_name: body.get("displayName").and_then(Value::as_str).unwrap_or_default().to_owned(),
        members: (!members.is_empty()).then_some(members),
        id: body.get("id").and_then(Value::as_str).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(members: Option<&[&str]>) -> Group {
        Group {
            connector: "hr".into(),
            display_name: "Eng".into(),
            members: members.map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
            id: None,
        }
    }

    #[test]
    fn a_model_without_members_releases_only_those_it_managed() {
        let held: BTreeSet<String> = ["a", "b", "c"].map(str::to_owned).into();
        let wanted = wanted_members(Some(&group(Some(&["a"]))), &group(None), &held);
        assert_eq!(wanted, ["b", "c"].map(str::to_owned).into(), "b and c were added outside the template");
        let exact = wanted_members(Some(&group(Some(&["a"]))), &group(Some(&["a", "d"])), &held);
        assert_eq!(exact, ["a", "d"].map(str::to_owned).into(), "a list is the whole membership");
    }
}
