//! The JSON contract with the page, and the route table's access rules, on the API over
//! the in-memory store (no AWS needed):
//! - every JSON route's answer on one fixed store is pinned as a snapshot
//!   (`snapshots/`): a change to what the page reads shows up as a reviewed diff;
//! - every private and change route of the table refuses a request without a valid
//!   session, and the public routes are exactly the listed ones.

use std::sync::Arc;

use axum::body::Body;
use serde_json::Value;
use stravasync_api::router;
use stravasync_api::routes::{Access, ROUTES, Route};
use stravasync_api::testing::{MemoryApi, memory_api};
use stravasync_aws::resources::LOCAL_SESSION_KEY;
use stravasync_core::LocalDate;
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::roles::*;
use stravasync_read::answers::Disconnection;
use stravasync_testkit::memory::MemoryStore;
use stravasync_testkit::{SESSION_GENERATION, session_cookie, store_history, thresholds};
use tower::ServiceExt;

const ATHLETE: i64 = 4242;
/// 2025-11-21T20:00:00Z.
const NOW: i64 = 1_763_755_200;
const SITE: &str = "https://site.example";

/// The fixed store: 12 of the shared recordings over the 60 days before today, with their
/// streams and metrics, and a PMC row per day.
async fn fixed_api() -> (Arc<MemoryApi>, MemoryStore) {
    let store = MemoryStore::default();
    let mut profile = AthleteProfile::new(ATHLETE);
    profile.session_generation = Some(SESSION_GENERATION);
    profile.thresholds = thresholds();
    profile.firstname = Some("Ada".into());
    store.put_profile(&profile).await.unwrap();
    store_history(&store, ATHLETE, 12, 60, LocalDate::from_unix_seconds(NOW)).await;
    (memory_api(store.clone(), LOCAL_SESSION_KEY, NOW, SITE), store)
}

fn cookie() -> String {
    session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW + 3600)
}

