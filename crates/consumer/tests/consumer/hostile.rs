//! Extreme data and lost races, on moto and fake-strava: streams longer than the pipeline
//! scores, far-future event times, a deauthorization older than a reconnect, and a writer
//! that loses the conditional activity put after writing its stream chunks.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::*;
use serde_json::json;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_consumer::{Consumer, Outcome};
use stravasync_core::LocalDate;
use stravasync_core::codec::decode_chunks;
use stravasync_core::job::Job;
use stravasync_core::model::{
    ActivityId, ActivityState, AthleteId, AthleteProfile, PmcRow, RateWindow, StoredActivity, StreamSetRef, Tombstone,
};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{
    DirtyMark, RateBudget, Ration, RationStore, Reservation, StoreError, TokenVault, VersionedHistory, WriteOutcome,
};
use stravasync_core::streams::{MAX_RESAMPLED_S, NumericKey, StreamSet};
use stravasync_core::thresholds::ThresholdHistory;

const T: i64 = 1_763_755_200;

async fn live(store: &impl ActivityStore, id: i64) -> StoredActivity {
    match store.get_activity(ATHLETE, id).await.unwrap() {
        Some(ActivityState::Live(a)) => *a,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn streams_longer_than_the_cap_are_stored_unscored_with_the_reason_and_not_retried() {
    let h = harness("over-cap", "read,activity:read_all").await;
    let id = 1_i64 << 41;
    // 100,000 samples 90 s apart: 9 M seconds once gaps are filled, far over 48 h; filling
    // them would take hundreds of megabytes, so the cap is checked first.
    let n: u32 = 100_000;
    let streams = StreamSet::default()
        .with(NumericKey::Time, (0..n).map(|i| f64::from(i) * 90.0).collect())
        .with(NumericKey::Watts, vec![210.0; n as usize]);
    h.fake.state.insert_activity(
        json!({"id": id, "athlete": {"id": ATHLETE}, "type": "Ride", "sport_type": "Ride",
               "start_date": "2025-01-02T08:00:00Z", "start_date_local": "2025-01-02T09:00:00Z"}),
        Some(streams.clone()),
    );
    assert_eq!(h.run(&event_job("activity", id, "create", json!({}), T)).await, Outcome::Done);
    let a = live(&h.consumer.store, id).await;
    assert_eq!(a.metrics, None);
    let reason = a.unscored_reason.clone().unwrap();
    assert!(reason.contains(&format!("more than the {MAX_RESAMPLED_S} s")), "{reason}");
    assert!(!a.pending_streams, "not retried");
    // The streams themselves are within the sample cap and kept.
    let chunks = h.consumer.store.get_stream_chunks(ATHLETE, id, a.streams_ref().unwrap()).await.unwrap();
    assert_eq!(decode_chunks(&chunks).unwrap(), streams);
    assert_eq!(h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap(), Some(a.local_date), "0 load, still a day");
}

#[tokio::test]
async fn an_event_from_the_far_future_is_poison_and_does_not_block_later_events() {
    let h = harness("future", "read,activity:read_all").await;
    let far = h.consumer.now() + 2 * 86_400;
    match h.run(&event_job("activity", EDGE810, "update", json!({"title": "x"}), far)).await {
        Outcome::Poison { reason } => assert!(reason.contains("future"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), None, "nothing stored");
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    // A day ahead is still accepted (clock skew).
    let near = h.consumer.now() + 86_000;
    assert_eq!(h.run(&event_job("activity", EDGE810, "update", json!({"title": "y"}), near)).await, Outcome::Done);
    assert_eq!(live(&h.consumer.store, EDGE810).await.summary.name.as_deref(), Some("y"));
}

#[tokio::test]
async fn a_deauthorization_older_than_the_latest_connection_deletes_nothing() {
    let h = harness("deauth-race", "read,activity:read_all").await;
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    // The athlete revoked at T + 100, then connected again at T + 200 (new tokens carry
    // the connection time); the deauthorization event is processed only now.
    let mut tokens = h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    tokens.connected_at = T + 200;
    h.consumer.vault.put_tokens(&tokens).await.unwrap();
    let deauth = |time| event_job("athlete", ATHLETE, "update", json!({"authorized": "false"}), time);
    assert_eq!(h.run(&deauth(T + 100)).await, Outcome::Done);
    assert_eq!(h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap(), Some(tokens.clone()), "fresh tokens kept");
    assert!(h.consumer.store.get_profile(ATHLETE).await.unwrap().is_some(), "profile kept");
    assert!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap().is_some());
    // A deauthorization after the reconnect deletes everything.
    assert_eq!(h.run(&deauth(T + 300)).await, Outcome::Done);
    assert_eq!(h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap(), None);
    assert_eq!(h.consumer.store.get_profile(ATHLETE).await.unwrap(), None);
}

/// The DynamoDB store, except that while armed, reads of an activity answer "not stored":
/// the read a writer made before another writer's newer version landed. With
/// `deauthorize_before_put`, the athlete is deauthorized (tokens, then every item, as the
/// events lane does) just before the next activity write: a background import racing a
/// deauthorization.
struct StaleReads {
    inner: DynamoStore,
    armed: AtomicBool,
    deauthorize_before_put: std::sync::Mutex<Option<stravasync_aws::vault::Vault>>,
}

impl StaleReads {
    fn new(inner: DynamoStore) -> Self {
        StaleReads { inner, armed: AtomicBool::new(true), deauthorize_before_put: Default::default() }
    }

    /// The deauthorization, once, if armed: tokens, then every item.
    async fn deauthorize_now(&self, athlete: AthleteId) -> Result<(), StoreError> {
        let deauthorize = self.deauthorize_before_put.lock().unwrap().take();
        if let Some(vault) = deauthorize {
            vault.delete_tokens(athlete).await.unwrap();
            self.inner.delete_athlete(athlete).await?;
        }
        Ok(())
    }
}

impl ProfileStore for StaleReads {
    async fn get_profile(&self, a: AthleteId) -> Result<Option<AthleteProfile>, StoreError> {
        self.inner.get_profile(a).await
    }

    async fn put_profile(&self, p: &AthleteProfile) -> Result<(), StoreError> {
        self.inner.put_profile(p).await
    }

    async fn update_profile<F>(&self, a: AthleteId, change: F) -> Result<Option<AthleteProfile>, StoreError>
    where
        F: FnMut(&mut AthleteProfile) -> bool + Send,
    {
        self.inner.update_profile(a, change).await
    }

    async fn threshold_history(&self, a: AthleteId) -> Result<Option<VersionedHistory>, StoreError> {
        self.inner.threshold_history(a).await
    }

    async fn put_threshold_history(
        &self,
        a: AthleteId,
        h: &ThresholdHistory,
        expected: u64,
    ) -> Result<bool, StoreError> {
        self.inner.put_threshold_history(a, h, expected).await
    }
}

impl ReadStore for StaleReads {
    async fn get_activity(&self, a: AthleteId, id: ActivityId) -> Result<Option<ActivityState>, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            return Ok(None);
        }
        self.inner.get_activity(a, id).await
    }

    async fn get_stream_chunks(
        &self,
        a: AthleteId,
        id: ActivityId,
        set: StreamSetRef<'_>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.get_stream_chunks(a, id, set).await
    }

    async fn pmc_rows(&self, a: AthleteId, from: LocalDate, to: LocalDate) -> Result<Vec<PmcRow>, StoreError> {
        self.inner.pmc_rows(a, from, to).await
    }

    async fn activities_page(
        &self,
        a: AthleteId,
        before: Option<stravasync_core::ports::ActivityCursor>,
        limit: usize,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        self.inner.activities_page(a, before, limit).await
    }

    async fn activity_counts(&self, a: AthleteId) -> Result<stravasync_core::ports::ActivityCounts, StoreError> {
        self.inner.activity_counts(a).await
    }

    async fn first_activity_date(&self, a: AthleteId) -> Result<Option<LocalDate>, StoreError> {
        self.inner.first_activity_date(a).await
    }

    async fn pmc_dirty_mark(&self, a: AthleteId) -> Result<Option<DirtyMark>, StoreError> {
        self.inner.pmc_dirty_mark(a).await
    }
}

