//! Read API latency over loopback on the demo's stack: the real `api` router served by
//! axum on 127.0.0.1, DynamoDB on the local moto server, 200 requests per route after 20
//! of warm-up, one at a time on a kept-alive connection; p50 and p90 in ms.
//!
//! `infra/with-moto.sh cargo run --release -p stravasync-devtools --example api_latency`
//!
//! The figures are dominated by moto (a Python server) answering DynamoDB; the handler's
//! own CPU is `cargo bench -p stravasync-api --bench routes`.

use std::time::Instant;

use stravasync_devtools::demo::{DemoOptions, run};

#[tokio::main]
async fn main() {
    let now = stravasync_core::clock::unix_now();
    let options = DemoOptions {
        suffix: format!("latency-{}", std::process::id()),
        activities: 60,
        seed: 7,
        now,
        kms_tokens: false,
        read_limits: None,
    };
    let report = run(options, |_| {}).await.expect("the demo stack (run under infra/with-moto.sh)");
    let http = stravasync_strava::tls::http_client_builder().build().expect("an HTTP client");
    let newest = report.stack.store();
    let id = {
        use stravasync_core::ports::roles::*;
        let page = newest.activities_page(report.athlete, None, 60).await.unwrap();
        page.iter().find(|a| a.stream_chunks > 0).map(|a| a.activity_id).expect("an activity with streams")
    };
    let routes = [
        "/".to_string(),
        "/api/me".to_string(),
        "/api/pmc".to_string(),
        "/api/activities".to_string(),
        format!("/api/activities/{id}"),
        format!("/api/activities/{id}/streams"),
        "/static/uPlot.iife.min.js".to_string(),
    ];
    println!("{:<34} {:>8} {:>8} {:>9}", "route", "p50 ms", "p90 ms", "bytes");
    for route in routes {
        let url = format!("{}{route}", report.base_url);
        let mut times = Vec::new();
        let mut bytes = 0;
        for i in 0..220 {
            let start = Instant::now();
            let resp = http.get(&url).header("cookie", &report.session_cookie).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{route}");
            bytes = resp.bytes().await.unwrap().len();
            if i >= 20 {
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(f64::total_cmp);
        let label = route.replace(&id.to_string(), "{id}");
        println!("{label:<34} {:>8.2} {:>8.2} {bytes:>9}", times[times.len() / 2], times[times.len() * 9 / 10]);
    }
}
