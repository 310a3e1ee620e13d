//! The `consumer` Lambda: wiring only; the handler lives in the library.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_consumer::{Consumer, ConsumerConfig, Record};
use stravasync_core::ports::TokenVault;
use stravasync_strava::{StravaClient, StravaConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().with_target(false).without_time().init();
    let config = ConsumerConfig::from_env()?;
    let sdk = stravasync_aws::load_sdk_config().await;
    let vault = SecretsVault::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        &config.app_secret_id,
        &config.token_secret_prefix,
    );
    let app = vault.app_credentials().await?;
    let strava = StravaClient::new(
        StravaConfig::new(app.client_id, app.client_secret)
            .with_urls(config.strava_api_url.clone(), config.strava_oauth_url.clone()),
    )?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table_name);
    let queue = stravasync_consumer::sqs_queue(aws_sdk_sqs::Client::new(&sdk), &config);
    let consumer = Consumer::new(config, strava, store, vault, queue);
    let consumer = &consumer;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let records: Vec<Record> =
            event.payload.records.into_iter().map(stravasync_consumer::record_from_sqs).collect();
        let report = consumer.handle_batch(&records).await;
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = report
            .failed
            .into_iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        Ok::<_, Error>(response)
    }))
    .await
}
