//! Every row of docs/design.md §5 against moto and fake-strava: the stored state and the Strava
//! request log.

use crate::common::*;
use serde_json::json;
use stravasync_consumer::Outcome;
use stravasync_core::codec::decode_chunks;
use stravasync_core::job::Job;
use stravasync_core::model::{ActivityState, ScoreSource, StoredActivity};
use stravasync_core::ports::TokenVault;
use stravasync_core::ports::roles::*;

const T: i64 = 1_763_755_200;

async fn live(h: &Harness, id: i64) -> StoredActivity {
    match h.consumer.store.get_activity(ATHLETE, id).await.unwrap() {
        Some(ActivityState::Live(a)) => *a,
        other => panic!("activity {id}: {other:?}"),
    }
}

#[tokio::test]
async fn create_fetches_twice_scores_and_stores_streams() {
    let h = harness("create", "read,activity:read_all").await;
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    assert_eq!(h.api_calls(), 2, "activity + streams, the minimum");
    let a = live(&h, EDGE810).await;
    assert_eq!(a.version, T);
    assert_eq!(a.local_date.to_string(), "2013-08-16");
    let m = a.metrics.clone().unwrap();
    assert_eq!(m.score.source, ScoreSource::Power);
    assert!((m.score.value.unwrap() - 189.32094802121168).abs() < 1e-6);
    let chunks = h.consumer.store.get_stream_chunks(ATHLETE, EDGE810, a.streams_ref().unwrap()).await.unwrap();
    assert_eq!(chunks.len() as u32, a.stream_chunks);
    assert_eq!(decode_chunks(&chunks).unwrap(), h.fake.state.activity_streams(EDGE810).unwrap());
    assert_eq!(h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap(), Some(a.local_date));

    // The same event again (Strava retry past the dedup window): no Strava call.
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    assert_eq!(h.api_calls(), 2);
}

#[tokio::test]
async fn title_type_and_privacy_updates_make_no_strava_call() {
    let h = harness("update", "read,activity:read_all").await;
    h.run(&event_job("activity", FENIX2, "create", json!({}), T)).await;
    let before = live(&h, FENIX2).await;
    assert_eq!(before.metrics.as_ref().unwrap().score.source, ScoreSource::Pace);
    h.fake.state.clear_requests();

    h.run(&event_job("activity", FENIX2, "update", json!({"title": "Tempo run"}), T + 10)).await;
    let a = live(&h, FENIX2).await;
    assert_eq!((a.summary.name.as_deref(), a.version), (Some("Tempo run"), T + 10));
    assert_eq!(a.metrics, before.metrics, "a title change does not rescore");

    // A type change rescores from the stored streams: a run scored by pace becomes a
    // ride, which has no pace score and no watts, so heart rate scores it.
    h.run(&event_job("activity", FENIX2, "update", json!({"type": "Ride"}), T + 20)).await;
    let a = live(&h, FENIX2).await;
    assert_eq!(a.summary.sport_type.as_deref(), Some("Ride"));
    assert_eq!(a.metrics.as_ref().unwrap().score.source, ScoreSource::Heartrate);

    // With activity:read_all, a private activity is kept and marked private.
    h.run(&event_job("activity", FENIX2, "update", json!({"private": "true"}), T + 30)).await;
    assert!(live(&h, FENIX2).await.summary.private);
    assert_eq!(h.api_calls(), 0, "no Strava request for title, type or privacy");
}

#[tokio::test]
async fn private_without_read_all_deletes() {
    let h = harness("private", "read,activity:read").await;
    h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await;
    h.fake.state.clear_requests();
    assert_eq!(
        h.run(&event_job("activity", EDGE810, "update", json!({"private": "true"}), T + 5)).await,
        Outcome::Done
    );
    assert!(
        matches!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), Some(ActivityState::Deleted(t)) if t.version == T + 5)
    );
    assert!(h.consumer.store.stream_chunk_count(ATHLETE, EDGE810).await.unwrap() == 0);
    assert_eq!(h.api_calls(), 0);
}

