//! The read API against a moto-backed table filled by the real consumer and rollup from
//! the shared recordings: each route from its `events/` fixture (API Gateway v2), the
//! session rules, paging, bad input, and the changes the API hands to the consumer.

use std::sync::Arc;

use axum::body::Body;
use stravasync_api::{Api, ApiConfig, router};
use stravasync_consumer::Outcome;
use stravasync_core::Secret;
use stravasync_core::job::Job;
use stravasync_core::model::BackfillProgress;
use stravasync_core::ports::roles::*;
use stravasync_testkit::{ATHLETE, EDGE810, FENIX2};
use tower::ServiceExt;

use crate::helpers::*;

#[tokio::test]
async fn every_route_answers_from_its_api_gateway_fixture() {
    let h = harness("api-fixtures").await;
    assert_eq!(h.ids.len(), 4, "the four shared recordings");
    let store = h.stack.store();

    let me = call(&h.api, fixture("api-me.json")).await;
    assert_eq!(me.status, 200, "{}", me.text());
    let me = me.json();
    assert_eq!(me["athlete_id"], ATHLETE);
    assert_eq!(me["thresholds"]["ftp"], 250.0);
    assert_eq!(me["sync"]["activities_stored"], 4);
    assert_eq!(me["sync"]["pending_streams"], 0);
    assert_eq!(me["sync"]["backfill"]["done"], 4);
    assert_eq!(me["sync"]["backfill"]["running"], false);
    assert!(me["sync"]["last_sync"].as_i64().is_some());

    // The PMC of August 2013, as the rollup stored it; the ride of the 16th is its load.
    let pmc = call(&h.api, fixture("api-pmc.json")).await.json();
    let rows = pmc["rows"].as_array().unwrap();
    let stored = store.pmc_rows(ATHLETE, "2013-08-01".parse().unwrap(), "2013-08-31".parse().unwrap()).await.unwrap();
    assert_eq!(rows.len(), stored.len());
    assert!(!rows.is_empty());
    let edge = live(&store, EDGE810).await;
    let day = rows.iter().find(|r| r["date"] == "2013-08-16").expect("the ride's day");
    assert_eq!(day["load"].as_f64(), edge.metrics.as_ref().unwrap().score.value);
    assert_eq!(day["ctl"].as_f64(), Some(stored.iter().find(|r| r.date.to_string() == "2013-08-16").unwrap().ctl));

    // The insight routes: the recordings are years old, so the form is carried on to
    // today over days without load, the bests of "all" name them, and the last twelve
    // weeks are empty.
    let form = call(&h.api, fixture("api-form.json")).await;
    assert_eq!(form.status, 200, "{}", form.text());
    assert_eq!(form.json()["form"]["date"], "2025-11-21");
    let bests = call(&h.api, fixture("api-bests.json")).await.json();
    assert_eq!(bests["bests"]["range"], "all");
    assert!(bests["bests"]["power"][0]["activity_id"].as_i64().is_some());
    assert!(bests["estimates"]["ftp"].is_null(), "no power in the last 90 days");
    let weeks = call(&h.api, fixture("api-weeks.json")).await.json();
    assert_eq!(weeks["weeks"].as_array().unwrap().len(), 12);
    assert!(weeks["weeks"].as_array().unwrap().iter().all(|w| w["total"]["count"] == 0));

    let list = call(&h.api, fixture("api-activities.json")).await.json();
    assert_eq!(list["activities"].as_array().unwrap().len(), 1, "limit=1");
    assert_eq!(list["activities"][0]["id"], h.ids[0], "newest first");
    assert!(list["next"].is_string());

    let detail = call(&h.api, fixture("api-activity.json")).await;
    assert_eq!(detail.status, 200, "{}", detail.text());
    let detail = detail.json();
    assert_eq!(detail["activity"]["id"], EDGE810);
    assert_eq!(detail["activity"]["score_source"], "power");
    assert_eq!(detail["activity"]["score"].as_f64(), edge.metrics.as_ref().unwrap().score.value);
    assert_eq!(detail["metrics"], serde_json::to_value(&edge.metrics).unwrap(), "metrics, zones and peaks as stored");
    assert!(detail["metrics"]["zones"]["power"]["seconds"].is_array());
    assert!(detail["metrics"]["peaks"]["watts"]["300"].is_number());

    let streams = call(&h.api, fixture("api-activity-streams.json")).await;
    assert_eq!(streams.status, 200, "{}", streams.text());
    let streams = streams.json();
    assert_eq!(streams["time"].as_array().unwrap().len(), 100, "resolution=100");
    let watts: Vec<f64> = serde_json::from_value(streams["watts"].clone()).unwrap();
    assert_eq!(watts.len(), 100);
    let mean = watts.iter().sum::<f64>() / 100.0;
    let average = edge.summary.average_watts.unwrap();
    assert!((mean - average).abs() < 0.1 * average, "downsampled mean {mean} near Strava's average {average}");
    assert!(streams["heartrate"].is_array());

    let privacy = call(&h.api, fixture("api-privacy.json")).await;
    assert_eq!(privacy.status, 200);
    assert!(privacy.text().contains("What we keep") && privacy.text().contains("support@example.test"));
    let export = call(&h.api, fixture("api-export.json")).await;
    assert_eq!(export.status, 303, "{}", export.text());
    assert!(export.header("location").unwrap().starts_with(&format!("{ORIGIN}/export?token=x1.")));

    let dashboard = call(&h.api, fixture("api-dashboard.json")).await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.text().contains("id=\"pmc-chart\""), "the dashboard, not the connect page");

    let logout = call(&h.api, fixture("api-logout.json")).await;
    assert_eq!((logout.status, logout.header("location")), (303, Some("/")));
    let cleared = logout.header("set-cookie").unwrap();
    assert!(cleared.starts_with("__Host-stravasync_session=;") && cleared.contains("Max-Age=0"), "{cleared}");

    let put = call(&h.api, fixture("api-thresholds.json")).await;
    assert_eq!(put.status, 202, "{}", put.text());
    let post = call(&h.api, fixture("api-backfill.json")).await;
    assert_eq!(post.status, 202, "{}", post.text());
    let jobs = drain(&h.stack).await;
    assert!(
        matches!(&jobs[0], Job::SetThresholds { athlete_id: ATHLETE, thresholds, .. } if thresholds.ftp == Some(300.0))
    );
    assert!(matches!(
        &jobs[1],
        Job::Backfill { athlete_id: ATHLETE, most_recent: Some(50), requested_at: Some(NOW), .. }
    ));
}

