//! The webhook Lambda (API Gateway HTTP API, payload v2), as a library so tests, the CLI
//! and the demo run the same code as the `webhook` binary.
//!
//! | route | what |
//! |---|---|
//! | `GET /webhook/{path_secret}?hub.mode=subscribe&hub.challenge=X&hub.verify_token=T` | Strava's subscription check: `{"hub.challenge": X}` when T matches |
//! | `POST /webhook/{path_secret}` | a push event: validated, enqueued to SQS FIFO (group = athlete), `200` |
//! | `GET /connect` | `302` to Strava's consent page with a signed, expiring `state` |
//! | `GET /oauth/callback?code&scope&state` | exchanges the code, stores tokens and profile, enqueues a backfill |
//!
//! The webhook routes sit under a secret path segment; `/connect` and the callback are
//! public and protected by the signed `state` plus a nonce cookie. A request that fails
//! validation gets a 4xx with a short reason (`{"error": reason}`) and nothing is enqueued;
//! a queue failure is a 5xx so that Strava retries (never a 200 for an event that was not
//! stored).
//!
//! [`router`] is one axum `Router`: served by `lambda_http::run` in Lambda and by
//! `axum::serve` in the demo; tests call it with `tower::ServiceExt::oneshot`. Event
//! validation ([`accept_event`]) is a pure function.

pub mod config;
mod connect;
pub use connect::CAPACITY_MESSAGE;
pub mod oauth_state;
mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde_json::json;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::sqs::SqsQueue;
use stravasync_aws::vault::Vault;
use stravasync_core::Secret;
use stravasync_core::event::{AspectType, MAX_EVENT_CLOCK_SKEW_S, ObjectType, WebhookEvent};
use stravasync_core::job::QueueMessage;
use stravasync_core::model::AppCredentials;
use stravasync_core::ports::{EventQueue, ProfileStore, TokenVault, VaultError};
use stravasync_strava::{StravaClient, StravaConfig};

pub use config::{ConfigError, WebhookConfig};

/// Strava's events are a few hundred bytes; anything over this is refused.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// Fewest time between two re-reads of the app secret prompted by an event or challenge
/// the cached credentials refuse (only reachable behind the secret path segment).
pub const APP_REREAD_INTERVAL: Duration = Duration::from_secs(1);

/// A refused push event: the status and the reason sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
}

/// The one error answer of every route: the status and `{"error": reason}`.
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(json!({ "error": self.reason }))).into_response()
    }
}

fn reject(status: u16, reason: impl Into<String>) -> Rejection {
    Rejection::new(status, reason)
}

impl Rejection {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Rejection { status, reason: reason.into() }
    }

    /// The event is fine but names a subscription the credentials in hand do not know:
    /// the app secret may have changed since it was read (`stravasync subscribe`).
    pub fn is_unknown_subscription(&self) -> bool {
        self.status == 403
    }
}

/// Everything the handler does with a push body short of sending it: size limit, strict
/// parse, consistency checks, an `event_time` no more than a day ahead of `now`, the
/// subscription id, and the queue message (carrying `received_ms`, when the push arrived).
pub fn accept_event(
    body: &[u8],
    subscription_id: i64,
    now: i64,
    received_ms: i64,
) -> Result<(WebhookEvent, QueueMessage), Rejection> {
    if body.len() > MAX_BODY_BYTES {
        return Err(reject(413, format!("body over {MAX_BODY_BYTES} bytes")));
    }
    let event =
        WebhookEvent::parse(body).map_err(|e| reject(400, format!("invalid event at {}: {}", e.path, e.message)))?;
    for (field, value) in [
        ("object_id", event.object_id),
        ("owner_id", event.owner_id),
        ("event_time", event.event_time),
        ("subscription_id", event.subscription_id),
    ] {
        if value <= 0 {
            return Err(reject(400, format!("invalid event at {field}: must be > 0")));
        }
    }
    if event.event_time > now.saturating_add(MAX_EVENT_CLOCK_SKEW_S) {
        return Err(reject(400, "invalid event at event_time: more than a day in the future"));
    }
    if event.object_type == ObjectType::Athlete {
        if event.aspect_type != AspectType::Update {
            return Err(reject(400, "invalid event at aspect_type: athlete events are updates"));
        }
        if event.object_id != event.owner_id {
            return Err(reject(400, "invalid event at object_id: an athlete event's object is its owner"));
        }
    }
    if event.subscription_id != subscription_id {
        return Err(reject(403, "unknown subscription_id"));
    }
    let message = QueueMessage::for_event(&event, Some(received_ms));
    Ok((event, message))
}

