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
//! validation gets a 4xx with a short reason and nothing is enqueued; a queue failure is
//! a 5xx so that Strava retries (never a 200 for an event that was not stored).

pub mod config;
mod connect;
pub mod oauth_state;
mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::json;
use stravasync_core::event::{AspectType, MAX_EVENT_CLOCK_SKEW_S, ObjectType, QueueMessage, WebhookEvent};
use stravasync_core::model::AppCredentials;
use stravasync_core::ports::{ActivityStore, EventQueue, TokenVault};
use stravasync_strava::{StravaClient, StravaConfig};

pub use config::{ConfigError, WebhookConfig};

/// Strava's events are a few hundred bytes; anything over this is refused.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// Fewest time between two re-reads of the app secret prompted by an event or challenge
/// the cached credentials refuse (only reachable behind the secret path segment).
pub const APP_REREAD_INTERVAL: Duration = Duration::from_secs(1);

/// The parts of an HTTP request the handler reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub cookies: HashMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        HttpResponse { status, content_type: "application/json", headers: Vec::new(), body: body.to_string() }
    }

    /// A short machine-readable refusal: `{"error": reason}`.
    pub fn refuse(status: u16, reason: &str) -> Self {
        Self::json(status, json!({ "error": reason }))
    }
}

/// A refused push event: the status and the reason sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
}

fn reject(status: u16, reason: impl Into<String>) -> Rejection {
    Rejection { status, reason: reason.into() }
}

impl Rejection {
    /// The event is fine but names a subscription the credentials in hand do not know:
    /// the app secret may have changed since it was read (`stravasync subscribe`).
    pub fn is_unknown_subscription(&self) -> bool {
        self.status == 403
    }
}

/// Everything the handler does with a push body short of sending it: size limit, strict
/// parse, consistency checks, an `event_time` no more than a day ahead of `now`, the
/// subscription id, and the queue message.
pub fn accept_event(body: &[u8], subscription_id: i64, now: i64) -> Result<(WebhookEvent, QueueMessage), Rejection> {
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
    let message = QueueMessage::for_event(&event);
    Ok((event, message))
}

/// The webhook Lambda's state: built once per container.
pub struct Webhook<Q, V, S> {
    pub config: WebhookConfig,
    app: RwLock<Arc<AppCredentials>>,
    app_reread_at: Mutex<Option<Instant>>,
    pub strava: StravaClient,
    pub queue: Q,
    pub vault: V,
    pub store: S,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("app secret: {0}")]
    AppSecret(String),
    #[error("strava client: {0}")]
    Strava(String),
}

