//! docs/design.md §6b on every shared recording, against the expected outputs of an
//! independent reference (`expected/science/`): every field of `<name>.json` (floats to
//! 1e-6 relative, counts exactly, no field missing or extra), the W′bal series sample by
//! sample, and the CP fit of the cycling bests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use stravasync_core::analysis::{ActivityAnalysis, analyse_activity};
use stravasync_core::metrics::ScoreSource;
use stravasync_core::model::ActivitySummary;
use stravasync_core::physiology::{CpBests, fit_cp_map};
use stravasync_core::streams::parse_streams_json;
use stravasync_core::thresholds::{SportGroup, ThresholdGroup, ThresholdHistory};

const NAMES: [&str; 4] = ["ride_elevate_sample", "ride_power_edge810", "run_fenix2", "virtualride_zwift"];
const CYCLING_WITH_POWER: [&str; 3] = ["ride_power_edge810", "ride_elevate_sample", "virtualride_zwift"];

fn dir() -> PathBuf {
    stravasync_fixtures::required_dir()
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expected(file: &str) -> Value {
    serde_json::from_slice(&read(dir().join("expected/science").join(file))).unwrap()
}

fn history() -> ThresholdHistory {
    ThresholdHistory::from_json(&read(dir().join("expected/science/thresholds.json"))).unwrap()
}

fn analysis_of(name: &str) -> ActivityAnalysis {
    let summary: ActivitySummary = serde_json::from_slice(&read(dir().join(format!("{name}.activity.json")))).unwrap();
    let streams = parse_streams_json(&read(dir().join(format!("{name}.streams.json")))).unwrap();
    analyse_activity(&summary, &streams, &history()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

use stravasync_fixtures::{assert_same_json as assert_same, close, wbal_rows};

#[test]
fn every_recording_matches_every_expected_field() {
    for name in NAMES {
        let actual = serde_json::to_value(analysis_of(name)).unwrap();
        assert_same(name, &expected(&format!("{name}.json")), &actual);
    }
}

#[test]
fn the_threshold_document_round_trips() {
    let h = history();
    assert_eq!(h.history.len(), 4);
    assert_same("thresholds", &expected("thresholds.json"), &serde_json::to_value(&h).unwrap());
    let back: ThresholdHistory = serde_json::from_value(serde_json::to_value(&h).unwrap()).unwrap();
    assert_eq!(back, h);
}

#[test]
fn w_prime_balance_matches_the_reference_sample_by_sample() {
    for name in CYCLING_WITH_POWER {
        let wbal = analysis_of(name).wbal.unwrap_or_else(|| panic!("{name}: no W'bal"));
        let csv = String::from_utf8(read(dir().join(format!("expected/science/{name}.wbal.csv")))).unwrap();
        let rows = wbal_rows(&csv);
        assert_eq!(rows.len(), wbal.series.len(), "{name}: samples");
        for (i, (e, &a)) in rows.into_iter().zip(wbal.series.iter()).enumerate() {
            assert!(close(e, a), "{name}[{i}]: expected {e}, got {a}");
        }
    }
}

#[test]
fn only_cycling_with_power_has_w_prime_balance() {
    let run = analysis_of("run_fenix2");
    assert_eq!(run.group, SportGroup::Running);
    assert!(run.wbal.is_none());
    assert_eq!(run.score.source, ScoreSource::Pace);
}

#[test]
fn the_cycling_bests_come_from_the_recordings_and_fit_as_the_reference() {
    let analyses: Vec<(&str, ActivityAnalysis)> = CYCLING_WITH_POWER.iter().map(|&n| (n, analysis_of(n))).collect();
    let peaks = analyses.iter().map(|(n, a)| (*n, a.peaks.watts.as_ref().unwrap()));
    let collected = CpBests::collect(ThresholdGroup::Cycling, peaks);
    assert_same("cp_bests", &expected("cp_bests.json"), &serde_json::to_value(&collected).unwrap());

    let bests: CpBests = serde_json::from_value(expected("cp_bests.json")).unwrap();
    let fit = serde_json::to_value(bests.fit()).unwrap();
    assert_same("cp_fit", &expected("cp_fit.json"), &fit);

    // The same fit from a plain map of window seconds to watts.
    let map: BTreeMap<u32, f64> = bests.bests.iter().map(|b| (b.t as u32, b.p)).collect();
    assert_same("cp_fit (map)", &expected("cp_fit.json"), &serde_json::to_value(fit_cp_map(&map)).unwrap());
}

#[test]
#[should_panic(expected = "x.a: expected 100, got 100.001")]
fn the_comparison_catches_a_difference_beyond_1e_6() {
    assert_same("x", &serde_json::json!({"a": 100.0}), &serde_json::json!({"a": 100.00005}));
    assert_same("x", &serde_json::json!({"a": 100.0}), &serde_json::json!({"a": 100.001}));
}

#[test]
#[should_panic(expected = "missing [\"b\"], extra [\"c\"]")]
fn the_comparison_catches_a_missing_or_extra_field() {
    assert_same("x", &serde_json::json!({"a": 1, "b": 2}), &serde_json::json!({"a": 1, "c": 2}));
}
