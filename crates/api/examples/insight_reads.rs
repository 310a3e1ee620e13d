//! Read units of the insight routes on a ten-year history in DynamoDB (the local moto
//! server), counted from the items each query returns as DynamoDB bills them
//! (`DynamoStore::query_read_units`: half a unit per started 4 KB per page; moto itself
//! reports no real figure). Each route also reads the profile (`GetItem`, 0.5 unit).
//!
//! `infra/with-moto.sh cargo run --release -p stravasync-api --example insight_reads`
//!
//! Ten years of one athlete: an activity a day (3,650: the four shared recordings in
//! turn, with their real metrics, zones and peaks), a PMC row a day.

use std::sync::Arc;

use axum::body::Body;
use stravasync_api::{Api, ApiConfig, router};
use stravasync_aws::local::{LocalStack, local_app_credentials, unique_suffix};
use stravasync_aws::resources::{LOCAL_SESSION_KEY, ResourceNames};
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::roles::*;
use stravasync_core::{LocalDate, Secret};
use stravasync_testkit::{SESSION_GENERATION, session_cookie, store_history};
use tower::ServiceExt;

const ATHLETE: i64 = 1;
/// 2026-06-01T12:00:00Z.
const NOW: i64 = 1_780_315_200;

#[tokio::main]
async fn main() {
    let sdk = stravasync_aws::sdk_config_from_env().expect("AWS environment (run under infra/with-moto.sh)");
    let stack = LocalStack::create(sdk, ResourceNames::local(&unique_suffix("insight")), &local_app_credentials())
        .await
        .expect("a local stack (run under infra/with-moto.sh)");
    let store = stack.store();
    let mut profile = AthleteProfile::new(ATHLETE);
    profile.session_generation = Some(SESSION_GENERATION);
    profile.thresholds = stravasync_testkit::thresholds();
    store.put_profile(&profile).await.unwrap();
    let history = store_history(&store, ATHLETE, 3_650, 3_650, LocalDate::from_unix_seconds(NOW)).await;
    println!("{} activities over 3,650 days, {} PMC rows", history.activities, history.pmc_days);
    let env = {
        let mut env = stack.handler_env();
        env.push(("PUBLIC_BASE_URL", "https://bench.example".to_string()));
        env
    };
    let config = ApiConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let api = Arc::new(
        Api::new(config, Secret::new(LOCAL_SESSION_KEY), store.clone(), stack.queue()).with_clock(Arc::new(|| NOW)),
    );
    let cookie = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW + 3600);
    println!("| route | query read units | bytes of JSON | time on moto |");
    println!("|---|---:|---:|---:|");
    for path in
        ["/api/pmc", "/api/form", "/api/bests?range=90d", "/api/bests?range=1y", "/api/bests?range=all", "/api/weeks"]
    {
        let before = store.query_read_units();
        let started = std::time::Instant::now();
        let req = axum::http::Request::get(path).header("cookie", &cookie).body(Body::empty()).unwrap();
        let resp = router(api.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let elapsed = started.elapsed();
        println!(
            "| `GET {path}` | {} | {} | {:.0} ms |",
            store.query_read_units() - before,
            body.len(),
            elapsed.as_secs_f64() * 1e3
        );
    }
    let items = store
        .activities_between(ATHLETE, LocalDate::from_days_since_epoch(0), LocalDate::from_unix_seconds(NOW))
        .await
        .unwrap();
    let bytes: usize = items.iter().map(|a| serde_json::to_vec(a).map_or(0, |v| v.len())).sum();
    println!("stored activity items: {} of about {} bytes each (their JSON)", items.len(), bytes / items.len().max(1));
    // What the handler spends decoding them (the in-memory bench's store keeps them decoded).
    let texts: Vec<String> = items.iter().map(|a| serde_json::to_string(a).unwrap()).collect();
    let started = std::time::Instant::now();
    for _ in 0..10 {
        for t in &texts {
            std::hint::black_box(serde_json::from_str::<stravasync_core::model::StoredActivity>(t).unwrap());
        }
    }
    println!("decoding the {} items' JSON: {:.1} ms", texts.len(), started.elapsed().as_secs_f64() * 1e3 / 10.0);
}
