//! The pages and static assets. Everything ships inside the binary: no CDN, no request to
//! any other site (the Content-Security-Policy says so to the browser too), Strava's
//! brand files included when the operator installed them (`assets/strava/`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use stravasync_core::hash::fnv1a64;
use stravasync_core::ports::{EventQueue, ProfileStore};
use stravasync_core::streams::NumericKey;
use stravasync_read::site::{PRODUCT_NAME, escape, footer};

use crate::{Api, ApiError};

include!(concat!(env!("OUT_DIR"), "/brand.rs"));

/// `(name, content type, bytes)` of every static file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("common.js", "text/javascript; charset=utf-8", include_bytes!("../assets/common.js")),
    ("chart.js", "text/javascript; charset=utf-8", include_bytes!("../assets/chart.js")),
    ("insight.js", "text/javascript; charset=utf-8", include_bytes!("../assets/insight.js")),
    ("activities.js", "text/javascript; charset=utf-8", include_bytes!("../assets/activities.js")),
    ("account.js", "text/javascript; charset=utf-8", include_bytes!("../assets/account.js")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../assets/app.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/vendor/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../assets/vendor/uPlot.min.css")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../assets/favicon.svg")),
];
const DASHBOARD: &str = include_str!("../assets/dashboard.html");
const CONNECT: &str = include_str!("../assets/connect.html");
const PRIVACY: &str = include_str!("../assets/privacy.html");
const DISCONNECTED: &str = include_str!("../assets/disconnected.html");

/// Scripts, styles, data and connections from this site only; no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// A version of the assets (a hash of their bytes) that the pages put in their URLs, so
/// the assets can be cached for a year and a deployment still replaces them.
fn asset_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let all: Vec<u8> = ASSETS.iter().flat_map(|(_, _, bytes)| bytes.iter().copied()).collect();
        format!("{:012x}", fnv1a64(&all) & 0xffff_ffff_ffff)
    })
}

/// Strava's file `stem` (`connect-with-strava`, `powered-by-strava`) if installed.
fn brand_file(stem: &str) -> Option<&'static str> {
    BRAND_FILES.iter().map(|(name, _, _)| *name).find(|name| name.rsplit_once('.').is_some_and(|(s, _)| s == stem))
}

/// "Powered by Strava": the official logo when installed, the words otherwise.
fn powered_by_strava() -> String {
    match brand_file("powered-by-strava") {
        Some(file) => format!("<img src=\"/static/brand/{file}\" alt=\"Powered by Strava\">"),
        None => "Powered by Strava".to_string(),
    }
}

/// The connect button: the official one when installed, the words in Strava's orange
/// otherwise.
fn connect_button() -> String {
    match brand_file("connect-with-strava") {
        Some(file) => format!(
            "<a class=\"strava-button\" id=\"connect\" href=\"/connect\"><img src=\"/static/brand/{file}\" \
             alt=\"Connect with Strava\" height=\"48\"></a>"
        ),
        None => "<a class=\"strava\" id=\"connect\" href=\"/connect\">Connect with Strava</a>".to_string(),
    }
}

/// A template with the site's parts filled in: `{{v}}` (asset version), `{{product}}`,
/// `{{footer}}` (with "Powered by Strava" where `strava_data`), then `fill`'s own.
fn render(template: &str, support_email: &str, strava_data: bool, fill: &[(&str, String)]) -> String {
    let attribution = strava_data.then(powered_by_strava);
    let mut page = template
        .replace("{{v}}", asset_version())
        .replace("{{product}}", &escape(PRODUCT_NAME))
        .replace("{{footer}}", &footer(support_email, attribution.as_deref()));
    for (key, value) in fill {
        page = page.replace(&format!("{{{{{key}}}}}"), value);
    }
    page
}

fn page(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        ],
        Html(body),
    )
        .into_response()
}

