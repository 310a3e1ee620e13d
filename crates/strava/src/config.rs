//! Client configuration, from the environment in a Lambda.

use std::time::Duration;

use stravasync_core::Secret;
pub use stravasync_core::clock::{Clock, system_clock};
use stravasync_core::config::{Env, manifest};

pub const DEFAULT_API_URL: &str = "https://www.strava.com/api/v3";
pub const DEFAULT_OAUTH_URL: &str = "https://www.strava.com/oauth";

#[derive(Clone)]
pub struct StravaConfig {
    /// `https://www.strava.com/api/v3`, or fake-strava's `/api/v3`.
    pub api_url: String,
    /// `https://www.strava.com/oauth`, or fake-strava's `/oauth`.
    pub oauth_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub connect_timeout: Duration,
    /// Whole-request timeout, body included.
    pub request_timeout: Duration,
    /// Refresh an access token this long before it expires.
    pub refresh_leeway_s: i64,
    pub clock: Clock,
}

impl std::fmt::Debug for StravaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StravaConfig")
            .field("api_url", &self.api_url)
            .field("oauth_url", &self.oauth_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl StravaConfig {
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        StravaConfig {
            api_url: DEFAULT_API_URL.to_string(),
            oauth_url: DEFAULT_OAUTH_URL.to_string(),
            client_id: client_id.into(),
            client_secret,
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(20),
            refresh_leeway_s: 300,
            clock: system_clock(),
        }
    }

    /// Takes `STRAVA_API_URL` and `STRAVA_OAUTH_URL` from the process environment when set
    /// (the operator commands; the functions require them: `StackEnv`).
    pub fn with_env_urls(self) -> Self {
        self.with_urls_of(&Env::process())
    }

    /// Takes `STRAVA_API_URL` and `STRAVA_OAUTH_URL` from `env` when set.
    pub fn with_urls_of<F: Fn(&str) -> Option<String>>(mut self, env: &Env<F>) -> Self {
        if let Some(url) = env.optional(&manifest::STRAVA_API_URL) {
            self.api_url = url;
        }
        if let Some(url) = env.optional(&manifest::STRAVA_OAUTH_URL) {
            self.oauth_url = url;
        }
        self
    }

    pub fn with_urls(mut self, api_url: impl Into<String>, oauth_url: impl Into<String>) -> Self {
        self.api_url = api_url.into();
        self.oauth_url = oauth_url.into();
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }
}
