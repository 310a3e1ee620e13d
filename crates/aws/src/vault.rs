//! The stack's token vault, as its `TOKEN_STORE` chose (docs/design.md §9): one type for
//! the functions, whichever store holds the athletes' tokens.

use stravasync_core::Secret;
use stravasync_core::config::{StackEnv, TokenStore};
use stravasync_core::model::{AppCredentials, AthleteId, OAuthTokens};
use stravasync_core::ports::{TokenVault, VaultError};

use crate::kms_vault::KmsVault;
use crate::secrets::SecretsVault;

pub enum Vault {
    /// One Secrets Manager secret per athlete (the default).
    SecretsManager(SecretsVault),
    /// A KMS-sealed item in the athlete's DynamoDB partition.
    DynamoKms(KmsVault),
}

impl Vault {
    /// The vault `stack.token_store` names; app credentials and the session key are
    /// Secrets Manager secrets in both.
    pub fn from_stack(sdk: &crate::SdkConfig, stack: &StackEnv) -> Self {
        Self::new(sdk, &stack.token_store, &stack.table_name, &stack.app_secret_id, &stack.token_secret_prefix)
    }

    /// The vault of `store`: tokens under `token_prefix` in Secrets Manager, or in `table`.
    pub fn new(
        sdk: &crate::SdkConfig,
        store: &TokenStore,
        table: &str,
        app_secret_id: &str,
        token_prefix: &str,
    ) -> Self {
        let secrets = SecretsVault::new(aws_sdk_secretsmanager::Client::new(sdk), app_secret_id, token_prefix);
        match store {
            TokenStore::SecretsManager => Vault::SecretsManager(secrets),
            TokenStore::DynamoKms { key_id } => Vault::DynamoKms(KmsVault::new(
                aws_sdk_dynamodb::Client::new(sdk),
                table,
                aws_sdk_kms::Client::new(sdk),
                key_id,
                secrets,
            )),
        }
    }
}

/// Calls `$call` on whichever vault this is.
macro_rules! each {
    ($self:ident, $v:ident => $call:expr) => {
        match $self {
            Vault::SecretsManager($v) => $call,
            Vault::DynamoKms($v) => $call,
        }
    };
}

impl TokenVault for Vault {
    async fn named_secret(&self, name: &str) -> Result<Option<Secret>, VaultError> {
        each!(self, v => v.named_secret(name).await)
    }

    async fn get_tokens(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        each!(self, v => v.get_tokens(athlete).await)
    }

    async fn get_tokens_fresh(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        each!(self, v => v.get_tokens_fresh(athlete).await)
    }

    async fn put_tokens(&self, tokens: &OAuthTokens) -> Result<(), VaultError> {
        each!(self, v => v.put_tokens(tokens).await)
    }

    async fn replace_tokens(&self, previous: &OAuthTokens, next: &OAuthTokens) -> Result<(), VaultError> {
        each!(self, v => v.replace_tokens(previous, next).await)
    }

    async fn delete_tokens(&self, athlete: AthleteId) -> Result<(), VaultError> {
        each!(self, v => v.delete_tokens(athlete).await)
    }

    async fn app_credentials(&self) -> Result<AppCredentials, VaultError> {
        each!(self, v => v.app_credentials().await)
    }

    async fn app_credentials_fresh(&self) -> Result<AppCredentials, VaultError> {
        each!(self, v => v.app_credentials_fresh().await)
    }
}
