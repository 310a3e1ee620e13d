//! Each slice of the read side, computed in one place from the stores and answered as a
//! typed value: the read API serialises it as its JSON, the operator CLI prints it. The
//! slices read through the read roles of the storage ports ([`ReadStore`], and
//! [`ProfileStore`] where the caller has no profile yet) and hold at most one page of
//! activities, whatever the history.

use serde::Serialize;
use stravasync_core::LocalDate;
use stravasync_core::codec::decode_chunks;
use stravasync_core::metrics::{ActivityMetrics, PEAK_WINDOWS};
use stravasync_core::model::{
    ActivityId, ActivityState, ActivitySummary, AthleteId, AthleteProfile, PmcConstants, PmcRow, Scopes,
    StoredActivity, Thresholds,
};
use stravasync_core::ports::{ActivityCursor, ProfileStore, ReadStore, StoreError, activities_by_page};

use crate::insight::{
    self, BestsRange, CpView, EfTrend, Estimates, FORM_ZONES, Form, FormZone, ModelFold, OVERREACHING_DAYS,
    OVERREACHING_TSB, RAMP_NOTE_ABOVE, SeasonBests, Settling, Week, WeeklyTotals,
};
use crate::query::{MAX_PAGE, PageCursor};
use crate::views::{ActivityRow, ChartStreams, WbalLine};
use stravasync_core::analysis::analyse_activity;
use stravasync_core::thresholds::{SportGroup, ThresholdsInForce};

pub use crate::error::ReadError;

fn unavailable(what: &'static str) -> impl Fn(StoreError) -> ReadError {
    move |error| ReadError::Unavailable { what, error }
}

/// Activities read per page by the slices that fold a range: one page held at a time
/// (about 1.7 KB an item on DynamoDB).
pub const FOLD_PAGE: usize = MAX_PAGE;

// ---- the athlete ----

/// What the site lets one athlete ask for, shown with their profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub backfill_daily_activities: u32,
    /// What remains of today's allowance (the import form says it up front).
    pub backfill_remaining_today: u32,
    pub export_every_s: i64,
}

/// The latest history import as the dashboard follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackfillStatus {
    pub requested_at: i64,
    pub updated_at: i64,
    pub most_recent: Option<u32>,
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub done: u32,
    /// Of those looked at, fetched and stored: what the import is charged for.
    pub imported: u32,
    pub finished_at: Option<i64>,
    pub refresh: bool,
    pub running: bool,
}

/// The sync status of the athlete's activities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub activities_stored: usize,
    pub pending_streams: usize,
    pub last_event_at: Option<i64>,
    pub last_sync: Option<i64>,
    pub backfill: Option<BackfillStatus>,
    /// A threshold change is stored but its rescore has not finished.
    pub rescore_pending: bool,
    /// The chart is waiting to be recomputed (something changed since its rows were
    /// written): the page waits for it before it reloads the chart.
    pub pmc_pending: bool,
}

/// `GET /api/me`: the profile, the thresholds in force today (cycling's FTP, running's
/// threshold speed, the default heart rates; the history is `GET /api/me/thresholds`),
/// scopes, sync status and limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Me {
    pub athlete_id: AthleteId,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub scopes: Scopes,
    pub thresholds: Thresholds,
    pub pmc_constants: PmcConstants,
    pub sync: SyncStatus,
    pub limits: Limits,
}