#[tokio::test]
async fn other_updates_refetch() {
    let h = harness("refetch", "read,activity:read_all").await;
    h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await;
    h.fake.state.update_activity(EDGE810, Some("Renamed on Strava"), None);
    h.fake.state.clear_requests();
    h.run(&event_job("activity", EDGE810, "update", json!({"gear_id": "b123"}), T + 5)).await;
    assert_eq!(h.api_calls(), 2);
    let a = live(&h, EDGE810).await;
    assert_eq!((a.summary.name.as_deref(), a.version), (Some("Renamed on Strava"), T + 5));
}

#[tokio::test]
async fn delete_tombstones_and_nothing_resurrects_it() {
    let h = harness("delete", "read,activity:read_all").await;
    h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await;
    let mark = h.consumer.store.pmc_dirty_mark(ATHLETE).await.unwrap().expect("marked");
    h.consumer.store.clear_pmc_dirty(ATHLETE, mark).await.unwrap();
    h.fake.state.clear_requests();
    h.run(&event_job("activity", EDGE810, "delete", json!({}), T + 60)).await;
    assert_eq!(h.api_calls(), 0);
    assert!(matches!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), Some(ActivityState::Deleted(_))));
    assert!(h.consumer.store.stream_chunk_count(ATHLETE, EDGE810).await.unwrap() == 0);
    assert_eq!(
        h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap().map(|d| d.to_string()),
        Some("2013-08-16".into())
    );
    // Late create and update: ignored, no call.
    h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await;
    h.run(&event_job("activity", EDGE810, "update", json!({"title": "x"}), T + 30)).await;
    assert_eq!(h.api_calls(), 0);
    assert!(
        matches!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), Some(ActivityState::Deleted(t)) if t.version == T + 60)
    );
}

#[tokio::test]
async fn stale_events_are_ignored() {
    let h = harness("stale", "read,activity:read_all").await;
    h.run(&event_job("activity", EDGE810, "create", json!({}), T + 100)).await;
    h.fake.state.clear_requests();
    h.run(&event_job("activity", EDGE810, "update", json!({"title": "old"}), T + 50)).await;
    h.run(&event_job("activity", EDGE810, "update", json!({"gear_id": "x"}), T + 50)).await;
    h.run(&event_job("activity", EDGE810, "delete", json!({}), T + 99)).await;
    assert_eq!(h.api_calls(), 0);
    let a = live(&h, EDGE810).await;
    assert_eq!(a.version, T + 100);
    assert_ne!(a.summary.name.as_deref(), Some("old"));
}

#[tokio::test]
async fn deauthorization_deletes_tokens_and_every_item_without_calls() {
    let h = harness("deauth", "read,activity:read_all").await;
    h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await;
    h.run(&event_job("activity", FENIX2, "create", json!({}), T)).await;
    h.fake.state.clear_requests();
    let job = event_job("athlete", ATHLETE, "update", json!({"authorized": "false"}), T + 10);
    assert_eq!(h.run(&job).await, Outcome::Done);
    assert_eq!(h.fake.state.requests().len(), 0, "no Strava call of any kind");
    assert_eq!(h.consumer.vault.get_tokens(ATHLETE).await.unwrap(), None);
    assert_eq!(h.consumer.store.get_profile(ATHLETE).await.unwrap(), None);
    assert_eq!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), None);
    assert!(h.consumer.store.stream_chunk_count(ATHLETE, FENIX2).await.unwrap() == 0);
    assert_eq!(h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap(), None);
    // Later events of the deauthorized athlete are dropped (logged), not retried forever.
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T + 20)).await, Outcome::Done);
    assert_eq!(h.fake.state.requests().len(), 0);
}

/// A second container whose vault still caches the athlete's tokens must not apply an
/// event after another container applied the deauthorization.
#[tokio::test]
async fn a_container_with_cached_tokens_drops_events_after_another_deauthorized() {
    let h = harness("deauth-cache", "read,activity:read_all").await;
    let other = stravasync_consumer::Consumer::new(
        stravasync_consumer::testing::local_policy(),
        strava_client(&h.fake),
        h.stack.store(),
        h.stack.vault(),
        queue_of(&h.stack),
    );
    assert!(other.vault.get_tokens(ATHLETE).await.unwrap().is_some(), "cached in the other container");
    let deauth = event_job("athlete", ATHLETE, "update", json!({"authorized": "false"}), T + 10);
    assert_eq!(h.run(&deauth).await, Outcome::Done);
    h.fake.state.clear_requests();
    let late = event_job("activity", EDGE810, "create", json!({}), T + 20);
    assert_eq!(other.process(&record(&late, "late", 1)).await, Outcome::Done);
    assert_eq!(other.store.get_activity(ATHLETE, EDGE810).await.unwrap(), None, "nothing written");
    assert_eq!(other.store.get_profile(ATHLETE).await.unwrap(), None);
    assert_eq!(h.fake.state.requests().len(), 0, "no Strava call with the stale tokens");
}

