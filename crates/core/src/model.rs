//! The records the pipeline keeps: athletes, activities, tokens, PMC rows, rate windows.
//!
//! Every struct that is persisted carries `schema` so that an item written by a newer
//! release is recognised and refused with [`SchemaError`] instead of being misread.

use serde::{Deserialize, Serialize};

use crate::date::LocalDate;
use crate::metrics::ActivityMetrics;
use crate::secret::Secret;

/// Strava ids exceed 2^32: always `i64`.
pub type AthleteId = i64;
pub type ActivityId = i64;

/// The schema version this release writes and the newest it can read.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} has schema version {found}, newer than the {supported} this release reads")]
pub struct SchemaError {
    pub what: &'static str,
    pub found: u32,
    pub supported: u32,
}

/// Refuses a record written by a newer release.
pub fn check_schema(what: &'static str, found: u32) -> Result<(), SchemaError> {
    if found > SCHEMA_VERSION { Err(SchemaError { what, found, supported: SCHEMA_VERSION }) } else { Ok(()) }
}

fn schema_v1() -> u32 {
    SCHEMA_VERSION
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    #[default]
    Male,
    Female,
}

impl std::str::FromStr for Sex {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "male" | "M" => Ok(Sex::Male),
            "female" | "F" => Ok(Sex::Female),
            other => Err(format!("sex must be male or female, got {other:?}")),
        }
    }
}

/// The athlete's training thresholds. Every field is optional: a score needs only the
/// thresholds of its own source (docs/design.md §6 "Score").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Thresholds {
    /// Functional threshold power, W.
    pub ftp: Option<f64>,
    /// Lactate-threshold heart rate, bpm.
    pub lthr: Option<f64>,
    pub hr_max: Option<f64>,
    pub hr_rest: Option<f64>,
    /// Threshold running speed, m/s.
    pub threshold_speed: Option<f64>,
    #[serde(default)]
    pub sex: Sex,
    /// The athlete's own power zone lower bounds (W), replacing the Coggan % of FTP.
    #[serde(default)]
    pub power_zones: Option<Vec<f64>>,
    /// The athlete's own heart-rate zone lower bounds (bpm), replacing the % of LTHR.
    #[serde(default)]
    pub heartrate_zones: Option<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("threshold {field} must be a finite number > 0, got {value}")]
pub struct ThresholdError {
    pub field: &'static str,
    pub value: String,
}

impl Thresholds {
    /// Thresholds for an athlete Strava tells us nothing about. They make every activity
    /// scoreable from day one; the athlete's own values (FTP from `/athlete`, zones from
    /// `/athlete/zones`) replace them where Strava has them.
    pub fn starter(sex: Sex) -> Self {
        Thresholds {
            ftp: Some(200.0),
            lthr: Some(if sex == Sex::Female { 165.0 } else { 160.0 }),
            hr_max: Some(185.0),
            hr_rest: Some(60.0),
            threshold_speed: Some(3.3),
            sex,
            power_zones: None,
            heartrate_zones: None,
        }
    }

    /// Every given threshold is finite and > 0, `hr_rest < hr_max`, and custom zone
    /// boundaries are ascending.
    pub fn validate(&self) -> Result<(), ThresholdError> {
        let fields = [
            ("ftp", self.ftp),
            ("lthr", self.lthr),
            ("hr_max", self.hr_max),
            ("hr_rest", self.hr_rest),
            ("threshold_speed", self.threshold_speed),
        ];
        for (field, value) in fields {
            if let Some(v) = value.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(ThresholdError { field, value: v.to_string() });
            }
        }
        if let (Some(rest), Some(max)) = (self.hr_rest, self.hr_max)
            && rest >= max
        {
            return Err(ThresholdError { field: "hr_rest", value: format!("{rest} (not below hr_max {max})") });
        }
        for (field, zones) in [("power_zones", &self.power_zones), ("heartrate_zones", &self.heartrate_zones)] {
            if let Some(z) = zones {
                let ascending = z.windows(2).all(|w| w[0] < w[1]);
                if z.is_empty() || !ascending || z.iter().any(|v| !v.is_finite()) {
                    return Err(ThresholdError { field, value: format!("{z:?} (need ascending finite bounds)") });
                }
            }
        }
        Ok(())
    }
}

/// PMC time constants in days (docs/design.md §6: 42 and 7 by default; athlete settings).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PmcConstants {
    pub ctl_days: f64,
    pub atl_days: f64,
}

impl Default for PmcConstants {
    fn default() -> Self {
        PmcConstants { ctl_days: 42.0, atl_days: 7.0 }
    }
}

/// OAuth scopes the athlete granted, as Strava reports them (`read,activity:read_all`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Scopes(pub Vec<String>);

