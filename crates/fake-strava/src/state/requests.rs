//! The request log tests read: every request the Strava routes answered, with its status.

use axum::http::Method;
use serde::{Deserialize, Serialize};

use super::FakeState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    /// The route template (`/api/v3/activities/{id}`).
    pub route: String,
    /// The concrete path (`/api/v3/activities/17000000101`).
    pub path: String,
    pub status: u16,
}

pub(crate) struct RequestLog {
    /// Off for a long run, whose log would only grow ([`FakeConfig::keep_log`]).
    ///
    /// [`FakeConfig::keep_log`]: super::FakeConfig::keep_log
    keep: bool,
    entries: Vec<LoggedRequest>,
}

impl RequestLog {
    pub fn new(keep: bool) -> Self {
        RequestLog { keep, entries: Vec::new() }
    }

    pub fn record(&mut self, method: &Method, route: String, path: String, status: u16) {
        if self.keep {
            self.entries.push(LoggedRequest { method: method.to_string(), route, path, status });
        }
    }

    pub fn entries(&self) -> &[LoggedRequest] {
        &self.entries
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl FakeState {
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.world().requests.entries().to_vec()
    }

    /// Requests to one route template, e.g. `/api/v3/activities/{id}/streams`.
    pub fn requests_to(&self, route: &str) -> usize {
        self.world().requests.entries().iter().filter(|r| r.route == route).count()
    }

    /// Logged requests to the Strava API (`/api/v3/...`), which count against the rate limit.
    pub fn api_requests(&self) -> usize {
        self.world().requests.entries().iter().filter(|r| r.route.starts_with("/api/v3/")).count()
    }

    pub fn clear_requests(&self) {
        self.world().requests.clear();
    }
}
