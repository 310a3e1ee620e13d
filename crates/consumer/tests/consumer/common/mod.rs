//! Shared set-up: a moto-backed stack, an in-process fake-strava serving the shared
//! recordings, and a consumer wired to both.

#![allow(dead_code)]

use fake_strava::{FakeConfig, RunningFake};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::local::LocalStack;
use stravasync_aws::sqs::SqsQueue;
use stravasync_aws::vault::Vault;
use stravasync_consumer::testing::local_policy;
pub use stravasync_consumer::testing::record;
use stravasync_consumer::{Consumer, ConsumerPolicy};
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::ports::EventQueue;

#[allow(unused_imports)]
pub use stravasync_consumer::testing::strava_client;
#[allow(unused_imports)]
pub use stravasync_testkit::{ATHLETE, CLIENT_SECRET, EDGE810, FENIX2, connect, fake_config};

/// The event queue as the consumer Lambda has it: with the DLQ it dead-letters into.
pub fn queue_of(stack: &LocalStack) -> SqsQueue {
    stack.queue().with_dead_letter_queue(&stack.urls.dlq_url)
}

/// A fresh stack with unique names on the local moto server.
pub async fn test_stack(label: &str) -> LocalStack {
    LocalStack::on_local_endpoint(label).await.expect("a stack on the local moto server")
}

pub struct Harness {
    pub stack: LocalStack,
    pub fake: RunningFake,
    /// The consumer on the stack's token store (Secrets Manager unless [`harness_kms`]).
    pub consumer: Consumer<DynamoStore, Vault, SqsQueue>,
}

pub async fn harness(label: &str, scope: &str) -> Harness {
    harness_with(label, scope, fake_config(), |_| {}).await
}

/// As [`harness`], with tokens in the table under a KMS key (`TOKEN_STORE=dynamodb-kms`).
pub async fn harness_kms(label: &str, scope: &str) -> Harness {
    let stack = test_stack(label).await.with_kms_token_store().await.expect("KMS key on moto");
    harness_on(stack, scope, fake_config(), |_| {}).await
}

pub async fn harness_with(
    label: &str,
    scope: &str,
    fake_config: FakeConfig,
    tweak: impl FnOnce(&mut ConsumerPolicy),
) -> Harness {
    harness_on(test_stack(label).await, scope, fake_config, tweak).await
}

/// A harness on `stack` (one of [`test_stack`]'s, possibly with its KMS token store).
pub async fn harness_on(
    stack: LocalStack,
    scope: &str,
    fake_config: FakeConfig,
    tweak: impl FnOnce(&mut ConsumerPolicy),
) -> Harness {
    let fake = fake_strava::start(fake_config).await.unwrap();
    let mut policy = local_policy();
    tweak(&mut policy);
    let consumer = Consumer::new(policy, strava_client(&fake), stack.store(), stack.token_vault(), queue_of(&stack));
    for athlete in fake.state.athlete_ids() {
        connect(&fake, &consumer.vault, &consumer.store, athlete, scope).await;
    }
    Harness { stack, fake, consumer }
}

pub fn event_job(object_type: &str, object_id: i64, aspect: &str, updates: serde_json::Value, time: i64) -> Job {
    let owner = ATHLETE;
    let object_id = if object_type == "athlete" { owner } else { object_id };
    serde_json::from_value(serde_json::json!({
        "kind": "webhook_event",
        "event": {"object_type": object_type, "object_id": object_id, "aspect_type": aspect, "updates": updates,
                  "owner_id": owner, "subscription_id": 120475, "event_time": time}
    }))
    .unwrap()
}

impl Harness {
    /// Runs one job as a single-record invocation (no queue round trip).
    pub async fn run(&self, job: &Job) -> stravasync_consumer::Outcome {
        self.consumer.process(&record(job, "m-1", 1)).await
    }

    pub async fn enqueue(&self, job: &Job, key: &str) {
        self.consumer.queue.enqueue(&QueueMessage::for_job(job, key)).await.unwrap();
    }

    pub fn api_calls(&self) -> usize {
        self.fake.state.api_requests()
    }
}
