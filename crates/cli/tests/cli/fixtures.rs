//! Every shared real recording through `stravasync metrics`, compared with the expected
//! metrics of an independent reference implementation (1e-6 relative on floats, zone
//! seconds and duration exact), plus plausibility checks against the devices' own figures.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const NAMES: [&str; 4] = ["ride_power_edge810", "run_fenix2", "ride_elevate_sample", "virtualride_zwift"];

fn stravasync(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stravasync")).args(args).output().expect("run stravasync")
}

fn metrics_of(name: &str) -> Value {
    let dir = stravasync_testkit::fixtures_dir();
    let streams = dir.join(format!("{name}.streams.json"));
    let activity = dir.join(format!("{name}.activity.json"));
    metrics_with(name, &["--streams", streams.to_str().unwrap(), "--activity", activity.to_str().unwrap()])
}

/// `stravasync metrics` of `input` under the fixtures' thresholds.
fn metrics_with(name: &str, input: &[&str]) -> Value {
    let mut args = vec!["metrics"];
    args.extend_from_slice(input);
    args.extend_from_slice(&[
        "--ftp",
        "250",
        "--lthr",
        "165",
        "--hr-max",
        "190",
        "--hr-rest",
        "50",
        "--threshold-speed",
        "3.9",
        "--sex",
        "male",
    ]);
    let out = stravasync(&args);
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Walks `expected` and checks every value it holds in `actual`, skipping the reference's
/// diagnostics (`resampling`, `streams_used`, `boundary_ties`) and its echo of the input
/// (`thresholds`: §6b prints the group's, `thresholds_in_force`, checked by `science`).
fn assert_matches(path: &str, expected: &Value, actual: &Value) {
    match expected {
        Value::Object(map) => {
            for (k, v) in map {
                if ["resampling", "streams_used", "boundary_ties", "thresholds"].contains(&k.as_str()) {
                    continue;
                }
                // §6's per-source metrics are §6b's candidates.
                let a = match k.as_str() {
                    "power" | "pace" | "heartrate" if path.matches('.').count() == 0 => actual["candidates"].get(k),
                    _ => actual.get(k),
                };
                let a = a.unwrap_or_else(|| panic!("{path}.{k} missing in output"));
                assert_matches(&format!("{path}.{k}"), v, a);
            }
        }
        Value::Array(items) => {
            let a = actual.as_array().unwrap_or_else(|| panic!("{path}: not an array: {actual}"));
            assert_eq!(items.len(), a.len(), "{path}: length");
            for (i, (e, a)) in items.iter().zip(a).enumerate() {
                assert_matches(&format!("{path}[{i}]"), e, a);
            }
        }
        Value::Number(n) if n.is_f64() || path.contains("boundaries") => {
            let (e, a) = (n.as_f64().unwrap(), actual.as_f64().unwrap_or_else(|| panic!("{path}: {actual}")));
            assert!((e - a).abs() <= 1e-6 * e.abs().max(1e-9), "{path}: expected {e}, got {a}");
        }
        _ => assert_eq!(expected, actual, "{path}"),
    }
}

#[test]
fn every_fixture_matches_the_reference_metrics() {
    for name in NAMES {
        let expected: Value = serde_json::from_slice(
            &std::fs::read(stravasync_testkit::fixtures_dir().join(format!("expected/{name}.metrics.json"))).unwrap(),
        )
        .unwrap();
        assert_matches(name, &expected, &metrics_of(name));
    }
}

/// `metrics --file` of the recordings themselves: the FIT files behind two fixtures, and
/// the export's TCX and GPX copies of the run (docs/design.md §4b).
#[test]
fn metrics_of_the_recording_files_match_the_reference() {
    let expected = |name: &str| -> Value {
        let path = stravasync_testkit::fixtures_dir().join(format!("expected/{name}.metrics.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let without_id = |mut v: Value| {
        let id = v["activity_id"].take();
        (v, id.as_i64().unwrap())
    };
    for name in ["ride_power_edge810", "run_fenix2"] {
        let file = stravasync_fixtures::fit_dir().join(format!("{name}.fit"));
        let (actual, id) = without_id(metrics_with(name, &["--file", file.to_str().unwrap()]));
        let (expected, _) = without_id(expected(name));
        assert_matches(name, &expected, &actual);
        assert!(stravasync_core::model::is_local_id(id), "a loose file's id: {id}");
    }
    let zip = std::fs::read(stravasync_fixtures::export_dir().join("strava-export-small.zip")).unwrap();
    let mut export = stravasync_files::archive::Export::open(std::io::Cursor::new(zip)).unwrap();
    let tcx = export.read("activities/17000000112.tcx.gz").unwrap();
    let tcx_path = write_temp("run.tcx.gz", "");
    std::fs::write(&tcx_path, tcx).unwrap();
    let (actual, _) = without_id(metrics_with("tcx", &["--file", tcx_path.to_str().unwrap()]));
    assert_matches("tcx", &without_id(expected("run_fenix2")).0, &actual);
    let gpx = export.read("activities/17000000111.gpx").unwrap();
    let gpx_path = write_temp("run.gpx", std::str::from_utf8(&gpx).unwrap());
    let m = metrics_with("gpx", &["--file", gpx_path.to_str().unwrap()]);
    // The export's README: distance from the positions gives NGS 3.46917 and rTSS 62.2901,
    // and everything that does not depend on distance is the run's.
    assert_eq!(m["score"]["source"], "pace");
    assert_eq!(m["duration_s"], 2834);
    let near = |v: &Value, x: f64| (v.as_f64().unwrap() - x).abs() <= 5e-6 * x;
    assert!(near(&m["candidates"]["pace"]["ngs"], 3.46917), "{}", m["candidates"]["pace"]);
    assert!(near(&m["candidates"]["pace"]["rtss"], 62.2901), "{}", m["candidates"]["pace"]);
    let run = expected("run_fenix2");
    assert_matches("gpx.heartrate", &run["heartrate"], &m["candidates"]["heartrate"]);
    assert_matches("gpx.zones", &run["zones"]["heartrate"], &m["zones"]["heartrate"]);
    assert_matches("gpx.peaks", &run["peaks"]["heartrate"], &m["peaks"]["heartrate"]);
}

#[test]
fn edge810_np_is_close_to_the_head_unit() {
    let m = metrics_of("ride_power_edge810");
    let np = m["candidates"]["power"]["np"].as_f64().unwrap();
    // The Garmin Edge 810 recorded NP 301 W for this ride.
    assert!((np - 301.0).abs() < 3.0, "{np}");
    assert_eq!(m["score"]["source"], "power");
    // 4,700 s at IF ≈ 1.2 is a hard ride: well above an hour at FTP.
    assert!(m["score"]["value"].as_f64().unwrap() > 150.0);
}

#[test]
fn zwift_np_is_close_to_stravas_weighted_average() {
    let m = metrics_of("virtualride_zwift");
    // Strava's own weighted_average_watts for this ride is 168 W.
    let np = m["candidates"]["power"]["np"].as_f64().unwrap();
    assert!((np - 168.0).abs() < 4.0, "{np}");
}

#[test]
fn run_is_scored_by_pace_and_covers_its_duration() {
    let m = metrics_of("run_fenix2");
    assert_eq!(m["score"]["source"], "pace");
    assert!(m["candidates"]["power"].is_null());
    // 2,809 samples over 2,833 s with short gaps filled: 2,834 one-second samples.
    assert_eq!(m["duration_s"], 2834);
    let hr_total: u64 =
        m["zones"]["heartrate"]["seconds"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(hr_total, 2834);
}

fn write_temp(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stravasync-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

const ACTIVITY: &str =
    r#"{"id": 1, "type": "Ride", "start_date": "2024-01-01T10:00:00Z", "start_date_local": "2024-01-01T11:00:00Z"}"#;

fn metrics_error(activity: &str, streams: &str, extra: &[&str]) -> String {
    let a = write_temp("a.json", activity);
    let s = write_temp("s.json", streams);
    let mut args = vec!["metrics", "--activity", a.to_str().unwrap(), "--streams", s.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = stravasync(&args);
    assert_eq!(out.status.code(), Some(2), "expected exit 2; stdout {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn bad_input_exits_2_naming_the_field() {
    let e = metrics_error(ACTIVITY, r#"{"time":{"data":[0,1]},"watts":{"data":[1]}}"#, &[]);
    assert!(e.contains("stream watts has 1 samples"), "{e}");
    let e = metrics_error(ACTIVITY, r#"{"time":{"data":[0,2,1]}}"#, &[]);
    assert!(e.contains("stream time at index 2"), "{e}");
    let e = metrics_error(ACTIVITY, r#"{"time":{"data":[0,1]},"heartrate":{"data":[1,-5]}}"#, &[]);
    assert!(e.contains("heartrate at index 1"), "{e}");
    let e = metrics_error(ACTIVITY, r#"{"time":{"data":[0]},"latlng":{"data":[[1]]}}"#, &[]);
    assert!(e.contains("latlng at index 0"), "{e}");
    let e = metrics_error(ACTIVITY, r#"{"time":{"data":[0]},"watts":{"data":["NaN"]}}"#, &[]);
    assert!(e.contains("watts.data[0]"), "{e}");
    let e = metrics_error(ACTIVITY, "{}", &["--ftp", "0"]);
    assert!(e.contains("threshold ftp"), "{e}");
    let e = metrics_error(ACTIVITY, "{}", &["--threshold-speed", "-1"]);
    assert!(e.contains("threshold threshold_speed"), "{e}");
    let e = metrics_error(&ACTIVITY.replace("Ride", "Quidditch"), "{}", &[]);
    assert!(e.contains("sport_type \"Quidditch\""), "{e}");
    let e = metrics_error(r#"{"id": "x"}"#, "{}", &[]);
    assert!(e.contains("activity: at id"), "{e}");
}

#[test]
fn hostile_streams_and_files_exit_2_with_a_named_error() {
    // 100,000 samples 90 s apart: 9 M seconds once gaps are filled; refused by name before
    // any resampling, which would take hundreds of megabytes.
    let time: Vec<String> = (0..100_000u64).map(|i| (i * 90).to_string()).collect();
    let streams = format!(
        r#"{{"time":{{"data":[{}]}},"watts":{{"data":[{}]}}}}"#,
        time.join(","),
        vec!["200"; 100_000].join(",")
    );
    let e = metrics_error(ACTIVITY, &streams, &[]);
    assert!(e.contains("streams span 8999911 s at 1 Hz") && e.contains("172800"), "{e}");
    // Time values that would overflow the pause arithmetic.
    let e = metrics_error(ACTIVITY, r#"{"time":{"data":[0,1e19]},"watts":{"data":[1,2]}}"#, &[]);
    assert!(e.contains("stream time at index 1"), "{e}");
    // A valid document followed by anything is not a valid document.
    let e = metrics_error(&format!("{ACTIVITY}{{}}"), "{}", &[]);
    assert!(e.contains("activity: at (end of document)"), "{e}");
    let e = metrics_error(ACTIVITY, r#"{"time":{"data":[0]}} trailing"#, &[]);
    assert!(e.contains("streams: at (end of document)"), "{e}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    // 20 years of days: far more output than a pipe buffers, so the writer meets the
    // closed pipe whatever the timing.
    let loads = write_temp("pipe-loads.csv", "2000-01-01,50\n2020-01-01,50\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stravasync"))
        .args(["pmc", "--loads", loads.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away, as `| head` does
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.code().is_some(), "ended by a signal or abort: {status:?}");
}

#[test]
fn empty_streams_are_a_manual_activity() {
    let a = write_temp("manual-a.json", ACTIVITY);
    let s = write_temp("manual-s.json", "{}");
    let out = stravasync(&["metrics", "--activity", a.to_str().unwrap(), "--streams", s.to_str().unwrap()]);
    assert!(out.status.success());
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["duration_s"], 0);
    assert_eq!(m["score"]["source"], "none");
}

#[test]
fn pmc_command_prints_every_day() {
    let f = write_temp("loads.csv", "date,load\n2024-01-03,10\n2024-01-01,100\n");
    let out = stravasync(&["pmc", "--loads", f.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "date,load,ctl,atl,tsb");
    assert_eq!(lines.len(), 4);
    let day1: Vec<f64> = lines[1].split(',').skip(1).map(|v| v.parse().unwrap()).collect();
    assert!((day1[1] - 2.3528).abs() < 1e-4 && (day1[2] - 13.3122).abs() < 1e-4 && day1[3] == 0.0);

    let bad = write_temp("bad.csv", "2024-01-01,5\n2024-02-30,1\n");
    let out = stravasync(&["pmc", "--loads", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: field date"));
}
