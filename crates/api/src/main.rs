//! The `api` Lambda: wiring only; the routes live in the library.

use lambda_http::{Error, run};
use stravasync_api::{AwsApi, router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let api = AwsApi::from_env(&stravasync_aws::load_sdk_config().await).await?;
    run(router(std::sync::Arc::new(api))).await
}
