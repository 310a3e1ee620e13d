//! Calls made on an athlete's behalf, with the token lifecycle Strava requires.
//!
//! Strava rotates the refresh token on every refresh: the old one stops working. One
//! athlete's calls are never made concurrently (one SQS FIFO message group per athlete),
//! but consecutive messages of an athlete may run in different consumer containers, each
//! with its own vault cache. So a refresh never starts from a cached pair:
//!
//! 1. the pair is read fresh from the vault; if another container refreshed meanwhile and
//!    the stored access token is still good, it is used as it is;
//! 2. otherwise the stored refresh token is traded, and the rotated pair is stored before
//!    anything uses it;
//! 3. if Strava refuses the refresh token, the pair is read fresh once more: a rotation
//!    that landed between the read and the refresh shows up as a different refresh token,
//!    which is tried; the same token refused again is a revoked authorization
//!    ([`StravaError::Unauthorized`]);
//! 4. the rotated pair replaces the pair read in 1 only if nothing else replaced it
//!    meanwhile ([`TokenVault::replace_tokens`]); if something did, the stored pair wins
//!    and the session starts again from it (once).

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use stravasync_core::Secret;
use stravasync_core::model::{ActivityId, ActivitySummary, AthleteId, OAuthTokens};
use stravasync_core::ports::{TokenVault, VaultError};
use stravasync_core::streams::{REQUESTED_KEYS, StreamSet};

use crate::client::StravaClient;
use crate::error::StravaError;
use crate::types::{ActivityQuery, AthleteInfo, AthleteZones, Response};

/// Strava's cap on `per_page`.
pub const MAX_PER_PAGE: u32 = 200;

pub struct AthleteSession<'a, V: TokenVault> {
    client: &'a StravaClient,
    vault: &'a V,
    athlete: AthleteId,
    tokens: Option<OAuthTokens>,
    refreshes: u32,
}

impl<'a, V: TokenVault> AthleteSession<'a, V> {
    pub fn new(client: &'a StravaClient, vault: &'a V, athlete: AthleteId) -> Self {
        AthleteSession { client, vault, athlete, tokens: None, refreshes: 0 }
    }

    pub fn athlete_id(&self) -> AthleteId {
        self.athlete
    }

    /// How many token refreshes this session made (each one persisted to the vault).
    pub fn refreshes(&self) -> u32 {
        self.refreshes
    }

    /// The tokens in use, loading them from the vault and refreshing them when they
    /// expire within the configured leeway.
    pub async fn tokens(&mut self) -> Result<OAuthTokens, StravaError> {
        let tokens = match self.tokens.take() {
            Some(t) => t,
            None => self.load(false).await?,
        };
        let tokens = if self.expiring(&tokens) { self.refresh(None).await? } else { tokens };
        self.tokens = Some(tokens.clone());
        Ok(tokens)
    }

    fn expiring(&self, tokens: &OAuthTokens) -> bool {
        tokens.expires_within(self.client.now(), self.client.config().refresh_leeway_s)
    }

    /// The athlete's tokens from the vault; `fresh` bypasses any cache.
    async fn load(&self, fresh: bool) -> Result<OAuthTokens, StravaError> {
        let read = if fresh {
            self.vault.get_tokens_fresh(self.athlete).await
        } else {
            self.vault.get_tokens(self.athlete).await
        };
        read?.ok_or(StravaError::NoTokens { athlete: self.athlete })
    }

