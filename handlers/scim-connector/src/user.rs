//! `Rpdk::SCIM::User`: the model in SCIM's shape and back, and its handlers.

use rpdk::{Empty, HandlerError, HandlerResult, ListPage, Request, ResourceHandler, Session};
use serde_json::{Map, Value, json};

use crate::member::{self, Provider};
use crate::model::{Email, Enterprise, PersonName, ThroughConnector, User, UserKey};
use crate::scim::Endpoint;
use crate::validate;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise extension's schema (RFC 7643 §4.3).
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The handlers of `Rpdk::SCIM::User`.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserType;

type Req<M> = Request<M, Empty>;

impl ResourceHandler for UserType {
    type Model = User;
    type Identifier = UserKey;
    type ListInput = ThroughConnector;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> rpdk::Metadata {
        crate::model::user_metadata()
    }

    async fn create(&self, req: &Req<User>, _session: &mut Session<Empty>) -> HandlerResult<User> {
        let desired = &req.model;
        validate::user(desired)?;
        let provider = Provider::connect(req, &desired.connector).await?;
        let id = provider
            .create_once(
                &req.client_request_token,
                &desired.connector,
                Endpoint::Users,
                &to_scim(desired),
                "userName",
                &desired.user_name,
            )
            .await?;
        let created = provider.get(Endpoint::Users, &id, &req.type_name, &desired.connector).await?;
        Ok(from_scim(&desired.connector, &created.body))
    }

    async fn read(&self, req: &Req<UserKey>) -> Result<User, HandlerError> {
        let key = &req.model;
        let provider = Provider::connect(req, &key.connector).await?;
        let body = match (&key.id, &key.user_name) {
            (Some(id), _) => provider.get(Endpoint::Users, id, &req.type_name, &key.connector).await?.body,
            (None, Some(user_name)) => {
                if !provider.capabilities.filter {
                    return Err(HandlerError::invalid_request(format!(
                        "UserName: the SCIM service of connector {} cannot filter, so a user is found by Id only; give Id",
                        key.connector
                    )));
                }
                let mut found = provider.scim.find(Endpoint::Users, "userName", user_name).await?;
                match found.len() {
                    1 => found.remove(0),
                    _ => {
                        return Err(HandlerError::not_found(&req.type_name, &format!("{}|{user_name}", key.connector)));
                    }
                }
            }
            (None, None) => return Err(HandlerError::not_found(&req.type_name, &key.connector)),
        };
        Ok(from_scim(&key.connector, &body))
    }

    async fn update(&self, req: &Req<User>, _session: &mut Session<Empty>) -> HandlerResult<User> {
        let desired = &req.model;
        validate::user(desired)?;
        let id = desired.id.clone().unwrap_or_default();
        let provider = Provider::connect(req, &desired.connector).await?;
        let current = provider.get(Endpoint::Users, &id, &req.type_name, &desired.connector).await?;
        let changes = changes(req.previous_model.as_ref(), desired, &current.body);
        let etag = current.etag.as_deref().filter(|_| provider.capabilities.etag);
        if provider.capabilities.patch {
            provider.scim.patch(Endpoint::Users, &id, changes.iter().map(patch_operation).collect(), etag).await?;
        } else if !changes.is_empty() {
            provider.scim.replace(Endpoint::Users, &id, &overlay(current.body, &changes), etag).await?;
        }
        let updated = provider.get(Endpoint::Users, &id, &req.type_name, &desired.connector).await?;
        Ok(from_scim(&desired.connector, &updated.body))
    }

    async fn delete(&self, req: &Req<UserKey>, _session: &mut Session<Empty>) -> HandlerResult<()> {
        let key = &req.model;
        let id = key.id.clone().ok_or_else(|| HandlerError::not_found(&req.type_name, &key.connector))?;
        let provider = Provider::connect(req, &key.connector).await?;
        if !provider.scim.delete(Endpoint::Users, &id).await? {
            return Err(HandlerError::not_found(&req.type_name, &format!("{}|{id}", key.connector)).into());
        }
        Ok(())
    }

