//! Fault injection: the next requests to a route misbehave in a chosen way, as many times
//! as asked, before the rate limit is consulted (a fault is not counted against it).

use serde::{Deserialize, Serialize};

use super::FakeState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer 500.
    ServerError,
    /// Answer 429 with Strava's body.
    RateLimited,
    /// Answer 401 (as if the access token were refused).
    Unauthorized,
    /// Answer normally after `delay_ms`.
    Slow,
    /// Answer 200 with a body of the wrong shape (`{"id": "oops", ...}`).
    Malformed,
    /// Answer 403 naming `activity:read_permission` as missing, as Strava does for a token
    /// without `activity:read`.
    MissingActivityScope,
}

/// The next `count` requests to `route` (a route template such as
/// `/api/v3/activities/{id}/streams`, a concrete path such as `/api/v3/activities/17000000101`,
/// or `*`) misbehave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub route: String,
    pub kind: FaultKind,
    pub count: u32,
    #[serde(default)]
    pub delay_ms: u64,
}

/// Faults waiting for their requests, in the order they were injected.
#[derive(Default)]
pub(crate) struct Faults {
    pending: Vec<Fault>,
}

impl Faults {
    pub fn inject(&mut self, fault: Fault) {
        self.pending.push(fault);
    }

    /// Takes one use of the first fault for a request: one injected for every route (`*`),
    /// its route template (`/api/v3/activities/{id}`) or its concrete path
    /// (`/api/v3/activities/17000000101`). Returns the kind and delay.
    pub fn take(&mut self, route: &str, path: &str) -> Option<(FaultKind, u64)> {
        let i =
            self.pending.iter().position(|f| f.count > 0 && (f.route == "*" || f.route == route || f.route == path))?;
        let f = &mut self.pending[i];
        f.count -= 1;
        let out = (f.kind, f.delay_ms);
        if f.count == 0 {
            self.pending.remove(i);
        }
        Some(out)
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

impl FakeState {
    pub fn inject(&self, fault: Fault) {
        self.world().faults.inject(fault);
    }
}
