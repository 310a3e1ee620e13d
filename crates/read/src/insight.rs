//! What the stored numbers mean (docs/design.md §6, insight): form zones and the
//! over-reaching warning on the PMC, the CTL ramp, season bests from the stored
//! per-activity peaks, thresholds estimated from them, and weekly totals. Pure functions
//! of stored rows and activities; the read API, the dashboard and the CLI show their
//! results.

use std::collections::BTreeMap;

use serde::Serialize;

use stravasync_core::LocalDate;
use stravasync_core::json::{FieldError, field_error};
use stravasync_core::metrics::{PEAK_WINDOWS, PeakSeries};
use stravasync_core::model::{ActivityId, PmcConstants, PmcRow, StoredActivity};
use stravasync_core::physiology::{CpBests, CpFit, cp_range};
use stravasync_core::pmc::{PmcState, roll_forward_days};
use stravasync_core::thresholds::{SportGroup, ThresholdGroup};

// ---- form ----

/// One band of TSB (form) on the chart: `lower < tsb <= upper` (`None`: unbounded).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FormZone {
    pub key: &'static str,
    pub label: &'static str,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// What the band means, in a sentence.
    pub meaning: &'static str,
}

/// The form bands GoldenCheetah and TrainingPeaks users know, top to bottom. The one
/// place these values live.
pub const FORM_ZONES: [FormZone; 5] = [
    FormZone {
        key: "transition",
        label: "Transition",
        lower: Some(25.0),
        upper: None,
        meaning: "very fresh: fitness is being lost (a break, or the days before a race)",
    },
    FormZone {
        key: "fresh",
        label: "Fresh",
        lower: Some(5.0),
        upper: Some(25.0),
        meaning: "rested: ready to race or to test",
    },
    FormZone {
        key: "neutral",
        label: "Neutral",
        lower: Some(-10.0),
        upper: Some(5.0),
        meaning: "maintaining: neither building nor recovering much",
    },
    FormZone {
        key: "optimal",
        label: "Optimal training",
        lower: Some(-30.0),
        upper: Some(-10.0),
        meaning: "building fitness: the load is productive",
    },
    FormZone {
        key: "high_risk",
        label: "High risk",
        lower: None,
        upper: Some(-30.0),
        meaning: "deep fatigue: risk of illness, injury or overtraining",
    },
];

/// The band `tsb` is in.
pub fn form_zone(tsb: f64) -> &'static FormZone {
    FORM_ZONES
        .iter()
        .find(|z| z.lower.is_none_or(|l| tsb > l) && z.upper.is_none_or(|u| tsb <= u))
        .unwrap_or(&FORM_ZONES[FORM_ZONES.len() - 1])
}

/// TSB below this for [`OVERREACHING_DAYS`] days or more in a row, up to today: the banner.
pub const OVERREACHING_TSB: f64 = -20.0;
pub const OVERREACHING_DAYS: usize = 3;
/// The banner's advice.
pub const OVERREACHING_MESSAGE: &str = "Fatigue is accumulating: your form has stayed below −20 for days. Schedule recovery (easy days or rest) before the next hard block.";

/// A CTL rise over 7 days above this is noted: 5–8 points a week is the ramp most
/// athletes sustain; above it the risk of illness and injury grows.
pub const RAMP_NOTE_ABOVE: f64 = 8.0;
pub const RAMP_MESSAGE: &str = "Fitness is rising faster than 8 points a week: a ramp few athletes sustain for long.";
/// The days over which the ramp is measured.
pub const RAMP_DAYS: i32 = 7;

/// The over-reaching warning: TSB below [`OVERREACHING_TSB`] every day from `since` to today.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overreaching {
    pub since: LocalDate,
    pub days: usize,
    pub message: &'static str,
}

/// The CTL ramp: CTL at the end of today minus CTL at the end of the day a week before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ramp {
    pub ctl_change: f64,
    pub days: i32,
    /// [`RAMP_MESSAGE`] when the change is above [`RAMP_NOTE_ABOVE`].
    pub note: Option<&'static str>,
}

/// Today's form, as the dashboard, `GET /api/form` and `stravasync pmc` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Form {
    pub date: LocalDate,
    pub ctl: f64,
    pub atl: f64,
    pub tsb: f64,
    pub zone: &'static FormZone,
    pub ramp: Ramp,
    pub overreaching: Option<Overreaching>,
    /// CTL is still settling on this day ([`Settling`]): the zone is shown as provisional,
    /// and neither the banner nor the ramp's note is raised.
    pub provisional: bool,
}

// ---- settling ----

/// CTL counts as settled once the stored history is this many CTL time constants long:
/// after three, what was missing before the history began weighs e^-3 ≈ 5 % of the
/// starting fitness.
pub const SETTLING_CONSTANTS: f64 = 3.0;

/// Where the athlete's stored history begins, and until when CTL is still *settling*:
/// a chart that starts from zero on a month of history reads as a steep build and deep
/// fatigue that the training never had. A day is settling while the history begins less
/// than [`SETTLING_CONSTANTS`] × the athlete's CTL time constant before it. Only the
/// beginning counts: a gap of months inside the history is rest, and the PMC carries it
/// at zero load as it does any day without activities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settling {
    /// The first stored activity's day, or the start of the earliest completed history
    /// import if that is earlier (an import of a range knows the days before its first
    /// activity were empty).
    pub history_from: LocalDate,
    /// The first settled day: `history_from` + ⌈3 × ctl_days⌉.
    pub settled_from: LocalDate,
    /// Why form is provisional, in a line ("your history starts on …").
    pub reason: String,
    /// For a settling today: the history import that would settle it (from ⌈3 × ctl_days⌉
    /// before today up to where the history begins).
    pub import_offer: Option<ImportOffer>,
}

