//! [`MemoryStore`]: the table's rules in memory (conditional versions, chunk replacement,
//! conditional profile updates, rations kept with the profile).
//!
//! [`MemoryStore::metered`] also counts the DynamoDB capacity units the same calls would
//! use on the table of `template.yaml` ([`Units`]): item sizes from the stored JSON, a
//! strongly consistent read per 4 KB, a write per 1 KB, index copies written alongside.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use stravasync_core::date::LocalDate;
use stravasync_core::model::RateWindow;
use stravasync_core::model::{
    ActivityId, ActivityState, AthleteId, AthleteProfile, PmcRow, StoredActivity, StreamSetRef, Tombstone,
};
use stravasync_core::ports::{
    ActivityCounts, ActivityCursor, DirtyMark, EraseStore, ProfileStore, QueryMeter, RateBudget, Ration, RationStore,
    ReadStore, Reservation, RollupStore, StoreError, VersionedHistory, WriteOutcome, WriteStore, by_date_order,
};
use stravasync_core::ration::{
    BackfillAllowance, BackfillGrant, backfill_grant, backfill_refund, backfill_remaining, export_wait,
};
use stravasync_core::thresholds::ThresholdHistory;

use crate::budget::MemoryRateBudget;

#[derive(Default)]
struct StoreData {
    profiles: HashMap<AthleteId, AthleteProfile>,
    activities: BTreeMap<(AthleteId, ActivityId), ActivityState>,
    chunks: BTreeMap<(AthleteId, ActivityId, Option<String>), Vec<Vec<u8>>>,
    pmc: BTreeMap<(AthleteId, LocalDate), PmcRow>,
    dirty: BTreeMap<AthleteId, DirtyMark>,
    /// The rations kept with each profile (attributes of the profile item in DynamoDB).
    rations: HashMap<AthleteId, StoredRations>,
    thresholds: HashMap<AthleteId, VersionedHistory>,
    imports: HashMap<(AthleteId, String), std::collections::BTreeMap<u32, stravasync_core::model::ImportLine>>,
}

#[derive(Default, Clone, Copy)]
struct StoredRations {
    export_at: Option<i64>,
    backfill: BackfillAllowance,
    threshold_changes: BackfillAllowance,
    import_files: BackfillAllowance,
    import_kib: BackfillAllowance,
}

#[derive(Default, Clone)]
pub struct MemoryStore {
    data: Arc<Mutex<StoreData>>,
    budget: MemoryRateBudget,
    meter: Option<Arc<Meter>>,
    /// Half read units of the queries so far, counted as `DynamoStore` counts them
    /// ([`QueryMeter`]): half a unit per started 4 KB of each query's answer.
    query_half_units: Arc<AtomicU64>,
}

/// DynamoDB capacity units (on demand: request units), read and write.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

/// Counts in hundredths of a unit (an eventually consistent read of a small item is half).
#[derive(Default)]
struct Meter {
    read: AtomicU64,
    write: AtomicU64,
}

/// Bytes a stored item adds besides its JSON (keys, schema, version, index attributes).
const ITEM_OVERHEAD: usize = 120;

fn json_len<T: serde::Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len()) + ITEM_OVERHEAD
}

