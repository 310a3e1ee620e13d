//! The physiology models of docs/design.md §6b, as pure functions of a 1 Hz series or of
//! an activity summary: sTSS, the 2-parameter CP/W′ fit and the bests it is fitted to, W′
//! balance, aerobic decoupling and the efficiency factor.
//!
//! Each model is the published one that can be reproduced exactly (no optimiser, no
//! reference curves): §6b lists the ones not chosen and why. Units are SI; nothing is
//! rounded.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::date::LocalDate;
use crate::peaks::PeakSeries;

// ---- sTSS ----

/// Swim score from the summary (TrainingPeaks' sTSS over moving time, rest excluded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwimMetrics {
    /// Normalized swim speed: distance / moving time, m/s.
    pub nss: f64,
    #[serde(rename = "if")]
    pub intensity: f64,
    pub stss: f64,
}

/// sTSS = (NSS / css)³ × moving_time / 3600 × 100, with NSS = distance / moving_time. One hour
/// at CSS is 100. `None` unless css, distance and moving time are all > 0: the summary's
/// figures, not streams, because pool swims rarely have usable speed streams.
pub fn swim_metrics(distance_m: Option<f64>, moving_time_s: Option<i64>, css: Option<f64>) -> Option<SwimMetrics> {
    let (distance, moving, css) = (distance_m?, moving_time_s? as f64, css?);
    if !(distance > 0.0 && moving > 0.0 && css > 0.0 && distance.is_finite() && css.is_finite()) {
        return None;
    }
    let nss = distance / moving;
    let intensity = nss / css;
    Some(SwimMetrics { nss, intensity, stss: intensity.powi(3) * moving / 3600.0 * 100.0 })
}

// ---- CP and W′ ----

/// The durations of the CP fit, s: GoldenCheetah's CP2 intervals (120 < t ≤ 1200 s), the
/// ones the stored peaks have.
pub const CP_DURATIONS_S: [u32; 5] = [180, 300, 600, 720, 1200];
/// Fewer points than this and the fit is refused: without a best at 720 s the line rests
/// on short efforts only and W′ swallows the error.
pub const CP_MIN_POINTS: usize = 4;
/// The bests of the fit ending on day E come from days E−89 ..= E.
pub const CP_RANGE_DAYS: i32 = 90;

/// The days whose activities give the bests of a fit ending on `end` (90 days, both ends in).
pub fn cp_range(end: LocalDate) -> RangeInclusive<LocalDate> {
    end.add_days(1 - CP_RANGE_DAYS)..=end
}

/// The best power at one duration and the activity it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpBest {
    /// Duration, s.
    pub t: f64,
    /// Best mean power over `t`, W.
    pub p: f64,
    /// The activity it came from.
    pub from: String,
}

/// The bests a fit uses, with the activities looked at (the shared `cp_bests.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpBests {
    pub group: crate::thresholds::ThresholdGroup,
    pub activities: Vec<String>,
    pub bests: Vec<CpBest>,
}

impl CpBests {
    /// The largest peak at each of [`CP_DURATIONS_S`] among `activities` (name and §6b
    /// peaks of each activity with watts in [`cp_range`]); of equal peaks the first named
    /// is kept. A duration no activity is long enough for has no best.
    pub fn collect<'a>(
        group: crate::thresholds::ThresholdGroup,
        activities: impl IntoIterator<Item = (&'a str, &'a PeakSeries)>,
    ) -> CpBests {
        let mut names = Vec::new();
        let mut best: [Option<(f64, &'a str)>; 5] = [None; 5];
        for (name, peaks) in activities {
            names.push(name.to_string());
            for (slot, &t) in best.iter_mut().zip(&CP_DURATIONS_S) {
                if let Some(p) = peaks.get(t as usize)
                    && slot.is_none_or(|(b, _)| p > b)
                {
                    *slot = Some((p, name));
                }
            }
        }
        let bests = CP_DURATIONS_S
            .iter()
            .zip(best)
            .filter_map(|(&t, b)| b.map(|(p, from)| CpBest { t: f64::from(t), p, from: from.to_string() }))
            .collect();
        CpBests { group, activities: names, bests }
    }

    /// The 2-parameter fit of these bests.
    pub fn fit(&self) -> CpFit {
        fit_cp(self.bests.iter().map(|b| (b.t, b.p)))
    }
}

/// Why a fit was not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum CpRefusal {
    #[error("fewer than 4 durations have a best (no ride of 720 s or more with power in the 90 days)")]
    TooFewPoints,
    #[error("the fitted CP is not above 0")]
    CpNotPositive,
    #[error("the fitted W' is not above 0")]
    WPrimeNotPositive,
}