/// A range of history to import, dates as the import form takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportOffer {
    pub after: LocalDate,
    pub before: LocalDate,
}

/// Days of history CTL needs: ⌈3 × ctl_days⌉.
pub fn settling_days(k: PmcConstants) -> i32 {
    (SETTLING_CONSTANTS * k.ctl_days).ceil().clamp(0.0, 100_000.0) as i32
}

/// The first day of the stored history: the earlier of the first stored activity and the
/// start of the earliest completed history import (`None` without either).
pub fn history_start(first_activity: Option<LocalDate>, imported_from: Option<LocalDate>) -> Option<LocalDate> {
    match (first_activity, imported_from) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Settling {
    pub fn new(history_from: LocalDate, k: PmcConstants, today: LocalDate) -> Self {
        let days = settling_days(k);
        let settled_from = history_from.add_days(days);
        let import_offer = (today < settled_from)
            .then(|| ImportOffer { after: today.add_days(-days), before: history_from })
            .filter(|o| o.after < o.before);
        Settling {
            history_from,
            settled_from,
            reason: format!(
                "Your history starts on {history_from}: fitness needs {days} days of it to settle, until {settled_from}. \
                 Import older activities for a reliable form."
            ),
            import_offer,
        }
    }

    /// Whether CTL on `day` still depends on the history missing before `history_from`.
    pub fn is_settling(&self, day: LocalDate) -> bool {
        day < self.settled_from
    }

    /// `form` as it may be read on its day: on a settling day provisional, without the
    /// banner or the ramp's note (they would report the chart's start from zero, not
    /// training).
    pub fn apply(&self, mut form: Form) -> Form {
        if self.is_settling(form.date) {
            form.provisional = true;
            form.overreaching = None;
            form.ramp.note = None;
        }
        form
    }
}

/// The stored rows (in date order, any range ending on or before `today`) carried on to
/// `today` the way the PMC carries days without activities (zero load), so that form is
/// today's even when the last stored row is older.
pub fn rows_to_today(rows: &[PmcRow], today: LocalDate, k: PmcConstants) -> Vec<PmcRow> {
    let mut out: Vec<PmcRow> = rows.iter().copied().filter(|r| r.date <= today).collect();
    let (first, prev) = match out.last() {
        Some(last) => (last.date.add_days(1), PmcState::from(last)),
        None => return out,
    };
    let missing = first.days_until(today) + 1;
    if missing > 0 {
        out.extend(roll_forward_days(first, prev, &vec![0.0; missing as usize], k));
    }
    out
}

/// Form on `today` from the stored rows up to it (at least the last 8 days for the ramp,
/// the streak needs as many as it lasts); `None` without any row (nothing scored yet).
pub fn form(rows: &[PmcRow], today: LocalDate, k: PmcConstants) -> Option<Form> {
    let rows = rows_to_today(rows, today, k);
    let last = *rows.last()?;
    let ctl_at = |date: LocalDate| rows.iter().rev().find(|r| r.date <= date).map_or(0.0, |r| r.ctl);
    let ctl_change = last.ctl - ctl_at(today.add_days(-RAMP_DAYS));
    let streak = rows
        .iter()
        .rev()
        .enumerate()
        .take_while(|(i, r)| r.date == today.add_days(-(*i as i32)) && r.tsb < OVERREACHING_TSB)
        .count();
    Some(Form {
        date: last.date,
        ctl: last.ctl,
        atl: last.atl,
        tsb: last.tsb,
        zone: form_zone(last.tsb),
        ramp: Ramp { ctl_change, days: RAMP_DAYS, note: (ctl_change > RAMP_NOTE_ABOVE).then_some(RAMP_MESSAGE) },
        overreaching: (streak >= OVERREACHING_DAYS).then(|| Overreaching {
            since: today.add_days(1 - streak as i32),
            days: streak,
            message: OVERREACHING_MESSAGE,
        }),
        provisional: false,
    })
}

// ---- ranges ----

/// The ranges season bests are shown over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BestsRange {
    #[serde(rename = "42d")]
    Days42,
    #[serde(rename = "90d")]
    Days90,
    #[serde(rename = "1y")]
    Year,
    All,
}

impl BestsRange {
    pub const ALL: [BestsRange; 4] = [BestsRange::Days42, BestsRange::Days90, BestsRange::Year, BestsRange::All];

    pub fn as_str(self) -> &'static str {
        match self {
            BestsRange::Days42 => "42d",
            BestsRange::Days90 => "90d",
            BestsRange::Year => "1y",
            BestsRange::All => "all",
        }
    }

    /// `?range=` (default 90 days).
    pub fn parse(field: &str, value: Option<&str>) -> Result<Self, FieldError> {
        let Some(value) = value else { return Ok(BestsRange::Days90) };
        BestsRange::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| field_error(field, format!("{value:?} is not one of 42d, 90d, 1y, all")))
    }

    /// The first local date of the range ending `today` (today counts as its last day).
    pub fn first_day(self, today: LocalDate) -> LocalDate {
        match self {
            BestsRange::Days42 => last_days(today, 42),
            BestsRange::Days90 => last_days(today, ESTIMATE_DAYS),
            BestsRange::Year => last_days(today, 365),
            BestsRange::All => LocalDate::from_days_since_epoch(0),
        }
    }
}