impl MemoryStore {
    fn with<R>(&self, f: impl FnOnce(&mut StoreData) -> R) -> R {
        f(&mut self.data.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A store that also counts capacity units ([`MemoryStore::units`]).
    pub fn metered() -> Self {
        MemoryStore { meter: Some(Arc::default()), ..Default::default() }
    }

    /// Units used so far (zero unless [`MemoryStore::metered`]).
    pub fn units(&self) -> Units {
        self.meter.as_ref().map_or(Units::default(), |m| Units {
            read: m.read.load(Ordering::Relaxed) as f64 / 100.0,
            write: m.write.load(Ordering::Relaxed) as f64 / 100.0,
        })
    }

    /// A strongly consistent read of `bytes` (GetItem, or a Query of the table).
    fn read(&self, bytes: usize) {
        self.count(|m| &m.read, 100 * bytes.div_ceil(4096).max(1) as u64);
    }

    /// An eventually consistent read of `bytes` (a Query of an index).
    fn index_read(&self, bytes: usize) {
        self.count(|m| &m.read, 50 * bytes.div_ceil(4096).max(1) as u64);
    }

    /// A write of an item of `bytes`, `copies` times (the table and each index holding it).
    fn write(&self, bytes: usize, copies: u64) {
        self.count(|m| &m.write, 100 * copies * bytes.div_ceil(1024).max(1) as u64);
    }

    fn count(&self, counter: impl Fn(&Meter) -> &AtomicU64, hundredths: u64) {
        if let Some(m) = &self.meter {
            counter(m).fetch_add(hundredths, Ordering::Relaxed);
        }
    }

    fn metering(&self) -> bool {
        self.meter.is_some()
    }

    /// A query answering `bytes` of items (one page), for [`QueryMeter`].
    fn queried(&self, bytes: usize) {
        self.query_half_units.fetch_add(bytes.div_ceil(4096).max(1) as u64, Ordering::Relaxed);
    }
}

impl QueryMeter for MemoryStore {
    fn query_read_units(&self) -> f64 {
        self.query_half_units.load(Ordering::Relaxed) as f64 / 2.0
    }
}

/// The version rule shared by both writes: `incoming_is_delete` wins ties.
fn version_allows(stored: Option<&ActivityState>, incoming: i64, incoming_is_delete: bool) -> WriteOutcome {
    match stored {
        None => WriteOutcome::Written,
        Some(s) if s.version() < incoming => WriteOutcome::Written,
        Some(s) if s.version() == incoming && (incoming_is_delete || matches!(s, ActivityState::Live(_))) => {
            WriteOutcome::Written
        }
        Some(s) => WriteOutcome::Stale { stored_version: s.version() },
    }
}

impl ProfileStore for MemoryStore {
    async fn get_profile(&self, athlete: AthleteId) -> Result<Option<AthleteProfile>, StoreError> {
        let p = self.with(|d| d.profiles.get(&athlete).cloned());
        if self.metering() {
            self.read(p.as_ref().map_or(0, json_len));
        }
        Ok(p)
    }

    async fn put_profile(&self, profile: &AthleteProfile) -> Result<(), StoreError> {
        if self.metering() {
            self.write(json_len(profile), 2); // and the `listing` index
        }
        self.with(|d| d.profiles.insert(profile.athlete_id, profile.clone()));
        Ok(())
    }

    async fn update_profile<F>(&self, athlete: AthleteId, mut change: F) -> Result<Option<AthleteProfile>, StoreError>
    where
        F: FnMut(&mut AthleteProfile) -> bool + Send,
    {
        let (p, changed) = self.with(|d| match d.profiles.get_mut(&athlete) {
            Some(p) => {
                let changed = change(p);
                (Some(p.clone()), changed)
            }
            None => (None, false),
        });
        if self.metering() {
            let bytes = p.as_ref().map_or(0, json_len);
            self.read(bytes);
            if changed {
                self.write(bytes, 1);
            }
        }
        Ok(p)
    }

    async fn threshold_history(&self, athlete: AthleteId) -> Result<Option<VersionedHistory>, StoreError> {
        let h = self.with(|d| d.thresholds.get(&athlete).cloned());
        if self.metering() {
            self.read(h.as_ref().map_or(0, |h| json_len(&h.history)));
        }
        Ok(h)
    }

    async fn put_threshold_history(
        &self,
        athlete: AthleteId,
        history: &ThresholdHistory,
        expected: u64,
    ) -> Result<bool, StoreError> {
        if self.metering() {
            // As DynamoDB does it: the profile's read, then the conditional put.
            let profile = self.with(|d| d.profiles.get(&athlete).map_or(0, json_len));
            self.read(profile);
            self.write(json_len(history), 1);
        }
        Ok(self.with(|d| {
            let stored = d.thresholds.get(&athlete).map_or(0, |h| h.version);
            let written = stored == expected && d.profiles.contains_key(&athlete);
            if written {
                d.thresholds.insert(athlete, VersionedHistory { history: history.clone(), version: expected + 1 });
            }
            written
        }))
    }
}

impl ReadStore for MemoryStore {
    async fn get_activity(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
    ) -> Result<Option<ActivityState>, StoreError> {
        let a = self.with(|d| d.activities.get(&(athlete, activity)).cloned());
        if self.metering() {
            let bytes = match &a {
                Some(ActivityState::Live(a)) => json_len(a),
                Some(ActivityState::Deleted(t)) => json_len(t),
                None => 0,
            };
            self.read(bytes);
        }
        Ok(a)
    }

    async fn get_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        set: StreamSetRef<'_>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let key = (athlete, activity, set_key(Some(set)).flatten());
        let chunks = self.with(|d| d.chunks.get(&key).cloned().unwrap_or_default());
        let bytes = chunks.iter().map(|c| c.len() + ITEM_OVERHEAD).sum();
        self.read(bytes);
        self.queried(bytes);
        Ok(chunks)
    }

    async fn pmc_rows(&self, athlete: AthleteId, from: LocalDate, to: LocalDate) -> Result<Vec<PmcRow>, StoreError> {
        let rows: Vec<PmcRow> = self.with(|d| d.pmc.range((athlete, from)..=(athlete, to)).map(|(_, r)| *r).collect());
        self.read(rows.len() * ITEM_OVERHEAD);
        self.queried(rows.len() * ITEM_OVERHEAD);
        Ok(rows)
    }

    async fn activities_page(
        &self,
        athlete: AthleteId,
        before: Option<ActivityCursor>,
        limit: usize,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        Ok(self.with(|d| {
            // Sorted by reference in the index's order, only the page cloned.
            let mut out: Vec<&StoredActivity> = d
                .activities
                .range((athlete, ActivityId::MIN)..=(athlete, ActivityId::MAX))
                .filter_map(|(_, s)| match s {
                    ActivityState::Live(a) => Some(&**a),
                    _ => None,
                })
                .filter(|a| before.is_none_or(|c| c.precedes(a)))
                .collect();
            out.sort_unstable_by(|a, b| by_date_order(b, a));
            let page: Vec<StoredActivity> = out.into_iter().take(limit).cloned().collect();
            self.queried(page.iter().map(json_len).sum());
            page
        }))
    }

    async fn first_activity_date(&self, athlete: AthleteId) -> Result<Option<LocalDate>, StoreError> {
        let first = self.with(|d| {
            d.activities
                .range((athlete, ActivityId::MIN)..=(athlete, ActivityId::MAX))
                .filter_map(|(_, s)| match s {
                    ActivityState::Live(a) => Some(a.local_date),
                    _ => None,
                })
                .min()
        });
        self.queried(60);
        Ok(first)
    }

    async fn pmc_dirty_mark(&self, athlete: AthleteId) -> Result<Option<DirtyMark>, StoreError> {
        Ok(self.with(|d| d.dirty.get(&athlete).copied()))
    }

    async fn activity_counts(&self, athlete: AthleteId) -> Result<ActivityCounts, StoreError> {
        Ok(self.with(|d| {
            let live = d.activities.range((athlete, ActivityId::MIN)..=(athlete, ActivityId::MAX)).filter_map(
                |(_, s)| match s {
                    ActivityState::Live(a) => Some(a),
                    _ => None,
                },
            );
            let counts = live.fold(ActivityCounts::default(), |c, a| ActivityCounts {
                stored: c.stored + 1,
                pending_streams: c.pending_streams + usize::from(a.pending_streams),
            });
            self.queried(counts.stored * 60);
            counts
        }))
    }
}

impl WriteStore for MemoryStore {
    async fn put_activity(&self, a: &StoredActivity) -> Result<WriteOutcome, StoreError> {
        if self.metering() {
            // The table and the `by_date` index hold the item; `loads` its key and load.
            self.write(json_len(a), 2);
            self.write(ITEM_OVERHEAD, 1);
        }
        Ok(self.with(|d| {
            let key = (a.athlete_id, a.activity_id);
            let outcome = version_allows(d.activities.get(&key), a.version, false);
            if outcome == WriteOutcome::Written {
                d.activities.insert(key, ActivityState::Live(Box::new(a.clone())));
            }
            outcome
        }))
    }

