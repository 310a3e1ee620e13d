//! `stravasync metrics` on one recording, whole process and in process (docs/design.md §6b;
//! the issue's target is the whole process): the median wall time of `--runs` runs of the
//! binary, of the same runs of a program that does nothing (the machine's floor for starting
//! a process), and of the parse and the analysis in this process.
//!
//! ```text
//! cargo build --release -p stravasync-cli
//! cargo run --release -p stravasync-cli --example metrics_wall -- target/release/stravasync [--runs 31]
//! ```

use std::process::{Command, Stdio};
use std::time::Instant;

use stravasync_cli::metrics_report::analysis_from_json;
use stravasync_core::thresholds::ThresholdHistory;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall time of `runs` runs of `program args`, ms.
fn wall(program: &str, args: &[&str], runs: usize) -> f64 {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let status =
                    Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
                assert!(status.success(), "{program} {args:?}");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let binary = args.first().expect("the stravasync binary").clone();
    let runs = args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)).map_or(31, |r| r.parse().unwrap());
    let dir = stravasync_fixtures::required_dir();
    let path = |f: &str| dir.join(f).display().to_string();
    for name in ["ride_power_edge810", "run_fenix2"] {
        let (activity, streams) = (path(&format!("{name}.activity.json")), path(&format!("{name}.streams.json")));
        let history = path("expected/science/thresholds.json");
        let whole =
            wall(&binary, &["metrics", "--activity", &activity, "--streams", &streams, "--thresholds", &history], runs);
        let (a, s) = (std::fs::read(&activity).unwrap(), std::fs::read(&streams).unwrap());
        let h = ThresholdHistory::from_json(&std::fs::read(&history).unwrap()).unwrap();
        let inside = median(
            (0..runs * 10)
                .map(|_| {
                    let t = Instant::now();
                    let report = analysis_from_json(&a, &s, &h).unwrap();
                    let json = serde_json::to_string_pretty(&report).unwrap();
                    std::hint::black_box(json);
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect(),
        );
        let parse = median(
            (0..runs * 10)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(stravasync_core::streams::parse_streams_json(&s).unwrap());
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect(),
        );
        println!(
            "{name}: whole process {whole:.2} ms; in process (parse, analysis, output) {inside:.2} ms, of which the streams' parse {parse:.2} ms"
        );
    }
    // The 6.8-hour multisport recording, converted from its FIT file as an import converts
    // it: its stream set through `metrics --activity/--streams`, and the file itself through
    // `metrics --file`.
    let history = path("expected/science/thresholds.json");
    let fit = stravasync_fixtures::fit_dir().join("workout_multisport_long_fenix2.fit");
    let bytes = std::fs::read(&fit).unwrap();
    let recording = stravasync_files::read_file("multisport.fit", &bytes).unwrap();
    let converted = stravasync_files::FileActivity::new(&recording, 1, 2, None, None, &Default::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("metrics-wall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (activity, streams) = (dir.join("activity.json"), dir.join("streams.json"));
    std::fs::write(&activity, serde_json::to_vec(&converted.summary).unwrap()).unwrap();
    std::fs::write(&streams, serde_json::to_vec(&converted.streams).unwrap()).unwrap();
    let (activity, streams) = (activity.display().to_string(), streams.display().to_string());
    let whole =
        wall(&binary, &["metrics", "--activity", &activity, "--streams", &streams, "--thresholds", &history], runs);
    let file = wall(&binary, &["metrics", "--file", &fit.display().to_string(), "--thresholds", &history], runs);
    println!(
        "workout_multisport_long_fenix2 ({} samples): whole process {whole:.2} ms from its stream set; {file:.2} ms from the FIT file",
        converted.streams.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    let floor = wall("/bin/true", &[], runs);
    let version = wall(&binary, &["--version"], runs);
    println!("starting a process (/bin/true) {floor:.2} ms; stravasync --version {version:.2} ms (median of {runs})");
}
