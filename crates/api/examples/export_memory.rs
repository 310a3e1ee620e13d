//! What one export takes: an athlete with 5,000 activities over 10 years (the shared
//! recordings in turn, with their real streams) and a PMC row a day, exported through the
//! `/export` route on in-memory ports and read as a browser would.
//!
//! `cargo run --release -p stravasync-api --example export_memory [-- ACTIVITIES YEARS]`
//!
//! Prints the archive's size, the peak heap the export added (a counting allocator: the
//! store's own data is not counted), the process's peak RSS, and the time it took.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::body::Body;
use futures_util::StreamExt;
use stravasync_api::{Api, ApiConfig, router};
use stravasync_aws::resources::LOCAL_SESSION_KEY;
use stravasync_core::LocalDate;
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::ActivityStore;
use stravasync_testkit::memory::{MemoryQueue, MemoryStore};
use stravasync_testkit::{SESSION_GENERATION, session_cookie, store_history};
use tower::ServiceExt;

struct Counting;

static NOW_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = NOW_BYTES.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK_BYTES.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        NOW_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

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
    let env = [
        ("TABLE_NAME", "t"),
        ("QUEUE_URL", "q"),
        ("SESSION_SECRET_ID", "s"),
        ("PUBLIC_BASE_URL", "https://bench.example"),
        ("SUPPORT_EMAIL", "support@bench.example"),
    ];
    let config = ApiConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let api = Arc::new(
        Api::new(config, stravasync_core::Secret::new(LOCAL_SESSION_KEY), store, MemoryQueue::default())
            .with_clock(Arc::new(|| NOW)),
    );
    let cookie = session_cookie(LOCAL_SESSION_KEY, ATHLETE, SESSION_GENERATION, NOW + 3600);
    let req = axum::http::Request::get("/api/export").header("cookie", cookie).body(Body::empty()).unwrap();
    let link = router(api.clone()).oneshot(req).await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let path = link.trim_start_matches("https://bench.example").to_string();

    let rss_before = peak_rss_kb();
    let before = NOW_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(before, Ordering::Relaxed);
    let started = Instant::now();
    let resp = router(api.clone()).oneshot(axum::http::Request::get(&path).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body().into_data_stream();
    let mut bytes = 0usize;
    while let Some(piece) = body.next().await {
        bytes += piece.expect("a whole archive").len();
    }
    let elapsed = started.elapsed();
    let peak = PEAK_BYTES.load(Ordering::Relaxed).saturating_sub(before);
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
