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
