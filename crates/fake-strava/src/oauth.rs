//! `/oauth/*`: authorize (redirects back with a code), token (authorization_code and
//! refresh_token grants; refresh tokens rotate and the old one stops working), and
//! deauthorize.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::reply::{bearer_token, strava_error};
use crate::state::FakeState;

/// Strava's refusal of a token exchange past the application's athlete capacity.
fn capacity_reached() -> Response {
    strava_error(StatusCode::FORBIDDEN, "Limit of connected athletes exceeded", "Athlete", "", "limit exceeded")
}

fn bad_request(resource: &str, field: &str) -> Response {
    strava_error(StatusCode::BAD_REQUEST, "Bad Request", resource, field, "invalid")
}

fn redirect(to: &str, params: &[(&str, &str)]) -> Response {
    match reqwest::Url::parse_with_params(to, params) {
        Ok(url) => (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response(),
        Err(_) => bad_request("Application", "redirect_uri"),
    }
}

/// `GET /oauth/authorize`. Fake extensions: `athlete_id` picks who consents (default: the
/// first athlete), `deny=1` answers as if the athlete clicked Cancel.
pub async fn authorize(State(state): State<FakeState>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !state.world().oauth.is_client(q.get("client_id")) {
        return bad_request("Application", "client_id");
    }
    let Some(redirect_uri) = q.get("redirect_uri") else { return bad_request("Application", "redirect_uri") };
    let st = q.get("state").map(String::as_str).unwrap_or("");
    if q.get("deny").is_some_and(|d| d == "1") {
        return redirect(redirect_uri, &[("state", st), ("error", "access_denied")]);
    }
    let requested = q.get("scope").map(String::as_str).unwrap_or("read");
    let mut w = state.world();
    let scope = w.oauth.scope_granted(requested);
    let athlete = match q.get("athlete_id").and_then(|a| a.parse::<i64>().ok()) {
        Some(a) if w.athletes.contains(a) => a,
        Some(_) => return bad_request("Athlete", "athlete_id"),
        None => match w.athletes.first() {
            Some(a) => a,
            None => return bad_request("Athlete", "athlete_id"),
        },
    };
    let serial = w.serial.next();
    let code = w.oauth.new_code(serial, athlete, &scope, redirect_uri);
    drop(w);
    redirect(redirect_uri, &[("state", st), ("code", &code), ("scope", &scope)])
}

/// `POST /oauth/token`.
pub async fn token(State(state): State<FakeState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let creds_ok = state.world().oauth.authenticates(form.get("client_id"), form.get("client_secret"));
    if !creds_ok {
        return strava_error(
            StatusCode::UNAUTHORIZED,
            "Authorization Error",
            "Application",
            "client_secret",
            "invalid",
        );
    }
    let now = state.now();
    let mut w = state.world();
    let (athlete, scope, with_athlete) = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some((athlete, scope)) = form.get("code").and_then(|c| w.oauth.redeem_code(c)) else {
                return bad_request("AuthorizationCode", "code");
            };
            if !w.oauth.admits(athlete) {
                return capacity_reached();
            }
            (athlete, scope, true)
        }
        Some("refresh_token") => {
            let Some((athlete, scope)) = form.get("refresh_token").and_then(|r| w.oauth.redeem_refresh(r)) else {
                return bad_request("RefreshToken", "refresh_token");
            };
            (athlete, scope, false)
        }
        _ => return bad_request("Application", "grant_type"),
    };
    let serial = w.serial.next();
    let (access, refresh, expires_at) = w.oauth.issue(serial, athlete, &scope, now);
    let mut body = json!({
        "token_type": "Bearer",
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": expires_at,
        "expires_in": w.oauth.token_ttl_s(),
    });
    if with_athlete && let Some(a) = w.athletes.get(athlete) {
        body["athlete"] = a.json();
    }
    axum::Json(body).into_response()
}

/// `POST /oauth/deauthorize`: revokes every token of the athlete owning the access token
/// (given as a form field or a bearer header), then, like Strava, pushes the athlete's
/// deauthorization event to the subscription (after answering). An expired or unknown
/// token is refused with 401.
pub async fn deauthorize(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.now();
    let token = form.get("access_token").cloned().or_else(|| bearer_token(&headers));
    let athlete = token.as_ref().and_then(|t| state.world().oauth.grant(t, now).map(|g| g.athlete));
    match (athlete, token) {
        (Some(athlete), Some(token)) => {
            state.revoke(athlete);
            if state.subscription().is_some() {
                let event = state.event("athlete", athlete, "update", json!({"authorized": "false"}), athlete);
                state.push_later(event);
            }
            axum::Json(json!({"access_token": token})).into_response()
        }
        _ => strava_error(StatusCode::UNAUTHORIZED, "Authorization Error", "Athlete", "access_token", "invalid"),
    }
}
