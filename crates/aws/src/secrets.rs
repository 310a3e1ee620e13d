//! OAuth tokens and app credentials in Secrets Manager (docs/design.md §9): one secret per
//! athlete (`<prefix>/athlete/<id>`), one app secret. Values are cached in-process for a
//! short TTL; this vault's own writes update the cache at once. Another container's writes
//! do not, which is why a token refresh starts from `get_tokens_fresh` (see
//! `stravasync_strava::AthleteSession`).
//!
//! Reads pass `VersionStage=AWSCURRENT` explicitly: moto (5.2.5) otherwise returns a
//! stale value after a version-stage move; on AWS it is the default anyway.
//!
//! No error or log line carries a secret's value: a malformed secret is reported by
//! field name and problem only.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::SdkError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stravasync_core::Secret;
use stravasync_core::model::{AppCredentials, AthleteId, OAuthTokens};
use stravasync_core::ports::{TokenVault, VaultError};

use crate::sdk_error::vault_error as sdk_err;
use crate::ttl_cache::TtlCache;

pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

pub struct SecretsVault {
    client: Client,
    app_secret_id: String,
    token_prefix: String,
    cache: TtlCache<String, Option<String>>,
}

/// Which JSON type a required field must have.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Str,
    Int,
}

/// Checks required fields by name and type, then deserializes. Never echoes a value.
pub(crate) fn parse_secret<T: DeserializeOwned>(
    secret: &str,
    text: &str,
    required: &[(&str, Kind)],
) -> Result<T, VaultError> {
    let malformed =
        |field: &str, problem| VaultError::Malformed { secret: secret.to_string(), field: field.to_string(), problem };
    let value: Value = serde_json::from_str(text).map_err(|_| malformed("(document)", "not valid JSON"))?;
    let obj = value.as_object().ok_or_else(|| malformed("(document)", "not a JSON object"))?;
    for &(field, kind) in required {
        let ok = match (obj.get(field), kind) {
            (None | Some(Value::Null), _) => return Err(malformed(field, "missing")),
            (Some(v), Kind::Str) => v.is_string(),
            (Some(v), Kind::Int) => v.is_i64(),
        };
        if !ok {
            return Err(malformed(
                field,
                match kind {
                    Kind::Str => "not a string",
                    Kind::Int => "not an integer",
                },
            ));
        }
    }
    serde_json::from_value(value).map_err(|_| malformed("(document)", "of an unexpected shape"))
}

pub(crate) const TOKEN_FIELDS: &[(&str, Kind)] =
    &[("athlete_id", Kind::Int), ("access_token", Kind::Str), ("refresh_token", Kind::Str), ("expires_at", Kind::Int)];
const APP_FIELDS: &[(&str, Kind)] = &[
    ("client_id", Kind::Str),
    ("client_secret", Kind::Str),
    ("verify_token", Kind::Str),
    ("subscription_id", Kind::Int),
];

impl SecretsVault {
    pub fn new(client: Client, app_secret_id: impl Into<String>, token_prefix: impl Into<String>) -> Self {
        SecretsVault {
            client,
            app_secret_id: app_secret_id.into(),
            token_prefix: token_prefix.into(),
            cache: TtlCache::new(DEFAULT_CACHE_TTL),
        }
    }

    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache.set_ttl(ttl);
        self
    }

    pub fn token_secret_name(&self, athlete: AthleteId) -> String {
        format!("{}/athlete/{athlete}", self.token_prefix)
    }

    /// Forgets cached values (e.g. after Strava rejected a token another process replaced).
    pub fn invalidate(&self, athlete: AthleteId) {
        let name = self.token_secret_name(athlete);
        self.cache.remove(&name);
    }

    fn cached(&self, name: &str) -> Option<Option<String>> {
        self.cache.get(name)
    }

    fn remember(&self, name: &str, value: Option<String>) {
        self.cache.put(name.to_string(), value);
    }

    /// The secret's current string, or `None` if it does not exist; from the cache when
    /// it holds a value younger than the TTL.
    async fn read(&self, name: &str) -> Result<Option<String>, VaultError> {
        match self.cached(name) {
            Some(v) => Ok(v),
            None => self.read_fresh(name).await,
        }
    }

    /// The secret's current string from Secrets Manager itself; refreshes the cache.
    async fn read_fresh(&self, name: &str) -> Result<Option<String>, VaultError> {
        let result = self.client.get_secret_value().secret_id(name).version_stage("AWSCURRENT").send().await;
        let value = match result {
            Ok(out) => Some(out.secret_string.ok_or_else(|| VaultError::Malformed {
                secret: name.to_string(),
                field: "(document)".into(),
                problem: "not a string secret",
            })?),
            Err(SdkError::ServiceError(se)) if se.err().is_resource_not_found_exception() => None,
            Err(e) => return Err(sdk_err(e)),
        };
        self.remember(name, value.clone());
        Ok(value)
    }

    /// Creates the secret, or writes a new current version if it exists.
    pub async fn write(&self, name: &str, value: &str) -> Result<(), VaultError> {
        let put = self.client.put_secret_value().secret_id(name).secret_string(value).send().await;
        match put {
            Ok(_) => {}
            Err(SdkError::ServiceError(se)) if se.err().is_resource_not_found_exception() => {
                let created = self.client.create_secret().name(name).secret_string(value).send().await;
                match created {
                    Ok(_) => {}
                    // Created concurrently: write our value as the new version.
                    Err(SdkError::ServiceError(se)) if se.err().is_resource_exists_exception() => {
                        self.client
                            .put_secret_value()
                            .secret_id(name)
                            .secret_string(value)
                            .send()
                            .await
                            .map_err(sdk_err)?;
                    }
                    Err(e) => return Err(sdk_err(e)),
                }
            }
            Err(e) => return Err(sdk_err(e)),
        }
        self.remember(name, Some(value.to_string()));
        Ok(())
    }
}

