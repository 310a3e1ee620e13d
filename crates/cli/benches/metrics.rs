//! The full metric suite, JSON parse included, on a 6-hour 1 Hz ride built by tiling the
//! real Edge 810 recording. `cargo bench -p stravasync-cli --bench metrics`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stravasync_cli::metrics_report::analysis_from_json;
use stravasync_core::streams::parse_streams_json;
use stravasync_core::thresholds::ThresholdHistory;

fn six_hour_ride(c: &mut Criterion) {
    let dir = stravasync_testkit::fixtures_dir();
    let activity = std::fs::read(dir.join("ride_power_edge810.activity.json")).unwrap();
    let streams = std::fs::read(dir.join("ride_power_edge810.streams.json")).unwrap();
    let tiled = parse_streams_json(&streams).unwrap().tiled(6 * 3600);
    let json = serde_json::to_vec(&tiled).unwrap();
    println!("6-hour ride: {} samples, {} B of streams JSON", tiled.len(), json.len());
    let history = ThresholdHistory::from_profile(&stravasync_testkit::thresholds());
    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(tiled.len() as u64));
    group.bench_function("full_suite_with_json_parse/6h_ride", |b| {
        b.iter(|| analysis_from_json(black_box(&activity), black_box(&json), &history).unwrap())
    });
    group.bench_function("parse_only/6h_ride", |b| b.iter(|| parse_streams_json(black_box(&json)).unwrap()));
    group.finish();
}

criterion_group!(benches, six_hour_ride);
criterion_main!(benches);
