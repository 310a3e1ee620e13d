//! Strava's rate limits: per application, an overall budget and a read budget (GET
//! requests), each per quarter hour (windows start on the quarter hour) and per UTC day.
//! A request past either answers 429 and is not counted; every `/api/v3` answer carries
//! the usage in `X-RateLimit-*` and `X-ReadRateLimit-*` headers.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue};

use super::{FakeConfig, FakeState};

pub(crate) struct RateLimits {
    limit_15min: u32,
    limit_daily: u32,
    read_limit_15min: u32,
    read_limit_daily: u32,
    /// Quarter-hour start → (all, read) requests.
    quarter: HashMap<i64, (u32, u32)>,
    /// UTC day start → (all, read) requests.
    daily: HashMap<i64, (u32, u32)>,
    /// Every `/api/v3` request answered, 429s included: what a long run reads instead of
    /// the request log, so never reset with it.
    api_calls: u64,
    /// Of those, answered 429.
    api_429s: u64,
}

fn quarter_start(now: i64) -> i64 {
    now - now.rem_euclid(900)
}

fn day_start(now: i64) -> i64 {
    now - now.rem_euclid(86_400)
}

impl RateLimits {
    pub fn new(config: &FakeConfig) -> Self {
        RateLimits {
            limit_15min: config.limit_15min,
            limit_daily: config.limit_daily,
            read_limit_15min: config.read_limit_15min,
            read_limit_daily: config.read_limit_daily,
            quarter: HashMap::new(),
            daily: HashMap::new(),
            api_calls: 0,
            api_429s: 0,
        }
    }

    /// Requests counted in the quarter hour and day of `now`: `(all, read)` each.
    pub fn usage(&self, now: i64) -> ((u32, u32), (u32, u32)) {
        let q = self.quarter.get(&quarter_start(now)).copied().unwrap_or_default();
        let d = self.daily.get(&day_start(now)).copied().unwrap_or_default();
        (q, d)
    }

    /// Counts the request if the budget allows; `false` when a limit is reached.
    pub fn admit(&mut self, now: i64, read: bool) -> bool {
        let (q, d) = self.usage(now);
        let over = q.0 >= self.limit_15min
            || d.0 >= self.limit_daily
            || (read && (q.1 >= self.read_limit_15min || d.1 >= self.read_limit_daily));
        if over {
            return false;
        }
        for (map, start) in [(&mut self.quarter, quarter_start(now)), (&mut self.daily, day_start(now))] {
            let e = map.entry(start).or_default();
            e.0 += 1;
            e.1 += u32::from(read);
        }
        true
    }

    /// Counts an answered `/api/v3` request.
    pub fn count_answer(&mut self, status: u16) {
        self.api_calls += 1;
        self.api_429s += u64::from(status == 429);
    }

    /// Strava's four rate-limit headers, as of `now`.
    pub fn set_headers(&self, now: i64, headers: &mut HeaderMap) {
        let ((q_all, q_read), (d_all, d_read)) = self.usage(now);
        for (name, value) in [
            ("x-ratelimit-limit", format!("{},{}", self.limit_15min, self.limit_daily)),
            ("x-ratelimit-usage", format!("{q_all},{d_all}")),
            ("x-readratelimit-limit", format!("{},{}", self.read_limit_15min, self.read_limit_daily)),
            ("x-readratelimit-usage", format!("{q_read},{d_read}")),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
    }

    /// Requests counted per quarter hour: `(window start, all requests)`, oldest first.
    pub fn quarter_counts(&self) -> Vec<(i64, u32)> {
        let mut v: Vec<(i64, u32)> = self.quarter.iter().map(|(k, (all, _))| (*k, *all)).collect();
        v.sort();
        v
    }

    /// Forgets the windows' counts (the API call counts stay).
    pub fn clear_windows(&mut self) {
        self.quarter.clear();
        self.daily.clear();
    }
}

impl FakeState {
    /// Requests counted in the current quarter hour and day: `(all, read)` each.
    pub fn usage(&self) -> ((u32, u32), (u32, u32)) {
        let now = self.now();
        self.world().limits.usage(now)
    }

    /// Requests counted per quarter hour: `(window start, all requests)`, oldest first.
    pub fn quarter_counts(&self) -> Vec<(i64, u32)> {
        self.world().limits.quarter_counts()
    }

    /// Every `/api/v3` request answered so far, 429s included (not reset with the log).
    pub fn api_calls(&self) -> u64 {
        self.world().limits.api_calls
    }

    /// `/api/v3` requests answered 429 so far.
    pub fn api_429s(&self) -> u64 {
        self.world().limits.api_429s
    }
}
