//! The fake's world: athletes, activities, tokens, rate windows, faults and the request log.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use stravasync_core::clock::Clock;

use crate::data::{self, Activity, Athlete, Season};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    /// The route template (`/api/v3/activities/{id}`).
    pub route: String,
    /// The concrete path (`/api/v3/activities/17000000101`).
    pub path: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub athlete: i64,
    pub scope: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: i64,
    pub callback_url: String,
}

#[derive(Default)]
pub(crate) struct World {
    pub athletes: BTreeMap<i64, Athlete>,
    pub activities: BTreeMap<i64, Activity>,
    /// Activity ids by owner (the list endpoint reads one athlete's, not the world's).
    pub by_owner: HashMap<i64, Vec<i64>>,
    pub codes: HashMap<String, (i64, String)>,
    pub access: HashMap<String, Grant>,
    pub refresh: HashMap<String, (i64, String)>,
    pub serial: u64,
    /// Quarter-hour start → (all, read) requests.
    pub quarter: HashMap<i64, (u32, u32)>,
    /// UTC day start → (all, read) requests.
    pub daily: HashMap<i64, (u32, u32)>,
    pub faults: Vec<Fault>,
    pub log: Vec<LoggedRequest>,
    /// Every `/api/v3` request answered, 429s included (never reset).
    pub api_calls: u64,
    /// Of those, answered 429.
    pub api_429s: u64,
    pub subscription: Option<Subscription>,
    /// Athletes holding an authorization (tokens issued, not revoked): what the athlete
    /// capacity counts.
    pub connected: std::collections::BTreeSet<i64>,
    pub clock_offset: i64,
    pub next_activity_id: i64,
}

/// Shared, cloneable handle on the fake's world. Tests use its methods directly; the
/// `/admin` routes expose the same operations over HTTP.
impl World {
    pub(crate) fn insert_activity(&mut self, activity: Activity) {
        let (id, owner) = (activity.id, activity.owner);
        if self.activities.insert(id, activity).is_none() {
            self.by_owner.entry(owner).or_default().push(id);
        }
    }

    /// Issues a fresh access/refresh pair for the athlete, who then holds an authorization.
    pub(crate) fn issue(&mut self, athlete: i64, scope: &str, expires_at: i64) -> (String, String, i64) {
        self.serial += 1;
        let tag = stravasync_core::hash::fnv1a64(format!("{athlete}/{}", self.serial).as_bytes());
        let access = format!("fake-access-{}-{tag:016x}", self.serial);
        let refresh = format!("fake-refresh-{}-{tag:016x}", self.serial);
        self.access.insert(access.clone(), Grant { athlete, scope: scope.to_string(), expires_at });
        self.refresh.insert(refresh.clone(), (athlete, scope.to_string()));
        self.connected.insert(athlete);
        (access, refresh, expires_at)
    }

    /// The athlete's activities (deleted ones included).
    pub(crate) fn activities_of(&self, owner: i64) -> impl Iterator<Item = &Activity> {
        self.by_owner.get(&owner).into_iter().flatten().filter_map(|id| self.activities.get(id))
    }
}

