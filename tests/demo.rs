//! The demo scenario end to end (moto, fake-strava, the three handlers), with the final PMC
//! checked against one computed directly from the activities' streams.

use std::collections::BTreeMap;

use stravasync_core::LocalDate;
use stravasync_core::analysis::score_single;
use stravasync_core::model::{ActivitySummary, PmcConstants};
use stravasync_core::pmc::{self, PmcState};
use stravasync_core::ports::TokenVault;
use stravasync_core::ports::roles::*;
use stravasync_devtools::demo::{DemoOptions, run};

#[tokio::test]
async fn the_demo_scenario_ends_in_the_pmc_of_the_athletes_activities() {
    demo_scenario(false).await;
}

/// The same scenario with every token sealed by KMS in the table (`TokenStore=dynamodb-kms`):
/// the OAuth callback stores them, the consumer reads them for the backfill and the pushes.
#[tokio::test]
async fn the_demo_scenario_on_the_kms_token_store() {
    demo_scenario(true).await;
}

async fn demo_scenario(kms_tokens: bool) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(endpoint.starts_with("http://127.0.0.1"), "run through `make test` (needs the local moto server)");
    let now = 1_795_300_000; // 2026-11-21
    let report = run(
        DemoOptions {
            suffix: format!("e2e-{kms_tokens}-{}", std::process::id()),
            activities: 40,
            seed: 3,
            now,
            kms_tokens,
            read_limits: None,
        },
        |_| {},
    )
    .await
    .expect("demo scenario");
    assert!(report.session_cookie.starts_with("stravasync_session="), "{}", report.session_cookie);
    assert_eq!(report.deleted_activities, 1);
    // A new application connects its developer only: a second athlete is refused at the
    // token exchange, and the callback tells them, and the operator, what it means.
    let (status, title, message) = &report.capacity_refusal;
    assert_eq!((*status, title.as_str()), (403, "Not connected: this app is full"));
    assert!(message.contains("Strava's review") && message.contains("Nothing about you was stored"), "{message}");

    // What should be there: the 30 most recent activities of the season (the connect
    // backfill), plus the 2 pushed today, minus the deleted one.
    let fake = &report.fake.state;
    let ids = fake.activity_ids(report.athlete); // not deleted, oldest first
    let expected_ids = &ids[ids.len() - 31..];
    assert_eq!(report.stored_activities, 31);

    // Scores straight from the fake's streams with the athlete's thresholds.
    let store = report.stack.store();
    let thresholds = store.get_profile(report.athlete).await.unwrap().unwrap().thresholds;
    let mut scores = Vec::new();
    for id in expected_ids {
        let summary: ActivitySummary = serde_json::from_value(fake.activity_json(*id).unwrap()).unwrap();
        let streams = fake.activity_streams(*id).unwrap_or_default();
        let m = score_single(&summary, &streams, &thresholds).unwrap();
        scores.push((summary.local_date().unwrap(), m.score.load()));
    }
    let loads: BTreeMap<LocalDate, f64> = pmc::daily_loads(scores);
    let first = *loads.keys().next().unwrap();
    let today = LocalDate::from_unix_seconds(now);
    let expected = pmc::roll_forward(first, today, PmcState::default(), &loads, PmcConstants::default());

    assert_eq!(report.pmc.len(), expected.len(), "a row for every day from the first activity to today");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0);
    for (got, want) in report.pmc.iter().zip(&expected) {
        assert_eq!(got.date, want.date);
        assert!(
            close(got.load, want.load)
                && close(got.ctl, want.ctl)
                && close(got.atl, want.atl)
                && close(got.tsb, want.tsb),
            "{}: got {got:?}, want {want:?}",
            got.date
        );
    }
    assert!(expected.last().unwrap().ctl > 0.0);

    // The athlete's tokens are where the stack keeps them, and only there.
    let in_store = report.stack.token_vault().get_tokens_fresh(report.athlete).await.unwrap();
    assert_eq!(in_store.map(|t| t.athlete_id), Some(report.athlete));
    let as_secret = report.stack.vault().get_tokens_fresh(report.athlete).await.unwrap();
    assert_eq!(as_secret.is_some(), !kms_tokens, "a per-athlete secret exists only on the Secrets Manager store");
}

