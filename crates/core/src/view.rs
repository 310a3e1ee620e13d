//! The read side's rules (read API, dashboard, CLI): query parameters and request bodies
//! validated into typed values whose errors name the field, and stored records shaped for
//! display. No I/O.

use serde::{Deserialize, Serialize};

use crate::LocalDate;
use crate::job::Job;
use crate::json::{FieldError, field_error};
use crate::metrics::ScoreSource;
use crate::model::{ActivityId, AthleteId, StoredActivity};

fn parse_date(field: &str, value: &str) -> Result<LocalDate, FieldError> {
    value.parse().map_err(|_| field_error(field, format!("{value:?} is not a date YYYY-MM-DD")))
}

fn parse_bounded(field: &str, value: Option<&str>, default: usize, range: (usize, usize)) -> Result<usize, FieldError> {
    let Some(value) = value else { return Ok(default) };
    match value.parse::<usize>() {
        Ok(n) if (range.0..=range.1).contains(&n) => Ok(n),
        _ => Err(field_error(field, format!("{value:?} is not a whole number in {}..={}", range.0, range.1))),
    }
}

pub use crate::json::parse_body;

/// The PMC window shown when the request names none: the last 90 days.
pub const DEFAULT_PMC_DAYS: i32 = 90;
/// The longest PMC window one request returns (about 30 years).
pub const MAX_PMC_DAYS: i32 = 11_000;

/// `?from&to` of the PMC route: both optional (`to` = today, `from` = 90 days before `to`),
/// `from <= to`, at most [`MAX_PMC_DAYS`] apart.
pub fn pmc_range(from: Option<&str>, to: Option<&str>, today: LocalDate) -> Result<(LocalDate, LocalDate), FieldError> {
    let to = to.map(|v| parse_date("to", v)).transpose()?.unwrap_or(today);
    let from = from.map(|v| parse_date("from", v)).transpose()?.unwrap_or(to.add_days(-DEFAULT_PMC_DAYS));
    if from > to {
        return Err(field_error("from", format!("{from} is after to ({to})")));
    }
    if from.days_until(to) > MAX_PMC_DAYS {
        return Err(field_error("from", format!("the range is over {MAX_PMC_DAYS} days")));
    }
    Ok((from, to))
}

/// A position in an athlete's activities, newest first: everything strictly before `date`
/// (and, on that date, before `activity` in the index's order). Shown to clients as
/// `YYYY-MM-DD` or `YYYY-MM-DD_<activity>` (the `next` of a page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    pub date: LocalDate,
    pub activity: Option<ActivityId>,
}

impl ActivityCursor {
    /// The cursor just past `a` (for the next page).
    pub fn after(a: &StoredActivity) -> Self {
        ActivityCursor { date: a.local_date, activity: Some(a.activity_id) }
    }

    /// The by-date index's sort key this cursor stops before (`<date>#<activity>`, or
    /// `<date>#` for a whole date). Activities of one date are ordered by this string.
    pub fn sort_key(&self) -> String {
        match self.activity {
            Some(id) => format!("{}#{id}", self.date),
            None => format!("{}#", self.date),
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let (date, activity) = match value.split_once('_') {
            Some((d, id)) => {
                let id = id.parse::<ActivityId>().ok().filter(|id| *id > 0);
                let id =
                    id.ok_or_else(|| field_error(field, format!("{value:?}: the part after _ is not an activity id")))?;
                (d, Some(id))
            }
            None => (value, None),
        };
        Ok(ActivityCursor { date: parse_date(field, date)?, activity })
    }
}

impl std::fmt::Display for ActivityCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.activity {
            Some(id) => write!(f, "{}_{id}", self.date),
            None => write!(f, "{}", self.date),
        }
    }
}

/// The sort key of an activity in the by-date order (see [`ActivityCursor::sort_key`]).
pub fn activity_sort_key(a: &StoredActivity) -> String {
    ActivityCursor::after(a).sort_key()
}

pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

