//! Derived records: PMC days and the shared rate-limit windows.

use serde::{Deserialize, Serialize};

use crate::date::LocalDate;

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

    /// The window after this one.
    pub fn next(&self) -> RateWindow {
        RateWindow { kind: self.kind, start: self.resets_at() }
    }
}
