//! In-memory implementations of the ports of `stravasync_core::ports`, for unit tests of the domain and
//! handlers. They follow the same rules as the AWS adapters (conditional versions,
//! chunk replacement, FIFO dedup), which the adapter tests check on the real services.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use stravasync_core::date::LocalDate;
use stravasync_core::event::QueueMessage;
use stravasync_core::model::{
    ActivityId, ActivityState, AppCredentials, AthleteId, AthleteProfile, OAuthTokens, PmcRow, RateWindow,
    StoredActivity, StreamSetRef, Tombstone,
};
use stravasync_core::ports::{
    ActivityCounts, ActivityStore, EventQueue, QueueError, RateBudget, Reservation, StoreError, TokenVault, VaultError,
    WriteOutcome,
};
use stravasync_core::view::{ActivityCursor, activity_sort_key};

#[derive(Default)]
struct StoreData {
    profiles: HashMap<AthleteId, AthleteProfile>,
    activities: BTreeMap<(AthleteId, ActivityId), ActivityState>,
    chunks: BTreeMap<(AthleteId, ActivityId, Option<String>), Vec<Vec<u8>>>,
    pmc: BTreeMap<(AthleteId, LocalDate), PmcRow>,
    dirty: BTreeMap<AthleteId, LocalDate>,
}

#[derive(Default)]
pub struct MemoryStore {
    data: Mutex<StoreData>,
    budget: MemoryRateBudget,
}

impl MemoryStore {
    fn with<R>(&self, f: impl FnOnce(&mut StoreData) -> R) -> R {
        f(&mut self.data.lock().unwrap_or_else(|p| p.into_inner()))
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

impl ActivityStore for MemoryStore {
    async fn get_profile(&self, athlete: AthleteId) -> Result<Option<AthleteProfile>, StoreError> {
        Ok(self.with(|d| d.profiles.get(&athlete).cloned()))
    }

    async fn put_profile(&self, profile: &AthleteProfile) -> Result<(), StoreError> {
        self.with(|d| d.profiles.insert(profile.athlete_id, profile.clone()));
        Ok(())
    }

    async fn get_activity(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
    ) -> Result<Option<ActivityState>, StoreError> {
        Ok(self.with(|d| d.activities.get(&(athlete, activity)).cloned()))
    }

    async fn put_activity(&self, a: &StoredActivity) -> Result<WriteOutcome, StoreError> {
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
        self.with(|d| d.chunks.insert((athlete, activity, Some(set_id.to_string())), chunks.to_vec()));
        Ok(())
    }

    async fn get_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        set: StreamSetRef<'_>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let key = (athlete, activity, set_key(Some(set)).flatten());
        Ok(self.with(|d| d.chunks.get(&key).cloned().unwrap_or_default()))
    }

    async fn delete_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        keep: Option<StreamSetRef<'_>>,
    ) -> Result<usize, StoreError> {
        let keep = set_key(keep);
        Ok(self.with(|d| {
            let before: usize = d.chunks.values().map(Vec::len).sum();
            let doomed = |set: &Option<String>| keep.as_ref() != Some(set);
            d.chunks.retain(|(a, b, set), _| !(*a == athlete && *b == activity && doomed(set)));
            before - d.chunks.values().map(Vec::len).sum::<usize>()
        }))
    }

    async fn stream_chunk_count(&self, athlete: AthleteId, activity: ActivityId) -> Result<usize, StoreError> {
        Ok(self.with(|d| {
            d.chunks.iter().filter(|((a, b, _), _)| *a == athlete && *b == activity).map(|(_, c)| c.len()).sum()
        }))
    }

    async fn put_pmc_rows(&self, athlete: AthleteId, rows: &[PmcRow]) -> Result<(), StoreError> {
        self.with(|d| {
            for r in rows {
                d.pmc.insert((athlete, r.date), *r);
            }
        });
        Ok(())
    }