impl WriteStore for StaleReads {
    async fn put_activity(&self, x: &StoredActivity) -> Result<WriteOutcome, StoreError> {
        self.deauthorize_now(x.athlete_id).await?;
        self.inner.put_activity(x).await
    }

    async fn put_tombstone(&self, t: Tombstone) -> Result<WriteOutcome, StoreError> {
        self.deauthorize_now(t.athlete_id).await?;
        self.inner.put_tombstone(t).await
    }

    async fn put_stream_chunks(
        &self,
        a: AthleteId,
        id: ActivityId,
        set: &str,
        c: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        self.inner.put_stream_chunks(a, id, set, c).await
    }

    async fn delete_stream_chunks(
        &self,
        a: AthleteId,
        id: ActivityId,
        keep: Option<StreamSetRef<'_>>,
    ) -> Result<usize, StoreError> {
        self.inner.delete_stream_chunks(a, id, keep).await
    }

    async fn stream_chunk_count(&self, a: AthleteId, id: ActivityId) -> Result<usize, StoreError> {
        self.inner.stream_chunk_count(a, id).await
    }

    async fn activities_between(
        &self,
        a: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        self.inner.activities_between(a, from, to).await
    }

    async fn mark_pmc_dirty(&self, a: AthleteId, from: LocalDate) -> Result<(), StoreError> {
        self.inner.mark_pmc_dirty(a, from).await
    }
}

