//! The consumer on AWS (feature `aws`, on by default): the stack it finds in the Lambda's
//! environment, the adapters built from it once per container, and the SQS event source's
//! records and answer. The same builder serves the Lambda, the local pump and the demo.

use crate::ConsumerStore;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::sqs::SqsQueue;
use stravasync_aws::vault::Vault;
pub use stravasync_core::config::StartupError;
use stravasync_core::config::{ConfigError, Env, StackEnv};
use stravasync_core::ports::TokenVault;
use stravasync_strava::{StravaClient, StravaConfig};

use crate::{Consumer, ConsumerPolicy, Record};

/// Where the consumer's stack is, and how it behaves: the Lambda's environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerEnv {
    /// Queues, table, secrets and Strava URLs ([`StackEnv`]).
    pub stack: StackEnv,
    /// The dead-letter queue (`DLQ_URL`, optional): poison records, and transient failures
    /// on their last receive, are moved there at once. Without it they wait for the queue's
    /// redrive policy.
    pub dlq_url: Option<String>,
    /// The import queue (`IMPORT_QUEUE_URL`, optional): its records are files of an
    /// athlete's own (docs/design.md §4b), told apart from the lanes' by their source.
    pub import_queue_url: Option<String>,
    pub policy: ConsumerPolicy,
}

impl ConsumerEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get` (tests and the demo pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&get);
        Ok(ConsumerEnv {
            stack: StackEnv::read(&env)?,
            dlq_url: env.optional(&stravasync_core::config::manifest::DLQ_URL),
            import_queue_url: env.optional(&stravasync_core::config::manifest::IMPORT_QUEUE_URL),
            policy: ConsumerPolicy::from_lookup(&get)?,
        })
    }
}

/// The consumer on the AWS adapters.
pub type AwsConsumer = Consumer<DynamoStore, Vault, SqsQueue>;

impl AwsConsumer {
    /// From the Lambda environment (see [`ConsumerEnv`]).
    pub async fn from_env(sdk: &stravasync_aws::SdkConfig) -> Result<Self, StartupError> {
        Self::build(sdk, ConsumerEnv::from_env()?).await
    }

    /// The vault (the stack's token store), the app's Strava credentials from it, the
    /// Strava client, the table and the queues (with the DLQ).
    pub async fn build(sdk: &stravasync_aws::SdkConfig, env: ConsumerEnv) -> Result<Self, StartupError> {
        let vault = Vault::from_stack(sdk, &env.stack);
        let app = vault.app_credentials().await.map_err(StartupError::AppSecret)?;
        let strava = StravaClient::new(
            StravaConfig::new(app.client_id, app.client_secret)
                .with_urls(env.stack.strava_api_url.clone(), env.stack.strava_oauth_url.clone()),
        )
        .map_err(StartupError::client("strava client"))?;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &env.stack.table_name);
        let mut queue = SqsQueue::for_lanes(
            aws_sdk_sqs::Client::new(sdk),
            &env.stack.queue_url,
            env.stack.background_queue_url.as_deref(),
        );
        if let Some(dlq) = &env.dlq_url {
            queue = queue.with_dead_letter_queue(dlq);
        }
        Ok(Consumer::new(env.policy, strava, store, vault, queue).with_import_queue(env.import_queue_url))
    }
}

impl<S, V> Consumer<S, V, SqsQueue>
where
    S: ConsumerStore,
    V: TokenVault,
{
    /// One invocation of the SQS event source: the batch, and the failures to report.
    pub async fn handle_sqs_event(&self, event: SqsEvent) -> SqsBatchResponse {
        let background = self.queue.background_url();
        // The import queue's records (one event source mapping delivers one queue's records).
        let imports_url = self.import_queue_url.as_deref();
        let (imports, lanes): (Vec<SqsMessage>, Vec<SqsMessage>) = event
            .records
            .into_iter()
            .partition(|m| stravasync_aws::sqs::is_from_queue(m.event_source_arn.as_deref(), imports_url));
        let mut response = SqsBatchResponse::default();
        if !imports.is_empty() {
            let records: Vec<Record> = imports.into_iter().map(record_from_sqs).collect();
            for id in self.handle_import_batch(&records).await.failed {
                response.add_failure(id);
            }
        }
        if lanes.is_empty() {
            return response;
        }
        let records: Vec<Record> = lanes
            .into_iter()
            .map(|m| {
                let lane = stravasync_aws::sqs::lane_of_source(m.event_source_arn.as_deref(), background);
                let mut record = record_from_sqs(m);
                record.receipt_handle = stravasync_aws::sqs::tag_receipt_handle(lane, &record.receipt_handle);
                record
            })
            .collect();
        for id in self.handle_batch(&records).await.failed {
            response.add_failure(id);
        }
        response
    }
}

/// Converts a record of the SQS Lambda event.
pub fn record_from_sqs(m: SqsMessage) -> Record {
    let attr = |k: &str| m.attributes.get(k).cloned();
    Record {
        receive_count: attr("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1),
        group_id: attr("MessageGroupId"),
        dedup_id: attr("MessageDeduplicationId"),
        message_id: m.message_id.unwrap_or_default(),
        receipt_handle: m.receipt_handle.unwrap_or_default(),
        body: m.body.unwrap_or_default(),
        sent_at: attr("SentTimestamp").and_then(|t| t.parse::<i64>().ok()).map(|ms| ms / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variables_read_are_the_manifests() {
        use stravasync_core::config::manifest::{Reader, check_reader};
        check_reader(Reader::Consumer, |get| ConsumerEnv::from_lookup(get)).unwrap();
    }
}