async fn send(api: &Arc<MemoryApi>, request: axum::http::Request<Body>) -> (u16, Value) {
    let resp = router(api.clone()).oneshot(request).await.unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn get(api: &Arc<MemoryApi>, path: &str) -> (u16, Value) {
    let request = axum::http::Request::get(path).header("cookie", cookie()).body(Body::empty()).unwrap();
    send(api, request).await
}

async fn change(api: &Arc<MemoryApi>, method: &str, path: &str, body: &str) -> (u16, Value) {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", cookie())
        .header("content-type", "application/json")
        .header("origin", SITE)
        .body(Body::from(body.to_string()))
        .unwrap();
    send(api, request).await
}

#[tokio::test]
async fn every_json_answer_is_pinned() {
    let (api, store) = fixed_api().await;
    let newest = store.activities_page(ATHLETE, None, 1).await.unwrap()[0].activity_id;
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    settings.set_prepend_module_to_snapshot(false);
    let _bound = settings.bind_to_scope();
    for (name, path) in [
        ("catalog", "/api/catalog".to_string()),
        ("me", "/api/me".to_string()),
        ("threshold_history", "/api/me/thresholds".to_string()),
        ("pmc", "/api/pmc?from=2025-11-10&to=2025-11-21".to_string()),
        ("form", "/api/form".to_string()),
        ("bests", "/api/bests?range=90d".to_string()),
        ("weeks", "/api/weeks".to_string()),
        ("activities", "/api/activities?limit=3".to_string()),
        ("activity", format!("/api/activities/{newest}")),
        ("streams", format!("/api/activities/{newest}/streams?resolution=12")),
        ("bad_request", "/api/pmc?from=yesterday".to_string()),
        ("not_found", "/api/activities/1".to_string()),
    ] {
        let (status, body) = get(&api, &path).await;
        insta::assert_json_snapshot!(name, serde_json::json!({ "status": status, "body": body }));
    }
    for (name, method, path, body) in [
        ("thresholds", "PUT", "/api/me/thresholds", r#"{"ftp": 260}"#),
        ("thresholds_refused", "PUT", "/api/me/thresholds", r#"{"ftp": 2600}"#),
        (
            "threshold_entry",
            "POST",
            "/api/me/thresholds",
            r#"{"entry": {"group": "running", "effective_from": "2025-10-01", "ftp": 280}, "version": 0}"#,
        ),
        (
            "threshold_entry_refused",
            "POST",
            "/api/me/thresholds",
            r#"{"entry": {"group": "cycling", "effective_from": "2025-10-01", "cp": 250, "w_prime": 20}, "version": 0}"#,
        ),
        (
            "threshold_entry_unknown_field",
            "POST",
            "/api/me/thresholds",
            r#"{"entry": {"group": "running", "effective_from": "2025-10-01", "ftp": 280}, "version": 0, "x": 1}"#,
        ),
        ("backfill", "POST", "/api/backfill", r#"{"count": 40}"#),
        ("backfill_spent", "POST", "/api/backfill", r#"{"count": 1000}"#),
    ] {
        let (status, body) = change(&api, method, path, body).await;
        insta::assert_json_snapshot!(name, serde_json::json!({ "status": status, "body": body }));
    }
    let request = axum::http::Request::get("/api/export")
        .header("cookie", cookie())
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&api, request).await;
    insta::assert_json_snapshot!("export_link", serde_json::json!({ "status": status, "body": body }));
    let (status, body) = send(&api, axum::http::Request::get("/api/me").body(Body::empty()).unwrap()).await;
    insta::assert_json_snapshot!("signed_out", serde_json::json!({ "status": status, "body": body }));
    // The disconnect's answer waits for the consumer's deletion; its two shapes:
    insta::assert_json_snapshot!("disconnect", [Disconnection::new(true), Disconnection::new(false)]);
}

/// A request of `route`'s method to its path, its parameters filled in.
fn request_to(route: &Route, cookie: Option<&str>) -> axum::http::Request<Body> {
    let path = route.path.replace("{id}", "17000000101").replace("{file}", "app.js");
    let mut request = axum::http::Request::builder()
        .method(route.http_method())
        .uri(path)
        .header("content-type", "application/json")
        .header("origin", SITE);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Body::from("{}")).unwrap()
}

#[tokio::test]
async fn every_private_and_change_route_refuses_a_request_without_a_valid_session() {
    let (api, store) = fixed_api().await;
    let forged = session_cookie("another key", ATHLETE, SESSION_GENERATION, NOW + 3600);
    let expired = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW - 1);
    let ended = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION + 1, NOW + 3600);
    let mut private = 0;
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        for cookie in [None, Some("garbage=1"), Some(forged.as_str()), Some(expired.as_str()), Some(ended.as_str())] {
            let (status, body) = send(&api, request_to(route, cookie)).await;
            assert_eq!(status, 401, "{} {} with {cookie:?}: {body}", route.method, route.path);
            assert!(body["error"].as_str().is_some_and(|e| e.starts_with("You are signed out")), "{body}");
        }
        private += 1;
    }
    assert!(private >= 13, "{private} private routes");
    assert!(api.queue.messages().is_empty(), "nothing was enqueued");
    assert_eq!(store.get_profile(ATHLETE).await.unwrap().unwrap().thresholds, thresholds(), "nothing changed");
    // A 401 (not a 405) above shows each private route is served by its table method; the
    // public ones answer theirs too.
    for route in ROUTES.iter().filter(|r| r.access == Access::Public) {
        let (status, _) = send(&api, request_to(route, None)).await;
        assert_ne!(status, 405, "{} {}", route.method, route.path);
    }
}

#[test]
fn the_public_routes_are_exactly_the_listed_ones() {
    let public: Vec<&str> = ROUTES.iter().filter(|r| r.access == Access::Public).map(|r| r.path).collect();
    assert_eq!(
        public,
        ["/", "/logout", "/privacy", "/disconnected", "/static/{file}", "/static/brand/{file}", "/export"],
        "a new public route is a decision: add it here"
    );
    let changes: Vec<&str> = ROUTES.iter().filter(|r| r.access == Access::Change).map(|r| r.path).collect();
    assert_eq!(
        changes,
        ["/api/me/thresholds", "/api/me/thresholds", "/api/me/thresholds", "/api/me/disconnect", "/api/backfill"]
    );
    assert!(
        ROUTES.iter().filter(|r| r.method != "GET").all(|r| r.access == Access::Change),
        "every state-changing method is a change route"
    );
}

/// The page takes the catalog's facts from `/api/catalog`: no script spells out a sport
/// group, a score source's name, a peak window's label or the pace cut-off.
#[test]
fn the_page_copies_no_catalog_fact() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let scripts: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    assert!(scripts.len() >= 6, "{scripts:?}");
    let catalog = stravasync_read::catalog::catalog();
    let mut facts: Vec<String> = catalog.sport_groups.run.iter().map(|s| format!("\"{s}\"")).collect();
    facts.extend(catalog.score_sources.iter().map(|s| s.name.to_string()));
    facts.extend(catalog.peak_windows.iter().map(|w| format!("\"{}\"", w.label)));
    facts.push(format!("> {}", catalog.pace_min_speed_ms));
    facts.extend(catalog.threshold_groups.iter().map(|g| g.name.to_string()));
    for (path, text) in &scripts {
        for fact in &facts {
            assert!(!text.contains(fact.as_str()), "{path} copies {fact} (read it from /api/catalog)");
        }
    }
}
