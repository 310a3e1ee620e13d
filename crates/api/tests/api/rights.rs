//! What an athlete may ask of their data, and how it ends: disconnect and delete (every
//! order with Strava's deauthorization, crashes between the steps, both token stores),
//! sessions across devices, the export, and the rations on what is expensive.

use std::io::Read;
use std::sync::Arc;

use stravasync_consumer::Outcome;
use stravasync_core::codec::decode_chunks;
use stravasync_core::job::{Job, Requester};
use stravasync_core::model::OAuthTokens;
use stravasync_core::ports::TokenVault;
use stravasync_core::ports::roles::*;
use stravasync_core::streams::parse_streams_json;
use stravasync_read::export::parse_csv;
use stravasync_testkit::{ATHLETE, EDGE810};

use crate::helpers::*;

/// Every route that reads an athlete's data.
fn data_routes() -> Vec<String> {
    vec![
        "/api/me".into(),
        "/api/pmc".into(),
        "/api/activities".into(),
        format!("/api/activities/{EDGE810}"),
        format!("/api/activities/{EDGE810}/streams"),
        "/api/export".into(),
    ]
}

async fn assert_refused_everywhere(api: &Arc<LocalApi>, cookie: &str, what: &str) {
    for route in data_routes() {
        let r = call(api, get(&route, Some(cookie))).await;
        assert_eq!(r.status, 401, "{route} with {what}: {}", r.text());
    }
    for (method, path, body) in [
        ("PUT", "/api/me/thresholds", r#"{"ftp": 300}"#),
        ("POST", "/api/backfill", r#"{"count": 5}"#),
        ("POST", "/api/me/disconnect", "{}"),
    ] {
        let r = call(api, change(method, path, cookie, body)).await;
        assert_eq!(r.status, 401, "{method} {path} with {what}: {}", r.text());
    }
    let page = call(api, get("/", Some(cookie))).await;
    assert!(page.text().contains("Connect with Strava") && !page.text().contains("pmc-chart"), "{what}");
    assert!(page.header("set-cookie").is_some_and(|c| c.contains("Max-Age=0")), "the ended cookie is cleared");
}

async fn disconnect_deletes_everything_and_ends_every_session(kms: bool) {
    let h = harness_on(if kms { "rights-disconnect-kms" } else { "rights-disconnect" }, kms).await;
    // Two devices share the generation; work is waiting on both queues (an import, and a
    // new activity Strava just pushed).
    let (laptop, phone) = (session(), session());
    let r = call(&h.api, change("POST", "/api/backfill", &laptop, r#"{"count": 3}"#)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let new_id = h.fake.state.new_activity(ATHLETE, NOW - 3600).unwrap();
    let event = h.fake.state.event("activity", new_id, "create", serde_json::json!({}), ATHLETE);
    assert_eq!(h.fake.state.push_event(&event).await.unwrap(), 200);
    assert!(!traces_of_nothing(&h).await, "the athlete is stored before");

    let _source = h.event_source();
    let r = call(&h.api, change("POST", "/api/me/disconnect", &laptop, "{}")).await;
    assert_eq!((r.status, r.json()["status"].as_str()), (200, Some("deleted")), "{}", r.text());
    assert_eq!(r.json()["next"], "/disconnected");
    assert!(r.header("set-cookie").is_some_and(|c| c.contains("Max-Age=0")), "this browser's cookie cleared");
    // Revoked at Strava, which then pushed its deauthorization event.
    assert_eq!(h.fake.state.requests_to("/oauth/deauthorize"), 1);
    assert!(!h.fake.state.connected_athletes().contains(&ATHLETE));
    drop(_source);
    h.settle().await;

    // Nothing of the athlete anywhere: table and indexes, token store, both queues, DLQ.
    let traces = traces_of(&h.stack, ATHLETE).await;
    assert!(traces.is_empty(), "left behind: {traces:#?}");
    assert!(h.stack.token_vault().get_tokens_fresh(ATHLETE).await.unwrap().is_none());
    // Both devices' sessions have ended, on every route; the page after it says so.
    assert_refused_everywhere(&h.api, &laptop, "the laptop's cookie").await;
    assert_refused_everywhere(&h.api, &phone, "the phone's copy").await;
    let done = call(&h.api, get("/disconnected", None)).await;
    assert!(done.text().contains("Disconnected, and your data deleted"), "{}", done.text());

    // A reconnect starts clean: a new generation (the old cookies stay refused), nothing
    // from before, a new import.
    let (status, cookie, _) = connect_through_site(&h.site, ATHLETE).await;
    assert_eq!(status, 303);
    let fresh = cookie.replacen("stravasync_session=", "__Host-stravasync_session=", 1);
    let me = call(&h.api, get("/api/me", Some(&fresh))).await;
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["sync"]["activities_stored"], 0, "{}", me.text());
    assert!(me.json()["sync"]["last_event_at"].is_null());
    assert_refused_everywhere(&h.api, &laptop, "a cookie of the connection before").await;
    let profile = h.stack.store().get_profile(ATHLETE).await.unwrap().unwrap();
    assert!(profile.session_generation.is_some_and(|g| g != stravasync_testkit::SESSION_GENERATION));
    let jobs = drain(&h.stack).await;
    assert!(matches!(jobs.as_slice(), [Job::Backfill { athlete_id: ATHLETE, .. }]), "{jobs:?}");
}

async fn traces_of_nothing(h: &Harness) -> bool {
    !h.stack.store().athlete_has_items(ATHLETE).await.unwrap()
}

#[tokio::test]
async fn a_disconnect_deletes_everything_and_ends_every_session() {
    disconnect_deletes_everything_and_ends_every_session(false).await;
}

#[tokio::test]
async fn a_disconnect_deletes_everything_with_tokens_sealed_in_the_table() {
    disconnect_deletes_everything_and_ends_every_session(true).await;
}

fn disconnect_job(requested_at: i64) -> Job {
    Job::Disconnect { athlete_id: ATHLETE, requested_at, by: Requester::Athlete }
}

async fn assert_gone_and_nothing_dead_lettered(h: &Harness, what: &str) {
    h.settle().await;
    let traces = traces_of(&h.stack, ATHLETE).await;
    assert!(traces.is_empty(), "{what}: left behind {traces:#?}");
    let dead = h.stack.dlq().drain().await.unwrap();
    assert!(dead.is_empty(), "{what}: dead-lettered {dead:?}");
}

#[tokio::test]
async fn strava_s_deauthorization_first_then_the_disconnect() {
    let h = harness("rights-event-first").await;
    // The athlete revokes on Strava (which pushes its event) and, before that is applied,
    // clicks "disconnect" on a dashboard still open.
    let tokens = h.stack.token_vault().get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    h.consumer.strava.deauthorize(&tokens.access_token).await.unwrap();
    h.fake.state.settle_pushes().await;
    let source = h.event_source();
    let r = call(&h.api, change("POST", "/api/me/disconnect", &session(), "{}")).await;
    // The event (queued first, same group) is applied first; the disconnect then finds
    // nothing and is done (202 only if that took longer than the route waits).
    assert!(matches!(r.status, 200 | 202), "{}", r.text());
    drop(source);
    assert_gone_and_nothing_dead_lettered(&h, "event first").await;
}

#[tokio::test]
async fn a_crash_between_revoking_and_deleting_is_finished_by_the_retry() {
    let h = harness("rights-crash").await;
    // The first attempt revoked at Strava and crashed before deleting anything: the tokens
    // are still stored, and Strava's event is on its way.
    let tokens = h.stack.token_vault().get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    h.consumer.strava.deauthorize(&tokens.access_token).await.unwrap();
    assert!(h.stack.store().athlete_has_items(ATHLETE).await.unwrap());
    // Its retry: Strava refuses the revoked token (401), which is not an error.
    assert_eq!(h.consumer.process(&record(&disconnect_job(NOW), "d-1", 2)).await, Outcome::Done);
    assert_gone_and_nothing_dead_lettered(&h, "retry after a crash").await;
}

#[tokio::test]
async fn an_expired_token_is_refreshed_first_and_a_refused_refresh_means_revoked() {
    let h = harness("rights-refresh").await;
    let vault = h.stack.token_vault();
    let stored = vault.get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    let expired = OAuthTokens { expires_at: NOW - 60, ..stored.clone() };
    vault.put_tokens(&expired).await.unwrap();
    assert_eq!(h.consumer.process(&record(&disconnect_job(NOW), "d-1", 1)).await, Outcome::Done);
    assert_eq!(h.fake.state.requests_to("/oauth/token"), 1, "refreshed first");
    assert_eq!(h.fake.state.requests_to("/oauth/deauthorize"), 1);
    assert!(!h.fake.state.connected_athletes().contains(&ATHLETE), "revoked with the refreshed token");
    assert_gone_and_nothing_dead_lettered(&h, "refreshed").await;

    // Revoked on Strava meanwhile: the refresh is refused (400), the data goes all the same.
    let h = harness("rights-refresh-revoked").await;
    let vault = h.stack.token_vault();
    let stored = vault.get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    vault.put_tokens(&OAuthTokens { expires_at: NOW - 60, ..stored }).await.unwrap();
    h.fake.state.revoke(ATHLETE);
    assert_eq!(h.consumer.process(&record(&disconnect_job(NOW), "d-1", 1)).await, Outcome::Done);
    assert_gone_and_nothing_dead_lettered(&h, "refresh refused").await;
}

#[tokio::test]
async fn strava_down_is_retried_and_the_last_attempt_deletes_anyway() {
    let h = harness("rights-strava-down").await;
    h.fake.state.inject(fake_strava::Fault {
        route: "/oauth/deauthorize".into(),
        kind: fake_strava::FaultKind::ServerError,
        count: 100,
        delay_ms: 0,
    });
    let job = disconnect_job(NOW);
    for receive in 1..5 {
        assert!(
            matches!(h.consumer.process(&record(&job, "d", receive)).await, Outcome::Retry { .. }),
            "attempt {receive} retried"
        );
        assert!(h.stack.store().athlete_has_items(ATHLETE).await.unwrap(), "nothing deleted before revoking");
    }
    assert_eq!(h.consumer.process(&record(&job, "d", 5)).await, Outcome::Done);
    assert_gone_and_nothing_dead_lettered(&h, "Strava down").await;
}

#[tokio::test]
async fn a_disconnect_older_than_a_reconnect_keeps_the_new_connection() {
    let h = harness("rights-stale").await;
    // Connected again (tokens issued) after the disconnect was asked for.
    let vault = h.stack.token_vault();
    let tokens = vault.get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    vault.put_tokens(&OAuthTokens { connected_at: NOW - 10, ..tokens }).await.unwrap();
    assert_eq!(h.consumer.process(&record(&disconnect_job(NOW - 60), "d", 1)).await, Outcome::Done);
    assert!(h.stack.store().get_profile(ATHLETE).await.unwrap().is_some());
    assert_eq!(h.fake.state.requests_to("/oauth/deauthorize"), 0);
}

#[tokio::test]
async fn logout_ends_only_this_browser_and_a_second_sign_in_keeps_the_first() {
    let h = harness("rights-sessions").await;
    let laptop = session();
    let logout = call(&h.api, get("/logout", Some(&laptop))).await;
    assert_eq!(logout.status, 303);
    assert!(logout.header("set-cookie").unwrap().contains("Max-Age=0"));
    // Another device holding the same generation goes on.
    assert_eq!(call(&h.api, get("/api/me", Some(&laptop))).await.status, 200);
    // Signing in again on a phone keeps the connection's generation: both devices work.
    let (status, phone, _) = connect_through_site(&h.site, ATHLETE).await;
    assert_eq!(status, 303);
    let phone = phone.replacen("stravasync_session=", "__Host-stravasync_session=", 1);
    assert_eq!(call(&h.api, get("/api/me", Some(&phone))).await.status, 200);
    assert_eq!(call(&h.api, get("/api/me", Some(&laptop))).await.status, 200);
}

/// The archive of `h`'s athlete through the routes: the link, then the ZIP.
async fn export(h: &Harness, api: &Arc<LocalApi>) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    let link = call(api, get("/api/export", Some(&session()))).await;
    assert_eq!(link.status, 303, "{}", link.text());
    let location = link.header("location").unwrap().to_string();
    let path = location.strip_prefix(ORIGIN).expect("exports on this site by default").to_string();
    let zip = call(api, get(&path, None)).await;
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    assert!(zip.header("content-disposition").unwrap().starts_with("attachment; filename=\"training-data-"));
    let _ = h;
    zip::ZipArchive::new(std::io::Cursor::new(zip.body)).expect("a whole ZIP")
}

fn entry(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut text = String::new();
    archive.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")).read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn the_export_holds_what_the_api_serves_and_what_is_stored() {
    let h = harness("rights-export").await;
    let store = h.stack.store();
    let mut archive = export(&h, &h.api).await;
    let names: Vec<String> = archive.file_names().map(|n| n.unwrap().to_string()).collect();
    for name in ["README.txt", "profile.json", "activities.csv", "pmc.csv"] {
        assert!(names.contains(&name.to_string()), "{name} in {names:?}");
    }

    // profile.json: the profile and thresholds as stored (no session generation).
    let profile: serde_json::Value = serde_json::from_str(&entry(&mut archive, "profile.json")).unwrap();
    let stored = store.get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!(profile["athlete_id"], ATHLETE);
    assert_eq!(profile["thresholds"], serde_json::to_value(&stored.thresholds).unwrap());
    assert!(!entry(&mut archive, "profile.json").contains("generation"));

    // activities.csv: a row per stored activity, newest first as the API lists them, and
    // each row's numbers are the stored ones exactly.
    let rows = parse_csv(&entry(&mut archive, "activities.csv"));
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|c| c == name).unwrap_or_else(|| panic!("column {name}"));
    let listed = call(&h.api, get("/api/activities?limit=100", Some(&session()))).await.json();
    let listed = listed["activities"].as_array().unwrap();
    assert_eq!(rows.len() - 1, listed.len());
    assert_eq!(rows.len() - 1, h.ids.len());
    for (row, api_row) in rows[1..].iter().zip(listed) {
        assert_eq!(row.len(), header.len());
        let id: i64 = row[col("activity_id")].parse().unwrap();
        assert_eq!(id, api_row["id"].as_i64().unwrap());
        assert_eq!(row[col("date")], api_row["date"].as_str().unwrap());
        assert_eq!(row[col("name")], api_row["name"].as_str().unwrap_or_default());
        let score: Option<f64> = row[col("score")].parse().ok();
        assert_eq!(score, api_row["score"].as_f64(), "{id}");
        assert_eq!(row[col("score_source")], api_row["score_source"].as_str().unwrap_or_default());
        let a = live(&store, id).await;
        let m = a.metrics.as_ref();
        let num = |c: &str| row[col(c)].parse::<f64>().ok();
        assert_eq!(num("power_np"), m.and_then(|m| m.power.as_ref()).and_then(|p| p.np), "{id}");
        assert_eq!(num("power_tss"), m.and_then(|m| m.power.as_ref()).and_then(|p| p.tss), "{id}");
        assert_eq!(num("pace_rtss"), m.and_then(|m| m.pace.as_ref()).and_then(|p| p.rtss), "{id}");
        assert_eq!(num("heartrate_hrtss"), m.and_then(|m| m.heartrate.as_ref()).and_then(|p| p.hrtss), "{id}");
        assert_eq!(num("peak_watts_1200s"), m.and_then(|m| m.peaks.watts.as_ref()).and_then(|p| p.get(1200)), "{id}");
        assert_eq!(num("distance_m"), a.summary.distance, "{id}");
        // Its streams, decoded, equal the stored series.
        if let Some(set) = a.streams_ref() {
            let chunks = store.get_stream_chunks(ATHLETE, id, set).await.unwrap();
            let exported = parse_streams_json(entry(&mut archive, &format!("streams/{id}.json")).as_bytes()).unwrap();
            assert_eq!(exported, decode_chunks(&chunks).unwrap(), "streams of {id}");
        }
    }

    // pmc.csv: every stored day, equal to the API's and the table's rows.
    let pmc = parse_csv(&entry(&mut archive, "pmc.csv"));
    assert_eq!(pmc[0], ["date", "load", "ctl", "atl", "tsb"]);
    let today = stravasync_core::LocalDate::from_unix_seconds(NOW);
    let from = stravasync_core::LocalDate::from_ymd(2000, 1, 1).unwrap();
    let stored_rows =
        store.pmc_rows(ATHLETE, stravasync_core::LocalDate::from_days_since_epoch(0), today).await.unwrap();
    let served = call(&h.api, get(&format!("/api/pmc?from={from}&to={today}"), Some(&session()))).await.json();
    let served = served["rows"].as_array().unwrap();
    assert!(!stored_rows.is_empty());
    assert_eq!((pmc.len() - 1, served.len()), (stored_rows.len(), stored_rows.len()));
    for ((line, row), api_row) in pmc[1..].iter().zip(&stored_rows).zip(served) {
        assert_eq!(line[0], row.date.to_string());
        let values: Vec<f64> = line[1..].iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(values, [row.load, row.ctl, row.atl, row.tsb], "{line:?} vs {row:?}");
        // The API's JSON parsed back here (serde_json's float parsing may be one ulp off).
        let served_ctl = api_row["ctl"].as_f64().unwrap();
        assert!((served_ctl - row.ctl).abs() <= 1e-12 * row.ctl.abs().max(1.0), "{served_ctl} vs {}", row.ctl);
        assert_eq!(api_row["date"], line[0]);
    }
}

#[tokio::test]
async fn one_export_every_few_minutes_and_links_that_expire() {
    let h = harness("rights-export-ration").await;
    let first = call(&h.api, get("/api/export", Some(&session()))).await;
    assert_eq!(first.status, 303);
    let again = call(&h.api, get("/api/export", Some(&session()))).await;
    assert_eq!(again.status, 429, "{}", again.text());
    assert_eq!(again.header("retry-after"), Some("300"));
    assert_eq!(again.json()["retry_after_s"], 300);
    // The dashboard's script asks for the link as JSON: the same ration.
    let later = Arc::new(api_for(&h.stack, NOW + 299));
    let json = axum::http::Request::get("/api/export")
        .header("cookie", session())
        .header("accept", "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = call(&later, json).await;
    assert_eq!((r.status, r.header("retry-after")), (429, Some("1")));
    let much_later = Arc::new(api_for(&h.stack, NOW + 300));
    let json = axum::http::Request::get("/api/export")
        .header("cookie", session())
        .header("accept", "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = call(&much_later, json).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["url"].as_str().unwrap().starts_with(&format!("{ORIGIN}/export?token=x1.")));

    // The link is good for two minutes, for this connection only, and cannot be forged.
    let location = first.header("location").unwrap().strip_prefix(ORIGIN).unwrap().to_string();
    let expired = Arc::new(api_for(&h.stack, NOW + 121));
    assert_eq!(call(&expired, get(&location, None)).await.status, 401);
    let forged = location.replacen(&format!(".{ATHLETE}."), ".42.", 1);
    assert_eq!(call(&h.api, get(&forged, None)).await.status, 401);
    assert_eq!(call(&h.api, get("/export?token=", None)).await.status, 401);
    // A session cookie is not an export link.
    let cookie_value = session().split_once('=').unwrap().1.to_string();
    assert_eq!(call(&h.api, get(&format!("/export?token={cookie_value}"), None)).await.status, 401);
    assert_eq!(call(&h.api, get(&location, None)).await.status, 200);
}

#[tokio::test]
async fn backfills_share_a_daily_allowance() {
    let h = harness("rights-backfill-ration").await;
    let mut env = h.stack.handler_env();
    env.extend([("PUBLIC_BASE_URL", ORIGIN.to_string()), ("BACKFILL_DAILY_LIMIT", "10".to_string())]);
    let config =
        stravasync_api::ApiConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let api = |now: i64| {
        Arc::new(
            stravasync_api::Api::new(
                config.clone(),
                stravasync_core::Secret::new(LOCAL_SESSION_KEY),
                h.stack.store(),
                h.stack.queue(),
            )
            .with_clock(Arc::new(move || now)),
        )
    };
    let today = api(NOW);
    // A range takes the whole allowance, and its job is capped at it.
    let r = call(&today, change("POST", "/api/backfill", &session(), r#"{"after": "2013-01-01"}"#)).await;
    assert_eq!((r.status, r.json()["activities"].as_u64()), (202, Some(10)), "{}", r.text());
    let jobs = drain(&h.stack).await;
    assert!(matches!(jobs.as_slice(), [Job::Backfill { most_recent: Some(10), after: Some(_), .. }]), "{jobs:?}");
    let r = call(&today, change("POST", "/api/backfill", &session(), r#"{"count": 1}"#)).await;
    assert_eq!(r.status, 429, "{}", r.text());
    let midnight = (NOW / 86_400 + 1) * 86_400;
    assert_eq!(r.header("retry-after"), Some((midnight - NOW).to_string().as_str()));
    assert!(r.json()["error"].as_str().unwrap().contains("0 remain"), "{}", r.text());
    // The next day's allowance is whole again, and counted requests share it.
    let tomorrow = api(midnight + 60);
    let session = || session_cookie(ATHLETE, stravasync_testkit::SESSION_GENERATION, NOW + 3 * 86_400);
    let r = call(&tomorrow, change("POST", "/api/backfill", &session(), r#"{"count": 8}"#)).await;
    assert_eq!((r.status, r.json()["activities"].as_u64()), (202, Some(8)), "{}", r.text());
    let r = call(&tomorrow, change("POST", "/api/backfill", &session(), r#"{"count": 5}"#)).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("2 remain"), "{}", r.text());
    let r = call(&tomorrow, change("POST", "/api/backfill", &session(), r#"{"count": 2}"#)).await;
    assert_eq!(r.status, 202, "{}", r.text());
}

/// An import is charged what it imports: a range takes what remains of the day up front,
/// and what it did not bring (activities already stored, a range emptier than the
/// allowance) is given back when it ends. `/api/me` says what remains before anyone asks.
#[tokio::test]
async fn an_import_is_charged_only_what_it_imported() {
    let h = harness("rights-backfill-refund").await;
    let mut env = h.stack.handler_env();
    env.extend([("PUBLIC_BASE_URL", ORIGIN.to_string()), ("BACKFILL_DAILY_LIMIT", "10".to_string())]);
    let config =
        stravasync_api::ApiConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let api = Arc::new(
        stravasync_api::Api::new(
            config,
            stravasync_core::Secret::new(LOCAL_SESSION_KEY),
            h.stack.store(),
            h.stack.queue(),
        )
        .with_clock(Arc::new(|| NOW)),
    );
    let remaining = || async {
        call(&api, get("/api/me", Some(&session()))).await.json()["limits"]["backfill_remaining_today"].clone()
    };
    assert_eq!(remaining().await, 10);
    // The recordings are all stored: the range imports none of them.
    let r = call(&api, change("POST", "/api/backfill", &session(), r#"{"after": "2013-01-01"}"#)).await;
    assert_eq!((r.status, r.json()["activities"].as_u64()), (202, Some(10)), "{}", r.text());
    assert_eq!(remaining().await, 0, "taken up front");
    let jobs = drain(&h.stack).await;
    assert!(matches!(jobs.as_slice(), [Job::Backfill { charged: Some(10), .. }]), "{jobs:?}");
    assert_eq!(h.consumer.process(&record(&jobs[0], "range", 1)).await, Outcome::Done);
    let progress = h.stack.store().get_profile(ATHLETE).await.unwrap().unwrap().backfill.unwrap();
    assert_eq!((progress.done, progress.imported, progress.finished_at.is_some()), (4, 0, true), "{progress:?}");
    assert_eq!(remaining().await, 10, "given back: nothing imported");
    // A re-sync of the two newest imports them again: two are charged.
    let r = call(&api, change("POST", "/api/backfill", &session(), r#"{"count": 2, "refresh": true}"#)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let jobs = drain(&h.stack).await;
    assert_eq!(h.consumer.process(&record(&jobs[0], "refresh", 1)).await, Outcome::Done);
    assert_eq!(remaining().await, 8);
}

/// Two tabs change the threshold history from one version: the change that reaches the
/// consumer second is refused, stores nothing and is reported; once the store has moved on,
/// the API refuses a change from the old version at once (409). A change names its version
/// by `If-Match` or in its body, and changes are rationed per day.
#[tokio::test]
async fn two_tabs_cannot_lose_each_others_threshold_change() {
    let h = harness("rights-thresholds").await;
    let store = h.stack.store();
    let thresholds = call(&h.api, get("/api/me/thresholds", Some(&session()))).await;
    assert_eq!((thresholds.status, thresholds.header("etag")), (200, Some("\"0\"")));
    let post = |body: &str, tag: Option<&str>| {
        let mut r = change("POST", "/api/me/thresholds", &session(), body);
        if let Some(tag) = tag {
            r.headers_mut().insert("if-match", tag.parse().unwrap());
        }
        r
    };
    let running = r#"{"entry": {"group": "running", "effective_from": "2013-01-01", "ftp": 280}}"#;
    let swim = r#"{"entry": {"group": "swimming", "effective_from": "2013-01-01", "css": 1.2}}"#;
    // Tab one and tab two, both from version 0, before the consumer ran.
    assert_eq!(call(&h.api, post(running, Some("\"0\""))).await.status, 202);
    assert_eq!(call(&h.api, post(swim, Some("\"0\""))).await.status, 202);
    for job in drain(&h.stack).await {
        assert_eq!(h.consumer.process(&record(&job, "t", 1)).await, Outcome::Done, "{job:?}");
    }
    let stored = store.threshold_history(ATHLETE).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert!(stored.history.history.iter().any(|e| e.ftp == Some(280.0)), "the first change stored");
    assert!(!stored.history.history.iter().any(|e| e.css.is_some()), "the second refused, not merged over it");
    let shown = call(&h.api, get("/api/me/thresholds", Some(&session()))).await.json();
    assert!(shown["refused"].as_str().unwrap().contains("changed elsewhere"), "{shown}");
    // From the old version now: refused at once, with the reason.
    let stale = call(&h.api, post(swim, Some("\"0\""))).await;
    assert_eq!(stale.status, 409, "{}", stale.text());
    assert!(stale.json()["error"].as_str().unwrap().contains("reload"), "{}", stale.text());
    // No version at all: refused, naming it; in the body it is as good as If-Match.
    let none = call(&h.api, post(swim, None)).await;
    assert_eq!((none.status, none.json()["field"].as_str()), (400, Some("version")));
    let with_body = swim.replace("}}", r#"}, "version": 1}"#);
    assert_eq!(call(&h.api, post(&with_body, None)).await.status, 202);
    // Removing an entry that is not there is refused before anything is queued.
    let gone = change("DELETE", "/api/me/thresholds?group=running&effective_from=2020-01-01&version=1", &session(), "");
    let gone = call(&h.api, gone).await;
    assert_eq!((gone.status, gone.json()["field"].as_str()), (400, Some("effective_from")), "{}", gone.text());
    for job in drain(&h.stack).await {
        assert_eq!(h.consumer.process(&record(&job, "t", 1)).await, Outcome::Done, "{job:?}");
    }
    let shown = call(&h.api, get("/api/me/thresholds", Some(&session()))).await.json();
    assert_eq!((shown["version"].as_u64(), shown["refused"].is_null()), (Some(2), true), "{shown}");
    // The day's ration of changes: the two above and the refused one counted, then 429.
    let limit = stravasync_read::thresholds::THRESHOLD_CHANGES_DAILY;
    let mut granted = 3;
    loop {
        let r = call(&h.api, post(running, Some("\"2\""))).await;
        if r.status == 429 {
            assert!(r.header("retry-after").is_some());
            break;
        }
        assert_eq!(r.status, 202, "{}", r.text());
        granted += 1;
        assert!(granted <= limit, "more than {limit} changes in a day");
    }
    assert_eq!(granted, limit);
}

#[tokio::test]
async fn the_privacy_page_says_what_is_stored_and_every_page_links_it() {
    let h = harness("rights-privacy").await;
    let page = call(&h.api, get("/privacy", None)).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    for field in ["name", "sport_type", "start_date_local", "distance", "moving_time", "average_heartrate"] {
        assert!(text.contains(field), "privacy names the summary field {field}");
    }
    let summary = serde_json::to_value(live(&h.stack.store(), EDGE810).await.summary).unwrap();
    for field in summary.as_object().unwrap().keys().filter(|k| *k != "athlete_id") {
        assert!(text.contains(field.as_str()), "every stored summary field is named: {field}");
    }
    let set = decode_chunks(
        &h.stack
            .store()
            .get_stream_chunks(ATHLETE, EDGE810, live(&h.stack.store(), EDGE810).await.streams_ref().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    for key in set.keys() {
        assert!(text.contains(key), "every stored stream is named: {key}");
    }
    for phrase in [
        "read,activity:read_all",
        "deleted when you disconnect",
        "revoke access in Strava",
        "never shown to other users",
        "never used to train machine-learning",
        "support@example.test",
    ] {
        assert!(text.contains(phrase), "{phrase}");
    }
    // Every page links it, and names the support contact.
    for (path, cookie) in [("/", None), ("/", Some(session())), ("/disconnected", None), ("/privacy", None)] {
        let page = call(&h.api, get(path, cookie.as_deref())).await.text();
        assert!(page.contains("href=\"/privacy\"") && page.contains("mailto:support@example.test"), "{path}");
    }
    let http = stravasync_strava::tls::http_client_builder().build().unwrap();
    let denied = http.get(format!("{}/oauth/callback?error=access_denied", h.site)).send().await.unwrap();
    assert_eq!(denied.status().as_u16(), 403);
    let callback_page = denied.text().await.unwrap();
    assert!(callback_page.contains("href=\"/privacy\"") && callback_page.contains("support@example.test"));
    // Strava's name is attribution only, never the product's.
    let dashboard = call(&h.api, get("/", Some(&session()))).await.text();
    assert!(dashboard.contains("Powered by Strava"));
    let title = dashboard.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert!(!title.to_lowercase().contains("strava"), "{title}");
    let list = call(&h.api, get("/api/activities", Some(&session()))).await.json();
    for a in list["activities"].as_array().unwrap() {
        assert_eq!(a["strava_url"], format!("https://www.strava.com/activities/{}", a["id"]));
    }
    let one = call(&h.api, get(&format!("/api/activities/{EDGE810}"), Some(&session()))).await.json();
    assert_eq!(one["activity"]["strava_url"], format!("https://www.strava.com/activities/{EDGE810}"));
}
