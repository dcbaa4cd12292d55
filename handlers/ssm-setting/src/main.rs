//! The Lambda function of `Rpdk::SSM::Setting`.

use ssm_setting::SettingType;

#[tokio::main]
async fn main() -> Result<(), rpdk_lambda::Error> {
    rpdk_lambda::run(rpdk_lambda::Types::new().with(SettingType)?).await
}
