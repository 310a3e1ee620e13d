//! Files per second per core, from the file's bytes to its scores: parse, convert to
//! Strava's stream set, score under the shared thresholds (docs/design.md §4b). The FIT
//! files behind the shared recordings (a 78-minute ride, a 47-minute run, a 57-minute
//! Stryd run), and the export's GPX and TCX copies of the run.
//!
//! ```text
//! cargo bench -p stravasync-files --bench files
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stravasync_core::analysis::analyse_activity;
use stravasync_core::thresholds::ThresholdHistory;
use stravasync_files::archive::Export;
use stravasync_files::{Dating, FileActivity, read_file};

fn score(name: &str, bytes: &[u8], history: &ThresholdHistory) -> f64 {
    let rec = read_file(name, bytes).unwrap();
    let a = FileActivity::new(&rec, 1, 2, None, None, &Dating::default()).unwrap();
    analyse_activity(&a.summary, &a.streams, history).unwrap().score.value.unwrap_or(0.0)
}

fn files(c: &mut Criterion) {
    let history = ThresholdHistory::from_profile(&stravasync_testkit::thresholds());
    let fit = |n: &str| std::fs::read(stravasync_fixtures::fit_dir().join(n)).unwrap();
    let zip = std::fs::read(stravasync_fixtures::export_dir().join("strava-export-small.zip")).unwrap();
    let mut export = Export::open(std::io::Cursor::new(zip)).unwrap();
    let inputs = [
        ("fit ride 78 min", "a.fit", fit("ride_power_edge810.fit")),
        ("fit run 47 min", "a.fit", fit("run_fenix2.fit")),
        ("fit stryd run 57 min", "a.fit", fit("run_power_stryd.fit")),
        ("gpx run 47 min", "a.gpx", export.read("activities/17000000111.gpx").unwrap()),
        ("tcx.gz run 47 min", "a.tcx.gz", export.read("activities/17000000112.tcx.gz").unwrap()),
    ];
    let mut group = c.benchmark_group("file_to_scores");
    group.throughput(Throughput::Elements(1));
    for (label, name, bytes) in &inputs {
        group.bench_function(*label, |b| b.iter(|| score(name, std::hint::black_box(bytes), &history)));
    }
    group.finish();
}

criterion_group!(benches, files);
criterion_main!(benches);