    async fn put_tombstone(&self, t: Tombstone) -> Result<WriteOutcome, StoreError> {
        if self.metering() {
            self.write(json_len(&t), 3); // and its removal from both indexes
        }
        Ok(self.with(|d| {
            let key = (t.athlete_id, t.activity_id);
            let outcome = version_allows(d.activities.get(&key), t.version, true);
            if outcome == WriteOutcome::Written {
                d.activities.insert(key, ActivityState::Deleted(t));
            }
            outcome
        }))
    }

    async fn put_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        set_id: &str,
        chunks: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        for c in chunks {
            self.write(c.len() + ITEM_OVERHEAD, 1);
        }
        self.with(|d| d.chunks.insert((athlete, activity, Some(set_id.to_string())), chunks.to_vec()));
        Ok(())
    }

    async fn delete_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        keep: Option<StreamSetRef<'_>>,
    ) -> Result<usize, StoreError> {
        let keep = set_key(keep);
        let deleted = self.with(|d| {
            let doomed: Vec<_> = d
                .chunks
                .range(chunk_range(athlete, activity))
                .filter(|((_, _, set), _)| keep.as_ref() != Some(set))
                .map(|(k, _)| k.clone())
                .collect();
            doomed.iter().filter_map(|k| d.chunks.remove(k)).map(|c| c.len()).sum::<usize>()
        });
        self.read(0); // the keys-only query
        self.queried(0);
        self.write(ITEM_OVERHEAD, deleted as u64);
        Ok(deleted)
    }

    async fn stream_chunk_count(&self, athlete: AthleteId, activity: ActivityId) -> Result<usize, StoreError> {
        Ok(self.with(|d| d.chunks.range(chunk_range(athlete, activity)).map(|(_, c)| c.len()).sum()))
    }

    async fn activities_between(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        Ok(self.with(|d| {
            let mut out: Vec<StoredActivity> = d
                .activities
                .range((athlete, ActivityId::MIN)..=(athlete, ActivityId::MAX))
                .filter_map(|(_, s)| match s {
                    ActivityState::Live(a) if (from..=to).contains(&a.local_date) => Some((**a).clone()),
                    _ => None,
                })
                .collect();
            out.sort_by_key(|a| (a.local_date, a.activity_id));
            self.queried(out.iter().map(json_len).sum());
            out
        }))
    }

    async fn mark_pmc_dirty(&self, athlete: AthleteId, from: LocalDate) -> Result<(), StoreError> {
        self.write(ITEM_OVERHEAD, 2); // the profile's marker and the `listing` index
        self.with(|d| {
            let e = d.dirty.entry(athlete).or_insert(DirtyMark { from, seq: 0 });
            (e.from, e.seq) = (e.from.min(from), e.seq + 1);
        });
        Ok(())
    }
}

