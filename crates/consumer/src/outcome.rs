//! What became of one SQS record, and how each outcome is settled with the queue.

use stravasync_core::ports::{QueueError, StoreError, VaultError};
use stravasync_strava::StravaError;

/// The result of processing one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Applied (or rightly ignored, e.g. a stale event): delete the message.
    Done,
    /// Must wait (rate limit, streams not ready): hide it for `secs`, not a busy retry.
    /// `budget`: it waits for Strava's budget (a window to reset), so a long wait is spread
    /// out ([`budget_backoff`]) and, after many receives, re-sent fresh.
    Defer { secs: u32, reason: String, budget: bool },
    /// A transient failure: retried with backoff until the redrive count sends it to the DLQ.
    Retry { reason: String },
    /// Can never succeed as it is (bad body, invalid data): moved to the DLQ at once, where
    /// it waits for a fix and a redrive.
    Poison { reason: String },
}

impl Outcome {
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Defer { .. } => "deferred",
            Outcome::Retry { .. } => "retry",
            Outcome::Poison { .. } => "poison",
        }
    }
}

/// `?` on the consumer's fallible steps: every error becomes the outcome it calls for.
pub type Step<T> = Result<T, Outcome>;

impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Outcome::Retry { reason: e.to_string() },
            _ => Outcome::Poison { reason: e.to_string() },
        }
    }
}

impl From<VaultError> for Outcome {
    fn from(e: VaultError) -> Self {
        match e {
            // A conflict: another container rotated the tokens meanwhile; the retry reads them.
            VaultError::Unavailable(_) | VaultError::Conflict(_) => Outcome::Retry { reason: e.to_string() },
            _ => Outcome::Poison { reason: e.to_string() },
        }
    }
}

impl From<QueueError> for Outcome {
    fn from(e: QueueError) -> Self {
        Outcome::Retry { reason: e.to_string() }
    }
}

/// Maps a Strava failure; `now` turns a reset time into a deferral.
pub fn strava_outcome(e: StravaError, now: i64) -> Outcome {
    match e {
        StravaError::RateLimited { resets_at, .. } => Outcome::Defer {
            secs: (resets_at - now).clamp(1, i64::from(stravasync_core::job::MAX_VISIBILITY_S)) as u32,
            reason: "strava rate limit".into(),
            budget: true,
        },
        StravaError::Retryable { .. }
        | StravaError::Invalid { .. }
        | StravaError::Vault(_)
        | StravaError::NoTokens { .. } => Outcome::Retry { reason: e.to_string() },
        StravaError::Unauthorized { .. }
        | StravaError::Rejected { .. }
        | StravaError::NotFound { .. }
        | StravaError::MissingScope { .. }
        | StravaError::AthleteCapacity { .. } => Outcome::Poison { reason: e.to_string() },
    }
}

/// Extra wait for a record that already waited for the budget `receive_count - 1` times,
/// and for `waited_s` since it was sent: none the first time (it tries right at the reset),
/// then spread, by `key` (the message id), over the longer of: 15 min, 30 min, 1 h, 2 h,
/// 4 h, 6 h by receives; the time it has waited, up to 6 h. While the budget is short
/// for long, waiting records then wake a few at a time instead of all at every reset
/// (each wake is an invocation, and a receive counted towards the queue's redrive limit).
/// The age matters for a record that waited behind others of its athlete: it becomes its
/// group's head with few receives of its own, after hours or days.
pub fn budget_backoff(receive_count: u32, waited_s: i64, key: &str) -> u32 {
    const MAX_SPREAD: u64 = 21_600;
    if receive_count <= 1 && waited_s < 900 {
        return 0;
    }
    let by_receives = if receive_count <= 1 { 0 } else { 900u64 << receive_count.saturating_sub(2).min(5) };
    let by_age = u64::try_from(waited_s).unwrap_or(0);
    let spread = by_receives.max(by_age).clamp(900, MAX_SPREAD);
    let hash = stravasync_core::hash::fnv1a64(format!("{key}#{receive_count}").as_bytes());
    (hash % spread) as u32
}

/// Backoff for a transient failure on the n-th receive: `base`, 2·base, 4·base … capped
/// at 15 min (with the default base of 10 s: 10 s, 20 s, 40 s …).
pub fn retry_delay(base_s: u32, receive_count: u32) -> u32 {
    base_s.saturating_mul(1 << receive_count.saturating_sub(1).min(7)).min(900)
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn budget_waits_spread_out_as_they_repeat() {
        assert_eq!(budget_backoff(1, 0, "m1"), 0, "the first wait ends at the reset");
        for (receives, spread) in [(2, 900), (3, 1_800), (4, 3_600), (5, 7_200), (6, 14_400), (9, 21_600)] {
            let waits: Vec<u32> = (0..200).map(|i| budget_backoff(receives, 0, &format!("m{i}"))).collect();
            assert!(waits.iter().all(|w| *w < spread), "{receives}: {waits:?}");
            let distinct: std::collections::HashSet<_> = waits.iter().collect();
            assert!(distinct.len() > 150, "spread, not bunched: {}", distinct.len());
        }
        assert_eq!(budget_backoff(3, 0, "m7"), budget_backoff(3, 0, "m7"), "deterministic");
    }

    #[test]
    fn a_record_that_waited_long_behind_others_spreads_by_its_age() {
        // First receive, but sent two days ago: as spread as the longest waits.
        let waits: Vec<u32> = (0..200).map(|i| budget_backoff(1, 2 * 86_400, &format!("m{i}"))).collect();
        assert!(waits.iter().all(|w| *w < 21_600));
        assert!(waits.iter().filter(|w| **w > 14_400).count() > 40, "up to 6 h: {waits:?}");
        // An hour old on its second receive: spread over the hour, not 15 minutes.
        let waits: Vec<u32> = (0..200).map(|i| budget_backoff(2, 3_600, &format!("m{i}"))).collect();
        assert!(waits.iter().all(|w| *w < 3_600) && waits.iter().any(|w| *w > 1_800), "{waits:?}");
    }
}
