//! Multi-record batches on the real FIFO queue (moto), through the local pump, which plays
//! Lambda's event source: a record that is not done holds its own message group only.
//! Later records of that group are made visible again at once; other groups' records are
//! processed in the same invocation; poison records, and transient failures on their last
//! allowed receive, go to the DLQ at once.

use crate::common::*;
use fake_strava::data::Season;
use fake_strava::{Fault, FaultKind};
use serde_json::json;
use stravasync_consumer::Outcome;
use stravasync_consumer::pump::{Delivery, deliver_once};
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::model::ActivityState;
use stravasync_core::ports::EventQueue;
use stravasync_core::ports::roles::*;

const T: i64 = 1_763_755_200;

/// The shared recordings' athlete plus one generated athlete (another message group).
async fn two_athletes(
    label: &str,
    tweak: impl FnOnce(&mut stravasync_consumer::ConsumerPolicy),
) -> (Harness, i64, i64) {
    let mut config = fake_config();
    config.season = Some(Season { athletes: 1, activities_per_athlete: 2, seed: 3, end: 1_763_000_000, block_days: 0 });
    let h = harness_with(label, "read,activity:read_all", config, tweak).await;
    let other = h.fake.state.athlete_ids().into_iter().find(|a| *a != ATHLETE).unwrap();
    let other_activity = h.fake.state.activity_ids(other)[0];
    (h, other, other_activity)
}

fn create(owner: i64, id: i64) -> Job {
    serde_json::from_value(json!({
        "kind": "webhook_event",
        "event": {"object_type": "activity", "object_id": id, "aspect_type": "create", "updates": {},
                  "owner_id": owner, "subscription_id": 120475, "event_time": T}
    }))
    .unwrap()
}

async fn send(h: &Harness, group: i64, dedup: &str, body: String) {
    let m = QueueMessage { group_id: QueueMessage::group_for(group), dedup_id: dedup.into(), body };
    h.consumer.queue.enqueue(&m).await.unwrap();
}

/// Head (athlete A), follower (athlete A), other (athlete B), in that order.
async fn enqueue_three(h: &Harness, head_body: String, other: i64, other_activity: i64) {
    send(h, ATHLETE, "head", head_body).await;
    send(h, ATHLETE, "follower", serde_json::to_string(&create(ATHLETE, FENIX2)).unwrap()).await;
    send(h, other, "other", serde_json::to_string(&create(other, other_activity)).unwrap()).await;
}

/// `(visible, in flight)` message counts of the event queue.
async fn counts(h: &Harness) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = aws_sdk_sqs::Client::new(&h.stack.sdk)
        .get_queue_attributes()
        .queue_url(h.consumer.queue.url())
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes.unwrap_or_default();
    let n = |k: A| attrs.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
    (n(A::ApproximateNumberOfMessages), n(A::ApproximateNumberOfMessagesNotVisible))
}

fn receive_count(d: &Delivery, dedup: &str) -> Option<u32> {
    d.records.iter().find(|r| r.dedup_id.as_deref() == Some(dedup)).map(|r| r.receive_count)
}

async fn stored(h: &Harness, athlete: i64, id: i64) -> bool {
    matches!(h.consumer.store.get_activity(athlete, id).await.unwrap(), Some(ActivityState::Live(_)))
}

fn fault_on_detail(kind: FaultKind, count: u32) -> Fault {
    Fault { route: "/api/v3/activities/{id}".into(), kind, count, delay_ms: 0 }
}

/// Retry and Defer hold the failed record and its group; the follower is released at once,
/// the other athlete's record is processed in the same invocation.
#[tokio::test]
async fn a_transient_failure_holds_its_group_only() {
    for (kind, label) in [(FaultKind::ServerError, "retry"), (FaultKind::RateLimited, "defer")] {
        let (h, other, other_activity) = two_athletes(&format!("batch-{label}"), |_| {}).await;
        enqueue_three(&h, serde_json::to_string(&create(ATHLETE, EDGE810)).unwrap(), other, other_activity).await;
        h.fake.state.inject(fault_on_detail(kind, 1));

        let d = deliver_once(&h.consumer).await.unwrap();
        assert_eq!(d.records.len(), 3, "{label}: one batch of three");
        assert_eq!((d.stats.done, d.stats.failed, d.stats.dead_lettered), (1, 2, 0), "{label}");
        let ids =
            |dedup: &str| d.records.iter().find(|r| r.dedup_id.as_deref() == Some(dedup)).unwrap().message_id.clone();
        assert_eq!(d.report.failed, vec![ids("head"), ids("follower")], "{label}");
        assert_eq!(d.report.released, vec![ids("follower")], "{label}: not attempted");
        assert!(stored(&h, other, other_activity).await, "{label}: the other group was processed at once");
        assert!(!stored(&h, ATHLETE, FENIX2).await, "{label}: the follower was not attempted");
        assert_eq!(receive_count(&d, "other"), Some(1));
        // The head is hidden for its delay; the follower is visible again at once (but its
        // group stays held by the head in flight, so FIFO order is kept).
        assert_eq!(counts(&h).await, (1, 1), "{label}: (visible, in flight)");
        let again = deliver_once(&h.consumer).await.unwrap();
        assert_eq!(again.records.len(), 0, "{label}: nothing of the held group is delivered before its head");
    }
}

