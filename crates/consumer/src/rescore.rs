//! Rescoring from stored streams (after a threshold change).

use crate::ConsumerStore;
use stravasync_core::LocalDate;
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::model::ThresholdsUpdate;
use stravasync_core::model::{ActivityId, ActivityState, AthleteId};
use stravasync_core::ports::{EventQueue, TokenVault, WriteOutcome};

use crate::Consumer;
use crate::outcome::{Outcome, Step};

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// Recomputes metrics from stored streams (after a threshold change).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn rescore(&self, athlete: AthleteId, only: Option<ActivityId>) -> Step<()> {
        let activities = match only {
            Some(id) => match self.store.get_activity(athlete, id).await? {
                Some(ActivityState::Live(a)) => vec![*a],
                _ => Vec::new(),
            },
            None => {
                let (from, to) = (LocalDate::from_ymd(1970, 1, 1), LocalDate::from_ymd(9999, 12, 31));
                match (from, to) {
                    (Some(f), Some(t)) => self.store.activities_between(athlete, f, t).await?,
                    _ => Vec::new(),
                }
            }
        };
        let mut earliest: Option<LocalDate> = None;
        for mut a in activities {
            let set = self.stored_streams(&a).await?;
            (a.metrics, a.unscored_reason) = self.score(&a.summary, &set, athlete).await?;
            if self.store.put_activity(&a).await? == WriteOutcome::Written {
                earliest = Some(earliest.map_or(a.local_date, |e| e.min(a.local_date)));
            }
        }
        if let Some(d) = earliest {
            self.mark_dirty(athlete, d).await?;
            if self.deleted_meanwhile(athlete).await? {
                return Ok(());
            }
        }
        if only.is_none() {
            // Every activity now carries the thresholds read above (this job ran after the
            // change that bumped the version, in the athlete's message order).
            self.store
                .update_profile(athlete, |p| {
                    let behind = p.rescored_version != p.thresholds_version;
                    p.rescored_version = p.thresholds_version;
                    behind
                })
                .await?;
        }
        Ok(())
    }

    /// Stores the thresholds the athlete set (merged into the profile's, validated again:
    /// the message may be older than a change of the rules), then enqueues the rescore of
    /// every activity behind it in the athlete's group.
    ///
    /// A change that finds a rescore still pending is absorbed by it: that rescore is
    /// behind this job in the athlete's group (it sets `rescored_version` when it runs),
    /// reads the thresholds as stored when it runs, and so applies this change too. No
    /// second full pass is queued, however often the thresholds change meanwhile.
    #[tracing::instrument(skip(self, update))]
    pub(crate) async fn set_thresholds(&self, athlete: AthleteId, update: &ThresholdsUpdate) -> Step<()> {
        let mut invalid = None;
        let mut absorbed = false;
        let stored = self
            .store
            .update_profile(athlete, |p| match update.apply(&p.thresholds) {
                Ok(t) => {
                    absorbed = p.rescored_version < p.thresholds_version;
                    (p.thresholds, p.thresholds_version) = (t, p.thresholds_version + 1);
                    true
                }
                Err(e) => {
                    invalid = Some(e.to_string());
                    false
                }
            })
            .await?;
        if let Some(e) = invalid {
            return Err(Outcome::Poison { reason: format!("thresholds: {e}") });
        }
        if stored.is_none() {
            tracing::info!(outcome = "not_connected", "thresholds of an unknown athlete dropped");
            return Ok(());
        }
        if absorbed {
            tracing::info!(outcome = "thresholds_absorbed", "thresholds stored; the pending rescore applies them");
            return Ok(());
        }
        let rescore = Job::Rescore { athlete_id: athlete, activity_id: None };
        self.queue.enqueue(&QueueMessage::for_job(&rescore, &format!("thresholds-{}", self.now()))).await?;
        tracing::info!(outcome = "thresholds_set", "thresholds stored; rescore enqueued");
        Ok(())
    }
}
