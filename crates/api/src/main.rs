//! The `api` Lambda: wiring only; the routes live in the library.
//!
//! Init reads only the environment (a wrong variable fails the init, naming it); the
//! session key is fetched at the first request, and again at the next one if that fetch
//! failed.

use std::sync::Arc;

use lambda_http::{Error, Request, run, service_fn};
use stravasync_api::{ApiConfig, AwsApi, router};
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
    run(service_fn(move |request: Request| async move {
        let routes = routes
            .get_or_try_init(|| async { AwsApi::build(sdk, config.clone()).await.map(|a| router(Arc::new(a))) })
            .await?;
        Ok::<_, Error>(routes.clone().oneshot(request).await?)
    }))
    .await
}
