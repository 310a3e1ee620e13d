//! The pages and static assets. Everything ships inside the binary: no CDN, no request to
//! any other site (the Content-Security-Policy says so to the browser too).

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use stravasync_core::hash::fnv1a64;
use stravasync_core::ports::{ActivityStore, EventQueue};

use crate::{Api, ApiError};

/// `(name, content type, bytes)` of every static file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../assets/app.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/vendor/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../assets/vendor/uPlot.min.css")),
];
const DASHBOARD: &str = include_str!("../assets/dashboard.html");
const CONNECT: &str = include_str!("../assets/connect.html");

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

fn page(template: &str) -> Response {
    let body = template.replace("{{v}}", asset_version());
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

/// `GET /`: the dashboard with a valid session, else the connect page.
pub(crate) async fn home<S: ActivityStore, Q: EventQueue>(
    State(api): State<Arc<Api<S, Q>>>,
    cookies: CookieJar,
) -> Response {
    match api.athlete(&cookies) {
        Ok(_) => page(DASHBOARD),
        Err(_) => page(CONNECT),
    }
}

/// `GET /logout`: the session cookie cleared, back to `/`.
pub(crate) async fn logout<S: ActivityStore, Q: EventQueue>(State(api): State<Arc<Api<S, Q>>>) -> Response {
    let (name, attributes) = api.session_cookie();
    let clear = format!("{name}=; Max-Age=0; {attributes}");
    match HeaderValue::from_str(&clear) {
        Ok(clear) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, HeaderValue::from_static("/")),
                (header::SET_COOKIE, clear),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "logout failed").into_response(),
    }
}

/// `GET /static/{file}`.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            *bytes,
        )
            .into_response(),
        None => ApiError::new(StatusCode::NOT_FOUND, format!("no asset {file:?}")).into_response(),
    }
}

/// Bytes a first visit to the dashboard transfers: the page and every asset it loads.
pub fn dashboard_bytes() -> usize {
    DASHBOARD.replace("{{v}}", asset_version()).len() + ASSETS.iter().map(|(_, _, b)| b.len()).sum::<usize>()
}
