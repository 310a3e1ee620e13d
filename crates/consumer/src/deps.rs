//! The consumer's parts, built once per container: the same builder for the Lambda, the
//! local pump and the demo.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::sqs::SqsQueue;
use stravasync_aws::vault::Vault;
pub use stravasync_core::config::StartupError;
use stravasync_core::ports::{ActivityStore, EventQueue, RateBudget, TokenVault};
use stravasync_strava::{StravaClient, StravaConfig};

use crate::{Consumer, ConsumerConfig, Record, record_from_sqs};

/// The consumer on the AWS adapters.
pub type AwsConsumer = Consumer<DynamoStore, Vault, SqsQueue>;

impl AwsConsumer {
    /// From the Lambda environment (see [`ConsumerConfig`]).
    pub async fn from_env(sdk: &stravasync_aws::SdkConfig) -> Result<Self, StartupError> {
        Self::build(sdk, ConsumerConfig::from_env()?).await
    }

    /// The vault (the stack's token store), the app's Strava credentials from it, the Strava client, the table and
    /// the queue (with its DLQ).
    pub async fn build(sdk: &stravasync_aws::SdkConfig, config: ConsumerConfig) -> Result<Self, StartupError> {
        let vault = Vault::from_stack(sdk, &config.stack);
        let app = vault.app_credentials().await.map_err(StartupError::AppSecret)?;
        let strava = StravaClient::new(
            StravaConfig::new(app.client_id, app.client_secret)
                .with_urls(config.stack.strava_api_url.clone(), config.stack.strava_oauth_url.clone()),
        )
        .map_err(StartupError::client("strava client"))?;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.stack.table_name);
        // The FIFO queue, with the DLQ the consumer dead-letters into when `DLQ_URL` is set.
        let mut queue = SqsQueue::for_lanes(
            aws_sdk_sqs::Client::new(sdk),
            &config.stack.queue_url,
            config.stack.background_queue_url.as_deref(),
        );
        if let Some(dlq) = &config.dlq_url {
            queue = queue.with_dead_letter_queue(dlq);
        }
        Ok(Consumer::new(config, strava, store, vault, queue))
    }
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ActivityStore + RateBudget,
    V: TokenVault,
    Q: EventQueue,
{
    /// One invocation of the SQS event source: the batch, and the failures to report.
    pub async fn handle_sqs_event(&self, event: SqsEvent) -> SqsBatchResponse {
        let background = self.config.stack.background_queue_url.as_deref();
        let records: Vec<Record> = event
            .records
            .into_iter()
            .map(|m| {
                let lane = stravasync_aws::sqs::lane_of_source(m.event_source_arn.as_deref(), background);
                let mut record = record_from_sqs(m);
                record.receipt_handle = stravasync_aws::sqs::tag_receipt_handle(lane, &record.receipt_handle);
                record
            })
            .collect();
        let mut response = SqsBatchResponse::default();
        for id in self.handle_batch(&records).await.failed {
            response.add_failure(id);
        }
        response
    }
}
