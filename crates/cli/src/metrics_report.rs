//! `stravasync metrics`: every metric of one activity from Strava's JSON files.

use serde::Serialize;
use stravasync_core::json::parse_json_with_path;
use stravasync_core::metrics::{self, ActivityMetrics};
use stravasync_core::model::{ActivitySummary, Thresholds};
use stravasync_core::streams::parse_streams_json;

use crate::InputError;

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
