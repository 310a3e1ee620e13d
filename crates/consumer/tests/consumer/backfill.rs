//! Backfill and reconcile against moto and fake-strava.

use crate::common::*;
use fake_strava::data::Season;
use stravasync_consumer::Outcome;
use stravasync_consumer::pump::pump_until_idle;
use stravasync_core::job::Job;
use stravasync_core::model::ActivityState;
use stravasync_core::ports::roles::*;
use stravasync_core::streams::NumericKey;

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

/// A ride started at 23:00, a sync at midnight, the ride uploaded from the watch the next
/// morning and its push event lost: the daily reconcile looks back before the last sync
/// (Strava's `after` is by start time) and finds it; an activity of that overlap already
/// stored is skipped without a streams request.
#[tokio::test]
async fn the_reconcile_finds_an_activity_started_before_the_last_sync_and_uploaded_after_it() {
    let h = harness("late-upload", "read,activity:read_all").await;
    let midnight = h.fake.state.now() / 86_400 * 86_400 - 86_400;
    let stored = h.fake.state.new_activity(ATHLETE, midnight - 3 * 3600).unwrap();
    assert_eq!(
        h.run(&event_job("activity", stored, "create", serde_json::json!({}), midnight - 7200)).await,
        Outcome::Done
    );
    let late = h.fake.state.new_activity(ATHLETE, midnight - 3600).unwrap(); // its event never came
    let store = &h.consumer.store;
    let synced = store.update_profile(ATHLETE, |p| {
        p.last_sync = Some(midnight);
        true
    });
    assert!(synced.await.unwrap().is_some());
    let rollup = stravasync_rollup::Rollup::new(store.clone(), queue_of(&h.stack)).with_reconcile_every(1);
    let request = stravasync_rollup::RollupRequest { mode: stravasync_rollup::Mode::Daily, athlete_id: None };
    rollup.run(&request, midnight + 8 * 3600).await.unwrap();
    let jobs: Vec<Job> = h.stack.queue().drain().await.unwrap().iter().map(|m| Job::parse(&m.body).unwrap()).collect();
    let [Job::Reconcile { athlete_id: ATHLETE, since }] = jobs[..] else { panic!("{jobs:?}") };
    assert_eq!(since, midnight - stravasync_rollup::RECONCILE_OVERLAP_S, "72 hours before the last sync");
    h.fake.state.clear_requests();
    assert_eq!(h.run(&jobs[0]).await, Outcome::Done);
    assert!(store.get_activity(ATHLETE, late).await.unwrap().is_some(), "the late upload is found");
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), 1, "the stored one is skipped");
}

#[tokio::test]
async fn a_long_history_is_imported_through_continuations() {
    let season = Season { athletes: 1, activities_per_athlete: 45, seed: 11, end: 1_780_000_000, block_days: 0 };
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
    let season = Season { athletes: 1, activities_per_athlete: 12, seed: 5, end: 1_780_000_000, block_days: 0 };
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

/// Every item of the athlete's partition except the profile (whose sync time moves),
/// keyed by sort key, as DynamoDB stores it.
async fn items_of(h: &Harness, athlete: i64) -> std::collections::BTreeMap<String, String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let dynamo = aws_sdk_dynamodb::Client::new(&h.stack.sdk);
    let mut out = std::collections::BTreeMap::new();
    let mut start = None;
    loop {
        let page = dynamo
            .query()
            .table_name(&h.stack.names.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("ATH#{athlete}")))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let sk = match item.get("sk") {
                Some(AttributeValue::S(s)) => s.clone(),
                other => panic!("{other:?}"),
            };
            if sk != "PROFILE" && !sk.starts_with("PMC") {
                let sorted: std::collections::BTreeMap<_, _> = item.iter().collect();
                out.insert(sk, format!("{sorted:?}"));
            }
        }
        match page.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    out
}

fn refresh(athlete: i64, n: u32) -> Job {
    Job::start_backfill(athlete, Some(n), None, None, Some(1_763_700_000)).refreshing(true)
}

