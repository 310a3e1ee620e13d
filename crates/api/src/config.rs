//! Typed configuration from the environment, read once at cold start.

pub use stravasync_core::config::ConfigError;
use stravasync_core::config::Env;
use stravasync_core::config::manifest::{
    BACKFILL_DAILY_LIMIT, BACKGROUND_QUEUE_URL, EXPORT_URL, PUBLIC_BASE_URL, QUEUE_URL, SESSION_SECRET_ID,
    STRAVA_SCOPE, SUPPORT_EMAIL, TABLE_NAME, Var,
};

/// The scopes `/connect` asks for unless `STRAVA_SCOPE` says otherwise (the webhook's
/// default too).
pub use stravasync_core::model::DEFAULT_SCOPE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The single table (`TABLE_NAME`): read only.
    pub table_name: String,
    /// The event queue (`QUEUE_URL`): threshold changes and backfill requests go there.
    pub queue_url: String,
    /// The background lane's queue (`BACKGROUND_QUEUE_URL`): backfill requests go there.
    pub background_queue_url: Option<String>,
    /// The secret holding the session cookie key (`SESSION_SECRET_ID`).
    pub session_secret_id: String,
    /// The site's own URL (`PUBLIC_BASE_URL`): HTTPS decides the cookie's name and
    /// attributes, and a state-changing request must come from this origin.
    pub public_base_url: String,
    /// Where `/export` is served (`EXPORT_URL`, the export function's URL in AWS; this
    /// site by default).
    pub export_url: String,
    /// Where athletes write for support and data requests (`SUPPORT_EMAIL`).
    pub support_email: String,
    /// Activities one athlete's backfills may ask for per UTC day (`BACKFILL_DAILY_LIMIT`).
    pub backfill_daily_limit: u32,
    /// The scopes `/connect` asks Strava for (`STRAVA_SCOPE`, as the webhook's), named on
    /// the privacy page.
    pub scope: String,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let url = |var: &'static Var, value: String| {
            if value.starts_with("https://") || value.starts_with("http://") {
                Ok(value.trim_end_matches('/').to_string())
            } else {
                Err(ConfigError::Invalid { var: var.name(), reason: "must be an http(s) URL".into() })
            }
        };
        let public_base_url = url(&PUBLIC_BASE_URL, env.required(&PUBLIC_BASE_URL)?)?;
        let export_url = match env.optional(&EXPORT_URL) {
            Some(u) => url(&EXPORT_URL, u)?,
            None => public_base_url.clone(),
        };
        let backfill_daily_limit = env.parsed(&BACKFILL_DAILY_LIMIT)?;
        if backfill_daily_limit == 0 {
            return Err(ConfigError::Invalid { var: BACKFILL_DAILY_LIMIT.name(), reason: "must be at least 1".into() });
        }
        Ok(ApiConfig {
            table_name: env.required(&TABLE_NAME)?,
            queue_url: env.required(&QUEUE_URL)?,
            background_queue_url: env.optional(&BACKGROUND_QUEUE_URL),
            session_secret_id: env.required(&SESSION_SECRET_ID)?,
            public_base_url,
            export_url,
            support_email: env.email(&SUPPORT_EMAIL)?,
            backfill_daily_limit,
            scope: env.text(&STRAVA_SCOPE)?,
        })
    }

    pub fn is_https(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`) browsers send in `Origin`.
    pub fn origin(&self) -> &str {
        let after_scheme = self.public_base_url.find("://").map_or(0, |i| i + 3);
        match self.public_base_url[after_scheme..].find('/') {
            Some(i) => &self.public_base_url[..after_scheme + i],
            None => &self.public_base_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("TABLE_NAME", "t"),
            ("QUEUE_URL", "http://q"),
            ("SESSION_SECRET_ID", "s"),
            ("PUBLIC_BASE_URL", "https://abc.example.test/prod/"),
            ("SUPPORT_EMAIL", "help@example.test"),
        ])
    }

    #[test]
    fn every_missing_or_bad_variable_is_named() {
        for var in env().keys() {
            let mut e = env();
            e.remove(var);
            assert_eq!(ApiConfig::from_lookup(|k| e.get(k).map(|v| v.to_string())), Err(ConfigError::Missing(var)));
        }
        let mut e = env();
        e.insert("PUBLIC_BASE_URL", "abc.example.test");
        let err = ApiConfig::from_lookup(|k| e.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "PUBLIC_BASE_URL", .. }));
        for (var, value) in
            [("EXPORT_URL", "export.example.test"), ("SUPPORT_EMAIL", "nobody"), ("BACKFILL_DAILY_LIMIT", "0")]
        {
            let mut e = env();
            e.insert(var, value);
            let err = ApiConfig::from_lookup(|k| e.get(k).map(|v| v.to_string())).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { var: v, .. } if v == var), "{var}: {err}");
        }
        let ok = ApiConfig::from_lookup(|k| env().get(k).map(|v| v.to_string())).unwrap();
        assert_eq!((ok.origin(), ok.is_https()), ("https://abc.example.test", true));
        assert_eq!(ok.export_url, "https://abc.example.test/prod", "exports on this site by default");
        assert_eq!((ok.backfill_daily_limit, ok.scope.as_str()), (500, DEFAULT_SCOPE));
    }

    /// The API and the export function run on this configuration alike.
    #[test]
    fn the_variables_read_are_the_manifests() {
        use stravasync_core::config::manifest::{Reader, check_reader};
        for reader in [Reader::Api, Reader::Export] {
            check_reader(reader, |get| ApiConfig::from_lookup(get)).unwrap();
        }
    }
}
