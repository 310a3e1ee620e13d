//! The `webhook` Lambda: wiring only; the handler lives in the library.

use lambda_http::{Error, run, service_fn};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_aws::sqs::SqsQueue;
use stravasync_webhook::{Webhook, WebhookConfig, from_lambda, to_lambda};

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
    let webhook = &webhook;
    run(service_fn(move |req: lambda_http::Request| async move {
        Ok::<_, Error>(to_lambda(webhook.handle(&from_lambda(&req)).await))
    }))
    .await
}
