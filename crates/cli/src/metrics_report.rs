//! The file commands: `stravasync metrics` (every metric of one activity from Strava's
//! JSON files), `stravasync cpfit` (CP and W′ from best powers) and `stravasync tile` (a long activity made by repeating a real one).

use std::path::PathBuf;

use clap::Args;
use stravasync_core::analysis::{ActivityAnalysis, analyse_activity};
use stravasync_core::json::parse_json_with_path;
use stravasync_core::model::{ActivitySummary, Sex, Thresholds};
use stravasync_core::physiology::{CpFit, fit_cp};
use stravasync_core::streams::parse_streams_json;
use stravasync_core::thresholds::ThresholdHistory;

use crate::{CliError, InputError, read_input, to_json};

/// `stravasync metrics`' arguments: the two files and the athlete's thresholds, as a dated
/// history (`--thresholds`) or as the single values of the shorthand flags, which mean the
/// entries the migration of a single profile makes (docs/design.md §6b): FTP as cycling's,
/// the threshold speed as running's, the heart rates as every group's default.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Streams JSON as `GET /activities/{id}/streams?key_by_type=true` returns it.
    #[arg(long, requires = "activity", required_unless_present = "file")]
    pub streams: Option<PathBuf>,
    /// Activity JSON as `GET /activities/{id}` returns it.
    #[arg(long, requires = "streams", required_unless_present = "file")]
    pub activity: Option<PathBuf>,
    /// Instead of the two JSON files: the recording itself, a FIT, GPX or TCX file,
    /// gzipped or not (`.fit`, `.fit.gz`, `.gpx`, …), converted as an import converts it
    /// (docs/design.md §4b). Its id is the local id a loose file gets; its day is its own
    /// (a FIT file's local offset, else UTC).
    #[arg(long, conflicts_with_all = ["streams", "activity"])]
    pub file: Option<PathBuf>,
    /// The athlete's threshold history, JSON: `{"sex": …, "history": [{"group",
    /// "effective_from", "ftp", "cp", "w_prime", "threshold_speed", "css", "lthr", "hr_max",
    /// "hr_rest"}, …]}`.
    #[arg(long, conflicts_with_all = ["ftp", "lthr", "hr_max", "hr_rest", "threshold_speed", "sex"])]
    pub thresholds: Option<PathBuf>,
    /// Writes the W′ balance series as `i,wbal` CSV (one row per second after pauses are
    /// removed) when the ride has power and a CP and W′ in force.
    #[arg(long)]
    pub wbal_series: Option<PathBuf>,
    /// Functional threshold power, W (cycling's).
    #[arg(long)]
    pub ftp: Option<f64>,
    /// Lactate-threshold heart rate, bpm.
    #[arg(long)]
    pub lthr: Option<f64>,
    /// Maximum heart rate, bpm.
    #[arg(long)]
    pub hr_max: Option<f64>,
    /// Resting heart rate, bpm.
    #[arg(long)]
    pub hr_rest: Option<f64>,
    /// Threshold running speed, m/s (running's).
    #[arg(long)]
    pub threshold_speed: Option<f64>,
    /// male or female (TRIMP weighting).
    #[arg(long)]
    pub sex: Option<Sex>,
}

impl MetricsArgs {
    pub fn run(self) -> Result<String, CliError> {
        let history = match &self.thresholds {
            Some(path) => ThresholdHistory::from_json(&read_input(path)?)
                .map_err(|e| InputError::new(format!("{}: {e}", path.display())))?,
            None => {
                let MetricsArgs { ftp, lthr, hr_max, hr_rest, threshold_speed, sex, .. } = self;
                let single = Thresholds {
                    ftp,
                    lthr,
                    hr_max,
                    hr_rest,
                    threshold_speed,
                    sex: sex.unwrap_or_default(),
                    ..Default::default()
                };
                single.validate().map_err(|e| InputError::new(e.to_string()))?;
                ThresholdHistory::from_profile(&single)
            }
        };
        let analysis = match (&self.file, &self.activity, &self.streams) {
            (Some(file), _, _) => analysis_from_file(file, &read_input(file)?, &history)?,
            (None, Some(activity), Some(streams)) => {
                analysis_from_json(&read_input(activity)?, &read_input(streams)?, &history)?
            }
            _ => return Err(InputError::new("give --file, or --activity and --streams".to_string()).into()),
        };
        if let Some(path) = &self.wbal_series {
            std::fs::write(path, wbal_csv(&analysis))
                .map_err(|e| InputError::new(format!("{}: {e}", path.display())))?;
        }
        to_json(&analysis, true)
    }
}

