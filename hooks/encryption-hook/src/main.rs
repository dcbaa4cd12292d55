//! The Lambda function of `Rpdk::Governance::EncryptionHook`, registered or as a Lambda hook.

use encryption_hook::EncryptionHook;

#[tokio::main]
async fn main() -> Result<(), rpdk_lambda::Error> {
    rpdk_lambda::run(rpdk_lambda::Types::new().with_hook(EncryptionHook)?).await
}
