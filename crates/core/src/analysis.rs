//! One activity under docs/design.md §6b: its sport group, the thresholds in force on its
//! day, every candidate score and the one chosen for its group, the physiology models,
//! zones with the group's thresholds and the §6b peaks — gathered in [`ActivityAnalysis`],
//! whose field names are those of the shared `expected/science/<name>.json` and of what
//! `stravasync metrics` will print.
//!
//! Everything is built on §6's 1 Hz series and its NP, NGS and hrTSS code, unchanged
//! (`crate::metrics`); only the choice of thresholds and of the score is new.

use serde::Serialize;

use crate::date::LocalDate;
use crate::metrics::{
    ActivityMetrics, Grid, HEARTRATE_ZONE_PCT, HeartrateMetrics, POWER_ZONE_PCT, PaceMetrics, Peaks, PowerMetrics,
    Score, ScoreSource, ZoneTimes, Zones, grade_adjusted_speed, heartrate_metrics, pace_metrics, peak_series,
    percent_bounds, power_metrics, resample_on, zone_seconds_and_ties,
};
use crate::model::{ActivityId, ActivitySummary, SummaryError, Thresholds};
use crate::physiology::{
    Decoupling, DecouplingOutput, EfParts, EfUnit, OutputHeartRateHalves, SwimMetrics, WPrimeBalance,
    efficiency_factor, swim_metrics, w_prime_balance,
};
use crate::streams::{MAX_RESAMPLED_S, StreamError, StreamSet};
use crate::thresholds::{SportGroup, ThresholdHistory, ThresholdHistoryError, ThresholdsInForce};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Streams(#[from] StreamError),
    #[error("thresholds: {0}")]
    Thresholds(#[from] ThresholdHistoryError),
    #[error(transparent)]
    Summary(#[from] SummaryError),
}

/// How the 1 Hz series was built from the recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResamplingSummary {
    /// Stretches of recording between removed pauses (0 without samples).
    pub runs: usize,
    pub pauses_removed_s: i64,
    pub gaps_interpolated: usize,
}

/// Every score the activity could have had; [`ActivityAnalysis::score`] is the one its
/// group takes (§6b "Score").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidates {
    /// With a watts stream, against the group's ftp (none for swimming and other).
    pub power: Option<PowerMetrics>,
    /// Running with velocity_smooth, against threshold_speed.
    pub pace: Option<PaceMetrics>,
    /// Swimming with css, distance and moving time.
    pub swim: Option<SwimMetrics>,
    /// With a heart-rate stream, against the HR triple in force.
    pub heartrate: Option<HeartrateMetrics>,
}

/// Seconds per zone, and how many samples lay exactly on a boundary (the upper-zone rule
/// decided them; a diagnostic).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneReport {
    #[serde(flatten)]
    pub times: ZoneTimes,
    pub boundary_ties: u64,
}

/// Power zones by % of the group's ftp, heart-rate zones by % of the lthr in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisZones {
    pub power: Option<ZoneReport>,
    pub heartrate: Option<ZoneReport>,
}

/// The athlete's own zone boundaries (Strava's `/athlete/zones`, kept in the profile's
/// thresholds): zone settings beside the threshold history, not part of it. Where set they
/// replace the % of the thresholds in force: the power zones for cycling (Strava's power
/// zones are the bike's), the heart-rate zones for every group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneSettings {
    pub power: Option<Vec<f64>>,
    pub heartrate: Option<Vec<f64>>,
}

impl ZoneSettings {
    pub fn of(th: &Thresholds) -> ZoneSettings {
        ZoneSettings { power: th.power_zones.clone(), heartrate: th.heartrate_zones.clone() }
    }
}