#[tokio::test]
async fn only_a_valid_session_reads_and_only_its_own_athlete() {
    let h = harness("api-sessions").await;
    let routes = [
        "/api/me".to_string(),
        "/api/pmc".to_string(),
        "/api/form".to_string(),
        "/api/bests".to_string(),
        "/api/weeks".to_string(),
        "/api/activities".to_string(),
        format!("/api/activities/{EDGE810}"),
        format!("/api/activities/{EDGE810}/streams"),
    ];
    let valid = session();
    let other_generation = session_cookie(ATHLETE, 9, NOW + 3600);
    let forged = {
        // The other athlete's id under this athlete's signature.
        let v = valid.replacen(&format!(".{ATHLETE}."), &format!(".{OTHER_ATHLETE}."), 1);
        assert_ne!(v, valid);
        v
    };
    let refused = [
        ("no cookie", None),
        ("forged", Some(forged)),
        ("expired", Some(cookie_for(ATHLETE, NOW, LOCAL_SESSION_KEY))),
        ("another key", Some(cookie_for(ATHLETE, NOW + 3600, "not the stack's key"))),
        ("garbage", Some("__Host-stravasync_session=v1.abc".to_string())),
        ("a cookie of another generation", Some(other_generation)),
        ("the insecure name over https", Some(valid.replace("__Host-", ""))),
    ];
    for route in &routes {
        assert_eq!(call(&h.api, get(route, Some(&valid))).await.status, 200, "{route}");
        for (what, cookie) in &refused {
            let r = call(&h.api, get(route, cookie.as_deref())).await;
            assert_eq!(r.status, 401, "{route} with {what}: {}", r.text());
            assert!(r.json()["error"].as_str().unwrap().contains("sign in"), "{}", r.text());
        }
    }
    // The connect page, not the dashboard, without a valid session.
    for (what, cookie) in &refused {
        let page = call(&h.api, get("/", cookie.as_deref())).await.text();
        assert!(page.contains("Connect with Strava") && !page.contains("pmc-chart"), "{what}");
    }
    // A signed cookie of an athlete who is not connected: refused everywhere.
    let other = cookie_for(OTHER_ATHLETE, NOW + 3600, LOCAL_SESSION_KEY);
    for route in &routes {
        assert_eq!(call(&h.api, get(route, Some(&other))).await.status, 401, "{route}: not connected");
    }
    // A valid session of another connected athlete sees none of this athlete's data.
    stravasync_testkit::connect(&h.fake, &h.stack.token_vault(), &h.stack.store(), OTHER_ATHLETE, "read,activity:read")
        .await;
    assert_eq!(call(&h.api, get("/api/me", Some(&other))).await.json()["athlete_id"], OTHER_ATHLETE);
    assert_eq!(call(&h.api, get(&format!("/api/activities/{EDGE810}"), Some(&other))).await.status, 404);
    assert_eq!(call(&h.api, get(&format!("/api/activities/{EDGE810}/streams"), Some(&other))).await.status, 404);
    let list = call(&h.api, get("/api/activities", Some(&other))).await.json();
    assert_eq!(list["activities"], serde_json::json!([]));
    let pmc = call(&h.api, get("/api/pmc?from=2013-01-01", Some(&other))).await.json();
    assert_eq!(pmc["rows"], serde_json::json!([]));
    // Changes too: nothing is enqueued for anyone without a valid session.
    for (_, cookie) in &refused {
        let cookie = cookie.clone().unwrap_or_default();
        assert_eq!(call(&h.api, change("PUT", "/api/me/thresholds", &cookie, r#"{"ftp":300}"#)).await.status, 401);
        assert_eq!(call(&h.api, change("POST", "/api/backfill", &cookie, r#"{"count":5}"#)).await.status, 401);
    }
    assert!(drain(&h.stack).await.is_empty());
    // The same cookie an hour later: expired.
    let later = Arc::new(api_for(&h.stack, NOW + 3600));
    assert_eq!(call(&later, get("/api/me", Some(&valid))).await.status, 401);
}

#[tokio::test]
async fn pages_walk_every_activity_once_newest_first() {
    let h = harness("api-paging").await;
    let store = h.stack.store();
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..10 {
        let path = match &next {
            Some(c) => format!("/api/activities?limit=1&before={c}"),
            None => "/api/activities?limit=1".into(),
        };
        let page = call(&h.api, get(&path, Some(&session()))).await.json();
        for a in page["activities"].as_array().unwrap() {
            seen.push(a["id"].as_i64().unwrap());
        }
        next = page["next"].as_str().map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(seen, h.ids);
    let mut dates = Vec::new();
    for id in &seen {
        dates.push(live(&store, *id).await.local_date);
    }
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first: {dates:?}");
    // A date cursor: everything strictly before that day.
    let page = call(&h.api, get("/api/activities?before=2015-08-15", Some(&session()))).await.json();
    let ids: Vec<i64> = page["activities"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [EDGE810]);
    assert!(page["next"].is_null());
    assert!(!ids.contains(&FENIX2));
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_field_and_enqueues_nothing() {
    let h = harness("api-bad-input").await;
    let s = session();
    for (path, status, field) in [
        ("/api/pmc?from=2025-13-01", 400, "from"),
        ("/api/pmc?to=tomorrow", 400, "to"),
        ("/api/pmc?from=2025-02-01&to=2025-01-01", 400, "from"),
        ("/api/activities?limit=0", 400, "limit"),
        ("/api/activities?limit=1000", 400, "limit"),
        ("/api/activities?before=2025-01-01_x", 400, "before"),
        ("/api/activities/abc", 400, "id"),
        ("/api/activities/-5", 400, "id"),
        ("/api/activities/99", 404, "no activity 99"),
        ("/api/activities/17000000101/streams?resolution=2", 400, "resolution"),
        ("/api/nothing", 404, "not found"),
        ("/static/../Cargo.toml", 404, "not found"),
    ] {
        let r = call(&h.api, get(path, Some(&s))).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().contains(field), "{path}: {}", r.text());
    }
    for (method, path, body, status, field) in [
        ("PUT", "/api/me/thresholds", r#"{"ftp": 5000}"#, 400, "ftp"),
        ("PUT", "/api/me/thresholds", r#"{"ftp": "300"}"#, 400, "ftp"),
        ("PUT", "/api/me/thresholds", r#"{"fpt": 300}"#, 400, "fpt"),
        ("PUT", "/api/me/thresholds", r#"{"lthr": 231}"#, 400, "lthr"),
        ("PUT", "/api/me/thresholds", r#"{"hr_rest": 110, "hr_max": 105}"#, 400, "hr_rest"),
        ("PUT", "/api/me/thresholds", "{}", 400, "(body)"),
        ("PUT", "/api/me/thresholds", "{\"ftp\": 300} trailing", 400, "end of document"),
        ("POST", "/api/backfill", "{}", 400, "count"),
        ("POST", "/api/backfill", r#"{"count": 0}"#, 400, "count"),
        ("POST", "/api/backfill", r#"{"after": "2025-02-01", "before": "2025-01-01"}"#, 400, "before"),
        ("POST", "/api/backfill", "[1,2]", 400, "invalid type"),
        ("DELETE", "/api/me", "", 405, "method"),
    ] {
        let r = call(&h.api, change(method, path, &s, body)).await;
        assert_eq!(r.status, status, "{method} {path} {body}: {}", r.text());
        // The field by name for the API's clients; the reason in words.
        let named = r.json()["field"] == field || r.json()["error"].as_str().unwrap().contains(field);
        assert!(named, "{body}: {}", r.text());
    }
    // Not JSON, another origin, too large: refused before anything is read.
    let form = axum::http::Request::put("/api/me/thresholds")
        .header("cookie", &s)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("ftp=300"))
        .unwrap();
    assert_eq!(call(&h.api, form).await.status, 415);
    // The same guards on the disconnect: a form post or another site's page cannot end an account.
    let form = axum::http::Request::post("/api/me/disconnect")
        .header("cookie", &s)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(""))
        .unwrap();
    assert_eq!(call(&h.api, form).await.status, 415);
    let cross = axum::http::Request::post("/api/me/disconnect")
        .header("cookie", &s)
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(call(&h.api, cross).await.status, 403);
    assert!(h.stack.store().get_profile(ATHLETE).await.unwrap().is_some(), "nothing deleted");
    let cross = axum::http::Request::put("/api/me/thresholds")
        .header("cookie", &s)
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .body(Body::from(r#"{"ftp":300}"#))
        .unwrap();
    assert_eq!(call(&h.api, cross).await.status, 403);
    let huge = format!(r#"{{"ftp": 300, "pad": "{}"}}"#, "x".repeat(10_000));
    assert_eq!(call(&h.api, change("PUT", "/api/me/thresholds", &s, &huge)).await.status, 413);
    assert!(drain(&h.stack).await.is_empty(), "nothing enqueued by a refused request");
}

/// The single-value shorthand (`PUT {"ftp": 300}`): the value holds from the day it was
/// made, as a dated entry; the consumer stores it and rescores from that day only.
#[tokio::test]
async fn a_threshold_shorthand_holds_from_its_day() {
    let h = harness("api-thresholds").await;
    let store = h.stack.store();
    let before = live(&store, EDGE810).await.metrics.unwrap();
    let r = call(&h.api, change("PUT", "/api/me/thresholds", &session(), r#"{"ftp": 300}"#)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let today = stravasync_core::LocalDate::from_unix_seconds(h.api.now());
    let saved = &r.json()["thresholds"][0];
    assert_eq!((saved["op"].as_str(), saved["entry"]["group"].as_str()), (Some("save"), Some("cycling")));
    assert_eq!(
        (saved["entry"]["ftp"].as_f64(), saved["entry"]["effective_from"].as_str()),
        (Some(300.0), Some(&*today.to_string()))
    );
    assert!(store.threshold_history(ATHLETE).await.unwrap().is_none(), "the API writes nothing");
    // Half way (history stored, rescore queued): the dashboard is told to wait.
    let set = drain(&h.stack).await;
    assert_eq!(h.consumer.process(&record(&set[0], "t0", 1)).await, Outcome::Done);
    let me = call(&h.api, get("/api/me", Some(&session()))).await.json();
    assert_eq!((me["thresholds"]["ftp"].clone(), me["sync"]["rescore_pending"].clone()), (300.0.into(), true.into()));
    assert_eq!(me["thresholds"]["lthr"], 165.0, "the rest kept");
    let mut steps = 0;
    loop {
        let jobs = drain(&h.stack).await;
        if jobs.is_empty() {
            break;
        }
        for job in jobs {
            assert!(matches!(job, Job::Rescore { scope: Some(_), .. }), "{job:?}");
            assert_eq!(h.consumer.process(&record(&job, "t", 1)).await, Outcome::Done, "{job:?}");
            steps += 1;
        }
    }
    assert_eq!(steps, 1, "one chunk: the rescore from today");
    let me = call(&h.api, get("/api/me", Some(&session()))).await.json();
    assert_eq!(me["sync"]["rescore_pending"], false, "{me}");
    // The 2013 ride keeps the FTP in force on its day.
    assert_eq!(live(&store, EDGE810).await.metrics.unwrap(), before, "an earlier ride is not rescored");
    assert_eq!(store.get_profile(ATHLETE).await.unwrap().unwrap().thresholds.ftp, Some(250.0), "undated settings kept");
}

#[tokio::test]
async fn one_backfill_at_a_time_per_athlete() {
    let h = harness("api-backfill").await;
    let store = h.stack.store();
    // Two requests that both found none running: the queue keeps one (same dedup id).
    for _ in 0..2 {
        let r = call(&h.api, change("POST", "/api/backfill", &session(), r#"{"count": 2}"#)).await;
        assert_eq!(r.status, 202, "{}", r.text());
    }
    let jobs = drain(&h.stack).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    // While one runs: 429 with Retry-After, naming what is running.
    let mut profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    profile.backfill = Some(BackfillProgress {
        requested_at: NOW - 100,
        updated_at: NOW - 10,
        most_recent: Some(500),
        after: None,
        before: None,
        done: 200,
        imported: 0,
        finished_at: None,
        refresh: false,
    });
    store.put_profile(&profile).await.unwrap();
    let r = call(&h.api, change("POST", "/api/backfill", &session(), r#"{"count": 2}"#)).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("200 activities done"));
    assert_eq!(r.header("retry-after"), Some("300"));
    let me = call(&h.api, get("/api/me", Some(&session()))).await.json();
    assert_eq!(
        (me["sync"]["backfill"]["running"].clone(), me["sync"]["backfill"]["done"].clone()),
        (true.into(), 200.into())
    );
    // The consumer refuses to start the queued one while the other runs...
    assert_eq!(h.consumer.process(&record(&jobs[0], "b-2", 1)).await, Outcome::Done);
    assert_eq!(store.get_profile(ATHLETE).await.unwrap().unwrap().backfill.unwrap().requested_at, NOW - 100);
    // ...and starts it once the other has not moved for an hour (abandoned).
    profile.backfill.as_mut().unwrap().updated_at = NOW - 3 * 3600;
    store.put_profile(&profile).await.unwrap();
    assert_eq!(h.consumer.process(&record(&jobs[0], "b-3", 1)).await, Outcome::Done);
    let progress = store.get_profile(ATHLETE).await.unwrap().unwrap().backfill.unwrap();
    assert_eq!((progress.requested_at, progress.most_recent, progress.done), (NOW, Some(2), 2));
    assert_eq!(progress.finished_at, Some(NOW));
    assert!(drain(&h.stack).await.is_empty());
}

#[tokio::test]
async fn a_backfill_with_refresh_fetches_stored_activities_again() {
    let h = harness("api-refresh").await;
    // Without the option, the stored activities are skipped: no stream fetched.
    let r = call(&h.api, change("POST", "/api/backfill", &session(), r#"{"count": 10}"#)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let jobs = drain(&h.stack).await;
    assert!(matches!(jobs[..], [Job::Backfill { refresh: false, .. }]), "{jobs:?}");
    h.fake.state.clear_requests();
    assert_eq!(h.consumer.process(&record(&jobs[0], "plain", 1)).await, Outcome::Done);
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), 0);
    // With it (a later request, once the first has finished): every stored one again.
    let later = Arc::new(api_for(&h.stack, NOW + 60));
    let cookie = session_cookie(ATHLETE, stravasync_testkit::SESSION_GENERATION, NOW + 3600);
    let r = call(&later, change("POST", "/api/backfill", &cookie, r#"{"count": 10, "refresh": true}"#)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let jobs = drain(&h.stack).await;
    assert!(matches!(jobs[..], [Job::Backfill { refresh: true, .. }]), "{jobs:?}");
    assert_eq!(h.consumer.process(&record(&jobs[0], "refresh", 1)).await, Outcome::Done);
    assert_eq!(h.fake.state.requests_to("/api/v3/activities/{id}/streams"), 4, "the four recordings' streams again");
    let me = call(&later, get("/api/me", Some(&cookie))).await.json();
    assert_eq!(me["sync"]["backfill"]["refresh"], true, "{}", me["sync"]);
    assert_eq!(me["sync"]["backfill"]["done"], 4);
    // A refresh that is not a boolean: 400 naming the field.
    let r = call(&later, change("POST", "/api/backfill", &cookie, r#"{"count": 1, "refresh": "yes"}"#)).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().starts_with("refresh"), "{}", r.text());
}

#[tokio::test]
async fn the_pages_and_assets_load_nothing_from_elsewhere() {
    let h = harness("api-pages").await;
    let page = call(&h.api, get("/", Some(&session()))).await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text();
    let assets: Vec<&str> = html.split('"').filter(|s| s.starts_with("/static/")).collect();
    assert_eq!(assets.len(), 10, "the chart library and its styles, the styles, six scripts, the icon: {assets:?}");
    let mut total = html.len();
    for path in assets {
        let r = call(&h.api, get(path, None)).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("cache-control").unwrap().contains("immutable"));
        let kind = match path.split('?').next().and_then(|p| p.rsplit_once('.')).map(|(_, x)| x) {
            Some("js") => "text/javascript",
            Some("svg") => "image/svg+xml",
            _ => "text/css",
        };
        assert!(r.header("content-type").unwrap().starts_with(kind), "{path}");
        // An SVG names its own XML namespace: an identifier, nothing loaded from there.
        let text = r.text().replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{path} names another site"
        );
        total += r.body.len();
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert_eq!(total, stravasync_api::dashboard_bytes());
    let connect = call(&h.api, get("/", None)).await.text();
    assert!(connect.contains("href=\"/connect\""));
}

/// The routes the template sends to this function are the ones its router serves.
#[tokio::test]
async fn the_router_serves_every_route_the_template_sends_it() {
    use stravasync_testkit::memory::{MemoryQueue, MemoryStore};
    let env = [
        ("TABLE_NAME", "t"),
        ("QUEUE_URL", "q"),
        ("SESSION_SECRET_ID", "s"),
        ("PUBLIC_BASE_URL", ORIGIN),
        ("SUPPORT_EMAIL", "s@example.test"),
    ];
    let config = ApiConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let api = Arc::new(Api::new(config, Secret::new("k"), MemoryStore::default(), MemoryQueue::default()));
    for (method, path) in stravasync_aws::resources::API_ROUTES {
        let concrete = path
            .replace("/brand/{file}", "/brand/powered-by-strava.svg")
            .replace("{file}", "app.js")
            .replace("{proxy+}", "me");
        let method = if *method == "ANY" { "GET" } else { method };
        let req = axum::http::Request::builder().method(method).uri(&concrete).body(Body::empty()).unwrap();
        let resp = router(api.clone()).oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        assert!(
            !String::from_utf8_lossy(&body).contains("\"not found\"") || concrete.contains("/brand/"),
            "{method} {concrete} ({path}) falls through to 404: {status}"
        );
    }
}
