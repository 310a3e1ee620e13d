//! The whole local import of a generated archive in Strava's export layout: `--activities`
//! rows (default 2,000) over the shared recordings (the Edge 810 ride, the fenix 2 run, its
//! GPX and TCX copies, the two Forerunner 70 runs dated by their rows, a manual row in
//! fifty), imported by `stravasync import` into a fresh stack on the local moto server, and
//! the PMC rolled up; prints the wall time and the report's totals (BENCHMARKS.md, "The
//! athlete's own files"). With `--memory`, the same messages go through the consumer's
//! import handler in this process on the in-memory store instead: the pipeline's own cost,
//! without moto's (whose queries cost more as its table grows).
//!
//! ```text
//! cargo build --release -p stravasync-cli
//! infra/with-moto.sh cargo run --release -p stravasync-cli --example import_archive -- target/release/stravasync [--activities 2000]
//! cargo run --release -p stravasync-cli --example import_archive -- --memory [--activities 2000]
//! ```

use std::io::Write;
use std::time::Instant;

use stravasync_aws::local::LocalStack;
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::{ImportStore, ProfileStore};

const ATHLETE: i64 = 5_123_456_789;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `activities` rows and their files, as a ZIP.
fn archive(activities: usize) -> Vec<u8> {
    let fit = |n: &str| std::fs::read(stravasync_fixtures::fit_dir().join(n)).unwrap();
    let small = std::fs::read(stravasync_fixtures::export_dir().join("strava-export-small.zip")).unwrap();
    let mut export = stravasync_files::archive::Export::open(std::io::Cursor::new(small)).unwrap();
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("Ride", "fit.gz", gz(&fit("ride_power_edge810.fit"))),
        ("Run", "fit.gz", gz(&fit("run_fenix2.fit"))),
        ("Run", "gpx", export.read("activities/17000000111.gpx").unwrap()),
        ("Run", "tcx.gz", export.read("activities/17000000112.tcx.gz").unwrap()),
        ("Run", "fit", fit("run_footpod_no_gps_fr70.fit")),
        ("Run", "fit", fit("run_hr_only_fr70.fit")),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut csv = String::from(
        "Activity ID,Activity Date,Activity Name,Activity Type,Elapsed Time,Distance,Filename,Elapsed Time,Moving Time,Distance\n",
    );
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    for i in 0..activities {
        let id = 19_000_000_000 + i as i64;
        // One a day back from 2026-11-30, at 07:00 UTC.
        let day = stravasync_core::LocalDate::from_ymd(2026, 11, 30).unwrap().add_days(-(i as i32));
        let (y, m, d) = day.ymd();
        let date = format!("\"{} {d}, {y}, 7:00:00 AM\"", MONTHS[m as usize - 1]);
        if i % 50 == 49 {
            csv.push_str(&format!("{id},{date},Manual run,Run,1800,5.00,,1800.0,1800.0,5000.0\n"));
            continue;
        }
        let (kind, ext, bytes) = &files[i % files.len()];
        let name = format!("activities/{}.{ext}", 20_000_000_000 + i as i64);
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
        csv.push_str(&format!("{id},{date},Activity {i},{kind},3600,10.00,{name},3600.0,3600.0,10000.0\n"));
    }
    zip.start_file("activities.csv", options).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    zip.start_file("profile.csv", options).unwrap();
    zip.write_all(format!("Athlete ID,First Name\n{ATHLETE},Alex\n").as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The import in this process, on the in-memory store: the CLI's messages, the consumer's
/// import handler ten records at a time (as the event source hands them), the PMC after
/// each batch.
async fn in_memory(path: &std::path::Path, activities: usize, archive_mb: f64) {
    let fake = fake_strava::start(stravasync_testkit::fake_config()).await.unwrap();
    let consumer = stravasync_consumer::testing::memory_consumer(&fake);
    consumer.store.put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    let started = Instant::now();
    let messages = stravasync_cli::import::Messages::new(path, ATHLETE, "bench").unwrap();
    let (mut batch, mut refused_early) = (Vec::new(), 0);
    let run = async |batch: &mut Vec<stravasync_consumer::Record>| {
        let report = consumer.handle_import_batch(batch).await;
        assert!(report.failed.is_empty(), "{report:?}");
        batch.clear();
    };
    for (seq, message) in messages {
        match message {
            Ok(m) => batch.push(stravasync_consumer::testing::import_record(&m, &format!("m-{seq}"))),
            Err(_) => refused_early += 1,
        }
        if batch.len() == 10 {
            run(&mut batch).await;
        }
    }
    run(&mut batch).await;
    let wall = started.elapsed().as_secs_f64();
    let lines = consumer.store.import_lines(ATHLETE, "bench").await.unwrap();
    let stored = lines.iter().filter(|(_, l)| l.outcome == stravasync_core::model::ImportOutcome::Stored).count();
    println!(
        "{activities} activities, archive {archive_mb:.1} MB, in process on the in-memory store: stored and rolled up in {wall:.1} s ({:.0} files/s); {stored} stored, {} lines, {refused_early} refused before the queue",
        activities as f64 / wall,
        lines.len()
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let memory = args.iter().any(|a| a == "--memory");
    let activities = args
        .iter()
        .position(|a| a == "--activities")
        .and_then(|i| args.get(i + 1))
        .map_or(2000, |n| n.parse().unwrap());
    let bytes = archive(activities);
    let path = std::env::temp_dir().join(format!("export-{activities}-{}.zip", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    if memory {
        in_memory(&path, activities, bytes.len() as f64 / 1e6).await;
        let _ = std::fs::remove_file(&path);
        return;
    }
    let binary = args.first().expect("the stravasync binary").clone();
    let stack = LocalStack::on_local_endpoint(&format!("bench-import-{}", std::process::id())).await.unwrap();
    stack.store().put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    let started = Instant::now();
    let out = std::process::Command::new(&binary)
        .args(["import", "--athlete", &ATHLETE.to_string(), path.to_str().unwrap()])
        .envs(stack.handler_env())
        .output()
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
    let totals = stdout.lines().find(|l| l.starts_with("import ")).unwrap_or_default();
    println!(
        "{activities} activities, archive {:.1} MB: stored and rolled up in {wall:.1} s ({:.0} files/s)\n{totals}",
        bytes.len() as f64 / 1e6,
        activities as f64 / wall
    );
    let _ = std::fs::remove_file(&path);
}