    async fn pmc_rows(&self, athlete: AthleteId, from: LocalDate, to: LocalDate) -> Result<Vec<PmcRow>, StoreError> {
        Ok(self.with(|d| d.pmc.range((athlete, from)..=(athlete, to)).map(|(_, r)| *r).collect()))
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
            out
        }))
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
            out
        }))
    }

    async fn activities_page(
        &self,
        athlete: AthleteId,
        before: Option<ActivityCursor>,
        limit: usize,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        let stop = before.map(|c| c.sort_key());
        Ok(self.with(|d| {
            let mut out: Vec<(String, StoredActivity)> = d
                .activities
                .range((athlete, ActivityId::MIN)..=(athlete, ActivityId::MAX))
                .filter_map(|(_, s)| match s {
                    ActivityState::Live(a) => Some((activity_sort_key(a), (**a).clone())),
                    _ => None,
                })
                .filter(|(key, _)| stop.as_ref().is_none_or(|stop| key < stop))
                .collect();
            out.sort_by(|a, b| b.0.cmp(&a.0));
            out.into_iter().take(limit).map(|(_, a)| a).collect()
        }))
    }

    async fn activity_counts(&self, athlete: AthleteId) -> Result<ActivityCounts, StoreError> {
        Ok(self.with(|d| {
            let live = d.activities.range((athlete, ActivityId::MIN)..=(athlete, ActivityId::MAX)).filter_map(
                |(_, s)| match s {
                    ActivityState::Live(a) => Some(a),
                    _ => None,
                },
            );
            live.fold(ActivityCounts::default(), |c, a| ActivityCounts {
                stored: c.stored + 1,
                pending_streams: c.pending_streams + usize::from(a.pending_streams),
            })
        }))
    }

    async fn mark_pmc_dirty(&self, athlete: AthleteId, from: LocalDate) -> Result<(), StoreError> {
        self.with(|d| {
            let e = d.dirty.entry(athlete).or_insert(from);
            *e = (*e).min(from);
        });
        Ok(())
    }

    async fn pmc_dirty_from(&self, athlete: AthleteId) -> Result<Option<LocalDate>, StoreError> {
        Ok(self.with(|d| d.dirty.get(&athlete).copied()))
    }

    async fn athletes(&self) -> Result<Vec<AthleteId>, StoreError> {
        Ok(self.with(|d| {
            let mut v: Vec<AthleteId> = d.profiles.keys().copied().collect();
            v.sort();
            v
        }))
    }

    async fn dirty_athletes(&self) -> Result<Vec<(AthleteId, LocalDate)>, StoreError> {
        Ok(self.with(|d| d.dirty.iter().map(|(a, f)| (*a, *f)).collect()))
    }

    async fn clear_pmc_dirty(&self, athlete: AthleteId, from: LocalDate) -> Result<bool, StoreError> {
        Ok(self.with(|d| {
            if d.dirty.get(&athlete) == Some(&from) {
                d.dirty.remove(&athlete);
                true
            } else {
                false
            }
        }))
    }

    async fn delete_athlete(&self, athlete: AthleteId) -> Result<usize, StoreError> {
        Ok(self.with(|d| {
            let mut n = usize::from(d.profiles.remove(&athlete).is_some());
            n += usize::from(d.dirty.remove(&athlete).is_some());
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
        self.budget.reserve(window, requests, limit).await
    }

    async fn record_usage(&self, window: RateWindow, observed: u32) -> Result<(), StoreError> {
        self.budget.record_usage(window, observed).await
    }
}

#[derive(Default)]
pub struct MemoryRateBudget {
    used: Mutex<HashMap<RateWindow, u32>>,
}

impl RateBudget for MemoryRateBudget {
    async fn reserve(&self, window: RateWindow, requests: u32, limit: u32) -> Result<Reservation, StoreError> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let count = used.entry(window).or_insert(0);
        if *count + requests <= limit {
            *count += requests;
            Ok(Reservation::Granted { used: *count })
        } else {
            Ok(Reservation::Exhausted { used: *count })
        }
    }

    async fn record_usage(&self, window: RateWindow, observed: u32) -> Result<(), StoreError> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let count = used.entry(window).or_insert(0);
        *count = (*count).max(observed);
        Ok(())
    }
}

pub struct MemoryVault {
    tokens: Mutex<HashMap<AthleteId, OAuthTokens>>,
    app: AppCredentials,
}

impl MemoryVault {
    pub fn new(app: AppCredentials) -> Self {
        MemoryVault { tokens: Mutex::default(), app }
    }
}

impl TokenVault for MemoryVault {
    /// Every name has a key (derived from it), as a stack with all its secrets would.
    async fn named_secret(&self, name: &str) -> Result<Option<stravasync_core::Secret>, VaultError> {
        Ok(Some(stravasync_core::Secret::new(format!("memory-secret-{name}"))))
    }

    async fn get_tokens(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        Ok(self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&athlete).cloned())
    }

    async fn put_tokens(&self, tokens: &OAuthTokens) -> Result<(), VaultError> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(tokens.athlete_id, tokens.clone());
        Ok(())
    }

    /// Compare-and-swap, as the DynamoDB vault's conditional write.
    async fn replace_tokens(&self, previous: &OAuthTokens, next: &OAuthTokens) -> Result<(), VaultError> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.get(&previous.athlete_id) != Some(previous) {
            return Err(VaultError::Conflict(previous.athlete_id));
        }
        tokens.insert(next.athlete_id, next.clone());
        Ok(())
    }

    async fn delete_tokens(&self, athlete: AthleteId) -> Result<(), VaultError> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&athlete);
        Ok(())
    }

    async fn app_credentials(&self) -> Result<AppCredentials, VaultError> {
        Ok(self.app.clone())
    }
}

