//! Memory the routes take, counted by a global allocator (so in a test binary of its own):
//! charting the widest series the consumer stores takes megabytes, not the gigabytes of a
//! 1 Hz grid of the span it claims; an export, the season bests and the weekly totals take
//! the same memory for ten times the history (BENCHMARKS.md, "Export", measures 5,000 activities over 10 years).

use std::sync::Arc;

use axum::body::Body;
use futures_util::StreamExt;
use stravasync_api::router;
use stravasync_api::testing::{MemoryApi, memory_api};
use stravasync_aws::resources::LOCAL_SESSION_KEY;
use stravasync_core::LocalDate;
use stravasync_core::codec::{encode_chunks, stream_set_id};
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::roles::*;
use stravasync_core::streams::{MAX_SAMPLES, NumericKey, StreamSet};
use stravasync_testkit::alloc::{Counting, peak_of};
use stravasync_testkit::memory::MemoryStore;
use stravasync_testkit::{SESSION_GENERATION, session_cookie, store_history};
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MB: usize = 1 << 20;
const ATHLETE: i64 = 4242;
const NOW: i64 = 1_763_755_200;

fn api_of(store: MemoryStore) -> Arc<MemoryApi> {
    memory_api(store, LOCAL_SESSION_KEY, NOW, "https://memory.example")
}

async fn connected_store() -> MemoryStore {
    let store = MemoryStore::default();
    let mut profile = AthleteProfile::new(ATHLETE);
    profile.session_generation = Some(SESSION_GENERATION);
    store.put_profile(&profile).await.unwrap();
    store
}

/// Bytes of the whole answer to `GET path`, read as it comes and dropped.
async fn fetch(api: &Arc<MemoryApi>, path: &str) -> (u16, usize) {
    let cookie = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW + 3600);
    let req = axum::http::Request::get(path).header("cookie", cookie).body(Body::empty()).unwrap();
    let resp = router(api.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let mut body = resp.into_body().into_data_stream();
    let mut bytes = 0;
    while let Some(piece) = body.next().await {
        bytes += piece.unwrap().len();
    }
    (status, bytes)
}

