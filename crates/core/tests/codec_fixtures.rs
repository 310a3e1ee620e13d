//! The stream codec on every shared real recording: exact round trip, chunking, and the
//! compression the storage design relies on.

use stravasync_core::codec::{CHUNK_PAYLOAD_BYTES, decode_chunks, encode_chunks, encode_chunks_sized};
use stravasync_core::streams::parse_streams_json;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(stravasync_testkit::fixtures_dir())
        .expect("shared fixtures directory")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().strip_suffix(".streams.json")?.to_string();
            Some((name, std::fs::read(e.path()).ok()?))
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 4, "expected the four shared recordings");
    out
}

#[test]
fn every_fixture_round_trips_exactly() {
    for (name, json) in fixtures() {
        let set = parse_streams_json(&json).unwrap();
        set.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let chunks = encode_chunks(&set).unwrap();
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_PAYLOAD_BYTES + 64), "{name}");
        assert_eq!(decode_chunks(&chunks).unwrap(), set, "{name}");
        // And across many small chunks, in reverse order.
        let mut small = encode_chunks_sized(&set, 2048).unwrap();
        small.reverse();
        assert_eq!(decode_chunks(&small).unwrap(), set, "{name} in 2 KiB chunks");
    }
}

#[test]
fn one_hz_rides_compress_at_least_tenfold() {
    for (name, json) in fixtures() {
        let set = parse_streams_json(&json).unwrap();
        let stored: usize = encode_chunks(&set).unwrap().iter().map(Vec::len).sum();
        let ratio = json.len() as f64 / stored as f64;
        eprintln!("{name}: {} B JSON -> {stored} B stored ({ratio:.1}x)", json.len());
        if name.starts_with("ride_power") || name.starts_with("virtualride") {
            assert!(ratio >= 10.0, "{name}: only {ratio:.1}x smaller than its JSON");
        }
    }
}