/// The fit of the linear work–time model `w = CP·t + W′` (the shared `cp_fit.json`). A
/// suggestion only: nothing is rescored until the athlete saves it as a cycling entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpFit {
    /// The durations the model uses, s ([`CP_DURATIONS_S`]).
    pub durations: [u32; 5],
    /// `[t, P_best(t)]` of the durations that have a best, in duration order.
    pub points: Vec<[f64; 2]>,
    pub n: usize,
    /// Critical power, W; `None` when refused.
    pub cp: Option<f64>,
    /// W′, J; `None` when refused.
    pub w_prime: Option<f64>,
    /// Estimated FTP: CP.
    pub eftp: Option<f64>,
    /// Root-mean-square of `P_best(t) − (CP + W′/t)` over the points, W: how well two
    /// parameters describe the bests.
    pub rmse_w: Option<f64>,
    pub refused: Option<CpRefusal>,
}

/// Fits CP and W′ by ordinary least squares of work `w = p·t` on `t`, over the points at
/// [`CP_DURATIONS_S`] (others are ignored; of two at one duration the larger counts):
/// CP = Σ(t−t̄)(w−w̄) / Σ(t−t̄)², W′ = w̄ − CP·t̄. Refused with fewer than [`CP_MIN_POINTS`]
/// points, CP ≤ 0 or W′ ≤ 0.
pub fn fit_cp(bests: impl IntoIterator<Item = (f64, f64)>) -> CpFit {
    let mut slots = [None::<f64>; 5];
    for (t, p) in bests {
        if let Some(i) = CP_DURATIONS_S.iter().position(|&d| f64::from(d) == t)
            && p.is_finite()
        {
            slots[i] = Some(slots[i].map_or(p, |q: f64| q.max(p)));
        }
    }
    let points: Vec<[f64; 2]> =
        CP_DURATIONS_S.iter().zip(slots).filter_map(|(&t, p)| p.map(|p| [f64::from(t), p])).collect();
    let n = points.len();
    let refused = |reason| CpFit {
        durations: CP_DURATIONS_S,
        points: points.clone(),
        n,
        cp: None,
        w_prime: None,
        eftp: None,
        rmse_w: None,
        refused: Some(reason),
    };
    if n < CP_MIN_POINTS {
        return refused(CpRefusal::TooFewPoints);
    }
    let count = n as f64;
    let t_mean = points.iter().map(|[t, _]| t).sum::<f64>() / count;
    let w_mean = points.iter().map(|[t, p]| t * p).sum::<f64>() / count;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for [t, p] in &points {
        sxy += (t - t_mean) * (t * p - w_mean);
        sxx += (t - t_mean) * (t - t_mean);
    }
    let cp = sxy / sxx;
    let w_prime = w_mean - cp * t_mean;
    if cp.is_nan() || cp <= 0.0 {
        return refused(CpRefusal::CpNotPositive);
    }
    if w_prime.is_nan() || w_prime <= 0.0 {
        return refused(CpRefusal::WPrimeNotPositive);
    }
    let sq: f64 = points.iter().map(|[t, p]| (p - (cp + w_prime / t)).powi(2)).sum();
    CpFit {
        durations: CP_DURATIONS_S,
        n,
        cp: Some(cp),
        w_prime: Some(w_prime),
        eftp: Some(cp),
        rmse_w: Some((sq / count).sqrt()),
        refused: None,
        points,
    }
}

/// [`fit_cp`] of a plain map of window seconds to best watts.
pub fn fit_cp_map(bests: &BTreeMap<u32, f64>) -> CpFit {
    fit_cp(bests.iter().map(|(&t, &p)| (f64::from(t), p)))
}

/// A gap over `metrics::MAX_INTERPOLATED_GAP_S` that was removed from the 1 Hz series (W′
/// balance recovers over it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Index in the 1 Hz series of the first sample after the pause.
    pub before_sample: usize,
    /// The recorded gap `t[i+1] − t[i]`, s (the series lost `dt_s − 1` seconds).
    pub dt_s: i64,
}

// ---- W′ balance ----

