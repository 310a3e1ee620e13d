//! Order independence (docs/design.md §5): a random history of creates, edits and deletes for a
//! few activities, delivered with duplicates, in random order, with injected 500 / 429 /
//! 401 answers from Strava and every failed record redelivered, ends in the same stored
//! state as applying the events once, in order, with no faults.
//!
//! Runs on the in-memory ports (the DynamoDB adapter's conditional writes are covered by
//! `stravasync-aws`'s moto tests) against a real fake-strava over HTTP.

use crate::common::{ATHLETE, connect, fake_config, record, strava_client};
use fake_strava::{Fault, FaultKind, RunningFake};
use proptest::prelude::*;
use serde_json::json;
use stravasync_consumer::{Consumer, ConsumerPolicy, Record};
use stravasync_core::job::Job;
use stravasync_testkit::memory::{MemoryQueue, MemoryStore, MemoryVault};

const IDS: [i64; 3] = [17_000_000_101, 17_000_000_102, 17_000_000_104];
const SPORTS: [&str; 3] = ["Ride", "Run", "VirtualRide"];

#[derive(Debug, Clone)]
enum Edit {
    Title(u8),
    Sport(usize),
    Private(bool),
    Other,
}

/// Per activity: the edits after its create, and whether it is deleted at the end.
type History = Vec<(Vec<Edit>, bool)>;

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<u8>().prop_map(Edit::Title),
        (0..3usize).prop_map(Edit::Sport),
        any::<bool>().prop_map(Edit::Private),
        Just(Edit::Other)
    ]
}

fn history() -> impl Strategy<Value = History> {
    proptest::collection::vec((proptest::collection::vec(edit(), 0..7), proptest::bool::weighted(0.25)), 3)
}

/// The events in Strava's order, with strictly increasing times; and the fake's world
/// set to its final state (what any fetch, at any time, sees).
fn events_and_world(history: &History, fake: &RunningFake) -> Vec<Job> {
    let mut t = 1_763_755_200;
    let mut events = Vec::new();
    let ev = |id: i64, aspect: &str, updates: serde_json::Value, t: i64| {
        serde_json::from_value::<Job>(json!({"kind": "webhook_event", "event": {
            "object_type": "activity", "object_id": id, "aspect_type": aspect, "updates": updates,
            "owner_id": ATHLETE, "subscription_id": 120475, "event_time": t}}))
        .unwrap()
    };
    for (id, (edits, deleted)) in IDS.iter().zip(history) {
        t += 1;
        events.push(ev(*id, "create", json!({}), t));
        for e in edits {
            t += 1;
            let updates = match e {
                Edit::Title(n) => {
                    fake.state.update_activity(*id, Some(&format!("title {n}")), None);
                    json!({"title": format!("title {n}")})
                }
                Edit::Sport(i) => {
                    fake.state.update_activity(*id, None, Some(SPORTS[*i]));
                    json!({"type": SPORTS[*i]})
                }
                Edit::Private(p) => {
                    fake.state.set_private(*id, *p);
                    json!({"private": p.to_string()})
                }
                Edit::Other => json!({"gear_id": "b12345"}),
            };
            events.push(ev(*id, "update", updates, t));
        }
        if *deleted {
            t += 1;
            fake.state.delete_activity(*id);
            events.push(ev(*id, "delete", json!({}), t));
        }
    }
    events
}

type MemConsumer = Consumer<MemoryStore, MemoryVault, MemoryQueue>;

async fn consumer(fake: &RunningFake) -> MemConsumer {
    // Failed records are always redelivered here (no give-up): the property is about
    // order and duplication, not the DLQ.
    let policy = ConsumerPolicy { max_receives: 1000, ..stravasync_consumer::testing::local_policy() };
    let c = Consumer::new(
        policy,
        strava_client(fake),
        MemoryStore::default(),
        MemoryVault::new(stravasync_aws::local::local_app_credentials()),
        MemoryQueue::default(),
    );
    connect(fake, &c.vault, &c.store, ATHLETE, "read,activity:read_all").await;
    c
}

async fn fake() -> RunningFake {
    let config = fake_strava::FakeConfig {
        limit_15min: u32::MAX,
        limit_daily: u32::MAX,
        read_limit_15min: u32::MAX,
        read_limit_daily: u32::MAX,
        ..fake_config()
    };
    fake_strava::start(config).await.unwrap()
}

/// What must agree: per activity, live or deleted, version, and the visible fields.
async fn snapshot(store: &MemoryStore) -> Vec<String> {
    let mut out = Vec::new();
    for id in IDS {
        out.push(stravasync_testkit::describe_activity(store, ATHLETE, id).await);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_order_duplication_and_faults_give_the_in_order_state(
        history in history(),
        order_seed in any::<u64>(),
        duplicates in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        faults in proptest::collection::vec((0..3usize, 1..3u32), 0..4),
        batch in 1..5usize,
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (expected, actual) = rt.block_on(async {
            // Reference: in order, once, no faults.
            let ref_fake = fake().await;
            let events = events_and_world(&history, &ref_fake);
            let reference = consumer(&ref_fake).await;
            for (i, job) in events.iter().enumerate() {
                let outcome = reference.process(&record(job, &format!("r{i}"), 1)).await;
                assert_eq!(outcome, stravasync_consumer::Outcome::Done, "reference run of {job:?}");
            }

            // Under test: shuffled, duplicated, with faults, failures redelivered.
            let fake = fake().await;
            let events2 = events_and_world(&history, &fake);
            assert_eq!(events.len(), events2.len());
            for (kind, count) in &faults {
                let kind = [FaultKind::ServerError, FaultKind::RateLimited, FaultKind::Unauthorized][*kind];
                fake.state.inject(Fault { route: "*".into(), kind, count: *count, delay_ms: 0 });
            }
            let mut deliveries: Vec<Job> = events2.clone();
            for d in &duplicates {
                deliveries.push(d.get(&events2).clone());
            }
            let mut rng = fake_strava::data::Rng::new(order_seed);
            for i in (1..deliveries.len()).rev() {
                deliveries.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            let under_test = consumer(&fake).await;
            let mut pending: Vec<Record> =
                deliveries.iter().enumerate().map(|(i, j)| record(j, &format!("m{i}"), 1)).collect();
            let mut rounds = 0;
            while !pending.is_empty() {
                rounds += 1;
                assert!(rounds < 200, "did not converge");
                let take = batch.min(pending.len());
                let now: Vec<Record> = pending.drain(..take).collect();
                let failed = under_test.handle_batch(&now).await.failed;
                for mut r in now.into_iter().filter(|r| failed.contains(&r.message_id)) {
                    // Redelivered later, as SQS does after the visibility timeout.
                    r.receive_count += 1;
                    pending.push(r);
                }
            }
            (snapshot(&reference.store).await, snapshot(&under_test.store).await)
        });
        prop_assert_eq!(actual, expected);
    }
}