/// Records what was enqueued; drops a message whose dedup id was already seen, as an
/// SQS FIFO queue does within its 5-minute window.
#[derive(Default)]
pub struct MemoryQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    messages: Vec<QueueMessage>,
    seen_dedup_ids: HashSet<String>,
    deferrals: Vec<(String, u32)>,
    dead_letters: Vec<(QueueMessage, String)>,
}

impl MemoryQueue {
    fn with<R>(&self, f: impl FnOnce(&mut QueueState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn messages(&self) -> Vec<QueueMessage> {
        self.with(|s| s.messages.clone())
    }

    /// The messages enqueued so far, removed (as a consumer receives and deletes them).
    pub fn take(&self) -> Vec<QueueMessage> {
        self.with(|s| std::mem::take(&mut s.messages))
    }

    /// `(receipt handle, delay)` of every deferral, in order.
    pub fn deferrals(&self) -> Vec<(String, u32)> {
        self.with(|s| s.deferrals.clone())
    }

    /// `(message, reason)` of every message moved to the dead-letter queue, in order.
    pub fn dead_letters(&self) -> Vec<(QueueMessage, String)> {
        self.with(|s| s.dead_letters.clone())
    }
}

impl EventQueue for MemoryQueue {
    async fn enqueue(&self, message: &QueueMessage) -> Result<(), QueueError> {
        self.with(|s| {
            if s.seen_dedup_ids.insert(message.dedup_id.clone()) {
                s.messages.push(message.clone());
            }
        });
        Ok(())
    }

    async fn defer(&self, receipt_handle: &str, delay_secs: u32) -> Result<(), QueueError> {
        self.with(|s| s.deferrals.push((receipt_handle.to_string(), delay_secs)));
        Ok(())
    }

    async fn dead_letter(&self, _receipt_handle: &str, message: &QueueMessage, reason: &str) -> Result<(), QueueError> {
        self.with(|s| s.dead_letters.push((message.clone(), reason.to_string())));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use stravasync_core::model::{ActivitySummary, RateWindowKind};

    pub(crate) fn activity(id: ActivityId, version: i64, date: &str) -> StoredActivity {
        StoredActivity { version, ..crate::scored_activity(7, id, date.parse().unwrap(), 1.0) }
    }

    #[tokio::test]
    async fn versions_decide_and_deletes_win_ties() {
        let s = MemoryStore::default();
        assert_eq!(s.put_activity(&activity(1, 10, "2024-01-01")).await.unwrap(), WriteOutcome::Written);
        assert_eq!(
            s.put_activity(&activity(1, 9, "2024-01-01")).await.unwrap(),
            WriteOutcome::Stale { stored_version: 10 }
        );
        assert_eq!(s.put_activity(&activity(1, 10, "2024-01-02")).await.unwrap(), WriteOutcome::Written);
        let t = Tombstone { athlete_id: 7, activity_id: 1, version: 10 };
        assert_eq!(s.put_tombstone(t).await.unwrap(), WriteOutcome::Written);
        assert_eq!(
            s.put_activity(&activity(1, 10, "2024-01-01")).await.unwrap(),
            WriteOutcome::Stale { stored_version: 10 }
        );
        assert_eq!(s.put_activity(&activity(1, 11, "2024-01-01")).await.unwrap(), WriteOutcome::Written);
        let _: ActivitySummary = activity(1, 1, "2024-01-01").summary;
    }

    #[tokio::test]
    async fn rate_budget_never_passes_the_limit() {
        let b = MemoryRateBudget::default();
        let w = RateWindow::containing(RateWindowKind::QuarterHour, 0);
        assert_eq!(b.reserve(w, 2, 3).await.unwrap(), Reservation::Granted { used: 2 });
        assert_eq!(b.reserve(w, 2, 3).await.unwrap(), Reservation::Exhausted { used: 2 });
        b.record_usage(w, 3).await.unwrap();
        assert_eq!(b.reserve(w, 1, 3).await.unwrap(), Reservation::Exhausted { used: 3 });
    }

    #[tokio::test]
    async fn queue_dedups() {
        let q = MemoryQueue::default();
        let m = QueueMessage { group_id: "g".into(), dedup_id: "d".into(), body: "b".into() };
        q.enqueue(&m).await.unwrap();
        q.enqueue(&m).await.unwrap();
        assert_eq!(q.messages().len(), 1);
    }
}