/// W′ balance over a ride (Skiba 2015's differential form). `series` is kept out of the
/// JSON: it has one value per second and goes to its own file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WPrimeBalance {
    /// The CP and W′ it was computed with.
    pub cp: f64,
    pub w_prime: f64,
    /// Lowest balance, J (negative when CP or W′ are set too low for the ride).
    pub min: f64,
    /// Index in the 1 Hz series (pauses removed) of the first sample at `min`.
    pub min_at_s: usize,
    /// Balance after the last sample, J.
    pub end: f64,
    #[serde(skip)]
    pub series: Vec<f64>,
}

/// W′ balance of a 1 Hz power series with the pauses that were removed from it. W starts
/// at W′; per sample p: above CP, W −= p − CP; else W += (CP − p)·(W′ − W)/W′. A pause of
/// dt s is dt − 1 s at 0 W before its next sample: W′ − W ← (W′ − W)·(1 − CP/W′)^(dt−1).
/// Not clamped. `None` without samples or unless cp and w_prime are finite and > 0.
pub fn w_prime_balance(watts: &[f64], pauses: &[Pause], cp: f64, w_prime: f64) -> Option<WPrimeBalance> {
    let valid = |v: f64| v.is_finite() && v > 0.0;
    if watts.is_empty() || !valid(cp) || !valid(w_prime) {
        return None;
    }
    let recovery_per_s = 1.0 - cp / w_prime;
    let mut pauses = pauses.iter().peekable();
    let mut series = Vec::with_capacity(watts.len());
    let (mut w, mut min, mut min_at) = (w_prime, f64::INFINITY, 0);
    for (i, &p) in watts.iter().enumerate() {
        while let Some(pause) = pauses.next_if(|pause| pause.before_sample <= i) {
            if pause.before_sample == i && pause.dt_s > 1 {
                let seconds = i32::try_from(pause.dt_s - 1).unwrap_or(i32::MAX);
                w = w_prime - (w_prime - w) * recovery_per_s.powi(seconds);
            }
        }
        if p > cp {
            w -= p - cp;
        } else {
            w += (cp - p) * (w_prime - w) / w_prime;
        }
        if w < min {
            (min, min_at) = (w, i);
        }
        series.push(w);
    }
    Some(WPrimeBalance { cp, w_prime, min, min_at_s: min_at, end: w, series })
}

// ---- aerobic decoupling and EF ----

/// Aerobic decoupling needs at least this many 1 Hz samples (20 min).
pub const DECOUPLING_MIN_S: usize = 1200;

/// What decoupling and EF divide by heart rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecouplingOutput {
    /// Watts (cycling).
    Power,
    /// `v·C(i)/C(0)`, as in rTSS (running, also with watts).
    GradeAdjustedSpeed,
}

/// Sums of one half of the series over its valid samples (heart rate > 0).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct HalfSums {
    valid: usize,
    output: f64,
    heart_rate: f64,
}

/// Output and heart rate summed by half in one pass: all that decoupling and the mean heart
/// rate of EF need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputHeartRateHalves {
    len: usize,
    halves: [HalfSums; 2],
}

impl OutputHeartRateHalves {
    /// Halves by sample count, `[0, ⌊n/2⌋)` and `[⌊n/2⌋, n)`; samples without heart rate
    /// (0) are not counted. The series must have one length (shorter wins otherwise).
    pub fn of(output: &[f64], heart_rate: &[f64]) -> Self {
        let len = output.len().min(heart_rate.len());
        let split = len / 2;
        let mut halves = [HalfSums::default(); 2];
        for (i, (&o, &h)) in output.iter().zip(heart_rate).enumerate() {
            if h > 0.0 {
                let half = &mut halves[usize::from(i >= split)];
                half.valid += 1;
                half.output += o;
                half.heart_rate += h;
            }
        }
        OutputHeartRateHalves { len, halves }
    }

    /// Mean heart rate over every sample with heart rate > 0.
    pub fn mean_heart_rate(&self) -> Option<f64> {
        let [a, b] = self.halves;
        let valid = a.valid + b.valid;
        (valid > 0).then(|| (a.heart_rate + b.heart_rate) / valid as f64)
    }