/// The served demo keeps time: its clock moves on (here by half an hour at once, no
/// waiting), and what counts time follows it. One export every 5 minutes: a second is
/// refused, one after the half hour is served. After a disconnect and a reconnect the
/// connection's history import runs to its end in the new rate windows.
#[tokio::test]
async fn the_served_demo_keeps_time_exports_again_and_imports_after_reconnecting() {
    use stravasync_consumer::pump::pump_until_idle;
    let now = 1_795_300_000; // 2026-11-21
    let options = DemoOptions {
        suffix: format!("clock-{}", std::process::id()),
        activities: 40,
        seed: 5,
        now,
        kms_tokens: false,
        read_limits: None,
    };
    let report = run(options, |_| {}).await.expect("demo scenario");
    let http =
        stravasync_strava::tls::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let site = report.base_url.clone();
    let export = |cookie: String| {
        let (http, site) = (http.clone(), site.clone());
        async move {
            let link = http
                .get(format!("{site}/api/export"))
                .header("cookie", cookie)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            let status = link.status().as_u16();
            let body: serde_json::Value = link.json().await.unwrap();
            if status != 200 {
                return (status, body);
            }
            let zip = http.get(body["url"].as_str().unwrap()).send().await.unwrap();
            (zip.status().as_u16(), serde_json::json!({ "bytes": zip.bytes().await.unwrap().len() }))
        }
    };
    let cookie = report.session_cookie.clone();
    let (status, body) = export(cookie.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["bytes"].as_u64().unwrap() > 1000);
    let (status, body) = export(cookie.clone()).await;
    assert_eq!(status, 429, "{body}");
    assert!(body["retry_after_s"].as_i64().unwrap() > 250, "{body}");
    report.clock.advance(30 * 60);
    assert_eq!(report.clock.now(), now + 1800);
    let (status, body) = export(cookie.clone()).await;
    assert_eq!(status, 200, "half an hour later: {body}");

    // Disconnect, then connect again: the new connection's import runs to its end.
    let gone = http
        .post(format!("{site}/api/me/disconnect"))
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body("{}");
    let deleting = tokio::spawn(gone.send());
    // The API waits for the consumer, which this test plays.
    let mut deleted = false;
    for _ in 0..200 {
        pump_until_idle(&report.consumer, 100).await.unwrap();
        if !report.stack.store().athlete_has_items(report.athlete).await.unwrap() {
            deleted = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(deleted, "the disconnect is carried out");
    assert_eq!(deleting.await.unwrap().unwrap().status().as_u16(), 200);
    report.clock.advance(60);
    let connect = http.get(format!("{site}/connect")).send().await.unwrap();
    let header = |r: &reqwest::Response, h: &str| r.headers().get(h).unwrap().to_str().unwrap().to_string();
    let nonce = header(&connect, "set-cookie").split(';').next().unwrap().to_string();
    let consent =
        http.get(format!("{}&athlete_id={}", header(&connect, "location"), report.athlete)).send().await.unwrap();
    let landed = http.get(header(&consent, "location")).header("cookie", nonce).send().await.unwrap();
    assert_eq!(landed.status().as_u16(), 303, "connected again");
    pump_until_idle(&report.consumer, 100).await.unwrap();
    let profile = report.stack.store().get_profile(report.athlete).await.unwrap().expect("connected");
    let import = profile.backfill.expect("the connection's import");
    assert!(import.finished_at.is_some(), "the import ran to its end: {import:?}");
    assert_eq!(import.done, 30, "{import:?}");
    assert!(import.requested_at >= now + 1800, "on the demo's clock: {import:?}");
}
