//! Training metrics of one activity, exactly as docs/design.md §6 defines them.
//!
//! Conventions that change numbers, all in one place:
//! - Everything works on a 1 Hz series built by [`resample_1hz`]: a gap `dt = t[i+1] − t[i]`
//!   of up to [`MAX_INTERPOLATED_GAP_S`] is filled by linear interpolation; a longer gap is
//!   a pause and is removed (the samples either side become neighbours). A repeated time
//!   keeps the first sample. `duration_s` is the number of 1 Hz samples.
//! - Each channel is resampled first, then channels are combined (speed × grade cost).
//! - Rolling and peak windows run straight across a removed pause.
//! - NP and NGS keep full 30-sample windows only; with fewer than 30 samples they are
//!   `None` and their score is 0.
//! - A value exactly on a zone boundary belongs to the upper zone.
//! - Heart-rate samples of 0 (no reading) are skipped for TRIMP and heart-rate zones.

use serde::{Deserialize, Serialize};

use crate::model::athlete::{Sex, Thresholds};
pub use crate::peaks::{PEAK_WINDOWS, PeakSeries, peak_series};
pub use crate::physiology::Pause;
use crate::physiology::{Decoupling, SwimMetrics, WPrimeBalance};
use crate::streams::{NumericKey, StreamSet};
use crate::thresholds::{SportGroup, ThresholdsInForce};

/// Longest gap (s) that is interpolated; anything longer is a pause.
pub const MAX_INTERPOLATED_GAP_S: i64 = 90;
/// Rolling window (samples) of NP and NGS.
pub const ROLLING_WINDOW: usize = 30;
/// Coggan power zones: lower bounds in % of FTP.
pub const POWER_ZONE_PCT: [f64; 6] = [55.0, 75.0, 90.0, 105.0, 120.0, 150.0];
/// Heart-rate zones: lower bounds in % of LTHR.
pub const HEARTRATE_ZONE_PCT: [f64; 4] = [68.0, 83.0, 94.0, 105.0];
/// Minetti's grade is clamped to ±45 %.
pub const MAX_GRADE: f64 = 0.45;