#[derive(Clone)]
pub struct FakeState {
    pub config: Arc<FakeConfig>,
    pub(crate) world: Arc<Mutex<World>>,
    /// A clock of its own (a simulation's), instead of the system's.
    clock: Option<Clock>,
    /// Pushes sent in the background (the deauthorization event after a deauthorize).
    pushes: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl FakeState {
    pub fn new(config: FakeConfig) -> Result<Self, data::LoadError> {
        let mut world = World { next_activity_id: data::GENERATED_ACTIVITY_BASE + 900_000_000, ..Default::default() };
        if let Some(dir) = &config.fixtures_dir {
            let (athletes, activities) = data::load_fixtures(dir)?;
            world.athletes.extend(athletes.into_iter().map(|a| (a.id, a)));
            activities.into_iter().for_each(|a| world.insert_activity(a));
        }
        if let Some(season) = config.season {
            let (athletes, activities) = data::generate_season(season);
            world.athletes.extend(athletes.into_iter().map(|a| (a.id, a)));
            activities.into_iter().for_each(|a| world.insert_activity(a));
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

    /// Adds generated athlete `index` (as a season would); returns their id.
    pub fn add_generated_athlete(&self, index: u32, seed: u64) -> i64 {
        let athlete = data::generate_athlete(index, seed);
        let id = athlete.id;
        self.world().athletes.insert(id, athlete);
        id
    }

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

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.world().log.clone()
    }

    /// Requests to one route template, e.g. `/api/v3/activities/{id}/streams`.
    pub fn requests_to(&self, route: &str) -> usize {
        self.world().log.iter().filter(|r| r.route == route).count()
    }

    /// Requests to the Strava API (`/api/v3/...`), which count against the rate limit.
    /// Every `/api/v3` request answered so far, 429s included (not reset with the log).
    pub fn api_calls(&self) -> u64 {
        self.world().api_calls
    }

    /// `/api/v3` requests answered 429 so far.
    pub fn api_429s(&self) -> u64 {
        self.world().api_429s
    }

    pub fn api_requests(&self) -> usize {
        self.world().log.iter().filter(|r| r.route.starts_with("/api/v3/")).count()
    }

    pub fn clear_requests(&self) {
        self.world().log.clear();
    }

    pub fn inject(&self, fault: Fault) {
        self.world().faults.push(fault);
    }

    pub fn athlete_ids(&self) -> Vec<i64> {
        self.world().athletes.keys().copied().collect()
    }

    /// Ids of an athlete's activities that are not deleted, oldest first.
    pub fn activity_ids(&self, athlete: i64) -> Vec<i64> {
        let w = self.world();
        let mut v: Vec<(i64, i64)> = w.activities_of(athlete).filter(|a| !a.deleted).map(|a| (a.start, a.id)).collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    pub fn activity_json(&self, id: i64) -> Option<serde_json::Value> {
        self.world().activities.get(&id).map(Activity::served_json)
    }

    /// The streams an activity serves (`None` for a manual activity).
    pub fn activity_streams(&self, id: i64) -> Option<stravasync_core::streams::StreamSet> {
        self.world().activities.get(&id).and_then(Activity::streams)
    }

    /// Adds (or replaces) an activity from its DetailedActivity JSON (which must carry
    /// `id`, `athlete.id` and `start_date`) and its streams (`None`: manual).
    pub fn insert_activity(
        &self,
        json: serde_json::Value,
        streams: Option<stravasync_core::streams::StreamSet>,
    ) -> Option<i64> {
        let id = json["id"].as_i64()?;
        let owner = json["athlete"]["id"].as_i64()?;
        let start = json["start_date"].as_str().and_then(stravasync_core::date::parse_timestamp)?;
        let streams = match streams {
            Some(s) => data::StreamSource::Fixed(Box::new(s)),
            None => data::StreamSource::None,
        };
        let mut w = self.world();
        w.athletes.entry(owner).or_insert_with(|| Athlete {
            id: owner,
            firstname: "Inserted".into(),
            lastname: format!("Athlete {owner}"),
            sex: "M",
            ftp: 250.0,
            lthr: 165.0,
            threshold_speed: 3.9,
        });
        w.insert_activity(Activity::new(id, owner, start, &json, streams));
        Some(id)
    }

    /// The next `fetches` stream requests of the activity answer `{}`.
    pub fn set_empty_stream_fetches(&self, id: i64, fetches: u32) -> bool {
        self.world().activities.get_mut(&id).map(|a| a.empty_stream_fetches = fetches).is_some()
    }

    pub fn delete_activity(&self, id: i64) -> bool {
        self.world().activities.get_mut(&id).map(|a| a.deleted = true).is_some()
    }

    pub fn set_private(&self, id: i64, private: bool) -> bool {
        self.world().activities.get_mut(&id).map(|a| a.private = private).is_some()
    }

    /// Changes title and/or sport type, as an athlete editing on Strava.
    pub fn update_activity(&self, id: i64, name: Option<&str>, sport_type: Option<&str>) -> bool {
        let mut w = self.world();
        let Some(a) = w.activities.get_mut(&id) else { return false };
        a.edit_json(|j| {
            if let Some(n) = name {
                j["name"] = serde_json::json!(n);
            }
            if let Some(s) = sport_type {
                j["sport_type"] = serde_json::json!(s);
                j["type"] = serde_json::json!(s);
            }
        });
        true
    }

    /// Records a new generated activity for `athlete`, starting at `start`; returns its id.
    pub fn new_activity(&self, athlete: i64, start: i64) -> Option<i64> {
        self.new_activity_with(athlete, start, 1)
    }

    /// As [`FakeState::new_activity`], its summary sketched from streams `summary_step`
    /// times shorter ([`data::generate_activity_with`]).
    pub fn new_activity_with(&self, athlete: i64, start: i64, summary_step: usize) -> Option<i64> {
        let profile = self.world().athletes.get(&athlete)?.clone();
        let id = {
            let mut w = self.world();
            w.next_activity_id += 1;
            w.next_activity_id
        };
        let seed = self.config.season.map_or(1, |s| s.seed);
        let activity = data::generate_activity_with(&profile, id, start, seed, summary_step);
        let mut w = self.world();
        w.insert_activity(activity);
        Some(id)
    }

    /// Mints tokens for an athlete directly (as if they had just authorized):
    /// `(access_token, refresh_token, expires_at)`.
    pub fn mint_tokens(&self, athlete: i64, scope: &str) -> (String, String, i64) {
        let now = self.now();
        let mut w = self.world();
        w.issue(athlete, scope, now + self.config.token_ttl_s)
    }

    /// Registers an authorization code, as if `athlete` had just consented with `scope`
    /// (lets a static OAuth callback fixture be exchanged).
    pub fn register_code(&self, code: &str, athlete: i64, scope: &str) {
        self.world().codes.insert(code.to_string(), (athlete, scope.to_string()));
    }

    /// Makes every access token of the athlete expire now.
    pub fn expire_tokens(&self, athlete: i64) {
        let now = self.now();
        for g in self.world().access.values_mut().filter(|g| g.athlete == athlete) {
            g.expires_at = now - 1;
        }
    }

    /// Revokes every token of the athlete (as a deauthorization does).
    pub fn revoke(&self, athlete: i64) {
        let mut w = self.world();
        w.access.retain(|_, g| g.athlete != athlete);
        w.refresh.retain(|_, (a, _)| *a != athlete);
        w.connected.remove(&athlete);
    }

    /// Athletes holding an authorization now.
    pub fn connected_athletes(&self) -> Vec<i64> {
        self.world().connected.iter().copied().collect()
    }

    /// A push event as Strava would send it now for this subscription.
    pub fn event(&self, object_type: &str, object_id: i64, aspect_type: &str, updates: Value, owner_id: i64) -> Value {
        json!({
            "object_type": object_type,
            "object_id": object_id,
            "aspect_type": aspect_type,
            "updates": updates,
            "owner_id": owner_id,
            "subscription_id": self.subscription().map_or(0, |s| s.id),
            "event_time": self.now(),
        })
    }

    /// POSTs an event to the subscription's callback URL, as Strava does; returns the
    /// callback's status.
    pub async fn push_event(&self, event: &Value) -> Result<u16, String> {
        let sub = self.subscription().ok_or("no push subscription")?;
        let client = crate::http::client_builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let response =
            client.post(&sub.callback_url).json(event).send().await.map_err(|e| e.without_url().to_string())?;
        Ok(response.status().as_u16())
    }

    /// Sends `event` to the push subscription in the background, as Strava does after
    /// the request that caused it has been answered ([`FakeState::settle_pushes`] waits
    /// for it).
    pub(crate) fn push_later(&self, event: serde_json::Value) {
        let state = self.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = state.push_event(&event).await {
                tracing::warn!(error = %e, "fake-strava: push failed");
            }
        });
        self.pushes.lock().unwrap_or_else(|p| p.into_inner()).push(task);
    }

    /// Waits until every background push has been delivered (or has failed).
    pub async fn settle_pushes(&self) {
        loop {
            let pending: Vec<_> = std::mem::take(&mut *self.pushes.lock().unwrap_or_else(|p| p.into_inner()));
            if pending.is_empty() {
                return;
            }
            for task in pending {
                let _ = task.await;
            }
        }
    }

    pub fn subscription(&self) -> Option<Subscription> {
        self.world().subscription.clone()
    }

    /// Requests counted in the current quarter hour and day: `(all, read)` each.
    pub fn usage(&self) -> ((u32, u32), (u32, u32)) {
        let now = self.now();
        let w = self.world();
        let q = w.quarter.get(&(now - now.rem_euclid(900))).copied().unwrap_or_default();
        let d = w.daily.get(&(now - now.rem_euclid(86_400))).copied().unwrap_or_default();
        (q, d)
    }

    /// Requests counted per quarter hour: `(window start, all requests)`, oldest first.
    pub fn quarter_counts(&self) -> Vec<(i64, u32)> {
        let mut v: Vec<(i64, u32)> = self.world().quarter.iter().map(|(k, (all, _))| (*k, *all)).collect();
        v.sort();
        v
    }

    /// Forgets counters, faults and the request log (data and tokens stay).
    pub fn reset(&self) {
        let mut w = self.world();
        w.quarter.clear();
        w.daily.clear();
        w.faults.clear();
        w.log.clear();
    }
}
