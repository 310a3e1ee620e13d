//! Helpers for the tests, benchmarks and examples of this crate and of those above it
//! (feature `test-util`; never in a Lambda): a consumer on the in-memory ports or on a
//! local stack, against a running fake-strava, and the records the event source hands it.

use fake_strava::RunningFake;
use stravasync_core::Secret;
use stravasync_core::job::Job;
use stravasync_memory::{MemoryQueue, MemoryStore, MemoryVault};
use stravasync_strava::{StravaClient, StravaConfig};

use crate::{Consumer, ConsumerPolicy, Record};

/// The client secret of fake-strava and of the local app credentials.
const CLIENT_SECRET: &str = "client-secret-value";

/// The policy of local runs: the defaults, background unpaced (a local stack runs on the
/// wall clock; a run just after midnight UTC would otherwise wait for the pace).
pub fn local_policy() -> ConsumerPolicy {
    ConsumerPolicy { pace_background: false, ..ConsumerPolicy::default() }
}

/// A Strava client of the local app credentials against `fake`.
pub fn strava_client(fake: &RunningFake) -> StravaClient {
    StravaClient::new(
        StravaConfig::new("12345", Secret::new(CLIENT_SECRET)).with_urls(fake.api_url(), fake.oauth_url()),
    )
    .expect("a Strava client")
}

/// The consumer on in-memory ports against `fake`, with the local policy and app
/// credentials (benchmarks, examples, property tests).
pub fn memory_consumer(fake: &RunningFake) -> Consumer<MemoryStore, MemoryVault, MemoryQueue> {
    let app = stravasync_core::model::AppCredentials {
        client_id: "12345".into(),
        client_secret: Secret::new(CLIENT_SECRET),
        verify_token: Secret::new("verify-token-value"),
        subscription_id: 120_475,
    };
    Consumer::new(
        local_policy(),
        strava_client(fake),
        MemoryStore::default(),
        MemoryVault::new(app),
        MemoryQueue::default(),
    )
}

/// The consumer on a local stack (its queues with the DLQ) against `fake`.
#[cfg(feature = "aws")]
pub fn local_consumer(stack: &stravasync_aws::local::LocalStack, fake: &RunningFake) -> crate::deps::AwsConsumer {
    let queue = stack.queue().with_dead_letter_queue(&stack.urls.dlq_url);
    Consumer::new(local_policy(), strava_client(fake), stack.store(), stack.token_vault(), queue)
}

/// The SQS record the event source hands the consumer for `job`.
pub fn record(job: &Job, id: &str, receive_count: u32) -> Record {
    Record {
        message_id: id.to_string(),
        receipt_handle: format!("receipt-{id}"),
        body: serde_json::to_string(job).expect("a job serializes"),
        receive_count,
        group_id: Some(job.group_id()),
        dedup_id: Some(id.to_string()),
        sent_at: None,
    }
}

/// The import queue's record of `message` (docs/design.md §4b).
pub fn import_record(message: &stravasync_core::model::ImportMessage, id: &str) -> Record {
    let queued = stravasync_core::job::QueueMessage::for_import(message);
    Record {
        message_id: id.to_string(),
        receipt_handle: format!("receipt-{id}"),
        body: queued.body,
        receive_count: 1,
        group_id: Some(queued.group_id),
        dedup_id: Some(queued.dedup_id),
        sent_at: None,
    }
}
