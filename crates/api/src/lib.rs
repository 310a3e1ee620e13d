//! The read API Lambda (API Gateway HTTP API, payload v2): the athlete's dashboard and the
//! JSON routes it reads, as a library so tests, the CLI's local server and the `api` binary
//! run the same code.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the dashboard for a signed-in athlete, else the "Connect with Strava" page |
//! | `GET /logout` | ends this browser's session (the cookie cleared), back to `/` |
//! | `GET /privacy` | what is stored, for how long, and how it is deleted |
//! | `GET /disconnected` | the page after a disconnect |
//! | `GET /static/{file}`, `GET /static/brand/{file}` | the dashboard's script, styles, chart library; Strava's brand files when installed |
//! | `GET /api/catalog` | the peak windows and their labels, the score sources, the sport groups, the pace cut-off ([`stravasync_read::catalog`]) |
//! | `GET /api/me` | profile, thresholds, scopes, sync status |
//! | `GET /api/pmc?from&to` | daily load, CTL, ATL, TSB (default: the last 90 days) |
//! | `GET /api/form` | today's form: CTL, ATL, TSB, its band, the 7-day CTL ramp, the over-reaching banner ([`stravasync_read::insight`]) |
//! | `GET /api/bests?range` | best power, heart rate and pace per peak window over 42d, 90d (default), 1y or all; estimated FTP and threshold pace |
//! | `GET /api/weeks` | the last 12 weeks (Monday to Sunday): load, moving time, distance, count, per sport |
//! | `GET /api/activities?before&limit` | one page of activities, newest first, and `next` |
//! | `GET /api/activities/{id}` | summary, metrics, zones, peaks |
//! | `GET /api/activities/{id}/streams?resolution` | the series, averaged to `resolution` points |
//! | `PUT /api/me/thresholds` | new thresholds: enqueued, then stored and rescored by the consumer (202) |
//! | `POST /api/backfill` | import history: `{"count": N}` or `{"after": D, "before": D}`, with `"refresh": true` to re-sync activities already stored (202; 429 while one runs or past the day's allowance) |
//! | `POST /api/me/disconnect` | revoke at Strava and delete everything (the consumer does it; 200 once done) |
//! | `GET /api/export` | a one-time link to the ZIP of everything stored (303; 429 within minutes of the last) |
//! | `GET /export?token` | the ZIP itself, written while it is sent ([`export`]) |
//!
//! Each route is a line of [`routes::ROUTES`] with its access (public, private, change);
//! the router is built from that table. Every JSON answer is a type of
//! [`stravasync_read::answers`], computed there for the API and the CLI alike.
//!
//! Every `/api/*` route answers for the athlete of the session cookie only (401 without a
//! valid one), and only while the cookie's generation is the one stored in the athlete's
//! profile: a disconnect deletes the profile, so every session of the athlete, on every
//! device, ends at once; a reconnect draws a new generation, so an old cookie never
//! comes back to life. The athlete id is never taken from the request.
//!
//! The function reads the table, sends to the queue and writes only its rations (export
//! and backfill allowances, kept with the profile); it cannot read any token (the
//! template's policy), so a threshold change, a backfill or a disconnect travels through
//! the consumer, in order with the athlete's other messages.
//!
//! State-changing routes take JSON only (`Content-Type: application/json`, which a
//! cross-site form cannot send without a CORS preflight this API never grants), refuse an
//! `Origin` other than the site's own, and the cookie is `SameSite=Lax`: three guards
//! against cross-site requests.

pub mod config;
pub mod export;
mod pages;
pub use pages::dashboard_bytes;
pub mod routes;
pub mod session;
#[cfg(feature = "test-util")]
pub mod testing;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_aws::sqs::SqsQueue;
use stravasync_core::Secret;
use stravasync_core::clock::{Clock, system_clock};
use stravasync_core::config::StartupError;
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::{EraseStore, EventQueue, ProfileStore, RationStore, ReadStore, TokenVault, VaultError};
use stravasync_core::signed::{self, Session, SessionError};
use stravasync_read::ReadError;
use stravasync_read::answers::Refusal;

use crate::routes::ROUTES;
use crate::session::Access;

pub use config::ApiConfig;

/// A refused request: the status and the reason sent back as `{"error": reason}`, and
/// for a spent ration when to come back (`Retry-After`, seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: String,
    /// The request field at fault, for the API's clients (the reason says it in words).
    pub field: Option<String>,
    pub retry_after_s: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        ApiError { status, reason: reason.into(), field: None, retry_after_s: None }
    }

    /// 429: a ration is spent; come back in `retry_after_s`.
    pub fn too_many(reason: impl Into<String>, retry_after_s: i64) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            reason: reason.into(),
            field: None,
            retry_after_s: Some(retry_after_s.max(1)),
        }
    }

    fn unavailable(what: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, what, "read failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("{what} unavailable, retry"))
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Bad(e) => e.into(),
            ReadError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, what),
            ReadError::Unavailable { what, error } => ApiError::unavailable(what, error),
            ReadError::Damaged(what) => {
                tracing::error!(what = %what, "a stored item does not decode");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, what)
            }
            ReadError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, why),
        }
    }
}

