//! Every route bounded whatever is stored: the streams route charts stored series of
//! hostile shapes from their samples (the memory they take is measured in
//! `tests/memory.rs`), and the list and chart routes cap what one request returns.

use stravasync_core::codec::{encode_chunks, stream_set_id};
use stravasync_core::model::StoredActivity;
use stravasync_core::ports::roles::*;
use stravasync_core::streams::{MAX_SAMPLES, NumericKey, StreamSet};
use stravasync_testkit::{ATHLETE, EDGE810};

use crate::helpers::*;

/// Stores `set` as the streams of a copy of the EDGE810 ride under `id`, unscored, as the
/// consumer stores an activity over the scoring limit.
pub async fn store_with_streams(h: &Harness, id: i64, set: &StreamSet) {
    let store = h.stack.store();
    let chunks = encode_chunks(set).unwrap();
    let set_id = stream_set_id(&chunks).unwrap();
    store.put_stream_chunks(ATHLETE, id, &set_id, &chunks).await.unwrap();
    let mut a: StoredActivity = live(&store, EDGE810).await;
    a.activity_id = id;
    a.summary.id = id;
    a.metrics = None;
    a.unscored_reason = Some("longer than the pipeline scores".into());
    a.stream_chunks = chunks.len() as u32;
    a.streams_id = Some(set_id);
    store.put_activity(&a).await.unwrap();
}

/// The largest series the consumer keeps, sampled just under a pause apart: 345,600
/// samples over 360 days. A 1 Hz grid of it is 31 million seconds per channel.
pub fn widest_series() -> StreamSet {
    let time: Vec<f64> = (0..MAX_SAMPLES).map(|i| i as f64 * 90.0).collect();
    let watts: Vec<f64> = (0..MAX_SAMPLES).map(|i| 150.0 + (i % 100) as f64).collect();
    StreamSet::default().with(NumericKey::Time, time).with(NumericKey::Watts, watts)
}

#[tokio::test]
async fn hostile_stored_series_are_charted_from_their_samples() {
    let h = harness("limits-streams").await;
    let wide = 9_000_000_001;
    store_with_streams(&h, wide, &widest_series()).await;
    let r = call(&h.api, get(&format!("/api/activities/{wide}/streams?resolution=5000"), Some(&session()))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let chart = r.json();
    assert_eq!(chart["time"].as_array().unwrap().len(), 5_000);
    let watts: Vec<f64> = serde_json::from_value(chart["watts"].clone()).unwrap();
    assert_eq!(watts.len(), 5_000);
    assert!(watts.iter().all(|w| (150.0..250.0).contains(w)), "each point a mean of the samples");
    assert_eq!(chart["duration_s"], (MAX_SAMPLES - 1) as u64 * 90 + 1);

    // Two samples a year apart: a pause, two points.
    let far = 9_000_000_002;
    let set = StreamSet::default()
        .with(NumericKey::Time, vec![0.0, 31_536_000.0])
        .with(NumericKey::Watts, vec![100.0, 300.0]);
    store_with_streams(&h, far, &set).await;
    let r = call(&h.api, get(&format!("/api/activities/{far}/streams"), Some(&session()))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["watts"], serde_json::json!([100.0, 300.0]));
}

#[tokio::test]
async fn one_request_returns_a_bounded_amount() {
    let h = harness("limits-pages").await;
    for (path, status) in [
        ("/api/activities?limit=101", 400),
        ("/api/pmc?from=1900-01-01&to=2025-11-21", 400),
        ("/api/activities/17000000101/streams?resolution=5001", 400),
    ] {
        assert_eq!(call(&h.api, get(path, Some(&session()))).await.status, status, "{path}");
    }
}
