//! The `export` Lambda: the athletes' data exports (`GET /export?token=`), behind a
//! function URL in response-streaming mode (API Gateway neither streams nor carries more
//! than 6 MB). Wiring only; the route lives in the library (`stravasync_api::export`).
//!
//! Same environment as the `api` function; it reads the table and the session key only.

// The streaming runtime nests the router's futures deeper than the default allows.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_http::{Error, Request, run_with_streaming_response, service_fn};
use stravasync_api::{ApiConfig, AwsApi, export_router};
use tokio::sync::OnceCell;
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = stravasync_aws::sdk_config_from_env()?;
    let config = ApiConfig::from_env()?;
    let routes = OnceCell::new();
    let routes = &routes;
    let (sdk, config) = (&sdk, &config);
    run_with_streaming_response(service_fn(move |request: Request| async move {
        let routes = routes
            .get_or_try_init(|| async {
                AwsApi::build(sdk, config.clone()).await.map(|a| export_router::<_, _, ()>(Arc::new(a)))
            })
            .await?;
        Ok::<_, Error>(routes.clone().oneshot(request).await?)
    }))
    .await
}
