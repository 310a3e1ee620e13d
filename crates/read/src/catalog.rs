//! The facts the dashboard shows without computing them, served by `GET /api/catalog`
//! so that the page copies none of them: the peak windows and their labels, the score
//! sources and their names, the sport groups, the speed under which no pace is drawn.

use serde::Serialize;
use stravasync_core::metrics::{PEAK_WINDOWS, ScoreSource};
use stravasync_core::model::RUN_SPORT_TYPES;
use stravasync_core::thresholds::{ThresholdField, ThresholdGroup};

/// Below this speed (m/s) an athlete is standing: the pace chart draws nothing there
/// (2,000 s per km would flatten the rest of the chart).
pub const PACE_MIN_SPEED_MS: f64 = 0.5;

/// A peak window and how it is labelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeakWindow {
    pub seconds: usize,
    pub label: String,
}

/// A score source (`ScoreSource`'s JSON value) and its name on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceName {
    pub source: ScoreSource,
    pub name: &'static str,
}

/// The sport types of each group the page tells apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SportGroups {
    /// Runs: their speed is shown as pace, and only they have pace bests.
    pub run: &'static [&'static str],
}

/// A threshold group (docs/design.md §6b), its name on the page and the fields an entry
/// of it may set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThresholdGroupFields {
    pub group: ThresholdGroup,
    pub name: &'static str,
    pub fields: Vec<&'static str>,
}

/// `GET /api/catalog`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub peak_windows: Vec<PeakWindow>,
    pub score_sources: Vec<SourceName>,
    pub sport_groups: SportGroups,
    pub pace_min_speed_ms: f64,
    /// The threshold history's groups, in the dashboard's order, with their fields.
    pub threshold_groups: Vec<ThresholdGroupFields>,
}

/// A window's label: `5s`, `1m`, `20m`, `1h`.
pub fn window_label(seconds: usize) -> String {
    match (seconds % 3600, seconds % 60) {
        _ if seconds < 60 => format!("{seconds}s"),
        (0, _) => format!("{}h", seconds / 3600),
        (_, 0) => format!("{}m", seconds / 60),
        (_, s) => format!("{}m{s:02}s", seconds / 60),
    }
}

/// The name of a score source on the page and in the CLI.
pub fn source_name(source: ScoreSource) -> &'static str {
    match source {
        ScoreSource::Power => "TSS (power)",
        ScoreSource::Pace => "rTSS (pace)",
        ScoreSource::Swim => "sTSS (swim)",
        ScoreSource::Heartrate => "hrTSS (heart rate)",
        ScoreSource::None => "no score",
    }
}

/// A threshold group's name on the page.
pub fn group_name(group: ThresholdGroup) -> &'static str {
    match group {
        ThresholdGroup::Default => "Heart rate, every sport",
        ThresholdGroup::Cycling => "Cycling",
        ThresholdGroup::Running => "Running",
        ThresholdGroup::Swimming => "Swimming",
        ThresholdGroup::Other => "Other sports",
    }
}

pub fn catalog() -> Catalog {
    Catalog {
        peak_windows: PEAK_WINDOWS
            .iter()
            .map(|&seconds| PeakWindow { seconds, label: window_label(seconds) })
            .collect(),
        score_sources: [
            ScoreSource::Power,
            ScoreSource::Pace,
            ScoreSource::Swim,
            ScoreSource::Heartrate,
            ScoreSource::None,
        ]
        .into_iter()
        .map(|source| SourceName { source, name: source_name(source) })
        .collect(),
        sport_groups: SportGroups { run: RUN_SPORT_TYPES },
        pace_min_speed_ms: PACE_MIN_SPEED_MS,
        threshold_groups: crate::thresholds::GROUPS
            .iter()
            .map(|&group| ThresholdGroupFields {
                group,
                name: group_name(group),
                fields: ThresholdField::ALL.iter().filter(|f| group.allows(**f)).map(|f| f.name()).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_labelled_as_athletes_read_them() {
        let labels: Vec<String> = catalog().peak_windows.into_iter().map(|w| w.label).collect();
        assert_eq!(labels, ["5s", "15s", "30s", "1m", "3m", "5m", "10m", "12m", "20m", "30m", "1h"]);
        assert_eq!(
            (window_label(90), window_label(5400), window_label(7200)),
            ("1m30s".into(), "90m".into(), "2h".into())
        );
    }
}
