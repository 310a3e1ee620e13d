//! Rescoring from stored streams (after a threshold change).

use stravasync_core::LocalDate;
use stravasync_core::model::{ActivityId, ActivityState, AthleteId};
use stravasync_core::ports::{ActivityStore, EventQueue, RateBudget, TokenVault, WriteOutcome};

use crate::Consumer;
use crate::outcome::Step;

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ActivityStore + RateBudget,
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
            self.store.mark_pmc_dirty(athlete, d).await?;
        }
        Ok(())
    }
}
