//! The pipeline's outside world as small traits (hexagonal ports). `stravasync-aws`
//! implements them with DynamoDB, SQS and Secrets Manager; `stravasync-testkit` with
//! in-memory maps for unit tests of the domain.
//!
//! Futures are `Send` so handlers can be generic over a port and still run on a
//! multi-threaded runtime.

use std::future::Future;

use crate::date::LocalDate;
use crate::job::QueueMessage;
use crate::model::{
    ActivityId, ActivityState, AppCredentials, AthleteId, AthleteProfile, OAuthTokens, PmcRow, RateWindow,
    StoredActivity, StreamSetRef, Tombstone,
};
use crate::thresholds::ThresholdHistory;

/// Why a storage call failed. Messages never contain item contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The service could not be reached or throttled us: try again later.
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    /// A stored item does not have the shape this release expects.
    #[error("stored item {key} is malformed: {reason}")]
    Malformed { key: String, reason: String },
    /// A stored item was written by a newer release.
    #[error(transparent)]
    Schema(#[from] crate::model::SchemaError),
    #[error("storage request rejected: {0}")]
    Rejected(String),
}

/// Result of a write conditioned on the stored event version (docs/design.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// A newer (or, for a live write, an equally new delete) state is already stored.
    Stale {
        stored_version: i64,
    },
}

/// That an athlete's PMC must be recomputed: from which day, and which mark it is. Every
/// [`WriteStore::mark_pmc_dirty`] counts `seq` up, so a rollup clears only the mark it
/// read ([`RollupStore::clear_pmc_dirty`]): a later activity, even of a later day, keeps
/// the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirtyMark {
    pub from: LocalDate,
    pub seq: u64,
}

/// The sync status numbers of one athlete's activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ActivityCounts {
    pub stored: usize,
    /// Stored, but Strava had no streams yet (`pending_streams`).
    pub pending_streams: usize,
}

/// Athletes' profiles: read by every function, created by the OAuth connection, changed by
/// the consumer.
pub trait ProfileStore: Send + Sync {
    fn get_profile(
        &self,
        athlete: AthleteId,
    ) -> impl Future<Output = Result<Option<AthleteProfile>, StoreError>> + Send;

    /// Creates or replaces the profile, whatever is stored (a new connection).
    fn put_profile(&self, profile: &AthleteProfile) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Read-modify-write of an existing profile: `change` edits the stored profile and says
    /// whether it changed anything; the write is conditional on the profile being as read,
    /// and is retried from a new read when another writer got there first (the events and
    /// background lanes, and the webhook, write the same profile concurrently). Returns the
    /// profile as stored afterwards, or `None` (and writes nothing) when there is none, so
    /// a deleted athlete's profile is never recreated.
    fn update_profile<F>(
        &self,
        athlete: AthleteId,
        change: F,
    ) -> impl Future<Output = Result<Option<AthleteProfile>, StoreError>> + Send
    where
        F: FnMut(&mut AthleteProfile) -> bool + Send;

    /// The athlete's threshold history as stored, with its version (docs/design.md §6b).
    /// `None` before one is stored: the profile's single thresholds are then the history
    /// ([`crate::thresholds::ThresholdHistory::from_profile`]), at version 0.
    fn threshold_history(
        &self,
        athlete: AthleteId,
    ) -> impl Future<Output = Result<Option<VersionedHistory>, StoreError>> + Send;

