//! Two consumers, two athletes, one tiny app-wide rate limit: the shared DynamoDB budget
//! keeps both together under Strava's limit (the fake, set to the same limit, never has to
//! answer 429) and every activity of both backfills arrives.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::common::{connect, fake_config, record, test_stack};
use fake_strava::data::{GENERATED_ATHLETE_BASE, Season};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_consumer::{Consumer, Outcome};
use stravasync_core::Secret;
use stravasync_core::job::Job;
use stravasync_core::model::ActivityState;
use stravasync_core::ports::roles::*;
use stravasync_strava::{StravaClient, StravaConfig};
use stravasync_testkit::memory::MemoryQueue;

const LIMIT: u32 = 10;

struct Worker {
    consumer: Consumer<DynamoStore, SecretsVault, MemoryQueue>,
    pending: VecDeque<Job>,
    seen: usize,
}

impl Worker {
    /// Processes jobs until one must wait for the next window (or none are left).
    async fn run_until_blocked(&mut self) {
        while let Some(job) = self.pending.pop_front() {
            match self.consumer.process(&record(&job, "m", 1)).await {
                Outcome::Done => {
                    let sent = self.consumer.queue.messages();
                    for m in &sent[self.seen..] {
                        self.pending.push_back(Job::parse(&m.body).unwrap());
                    }
                    self.seen = sent.len();
                }
                Outcome::Defer { .. } => {
                    self.pending.push_front(job);
                    return;
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn two_consumers_share_the_budget_and_lose_nothing() {
    let stack = test_stack("concurrency").await;
    let season = Season { athletes: 2, activities_per_athlete: 12, seed: 21, end: 1_780_000_000, block_days: 0 };
    let fake = fake_strava::start(fake_strava::FakeConfig {
        fixtures_dir: None,
        season: Some(season),
        limit_15min: LIMIT,
        read_limit_15min: LIMIT,
        ..fake_config()
    })
    .await
    .unwrap();
    let start: i64 = 1_800_000_000; // a quarter-hour boundary (divisible by 900)
    let clock = Arc::new(AtomicI64::new(start));
    fake.state.set_now(start);

    let mut workers = Vec::new();
    for i in 0..2 {
        let athlete = GENERATED_ATHLETE_BASE + 1 + i;
        let c = clock.clone();
        let strava = StravaClient::new(
            StravaConfig::new("12345", Secret::new("client-secret-value"))
                .with_urls(fake.api_url(), fake.oauth_url())
                .with_clock(Arc::new(move || c.load(Ordering::SeqCst))),
        )
        .unwrap();
        let mut policy = stravasync_consumer::testing::local_policy();
        policy.limit_15min = LIMIT;
        policy.background_share = 1.0;
        policy.backfill_batch = 4;
        let consumer = Consumer::new(policy, strava, stack.store(), stack.vault(), MemoryQueue::default());
        connect(&fake, &consumer.vault, &consumer.store, athlete, "read,activity:read_all").await;
        let job = Job::start_backfill(athlete, None, None, None, None);
        workers.push(Worker { consumer, pending: VecDeque::from([job]), seen: 0 });
    }

    let mut windows = 0;
    while workers.iter().any(|w| !w.pending.is_empty()) {
        let (a, b) = workers.split_at_mut(1);
        tokio::join!(a[0].run_until_blocked(), b[0].run_until_blocked());
        if workers.iter().any(|w| !w.pending.is_empty()) {
            windows += 1;
            assert!(windows < 20, "no progress");
            let next = clock.fetch_add(900, Ordering::SeqCst) + 900;
            fake.state.set_now(next);
        }
    }

    assert!(windows >= 2, "the tiny limit forced waiting for new windows ({windows})");
    let statuses: Vec<u16> = fake.state.requests().iter().map(|r| r.status).collect();
    assert!(!statuses.contains(&429), "the fake never had to refuse a request");
    for (window, count) in fake.state.quarter_counts() {
        assert!(count <= LIMIT, "window {window}: {count} requests");
    }
    for i in 0..2 {
        let athlete = GENERATED_ATHLETE_BASE + 1 + i;
        let ids = fake.state.activity_ids(athlete);
        assert_eq!(ids.len(), 12);
        for id in ids {
            let state = stack.store().get_activity(athlete, id).await.unwrap();
            assert!(matches!(state, Some(ActivityState::Live(_))), "athlete {athlete} activity {id} lost");
        }
    }
}
