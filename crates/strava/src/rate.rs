//! Strava's rate-limit headers: `X-RateLimit-Limit` / `X-RateLimit-Usage` (all requests)
//! and `X-ReadRateLimit-Limit` / `X-ReadRateLimit-Usage` (reads), each `"15min,daily"`.
//! Windows reset at :00, :15, :30, :45 and at midnight UTC.

use reqwest::header::HeaderMap;
use stravasync_core::date::{quarter_hour_start, utc_day_start};

/// Usage against one pair of limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowUsage {
    pub limit_15min: u32,
    pub limit_daily: u32,
    pub used_15min: u32,
    pub used_daily: u32,
}

impl WindowUsage {
    fn exhausted_15min(&self) -> bool {
        self.limit_15min > 0 && self.used_15min >= self.limit_15min
    }

    fn exhausted_daily(&self) -> bool {
        self.limit_daily > 0 && self.used_daily >= self.limit_daily
    }
}

/// The rate-limit state one response reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateUsage {
    pub overall: Option<WindowUsage>,
    pub read: Option<WindowUsage>,
}

fn pair(headers: &HeaderMap, name: &str) -> Option<(u32, u32)> {
    let text = headers.get(name)?.to_str().ok()?;
    let (a, b) = text.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn window(headers: &HeaderMap, limit: &str, usage: &str) -> Option<WindowUsage> {
    let (limit_15min, limit_daily) = pair(headers, limit)?;
    let (used_15min, used_daily) = pair(headers, usage)?;
    Some(WindowUsage { limit_15min, limit_daily, used_15min, used_daily })
}

impl RateUsage {
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let usage = RateUsage {
            overall: window(headers, "x-ratelimit-limit", "x-ratelimit-usage"),
            read: window(headers, "x-readratelimit-limit", "x-readratelimit-usage"),
        };
        (usage.overall.is_some() || usage.read.is_some()).then_some(usage)
    }

    fn windows(&self) -> impl Iterator<Item = WindowUsage> {
        self.overall.into_iter().chain(self.read)
    }

    /// When the exhausted budget resets, or `None` if nothing is exhausted. A spent daily
    /// budget waits for midnight UTC, a spent 15-minute one for the next quarter hour.
    pub fn resets_at(&self, now: i64) -> Option<i64> {
        if self.windows().any(|w| w.exhausted_daily()) {
            Some(utc_day_start(now) + 86_400)
        } else if self.windows().any(|w| w.exhausted_15min()) {
            Some(quarter_hour_start(now) + 900)
        } else {
            None
        }
    }

    /// When to retry after a 429 (Strava sends no Retry-After): midnight UTC if the daily
    /// budget is spent, the next quarter hour otherwise.
    pub fn retry_after_429(usage: Option<&RateUsage>, now: i64) -> i64 {
        usage.and_then(|u| u.resets_at(now)).unwrap_or(quarter_hour_start(now) + 900)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn parses_both_header_pairs() {
        let h = headers(&[
            ("X-RateLimit-Limit", "200,2000"),
            ("X-RateLimit-Usage", "12,340"),
            ("X-ReadRateLimit-Limit", "100,1000"),
            ("X-ReadRateLimit-Usage", "7,300"),
        ]);
        let u = RateUsage::from_headers(&h).unwrap();
        assert_eq!(
            u.overall,
            Some(WindowUsage { limit_15min: 200, limit_daily: 2000, used_15min: 12, used_daily: 340 })
        );
        assert_eq!(u.read.unwrap().used_daily, 300);
        assert_eq!(u.resets_at(1_700_000_000), None);
        assert_eq!(RateUsage::from_headers(&headers(&[("X-RateLimit-Usage", "junk")])), None);
    }

    #[test]
    fn reset_times() {
        let now = 1_700_000_000; // 22:13:20 UTC
        let quarter = headers(&[("X-RateLimit-Limit", "200,2000"), ("X-RateLimit-Usage", "200,340")]);
        assert_eq!(RateUsage::from_headers(&quarter).unwrap().resets_at(now), Some(1_700_000_100));
        let daily = headers(&[("X-ReadRateLimit-Limit", "100,1000"), ("X-ReadRateLimit-Usage", "20,1000")]);
        assert_eq!(RateUsage::from_headers(&daily).unwrap().resets_at(now), Some(1_700_006_400));
        assert_eq!(RateUsage::retry_after_429(None, now), 1_700_000_100);
    }
}
