//! `/api/v3/*` handlers and the middleware that gives every Strava route its request
//! log, fault injection, rate limiting and rate-limit headers.

// Handlers short-circuit with a ready `Response` as the error; boxing it would only add noise
// to a test server.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Form, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use stravasync_core::streams::NumericKey;

use crate::reply::{bearer_token, not_found, rate_limited, strava_error, unauthorized};
use crate::state::{FakeState, FaultKind, Grant, LoggedRequest, Subscription};

fn grant(state: &FakeState, headers: &HeaderMap) -> Result<Grant, Response> {
    let now = state.now();
    let token = bearer_token(headers).ok_or_else(unauthorized)?;
    match state.world().access.get(&token) {
        Some(g) if g.expires_at > now => Ok(g.clone()),
        _ => Err(unauthorized()),
    }
}

fn has_scope(grant: &Grant, scope: &str) -> bool {
    grant.scope.split([',', ' ']).any(|s| s == scope)
}

/// Takes one use of the first fault that matches the route.
/// The next fault for a request: one injected for every route (`*`), its route template
/// (`/api/v3/activities/{id}`) or its concrete path (`/api/v3/activities/17000000101`).
fn take_fault(state: &FakeState, route: &str, path: &str) -> Option<(FaultKind, u64)> {
    let mut w = state.world();
    let i = w.faults.iter().position(|f| f.count > 0 && (f.route == "*" || f.route == route || f.route == path))?;
    let f = &mut w.faults[i];
    f.count -= 1;
    let out = (f.kind, f.delay_ms);
    if f.count == 0 {
        w.faults.remove(i);
    }
    Some(out)
}

/// Counts the request if the budget allows; `Err(())` when a limit is reached.
fn account(state: &FakeState, read: bool) -> Result<(), ()> {
    let now = state.now();
    let c = &state.config;
    let mut w = state.world();
    let q = w.quarter.get(&(now - now.rem_euclid(900))).copied().unwrap_or_default();
    let d = w.daily.get(&(now - now.rem_euclid(86_400))).copied().unwrap_or_default();
    let over = q.0 >= c.limit_15min
        || d.0 >= c.limit_daily
        || (read && (q.1 >= c.read_limit_15min || d.1 >= c.read_limit_daily));
    if over {
        return Err(());
    }
    let w = &mut *w;
    for (map, start) in [(&mut w.quarter, now - now.rem_euclid(900)), (&mut w.daily, now - now.rem_euclid(86_400))] {
        let e = map.entry(start).or_default();
        e.0 += 1;
        e.1 += u32::from(read);
    }
    Ok(())
}

fn set_rate_headers(state: &FakeState, response: &mut Response) {
    let c = &state.config;
    let ((q_all, q_read), (d_all, d_read)) = state.usage();
    let h = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", format!("{},{}", c.limit_15min, c.limit_daily)),
        ("x-ratelimit-usage", format!("{q_all},{d_all}")),
        ("x-readratelimit-limit", format!("{},{}", c.read_limit_15min, c.read_limit_daily)),
        ("x-readratelimit-usage", format!("{q_read},{d_read}")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
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
    let mut response = match take_fault(&state, &route, &path) {
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
        None if api => match account(&state, method == Method::GET) {
            Ok(()) => next.run(request).await,
            Err(()) => rate_limited(),
        },
        None => next.run(request).await,
    };
    if api {
        set_rate_headers(&state, &mut response);
    }
    let status = response.status().as_u16();
    let mut w = state.world();
    w.api_calls += u64::from(api);
    w.api_429s += u64::from(api && status == 429);
    if state.config.keep_log {
        w.log.push(LoggedRequest { method: method.to_string(), route, path, status });
    }
    response
}

pub async fn athlete(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    let g = match grant(&state, &headers) {
        Ok(g) => g,
        Err(r) => return r,
    };
    match state.world().athletes.get(&g.athlete) {
        Some(a) => axum::Json(a.json()).into_response(),
        None => not_found("Athlete"),
    }
}

pub async fn zones(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    let g = match grant(&state, &headers) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if !has_scope(&g, "profile:read_all") {
        return strava_error(
            StatusCode::FORBIDDEN,
            "Authorization Error",
            "AccessToken",
            "profile:read_all",
            "missing",
        );
    }
    match state.world().athletes.get(&g.athlete) {
        Some(a) => axum::Json(a.zones_json()).into_response(),
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
    let read_all = has_scope(&g, "activity:read_all");
    let w = state.world();
    let mut list: Vec<&crate::data::Activity> = w
        .activities_of(g.athlete)
        .filter(|a| !a.deleted && (read_all || !a.private))
        .filter(|a| before.is_none_or(|b| a.start < b) && after.is_none_or(|x| a.start > x))
        .collect();
    list.sort_by_key(|a| std::cmp::Reverse((a.start, a.id)));
    let body: Vec<Value> =
        list.into_iter().skip((page - 1) * per_page).take(per_page).map(crate::data::Activity::summary_json).collect();
    axum::Json(body).into_response()
}

/// The activity if the grant may see it.
fn visible(state: &FakeState, g: &Grant, id: &str) -> Result<crate::data::Activity, Response> {
    let id: i64 = id.parse().map_err(|_| not_found("Activity"))?;
    let w = state.world();
    match w.activities.get(&id) {
        Some(a) if a.owner == g.athlete && !a.deleted && (!a.private || has_scope(g, "activity:read_all")) => {
            Ok(a.clone())
        }
        _ => Err(not_found("Activity")),
    }
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
        if let Some(stored) = state.world().activities.get_mut(&a.id) {
            stored.empty_stream_fetches -= 1;
        }
        return axum::Json(json!({})).into_response();
    }
    let Some(mut set) = a.streams() else { return not_found("Activity") };
    if state.config.stream_step > 1 && matches!(a.streams, crate::data::StreamSource::Generated { .. }) {
        let kept: Vec<usize> = (0..set.len()).step_by(state.config.stream_step).collect();
        set = set.select(&kept);
    }
    if let Some(keys) = q.get("keys") {
        let wanted: Vec<&str> = keys.split(',').collect();
        for key in NumericKey::ALL {
            if !wanted.contains(&key.name()) {
                set.set(key, None);
            }
        }
        if !wanted.contains(&"latlng") {
            set.latlng = None;
        }
        if !wanted.contains(&"moving") {
            set.moving = None;
        }
    }
    let body = set;
    axum::Json(body).into_response()
}

fn app_ok(state: &FakeState, q: &HashMap<String, String>) -> bool {
    q.get("client_id") == Some(&state.config.client_id) && q.get("client_secret") == Some(&state.config.client_secret)
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
    w.serial += 1;
    let id = 100_000 + w.serial as i64;
    w.subscription = Some(Subscription { id, callback_url: callback.clone() });
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
    let list: Vec<Value> = state
        .subscription()
        .into_iter()
        .map(|s| json!({"id": s.id, "resource_state": 2, "application_id": state.config.client_id, "callback_url": s.callback_url}))
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
    let mut w = state.world();
    match &w.subscription {
        Some(s) if s.id == id => {
            w.subscription = None;
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found("PushSubscription"),
    }
}