/// The webhook Lambda's state: built once per container.
pub struct Webhook<Q, V, S> {
    pub config: WebhookConfig,
    app: RwLock<Arc<AppCredentials>>,
    app_reread_at: Mutex<Option<Instant>>,
    /// Signs the session cookie the OAuth callback sets.
    session_key: Secret,
    pub strava: StravaClient,
    pub queue: Q,
    pub vault: V,
    pub store: S,
    /// Connections Strava refused in this container because the application's athlete
    /// capacity is reached (logged with each refusal).
    capacity_refusals: std::sync::atomic::AtomicU64,
}

pub use stravasync_core::config::StartupError;

/// The webhook on the AWS adapters.
pub type AwsWebhook = Webhook<SqsQueue, Vault, DynamoStore>;

impl AwsWebhook {
    /// From the Lambda environment (see [`WebhookConfig`]).
    pub async fn from_env(sdk: &stravasync_aws::SdkConfig) -> Result<Self, StartupError> {
        Self::build(sdk, WebhookConfig::from_env()?).await
    }

    /// The queue, vault and table clients, and the app credentials from the vault.
    pub async fn build(sdk: &stravasync_aws::SdkConfig, config: WebhookConfig) -> Result<Self, StartupError> {
        let queue = SqsQueue::for_lanes(
            aws_sdk_sqs::Client::new(sdk),
            &config.stack.queue_url,
            config.stack.background_queue_url.as_deref(),
        );
        let vault = Vault::from_stack(sdk, &config.stack);
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.stack.table_name);
        Webhook::new(config, queue, vault, store).await
    }
}

impl<Q: EventQueue, V: TokenVault, S: ProfileStore> Webhook<Q, V, S> {
    /// Loads the app credentials from the vault (once) and builds the Strava client.
    pub async fn new(config: WebhookConfig, queue: Q, vault: V, store: S) -> Result<Self, StartupError> {
        let app = vault.app_credentials().await.map_err(StartupError::AppSecret)?;
        let session_key = vault
            .named_secret(&config.session_secret_id)
            .await
            .and_then(|key| key.ok_or_else(|| VaultError::Missing(config.session_secret_id.clone())))
            .map_err(StartupError::SessionKey)?;
        let strava_config = StravaConfig::new(app.client_id.clone(), app.client_secret.clone())
            .with_urls(config.stack.strava_api_url.clone(), config.stack.strava_oauth_url.clone());
        let strava = StravaClient::new(strava_config).map_err(StartupError::client("strava client"))?;
        Ok(Webhook {
            config,
            app: RwLock::new(Arc::new(app)),
            app_reread_at: Mutex::new(None),
            session_key,
            strava,
            queue,
            vault,
            store,
            capacity_refusals: Default::default(),
        })
    }

