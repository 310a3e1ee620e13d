//! The `webhook` Lambda: wiring only; the handler lives in the library.

use lambda_http::{Error, run};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_aws::sqs::SqsQueue;
use stravasync_webhook::{Webhook, WebhookConfig, router};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().with_target(false).without_time().init();
    let config = WebhookConfig::from_env()?;
    let sdk = stravasync_aws::load_sdk_config().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), &config.queue_url);
    let vault = SecretsVault::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        &config.app_secret_id,
        &config.token_secret_prefix,
    );
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table_name);
    let webhook = Webhook::new(config, queue, vault, store).await?;
    run(router(std::sync::Arc::new(webhook))).await
}
