//! The rollup Lambda (EventBridge Scheduler), as a library so tests, the CLI and the demo
//! run the same code as the `rollup` binary.
//!
//! Requests (the schedule's `Input`):
//! - `{}` or `{"mode": "dirty"}` (hourly): every athlete with a "PMC dirty from" marker is
//!   recomputed from that day, from the stored state of the day before.
//! - `{"mode": "daily"}` (once a day): the above, then every athlete's series is extended
//!   to today (days without activities still get a row), and a reconcile job is enqueued
//!   for a seventh of the athletes (athlete id modulo 7 = day modulo 7), so each is
//!   reconciled once a week: the backstop for missed webhooks. A reconcile costs a list
//!   call; one per athlete per day would be 1,000 requests a day at 1,000 athletes, all of
//!   Strava's default daily budget ([`Rollup::with_reconcile_every`], `RECONCILE_EVERY_DAYS`).
//! - `{"athlete_id": N}` recomputes one athlete from their first activity (a full
//!   recompute; also after a change of time constants).
//!
//! Only rows that changed are written (BatchWriteItem, unprocessed items retried). The
//! marker is cleared only if it still holds the date this run started from, so an
//! activity stored during the rollup is not lost: its earlier date stays and the next run
//! picks it up.

#[cfg(feature = "aws")]
pub mod deps;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stravasync_core::LocalDate;
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::model::{AthleteId, PmcRow};
use stravasync_core::pmc::{self, PmcState};
use stravasync_core::ports::{DirtyMark, EventQueue, ProfileStore, QueueError, ReadStore, RollupStore, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Dirty,
    Daily,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RollupRequest {
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub athlete_id: Option<AthleteId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RollupReport {
    pub athletes: usize,
    /// PMC rows written: exactly the days whose values changed.
    pub rows_written: usize,
    pub reconciles_enqueued: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// The schedule's input is not a rollup request.
    #[error("rollup request: {0}")]
    Request(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// How far back a daily reconcile looks when an athlete has never been synced.
const RECONCILE_LOOKBACK_S: i64 = 2 * 86_400;

/// How far before the last sync a reconcile looks: Strava's `after` filters by an activity's
/// *start*, so a ride started at 23:00 and uploaded from the watch the next morning, after a
/// sync in between, would be missed if its push event was lost. Three days covers an upload
/// from a watch left unsynced over a weekend; the activities of the overlap that are stored
/// already are skipped without a streams request.
pub const RECONCILE_OVERLAP_S: i64 = 72 * 3600;

pub struct Rollup<S, Q> {
    pub store: S,
    pub queue: Q,
    /// Each athlete is reconciled every this many days (default 7).
    pub reconcile_every_days: u32,
}

/// Default of [`Rollup::reconcile_every_days`] (`RECONCILE_EVERY_DAYS`'s, in the manifest).
pub const RECONCILE_EVERY_DAYS: u32 = stravasync_core::config::manifest::RECONCILE_EVERY_DAYS.whole_default();

fn first_day() -> LocalDate {
    LocalDate::from_days_since_epoch(0)
}

impl<S: ProfileStore + ReadStore + RollupStore, Q: EventQueue> Rollup<S, Q> {
    pub fn new(store: S, queue: Q) -> Self {
        Rollup { store, queue, reconcile_every_days: RECONCILE_EVERY_DAYS }
    }

    /// Reconciles each athlete every `days` days (1: daily).
    pub fn with_reconcile_every(mut self, days: u32) -> Self {
        self.reconcile_every_days = days.max(1);
        self
    }

    /// Whether `athlete`'s turn to be reconciled is `today`.
    fn reconcile_due(&self, athlete: AthleteId, today: LocalDate) -> bool {
        let n = i64::from(self.reconcile_every_days);
        athlete.rem_euclid(n) == i64::from(today.days_since_epoch()).rem_euclid(n)
    }

    /// Runs one request; `now` is unix seconds (today is its UTC date).
    pub async fn run(&self, req: &RollupRequest, now: i64) -> Result<RollupReport, RollupError> {
        let report = Box::pin(self.run_unmeasured(req, now)).await?;
        let mode = if req.athlete_id.is_some() {
            "athlete"
        } else {
            match req.mode {
                Mode::Dirty => "dirty",
                Mode::Daily => "daily",
            }
        };
        use stravasync_core::telemetry::{ROLLUP_ATHLETES, ROLLUP_ROWS};
        metrics::counter!(ROLLUP_ATHLETES, "Mode" => mode).increment(report.athletes as u64);
        metrics::counter!(ROLLUP_ROWS, "Mode" => mode).increment(report.rows_written as u64);
        Ok(report)
    }

    async fn run_unmeasured(&self, req: &RollupRequest, now: i64) -> Result<RollupReport, RollupError> {
        let today = LocalDate::from_unix_seconds(now);
        let mut report = RollupReport::default();
        if let Some(athlete) = req.athlete_id {
            report.rows_written += self.recompute(athlete, None, today).await?;
            report.athletes = 1;
            return Ok(report);
        }
        for (athlete, mark) in self.store.dirty_athletes().await? {
            report.rows_written += recompute_from_mark(&self.store, athlete, mark, today).await?;
            report.athletes += 1;
        }
        if req.mode == Mode::Daily {
            for athlete in self.store.athletes().await? {
                report.rows_written += self.extend_to(athlete, today).await?;
                if !self.reconcile_due(athlete, today) {
                    continue;
                }
                let since = self
                    .store
                    .get_profile(athlete)
                    .await?
                    .and_then(|p| p.last_sync)
                    .map_or(now - RECONCILE_LOOKBACK_S, |last| last - RECONCILE_OVERLAP_S);
                let job = Job::Reconcile { athlete_id: athlete, since };
                self.queue.enqueue(&QueueMessage::for_job(&job, &format!("reconcile-{today}"))).await?;
                report.reconciles_enqueued += 1;
            }
        }
        tracing::info!(athletes = report.athletes, rows_written = report.rows_written, "rollup done");
        Ok(report)
    }

    async fn recompute(
        &self,
        athlete: AthleteId,
        from: Option<LocalDate>,
        today: LocalDate,
    ) -> Result<usize, RollupError> {
        Ok(recompute(&self.store, athlete, from, today).await?)
    }

    /// Adds zero-load rows from the last stored row up to today.
    async fn extend_to(&self, athlete: AthleteId, today: LocalDate) -> Result<usize, RollupError> {
        let recent = self.store.pmc_rows(athlete, today.add_days(-400), today).await?;
        let Some(last) = recent.last() else { return Ok(0) };
        if last.date >= today {
            return Ok(0);
        }
        let constants = self.store.get_profile(athlete).await?.map(|p| p.pmc).unwrap_or_default();
        let rows = pmc::roll_forward(last.date.add_days(1), today, PmcState::from(last), &BTreeMap::new(), constants);
        self.store.put_pmc_rows(athlete, &rows).await?;
        Ok(rows.len())
    }
}

/// Recomputes `athlete`'s PMC from `from` (or from the first activity) to today, from the
/// stored state of the day before; writes the rows that changed and returns how many.
pub async fn recompute<S: ProfileStore + ReadStore + RollupStore>(
    store: &S,
    athlete: AthleteId,
    from: Option<LocalDate>,
    today: LocalDate,
) -> Result<usize, StoreError> {
    let constants = store.get_profile(athlete).await?.map(|p| p.pmc).unwrap_or_default();
    // The state going into `from`: the stored row of the day before, if there is one.
    let prev = match from {
        Some(d) => store.pmc_rows(athlete, d.add_days(-1), d.add_days(-1)).await?.first().map(PmcState::from),
        None => None,
    };
    // One read of dates and loads: from `from` when the day before has a row, else the
    // whole history (the chart starts at the first activity, from zero).
    let horizon = today.add_days(366);
    let read_from = if prev.is_some() { from.unwrap_or_else(first_day) } else { first_day() };
    let loads = store.daily_loads(athlete, read_from, horizon).await?;
    let (start, prev) = match (from, prev) {
        (Some(d), Some(p)) => (d, p),
        _ => match loads.first() {
            Some((first, _)) => ((*first).min(from.unwrap_or(*first)), PmcState::default()),
            None => return Ok(0),
        },
    };
    let end = loads.last().map_or(today, |(d, _)| *d).max(today);
    // Days indexed from `start` in a Vec: no map, no clone of a stored activity.
    let mut by_day = vec![0.0; (start.days_until(end) + 1).max(0) as usize];
    for (date, load) in &loads {
        if let Some(slot) = usize::try_from(start.days_until(*date)).ok().and_then(|i| by_day.get_mut(i)) {
            *slot += load;
        }
    }
    let new_rows = pmc::roll_forward_days(start, prev, &by_day, constants);
    let old_rows = store.pmc_rows(athlete, start, end).await?;
    let changed: Vec<PmcRow> = pmc::changed_rows(&old_rows, &new_rows).into_iter().copied().collect();
    store.put_pmc_rows(athlete, &changed).await?;
    Ok(changed.len())
}

/// The rollup of one marked athlete: recomputed from the marker's day, then the marker
/// cleared unless something marked it meanwhile (that mark's rollup follows). The consumer
/// runs this for the athletes it just changed, so the chart follows at once rather than
/// at the next scheduled run; the schedule remains the backstop.
pub async fn recompute_from_mark<S: ProfileStore + ReadStore + RollupStore>(
    store: &S,
    athlete: AthleteId,
    mark: DirtyMark,
    today: LocalDate,
) -> Result<usize, StoreError> {
    let rows = recompute(store, athlete, Some(mark.from), today).await?;
    if !store.clear_pmc_dirty(athlete, mark).await? {
        tracing::info!(athlete_id = athlete, "marked again during the rollup; the next run picks it up");
    }
    Ok(rows)
}

/// [`recompute_from_mark`] of `athlete`'s current marker, if there is one.
pub async fn recompute_marked<S: ProfileStore + ReadStore + RollupStore>(
    store: &S,
    athlete: AthleteId,
    today: LocalDate,
) -> Result<usize, StoreError> {
    match store.pmc_dirty_mark(athlete).await? {
        Some(mark) => recompute_from_mark(store, athlete, mark, today).await,
        None => Ok(0),
    }
}