    /// The app credentials in hand (read at start-up, or re-read since).
    pub fn app(&self) -> Arc<AppCredentials> {
        self.app.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the app secret again, bypassing every cache, at most once per
    /// [`APP_REREAD_INTERVAL`]: `stravasync subscribe` stores the subscription id while
    /// warm containers run (the one that answered Strava's challenge among them).
    /// `None` when rate-limited or unreadable (the cached credentials then stand).
    async fn reread_app(&self) -> Option<Arc<AppCredentials>> {
        {
            let mut at = self.app_reread_at.lock().unwrap_or_else(|p| p.into_inner());
            if at.is_some_and(|t| t.elapsed() < APP_REREAD_INTERVAL) {
                return None;
            }
            *at = Some(Instant::now());
        }
        match self.vault.app_credentials_fresh().await {
            Ok(app) => {
                let app = Arc::new(app);
                *self.app.write().unwrap_or_else(|p| p.into_inner()) = app.clone();
                tracing::info!(subscription_id = app.subscription_id, "app secret re-read");
                Some(app)
            }
            Err(e) => {
                tracing::warn!(error = %e, "app secret re-read failed; keeping the credentials in hand");
                None
            }
        }
    }

    /// Refuses a wrong secret path segment (as "not found": the route does not exist for
    /// whoever does not know it).
    fn check_path_secret(&self, secret: &str) -> Result<(), Rejection> {
        if self.config.path_secret.constant_time_eq(secret) {
            Ok(())
        } else {
            tracing::warn!(outcome = "wrong_path_secret", "webhook request refused");
            Err(reject(404, "not found"))
        }
    }

    /// Strava's subscription check: `{"hub.challenge": X}` when the verify token matches.
    async fn challenge(&self, query: &HashMap<String, String>) -> Response {
        let q = |k: &str| query.get(k).map(String::as_str);
        let (Some("subscribe"), Some(challenge), Some(token)) =
            (q("hub.mode"), q("hub.challenge"), q("hub.verify_token"))
        else {
            return reject(403, "not a subscription challenge").into_response();
        };
        let known = |app: &AppCredentials| app.verify_token.constant_time_eq(token);
        if !known(&self.app()) && !self.reread_app().await.is_some_and(|app| known(&app)) {
            tracing::warn!(outcome = "wrong_verify_token", "subscription challenge refused");
            return reject(403, "verify token mismatch").into_response();
        }
        tracing::info!(outcome = "challenge_answered", "subscription challenge answered");
        axum::Json(json!({ "hub.challenge": challenge })).into_response()
    }

    /// A push event: validated, then enqueued; 200 only once it is on the queue.
    async fn event(&self, body: &[u8]) -> Response {
        let now = self.strava.now();
        let received_ms = stravasync_core::clock::unix_now_ms();
        let accepted = match accept_event(body, self.app().subscription_id, now, received_ms) {
            Err(r) if r.is_unknown_subscription() => match self.reread_app().await {
                Some(app) => accept_event(body, app.subscription_id, now, received_ms),
                None => Err(r),
            },
            other => other,
        };
        let (event, message) = match accepted {
            Ok(ok) => ok,
            Err(r) => {
                tracing::warn!(status = r.status, reason = %r.reason, outcome = "rejected", "push event refused");
                count_event(match r.status {
                    413 => "too_large",
                    403 => "wrong_subscription",
                    _ => "invalid",
                });
                return r.into_response();
            }
        };
        let aspect_type = format!("{:?}", event.aspect_type).to_lowercase();
        match self.queue.enqueue(&message).await {
            Ok(()) => {
                tracing::info!(
                    owner_id = event.owner_id,
                    object_id = event.object_id,
                    aspect_type,
                    outcome = "enqueued",
                    "push event accepted"
                );
                count_event("enqueued");
                axum::Json(json!({ "status": "enqueued" })).into_response()
            }
            Err(e) => {
                tracing::error!(owner_id = event.owner_id, object_id = event.object_id, aspect_type, error = %e, outcome = "queue_failed", "push event not stored");
                count_event("queue_failed");
                reject(503, "queue unavailable, retry").into_response()
            }
        }
    }
}

/// `WebhookEvents` by outcome: `enqueued`, `queue_failed`, or the refusal
/// (`stravasync_core::telemetry`).
fn count_event(outcome: &'static str) {
    metrics::counter!(stravasync_core::telemetry::WEBHOOK_EVENTS, "Outcome" => outcome).increment(1);
}

/// Requests are read whole up to this size; [`accept_event`] refuses events over
/// [`MAX_BODY_BYTES`] with its own reason.
const BODY_READ_LIMIT: usize = 64 * 1024;

/// The webhook's HTTP interface (the routes of the module docs).
pub fn router<Q, V, S>(webhook: Arc<Webhook<Q, V, S>>) -> Router
where
    Q: EventQueue + 'static,
    V: TokenVault + 'static,
    S: ProfileStore + 'static,
{
    Router::new()
        .route("/webhook/{secret}", get(challenge_route::<Q, V, S>).post(event_route::<Q, V, S>))
        .route("/connect", get(connect_route::<Q, V, S>))
        .route("/oauth/callback", get(callback_route::<Q, V, S>))
        .fallback(|| async { reject(404, "not found") })
        .method_not_allowed_fallback(|| async { reject(405, "method not allowed") })
        .layer(DefaultBodyLimit::max(BODY_READ_LIMIT))
        .with_state(webhook)
}

type Shared<Q, V, S> = State<Arc<Webhook<Q, V, S>>>;

async fn challenge_route<Q: EventQueue, V: TokenVault, S: ProfileStore>(
    State(w): Shared<Q, V, S>,
    Path(secret): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match w.check_path_secret(&secret) {
        Ok(()) => w.challenge(&query).await,
        Err(r) => r.into_response(),
    }
}

async fn event_route<Q: EventQueue, V: TokenVault, S: ProfileStore>(
    State(w): Shared<Q, V, S>,
    Path(secret): Path<String>,
    body: Bytes,
) -> Response {
    match w.check_path_secret(&secret) {
        Ok(()) => w.event(&body).await,
        Err(r) => {
            count_event("wrong_path");
            r.into_response()
        }
    }
}

async fn connect_route<Q: EventQueue, V: TokenVault, S: ProfileStore>(State(w): Shared<Q, V, S>) -> Response {
    w.connect()
}

async fn callback_route<Q: EventQueue, V: TokenVault, S: ProfileStore>(
    State(w): Shared<Q, V, S>,
    Query(query): Query<HashMap<String, String>>,
    cookies: CookieJar,
) -> Response {
    let nonce = cookies.get(w.nonce_cookie().0).map(|c| c.value().to_string());
    w.callback(&query, nonce.as_deref()).await
}