/// Everything §6b says about one activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityAnalysis {
    pub activity_id: ActivityId,
    /// `sport_type`, else the legacy `type`.
    pub sport_type: Option<String>,
    pub group: SportGroup,
    /// The training day: the date part of `start_date_local`.
    pub day: LocalDate,
    pub duration_s: usize,
    pub resampling: ResamplingSummary,
    pub thresholds_in_force: ThresholdsInForce,
    pub score: Score,
    pub candidates: Candidates,
    pub stss: Option<f64>,
    pub decoupling: Option<Decoupling>,
    /// `decoupling.pct`, at the top for tables.
    pub decoupling_pct: Option<f64>,
    pub ef: Option<f64>,
    /// Cycling with watts and cp, w_prime in force. Its series is not serialized.
    pub wbal: Option<WPrimeBalance>,
    /// `wbal.min`, at the top for tables.
    pub wbal_min: Option<f64>,
    pub zones: AnalysisZones,
    pub peaks: Peaks,
    pub ef_parts: Option<EfParts>,
}

/// Analyses one activity: validates the streams and the threshold history (errors name
/// the stream and index, or the entry and field), resamples once, and computes every
/// §6b figure from that one series.
pub fn analyse_activity(
    summary: &ActivitySummary,
    streams: &StreamSet,
    history: &ThresholdHistory,
) -> Result<ActivityAnalysis, AnalysisError> {
    analyse_with_zones(summary, streams, history, &ZoneSettings::default())
}

/// The metrics stored for an activity: [`analyse_with_zones`]' report, as kept
/// ([`ActivityAnalysis::stored`]).
pub fn score_activity(
    summary: &ActivitySummary,
    streams: &StreamSet,
    history: &ThresholdHistory,
    zones: &ZoneSettings,
) -> Result<ActivityMetrics, AnalysisError> {
    analyse_with_zones(summary, streams, history, zones).map(|a| a.stored())
}

/// [`score_activity`] under single thresholds: the history the migration makes of them
/// ([`ThresholdHistory::from_profile`]) and their custom zones as zone settings. What an
/// athlete without a stored history is scored with.
pub fn score_single(
    summary: &ActivitySummary,
    streams: &StreamSet,
    th: &Thresholds,
) -> Result<ActivityMetrics, AnalysisError> {
    score_activity(summary, streams, &ThresholdHistory::from_profile(th), &ZoneSettings::of(th))
}

