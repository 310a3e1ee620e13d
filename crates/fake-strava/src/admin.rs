//! `/admin/*`: the test and demo controls. Nothing here exists on Strava.
//!
//! | route | body | effect |
//! |---|---|---|
//! | `GET /admin/requests` | | the request log: `[{method, route, path, status}]` |
//! | `POST /admin/reset` | | clears the log, faults and rate counters |
//! | `POST /admin/faults` | `{route, kind, count, delay_ms?}` | next `count` requests to `route` (`*` = any) answer `server_error` / `rate_limited` / `unauthorized` / `malformed` (200, wrong shape), or are `slow` |
//! | `POST /admin/clock` | `{now?}` or `{advance?}` | sets or moves the fake's clock (unix s) |
//! | `GET /admin/usage` | | requests counted this quarter hour and day |
//! | `POST /admin/athletes/{id}/tokens` | `{scope?}` | mints tokens as if the athlete had authorized |
//! | `POST /admin/athletes/{id}/expire_tokens` | | every access token of the athlete expires now |
//! | `POST /admin/athletes/{id}/revoke` | | every token of the athlete stops working |
//! | `POST /admin/athletes/{id}/activities` | `{start?, push?}` | records a new generated activity; `push` sends the create event |
//! | `POST /admin/activities/{id}/empty_streams` | `{fetches}` | the next `fetches` stream requests answer `{}` |
//! | `POST /admin/activities/{id}/delete` | `{push?}` | deletes it (404 from then on) |
//! | `POST /admin/activities/{id}/private` | `{private, push?}` | changes its visibility |
//! | `POST /admin/activities/{id}/update` | `{name?, sport_type?, push?}` | edits title / sport type |
//! | `POST /admin/push` | an event | POSTs it to the push subscription's callback |

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{FakeState, Fault};

pub fn routes() -> Router<FakeState> {
    Router::new()
        .route("/admin/requests", get(requests))
        .route("/admin/reset", post(reset))
        .route("/admin/faults", post(faults))
        .route("/admin/clock", post(clock))
        .route("/admin/usage", get(usage))
        .route("/admin/athletes/{id}/tokens", post(tokens))
        .route("/admin/athletes/{id}/expire_tokens", post(expire_tokens))
        .route("/admin/athletes/{id}/revoke", post(revoke))
        .route("/admin/athletes/{id}/activities", post(new_activity))
        .route("/admin/activities/{id}/empty_streams", post(empty_streams))
        .route("/admin/activities/{id}/delete", post(delete_activity))
        .route("/admin/activities/{id}/private", post(private))
        .route("/admin/activities/{id}/update", post(update))
        .route("/admin/push", post(push))
}

async fn maybe_push(state: &FakeState, push: bool, event: Value) -> Value {
    if !push {
        return json!({"event": event});
    }
    match state.push_event(&event).await {
        Ok(status) => json!({"event": event, "pushed": status}),
        Err(e) => json!({"event": event, "push_error": e}),
    }
}

fn missing() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"message": "no such athlete or activity"}))).into_response()
}

async fn requests(State(state): State<FakeState>) -> Response {
    axum::Json(state.requests()).into_response()
}

