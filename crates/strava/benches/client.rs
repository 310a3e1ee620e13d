//! Client overhead per call against an in-process fake-strava: fetching and parsing the
//! streams of a 6-hour 1 Hz ride (loopback HTTP included), next to the parse alone.
//! `cargo bench -p stravasync-strava --bench client`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fake_strava::FakeConfig;
use serde_json::json;
use stravasync_core::Secret;
use stravasync_core::model::AppCredentials;
use stravasync_core::streams::parse_streams_json;
use stravasync_strava::{AthleteSession, StravaClient, StravaConfig};
use stravasync_testkit::memory::MemoryVault;

fn six_hour_streams(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = FakeConfig {
        fixtures_dir: fake_strava::default_fixtures_dir(),
        limit_15min: u32::MAX,
        limit_daily: u32::MAX,
        read_limit_15min: u32::MAX,
        read_limit_daily: u32::MAX,
        ..Default::default()
    };
    let fake = rt.block_on(fake_strava::start(config)).unwrap();
    let athlete = 5_123_456_789;
    let id = 1_i64 << 40;
    let tiled = fake.state.activity_streams(17_000_000_101).unwrap().tiled(6 * 3600);
    fake.state.insert_activity(
        json!({"id": id, "athlete": {"id": athlete}, "type": "Ride", "sport_type": "Ride",
               "start_date": "2024-05-01T08:00:00Z", "start_date_local": "2024-05-01T10:00:00Z"}),
        Some(tiled.clone()),
    );
    let body = serde_json::to_vec(&tiled).unwrap();
    println!("6-hour streams response: {} samples, {} B", tiled.len(), body.len());

    let client = StravaClient::new(
        StravaConfig::new("12345", Secret::new("fake-client-secret")).with_urls(fake.api_url(), fake.oauth_url()),
    )
    .unwrap();
    let vault = MemoryVault::new(AppCredentials {
        client_id: "12345".into(),
        client_secret: Secret::new("fake-client-secret"),
        verify_token: Secret::new("v"),
        subscription_id: 1,
    });
    rt.block_on(stravasync_testkit::mint_tokens(&fake, &vault, athlete, "read,activity:read_all"));

    c.bench_function("client/streams_6h_over_loopback", |b| {
        b.to_async(&rt).iter(|| async {
            let mut session = AthleteSession::new(&client, &vault, athlete);
            black_box(session.streams(id).await.unwrap())
        })
    });
    c.bench_function("client/parse_only_6h", |b| b.iter(|| parse_streams_json(black_box(&body)).unwrap()));
    // The fake's own share: serializing the response body.
    c.bench_function("fake/serialize_6h", |b| b.iter(|| serde_json::to_vec(black_box(&tiled)).unwrap()));
}

criterion_group!(benches, six_hour_streams);
criterion_main!(benches);
