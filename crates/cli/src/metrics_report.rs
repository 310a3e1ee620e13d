//! The file commands: `stravasync metrics` (every metric of one activity from Strava's
//! JSON files) and `stravasync tile` (a long activity made by repeating a real one).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use stravasync_core::json::parse_json_with_path;
use stravasync_core::metrics::{self, ActivityMetrics};
use stravasync_core::model::{ActivitySummary, Sex, Thresholds};
use stravasync_core::streams::parse_streams_json;

use crate::{CliError, InputError, read_input, to_json};

/// `stravasync metrics`' arguments: the two files and the athlete's thresholds.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Streams JSON as `GET /activities/{id}/streams?key_by_type=true` returns it.
    #[arg(long)]
    pub streams: PathBuf,
    /// Activity JSON as `GET /activities/{id}` returns it.
    #[arg(long)]
    pub activity: PathBuf,
    /// Functional threshold power, W.
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
    /// Threshold running speed, m/s.
    #[arg(long)]
    pub threshold_speed: Option<f64>,
    /// male or female (TRIMP weighting).
    #[arg(long, default_value = "male")]
    pub sex: Sex,
}

impl MetricsArgs {
    pub fn run(self) -> Result<String, CliError> {
        let MetricsArgs { streams, activity, ftp, lthr, hr_max, hr_rest, threshold_speed, sex } = self;
        let thresholds = Thresholds { ftp, lthr, hr_max, hr_rest, threshold_speed, sex, ..Default::default() };
        let report = metrics_from_json(&read_input(&activity)?, &read_input(&streams)?, &thresholds)?;
        to_json(&report, true)
    }
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

/// What `stravasync metrics` prints.
#[derive(Debug, Serialize)]
pub struct MetricsReport {
    pub activity_id: i64,
    pub sport_type: String,
    #[serde(flatten)]
    pub metrics: ActivityMetrics,
    pub thresholds: Thresholds,
}

/// Parses an activity (`GET /activities/{id}`) and its streams
/// (`GET /activities/{id}/streams?key_by_type=true`) and computes the metrics.
pub fn metrics_from_json(
    activity_json: &[u8],
    streams_json: &[u8],
    thresholds: &Thresholds,
) -> Result<MetricsReport, InputError> {
    let activity: ActivitySummary =
        parse_json_with_path(activity_json).map_err(|e| InputError(format!("activity: {e}")))?;
    let sport = activity.sport().map_err(|e| InputError(format!("activity: {e}")))?;
    let streams = parse_streams_json(streams_json).map_err(|e| InputError(format!("streams: {e}")))?;
    let metrics = metrics::compute(&sport, &streams, thresholds).map_err(|e| InputError(e.to_string()))?;
    Ok(MetricsReport {
        activity_id: activity.id,
        sport_type: sport.as_str().to_string(),
        metrics,
        thresholds: thresholds.clone(),
    })
}