/// [`analyse_activity`] with the athlete's own zone boundaries where set.
pub fn analyse_with_zones(
    summary: &ActivitySummary,
    streams: &StreamSet,
    history: &ThresholdHistory,
    settings: &ZoneSettings,
) -> Result<ActivityAnalysis, AnalysisError> {
    streams.validate()?;
    history.validate()?;
    let day = summary.local_date()?;
    let group = SportGroup::of_summary(summary);
    let th = history.in_force(group, day);

    let grid = streams.time().map(Grid::of).unwrap_or_default();
    if grid.duration_s > MAX_RESAMPLED_S {
        return Err(StreamError::TooLong { duration_s: grid.duration_s, limit_s: MAX_RESAMPLED_S }.into());
    }
    let r = match streams.time() {
        Some(time) if !time.is_empty() => resample_on(streams, time, &grid),
        _ => Default::default(),
    };

    let watts = r.watts.as_deref();
    let heart_rate = r.heartrate.as_deref();
    // Grade-adjusted speed, once: rTSS, decoupling and EF of a run all use it.
    let adjusted_speed = match (group, r.velocity_smooth.as_deref()) {
        (SportGroup::Running, Some(v)) => Some(grade_adjusted_speed(v, r.grade_smooth.as_deref())),
        _ => None,
    };

    let candidates = Candidates {
        power: watts.map(|w| power_metrics(w, th.ftp)),
        pace: adjusted_speed.as_deref().map(|v| pace_metrics(v, th.threshold_speed)),
        swim: swim_metrics(summary.distance, summary.moving_time, th.css),
        heartrate: heart_rate.map(|hr| heartrate_metrics(hr, &th.heart_rate_thresholds())),
    };
    let score = select_score(group, &candidates);

    // Decoupling and EF divide the group's output by heart rate.
    let output = match group {
        SportGroup::Cycling => watts.map(|w| (w, DecouplingOutput::Power)),
        SportGroup::Running => adjusted_speed.as_deref().map(|v| (v, DecouplingOutput::GradeAdjustedSpeed)),
        SportGroup::Swimming | SportGroup::Other => None,
    };
    let (decoupling, ef_parts) = match (output, heart_rate) {
        (Some((out, kind)), Some(hr)) => {
            let halves = OutputHeartRateHalves::of(out, hr);
            let (normalized, unit) = match kind {
                DecouplingOutput::Power => (candidates.power.as_ref().and_then(|p| p.np), EfUnit::WattsPerBpm),
                DecouplingOutput::GradeAdjustedSpeed => {
                    (candidates.pace.as_ref().and_then(|p| p.ngs), EfUnit::SpeedPerBpm)
                }
            };
            (halves.decoupling(kind), efficiency_factor(normalized, halves.mean_heart_rate(), unit))
        }
        _ => (None, None),
    };

    let wbal = match (group, watts, th.cp, th.w_prime) {
        (SportGroup::Cycling, Some(w), Some(cp), Some(w_prime)) => w_prime_balance(w, &grid.pauses, cp, w_prime),
        _ => None,
    };

    let own_power = settings.power.clone().filter(|_| group == SportGroup::Cycling);
    let power_bounds = own_power.or_else(|| th.ftp.map(|ftp| percent_bounds(ftp, &POWER_ZONE_PCT)));
    let hr_bounds = settings.heartrate.clone().or_else(|| th.lthr.map(|l| percent_bounds(l, &HEARTRATE_ZONE_PCT)));
    let zones = AnalysisZones {
        power: watts.zip(power_bounds).map(|(w, b)| zone_report(w, &b, |_| false)),
        heartrate: heart_rate.zip(hr_bounds).map(|(hr, b)| zone_report(hr, &b, |v| v <= 0.0)),
    };
    let peaks = Peaks {
        watts: watts.map(peak_series),
        heartrate: heart_rate.map(peak_series),
        velocity_smooth: r.velocity_smooth.as_deref().map(peak_series),
    };

    Ok(ActivityAnalysis {
        activity_id: summary.id,
        sport_type: summary.sport_type.clone().or_else(|| summary.legacy_type.clone()),
        group,
        day,
        duration_s: r.duration_s,
        resampling: ResamplingSummary {
            runs: if r.duration_s > 0 { grid.pauses.len() + 1 } else { 0 },
            pauses_removed_s: grid.pauses_removed_s,
            gaps_interpolated: grid.gaps_interpolated,
        },
        thresholds_in_force: th,
        score,
        stss: candidates.swim.as_ref().map(|s| s.stss),
        candidates,
        decoupling_pct: decoupling.as_ref().and_then(|d| d.pct),
        decoupling,
        ef: ef_parts.as_ref().map(EfParts::ef),
        wbal_min: wbal.as_ref().map(|w| w.min),
        wbal,
        zones,
        peaks,
        ef_parts,
    })
}

impl ActivityAnalysis {
    /// What is stored of it: §6's fields (duration, the power, pace and heart-rate
    /// candidates, score, zones, peaks) and §6b's (group, thresholds in force, the swim
    /// candidate and sTSS, decoupling, EF, the W′ balance summary). The W′ balance series
    /// is not stored: it is computed from the stored streams when the activity is viewed.
    pub fn stored(self) -> ActivityMetrics {
        let ActivityAnalysis {
            group,
            duration_s,
            thresholds_in_force,
            score,
            candidates,
            stss,
            decoupling,
            ef,
            wbal,
            zones,
            peaks,
            ..
        } = self;
        ActivityMetrics {
            duration_s,
            power: candidates.power,
            pace: candidates.pace,
            heartrate: candidates.heartrate,
            score,
            zones: Zones { power: zones.power.map(|z| z.times), heartrate: zones.heartrate.map(|z| z.times) },
            peaks,
            group: Some(group),
            thresholds_in_force: Some(thresholds_in_force),
            swim: candidates.swim,
            stss,
            decoupling,
            ef,
            wbal: wbal.map(|w| WPrimeBalance { series: Vec::new(), ..w }),
        }
    }
}