/// `?before&limit` of the activity list.
pub fn activity_page(before: Option<&str>, limit: Option<&str>) -> Result<(Option<ActivityCursor>, usize), FieldError> {
    let before = before.map(|v| ActivityCursor::parse("before", v)).transpose()?;
    Ok((before, parse_bounded("limit", limit, DEFAULT_PAGE, (1, MAX_PAGE))?))
}

/// One line of the activity list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityRow {
    pub id: ActivityId,
    pub date: LocalDate,
    pub start_date_local: String,
    pub name: Option<String>,
    pub sport_type: Option<String>,
    pub moving_time_s: Option<i64>,
    pub distance_m: Option<f64>,
    /// The training score and where it came from (`None` while unscored).
    pub score: Option<f64>,
    pub score_source: Option<ScoreSource>,
    /// Why there is no score, when there is none.
    pub unscored: Option<String>,
}

impl ActivityRow {
    pub fn of(a: &StoredActivity) -> Self {
        let s = &a.summary;
        let unscored = match (&a.metrics, &a.unscored_reason) {
            (Some(_), _) => None,
            (None, Some(reason)) => Some(reason.clone()),
            (None, None) if a.pending_streams => Some("waiting for Strava's streams".to_string()),
            (None, None) if a.stream_chunks == 0 => Some("no streams (manual activity)".to_string()),
            (None, None) => Some("not scored yet".to_string()),
        };
        ActivityRow {
            id: a.activity_id,
            date: a.local_date,
            start_date_local: s.start_date_local.clone(),
            name: s.name.clone(),
            sport_type: s.sport_type.clone().or_else(|| s.legacy_type.clone()),
            moving_time_s: s.moving_time,
            distance_m: s.distance,
            score: a.metrics.as_ref().and_then(|m| m.score.value),
            score_source: a.metrics.as_ref().map(|m| m.score.source),
            unscored,
        }
    }
}

/// `?resolution=` of the streams route: points per series.
pub const DEFAULT_RESOLUTION: usize = 600;
pub const MAX_RESOLUTION: usize = 5_000;

pub fn resolution(value: Option<&str>) -> Result<usize, FieldError> {
    parse_bounded("resolution", value, DEFAULT_RESOLUTION, (10, MAX_RESOLUTION))
}

/// An activity's series for a chart: at most `resolution` points, each the mean of the
/// samples in its slice of the activity's time.
///
/// Built from the stored samples themselves, in one pass: the work and the memory grow
/// with the samples stored (at most the codec's cap) and the resolution, never with the
/// span the time stream claims. (A 1 Hz grid of a stored series whose time jumps a year
/// ahead would be 31 million seconds per channel.) Time is the activity's moving clock as
/// the metrics see it (docs/design.md §6): a gap over 90 s is a pause and is removed, the
/// samples either side of it a second apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartStreams {
    /// Seconds of the activity with pauses removed.
    pub duration_s: usize,
    /// Seconds per point.
    pub step_s: f64,
    /// Start of each point's slice, seconds.
    pub time: Vec<f64>,
    pub watts: Option<Vec<f64>>,
    pub heartrate: Option<Vec<f64>>,
    /// m/s (the dashboard shows it as pace for runs).
    pub velocity_smooth: Option<Vec<f64>>,
}

/// Means of `values` over `buckets` consecutive, near-equal slices (all of them when
/// there are fewer values than buckets).
pub fn downsample(values: &[f64], buckets: usize) -> Vec<f64> {
    let n = values.len();
    if buckets == 0 || n <= buckets {
        return values.to_vec();
    }
    (0..buckets)
        .map(|b| {
            let slice = &values[b * n / buckets..(b + 1) * n / buckets];
            slice.iter().sum::<f64>() / slice.len() as f64
        })
        .collect()
}

/// Each sample's second on the moving clock: pauses (gaps over
/// [`crate::metrics::MAX_INTERPOLATED_GAP_S`]) count one second, a time that goes back
/// (never stored, but a damaged item may say so) counts none.
fn moving_clock(time: &[f64]) -> Vec<u64> {
    let mut clock = Vec::with_capacity(time.len());
    let mut at: u64 = 0;
    for (i, t) in time.iter().enumerate() {
        if i > 0 {
            let dt = t - time[i - 1];
            let step = if dt.is_nan() || dt <= 0.0 {
                0
            } else if dt > crate::metrics::MAX_INTERPOLATED_GAP_S as f64 {
                1
            } else {
                dt as u64
            };
            at = at.saturating_add(step);
        }
        clock.push(at);
    }
    clock
}

