//! The read API Lambda (API Gateway HTTP API, payload v2): the athlete's dashboard and the
//! JSON routes it reads, as a library so tests, the CLI's local server and the `api` binary
//! run the same code.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the dashboard for a signed-in athlete, else the "Connect with Strava" page |
//! | `GET /logout` | clears the session, back to `/` |
//! | `GET /static/{file}` | the dashboard's script, styles and vendored chart library |
//! | `GET /api/me` | profile, thresholds, scopes, sync status |
//! | `GET /api/pmc?from&to` | daily load, CTL, ATL, TSB (default: the last 90 days) |
//! | `GET /api/activities?before&limit` | one page of activities, newest first, and `next` |
//! | `GET /api/activities/{id}` | summary, metrics, zones, peaks |
//! | `GET /api/activities/{id}/streams?resolution` | the 1 Hz series, averaged to `resolution` points |
//! | `PUT /api/me/thresholds` | new thresholds: enqueued, then stored and rescored by the consumer (202) |
//! | `POST /api/backfill` | import history: `{"count": N}` or `{"after": D, "before": D}` (202; 409 while one runs) |
//!
//! Every `/api/*` route answers for the athlete of the session cookie only (401 without a
//! valid one): the athlete id is never taken from the request. The function reads the
//! table and sends to the queue; it cannot write the table nor read any token (the
//! template's policy), so a threshold change or a backfill travels through the consumer,
//! in order with the athlete's other messages.
//!
//! State-changing routes take JSON only (`Content-Type: application/json`, which a
//! cross-site form cannot send without a CORS preflight this API never grants), refuse an
//! `Origin` other than the site's own, and the cookie is `SameSite=Lax`: three guards
//! against cross-site requests.

pub mod config;
mod pages;
pub use pages::dashboard_bytes;
mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::json;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_aws::sqs::SqsQueue;
use stravasync_core::Secret;
use stravasync_core::config::StartupError;
use stravasync_core::model::AthleteId;
use stravasync_core::ports::{ActivityStore, EventQueue, TokenVault, VaultError};
use stravasync_core::signed::{self, SessionError};

pub use config::ApiConfig;

/// Unix seconds now; injectable so that tests can expire a session.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    })
}

/// A refused request: the status and the reason sent back as `{"error": reason}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: String,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        ApiError { status, reason: reason.into() }
    }

    fn unavailable(what: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, what, "read failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("{what} unavailable, retry"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, [(axum::http::header::CACHE_CONTROL, "no-store")], axum::Json(json!({ "error": self.reason })))
            .into_response()
    }
}

/// The read API's state: built once per container.
pub struct Api<S, Q> {
    pub config: ApiConfig,
    session_key: Secret,
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

impl<S: ActivityStore, Q: EventQueue> Api<S, Q> {
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

    /// `(name, attributes)` of this site's session cookie.
    fn session_cookie(&self) -> (&'static str, &'static str) {
        signed::session_cookie(self.config.is_https())
    }

    /// The athlete of a request's session cookie.
    fn athlete(&self, cookies: &axum_extra::extract::CookieJar) -> Result<AthleteId, SessionError> {
        let value = cookies.get(self.session_cookie().0).ok_or(SessionError::Malformed)?.value();
        signed::verify_session(self.session_key.expose().as_bytes(), value, self.now())
    }
}

/// Requests are small JSON documents; anything larger is refused before it is read.
const BODY_LIMIT: usize = 4 * 1024;

/// The read API's HTTP interface (the routes of the module docs).
pub fn router<S, Q>(api: Arc<Api<S, Q>>) -> Router
where
    S: ActivityStore + 'static,
    Q: EventQueue + 'static,
{
    Router::new()
        .route("/", get(pages::home::<S, Q>))
        .route("/logout", get(pages::logout::<S, Q>))
        .route("/static/{file}", get(pages::asset))
        .route("/api/me", get(routes::me::<S, Q>))
        .route("/api/me/thresholds", put(routes::thresholds::<S, Q>))
        .route("/api/pmc", get(routes::pmc::<S, Q>))
        .route("/api/activities", get(routes::activities::<S, Q>))
        .route("/api/activities/{id}", get(routes::activity::<S, Q>))
        .route("/api/activities/{id}/streams", get(routes::streams::<S, Q>))
        .route("/api/backfill", axum::routing::post(routes::backfill::<S, Q>))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not found") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(api)
}