/// `GET /`: the dashboard for a session of the athlete's current connection, else the
/// connect page (an ended session's cookie is cleared on the way).
pub(crate) async fn home<S: ProfileStore, Q: EventQueue>(
    State(api): State<Arc<Api<S, Q>>>,
    cookies: CookieJar,
) -> Response {
    let support = &api.config.support_email;
    let connect = || page(render(CONNECT, support, false, &[("connect_button", connect_button())]));
    let Ok(session) = api.cookie_session(&cookies) else { return connect() };
    match api.current(session).await {
        Ok(Ok(_)) | Err(_) => page(render(DASHBOARD, support, true, &[])),
        Ok(Err(_)) => {
            let mut response = connect();
            if let Some(clear) = api.clear_session_cookie() {
                response.headers_mut().append(header::SET_COOKIE, clear);
            }
            response
        }
    }
}

/// `GET /logout`: this browser's session cookie cleared (the athlete's other sessions
/// go on), back to `/`.
pub(crate) async fn logout<S: ProfileStore, Q: EventQueue>(State(api): State<Arc<Api<S, Q>>>) -> Response {
    match api.clear_session_cookie() {
        Some(clear) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, HeaderValue::from_static("/")),
                (header::SET_COOKIE, clear),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        None => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "logout failed").into_response(),
    }
}

/// The Strava summary fields an activity keeps (as stored: every field of
/// [`stravasync_core::model::ActivitySummary`]).
pub fn stored_summary_fields() -> Vec<String> {
    let sample = serde_json::json!({"id": 1, "start_date": "", "start_date_local": ""});
    serde_json::from_value::<stravasync_core::model::ActivitySummary>(sample)
        .ok()
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_object().map(|o| o.keys().filter(|k| *k != "athlete_id").cloned().collect()))
        .unwrap_or_default()
}

/// The stream keys kept per activity (what the codec stores).
pub fn stored_stream_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = NumericKey::ALL.iter().map(|k| k.name()).collect();
    keys.extend(["latlng", "moving"]);
    keys
}

/// `GET /privacy`: what is stored, for how long, how it is deleted; the lists come from
/// the code that stores them.
pub(crate) async fn privacy<S: ProfileStore, Q: EventQueue>(State(api): State<Arc<Api<S, Q>>>) -> Response {
    let support = &api.config.support_email;
    let fill = [
        ("support", escape(support)),
        ("scopes", escape(&api.config.scope)),
        ("summary_fields", escape(&stored_summary_fields().join(", "))),
        ("stream_keys", escape(&stored_stream_keys().join(", "))),
    ];
    page(render(PRIVACY, support, false, &fill))
}

/// `GET /disconnected[?pending=1]`: the page after a disconnect.
pub(crate) async fn disconnected<S: ProfileStore, Q: EventQueue>(
    State(api): State<Arc<Api<S, Q>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (title, message) = if q.contains_key("pending") {
        (
            "Disconnecting",
            "Your Strava authorization is being revoked and your data deleted; this finishes within minutes. \
             You have been signed out.",
        )
    } else {
        (
            "Disconnected, and your data deleted",
            "Your Strava authorization was revoked, and everything this site stored about you was deleted: your \
             profile and thresholds, your activities with their streams and scores, your training-load chart and \
             your Strava tokens.",
        )
    };
    let fill = [("title", escape(title)), ("message", escape(message))];
    page(render(DISCONNECTED, &api.config.support_email, false, &fill))
}

fn static_file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /static/{file}`.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => static_file(content_type, bytes),
        None => ApiError::new(StatusCode::NOT_FOUND, format!("no asset {file:?}")).into_response(),
    }
}

/// `GET /static/brand/{file}`: Strava's brand files, when installed.
pub(crate) async fn brand_asset(Path(file): Path<String>) -> Response {
    match BRAND_FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => static_file(content_type, bytes),
        None => {
            ApiError::new(StatusCode::NOT_FOUND, format!("no brand file {file:?} (see assets/strava)")).into_response()
        }
    }
}

/// Bytes a first visit to the dashboard transfers: the page and every asset it loads.
pub fn dashboard_bytes() -> usize {
    render(DASHBOARD, "support@example.test", true, &[]).len() + ASSETS.iter().map(|(_, _, b)| b.len()).sum::<usize>()
}