impl RollupStore for MemoryStore {
    async fn put_pmc_rows(&self, athlete: AthleteId, rows: &[PmcRow]) -> Result<(), StoreError> {
        self.write(ITEM_OVERHEAD, rows.len() as u64);
        self.with(|d| {
            for r in rows {
                d.pmc.insert((athlete, r.date), *r);
            }
        });
        Ok(())
    }

    async fn daily_loads(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<(LocalDate, f64)>, StoreError> {
        Ok(self.with(|d| {
            let mut out: Vec<(LocalDate, f64)> = d
                .activities
                .range((athlete, ActivityId::MIN)..=(athlete, ActivityId::MAX))
                .filter_map(|(_, s)| match s {
                    ActivityState::Live(a) if (from..=to).contains(&a.local_date) => Some((a.local_date, a.load())),
                    _ => None,
                })
                .collect();
            out.sort_by_key(|(date, _)| *date);
            self.index_read(out.len() * 60);
            out
        }))
    }

    async fn athletes(&self) -> Result<Vec<AthleteId>, StoreError> {
        Ok(self.with(|d| {
            let mut v: Vec<AthleteId> = d.profiles.keys().copied().collect();
            v.sort();
            self.index_read(v.len() * 60);
            self.queried(v.len() * 60);
            v
        }))
    }

    async fn dirty_athletes(&self) -> Result<Vec<(AthleteId, DirtyMark)>, StoreError> {
        let dirty: Vec<_> = self.with(|d| d.dirty.iter().map(|(a, f)| (*a, *f)).collect());
        self.index_read(dirty.len() * 60);
        self.queried(dirty.len() * 60);
        Ok(dirty)
    }

    async fn clear_pmc_dirty(&self, athlete: AthleteId, mark: DirtyMark) -> Result<bool, StoreError> {
        self.write(ITEM_OVERHEAD, 2);
        Ok(self.with(|d| {
            if d.dirty.get(&athlete) == Some(&mark) {
                d.dirty.remove(&athlete);
                true
            } else {
                false
            }
        }))
    }
}

impl EraseStore for MemoryStore {
    async fn delete_athlete(&self, athlete: AthleteId) -> Result<usize, StoreError> {
        Ok(self.with(|d| {
            let mut n = usize::from(d.profiles.remove(&athlete).is_some());
            d.rations.remove(&athlete);
            n += usize::from(d.dirty.remove(&athlete).is_some());
            n += usize::from(d.thresholds.remove(&athlete).is_some());
            let before = d.imports.len();
            d.imports.retain(|(a, _), _| *a != athlete);
            n += before - d.imports.len();
            let before = d.activities.len() + d.pmc.len();
            d.activities.retain(|(a, _), _| *a != athlete);
            d.pmc.retain(|(a, _), _| *a != athlete);
            n += before - d.activities.len() - d.pmc.len();
            let chunk_keys: Vec<_> = d.chunks.keys().filter(|(a, _, _)| *a == athlete).cloned().collect();
            for k in chunk_keys {
                n += d.chunks.remove(&k).map_or(0, |c| c.len());
            }
            n
        }))
    }

