//! Athletes: identity, thresholds, scopes and connection state, sport types.

use serde::{Deserialize, Serialize};

use super::{AthleteId, SCHEMA_VERSION, schema_v1};
use crate::LocalDate;
use crate::json::{FieldError, field_error};

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

/// `PUT /api/me/thresholds`: the thresholds an athlete sets on the dashboard. A field left
/// out keeps its value; custom zones and sex are kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsUpdate {
    /// Functional threshold power, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftp: Option<f64>,
    /// Lactate-threshold heart rate, bpm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lthr: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hr_max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hr_rest: Option<f64>,
    /// Threshold running speed, m/s (the dashboard's form takes a pace per km).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_speed: Option<f64>,
}

impl ThresholdsUpdate {
    /// Plausible human ranges: a typo (FTP 2500, LTHR 16) is refused, not scored.
    pub const RANGES: [(&'static str, f64, f64); 5] = [
        ("ftp", 30.0, 2_000.0),
        ("lthr", 80.0, 230.0),
        ("hr_max", 100.0, 250.0),
        ("hr_rest", 25.0, 120.0),
        ("threshold_speed", 1.0, 10.0),
    ];

    fn fields(&self) -> [Option<f64>; 5] {
        [self.ftp, self.lthr, self.hr_max, self.hr_rest, self.threshold_speed]
    }

    /// Each given field within [`Self::RANGES`], at least one given.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.fields().iter().all(Option::is_none) {
            return Err(field_error("(body)", "no threshold given (ftp, lthr, hr_max, hr_rest, threshold_speed)")
                .said("Nothing to save: give at least one threshold."));
        }
        for ((field, lo, hi), value) in Self::RANGES.into_iter().zip(self.fields()) {
            if let Some(v) = value.filter(|v| !(v.is_finite() && (lo..=hi).contains(v))) {
                return Err(
                    field_error(field, format!("{v} is outside {lo}..={hi}")).said(range_sentence(field, lo, hi))
                );
            }
        }
        Ok(())
    }

    /// `current` with the given fields replaced, validated as a whole: resting heart rate
    /// below threshold heart rate, threshold at most maximum (a swapped pair is refused
    /// with what to change, not stored).
    pub fn apply(&self, current: &Thresholds) -> Result<Thresholds, FieldError> {
        self.validate()?;
        let t = Thresholds {
            ftp: self.ftp.or(current.ftp),
            lthr: self.lthr.or(current.lthr),
            hr_max: self.hr_max.or(current.hr_max),
            hr_rest: self.hr_rest.or(current.hr_rest),
            threshold_speed: self.threshold_speed.or(current.threshold_speed),
            ..current.clone()
        };
        if let (Some(rest), Some(max)) = (t.hr_rest, t.hr_max)
            && rest >= max
        {
            return Err(field_error("hr_rest", format!("{rest} is not below hr_max {max}"))
                .said(format!("Resting heart rate ({rest:.0} bpm) must be below maximum heart rate ({max:.0} bpm).")));
        }
        t.validate().map_err(|e| {
            field_error(e.field, e.to_string()).said(format!("Check your {}: {}.", field_name(e.field), e.value))
        })?;
        if let (Some(lthr), Some(max)) = (t.lthr, t.hr_max)
            && lthr > max
        {
            return Err(field_error("lthr", format!("{lthr} is above hr_max {max}")).said(format!(
                "Threshold heart rate ({lthr:.0} bpm) cannot be above maximum heart rate ({max:.0} bpm)."
            )));
        }
        if let (Some(rest), Some(lthr)) = (t.hr_rest, t.lthr)
            && rest >= lthr
        {
            return Err(field_error("hr_rest", format!("{rest} is not below lthr {lthr}")).said(format!(
                "Resting heart rate ({rest:.0} bpm) must be below threshold heart rate ({lthr:.0} bpm)."
            )));
        }
        Ok(t)
    }
}

/// A threshold's name on the page.
fn field_name(field: &str) -> &'static str {
    match field {
        "ftp" => "FTP",
        "lthr" => "threshold heart rate",
        "hr_max" => "maximum heart rate",
        "hr_rest" => "resting heart rate",
        "threshold_speed" => "threshold pace",
        _ => "thresholds",
    }
}

