//! Threshold changes and rescoring from stored streams (docs/design.md §6b, "Rescoring a
//! dated change"): a change is stored only if the history is still at the version it was
//! made from; it then rescores only what it covers (its group's activities, every group's
//! for `default`, on or after its date), newest first, one bounded chunk per message, and
//! marks the PMC dirty from the oldest day it rewrote. Nothing before the date changes.

use crate::ConsumerStore;
use crate::fetch::score_with;
use stravasync_core::LocalDate;
use stravasync_core::job::{Job, QueueMessage, RescoreScope};
use stravasync_core::model::ThresholdsUpdate;
use stravasync_core::model::{ActivityId, ActivityState, AthleteId};
use stravasync_core::ports::{ActivityCursor, EventQueue, TokenVault, WriteOutcome};
use stravasync_core::thresholds::{MODEL_VERSION, SportGroup, ThresholdChange, ThresholdGroup, ThresholdHistory};

use crate::Consumer;
use crate::outcome::{Outcome, Step};

/// Activities one rescore message rewrites at most: each is a read of its streams, the
/// models, and a write (about 50 ms against DynamoDB), so a chunk takes seconds and a
/// 10-year history of 3,650 activities is 73 messages, each far inside the timeout.
pub const RESCORE_CHUNK: usize = 50;

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// Recomputes metrics from stored streams: one activity, or the next chunk of `scope`
    /// (every activity when neither is given: a message of an earlier version).
    #[tracing::instrument(skip(self, scope))]
    pub(crate) async fn rescore(
        &self,
        athlete: AthleteId,
        only: Option<ActivityId>,
        scope: Option<&RescoreScope>,
    ) -> Step<()> {
        let Some(profile) = self.store.get_profile(athlete).await? else {
            tracing::info!(outcome = "not_connected", "rescore of an unknown athlete dropped");
            return Ok(());
        };
        if let Some(id) = only {
            let Some(ActivityState::Live(a)) = self.store.get_activity(athlete, id).await? else { return Ok(()) };
            let model = self.athlete_model(athlete).await?;
            let mut a = *a;
            let set = self.stored_streams(&a).await?;
            (a.metrics, a.unscored_reason) = score_with(&a.summary, &set, &model)?;
            if self.store.put_activity(&a).await? == WriteOutcome::Written {
                self.mark_dirty(athlete, a.local_date).await?;
                self.deleted_meanwhile(athlete).await?;
            }
            return Ok(());
        }
        let scope = scope.cloned().unwrap_or_else(|| RescoreScope::everything(profile.thresholds_version));
        if scope.migrate && scope.before.is_none() && self.store.threshold_history(athlete).await?.is_none() {
            // The single thresholds become the first entries (0001-01-01). Written only
            // where none is stored: a change the athlete made meanwhile is kept.
            let first = ThresholdHistory::from_profile(&profile.thresholds);
            self.store.put_threshold_history(athlete, &first, 0).await?;
        }
        let model = self.athlete_model(athlete).await?;
        let page = self.store.activities_page(athlete, scope.before, RESCORE_CHUNK).await?;
        let full = page.len() == RESCORE_CHUNK;
        let mut earliest: Option<LocalDate> = None;
        let mut reached_from = false;
        let mut rescored = 0usize;
        for mut a in page.iter().cloned() {
            if a.local_date < scope.from {
                reached_from = true;
                break;
            }
            if !scope.group.covers(SportGroup::of_summary(&a.summary)) {
                continue;
            }
            let set = self.stored_streams(&a).await?;
            (a.metrics, a.unscored_reason) = score_with(&a.summary, &set, &model)?;
            if self.store.put_activity(&a).await? == WriteOutcome::Written {
                earliest = Some(earliest.map_or(a.local_date, |e| e.min(a.local_date)));
                rescored += 1;
            }
        }
        if let Some(d) = earliest {
            self.mark_dirty(athlete, d).await?;
        }
        if self.deleted_meanwhile(athlete).await? {
            return Ok(());
        }
        match page.last().filter(|_| full && !reached_from) {
            Some(last) => {
                let next = RescoreScope { before: Some(ActivityCursor::after(last)), ..scope.clone() };
                let dedup = format!("rescore-{}-{}-{}", scope.version, last.local_date, last.activity_id);
                let job = Job::Rescore { athlete_id: athlete, activity_id: None, scope: Some(next) };
                self.queue.enqueue(&QueueMessage::for_job(&job, &dedup)).await?;
                tracing::info!(rescored, outcome = "rescore_continues", "chunk rescored; the next one enqueued");
            }
            None => {
                self.store
                    .update_profile(athlete, |p| {
                        let behind =
                            p.rescored_version < scope.version || (scope.migrate && p.model_version < MODEL_VERSION);
                        p.rescored_version = p.rescored_version.max(scope.version);
                        if scope.migrate {
                            p.model_version = p.model_version.max(MODEL_VERSION);
                        }
                        behind
                    })
                    .await?;
                tracing::info!(rescored, outcome = "rescore_done", "rescore finished");
            }
        }
        Ok(())
    }

    /// A change of the threshold history made from version `expected`.
    #[tracing::instrument(skip(self, change))]
    pub(crate) async fn change_thresholds(
        &self,
        athlete: AthleteId,
        change: &ThresholdChange,
        expected: u64,
    ) -> Step<()> {
        self.apply_threshold_changes(athlete, std::slice::from_ref(change), Some(expected)).await
    }

    /// The single-value shorthand: the values hold from `from` (else today, the consumer's
    /// clock), each group's entry in force that day with them replaced.
    #[tracing::instrument(skip(self, update))]
    pub(crate) async fn set_thresholds(
        &self,
        athlete: AthleteId,
        update: &ThresholdsUpdate,
        from: Option<LocalDate>,
    ) -> Step<()> {
        let Some((history, _)) = self.stored_history(athlete).await? else {
            tracing::info!(outcome = "not_connected", "thresholds of an unknown athlete dropped");
            return Ok(());
        };
        let from = from.unwrap_or_else(|| LocalDate::from_unix_seconds(self.now()));
        let changes = history
            .shorthand_changes(update, from)
            .map_err(|e| Outcome::Poison { reason: format!("thresholds: {e}") })?;
        self.apply_threshold_changes(athlete, &changes, None).await
    }

    /// The history as stored and its version, or the profile's single thresholds as the
    /// migration's entries at version 0; `None` without a profile.
    async fn stored_history(&self, athlete: AthleteId) -> Step<Option<(ThresholdHistory, u64)>> {
        let Some(profile) = self.store.get_profile(athlete).await? else { return Ok(None) };
        Ok(Some(match self.store.threshold_history(athlete).await? {
            Some(stored) => (stored.history, stored.version),
            None => (ThresholdHistory::from_profile(&profile.thresholds), 0),
        }))
    }

    /// Applies `changes` to the stored history, if it is still at `expected` (any version
    /// when `None`), stores it conditionally on that version, bumps the profile's
    /// thresholds version and enqueues the rescore of what the changes cover. A change
    /// refused (made from an older version, or no longer applicable) is recorded on the
    /// profile in the athlete's words, for the dashboard, and stores nothing.
    async fn apply_threshold_changes(
        &self,
        athlete: AthleteId,
        changes: &[ThresholdChange],
        expected: Option<u64>,
    ) -> Step<()> {
        let Some((mut history, version)) = self.stored_history(athlete).await? else {
            tracing::info!(outcome = "not_connected", "thresholds of an unknown athlete dropped");
            return Ok(());
        };
        let refuse = |sentence: String| async move {
            tracing::info!(outcome = "thresholds_refused", "threshold change refused: {sentence}");
            self.store
                .update_profile(athlete, |p| {
                    p.threshold_refusal = Some(sentence.clone());
                    true
                })
                .await?;
            Ok(())
        };
        // The same record delivered again after its history was stored (a failure after the
        // write, before the record was done): the stored history is one version on and
        // applying the change again leaves it as it is. The rest (the profile's version, the
        // rescore) is carried out again, not refused.
        let retried = expected.is_some_and(|e| version == e + 1) && already_applied(changes, &history);
        if !retried {
            if expected.is_some_and(|e| e != version) {
                return refuse(STALE.to_string()).await;
            }
            for change in changes {
                if let Err(e) = change.apply(&mut history) {
                    return refuse(e.sentence()).await;
                }
            }
            if !self.store.put_threshold_history(athlete, &history, version).await? {
                return refuse(STALE.to_string()).await;
            }
        }
        let Some(profile) = self
            .store
            .update_profile(athlete, |p| {
                p.thresholds_version += 1;
                p.threshold_refusal = None;
                true
            })
            .await?
        else {
            // Deleted between the history's write and here: that write is undone too.
            self.deleted_meanwhile(athlete).await?;
            return Ok(());
        };
        if self.deleted_meanwhile(athlete).await? {
            return Ok(());
        }
        let (group, from) = covered(changes);
        let scope = RescoreScope { from, group, before: None, version: profile.thresholds_version, migrate: false };
        let job = Job::Rescore { athlete_id: athlete, activity_id: None, scope: Some(scope) };
        let dedup = format!("thresholds-{}-{}", profile.thresholds_version, self.now());
        self.queue.enqueue(&QueueMessage::for_job(&job, &dedup)).await?;
        tracing::info!(%group, %from, outcome = "thresholds_set", "threshold history stored; rescore enqueued");
        Ok(())
    }
}

