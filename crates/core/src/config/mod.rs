//! Reading a Lambda's configuration from its environment: one error type that names the
//! variable, and [`Env`], which reads only the variables of the deployment [`manifest`].

pub mod manifest;

use manifest::{Unset, Var};

/// A required variable is missing or a value does not parse; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// An error and its sources, one after the other (`a: b: c`): the `Debug` of start-up
/// errors, so that a Lambda's init failure (printed with `Debug`) reads as a sentence.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            // thiserror's `{0}` in a message already shows a transparent source.
            if !self.0.to_string().ends_with(&s.to_string()) {
                write!(f, ": {s}")?;
            }
            source = s.source();
        }
        Ok(())
    }
}

/// Why a Lambda container could not start. `Debug` reads as the sentence `Display` gives,
/// with its sources: a Lambda prints an init error with `Debug`.
#[derive(thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("app secret: {0}")]
    AppSecret(#[source] crate::ports::VaultError),
    #[error("session key: {0}")]
    SessionKey(#[source] crate::ports::VaultError),
    #[error("{what}: {source}")]
    Client {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StartupError {
    /// Maps the failure to build a client (`what`) into a start-up error.
    pub fn client<E: std::error::Error + Send + Sync + 'static>(what: &'static str) -> impl Fn(E) -> StartupError {
        move |e| StartupError::Client { what, source: Box::new(e) }
    }
}

impl std::fmt::Debug for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", Chain(self))
    }
}

/// Where a handler finds the stack and Strava: the variables the webhook and the consumer
/// both read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEnv {
    /// The events lane's queue (`QUEUE_URL`).
    pub queue_url: String,
    /// The background lane's queue (`BACKGROUND_QUEUE_URL`); without it, background jobs
    /// share the events queue under their own message groups.
    pub background_queue_url: Option<String>,
    pub table_name: String,
    pub app_secret_id: String,
    pub token_secret_prefix: String,
    pub strava_api_url: String,
    pub strava_oauth_url: String,
    pub token_store: TokenStore,
}

/// Where athletes' OAuth tokens are kept (`TOKEN_STORE`; the template's `TokenStore`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenStore {
    /// One Secrets Manager secret per athlete under `TOKEN_SECRET_PREFIX` (the default).
    #[default]
    SecretsManager,
    /// An item in the athlete's table partition, sealed with a data key of the KMS key
    /// `TOKEN_KEY_ID` (AES-256-GCM).
    DynamoKms { key_id: String },
}

impl TokenStore {
    /// `TOKEN_STORE` of [`TokenStore::SecretsManager`] (the default).
    pub const SECRETS_MANAGER: &str = "secretsmanager";
    /// `TOKEN_STORE` of [`TokenStore::DynamoKms`].
    pub const DYNAMODB_KMS: &str = "dynamodb-kms";

    /// `TOKEN_STORE` (`secretsmanager`, the default, or `dynamodb-kms`, which requires
    /// `TOKEN_KEY_ID`).
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        match env.text(&manifest::TOKEN_STORE)?.as_str() {
            Self::SECRETS_MANAGER => Ok(TokenStore::SecretsManager),
            Self::DYNAMODB_KMS => Ok(TokenStore::DynamoKms { key_id: env.required(&manifest::TOKEN_KEY_ID)? }),
            other => Err(ConfigError::Invalid {
                var: manifest::TOKEN_STORE.name(),
                reason: format!("{other:?} is neither \"secretsmanager\" nor \"dynamodb-kms\""),
            }),
        }
    }
}

impl StackEnv {
    /// `QUEUE_URL`, `TABLE_NAME`, `APP_SECRET_ID`, `TOKEN_SECRET_PREFIX`, `STRAVA_API_URL`,
    /// `STRAVA_OAUTH_URL`: all required; `BACKGROUND_QUEUE_URL` optional; the token store as
    /// [`TokenStore::read`].
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        use manifest::*;
        Ok(StackEnv {
            queue_url: env.required(&QUEUE_URL)?,
            background_queue_url: env.optional(&BACKGROUND_QUEUE_URL),
            table_name: env.required(&TABLE_NAME)?,
            app_secret_id: env.required(&APP_SECRET_ID)?,
            token_secret_prefix: env.required(&TOKEN_SECRET_PREFIX)?,
            strava_api_url: env.required(&STRAVA_API_URL)?,
            strava_oauth_url: env.required(&STRAVA_OAUTH_URL)?,
            token_store: TokenStore::read(env)?,
        })
    }
}

