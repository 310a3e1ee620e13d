//! Processes one webhook create of a 24-hour 1 Hz ride through the real consumer code
//! (in-memory ports, in-process fake-strava over HTTP), for a peak-RSS measurement:
//! `cargo build --release -p stravasync-consumer --example peak_rss_24h`
//! `/usr/bin/time -v target/release/examples/peak_rss_24h`
//! The figure includes the fake's own copy of the streams, so it overstates the consumer.

use serde_json::json;
use stravasync_consumer::{Consumer, ConsumerConfig, Outcome, Record};
use stravasync_core::Secret;
use stravasync_core::memory::{MemoryQueue, MemoryStore, MemoryVault};
use stravasync_core::model::{OAuthTokens, Scopes};
use stravasync_core::ports::TokenVault;
use stravasync_strava::{StravaClient, StravaConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let fake = fake_strava::start(fake_strava::FakeConfig {
        fixtures_dir: fake_strava::default_fixtures_dir(),
        client_secret: "client-secret-value".into(),
        ..Default::default()
    })
    .await
    .expect("fake-strava");
    let athlete = 5_123_456_789_i64;
    let id = 1_i64 << 40;
    let day = fake.state.activity_streams(17_000_000_101).expect("edge810").tiled(24 * 3600);
    let samples = day.len();
    fake.state.insert_activity(
        json!({"id": id, "athlete": {"id": athlete}, "type": "Ride", "sport_type": "Ride",
               "start_date": "2024-05-01T04:00:00Z", "start_date_local": "2024-05-01T06:00:00Z"}),
        Some(day),
    );
    let env = [("STRAVA_API_URL", fake.api_url()), ("STRAVA_OAUTH_URL", fake.oauth_url())];
    let config = ConsumerConfig::from_lookup(|k| {
        env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).or_else(|| {
            (!["RATE_LIMIT_15MIN", "RATE_LIMIT_DAILY", "BACKGROUND_SHARE", "BACKFILL_BATCH"].contains(&k))
                .then(|| "x".into())
        })
    })
    .expect("config");
    let strava = StravaClient::new(
        StravaConfig::new("12345", Secret::new("client-secret-value")).with_urls(fake.api_url(), fake.oauth_url()),
    )
    .expect("client");
    let c = Consumer::new(
        config,
        strava,
        MemoryStore::default(),
        MemoryVault::new(stravasync_aws::local::local_app_credentials()),
        MemoryQueue::default(),
    );
    let (a, r, e) = fake.state.mint_tokens(athlete, "read,activity:read_all");
    c.vault
        .put_tokens(&OAuthTokens {
            athlete_id: athlete,
            access_token: Secret::new(a),
            refresh_token: Secret::new(r),
            expires_at: e,
            scopes: Scopes::parse("read,activity:read_all"),
            connected_at: 0,
        })
        .await
        .expect("tokens");
    let body = json!({"kind": "webhook_event", "event": {"object_type": "activity", "object_id": id,
        "aspect_type": "create", "updates": {}, "owner_id": athlete, "subscription_id": 120475, "event_time": 1}});
    let outcome = c
        .process(&Record {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            body: body.to_string(),
            receive_count: 1,
            ..Default::default()
        })
        .await;
    assert_eq!(outcome, Outcome::Done);
    println!("processed a {samples}-sample activity: {outcome:?}");
}
