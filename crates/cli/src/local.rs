//! `stravasync local …`, `stravasync rollup` and `stravasync subscribe`: drive a stack
//! (local on moto, or real) from the command line with the same handler code.

use stravasync_aws::local::{LocalStack, local_app_credentials};
use stravasync_aws::resources::ResourceNames;
use stravasync_consumer::deps::AwsConsumer;
use stravasync_core::ports::TokenVault;
use stravasync_rollup::deps::{AwsRollup, RollupConfig};
use stravasync_rollup::{Mode, RollupRequest};
use stravasync_strava::{StravaClient, StravaConfig};

use crate::InputError;

fn err(e: impl std::fmt::Display) -> InputError {
    InputError::new(e.to_string())
}

/// Creates the table, queues and app secret under `name` and prints the environment the
/// handlers need.
pub async fn up(name: &str) -> Result<String, InputError> {
    let sdk = stravasync_aws::load_sdk_config().await;
    let stack = LocalStack::create(sdk, ResourceNames::local(name), &local_app_credentials()).await.map_err(err)?;
    Ok(format!(
        "export TABLE_NAME={}\nexport QUEUE_URL={}\nexport DLQ_URL={}\nexport APP_SECRET_ID={}\nexport TOKEN_SECRET_PREFIX={}",
        stack.names.table,
        stack.urls.queue_url,
        stack.urls.dlq_url,
        stack.names.app_secret_id,
        stack.names.token_secret_prefix
    ))
}

/// Plays the SQS event source mapping: receive batches, invoke the consumer handler,
/// delete what succeeded, until the queue has nothing visible.
pub async fn pump(max_rounds: usize) -> Result<String, InputError> {
    let sdk = stravasync_aws::load_sdk_config().await;
    let consumer = AwsConsumer::from_env(&sdk).await.map_err(err)?;
    let stats = stravasync_consumer::pump::pump_until_idle(&consumer, max_rounds).await.map_err(err)?;
    Ok(format!(
        "received {}, done {}, failed (left to their visibility) {}, moved to the DLQ {}",
        stats.received, stats.done, stats.failed, stats.dead_lettered
    ))
}

/// Runs the rollup handler once.
pub async fn rollup(daily: bool, athlete: Option<i64>) -> Result<String, InputError> {
    let sdk = stravasync_aws::load_sdk_config().await;
    let rollup = AwsRollup::build(&sdk, &RollupConfig::from_env().map_err(err)?);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let req = RollupRequest { mode: if daily { Mode::Daily } else { Mode::Dirty }, athlete_id: athlete };
    let report = rollup.run(&req, now).await.map_err(err)?;
    serde_json::to_string(&report).map_err(err)
}

/// Creates Strava's push subscription for `callback` with the app secret's credentials
/// and verify token, and stores the subscription id in the app secret.
pub async fn subscribe(callback: &str) -> Result<String, InputError> {
    let var =
        |k: &'static str| std::env::var(k).map_err(|_| InputError::new(format!("environment variable {k} is not set")));
    let sdk = stravasync_aws::load_sdk_config().await;
    let secret_id = var("APP_SECRET_ID")?;
    let vault =
        stravasync_aws::secrets::SecretsVault::new(aws_sdk_secretsmanager::Client::new(&sdk), &secret_id, "unused");
    let mut app = vault.app_credentials().await.map_err(err)?;
    let strava = StravaClient::new(StravaConfig::new(app.client_id.clone(), app.client_secret.clone()).with_env_urls())
        .map_err(err)?;
    let sub = strava.create_subscription(callback, &app.verify_token).await.map_err(err)?;
    app.subscription_id = sub.id;
    vault.write(&secret_id, &serde_json::to_string(&app).map_err(err)?).await.map_err(err)?;
    Ok(format!("push subscription {} created and stored in {secret_id}", sub.id))
}
