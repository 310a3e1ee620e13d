//! The two lanes (docs/design.md §5) on moto's two FIFO queues: new events never wait
//! behind history, background work yields the budget to waiting events, and waiting for
//! the budget never runs a message into the queue's redrive limit.

use crate::common::*;
use fake_strava::data::Season;
use serde_json::json;
use stravasync_consumer::Record;
use stravasync_consumer::pump::deliver_once;
use stravasync_core::job::{Job, Lane};
use stravasync_core::model::{ActivityState, RateWindow, RateWindowKind};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{RateBudget, Reservation};

const T: i64 = 1_763_755_200;

fn season(activities: u32) -> fake_strava::FakeConfig {
    let season = Season { athletes: 1, activities_per_athlete: activities, seed: 3, end: 1_780_000_000, block_days: 0 };
    fake_strava::FakeConfig { season: Some(season), ..fake_config() }
}

#[tokio::test]
async fn a_new_event_is_applied_while_the_athletes_backfill_waits_for_the_budget() {
    // 10 requests a window, background 70 %: the backfill stops after 7.
    let h = harness_with("lanes", "read,activity:read_all", season(20), |c| {
        c.limit_15min = 10;
        c.background_share = 0.7;
    })
    .await;
    let athlete = fake_strava::data::GENERATED_ATHLETE_BASE + 1;
    h.enqueue(&Job::start_backfill(athlete, Some(20), None, None, Some(T)), "connect").await;
    let first = deliver_once(&h.consumer).await.unwrap();
    assert_eq!(first.records.len(), 1);
    assert_eq!(first.records[0].group_id.as_deref(), Some(&*format!("background-{athlete}")));
    assert_eq!(h.api_calls(), 7, "1 list + 6 streams: the background share");

    // The athlete records an activity; its create goes to the events lane.
    let id = h.fake.state.new_activity(athlete, 1_780_000_000).unwrap();
    let create = serde_json::from_value::<Job>(json!({"kind": "webhook_event", "event": {
        "object_type": "activity", "object_id": id, "aspect_type": "create", "updates": {},
        "owner_id": athlete, "subscription_id": 120475, "event_time": T + 10}}))
    .unwrap();
    h.enqueue(&create, "create").await;
    let second = deliver_once(&h.consumer).await.unwrap();
    // Events first in the batch; the continuation (background) waits for the next window
    // while the event uses the rest of this one.
    let lanes: Vec<Lane> = second.records.iter().map(|r| Lane::of_group(r.group_id.as_deref().unwrap())).collect();
    assert_eq!(lanes, [Lane::Events, Lane::Background]);
    assert_eq!(second.report.failed, [second.records[1].message_id.clone()], "only the continuation waits");
    assert!(matches!(h.consumer.store.get_activity(athlete, id).await.unwrap(), Some(ActivityState::Live(_))));
    let event_calls = if h.fake.state.activity_streams(id).is_some() { 2 } else { 1 }; // a manual one has no streams
    assert_eq!(h.api_calls(), 7 + event_calls, "the event's calls, none by the waiting continuation");
    let waiting = h.consumer.store.get_profile(athlete).await.unwrap().unwrap().backfill.unwrap();
    assert!(waiting.done >= 6 && waiting.finished_at.is_none(), "the backfill keeps its checkpoint: {waiting:?}");
}

#[tokio::test]
async fn an_event_that_waits_keeps_the_next_window_from_background_work() {
    let h = harness_with("hold", "read,activity:read_all", fake_config(), |c| {
        c.limit_15min = 2;
        c.background_share = 1.0;
    })
    .await;
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    let waited = h.run(&event_job("activity", FENIX2, "create", json!({}), T)).await;
    assert!(matches!(waited, Outcome::Defer { budget: true, .. }), "{waited:?}");
    let next = RateWindow::containing(RateWindowKind::QuarterHour, h.consumer.now()).next();
    assert!(matches!(h.consumer.store.reserve_background(next, 1, 100).await.unwrap(), Reservation::Held { .. }));
    assert_eq!(h.consumer.store.reserve(next, 1, 100).await.unwrap(), Reservation::Granted { used: 1 });
    let after = next.next();
    assert_eq!(h.consumer.store.reserve_background(after, 1, 100).await.unwrap(), Reservation::Granted { used: 1 });
}

