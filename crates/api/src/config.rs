//! Typed configuration from the environment, read once at cold start.

pub use stravasync_core::config::ConfigError;
use stravasync_core::config::Env;

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
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(get);
        let public_base_url = env.required("PUBLIC_BASE_URL")?;
        if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://")) {
            return Err(ConfigError::Invalid { var: "PUBLIC_BASE_URL", reason: "must be an http(s) URL".into() });
        }
        Ok(ApiConfig {
            table_name: env.required("TABLE_NAME")?,
            queue_url: env.required("QUEUE_URL")?,
            background_queue_url: env.optional("BACKGROUND_QUEUE_URL").filter(|u| !u.is_empty()),
            session_secret_id: env.required("SESSION_SECRET_ID")?,
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
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
        let ok = ApiConfig::from_lookup(|k| env().get(k).map(|v| v.to_string())).unwrap();
        assert_eq!((ok.origin(), ok.is_https()), ("https://abc.example.test", true));
    }
}
