//! The consumer Lambda (SQS FIFO event source, `ReportBatchItemFailures`), as a library so
//! tests, the local pump and the demo run the same code as the `consumer` binary.
//!
//! Each record is parsed on its own into a [`Job`]; docs/design.md §5 says what each does:
//!
//! | job | Strava requests |
//! |---|---|
//! | activity create | 2: activity + streams (1 for a manual activity) |
//! | update of title / type / private only | 0 (a type change rescores from stored streams) |
//! | any other update | 2: refetch as a create |
//! | activity delete | 0: tombstone, chunks deleted |
//! | athlete deauthorization | 0: token secret and every item of the athlete deleted |
//! | disconnect (the athlete, or an operator at their request) | `POST /oauth/deauthorize`, then as a deauthorization |
//! | stale event (older than the stored version) | 0 |
//! | backfill / reconcile | 1 per activity + 1 per page of 200 (the list summary replaces the detail call) |
//!
//! Invariant relied on: one athlete's messages share a FIFO message group, so they are
//! processed in order and never concurrently. This is what makes the read-modify-write of
//! an activity race-free. (It does not make a per-container token cache safe: consecutive
//! messages of an athlete may run in different containers, so a token refresh always
//! starts from a fresh read; see `stravasync_strava::AthleteSession`.)
//!
//! Failure rule, per message group ([`Consumer::handle_batch`]): a record that is not done
//! holds its own group only. Later records of the same group are not attempted (that would
//! break the group's order); they are made visible again at once, since an in-flight record
//! holds its group, and reported in `batchItemFailures` with the failed one. Records of
//! other groups are processed in the same invocation, so they never wait for, nor spend a
//! receive on, another athlete's failure. A poison record, and a transient failure on its
//! last allowed receive, are moved to the DLQ by the consumer itself, at once, so they
//! stop holding their group and its later records are processed right away.

mod backfill;
mod batch;
mod budget;
#[cfg(feature = "aws")]
pub mod deps;
mod events;
mod fetch;
mod import;
pub mod outcome;
pub mod policy;
#[cfg(feature = "aws")]
pub mod pump;
mod record;
mod rescore;
#[cfg(feature = "test-util")]
pub mod testing;

use stravasync_core::LocalDate;
use stravasync_core::job::Job;
use stravasync_core::model::AthleteId;
use stravasync_core::model::RateWindow;
use stravasync_core::ports::{
    EraseStore, EventQueue, ImportStore, ProfileStore, RateBudget, RationStore, ReadStore, RollupStore, StoreError,
    TokenVault, WriteStore,
};
use stravasync_strava::StravaClient;

pub use batch::BatchReport;
pub use budget::Priority;
pub use outcome::Outcome;
pub use policy::{ConfigError, ConsumerPolicy};
pub use record::Record;
pub use rescore::RESCORE_CHUNK;

/// The storage roles the consumer uses: profiles, the activities it reads and writes, the
/// PMC of the athletes it changed (recomputed at once, as the rollup does), the deletion of
/// a departing athlete, what an import did not use of its allowance (given back), and the
/// shared rate budget (the same table in AWS).
pub trait ConsumerStore:
    ProfileStore + ReadStore + WriteStore + RollupStore + EraseStore + RationStore + RateBudget + ImportStore
{
}

impl<S: ProfileStore + ReadStore + WriteStore + RollupStore + EraseStore + RationStore + RateBudget + ImportStore>
    ConsumerStore for S
{
}

/// The consumer: its policy, the Strava client and the ports, built once per container
/// (`deps::AwsConsumer` on AWS; in-memory ports in tests and the simulation).
pub struct Consumer<S, V, Q> {
    pub policy: ConsumerPolicy,
    pub strava: StravaClient,
    pub store: S,
    pub vault: V,
    pub queue: Q,
    /// The import queue's URL (`IMPORT_QUEUE_URL`): its records are files of an athlete's
    /// own ([`Consumer::handle_import_batch`]), told apart from the lanes' by their source.
    pub import_queue_url: Option<String>,
    /// Windows this container found spent, per priority, and until when to wait: they stay
    /// spent until they reset (counts only grow, holds are never lifted), so later records
    /// wait without a write.
    spent: std::sync::Mutex<std::collections::HashMap<(RateWindow, Priority), i64>>,
    /// The highest count seen in each shared window (`15min`, `daily`) during the batch in
    /// hand: the `BudgetUsed` metric.
    budget_seen: std::sync::Mutex<std::collections::BTreeMap<&'static str, u32>>,
    /// The athletes whose PMC this batch marked: recomputed when the batch ends.
    dirtied: std::sync::Mutex<std::collections::BTreeSet<AthleteId>>,
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    pub fn new(policy: ConsumerPolicy, strava: StravaClient, store: S, vault: V, queue: Q) -> Self {
        Consumer {
            policy,
            strava,
            store,
            vault,
            queue,
            import_queue_url: None,
            spent: Default::default(),
            budget_seen: Default::default(),
            dirtied: Default::default(),
        }
    }

