//! The `export` Lambda: the athletes' data exports (`GET /export?token=`), behind a
//! function URL in response-streaming mode (API Gateway neither streams nor carries more
//! than 6 MB). Wiring only; the route lives in the library (`stravasync_api::export`).
//!
//! Same environment as the `api` function; it reads the table and the session key only.

// The streaming runtime nests the router's futures deeper than the default allows.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_http::{Error, run_with_streaming_response, service_fn};
use stravasync_api::{ApiConfig, AwsApi, export_router, timed};
use stravasync_aws::lambda::LazyRouter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = stravasync_aws::sdk_config_from_env()?;
    let config = ApiConfig::from_env()?;
    let emf = stravasync_aws::emf::Emf::init()?;
    let routes = LazyRouter::new(|| async {
        AwsApi::build(&sdk, config.clone()).await.map(|a| timed(export_router::<_, _, ()>(Arc::new(a))))
    });
    // The metrics are written once the response head is sent (the body streams after).
    run_with_streaming_response(service_fn(|request| emf.after(routes.call(request)))).await
}
