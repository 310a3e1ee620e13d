//! `/connect` and `/oauth/callback`: the one-time OAuth connection of an athlete.

use stravasync_core::event::{Job, QueueMessage};
use stravasync_core::model::{AthleteProfile, ConnectionState, OAuthTokens, Scopes, Sex, Thresholds};
use stravasync_core::ports::{ActivityStore, EventQueue, TokenVault};
use stravasync_strava::{AthleteInfo, AthleteSession, StravaError};

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Webhook;
use crate::oauth_state::{self, STATE_TTL_S};
use crate::page::html;
use stravasync_core::signed::{self, SESSION_TTL_S};

impl<Q: EventQueue, V: TokenVault, S: ActivityStore> Webhook<Q, V, S> {
    fn now(&self) -> i64 {
        self.strava.now()
    }

    fn redirect_uri(&self) -> String {
        format!("{}/oauth/callback", self.config.public_base_url)
    }

    /// `GET /connect`: to Strava's consent page, with a signed state and its nonce cookie.
    pub(crate) fn connect(&self) -> Response {
        let Ok(nonce) = oauth_state::new_nonce() else {
            return html(503, "Not connected", "The sign-in link could not be made. Please try again in a minute.");
        };
        let app = self.app();
        let state = oauth_state::sign(app.client_secret.expose().as_bytes(), &nonce, self.now() + STATE_TTL_S);
        let url = self.strava.authorize_url(&self.redirect_uri(), &state, &self.config.scope);
        let (name, attributes) = self.nonce_cookie();
        let cookie = format!("{name}={nonce}; Max-Age={STATE_TTL_S}; {attributes}");
        match (HeaderValue::from_str(&url), HeaderValue::from_str(&cookie)) {
            (Ok(location), Ok(cookie)) => (
                StatusCode::FOUND,
                [
                    (header::LOCATION, location),
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                "Redirecting to Strava",
            )
                .into_response(),
            _ => html(500, "Not connected", "The link to Strava could not be built."),
        }
    }

    /// `(name, attributes)` of the nonce cookie of this deployment.
    pub(crate) fn nonce_cookie(&self) -> (&'static str, &'static str) {
        oauth_state::nonce_cookie(self.config.public_base_url.starts_with("https://"))
    }

    /// `GET /oauth/callback`. Every answer clears the nonce cookie: it is good for one
    /// attempt.
    pub(crate) async fn callback(&self, query: &HashMap<String, String>, nonce: Option<&str>) -> Response {
        let (name, attributes) = self.nonce_cookie();
        let mut response = self.callback_page(query, nonce).await;
        if let Ok(clear) = HeaderValue::from_str(&format!("{name}=; Max-Age=0; {attributes}")) {
            response.headers_mut().append(header::SET_COOKIE, clear);
        }
        response
    }

    async fn callback_page(&self, query: &HashMap<String, String>, nonce: Option<&str>) -> Response {
        let q = |k: &str| query.get(k).map(String::as_str);
        if let Some(error) = q("error") {
            tracing::info!(error, outcome = "denied", "athlete did not authorize");
            return html(
                403,
                "Not connected",
                "Strava access was not granted, so nothing was stored. You can try again at /connect.",
            );
        }
        let (Some(code), Some(state), Some(scope)) = (q("code"), q("state"), q("scope")) else {
            return html(
                400,
                "Not connected",
                "The link is incomplete (code, scope and state are required). Start again at /connect.",
            );
        };
        let app = self.app();
        if let Err(e) = oauth_state::verify(app.client_secret.expose().as_bytes(), state, nonce, self.now()) {
            tracing::warn!(reason = %e, outcome = "bad_state", "oauth callback refused");
            return html(400, "Not connected", &format!("{e}. Start again at /connect."));
        }
        let scopes = Scopes::parse(scope);
        if !scopes.can_read_activities() {
            tracing::info!(outcome = "insufficient_scope", "oauth callback without activity read");
            return html(
                403,
                "Not connected",
                "Reading your activities is needed to compute your training load, and it was not granted. Nothing was stored. Start again at /connect and keep \"View data about your activities\" ticked.",
            );
        }
        match self.complete_connection(code, scopes).await {
            Ok(athlete) => {
                tracing::info!(owner_id = athlete, outcome = "connected", "athlete connected");
                self.signed_in(athlete)
            }
            Err((status, message)) => html(status, "Not connected", &message),
        }
    }

    /// `303` to the dashboard (which greets a new connection), with the session cookie.
    fn signed_in(&self, athlete: i64) -> Response {
        let (name, attributes) = signed::session_cookie(self.config.public_base_url.starts_with("https://"));
        let value = signed::sign_session(self.session_key.expose().as_bytes(), athlete, self.now() + SESSION_TTL_S);
        let cookie = format!("{name}={value}; Max-Age={SESSION_TTL_S}; {attributes}");
        match HeaderValue::from_str(&cookie) {
            Ok(cookie) => (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, HeaderValue::from_static("/?connected=1")),
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                "Connected",
            )
                .into_response(),
            Err(_) => html(500, "Not connected", "The session could not be started."),
        }
    }