#[tokio::test]
async fn a_message_waiting_for_the_budget_through_many_receives_is_resent_fresh() {
    let h = harness_with("resend", "read,activity:read_all", fake_config(), |c| c.limit_15min = 2).await;
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    let job = event_job("activity", FENIX2, "create", json!({}), T);
    h.enqueue(&job, "waiting").await;
    let received = h.consumer.queue.receive(10, 0).await.unwrap();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    // As on its tenth receive (RESEND_AFTER): waited through nine windows already.
    let record = Record {
        message_id: m.message_id.clone(),
        receipt_handle: m.receipt_handle.clone(),
        body: m.body.clone(),
        receive_count: h.consumer.policy.resend_after,
        group_id: m.group_id.clone(),
        dedup_id: m.dedup_id.clone(),
        sent_at: m.sent_at,
    };
    let report = h.consumer.handle_batch(&[record]).await;
    assert_eq!(report.resent, std::slice::from_ref(&m.message_id));
    assert!(report.failed.is_empty() && report.dead_lettered.is_empty());
    let copy = h.consumer.queue.receive(10, 0).await.unwrap();
    assert_eq!(copy.len(), 1, "the original is gone, its copy is queued");
    assert_eq!((copy[0].body.as_str(), copy[0].receive_count), (m.body.as_str(), 1));
    assert_eq!(copy[0].group_id, m.group_id);
    assert_ne!(copy[0].dedup_id, m.dedup_id, "a new deduplication id, or SQS would drop it");
}

use stravasync_consumer::Outcome;
use stravasync_core::ports::TokenVault;

#[tokio::test]
async fn records_received_behind_a_waiting_head_are_resent_before_the_redrive_limit() {
    let n = stravasync_consumer::ConsumerPolicy::DEFAULT_RESEND_AFTER;
    // Behind a head that waits on: the record near the redrive limit is re-sent, the one
    // that joined the group later stays. Behind a head re-sent: all go with it, in order.
    for (case, counts) in [("waits", [3, n + 3, 2]), ("resent", [n, n - 1, 2])] {
        let h = harness_with(case, "read,activity:read_all", fake_config(), |c| c.limit_15min = 2).await;
        assert_eq!(h.consumer.policy.resend_after, n);
        assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
        for i in 0..3 {
            let event = event_job("activity", FENIX2, "update", json!({"title": format!("{case}{i}")}), T + i);
            h.enqueue(&event, &format!("{case}{i}")).await;
        }
        let received = h.consumer.queue.receive(10, 0).await.unwrap();
        assert_eq!(received.len(), 3, "{case}: one group, delivered together");
        let records: Vec<Record> = received
            .iter()
            .zip(counts)
            .map(|(m, receive_count)| Record {
                message_id: m.message_id.clone(),
                receipt_handle: m.receipt_handle.clone(),
                body: m.body.clone(),
                receive_count,
                group_id: m.group_id.clone(),
                dedup_id: m.dedup_id.clone(),
                sent_at: m.sent_at,
            })
            .collect();
        let ids: Vec<String> = records.iter().map(|r| r.message_id.clone()).collect();
        let report = h.consumer.handle_batch(&records).await;
        assert!(report.dead_lettered.is_empty());
        if case == "waits" {
            assert_eq!(report.resent, [ids[1].clone()]);
            assert_eq!(report.released, [ids[2].clone()], "not near the limit: stays in place");
            assert_eq!(report.failed, [ids[0].clone(), ids[2].clone()]);
        } else {
            assert_eq!(report.resent, ids);
            let queued = h.consumer.queue.receive(10, 0).await.unwrap();
            let bodies: Vec<&str> = queued.iter().map(|m| m.body.as_str()).collect();
            let sent: Vec<&str> = records.iter().map(|r| r.body.as_str()).collect();
            assert_eq!(bodies, sent, "the copies keep their order");
            assert!(queued.iter().all(|m| m.dedup_id.as_deref().is_some_and(|d| d.contains("~w"))));
        }
    }
}

