//! The athlete's threshold history as the dashboard, the API and `stravasync thresholds`
//! show and change it (docs/design.md §6b): the history with its version, each group's
//! entries as a table, and a change checked here against the stored version before the
//! consumer stores it (the read side cannot write the table: it hands the change on as a
//! job, which the consumer applies only if the history is still at that version).

use serde::Serialize;
use stravasync_core::LocalDate;
use stravasync_core::job::Job;
use stravasync_core::json::{FieldError, field_error};
use stravasync_core::model::{AthleteId, AthleteProfile, Sex, Thresholds};
use stravasync_core::ports::ProfileStore;
use stravasync_core::thresholds::{SportGroup, ThresholdChange, ThresholdEntry, ThresholdGroup, ThresholdHistory};

use crate::error::ReadError;

/// Threshold changes one athlete may make per UTC day: each rescores history from its date
/// (in bounded chunks on the events lane), so a loop of changes is refused, not queued.
pub const THRESHOLD_CHANGES_DAILY: u32 = 20;

/// The groups in the order the dashboard lists them.
pub const GROUPS: [ThresholdGroup; 5] = [
    ThresholdGroup::Default,
    ThresholdGroup::Cycling,
    ThresholdGroup::Running,
    ThresholdGroup::Swimming,
    ThresholdGroup::Other,
];

/// `GET /api/me/thresholds`: the history in the shape of a threshold document (`sex`,
/// `history`), its `version` (also the answer's `ETag`; a change names it), the zone
/// settings kept beside it, and the last change the consumer refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdsAnswer {
    pub sex: Sex,
    pub history: Vec<ThresholdEntry>,
    pub version: u64,
    /// The athlete's own zone boundaries from Strava (`/athlete/zones`): zone settings,
    /// not dated, used instead of the % of the thresholds in force where set.
    pub zones: ZoneSettingsView,
    /// A stored change has not finished rescoring yet.
    pub rescore_pending: bool,
    /// The last change the consumer refused, in the athlete's words.
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneSettingsView {
    pub power: Option<Vec<f64>>,
    pub heartrate: Option<Vec<f64>>,
}

/// The stored history and its version, or the profile's single thresholds as the entries
/// the migration makes of them, at version 0.
pub async fn current<S: ProfileStore>(
    store: &S,
    profile: &AthleteProfile,
) -> Result<(ThresholdHistory, u64), ReadError> {
    let stored = store
        .threshold_history(profile.athlete_id)
        .await
        .map_err(|error| ReadError::Unavailable { what: "thresholds", error })?;
    Ok(match stored {
        Some(s) => (s.history, s.version),
        None => (ThresholdHistory::from_profile(&profile.thresholds), 0),
    })
}

/// Today's thresholds as single values: the cycling FTP, the running threshold speed and
/// the default heart rates in force on `day`, with the undated settings (sex, zones).
pub fn today(history: &ThresholdHistory, settings: &Thresholds, day: LocalDate) -> Thresholds {
    let cycling = history.in_force(SportGroup::Cycling, day);
    let running = history.in_force(SportGroup::Running, day);
    let default = history.entry_in_force(ThresholdGroup::Default, day);
    Thresholds {
        ftp: cycling.ftp,
        threshold_speed: running.threshold_speed,
        lthr: default.and_then(|e| e.lthr),
        hr_max: default.and_then(|e| e.hr_max),
        hr_rest: default.and_then(|e| e.hr_rest),
        sex: history.sex,
        ..settings.clone()
    }
}

/// The history with its entries in the dashboard's order: by group, then by date.
pub async fn answer<S: ProfileStore>(store: &S, profile: &AthleteProfile) -> Result<ThresholdsAnswer, ReadError> {
    let (history, version) = current(store, profile).await?;
    let mut entries = history.history;
    entries.sort_by_key(|e| (GROUPS.iter().position(|g| *g == e.group), e.effective_from));
    Ok(ThresholdsAnswer {
        sex: history.sex,
        history: entries,
        version,
        zones: ZoneSettingsView {
            power: profile.thresholds.power_zones.clone(),
            heartrate: profile.thresholds.heartrate_zones.clone(),
        },
        rescore_pending: profile.thresholds_version != profile.rescored_version,
        refused: profile.threshold_refusal.clone(),
    })
}