/// §6b's score of a group from its candidates: cycling power TSS (watts and a cycling ftp),
/// else hrTSS; running power TSS (watts and a running ftp), else rTSS (velocity_smooth and
/// threshold_speed), else hrTSS; swimming sTSS, else hrTSS; other hrTSS; else none.
pub fn select_score(group: SportGroup, c: &Candidates) -> Score {
    let power = || c.power.as_ref().and_then(|p| p.tss).map(|v| (ScoreSource::Power, v));
    let pace = || c.pace.as_ref().and_then(|p| p.rtss).map(|v| (ScoreSource::Pace, v));
    let swim = || c.swim.as_ref().map(|s| (ScoreSource::Swim, s.stss));
    let heartrate = || {
        c.heartrate
            .as_ref()
            .filter(|h| h.samples_with_hr > 0)
            .and_then(|h| h.hrtss)
            .map(|v| (ScoreSource::Heartrate, v))
    };
    let chosen = match group {
        SportGroup::Cycling => power().or_else(heartrate),
        SportGroup::Running => power().or_else(pace).or_else(heartrate),
        SportGroup::Swimming => swim().or_else(heartrate),
        SportGroup::Other => heartrate(),
    };
    match chosen {
        Some((source, value)) => Score { source, value: Some(value) },
        None => Score { source: ScoreSource::None, value: None },
    }
}

