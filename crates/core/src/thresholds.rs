//! Thresholds by sport and date (docs/design.md §6b): the athlete's threshold history, the
//! sport groups it is kept by, and the thresholds in force on a day.
//!
//! A threshold changes over a season (a new FTP after a test, a new CSS after a swim
//! block), and an activity must be scored with the thresholds of *its* day, or a change
//! would silently rewrite the past. So thresholds are dated entries, one history per
//! athlete, and [`ThresholdHistory::in_force`] is the one place that decides which values
//! an activity of a group on a day gets:
//!
//! - the group's entry in force is the one with the greatest `effective_from` ≤ day (of two
//!   with the same date, the later in the history, i.e. the last saved);
//! - ftp, cp, w_prime, threshold_speed and css come only from that entry;
//! - the heart-rate triple (lthr, hr_max, hr_rest) comes from that entry when it sets all
//!   three, else from the `default` entry in force on the day, else there is none.
//!
//! The JSON shape is `{"sex": "male", "history": [{"group": ..., "effective_from": ...,
//! "ftp": ...}, ...]}` (the shared `expected/science/thresholds.json`).

use serde::{Deserialize, Serialize};

use crate::date::LocalDate;
use crate::json::{ParseError, parse_json_with_path};
use crate::model::{ActivitySummary, Sex, Thresholds};

/// Strava sport types scored as cycling.
pub const CYCLING_SPORT_TYPES: &[&str] = &[
    "Ride",
    "VirtualRide",
    "EBikeRide",
    "EMountainBikeRide",
    "MountainBikeRide",
    "GravelRide",
    "Handcycle",
    "Velomobile",
];
/// Strava sport types scored as running (the same as §6's run sports).
pub const RUNNING_SPORT_TYPES: &[&str] = crate::model::RUN_SPORT_TYPES;
/// Strava sport types scored as swimming.
pub const SWIMMING_SPORT_TYPES: &[&str] = &["Swim"];

/// The date of the entries migrated from the single profile thresholds: before any
/// activity, so the old values stay in force for the whole past.
pub const MIGRATED_EFFECTIVE_FROM: LocalDate = LocalDate::from_days_since_epoch(-719_162);

/// Which thresholds and which score an activity gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SportGroup {
    Cycling,
    Running,
    Swimming,
    Other,
}

impl SportGroup {
    /// The group of a Strava sport type; anything not listed (a new sport included) is `other`,
    /// which is scored by heart rate only and so never mis-scored by a power or pace threshold.
    pub fn of_sport(sport: &str) -> SportGroup {
        if CYCLING_SPORT_TYPES.contains(&sport) {
            SportGroup::Cycling
        } else if RUNNING_SPORT_TYPES.contains(&sport) {
            SportGroup::Running
        } else if SWIMMING_SPORT_TYPES.contains(&sport) {
            SportGroup::Swimming
        } else {
            SportGroup::Other
        }
    }

    /// The group of an activity: from `sport_type`, else the legacy `type`.
    pub fn of_summary(summary: &ActivitySummary) -> SportGroup {
        summary.sport_type.as_deref().or(summary.legacy_type.as_deref()).map_or(SportGroup::Other, SportGroup::of_sport)
    }

    pub fn name(self) -> &'static str {
        ThresholdGroup::from(self).name()
    }
}

/// The group an entry of the history belongs to: a sport group, or `default`, which only
/// carries the heart-rate triple every group falls back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdGroup {
    Cycling,
    Running,
    Swimming,
    Other,
    Default,
}

impl ThresholdGroup {
    pub fn name(self) -> &'static str {
        match self {
            ThresholdGroup::Cycling => "cycling",
            ThresholdGroup::Running => "running",
            ThresholdGroup::Swimming => "swimming",
            ThresholdGroup::Other => "other",
            ThresholdGroup::Default => "default",
        }
    }

    /// Whether an entry of this group may set `field`: cycling ftp, cp, w_prime; running
    /// ftp (running power) and threshold_speed; swimming css; every group the HR triple.
    pub fn allows(self, field: ThresholdField) -> bool {
        use ThresholdField as F;
        match field {
            F::Lthr | F::HrMax | F::HrRest => true,
            F::Ftp => matches!(self, ThresholdGroup::Cycling | ThresholdGroup::Running),
            F::Cp | F::WPrime => self == ThresholdGroup::Cycling,
            F::ThresholdSpeed => self == ThresholdGroup::Running,
            F::Css => self == ThresholdGroup::Swimming,
        }
    }
}

impl From<SportGroup> for ThresholdGroup {
    fn from(g: SportGroup) -> Self {
        match g {
            SportGroup::Cycling => ThresholdGroup::Cycling,
            SportGroup::Running => ThresholdGroup::Running,
            SportGroup::Swimming => ThresholdGroup::Swimming,
            SportGroup::Other => ThresholdGroup::Other,
        }
    }
}

