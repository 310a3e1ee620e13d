//! The athlete's copy of their data (`GET /api/export`): the files of the ZIP and the
//! lines of its CSV files. No I/O: the read API streams these into the archive.
//!
//! | file | what |
//! |---|---|
//! | `profile.json` | the profile as stored: names, thresholds, PMC constants, scopes, sync state |
//! | `activities.csv` | one row per stored activity: Strava's summary fields, every metric and its source |
//! | `pmc.csv` | every stored PMC day: `date,load,ctl,atl,tsb` |
//! | `streams/<activity id>.json` | the activity's stored series under Strava's stream keys (`key_by_type` form) |
//!
//! Numbers are written in Rust's shortest round-trip form, so a value read back from
//! the CSV is the stored `f64` exactly.

use stravasync_core::metrics::{PEAK_WINDOWS, PeakSeries, ZoneTimes};
use stravasync_core::model::{ActivityId, PmcRow, StoredActivity};

pub const PROFILE_FILE: &str = "profile.json";
pub const ACTIVITIES_FILE: &str = "activities.csv";
pub const PMC_FILE: &str = "pmc.csv";
pub const README_FILE: &str = "README.txt";

/// `streams/<activity id>.json`.
pub fn streams_file(activity: ActivityId) -> String {
    format!("streams/{activity}.json")
}

/// The archive's file name, as the browser saves it.
pub fn archive_name(athlete: stravasync_core::model::AthleteId, today: stravasync_core::LocalDate) -> String {
    format!("training-data-{athlete}-{today}.zip")
}

/// What the archive says about itself.
pub const README_TEXT: &str = "Your training data, as stored when this archive was made.\n\n\
profile.json       your profile: names, thresholds, PMC time constants, Strava scopes granted, sync state\n\
activities.csv     one row per stored activity: Strava's summary, every metric computed and the score's source\n\
                   (zones: bounds and seconds, `;`-separated; peaks: best mean power, heart rate and speed per window)\n\
pmc.csv            every stored day of the Performance Management Chart: load, CTL, ATL, TSB\n\
streams/<id>.json  each activity's recorded series under Strava's stream keys (time, distance, latlng, ...)\n";

fn peak_columns(series: &str) -> impl Iterator<Item = String> + '_ {
    PEAK_WINDOWS.iter().map(move |w| format!("peak_{series}_{w}s"))
}

/// The header of `activities.csv`.
pub fn activity_columns() -> Vec<String> {
    let fixed = [
        "activity_id",
        "date",
        "start_date",
        "start_date_local",
        "timezone",
        "name",
        "sport_type",
        "type",
        "distance_m",
        "moving_time_s",
        "elapsed_time_s",
        "total_elevation_gain_m",
        "average_watts",
        "weighted_average_watts",
        "device_watts",
        "average_heartrate",
        "max_heartrate",
        "average_speed_mps",
        "manual",
        "private",
        "trainer",
        "commute",
        "pending_streams",
        "unscored_reason",
        "score_source",
        "score",
        "duration_s",
        "power_np",
        "power_if",
        "power_tss",
        "pace_ngs_mps",
        "pace_if",
        "pace_rtss",
        "heartrate_trimp",
        "heartrate_hrtss",
        "heartrate_samples",
        "power_zone_bounds_w",
        "power_zone_seconds",
        "heartrate_zone_bounds_bpm",
        "heartrate_zone_seconds",
        "group",
        "stss",
        "decoupling_pct",
        "ef",
        "wbal_cp_w",
        "wbal_w_prime_j",
        "wbal_min_j",
    ];
    let mut columns: Vec<String> = fixed.iter().map(|c| c.to_string()).collect();
    for series in ["watts", "heartrate", "velocity_smooth"] {
        columns.extend(peak_columns(series));
    }
    columns
}

fn num(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

fn int<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// A text cell (a name, a type, a reason), made harmless for spreadsheets: one that begins
/// with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a formula by Excel,
/// LibreOffice or Sheets, so it is written after a `'` (OWASP's CSV-injection advice). Number
/// cells never go through here: they stay numbers.
fn text(v: &Option<String>) -> String {
    let v = v.as_deref().unwrap_or_default();
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_string() }
}

fn joined<T: ToString>(values: &[T]) -> String {
    values.iter().map(ToString::to_string).collect::<Vec<_>>().join(";")
}

fn zones(z: Option<&ZoneTimes>) -> [String; 2] {
    z.map_or([String::new(), String::new()], |z| [joined(&z.boundaries), joined(&z.seconds)])
}

fn peaks(p: Option<&PeakSeries>) -> impl Iterator<Item = String> + '_ {
    PEAK_WINDOWS.iter().map(move |&w| num(p.and_then(|p| p.get(w))))
}

