//! The `api` Lambda: wiring only; the routes live in the library.
//!
//! Init reads only the environment (a wrong variable fails the init, naming it); the
//! session key is fetched at the first request, and again at the next one if that fetch
//! failed.

use std::sync::Arc;

use lambda_http::{Error, run, service_fn};
use stravasync_api::{ApiConfig, AwsApi, router};
use stravasync_aws::lambda::LazyRouter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = stravasync_aws::sdk_config_from_env()?;
    let config = ApiConfig::from_env()?;
    let emf = stravasync_aws::emf::Emf::init()?;
    let routes = LazyRouter::new(|| async { AwsApi::build(&sdk, config.clone()).await.map(|w| router(Arc::new(w))) });
    run(service_fn(|request| emf.after(routes.call(request)))).await
}