fn zone_report(values: &[f64], bounds: &[f64], skip: impl Fn(f64) -> bool) -> ZoneReport {
    let (times, boundary_ties) = zone_seconds_and_ties(values, bounds, skip);
    ZoneReport { times, boundary_ties }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sex;
    use crate::streams::NumericKey;
    use crate::thresholds::{ThresholdEntry, ThresholdGroup};

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-12)
    }

    fn summary(sport: &str, day: &str) -> ActivitySummary {
        serde_json::from_value(serde_json::json!({
            "id": 1, "sport_type": sport, "start_date": format!("{day}T08:00:00Z"),
            "start_date_local": format!("{day}T09:00:00Z"), "distance": 4320.0, "moving_time": 3600,
        }))
        .unwrap()
    }

    fn seconds(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64).collect()
    }

    fn history() -> ThresholdHistory {
        let from = "2024-01-01".parse().unwrap();
        let e = |g| ThresholdEntry::new(g, from);
        ThresholdHistory {
            sex: Sex::Male,
            history: vec![
                ThresholdEntry {
                    lthr: Some(165.0),
                    hr_max: Some(190.0),
                    hr_rest: Some(50.0),
                    ..e(ThresholdGroup::Default)
                },
                ThresholdEntry {
                    ftp: Some(250.0),
                    cp: Some(240.0),
                    w_prime: Some(20_000.0),
                    ..e(ThresholdGroup::Cycling)
                },
                ThresholdEntry { ftp: Some(280.0), threshold_speed: Some(3.9), ..e(ThresholdGroup::Running) },
                ThresholdEntry { css: Some(1.2), ..e(ThresholdGroup::Swimming) },
            ],
        }
    }

    fn hour(watts: Option<f64>, hr: f64, speed: Option<f64>) -> StreamSet {
        let mut s =
            StreamSet::default().with(NumericKey::Time, seconds(3600)).with(NumericKey::Heartrate, vec![hr; 3600]);
        if let Some(w) = watts {
            s.set(NumericKey::Watts, Some(vec![w; 3600]));
        }
        if let Some(v) = speed {
            s.set(NumericKey::VelocitySmooth, Some(vec![v; 3600]));
        }
        s
    }

    #[test]
    fn each_group_takes_its_own_score() {
        let h = history();
        let run = |sport: &str, s: &StreamSet| analyse_activity(&summary(sport, "2024-05-01"), s, &h).unwrap();
        // A Stryd run is scored against the running FTP, not the bike's.
        let a = run("Run", &hour(Some(280.0), 165.0, Some(3.9)));
        assert_eq!(a.score.source, ScoreSource::Power);
        assert!(close(a.score.value.unwrap(), 100.0, 1e-9));
        assert!(close(a.candidates.pace.as_ref().unwrap().rtss.unwrap(), 100.0, 1e-9));
        assert_eq!(a.decoupling.as_ref().unwrap().output, DecouplingOutput::GradeAdjustedSpeed);
        assert!(a.wbal.is_none(), "W'bal is cycling's");
        // Without watts: pace; without speed either: heart rate.
        assert_eq!(run("Run", &hour(None, 165.0, Some(3.9))).score.source, ScoreSource::Pace);
        let a = run("TrailRun", &hour(None, 165.0, None));
        assert_eq!(a.score.source, ScoreSource::Heartrate);
        assert!(close(a.score.value.unwrap(), 100.0, 1e-9));
        // A ride with watts: power at the cycling FTP; W'bal at CP stays full.
        let a = run("GravelRide", &hour(Some(240.0), 150.0, None));
        assert_eq!(a.score.source, ScoreSource::Power);
        assert!(close(a.score.value.unwrap(), 3600.0 * 240.0 * 240.0 / 250.0 / 250.0 / 36.0, 1e-9));
        assert_eq!(a.wbal.as_ref().map(|w| (w.min, w.end)), Some((20_000.0, 20_000.0)));
        assert_eq!(a.ef_parts.as_ref().map(|e| e.unit), Some(EfUnit::WattsPerBpm));
        assert!(a.candidates.pace.is_none());
        // One hour at CSS: sTSS 100 from the summary, streams or not.
        let a = run("Swim", &hour(None, 140.0, Some(1.2)));
        assert_eq!(a.score, Score { source: ScoreSource::Swim, value: a.stss });
        assert!(close(a.stss.unwrap(), 100.0, 1e-12));
        assert!(a.decoupling.is_none() && a.ef.is_none());
        // Other sports: heart rate only, even with watts.
        let a = run("Rowing", &hour(Some(300.0), 165.0, None));
        assert_eq!(a.score.source, ScoreSource::Heartrate);
        assert_eq!(a.candidates.power.as_ref().map(|p| p.tss), Some(None));
        assert!(a.zones.power.is_none());
    }

    #[test]
    fn without_thresholds_in_force_there_is_no_score() {
        let h = history();
        // Before every entry: nothing in force.
        let a = analyse_activity(&summary("Ride", "2023-12-31"), &hour(Some(240.0), 150.0, None), &h).unwrap();
        assert_eq!(a.score, Score { source: ScoreSource::None, value: None });
        assert_eq!(a.thresholds_in_force.hr_from, None);
        assert!(a.wbal.is_none() && a.zones.power.is_none() && a.zones.heartrate.is_none());
        assert!(a.peaks.watts.is_some(), "peaks need no threshold");
    }

    #[test]
    fn pauses_count_in_w_prime_balance_and_runs() {
        // 100 s at 340 W, a 301 s pause, 10 s at 240 W (= CP).
        let time: Vec<f64> = (0..100).map(f64::from).chain((0..10).map(|i| f64::from(400 + i))).collect();
        let watts: Vec<f64> = [vec![340.0; 100], vec![240.0; 10]].concat();
        let s = StreamSet::default().with(NumericKey::Time, time).with(NumericKey::Watts, watts);
        let a = analyse_activity(&summary("Ride", "2024-05-01"), &s, &history()).unwrap();
        assert_eq!(a.duration_s, 110);
        assert_eq!(a.resampling, ResamplingSummary { runs: 2, pauses_removed_s: 300, gaps_interpolated: 0 });
        let w = a.wbal.unwrap();
        assert!(close(w.min, 10_000.0, 1e-12) && w.min_at_s == 99);
        let recovered = 20_000.0 - 10_000.0 * (1.0 - 240.0 / 20_000.0f64).powi(300);
        assert!(close(w.series[100], recovered, 1e-12) && close(w.end, recovered, 1e-12));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let mut h = history();
        h.history.push(ThresholdEntry {
            css: Some(1.0),
            ..ThresholdEntry::new(ThresholdGroup::Cycling, "2024-02-01".parse().unwrap())
        });
        let e = analyse_activity(&summary("Ride", "2024-05-01"), &hour(None, 150.0, None), &h).unwrap_err();
        assert!(e.to_string().contains("history[4] (cycling from 2024-02-01): css"), "{e}");
        let bad = StreamSet::default().with(NumericKey::Time, vec![0.0, 1.0]).with(NumericKey::Watts, vec![1.0]);
        let e = analyse_activity(&summary("Ride", "2024-05-01"), &bad, &history()).unwrap_err();
        assert!(matches!(e, AnalysisError::Streams(StreamError::UnequalLength { key: "watts", .. })), "{e}");
        let mut no_date = summary("Ride", "2024-05-01");
        no_date.start_date_local = "yesterday".into();
        assert!(matches!(
            analyse_activity(&no_date, &hour(None, 1.0, None), &history()),
            Err(AnalysisError::Summary(_))
        ));
        let empty = analyse_activity(&summary("Ride", "2024-05-01"), &StreamSet::default(), &history()).unwrap();
        assert_eq!((empty.duration_s, empty.resampling.runs, empty.score.source), (0, 0, ScoreSource::None));
    }
}