    async fn athlete_has_items(&self, athlete: AthleteId) -> Result<bool, StoreError> {
        Ok(self.with(|d| {
            d.profiles.contains_key(&athlete)
                || d.dirty.contains_key(&athlete)
                || d.thresholds.contains_key(&athlete)
                || d.activities.keys().any(|(a, _)| *a == athlete)
                || d.pmc.keys().any(|(a, _)| *a == athlete)
                || d.chunks.keys().any(|(a, _, _)| *a == athlete)
        }))
    }
}

impl MemoryStore {
    /// The athlete's stored rations, changed by `take` when they have a profile.
    fn ration<F>(&self, athlete: AthleteId, take: F) -> Ration
    where
        F: FnOnce(&mut StoredRations) -> Ration,
    {
        self.with(|d| {
            if !d.profiles.contains_key(&athlete) {
                return Ration::NotConnected;
            }
            take(d.rations.entry(athlete).or_default())
        })
    }
}

impl stravasync_core::ports::ImportStore for MemoryStore {
    async fn put_import_line(
        &self,
        athlete: AthleteId,
        import_id: &str,
        seq: u32,
        line: &stravasync_core::model::ImportLine,
        _now: i64,
    ) -> Result<(), StoreError> {
        self.with(|d| d.imports.entry((athlete, import_id.to_string())).or_default().insert(seq, line.clone()));
        Ok(())
    }

    async fn import_lines(
        &self,
        athlete: AthleteId,
        import_id: &str,
    ) -> Result<Vec<(u32, stravasync_core::model::ImportLine)>, StoreError> {
        Ok(self.with(|d| {
            d.imports
                .get(&(athlete, import_id.to_string()))
                .map(|m| m.iter().map(|(s, l)| (*s, l.clone())).collect())
                .unwrap_or_default()
        }))
    }
}

impl RationStore for MemoryStore {
    async fn take_export(&self, athlete: AthleteId, now: i64, every_s: i64) -> Result<Ration, StoreError> {
        Ok(self.ration(athlete, |r| match export_wait(r.export_at, now, every_s) {
            Some(wait) => Ration::Wait { retry_after_s: wait, remaining: 0 },
            None => {
                r.export_at = Some(now);
                Ration::Granted { activities: 1 }
            }
        }))
    }

    async fn take_backfill(
        &self,
        athlete: AthleteId,
        wanted: Option<u32>,
        limit: u32,
        now: i64,
    ) -> Result<Ration, StoreError> {
        Ok(self.ration(athlete, |r| match backfill_grant(r.backfill, wanted, limit, now) {
            BackfillGrant::Spent { retry_after_s, remaining } => Ration::Wait { retry_after_s, remaining },
            BackfillGrant::Granted { activities, after } => {
                r.backfill = after;
                Ration::Granted { activities }
            }
        }))
    }

