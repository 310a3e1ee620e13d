//! Strava's answers as the fake gives them (its error body), and what it reads off a
//! request (the bearer token).

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Strava's error body: `{"message": ..., "errors": [{"resource", "field", "code"}]}`.
pub(crate) fn strava_error(status: StatusCode, message: &str, resource: &str, field: &str, code: &str) -> Response {
    (status, axum::Json(json!({"message": message, "errors": [{"resource": resource, "field": field, "code": code}]})))
        .into_response()
}

pub(crate) fn not_found(resource: &str) -> Response {
    strava_error(StatusCode::NOT_FOUND, "Record Not Found", resource, "id", "invalid")
}

pub(crate) fn rate_limited() -> Response {
    strava_error(StatusCode::TOO_MANY_REQUESTS, "Rate Limit Exceeded", "Application", "rate limit", "exceeded")
}

pub(crate) fn unauthorized() -> Response {
    strava_error(StatusCode::UNAUTHORIZED, "Authorization Error", "Athlete", "access_token", "invalid")
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_string)
}