impl Scopes {
    pub fn parse(list: &str) -> Self {
        Scopes(list.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_string).collect())
    }

    pub fn has(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// These scopes less `scope` (and less `activity:read_all` when `activity:read` goes:
    /// the wider scope cannot be held without the narrower one's access).
    pub fn without(&self, scope: &str) -> Scopes {
        let implied = |s: &str| s == scope || (scope == "activity:read" && s == "activity:read_all");
        Scopes(self.0.iter().filter(|s| !implied(s)).cloned().collect())
    }

    /// Private activities are visible to us only with `activity:read_all`.
    pub fn can_read_private(&self) -> bool {
        self.has("activity:read_all")
    }

    /// Some activity read scope is needed for anything to sync.
    pub fn can_read_activities(&self) -> bool {
        self.has("activity:read") || self.has("activity:read_all")
    }

    /// `/athlete/zones` needs `profile:read_all`.
    pub fn can_read_zones(&self) -> bool {
        self.has("profile:read_all")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    #[default]
    Connected,
    /// The athlete revoked access; their data is being (or has been) deleted.
    Deauthorized,
}

/// One athlete as the pipeline knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AthleteProfile {
    #[serde(default = "schema_v1")]
    pub schema: u32,
    pub athlete_id: AthleteId,
    #[serde(default)]
    pub firstname: Option<String>,
    #[serde(default)]
    pub lastname: Option<String>,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub pmc: PmcConstants,
    #[serde(default)]
    pub scopes: Scopes,
    #[serde(default)]
    pub state: ConnectionState,
    /// Unix seconds of the last successful sync (webhook or backfill).
    #[serde(default)]
    pub last_sync: Option<i64>,
}

impl AthleteProfile {
    pub fn new(athlete_id: AthleteId) -> Self {
        AthleteProfile {
            schema: SCHEMA_VERSION,
            athlete_id,
            firstname: None,
            lastname: None,
            thresholds: Thresholds::default(),
            pmc: PmcConstants::default(),
            scopes: Scopes::default(),
            state: ConnectionState::Connected,
            last_sync: None,
        }
    }
}

/// Strava's `sport_type` values. Anything else is refused by [`SportType::parse`] so a
/// typo or a new sport is noticed rather than scored as something it is not.
pub const KNOWN_SPORT_TYPES: &[&str] = &[
    "AlpineSki",
    "BackcountrySki",
    "Badminton",
    "Canoeing",
    "Crossfit",
    "EBikeRide",
    "Elliptical",
    "EMountainBikeRide",
    "Golf",
    "GravelRide",
    "Handcycle",
    "HighIntensityIntervalTraining",
    "Hike",
    "IceSkate",
    "InlineSkate",
    "Kayaking",
    "Kitesurf",
    "MountainBikeRide",
    "NordicSki",
    "Pickleball",
    "Pilates",
    "Racquetball",
    "Ride",
    "RockClimbing",
    "RollerSki",
    "Rowing",
    "Run",
    "Sail",
    "Skateboard",
    "Snowboard",
    "Snowshoe",
    "Soccer",
    "Squash",
    "StairStepper",
    "StandUpPaddling",
    "Surfing",
    "Swim",
    "TableTennis",
    "Tennis",
    "TrailRun",
    "Velomobile",
    "VirtualRide",
    "VirtualRow",
    "VirtualRun",
    "Walk",
    "WeightTraining",
    "Wheelchair",
    "Windsurf",
    "Workout",
    "Yoga",
];

/// Run sports, scored by pace when there is no power (docs/design.md §6).
pub const RUN_SPORT_TYPES: &[&str] = &["Run", "TrailRun", "VirtualRun"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SportType(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sport_type {value:?} is not a Strava sport type")]
pub struct UnknownSport {
    pub value: String,
}

impl SportType {
    pub fn parse(value: &str) -> Result<Self, UnknownSport> {
        if KNOWN_SPORT_TYPES.contains(&value) {
            Ok(SportType(value.to_string()))
        } else {
            Err(UnknownSport { value: value.to_string() })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_run(&self) -> bool {
        RUN_SPORT_TYPES.contains(&self.0.as_str())
    }
}

/// An activity as Strava's `GET /activities/{id}` (DetailedActivity) or the list
/// endpoint (SummaryActivity) returns it, reduced to what the pipeline uses. Unknown
/// fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// Where an activity's training score came from (docs/design.md §6 "Score").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreSource {
    Power,
    Pace,
    Heartrate,
    None,
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

/// OAuth tokens of one athlete, as kept in their Secrets Manager secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthTokens {
    pub athlete_id: AthleteId,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Unix seconds at which the access token expires.
    pub expires_at: i64,
    #[serde(default)]
    pub scopes: Scopes,
    /// Unix seconds of the OAuth connection these tokens descend from (kept across
    /// refreshes; 0 when unknown). A deauthorization older than this belongs to an earlier
    /// connection and must not delete this one.
    #[serde(default)]
    pub connected_at: i64,
}

impl OAuthTokens {
    /// True when the access token expires within `leeway_secs` of `now`.
    pub fn expires_within(&self, now: i64, leeway_secs: i64) -> bool {
        self.expires_at - now <= leeway_secs
    }
}

/// The application's credentials and webhook secrets, in one app secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    /// `hub.verify_token` of the push subscription.
    pub verify_token: Secret,
    /// Secret path segment of the webhook URL (`/webhook/{path_secret}`).
    pub webhook_path_secret: Secret,
    /// Strava's push subscription id; events with another id are refused.
    pub subscription_id: i64,
}

/// One day of the Performance Management Chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PmcRow {
    pub date: LocalDate,
    /// Sum of the scores of the activities of that day.
    pub load: f64,
    pub ctl: f64,
    pub atl: f64,
    /// Form going into the day: CTL − ATL of the previous day.
    pub tsb: f64,
}

/// Which Strava rate-limit budget a window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateWindowKind {
    /// 15-minute window, all requests.
    QuarterHour,
    /// UTC day, all requests.
    Daily,
}