    async fn list(&self, req: &Req<ThroughConnector>) -> Result<ListPage<User>, HandlerError> {
        let connector = &req.model.connector;
        member::list(req, connector, Endpoint::Users, |body| from_scim(connector, body)).await
    }
}

/// The attributes the model manages, one leaf each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attribute {
    UserName,
    ExternalId,
    DisplayName,
    GivenName,
    FamilyName,
    Formatted,
    Emails,
    Title,
    Active,
    EmployeeNumber,
    CostCenter,
    Organization,
    Division,
    Department,
    Manager,
}

const ATTRIBUTES: [Attribute; 15] = [
    Attribute::UserName,
    Attribute::ExternalId,
    Attribute::DisplayName,
    Attribute::GivenName,
    Attribute::FamilyName,
    Attribute::Formatted,
    Attribute::Emails,
    Attribute::Title,
    Attribute::Active,
    Attribute::EmployeeNumber,
    Attribute::CostCenter,
    Attribute::Organization,
    Attribute::Division,
    Attribute::Department,
    Attribute::Manager,
];

impl Attribute {
    /// Where the attribute sits in the SCIM resource.
    fn location(self) -> [&'static str; 2] {
        match self {
            Self::UserName => ["userName", ""],
            Self::ExternalId => ["externalId", ""],
            Self::DisplayName => ["displayName", ""],
            Self::GivenName => ["name", "givenName"],
            Self::FamilyName => ["name", "familyName"],
            Self::Formatted => ["name", "formatted"],
            Self::Emails => ["emails", ""],
            Self::Title => ["title", ""],
            Self::Active => ["active", ""],
            Self::EmployeeNumber => [ENTERPRISE, "employeeNumber"],
            Self::CostCenter => [ENTERPRISE, "costCenter"],
            Self::Organization => [ENTERPRISE, "organization"],
            Self::Division => [ENTERPRISE, "division"],
            Self::Department => [ENTERPRISE, "department"],
            Self::Manager => [ENTERPRISE, "manager"],
        }
    }

    /// The PATCH path (RFC 7644 §3.5.2): `name.givenName`, or `<urn>:department`.
    fn patch_path(self) -> String {
        match self.location() {
            [top, ""] => top.to_owned(),
            [ENTERPRISE, leaf] => format!("{ENTERPRISE}:{leaf}"),
            [top, leaf] => format!("{top}.{leaf}"),
        }
    }

    /// The model's value, in SCIM's form.
    fn desired(self, user: &User) -> Option<Value> {
        let name = user.name.as_ref();
        let enterprise = user.enterprise.as_ref();
        let text = |value: Option<&String>| value.map(|v| json!(v));
        match self {
            Self::UserName => Some(json!(user.user_name)),
            Self::ExternalId => text(user.external_id.as_ref()),
            Self::DisplayName => text(user.display_name.as_ref()),
            Self::GivenName => text(name.and_then(|n| n.given_name.as_ref())),
            Self::FamilyName => text(name.and_then(|n| n.family_name.as_ref())),
            Self::Formatted => text(name.and_then(|n| n.formatted.as_ref())),
            Self::Emails => user.emails.as_ref().filter(|e| !e.is_empty()).map(|emails| emails_to_scim(emails)),
            Self::Title => text(user.title.as_ref()),
            // Active defaults to true: a model without it wants the account enabled.
            Self::Active => Some(json!(user.active.unwrap_or(true))),
            Self::EmployeeNumber => text(enterprise.and_then(|e| e.employee_number.as_ref())),
            Self::CostCenter => text(enterprise.and_then(|e| e.cost_center.as_ref())),
            Self::Organization => text(enterprise.and_then(|e| e.organization.as_ref())),
            Self::Division => text(enterprise.and_then(|e| e.division.as_ref())),
            Self::Department => text(enterprise.and_then(|e| e.department.as_ref())),
            Self::Manager => enterprise.and_then(|e| e.manager.as_ref()).map(|id| json!({"value": id})),
        }
    }