/// The stored metrics through the whole scoring path: §6's definitions under single
/// thresholds (the history the migration makes of them), limits and bad input included.
#[cfg(test)]
mod stored_metrics_tests {
    use super::*;
    use crate::metrics::*;
    use crate::model::Sex;
    use crate::streams::{MAX_RESAMPLED_S, NumericKey};
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
    fn custom_zone_boundaries_are_used() {
        let th = Thresholds { power_zones: Some(vec![100.0, 200.0]), ..thresholds() };
        let m = compute("Ride", &ride(10, 150.0), &th).unwrap();
        assert_eq!(m.zones.power.unwrap().seconds, vec![0, 10, 0]);
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

/// A dated change, end to end: the thresholds in force, the score and the PMC of every
/// day before the change's date stay as they were.
#[cfg(test)]
mod dated_change_tests {
    use super::*;
    use crate::model::Sex;
    use crate::thresholds::{ThresholdEntry, ThresholdField, ThresholdGroup};
    use proptest::prelude::*;

    fn arb_entry(days: i32) -> impl Strategy<Value = ThresholdEntry> {
        let group = prop_oneof![
            Just(ThresholdGroup::Cycling),
            Just(ThresholdGroup::Running),
            Just(ThresholdGroup::Swimming),
            Just(ThresholdGroup::Other),
            Just(ThresholdGroup::Default),
        ];
        (group, 0..days, 100.0f64..400.0, 1.0f64..6.0, proptest::collection::vec(any::<bool>(), 5), 140.0f64..180.0)
            .prop_map(|(group, d, watts, speed, on, lthr)| {
                let from = LocalDate::from_days_since_epoch(19_000 + d);
                let mut e = ThresholdEntry::new(group, from);
                let set = |allowed: bool, v: f64| allowed.then_some(v);
                e.ftp = set(on[0] && group.allows(ThresholdField::Ftp), watts);
                if on[1] && group == ThresholdGroup::Cycling {
                    e.cp = Some(watts * 0.95);
                    e.w_prime = Some(watts * 80.0);
                }
                e.threshold_speed = set(on[2] && group == ThresholdGroup::Running, speed);
                e.css = set(on[2] && group == ThresholdGroup::Swimming, speed / 3.0);
                e.lthr = set(on[3], lthr);
                if on[4] {
                    e.hr_max = Some(lthr + 20.0);
                    e.hr_rest = Some(lthr - 100.0);
                }
                if e.validate().is_err() {
                    e.lthr = Some(lthr); // the only way to be invalid here is to set nothing
                }
                e
            })
    }

    /// Two minutes with every channel a score can use.
    fn short_activity_streams() -> crate::streams::StreamSet {
        use crate::streams::NumericKey;
        let n = 120;
        crate::streams::StreamSet::default()
            .with(NumericKey::Time, (0..n).map(f64::from).collect())
            .with(NumericKey::Watts, (0..n).map(|i| f64::from(150 + i % 7 * 40)).collect())
            .with(NumericKey::Heartrate, (0..n).map(|i| f64::from(120 + i / 3)).collect())
            .with(NumericKey::VelocitySmooth, (0..n).map(|i| f64::from(30 + i % 5) / 10.0).collect())
    }

    fn activity_on(sport: &str, d: LocalDate) -> ActivitySummary {
        serde_json::from_value(serde_json::json!({
            "id": 1, "sport_type": sport, "start_date": format!("{d}T08:00:00Z"),
            "start_date_local": format!("{d}T09:00:00Z"), "distance": 150.0, "moving_time": 120,
        }))
        .unwrap()
    }

    /// What a save, an edit, a move or a removal of an entry dated `d` can do.
    #[derive(Debug, Clone)]
    enum Change {
        Save(ThresholdEntry),
        Remove(usize),
        MoveTo(usize, i32),
    }

    proptest! {
        #[test]
        fn a_change_dated_d_leaves_every_earlier_day_as_it_was(
            history in proptest::collection::vec(arb_entry(60), 0..12),
            change in prop_oneof![
                arb_entry(60).prop_map(Change::Save),
                (0usize..12).prop_map(Change::Remove),
                (0usize..12, 0i32..60).prop_map(|(i, d)| Change::MoveTo(i, d)),
            ],
        ) {
            let before = ThresholdHistory { sex: Sex::Male, history };
            let mut after = before.clone();
            // The earliest date the change touches (a moved entry: the earlier of its dates).
            let from = match change {
                Change::Save(e) => {
                    let d = e.effective_from;
                    after.save(e).unwrap();
                    d
                }
                Change::Remove(i) => {
                    let Some(e) = before.history.get(i) else { return Ok(()) };
                    after.remove(e.group, e.effective_from);
                    e.effective_from
                }
                Change::MoveTo(i, d) => {
                    let Some(e) = before.history.get(i).cloned() else { return Ok(()) };
                    let to = LocalDate::from_days_since_epoch(19_000 + d);
                    after.remove(e.group, e.effective_from);
                    after.save(ThresholdEntry { effective_from: to, ..e.clone() }).unwrap();
                    e.effective_from.min(to)
                }
            };
            let streams = short_activity_streams();
            let mut loads = (Vec::new(), Vec::new());
            for offset in -3..70 {
                let d = LocalDate::from_days_since_epoch(19_000 + offset);
                for (g, sport) in [
                    (SportGroup::Cycling, "Ride"),
                    (SportGroup::Running, "Run"),
                    (SportGroup::Swimming, "Swim"),
                    (SportGroup::Other, "Rowing"),
                ] {
                    let summary = activity_on(sport, d);
                    let score = |h: &ThresholdHistory| {
                        analyse_activity(&summary, &streams, h).map(|a| a.score)
                    };
                    let (was, is) = (score(&before), score(&after));
                    if d < from {
                        prop_assert_eq!(before.in_force(g, d), after.in_force(g, d), "{:?} on {}", g, d);
                        prop_assert_eq!(&was, &is, "{} on {}", sport, d);
                    }
                    loads.0.push((d, was.map_or(0.0, |s| s.load())));
                    loads.1.push((d, is.map_or(0.0, |s| s.load())));
                }
            }
            // The chart: every row before the change's day is the same, to the bit.
            let k = crate::model::PmcConstants::default();
            let (was, is) = (
                crate::pmc::series(&crate::pmc::daily_loads(loads.0), k),
                crate::pmc::series(&crate::pmc::daily_loads(loads.1), k),
            );
            prop_assert_eq!(was.len(), is.len());
            for (a, b) in was.iter().zip(&is).filter(|(a, _)| a.date < from) {
                prop_assert_eq!(a, b);
            }
        }
    }
}