/// Form looks back this far for the start of a streak below −20 (a longer one is reported
/// from the first day read).
pub const FORM_LOOKBACK_DAYS: i32 = 365;

/// The days of PMC rows [`form`] is given by `GET /api/form` and `stravasync pmc`.
pub fn form_read_days(today: LocalDate) -> (LocalDate, LocalDate) {
    (today.add_days(-FORM_LOOKBACK_DAYS), today)
}

/// The days of activities `GET /api/bests` (and `stravasync bests`) reads for `range`:
/// the range's, and at least the last [`ESTIMATE_DAYS`] for the estimates.
pub fn bests_read_days(range: BestsRange, today: LocalDate) -> (LocalDate, LocalDate) {
    (range.first_day(today).min(last_days(today, ESTIMATE_DAYS)), today)
}

/// The days of activities the weekly totals read: [`WEEKS`] weeks, this one to its Sunday.
pub fn weeks_read_days(today: LocalDate) -> (LocalDate, LocalDate) {
    (weeks_first_day(today), week_start(today).add_days(6))
}

/// The first day of the last `days` days up to and including `today`.
pub fn last_days(today: LocalDate, days: i32) -> LocalDate {
    today.add_days(1 - days)
}

// ---- season bests ----

/// The stored peaks a best is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Watts, of every activity with power.
    Power,
    /// Beats per minute, of every activity with heart rate.
    Heartrate,
    /// Speed in m/s (the best pace is the highest speed), of runs only: a ride's speed is
    /// not a pace.
    Pace,
}

impl Channel {
    /// The activity's stored peak series of this channel.
    pub fn peaks(self, a: &StoredActivity) -> Option<&PeakSeries> {
        let peaks = &a.metrics.as_ref()?.peaks;
        match self {
            Channel::Power => peaks.watts.as_ref(),
            Channel::Heartrate => peaks.heartrate.as_ref(),
            Channel::Pace => peaks.velocity_smooth.as_ref().filter(|_| a.summary.sport().is_ok_and(|s| s.is_run())),
        }
    }
}

/// The best mean over one window, and the activity it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Best {
    pub window_s: usize,
    pub value: f64,
    pub activity_id: ActivityId,
    pub date: LocalDate,
    pub name: Option<String>,
    /// The activity on Strava ("View on Strava").
    pub strava_url: String,
}

/// Bests per window of [`PEAK_WINDOWS`] (`None` where no activity reaches the window).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelBests(pub Vec<Option<Best>>);

impl Default for ChannelBests {
    fn default() -> Self {
        ChannelBests(vec![None; PEAK_WINDOWS.len()])
    }
}

impl ChannelBests {
    pub fn get(&self, window_s: usize) -> Option<&Best> {
        PEAK_WINDOWS.iter().position(|&w| w == window_s).and_then(|i| self.0.get(i)?.as_ref())
    }

    /// Takes `a`'s stored peaks of `channel` where they beat the best so far: the plain
    /// maximum, whatever order the activities come in (of equal values, the earlier
    /// activity, by date then id, stays named).
    pub fn add(&mut self, a: &StoredActivity, channel: Channel) {
        let Some(series) = channel.peaks(a) else { return };
        for ((slot, value), &window_s) in self.0.iter_mut().zip(&series.0).zip(&PEAK_WINDOWS) {
            let Some(value) = value.filter(|v| v.is_finite() && *v > 0.0) else { continue };
            let beats = slot.as_ref().is_none_or(|b| {
                value > b.value || (value == b.value && (a.local_date, a.activity_id) < (b.date, b.activity_id))
            });
            if beats {
                *slot = Some(Best {
                    window_s,
                    value,
                    activity_id: a.activity_id,
                    date: a.local_date,
                    name: a.summary.name.clone(),
                    strava_url: crate::site::strava_activity_url(a.activity_id),
                });
            }
        }
    }
}

/// Every channel's bests over the activities dated `first..=last`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeasonBests {
    pub range: BestsRange,
    pub first: LocalDate,
    pub last: LocalDate,
    pub power: ChannelBests,
    pub heartrate: ChannelBests,
    pub pace: ChannelBests,
}

impl SeasonBests {
    /// No activity yet: [`SeasonBests::add`] them, in any order (a page at a time).
    pub fn new(range: BestsRange, today: LocalDate) -> Self {
        SeasonBests {
            range,
            first: range.first_day(today),
            last: today,
            power: ChannelBests::default(),
            heartrate: ChannelBests::default(),
            pace: ChannelBests::default(),
        }
    }

    /// Counts `a` if it is dated within the range.
    pub fn add(&mut self, a: &StoredActivity) {
        if (self.first..=self.last).contains(&a.local_date) {
            self.power.add(a, Channel::Power);
            self.heartrate.add(a, Channel::Heartrate);
            self.pace.add(a, Channel::Pace);
        }
    }
}

pub fn season_bests(activities: &[StoredActivity], range: BestsRange, today: LocalDate) -> SeasonBests {
    let mut bests = SeasonBests::new(range, today);
    activities.iter().for_each(|a| bests.add(a));
    bests
}

// ---- estimated thresholds ----

