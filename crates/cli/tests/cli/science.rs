//! `stravasync metrics --thresholds` and `stravasync cpfit` as a person runs them, on the
//! shared recordings against the expected outputs of docs/design.md §6b
//! (`expected/science/`): every field, the W′ balance series sample by sample, the CP fit
//! from either shape of bests, and bad input refused naming what is wrong.

use std::process::Command;

use serde_json::Value;
use stravasync_fixtures::{assert_same_json, close, read, required_dir, wbal_rows};

const NAMES: [&str; 4] = ["ride_elevate_sample", "ride_power_edge810", "run_fenix2", "virtualride_zwift"];

fn stravasync(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stravasync")).args(args).output().expect("run stravasync")
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stravasync-science-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn expected(file: &str) -> Value {
    serde_json::from_slice(&read(&format!("expected/science/{file}"))).unwrap()
}

/// `stravasync metrics` of a recording under the shared threshold history, with its W′bal CSV.
fn metrics(name: &str, extra: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let dir = required_dir();
    let csv = temp(&format!("{name}.wbal.csv"));
    let (a, s) = (dir.join(format!("{name}.activity.json")), dir.join(format!("{name}.streams.json")));
    let mut args = vec!["metrics", "--activity", a.to_str().unwrap(), "--streams", s.to_str().unwrap()];
    args.extend_from_slice(&["--wbal-series", csv.to_str().unwrap()]);
    args.extend_from_slice(extra);
    (stravasync(&args), csv)
}

#[test]
fn every_recording_prints_the_expected_fields_and_wbal_series() {
    let history = required_dir().join("expected/science/thresholds.json");
    for name in NAMES {
        let (out, csv) = metrics(name, &["--thresholds", history.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let actual: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_same_json(name, &expected(&format!("{name}.json")), &actual);

        let written = wbal_rows(&std::fs::read_to_string(&csv).unwrap());
        if name == "run_fenix2" {
            assert!(written.is_empty(), "a run has no W'bal series");
            continue;
        }
        let reference = wbal_rows(&String::from_utf8(read(&format!("expected/science/{name}.wbal.csv"))).unwrap());
        assert_eq!(written.len(), reference.len(), "{name}: samples");
        for (i, (e, a)) in reference.iter().zip(&written).enumerate() {
            assert!(close(*e, *a), "{name}[{i}]: expected {e}, got {a}");
        }
    }
}

#[test]
fn the_shorthand_flags_are_the_migrated_entries() {
    // --ftp is cycling's only: the ride is scored by power, a run with the same flags by pace.
    let flags = ["--ftp", "250", "--lthr", "165", "--hr-max", "190", "--hr-rest", "50", "--threshold-speed", "3.9"];
    let (out, _) = metrics("ride_power_edge810", &flags);
    let ride: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ride["thresholds_in_force"]["entry_effective_from"], "0001-01-01");
    assert_eq!(ride["thresholds_in_force"]["ftp"], 250.0);
    assert_eq!(ride["score"]["source"], "power");
    assert!(ride["wbal"].is_null(), "no CP or W' in the shorthand");
    let (out, _) = metrics("run_fenix2", &flags);
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["group"], "running");
    assert!(run["thresholds_in_force"]["ftp"].is_null(), "the bike FTP is not the run's");

    // Both ways at once is refused by the argument parser.
    let history = required_dir().join("expected/science/thresholds.json");
    let (out, _) = metrics("run_fenix2", &["--ftp", "250", "--thresholds", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn a_bad_threshold_history_names_the_entry_and_field() {
    let cases = [
        (r#"{"history":[{"group":"running","effective_from":"2026-01-01","ftp":-5}]}"#, "ftp"),
        (r#"{"history":[{"group":"cycling","effective_from":"2026-02-30","ftp":250}]}"#, "effective_from"),
        (r#"{"history":[{"group":"rowing","effective_from":"2026-01-01"}]}"#, "group"),
        (r#"{"history":[{"group":"cycling","effective_from":"2026-01-01","css":1.2}]}"#, "css"),
    ];
    for (i, (doc, field)) in cases.into_iter().enumerate() {
        let path = temp(&format!("bad-thresholds-{i}.json"));
        std::fs::write(&path, doc).unwrap();
        let (out, _) = metrics("run_fenix2", &["--thresholds", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{doc}: {err}");
        assert!(err.contains(field) && err.contains("bad-thresholds"), "{doc}: {err}");
    }
}

#[test]
fn cpfit_fits_either_shape_of_bests_as_the_reference() {
    let reference = expected("cp_fit.json");
    let listed = required_dir().join("expected/science/cp_bests.json");
    let out = stravasync(&["cpfit", "--bests", listed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_same_json("cpfit (bests)", &reference, &serde_json::from_slice(&out.stdout).unwrap());

    // The shape of a stored activity's peaks.watts: windows → watts, others ignored.
    let peaks = expected("ride_power_edge810.json")["peaks"]["watts"].clone();
    let path = temp("peaks.json");
    std::fs::write(&path, peaks.to_string()).unwrap();
    let out = stravasync(&["cpfit", "--bests", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_same_json("cpfit (peaks)", &reference, &serde_json::from_slice(&out.stdout).unwrap());

    // Too few points: a refusal with its reason, not an error.
    std::fs::write(&path, r#"{"5": 900, "180": 350, "300": 330}"#).unwrap();
    let fit: Value = serde_json::from_slice(&stravasync(&["cpfit", "--bests", path.to_str().unwrap()]).stdout).unwrap();
    assert!(fit["cp"].is_null() && !fit["refused"].is_null(), "{fit}");

    for (doc, says) in
        [(r#"{"five": 300}"#, "\"five\""), (r#"{"bests":[{"t":-1,"p":300}]}"#, "-1"), ("[1,", "peaks.json")]
    {
        std::fs::write(&path, doc).unwrap();
        let out = stravasync(&["cpfit", "--bests", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{doc}: {err}");
        assert!(err.contains(says), "{doc}: {err}");
    }
}