#[tokio::test]
async fn a_refresh_of_unchanged_activities_leaves_identical_items() {
    let h = harness("refresh-same", "read,activity:read_all").await;
    assert_eq!(h.run(&backfill(ATHLETE, None)).await, Outcome::Done);
    let before = items_of(&h, ATHLETE).await;
    assert!(before.keys().any(|k| k.starts_with("ACT#")) && before.len() > 4, "{:?}", before.keys());
    // Without the option: nothing stored is fetched again.
    h.fake.state.clear_requests();
    assert_eq!(h.run(&backfill(ATHLETE, None)).await, Outcome::Done);
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), 0);
    // With it: every stored activity's streams are fetched again, and rescored and
    // stored again; the same streams make the same items, key for key, byte for byte.
    h.fake.state.clear_requests();
    assert_eq!(h.run(&refresh(ATHLETE, 10)).await, Outcome::Done);
    let with_streams =
        h.fake.state.activity_ids(ATHLETE).iter().filter(|id| h.fake.state.activity_streams(**id).is_some()).count();
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), with_streams);
    assert_eq!(items_of(&h, ATHLETE).await, before);
    let profile = h.consumer.store.get_profile(ATHLETE).await.unwrap().unwrap();
    let progress = profile.backfill.expect("the re-sync's progress");
    assert!(progress.refresh && progress.finished_at.is_some(), "{progress:?}");
    assert_eq!(progress.done, 4);
}

#[tokio::test]
async fn a_refresh_replaces_changed_streams_and_rescores() {
    let h = harness("refresh-changed", "read,activity:read_all").await;
    assert_eq!(h.run(&backfill(ATHLETE, None)).await, Outcome::Done);
    let before = match h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap() {
        Some(ActivityState::Live(a)) => *a,
        other => panic!("{other:?}"),
    };
    let chunks_before = h.consumer.store.stream_chunk_count(ATHLETE, EDGE810).await.unwrap();
    // Strava's copy changed (a corrected power file: every sample 10 % higher).
    let mut streams = h.fake.state.activity_streams(EDGE810).unwrap();
    let watts: Vec<f64> = streams.get(NumericKey::Watts).unwrap().iter().map(|w| (w * 1.1).round()).collect();
    streams = streams.with(NumericKey::Watts, watts.clone());
    h.fake.state.insert_activity(h.fake.state.activity_json(EDGE810).unwrap(), Some(streams.clone()));
    assert_eq!(h.run(&refresh(ATHLETE, 10)).await, Outcome::Done);
    let after = match h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap() {
        Some(ActivityState::Live(a)) => *a,
        other => panic!("{other:?}"),
    };
    assert_ne!(after.streams_id, before.streams_id, "a new stream set");
    assert_eq!(after.version, before.version, "the stored versions are kept");
    // The stored streams are the new ones, the old set is gone, and the score is theirs.
    let chunks = h.consumer.store.get_stream_chunks(ATHLETE, EDGE810, after.streams_ref().unwrap()).await.unwrap();
    let stored = stravasync_core::codec::decode_chunks(&chunks).unwrap();
    assert_eq!(stored.get(NumericKey::Watts).unwrap(), &watts[..]);
    assert!(chunks_before > 0);
    assert_eq!(h.consumer.store.stream_chunk_count(ATHLETE, EDGE810).await.unwrap(), after.stream_chunks as usize);
    let thresholds = h.consumer.store.get_profile(ATHLETE).await.unwrap().unwrap().thresholds;
    let expected = stravasync_core::analysis::score_single(&after.summary, &stored, &thresholds).unwrap();
    // Scored from them (to the last bits of floating point: the consumer's path sums in
    // another order).
    let m = after.metrics.as_ref().unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    assert!(close(after.load(), expected.score.load()), "{} vs {}", after.load(), expected.score.load());
    let (got, want) = (m.peaks.watts.as_ref().unwrap(), expected.peaks.watts.as_ref().unwrap());
    assert!(got.0.iter().zip(&want.0).all(|(g, w)| close(g.unwrap(), w.unwrap())), "{got:?} vs {want:?}");
    assert_eq!(m.zones.power, expected.zones.power);
    assert!(after.load() > before.load(), "{} > {}", after.load(), before.load());
    // The PMC is marked for recompute from the activity's day.
    let dirty = h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap();
    assert!(dirty.is_some_and(|d| d <= after.local_date), "{dirty:?}");
}