impl SecretsVault {
    async fn read_as<T: DeserializeOwned>(
        &self,
        name: &str,
        fields: &[(&str, Kind)],
        fresh: bool,
    ) -> Result<Option<T>, VaultError> {
        let text = if fresh { self.read_fresh(name).await? } else { self.read(name).await? };
        text.map(|text| parse_secret(name, &text, fields)).transpose()
    }

    async fn app(&self, fresh: bool) -> Result<AppCredentials, VaultError> {
        let name = &self.app_secret_id;
        self.read_as(name, APP_FIELDS, fresh).await?.ok_or_else(|| VaultError::Missing(name.clone()))
    }
}

impl TokenVault for SecretsVault {
    async fn named_secret(&self, name: &str) -> Result<Option<Secret>, VaultError> {
        Ok(self.read(name).await?.map(Secret::new))
    }

    async fn get_tokens(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        self.read_as(&self.token_secret_name(athlete), TOKEN_FIELDS, false).await
    }

    async fn get_tokens_fresh(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        self.read_as(&self.token_secret_name(athlete), TOKEN_FIELDS, true).await
    }

    async fn put_tokens(&self, tokens: &OAuthTokens) -> Result<(), VaultError> {
        let text = serde_json::to_string(tokens).map_err(|e| VaultError::Rejected(e.to_string()))?;
        self.write(&self.token_secret_name(tokens.athlete_id), &text).await
    }

    async fn delete_tokens(&self, athlete: AthleteId) -> Result<(), VaultError> {
        let name = self.token_secret_name(athlete);
        let result = self.client.delete_secret().secret_id(&name).force_delete_without_recovery(true).send().await;
        match result {
            Ok(_) => {}
            Err(SdkError::ServiceError(se)) if se.err().is_resource_not_found_exception() => {}
            Err(e) => return Err(sdk_err(e)),
        }
        self.remember(&name, None);
        Ok(())
    }

    async fn app_credentials(&self) -> Result<AppCredentials, VaultError> {
        self.app(false).await
    }

    async fn app_credentials_fresh(&self) -> Result<AppCredentials, VaultError> {
        self.app(true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_secrets_name_the_field_and_never_the_value() {
        let e = parse_secret::<OAuthTokens>(
            "s",
            r#"{"athlete_id":1,"access_token":"SECRETVALUE","expires_at":5}"#,
            TOKEN_FIELDS,
        )
        .unwrap_err();
        assert_eq!(e, VaultError::Malformed { secret: "s".into(), field: "refresh_token".into(), problem: "missing" });
        let e = parse_secret::<OAuthTokens>(
            "s",
            r#"{"athlete_id":1,"access_token":"SECRETVALUE","refresh_token":7,"expires_at":5}"#,
            TOKEN_FIELDS,
        )
        .unwrap_err();
        assert!(e.to_string().contains("refresh_token is not a string"));
        let e = parse_secret::<OAuthTokens>("s", "SECRETVALUE{", TOKEN_FIELDS).unwrap_err();
        assert!(!e.to_string().contains("SECRETVALUE"));
        let e = parse_secret::<AppCredentials>("app", r#"{"client_id":"1"}"#, APP_FIELDS).unwrap_err();
        assert!(e.to_string().contains("client_secret is missing"));
    }
}
