//! [`MemoryVault`]: tokens and app credentials in memory, with the conditional replace of
//! the DynamoDB vault.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use stravasync_core::model::{AppCredentials, AthleteId, OAuthTokens};
use stravasync_core::ports::{TokenVault, VaultError};

#[derive(Clone)]
pub struct MemoryVault {
    tokens: Arc<Mutex<HashMap<AthleteId, OAuthTokens>>>,
    app: AppCredentials,
    calls: Arc<AtomicU64>,
}

impl MemoryVault {
    pub fn new(app: AppCredentials) -> Self {
        MemoryVault { tokens: Arc::default(), app, calls: Arc::default() }
    }

    /// Token reads and writes so far (each a Secrets Manager call on the default store).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<AthleteId, OAuthTokens>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenVault for MemoryVault {
    /// Every name has a key (derived from it), as a stack with all its secrets would.
    async fn named_secret(&self, name: &str) -> Result<Option<stravasync_core::Secret>, VaultError> {
        Ok(Some(stravasync_core::Secret::new(format!("memory-secret-{name}"))))
    }

    async fn get_tokens(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        Ok(self.tokens().get(&athlete).cloned())
    }

    async fn put_tokens(&self, tokens: &OAuthTokens) -> Result<(), VaultError> {
        self.tokens().insert(tokens.athlete_id, tokens.clone());
        Ok(())
    }

    /// Compare-and-swap, as the DynamoDB vault's conditional write.
    async fn replace_tokens(&self, previous: &OAuthTokens, next: &OAuthTokens) -> Result<(), VaultError> {
        let mut tokens = self.tokens();
        if tokens.get(&previous.athlete_id) != Some(previous) {
            return Err(VaultError::Conflict(previous.athlete_id));
        }
        tokens.insert(next.athlete_id, next.clone());
        Ok(())
    }

    async fn delete_tokens(&self, athlete: AthleteId) -> Result<(), VaultError> {
        self.tokens().remove(&athlete);
        Ok(())
    }

    async fn app_credentials(&self) -> Result<AppCredentials, VaultError> {
        Ok(self.app.clone())
    }
}
