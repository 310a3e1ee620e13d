//! Secrets: an athlete's OAuth tokens, the app's credentials.

use serde::{Deserialize, Serialize};

use super::{AthleteId, Scopes};
use crate::secret::Secret;

/// OAuth tokens of one athlete, as kept in their Secrets Manager secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthTokens {
    pub athlete_id: AthleteId,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Unix seconds at which the access token expires.
    pub expires_at: i64,
    #[serde(default)]
    pub scopes: Scopes,
    /// Unix seconds of the OAuth connection these tokens descend from (kept across
    /// refreshes; 0 when unknown). A deauthorization older than this belongs to an earlier
    /// connection and must not delete this one.
    #[serde(default)]
    pub connected_at: i64,
}

impl OAuthTokens {
    /// True when the access token expires within `leeway_secs` of `now`.
    pub fn expires_within(&self, now: i64, leeway_secs: i64) -> bool {
        self.expires_at - now <= leeway_secs
    }
}

/// The application's credentials and the push subscription's secrets, in one app secret.
/// (The webhook's secret path segment is the template's `WebhookPathSecret`: API Gateway
/// routes it literally, so it is the function's `WEBHOOK_PATH_SECRET`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    /// `hub.verify_token` of the push subscription.
    pub verify_token: Secret,
    /// Strava's push subscription id; events with another id are refused.
    pub subscription_id: i64,
}