/// A change checked against the stored history: made from the stored `version` (else
/// [`ReadError::Conflict`]: someone changed it since), and applicable to it (a save
/// checked field by field, a removal of an entry that is there). The job to enqueue.
pub async fn change<S: ProfileStore>(
    store: &S,
    profile: &AthleteProfile,
    change: ThresholdChange,
    version: u64,
) -> Result<Job, ReadError> {
    let (mut history, stored) = current(store, profile).await?;
    if version < stored {
        return Err(ReadError::Conflict(format!(
            "Your thresholds were changed elsewhere (version {stored}, yours {version}): reload and make the change again."
        )));
    }
    if version == stored {
        change.apply(&mut history)?;
    } else {
        // Ahead of the store: changes of this page still queued. The consumer checks it
        // against the history they leave; a save is checked on its own here.
        if let ThresholdChange::Save { entry } = &change {
            entry.check_saveable()?;
        }
    }
    Ok(Job::ChangeThresholds { athlete_id: profile.athlete_id, change, version })
}

/// The version a change names: `If-Match: "3"` (or `3`), else the body's or query's
/// `version`; one of them is required.
pub fn version_of(if_match: Option<&str>, field: Option<u64>) -> Result<u64, FieldError> {
    match (if_match, field) {
        (Some(tag), _) => tag.trim().trim_start_matches("W/").trim_matches('"').parse().map_err(|_| {
            field_error("If-Match", format!("{tag:?} is not a version")).said("Reload the page and try again.")
        }),
        (None, Some(v)) => Ok(v),
        (None, None) => Err(field_error("version", "the history's version is required (If-Match or version)")
            .said("Reload the page and try again.")),
    }
}

/// `POST /api/me/thresholds`' body: the entry to save and the version it was made from.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveRequest {
    pub entry: ThresholdEntry,
    #[serde(default)]
    pub version: Option<u64>,
}

/// `DELETE /api/me/thresholds?group=…&effective_from=…[&version=…]`.
pub fn removal(group: Option<&str>, from: Option<&str>) -> Result<ThresholdChange, FieldError> {
    let group = group.ok_or_else(|| field_error("group", "required"))?;
    let group: ThresholdGroup = serde_json::from_value(serde_json::Value::String(group.to_string())).map_err(|_| {
        field_error("group", format!("{group:?} is not one of default, cycling, running, swimming, other"))
    })?;
    let from = from.ok_or_else(|| field_error("effective_from", "required"))?;
    let effective_from: LocalDate =
        from.parse().map_err(|_| field_error("effective_from", format!("{from:?} is not a date (YYYY-MM-DD)")))?;
    Ok(ThresholdChange::Remove { group, effective_from })
}

/// The history as a text table per group, as `stravasync thresholds` prints it.
pub fn table(answer: &ThresholdsAnswer, athlete: AthleteId) -> String {
    let mut out = format!("athlete {athlete}: threshold history version {} ({:?})\n", answer.version, answer.sex);
    for group in GROUPS {
        let entries: Vec<&ThresholdEntry> = answer.history.iter().filter(|e| e.group == group).collect();
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("{group}\n"));
        for e in entries {
            let fields: Vec<String> = stravasync_core::thresholds::ThresholdField::ALL
                .iter()
                .filter_map(|f| e.get(*f).map(|v| format!("{} {v}", f.name())))
                .collect();
            out.push_str(&format!("  from {}  {}\n", e.effective_from, fields.join(", ")));
        }
    }
    if answer.rescore_pending {
        out.push_str("a change is being rescored\n");
    }
    if let Some(why) = &answer.refused {
        out.push_str(&format!("last change refused: {why}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_names_its_version() {
        assert_eq!(version_of(Some("\"3\""), None), Ok(3));
        assert_eq!(version_of(Some("W/\"4\""), Some(1)), Ok(4));
        assert_eq!(version_of(None, Some(2)), Ok(2));
        assert_eq!(version_of(None, None).unwrap_err().field, "version");
        assert_eq!(version_of(Some("x"), None).unwrap_err().field, "If-Match");
    }

    #[test]
    fn a_removal_names_a_group_and_a_date() {
        assert_eq!(
            removal(Some("running"), Some("2026-10-01")),
            Ok(ThresholdChange::Remove {
                group: ThresholdGroup::Running,
                effective_from: "2026-10-01".parse().unwrap()
            })
        );
        assert_eq!(removal(Some("rowing"), Some("2026-10-01")).unwrap_err().field, "group");
        assert_eq!(removal(Some("running"), Some("2026-13-01")).unwrap_err().field, "effective_from");
        assert_eq!(removal(None, None).unwrap_err().field, "group");
    }
}
