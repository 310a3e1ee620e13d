//! Typed errors of the Strava client. None carries a token or the client secret: URLs are
//! stripped from transport errors and token-endpoint bodies are never echoed.

use crate::rate::RateUsage;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StravaError {
    /// 429, or a usage header at the limit: wait until `resets_at` (unix seconds).
    #[error("Strava rate limit reached on {endpoint}; resets at {resets_at}")]
    RateLimited { endpoint: String, resets_at: i64, usage: Option<RateUsage> },
    /// The token was refused even after a refresh, or the refresh token was revoked.
    #[error("Strava refused the athlete's authorization on {endpoint}")]
    Unauthorized { endpoint: String },
    /// Deleted activity, private activity without scope, or streams of a manual activity.
    #[error("Strava has no {endpoint}")]
    NotFound { endpoint: String },
    /// 5xx, timeout or connection failure: try again later.
    #[error("Strava unavailable on {endpoint}: {reason}")]
    Retryable { endpoint: String, reason: String },
    /// A response body that does not parse.
    #[error("Strava returned an invalid body on {endpoint} at {path}: {message}")]
    Invalid { endpoint: String, path: String, message: String },
    /// 403 whose body names a scope as missing (`errors[].field = "profile:read_all"` or
    /// `"activity:read_permission"`, `code = "missing"`): proof that a stored scope was not
    /// granted (Strava reports granted scopes only on the OAuth redirect).
    #[error("Strava refused {endpoint}: scope {scope} not granted")]
    MissingScope { endpoint: String, scope: String },
    /// 403 "Limit of connected athletes exceeded" at the token exchange: the application
    /// may connect no more athletes (a new application connects only its developer until
    /// Strava has reviewed it: Single Player Mode).
    #[error("Strava refused {endpoint}: the application's athlete capacity is reached")]
    AthleteCapacity { endpoint: String },
    /// Any other 4xx (bad request).
    #[error("Strava rejected {endpoint} with {status}: {message}")]
    Rejected { endpoint: String, status: u16, message: String },
    /// The vault failed.
    #[error("token vault: {0}")]
    Vault(#[from] stravasync_core::ports::VaultError),
    /// The athlete has no tokens in the vault.
    #[error("no tokens stored for athlete {athlete}")]
    NoTokens { athlete: i64 },
}

impl StravaError {
    /// True when the same call may succeed later without any change.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StravaError::Retryable { .. } | StravaError::RateLimited { .. })
    }
}
