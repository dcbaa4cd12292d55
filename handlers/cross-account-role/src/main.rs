//! The Lambda function of `Rpdk::IAM::CrossAccountRole`.

use cross_account_role::CrossAccountRoleType;

#[tokio::main]
async fn main() -> Result<(), rpdk_lambda::Error> {
    rpdk_lambda::run(rpdk_lambda::Types::new().with(CrossAccountRoleType)?).await
}