/// Means of the samples falling into each of `points` buckets (`bucket[i]` says where
/// sample `i` goes); an empty bucket is filled in linearly from its neighbours.
fn bucket_means(values: &[f64], bucket: &[usize], points: usize) -> Vec<f64> {
    let mut sums = vec![0.0; points];
    let mut counts = vec![0u32; points];
    for (v, &b) in values.iter().zip(bucket) {
        if v.is_finite() {
            sums[b] += v;
            counts[b] += 1;
        }
    }
    let mut out: Vec<Option<f64>> = sums.iter().zip(&counts).map(|(s, &c)| (c > 0).then(|| s / f64::from(c))).collect();
    let filled: Vec<usize> = (0..points).filter(|&i| out[i].is_some()).collect();
    if filled.is_empty() {
        return vec![0.0; points];
    }
    let mut next = 0;
    for i in 0..points {
        if out[i].is_some() {
            continue;
        }
        while next < filled.len() && filled[next] < i {
            next += 1;
        }
        let before = next.checked_sub(1).map(|k| filled[k]);
        let after = filled.get(next).copied();
        out[i] = match (before, after) {
            (Some(a), Some(b)) => {
                let (va, vb) = (out[a].unwrap_or(0.0), out[b].unwrap_or(0.0));
                Some(va + (vb - va) * (i - a) as f64 / (b - a) as f64)
            }
            (Some(a), None) => out[a],
            (None, Some(b)) => out[b],
            (None, None) => Some(0.0),
        };
    }
    out.into_iter().map(|v| v.unwrap_or(0.0)).collect()
}

impl ChartStreams {
    /// The chart of a stored stream set; `None` without a time stream.
    pub fn of(set: &crate::streams::StreamSet, resolution: usize) -> Option<Self> {
        use crate::streams::NumericKey;
        let time = set.time()?;
        let clock = moving_clock(time);
        let duration_s = clock.last().map_or(0, |c| c.saturating_add(1)).min(usize::MAX as u64) as usize;
        let points = duration_s.min(resolution.max(1));
        let step_s = if points == 0 { 0.0 } else { duration_s as f64 / points as f64 };
        let bucket: Vec<usize> =
            clock.iter().map(|&c| ((c as u128 * points as u128) / duration_s.max(1) as u128) as usize).collect();
        let series =
            |key: NumericKey| set.get(key).filter(|v| v.len() == time.len()).map(|v| bucket_means(v, &bucket, points));
        Some(ChartStreams {
            duration_s,
            step_s,
            time: (0..points).map(|i| (i as u128 * duration_s as u128 / points.max(1) as u128) as f64).collect(),
            watts: series(NumericKey::Watts),
            heartrate: series(NumericKey::Heartrate),
            velocity_smooth: series(NumericKey::VelocitySmooth),
        })
    }
}

/// The most activities one backfill request imports.
pub const MAX_BACKFILL_COUNT: u32 = 2_000;

/// `POST /api/backfill` (and `stravasync backfill`): the most recent `count` activities, or
/// those from `after` (inclusive) to `before` (exclusive), dates in UTC.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    /// Re-sync: activities of the range already stored are fetched again (streams
    /// included), stored again and rescored, instead of skipped.
    #[serde(default)]
    pub refresh: bool,
}

fn day_start(date: LocalDate) -> i64 {
    i64::from(date.days_since_epoch()) * 86_400
}