/// The variables of the [`manifest`], looked up through a function (the process
/// environment, or a map in tests). Every method takes a manifest [`Var`]: nothing else
/// can be read, and a default is the manifest's.
pub struct Env<F>(F);

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Env(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Variables looked up through `get`.
    pub fn new(get: F) -> Self {
        Env(get)
    }

    /// A variable that must be set and non-empty.
    pub fn required(&self, var: &'static Var) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing(var.name()))
    }

    /// A variable set and non-empty, or `None`.
    pub fn optional(&self, var: &'static Var) -> Option<String> {
        (self.0)(var.name()).filter(|v| !v.is_empty())
    }

    /// A text variable: its value when set and non-empty, else its default.
    pub fn text(&self, var: &'static Var) -> Result<String, ConfigError> {
        match (self.optional(var), var.unset()) {
            (Some(value), _) => Ok(value),
            (None, Unset::Text(default)) => Ok(default.to_string()),
            (None, _) => Err(ConfigError::Missing(var.name())),
        }
    }

    /// A variable parsed, or its default when unset (missing when it has none of `T`).
    pub fn parsed<T: Setting>(&self, var: &'static Var) -> Result<T, ConfigError> {
        match (self.0)(var.name()) {
            None => T::default_of(var.unset()).ok_or(ConfigError::Missing(var.name())),
            Some(v) => {
                v.parse().map_err(|_| ConfigError::Invalid { var: var.name(), reason: format!("{v:?} does not parse") })
            }
        }
    }

    /// A variable that must hold an e-mail address (`SUPPORT_EMAIL`, shown on every page).
    pub fn email(&self, var: &'static Var) -> Result<String, ConfigError> {
        let value = self.required(var)?;
        if !is_email(&value) {
            return Err(ConfigError::Invalid {
                var: var.name(),
                reason: format!("{value:?} is not an e-mail address"),
            });
        }
        Ok(value)
    }
}

/// A type a variable is parsed into, with the manifest's default of its kind.
pub trait Setting: std::str::FromStr {
    fn default_of(unset: Unset) -> Option<Self>;
}

impl Setting for u32 {
    fn default_of(unset: Unset) -> Option<Self> {
        if let Unset::Whole(n) = unset { Some(n) } else { None }
    }
}

impl Setting for f64 {
    fn default_of(unset: Unset) -> Option<Self> {
        if let Unset::Share(x) = unset { Some(x) } else { None }
    }
}

impl Setting for bool {
    fn default_of(unset: Unset) -> Option<Self> {
        if let Unset::Flag(b) = unset { Some(b) } else { None }
    }
}

/// Whether `value` looks like an e-mail address (the template checks the same pattern).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | ','))
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("app secret: {0}")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("secret store unavailable")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn the_token_store_is_read_and_a_bad_one_is_named() {
        let read = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            TokenStore::read(&Env::new(move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())))
        };
        assert_eq!(read(&[]), Ok(TokenStore::SecretsManager));
        assert_eq!(read(&[("TOKEN_STORE", "secretsmanager")]), Ok(TokenStore::SecretsManager));
        assert_eq!(
            read(&[("TOKEN_STORE", "dynamodb-kms"), ("TOKEN_KEY_ID", "arn:aws:kms:eu-west-1:1:key/k")]),
            Ok(TokenStore::DynamoKms { key_id: "arn:aws:kms:eu-west-1:1:key/k".into() })
        );
        assert_eq!(read(&[("TOKEN_STORE", "dynamodb-kms")]), Err(ConfigError::Missing("TOKEN_KEY_ID")));
        let e = read(&[("TOKEN_STORE", "dynamodb")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable TOKEN_STORE: \"dynamodb\" is neither \"secretsmanager\" nor \"dynamodb-kms\""
        );
    }

    #[test]
    fn a_chain_reads_as_one_sentence_without_repeats() {
        let e = Outer(Inner(std::io::Error::other("connection refused")));
        assert_eq!(Chain(&e).to_string(), "app secret: secret store unavailable: connection refused");
        let missing = ConfigError::Missing("QUEUE_URL");
        assert_eq!(Chain(&missing).to_string(), "environment variable QUEUE_URL is not set");
    }

    #[test]
    fn email_addresses() {
        for ok in ["a@b.co", "support+strava@club.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "@b.co", "a@.co", "a b@c.de", "a@b.co,c@d.de", "a@b@c.de", "<a@b.co>"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