/// Where an activity's training score came from (docs/design.md §6 "Score"; `swim`, sTSS,
/// only from §6b's per-sport selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScoreSource {
    Power,
    Pace,
    Swim,
    Heartrate,
    #[default]
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerMetrics {
    pub np: Option<f64>,
    #[serde(rename = "if")]
    pub intensity: Option<f64>,
    pub tss: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaceMetrics {
    /// Normalized graded speed, m/s.
    pub ngs: Option<f64>,
    #[serde(rename = "if")]
    pub intensity: Option<f64>,
    pub rtss: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartrateMetrics {
    pub trimp: Option<f64>,
    pub hrtss: Option<f64>,
    pub samples_with_hr: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Score {
    pub source: ScoreSource,
    /// `None` when the source is `none`; a PMC counts it as 0.
    pub value: Option<f64>,
}

impl Score {
    /// The daily-load contribution.
    pub fn load(&self) -> f64 {
        self.value.unwrap_or(0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneTimes {
    /// Lower bounds of zones 2..=N; zone 1 is everything below the first.
    pub boundaries: Vec<f64>,
    /// Seconds in each zone (`boundaries.len() + 1` entries).
    pub seconds: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Zones {
    pub power: Option<ZoneTimes>,
    pub heartrate: Option<ZoneTimes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Peaks {
    pub watts: Option<PeakSeries>,
    pub heartrate: Option<PeakSeries>,
    pub velocity_smooth: Option<PeakSeries>,
}

/// The metrics stored with an activity ([`crate::analysis::ActivityAnalysis::stored`]).
/// Field names are those `stravasync metrics` prints; the §6b fields are absent from
/// activities scored before them, until they are rescored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ActivityMetrics {
    pub duration_s: usize,
    pub power: Option<PowerMetrics>,
    pub pace: Option<PaceMetrics>,
    pub heartrate: Option<HeartrateMetrics>,
    pub score: Score,
    pub zones: Zones,
    pub peaks: Peaks,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<SportGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds_in_force: Option<ThresholdsInForce>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swim: Option<SwimMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoupling: Option<Decoupling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ef: Option<f64>,
    /// The W′ balance summary (cp, w_prime, min, min_at_s, end); its series is not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wbal: Option<WPrimeBalance>,
}

/// The channels the metrics use, on a 1 Hz grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resampled {
    pub duration_s: usize,
    pub watts: Option<Vec<f64>>,
    pub heartrate: Option<Vec<f64>>,
    pub velocity_smooth: Option<Vec<f64>>,
    pub grade_smooth: Option<Vec<f64>>,
    /// Gaps of 2..=90 s that were filled.
    pub gaps_interpolated: usize,
    /// Seconds dropped by removing pauses (gaps over 90 s count `dt − 1`).
    pub pauses_removed_s: i64,
}

/// The 1 Hz grid of a time stream: which samples are kept (a repeated time keeps the
/// first) and how long the series is once gaps are filled and pauses removed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    kept: Vec<usize>,
    pub duration_s: u64,
    pub gaps_interpolated: usize,
    pub pauses_removed_s: i64,
    /// Every removed pause, in order. W'bal recovers over a pause (§6b), so it needs to
    /// know where each one was and how long it lasted; no other metric does.
    pub pauses: Vec<Pause>,
}

impl Grid {
    /// The grid of a validated (whole, non-decreasing, bounded) time stream. Sums saturate:
    /// nothing here can overflow, whatever the input.
    pub fn of(time: &[f64]) -> Grid {
        let mut grid = Grid { kept: Vec::with_capacity(time.len()), ..Grid::default() };
        for (i, &t) in time.iter().enumerate() {
            if grid.kept.last().is_none_or(|&k| time[k] < t) {
                grid.kept.push(i);
            }
        }
        grid.duration_s = u64::from(!grid.kept.is_empty());
        for pair in grid.kept.windows(2) {
            let dt = (time[pair[1]] - time[pair[0]]) as i64;
            if dt <= MAX_INTERPOLATED_GAP_S {
                grid.duration_s = grid.duration_s.saturating_add(dt as u64);
                grid.gaps_interpolated += usize::from(dt > 1);
            } else {
                grid.pauses.push(Pause { before_sample: grid.duration_s as usize, dt_s: dt });
                grid.duration_s = grid.duration_s.saturating_add(1);
                grid.pauses_removed_s = grid.pauses_removed_s.saturating_add(dt - 1);
            }
        }
        grid
    }
}

/// Resamples the metric channels of a validated stream set to 1 Hz (see module docs).
/// Unbounded: [`compute`] checks the grid against [`MAX_RESAMPLED_S`] first.
pub fn resample_1hz(set: &StreamSet) -> Resampled {
    let Some(time) = set.time().filter(|t| !t.is_empty()) else {
        return Resampled::default();
    };
    resample_on(set, time, &Grid::of(time))
}

/// [`resample_1hz`] on a grid already built (and checked against [`MAX_RESAMPLED_S`]).
pub(crate) fn resample_on(set: &StreamSet, time: &[f64], grid: &Grid) -> Resampled {
    let duration = grid.duration_s as usize;
    let channel = |key| set.get(key).map(|v| resample_channel(time, &grid.kept, v, duration));
    Resampled {
        duration_s: duration,
        watts: channel(NumericKey::Watts),
        heartrate: channel(NumericKey::Heartrate),
        velocity_smooth: channel(NumericKey::VelocitySmooth),
        grade_smooth: channel(NumericKey::GradeSmooth),
        gaps_interpolated: grid.gaps_interpolated,
        pauses_removed_s: grid.pauses_removed_s,
    }
}

fn resample_channel(time: &[f64], kept: &[usize], values: &[f64], duration: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(duration);
    for pair in kept.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let dt = (time[b] - time[a]) as i64;
        let (va, vb) = (values[a], values[b]);
        out.push(va);
        if dt <= MAX_INTERPOLATED_GAP_S {
            let step = (vb - va) / dt as f64;
            out.extend((1..dt).map(|k| va + step * k as f64));
        }
    }
    if let Some(&last) = kept.last() {
        out.push(values[last]);
    }
    out
}

/// Means of every full 30-sample trailing window (the first 29 samples start none).
pub fn rolling_means(values: &[f64], window: usize) -> Vec<f64> {
    if values.len() < window || window == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(values.len() - window + 1);
    let mut sum: f64 = values[..window].iter().sum();
    out.push(sum / window as f64);
    for i in window..values.len() {
        sum += values[i] - values[i - window];
        out.push(sum / window as f64);
    }
    out
}

/// `(mean of x⁴)^(1/4)` of the 30-sample rolling means: NP for power, NGS for speed.
pub fn normalized(values: &[f64]) -> Option<f64> {
    let rolled = rolling_means(values, ROLLING_WINDOW);
    if rolled.is_empty() {
        return None;
    }
    let mean4 = rolled.iter().map(|v| v.powi(4)).sum::<f64>() / rolled.len() as f64;
    Some(mean4.powf(0.25))
}

/// Power metrics; `if` and `tss` need an FTP.
pub fn power_metrics(watts: &[f64], ftp: Option<f64>) -> PowerMetrics {
    let np = normalized(watts);
    let duration = watts.len() as f64;
    match ftp {
        Some(ftp) => {
            let intensity = np.map(|np| np / ftp);
            let tss = Some(match (np, intensity) {
                (Some(np), Some(i)) => duration * np * i / (ftp * 3600.0) * 100.0,
                _ => 0.0,
            });
            PowerMetrics { np, intensity, tss }
        }
        None => PowerMetrics { np, intensity: None, tss: None },
    }
}

/// Minetti's metabolic cost of running (J/kg/m) at grade `i` (rise/run).
pub fn minetti_cost(i: f64) -> f64 {
    ((((155.4 * i - 30.4) * i - 43.3) * i + 46.3) * i + 19.5) * i + 3.6
}

/// Grade-adjusted speed: `v · C(g)/C(0)` with `g = grade_smooth/100` clamped to ±0.45.
/// A run without grade counts as flat.
pub fn grade_adjusted_speed(speed: &[f64], grade_pct: Option<&[f64]>) -> Vec<f64> {
    let flat = minetti_cost(0.0);
    match grade_pct {
        Some(g) => speed
            .iter()
            .zip(g)
            .map(|(&v, &g)| v * minetti_cost((g / 100.0).clamp(-MAX_GRADE, MAX_GRADE)) / flat)
            .collect(),
        None => speed.to_vec(),
    }
}

/// rTSS metrics from grade-adjusted speed; `if` and `rtss` need a threshold speed.
pub fn pace_metrics(adjusted_speed: &[f64], threshold_speed: Option<f64>) -> PaceMetrics {
    let ngs = normalized(adjusted_speed);
    let duration = adjusted_speed.len() as f64;
    match threshold_speed {
        Some(ts) => {
            let intensity = ngs.map(|n| n / ts);
            let rtss = Some(intensity.map_or(0.0, |i| duration * i * i / 36.0));
            PaceMetrics { ngs, intensity, rtss }
        }
        None => PaceMetrics { ngs, intensity: None, rtss: None },
    }
}

fn trimp_weight(sex: Sex) -> f64 {
    match sex {
        Sex::Male => 1.92,
        Sex::Female => 1.67,
    }
}

/// Banister TRIMP and hrTSS. TRIMP needs HR rest and max; hrTSS also LTHR.
pub fn heartrate_metrics(hr: &[f64], th: &Thresholds) -> HeartrateMetrics {
    let samples_with_hr = hr.iter().filter(|&&h| h > 0.0).count();
    let (trimp, hrtss) = match (th.hr_rest, th.hr_max) {
        (Some(rest), Some(max)) => {
            let k = trimp_weight(th.sex);
            let reserve = |h: f64| ((h - rest) / (max - rest)).clamp(0.0, 1.0);
            let trimp: f64 = hr
                .iter()
                .filter(|&&h| h > 0.0)
                .map(|&h| {
                    let x = reserve(h);
                    x * 0.64 * (k * x).exp() / 60.0
                })
                .sum();
            let hrtss = th.lthr.map(|lthr| {
                let x = reserve(lthr);
                100.0 * trimp / (60.0 * x * 0.64 * (k * x).exp())
            });
            (Some(trimp), hrtss.filter(|v| v.is_finite()))
        }
        _ => (None, None),
    };
    HeartrateMetrics { trimp, hrtss, samples_with_hr }
}

/// Seconds per zone; `bounds` are ascending lower bounds of zones 2..=N. A value on a
/// boundary belongs to the upper zone. Samples for which `skip` is true are not counted.
pub fn zone_seconds(values: &[f64], bounds: &[f64], skip: impl Fn(f64) -> bool) -> ZoneTimes {
    zone_seconds_and_ties(values, bounds, skip).0
}

/// [`zone_seconds`] and, in the same pass, how many counted samples lie exactly on a
/// boundary (the samples the upper-zone rule decides).
pub(crate) fn zone_seconds_and_ties(values: &[f64], bounds: &[f64], skip: impl Fn(f64) -> bool) -> (ZoneTimes, u64) {
    let mut seconds = vec![0u64; bounds.len() + 1];
    let mut ties = 0u64;
    for &v in values.iter().filter(|&&v| !skip(v)) {
        let zone = bounds.partition_point(|&b| b <= v);
        seconds[zone] += 1;
        ties += u64::from(zone > 0 && bounds[zone - 1] == v);
    }
    (ZoneTimes { boundaries: bounds.to_vec(), seconds }, ties)
}

pub(crate) fn percent_bounds(threshold: f64, pct: &[f64]) -> Vec<f64> {
    pct.iter().map(|p| threshold * p / 100.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn minetti_ratios() {
        let c0 = minetti_cost(0.0);
        assert!((minetti_cost(0.05) / c0 - 1.3014).abs() < 5e-5);
        assert!((minetti_cost(-0.05) / c0 - 0.7628).abs() < 5e-5);
        assert!((minetti_cost(0.10) / c0 - 1.6578).abs() < 5e-5);
        // Grade beyond ±45 % is clamped.
        let g = grade_adjusted_speed(&[1.0, 1.0], Some(&[80.0, 45.0]));
        assert_eq!(g[0], g[1]);
    }

    #[test]
    fn resampling_interpolates_gaps_and_removes_pauses() {
        let s = StreamSet::default()
            .with(NumericKey::Time, vec![0.0, 1.0, 1.0, 4.0, 200.0, 201.0])
            .with(NumericKey::Watts, vec![0.0, 10.0, 99.0, 40.0, 7.0, 8.0]);
        s.validate().unwrap();
        let r = resample_1hz(&s);
        // 0,1 | 2,3 interpolated | 4 | pause removed | 200, 201
        assert_eq!(r.watts.unwrap(), vec![0.0, 10.0, 20.0, 30.0, 40.0, 7.0, 8.0]);
        assert_eq!(r.duration_s, 7);
        assert_eq!(r.gaps_interpolated, 1);
        assert_eq!(r.pauses_removed_s, 195);
        // A 90 s gap is still interpolated; 91 s is a pause.
        let s = StreamSet::default().with(NumericKey::Time, vec![0.0, 90.0, 181.0]);
        assert_eq!(resample_1hz(&s).duration_s, 92);
    }

    #[test]
    fn zones_put_boundary_values_in_the_upper_zone() {
        let z = zone_seconds(&[0.0, 137.5, 137.4, 400.0, 375.0], &percent_bounds(250.0, &POWER_ZONE_PCT), |_| false);
        assert_eq!(z.boundaries, vec![137.5, 187.5, 225.0, 262.5, 300.0, 375.0]);
        assert_eq!(z.seconds, vec![2, 1, 0, 0, 0, 0, 2]);
        assert_eq!(percent_bounds(165.0, &HEARTRATE_ZONE_PCT), vec![112.2, 136.95, 155.1, 173.25]);
    }
}
