//! Rations: how much of the expensive work one athlete may ask for (docs/design.md §8,
//! "Limits on abuse"). Exports read every stored item of the athlete; backfills spend the
//! application's Strava budget, which every athlete shares. The read API takes a ration
//! before it hands such a request on, and answers 429 with `Retry-After` when it is spent.

use crate::date::LocalDate;

/// One export per athlete per this many seconds.
pub const EXPORT_EVERY_S: i64 = 300;

/// Activities one athlete's backfill requests may ask for per UTC day (the read API's
/// `BACKFILL_DAILY_LIMIT`; the template's `BackfillDailyLimit`). At Strava's default read
/// limit of 1,000 a day this is half the application's day, which the background lane
/// then shares round-robin with everyone else's history.
pub const BACKFILL_DAILY_ACTIVITIES: u32 = 500;

/// Seconds until an athlete may export again after an export at `last`; `None` now.
pub fn export_wait(last: Option<i64>, now: i64, every_s: i64) -> Option<i64> {
    let next = last?.saturating_add(every_s);
    (next > now).then(|| next - now)
}

/// Today's backfill allowance as stored: the day it counts and what was asked that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackfillAllowance {
    pub day: Option<LocalDate>,
    pub used: u32,
}

/// What a backfill request gets of the day's allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackfillGrant {
    /// Up to this many activities; `after` is the allowance to store.
    Granted { activities: u32, after: BackfillAllowance },
    /// Nothing left today, or less than a counted request asks for: retry after this
    /// many seconds (midnight UTC), and this many remain.
    Spent { retry_after_s: i64, remaining: u32 },
}

/// The grant for a request of `wanted` activities (`None`: a date range, whose size is
/// not known in advance; it is capped at what remains and counts as that much).
pub fn backfill_grant(stored: BackfillAllowance, wanted: Option<u32>, limit: u32, now: i64) -> BackfillGrant {
    let today = LocalDate::from_unix_seconds(now);
    let used = if stored.day == Some(today) { stored.used } else { 0 };
    let remaining = limit.saturating_sub(used);
    let midnight = i64::from(today.add_days(1).days_since_epoch()) * 86_400;
    let spent = BackfillGrant::Spent { retry_after_s: (midnight - now).max(1), remaining };
    match wanted {
        Some(n) if n > remaining || n == 0 => spent,
        None if remaining == 0 => spent,
        Some(n) => {
            BackfillGrant::Granted { activities: n, after: BackfillAllowance { day: Some(today), used: used + n } }
        }
        None => {
            BackfillGrant::Granted { activities: remaining, after: BackfillAllowance { day: Some(today), used: limit } }
        }
    }
}

/// What remains of today's allowance of `limit`.
pub fn backfill_remaining(stored: BackfillAllowance, limit: u32, now: i64) -> u32 {
    let today = LocalDate::from_unix_seconds(now);
    limit.saturating_sub(if stored.day == Some(today) { stored.used } else { 0 })
}

/// The allowance once `activities` of a request made on `day` are given back: an import
/// charged more than it imported (a range takes what remains of the day up front; a count
/// may find most activities already stored). Only that day's use goes down, never below
/// zero; a later day's allowance is not touched.
pub fn backfill_refund(stored: BackfillAllowance, day: LocalDate, activities: u32) -> BackfillAllowance {
    if stored.day == Some(day) {
        BackfillAllowance { day: stored.day, used: stored.used.saturating_sub(activities) }
    } else {
        stored
    }
}

/// An athlete's own files imported per day (docs/design.md §4b): files, counted as read
/// (stored, duplicate or refused alike). A whole export of 3,000 activities fits in a day.
pub const IMPORT_FILES_DAILY: u32 = 10_000;
/// And their bytes as received (compressed where the file is), in KiB: 4 GiB a day.
pub const IMPORT_KIB_DAILY: u32 = 4 << 20;

/// The KiB a file of `bytes` is charged (at least 1).
pub fn import_kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_764_590_400; // 2025-12-01T12:00:00Z

    #[test]
    fn one_export_per_window() {
        assert_eq!(export_wait(None, NOON, 300), None);
        assert_eq!(export_wait(Some(NOON - 300), NOON, 300), None);
        assert_eq!(export_wait(Some(NOON - 299), NOON, 300), Some(1));
        assert_eq!(export_wait(Some(NOON), NOON, 300), Some(300));
    }

    #[test]
    fn backfills_share_a_daily_allowance_that_resets_at_midnight_utc() {
        let fresh = BackfillAllowance::default();
        let today = LocalDate::from_unix_seconds(NOON);
        let g = backfill_grant(fresh, Some(100), 500, NOON);
        assert_eq!(
            g,
            BackfillGrant::Granted { activities: 100, after: BackfillAllowance { day: Some(today), used: 100 } }
        );
        let used = BackfillAllowance { day: Some(today), used: 450 };
        assert_eq!(
            backfill_grant(used, Some(100), 500, NOON),
            BackfillGrant::Spent { retry_after_s: 43_200, remaining: 50 }
        );
        assert_eq!(
            backfill_grant(used, Some(50), 500, NOON),
            BackfillGrant::Granted { activities: 50, after: BackfillAllowance { day: Some(today), used: 500 } }
        );
        // A range takes what remains, and counts as that much.
        assert_eq!(
            backfill_grant(used, None, 500, NOON),
            BackfillGrant::Granted { activities: 50, after: BackfillAllowance { day: Some(today), used: 500 } }
        );
        let spent = BackfillAllowance { day: Some(today), used: 500 };
        assert!(matches!(backfill_grant(spent, None, 500, NOON), BackfillGrant::Spent { remaining: 0, .. }));
        // Yesterday's use does not count today.
        let yesterday = BackfillAllowance { day: Some(today.add_days(-1)), used: 500 };
        assert!(matches!(
            backfill_grant(yesterday, Some(500), 500, NOON),
            BackfillGrant::Granted { activities: 500, .. }
        ));
        assert!(matches!(backfill_grant(fresh, Some(0), 500, NOON), BackfillGrant::Spent { .. }));
    }

    #[test]
    fn what_an_import_did_not_bring_is_given_back_on_its_day() {
        let today = LocalDate::from_unix_seconds(NOON);
        let used = BackfillAllowance { day: Some(today), used: 500 };
        assert_eq!(backfill_remaining(used, 500, NOON), 0);
        let back = backfill_refund(used, today, 470);
        assert_eq!(back, BackfillAllowance { day: Some(today), used: 30 });
        assert_eq!(backfill_remaining(back, 500, NOON), 470);
        assert_eq!(backfill_refund(back, today, 100).used, 0, "never below zero");
        assert_eq!(backfill_refund(used, today.add_days(-1), 470), used, "yesterday's import leaves today alone");
        assert_eq!(backfill_remaining(used, 500, NOON + 86_400), 500, "a new day");
        assert_eq!(backfill_remaining(BackfillAllowance::default(), 500, NOON), 500);
    }
}
