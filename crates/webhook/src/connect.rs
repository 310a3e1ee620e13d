//! `/connect` and `/oauth/callback`: the one-time OAuth connection of an athlete.

use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::model::{AthleteProfile, ConnectionState, OAuthTokens, Scopes, Sex, Thresholds};
use stravasync_core::ports::{EventQueue, ProfileStore, TokenVault};
use stravasync_strava::{AthleteInfo, AthleteSession, StravaError};

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Webhook;
use crate::oauth_state::{self, STATE_TTL_S};
use std::sync::atomic::Ordering;

use stravasync_core::signed::{self, SESSION_TTL_S, Session};

impl<Q: EventQueue, V: TokenVault, S: ProfileStore> Webhook<Q, V, S> {
    fn now(&self) -> i64 {
        self.strava.now()
    }

    /// A page of the site (footer: privacy notice, support contact).
    fn page(&self, status: u16, title: &str, message: &str) -> Response {
        crate::page::html(status, title, message, &self.config.support_email)
    }

    fn redirect_uri(&self) -> String {
        format!("{}/oauth/callback", self.config.public_base_url)
    }

    /// `GET /connect`: to Strava's consent page, with a signed state and its nonce cookie.
    pub(crate) fn connect(&self) -> Response {
        let Ok(nonce) = oauth_state::new_nonce() else {
            return self.page(
                503,
                "Not connected",
                "The sign-in link could not be made. Please try again in a minute.",
            );
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
            _ => self.page(500, "Not connected", "The link to Strava could not be built."),
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
            count_connection("denied");
            return self.page(
                403,
                "Not connected",
                "Strava access was not granted, so nothing was stored. You can try again at /connect.",
            );
        }
        let (Some(code), Some(state), Some(scope)) = (q("code"), q("state"), q("scope")) else {
            count_connection("failed");
            return self.page(
                400,
                "Not connected",
                "The link is incomplete (code, scope and state are required). Start again at /connect.",
            );
        };
        let app = self.app();
        if let Err(e) = oauth_state::verify(app.client_secret.expose().as_bytes(), state, nonce, self.now()) {
            tracing::warn!(reason = %e, outcome = "bad_state", "oauth callback refused");
            count_connection("failed");
            return self.page(400, "Not connected", &format!("{e}. Start again at /connect."));
        }
        let scopes = Scopes::parse(scope);
        if !scopes.can_read_activities() {
            tracing::info!(outcome = "insufficient_scope", "oauth callback without activity read");
            count_connection("denied");
            return self.page(
                403,
                "Not connected",
                "Reading your activities is needed to compute your training load, and it was not granted. Nothing was stored. Start again at /connect and keep \"View data about your activities\" ticked.",
            );
        }
        match self.complete_connection(code, scopes).await {
            Ok((session, import)) => {
                tracing::info!(owner_id = session.athlete, outcome = "connected", "athlete connected");
                count_connection("connected");
                self.signed_in(session, import)
            }
            Err((status, title, message)) => {
                count_connection(if title == CAPACITY_TITLE { "capacity_refused" } else { "failed" });
                self.page(status, title, &message)
            }
        }
    }