#[tokio::test]
async fn background_spends_its_share_of_the_day_hour_by_hour_while_events_go_on() {
    // Daily limit 240, background share 50 % (120): at 01:30 UTC its paced part is
    // 120 × 2/24 = 10 requests.
    let mut h = harness_with("paced", "read,activity:read_all", season(20), |c| {
        c.limit_daily = 240;
        c.background_share = 0.5;
        c.backfill_batch = 20;
        c.pace_background = true;
    })
    .await;
    let midnight = 1_763_683_200; // 2025-11-21 00:00 UTC
    let now = midnight + 5_400;
    h.consumer.strava = stravasync_strava::StravaClient::new(
        stravasync_strava::StravaConfig::new("12345", stravasync_core::Secret::new(CLIENT_SECRET))
            .with_urls(h.fake.api_url(), h.fake.oauth_url())
            .with_clock(std::sync::Arc::new(move || now)),
    )
    .unwrap();
    let athlete = fake_strava::data::GENERATED_ATHLETE_BASE + 1;
    let backfill = Job::start_backfill(athlete, Some(20), None, None, Some(now));
    assert_eq!(h.run(&backfill).await, Outcome::Done, "checkpointed, handed over");
    assert_eq!(h.api_calls(), 10, "the paced part of the day");
    let queued = h.consumer.queue.receive(10, 0).await.unwrap();
    assert_eq!(queued.len(), 1);
    let continuation = Job::parse(&queued[0].body).unwrap();
    assert_eq!(continuation.lane(), Lane::Background);
    // It resumes when the pace passes 10: at 02:00 (120 × 3/24 = 15).
    let waited = h.run(&continuation).await;
    assert!(matches!(waited, Outcome::Defer { secs: 1_800, budget: true, .. }), "{waited:?}");
    assert_eq!(h.api_calls(), 10);
    // An event meanwhile has the rest of the day.
    let id = h.fake.state.new_activity(athlete, now - 3_600).unwrap();
    let create = serde_json::from_value::<Job>(json!({"kind": "webhook_event", "event": {
        "object_type": "activity", "object_id": id, "aspect_type": "create", "updates": {},
        "owner_id": athlete, "subscription_id": 120475, "event_time": now}}))
    .unwrap();
    assert_eq!(h.run(&create).await, Outcome::Done);
    assert!(matches!(h.consumer.store.get_activity(athlete, id).await.unwrap(), Some(ActivityState::Live(_))));
}

#[tokio::test]
async fn a_deauthorization_does_not_wait_behind_the_athletes_events_that_wait_for_the_budget() {
    let h = harness_with("deauth-lane", "read,activity:read_all", fake_config(), |c| c.limit_15min = 2).await;
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    let spent = h.api_calls();
    let create = event_job("activity", FENIX2, "create", json!({}), T + 10);
    let deauth = event_job("athlete", ATHLETE, "update", json!({"authorized": "false"}), T + 20);
    h.enqueue(&create, "create").await;
    h.enqueue(&deauth, "deauth").await;
    let batch = deliver_once(&h.consumer).await.unwrap();
    let groups: Vec<&str> = batch.records.iter().filter_map(|r| r.group_id.as_deref()).collect();
    assert_eq!(groups, [format!("athlete-{ATHLETE}"), format!("deauth-{ATHLETE}")]);
    assert_eq!(batch.report.failed, [batch.records[0].message_id.clone()], "only the create waits");
    // The deauthorization is applied at once: the athlete's data and tokens are gone.
    assert_eq!(h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap(), None);
    assert_eq!(h.consumer.store.get_profile(ATHLETE).await.unwrap(), None);
    assert_eq!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), None);
    // The create that waited needs no budget now: the athlete is no longer connected.
    assert_eq!(h.run(&create).await, Outcome::Done);
    assert_eq!(h.api_calls(), spent, "no Strava call for a disconnected athlete");
    assert_eq!(h.consumer.store.get_activity(ATHLETE, FENIX2).await.unwrap(), None);
}
