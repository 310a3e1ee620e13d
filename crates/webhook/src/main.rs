//! The `webhook` Lambda: wiring only; the routes live in the library.
//!
//! Init reads only the environment (a wrong variable fails the init, naming it); the app
//! credentials and session key are fetched at the first request, and again at the next
//! one if that fetch failed.

use std::sync::Arc;

use lambda_http::{Error, Request, run, service_fn};
use stravasync_webhook::{AwsWebhook, WebhookConfig, router};
use tokio::sync::OnceCell;
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = stravasync_aws::sdk_config_from_env()?;
    let config = WebhookConfig::from_env()?;
    let routes = OnceCell::new();
    let routes = &routes;
    let (sdk, config) = (&sdk, &config);
    run(service_fn(move |request: Request| async move {
        let routes = routes
            .get_or_try_init(|| async { AwsWebhook::build(sdk, config.clone()).await.map(|w| router(Arc::new(w))) })
            .await?;
        Ok::<_, Error>(routes.clone().oneshot(request).await?)
    }))
    .await
}