    async fn take_threshold_change(&self, athlete: AthleteId, limit: u32, now: i64) -> Result<Ration, StoreError> {
        Ok(self.ration(athlete, |r| match backfill_grant(r.threshold_changes, Some(1), limit, now) {
            BackfillGrant::Spent { retry_after_s, remaining } => Ration::Wait { retry_after_s, remaining },
            BackfillGrant::Granted { activities, after } => {
                r.threshold_changes = after;
                Ration::Granted { activities }
            }
        }))
    }

    async fn take_import(&self, athlete: AthleteId, kib: u32, now: i64) -> Result<Ration, StoreError> {
        use stravasync_core::ration::{IMPORT_FILES_DAILY, IMPORT_KIB_DAILY};
        Ok(self.ration(athlete, |r| {
            let files = backfill_grant(r.import_files, Some(1), IMPORT_FILES_DAILY, now);
            let bytes = backfill_grant(r.import_kib, Some(kib), IMPORT_KIB_DAILY, now);
            match (files, bytes) {
                (BackfillGrant::Spent { retry_after_s, .. }, _) | (_, BackfillGrant::Spent { retry_after_s, .. }) => {
                    Ration::Wait { retry_after_s, remaining: 0 }
                }
                (BackfillGrant::Granted { after: f, .. }, BackfillGrant::Granted { activities, after: b }) => {
                    r.import_files = f;
                    r.import_kib = b;
                    if activities < kib {
                        Ration::Wait { retry_after_s: 86_400 - now.rem_euclid(86_400), remaining: 0 }
                    } else {
                        Ration::Granted { activities: 1 }
                    }
                }
            }
        }))
    }

    async fn backfill_remaining(&self, athlete: AthleteId, limit: u32, now: i64) -> Result<u32, StoreError> {
        let stored = self.with(|d| d.rations.get(&athlete).map(|r| r.backfill)).unwrap_or_default();
        Ok(backfill_remaining(stored, limit, now))
    }

    async fn refund_backfill(&self, athlete: AthleteId, day: LocalDate, activities: u32) -> Result<(), StoreError> {
        self.ration(athlete, |r| {
            r.backfill = backfill_refund(r.backfill, day, activities);
            Ration::Granted { activities }
        });
        Ok(())
    }
}

/// Every chunk key of one activity, of every set.
fn chunk_range(
    athlete: AthleteId,
    activity: ActivityId,
) -> std::ops::RangeInclusive<(AthleteId, ActivityId, Option<String>)> {
    // `None` sorts first; `char::MAX` repeated sorts after every set id (hex digests).
    (athlete, activity, None)..=(athlete, activity, Some(char::MAX.to_string().repeat(4)))
}

/// The chunk map's set key: `Some(None)` is the legacy set, `None` no set at all.
fn set_key(set: Option<StreamSetRef<'_>>) -> Option<Option<String>> {
    set.map(|s| match s {
        StreamSetRef::Legacy => None,
        StreamSetRef::Id(id) => Some(id.to_string()),
    })
}

/// The store doubles as the rate budget, as the DynamoDB table does.
impl RateBudget for MemoryStore {
    async fn reserve(&self, window: RateWindow, requests: u32, limit: u32) -> Result<Reservation, StoreError> {
        self.write(ITEM_OVERHEAD, 1); // a conditional UpdateItem, charged even when refused
        self.budget.reserve(window, requests, limit).await
    }

    async fn record_usage(&self, window: RateWindow, observed: u32) -> Result<(), StoreError> {
        self.write(ITEM_OVERHEAD, 1);
        self.budget.record_usage(window, observed).await
    }

    async fn hold_for_events(&self, window: RateWindow) -> Result<(), StoreError> {
        self.write(ITEM_OVERHEAD, 1);
        self.budget.hold_for_events(window).await
    }

    async fn used(&self, window: RateWindow) -> Result<u32, StoreError> {
        self.read(ITEM_OVERHEAD);
        self.budget.used(window).await
    }

    async fn reserve_background(
        &self,
        window: RateWindow,
        requests: u32,
        limit: u32,
    ) -> Result<Reservation, StoreError> {
        self.write(ITEM_OVERHEAD, 1);
        self.budget.reserve_background(window, requests, limit).await
    }
}