async fn reset(State(state): State<FakeState>) -> Response {
    state.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn faults(State(state): State<FakeState>, axum::Json(fault): axum::Json<Fault>) -> Response {
    state.inject(fault);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Clock {
    now: Option<i64>,
    advance: Option<i64>,
}

async fn clock(State(state): State<FakeState>, axum::Json(c): axum::Json<Clock>) -> Response {
    if let Some(now) = c.now {
        state.set_now(now);
    }
    if let Some(by) = c.advance {
        state.set_now(state.now() + by);
    }
    axum::Json(json!({"now": state.now()})).into_response()
}

async fn usage(State(state): State<FakeState>) -> Response {
    let ((q_all, q_read), (d_all, d_read)) = state.usage();
    axum::Json(json!({"15min": {"all": q_all, "read": q_read}, "daily": {"all": d_all, "read": d_read}}))
        .into_response()
}

#[derive(Deserialize, Default)]
struct TokenRequest {
    scope: Option<String>,
}

async fn tokens(
    State(state): State<FakeState>,
    Path(id): Path<i64>,
    body: Option<axum::Json<TokenRequest>>,
) -> Response {
    if !state.athlete_ids().contains(&id) {
        return missing();
    }
    let scope = body.and_then(|b| b.0.scope).unwrap_or_else(|| "read,activity:read_all".into());
    let (access, refresh, expires_at) = state.mint_tokens(id, &scope);
    axum::Json(json!({"access_token": access, "refresh_token": refresh, "expires_at": expires_at, "scope": scope}))
        .into_response()
}

async fn expire_tokens(State(state): State<FakeState>, Path(id): Path<i64>) -> Response {
    state.expire_tokens(id);
    StatusCode::NO_CONTENT.into_response()
}

async fn revoke(State(state): State<FakeState>, Path(id): Path<i64>) -> Response {
    state.revoke(id);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize, Default)]
struct NewActivity {
    start: Option<i64>,
    #[serde(default)]
    push: bool,
}

async fn new_activity(
    State(state): State<FakeState>,
    Path(athlete): Path<i64>,
    body: Option<axum::Json<NewActivity>>,
) -> Response {
    let req = body.map(|b| b.0).unwrap_or_default();
    let start = req.start.unwrap_or_else(|| state.now() - 3600);
    let Some(id) = state.new_activity(athlete, start) else { return missing() };
    let event = state.event("activity", id, "create", json!({}), athlete);
    let mut out = maybe_push(&state, req.push, event).await;
    out["id"] = json!(id);
    axum::Json(out).into_response()
}

#[derive(Deserialize)]
struct EmptyStreams {
    fetches: u32,
}

async fn empty_streams(
    State(state): State<FakeState>,
    Path(id): Path<i64>,
    axum::Json(b): axum::Json<EmptyStreams>,
) -> Response {
    if state.set_empty_stream_fetches(id, b.fetches) { StatusCode::NO_CONTENT.into_response() } else { missing() }
}

#[derive(Deserialize, Default)]
struct PushOnly {
    #[serde(default)]
    push: bool,
}

async fn delete_activity(
    State(state): State<FakeState>,
    Path(id): Path<i64>,
    body: Option<axum::Json<PushOnly>>,
) -> Response {
    let (Some(owner), true) = (state.owner_of(id), state.delete_activity(id)) else { return missing() };
    let event = state.event("activity", id, "delete", json!({}), owner);
    axum::Json(maybe_push(&state, body.is_some_and(|b| b.push), event).await).into_response()
}

#[derive(Deserialize)]
struct Private {
    private: bool,
    #[serde(default)]
    push: bool,
}

async fn private(State(state): State<FakeState>, Path(id): Path<i64>, axum::Json(b): axum::Json<Private>) -> Response {
    let (Some(owner), true) = (state.owner_of(id), state.set_private(id, b.private)) else { return missing() };
    let event = state.event("activity", id, "update", json!({"private": b.private.to_string()}), owner);
    axum::Json(maybe_push(&state, b.push, event).await).into_response()
}

#[derive(Deserialize)]
struct Update {
    name: Option<String>,
    sport_type: Option<String>,
    #[serde(default)]
    push: bool,
}

async fn update(State(state): State<FakeState>, Path(id): Path<i64>, axum::Json(b): axum::Json<Update>) -> Response {
    let Some(owner) = state.owner_of(id) else { return missing() };
    state.update_activity(id, b.name.as_deref(), b.sport_type.as_deref());
    let mut updates = serde_json::Map::new();
    if let Some(n) = &b.name {
        updates.insert("title".into(), json!(n));
    }
    if let Some(s) = &b.sport_type {
        updates.insert("type".into(), json!(s));
    }
    let event = state.event("activity", id, "update", Value::Object(updates), owner);
    axum::Json(maybe_push(&state, b.push, event).await).into_response()
}

async fn push(State(state): State<FakeState>, axum::Json(event): axum::Json<Value>) -> Response {
    match state.push_event(&event).await {
        Ok(status) => axum::Json(json!({"pushed": status})).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, axum::Json(json!({"push_error": e}))).into_response(),
    }
}