/// A rate-limit window: its kind and start (unix seconds), shared by every consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateWindow {
    pub kind: RateWindowKind,
    pub start: i64,
}

impl RateWindow {
    pub fn containing(kind: RateWindowKind, unix_secs: i64) -> Self {
        let start = match kind {
            RateWindowKind::QuarterHour => crate::date::quarter_hour_start(unix_secs),
            RateWindowKind::Daily => crate::date::utc_day_start(unix_secs),
        };
        RateWindow { kind, start }
    }

    pub fn length_secs(&self) -> i64 {
        match self.kind {
            RateWindowKind::QuarterHour => 900,
            RateWindowKind::Daily => 86_400,
        }
    }

    /// When this window's budget resets.
    pub fn resets_at(&self) -> i64 {
        self.start + self.length_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_validation_names_the_field() {
        let t = Thresholds { ftp: Some(0.0), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "ftp");
        let t = Thresholds { lthr: Some(-3.0), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "lthr");
        let t = Thresholds { hr_rest: Some(60.0), hr_max: Some(50.0), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "hr_rest");
        let t = Thresholds { power_zones: Some(vec![100.0, 90.0]), ..Default::default() };
        assert_eq!(t.validate().unwrap_err().field, "power_zones");
        assert!(Thresholds::default().validate().is_ok());
    }

    #[test]
    fn sport_types() {
        assert!(SportType::parse("TrailRun").unwrap().is_run());
        assert!(!SportType::parse("Ride").unwrap().is_run());
        assert_eq!(SportType::parse("Quidditch").unwrap_err().value, "Quidditch");
    }

    #[test]
    fn summary_from_strava_json_ignores_unknown_fields() {
        let json = r#"{"id": 1099511627776, "athlete": {"id": 5123456789, "resource_state": 1},
            "type": "Ride", "start_date": "2020-01-01T10:00:00Z",
            "start_date_local": "2020-01-01T11:00:00Z", "brand_new_field": [1, 2, 3]}"#;
        let s: ActivitySummary = serde_json::from_str(json).unwrap();
        assert_eq!(s.id, 1 << 40);
        assert_eq!(s.athlete_id, Some(5_123_456_789));
        assert_eq!(s.sport().unwrap().as_str(), "Ride");
        assert_eq!(s.local_date().unwrap().to_string(), "2020-01-01");
        let back: ActivitySummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn scopes() {
        let s = Scopes::parse("read,activity:read_all");
        assert!(s.can_read_private() && s.can_read_activities() && !s.can_read_zones());
        assert!(!Scopes::parse("read").can_read_activities());
    }

    #[test]
    fn tokens_debug_hides_secrets() {
        let t = OAuthTokens {
            athlete_id: 1,
            access_token: Secret::new("acc-123"),
            refresh_token: Secret::new("ref-456"),
            expires_at: 100,
            scopes: Scopes::default(),
            connected_at: 0,
        };
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("acc-123") && !dbg.contains("ref-456"));
        assert!(t.expires_within(0, 300) && !t.expires_within(-1000, 300));
    }

    #[test]
    fn schema_check() {
        assert!(check_schema("profile", 1).is_ok());
        let e = check_schema("profile", 9).unwrap_err();
        assert!(e.to_string().contains("schema version 9"));
    }

    #[test]
    fn rate_windows() {
        let w = RateWindow::containing(RateWindowKind::QuarterHour, 1_700_000_000);
        assert_eq!(w.resets_at(), 1_700_000_100);
        let d = RateWindow::containing(RateWindowKind::Daily, 1_700_000_000);
        assert_eq!(d.resets_at() % 86_400, 0);
    }
}
