//! The Lambda function of `Rpdk::Governance::PrivateLinkHook`, registered or as a Lambda hook.

use privatelink_hook::PrivateLinkHook;

#[tokio::main]
async fn main() -> Result<(), rpdk_lambda::Error> {
    rpdk_lambda::run(rpdk_lambda::Types::new().with_hook(PrivateLinkHook)?).await
}
