//! Processes one webhook create of a long 1 Hz ride through the real consumer code
//! (in-memory ports, in-process fake-strava over HTTP), for a peak-RSS measurement:
//! `cargo build --release -p stravasync-consumer --example peak_rss`
//! `/usr/bin/time -v target/release/examples/peak_rss 24` (hours), or
//! `/usr/bin/time -v target/release/examples/peak_rss cap`: the largest activity the
//! consumer scores, every stream at the sample cap (345,600 samples: 48 h at 1 Hz, each
//! second recorded twice) and the resampled series at its 48 h cap.
//! The figure includes the fake's own copy of the streams, so it overstates the consumer.

use serde_json::json;
use stravasync_consumer::{Outcome, Record};
use stravasync_core::ports::roles::*;

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
    let edge810 = fake.state.activity_streams(17_000_000_101).expect("edge810");
    let arg = std::env::args().nth(1).unwrap_or_else(|| "24".into());
    let day = if arg == "cap" {
        let seconds = stravasync_core::streams::MAX_RESAMPLED_S as usize;
        let twice: Vec<usize> = (0..seconds).flat_map(|i| [i, i]).collect();
        let mut set = edge810.tiled(seconds).select(&twice);
        set.set(stravasync_core::streams::NumericKey::Time, Some(twice.iter().map(|&i| i as f64).collect()));
        assert_eq!(set.len(), stravasync_core::streams::MAX_SAMPLES);
        set
    } else {
        let hours: f64 = arg.parse().expect("hours, or `cap`");
        edge810.tiled((hours * 3600.0) as usize)
    };
    let samples = day.len();
    fake.state.insert_activity(
        json!({"id": id, "athlete": {"id": athlete}, "type": "Ride", "sport_type": "Ride",
               "start_date": "2024-05-01T04:00:00Z", "start_date_local": "2024-05-01T06:00:00Z"}),
        Some(day),
    );
    let c = stravasync_consumer::testing::memory_consumer(&fake);
    stravasync_testkit::mint_tokens(&fake, &c.vault, athlete, "read,activity:read_all").await;
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
    let stored = c.store.get_activity(athlete, id).await.expect("read");
    let scored = matches!(&stored, Some(stravasync_core::model::ActivityState::Live(a)) if a.metrics.is_some());
    assert!(scored, "the activity at the cap is scored");
    println!("processed a {samples}-sample activity: {outcome:?}, scored");
}