/// The estimates look at the last 90 days.
pub const ESTIMATE_DAYS: i32 = 90;
/// Estimated FTP: this share of the best 20-minute power.
pub const EFTP_SHARE: f64 = 0.95;
pub const EFTP_WINDOW_S: usize = 1200;
/// Estimated threshold pace: the best 30-minute pace itself (a 30-minute all-out run is
/// run at about threshold pace).
pub const PACE_SHARE: f64 = 1.0;
pub const PACE_WINDOW_S: usize = 1800;
/// An estimate further than this from the stored threshold is offered for use.
pub const SUGGEST_ABOVE: f64 = 0.03;

pub const EFTP_DEFINITION: &str =
    "Estimated FTP: 95 % of your best 20-minute power of the last 90 days (every activity with power).";
pub const PACE_DEFINITION: &str = "Estimated threshold pace: your best 30-minute pace of the last 90 days (runs only), as a 30-minute all-out effort is run at about threshold pace.";

/// A threshold estimated from a best, next to the stored one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// FTP in watts, or threshold speed in m/s, as the threshold would be stored
    /// (rounded: whole watts, millimetres per second).
    pub value: f64,
    pub stored: Option<f64>,
    /// `(value − stored) / stored`; `None` without a stored threshold.
    pub change: Option<f64>,
    /// Differs from the stored threshold by more than [`SUGGEST_ABOVE`] (or none is stored).
    pub suggest: bool,
    /// The best it was estimated from.
    pub from: Best,
    pub definition: &'static str,
}

fn estimate(
    best: Option<&Best>,
    share: f64,
    round_to: f64,
    stored: Option<f64>,
    definition: &'static str,
) -> Option<Estimate> {
    let best = best?;
    let value = (best.value * share / round_to).round() * round_to;
    let change = stored.filter(|s| *s > 0.0).map(|s| (value - s) / s);
    Some(Estimate {
        value,
        stored,
        change,
        suggest: change.is_none_or(|c| c.abs() > SUGGEST_ABOVE),
        from: best.clone(),
        definition,
    })
}

/// Estimated FTP and threshold pace from the activities of the last [`ESTIMATE_DAYS`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimates {
    pub first: LocalDate,
    pub ftp: Option<Estimate>,
    pub threshold_speed: Option<Estimate>,
}

/// The estimates from the bests of the last [`ESTIMATE_DAYS`] (a [`BestsRange::Days90`]
/// [`SeasonBests`]).
pub fn estimates_from(recent: &SeasonBests, stored_ftp: Option<f64>, stored_speed: Option<f64>) -> Estimates {
    debug_assert_eq!(recent.range, BestsRange::Days90, "the estimates look at the last 90 days");
    Estimates {
        first: recent.first,
        ftp: estimate(recent.power.get(EFTP_WINDOW_S), EFTP_SHARE, 1.0, stored_ftp, EFTP_DEFINITION),
        threshold_speed: estimate(recent.pace.get(PACE_WINDOW_S), PACE_SHARE, 0.001, stored_speed, PACE_DEFINITION),
    }
}

pub fn estimates(
    activities: &[StoredActivity],
    today: LocalDate,
    stored_ftp: Option<f64>,
    stored_speed: Option<f64>,
) -> Estimates {
    estimates_from(&season_bests(activities, BestsRange::Days90, today), stored_ftp, stored_speed)
}

// ---- weekly totals ----

/// Weekly totals cover this many weeks, the current one included.
pub const WEEKS: usize = 12;

/// The Monday of `date`'s week (weeks run Monday to Sunday).
/// The athlete's today at `now`: the date where they are, taken from the time zone of their
/// newest activity (Strava's local start time less its UTC one); UTC's without one. The
/// weekly totals' "this week" is the athlete's week, not the server's.
pub fn athlete_today(now: i64, newest: Option<&stravasync_core::model::ActivitySummary>) -> LocalDate {
    LocalDate::from_unix_seconds(now + newest.and_then(|s| s.utc_offset_s()).unwrap_or(0))
}

pub fn week_start(date: LocalDate) -> LocalDate {
    // 1970-01-01 was a Thursday: day 0 is weekday 3 counting from Monday = 0.
    let weekday = (date.days_since_epoch() + 3).rem_euclid(7);
    date.add_days(-weekday)
}

/// Sums over some activities.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Totals {
    pub count: usize,
    /// Sum of the scores (an unscored activity adds 0).
    pub load: f64,
    pub moving_time_s: i64,
    pub distance_m: f64,
}

impl Totals {
    fn add(&mut self, a: &StoredActivity) {
        self.count += 1;
        self.load += a.load();
        self.moving_time_s += a.summary.moving_time.unwrap_or(0).max(0);
        self.distance_m += a.summary.distance.filter(|d| d.is_finite()).unwrap_or(0.0).max(0.0);
    }
}

/// One week, Monday to Sunday of the athlete's local dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    pub start: LocalDate,
    pub end: LocalDate,
    pub total: Totals,
    /// By sport type (Strava's `sport_type`; "Other" when it has none).
    pub sports: BTreeMap<String, Totals>,
}

/// The first day weekly totals read from: the Monday [`WEEKS`] − 1 weeks before this one.
pub fn weeks_first_day(today: LocalDate) -> LocalDate {
    week_start(today).add_days(-7 * (WEEKS as i32 - 1))
}

/// The last [`WEEKS`] weeks up to `today`'s, oldest first, every week present, summed an
/// activity at a time ([`WeeklyTotals::add`], in any order).
pub struct WeeklyTotals {
    first: LocalDate,
    last: LocalDate,
    weeks: Vec<Week>,
}