    /// Stores `history` as version `expected + 1` when the stored version is `expected`
    /// (0: none stored yet). `false`, and nothing written, when another version is stored:
    /// a change made from what someone else has since changed never overwrites theirs.
    fn put_threshold_history(
        &self,
        athlete: AthleteId,
        history: &ThresholdHistory,
        expected: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A stored threshold history and its version (its item's own, counted from 1).
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedHistory {
    pub history: ThresholdHistory,
    pub version: u64,
}

/// What the read side reads (the read API, the export, the operator CLI; the consumer reads
/// activities and their streams through it too).
pub trait ReadStore: Send + Sync {
    fn get_activity(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
    ) -> impl Future<Output = Result<Option<ActivityState>, StoreError>> + Send;

    /// The chunks of one stream set, in index order (empty if none).
    fn get_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        set: StreamSetRef<'_>,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send;

    /// PMC rows with `from <= date <= to`, in date order.
    fn pmc_rows(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> impl Future<Output = Result<Vec<PmcRow>, StoreError>> + Send;

    /// Live activities before `before` (all when `None`), newest first in the by-date
    /// order ([`ActivityCursor`]), `limit` of them unless fewer are left: one page of the
    /// list, so that a short page is the last.
    fn activities_page(
        &self,
        athlete: AthleteId,
        before: Option<ActivityCursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredActivity>, StoreError>> + Send;

    /// The local date of the athlete's oldest live activity (`None` without any): where the
    /// stored history begins. One key read of the by-date order, whatever the history.
    fn first_activity_date(
        &self,
        athlete: AthleteId,
    ) -> impl Future<Output = Result<Option<LocalDate>, StoreError>> + Send;

    /// The athlete's PMC marker, if any: whether their chart is waiting to be recomputed
    /// (the read side says so; the rollup clears it).
    fn pmc_dirty_mark(&self, athlete: AthleteId) -> impl Future<Output = Result<Option<DirtyMark>, StoreError>> + Send;

    /// The date the athlete's PMC is dirty from, if any.
    fn pmc_dirty_from(&self, athlete: AthleteId) -> impl Future<Output = Result<Option<LocalDate>, StoreError>> + Send {
        async move { Ok(self.pmc_dirty_mark(athlete).await?.map(|m| m.from)) }
    }

    /// How many live activities the athlete has, and how many of them wait for streams.
    fn activity_counts(&self, athlete: AthleteId) -> impl Future<Output = Result<ActivityCounts, StoreError>> + Send;
}

/// What the consumer writes: activities, tombstones, stream chunks, and the PMC's dirty
/// marker.
pub trait WriteStore: Send + Sync {
    /// Writes a live activity unless the stored version is newer, or equal and a
    /// tombstone (a delete wins a tie with an update or create of the same second).
    fn put_activity(&self, activity: &StoredActivity) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// Replaces the activity by a tombstone unless the stored version is newer.
    fn put_tombstone(&self, tombstone: Tombstone) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// Writes the chunks of stream set `set_id` of an activity ([`crate::codec::stream_set_id`]:
    /// the set's content hash). Sets never share keys, so a writer that later loses the
    /// conditional activity put cannot overwrite the chunks the stored activity points at.
    fn put_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        set_id: &str,
        chunks: &[Vec<u8>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes every stream chunk of the activity except those of set `keep` (all of them
    /// for `None`); returns how many were deleted.
    fn delete_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        keep: Option<StreamSetRef<'_>>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// How many stream chunks of the activity are stored, of every set.
    fn stream_chunk_count(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Records that the athlete's PMC must be recomputed from `from`; an earlier date
    /// already recorded wins, and every mark counts ([`DirtyMark::seq`]): a rollup that
    /// read the marker before this call does not clear it.
    fn mark_pmc_dirty(
        &self,
        athlete: AthleteId,
        from: LocalDate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Live activities whose local date is in `from..=to`, in date order; never a scan.
    fn activities_between(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> impl Future<Output = Result<Vec<StoredActivity>, StoreError>> + Send;
}

/// What the rollup needs: which athletes' PMC to recompute, their daily loads, and the
/// rows it writes.
pub trait RollupStore: Send + Sync {
    fn put_pmc_rows(&self, athlete: AthleteId, rows: &[PmcRow]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// `(local date, load)` of every live activity dated `from..=to`, in date order: what
    /// the rollup needs and nothing more (an unscored activity has load 0).
    fn daily_loads(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> impl Future<Output = Result<Vec<(LocalDate, f64)>, StoreError>> + Send;

    /// Every athlete with a profile (a sparse index; never a scan).
    fn athletes(&self) -> impl Future<Output = Result<Vec<AthleteId>, StoreError>> + Send;

    /// Every athlete with a dirty PMC and their marker (a sparse index; never a scan).
    fn dirty_athletes(&self) -> impl Future<Output = Result<Vec<(AthleteId, DirtyMark)>, StoreError>> + Send;

    /// Clears the marker only if nothing marked it since `mark` was read (an activity
    /// stored meanwhile, whatever its day, must not be lost); returns whether it was
    /// cleared.
    fn clear_pmc_dirty(
        &self,
        athlete: AthleteId,
        mark: DirtyMark,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What deleting an athlete needs: the deletion, and the check that nothing is left.
pub trait EraseStore: Send + Sync {
    /// Deletes every item of the athlete (profile, activities, tombstones, chunks, PMC);
    /// returns how many items were deleted.
    fn delete_athlete(&self, athlete: AthleteId) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Whether any item of the athlete's partition is stored (a deletion is complete when
    /// none is). One key read, whatever the athlete's history.
    fn athlete_has_items(&self, athlete: AthleteId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Every storage role at once: what the operator CLI and test support use. Each function's
/// crate names only the roles it uses ([`ProfileStore`], [`ReadStore`], [`WriteStore`],
/// [`RollupStore`], [`EraseStore`], [`RationStore`]); both stores implement all of them.
pub trait ActivityStore: ProfileStore + ReadStore + WriteStore + RollupStore + EraseStore {}

impl<S: ProfileStore + ReadStore + WriteStore + RollupStore + EraseStore> ActivityStore for S {}

/// Every storage role, for tests and tools that use a store whole (`use ...::roles::*`).
pub mod roles {
    pub use super::{ActivityStore, EraseStore, ImportStore, ProfileStore, ReadStore, RollupStore, WriteStore};
}

/// How long an import's report is kept (its items' TTL): 30 days.
pub const IMPORT_REPORT_TTL_S: i64 = 30 * 86_400;

/// The reports of imports of an athlete's own files (docs/design.md §4b): one line per
/// file, kept with the athlete (deleted with them) for [`IMPORT_REPORT_TTL_S`].
pub trait ImportStore: Send + Sync {
    /// The line of file `seq` of import `import_id` (written again, it is replaced).
    fn put_import_line(
        &self,
        athlete: AthleteId,
        import_id: &str,
        seq: u32,
        line: &crate::model::ImportLine,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The lines of one import, by `seq`.
    fn import_lines(
        &self,
        athlete: AthleteId,
        import_id: &str,
    ) -> impl Future<Output = Result<Vec<(u32, crate::model::ImportLine)>, StoreError>> + Send;
}

/// Read capacity a store's queries have used, in DynamoDB's units (a read unit per 4 KB of
/// a query's page, halved for an index's eventually consistent read): what benchmarks and
/// cost figures count, and what the contract suite holds both stores to. Item reads
/// (`GetItem`) are not counted.
pub trait QueryMeter {
    fn query_read_units(&self) -> f64;
}

pub use crate::order::{ActivityCursor, by_date_order};

/// Hands the live activities dated `from..=to` to `each` a page at a time (at most `page`,
/// newest first, through [`ReadStore::activities_page`]), so that a reader holds one
/// page whatever the history. Stops at the first activity older than `from`, or at an empty
/// or short page.
pub async fn activities_by_page<S: ReadStore>(
    store: &S,
    athlete: AthleteId,
    from: LocalDate,
    to: LocalDate,
    page: usize,
    mut each: impl FnMut(&[StoredActivity]),
) -> Result<(), StoreError> {
    let mut before = Some(ActivityCursor { date: to.add_days(1), activity: None });
    loop {
        let items = store.activities_page(athlete, before, page).await?;
        let within = items.iter().take_while(|a| a.local_date >= from).count();
        each(&items[..within]);
        match items.last() {
            Some(last) if within == items.len() && items.len() == page => before = Some(ActivityCursor::after(last)),
            _ => return Ok(()),
        }
    }
}

/// What taking a ration gave ([`RationStore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ration {
    /// Taken; for a backfill, up to this many activities (1 for an export).
    Granted { activities: u32 },
    /// Spent: try again after this many seconds; `remaining` of the day's backfill
    /// allowance (0 for an export).
    Wait { retry_after_s: i64, remaining: u32 },
    /// The athlete has no profile (not connected, or being deleted): nothing was written.
    NotConnected,
}

/// The rations of expensive requests per athlete ([`crate::ration`]), kept with the
/// athlete's profile so that deleting the athlete deletes them too, and never written for
/// an athlete without one. The read API takes them; the consumer gives back what an
/// import did not use.
pub trait RationStore: Send + Sync {
    /// One export per `every_s`: taken at `now` unless an export was taken less than
    /// `every_s` before.
    fn take_export(
        &self,
        athlete: AthleteId,
        now: i64,
        every_s: i64,
    ) -> impl Future<Output = Result<Ration, StoreError>> + Send;

    /// Up to `wanted` activities (`None`: whatever remains, for a date range) of the
    /// day's `limit` ([`crate::ration::backfill_grant`]); the grant is recorded atomically
    /// with the check, so two concurrent requests never share one allowance.
    fn take_backfill(
        &self,
        athlete: AthleteId,
        wanted: Option<u32>,
        limit: u32,
        now: i64,
    ) -> impl Future<Output = Result<Ration, StoreError>> + Send;

    /// One threshold change of the day's `limit` (docs/design.md §6b: each change rescores
    /// history from its date); recorded atomically with the check, as a backfill's grant.
    fn take_threshold_change(
        &self,
        athlete: AthleteId,
        limit: u32,
        now: i64,
    ) -> impl Future<Output = Result<Ration, StoreError>> + Send;

    /// One imported file of `kib` KiB of the day's import allowance
    /// ([`crate::ration::IMPORT_FILES_DAILY`] files, [`crate::ration::IMPORT_KIB_DAILY`]
    /// KiB); recorded atomically with the check. An import spends no Strava request, so it
    /// has this allowance of its own, not the backfill's.
    fn take_import(
        &self,
        athlete: AthleteId,
        kib: u32,
        now: i64,
    ) -> impl Future<Output = Result<Ration, StoreError>> + Send;

    /// What remains of today's backfill allowance of `limit` (all of it for an athlete
    /// without a profile: nothing is stored for them).
    fn backfill_remaining(
        &self,
        athlete: AthleteId,
        limit: u32,
        now: i64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Gives back `activities` of a backfill granted on `day` ([`crate::ration::backfill_refund`]):
    /// an import is charged only what it imported. Nothing is written for an athlete
    /// without a profile, or when the allowance has moved on to another day.
    fn refund_backfill(
        &self,
        athlete: AthleteId,
        day: LocalDate,
        activities: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Outcome of reserving requests in a shared rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved; `used` is the window's count including this reservation.
    Granted { used: u32 },
    /// The reservation would pass the limit; nothing was reserved.
    Exhausted { used: u32 },
    /// A background reservation in a window held for events
    /// ([`RateBudget::hold_for_events`]); nothing was reserved.
    Held { used: u32 },
}

/// The app-wide Strava request budget, shared by every consumer (docs/design.md §5).
pub trait RateBudget: Send + Sync {
    /// Atomically adds `requests` to the window's count if it stays `<= limit`.
    fn reserve(
        &self,
        window: RateWindow,
        requests: u32,
        limit: u32,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Raises the window's count to `observed` (Strava's own usage header) if it is
    /// below it; never lowers it.
    fn record_usage(&self, window: RateWindow, observed: u32) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps `window` for the events lane: background reservations in it are refused
    /// (an event had to wait for the budget; the waiting events get the next window).
    fn hold_for_events(&self, window: RateWindow) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The window's count so far (0 for a window nobody reserved in).
    fn used(&self, window: RateWindow) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// As [`RateBudget::reserve`], for the background lane: also refused in a window held
    /// for events ([`Reservation::Held`]).
    fn reserve_background(
        &self,
        window: RateWindow,
        requests: u32,
        limit: u32,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("secret store temporarily unavailable: {0}")]
    Unavailable(String),
    /// The secret exists but a field is missing or of the wrong type. Never carries the
    /// secret's value.
    #[error("secret {secret}: field {field} is {problem}")]
    Malformed { secret: String, field: String, problem: &'static str },
    #[error("secret {0} does not exist")]
    Missing(String),
    #[error("secret store rejected the request: {0}")]
    Rejected(String),
    /// A conditional replace found that another writer had replaced the value since it
    /// was read ([`TokenVault::replace_tokens`]).
    #[error("tokens of athlete {0} were replaced by another writer since they were read")]
    Conflict(AthleteId),
}

/// OAuth tokens (one secret per athlete) and the app credentials.
///
/// A vault may cache reads. Anything that acts on a value another process may have
/// replaced since (a token refresh: Strava rotates the refresh token; an unknown
/// subscription id) must use the `_fresh` reads, which never answer from a cache.
pub trait TokenVault: Send + Sync {
    /// A secret of the stack by name (the session key): its string, `None` if it does not
    /// exist. Vaults without named secrets have none.
    fn named_secret(&self, name: &str) -> impl Future<Output = Result<Option<crate::Secret>, VaultError>> + Send {
        let _ = name;
        async { Ok(None) }
    }
    fn get_tokens(&self, athlete: AthleteId) -> impl Future<Output = Result<Option<OAuthTokens>, VaultError>> + Send;
    /// As [`TokenVault::get_tokens`], read from the store itself, never from a cache.
    fn get_tokens_fresh(
        &self,
        athlete: AthleteId,
    ) -> impl Future<Output = Result<Option<OAuthTokens>, VaultError>> + Send {
        self.get_tokens(athlete)
    }
    /// Creates or replaces the athlete's tokens, whatever is stored (a new authorization).
    fn put_tokens(&self, tokens: &OAuthTokens) -> impl Future<Output = Result<(), VaultError>> + Send;
    /// Replaces `previous` (the pair as this process read it) by `next` (a rotation),
    /// unless another writer replaced `previous` since: then [`VaultError::Conflict`] and
    /// nothing is written, so a pair read before another container's rotation or a new
    /// authorization never overwrites it. A vault without conditional writes (Secrets
    /// Manager) replaces unconditionally.
    fn replace_tokens(
        &self,
        previous: &OAuthTokens,
        next: &OAuthTokens,
    ) -> impl Future<Output = Result<(), VaultError>> + Send {
        let _ = previous;
        self.put_tokens(next)
    }
    /// Deletes the athlete's tokens at once (no recovery window); idempotent.
    fn delete_tokens(&self, athlete: AthleteId) -> impl Future<Output = Result<(), VaultError>> + Send;
    fn app_credentials(&self) -> impl Future<Output = Result<AppCredentials, VaultError>> + Send;
    /// As [`TokenVault::app_credentials`], never from a cache.
    fn app_credentials_fresh(&self) -> impl Future<Output = Result<AppCredentials, VaultError>> + Send {
        self.app_credentials()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("queue temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("queue rejected the request: {0}")]
    Rejected(String),
}

/// The SQS FIFO queue between the webhook and the consumer.
pub trait EventQueue: Send + Sync {
    fn enqueue(&self, message: &QueueMessage) -> impl Future<Output = Result<(), QueueError>> + Send;
    /// Makes a received message visible again after `delay_secs` (deferral, not retry).
    fn defer(&self, receipt_handle: &str, delay_secs: u32) -> impl Future<Output = Result<(), QueueError>> + Send;
    /// Moves a received message to the dead-letter queue at once, keeping its body, group
    /// and deduplication id (so a redrive replays it as it was) and recording `reason`:
    /// sent to the DLQ first, then deleted from the queue, so a failure between the two
    /// leaves a copy in both, never in neither.
    fn dead_letter(
        &self,
        receipt_handle: &str,
        message: &QueueMessage,
        reason: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
    /// Replaces a received message by `copy` (its body and group under a new
    /// deduplication id) at the back of its queue: a message that has waited for the
    /// budget through many receives starts counting them again, so waiting never reaches
    /// the queue's redrive limit. The copy is sent first, then the original deleted.
    fn resend(&self, receipt_handle: &str, copy: &QueueMessage) -> impl Future<Output = Result<(), QueueError>> + Send;
}