/// Whether `history` already holds what `changes` make of it: each save's entry as saved,
/// each removed entry gone (a record delivered again after its history was stored).
fn already_applied(changes: &[ThresholdChange], history: &ThresholdHistory) -> bool {
    changes.iter().all(|c| match c {
        ThresholdChange::Save { entry } => history.entry_in_force(entry.group, entry.effective_from) == Some(entry),
        ThresholdChange::Remove { group, effective_from } => {
            !history.history.iter().any(|e| e.group == *group && e.effective_from == *effective_from)
        }
    })
}

/// What a change made from a version that is no longer stored is told.
const STALE: &str = "Your threshold change was not saved: they were changed elsewhere (another tab?) meanwhile. Reload and make it again.";

/// What a set of changes rescores: from the earliest date, one group's activities when all
/// are of that group, else every group's.
fn covered(changes: &[ThresholdChange]) -> (ThresholdGroup, LocalDate) {
    let scopes: Vec<_> = changes.iter().map(ThresholdChange::scope).collect();
    let from = scopes.iter().map(|(_, d)| *d).min().unwrap_or(stravasync_core::thresholds::MIGRATED_EFFECTIVE_FROM);
    let group = match scopes.first() {
        Some((g, _)) if scopes.iter().all(|(h, _)| h == g) => *g,
        _ => ThresholdGroup::Default,
    };
    (group, from)
}
