//! The shared recordings read from their files: the two FIT files behind Strava fixtures
//! give those fixtures' streams exactly, every FIT file reads, and the export's GPX and
//! TCX copies give what its README says.

use stravasync_core::streams::{NumericKey, StreamSet, parse_streams_json};
use stravasync_files::archive::Export;
use stravasync_files::{Dating, FileActivity, Start, read_file};

fn fit(name: &str) -> Vec<u8> {
    let path = stravasync_fixtures::fit_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_streams(name: &str) -> StreamSet {
    parse_streams_json(&stravasync_fixtures::read(&format!("{name}.streams.json"))).unwrap()
}

fn converted(name: &str, bytes: &[u8]) -> FileActivity {
    let rec = read_file(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    FileActivity::new(&rec, 1, 5123456789, None, None, &Dating::default()).unwrap()
}

/// Every numeric stream and `moving` equal, exactly; `latlng` is the one stream the
/// fixtures moved (anonymised), so it is compared only in length.
fn assert_same_streams(name: &str, expected: &StreamSet, actual: &StreamSet, skip: &[NumericKey]) {
    for key in NumericKey::ALL {
        if skip.contains(&key) {
            continue;
        }
        assert_eq!(expected.get(key), actual.get(key), "{name}: stream {}", key.name());
    }
    assert_eq!(expected.moving, actual.moving, "{name}: moving");
    assert_eq!(expected.latlng.as_ref().map(Vec::len), actual.latlng.as_ref().map(Vec::len), "{name}: latlng");
}

#[test]
fn the_two_fit_files_give_their_fixtures_streams_exactly() {
    for name in ["ride_power_edge810", "run_fenix2"] {
        let activity = converted(&format!("{name}.fit"), &fit(&format!("{name}.fit")));
        assert_same_streams(name, &fixture_streams(name), &activity.streams, &[]);
    }
}

#[test]
fn a_fit_file_is_one_activity_with_its_sport_and_offset() {
    let run = read_file("run_fenix2.fit", &fit("run_fenix2.fit")).unwrap();
    assert_eq!(run.sport.sport_type, "Run");
    // activity.local_timestamp − activity.timestamp: Oslo in summer.
    let Start::Utc { unix, utc_offset_s } = run.start else { panic!("real timestamps") };
    assert_eq!((stravasync_core::date::format_utc(unix), utc_offset_s), ("2015-08-15T14:45:08Z".into(), Some(7200)));
    let a = FileActivity::new(&run, 1, 2, None, None, &Dating::default()).unwrap();
    assert_eq!(a.summary.start_date_local, "2015-08-15T16:45:08Z");
    assert_eq!(
        (a.summary.elapsed_time, a.summary.moving_time, a.summary.distance),
        (Some(2833), Some(2812), Some(9007.1))
    );
    // Sessions of different sports make a Workout.
    let multi = read_file("x.fit", &fit("workout_multisport_long_fenix2.fit")).unwrap();
    assert_eq!(multi.sport.sport_type, "Workout");
    // No local offset in the file (the Edge 810): the athlete's applies.
    let ride = read_file("x.fit", &fit("ride_power_edge810.fit")).unwrap();
    let dating = Dating { row_start_utc: None, athlete_offset_s: Some(-9000) };
    let a = FileActivity::new(&ride, 1, 2, None, None, &dating).unwrap();
    assert_eq!(
        (a.summary.start_date.as_str(), a.summary.start_date_local.as_str()),
        ("2013-08-16T18:05:10Z", "2013-08-16T15:35:10Z")
    );
}

#[test]
fn all_thirteen_fit_recordings_read() {
    let mut seen = 0;
    for entry in std::fs::read_dir(stravasync_fixtures::fit_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".fit") {
            continue;
        }
        seen += 1;
        let rec = read_file(&name, &std::fs::read(&path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let relative = name.contains("fr70");
        assert_eq!(rec.start == Start::DeviceRelative, relative, "{name}: device-relative timestamps");
        let dating = Dating { row_start_utc: Some(1_329_135_663), athlete_offset_s: None };
        let a = FileActivity::new(&rec, 1, 2, None, None, &dating).unwrap();
        a.streams.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(a.streams.len() > 100, "{name}: {} samples", a.streams.len());
        if relative {
            // Without the export's row, such a file has no date at all.
            assert!(FileActivity::new(&rec, 1, 2, None, None, &Dating::default()).is_err());
            assert_eq!(a.summary.start_date, "2012-02-13T12:21:03Z");
        }
    }
    assert_eq!(seen, 13);
    // The chained file: all its records are in the first of its seven files.
    let swim = read_file("s.fit", &fit("swim_hr_fr935.fit")).unwrap();
    assert_eq!((swim.sport.sport_type, swim.samples.len()), ("Swim", 7515));
}

fn small_export() -> Export<std::io::Cursor<Vec<u8>>> {
    let bytes = std::fs::read(stravasync_fixtures::export_dir().join("strava-export-small.zip")).unwrap();
    Export::open(std::io::Cursor::new(bytes)).unwrap()
}

#[test]
fn the_exports_tcx_and_gpx_copies_of_the_run() {
    let mut export = small_export();
    export.check_owner(5123456789).unwrap();
    let plan = export.plan().unwrap();
    let names: Vec<&str> = plan.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "activities/17000000101.fit.gz",
            "activities/17000000102.fit.gz",
            "activities/17000000111.gpx",
            "activities/17000000112.tcx.gz",
            "activities.csv line 6 (manual)"
        ]
    );
    assert!(plan.iter().all(|p| p.refused.is_none()));
    let run = fixture_streams("run_fenix2");
    let tcx = export.read("activities/17000000112.tcx.gz").unwrap();
    let tcx = converted("x.tcx.gz", &tcx);
    // Exactly the fixture's streams, without temperature (TCX has none).
    assert_same_streams("tcx", &run, &tcx.streams, &[NumericKey::Temp]);
    assert_eq!(tcx.streams.get(NumericKey::Temp), None);
    assert_eq!(tcx.streams.latlng, run.latlng, "the TCX holds the moved positions");
    let gpx = converted("x.gpx", &export.read("activities/17000000111.gpx").unwrap());
    assert_eq!(gpx.summary.sport_type.as_deref(), Some("Run"));
    // Distance from the positions (haversine, R = 6,371,008.8 m): the README's 8,997.5 m.
    assert_eq!(gpx.streams.get(NumericKey::Distance).unwrap().last(), Some(&8997.5));
    for key in [NumericKey::Time, NumericKey::Heartrate, NumericKey::Cadence, NumericKey::Altitude] {
        assert_eq!(gpx.streams.get(key), run.get(key), "gpx {}", key.name());
    }
}

/// A ZIP of `entries` (name, content), deflated.
fn zip_of(entries: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        zip.start_file(std::str::from_utf8(name).unwrap(), options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

const HEADER: &str = "Activity ID,Activity Date,Activity Name,Activity Type,Filename\n";

#[test]
fn every_bad_entry_gets_its_line_and_the_rest_imports() {
    let good = fit("run_fenix2.fit");
    let mut bad_crc = good.clone();
    // One flipped bit in the data: the file's CRC no longer matches.
    let last = bad_crc.len() - 3;
    bad_crc[last] ^= 0x01;
    let truncated = good[..good.len() / 3].to_vec();
    let csv = format!(
        "{HEADER}1,\"Aug 15, 2015, 2:45:08 PM\",good,Run,activities/1.fit\n\
         2,\"Aug 15, 2015, 2:45:08 PM\",crc,Run,activities/2.fit\n\
         3,\"Aug 15, 2015, 2:45:08 PM\",cut,Run,activities/3.fit\n\
         4,\"Aug 15, 2015, 2:45:08 PM\",empty,Run,activities/4.fit\n\
         5,\"Aug 15, 2015, 2:45:08 PM\",missing,Run,activities/5.fit\n\
         6,\"Aug 15, 2015, 2:45:08 PM\",escape,Run,../../etc/passwd\n\
         7,\"Aug 15, 2015, 2:45:08 PM\",formula,Run,activities/=cmd|' /C calc'!A0.fit\n\
         8,\"Aug 15, 2015, 2:45:08 PM\",bomb,Run,activities/8.gpx\n\
         x,not a row,,,\n"
    );
    let bomb = vec![b' '; 16 << 20]; // 16 MiB of spaces deflate about 1000:1
    let archive = zip_of(&[
        (b"activities.csv", csv.into_bytes()),
        (b"activities/1.fit", good.clone()),
        (b"activities/2.fit", bad_crc),
        (b"activities/3.fit", truncated),
        (b"activities/4.fit", Vec::new()),
        (b"activities/=cmd|' /C calc'!A0.fit", good.clone()),
        (b"activities/8.gpx", bomb),
        (b"../../etc/passwd", b"root".to_vec()),
    ]);
    let mut export = Export::open(std::io::Cursor::new(archive)).unwrap();
    let plan = export.plan().unwrap();
    let mut lines = Vec::new();
    for p in &plan {
        let outcome = match (&p.refused, &p.entry) {
            (Some(reason), _) => Err(reason.clone()),
            (None, Some(entry)) => export
                .read(entry)
                .and_then(|b| read_file(entry, &b).map_err(|e| e.to_string()))
                .map(|r| r.samples.len()),
            (None, None) => Ok(0),
        };
        lines.push((p.name.clone(), outcome));
    }
    let reason = |i: usize| lines[i].1.clone().expect_err(&format!("line {i}: {lines:#?}"));
    assert_eq!(lines[0].1, Ok(2809), "{lines:#?}");
    assert!(
        reason(1).starts_with("not a readable FIT file") && reason(1).to_lowercase().contains("crc"),
        "{}",
        reason(1)
    );
    assert!(reason(2).starts_with("not a readable FIT file"), "{}", reason(2));
    assert_eq!(reason(3), "the file is empty");
    assert_eq!(reason(4), "activities.csv names this file, but the archive does not hold it");
    assert!(reason(5).contains("path traversal"), "{}", reason(5));
    assert!(reason(6).contains("formula"), "{}", reason(6));
    assert!(lines[6].0.starts_with("'activities/="), "the report's name is disarmed: {}", lines[6].0);
    assert!(reason(7).contains("zip bomb"), "{}", reason(7));
    assert_eq!(lines[8].0, "activities.csv line 10");
    assert_eq!(reason(8), "Activity ID is not a positive whole number");
    assert_eq!(lines.len(), 9);
}

#[test]
fn whole_archives_that_are_refused() {
    // Not a ZIP.
    let err = Export::open(std::io::Cursor::new(b"%PDF-1.4 not an archive".to_vec())).err().unwrap();
    assert!(err.to_string().starts_with("not a ZIP archive"), "{err}");
    // Another athlete's.
    let mut export = small_export();
    let err = export.check_owner(42).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this archive is athlete 5123456789's (profile.csv), not athlete 42's: nothing imported"
    );
    // activities.csv without a Filename column names it.
    let archive = zip_of(&[(b"activities.csv", b"Activity ID,Activity Date\n1,x\n".to_vec())]);
    let err = Export::open(std::io::Cursor::new(archive)).unwrap().plan().unwrap_err();
    assert_eq!(err.to_string(), "activities.csv has no column \"Filename\"");
    // A ZIP of loose files: non-UTF-8 names refused, the others planned.
    let mut archive = zip_of(&[
        (b"ride.fit", fit("run_fenix2.fit")),
        (b"cafe.fit", fit("run_fenix2.fit")),
        (b"notes.txt", b"x".to_vec()),
    ]);
    // The name made Latin-1 in both of its records (the local header and the directory).
    let at: Vec<usize> = archive.windows(8).enumerate().filter(|(_, w)| w == b"cafe.fit").map(|(i, _)| i).collect();
    assert_eq!(at.len(), 2);
    for i in at {
        archive[i + 3] = 0xe9;
    }
    let plan = Export::open(std::io::Cursor::new(archive)).unwrap().plan().unwrap();
    assert_eq!(plan.len(), 2, "{plan:#?}");
    assert_eq!(plan[0].entry.as_deref(), Some("ride.fit"));
    assert_eq!(plan[1].refused.as_deref(), Some("the file's name is not UTF-8 text"));
}

#[test]
fn a_gzip_bomb_and_a_damaged_gzip_are_refused() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 32 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert_eq!(read_file("x.fit.gz", &bomb).unwrap_err(), stravasync_files::FileError::Ratio);
    let err = read_file("x.fit.gz", b"\x1f\x8b\x08\x00garbage").unwrap_err();
    assert!(matches!(err, stravasync_files::FileError::Gzip(_)), "{err}");
    assert_eq!(read_file("x.pdf", b"x").unwrap_err(), stravasync_files::FileError::UnknownFormat);
}
