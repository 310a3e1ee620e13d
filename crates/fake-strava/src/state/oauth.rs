//! Strava's OAuth as the fake keeps it: the one application it knows, authorization codes,
//! access tokens that expire, refresh tokens that rotate (the one presented is spent),
//! revocation, and the application's athlete capacity.

use std::collections::{BTreeSet, HashMap};

use super::{FakeConfig, FakeState};

/// What an access token lets its bearer do, until when.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub athlete: i64,
    pub scope: String,
    pub expires_at: i64,
}

impl Grant {
    /// Scopes arrive comma-separated from Strava's consent page and space-separated from
    /// some clients; both count.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split([',', ' ']).any(|s| s == scope)
    }
}

pub(crate) struct OAuth {
    client_id: String,
    client_secret: String,
    /// Scope every consent grants whatever was asked (`--granted-scope`), to test a refusal.
    granted_scope: Option<String>,
    token_ttl_s: i64,
    /// Athletes that may hold an authorization at once (`None`: no limit).
    capacity: Option<u32>,
    /// Authorization code → (athlete, scope) consented to; spent by the exchange.
    codes: HashMap<String, (i64, String)>,
    access: HashMap<String, Grant>,
    /// Refresh token → (athlete, scope); spent by the refresh that presents it.
    refresh: HashMap<String, (i64, String)>,
    /// Athletes holding an authorization (tokens issued, not revoked): what the athlete
    /// capacity counts.
    connected: BTreeSet<i64>,
}

impl OAuth {
    pub fn new(config: &FakeConfig) -> Self {
        OAuth {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            granted_scope: config.granted_scope.clone(),
            token_ttl_s: config.token_ttl_s,
            capacity: config.athlete_capacity,
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            connected: BTreeSet::new(),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether a request names the fake's application (the consent page asks no secret).
    pub fn is_client(&self, client_id: Option<&String>) -> bool {
        client_id == Some(&self.client_id)
    }

    /// Whether a request carries the application's credentials (token exchange, push
    /// subscriptions).
    pub fn authenticates(&self, client_id: Option<&String>, client_secret: Option<&String>) -> bool {
        self.is_client(client_id) && client_secret == Some(&self.client_secret)
    }

    pub fn token_ttl_s(&self) -> i64 {
        self.token_ttl_s
    }

    /// The scope a consent grants when `requested` was asked.
    pub fn scope_granted(&self, requested: &str) -> String {
        self.granted_scope.clone().unwrap_or_else(|| requested.to_string())
    }

    /// A new authorization code for a consent; `serial` comes from the world's sequence.
    pub fn new_code(&mut self, serial: u64, athlete: i64, scope: &str, redirect_uri: &str) -> String {
        let code = format!("fake-code-{serial}-{:x}", stravasync_core::hash::fnv1a64(redirect_uri.as_bytes()));
        self.register_code(&code, athlete, scope);
        code
    }

    pub fn register_code(&mut self, code: &str, athlete: i64, scope: &str) {
        self.codes.insert(code.to_string(), (athlete, scope.to_string()));
    }

    /// Spends a code: `(athlete, scope)` if it was valid. A code works once, even when the
    /// exchange is then refused.
    pub fn redeem_code(&mut self, code: &str) -> Option<(i64, String)> {
        self.codes.remove(code)
    }

    /// Whether the athlete may connect: one already connected always may (a reconnection
    /// takes no new place), another only below the capacity.
    pub fn admits(&self, athlete: i64) -> bool {
        let full = self.capacity.is_some_and(|cap| self.connected.len() >= cap as usize);
        !full || self.connected.contains(&athlete)
    }

    /// Rotation: the presented refresh token is spent, whatever happens next.
    pub fn redeem_refresh(&mut self, token: &str) -> Option<(i64, String)> {
        self.refresh.remove(token)
    }

    /// Issues a fresh access/refresh pair for the athlete, who then holds an authorization:
    /// `(access_token, refresh_token, expires_at)`. `serial` comes from the world's sequence.
    pub fn issue(&mut self, serial: u64, athlete: i64, scope: &str, now: i64) -> (String, String, i64) {
        let expires_at = now + self.token_ttl_s;
        let tag = stravasync_core::hash::fnv1a64(format!("{athlete}/{serial}").as_bytes());
        let access = format!("fake-access-{serial}-{tag:016x}");
        let refresh = format!("fake-refresh-{serial}-{tag:016x}");
        self.access.insert(access.clone(), Grant { athlete, scope: scope.to_string(), expires_at });
        self.refresh.insert(refresh.clone(), (athlete, scope.to_string()));
        self.connected.insert(athlete);
        (access, refresh, expires_at)
    }

    /// The grant of an access token that has not expired.
    pub fn grant(&self, token: &str, now: i64) -> Option<&Grant> {
        self.access.get(token).filter(|g| g.expires_at > now)
    }

    /// Makes every access token of the athlete expire now (refresh tokens still work).
    pub fn expire(&mut self, athlete: i64, now: i64) {
        for g in self.access.values_mut().filter(|g| g.athlete == athlete) {
            g.expires_at = now - 1;
        }
    }

    /// Revokes every token of the athlete, who then takes no place of the capacity.
    pub fn revoke(&mut self, athlete: i64) {
        self.access.retain(|_, g| g.athlete != athlete);
        self.refresh.retain(|_, (a, _)| *a != athlete);
        self.connected.remove(&athlete);
    }

    pub fn connected(&self) -> Vec<i64> {
        self.connected.iter().copied().collect()
    }
}

impl FakeState {
    /// Mints tokens for an athlete directly (as if they had just authorized):
    /// `(access_token, refresh_token, expires_at)`.
    pub fn mint_tokens(&self, athlete: i64, scope: &str) -> (String, String, i64) {
        let now = self.now();
        let mut w = self.world();
        let serial = w.serial.next();
        w.oauth.issue(serial, athlete, scope, now)
    }

    /// Registers an authorization code, as if `athlete` had just consented with `scope`
    /// (lets a static OAuth callback fixture be exchanged).
    pub fn register_code(&self, code: &str, athlete: i64, scope: &str) {
        self.world().oauth.register_code(code, athlete, scope);
    }

    /// Makes every access token of the athlete expire now.
    pub fn expire_tokens(&self, athlete: i64) {
        let now = self.now();
        self.world().oauth.expire(athlete, now);
    }

    /// Revokes every token of the athlete (as a deauthorization does).
    pub fn revoke(&self, athlete: i64) {
        self.world().oauth.revoke(athlete);
    }

    /// Athletes holding an authorization now.
    pub fn connected_athletes(&self) -> Vec<i64> {
        self.world().oauth.connected()
    }
}