impl<Q: EventQueue, V: TokenVault, S: ActivityStore> Webhook<Q, V, S> {
    /// Loads the app credentials from the vault (once) and builds the Strava client.
    pub async fn new(config: WebhookConfig, queue: Q, vault: V, store: S) -> Result<Self, StartupError> {
        let app = vault.app_credentials().await.map_err(|e| StartupError::AppSecret(e.to_string()))?;
        let strava_config = StravaConfig::new(app.client_id.clone(), app.client_secret.clone())
            .with_urls(config.strava_api_url.clone(), config.strava_oauth_url.clone());
        let strava = StravaClient::new(strava_config).map_err(|e| StartupError::Strava(e.to_string()))?;
        Ok(Webhook {
            config,
            app: RwLock::new(Arc::new(app)),
            app_reread_at: Mutex::new(None),
            strava,
            queue,
            vault,
            store,
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

    pub async fn handle(&self, req: &HttpRequest) -> HttpResponse {
        if let Some(secret) = req.path.strip_prefix("/webhook/") {
            if !self.app().webhook_path_secret.constant_time_eq(secret) {
                tracing::warn!(outcome = "wrong_path_secret", "webhook request refused");
                return HttpResponse::refuse(404, "not found");
            }
            return match req.method.as_str() {
                "GET" => self.challenge(req).await,
                "POST" => self.event(req).await,
                _ => HttpResponse::refuse(405, "method not allowed"),
            };
        }
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/connect") => self.connect(),
            ("GET", "/oauth/callback") => self.callback(req).await,
            (_, "/connect" | "/oauth/callback") => HttpResponse::refuse(405, "method not allowed"),
            _ => HttpResponse::refuse(404, "not found"),
        }
    }

    async fn challenge(&self, req: &HttpRequest) -> HttpResponse {
        let q = |k: &str| req.query.get(k).map(String::as_str);
        let (Some("subscribe"), Some(challenge), Some(token)) =
            (q("hub.mode"), q("hub.challenge"), q("hub.verify_token"))
        else {
            return HttpResponse::refuse(403, "not a subscription challenge");
        };
        let known = |app: &AppCredentials| app.verify_token.constant_time_eq(token);
        if !known(&self.app()) && !self.reread_app().await.is_some_and(|app| known(&app)) {
            tracing::warn!(outcome = "wrong_verify_token", "subscription challenge refused");
            return HttpResponse::refuse(403, "verify token mismatch");
        }
        tracing::info!(outcome = "challenge_answered", "subscription challenge answered");
        HttpResponse::json(200, json!({ "hub.challenge": challenge }))
    }

    async fn event(&self, req: &HttpRequest) -> HttpResponse {
        let now = self.strava.now();
        let accepted = match accept_event(&req.body, self.app().subscription_id, now) {
            Err(r) if r.is_unknown_subscription() => match self.reread_app().await {
                Some(app) => accept_event(&req.body, app.subscription_id, now),
                None => Err(r),
            },
            other => other,
        };
        let (event, message) = match accepted {
            Ok(ok) => ok,
            Err(r) => {
                tracing::warn!(status = r.status, reason = %r.reason, outcome = "rejected", "push event refused");
                return HttpResponse::refuse(r.status, &r.reason);
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
                HttpResponse::json(200, json!({ "status": "enqueued" }))
            }
            Err(e) => {
                tracing::error!(owner_id = event.owner_id, object_id = event.object_id, aspect_type, error = %e, outcome = "queue_failed", "push event not stored");
                HttpResponse::refuse(503, "queue unavailable, retry")
            }
        }
    }
}

/// Decodes a raw query string (`a=1&b=x%20y`); the first of repeated keys wins.
pub fn query_pairs(raw: &str) -> HashMap<String, String> {
    let mut query = HashMap::new();
    if let Ok(url) = reqwest::Url::parse(&format!("http://q/?{raw}")) {
        for (k, v) in url.query_pairs().into_owned() {
            query.entry(k).or_insert(v);
        }
    }
    query
}

/// The cookies of `Cookie` header values (`a=1; b=2`).
pub fn cookie_pairs<'a>(headers: impl Iterator<Item = &'a str>) -> HashMap<String, String> {
    headers
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// Converts API Gateway's request into the handler's view.
pub fn from_lambda(req: &lambda_http::Request) -> HttpRequest {
    use lambda_http::RequestExt;
    let mut query = req.uri().query().map(query_pairs).unwrap_or_default();
    if query.is_empty() {
        for (k, v) in req.query_string_parameters().iter() {
            query.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
    }
    HttpRequest {
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        query,
        cookies: cookie_pairs(req.headers().get_all("cookie").iter().filter_map(|h| h.to_str().ok())),
        body: req.body().as_ref().to_vec(),
    }
}

/// Converts the handler's answer into API Gateway's.
pub fn to_lambda(resp: HttpResponse) -> lambda_http::Response<lambda_http::Body> {
    let mut builder = lambda_http::Response::builder().status(resp.status).header("content-type", resp.content_type);
    for (k, v) in resp.headers {
        builder = builder.header(k, v);
    }
    builder.body(lambda_http::Body::from(resp.body)).unwrap_or_else(|_| {
        let mut r = lambda_http::Response::new(lambda_http::Body::from("internal error"));
        *r.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
