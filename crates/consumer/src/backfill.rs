//! Backfill and reconcile: page the activity list, import what is missing.

use crate::ConsumerStore;
use stravasync_core::LocalDate;
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::model::{ActivityState, AthleteId, BackfillProgress};
use stravasync_core::ports::{EventQueue, TokenVault};
use stravasync_strava::{ActivityQuery, AthleteSession};

use crate::fetch::Stamp;
use crate::outcome::{Outcome, Step};
use crate::{Consumer, Priority};

/// Version of activities imported by backfill: any real event supersedes them.
const BACKFILL_VERSION: i64 = 0;
const PER_PAGE: u32 = 200;

/// How a backfill ends: which tracked import it is, what it was charged, and the first
/// day of its range when it ran to it.
#[derive(Debug, Clone, Copy)]
struct Ending {
    requested_at: Option<i64>,
    charged: Option<u32>,
    range_start: Option<LocalDate>,
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// Backfill and reconcile: page the activity list (200 a page), import what is
    /// missing with the list summary (no detail call), hand over to a continuation message
    /// after `backfill_batch` imports or when the background budget runs out.
    #[tracing::instrument(skip_all, fields(athlete_id = job.athlete_id()))]
    pub(crate) async fn backfill(&self, job: &Job) -> Step<()> {
        let (
            athlete,
            most_recent,
            after,
            before,
            mut page,
            mut index,
            mut done,
            requested_at,
            refresh,
            charged,
            mut total,
        ) = match *job {
            Job::Backfill {
                athlete_id,
                most_recent,
                after,
                before,
                page,
                index,
                done,
                requested_at,
                refresh,
                charged,
                imported,
            } => (athlete_id, most_recent, after, before, page, index, done, requested_at, refresh, charged, imported),
            Job::Reconcile { athlete_id, since } => {
                (athlete_id, None, Some(since), None, 1, 0, 0, None, false, None, 0)
            }
            _ => return Ok(()),
        };
        // A history import of a date range that runs to its end knows where the history
        // begins (a reconcile looks only at what is new).
        let range_start = match *job {
            Job::Backfill { after: Some(after), .. } => Some(LocalDate::from_unix_seconds(after.saturating_add(1))),
            _ => None,
        };
        if self.tokens(athlete).await?.is_none() {
            tracing::info!(outcome = "not_connected", "backfill of an athlete without tokens dropped");
            return Ok(());
        }
        if let Some(id) = requested_at
            && !self.claim_backfill(job, id).await?
        {
            // A request that does not run is charged nothing.
            if let Some(c) = charged.filter(|_| (page, index, done) == (1, 0, 0)) {
                self.store.refund_backfill(athlete, LocalDate::from_unix_seconds(id), c).await?;
            }
            return Ok(());
        }
        let mut imported = 0u32;
        let continuation = |page: u32, index: u32, done: u32, total: u32| Job::Backfill {
            athlete_id: athlete,
            most_recent,
            after,
            before,
            page,
            index,
            done,
            requested_at,
            refresh,
            charged,
            imported: total,
        };
        let ending = Ending { requested_at, charged, range_start: None };
        loop {
            if imported >= self.policy.backfill_batch {
                // Hand over before listing a page this message would not get to import.
                return self.hand_over(&continuation(page, index, done, total)).await;
            }
            let mut session = AthleteSession::new(&self.strava, &self.vault, athlete);
            let query = ActivityQuery { before, after, page, per_page: PER_PAGE };
            let list = match self.call(athlete, Priority::Background, session.activities(query)).await {
                Ok(list) => list.unwrap_or_default(),
                Err(Outcome::Defer { .. }) if imported > 0 => {
                    return self.hand_over(&continuation(page, index, done, total)).await;
                }
                Err(o) => return Err(o),
            };
            for (i, summary) in list.iter().enumerate().skip(index as usize) {
                if most_recent.is_some_and(|n| done >= n) {
                    return self.finish_backfill(athlete, done, total, ending).await;
                }
                if imported >= self.policy.backfill_batch {
                    return self.hand_over(&continuation(page, i as u32, done, total)).await;
                }
                // Import what is missing, or live but still waiting for its streams (keeping
                // its version), or, re-syncing, any live one (keeping its versions: the
                // list summary is Strava's current state); a tombstone stays.
                let needed = match self.store.get_activity(athlete, summary.id).await? {
                    None => Some(Stamp::from(BACKFILL_VERSION)),
                    Some(ActivityState::Live(a)) if a.pending_streams || refresh => Some(Stamp::of(&a)),
                    Some(_) => None,
                };
                if let Some(stamp) = needed {
                    match self.fetch_and_store(athlete, summary.id, stamp, Some(summary), 1, Priority::Background).await
                    {
                        Ok(()) => (imported, total) = (imported + 1, total + 1),
                        Err(Outcome::Defer { .. }) => {
                            return self.hand_over(&continuation(page, i as u32, done, total)).await;
                        }
                        Err(o) => return Err(o),
                    }
                }
                done += 1;
            }
            if list.len() < PER_PAGE as usize {
                return self.finish_backfill(athlete, done, total, Ending { range_start, ..ending }).await;
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
        if let Job::Backfill { athlete_id, done, imported, requested_at: Some(id), .. } = *next {
            self.update_progress(athlete_id, id, done, imported).await?;
        }
        tracing::info!(athlete_id = next.athlete_id(), outcome = "continued", "backfill handed over");
        Ok(())
    }

    /// Records the end of a backfill (`done` looked at, `imported` fetched and stored):
    /// the import's progress finished; where the history begins, for a range imported to
    /// its first day; and what it was charged but did not import, given back.
    async fn finish_backfill(&self, athlete: AthleteId, done: u32, imported: u32, ending: Ending) -> Step<()> {
        let now = self.now();
        let Ending { requested_at, charged, range_start } = ending;
        let stored = self
            .store
            .update_profile(athlete, |p| {
                p.last_sync = Some(now);
                if let Some(start) = range_start {
                    p.history_imported_from = Some(p.history_imported_from.map_or(start, |d| d.min(start)));
                }
                if let Some(b) = p.backfill.as_mut().filter(|b| Some(b.requested_at) == requested_at) {
                    (b.done, b.imported, b.updated_at, b.finished_at) = (done, imported, now, Some(now));
                }
                true
            })
            .await?;
        if let (Some(_), Some(charged), Some(id)) = (stored, charged, requested_at)
            && charged > imported
        {
            self.store.refund_backfill(athlete, LocalDate::from_unix_seconds(id), charged - imported).await?;
        }
        tracing::info!(activities = done, imported, outcome = "backfilled", "backfill complete");
        Ok(())
    }
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// One tracked import runs at a time per athlete. A job of the running import (`id`
    /// matches) goes on; a new request starts one when none runs (recording it in the
    /// profile); anything else (a second request while one runs, a continuation of an
    /// import that was superseded) is dropped. False when dropped.
    async fn claim_backfill(&self, job: &Job, id: i64) -> Step<bool> {
        let Job::Backfill { athlete_id, most_recent, after, before, page, index, done, refresh, .. } = *job else {
            return Ok(true);
        };
        let now = self.now();
        let fresh = (page, index, done) == (1, 0, 0);
        // Decided on the profile as stored when the claim is written (a conditional write).
        let mut verdict = Ok(());
        let stored = self
            .store
            .update_profile(athlete_id, |profile| {
                verdict = Ok(());
                let current = profile.backfill.as_ref();
                if current.is_some_and(|b| b.requested_at == id && b.finished_at.is_none()) {
                    return false; // a job of the running import
                }
                if let Some(running) = current.filter(|b| b.is_running(now)) {
                    verdict = Err(Some(running.requested_at));
                    return false;
                }
                if !fresh {
                    verdict = Err(None);
                    return false;
                }
                profile.backfill = Some(BackfillProgress {
                    requested_at: id,
                    updated_at: now,
                    most_recent,
                    after,
                    before,
                    done: 0,
                    imported: 0,
                    finished_at: None,
                    refresh,
                });
                true
            })
            .await?;
        match verdict {
            _ if stored.is_none() => Ok(true),
            Ok(()) => Ok(true),
            Err(Some(running)) => {
                tracing::info!(
                    running,
                    requested = id,
                    outcome = "backfill_busy",
                    "backfill dropped: another one is running"
                );
                Ok(false)
            }
            Err(None) => {
                tracing::info!(
                    requested = id,
                    outcome = "backfill_superseded",
                    "continuation of a finished or replaced backfill dropped"
                );
                Ok(false)
            }
        }
    }

    async fn update_progress(&self, athlete: AthleteId, id: i64, done: u32, imported: u32) -> Step<()> {
        let now = self.now();
        self.store
            .update_profile(athlete, |p| match p.backfill.as_mut().filter(|b| b.requested_at == id) {
                Some(b) => {
                    (b.done, b.imported, b.updated_at) = (done, imported, now);
                    true
                }
                None => false,
            })
            .await?;
        Ok(())
    }
}
