//! The fake's state: one lock over a `World` made of parts, one per thing Strava keeps that
//! the fake imitates. Each part has a module of its own holding its data, its rules, and the
//! operations tests call on [`FakeState`] (the `/admin` routes expose the same over HTTP):
//!
//! | part | file | what it keeps |
//! |---|---|---|
//! | `oauth` | `state/oauth.rs` | the application, authorization codes, tokens (expiry, refresh rotation, revocation), the athlete capacity |
//! | `athletes` | `state/athletes.rs` | profiles, and the thresholds their zones follow |
//! | `activities` | `state/activities.rs` | activities, their streams, the push subscription and the events sent to it |
//! | `limits` | `state/limits.rs` | rate-limit windows, their headers, the count of API calls and 429s |
//! | `faults` | `state/faults.rs` | injected faults waiting for their requests |
//! | `requests` | `state/requests.rs` | the request log |

pub(crate) mod activities;
pub(crate) mod athletes;
pub(crate) mod faults;
pub(crate) mod limits;
pub(crate) mod oauth;
pub(crate) mod requests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use stravasync_core::clock::Clock;

use crate::data::{self, Season};

pub use activities::Subscription;
pub use faults::{Fault, FaultKind};
pub use requests::LoggedRequest;

use activities::Activities;
use athletes::Athletes;
use faults::Faults;
use limits::RateLimits;
use oauth::OAuth;
use requests::RequestLog;

/// How the fake is set up (the binary's flags).
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub fixtures_dir: Option<PathBuf>,
    pub season: Option<Season>,
    pub client_id: String,
    pub client_secret: String,
    pub limit_15min: u32,
    pub limit_daily: u32,
    pub read_limit_15min: u32,
    pub read_limit_daily: u32,
    /// Lifetime of an access token, seconds (Strava: 6 h).
    pub token_ttl_s: i64,
    /// Scope `/oauth/authorize` grants; `None` grants what was asked.
    pub granted_scope: Option<String>,
    /// Generated streams are served at one sample every this many seconds (a device's
    /// "smart recording"; 1: every second).
    pub stream_step: usize,
    /// Keep the request log ([`FakeState::requests`]); a long run turns it off and reads
    /// [`FakeState::api_calls`] instead.
    pub keep_log: bool,
    /// How many athletes may be connected at once (`--athlete-capacity`): the token
    /// exchange of one more is refused as Strava refuses it, with a 403 "Limit of
    /// connected athletes exceeded" (a new application's capacity is 1, its developer,
    /// until Strava has reviewed it). `None`: no limit.
    pub athlete_capacity: Option<u32>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            fixtures_dir: None,
            season: None,
            client_id: "12345".into(),
            client_secret: "fake-client-secret".into(),
            limit_15min: 200,
            limit_daily: 2000,
            read_limit_15min: 100,
            read_limit_daily: 1000,
            token_ttl_s: 21_600,
            granted_scope: None,
            stream_step: 1,
            keep_log: true,
            athlete_capacity: None,
        }
    }
}

/// Everything the fake remembers. One lock over all the parts: a request that reads one part
/// and writes another (a token exchange answers with the athlete's profile; a subscription
/// takes its id from the sequence the tokens use) sees them in one consistent state.
pub(crate) struct World {
    pub oauth: OAuth,
    pub athletes: Athletes,
    pub activities: Activities,
    pub limits: RateLimits,
    pub faults: Faults,
    pub requests: RequestLog,
    /// One sequence numbers every name the fake mints (authorization codes, tokens,
    /// subscription ids), so a run's names follow from the order of its requests alone.
    pub serial: Serial,
    /// How far `/admin/clock` has moved the fake's time from its base clock, seconds.
    pub clock_offset: i64,
}

impl World {
    fn new(config: &FakeConfig) -> Self {
        World {
            oauth: OAuth::new(config),
            athletes: Athletes::default(),
            activities: Activities::new(),
            limits: RateLimits::new(config),
            faults: Faults::default(),
            requests: RequestLog::new(config.keep_log),
            serial: Serial::default(),
            clock_offset: 0,
        }
    }
}

#[derive(Default)]
pub(crate) struct Serial(u64);

impl Serial {
    pub fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// Shared, cloneable handle on the fake's world. Tests use its methods directly; the
/// `/admin` routes expose the same operations over HTTP.
#[derive(Clone)]
pub struct FakeState {
    pub config: Arc<FakeConfig>,
    world: Arc<Mutex<World>>,
    /// A clock of its own (a simulation's), instead of the system's.
    clock: Option<Clock>,
    /// Pushes sent in the background (the deauthorization event after a deauthorize).
    pushes: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl FakeState {
    pub fn new(config: FakeConfig) -> Result<Self, data::LoadError> {
        let mut world = World::new(&config);
        if let Some(dir) = &config.fixtures_dir {
            let (athletes, activities) = data::load_fixtures(dir)?;
            athletes.into_iter().for_each(|a| world.athletes.insert(a));
            activities.into_iter().for_each(|a| world.activities.insert(a));
        }
        if let Some(season) = config.season {
            let (athletes, activities) = data::generate_season(season);
            athletes.into_iter().for_each(|a| world.athletes.insert(a));
            activities.into_iter().for_each(|a| world.activities.insert(a));
        }
        Ok(FakeState {
            config: Arc::new(config),
            world: Arc::new(Mutex::new(world)),
            clock: None,
            pushes: Arc::default(),
        })
    }

    /// Runs the fake on `clock` instead of the system's (the admin offset still applies).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The lock is not reentrant: read [`FakeState::now`] before taking it.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fake's clock, unix seconds (system time plus the admin offset).
    pub fn now(&self) -> i64 {
        self.base_now() + self.world().clock_offset
    }

    fn base_now(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock(),
            None => stravasync_core::clock::unix_now(),
        }
    }

    /// Sets the clock to `unix` seconds.
    pub fn set_now(&self, unix: i64) {
        let base = self.base_now();
        self.world().clock_offset = unix - base;
    }

    /// Forgets counters, faults and the request log (data and tokens stay).
    pub fn reset(&self) {
        let mut w = self.world();
        w.limits.clear_windows();
        w.faults.clear();
        w.requests.clear();
    }
}