pub async fn me<S: ReadStore + ProfileStore>(
    store: &S,
    p: &AthleteProfile,
    limits: Limits,
    now: i64,
) -> Result<Me, ReadError> {
    let (history, _) = crate::thresholds::current(store, p).await?;
    let thresholds = crate::thresholds::today(&history, &p.thresholds, LocalDate::from_unix_seconds(now));
    let counts = store.activity_counts(p.athlete_id).await.map_err(unavailable("activities"))?;
    let pmc_pending = store.pmc_dirty_mark(p.athlete_id).await.map_err(unavailable("pmc"))?.is_some();
    let backfill = p.backfill.as_ref().map(|b| BackfillStatus {
        requested_at: b.requested_at,
        updated_at: b.updated_at,
        most_recent: b.most_recent,
        after: b.after,
        before: b.before,
        done: b.done,
        imported: b.imported,
        finished_at: b.finished_at,
        refresh: b.refresh,
        running: b.is_running(now),
    });
    Ok(Me {
        athlete_id: p.athlete_id,
        firstname: p.firstname.clone(),
        lastname: p.lastname.clone(),
        scopes: p.scopes.clone(),
        thresholds,
        pmc_constants: p.pmc,
        sync: SyncStatus {
            activities_stored: counts.stored,
            pending_streams: counts.pending_streams,
            last_event_at: p.last_event_at,
            last_sync: p.last_sync,
            backfill,
            rescore_pending: p.rescored_version < p.thresholds_version,
            pmc_pending,
        },
        limits,
    })
}

/// The connected athlete's profile, for a caller that holds none yet (the operator CLI).
pub async fn profile<S: ProfileStore>(store: &S, athlete: AthleteId) -> Result<AthleteProfile, ReadError> {
    store
        .get_profile(athlete)
        .await
        .map_err(unavailable("profile"))?
        .ok_or_else(|| ReadError::NotFound(format!("athlete {athlete} is not connected (no profile)")))
}

// ---- the chart ----

/// `GET /api/pmc?from&to`: the stored rows of the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PmcAnswer {
    pub from: LocalDate,
    pub to: LocalDate,
    pub rows: Vec<PmcRow>,
}

pub async fn pmc<S: ReadStore>(
    store: &S,
    athlete: AthleteId,
    from: LocalDate,
    to: LocalDate,
) -> Result<PmcAnswer, ReadError> {
    let rows = store.pmc_rows(athlete, from, to).await.map_err(unavailable("pmc"))?;
    Ok(PmcAnswer { from, to, rows })
}

/// `GET /api/form`: today's form (`None` before anything is scored), with the bands and
/// the banner's rule, which the chart and the page show, and where the history begins and
/// CTL settles (`None` without any stored history).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormAnswer {
    pub today: LocalDate,
    pub form: Option<Form>,
    pub settling: Option<Settling>,
    pub zones: &'static [FormZone],
    pub overreaching_below: f64,
    pub overreaching_days: usize,
    pub ramp_note_above: f64,
}

pub async fn form<S: ReadStore>(
    store: &S,
    profile: &AthleteProfile,
    today: LocalDate,
) -> Result<FormAnswer, ReadError> {
    let (athlete, constants) = (profile.athlete_id, profile.pmc);
    let (first, last) = insight::form_read_days(today);
    let rows = store.pmc_rows(athlete, first, last).await.map_err(unavailable("pmc"))?;
    let first_activity = store.first_activity_date(athlete).await.map_err(unavailable("activities"))?;
    let settling = insight::history_start(first_activity, profile.history_imported_from)
        .map(|from| Settling::new(from, constants, today));
    let form = insight::form(&rows, today, constants).map(|f| match &settling {
        Some(s) => s.apply(f),
        None => f,
    });
    Ok(FormAnswer {
        today,
        form,
        settling,
        zones: &FORM_ZONES,
        overreaching_below: OVERREACHING_TSB,
        overreaching_days: OVERREACHING_DAYS,
        ramp_note_above: RAMP_NOTE_ABOVE,
    })
}

// ---- insight ----

/// `GET /api/bests?range`: the bests of each peak window over the range, and the FTP and
/// threshold pace estimated from the last 90 days next to the stored ones.
/// With them the CP/W′ fit of the last 90 days' rides and the EF trend (§6b), and the
/// thresholds in force today that the estimates are compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestsAnswer {
    pub windows: &'static [usize],
    pub bests: SeasonBests,
    pub estimates: Estimates,
    pub cp: CpView,
    pub ef_trend: EfTrend,
    /// Today's cycling and running thresholds (what "Use" replaces).
    pub cycling_today: ThresholdsInForce,
    pub running_today: ThresholdsInForce,
}