impl BackfillRequest {
    /// The job this request asks for: exactly one of `count` and `after`.
    pub fn to_job(&self, athlete_id: AthleteId, now: i64) -> Result<Job, FieldError> {
        let job = |most_recent, after, before| {
            Job::start_backfill(athlete_id, most_recent, after, before, Some(now)).refreshing(self.refresh)
        };
        match (self.count, &self.after, &self.before) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                Err(field_error("count", "give either count or after (and before), not both"))
            }
            (Some(n), None, None) if (1..=MAX_BACKFILL_COUNT).contains(&n) => Ok(job(Some(n), None, None)),
            (Some(n), None, None) => Err(field_error("count", format!("{n} is outside 1..={MAX_BACKFILL_COUNT}"))),
            (None, None, Some(_)) => Err(field_error("after", "required with before")),
            (None, None, None) => Err(field_error("count", "give count, or after (and before)")),
            (None, Some(after), before) => {
                let after = parse_date("after", after)?;
                let before = before.as_deref().map(|b| parse_date("before", b)).transpose()?;
                if before.is_some_and(|b| b <= after) {
                    return Err(field_error("before", "must be after `after`"));
                }
                Ok(job(None, Some(day_start(after) - 1), before.map(day_start)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> LocalDate {
        s.parse().unwrap()
    }

    #[test]
    fn pmc_ranges_default_and_refuse_with_the_field() {
        let today = d("2026-11-22");
        assert_eq!(pmc_range(None, None, today), Ok((d("2026-08-24"), today)));
        assert_eq!(pmc_range(Some("2026-01-01"), Some("2026-02-01"), today), Ok((d("2026-01-01"), d("2026-02-01"))));
        assert_eq!(pmc_range(Some("2026-13-01"), None, today).unwrap_err().field, "from");
        assert_eq!(pmc_range(None, Some("yesterday"), today).unwrap_err().field, "to");
        assert_eq!(pmc_range(Some("2026-02-02"), Some("2026-02-01"), today).unwrap_err().field, "from");
        assert_eq!(pmc_range(Some("1900-01-01"), None, today).unwrap_err().field, "from");
    }

    #[test]
    fn cursors_round_trip_and_order_like_the_index() {
        let c = ActivityCursor::parse("before", "2026-11-20_123").unwrap();
        assert_eq!(c.to_string(), "2026-11-20_123");
        assert_eq!(c.sort_key(), "2026-11-20#123");
        let whole_day = ActivityCursor::parse("before", "2026-11-20").unwrap();
        assert!(whole_day.sort_key() < c.sort_key());
        for bad in ["", "2026-11-20_", "2026-11-20_x", "2026-11-20_-4", "20261120"] {
            assert_eq!(ActivityCursor::parse("before", bad).unwrap_err().field, "before", "{bad}");
        }
        assert_eq!(activity_page(None, None), Ok((None, DEFAULT_PAGE)));
        assert_eq!(activity_page(None, Some("0")).unwrap_err().field, "limit");
        assert_eq!(activity_page(None, Some("101")).unwrap_err().field, "limit");
    }

    #[test]
    fn downsampling_averages_buckets_and_keeps_short_series() {
        assert_eq!(downsample(&[1.0, 3.0, 5.0, 7.0], 2), vec![2.0, 6.0]);
        assert_eq!(downsample(&[1.0, 2.0], 10), vec![1.0, 2.0]);
        let long: Vec<f64> = (0..10_001).map(f64::from).collect();
        let out = downsample(&long, 600);
        assert_eq!(out.len(), 600);
        assert!((out.iter().sum::<f64>() / 600.0 - 5_000.0).abs() < 10.0);
        assert_eq!(resolution(Some("5")).unwrap_err().field, "resolution");
    }

    fn set(time: Vec<f64>, watts: Vec<f64>) -> crate::streams::StreamSet {
        use crate::streams::NumericKey;
        crate::streams::StreamSet::default().with(NumericKey::Time, time).with(NumericKey::Watts, watts)
    }

    #[test]
    fn charts_average_the_samples_of_each_slice_of_moving_time() {
        // 1,000 s at 1 Hz: 100 points of 10 s.
        let c = ChartStreams::of(&set((0..1_000).map(f64::from).collect(), vec![200.0; 1_000]), 100).unwrap();
        assert_eq!((c.duration_s, c.time.len(), c.step_s, c.time[1]), (1_000, 100, 10.0, 10.0));
        assert_eq!(c.watts.unwrap(), vec![200.0; 100]);
        assert!(c.heartrate.is_none());
        // A ramp keeps its shape: each point is its slice's mean.
        let ramp = ChartStreams::of(&set((0..100).map(f64::from).collect(), (0..100).map(f64::from).collect()), 10);
        assert_eq!(ramp.unwrap().watts.unwrap(), (0..10).map(|b| f64::from(b * 10) + 4.5).collect::<Vec<_>>());
        // Smart recording (a sample every 4 s) charts like the 1 Hz series: slices between
        // samples are filled in from their neighbours.
        let sparse =
            ChartStreams::of(&set((0..250).map(|i| f64::from(i * 4)).collect(), vec![150.0; 250]), 1_000).unwrap();
        assert_eq!((sparse.duration_s, sparse.time.len()), (997, 997));
        assert!(sparse.watts.unwrap().iter().all(|w| *w == 150.0));
        // A pause counts one second.
        let paused = ChartStreams::of(&set(vec![0.0, 1.0, 2.0, 5_000.0, 5_001.0], vec![1.0; 5]), 600).unwrap();
        assert_eq!(paused.duration_s, 5);
    }

    #[test]
    fn hostile_time_streams_cost_what_their_samples_cost() {
        // Two samples a year apart (the old 1 Hz grid: 31 million seconds per channel).
        let c = ChartStreams::of(&set(vec![0.0, 31_622_400.0], vec![100.0, 300.0]), 5_000).unwrap();
        assert_eq!((c.duration_s, c.time.len()), (2, 2));
        // Every sample a gap just under a pause: 345,600 samples spanning 1,000 days.
        let n = 345_600;
        let time: Vec<f64> = (0..n).map(|i| f64::from(i) * 90.0).collect();
        let c = ChartStreams::of(&set(time, vec![250.0; n as usize]), 5_000).unwrap();
        assert_eq!((c.time.len(), c.watts.as_ref().map(Vec::len)), (5_000, Some(5_000)));
        assert!(c.watts.unwrap().iter().all(|w| *w == 250.0));
        // Time going back, a watts stream of another length, no time at all.
        let c = ChartStreams::of(&set(vec![10.0, 5.0, 6.0], vec![1.0, 2.0]), 100).unwrap();
        assert_eq!((c.duration_s, c.watts), (2, None));
        assert!(ChartStreams::of(&crate::streams::StreamSet::default(), 100).is_none());
    }

    #[test]
    fn backfill_requests_become_jobs_or_name_the_field() {
        let req = |json: &[u8]| parse_body::<BackfillRequest>(json).unwrap().to_job(7, 1_000);
        match req(br#"{"count": 50}"#).unwrap() {
            Job::Backfill {
                most_recent: Some(50),
                after: None,
                before: None,
                page: 1,
                requested_at: Some(1_000),
                ..
            } => {}
            other => panic!("{other:?}"),
        }
        match req(br#"{"after": "2026-01-01", "before": "2026-02-01"}"#).unwrap() {
            Job::Backfill { most_recent: None, after: Some(a), before: Some(b), .. } => {
                assert_eq!((a + 1, b), (day_start(d("2026-01-01")), day_start(d("2026-02-01"))));
            }
            other => panic!("{other:?}"),
        }
        match req(br#"{"count": 10, "refresh": true}"#).unwrap() {
            Job::Backfill { most_recent: Some(10), refresh: true, .. } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_body::<BackfillRequest>(br#"{"count": 1, "refresh": "yes"}"#).unwrap_err().field, "refresh");
        for (json, field) in [
            (&br#"{}"#[..], "count"),
            (br#"{"count": 0}"#, "count"),
            (br#"{"count": 5000}"#, "count"),
            (br#"{"count": 5, "after": "2026-01-01"}"#, "count"),
            (br#"{"before": "2026-01-01"}"#, "after"),
            (br#"{"after": "01/01/2026"}"#, "after"),
            (br#"{"after": "2026-02-01", "before": "2026-01-01"}"#, "before"),
        ] {
            assert_eq!(req(json).unwrap_err().field, field, "{}", String::from_utf8_lossy(json));
        }
        assert_eq!(parse_body::<BackfillRequest>(br#"{"count": -1}"#).unwrap_err().field, "count");
    }
}