#[tokio::test]
async fn manual_activity_is_stored_unscored_and_not_retried() {
    let h = harness("manual", "read,activity:read_all").await;
    let id = 1_i64 << 40;
    h.fake.state.insert_activity(
        json!({"id": id, "athlete": {"id": ATHLETE}, "type": "Workout", "sport_type": "Workout",
               "start_date": "2025-01-02T08:00:00Z", "start_date_local": "2025-01-02T09:00:00Z"}),
        None,
    );
    assert_eq!(h.run(&event_job("activity", id, "create", json!({}), T)).await, Outcome::Done);
    assert_eq!(h.api_calls(), 2, "activity, then streams answering 404");
    let a = live(&h, id).await;
    assert_eq!(a.metrics.unwrap().score.source, ScoreSource::None);
    assert!(!a.pending_streams);
    assert_eq!(a.stream_chunks, 0);
}

#[tokio::test]
async fn empty_streams_defer_then_store_and_finally_give_up_to_reconcile() {
    let h = harness("empty", "read,activity:read_all").await;
    h.fake.state.set_empty_stream_fetches(EDGE810, 10);
    let job = event_job("activity", EDGE810, "create", json!({}), T);
    for (attempt, secs) in [(1, 60), (2, 300), (3, 900)] {
        match h.consumer.process(&record(&job, "m", attempt)).await {
            Outcome::Defer { secs: s, .. } => assert_eq!(s, secs),
            other => panic!("attempt {attempt}: {other:?}"),
        }
        assert_eq!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), None, "nothing half-written");
    }
    assert_eq!(h.consumer.process(&record(&job, "m", 4)).await, Outcome::Done);
    let a = live(&h, EDGE810).await;
    assert!(a.pending_streams, "marked for a later reconcile");
    // The reconcile picks it up once Strava has the streams.
    h.fake.state.set_empty_stream_fetches(EDGE810, 0);
    assert_eq!(h.run(&Job::Reconcile { athlete_id: ATHLETE, since: 0 }).await, Outcome::Done);
    let a = live(&h, EDGE810).await;
    assert!(!a.pending_streams && a.stream_chunks > 0);
    assert_eq!(a.metrics.unwrap().score.source, ScoreSource::Power);
}

#[tokio::test]
async fn strava_faults_map_to_retry_defer_and_refresh() {
    let h = harness("faults", "read,activity:read_all").await;
    let job = event_job("activity", EDGE810, "create", json!({}), T);
    let fault = |kind, count| fake_strava::Fault { route: "/api/v3/activities/{id}".into(), kind, count, delay_ms: 0 };
    h.fake.state.inject(fault(fake_strava::FaultKind::ServerError, 1));
    assert!(matches!(h.run(&job).await, Outcome::Retry { .. }));
    h.fake.state.inject(fault(fake_strava::FaultKind::RateLimited, 1));
    match h.run(&job).await {
        Outcome::Defer { secs, .. } => assert!((1..=900).contains(&secs), "{secs}"),
        other => panic!("{other:?}"),
    }
    h.fake.state.inject(fault(fake_strava::FaultKind::Unauthorized, 1));
    assert_eq!(h.run(&job).await, Outcome::Done, "refreshed once and retried");
    assert_eq!(live(&h, EDGE810).await.version, T);
}

#[tokio::test]
async fn an_exhausted_budget_defers_without_calling_strava() {
    let h = harness_with("budget", "read,activity:read_all", fake_config(), |c| c.limit_15min = 2).await;
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    match h.run(&event_job("activity", FENIX2, "create", json!({}), T)).await {
        Outcome::Defer { secs, .. } => {
            let now = h.consumer.now();
            assert_eq!(i64::from(secs), (now - now.rem_euclid(900) + 900) - now, "until the window resets");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.api_calls(), 2, "the deferred create made no call");
}
