//! The Lambda function of `Rpdk::SCIM::Connector`, `Rpdk::SCIM::User` and `Rpdk::SCIM::Group`:
//! one binary, dispatching on the request's `resourceType`.

use scim_connector::{ConnectorType, GroupType, UserType};

#[tokio::main]
async fn main() -> Result<(), rpdk_lambda::Error> {
    rpdk_lambda::run(rpdk_lambda::Types::new().with(ConnectorType)?.with(UserType)?.with(GroupType)?).await
}