    /// What the provider holds, in the same form as [`Attribute::desired`].
    fn current(self, body: &Value) -> Option<Value> {
        let value = match self.location() {
            [top, ""] => body.get(top),
            [top, leaf] => body.get(top).and_then(|parent| parent.get(leaf)),
        }
        .filter(|v| !v.is_null())?;
        Some(match self {
            Self::Emails => emails_to_scim(&emails_from_scim(value)),
            Self::Manager => json!({"value": value.get("value")?}),
            _ => value.clone(),
        })
    }
}

/// The changes that bring the provider's resource to the model: attributes the model sets
/// and the provider holds otherwise, and attributes the previous model set and this one drops.
/// Attributes neither model manages stay as they are.
fn changes(previous: Option<&User>, desired: &User, current: &Value) -> Vec<(Attribute, Option<Value>)> {
    ATTRIBUTES
        .iter()
        .filter_map(|&attribute| {
            let now = attribute.current(current);
            match attribute.desired(desired) {
                Some(wanted) if now.as_ref() != Some(&wanted) => Some((attribute, Some(wanted))),
                Some(_) => None,
                None if previous.and_then(|p| attribute.desired(p)).is_some() && now.is_some() => {
                    Some((attribute, None))
                }
                None => None,
            }
        })
        .collect()
}

fn patch_operation((attribute, value): &(Attribute, Option<Value>)) -> Value {
    match value {
        Some(value) => json!({"op": "replace", "path": attribute.patch_path(), "value": value}),
        None => json!({"op": "remove", "path": attribute.patch_path()}),
    }
}

/// The provider's resource with the changes applied, for a `PUT` that keeps everything else.
fn overlay(mut body: Value, changes: &[(Attribute, Option<Value>)]) -> Value {
    let Some(resource) = body.as_object_mut() else { return body };
    for (attribute, value) in changes {
        let [top, leaf] = attribute.location();
        let slot = if leaf.is_empty() {
            Some((&mut *resource, top))
        } else {
            let parent = resource.entry(top).or_insert_with(|| json!({}));
            parent.as_object_mut().map(|parent| (parent, leaf))
        };
        let Some((container, key)) = slot else { continue };
        match value {
            Some(value) => container.insert(key.to_owned(), value.clone()),
            None => container.remove(key),
        };
    }
    if resource.get(ENTERPRISE).is_some_and(|e| e.as_object().is_some_and(|e| !e.is_empty())) {
        declare_enterprise(resource);
    }
    body
}

fn declare_enterprise(resource: &mut Map<String, Value>) {
    let schemas = resource.entry("schemas").or_insert_with(|| json!([CORE]));
    if let Some(list) = schemas.as_array_mut()
        && !list.iter().any(|s| s == ENTERPRISE)
    {
        list.push(json!(ENTERPRISE));
    }
}

/// The `POST` body for a model.
fn to_scim(user: &User) -> Value {
    let mut resource = Map::new();
    resource.insert("schemas".into(), json!([CORE]));
    let changes: Vec<(Attribute, Option<Value>)> =
        ATTRIBUTES.iter().filter_map(|&a| a.desired(user).map(|v| (a, Some(v)))).collect();
    overlay(Value::Object(resource), &changes)
}

/// The model for what the provider holds.
fn from_scim(connector: &str, body: &Value) -> User {
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let name = body.get("name").map(|name| PersonName {
        given_name: text(name.get("givenName")),
        family_name: text(name.get("familyName")),
        formatted: text(name.get("formatted")),
    });
    let enterprise = body.get(ENTERPRISE).map(|ext| Enterprise {
        employee_number: text(ext.get("employeeNumber")),
        cost_center: text(ext.get("costCenter")),
        organization: text(ext.get("organization")),
        division: text(ext.get("division")),
        department: text(ext.get("department")),
        manager: text(ext.pointer("/manager/value")),
    });
    let emails = body.get("emails").map(emails_from_scim).filter(|e| !e.is_empty());
    User {
        connector: connector.to_owned(),
        user_name: text(body.get("userName")).unwrap_or_default(),
        external_id: text(body.get("externalId")),
        display_name: text(body.get("displayName")),
        name: name.filter(|n| *n != PersonName::default()),
        emails,
        title: text(body.get("title")),
        active: body.get("active").and_then(Value::as_bool),
        enterprise: enterprise.filter(|e| *e != Enterprise::default()),
        id: text(body.get("id")),
    }
}