impl WeeklyTotals {
    pub fn new(today: LocalDate) -> Self {
        let (first, last) = weeks_read_days(today);
        let weeks = (0..WEEKS as i32)
            .map(|i| Week {
                start: first.add_days(7 * i),
                end: first.add_days(7 * i + 6),
                total: Totals::default(),
                sports: BTreeMap::new(),
            })
            .collect();
        WeeklyTotals { first, last, weeks }
    }

    /// Counts `a` in its week, if it is dated within the weeks.
    pub fn add(&mut self, a: &StoredActivity) {
        if !(self.first..=self.last).contains(&a.local_date) {
            return;
        }
        let Some(week) = self.weeks.get_mut(self.first.days_until(a.local_date) as usize / 7) else { return };
        let sport = a.summary.sport_type.clone().or_else(|| a.summary.legacy_type.clone()).unwrap_or("Other".into());
        week.total.add(a);
        week.sports.entry(sport).or_default().add(a);
    }

    pub fn weeks(self) -> Vec<Week> {
        self.weeks
    }
}

pub fn weekly_totals(activities: &[StoredActivity], today: LocalDate) -> Vec<Week> {
    let mut totals = WeeklyTotals::new(today);
    activities.iter().for_each(|a| totals.add(a));
    totals.weeks()
}

// ---- the athlete model (docs/design.md §6b) ----

/// The 2-parameter CP/W′ fit of the last 90 days' rides, from each ride's
/// stored peaks at the model's durations: what the season-bests chart draws as
/// P(t) = CP + W′/t, with the reason when no fit is offered. A suggestion: nothing is
/// rescored until the athlete saves it as a cycling entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpView {
    #[serde(flatten)]
    pub fit: CpFit,
    /// The refusal in words (`None` with a fit).
    pub reason: Option<String>,
    pub first: LocalDate,
    /// Rides with power looked at.
    pub rides: usize,
}

/// The efficiency factor of each ride and run of the last [`EF_TREND_DAYS`] days, oldest
/// first: output per heartbeat rising at the same effort is aerobic fitness gained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EfTrend {
    pub first: LocalDate,
    pub cycling: Vec<EfPoint>,
    pub running: Vec<EfPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EfPoint {
    pub date: LocalDate,
    pub ef: f64,
    pub activity_id: ActivityId,
}

/// Days the EF trend covers.
pub const EF_TREND_DAYS: i32 = 90;

/// The CP fit and the EF trend, folded over the activities of a range that covers the
/// last 90 days, one page at a time.
#[derive(Debug, Clone)]
pub struct ModelFold {
    first: LocalDate,
    rides: Vec<(String, PeakSeries)>,
    trend: EfTrend,
}

impl ModelFold {
    pub fn new(today: LocalDate) -> Self {
        let first = *cp_range(today).start();
        ModelFold {
            first,
            rides: Vec::new(),
            trend: EfTrend { first: last_days(today, EF_TREND_DAYS), cycling: Vec::new(), running: Vec::new() },
        }
    }

    pub fn add(&mut self, a: &StoredActivity) {
        let Some(m) = &a.metrics else { return };
        let group = m.group.unwrap_or_else(|| SportGroup::of_summary(&a.summary));
        if group == SportGroup::Cycling
            && a.local_date >= self.first
            && let Some(watts) = &m.peaks.watts
        {
            self.rides.push((a.activity_id.to_string(), watts.clone()));
        }
        if a.local_date >= self.trend.first
            && let Some(ef) = m.ef
        {
            let point = EfPoint { date: a.local_date, ef, activity_id: a.activity_id };
            match group {
                SportGroup::Cycling => self.trend.cycling.push(point),
                SportGroup::Running => self.trend.running.push(point),
                SportGroup::Swimming | SportGroup::Other => {}
            }
        }
    }

    pub fn finish(mut self) -> (CpView, EfTrend) {
        let bests = CpBests::collect(ThresholdGroup::Cycling, self.rides.iter().map(|(n, p)| (n.as_str(), p)));
        let fit = bests.fit();
        let reason = fit.refused.map(|r| r.to_string());
        for points in [&mut self.trend.cycling, &mut self.trend.running] {
            points.sort_by_key(|p| (p.date, p.activity_id));
        }
        (CpView { fit, reason, first: self.first, rides: self.rides.len() }, self.trend)
    }
}

