//! Backfill and reconcile against moto and fake-strava.

use crate::common::*;
use fake_strava::data::Season;
use stravasync_consumer::Outcome;
use stravasync_consumer::pump::pump_until_idle;
use stravasync_core::job::Job;
use stravasync_core::model::ActivityState;
use stravasync_core::ports::ActivityStore;

fn backfill(athlete: i64, n: Option<u32>) -> Job {
    Job::start_backfill(athlete, n, None, None, None)
}

#[tokio::test]
async fn most_recent_n_uses_the_list_summary_and_one_call_per_activity() {
    let h = harness("recent", "read,activity:read_all").await;
    assert_eq!(h.run(&backfill(ATHLETE, Some(3))).await, Outcome::Done);
    assert_eq!(h.fake.state.requests_to("/api/v3/athlete/activities"), 1);
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}"), 0, "no detail call");
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), 3);
    let ids = h.fake.state.activity_ids(ATHLETE); // oldest first
    for (i, id) in ids.iter().enumerate() {
        let stored = h.consumer.store.get_activity(ATHLETE, *id).await.unwrap();
        assert_eq!(stored.is_some(), i >= ids.len() - 3, "activity {id}");
    }
    // Running it again imports nothing new and makes only the list call.
    h.fake.state.clear_requests();
    assert_eq!(h.run(&backfill(ATHLETE, Some(3))).await, Outcome::Done);
    assert_eq!(h.api_calls(), 1);
    assert!(h.consumer.store.get_profile(ATHLETE).await.unwrap().unwrap().last_sync.is_some());
}

#[tokio::test]
async fn a_long_history_is_imported_through_continuations() {
    let season = Season { athletes: 1, activities_per_athlete: 45, seed: 11, end: 1_780_000_000 };
    let h = harness_with(
        "chain",
        "read,activity:read_all",
        fake_strava::FakeConfig { season: Some(season), ..fake_config() },
        |c| c.backfill_batch = 10,
    )
    .await;
    let athlete = fake_strava::data::GENERATED_ATHLETE_BASE + 1;
    h.enqueue(&backfill(athlete, None), "start").await;
    let stats = pump_until_idle(&h.consumer, 50).await.unwrap();
    assert_eq!(stats.failed, 0);
    assert!(stats.done >= 5, "several continuation messages: {stats:?}");
    let ids = h.fake.state.activity_ids(athlete);
    assert_eq!(ids.len(), 45);
    for id in &ids {
        assert!(
            matches!(h.consumer.store.get_activity(athlete, *id).await.unwrap(), Some(ActivityState::Live(_))),
            "{id}"
        );
    }
    let with_streams = ids.iter().filter(|id| h.fake.state.activity_streams(**id).is_some()).count();
    assert_eq!(
        h.fake.state.requests_to("/api/v3/activities/{id}/streams"),
        with_streams,
        "manual activities need no call"
    );
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}"), 0);
}

#[tokio::test]
async fn background_work_stops_at_its_share_and_resumes_from_the_checkpoint() {
    // 10 requests per window, 70 % for background: 7 calls, then a continuation.
    let season = Season { athletes: 1, activities_per_athlete: 12, seed: 5, end: 1_780_000_000 };
    let h = harness_with(
        "share",
        "read,activity:read_all",
        fake_strava::FakeConfig { season: Some(season), ..fake_config() },
        |c| {
            c.limit_15min = 10;
            c.background_share = 0.7;
        },
    )
    .await;
    let athlete = fake_strava::data::GENERATED_ATHLETE_BASE + 1;
    assert_eq!(h.run(&backfill(athlete, None)).await, Outcome::Done, "handed over, not failed");
    assert_eq!(h.api_calls(), 7, "1 list + 6 streams = 70 % of 10");
    let next = h.consumer.queue.receive(10, 0).await.unwrap();
    assert_eq!(next.len(), 1, "one continuation");
    match Job::parse(&next[0].body).unwrap() {
        Job::Backfill { page: 1, index, done, .. } => assert!(index >= 6 && done >= 6, "{index} {done}"),
        other => panic!("{other:?}"),
    }
    // The continuation waits for the next window; the remaining 30 % stays for events.
    match h.consumer.process(&record(&Job::parse(&next[0].body).unwrap(), "c", 1)).await {
        Outcome::Defer { .. } => {}
        other => panic!("background continuation must wait for the window: {other:?}"),
    }
    let create = event_job("activity", EDGE810, "create", serde_json::json!({}), 1_763_755_200);
    assert_eq!(h.run(&create).await, Outcome::Done, "a webhook create still fits in the window");
    assert_eq!(h.api_calls(), 9);
}