impl From<stravasync_core::json::FieldError> for ApiError {
    fn from(e: stravasync_core::json::FieldError) -> Self {
        ApiError { field: Some(e.field.clone()), ..ApiError::new(StatusCode::BAD_REQUEST, e.sentence()) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Refusal { error: self.reason, field: self.field, retry_after_s: self.retry_after_s };
        let mut response = (self.status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response();
        if let Some(value) = self.retry_after_s.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The read API's state: built once per container.
pub struct Api<S, Q> {
    pub config: ApiConfig,
    pub(crate) session_key: Secret,
    pub store: S,
    pub queue: Q,
    pub clock: Clock,
}

/// The read API on the AWS adapters.
pub type AwsApi = Api<DynamoStore, SqsQueue>;

impl AwsApi {
    /// From the Lambda environment (see [`ApiConfig`]).
    pub async fn from_env(sdk: &stravasync_aws::SdkConfig) -> Result<Self, StartupError> {
        Self::build(sdk, ApiConfig::from_env()?).await
    }

    /// The table and queue clients, and the session key from Secrets Manager (the only
    /// secret this function may read).
    pub async fn build(sdk: &stravasync_aws::SdkConfig, config: ApiConfig) -> Result<Self, StartupError> {
        // Only `named_secret` is used: no app or token secret names are given.
        let secrets = SecretsVault::new(aws_sdk_secretsmanager::Client::new(sdk), "", "");
        let key = session_key(&secrets, &config.session_secret_id).await?;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name);
        let queue = SqsQueue::for_lanes(
            aws_sdk_sqs::Client::new(sdk),
            &config.queue_url,
            config.background_queue_url.as_deref(),
        );
        Ok(Api::new(config, key, store, queue))
    }
}

/// The session key held in `name`.
pub async fn session_key(vault: &impl TokenVault, name: &str) -> Result<Secret, StartupError> {
    vault
        .named_secret(name)
        .await
        .and_then(|key| key.ok_or_else(|| VaultError::Missing(name.to_string())))
        .map_err(StartupError::SessionKey)
}

/// Why a request's session is not one the API serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedOut {
    #[error("{0}")]
    Cookie(#[from] SessionError),
    /// The cookie is good, but the athlete is no longer connected, or connected again
    /// since (another generation): a disconnect ended it.
    #[error("this session has ended")]
    Ended,
}

impl<S: ProfileStore, Q: EventQueue> Api<S, Q> {
    pub fn new(config: ApiConfig, session_key: Secret, store: S, queue: Q) -> Self {
        Api { config, session_key, store, queue, clock: system_clock() }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    pub(crate) fn today(&self) -> stravasync_core::LocalDate {
        stravasync_core::LocalDate::from_unix_seconds(self.now())
    }

    /// `(name, attributes)` of this site's session cookie.
    fn session_cookie(&self) -> (&'static str, &'static str) {
        stravasync_read::site::session_cookie(self.config.is_https())
    }

    /// The `Set-Cookie` value that clears this site's session cookie.
    pub(crate) fn clear_session_cookie(&self) -> Option<HeaderValue> {
        let (name, attributes) = self.session_cookie();
        HeaderValue::from_str(&format!("{name}=; Max-Age=0; {attributes}")).ok()
    }

    /// The session of a request's cookie, signature and expiry checked (not yet its
    /// generation: [`Api::current`]).
    pub(crate) fn cookie_session(&self, cookies: &axum_extra::extract::CookieJar) -> Result<Session, SessionError> {
        let value = cookies.get(self.session_cookie().0).ok_or(SessionError::Malformed)?.value();
        signed::verify_session(self.session_key.expose().as_bytes(), value, self.now())
    }

    /// The connected athlete's profile if `session` belongs to their current connection.
    /// `Err` only when the table cannot be read.
    pub(crate) async fn current(&self, session: Session) -> Result<Result<AthleteProfile, SignedOut>, ApiError> {
        let profile = self.store.get_profile(session.athlete).await.map_err(|e| ApiError::unavailable("profile", e))?;
        Ok(profile.filter(|p| p.session_is_current(session.generation)).ok_or(SignedOut::Ended))
    }
}

/// Requests are small JSON documents; anything larger is refused before it is read.
const BODY_LIMIT: usize = 4 * 1024;

/// The read API's HTTP interface, built from [`ROUTES`] (`/export` included): each route's
/// handler behind its access's check.
pub fn router<S, Q>(api: Arc<Api<S, Q>>) -> Router
where
    S: ProfileStore + ReadStore + EraseStore + RationStore + Clone + 'static,
    Q: EventQueue + 'static,
{
    let mut routes = Router::new();
    for route in ROUTES {
        let handler = routes::handler::<S, Q>(route)
            .unwrap_or_else(|| panic!("route {} {} has no handler", route.method, route.path));
        let handler = match route.access {
            Access::Public => handler,
            access => handler
                .route_layer(axum::middleware::from_fn_with_state((api.clone(), access), session::require::<S, Q>)),
        };
        routes = routes.route(route.path, handler);
    }
    let routes = routes
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not found") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(api);
    timed(routes)
}

/// `routes` with the `ApiLatency` of each request recorded: the API's router has it; the
/// export function's wraps its [`export_router`] in it.
pub fn timed<T: Clone + Send + Sync + 'static>(routes: Router<T>) -> Router<T> {
    routes.layer(axum::middleware::from_fn(record_latency))
}

/// `ApiLatency` of each request: its route's template (`unmatched` for what no route
/// serves) and its status class (`stravasync_core::telemetry`). A streamed answer (the
/// export) is timed to its head.
async fn record_latency(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        stravasync_core::telemetry::API_LATENCY,
        "Route" => route,
        "Status" => stravasync_core::telemetry::status_class(response.status().as_u16()),
    )
    .record(started.elapsed().as_secs_f64() * 1000.0);
    response
}

/// `/export` alone: what the `export` function serves behind its function URL (response
/// streaming), reached through the one-time links of `/api/export`.
pub fn export_router<S, Q, T>(api: Arc<Api<S, Q>>) -> Router<T>
where
    S: ProfileStore + ReadStore + Clone + 'static,
    Q: EventQueue + 'static,
{
    Router::new()
        .route(routes::EXPORT_ROUTE.path, axum::routing::get(routes::export_archive::<S, Q>))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not found") })
        .with_state(api)
}
