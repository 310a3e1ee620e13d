//! What one export takes: an athlete with 5,000 activities over 10 years (the shared
//! recordings in turn, with their real streams) and a PMC row a day, exported through the
//! `/export` route on in-memory ports and read as a browser would.
//!
//! `cargo run --release -p stravasync-api --example export_memory [-- ACTIVITIES YEARS]`
//!
//! Prints the archive's size, the peak heap the export added (a counting allocator: the
//! store's own data is not counted), the process's peak RSS, and the time it took.

use std::time::Instant;

use axum::body::Body;
use futures_util::StreamExt;
use stravasync_api::router;
use stravasync_api::testing::memory_api;
use stravasync_aws::resources::LOCAL_SESSION_KEY;
use stravasync_core::LocalDate;
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::roles::*;
use stravasync_testkit::alloc::{Counting, peak_of};
use stravasync_testkit::memory::MemoryStore;
use stravasync_testkit::{SESSION_GENERATION, session_cookie, store_history};
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ATHLETE: i64 = 4242;
const NOW: i64 = 1_763_755_200;
const MB: f64 = 1_048_576.0;

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let activities: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let years: i32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let store = MemoryStore::default();
    let mut profile = AthleteProfile::new(ATHLETE);
    profile.session_generation = Some(SESSION_GENERATION);
    store.put_profile(&profile).await.unwrap();
    let history = store_history(&store, ATHLETE, activities, years * 365, LocalDate::from_unix_seconds(NOW)).await;
    let api = memory_api(store, LOCAL_SESSION_KEY, NOW, "https://bench.example");
    let cookie = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW + 3600);
    let req = axum::http::Request::get("/api/export").header("cookie", cookie).body(Body::empty()).unwrap();
    let link = router(api.clone()).oneshot(req).await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let path = link.trim_start_matches("https://bench.example").to_string();

    let rss_before = peak_rss_kb();
    let started = Instant::now();
    let (bytes, peak) = peak_of(async {
        let request = axum::http::Request::get(&path).body(Body::empty()).unwrap();
        let resp = router(api.clone()).oneshot(request).await.unwrap();
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body().into_data_stream();
        let mut bytes = 0usize;
        while let Some(piece) = body.next().await {
            bytes += piece.expect("a whole archive").len();
        }
        bytes
    })
    .await;
    let elapsed = started.elapsed();
    println!("export of {activities} activities over {years} years ({} PMC days)", history.pmc_days);
    println!("  stored stream chunks: {:.1} MB", history.chunk_bytes as f64 / MB);
    println!(
        "  archive: {:.1} MB ({:.1} KB an activity)",
        bytes as f64 / MB,
        bytes as f64 / 1024.0 / activities as f64
    );
    println!("  heap the export added at its peak: {:.1} MB", peak as f64 / MB);
    println!(
        "  process peak RSS: {:.1} MB (the in-memory store included; before the export {:.1} MB)",
        peak_rss_kb() as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!(
        "  time: {:.1} s ({:.0} activities/s on this machine)",
        elapsed.as_secs_f64(),
        activities as f64 / elapsed.as_secs_f64()
    );
}