    /// Friel's decoupling: `None` under [`DECOUPLING_MIN_S`] samples.
    pub fn decoupling(&self, output: DecouplingOutput) -> Option<Decoupling> {
        if self.len < DECOUPLING_MIN_S {
            return None;
        }
        let half = |h: HalfSums| {
            let n = h.valid as f64;
            let (mean_output, mean_hr) =
                if h.valid > 0 { (Some(h.output / n), Some(h.heart_rate / n)) } else { (None, None) };
            (h.valid, mean_output, mean_hr, mean_output.zip(mean_hr).map(|(o, hr)| o / hr))
        };
        let (valid_1, mean_output_1, mean_hr_1, ef_1) = half(self.halves[0]);
        let (valid_2, mean_output_2, mean_hr_2, ef_2) = half(self.halves[1]);
        let pct = match (ef_1, ef_2) {
            (Some(e1), Some(e2)) if e1 != 0.0 => Some((e1 - e2) / e1 * 100.0),
            _ => None,
        };
        Some(Decoupling {
            output,
            half_split: self.len / 2,
            valid_1,
            mean_output_1,
            mean_hr_1,
            ef_1,
            valid_2,
            mean_output_2,
            mean_hr_2,
            ef_2,
            pct,
        })
    }
}

/// Aerobic decoupling (Pw:HR, Pa:HR) with each half's figures. `pct` > 0: the second half
/// took more heart rate for the same output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decoupling {
    pub output: DecouplingOutput,
    /// First sample of the second half.
    pub half_split: usize,
    pub valid_1: usize,
    pub mean_output_1: Option<f64>,
    pub mean_hr_1: Option<f64>,
    pub ef_1: Option<f64>,
    pub valid_2: usize,
    pub mean_output_2: Option<f64>,
    pub mean_hr_2: Option<f64>,
    pub ef_2: Option<f64>,
    /// (EF₁ − EF₂)/EF₁ × 100; `None` if a half has no valid sample or EF₁ = 0.
    pub pct: Option<f64>,
}

/// The unit of an efficiency factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EfUnit {
    /// NP / mean HR (cycling).
    #[serde(rename = "W/bpm")]
    WattsPerBpm,
    /// NGS / mean HR (running); × 60 for TrainingPeaks' m/min per bpm.
    #[serde(rename = "(m/s)/bpm")]
    SpeedPerBpm,
}

/// What an efficiency factor is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfParts {
    /// NP (W) or NGS (m/s).
    pub normalized: f64,
    /// Mean heart rate over the samples with heart rate > 0, bpm.
    pub mean_hr: f64,
    pub unit: EfUnit,
}

impl EfParts {
    /// Efficiency factor: normalized output per beat.
    pub fn ef(&self) -> f64 {
        self.normalized / self.mean_hr
    }
}