    /// New tokens, following the module's rules: start from a fresh read, take a pair
    /// another container stored if it is good (and is not the access token Strava just
    /// refused, `refused_access`), else refresh; a refused refresh is retried once from a
    /// new read.
    async fn refresh(&mut self, refused_access: Option<&Secret>) -> Result<OAuthTokens, StravaError> {
        let mut current = self.load(true).await?;
        let mut retried = false;
        let mut conflicts = 0;
        loop {
            let refused = refused_access.is_some_and(|a| a.constant_time_eq(current.access_token.expose()));
            if !refused && !self.expiring(&current) {
                tracing::info!(athlete_id = self.athlete, "strava tokens taken from the vault (refreshed elsewhere)");
                return Ok(current);
            }
            match self.client.refresh(&current.refresh_token).await {
                Ok(grant) => {
                    let fresh = OAuthTokens {
                        athlete_id: self.athlete,
                        access_token: grant.access_token,
                        refresh_token: grant.refresh_token,
                        expires_at: grant.expires_at,
                        scopes: current.scopes.clone(),
                        connected_at: current.connected_at,
                    };
                    match self.vault.replace_tokens(&current, &fresh).await {
                        // Another writer stored a pair since `current` was read (a rotation
                        // elsewhere, a new authorization): theirs stays; start again from it.
                        Err(VaultError::Conflict(_)) if conflicts == 0 => {
                            conflicts += 1;
                            tracing::info!(athlete_id = self.athlete, "tokens replaced elsewhere during the refresh");
                            current = self.load(true).await?;
                            continue;
                        }
                        other => other?,
                    }
                    self.refreshes += 1;
                    tracing::info!(athlete_id = self.athlete, expires_at = fresh.expires_at, "strava tokens refreshed");
                    return Ok(fresh);
                }
                Err(StravaError::Unauthorized { endpoint }) if !retried => {
                    retried = true;
                    let again = self.load(true).await?;
                    if again.refresh_token == current.refresh_token {
                        return Err(StravaError::Unauthorized { endpoint });
                    }
                    tracing::info!(
                        athlete_id = self.athlete,
                        "refresh token rotated elsewhere; retrying with the stored one"
                    );
                    current = again;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends an authorized request; on a 401 gets new tokens once (see
    /// [`AthleteSession::refresh`]) and retries once.
    async fn call<T: DeserializeOwned>(
        &mut self,
        endpoint: &str,
        build: impl Fn(&Secret) -> RequestBuilder,
    ) -> Result<Response<T>, StravaError> {
        let tokens = self.tokens().await?;
        let raw = match self.client.send(endpoint, build(&tokens.access_token), false).await {
            Err(StravaError::Unauthorized { .. }) => {
                let fresh = self.refresh(Some(&tokens.access_token)).await?;
                self.tokens = Some(fresh.clone());
                self.client.send(endpoint, build(&fresh.access_token), false).await?
            }
            other => other?,
        };
        StravaClient::parse(endpoint, raw, false)
    }

    /// `GET /activities/{id}`.
    pub async fn activity(&mut self, id: ActivityId) -> Result<Response<ActivitySummary>, StravaError> {
        let client = self.client;
        let path = format!("/activities/{id}");
        let build = move |t: &Secret| client.api(Method::GET, &path).bearer_auth(t.expose());
        self.call(&format!("GET /activities/{id}"), build).await
    }

    /// `GET /activities/{id}/streams` with every key the pipeline uses, `key_by_type=true`.
    pub async fn streams(&mut self, id: ActivityId) -> Result<Response<StreamSet>, StravaError> {
        let path = format!("/activities/{id}/streams");
        let client = self.client;
        let build = move |t: &Secret| {
            client
                .api(Method::GET, &path)
                .bearer_auth(t.expose())
                .query(&[("keys", REQUESTED_KEYS), ("key_by_type", "true")])
        };
        self.call(&format!("GET /activities/{id}/streams"), build).await
    }

    /// `GET /athlete`.
    pub async fn athlete(&mut self) -> Result<Response<AthleteInfo>, StravaError> {
        let client = self.client;
        self.call("GET /athlete", move |t| client.api(Method::GET, "/athlete").bearer_auth(t.expose())).await
    }

    /// `GET /athlete/zones` (needs `profile:read_all`).
    pub async fn zones(&mut self) -> Result<Response<AthleteZones>, StravaError> {
        let client = self.client;
        self.call("GET /athlete/zones", move |t| client.api(Method::GET, "/athlete/zones").bearer_auth(t.expose()))
            .await
    }

    /// One page of `GET /athlete/activities`.
    pub async fn activities(&mut self, query: ActivityQuery) -> Result<Response<Vec<ActivitySummary>>, StravaError> {
        let client = self.client;
        let mut params = vec![
            ("page", query.page.max(1).to_string()),
            ("per_page", query.per_page.clamp(1, MAX_PER_PAGE).to_string()),
        ];
        if let Some(b) = query.before {
            params.push(("before", b.to_string()));
        }
        if let Some(a) = query.after {
            params.push(("after", a.to_string()));
        }
        let build =
            move |t: &Secret| client.api(Method::GET, "/athlete/activities").bearer_auth(t.expose()).query(&params);
        self.call(&format!("GET /athlete/activities?page={}", query.page), build).await
    }

    /// Pages through `GET /athlete/activities` from `query.page` on.
    pub fn pager(&mut self, query: ActivityQuery) -> ActivityPager<'_, 'a, V> {
        ActivityPager { session: self, query, done: false }
    }

    /// `POST /oauth/deauthorize` with the athlete's current access token.
    pub async fn deauthorize(&mut self) -> Result<(), StravaError> {
        let tokens = self.tokens().await?;
        self.client.deauthorize(&tokens.access_token).await
    }
}

/// An async pager over the athlete's activity list. It stops after the first page that
/// is shorter than `per_page`.
pub struct ActivityPager<'s, 'a, V: TokenVault> {
    session: &'s mut AthleteSession<'a, V>,
    query: ActivityQuery,
    done: bool,
}

impl<V: TokenVault> ActivityPager<'_, '_, V> {
    /// The next page, or `None` after the last one. The page number only advances on
    /// success, so a failed page can be asked for again.
    pub async fn next_page(&mut self) -> Result<Option<Response<Vec<ActivitySummary>>>, StravaError> {
        if self.done {
            return Ok(None);
        }
        let page = self.session.activities(self.query).await?;
        let per_page = self.query.per_page.clamp(1, MAX_PER_PAGE) as usize;
        if page.value.len() < per_page {
            self.done = true;
        }
        self.query.page += 1;
        Ok(Some(page))
    }

    /// The page the next call fetches (for checkpoints).
    pub fn next_page_number(&self) -> u32 {
        self.query.page
    }
}
