//! Stream codec throughput and compressed size on the shared real recordings.
//! `cargo bench -p stravasync-core --bench codec`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stravasync_core::codec::{decode_chunks, encode_chunks};
use stravasync_core::streams::{NumericKey, parse_streams_json};

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    for name in ["ride_power_edge810", "run_fenix2", "virtualride_zwift", "ride_elevate_sample"] {
        let json =
            std::fs::read(stravasync_fixtures::required_dir().join(format!("{name}.streams.json"))).expect("fixture");
        let set = parse_streams_json(&json).expect("parse");
        let chunks = encode_chunks(&set).expect("encode");
        let stored: usize = chunks.iter().map(Vec::len).sum();
        // The ratio that counts is against the JSON of the streams the codec keeps (Strava
        // may send more: grade_adjusted_distance, watts_calc, ...).
        let mut doc: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json).expect("JSON");
        let kept_keys: Vec<&str> = NumericKey::ALL.iter().map(|k| k.name()).chain(["latlng", "moving"]).collect();
        let dropped: Vec<String> = doc.keys().filter(|k| !kept_keys.contains(&k.as_str())).cloned().collect();
        doc.retain(|k, _| kept_keys.contains(&k.as_str()));
        let kept = serde_json::to_vec(&doc).expect("JSON").len();
        println!(
            "size {name}: samples {} json {} B kept-streams json {kept} B stored {} B ratio {:.1}x (kept) {:.1}x (all); dropped {dropped:?}",
            set.len(),
            json.len(),
            stored,
            kept as f64 / stored as f64,
            json.len() as f64 / stored as f64
        );
        // Throughput is counted in bytes of the Strava JSON the stream set came from.
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(format!("encode/{name}"), |b| b.iter(|| encode_chunks(black_box(&set)).unwrap()));
        group.bench_function(format!("decode/{name}"), |b| b.iter(|| decode_chunks(black_box(&chunks)).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
