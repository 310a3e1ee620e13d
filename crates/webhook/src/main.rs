//! The `webhook` Lambda: wiring only; the routes live in the library.
//!
//! Init reads only the environment (a wrong variable fails the init, naming it); the app
//! credentials and session key are fetched at the first request, and again at the next
//! one if that fetch failed.

use std::sync::Arc;

use lambda_http::{Error, run, service_fn};
use stravasync_aws::lambda::LazyRouter;
use stravasync_webhook::{AwsWebhook, WebhookConfig, router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = stravasync_aws::sdk_config_from_env()?;
    let config = WebhookConfig::from_env()?;
    let emf = stravasync_aws::emf::Emf::init()?;
    let routes =
        LazyRouter::new(|| async { AwsWebhook::build(&sdk, config.clone()).await.map(|w| router(Arc::new(w))) });
    run(service_fn(|request| emf.after(routes.call(request)))).await
}