    /// With the import queue at `url` (see [`Consumer::import_queue_url`]).
    pub fn with_import_queue(mut self, url: Option<String>) -> Self {
        self.import_queue_url = url;
        self
    }

    pub fn now(&self) -> i64 {
        self.strava.now()
    }

    /// Marks the athlete's PMC dirty from `from`, and notes them for the recompute at the
    /// end of the batch.
    pub(crate) async fn mark_dirty(&self, athlete: AthleteId, from: LocalDate) -> Result<(), StoreError> {
        self.store.mark_pmc_dirty(athlete, from).await?;
        self.dirtied.lock().unwrap_or_else(|p| p.into_inner()).insert(athlete);
        Ok(())
    }

    /// The PMC of every athlete this batch changed, recomputed now (a new activity, a
    /// finished import or rescore shows on the chart at once, not at the next scheduled
    /// rollup, which stays the backstop). A failure leaves the marker for that rollup.
    pub async fn recompute_dirtied(&self) {
        let athletes = std::mem::take(&mut *self.dirtied.lock().unwrap_or_else(|p| p.into_inner()));
        let today = LocalDate::from_unix_seconds(self.now());
        for athlete in athletes {
            match stravasync_rollup::recompute_marked(&self.store, athlete, today).await {
                Ok(rows) => tracing::info!(athlete_id = athlete, rows, outcome = "pmc_recomputed", "PMC follows"),
                Err(e) => tracing::warn!(athlete_id = athlete, error = %e, "PMC left to the scheduled rollup"),
            }
        }
    }

    /// One record, start to end.
    #[tracing::instrument(skip_all, fields(message_id = %record.message_id, receive_count = record.receive_count))]
    pub async fn process(&self, record: &Record) -> Outcome {
        let job = match Job::parse(&record.body) {
            Ok(job) => job,
            Err(e) => return Outcome::Poison { reason: format!("message body at {}: {}", e.path, e.message) },
        };
        // Each job's future is boxed: together (and instrumented) they are large, and a
        // batch of them on the stack of one task is what a small thread stack cannot hold.
        let result = match &job {
            Job::WebhookEvent { event, .. } => Box::pin(self.apply_event(event, record.receive_count)).await,
            Job::Backfill { .. } | Job::Reconcile { .. } => Box::pin(self.backfill(&job)).await,
            Job::Rescore { athlete_id, activity_id, scope } => {
                Box::pin(self.rescore(*athlete_id, *activity_id, scope.as_ref())).await
            }
            Job::ChangeThresholds { athlete_id, change, version } => {
                Box::pin(self.change_thresholds(*athlete_id, change, *version)).await
            }
            Job::SetThresholds { athlete_id, thresholds, from } => {
                Box::pin(self.set_thresholds(*athlete_id, thresholds, *from)).await
            }
            Job::Disconnect { athlete_id, requested_at, by } => {
                Box::pin(self.disconnect(*athlete_id, *requested_at, *by, record.receive_count)).await
            }
        };
        let outcome = result.err().unwrap_or(Outcome::Done);
        if outcome == Outcome::Done {
            tracing::info!(athlete_id = job.athlete_id(), outcome = "done", "record applied");
            measure_done(&job);
        }
        outcome
    }
}

/// A record done: how long the athlete waited (`UploadToStored`: from the webhook's receipt
/// of an event, or from the request of an import to each of its slices), and the slices of
/// history done (`BackfillSlices`). Wall-clock milliseconds: an operational latency, not a
/// rule (the rules take the consumer's clock).
fn measure_done(job: &Job) {
    use stravasync_core::event::{AspectType, ObjectType};
    use stravasync_core::telemetry::{BACKFILL_SLICES, UPLOAD_TO_STORED};
    let now_ms = stravasync_core::clock::unix_now_ms();
    let (kind, since_ms) = match job {
        Job::WebhookEvent { event, received_ms: Some(received) } => {
            let kind = match (event.object_type, event.aspect_type) {
                _ if event.is_deauthorization() => "deauthorize",
                (ObjectType::Activity, AspectType::Create) => "create",
                (ObjectType::Activity, AspectType::Delete) => "delete",
                _ => "update",
            };
            (kind, *received)
        }
        Job::Backfill { requested_at, .. } => {
            metrics::counter!(BACKFILL_SLICES).increment(1);
            match requested_at {
                Some(at) => ("backfill", at.saturating_mul(1000)),
                None => return,
            }
        }
        Job::Reconcile { .. } => {
            metrics::counter!(BACKFILL_SLICES).increment(1);
            return;
        }
        _ => return,
    };
    let lane = job.lane().name();
    metrics::histogram!(UPLOAD_TO_STORED, "Lane" => lane, "Kind" => kind).record((now_ms - since_ms).max(0) as f64);
}
