//! `/api/v3/*` handlers and the middleware that gives every Strava route its request
//! log, fault injection, rate limiting and rate-limit headers.

// Handlers short-circuit with a ready `Response` as the error; boxing it would only add noise
// to a test server.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Form, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::data::Activity;
use crate::reply::{bearer_token, not_found, rate_limited, strava_error, unauthorized};
use crate::state::activities::served_streams;
use crate::state::oauth::Grant;
use crate::state::{FakeState, FaultKind, Subscription};

fn grant(state: &FakeState, headers: &HeaderMap) -> Result<Grant, Response> {
    let now = state.now();
    let token = bearer_token(headers).ok_or_else(unauthorized)?;
    let grant = state.world().oauth.grant(&token, now).cloned();
    grant.ok_or_else(unauthorized)
}

pub async fn strava_middleware(
    State(state): State<FakeState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.map(|m| m.as_str().to_string()).unwrap_or_else(|| request.uri().path().to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let api = route.starts_with("/api/v3/");
    let fault = state.world().faults.take(&route, &path);
    let mut response = match fault {
        Some((FaultKind::ServerError, _)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"message": "Internal Server Error"}))).into_response()
        }
        Some((FaultKind::RateLimited, _)) => rate_limited(),
        Some((FaultKind::Unauthorized, _)) => unauthorized(),
        Some((FaultKind::MissingActivityScope, _)) => strava_error(
            StatusCode::FORBIDDEN,
            "Authorization Error",
            "AccessToken",
            "activity:read_permission",
            "missing",
        ),
        Some((FaultKind::Malformed, _)) => {
            axum::Json(json!({"id": "oops", "time": {"data": "oops"}, "access_token": 7})).into_response()
        }
        Some((FaultKind::Slow, delay)) => {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            next.run(request).await
        }
        None if api => {
            let now = state.now();
            let admitted = state.world().limits.admit(now, method == Method::GET);
            if admitted { next.run(request).await } else { rate_limited() }
        }
        None => next.run(request).await,
    };
    if api {
        let now = state.now();
        state.world().limits.set_headers(now, response.headers_mut());
    }
    let status = response.status().as_u16();
    let mut w = state.world();
    if api {
        w.limits.count_answer(status);
    }
    w.requests.record(&method, route, path, status);
    response
}

pub async fn athlete(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    let g = match grant(&state, &headers) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let profile = state.world().athletes.get(g.athlete).map(crate::data::Athlete::json);
    match profile {
        Some(json) => axum::Json(json).into_response(),
        None => not_found("Athlete"),
    }
}

pub async fn zones(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    let g = match grant(&state, &headers) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if !g.has_scope("profile:read_all") {
        return strava_error(
            StatusCode::FORBIDDEN,
            "Authorization Error",
            "AccessToken",
            "profile:read_all",
            "missing",
        );
    }
    let zones = state.world().athletes.get(g.athlete).map(crate::data::Athlete::zones_json);
    match zones {
        Some(json) => axum::Json(json).into_response(),
        None => not_found("Athlete"),
    }
}

fn num(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, Response> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| strava_error(StatusCode::BAD_REQUEST, "Bad Request", "Activity", key, "invalid")),
    }
}

pub async fn list_activities(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let g = match grant(&state, &headers) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let parsed =
        (|| Ok::<_, Response>((num(&q, "before")?, num(&q, "after")?, num(&q, "page")?, num(&q, "per_page")?)))();
    let (before, after, page, per_page) = match parsed {
        Ok(p) => p,
        Err(r) => return r,
    };
    let page = page.unwrap_or(1).max(1) as usize;
    let per_page = per_page.unwrap_or(30).clamp(1, 200) as usize;
    let read_all = g.has_scope("activity:read_all");
    let w = state.world();
    let list = w.activities.listed(g.athlete, read_all, before, after);
    let body: Vec<Value> =
        list.into_iter().skip((page - 1) * per_page).take(per_page).map(Activity::summary_json).collect();
    axum::Json(body).into_response()
}

/// The activity if the grant may see it.
fn visible(state: &FakeState, g: &Grant, id: &str) -> Result<Activity, Response> {
    let id: i64 = id.parse().map_err(|_| not_found("Activity"))?;
    let found = state.world().activities.visible(id, g.athlete, g.has_scope("activity:read_all")).cloned();
    found.ok_or_else(|| not_found("Activity"))
}

pub async fn activity(State(state): State<FakeState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let result = grant(&state, &headers).and_then(|g| visible(&state, &g, &id));
    match result {
        Ok(a) => axum::Json(a.served_json()).into_response(),
        Err(r) => r,
    }
}

pub async fn streams(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let a = match grant(&state, &headers).and_then(|g| visible(&state, &g, &id)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if a.empty_stream_fetches > 0 {
        state.world().activities.spend_empty_fetch(a.id);
        return axum::Json(json!({})).into_response();
    }
    match served_streams(&a, state.config.stream_step, q.get("keys").map(String::as_str)) {
        Some(set) => axum::Json(set).into_response(),
        None => not_found("Activity"),
    }
}

fn app_ok(state: &FakeState, q: &HashMap<String, String>) -> bool {
    state.world().oauth.authenticates(q.get("client_id"), q.get("client_secret"))
}

/// `POST /push_subscriptions`: validates the callback with Strava's GET challenge first.
pub async fn create_subscription(
    State(state): State<FakeState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !app_ok(&state, &form) {
        return unauthorized();
    }
    if state.subscription().is_some() {
        return strava_error(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "PushSubscription",
            "callback url",
            "already exists",
        );
    }
    let (Some(callback), Some(verify)) = (form.get("callback_url"), form.get("verify_token")) else {
        return strava_error(StatusCode::BAD_REQUEST, "Bad Request", "PushSubscription", "callback url", "invalid");
    };
    let challenge =
        format!("challenge-{:x}", stravasync_core::hash::fnv1a64(format!("{callback}{}", state.now()).as_bytes()));
    if !challenge_ok(callback, verify, &challenge).await {
        return strava_error(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "PushSubscription",
            "callback url",
            "GET to callback URL does not return 200",
        );
    }
    let mut w = state.world();
    let id = 100_000 + w.serial.next() as i64;
    w.activities.subscribe(Subscription { id, callback_url: callback.clone() });
    (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response()
}

/// Strava's check: the callback must answer 200 with `{"hub.challenge": X}` within 2 s.
async fn challenge_ok(callback: &str, verify: &str, challenge: &str) -> bool {
    let Ok(client) = crate::http::client_builder().timeout(Duration::from_secs(2)).build() else { return false };
    let request = client.get(callback).query(&[
        ("hub.mode", "subscribe"),
        ("hub.challenge", challenge),
        ("hub.verify_token", verify),
    ]);
    let Ok(response) = request.send().await else { return false };
    if response.status() != StatusCode::OK {
        return false;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["hub.challenge"] == challenge
}

pub async fn list_subscriptions(State(state): State<FakeState>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !app_ok(&state, &q) {
        return unauthorized();
    }
    let w = state.world();
    let list: Vec<Value> = w
        .activities
        .subscription()
        .into_iter()
        .map(|s| json!({"id": s.id, "resource_state": 2, "application_id": w.oauth.client_id(), "callback_url": s.callback_url}))
        .collect();
    axum::Json(list).into_response()
}

pub async fn delete_subscription(
    State(state): State<FakeState>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !app_ok(&state, &q) {
        return unauthorized();
    }
    let deleted = state.world().activities.unsubscribe(id);
    if deleted { StatusCode::NO_CONTENT.into_response() } else { not_found("PushSubscription") }
}
