//! The `rollup` Lambda: wiring only; the work lives in the library.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use stravasync_rollup::deps::{AwsRollup, RollupConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rollup = &AwsRollup::build(&stravasync_aws::sdk_config_from_env()?, &RollupConfig::from_env()?);
    let emf = &stravasync_aws::emf::Emf::init()?;
    let handler = |event: LambdaEvent<serde_json::Value>| emf.after(rollup.handle_json(event.payload));
    run(service_fn(handler)).await
}
