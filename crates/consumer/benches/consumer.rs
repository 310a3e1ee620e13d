//! Consumer figures. `cargo bench -p stravasync-consumer --bench consumer`
//!
//! - Strava requests per activity for create, title update and backfill (printed), on
//!   the in-memory ports against an in-process fake-strava.
//! - CPU per 6-hour activity excluding network: parse the streams JSON, compute every
//!   metric, encode the stream chunks (criterion).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fake_strava::data::{GENERATED_ATHLETE_BASE, Season};
use serde_json::json;
use stravasync_consumer::{ConsumerPolicy, Outcome, Record};
use stravasync_core::analysis::score_single;
use stravasync_core::codec::encode_chunks;
use stravasync_core::job::Job;
use stravasync_core::model::{ActivitySummary, Thresholds};
use stravasync_core::streams::parse_streams_json;

fn record(job: &Job) -> Record {
    Record {
        message_id: "m".into(),
        receipt_handle: "r".into(),
        body: serde_json::to_string(job).unwrap(),
        receive_count: 1,
        ..Default::default()
    }
}

fn requests_per_activity() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let season = Season { athletes: 1, activities_per_athlete: 400, seed: 9, end: 1_780_000_000, block_days: 0 };
        let fake = fake_strava::start(fake_strava::FakeConfig {
            fixtures_dir: fake_strava::default_fixtures_dir(),
            season: Some(season),
            client_secret: "client-secret-value".into(),
            limit_15min: u32::MAX,
            limit_daily: u32::MAX,
            read_limit_15min: u32::MAX,
            read_limit_daily: u32::MAX,
            ..Default::default()
        })
        .await
        .unwrap();
        // Requests are what is counted here, not the budget.
        let mut c = stravasync_consumer::testing::memory_consumer(&fake);
        c.policy = ConsumerPolicy { limit_15min: u32::MAX / 2, limit_daily: u32::MAX / 2, ..c.policy };
        for athlete in fake.state.athlete_ids() {
            stravasync_testkit::mint_tokens(&fake, &c.vault, athlete, "read,activity:read_all").await;
        }
        let event = |aspect: &str, updates: serde_json::Value, t: i64| -> Job {
            serde_json::from_value(json!({"kind": "webhook_event", "event": {"object_type": "activity",
                "object_id": 17_000_000_101_i64, "aspect_type": aspect, "updates": updates, "owner_id": 5_123_456_789_i64,
                "subscription_id": 120475, "event_time": t}}))
            .unwrap()
        };
        fake.state.clear_requests();
        assert_eq!(c.process(&record(&event("create", json!({}), 10))).await, Outcome::Done);
        println!("requests per activity: create = {}", fake.state.api_requests());
        fake.state.clear_requests();
        assert_eq!(c.process(&record(&event("update", json!({"title": "t"}), 20))).await, Outcome::Done);
        println!("requests per activity: title update = {}", fake.state.api_requests());

        fake.state.clear_requests();
        let athlete = GENERATED_ATHLETE_BASE + 1;
        let mut pending =
            vec![Job::start_backfill(athlete, None, None, None, None)];
        let mut seen = 0;
        while let Some(job) = pending.pop() {
            assert_eq!(c.process(&record(&job)).await, Outcome::Done);
            let sent = c.queue.messages();
            pending.extend(sent[seen..].iter().map(|m| Job::parse(&m.body).unwrap()));
            seen = sent.len();
        }
        let n = fake.state.activity_ids(athlete).len();
        let manual = fake.state.activity_ids(athlete).iter().filter(|id| fake.state.activity_streams(**id).is_none()).count();
        let calls = fake.state.api_requests();
        println!(
            "requests per activity: backfill of {n} activities ({manual} manual) = {calls} requests = {:.4} per activity \
             ({} list pages, {} streams; {:.4} per activity counting manual ones as if they needed a streams call)",
            calls as f64 / n as f64,
            fake.state.requests_to("/api/v3/athlete/activities"),
            fake.state.requests_to("/api/v3/activities/{id}/streams"),
            (calls + manual) as f64 / n as f64,
        );
    });
}

fn cpu_per_activity(c: &mut Criterion) {
    requests_per_activity();
    let dir = fake_strava::default_fixtures_dir().expect("shared fixtures");
    let streams = std::fs::read(dir.join("ride_power_edge810.streams.json")).unwrap();
    let json = serde_json::to_vec(&parse_streams_json(&streams).unwrap().tiled(6 * 3600)).unwrap();
    let summary: ActivitySummary =
        serde_json::from_slice(&std::fs::read(dir.join("ride_power_edge810.activity.json")).unwrap()).unwrap();
    let th = Thresholds::starter(stravasync_core::model::Sex::Male);
    c.bench_function("consumer/cpu_per_6h_activity", |b| {
        b.iter(|| {
            let set = parse_streams_json(black_box(&json)).unwrap();
            let m = score_single(&summary, &set, &th).unwrap();
            let chunks = encode_chunks(&set).unwrap();
            black_box((m, chunks))
        })
    });
}

criterion_group!(benches, cpu_per_activity);
criterion_main!(benches);
