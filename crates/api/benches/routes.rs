//! Read API figures. `cargo bench -p stravasync-api --bench routes`
//!
//! The insight routes (form, bests, weeks) are measured on a ten-year history instead
//! (`insight_route_10y`); their DynamoDB read units are `insight_reads`' (an example on
//! the local moto server).
//!
//! Handler CPU per route on the demo's data (one athlete, a 60-activity season scored by
//! the real consumer from fake-strava's generated streams, its PMC by the real rollup),
//! in-memory ports, one request through the axum router as Lambda hands it over. The
//! loopback latency against the local stack is `cargo run --release -p
//! stravasync-devtools --example api_latency`.

use std::hint::black_box;

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use fake_strava::data::{GENERATED_ATHLETE_BASE, Season};
use stravasync_api::router;
use stravasync_api::testing::memory_api;
use stravasync_consumer::{Outcome, Record};
use stravasync_core::job::Job;
use stravasync_core::signed::{Session, sign_session};
use stravasync_rollup::{Mode, Rollup, RollupRequest};
use stravasync_testkit::memory::{MemoryQueue, MemoryStore};
use tower::ServiceExt;

const NOW: i64 = 1_780_000_000;
const ATHLETE: i64 = GENERATED_ATHLETE_BASE + 1;

fn seeded_store(rt: &tokio::runtime::Runtime) -> MemoryStore {
    rt.block_on(async {
        let season = Season { athletes: 1, activities_per_athlete: 60, seed: 7, end: NOW - 86_400, block_days: 0 };
        let fake = fake_strava::start(fake_strava::FakeConfig {
            season: Some(season),
            client_secret: "client-secret-value".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let c = stravasync_consumer::testing::memory_consumer(&fake);
        stravasync_testkit::connect(&fake, &c.vault, &c.store, ATHLETE, "read,activity:read_all").await;
        let job = Job::start_backfill(ATHLETE, Some(60), None, None, None);
        let mut queue = vec![job];
        while let Some(job) = queue.pop() {
            let record = Record {
                message_id: "m".into(),
                body: serde_json::to_string(&job).unwrap(),
                receive_count: 1,
                ..Default::default()
            };
            assert_eq!(c.process(&record).await, Outcome::Done);
            queue.extend(c.queue.take().iter().map(|m| Job::parse(&m.body).unwrap()));
        }
        let rollup = Rollup::new(c.store, MemoryQueue::default());
        rollup.run(&RollupRequest { mode: Mode::Dirty, athlete_id: None }, NOW).await.unwrap();
        rollup.store
    })
}

/// The API on `store` at [`NOW`], and a session cookie of [`ATHLETE`] for it.
fn api_with_session(store: MemoryStore) -> (std::sync::Arc<stravasync_api::testing::MemoryApi>, String) {
    let key = "bench-session-key";
    let api = memory_api(store, key, NOW, "https://bench.example");
    let session = Session { athlete: ATHLETE, generation: stravasync_testkit::SESSION_GENERATION };
    (api, format!("__Host-stravasync_session={}", sign_session(key.as_bytes(), session, NOW + 3600)))
}

/// One criterion function per `(name, path)`: a GET with the session through the router,
/// the body read to its end (each checked for a 200 first).
fn bench_gets(
    c: &mut Criterion,
    group: &str,
    rt: &tokio::runtime::Runtime,
    store: MemoryStore,
    paths: &[(&str, String)],
) {
    let (api, cookie) = api_with_session(store);
    let mut group = c.benchmark_group(group);
    for (name, path) in paths {
        let req = || axum::http::Request::get(path).header("cookie", &cookie).body(Body::empty()).unwrap();
        let status = rt.block_on(router(api.clone()).oneshot(req())).unwrap().status();
        assert_eq!(status, 200, "{name}");
        group.bench_function(*name, |b| {
            b.to_async(rt).iter(|| async {
                let resp = router(api.clone()).oneshot(req()).await.unwrap();
                black_box(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap())
            })
        });
    }
    group.finish();
}

fn routes(c: &mut Criterion) {
    use stravasync_core::ports::roles::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = seeded_store(&rt);
    let newest = rt.block_on(async {
        let page = store.activities_page(ATHLETE, None, 60).await.unwrap();
        page.iter().find(|a| a.stream_chunks > 0).map(|a| a.activity_id).expect("an activity with streams")
    });
    let paths = [
        ("GET /", "/".to_string()),
        ("GET /api/me", "/api/me".to_string()),
        ("GET /api/pmc (90 days)", "/api/pmc".to_string()),
        ("GET /api/activities (20)", "/api/activities".to_string()),
        ("GET /api/activities/{id}", format!("/api/activities/{newest}")),
        ("GET /api/activities/{id}/streams", format!("/api/activities/{newest}/streams")),
        ("GET /static/uPlot.iife.min.js", "/static/uPlot.iife.min.js".to_string()),
    ];
    bench_gets(c, "api_route", &rt, store, &paths);
    println!("dashboard first visit: {} bytes (page and assets, uncompressed)", stravasync_api::dashboard_bytes());
}

/// The insight routes on an athlete's ten years: 3,650 activities (the four shared
/// recordings in turn, with their real metrics, zones and peaks), one a day, and a PMC
/// row a day ([`stravasync_testkit::store_history`]).
fn insight_routes(c: &mut Criterion) {
    use stravasync_core::LocalDate;
    use stravasync_core::model::AthleteProfile;
    use stravasync_core::ports::roles::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = MemoryStore::default();
    rt.block_on(async {
        let mut profile = AthleteProfile::new(ATHLETE);
        profile.session_generation = Some(stravasync_testkit::SESSION_GENERATION);
        profile.thresholds = stravasync_testkit::thresholds();
        store.put_profile(&profile).await.unwrap();
        stravasync_testkit::store_history(&store, ATHLETE, 3_650, 3_650, LocalDate::from_unix_seconds(NOW)).await;
    });
    let paths = ["/api/form", "/api/bests?range=90d", "/api/bests?range=all", "/api/weeks"].map(|p| (p, p.to_string()));
    bench_gets(c, "insight_route_10y", &rt, store, &paths);
}

criterion_group!(benches, routes, insight_routes);
criterion_main!(benches);