/// `lo..=hi` of a threshold as the athlete enters it: watts, beats per minute, or a pace
/// per km (m:ss) for the threshold speed.
fn range_sentence(field: &str, lo: f64, hi: f64) -> String {
    let pace = |speed: f64| {
        let s = (1000.0 / speed).round() as i64;
        format!("{}:{:02}", s / 60, s % 60)
    };
    match field {
        "ftp" => format!("FTP must be between {lo:.0} and {hi:.0} W."),
        "threshold_speed" => format!("Threshold pace must be between {} and {} per km.", pace(hi), pace(lo)),
        other => {
            let name = field_name(other);
            let mut words = name.chars();
            let name = words.next().map_or(String::new(), |c| c.to_uppercase().chain(words).collect());
            format!("{name} must be between {lo:.0} and {hi:.0} bpm.")
        }
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

/// Strava's OAuth scopes, as its API document defines them (`securityDefinitions`).
pub const STRAVA_SCOPES: [&str; 7] =
    ["read", "read_all", "profile:read_all", "profile:write", "activity:read", "activity:read_all", "activity:write"];

/// What `/connect` asks Strava for unless `STRAVA_SCOPE` says otherwise: the athlete's
/// activities, private ones included (their heart rate and power are what is scored).
/// `profile:read_all` may be added for the athlete's own zones.
pub const DEFAULT_SCOPE: &str = "read,activity:read_all";

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
    /// `event_time` of the last push event applied for this athlete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<i64>,
    /// Bumped by each threshold change the athlete makes; `rescored_version` catches up
    /// when the rescore that follows it is done (the dashboard waits for that).
    #[serde(default)]
    pub thresholds_version: u32,
    #[serde(default)]
    pub rescored_version: u32,
    /// The last threshold change the consumer refused (made from a version since changed
    /// elsewhere), in the athlete's words; cleared by the next change stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_refusal: Option<String>,
    /// The version of the athlete model (docs/design.md §6b) every stored activity has been
    /// rescored under: 0 before the one-time migration, 1 after it.
    #[serde(default)]
    pub model_version: u32,
    /// The latest history import, running or finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillProgress>,
    /// The generation of this connection's sessions: every session cookie carries it and
    /// every route compares it with this one. A new connection (a new profile) draws a new
    /// random one, and deleting the athlete deletes it, so a disconnect ends every session
    /// of the athlete, on every device, and a reconnect never revives an old cookie.
    /// `None` in profiles stored before sessions had generations: no cookie matches, and
    /// the next sign-in draws one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_generation: Option<u64>,
    /// The first day of the earliest history import of a date range that completed: the
    /// days from there to the first activity are known to be empty. With the first stored
    /// activity, where the stored history begins (docs/design.md §8, "settling").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_imported_from: Option<LocalDate>,
}

/// A backfill not advanced for this long is taken as abandoned (its message was
/// dead-lettered): a new one may start.
pub const BACKFILL_STALE_S: i64 = 3_600;

/// Progress of a history import, kept in the profile by the consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillProgress {
    /// The request's id: when it was made (`requested_at` of its jobs).
    pub requested_at: i64,
    /// Last time the consumer advanced it.
    pub updated_at: i64,
    /// The `most_recent` N activities, or those in `after..before` (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_recent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// Activities looked at so far (imported or already stored).
    pub done: u32,
    /// Of those, fetched and stored (what the import is charged for).
    #[serde(default)]
    pub imported: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// A re-sync of stored activities (`refresh`), not only an import of missing ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
}

impl BackfillProgress {
    /// Not finished, and advanced within [`BACKFILL_STALE_S`].
    pub fn is_running(&self, now: i64) -> bool {
        self.finished_at.is_none() && now.saturating_sub(self.updated_at) < BACKFILL_STALE_S
    }
}

/// The version of the athlete model (docs/design.md §6b: thresholds by sport and date) a
/// profile's activities were last all rescored under ([`AthleteProfile::model_version`]):
/// 1 is §6b. The one-time migration (`stravasync migrate`) brings profiles of version 0 to it.
pub const MODEL_VERSION: u32 = 1;

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
            last_event_at: None,
            thresholds_version: 0,
            rescored_version: 0,
            threshold_refusal: None,
            // A new connection's activities are all scored under the current model.
            model_version: MODEL_VERSION,
            backfill: None,
            session_generation: None,
            history_imported_from: None,
        }
    }

    /// Whether a session of `generation` belongs to this connection.
    pub fn session_is_current(&self, generation: u64) -> bool {
        self.state == ConnectionState::Connected && self.session_generation == Some(generation)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_updates_name_the_field_and_keep_the_rest() {
        let current = Thresholds::starter(crate::model::Sex::Female);
        let up: ThresholdsUpdate = crate::json::parse_body(br#"{"ftp": 250}"#).unwrap();
        let t = up.apply(&current).unwrap();
        assert_eq!((t.ftp, t.lthr, t.sex), (Some(250.0), current.lthr, current.sex));
        assert_eq!(crate::json::parse_body::<ThresholdsUpdate>(br#"{"ftp": 250, "fpt": 1}"#).unwrap_err().field, "fpt");
        assert_eq!(crate::json::parse_body::<ThresholdsUpdate>(br#"{"ftp": "250"}"#).unwrap_err().field, "ftp");
        assert_eq!(crate::json::parse_body::<ThresholdsUpdate>(b"{}").unwrap().validate().unwrap_err().field, "(body)");
        let bad =
            |json: &[u8]| crate::json::parse_body::<ThresholdsUpdate>(json).unwrap().apply(&current).unwrap_err().field;
        assert_eq!(bad(br#"{"ftp": 2500}"#), "ftp");
        assert_eq!(bad(br#"{"lthr": 16}"#), "lthr");
        assert_eq!(bad(br#"{"threshold_speed": 0}"#), "threshold_speed");
        assert_eq!(bad(br#"{"hr_rest": 110, "hr_max": 105}"#), "hr_rest");
        // Said as the athlete enters them.
        let said = |json: &[u8]| {
            crate::json::parse_body::<ThresholdsUpdate>(json).unwrap().apply(&current).unwrap_err().sentence()
        };
        assert_eq!(said(br#"{"threshold_speed": 0.167}"#), "Threshold pace must be between 1:40 and 16:40 per km.");
        assert_eq!(said(br#"{"ftp": 2500}"#), "FTP must be between 30 and 2000 W.");
        assert_eq!(said(br#"{"lthr": 16}"#), "Threshold heart rate must be between 80 and 230 bpm.");
        assert_eq!(said(b"{}"), "Nothing to save: give at least one threshold.");
        // Implausible pairs: LTHR above HR max, resting at or above LTHR.
        assert_eq!(bad(br#"{"lthr": 200, "hr_max": 190}"#), "lthr");
        assert_eq!(
            said(br#"{"lthr": 200, "hr_max": 190}"#),
            "Threshold heart rate (200 bpm) cannot be above maximum heart rate (190 bpm)."
        );
        assert_eq!(bad(br#"{"hr_rest": 110, "lthr": 110}"#), "hr_rest");
        assert!(said(br#"{"hr_rest": 110, "lthr": 110}"#).starts_with("Resting heart rate (110 bpm) must be below"));
    }
}