impl std::fmt::Display for ThresholdGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields an entry may set, for errors and [`ThresholdGroup::allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdField {
    Ftp,
    Cp,
    WPrime,
    ThresholdSpeed,
    Css,
    Lthr,
    HrMax,
    HrRest,
}

impl ThresholdField {
    pub const ALL: [ThresholdField; 8] = [
        ThresholdField::Ftp,
        ThresholdField::Cp,
        ThresholdField::WPrime,
        ThresholdField::ThresholdSpeed,
        ThresholdField::Css,
        ThresholdField::Lthr,
        ThresholdField::HrMax,
        ThresholdField::HrRest,
    ];

    /// The field's JSON name.
    pub fn name(self) -> &'static str {
        match self {
            ThresholdField::Ftp => "ftp",
            ThresholdField::Cp => "cp",
            ThresholdField::WPrime => "w_prime",
            ThresholdField::ThresholdSpeed => "threshold_speed",
            ThresholdField::Css => "css",
            ThresholdField::Lthr => "lthr",
            ThresholdField::HrMax => "hr_max",
            ThresholdField::HrRest => "hr_rest",
        }
    }
}

impl std::fmt::Display for ThresholdField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One dated entry of the history. Every field is optional; which ones a group may set is
/// [`ThresholdGroup::allows`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdEntry {
    pub group: ThresholdGroup,
    /// The first local day the entry applies to.
    pub effective_from: LocalDate,
    /// Functional threshold power, W (cycling; running power for running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftp: Option<f64>,
    /// Critical power, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cp: Option<f64>,
    /// W′, the work capacity above CP, J (not kJ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w_prime: Option<f64>,
    /// Threshold running speed, m/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_speed: Option<f64>,
    /// Critical swim speed, m/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub css: Option<f64>,
    /// Lactate-threshold heart rate, bpm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lthr: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hr_max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hr_rest: Option<f64>,
}

/// What is wrong with an entry; every variant names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdEntryError {
    #[error("{field}: a {group} entry cannot set it")]
    NotForGroup { group: ThresholdGroup, field: ThresholdField },
    #[error("{field}: must be a finite number > 0, got {value}")]
    NotPositive { field: ThresholdField, value: f64 },
    #[error("{field}: cp and w_prime are set together (W'bal needs both)")]
    Unpaired { field: ThresholdField },
    #[error("w_prime: {w_prime} must be greater than cp {cp} (W' is in J, not kJ)")]
    WPrimeNotAboveCp { w_prime: f64, cp: f64 },
    #[error("{field}: {value} must be below {above} {above_value}")]
    HeartRateOrder { field: ThresholdField, value: f64, above: ThresholdField, above_value: f64 },
    #[error("fields: the entry sets no threshold")]
    Empty,
}

impl ThresholdEntryError {
    /// The JSON name of the field at fault (`fields` for an empty entry).
    pub fn field(&self) -> &'static str {
        match self {
            ThresholdEntryError::NotForGroup { field, .. }
            | ThresholdEntryError::NotPositive { field, .. }
            | ThresholdEntryError::Unpaired { field }
            | ThresholdEntryError::HeartRateOrder { field, .. } => field.name(),
            ThresholdEntryError::WPrimeNotAboveCp { .. } => "w_prime",
            ThresholdEntryError::Empty => "fields",
        }
    }
}

impl ThresholdEntry {
    /// An entry of `group` from `effective_from` with no field set (for builders and tests).
    pub fn new(group: ThresholdGroup, effective_from: LocalDate) -> Self {
        ThresholdEntry {
            group,
            effective_from,
            ftp: None,
            cp: None,
            w_prime: None,
            threshold_speed: None,
            css: None,
            lthr: None,
            hr_max: None,
            hr_rest: None,
        }
    }

    pub fn get(&self, field: ThresholdField) -> Option<f64> {
        match field {
            ThresholdField::Ftp => self.ftp,
            ThresholdField::Cp => self.cp,
            ThresholdField::WPrime => self.w_prime,
            ThresholdField::ThresholdSpeed => self.threshold_speed,
            ThresholdField::Css => self.css,
            ThresholdField::Lthr => self.lthr,
            ThresholdField::HrMax => self.hr_max,
            ThresholdField::HrRest => self.hr_rest,
        }
    }

    /// The HR triple `(lthr, hr_max, hr_rest)` if this entry sets all three.
    fn full_heart_rate(&self) -> Option<(f64, f64, f64)> {
        Some((self.lthr?, self.hr_max?, self.hr_rest?))
    }

    /// Checks what a save must refuse: a field the group cannot have (css on cycling), a
    /// value that is not a finite number > 0, cp without w_prime or the reverse, a W′ not
    /// above CP (W′ typed in kJ), heart rates out of order (`hr_rest < lthr <= hr_max`, and
    /// `hr_rest < hr_max`, for those set), or no field at all.
    pub fn validate(&self) -> Result<(), ThresholdEntryError> {
        let mut any = false;
        for field in ThresholdField::ALL {
            let Some(value) = self.get(field) else { continue };
            any = true;
            if !self.group.allows(field) {
                return Err(ThresholdEntryError::NotForGroup { group: self.group, field });
            }
            if !(value.is_finite() && value > 0.0) {
                return Err(ThresholdEntryError::NotPositive { field, value });
            }
        }
        if !any {
            return Err(ThresholdEntryError::Empty);
        }
        match (self.cp, self.w_prime) {
            (Some(_), None) => return Err(ThresholdEntryError::Unpaired { field: ThresholdField::WPrime }),
            (None, Some(_)) => return Err(ThresholdEntryError::Unpaired { field: ThresholdField::Cp }),
            (Some(cp), Some(w_prime)) if w_prime <= cp => {
                return Err(ThresholdEntryError::WPrimeNotAboveCp { w_prime, cp });
            }
            _ => {}
        }
        let order =
            |field, value: Option<f64>, above, above_value: Option<f64>, strict: bool| match (value, above_value) {
                (Some(v), Some(a)) if (strict && v >= a) || (!strict && v > a) => {
                    Err(ThresholdEntryError::HeartRateOrder { field, value: v, above, above_value: a })
                }
                _ => Ok(()),
            };
        use ThresholdField as F;
        order(F::HrRest, self.hr_rest, F::Lthr, self.lthr, true)?;
        order(F::HrRest, self.hr_rest, F::HrMax, self.hr_max, true)?;
        order(F::Lthr, self.lthr, F::HrMax, self.hr_max, false)
    }
}

/// An entry of a history that does not validate, named by its place in the history.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("history[{index}] ({group} from {effective_from}): {source}")]
pub struct ThresholdHistoryError {
    pub index: usize,
    pub group: ThresholdGroup,
    pub effective_from: LocalDate,
    pub source: ThresholdEntryError,
}

/// A threshold history document that could not be read: bad JSON or a bad entry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdDocumentError {
    #[error(transparent)]
    Json(#[from] ParseError),
    #[error(transparent)]
    Entry(#[from] ThresholdHistoryError),
}

/// One athlete's thresholds over time. `history` is in save order: of two entries of one
/// group on one date, the later one wins. Sex and the PMC constants are undated settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdHistory {
    #[serde(default)]
    pub sex: Sex,
    #[serde(default)]
    pub history: Vec<ThresholdEntry>,
}

/// The thresholds an activity of one group gets on one day, with where they came from.
/// Every field is always written (`null` when not in force), as the dashboard and
/// `stravasync metrics` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdsInForce {
    pub ftp: Option<f64>,
    pub cp: Option<f64>,
    pub w_prime: Option<f64>,
    pub threshold_speed: Option<f64>,
    pub css: Option<f64>,
    pub lthr: Option<f64>,
    pub hr_max: Option<f64>,
    pub hr_rest: Option<f64>,
    /// The group of the entry the HR triple came from (the activity's group or `default`);
    /// `None` when no entry gives heart rates.
    pub hr_from: Option<ThresholdGroup>,
    /// `effective_from` of the group's entry in force; `None` before its first entry.
    pub entry_effective_from: Option<LocalDate>,
    pub sex: Sex,
}

impl ThresholdsInForce {
    /// The heart-rate part as §6's [`Thresholds`], which the hrTSS code takes.
    pub fn heart_rate_thresholds(&self) -> Thresholds {
        Thresholds {
            lthr: self.lthr,
            hr_max: self.hr_max,
            hr_rest: self.hr_rest,
            sex: self.sex,
            ..Thresholds::default()
        }
    }
}

impl ThresholdHistory {
    /// Parses the JSON document and validates every entry; errors name the JSON path or
    /// the entry and field.
    pub fn from_json(json: &[u8]) -> Result<Self, ThresholdDocumentError> {
        let history: ThresholdHistory = parse_json_with_path(json)?;
        history.validate()?;
        Ok(history)
    }

    /// The first entry that does not validate, if any.
    pub fn validate(&self) -> Result<(), ThresholdHistoryError> {
        for (index, entry) in self.history.iter().enumerate() {
            entry.validate().map_err(|source| ThresholdHistoryError {
                index,
                group: entry.group,
                effective_from: entry.effective_from,
                source,
            })?;
        }
        Ok(())
    }

    /// Today's single profile thresholds as a history: every value in force since
    /// [`MIGRATED_EFFECTIVE_FROM`], FTP as cycling's, the threshold speed as running's, the
    /// heart rates as default's. Custom zone boundaries are not part of the history.
    pub fn from_profile(th: &Thresholds) -> ThresholdHistory {
        let from = MIGRATED_EFFECTIVE_FROM;
        let mut history = Vec::with_capacity(3);
        if th.lthr.is_some() || th.hr_max.is_some() || th.hr_rest.is_some() {
            history.push(ThresholdEntry {
                lthr: th.lthr,
                hr_max: th.hr_max,
                hr_rest: th.hr_rest,
                ..ThresholdEntry::new(ThresholdGroup::Default, from)
            });
        }
        if th.ftp.is_some() {
            history.push(ThresholdEntry { ftp: th.ftp, ..ThresholdEntry::new(ThresholdGroup::Cycling, from) });
        }
        if th.threshold_speed.is_some() {
            history.push(ThresholdEntry {
                threshold_speed: th.threshold_speed,
                ..ThresholdEntry::new(ThresholdGroup::Running, from)
            });
        }
        ThresholdHistory { sex: th.sex, history }
    }

    /// Validates `entry` and saves it: an entry of the same group and date is replaced, so
    /// the saved one is the one in force. Activities of the entry's group (every group for
    /// `default`) on days ≥ its `effective_from` need rescoring; nothing before changes.
    pub fn save(&mut self, entry: ThresholdEntry) -> Result<(), ThresholdEntryError> {
        entry.validate()?;
        self.history.retain(|e| !(e.group == entry.group && e.effective_from == entry.effective_from));
        self.history.push(entry);
        Ok(())
    }

    /// Removes the entries of `group` dated `effective_from`; returns how many there were.
    pub fn remove(&mut self, group: ThresholdGroup, effective_from: LocalDate) -> usize {
        let before = self.history.len();
        self.history.retain(|e| !(e.group == group && e.effective_from == effective_from));
        before - self.history.len()
    }

    /// The entry of `group` in force on `day`: the greatest `effective_from` ≤ `day`, the
    /// last in the history of equals.
    pub fn entry_in_force(&self, group: ThresholdGroup, day: LocalDate) -> Option<&ThresholdEntry> {
        let mut best: Option<&ThresholdEntry> = None;
        for e in self.history.iter().filter(|e| e.group == group && e.effective_from <= day) {
            if best.is_none_or(|b| e.effective_from >= b.effective_from) {
                best = Some(e);
            }
        }
        best
    }

    /// The thresholds in force for an activity of `group` on `day` (module docs).
    pub fn in_force(&self, group: SportGroup, day: LocalDate) -> ThresholdsInForce {
        let own = self.entry_in_force(group.into(), day);
        let field = |f| own.and_then(|e| e.get(f));
        let (lthr, hr_max, hr_rest, hr_from) = match own.and_then(ThresholdEntry::full_heart_rate) {
            Some((lthr, max, rest)) => (Some(lthr), Some(max), Some(rest), Some(ThresholdGroup::from(group))),
            None => match self.entry_in_force(ThresholdGroup::Default, day) {
                Some(d) if d.lthr.is_some() || d.hr_max.is_some() || d.hr_rest.is_some() => {
                    (d.lthr, d.hr_max, d.hr_rest, Some(ThresholdGroup::Default))
                }
                _ => (None, None, None, None),
            },
        };
        ThresholdsInForce {
            ftp: field(ThresholdField::Ftp),
            cp: field(ThresholdField::Cp),
            w_prime: field(ThresholdField::WPrime),
            threshold_speed: field(ThresholdField::ThresholdSpeed),
            css: field(ThresholdField::Css),
            lthr,
            hr_max,
            hr_rest,
            hr_from,
            entry_effective_from: own.map(|e| e.effective_from),
            sex: self.sex,
        }
    }
}

impl ThresholdGroup {
    /// Whether a change to this group's entries changes the thresholds of `group`'s
    /// activities: its own group's, and every group's for `default` (the HR triple).
    pub fn covers(self, group: SportGroup) -> bool {
        self == ThresholdGroup::Default || self == ThresholdGroup::from(group)
    }
}

/// Plausible human ranges of each field: a typo (FTP 2500, LTHR 16, W′ in kJ) is refused
/// before it rescores anything. Heart rates, FTP and threshold speed as the single profile
/// values had them.
pub const PLAUSIBLE: [(ThresholdField, f64, f64); 8] = [
    (ThresholdField::Ftp, 30.0, 2_000.0),
    (ThresholdField::Cp, 30.0, 2_000.0),
    (ThresholdField::WPrime, 1_000.0, 100_000.0),
    (ThresholdField::ThresholdSpeed, 1.0, 10.0),
    (ThresholdField::Css, 0.3, 3.0),
    (ThresholdField::Lthr, 80.0, 230.0),
    (ThresholdField::HrMax, 100.0, 250.0),
    (ThresholdField::HrRest, 25.0, 120.0),
];

impl ThresholdEntry {
    /// [`ThresholdEntry::validate`], then every field within [`PLAUSIBLE`]: what the
    /// dashboard, the API and the CLI refuse, naming the field, in the athlete's words.
    pub fn check_saveable(&self) -> Result<(), crate::json::FieldError> {
        use crate::json::field_error;
        self.validate().map_err(|e| {
            let said = match &e {
                ThresholdEntryError::NotForGroup { group, field } => {
                    format!("A {group} entry cannot set {}.", field_label(*field))
                }
                ThresholdEntryError::Empty => "Nothing to save: give at least one threshold.".to_string(),
                ThresholdEntryError::WPrimeNotAboveCp { .. } => {
                    "W′ is in joules (20 kJ is 20000) and must be above CP.".to_string()
                }
                ThresholdEntryError::Unpaired { .. } => "CP and W′ are set together.".to_string(),
                ThresholdEntryError::HeartRateOrder { field, value, above, above_value } => format!(
                    "{} ({value:.0} bpm) {} {} ({above_value:.0} bpm).",
                    capitalised(field_label(*field)),
                    if *field == ThresholdField::Lthr { "cannot be above" } else { "must be below" },
                    field_label(*above)
                ),
                ThresholdEntryError::NotPositive { field, .. } => {
                    format!("{} must be a number above zero.", capitalised(field_label(*field)))
                }
            };
            field_error(e.field(), e.to_string()).said(said)
        })?;
        for (field, lo, hi) in PLAUSIBLE {
            if let Some(v) = self.get(field).filter(|v| !(lo..=hi).contains(v)) {
                let range = match field {
                    // A speed reads as a pace, the fastest first: "between 1:40 and 16:40 per km".
                    ThresholdField::ThresholdSpeed => format!("{} and {} per km", pace(1000.0 / hi), pace(1000.0 / lo)),
                    ThresholdField::Css => format!("{} and {} per 100 m", pace(100.0 / hi), pace(100.0 / lo)),
                    _ => format!("{} and {}", field_value(field, lo), field_value(field, hi)),
                };
                return Err(field_error(field.name(), format!("{v} is outside {lo}..={hi}"))
                    .said(format!("{} must be between {range}.", capitalised(field_label(field)))));
            }
        }
        Ok(())
    }
}

/// A field's name as the athlete reads it.
pub fn field_label(field: ThresholdField) -> &'static str {
    match field {
        ThresholdField::Ftp => "FTP",
        ThresholdField::Cp => "CP",
        ThresholdField::WPrime => "W′",
        ThresholdField::ThresholdSpeed => "threshold pace",
        ThresholdField::Css => "CSS",
        ThresholdField::Lthr => "threshold heart rate",
        ThresholdField::HrMax => "maximum heart rate",
        ThresholdField::HrRest => "resting heart rate",
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// Seconds as `m:ss`.
fn pace(seconds: f64) -> String {
    let s = seconds.round() as i64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A value with its unit as the athlete reads it (speeds as a pace: per km, per 100 m).
fn field_value(field: ThresholdField, v: f64) -> String {
    match field {
        ThresholdField::Ftp | ThresholdField::Cp => format!("{v:.0} W"),
        ThresholdField::WPrime => format!("{v:.0} J"),
        ThresholdField::ThresholdSpeed => format!("{} per km", pace(1000.0 / v)),
        ThresholdField::Css => format!("{} per 100 m", pace(100.0 / v)),
        ThresholdField::Lthr | ThresholdField::HrMax | ThresholdField::HrRest => format!("{v:.0} bpm"),
    }
}

pub use crate::model::MODEL_VERSION;

/// Entries a history keeps at most: the item stays far below DynamoDB's 400 KB (an entry is
/// about 150 B) whatever an athlete does, at 20 changes a day for years.
pub const MAX_HISTORY_ENTRIES: usize = 500;

/// One change of an athlete's history: save an entry (replacing the one of its group and
/// date) or remove one. What the dashboard, `POST`/`DELETE /api/me/thresholds` and
/// `stravasync thresholds` send, and what the consumer applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ThresholdChange {
    Save { entry: ThresholdEntry },
    Remove { group: ThresholdGroup, effective_from: LocalDate },
}

impl ThresholdChange {
    /// Whose activities it rescores and from which day: the group's (every group's for
    /// `default`) on or after the entry's date. Nothing before that day changes.
    pub fn scope(&self) -> (ThresholdGroup, LocalDate) {
        match self {
            ThresholdChange::Save { entry } => (entry.group, entry.effective_from),
            ThresholdChange::Remove { group, effective_from } => (*group, *effective_from),
        }
    }

    /// Applies it to `history`. A save is checked as [`ThresholdEntry::check_saveable`];
    /// removing an entry that is not there is refused, naming it.
    pub fn apply(&self, history: &mut ThresholdHistory) -> Result<(), crate::json::FieldError> {
        match self {
            ThresholdChange::Save { entry } => {
                entry.check_saveable()?;
                let replaces =
                    history.history.iter().any(|e| e.group == entry.group && e.effective_from == entry.effective_from);
                if !replaces && history.history.len() >= MAX_HISTORY_ENTRIES {
                    return Err(crate::json::field_error(
                        "history",
                        format!("at most {MAX_HISTORY_ENTRIES} entries"),
                    )
                    .said(format!(
                        "Your threshold history holds {MAX_HISTORY_ENTRIES} entries, the most it keeps: delete old ones first."
                    )));
                }
                history.save(entry.clone()).map_err(|e| crate::json::field_error(e.field(), e.to_string()))
            }
            ThresholdChange::Remove { group, effective_from } => match history.remove(*group, *effective_from) {
                0 => Err(crate::json::field_error("effective_from", format!("no {group} entry from {effective_from}"))
                    .said(format!("There is no {group} entry from {effective_from}: reload the page."))),
                _ => Ok(()),
            },
        }
    }
}

impl ThresholdHistory {
    /// Single values from `day` on (`PUT /api/me/thresholds`, the single-value shorthand):
    /// for each group a value is given for (FTP: cycling; threshold speed: running; the
    /// heart rates: default), the entry in force that day with those fields replaced,
    /// saved from `day`. Each is checked as a save is.
    pub fn shorthand_changes(
        &self,
        update: &crate::model::ThresholdsUpdate,
        day: LocalDate,
    ) -> Result<Vec<ThresholdChange>, crate::json::FieldError> {
        let mut changes = Vec::new();
        use ThresholdField as F;
        let groups = [
            (ThresholdGroup::Cycling, vec![(F::Ftp, update.ftp)]),
            (ThresholdGroup::Running, vec![(F::ThresholdSpeed, update.threshold_speed)]),
            (
                ThresholdGroup::Default,
                vec![(F::Lthr, update.lthr), (F::HrMax, update.hr_max), (F::HrRest, update.hr_rest)],
            ),
        ];
        for (group, fields) in groups {
            if fields.iter().all(|(_, v)| v.is_none()) {
                continue;
            }
            let mut entry = self
                .entry_in_force(group, day)
                .cloned()
                .map(|e| ThresholdEntry { effective_from: day, ..e })
                .unwrap_or_else(|| ThresholdEntry::new(group, day));
            for (field, value) in fields {
                if let Some(v) = value {
                    entry.set(field, v);
                }
            }
            entry.check_saveable()?;
            changes.push(ThresholdChange::Save { entry });
        }
        Ok(changes)
    }
}

impl ThresholdEntry {
    fn set(&mut self, field: ThresholdField, value: f64) {
        let slot = match field {
            ThresholdField::Ftp => &mut self.ftp,
            ThresholdField::Cp => &mut self.cp,
            ThresholdField::WPrime => &mut self.w_prime,
            ThresholdField::ThresholdSpeed => &mut self.threshold_speed,
            ThresholdField::Css => &mut self.css,
            ThresholdField::Lthr => &mut self.lthr,
            ThresholdField::HrMax => &mut self.hr_max,
            ThresholdField::HrRest => &mut self.hr_rest,
        };
        *slot = Some(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> LocalDate {
        s.parse().unwrap()
    }

    fn entry(group: ThresholdGroup, from: &str) -> ThresholdEntry {
        ThresholdEntry::new(group, day(from))
    }

    fn hr(group: ThresholdGroup, from: &str, lthr: f64, max: f64, rest: f64) -> ThresholdEntry {
        ThresholdEntry { lthr: Some(lthr), hr_max: Some(max), hr_rest: Some(rest), ..entry(group, from) }
    }

    #[test]
    fn sport_groups_follow_sport_type_then_type() {
        for (sport, group) in [
            ("Ride", SportGroup::Cycling),
            ("GravelRide", SportGroup::Cycling),
            ("Velomobile", SportGroup::Cycling),
            ("TrailRun", SportGroup::Running),
            ("Swim", SportGroup::Swimming),
            ("Walk", SportGroup::Other),
            ("Rowing", SportGroup::Other),
            ("SomethingNew", SportGroup::Other),
        ] {
            assert_eq!(SportGroup::of_sport(sport), group, "{sport}");
        }
        let summary = |sport_type: Option<&str>, legacy: Option<&str>| ActivitySummary {
            sport_type: sport_type.map(str::to_string),
            legacy_type: legacy.map(str::to_string),
            ..serde_json::from_str(r#"{"id": 1, "start_date": "x", "start_date_local": "x"}"#).unwrap()
        };
        assert_eq!(SportGroup::of_summary(&summary(Some("MountainBikeRide"), Some("Ride"))), SportGroup::Cycling);
        assert_eq!(SportGroup::of_summary(&summary(Some("Hike"), Some("Run"))), SportGroup::Other);
        assert_eq!(SportGroup::of_summary(&summary(None, Some("Run"))), SportGroup::Running);
        assert_eq!(SportGroup::of_summary(&summary(None, None)), SportGroup::Other);
    }

    #[test]
    fn migrated_entries_are_dated_0001_01_01() {
        assert_eq!(MIGRATED_EFFECTIVE_FROM.to_string(), "0001-01-01");
        let th = Thresholds { sex: Sex::Female, ..Thresholds::starter(Sex::Female) };
        let h = ThresholdHistory::from_profile(&th);
        assert_eq!(h.sex, Sex::Female);
        assert!(h.validate().is_ok());
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"sex": "female", "history": [
                {"group": "default", "effective_from": "0001-01-01", "lthr": 165.0, "hr_max": 185.0, "hr_rest": 60.0},
                {"group": "cycling", "effective_from": "0001-01-01", "ftp": 200.0},
                {"group": "running", "effective_from": "0001-01-01", "threshold_speed": 3.3},
            ]})
        );
        // The old profile scores exactly as before on any day.
        let ride = h.in_force(SportGroup::Cycling, day("1999-05-01"));
        assert_eq!((ride.ftp, ride.lthr, ride.hr_from), (Some(200.0), Some(165.0), Some(ThresholdGroup::Default)));
        assert_eq!(h.in_force(SportGroup::Running, day("2030-01-01")).threshold_speed, Some(3.3));
        assert!(ThresholdHistory::from_profile(&Thresholds::default()).history.is_empty());
    }

    #[test]
    fn lookup_takes_the_latest_entry_on_or_before_the_day() {
        let mut h = ThresholdHistory::default();
        h.history.push(ThresholdEntry { ftp: Some(200.0), ..entry(ThresholdGroup::Cycling, "2024-01-01") });
        h.history.push(ThresholdEntry { ftp: Some(260.0), ..entry(ThresholdGroup::Cycling, "2024-06-01") });
        h.history.push(ThresholdEntry { ftp: Some(230.0), ..entry(ThresholdGroup::Cycling, "2024-03-01") });
        h.history.push(ThresholdEntry { ftp: Some(300.0), ..entry(ThresholdGroup::Running, "2023-01-01") });
        let ftp = |d: &str| h.in_force(SportGroup::Cycling, day(d)).ftp;
        assert_eq!(ftp("2023-12-31"), None, "nothing before the group's first entry, never another group's");
        assert_eq!(ftp("2024-01-01"), Some(200.0));
        assert_eq!(ftp("2024-02-29"), Some(200.0));
        assert_eq!(ftp("2024-03-01"), Some(230.0));
        assert_eq!(ftp("2024-05-31"), Some(230.0));
        assert_eq!(ftp("2024-06-01"), Some(260.0));
        assert_eq!(h.in_force(SportGroup::Cycling, day("2025-01-01")).entry_effective_from, Some(day("2024-06-01")));
        assert_eq!(h.in_force(SportGroup::Running, day("2024-06-01")).ftp, Some(300.0));
        assert_eq!(h.in_force(SportGroup::Swimming, day("2024-06-01")).entry_effective_from, None);
    }

    #[test]
    fn of_two_entries_on_one_date_the_last_saved_wins() {
        let mut h = ThresholdHistory::default();
        h.history.push(ThresholdEntry { css: Some(1.1), ..entry(ThresholdGroup::Swimming, "2024-01-01") });
        h.history.push(ThresholdEntry { css: Some(1.3), ..entry(ThresholdGroup::Swimming, "2024-01-01") });
        assert_eq!(h.in_force(SportGroup::Swimming, day("2024-02-01")).css, Some(1.3));
        h.save(ThresholdEntry { css: Some(1.2), ..entry(ThresholdGroup::Swimming, "2024-01-01") }).unwrap();
        assert_eq!(h.history.len(), 1, "a save replaces the entries of its group and date");
        assert_eq!(h.in_force(SportGroup::Swimming, day("2024-02-01")).css, Some(1.2));
        assert_eq!(h.remove(ThresholdGroup::Swimming, day("2024-01-01")), 1);
        assert_eq!(h.in_force(SportGroup::Swimming, day("2024-02-01")).css, None);
    }

    #[test]
    fn the_heart_rate_triple_falls_back_to_the_default_entry() {
        let mut h = ThresholdHistory::default();
        h.history.push(hr(ThresholdGroup::Default, "2024-01-01", 165.0, 190.0, 50.0));
        h.history.push(hr(ThresholdGroup::Default, "2024-05-01", 168.0, 191.0, 48.0));
        h.history.push(hr(ThresholdGroup::Running, "2024-03-01", 172.0, 195.0, 45.0));
        // A cycling entry with only lthr takes all three from default.
        h.history.push(ThresholdEntry {
            ftp: Some(250.0),
            lthr: Some(150.0),
            ..entry(ThresholdGroup::Cycling, "2024-02-01")
        });
        let hr_of = |g, d: &str| {
            let t = h.in_force(g, day(d));
            (t.lthr, t.hr_max, t.hr_rest, t.hr_from)
        };
        let default_1 = (Some(165.0), Some(190.0), Some(50.0), Some(ThresholdGroup::Default));
        let default_2 = (Some(168.0), Some(191.0), Some(48.0), Some(ThresholdGroup::Default));
        let running = (Some(172.0), Some(195.0), Some(45.0), Some(ThresholdGroup::Running));
        assert_eq!(hr_of(SportGroup::Cycling, "2023-12-31"), (None, None, None, None));
        assert_eq!(hr_of(SportGroup::Cycling, "2024-01-15"), default_1, "no cycling entry yet");
        assert_eq!(hr_of(SportGroup::Cycling, "2024-02-15"), default_1, "lthr alone does not make a triple");
        assert_eq!(hr_of(SportGroup::Cycling, "2024-06-01"), default_2);
        assert_eq!(hr_of(SportGroup::Running, "2024-02-15"), default_1);
        assert_eq!(hr_of(SportGroup::Running, "2024-03-01"), running);
        assert_eq!(hr_of(SportGroup::Running, "2024-06-01"), running, "a full group triple beats a newer default");
        assert_eq!(hr_of(SportGroup::Other, "2024-06-01"), default_2);
    }

    #[test]
    fn invalid_entries_name_the_field() {
        let field = |e: ThresholdEntry| e.validate().unwrap_err().field();
        let cycling = || entry(ThresholdGroup::Cycling, "2024-01-01");
        assert_eq!(field(ThresholdEntry { css: Some(1.2), ..cycling() }), "css");
        assert_eq!(field(ThresholdEntry { ftp: Some(250.0), ..entry(ThresholdGroup::Default, "2024-01-01") }), "ftp");
        assert_eq!(field(ThresholdEntry { cp: Some(240.0), ..entry(ThresholdGroup::Running, "2024-01-01") }), "cp");
        assert_eq!(field(ThresholdEntry { threshold_speed: Some(4.0), ..cycling() }), "threshold_speed");
        assert_eq!(field(ThresholdEntry { ftp: Some(0.0), ..cycling() }), "ftp");
        assert_eq!(field(ThresholdEntry { ftp: Some(f64::NAN), ..cycling() }), "ftp");
        assert_eq!(field(ThresholdEntry { cp: Some(240.0), w_prime: Some(20.0), ..cycling() }), "w_prime");
        let kj = ThresholdEntry { cp: Some(240.0), w_prime: Some(20.0), ..cycling() }.validate().unwrap_err();
        assert!(kj.to_string().contains("not kJ"), "{kj}");
        assert_eq!(field(ThresholdEntry { cp: Some(240.0), ..cycling() }), "w_prime");
        assert_eq!(field(ThresholdEntry { w_prime: Some(20_000.0), ..cycling() }), "cp");
        assert_eq!(field(hr(ThresholdGroup::Default, "2024-01-01", 165.0, 190.0, 170.0)), "hr_rest");
        assert_eq!(field(hr(ThresholdGroup::Default, "2024-01-01", 195.0, 190.0, 50.0)), "lthr");
        assert_eq!(field(ThresholdEntry { hr_rest: Some(60.0), hr_max: Some(60.0), ..cycling() }), "hr_rest");
        assert_eq!(field(cycling()), "fields");
        assert!(hr(ThresholdGroup::Default, "2024-01-01", 190.0, 190.0, 50.0).validate().is_ok(), "lthr may equal max");
        assert!(
            ThresholdEntry { ftp: Some(250.0), cp: Some(240.0), w_prime: Some(20_000.0), ..cycling() }
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn documents_refuse_unknown_fields_and_bad_entries_by_path() {
        let ok = br#"{"sex": "male", "history": [{"group": "swimming", "effective_from": "2024-01-01", "css": 1.2}]}"#;
        assert_eq!(ThresholdHistory::from_json(ok).unwrap().history[0].css, Some(1.2));
        let typo = br#"{"history": [{"group": "swimming", "effective_from": "2024-01-01", "CSS": 1.2}]}"#;
        let ThresholdDocumentError::Json(e) = ThresholdHistory::from_json(typo).unwrap_err() else { panic!() };
        assert!(e.path.starts_with("history[0]"), "{e}");
        let bad = br#"{"history": [{"group": "default", "effective_from": "2024-01-01", "lthr": 165},
            {"group": "cycling", "effective_from": "2024-02-01", "css": 1.2}]}"#;
        let e = ThresholdHistory::from_json(bad).unwrap_err();
        assert_eq!(e.to_string(), "history[1] (cycling from 2024-02-01): css: a cycling entry cannot set it");
        let date = br#"{"history": [{"group": "default", "effective_from": "2024-13-01", "lthr": 165}]}"#;
        assert!(ThresholdHistory::from_json(date).is_err());
    }

    #[test]
    fn a_save_is_refused_in_the_athletes_words_naming_the_field() {
        let refused = |e: ThresholdEntry| e.check_saveable().unwrap_err();
        let e = refused(ThresholdEntry { ftp: Some(2_500.0), ..entry(ThresholdGroup::Cycling, "2026-01-01") });
        assert_eq!((e.field.as_str(), e.sentence()), ("ftp", "FTP must be between 30 W and 2000 W.".to_string()));
        let e = refused(ThresholdEntry { threshold_speed: Some(33.0), ..entry(ThresholdGroup::Running, "2026-01-01") });
        assert_eq!(e.sentence(), "Threshold pace must be between 1:40 and 16:40 per km.");
        let e = refused(ThresholdEntry {
            cp: Some(250.0),
            w_prime: Some(20.0),
            ..entry(ThresholdGroup::Cycling, "2026-01-01")
        });
        assert_eq!(
            (e.field.as_str(), e.sentence()),
            ("w_prime", "W′ is in joules (20 kJ is 20000) and must be above CP.".to_string())
        );
        let e = refused(hr(ThresholdGroup::Default, "2026-01-01", 200.0, 190.0, 50.0));
        assert_eq!(e.sentence(), "Threshold heart rate (200 bpm) cannot be above maximum heart rate (190 bpm).");
        let e = refused(ThresholdEntry { css: Some(1.2), ..entry(ThresholdGroup::Cycling, "2026-01-01") });
        assert_eq!((e.field.as_str(), e.sentence()), ("css", "A cycling entry cannot set CSS.".to_string()));
        assert_eq!(refused(entry(ThresholdGroup::Running, "2026-01-01")).field, "fields");
        assert!(
            ThresholdEntry { css: Some(1.2), ..entry(ThresholdGroup::Swimming, "2026-01-01") }.check_saveable().is_ok()
        );
    }

    #[test]
    fn a_change_applies_and_says_what_it_rescores() {
        let mut h =
            ThresholdHistory::from_profile(&Thresholds { ftp: Some(250.0), lthr: Some(165.0), ..Default::default() });
        let run = ThresholdEntry { ftp: Some(280.0), ..entry(ThresholdGroup::Running, "2026-10-01") };
        let save = ThresholdChange::Save { entry: run.clone() };
        assert_eq!(save.scope(), (ThresholdGroup::Running, day("2026-10-01")));
        save.apply(&mut h).unwrap();
        assert_eq!(h.entry_in_force(ThresholdGroup::Running, day("2026-10-02")), Some(&run));
        let remove = ThresholdChange::Remove { group: ThresholdGroup::Running, effective_from: day("2026-10-01") };
        remove.apply(&mut h).unwrap();
        assert_eq!(remove.apply(&mut h).unwrap_err().field, "effective_from", "nothing left to remove");
        assert!(
            ThresholdGroup::Default.covers(SportGroup::Swimming) && ThresholdGroup::Running.covers(SportGroup::Running)
        );
        assert!(!ThresholdGroup::Running.covers(SportGroup::Cycling));
        // The shorthand: each group's entry in force that day, its fields replaced.
        h.save(ThresholdEntry {
            ftp: Some(260.0),
            cp: Some(250.0),
            w_prime: Some(20_000.0),
            ..entry(ThresholdGroup::Cycling, "2026-06-01")
        })
        .unwrap();
        let update = crate::model::ThresholdsUpdate { ftp: Some(270.0), hr_max: Some(190.0), ..Default::default() };
        let changes = h.shorthand_changes(&update, day("2026-11-01")).unwrap();
        let saved: Vec<&ThresholdEntry> = changes
            .iter()
            .map(|c| match c {
                ThresholdChange::Save { entry } => entry,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(saved.len(), 2);
        assert_eq!(
            (saved[0].group, saved[0].ftp, saved[0].cp),
            (ThresholdGroup::Cycling, Some(270.0), Some(250.0)),
            "CP kept"
        );
        assert_eq!(
            (saved[1].group, saved[1].lthr, saved[1].hr_max),
            (ThresholdGroup::Default, Some(165.0), Some(190.0))
        );
        assert!(saved.iter().all(|e| e.effective_from == day("2026-11-01")));
    }
}