impl RationStore for StaleReads {
    async fn take_export(&self, a: AthleteId, now: i64, every_s: i64) -> Result<Ration, StoreError> {
        self.inner.take_export(a, now, every_s).await
    }

    async fn take_backfill(
        &self,
        a: AthleteId,
        wanted: Option<u32>,
        limit: u32,
        now: i64,
    ) -> Result<Ration, StoreError> {
        self.inner.take_backfill(a, wanted, limit, now).await
    }

    async fn take_threshold_change(&self, a: AthleteId, limit: u32, now: i64) -> Result<Ration, StoreError> {
        self.inner.take_threshold_change(a, limit, now).await
    }

    async fn take_import(&self, a: AthleteId, kib: u32, now: i64) -> Result<Ration, StoreError> {
        self.inner.take_import(a, kib, now).await
    }

    async fn backfill_remaining(&self, a: AthleteId, limit: u32, now: i64) -> Result<u32, StoreError> {
        self.inner.backfill_remaining(a, limit, now).await
    }

    async fn refund_backfill(&self, a: AthleteId, day: LocalDate, activities: u32) -> Result<(), StoreError> {
        self.inner.refund_backfill(a, day, activities).await
    }
}

impl stravasync_core::ports::ImportStore for StaleReads {
    async fn put_import_line(
        &self,
        a: AthleteId,
        import_id: &str,
        seq: u32,
        line: &stravasync_core::model::ImportLine,
        now: i64,
    ) -> Result<(), StoreError> {
        self.inner.put_import_line(a, import_id, seq, line, now).await
    }

    async fn import_lines(
        &self,
        a: AthleteId,
        import_id: &str,
    ) -> Result<Vec<(u32, stravasync_core::model::ImportLine)>, StoreError> {
        self.inner.import_lines(a, import_id).await
    }
}

impl RollupStore for StaleReads {
    async fn put_pmc_rows(&self, a: AthleteId, rows: &[PmcRow]) -> Result<(), StoreError> {
        self.inner.put_pmc_rows(a, rows).await
    }

    async fn daily_loads(
        &self,
        a: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<(LocalDate, f64)>, StoreError> {
        self.inner.daily_loads(a, from, to).await
    }

    async fn athletes(&self) -> Result<Vec<AthleteId>, StoreError> {
        self.inner.athletes().await
    }

    async fn dirty_athletes(&self) -> Result<Vec<(AthleteId, DirtyMark)>, StoreError> {
        self.inner.dirty_athletes().await
    }

    async fn clear_pmc_dirty(&self, a: AthleteId, mark: DirtyMark) -> Result<bool, StoreError> {
        self.inner.clear_pmc_dirty(a, mark).await
    }
}

impl EraseStore for StaleReads {
    async fn delete_athlete(&self, a: AthleteId) -> Result<usize, StoreError> {
        self.inner.delete_athlete(a).await
    }

