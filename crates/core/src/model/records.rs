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

/// Background work's part of a day's budget, paced: of its `share` (e.g. 700 of 1,000),
/// 1/24 more each UTC hour, the first at midnight. Unpaced, background slices that wake at
/// midnight would spend the share in the first hours, and the day's events, most of them
/// in the evening, would find only the rest. The count it is compared with is the day's
/// total, events included: what events use comes out of background's part first.
pub fn paced_daily_share(share: u32, now: i64) -> u32 {
    let hour = now.rem_euclid(86_400) / 3600;
    (u64::from(share) * (hour as u64 + 1) / 24) as u32
}

/// When background work may reserve again, with `used` of the day's budget spent: the
/// first hour whose paced share is above it (next midnight when the whole share is spent).
pub fn paced_share_resumes_at(share: u32, used: u32, now: i64) -> i64 {
    let day = now - now.rem_euclid(86_400);
    (0..24)
        .map(|hour| day + hour * 3600)
        .find(|at| paced_daily_share(share, *at) > used)
        .map_or(day + 86_400, |at| at.max(now))
}

#[cfg(test)]
mod pacing_tests {
    use super::*;

    #[test]
    fn background_share_grows_hour_by_hour() {
        let midnight = 1_767_225_600;
        assert_eq!(paced_daily_share(700, midnight), 29);
        assert_eq!(paced_daily_share(700, midnight + 3599), 29);
        assert_eq!(paced_daily_share(700, midnight + 12 * 3600), 379);
        assert_eq!(paced_daily_share(700, midnight + 86_399), 700);
        // 100 used at 01:30: the share passes 100 at 03:00 (116).
        assert_eq!(paced_share_resumes_at(700, 100, midnight + 5_400), midnight + 3 * 3600);
        // Below the pace now: at once.
        assert_eq!(paced_share_resumes_at(700, 10, midnight + 5_400), midnight + 5_400);
        // The whole share spent: tomorrow.
        assert_eq!(paced_share_resumes_at(700, 700, midnight + 5_400), midnight + 86_400);
        assert_eq!(paced_share_resumes_at(0, 0, midnight), midnight + 86_400);
    }
}
