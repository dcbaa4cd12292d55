//! The Lambda function of `Rpdk::EC2::PrivateLinkService`.

use privatelink_service::PrivateLinkServiceType;

#[tokio::main]
async fn main() -> Result<(), rpdk_lambda::Error> {
    rpdk_lambda::run(rpdk_lambda::Types::new().with(PrivateLinkServiceType)?).await
}
