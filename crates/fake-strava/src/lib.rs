//! fake-strava: a local server that speaks the parts of Strava's API v3 the pipeline uses,
//! behaves like Strava where it matters (expiring access tokens, rotating refresh tokens,
//! per-application rate limits on the quarter hour, the push-subscription challenge) and
//! misbehaves on demand (fault injection), with a request log tests can read.
//!
//! Routes: `/oauth/{authorize,token,deauthorize}`, `/api/v3/athlete`, `/api/v3/athlete/zones`,
//! `/api/v3/athlete/activities`, `/api/v3/activities/{id}`, `/api/v3/activities/{id}/streams`,
//! `/api/v3/push_subscriptions`, and `/admin/...` for tests and the demo (see [`admin`]).

pub mod admin;
mod api;
pub mod data;
mod http;
mod oauth;
mod reply;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::routing::{get, post};

pub use state::{FakeConfig, FakeState, Fault, FaultKind, LoggedRequest};

/// Builds the router over a shared state.
pub fn router(state: FakeState) -> Router {
    let strava = Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/deauthorize", post(oauth::deauthorize))
        .route("/api/v3/athlete", get(api::athlete))
        .route("/api/v3/athlete/zones", get(api::zones))
        .route("/api/v3/athlete/activities", get(api::list_activities))
        .route("/api/v3/activities/{id}", get(api::activity))
        .route("/api/v3/activities/{id}/streams", get(api::streams))
        .route("/api/v3/push_subscriptions", post(api::create_subscription).get(api::list_subscriptions))
        .route("/api/v3/push_subscriptions/{id}", axum::routing::delete(api::delete_subscription))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), api::strava_middleware));
    strava.merge(admin::routes()).with_state(state)
}

/// A fake-strava running in-process on 127.0.0.1 (for tests).
pub struct RunningFake {
    pub addr: SocketAddr,
    pub state: FakeState,
    task: tokio::task::JoinHandle<()>,
}

impl RunningFake {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What `STRAVA_API_URL` should be.
    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.base_url())
    }

    /// What `STRAVA_OAUTH_URL` should be.
    pub fn oauth_url(&self) -> String {
        format!("{}/oauth", self.base_url())
    }
}

impl Drop for RunningFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a fake on a free 127.0.0.1 port in the current tokio runtime.
pub async fn start(config: FakeConfig) -> std::io::Result<RunningFake> {
    serve(FakeState::new(config).map_err(std::io::Error::other)?).await
}

/// Serves `state` on a free 127.0.0.1 port in the current tokio runtime.
pub async fn serve(state: FakeState) -> std::io::Result<RunningFake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(RunningFake { addr, state, task })
}

/// The shared fixtures directory next to the repository, if present.
pub fn default_fixtures_dir() -> Option<PathBuf> {
    stravasync_fixtures::dir()
}