/// When the head comes back, the follower comes with it and both are applied; the
/// follower spent one receive, and only the follower's own attempts could ever send it to
/// the DLQ.
#[tokio::test]
async fn the_follower_comes_back_with_its_head() {
    let (h, other, other_activity) = two_athletes("batch-return", |c| c.retry_base_s = 0).await;
    enqueue_three(&h, serde_json::to_string(&create(ATHLETE, EDGE810)).unwrap(), other, other_activity).await;
    h.fake.state.inject(fault_on_detail(FaultKind::ServerError, 1));
    let first = deliver_once(&h.consumer).await.unwrap();
    assert_eq!(first.stats.failed, 2);
    // A zero retry delay: both are visible now (the old rule left the follower hidden for
    // the 18-minute visibility timeout).
    assert_eq!(counts(&h).await, (2, 0));
    let second = deliver_once(&h.consumer).await.unwrap();
    assert_eq!((second.stats.done, second.stats.failed), (2, 0));
    assert_eq!((receive_count(&second, "head"), receive_count(&second, "follower")), (Some(2), Some(2)));
    assert!(stored(&h, ATHLETE, EDGE810).await && stored(&h, ATHLETE, FENIX2).await);
    assert_eq!(counts(&h).await, (0, 0));
}

/// A poison record goes to the DLQ at once (body, group and dedup id kept, reason
/// recorded); its follower and the other group are processed in the same invocation, on
/// their first receive.
#[tokio::test]
async fn a_poison_record_is_dead_lettered_at_once_and_its_group_goes_on() {
    let (h, other, other_activity) = two_athletes("batch-poison", |_| {}).await;
    let bad = r#"{"kind":"webhook_event","event":{"object_type":"activity"}}"#.to_string();
    let probe = stravasync_consumer::Record { body: bad.clone(), ..Default::default() };
    assert!(
        matches!(h.consumer.process(&probe).await, Outcome::Poison { reason } if reason.contains("missing field `object_id`"))
    );
    enqueue_three(&h, bad.clone(), other, other_activity).await;

    let d = deliver_once(&h.consumer).await.unwrap();
    assert_eq!((d.stats.done, d.stats.failed, d.stats.dead_lettered), (2, 0, 1));
    assert!(d.report.failed.is_empty() && d.report.released.is_empty());
    assert!(stored(&h, ATHLETE, FENIX2).await, "the follower was processed on its first receive");
    assert!(stored(&h, other, other_activity).await);
    assert_eq!(receive_count(&d, "follower"), Some(1));
    assert_eq!(counts(&h).await, (0, 0), "nothing left on the queue");

    let dead = h.stack.dlq().receive(10, 0).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, bad, "kept as it was, for inspection and redrive");
    assert_eq!(dead[0].group_id.as_deref(), Some(QueueMessage::group_for(ATHLETE).as_str()));
    assert_eq!(dead[0].dedup_id.as_deref(), Some("head"));
    assert!(dead[0].reason.as_deref().is_some_and(|r| r.contains("object_id")), "{:?}", dead[0].reason);
}

/// A transient failure on its last allowed receive is dead-lettered by the consumer, and
/// the follower it held is processed in that same invocation instead of being received
/// into the DLQ unattempted.
#[tokio::test]
async fn a_retry_on_its_last_receive_is_dead_lettered_and_releases_its_group() {
    let (h, other, other_activity) = two_athletes("batch-giveup", |c| {
        c.retry_base_s = 0;
        c.max_receives = 2;
    })
    .await;
    enqueue_three(&h, serde_json::to_string(&create(ATHLETE, EDGE810)).unwrap(), other, other_activity).await;
    h.fake.state.inject(fault_on_detail(FaultKind::ServerError, 1));
    let first = deliver_once(&h.consumer).await.unwrap();
    assert_eq!((first.stats.done, first.stats.failed), (1, 2));
    h.fake.state.inject(fault_on_detail(FaultKind::ServerError, 1));
    let second = deliver_once(&h.consumer).await.unwrap();
    assert_eq!((second.stats.done, second.stats.failed, second.stats.dead_lettered), (1, 0, 1));
    assert!(stored(&h, ATHLETE, FENIX2).await, "the follower was applied, not received into the DLQ");
    assert_eq!(counts(&h).await, (0, 0));
    let dead = h.stack.dlq().receive(10, 0).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].dedup_id.as_deref(), Some("head"));
    assert!(
        dead[0].reason.as_deref().is_some_and(|r| r.starts_with("gave up after 2 receives")),
        "{:?}",
        dead[0].reason
    );
}

/// Without a DLQ to move to, a poison record falls back to the redrive policy: visible at
/// once, its group held, and after `maxReceiveCount` receives SQS moves it.
#[tokio::test]
async fn without_a_dlq_url_poison_falls_back_to_the_redrive_policy() {
    let h = harness("batch-redrive", "read,activity:read_all").await;
    let consumer = stravasync_consumer::Consumer::new(
        h.consumer.policy.clone(),
        strava_client(&h.fake),
        h.stack.store(),
        h.stack.vault(),
        h.stack.queue(),
    );
    send(&h, 1, "p1", "not json".into()).await;
    for _ in 0..stravasync_aws::resources::QUEUE.max_receive_count {
        let s = stravasync_consumer::pump::pump_once(&consumer).await.unwrap();
        assert_eq!((s.received, s.failed), (1, 1));
    }
    assert_eq!(stravasync_consumer::pump::pump_once(&consumer).await.unwrap().received, 0);
    let dead = h.stack.dlq().receive(10, 0).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "not json");
}
