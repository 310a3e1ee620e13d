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

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::athlete::{Sex, Thresholds};
use crate::physiology::{Decoupling, SwimMetrics, WPrimeBalance};
use crate::streams::{NumericKey, StreamSet};
use crate::thresholds::{SportGroup, ThresholdsInForce};

/// Longest gap (s) that is interpolated; anything longer is a pause.
pub const MAX_INTERPOLATED_GAP_S: i64 = 90;
/// Rolling window (samples) of NP and NGS.
pub const ROLLING_WINDOW: usize = 30;
/// Peak windows in seconds, 5 s … 60 min, with 3 and 12 min for the CP model (docs/design.md
/// §6b "Peaks"). Activities stored before those two were added have no value there until
/// they are rescored.
pub const PEAK_WINDOWS: [usize; 11] = [5, 15, 30, 60, 180, 300, 600, 720, 1200, 1800, 3600];
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

/// Best mean over each of [`PEAK_WINDOWS`]; `None` where the activity is shorter.
/// Serialized as a map keyed by the window in seconds (`"5"`, `"15"`, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeakSeries(pub [Option<f64>; 11]);

impl PeakSeries {
    pub fn get(&self, window_s: usize) -> Option<f64> {
        PEAK_WINDOWS.iter().position(|&w| w == window_s).and_then(|i| self.0[i])
    }
}

impl Serialize for PeakSeries {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_peaks(&PEAK_WINDOWS, &self.0, s)
    }
}

impl<'de> Deserialize<'de> for PeakSeries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PeaksVisitor(&PEAK_WINDOWS)).map(PeakSeries)
    }
}

fn serialize_peaks<S: Serializer>(windows: &[usize], values: &[Option<f64>], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(windows.len()))?;
    for (w, v) in windows.iter().zip(values) {
        map.serialize_entry(&w.to_string(), v)?;
    }
    map.end()
}