pub async fn bests<S: ReadStore + ProfileStore>(
    store: &S,
    profile: &AthleteProfile,
    range: BestsRange,
    today: LocalDate,
) -> Result<BestsAnswer, ReadError> {
    let (first, last) = insight::bests_read_days(range, today);
    let mut bests = SeasonBests::new(range, today);
    let mut recent = SeasonBests::new(BestsRange::Days90, today);
    let mut model = ModelFold::new(today);
    activities_by_page(store, profile.athlete_id, first, last, FOLD_PAGE, |page| {
        for a in page {
            bests.add(a);
            recent.add(a);
            model.add(a);
        }
    })
    .await
    .map_err(unavailable("activities"))?;
    let (history, _) = crate::thresholds::current(store, profile).await?;
    let cycling_today = history.in_force(SportGroup::Cycling, today);
    let running_today = history.in_force(SportGroup::Running, today);
    let estimates = insight::estimates_from(&recent, cycling_today.ftp, running_today.threshold_speed);
    let (cp, ef_trend) = model.finish();
    Ok(BestsAnswer { windows: &PEAK_WINDOWS, bests, estimates, cp, ef_trend, cycling_today, running_today })
}

/// `GET /api/weeks`: the last 12 weeks, Monday to Sunday, in total and per sport.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeksAnswer {
    pub weeks: Vec<Week>,
}

/// The weeks up to the athlete's own this week ([`insight::athlete_today`] at `now`).
pub async fn weeks<S: ReadStore>(store: &S, athlete: AthleteId, now: i64) -> Result<WeeksAnswer, ReadError> {
    let newest = store.activities_page(athlete, None, 1).await.map_err(unavailable("activities"))?;
    let today = insight::athlete_today(now, newest.first().map(|a| &a.summary));
    let (first, last) = insight::weeks_read_days(today);
    let mut totals = WeeklyTotals::new(today);
    activities_by_page(store, athlete, first, last, FOLD_PAGE, |page| page.iter().for_each(|a| totals.add(a)))
        .await
        .map_err(unavailable("activities"))?;
    Ok(WeeksAnswer { weeks: totals.weeks() })
}

// ---- activities ----

/// `GET /api/activities?before&limit`: one page, newest first, and where the next begins
/// (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityPage {
    pub activities: Vec<ActivityRow>,
    pub next: Option<PageCursor>,
}

pub async fn activity_page<S: ReadStore>(
    store: &S,
    athlete: AthleteId,
    before: Option<ActivityCursor>,
    limit: usize,
) -> Result<ActivityPage, ReadError> {
    let page = store.activities_page(athlete, before, limit).await.map_err(unavailable("activities"))?;
    let next = (page.len() == limit).then(|| page.last().map(|a| PageCursor(ActivityCursor::after(a)))).flatten();
    Ok(ActivityPage { activities: page.iter().map(ActivityRow::of).collect(), next })
}

/// `GET /api/activities/{id}`: the list line, Strava's summary as stored, the metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityDetail {
    pub activity: ActivityRow,
    pub summary: ActivitySummary,
    pub metrics: Option<ActivityMetrics>,
    pub has_streams: bool,
    /// What the decoupling says, with its reference (docs/design.md §6b).
    pub decoupling_reading: Option<&'static str>,
}

/// An activity id of a path: a positive number.
pub fn activity_id(field: &str, value: &str) -> Result<ActivityId, ReadError> {
    value.parse().ok().filter(|id: &ActivityId| *id > 0).ok_or_else(|| {
        ReadError::Bad(stravasync_core::json::field_error(field, format!("{value:?} is not an activity id")))
    })
}

