//! Typed configuration from the environment, read once at cold start.

use stravasync_core::Secret;
pub use stravasync_core::config::ConfigError;
use stravasync_core::config::manifest::{
    BACKFILL_COUNT, PUBLIC_BASE_URL, SESSION_SECRET_ID, STRAVA_SCOPE, SUPPORT_EMAIL, WEBHOOK_PATH_SECRET,
};
use stravasync_core::config::{Env, StackEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Queue, table, secrets and Strava URLs ([`StackEnv`]).
    pub stack: StackEnv,
    /// Public base URL of the API (`https://abc.execute-api.../`), for the OAuth redirect.
    pub public_base_url: String,
    /// Activities imported right after an athlete connects (`BACKFILL_COUNT`, default 30).
    pub backfill_count: u32,
    /// Scope requested at `/connect` (`STRAVA_SCOPE`, default `read,activity:read_all`).
    pub scope: String,
    /// The secret holding the session cookie key (`SESSION_SECRET_ID`).
    pub session_secret_id: String,
    /// The secret path segment of the webhook (`WEBHOOK_PATH_SECRET`, the template's
    /// `WebhookPathSecret`): API Gateway routes Strava's deliveries on it literally, with
    /// limits of their own, and the handler checks it again.
    pub path_secret: Secret,
    /// Where athletes write for support and data requests (`SUPPORT_EMAIL`, the
    /// template's `SupportEmail`), shown on every page.
    pub support_email: String,
}

impl WebhookConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let backfill_count = env.parsed(&BACKFILL_COUNT)?;
        let public_base_url = env.required(&PUBLIC_BASE_URL)?;
        if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://")) {
            return Err(ConfigError::Invalid { var: PUBLIC_BASE_URL.name(), reason: "must be an http(s) URL".into() });
        }
        Ok(WebhookConfig {
            stack: StackEnv::read(&env)?,
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
            backfill_count,
            scope: env.text(&STRAVA_SCOPE)?,
            session_secret_id: env.required(&SESSION_SECRET_ID)?,
            path_secret: path_secret(&env)?,
            support_email: env.email(&SUPPORT_EMAIL)?,
        })
    }
}

/// `WEBHOOK_PATH_SECRET`: at least 16 characters of `[A-Za-z0-9_-]` (a URL path segment
/// that is hard to guess).
fn path_secret<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Secret, ConfigError> {
    let value = env.required(&WEBHOOK_PATH_SECRET)?;
    if value.len() < 16 || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ConfigError::Invalid {
            var: WEBHOOK_PATH_SECRET.name(),
            reason: "must be at least 16 letters, digits, - or _".into(),
        });
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("QUEUE_URL", "http://q"),
            ("TABLE_NAME", "t"),
            ("APP_SECRET_ID", "a"),
            ("TOKEN_SECRET_PREFIX", "p"),
            ("STRAVA_API_URL", "http://s/api/v3"),
            ("STRAVA_OAUTH_URL", "http://s/oauth"),
            ("PUBLIC_BASE_URL", "https://example.test/"),
            ("SESSION_SECRET_ID", "s"),
            ("WEBHOOK_PATH_SECRET", "0123456789abcdef"),
            ("SUPPORT_EMAIL", "help@example.test"),
        ])
    }

    #[test]
    fn every_missing_variable_is_named() {
        for var in env().keys() {
            let mut e = env();
            e.remove(var);
            let err = WebhookConfig::from_lookup(|k| e.get(k).map(|v| v.to_string())).unwrap_err();
            assert_eq!(err, ConfigError::Missing(var));
            assert!(err.to_string().contains(var));
        }
        let ok = WebhookConfig::from_lookup(|k| env().get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(ok.public_base_url, "https://example.test");
        assert_eq!(ok.backfill_count, 30);
    }

    #[test]
    fn the_variables_read_are_the_manifests() {
        use stravasync_core::config::manifest::{Reader, check_reader};
        check_reader(Reader::Webhook, |get| WebhookConfig::from_lookup(get)).unwrap();
    }

    #[test]
    fn bad_values_are_named() {
        let mut e = env();
        e.insert("BACKFILL_COUNT", "many");
        let err = WebhookConfig::from_lookup(|k| e.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "BACKFILL_COUNT", .. }));
        for (var, value) in [
            ("PUBLIC_BASE_URL", "example.test"),
            ("WEBHOOK_PATH_SECRET", "short"),
            ("WEBHOOK_PATH_SECRET", "has/a/slash/in/it/0123"),
            ("SUPPORT_EMAIL", "nobody"),
        ] {
            let mut e = env();
            e.insert(var, value);
            let err = WebhookConfig::from_lookup(|k| e.get(k).map(|v| v.to_string())).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { var: v, .. } if v == var), "{var}={value:?}: {err}");
            assert!(!err.to_string().contains("0123"), "the path secret is never echoed: {err}");
        }
    }
}