/// Reads a map of window seconds to best mean into the slots of `windows`; keys of other
/// windows are ignored.
struct PeaksVisitor<const N: usize>(&'static [usize; N]);

impl<'de, const N: usize> Visitor<'de> for PeaksVisitor<N> {
    type Value = [Option<f64>; N];
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map of window seconds to best mean")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = [None; N];
        while let Some((k, v)) = map.next_entry::<String, Option<f64>>()? {
            if let Some(i) = self.0.iter().position(|w| w.to_string() == k) {
                out[i] = v;
            }
        }
        Ok(out)
    }
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

/// A gap over [`MAX_INTERPOLATED_GAP_S`] that was removed from the 1 Hz series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Index in the 1 Hz series of the first sample after the pause.
    pub before_sample: usize,
    /// The recorded gap `t[i+1] − t[i]`, s (the series lost `dt_s − 1` seconds).
    pub dt_s: i64,
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

/// Best mean over every window of [`PEAK_WINDOWS`].
pub fn peak_series(values: &[f64]) -> PeakSeries {
    let mut out = PeakSeries::default();
    best_means(values, &PEAK_WINDOWS, &mut out.0);
    out
}

/// Fills `slots[i]` with the best mean of `values` over `windows[i]` samples (left `None`
/// where the series is shorter), from one prefix sum shared by every window.
fn best_means(values: &[f64], windows: &[usize], slots: &mut [Option<f64>]) {
    let mut prefix = Vec::with_capacity(values.len() + 1);
    prefix.push(0.0);
    let mut acc = 0.0;
    for &v in values {
        acc += v;
        prefix.push(acc);
    }
    for (slot, &w) in slots.iter_mut().zip(windows) {
        if values.len() >= w {
            let best = (w..=values.len()).map(|end| prefix[end] - prefix[end - w]).fold(f64::MIN, f64::max);
            *slot = Some(best / w as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{AnalysisError, score_single};
    use crate::model::ActivitySummary;
    use crate::streams::{MAX_RESAMPLED_S, StreamError};
    use proptest::prelude::*;

    /// The stored metrics of a `sport` activity under single thresholds: the history the
    /// migration makes of them, and their custom zones as zone settings.
    fn compute(sport: &str, streams: &StreamSet, th: &Thresholds) -> Result<ActivityMetrics, AnalysisError> {
        let summary: ActivitySummary = serde_json::from_value(serde_json::json!({
            "id": 1, "sport_type": sport, "start_date": "2024-05-01T08:00:00Z",
            "start_date_local": "2024-05-01T09:00:00Z",
        }))
        .unwrap();
        score_single(&summary, streams, th)
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-12)
    }

    fn seconds(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64).collect()
    }

    fn ride(n: usize, watts: f64) -> StreamSet {
        StreamSet::default().with(NumericKey::Time, seconds(n)).with(NumericKey::Watts, vec![watts; n])
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            ftp: Some(250.0),
            lthr: Some(165.0),
            hr_max: Some(190.0),
            hr_rest: Some(50.0),
            threshold_speed: Some(3.9),
            ..Default::default()
        }
    }

    #[test]
    fn one_hour_at_ftp_is_100_tss() {
        let m = compute("Ride", &ride(3600, 250.0), &thresholds()).unwrap();
        let p = m.power.unwrap();
        assert!(close(p.np.unwrap(), 250.0, 1e-12));
        assert!(close(p.tss.unwrap(), 100.0, 1e-9));
        assert_eq!(m.score.source, ScoreSource::Power);
    }

    #[test]
    fn one_hour_at_lthr_is_100_hrtss() {
        let s =
            StreamSet::default().with(NumericKey::Time, seconds(3600)).with(NumericKey::Heartrate, vec![165.0; 3600]);
        let m = compute("Ride", &s, &thresholds()).unwrap();
        assert!(close(m.heartrate.unwrap().hrtss.unwrap(), 100.0, 1e-9));
        assert_eq!(m.score.source, ScoreSource::Heartrate);
        let female = Thresholds { sex: Sex::Female, ..thresholds() };
        let m = compute("Ride", &s, &female).unwrap();
        assert!(close(m.score.value.unwrap(), 100.0, 1e-9));
    }

    #[test]
    fn one_flat_hour_at_threshold_speed_is_100_rtss() {
        let s = StreamSet::default()
            .with(NumericKey::Time, seconds(3600))
            .with(NumericKey::VelocitySmooth, vec![3.9; 3600])
            .with(NumericKey::GradeSmooth, vec![0.0; 3600]);
        let m = compute("Run", &s, &thresholds()).unwrap();
        assert!(close(m.pace.unwrap().rtss.unwrap(), 100.0, 1e-9));
        assert_eq!(m.score.source, ScoreSource::Pace);
        // The same streams as a ride are not scored by pace.
        let m = compute("Ride", &s, &thresholds()).unwrap();
        assert!(m.pace.is_none());
        assert_eq!(m.score.source, ScoreSource::None);
    }

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
    fn a_run_with_power_is_not_scored_against_the_bike_ftp() {
        // The single FTP is cycling's (docs/design.md §6b): a Stryd run without a running
        // FTP is scored by pace.
        let s = StreamSet::default()
            .with(NumericKey::Time, seconds(3600))
            .with(NumericKey::Watts, vec![300.0; 3600])
            .with(NumericKey::VelocitySmooth, vec![3.9; 3600]);
        let m = compute("Run", &s, &thresholds()).unwrap();
        assert_eq!(m.score.source, ScoreSource::Pace);
        assert!(close(m.score.value.unwrap(), 100.0, 1e-9));
        assert_eq!(m.power.unwrap().tss, None, "no running FTP, no power TSS");
        assert_eq!(m.group, Some(SportGroup::Running));
    }

    #[test]
    fn power_needs_30_samples() {
        let m = compute("Ride", &ride(29, 300.0), &thresholds()).unwrap();
        assert_eq!(m.score, Score { source: ScoreSource::Power, value: Some(0.0) });
        assert_eq!(m.power.unwrap().np, None);
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
    fn hostile_time_values_are_refused_not_overflowed() {
        // Near 1e19 the old `pauses_removed_s += dt - 1` overflowed (a panic in debug).
        let s = StreamSet::default()
            .with(NumericKey::Time, vec![0.0, 1e19, 1.8e19])
            .with(NumericKey::Watts, vec![100.0, 100.0, 100.0]);
        let e = compute("Ride", &s, &thresholds()).unwrap_err();
        assert!(matches!(e, AnalysisError::Streams(StreamError::TimeOutOfRange { index: 1, .. })), "{e}");
        assert!(e.to_string().contains("stream time at index 1"), "{e}");
        // The grid itself saturates rather than wraps, even unvalidated.
        let g = Grid::of(&[0.0, 9.0e18, 9.2e18]);
        assert!(g.pauses_removed_s > 0 && g.duration_s == 3);
    }

    #[test]
    fn resampled_duration_and_sample_count_are_capped() {
        // 100,000 samples 90 s apart would interpolate to 9 M seconds.
        let n: u32 = 100_000;
        let s = StreamSet::default()
            .with(NumericKey::Time, (0..n).map(|i| f64::from(i) * 90.0).collect())
            .with(NumericKey::Watts, vec![200.0; n as usize]);
        let e = compute("Ride", &s, &thresholds()).unwrap_err();
        let AnalysisError::Streams(e) = e else { panic!("{e}") };
        assert_eq!(e, StreamError::TooLong { duration_s: 90 * (u64::from(n) - 1) + 1, limit_s: MAX_RESAMPLED_S });
        assert!(e.is_over_limit());
        // Exactly 48 h is scored; one second more is not.
        for (secs, ok) in [(MAX_RESAMPLED_S, true), (MAX_RESAMPLED_S + 1, false)] {
            let s = StreamSet::default().with(NumericKey::Time, (0..secs).map(|t| t as f64).collect());
            assert_eq!(compute("Ride", &s, &thresholds()).is_ok(), ok, "{secs} s");
        }
        let many = crate::streams::MAX_SAMPLES + 1;
        let s = StreamSet::default().with(NumericKey::Time, vec![0.0; many]);
        let e = compute("Ride", &s, &thresholds()).unwrap_err();
        assert!(matches!(e, AnalysisError::Streams(StreamError::TooManySamples { len, .. }) if len == many), "{e}");
    }

    #[test]
    fn zones_put_boundary_values_in_the_upper_zone() {
        let z = zone_seconds(&[0.0, 137.5, 137.4, 400.0, 375.0], &percent_bounds(250.0, &POWER_ZONE_PCT), |_| false);
        assert_eq!(z.boundaries, vec![137.5, 187.5, 225.0, 262.5, 300.0, 375.0]);
        assert_eq!(z.seconds, vec![2, 1, 0, 0, 0, 0, 2]);
        assert_eq!(percent_bounds(165.0, &HEARTRATE_ZONE_PCT), vec![112.2, 136.95, 155.1, 173.25]);
    }

    #[test]
    fn custom_zone_boundaries_are_used() {
        let th = Thresholds { power_zones: Some(vec![100.0, 200.0]), ..thresholds() };
        let m = compute("Ride", &ride(10, 150.0), &th).unwrap();
        assert_eq!(m.zones.power.unwrap().seconds, vec![0, 10, 0]);
    }

    #[test]
    fn peaks_are_null_when_shorter_than_the_window() {
        let p = peak_series(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(p.get(5), Some(4.0));
        assert_eq!(p.get(15), None);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["5"], 4.0);
        assert!(json["3600"].is_null());
        assert_eq!(serde_json::from_value::<PeakSeries>(json).unwrap(), p);
    }

    #[test]
    fn empty_streams_score_nothing() {
        let m = compute("Ride", &StreamSet::default(), &thresholds()).unwrap();
        assert_eq!(m.duration_s, 0);
        assert_eq!(m.score, Score { source: ScoreSource::None, value: None });
        assert!(m.power.is_none() && m.heartrate.is_none());
    }

    #[test]
    fn bad_thresholds_and_streams_are_errors() {
        let bad = Thresholds { ftp: Some(-1.0), ..thresholds() };
        assert!(matches!(compute("Ride", &ride(5, 1.0), &bad), Err(AnalysisError::Thresholds(_))));
        let s = ride(5, 1.0).with(NumericKey::Heartrate, vec![1.0; 4]);
        assert!(matches!(compute("Ride", &s, &thresholds()), Err(AnalysisError::Streams(_))));
    }

    fn arb_streams() -> impl Strategy<Value = (StreamSet, bool)> {
        (1usize..400, any::<bool>()).prop_flat_map(|(n, run)| {
            (
                proptest::collection::vec(1u32..200, n),
                proptest::collection::vec(0.0f64..2000.0, n),
                proptest::collection::vec(prop_oneof![Just(0.0), 40.0f64..220.0], n),
                proptest::collection::vec(0.0f64..25.0, n),
                proptest::collection::vec(-60.0f64..60.0, n),
                proptest::collection::vec(any::<bool>(), 4),
            )
                .prop_map(move |(dts, w, hr, v, g, present)| {
                    let mut t = 0.0;
                    let time: Vec<f64> = dts
                        .iter()
                        .map(|&dt| {
                            let now = t;
                            t += f64::from(dt % 3 * 60 + dt % 7); // repeats, gaps and pauses
                            now
                        })
                        .collect();
                    let mut s = StreamSet::default().with(NumericKey::Time, time);
                    for (on, key, data) in [
                        (present[0], NumericKey::Watts, w),
                        (present[1], NumericKey::Heartrate, hr),
                        (present[2], NumericKey::VelocitySmooth, v),
                        (present[3], NumericKey::GradeSmooth, g),
                    ] {
                        if on {
                            s.set(key, Some(data));
                        }
                    }
                    (s, run)
                })
        })
    }

    proptest! {
        #[test]
        fn random_streams_give_finite_non_negative_scores((s, run) in arb_streams()) {
            let sp = if run { "Run" } else { "Ride" };
            let m = compute(sp, &s, &thresholds()).unwrap();
            if let Some(v) = m.score.value {
                prop_assert!(v.is_finite() && v >= 0.0);
            }
            let total: usize = m.duration_s;
            if let Some(z) = &m.zones.power {
                prop_assert_eq!(z.seconds.iter().sum::<u64>() as usize, total);
            }
            for p in [&m.peaks.watts, &m.peaks.heartrate, &m.peaks.velocity_smooth].into_iter().flatten() {
                prop_assert!(p.0.iter().flatten().all(|v| v.is_finite() && *v >= 0.0));
            }
        }

        #[test]
        fn tss_scales_with_the_square_of_uniform_power_scaling(
            (s, _) in arb_streams(), factor in 0.1f64..5.0
        ) {
            let Some(watts) = s.get(NumericKey::Watts).map(<[f64]>::to_vec) else { return Ok(()); };
            let scaled = s.clone().with(NumericKey::Watts, watts.iter().map(|w| w * factor).collect());
            let th = thresholds();
            let a = compute("Ride", &s, &th).unwrap().power.unwrap();
            let b = compute("Ride", &scaled, &th).unwrap().power.unwrap();
            // TSS = duration · NP² / (FTP² · 3600) · 100, and NP scales linearly.
            prop_assert!(close(b.tss.unwrap(), a.tss.unwrap() * factor * factor, 1e-9) || a.tss.unwrap() < 1e-9);
            if let (Some(na), Some(nb)) = (a.np, b.np) {
                prop_assert!(close(nb, na * factor, 1e-9) || na < 1e-9);
            }
        }
    }
}
