//! Calls made on an athlete's behalf, with the token lifecycle Strava requires.
//!
//! Invariant relied on: one athlete's calls are never made concurrently by two sessions
//! (the consumer gets one SQS FIFO message group per athlete, so messages of an athlete are
//! processed one at a time). Two concurrent refreshes could otherwise each rotate the
//! refresh token and leave the vault holding a revoked one.

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use stravasync_core::Secret;
use stravasync_core::model::{ActivityId, ActivitySummary, AthleteId, OAuthTokens};
use stravasync_core::ports::TokenVault;
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
            None => self
                .vault
                .get_tokens(self.athlete)
                .await
                .map_err(|e| StravaError::Vault(e.to_string()))?
                .ok_or_else(|| StravaError::Vault(format!("no tokens stored for athlete {}", self.athlete)))?,
        };
        let tokens = if tokens.expires_within(self.client.now(), self.client.config().refresh_leeway_s) {
            self.refresh(&tokens).await?
        } else {
            tokens
        };
        self.tokens = Some(tokens.clone());
        Ok(tokens)
    }

    /// Refreshes, then stores the rotated tokens in the vault before anything uses them.
    async fn refresh(&mut self, current: &OAuthTokens) -> Result<OAuthTokens, StravaError> {
        let grant = self.client.refresh(&current.refresh_token).await?;
        let fresh = OAuthTokens {
            athlete_id: self.athlete,
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            expires_at: grant.expires_at,
            scopes: current.scopes.clone(),
        };
        self.vault.put_tokens(&fresh).await.map_err(|e| StravaError::Vault(e.to_string()))?;
        self.refreshes += 1;
        tracing::info!(athlete_id = self.athlete, expires_at = fresh.expires_at, "strava tokens refreshed");
        Ok(fresh)
    }

    /// Sends an authorized request; on a 401 refreshes once and retries once.
    async fn call<T: DeserializeOwned>(
        &mut self,
        endpoint: &str,
        build: impl Fn(&Secret) -> RequestBuilder,
    ) -> Result<Response<T>, StravaError> {
        let tokens = self.tokens().await?;
        let raw = match self.client.send(endpoint, build(&tokens.access_token), false).await {
            Err(StravaError::Unauthorized { .. }) => {
                let fresh = self.refresh(&tokens).await?;
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
