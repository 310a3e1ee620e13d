//! Activities: Strava's summary, the stored record with its metrics and versions, the
//! tombstone of a deleted one.

use serde::{Deserialize, Serialize};

use super::{ActivityId, AthleteId, SportType, UnknownSport, schema_v1};
use crate::date::LocalDate;
use crate::metrics::ActivityMetrics;
pub use crate::metrics::ScoreSource;

/// An activity as Strava's `GET /activities/{id}` (DetailedActivity) or the list
/// endpoint (SummaryActivity) returns it, reduced to what the pipeline uses. Unknown
/// fields are ignored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActivitySummary {
    pub id: ActivityId,
    #[serde(default, alias = "athlete", deserialize_with = "athlete_ref")]
    pub athlete_id: Option<AthleteId>,
    #[serde(default)]
    pub name: Option<String>,
    /// Strava's newer `sport_type`; falls back to the legacy `type`.
    #[serde(default)]
    pub sport_type: Option<String>,
    #[serde(default, rename = "type")]
    pub legacy_type: Option<String>,
    pub start_date: String,
    pub start_date_local: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub distance: Option<f64>,
    #[serde(default)]
    pub moving_time: Option<i64>,
    #[serde(default)]
    pub elapsed_time: Option<i64>,
    #[serde(default)]
    pub total_elevation_gain: Option<f64>,
    #[serde(default)]
    pub average_watts: Option<f64>,
    #[serde(default)]
    pub weighted_average_watts: Option<f64>,
    #[serde(default)]
    pub device_watts: Option<bool>,
    #[serde(default)]
    pub average_heartrate: Option<f64>,
    #[serde(default)]
    pub max_heartrate: Option<f64>,
    #[serde(default)]
    pub average_speed: Option<f64>,
    #[serde(default)]
    pub manual: bool,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub trainer: bool,
    #[serde(default)]
    pub commute: bool,
}

/// Strava nests the owner as `"athlete": {"id": N, "resource_state": 1}`; our own stored
/// form writes `athlete_id` as a plain number. Accept both.
fn athlete_ref<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<AthleteId>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ref {
        Id(AthleteId),
        Obj { id: AthleteId },
    }
    Ok(Option::<Ref>::deserialize(d)?.map(|r| match r {
        Ref::Id(id) | Ref::Obj { id } => id,
    }))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error("activity {id}: field sport_type (and type) missing")]
    MissingSport { id: ActivityId },
    #[error("activity {id}: {source}")]
    Sport { id: ActivityId, source: UnknownSport },
    #[error("activity {id}: field start_date_local: {source}")]
    Date { id: ActivityId, source: crate::date::DateError },
}

impl ActivitySummary {
    pub fn sport(&self) -> Result<SportType, SummaryError> {
        let raw = self
            .sport_type
            .as_deref()
            .or(self.legacy_type.as_deref())
            .ok_or(SummaryError::MissingSport { id: self.id })?;
        SportType::parse(raw).map_err(|source| SummaryError::Sport { id: self.id, source })
    }

    /// The training day: the date part of `start_date_local`.
    pub fn local_date(&self) -> Result<LocalDate, SummaryError> {
        LocalDate::from_timestamp_prefix(&self.start_date_local)
            .map_err(|source| SummaryError::Date { id: self.id, source })
    }

    /// Where the activity was recorded, as seconds ahead of UTC: `start_date_local` (wall
    /// time written with a `Z`) less `start_date`. `None` when either does not parse or
    /// the difference is not a time zone's (beyond ±14 h).
    pub fn utc_offset_s(&self) -> Option<i64> {
        let offset =
            crate::date::parse_timestamp(&self.start_date_local)? - crate::date::parse_timestamp(&self.start_date)?;
        (offset.abs() <= 14 * 3600).then_some(offset)
    }
}

/// An activity as stored: Strava's summary, our metrics, and the version that makes
/// event processing idempotent (docs/design.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredActivity {
    #[serde(default = "schema_v1")]
    pub schema: u32,
    pub athlete_id: AthleteId,
    pub activity_id: ActivityId,
    /// `event_time` (unix seconds) of the last event applied to this activity.
    pub version: i64,
    pub local_date: LocalDate,
    pub summary: ActivitySummary,
    /// `None` until the activity has been scored (e.g. streams not yet available).
    pub metrics: Option<ActivityMetrics>,
    /// Number of stream chunks stored for this activity (0 for manual activities).
    #[serde(default)]
    pub stream_chunks: u32,
    /// Which stored stream set is this activity's ([`crate::codec::stream_set_id`]);
    /// `None` for items written before stream sets had ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams_id: Option<String>,
    /// Why the activity is stored without metrics although it has streams (e.g. longer
    /// than the pipeline scores). Not retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unscored_reason: Option<String>,
    /// Strava still had no streams after the last retry: a reconcile fetches them again.
    #[serde(default)]
    pub pending_streams: bool,
    /// Per-field versions of the fields an update event changes locally, so that a title
    /// edit delivered after a later type edit still applies (order independence).
    #[serde(default)]
    pub field_versions: FieldVersions,
}

/// Which stored stream set of an activity: one with an id, or the one set of the layout
/// before set ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamSetRef<'a> {
    Legacy,
    Id(&'a str),
}

impl StoredActivity {
    /// Its contribution to the day's training load (0 while unscored).
    pub fn load(&self) -> f64 {
        self.metrics.as_ref().map_or(0.0, |m| m.score.load())
    }

    /// The stream set this activity points at; `None` when it has no stored streams.
    pub fn streams_ref(&self) -> Option<StreamSetRef<'_>> {
        match (&self.streams_id, self.stream_chunks) {
            (_, 0) => None,
            (Some(id), _) => Some(StreamSetRef::Id(id)),
            (None, _) => Some(StreamSetRef::Legacy),
        }
    }
}

/// `event_time` of the last change applied to each locally updated field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FieldVersions {
    pub title: i64,
    pub sport_type: i64,
    pub private: i64,
}

impl FieldVersions {
    /// All fields as of `version` (a fetch from Strava).
    pub fn all(version: i64) -> Self {
        FieldVersions { title: version, sport_type: version, private: version }
    }
}

/// What remains of a deleted activity: enough to refuse a late create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub athlete_id: AthleteId,
    pub activity_id: ActivityId,
    pub version: i64,
}

/// The stored state of one activity id.
#[derive(Debug, Clone, PartialEq)]
pub enum ActivityState {
    Live(Box<StoredActivity>),
    Deleted(Tombstone),
}

impl ActivityState {
    pub fn version(&self) -> i64 {
        match self {
            ActivityState::Live(a) => a.version,
            ActivityState::Deleted(t) => t.version,
        }
    }
}