    async fn athlete_has_items(&self, a: AthleteId) -> Result<bool, StoreError> {
        self.inner.athlete_has_items(a).await
    }
}

impl RateBudget for StaleReads {
    async fn reserve(&self, w: RateWindow, n: u32, limit: u32) -> Result<Reservation, StoreError> {
        self.inner.reserve(w, n, limit).await
    }
    async fn hold_for_events(&self, w: RateWindow) -> Result<(), StoreError> {
        self.inner.hold_for_events(w).await
    }
    async fn used(&self, w: RateWindow) -> Result<u32, StoreError> {
        self.inner.used(w).await
    }
    async fn reserve_background(&self, w: RateWindow, n: u32, limit: u32) -> Result<Reservation, StoreError> {
        self.inner.reserve_background(w, n, limit).await
    }
    async fn record_usage(&self, w: RateWindow, observed: u32) -> Result<(), StoreError> {
        self.inner.record_usage(w, observed).await
    }
}

#[tokio::test]
async fn a_writer_that_loses_the_put_cannot_touch_the_stored_streams_and_leaves_no_orphans() {
    let h = harness("chunk-race", "read,activity:read_all").await;
    // The newer version is stored, with the streams Strava had then.
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T + 100)).await, Outcome::Done);
    let newer = live(&h.consumer.store, EDGE810).await;
    let newer_streams = h.fake.state.activity_streams(EDGE810).unwrap();
    // Strava's streams change (a crop, a re-upload); an older event's writer had read
    // "not stored" before the newer version landed, and fetches the changed streams.
    let json = h.fake.state.activity_json(EDGE810).unwrap();
    let other = h.fake.state.activity_streams(FENIX2).unwrap();
    h.fake.state.insert_activity(json, Some(other));
    let stale = Consumer::new(
        h.consumer.policy.clone(),
        strava_client(&h.fake),
        StaleReads::new(h.stack.store()),
        h.stack.vault(),
        queue_of(&h.stack),
    );
    assert_eq!(
        stale.process(&record(&event_job("activity", EDGE810, "create", json!({}), T), "m", 1)).await,
        Outcome::Done
    );
    // The stored activity and the streams it points at are the newer version's, intact;
    // the loser's chunks are gone.
    let after = live(&h.consumer.store, EDGE810).await;
    assert_eq!(after, newer);
    let chunks = h.consumer.store.get_stream_chunks(ATHLETE, EDGE810, after.streams_ref().unwrap()).await.unwrap();
    assert_eq!(decode_chunks(&chunks).unwrap(), newer_streams);
    assert_eq!(h.consumer.store.stream_chunk_count(ATHLETE, EDGE810).await.unwrap(), newer.stream_chunks as usize);

    // A newer refetch replaces the set, and the old set's chunks are removed with it.
    assert_eq!(
        h.run(&event_job("activity", EDGE810, "update", json!({"description": "x"}), T + 200)).await,
        Outcome::Done
    );
    let refetched = live(&h.consumer.store, EDGE810).await;
    assert_ne!(refetched.streams_id, newer.streams_id);
    assert_eq!(h.consumer.store.stream_chunk_count(ATHLETE, EDGE810).await.unwrap(), refetched.stream_chunks as usize);
}

/// The lanes run one athlete's events and history concurrently (docs/design.md §5, lanes):
/// a backfill that found an activity missing before the events lane stored it (and an
/// edit on top) imports it at version 0 and loses the conditional write; nothing of the
/// event's result changes, and the backfill's chunks are not left behind.
#[tokio::test]
async fn a_backfill_that_read_before_an_event_cannot_overwrite_it() {
    let h = harness("lane-race", "read,activity:read_all").await;
    let newest = *h.fake.state.activity_ids(ATHLETE).last().unwrap();
    assert_eq!(h.run(&event_job("activity", newest, "create", json!({}), T + 100)).await, Outcome::Done);
    let title = json!({"title": "Edited in the events lane"});
    assert_eq!(h.run(&event_job("activity", newest, "update", title, T + 200)).await, Outcome::Done);
    let before = live(&h.consumer.store, newest).await;
    assert_eq!(before.summary.name.as_deref(), Some("Edited in the events lane"));

    let background = Consumer::new(
        h.consumer.policy.clone(),
        strava_client(&h.fake),
        StaleReads::new(h.stack.store()),
        h.stack.token_vault(),
        queue_of(&h.stack),
    );
    let import = Job::start_backfill(ATHLETE, Some(1), None, None, None);
    assert_eq!(background.process(&record(&import, "b", 1)).await, Outcome::Done);
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), 2, "it did fetch and try");
    let after = live(&h.consumer.store, newest).await;
    assert_eq!(after, before, "the event's result and its edit are kept");
    assert_eq!(h.consumer.store.stream_chunk_count(ATHLETE, newest).await.unwrap(), before.stream_chunks as usize);
}