/// The parts of EF, `None` when NP/NGS is null or there is no heart rate.
pub fn efficiency_factor(normalized: Option<f64>, mean_hr: Option<f64>, unit: EfUnit) -> Option<EfParts> {
    Some(EfParts { normalized: normalized?, mean_hr: mean_hr.filter(|&m| m > 0.0)?, unit })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-12)
    }

    #[test]
    fn one_hour_at_css_is_100_stss() {
        let s = swim_metrics(Some(1.2 * 3600.0), Some(3600), Some(1.2)).unwrap();
        assert!(close(s.stss, 100.0, 1e-12) && close(s.intensity, 1.0, 1e-12) && close(s.nss, 1.2, 1e-12));
        // Half an hour 10 % faster than CSS: 1.1³ × 50.
        let s = swim_metrics(Some(1.32 * 1800.0), Some(1800), Some(1.2)).unwrap();
        assert!(close(s.stss, 1.1f64.powi(3) * 50.0, 1e-12), "{}", s.stss);
        for (d, t, css) in
            [(None, Some(60), Some(1.2)), (Some(0.0), Some(60), Some(1.2)), (Some(100.0), Some(0), Some(1.2))]
        {
            assert_eq!(swim_metrics(d, t, css), None);
        }
        assert_eq!(swim_metrics(Some(100.0), Some(60), None), None);
    }

    #[test]
    fn a_perfect_two_parameter_dataset_fits_exactly() {
        let (cp, w_prime) = (280.0, 18_000.0);
        let fit = fit_cp(CP_DURATIONS_S.map(|t| (f64::from(t), cp + w_prime / f64::from(t))));
        assert_eq!(fit.refused, None);
        assert_eq!(fit.n, 5);
        assert!(close(fit.cp.unwrap(), cp, 1e-12) && close(fit.w_prime.unwrap(), w_prime, 1e-9), "{fit:?}");
        assert_eq!(fit.eftp, fit.cp);
        assert!(fit.rmse_w.unwrap() < 1e-9);
        // Four points (no 1200 s best) are enough; other durations are ignored.
        let map: BTreeMap<u32, f64> =
            [60, 180, 300, 600, 720].into_iter().map(|t| (t, cp + w_prime / f64::from(t))).collect();
        let fit = fit_cp_map(&map);
        assert_eq!((fit.n, fit.refused), (4, None));
        assert!(close(fit.cp.unwrap(), cp, 1e-12));
    }

    #[test]
    fn fits_are_refused_with_a_reason() {
        let three = [(180.0, 400.0), (300.0, 350.0), (600.0, 320.0)];
        let fit = fit_cp(three);
        assert_eq!((fit.refused, fit.n, fit.cp, fit.eftp), (Some(CpRefusal::TooFewPoints), 3, None, None));
        assert_eq!(fit.points, vec![[180.0, 400.0], [300.0, 350.0], [600.0, 320.0]]);
        // Work falling with time: CP < 0.
        let falling = CP_DURATIONS_S.map(|t| (f64::from(t), 100_000.0 / f64::from(t) - 10.0));
        assert_eq!(fit_cp(falling).refused, Some(CpRefusal::CpNotPositive));
        // Power rising with time: W' < 0.
        let rising = CP_DURATIONS_S.map(|t| (f64::from(t), 300.0 - 9_000.0 / f64::from(t)));
        assert_eq!(fit_cp(rising).refused, Some(CpRefusal::WPrimeNotPositive));
        let json = serde_json::to_value(fit_cp(rising)).unwrap();
        assert_eq!(json["refused"], "w_prime_not_positive");
        assert!(json["cp"].is_null() && json["eftp"].is_null());
    }

    #[test]
    fn cp_range_is_90_days_ending_on_the_day() {
        let end: LocalDate = "2024-03-31".parse().unwrap();
        let r = cp_range(end);
        assert_eq!((r.start().to_string(), r.end().to_string()), ("2024-01-02".to_string(), "2024-03-31".to_string()));
        assert_eq!(r.start().days_until(*r.end()) + 1, CP_RANGE_DAYS);
    }

    #[test]
    fn cp_bests_take_the_largest_peak_and_name_it() {
        let peaks = |p: [Option<f64>; 11]| PeakSeries(p);
        let a = peaks([None, None, None, None, Some(300.0), Some(290.0), None, None, None, None, None]);
        let b = peaks([None, None, None, None, Some(300.0), Some(295.0), Some(280.0), None, None, None, None]);
        let bests = CpBests::collect(crate::thresholds::ThresholdGroup::Cycling, [("a", &a), ("b", &b)]);
        assert_eq!(bests.activities, vec!["a", "b"]);
        let got: Vec<(f64, f64, &str)> = bests.bests.iter().map(|b| (b.t, b.p, b.from.as_str())).collect();
        assert_eq!(got, vec![(180.0, 300.0, "a"), (300.0, 295.0, "b"), (600.0, 280.0, "b")]);
        assert_eq!(bests.fit().refused, Some(CpRefusal::TooFewPoints));
    }

    #[test]
    fn a_constant_ride_at_cp_never_depletes_w_prime() {
        let b = w_prime_balance(&[250.0; 3600], &[], 250.0, 20_000.0).unwrap();
        assert!(b.series.iter().all(|&w| w == 20_000.0));
        assert_eq!((b.min, b.min_at_s, b.end), (20_000.0, 0, 20_000.0));
        // Below CP it stays full as well.
        let b = w_prime_balance(&[100.0; 600], &[], 250.0, 20_000.0).unwrap();
        assert!(b.series.iter().all(|&w| w == 20_000.0));
    }

    #[test]
    fn w_prime_depletes_above_cp_and_recovers_below_it() {
        // 60 s at CP + 100 W uses 6 kJ; then 0 W recovers by CP/W' of the deficit per second.
        let mut watts = vec![350.0; 60];
        watts.extend([0.0; 2]);
        let b = w_prime_balance(&watts, &[], 250.0, 20_000.0).unwrap();
        assert!(close(b.series[59], 14_000.0, 1e-12));
        assert!(close(b.min, 14_000.0, 1e-12) && b.min_at_s == 59);
        let after_1 = 14_000.0 + 250.0 * 6_000.0 / 20_000.0;
        assert!(close(b.series[60], after_1, 1e-12));
        assert!(close(b.end, 20_000.0 - (20_000.0 - after_1) * (1.0 - 250.0 / 20_000.0), 1e-12));
        // Over-spent: negative, not clamped; the first index of the minimum.
        let b = w_prime_balance(&[1250.0, 1250.0, 1250.0, 250.0], &[], 250.0, 2_000.0).unwrap();
        assert_eq!((b.min, b.min_at_s, b.end), (-1_000.0, 2, -1_000.0));
    }

    #[test]
    fn a_pause_recovers_as_seconds_at_zero_watts() {
        // 100 s at 350 W, a 301 s pause, then one sample at CP: the same as 300 s at 0 W
        // between them.
        let mut watts = vec![350.0; 100];
        watts.push(250.0);
        let pause = Pause { before_sample: 100, dt_s: 301 };
        let paused = w_prime_balance(&watts, &[pause], 250.0, 20_000.0).unwrap();
        let mut continuous = vec![350.0; 100];
        continuous.extend([0.0; 300]);
        continuous.push(250.0);
        let flat = w_prime_balance(&continuous, &[], 250.0, 20_000.0).unwrap();
        assert_eq!(paused.series.len(), 101);
        assert!(close(paused.end, flat.end, 1e-12), "{} vs {}", paused.end, flat.end);
        assert!(close(paused.series[99], 10_000.0, 1e-12));
        assert_eq!(w_prime_balance(&[], &[], 250.0, 20_000.0), None);
        assert_eq!(w_prime_balance(&[1.0], &[], 0.0, 20_000.0), None);
        assert_eq!(w_prime_balance(&[1.0], &[], 250.0, f64::NAN), None);
    }

    #[test]
    fn decoupling_compares_the_halves_over_samples_with_heart_rate() {
        // First half 200 W at 140 bpm, second half 200 W at 150 bpm, with dropouts (0 bpm)
        // that are skipped.
        let n = 1200;
        let watts = vec![200.0; n];
        let mut hr: Vec<f64> = (0..n).map(|i| if i < n / 2 { 140.0 } else { 150.0 }).collect();
        hr[10] = 0.0;
        hr[700] = 0.0;
        let halves = OutputHeartRateHalves::of(&watts, &hr);
        let d = halves.decoupling(DecouplingOutput::Power).unwrap();
        assert_eq!((d.half_split, d.valid_1, d.valid_2), (600, 599, 599));
        let (ef1, ef2) = (200.0 / 140.0, 200.0 / 150.0);
        assert!(close(d.ef_1.unwrap(), ef1, 1e-12) && close(d.ef_2.unwrap(), ef2, 1e-12));
        assert!(close(d.pct.unwrap(), (ef1 - ef2) / ef1 * 100.0, 1e-12));
        assert!(close(halves.mean_heart_rate().unwrap(), 145.0, 1e-12));
        // Too short; a half without heart rate; EF₁ = 0.
        assert_eq!(OutputHeartRateHalves::of(&watts[..1199], &hr[..1199]).decoupling(DecouplingOutput::Power), None);
        let no_hr_first = OutputHeartRateHalves::of(&watts, &[vec![0.0; 600], vec![150.0; 600]].concat());
        let d = no_hr_first.decoupling(DecouplingOutput::Power).unwrap();
        assert_eq!((d.valid_1, d.ef_1, d.pct), (0, None, None));
        let zero_first = OutputHeartRateHalves::of(&[vec![0.0; 600], vec![200.0; 600]].concat(), &[150.0; 1200]);
        assert_eq!(zero_first.decoupling(DecouplingOutput::Power).unwrap().pct, None);
    }

    #[test]
    fn ef_needs_a_normalized_output_and_heart_rate() {
        let e = efficiency_factor(Some(250.0), Some(125.0), EfUnit::WattsPerBpm).unwrap();
        assert_eq!(e.ef(), 2.0);
        assert_eq!(serde_json::to_value(&e).unwrap()["unit"], "W/bpm");
        assert_eq!(efficiency_factor(None, Some(125.0), EfUnit::WattsPerBpm), None);
        assert_eq!(efficiency_factor(Some(3.5), None, EfUnit::SpeedPerBpm), None);
        assert_eq!(OutputHeartRateHalves::of(&[1.0; 10], &[0.0; 10]).mean_heart_rate(), None);
    }
}