/// What a decoupling figure says, with its reference: under 5 % on a steady endurance
/// effort is aerobically fit (Friel; GoldenCheetah's Pw:HR and Pa:HR).
pub fn decoupling_reading(pct: f64) -> &'static str {
    if pct < 5.0 {
        "Under 5 %: on a steady endurance effort, aerobically fit (Friel; GoldenCheetah)."
    } else {
        "5 % or more: heart rate drifted up for the same output; on a steady endurance effort, aerobic endurance to build (Friel; GoldenCheetah)."
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stravasync_core::metrics::{ActivityMetrics, Peaks, Score, ScoreSource};
    use stravasync_core::model::ActivitySummary;
    use stravasync_core::pmc::{daily_loads, series};

    fn d(s: &str) -> LocalDate {
        s.parse().unwrap()
    }

    #[test]
    fn form_zones_cover_every_tsb_once_with_the_documented_bounds() {
        let cases = [
            (40.0, "transition"),
            (25.1, "transition"),
            (25.0, "fresh"),
            (5.1, "fresh"),
            (5.0, "neutral"),
            (0.0, "neutral"),
            (-9.9, "neutral"),
            (-10.0, "optimal"),
            (-29.9, "optimal"),
            (-30.0, "high_risk"),
            (-80.0, "high_risk"),
        ];
        for (tsb, key) in cases {
            assert_eq!(form_zone(tsb).key, key, "{tsb}");
        }
        // Adjacent bands share their bound; the outer ones are open.
        for pair in FORM_ZONES.windows(2) {
            assert_eq!(pair[0].lower, pair[1].upper);
        }
        assert_eq!((FORM_ZONES[0].upper, FORM_ZONES[4].lower), (None, None));
        let bounds: Vec<f64> = FORM_ZONES.iter().filter_map(|z| z.lower).collect();
        assert_eq!(bounds, vec![25.0, 5.0, -10.0, -30.0]);
    }

    fn rows(loads: &[(LocalDate, f64)]) -> Vec<PmcRow> {
        series(&daily_loads(loads.iter().copied()), PmcConstants::default())
    }

    #[test]
    fn a_hard_block_raises_the_banner_from_the_first_day_below_minus_20() {
        let start = d("2026-01-01");
        // 60 days of 50, then 10 days of 200.
        let loads: Vec<_> = (0..70).map(|i| (start.add_days(i), if i < 60 { 50.0 } else { 200.0 })).collect();
        let rows = rows(&loads);
        let today = start.add_days(69);
        let f = form(&rows, today, PmcConstants::default()).unwrap();
        let last = rows.last().unwrap();
        assert_eq!((f.date, f.ctl, f.atl, f.tsb), (today, last.ctl, last.atl, last.tsb));
        // The plain computation: the first day of the final run of TSB < −20.
        let mut since = None;
        for r in &rows {
            if r.tsb < -20.0 {
                since.get_or_insert(r.date);
            } else {
                since = None;
            }
        }
        let banner = f.overreaching.expect("banner");
        assert_eq!(banner.since, since.unwrap());
        assert_eq!(banner.days as i32, banner.since.days_until(today) + 1);
        assert!(banner.days >= 3);
        assert_eq!(f.zone.key, form_zone(last.tsb).key);
        // The ramp: CTL today minus CTL a week before.
        let week_ago = rows.iter().find(|r| r.date == today.add_days(-7)).unwrap();
        assert_eq!(f.ramp.ctl_change, last.ctl - week_ago.ctl);
        assert!(f.ramp.ctl_change > RAMP_NOTE_ABOVE);
        assert_eq!(f.ramp.note, Some(RAMP_MESSAGE));
    }

    #[test]
    fn two_days_below_or_a_break_in_the_streak_is_no_banner() {
        let start = d("2026-01-01");
        let base: Vec<_> = (0..60).map(|i| (start.add_days(i), 50.0)).collect();
        let steady = rows(&base);
        let f = form(&steady, start.add_days(59), PmcConstants::default()).unwrap();
        assert!(f.overreaching.is_none());
        assert!(f.ramp.note.is_none());
        // Find a block length whose TSB is below −20 exactly on the last two days.
        let mut found = false;
        for block in 1..10 {
            let mut loads = base.clone();
            loads.extend((0..block).map(|i| (start.add_days(60 + i), 250.0)));
            let r = rows(&loads);
            let below = r.iter().rev().take_while(|x| x.tsb < -20.0).count();
            let f = form(&r, r.last().unwrap().date, PmcConstants::default()).unwrap();
            assert_eq!(f.overreaching.is_some(), below >= 3, "block {block}: {below} days below");
            found |= below == 2;
        }
        assert!(found, "some block ends with exactly two days below −20");
    }

    #[test]
    fn form_is_carried_to_today_over_days_without_rows() {
        let start = d("2026-03-01");
        let r = rows(&[(start, 100.0)]);
        let today = start.add_days(10);
        let f = form(&r, today, PmcConstants::default()).unwrap();
        let full = rows(&[(start, 100.0), (today, 0.0)]);
        let last = full.last().unwrap();
        assert_eq!(f.date, today);
        assert!((f.ctl - last.ctl).abs() < 1e-12 && (f.tsb - last.tsb).abs() < 1e-12);
        assert!(form(&[], today, PmcConstants::default()).is_none());
    }

    fn activity(
        id: i64,
        date: &str,
        sport: &str,
        watts: Option<[Option<f64>; PEAK_WINDOWS.len()]>,
        speed: Option<[Option<f64>; PEAK_WINDOWS.len()]>,
    ) -> StoredActivity {
        let summary = serde_json::json!({
            "id": id, "name": format!("activity {id}"), "sport_type": sport,
            "start_date": format!("{date}T08:00:00Z"), "start_date_local": format!("{date}T08:00:00Z"),
            "moving_time": 3_600 + id, "distance": 10_000.0 + id as f64,
        });
        let mut a = StoredActivity {
            schema: 1,
            athlete_id: 1,
            activity_id: id,
            version: 1,
            local_date: d(date),
            summary: serde_json::from_value::<ActivitySummary>(summary).unwrap(),
            metrics: None,
            stream_chunks: 0,
            streams_id: None,
            unscored_reason: None,
            pending_streams: false,
            field_versions: Default::default(),
        };
        a.metrics = Some(ActivityMetrics {
            duration_s: 3_600,
            power: None,
            pace: None,
            heartrate: None,
            score: Score { source: ScoreSource::Power, value: Some(id as f64 * 1.5) },
            peaks: Peaks { watts: watts.map(PeakSeries), heartrate: None, velocity_smooth: speed.map(PeakSeries) },
            ..Default::default()
        });
        a
    }

    fn flat(v: f64) -> Option<[Option<f64>; PEAK_WINDOWS.len()]> {
        Some([Some(v); PEAK_WINDOWS.len()])
    }

    #[test]
    fn this_week_is_the_athletes_week() {
        let summary = |utc: &str, local: &str| -> ActivitySummary {
            serde_json::from_value(serde_json::json!({"id": 1, "start_date": utc, "start_date_local": local})).unwrap()
        };
        // Sunday 2026-12-06, 19:00 UTC: already Monday 05:00 in Sydney (UTC+10), still Sunday in UTC.
        let now = stravasync_core::date::parse_timestamp("2026-12-06T19:00:00Z").unwrap();
        let sydney = summary("2026-12-05T20:00:00Z", "2026-12-06T06:00:00Z");
        assert_eq!(athlete_today(now, Some(&sydney)), d("2026-12-07"));
        assert_eq!(week_start(athlete_today(now, Some(&sydney))), d("2026-12-07"), "a new week in Sydney");
        assert_eq!(week_start(athlete_today(now, None)), d("2026-11-30"), "UTC's week without an activity");
        // Los Angeles (UTC−8): Monday 02:00 UTC is still Sunday there.
        let la = summary("2026-12-01T16:00:00Z", "2026-12-01T08:00:00Z");
        let monday_utc = stravasync_core::date::parse_timestamp("2026-12-07T02:00:00Z").unwrap();
        assert_eq!(athlete_today(monday_utc, Some(&la)), d("2026-12-06"));
        // A summary whose times do not make a time zone counts as UTC.
        let odd = summary("2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z");
        assert_eq!(athlete_today(now, Some(&odd)), d("2026-12-06"));
    }

    #[test]
    fn bests_are_the_plain_maximum_of_the_stored_peaks_in_the_range() {
        let today = d("2026-06-30");
        let mut short = [Some(400.0); PEAK_WINDOWS.len()];
        let twenty = PEAK_WINDOWS.iter().position(|&w| w == 1200).unwrap();
        short[twenty..].fill(None); // shorter than 20 minutes
        let acts = vec![
            activity(1, "2026-01-10", "Ride", flat(500.0), None), // over 90 days ago
            activity(2, "2026-05-01", "Ride", flat(300.0), None),
            activity(3, "2026-06-01", "Ride", Some(short), None),
            activity(4, "2026-06-20", "Run", flat(250.0), flat(4.0)),
            activity(5, "2026-06-21", "Ride", None, flat(11.0)), // a ride's speed is no pace
        ];
        let b = season_bests(&acts, BestsRange::Days90, today);
        assert_eq!(b.first, d("2026-04-02"));
        for (i, &w) in PEAK_WINDOWS.iter().enumerate() {
            let plain = acts
                .iter()
                .filter(|a| a.local_date >= b.first)
                .filter_map(|a| a.metrics.as_ref()?.peaks.watts.as_ref()?.0[i].map(|v| (v, a.activity_id)))
                .fold(None, |m: Option<(f64, i64)>, x| if m.is_none_or(|m| x.0 > m.0) { Some(x) } else { m });
            let got = b.power.get(w).map(|x| (x.value, x.activity_id));
            assert_eq!(got, plain, "window {w}");
        }
        assert_eq!(b.power.get(1200).unwrap().activity_id, 2);
        // Any order gives the same bests, ties included (the earlier activity named).
        let mut tied = acts.clone();
        tied.push(activity(6, "2026-06-25", "Ride", flat(300.0), None));
        let mut reversed = tied.clone();
        reversed.reverse();
        assert_eq!(season_bests(&reversed, BestsRange::Days90, today), season_bests(&tied, BestsRange::Days90, today));
        assert_eq!(season_bests(&reversed, BestsRange::Days90, today).power.get(1800).unwrap().activity_id, 2);
        assert_eq!(b.power.get(5).unwrap().activity_id, 3);
        assert_eq!(b.pace.get(1800).map(|x| (x.value, x.activity_id)), Some((4.0, 4)));
        let all = season_bests(&acts, BestsRange::All, today);
        assert_eq!(all.power.get(1200).unwrap().activity_id, 1);
        assert!(all.heartrate.0.iter().all(Option::is_none));
        assert_eq!(BestsRange::parse("range", Some("1y")), Ok(BestsRange::Year));
        assert_eq!(BestsRange::parse("range", Some("2y")).unwrap_err().field, "range");
        assert_eq!(BestsRange::Days42.first_day(today).days_until(today), 41);
    }

    #[test]
    fn estimates_follow_their_definitions() {
        let today = d("2026-06-30");
        let acts = vec![
            activity(1, "2026-01-10", "Ride", flat(500.0), None),
            activity(2, "2026-05-01", "Ride", flat(300.0), None),
            activity(4, "2026-06-20", "Run", None, flat(4.1234)),
        ];
        let e = estimates(&acts, today, Some(250.0), Some(4.05));
        let ftp = e.ftp.unwrap();
        assert_eq!(ftp.value, (300.0f64 * 0.95).round());
        assert_eq!(ftp.from.activity_id, 2);
        assert!(ftp.suggest, "285 W is 14 % above 250 W");
        assert!((ftp.change.unwrap() - (285.0 - 250.0) / 250.0).abs() < 1e-12);
        let pace = e.threshold_speed.unwrap();
        assert_eq!(pace.value, 4.123);
        assert!(!pace.suggest, "3 % or less is no suggestion");
        // Within 3 %: no suggestion; none stored: a suggestion.
        assert!(!estimates(&acts, today, Some(280.0), None).ftp.unwrap().suggest);
        assert!(estimates(&acts, today, None, None).ftp.unwrap().suggest);
        assert!(estimates(&acts[..1], today, Some(250.0), None).ftp.is_none(), "nothing in 90 days");
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_sum_the_activities() {
        assert_eq!(week_start(d("2026-12-05")), d("2026-11-30")); // a Saturday
        assert_eq!(week_start(d("2026-11-30")), d("2026-11-30")); // a Monday
        assert_eq!(week_start(d("2026-12-06")), d("2026-11-30")); // a Sunday
        assert_eq!(week_start(d("1970-01-01")), d("1969-12-29"));
        let today = d("2026-12-05");
        let acts = vec![
            activity(1, "2026-09-13", "Ride", None, None), // the Sunday before the first week
            activity(2, "2026-09-14", "Ride", None, None), // the first week's Monday
            activity(3, "2026-11-30", "Run", None, None),
            activity(4, "2026-12-05", "Ride", None, None),
            activity(5, "2026-12-05", "Ride", None, None),
        ];
        let weeks = weekly_totals(&acts, today);
        assert_eq!(weeks.len(), WEEKS);
        assert_eq!((weeks[0].start, weeks[11].end), (d("2026-09-14"), d("2026-12-06")));
        assert_eq!(weeks[0].total.count, 1);
        let last = &weeks[11];
        assert_eq!((last.total.count, last.sports["Ride"].count, last.sports["Run"].count), (3, 2, 1));
        let plain: f64 = acts[2..].iter().map(StoredActivity::load).sum();
        assert_eq!(last.total.load, plain);
        assert_eq!(last.total.moving_time_s, 3 * 3_600 + 3 + 4 + 5);
        assert_eq!(last.sports["Ride"].distance_m, 20_009.0);
        assert!(weeks[1..11].iter().all(|w| w.total.count == 0));
    }

    /// A month of hard training from nothing: the chart starts at zero and reads as deep
    /// fatigue and a steep ramp. Settling silences both and says why.
    #[test]
    fn a_short_history_is_provisional_and_raises_no_banner() {
        let start = d("2026-11-01");
        let loads: Vec<_> = (0..32).map(|i| (start.add_days(i), 120.0)).collect();
        let r = rows(&loads);
        let today = start.add_days(31);
        let raw = form(&r, today, PmcConstants::default()).unwrap();
        assert!(raw.overreaching.is_some() && raw.ramp.note.is_some(), "the raw chart would warn");
        let settling = Settling::new(start, PmcConstants::default(), today);
        assert_eq!(settling.settled_from, start.add_days(126));
        assert!(settling.is_settling(today) && !settling.is_settling(start.add_days(126)));
        let f = settling.apply(raw.clone());
        assert!(f.provisional && f.overreaching.is_none() && f.ramp.note.is_none());
        assert_eq!((f.tsb, f.ctl, f.zone.key), (raw.tsb, raw.ctl, raw.zone.key), "the numbers stay");
        assert!(settling.reason.contains("2026-11-01") && settling.reason.contains("Import older activities"));
        assert_eq!(
            settling.import_offer,
            Some(ImportOffer { after: today.add_days(-126), before: start }),
            "what would settle today"
        );
    }

    /// Months without activities inside the history are rest: the chart carries them at zero
    /// load, and form read after them is settled (the banner as ever).
    #[test]
    fn a_gap_inside_the_history_is_rest_not_missing_data() {
        let start = d("2025-01-01");
        let mut loads: Vec<_> = (0..60).map(|i| (start.add_days(i), 60.0)).collect();
        // Nothing from March to October, then a hard block.
        let back = d("2025-11-01");
        loads.extend((0..12).map(|i| (back.add_days(i), 220.0)));
        let r = rows(&loads);
        let today = back.add_days(11);
        let settling = Settling::new(start, PmcConstants::default(), today);
        assert!(!settling.is_settling(today), "the history began 10 months ago");
        assert_eq!(settling.import_offer, None);
        let raw = form(&r, today, PmcConstants::default()).unwrap();
        let f = settling.apply(raw.clone());
        assert_eq!(f, raw, "settled form is the chart's own");
        assert!(f.overreaching.is_some() && !f.provisional);
        // The same block on a history that began with the block is provisional.
        let fresh = Settling::new(back, PmcConstants::default(), today);
        assert!(fresh.apply(raw).provisional);
    }

    #[test]
    fn the_history_starts_at_the_earlier_of_the_first_activity_and_the_import() {
        let (a, b) = (d("2025-03-01"), d("2025-01-01"));
        assert_eq!(history_start(Some(a), Some(b)), Some(b));
        assert_eq!(history_start(Some(b), Some(a)), Some(b));
        assert_eq!((history_start(Some(a), None), history_start(None, None)), (Some(a), None));
        let slow = PmcConstants { ctl_days: 50.5, atl_days: 7.0 };
        assert_eq!(settling_days(slow), 152, "⌈3 × 50.5⌉");
    }
}