/// A consumer whose next activity or tombstone write is preceded by the athlete's
/// deauthorization (as by another container).
fn racing_a_deauthorization(
    h: &Harness,
) -> Consumer<StaleReads, stravasync_aws::vault::Vault, stravasync_aws::sqs::SqsQueue> {
    let store = StaleReads::new(h.stack.store());
    store.armed.store(false, Ordering::SeqCst);
    *store.deauthorize_before_put.lock().unwrap() = Some(h.stack.token_vault());
    Consumer::new(h.consumer.policy.clone(), strava_client(&h.fake), store, h.stack.token_vault(), queue_of(&h.stack))
}

/// A deauthorization lands (its own message group, so it runs beside the athlete's events)
/// while an event is between its decision and its write: a create, a local edit and a
/// delete each find the athlete gone and delete what they wrote.
#[tokio::test]
async fn an_event_racing_a_deauthorization_leaves_nothing() {
    for aspect in ["create", "update", "delete"] {
        let h = harness(&format!("event-deauth-{aspect}"), "read,activity:read_all").await;
        if aspect != "create" {
            assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
        }
        let events = racing_a_deauthorization(&h);
        let updates = if aspect == "update" { json!({"title": "renamed"}) } else { json!({}) };
        let event = event_job("activity", EDGE810, aspect, updates, T + 10);
        assert_eq!(events.process(&record(&event, "e", 1)).await, Outcome::Done, "{aspect}");
        assert!(events.store.deauthorize_before_put.lock().unwrap().is_none(), "{aspect}: the race happened");
        assert_eq!(h.consumer.store.get_profile(ATHLETE).await.unwrap(), None, "{aspect}");
        assert_eq!(h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap(), None, "{aspect}");
        assert_eq!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), None, "{aspect}: nor a tombstone");
        assert_eq!(h.consumer.store.stream_chunk_count(ATHLETE, EDGE810).await.unwrap(), 0, "{aspect}");
        assert_eq!(h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap(), None, "{aspect}");
        assert!(h.consumer.store.athletes().await.unwrap().is_empty(), "{aspect}");
    }
}

/// What a write left when it raced a deauthorization and crashed before its check: the next
/// event on that activity finds the athlete not connected and sweeps it.
#[tokio::test]
async fn an_activity_left_for_a_disconnected_athlete_is_swept_by_its_next_event() {
    let h = harness("orphan", "read,activity:read_all").await;
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    let orphan = live(&h.consumer.store, EDGE810).await;
    h.consumer.vault.delete_tokens(ATHLETE).await.unwrap();
    h.consumer.store.delete_athlete(ATHLETE).await.unwrap();
    assert_eq!(h.consumer.store.put_activity(&orphan).await.unwrap(), WriteOutcome::Written);
    let calls = h.api_calls();
    let edit = event_job("activity", EDGE810, "update", json!({"title": "late"}), T + 10);
    assert_eq!(h.run(&edit).await, Outcome::Done);
    assert_eq!(h.api_calls(), calls);
    assert_eq!(h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap(), None);
}

/// A deauthorization (events lane) that lands while a background import is between its
/// decision and its write: the import finds the athlete gone and deletes what it wrote,
/// so nothing of the athlete is left, and the backfill stops.
#[tokio::test]
async fn a_background_import_racing_a_deauthorization_leaves_nothing() {
    let h = harness("lane-deauth", "read,activity:read_all").await;
    let background = racing_a_deauthorization(&h);
    let import = Job::start_backfill(ATHLETE, Some(3), None, None, Some(T));
    assert_eq!(background.process(&record(&import, "b", 1)).await, Outcome::Done);
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), 1, "stopped after the first import");
    assert_eq!(h.consumer.store.get_profile(ATHLETE).await.unwrap(), None);
    assert_eq!(h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap(), None);
    for id in h.fake.state.activity_ids(ATHLETE) {
        assert_eq!(h.consumer.store.get_activity(ATHLETE, id).await.unwrap(), None, "{id}");
        assert_eq!(h.consumer.store.stream_chunk_count(ATHLETE, id).await.unwrap(), 0, "{id}");
    }
    assert_eq!(h.consumer.store.pmc_dirty_from(ATHLETE).await.unwrap(), None);
}