    /// Code exchange, token storage, profile, backfill job. Returns the athlete id, or the
    /// status and message of the failure page.
    async fn complete_connection(&self, code: &str, mut scopes: Scopes) -> Result<i64, (u16, String)> {
        let grant = self.strava.exchange_code(code).await.map_err(|e| {
            tracing::warn!(error = %e, outcome = "exchange_failed", "oauth code exchange failed");
            (502, "Strava did not accept the authorization. Start again at /connect.".to_string())
        })?;
        let summary = grant
            .athlete
            .clone()
            .ok_or((502, "Strava did not say who authorized. Start again at /connect.".to_string()))?;
        let athlete = summary.id;
        let mut tokens = OAuthTokens {
            athlete_id: athlete,
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            expires_at: grant.expires_at,
            scopes: scopes.clone(),
            connected_at: self.now(),
        };
        self.vault.put_tokens(&tokens).await.map_err(|e| {
            tracing::error!(owner_id = athlete, error = %e, outcome = "vault_failed", "tokens not stored");
            (503, "Your connection could not be saved. Please try again in a minute.".to_string())
        })?;

        let mut session = AthleteSession::new(&self.strava, &self.vault, athlete);
        let info: AthleteInfo = match session.athlete().await {
            Ok(r) => r.value,
            Err(e) => {
                tracing::warn!(owner_id = athlete, error = %e, "GET /athlete failed; using the token summary");
                summary
            }
        };
        // The redirect's `scope` is what the athlete's browser says was granted; the zones
        // call verifies `profile:read_all`, and a 403 naming it removes it.
        let zones = if scopes.can_read_zones() {
            match session.zones().await {
                Ok(r) => Some(r.value),
                Err(StravaError::MissingScope { scope, .. }) => {
                    tracing::warn!(owner_id = athlete, scope, outcome = "scope_downgraded", "granted scope not held");
                    scopes = scopes.without(&scope);
                    // The session's pair is the newest (a refresh may have rotated it).
                    let current = session.tokens().await.unwrap_or_else(|_| tokens.clone());
                    tokens = OAuthTokens { scopes: scopes.clone(), ..current };
                    self.vault.put_tokens(&tokens).await.map_err(|e| {
                        tracing::error!(owner_id = athlete, error = %e, outcome = "vault_failed", "tokens not stored");
                        (503, "Your connection could not be saved. Please try again in a minute.".to_string())
                    })?;
                    None
                }
                Err(e) => {
                    tracing::warn!(owner_id = athlete, error = %e, "GET /athlete/zones failed");
                    None
                }
            }
        } else {
            None
        };

        let existing = self.store.get_profile(athlete).await.map_err(|e| {
            tracing::error!(owner_id = athlete, error = %e, "profile read failed");
            (503, "Your connection could not be saved. Please try again in a minute.".to_string())
        })?;
        let sex = if info.sex.as_deref() == Some("F") { Sex::Female } else { Sex::Male };
        let mut profile = existing.unwrap_or_else(|| {
            let mut p = AthleteProfile::new(athlete);
            p.thresholds = Thresholds::starter(sex);
            p
        });
        profile.firstname = info.firstname.clone();
        profile.lastname = info.lastname.clone();
        profile.scopes = scopes;
        profile.state = ConnectionState::Connected;
        if let Some(ftp) = info.ftp.filter(|f| *f > 0.0) {
            profile.thresholds.ftp = Some(ftp);
        }
        if let Some(z) = zones {
            if let Some(b) = z.power.as_ref().and_then(|p| p.lower_bounds()) {
                profile.thresholds.power_zones = Some(b);
            }
            if let Some(b) = z.heart_rate.as_ref().and_then(|h| h.lower_bounds()) {
                profile.thresholds.heartrate_zones = Some(b);
            }
        }
        self.store.put_profile(&profile).await.map_err(|e| {
            tracing::error!(owner_id = athlete, error = %e, "profile write failed");
            (503, "Your connection could not be saved. Please try again in a minute.".to_string())
        })?;

        let job = Job::start_backfill(athlete, Some(self.config.backfill_count), None, None, Some(self.now()));
        let message = QueueMessage::for_job(&job, &format!("connect-{}", self.now()));
        self.queue.enqueue(&message).await.map_err(|e| {
            tracing::error!(owner_id = athlete, error = %e, "backfill job not enqueued");
            (503, "Your history import could not be started. Please try again in a minute.".to_string())
        })?;
        Ok(athlete)
    }
}