    /// `303` to the dashboard, with the session cookie. The dashboard greets the new
    /// connection until its history import (`import`, the job's `requested_at`) has run.
    fn signed_in(&self, session: Session, import: i64) -> Response {
        let (name, attributes) =
            stravasync_read::site::session_cookie(self.config.public_base_url.starts_with("https://"));
        let value = signed::sign_session(self.session_key.expose().as_bytes(), session, self.now() + SESSION_TTL_S);
        let cookie = format!("{name}={value}; Max-Age={SESSION_TTL_S}; {attributes}");
        match (HeaderValue::from_str(&cookie), HeaderValue::from_str(&format!("/?connected={import}"))) {
            (Ok(cookie), Ok(dashboard)) => (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, dashboard),
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                "Connected",
            )
                .into_response(),
            _ => self.page(500, "Not connected", "The session could not be started."),
        }
    }

    /// Code exchange, token storage, profile, backfill job. Returns the new session, or the
    /// status, title and message of the failure page.
    /// The connection made: the athlete's session, and the id of the history import it
    /// started.
    async fn complete_connection(&self, code: &str, mut scopes: Scopes) -> Result<(Session, i64), Failure> {
        let grant = match self.strava.exchange_code(code).await {
            Ok(grant) => grant,
            Err(StravaError::AthleteCapacity { .. }) => {
                let refusals = self.capacity_refusals.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    refusals,
                    outcome = "athlete_capacity",
                    "Strava refused a connection: the application's athlete capacity is reached"
                );
                return Err((403, CAPACITY_TITLE, CAPACITY_MESSAGE.to_string()));
            }
            Err(e) => {
                tracing::warn!(error = %e, outcome = "exchange_failed", "oauth code exchange failed");
                return Err(not_connected(502, "Strava did not accept the authorization. Start again at /connect."));
            }
        };
        let summary = grant
            .athlete
            .clone()
            .ok_or(not_connected(502, "Strava did not say who authorized. Start again at /connect."))?;
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
            not_connected(503, "Your connection could not be saved. Please try again in a minute.")
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
                        not_connected(503, "Your connection could not be saved. Please try again in a minute.")
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
            not_connected(503, "Your connection could not be saved. Please try again in a minute.")
        })?;
        let sex = if info.sex.as_deref() == Some("F") { Sex::Female } else { Sex::Male };
        let mut profile = existing.unwrap_or_else(|| {
            let mut p = AthleteProfile::new(athlete);
            p.thresholds = Thresholds::starter(sex);
            p
        });
        // A new connection draws the generation of its sessions; signing in again on
        // another device keeps it (and the sessions of the first device).
        let generation = match profile.session_generation {
            Some(g) => g,
            None => new_generation().map_err(|e| {
                tracing::error!(owner_id = athlete, error = %e, "no random generation");
                not_connected(503, "Your connection could not be saved. Please try again in a minute.")
            })?,
        };
        profile.session_generation = Some(generation);
        profile.firstname = info.firstname.clone();
        profile.lastname = info.lastname.clone();
        profile.scopes = scopes;
        profile.state = ConnectionState::Connected;
        // Strava's FTP and zones seed the thresholds until the athlete sets their own on
        // the dashboard; signing in again never overwrites those.
        let own_thresholds = profile.thresholds_version > 0;
        if let Some(ftp) = info.ftp.filter(|f| *f > 0.0 && !own_thresholds) {
            profile.thresholds.ftp = Some(ftp);
        }
        if let Some(z) = zones.filter(|_| !own_thresholds) {
            if let Some(b) = z.power.as_ref().and_then(|p| p.lower_bounds()) {
                profile.thresholds.power_zones = Some(b);
            }
            if let Some(b) = z.heart_rate.as_ref().and_then(|h| h.lower_bounds()) {
                profile.thresholds.heartrate_zones = Some(b);
            }
        }
        self.store.put_profile(&profile).await.map_err(|e| {
            tracing::error!(owner_id = athlete, error = %e, "profile write failed");
            not_connected(503, "Your connection could not be saved. Please try again in a minute.")
        })?;

        let import = self.now();
        let job = Job::start_backfill(athlete, Some(self.config.backfill_count), None, None, Some(import));
        let message = QueueMessage::for_job(&job, &format!("connect-{import}"));
        self.queue.enqueue(&message).await.map_err(|e| {
            tracing::error!(owner_id = athlete, error = %e, "backfill job not enqueued");
            not_connected(503, "Your history import could not be started. Please try again in a minute.")
        })?;
        Ok((Session { athlete, generation }, import))
    }
}

/// A failed connection: the page's status, title and message.
type Failure = (u16, &'static str, String);

fn not_connected(status: u16, message: &str) -> Failure {
    (status, "Not connected", message.to_string())
}

/// The title of the page an athlete sees when Strava refuses the connection because the
/// application's athlete capacity is reached.
const CAPACITY_TITLE: &str = "Not connected: this app is full";

/// `Connections` by outcome: connected, capacity_refused, denied, failed
/// (`stravasync_core::telemetry`).
fn count_connection(outcome: &'static str) {
    metrics::counter!(stravasync_core::telemetry::CONNECTIONS, "Outcome" => outcome).increment(1);
}

/// What the callback tells an athlete when Strava refuses one more athlete (Single Player
/// Mode, until Strava has reviewed the application, or a reviewed application's capacity).
pub const CAPACITY_MESSAGE: &str = "Strava did not let this app connect your account: the app has reached the \
number of athletes Strava allows it to connect. New Strava apps may connect only their developer until Strava has \
reviewed them. Nothing about you was stored. The operator of this site must submit the app to Strava's review (or \
ask Strava to raise its athlete capacity); once that is done, connect again. The support address below reaches the \
operator.";

/// A random session generation for a new connection.
fn new_generation() -> Result<u64, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}