/// A live activity of the athlete; `NotFound` for any other id (another athlete's included:
/// it is not in this athlete's partition).
pub async fn live_activity<S: ReadStore>(
    store: &S,
    athlete: AthleteId,
    id: ActivityId,
) -> Result<StoredActivity, ReadError> {
    match store.get_activity(athlete, id).await.map_err(unavailable("activity"))? {
        Some(ActivityState::Live(a)) => Ok(*a),
        _ => Err(ReadError::NotFound(format!("no activity {id}"))),
    }
}

pub async fn activity<S: ReadStore>(
    store: &S,
    athlete: AthleteId,
    id: ActivityId,
) -> Result<ActivityDetail, ReadError> {
    let a = live_activity(store, athlete, id).await?;
    let row = ActivityRow::of(&a);
    Ok(ActivityDetail {
        decoupling_reading: row.decoupling_pct.map(insight::decoupling_reading),
        activity: row,
        has_streams: a.streams_ref().is_some(),
        summary: a.summary,
        metrics: a.metrics,
    })
}

/// `GET /api/activities/{id}/streams?resolution`: charted from the stored samples in one
/// pass ([`ChartStreams::of`]), whatever span they claim; for a ride with a CP and W′ in
/// force on its day, with its W′ balance, computed from the same samples.
pub async fn activity_streams<S: ReadStore + ProfileStore>(
    store: &S,
    profile: &AthleteProfile,
    id: ActivityId,
    resolution: usize,
) -> Result<ChartStreams, ReadError> {
    let a = live_activity(store, profile.athlete_id, id).await?;
    let no_streams = || ReadError::NotFound(format!("activity {} has no streams", a.activity_id));
    let Some(set) = a.streams_ref() else {
        return Err(no_streams());
    };
    let chunks =
        store.get_stream_chunks(profile.athlete_id, a.activity_id, set).await.map_err(unavailable("streams"))?;
    let decoded = decode_chunks(&chunks).map_err(|e| {
        ReadError::Damaged(format!("the stored streams of activity {} are damaged ({e})", a.activity_id))
    })?;
    drop(chunks);
    let mut chart = ChartStreams::of(&decoded, resolution).ok_or_else(no_streams)?;
    if chart.watts.is_some() && a.metrics.as_ref().is_some_and(|m| m.group == Some(SportGroup::Cycling)) {
        let (history, _) = crate::thresholds::current(store, profile).await?;
        // The analysis refuses what scoring refused too (a damaged history, an over-long
        // recording): the chart is drawn without the line then.
        if let Ok(analysis) = analyse_activity(&a.summary, &decoded, &history) {
            chart.wbal = analysis.wbal.as_ref().and_then(|w| WbalLine::at(w, &chart.time));
        }
    }
    Ok(chart)
}

// ---- changes ----

/// `202` to a change the consumer will carry out (`PUT /api/me/thresholds`): what will be
/// stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accepted<T> {
    pub status: &'static str,
    pub thresholds: T,
}

impl<T> Accepted<T> {
    pub fn new(thresholds: T) -> Self {
        Accepted { status: "accepted", thresholds }
    }
}

/// `202` to `POST /api/backfill`: how many activities the import may bring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackfillAccepted {
    pub status: &'static str,
    pub activities: u32,
}

impl BackfillAccepted {
    pub fn new(activities: u32) -> Self {
        BackfillAccepted { status: "accepted", activities }
    }
}

/// `POST /api/me/disconnect`: deleted, or still being deleted, and where to go next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disconnection {
    pub status: &'static str,
    pub next: &'static str,
}

impl Disconnection {
    pub fn new(deleted: bool) -> Self {
        if deleted {
            Disconnection { status: "deleted", next: "/disconnected" }
        } else {
            Disconnection { status: "deleting", next: "/disconnected?pending=1" }
        }
    }
}

/// `GET /api/export` asked for JSON: the one-time link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportLink {
    pub url: String,
}

/// Every refusal: the reason, in words the athlete reads; the request field at fault, for
/// the API's clients; and for a spent ration when to come back (the page says it once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<i64>,
}