fn emails_to_scim(emails: &[Email]) -> Value {
    let mut items: Vec<Value> = emails
        .iter()
        .map(|email| {
            let mut item = json!({"value": email.value});
            if let Some(kind) = &email.r#type {
                item["type"] = json!(kind);
            }
            if let Some(primary) = email.primary {
                item["primary"] = json!(primary);
            }
            item
        })
        .collect();
    // Order-insensitive: compare and send in one canonical order.
    items.sort_by_key(Value::to_string);
    Value::Array(items)
}

fn emails_from_scim(value: &Value) -> Vec<Email> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            Some(Email {
                value: item.get("value")?.as_str()?.to_owned(),
                r#type: item.get("type").and_then(Value::as_str).map(str::to_owned),
                primary: item.get("primary").and_then(Value::as_bool),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> User {
        User {
            connector: "hr".into(),
            user_name: "ada".into(),
            display_name: Some("Ada".into()),
            name: Some(PersonName {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                formatted: None,
            }),
            emails: Some(vec![Email {
                value: "ada@example.com".into(),
                r#type: Some("work".into()),
                primary: Some(true),
            }]),
            title: Some("Analyst".into()),
            enterprise: Some(Enterprise {
                department: Some("R&D".into()),
                manager: Some("boss-id".into()),
                ..Enterprise::default()
            }),
            ..User::default()
        }
    }

    #[test]
    fn the_model_round_trips_through_scim() {
        let mut body = to_scim(&ada());
        assert_eq!(body["schemas"], json!([CORE, ENTERPRISE]));
        assert_eq!(body[ENTERPRISE]["manager"], json!({"value": "boss-id"}));
        assert_eq!(body["active"], json!(true), "active unless the model says otherwise");
        body["id"] = json!("u-1");
        let back = from_scim("hr", &body);
        assert_eq!(back, User { id: Some("u-1".into()), active: Some(true), ..ada() });
    }

    #[test]
    fn changes_touch_only_what_the_models_manage() {
        let previous = ada();
        let mut current = to_scim(&previous);
        current["nickName"] = json!("unmanaged");
        current[ENTERPRISE]["costCenter"] = json!("set by HR");
        let mut desired = previous.clone();
        desired.title = None;
        desired.active = Some(false);
        desired.enterprise = Some(Enterprise {
            department: Some("Ops".into()),
            manager: Some("boss-id".into()),
            ..Enterprise::default()
        });
        let operations: Vec<Value> = changes(Some(&previous), &desired, &current).iter().map(patch_operation).collect();
        assert_eq!(
            operations,
            vec![
                json!({"op": "remove", "path": "title"}),
                json!({"op": "replace", "path": "active", "value": false}),
                json!({"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Ops"}),
            ]
        );
        let replaced = overlay(current, &changes(Some(&previous), &desired, &to_scim(&previous)));
        assert_eq!(replaced["nickName"], "unmanaged", "PUT keeps what the model does not manage");
        assert_eq!(replaced[ENTERPRISE]["costCenter"], "set by HR");
        assert!(replaced.get("title").is_none());
    }

    #[test]
    fn nothing_changes_when_the_provider_already_agrees() {
        let user = ada();
        let mut current = to_scim(&user);
        current["emails"][0]["display"] = json!("ignored");
        current[ENTERPRISE]["manager"]["$ref"] = json!("https://idp/Users/boss-id");
        assert!(changes(Some(&user), &user, &current).is_empty(), "keys the model does not hold are not differences");
    }
}