/// One row of `activities.csv`, in [`activity_columns`] order.
pub fn activity_fields(a: &StoredActivity) -> Vec<String> {
    let s = &a.summary;
    let m = a.metrics.as_ref();
    let mut row = vec![
        a.activity_id.to_string(),
        a.local_date.to_string(),
        s.start_date.clone(),
        s.start_date_local.clone(),
        text(&s.timezone),
        text(&s.name),
        text(&s.sport_type),
        text(&s.legacy_type),
        num(s.distance),
        int(s.moving_time),
        int(s.elapsed_time),
        num(s.total_elevation_gain),
        num(s.average_watts),
        num(s.weighted_average_watts),
        int(s.device_watts),
        num(s.average_heartrate),
        num(s.max_heartrate),
        num(s.average_speed),
        s.manual.to_string(),
        s.private.to_string(),
        s.trainer.to_string(),
        s.commute.to_string(),
        a.pending_streams.to_string(),
        text(&a.unscored_reason),
        m.map_or(String::new(), |m| format!("{:?}", m.score.source).to_lowercase()),
        num(m.and_then(|m| m.score.value)),
        int(m.map(|m| m.duration_s)),
        num(m.and_then(|m| m.power.as_ref()).and_then(|p| p.np)),
        num(m.and_then(|m| m.power.as_ref()).and_then(|p| p.intensity)),
        num(m.and_then(|m| m.power.as_ref()).and_then(|p| p.tss)),
        num(m.and_then(|m| m.pace.as_ref()).and_then(|p| p.ngs)),
        num(m.and_then(|m| m.pace.as_ref()).and_then(|p| p.intensity)),
        num(m.and_then(|m| m.pace.as_ref()).and_then(|p| p.rtss)),
        num(m.and_then(|m| m.heartrate.as_ref()).and_then(|h| h.trimp)),
        num(m.and_then(|m| m.heartrate.as_ref()).and_then(|h| h.hrtss)),
        int(m.and_then(|m| m.heartrate.as_ref()).map(|h| h.samples_with_hr)),
    ];
    row.extend(zones(m.and_then(|m| m.zones.power.as_ref())));
    row.extend(zones(m.and_then(|m| m.zones.heartrate.as_ref())));
    let wbal = m.and_then(|m| m.wbal.as_ref());
    row.extend([
        m.and_then(|m| m.group).map_or(String::new(), |g| g.name().to_string()),
        num(m.and_then(|m| m.stss)),
        num(m.and_then(|m| m.decoupling.as_ref()).and_then(|d| d.pct)),
        num(m.and_then(|m| m.ef)),
        num(wbal.map(|w| w.cp)),
        num(wbal.map(|w| w.w_prime)),
        num(wbal.map(|w| w.min)),
    ]);
    row.extend(peaks(m.and_then(|m| m.peaks.watts.as_ref())));
    row.extend(peaks(m.and_then(|m| m.peaks.heartrate.as_ref())));
    row.extend(peaks(m.and_then(|m| m.peaks.velocity_smooth.as_ref())));
    row
}

pub const PMC_COLUMNS: [&str; 5] = ["date", "load", "ctl", "atl", "tsb"];

/// One row of `pmc.csv`.
pub fn pmc_fields(r: &PmcRow) -> Vec<String> {
    vec![r.date.to_string(), r.load.to_string(), r.ctl.to_string(), r.atl.to_string(), r.tsb.to_string()]
}

/// A CSV line (RFC 4180): fields with a comma, quote or line break are quoted, quotes
/// doubled; lines end in CRLF.
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&f.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(f);
        }
    }
    line.push_str("\r\n");
    line
}

/// The records of a CSV text written by [`csv_line`] (for readers of the archive: the
/// tests, `stravasync`).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_quote_what_needs_it_and_read_back() {
        let fields = ["1", "a, b", "say \"hi\"", "two\nlines", "", "ünïcode"];
        let line = csv_line(&fields);
        assert_eq!(line, "1,\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\",,ünïcode\r\n");
        let back = parse_csv(&format!("{line}{line}"));
        assert_eq!(back, vec![fields.map(String::from).to_vec(); 2]);
    }

    #[test]
    fn every_activity_row_has_a_field_per_column_and_numbers_round_trip() {
        let a = stravasync_core::model::StoredActivity {
            schema: 1,
            athlete_id: 7,
            activity_id: 99,
            version: 1,
            local_date: "2025-11-20".parse().unwrap(),
            summary: serde_json::from_value(serde_json::json!({
                "id": 99, "name": "Lunch, \"easy\"", "sport_type": "Ride", "start_date": "2025-11-20T11:00:00Z",
                "start_date_local": "2025-11-20T12:00:00Z", "distance": 30123.4, "moving_time": 3600
            }))
            .unwrap(),
            metrics: None,
            stream_chunks: 0,
            streams_id: None,
            unscored_reason: Some("no streams".into()),
            pending_streams: false,
            field_versions: Default::default(),
        };
        let row = activity_fields(&a);
        assert_eq!(row.len(), activity_columns().len());
        let back = &parse_csv(&csv_line(&row))[0];
        assert_eq!(back[5], "Lunch, \"easy\"");
        // A name a spreadsheet would run as a formula is written as text; numbers stay numbers.
        for (name, written) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("-1 km", "'-1 km"),
            ("@home", "'@home"),
            ("\tx", "'\tx"),
            ("+", "'+"),
            ("Ride -", "Ride -"),
        ] {
            let mut b = a.clone();
            b.summary.name = Some(name.into());
            assert_eq!(parse_csv(&csv_line(&activity_fields(&b)))[0][5], written, "{name:?}");
        }
        let r = PmcRow { date: "2025-11-20".parse().unwrap(), load: 0.0, ctl: 1.0, atl: 2.0, tsb: -1.0 };
        assert_eq!(parse_csv(&csv_line(&pmc_fields(&r)))[0][4], "-1", "a negative number is a number");
        assert_eq!(back[8].parse::<f64>().unwrap(), 30123.4);
        let r = PmcRow { date: "2025-11-20".parse().unwrap(), load: 0.1 + 0.2, ctl: 1.0 / 3.0, atl: 2.5, tsb: -0.75 };
        let back = &parse_csv(&csv_line(&pmc_fields(&r)))[0];
        assert_eq!(back[1].parse::<f64>().unwrap(), r.load);
        assert_eq!(back[2].parse::<f64>().unwrap(), r.ctl);
    }
}
