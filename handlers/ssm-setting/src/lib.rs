//! `Rpdk::SSM::Setting`: a named setting, kept as one String parameter of SSM Parameter Store,
//! `/rpdk-ssm-setting/<Name>`.
//!
//! Made by `cargo rpdk init` as a small real type to grow from. Ownership: every parameter
//! this type creates is tagged `rpdk:created-by` = `<TypeName>/<operation>`, the operation
//! being a hash of the client request token. The tag lets a retried CREATE (same token) adopt
//! the parameter its first attempt made, while a CREATE of an existing name under another token
//! is `AlreadyExists`.

pub mod model;
mod ssm;

use rpdk::{Empty, HandlerError, HandlerResult, ListPage, Request, ResourceHandler, Session};

pub use model::{Setting, SettingKey};

use crate::ssm::Ssm;

/// The tag that marks a parameter as created by this type.
pub const MARKER_KEY: &str = "rpdk:created-by";

/// Settings per LIST page: SSM's largest page of parameters.
const LIST_PAGE_SIZE: u32 = 10;

/// The handlers of `Rpdk::SSM::Setting`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SettingType;

impl ResourceHandler for SettingType {
    type Model = Setting;
    type Identifier = SettingKey;
    type ListInput = Empty;
    type Context = Empty;
    type TypeConfiguration = Empty;

    fn metadata() -> rpdk::Metadata {
        model::metadata()
    }

    async fn create(&self, req: &Request<Setting, Empty>, session: &mut Session<Empty>) -> HandlerResult<Setting> {
        let ssm = Ssm::connect(req)?;
        let marker = format!("{}/{}", req.type_name, rpdk_aws::operation_id(&req.client_request_token));
        let name = &req.model.name;
        session.call("put-parameter", || ssm.create(name, &req.model.value, &marker, &req.type_name)).await?;
        session.checkpoint(&req.model)?;
        read_model(&ssm, name, &req.type_name).await.map_err(Into::into)
    }

    async fn read(&self, req: &Request<SettingKey, Empty>) -> Result<Setting, HandlerError> {
        read_model(&Ssm::connect(req)?, &req.model.name, &req.type_name).await
    }

    async fn update(&self, req: &Request<Setting, Empty>, session: &mut Session<Empty>) -> HandlerResult<Setting> {
        let ssm = Ssm::connect(req)?;
        let name = &req.model.name;
        read_model(&ssm, name, &req.type_name).await?;
        session.checkpoint(&req.model)?;
        session.call("put-parameter", || ssm.overwrite(name, &req.model.value)).await?;
        read_model(&ssm, name, &req.type_name).await.map_err(Into::into)
    }

    async fn delete(&self, req: &Request<SettingKey, Empty>, session: &mut Session<Empty>) -> HandlerResult<()> {
        let ssm = Ssm::connect(req)?;
        session.checkpoint(&req.model)?;
        session.call("delete-parameter", || ssm.delete(&req.model.name, &req.type_name)).await?;
        Ok(())
    }

    async fn list(&self, req: &Request<Empty, Empty>) -> Result<ListPage<Setting>, HandlerError> {
        let ssm = Ssm::connect(req)?;
        let (models, next_token) = ssm.list(req.next_token.as_deref(), req.page_size(LIST_PAGE_SIZE)).await?;
        Ok(ListPage { models, next_token })
    }
}

async fn read_model(ssm: &Ssm, name: &str, type_name: &str) -> Result<Setting, HandlerError> {
    ssm.read(name).await?.ok_or_else(|| HandlerError::not_found(type_name, name))
}
