//! The demo scenario end to end (moto, fake-strava, the three handlers), with the final PMC
//! checked against one computed directly from the activities' streams.

use std::collections::BTreeMap;

use stravasync_core::LocalDate;
use stravasync_core::metrics;
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
        let m = metrics::compute(&summary.sport().unwrap(), &streams, &thresholds).unwrap();
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
