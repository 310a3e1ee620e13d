//! Backfill and reconcile: page the activity list, import what is missing.

use stravasync_core::event::{Job, QueueMessage};
use stravasync_core::model::{ActivityState, AthleteId};
use stravasync_core::ports::{ActivityStore, EventQueue, RateBudget, TokenVault};
use stravasync_strava::{ActivityQuery, AthleteSession};

use crate::outcome::{Outcome, Step};
use crate::{Consumer, Priority};

/// Version of activities imported by backfill: any real event supersedes them.
const BACKFILL_VERSION: i64 = 0;
const PER_PAGE: u32 = 200;

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ActivityStore + RateBudget,
    V: TokenVault,
    Q: EventQueue,
{
    /// Backfill and reconcile: page the activity list (200 a page), import what is
    /// missing with the list summary (no detail call), hand over to a continuation message
    /// after `backfill_batch` imports or when the background budget runs out.
    #[tracing::instrument(skip_all, fields(athlete_id = job.athlete_id()))]
    pub(crate) async fn backfill(&self, job: &Job) -> Step<()> {
        let (athlete, most_recent, after, before, mut page, mut index, mut done) = match *job {
            Job::Backfill { athlete_id, most_recent, after, before, page, index, done } => {
                (athlete_id, most_recent, after, before, page, index, done)
            }
            Job::Reconcile { athlete_id, since } => (athlete_id, None, Some(since), None, 1, 0, 0),
            _ => return Ok(()),
        };
        if self.tokens(athlete).await?.is_none() {
            tracing::info!(outcome = "not_connected", "backfill of an athlete without tokens dropped");
            return Ok(());
        }
        let mut imported = 0u32;
        let continuation = |page: u32, index: u32, done: u32| Job::Backfill {
            athlete_id: athlete,
            most_recent,
            after,
            before,
            page,
            index,
            done,
        };
        loop {
            if imported >= self.config.backfill_batch {
                // Hand over before listing a page this message would not get to import.
                return self.hand_over(&continuation(page, index, done)).await;
            }
            let mut session = AthleteSession::new(&self.strava, &self.vault, athlete);
            let query = ActivityQuery { before, after, page, per_page: PER_PAGE };
            let list = match self.call(athlete, Priority::Background, session.activities(query)).await {
                Ok(list) => list.unwrap_or_default(),
                Err(Outcome::Defer { .. }) if imported > 0 => {
                    return self.hand_over(&continuation(page, index, done)).await;
                }
                Err(o) => return Err(o),
            };
            for (i, summary) in list.iter().enumerate().skip(index as usize) {
                if most_recent.is_some_and(|n| done >= n) {
                    return self.finish_backfill(athlete, done).await;
                }
                if imported >= self.config.backfill_batch {
                    return self.hand_over(&continuation(page, i as u32, done)).await;
                }
                // Import what is missing, or live but still waiting for its streams (keeping
                // its version); a tombstone stays.
                let needed = match self.store.get_activity(athlete, summary.id).await? {
                    None => Some(BACKFILL_VERSION),
                    Some(ActivityState::Live(a)) if a.pending_streams => Some(a.version),
                    Some(_) => None,
                };
                if let Some(version) = needed {
                    match self
                        .fetch_and_store(athlete, summary.id, version, Some(summary), 1, Priority::Background)
                        .await
                    {
                        Ok(()) => imported += 1,
                        Err(Outcome::Defer { .. }) => return self.hand_over(&continuation(page, i as u32, done)).await,
                        Err(o) => return Err(o),
                    }
                }
                done += 1;
            }
            if list.len() < PER_PAGE as usize {
                return self.finish_backfill(athlete, done).await;
            }
            page += 1;
            index = 0;
        }
    }

    /// Enqueues the rest of a backfill as a new message (its own checkpoint); the current
    /// one is then done. If the budget is out, the continuation is deferred when received.
    async fn hand_over(&self, next: &Job) -> Step<()> {
        let key = match next {
            Job::Backfill { page, index, done, .. } => format!("cont-{page}-{index}-{done}-{}", self.now()),
            _ => format!("cont-{}", self.now()),
        };
        self.queue.enqueue(&QueueMessage::for_job(next, &key)).await?;
        tracing::info!(athlete_id = next.athlete_id(), outcome = "continued", "backfill handed over");
        Ok(())
    }

    async fn finish_backfill(&self, athlete: AthleteId, done: u32) -> Step<()> {
        if let Some(mut p) = self.store.get_profile(athlete).await? {
            p.last_sync = Some(self.now());
            self.store.put_profile(&p).await?;
        }
        tracing::info!(activities = done, outcome = "backfilled", "backfill complete");
        Ok(())
    }
}