#[tokio::test]
async fn routes_take_memory_bounded_by_one_activity_not_by_history_or_span() {
    // Charting the widest series the consumer keeps: 345,600 samples, 90 s apart (a 1 Hz
    // grid of it: 31 million seconds per channel, gigabytes).
    let store = connected_store().await;
    let time: Vec<f64> = (0..MAX_SAMPLES).map(|i| i as f64 * 90.0).collect();
    let watts: Vec<f64> = (0..MAX_SAMPLES).map(|i| 150.0 + (i % 100) as f64).collect();
    let set = StreamSet::default().with(NumericKey::Time, time).with(NumericKey::Watts, watts);
    let chunks = encode_chunks(&set).unwrap();
    drop(set);
    let set_id = stream_set_id(&chunks).unwrap();
    store.put_stream_chunks(ATHLETE, 1, &set_id, &chunks).await.unwrap();
    let mut a = stravasync_testkit::scored_activity(ATHLETE, 1, LocalDate::from_unix_seconds(NOW), 0.0);
    (a.metrics, a.stream_chunks, a.streams_id) = (None, chunks.len() as u32, Some(set_id));
    store.put_activity(&a).await.unwrap();
    let api = api_of(store);
    let ((status, bytes), peak) = peak_of(fetch(&api, "/api/activities/1/streams?resolution=5000")).await;
    assert_eq!(status, 200);
    assert!(bytes > 10_000);
    println!("streams route, widest series: peak {:.1} MB", peak as f64 / MB as f64);
    assert!(peak < 64 * MB, "charting took {peak} bytes");

    // Exports of 2 and of 10 years of history: the same memory.
    let mut peaks = Vec::new();
    for (activities, days) in [(50, 730), (500, 3_650)] {
        let store = connected_store().await;
        let history = store_history(&store, ATHLETE, activities, days, LocalDate::from_unix_seconds(NOW)).await;
        let api = api_of(store);
        let link = {
            let cookie = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW + 3600);
            let req = axum::http::Request::get("/api/export").header("cookie", cookie).body(Body::empty()).unwrap();
            let resp = router(api.clone()).oneshot(req).await.unwrap();
            assert_eq!(resp.status(), 303);
            resp.headers()["location"].to_str().unwrap().trim_start_matches("https://memory.example").to_string()
        };
        let ((status, bytes), peak) = peak_of(fetch(&api, &link)).await;
        assert_eq!(status, 200);
        println!(
            "export of {activities} activities and {} days: {bytes} bytes, peak {:.1} MB (stored chunks {:.1} MB)",
            history.pmc_days,
            peak as f64 / MB as f64,
            history.chunk_bytes as f64 / MB as f64
        );
        assert!(bytes as f64 > 0.5 * history.chunk_bytes as f64, "the streams are in it");
        peaks.push(peak);
    }
    assert!(peaks[1] < 64 * MB, "an export of 10 years took {} bytes", peaks[1]);
    assert!(peaks[1] < peaks[0] + 8 * MB, "ten times the history, the same memory: {peaks:?}");

    // The insight routes (here, not in a test of their own: the allocator counts every
    // thread of the binary): every best over 2 and over 20 years (the four recordings in
    // turn, with their real peaks), and the weekly totals: the same memory for ten times
    // the activities (one page of them at a time).
    peaks.clear();
    for (activities, days) in [(400, 730), (4_000, 7_300)] {
        let store = connected_store().await;
        store_history(&store, ATHLETE, activities, days, LocalDate::from_unix_seconds(NOW)).await;
        let api = api_of(store);
        let mut peak_here = 0;
        for path in ["/api/bests?range=all", "/api/weeks"] {
            let ((status, bytes), peak) = peak_of(fetch(&api, path)).await;
            assert_eq!(status, 200, "{path}");
            assert!(bytes > 1_000, "{path}");
            println!("{path} over {activities} activities: peak {:.2} MB", peak as f64 / MB as f64);
            peak_here = peak_here.max(peak);
        }
        peaks.push(peak_here);
        // Page by page, the same bests as from every activity at once.
        let cookie = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW + 3600);
        let req =
            axum::http::Request::get("/api/bests?range=all").header("cookie", cookie).body(Body::empty()).unwrap();
        let body = axum::body::to_bytes(router(api.clone()).oneshot(req).await.unwrap().into_body(), usize::MAX).await;
        let shown: serde_json::Value = serde_json::from_slice(&body.unwrap()).unwrap();
        let today = LocalDate::from_unix_seconds(NOW);
        let all = api.store.activities_between(ATHLETE, LocalDate::from_days_since_epoch(0), today).await.unwrap();
        let plain = stravasync_read::insight::season_bests(&all, stravasync_read::insight::BestsRange::All, today);
        for (key, channel) in [("power", &plain.power), ("heartrate", &plain.heartrate), ("pace", &plain.pace)] {
            for (got, want) in shown["bests"][key].as_array().unwrap().iter().zip(&channel.0) {
                let want = want.as_ref().map(|b| (b.activity_id, b.value));
                let got =
                    (!got.is_null()).then(|| (got["activity_id"].as_i64().unwrap(), got["value"].as_f64().unwrap()));
                // The value to the last bits JSON's parsing keeps.
                let same = match (got, want) {
                    (Some((g, gv)), Some((w, wv))) => g == w && (gv - wv).abs() <= 1e-12 * wv,
                    (g, w) => g.is_none() && w.is_none(),
                };
                assert!(same, "{activities} activities, {key}: {got:?} vs {want:?}");
            }
        }
    }
    assert!(peaks[1] < 4 * MB, "the bests of 20 years took {} bytes", peaks[1]);
    assert!(peaks[1] < peaks[0] + MB, "ten times the history, the same memory: {peaks:?}");
}
