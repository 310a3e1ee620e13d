//! Stored records shaped for display: a line of the activity list, an activity's page, its
//! series for a chart. No I/O.

use serde::Serialize;
use stravasync_core::LocalDate;
use stravasync_core::metrics::ScoreSource;
use stravasync_core::model::{ActivityId, StoredActivity};

use crate::site::strava_activity_url;

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
    /// Aerobic decoupling, % (docs/design.md §6b), and the efficiency factor.
    pub decoupling_pct: Option<f64>,
    pub ef: Option<f64>,
    /// The activity on Strava ("View on Strava").
    pub strava_url: String,
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
            decoupling_pct: a.metrics.as_ref().and_then(|m| m.decoupling.as_ref()?.pct),
            ef: a.metrics.as_ref().and_then(|m| m.ef),
            strava_url: strava_activity_url(a.activity_id),
        }
    }
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
    /// W′ balance under the power line, where a CP and W′ are in force (cycling).
    pub wbal: Option<WbalLine>,
}

/// The W′ balance of a ride as charted: its value at each point's second, and where it was
/// lowest (docs/design.md §6b; computed from the stored streams when viewed, not stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WbalLine {
    pub cp: f64,
    pub w_prime: f64,
    /// J, at each of the chart's `time` points.
    pub values: Vec<f64>,
    pub min: f64,
    /// Second of the 1 Hz series (pauses removed) at the minimum.
    pub min_at_s: usize,
}

impl WbalLine {
    /// The line of a 1 Hz W′ balance series at the chart's `time` points (seconds on the
    /// moving clock, which is the 1 Hz series' index).
    pub fn at(wbal: &stravasync_core::physiology::WPrimeBalance, time: &[f64]) -> Option<WbalLine> {
        let last = wbal.series.len().checked_sub(1)?;
        let values = time.iter().map(|t| wbal.series[(t.max(0.0) as usize).min(last)]).collect();
        Some(WbalLine { cp: wbal.cp, w_prime: wbal.w_prime, values, min: wbal.min, min_at_s: wbal.min_at_s })
    }
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
/// [`stravasync_core::metrics::MAX_INTERPOLATED_GAP_S`]) count one second, a time that goes back
/// (never stored, but a damaged item may say so) counts none.
fn moving_clock(time: &[f64]) -> Vec<u64> {
    let mut clock = Vec::with_capacity(time.len());
    let mut at: u64 = 0;
    for (i, t) in time.iter().enumerate() {
        if i > 0 {
            let dt = t - time[i - 1];
            let step = if dt.is_nan() || dt <= 0.0 {
                0
            } else if dt > stravasync_core::metrics::MAX_INTERPOLATED_GAP_S as f64 {
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
    pub fn of(set: &stravasync_core::streams::StreamSet, resolution: usize) -> Option<Self> {
        use stravasync_core::streams::NumericKey;
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
            wbal: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_averages_buckets_and_keeps_short_series() {
        assert_eq!(downsample(&[1.0, 3.0, 5.0, 7.0], 2), vec![2.0, 6.0]);
        assert_eq!(downsample(&[1.0, 2.0], 10), vec![1.0, 2.0]);
        let long: Vec<f64> = (0..10_001).map(f64::from).collect();
        let out = downsample(&long, 600);
        assert_eq!(out.len(), 600);
        assert!((out.iter().sum::<f64>() / 600.0 - 5_000.0).abs() < 10.0);
    }

    fn set(time: Vec<f64>, watts: Vec<f64>) -> stravasync_core::streams::StreamSet {
        use stravasync_core::streams::NumericKey;
        stravasync_core::streams::StreamSet::default().with(NumericKey::Time, time).with(NumericKey::Watts, watts)
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
        assert!(ChartStreams::of(&stravasync_core::streams::StreamSet::default(), 100).is_none());
    }
}