/// The W′ balance series as `i,wbal` CSV: a header only when there is none.
pub fn wbal_csv(analysis: &ActivityAnalysis) -> String {
    use std::fmt::Write;
    let series = analysis.wbal.as_ref().map_or(&[][..], |w| &w.series[..]);
    let mut out = String::with_capacity(16 + series.len() * 20);
    out.push_str("i,wbal\n");
    for (i, v) in series.iter().enumerate() {
        let _ = writeln!(out, "{i},{v:?}");
    }
    out
}

/// `stravasync cpfit`'s arguments.
#[derive(Debug, Args)]
pub struct CpfitArgs {
    /// Best powers, JSON: an object of window seconds → watts (the shape of a stored
    /// activity's `peaks.watts`), or `{"bests": [{"t": seconds, "p": watts}, …]}`.
    #[arg(long)]
    pub bests: PathBuf,
}

impl CpfitArgs {
    /// The 2-parameter CP/W′ fit of the bests (docs/design.md §6b), or its refusal.
    pub fn run(self) -> Result<String, CliError> {
        let json = read_input(&self.bests)?;
        let fit = cp_fit_from_json(&json).map_err(|e| InputError::new(format!("{}: {e}", self.bests.display())))?;
        to_json(&fit, true)
    }
}

/// The bests in either accepted shape, fitted.
pub fn cp_fit_from_json(json: &[u8]) -> Result<CpFit, String> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Bests {
        Listed { bests: Vec<Best> },
        Windows(std::collections::BTreeMap<String, Option<f64>>),
    }
    #[derive(serde::Deserialize)]
    struct Best {
        t: f64,
        p: f64,
    }
    let bests: Bests = parse_json_with_path(json).map_err(|e| e.to_string())?;
    let points: Vec<(f64, f64)> = match bests {
        Bests::Listed { bests } => bests.into_iter().map(|b| (b.t, b.p)).collect(),
        Bests::Windows(map) => {
            let mut points = Vec::with_capacity(map.len());
            for (window, watts) in map {
                let t: u32 =
                    window.parse().map_err(|_| format!("at {window:?}: a window must be a whole number of seconds"))?;
                if let Some(p) = watts {
                    points.push((f64::from(t), p));
                }
            }
            points
        }
    };
    if let Some((t, p)) = points.iter().find(|(t, p)| !(t.is_finite() && *t > 0.0 && p.is_finite() && *p >= 0.0)) {
        return Err(format!("the best {p} W over {t} s is not a positive duration and power"));
    }
    Ok(fit_cp(points))
}

/// `stravasync tile`'s arguments.
#[derive(Debug, Args)]
pub struct TileArgs {
    /// Streams JSON to repeat.
    #[arg(long)]
    pub streams: PathBuf,
    /// Minimum duration of the result, hours.
    #[arg(long)]
    pub hours: f64,
}

impl TileArgs {
    /// The streams repeated until they last `hours`, as JSON.
    pub fn run(self) -> Result<String, CliError> {
        let hours = self.hours;
        if !(hours.is_finite() && hours > 0.0 && hours <= 240.0) {
            return Err(InputError::new(format!("--hours must be in (0, 240], got {hours}")).into());
        }
        let set =
            parse_streams_json(&read_input(&self.streams)?).map_err(|e| InputError::new(format!("streams: {e}")))?;
        to_json(&set.tiled((hours * 3600.0).ceil() as usize), false)
    }
}

/// Parses an activity (`GET /activities/{id}`) and its streams
/// (`GET /activities/{id}/streams?key_by_type=true`) and analyses it under `history`: what
/// `stravasync metrics` prints (docs/design.md §6b; the field names of the shared expected
/// outputs).
/// The analysis of a recording file, converted as an import converts it.
pub fn analysis_from_file(
    path: &std::path::Path,
    bytes: &[u8],
    history: &ThresholdHistory,
) -> Result<ActivityAnalysis, InputError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let fail = |e: &dyn std::fmt::Display| InputError(format!("{}: {e}", path.display()));
    let recording = stravasync_files::read_file(name, bytes).map_err(|e| fail(&e))?;
    let id = stravasync_files::local_id(bytes);
    let activity = stravasync_files::FileActivity::new(&recording, id, 0, None, None, &Default::default())
        .map_err(|e| fail(&e))?;
    analyse_activity(&activity.summary, &activity.streams, history).map_err(|e| fail(&e))
}

pub fn analysis_from_json(
    activity_json: &[u8],
    streams_json: &[u8],
    history: &ThresholdHistory,
) -> Result<ActivityAnalysis, InputError> {
    let activity: ActivitySummary =
        parse_json_with_path(activity_json).map_err(|e| InputError(format!("activity: {e}")))?;
    activity.sport().map_err(|e| InputError(format!("activity: {e}")))?;
    let streams = parse_streams_json(streams_json).map_err(|e| InputError(format!("streams: {e}")))?;
    analyse_activity(&activity, &streams, history).map_err(|e| InputError(e.to_string()))
}
