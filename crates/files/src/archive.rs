//! Strava's bulk export ("Download your data"): a ZIP with `activities.csv`, `profile.csv`
//! and the original files under `activities/`. Read within limits, entry by entry: a bad
//! entry gets its reason and the others go on; only an archive that is not a ZIP, has no
//! readable `activities.csv`, or is another athlete's is refused whole.
//!
//! `activities.csv` is read by column name and occurrence, never by position: real headers
//! have 94 to 103 columns, five names twice (the first `Distance` in km, the second in m;
//! the first `Elapsed Time` whole seconds), and other languages translate them. The names
//! known are English and German (`Aktivitäts-ID`, `Dateiname`, …); a missing column is
//! named in the refusal. A ZIP without `activities.csv` is a folder of loose files.

use std::io::{Read, Seek};

use stravasync_core::model::{ActivityId, AthleteId};

use crate::{Format, MAX_FILE_BYTES, MAX_RATIO, read_at_most};

/// At most this many entries in one archive (a real one with 3,000 activities has about
/// 3,100).
pub const MAX_ENTRIES: usize = 50_000;
/// At most this many bytes decompressed from one archive, all entries together.
pub const MAX_ARCHIVE_BYTES: u64 = 8 << 30;
/// `activities.csv` and `profile.csv` are read whole, up to this size.
pub const MAX_CSV_BYTES: u64 = 64 << 20;

/// Why a whole archive is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a ZIP archive: {0}")]
    NotZip(String),
    #[error("the archive holds {0} entries, more than the {MAX_ENTRIES} an export has")]
    TooManyEntries(usize),
    #[error("activities.csv: {0}")]
    Csv(String),
    #[error("activities.csv has no column {0:?}")]
    MissingColumn(&'static str),
    #[error("this archive is athlete {found}'s (profile.csv), not athlete {expected}'s: nothing imported")]
    OtherAthlete { found: AthleteId, expected: AthleteId },
    #[error("the archive expands beyond {} GiB in all: refused as a possible zip bomb", MAX_ARCHIVE_BYTES >> 30)]
    TooLarge,
}

/// One row of `activities.csv` (the import message's row).
pub use stravasync_core::model::ImportRow as ExportRow;

/// One thing to import from an archive: a row (with its file, or a manual one) or a
/// loose file; or a refusal with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// What the report calls it: the file's name in the archive, or `activities.csv line N`.
    pub name: String,
    /// The archive entry to read.
    pub entry: Option<String>,
    pub row: Option<ExportRow>,
    pub refused: Option<String>,
}

/// An open export.
pub struct Export<R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    read_so_far: u64,
}

impl<R: Read + Seek> Export<R> {
    pub fn open(reader: R) -> Result<Self, ArchiveError> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| ArchiveError::NotZip(e.to_string()))?;
        if zip.len() > MAX_ENTRIES {
            return Err(ArchiveError::TooManyEntries(zip.len()));
        }
        Ok(Export { zip, read_so_far: 0 })
    }

    /// Refuses another athlete's archive: `profile.csv`'s `Athlete ID` must be `athlete`.
    /// An archive without `profile.csv` (a ZIP of loose files) passes.
    pub fn check_owner(&mut self, athlete: AthleteId) -> Result<(), ArchiveError> {
        let Some(bytes) = self.csv("profile.csv")? else { return Ok(()) };
        let mut reader = csv_reader(&bytes);
        let headers = reader.headers().map_err(|e| ArchiveError::Csv(format!("profile.csv: {e}")))?.clone();
        let col =
            column(&headers, &["Athlete ID", "Athleten-ID"], 1).ok_or(ArchiveError::MissingColumn("Athlete ID"))?;
        let row = reader
            .records()
            .next()
            .transpose()
            .map_err(|e| ArchiveError::Csv(format!("profile.csv: {e}")))?
            .ok_or_else(|| ArchiveError::Csv("profile.csv has no row".into()))?;
        let found: AthleteId = row
            .get(col)
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| ArchiveError::Csv("profile.csv: Athlete ID is not a number".into()))?;
        if found != athlete {
            return Err(ArchiveError::OtherAthlete { found, expected: athlete });
        }
        Ok(())
    }

    /// What to import: a line per `activities.csv` row, or without one a line per FIT, GPX
    /// or TCX entry; refusals (unsafe names, missing files, bad rows) as lines too.
    pub fn plan(&mut self) -> Result<Vec<Planned>, ArchiveError> {
        let entries: Vec<Result<String, String>> = (0..self.zip.len())
            .map(|i| match self.zip.by_index_raw(i) {
                Ok(f) if f.is_dir() => Err(String::new()),
                Ok(f) => match std::str::from_utf8(f.name_raw()) {
                    Ok(name) => Ok(name.to_string()),
                    Err(_) => Err(String::from_utf8_lossy(f.name_raw()).into_owned()),
                },
                Err(e) => Err(format!("entry {i}: {e}")),
            })
            .collect();
        let names: std::collections::HashSet<&str> = entries.iter().filter_map(|e| e.as_deref().ok()).collect();
        let Some(csv) = self.csv("activities.csv")? else {
            // A ZIP of loose files.
            return Ok(entries
                .iter()
                .filter_map(|e| match e {
                    Ok(name) if Format::of_name(name).is_some() => Some(loose(name)),
                    Err(name) if !name.is_empty() && Format::of_name(name).is_some() => {
                        Some(refused(&display_name(name), "the file's name is not UTF-8 text".into()))
                    }
                    _ => None,
                })
                .collect());
        };
        let rows = read_activities_csv(&csv)?;
        Ok(rows
            .into_iter()
            .map(|row| match row {
                Err((line, reason)) => refused(&format!("activities.csv line {line}"), reason),
                Ok(row) => match &row.filename {
                    None => Planned {
                        name: format!("activities.csv line {} (manual)", row.line),
                        entry: None,
                        row: Some(row),
                        refused: None,
                    },
                    Some(file) => match unsafe_name(file) {
                        Some(reason) => refused(&display_name(file), reason),
                        None if !names.contains(file.as_str()) => {
                            refused(file, "activities.csv names this file, but the archive does not hold it".into())
                        }
                        None => {
                            Planned { name: file.clone(), entry: Some(file.clone()), row: Some(row), refused: None }
                        }
                    },
                },
            })
            .collect())
    }

    /// One entry's bytes, within [`MAX_FILE_BYTES`], [`MAX_RATIO`] and the archive's
    /// [`MAX_ARCHIVE_BYTES`].
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let mut file = self.zip.by_name(name).map_err(|e| format!("the archive entry cannot be read: {e}"))?;
        let compressed = file.compressed_size().max(1);
        let limit = MAX_FILE_BYTES.min(compressed.saturating_mul(MAX_RATIO).max(64 << 10));
        let out = read_at_most(&mut file, limit)
            .map_err(|e| format!("the archive entry is damaged: {e}"))?
            .ok_or_else(|| {
                if limit < MAX_FILE_BYTES {
                    format!("the entry expands more than {MAX_RATIO} times: refused as a possible zip bomb")
                } else {
                    format!("the entry is larger than {} MiB", MAX_FILE_BYTES >> 20)
                }
            })?;
        self.read_so_far += out.len() as u64;
        if self.read_so_far > MAX_ARCHIVE_BYTES {
            return Err(ArchiveError::TooLarge.to_string());
        }
        Ok(out)
    }

    /// A CSV at the archive's root, if present.
    fn csv(&mut self, name: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
        if self.zip.index_for_name(name).is_none() {
            return Ok(None);
        }
        let file = self.zip.by_name(name).map_err(|e| ArchiveError::Csv(format!("{name}: {e}")))?;
        let out = read_at_most(file, MAX_CSV_BYTES)
            .map_err(|e| ArchiveError::Csv(format!("{name}: {e}")))?
            .ok_or_else(|| ArchiveError::Csv(format!("{name} is larger than {} MiB", MAX_CSV_BYTES >> 20)))?;
        Ok(Some(out))
    }
}

fn loose(name: &str) -> Planned {
    match unsafe_name(name) {
        Some(reason) => refused(&display_name(name), reason),
        None => Planned { name: name.to_string(), entry: Some(name.to_string()), row: None, refused: None },
    }
}

fn refused(name: &str, reason: String) -> Planned {
    Planned { name: name.to_string(), entry: None, row: None, refused: Some(reason) }
}

/// Why a name is not taken: a path that leaves the archive, or one a spreadsheet would
/// run as a formula.
pub fn unsafe_name(name: &str) -> Option<String> {
    let traversal = name.starts_with('/')
        || name.contains('\\')
        || name.split('/').any(|part| part == "..")
        || name.as_bytes().get(1) == Some(&b':');
    if traversal {
        return Some("the name leaves the archive's folder (path traversal)".into());
    }
    if name.chars().any(char::is_control) {
        return Some("the name holds control characters".into());
    }
    if looks_like_formula(name) {
        return Some("the name looks like a spreadsheet formula".into());
    }
    None
}

/// Whether the name or any of its parts begins as a spreadsheet formula does.
fn looks_like_formula(name: &str) -> bool {
    name.split('/').any(|part| part.starts_with(['=', '+', '-', '@']))
}

/// A name as the report shows it: control characters replaced, a formula disarmed.
pub fn display_name(name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    if looks_like_formula(&clean) { format!("'{clean}") } else { clean }
}

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    csv::ReaderBuilder::new().flexible(true).from_reader(bytes)
}

/// The index of the `occurrence`-th (from 1) column named any of `names`.
fn column(headers: &csv::StringRecord, names: &[&str], occurrence: usize) -> Option<usize> {
    headers.iter().enumerate().filter(|(_, h)| names.contains(&h.trim())).map(|(i, _)| i).nth(occurrence - 1)
}

/// A row of `activities.csv`, or its line and why it was not read.
pub type RowResult = Result<ExportRow, (u64, String)>;

/// Each row of `activities.csv`.
pub fn read_activities_csv(bytes: &[u8]) -> Result<Vec<RowResult>, ArchiveError> {
    let mut reader = csv_reader(bytes);
    let headers = reader.headers().map_err(|e| ArchiveError::Csv(e.to_string()))?.clone();
    let required =
        |names: &[&str], label: &'static str| column(&headers, names, 1).ok_or(ArchiveError::MissingColumn(label));
    let id = required(&["Activity ID", "Aktivitäts-ID"], "Activity ID")?;
    let date = required(&["Activity Date", "Aktivitätsdatum"], "Activity Date")?;
    let filename = required(&["Filename", "Dateiname"], "Filename")?;
    let name = column(&headers, &["Activity Name", "Aktivitätsname"], 1);
    let kind = column(&headers, &["Activity Type", "Aktivitätsart"], 1);
    let elapsed = column(&headers, &["Elapsed Time", "Verstrichene Zeit"], 1);
    let moving = column(&headers, &["Moving Time", "Bewegungszeit"], 1);
    let distance_m = column(&headers, &["Distance", "Distanz"], 2);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(i as u64 + 2, |p| p.line());
                rows.push(Err((line, format!("not a CSV row: {e}"))));
                continue;
            }
        };
        // The row's own line (a quoted description may span several).
        let line = record.position().map_or(i as u64 + 2, |p| p.line());
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).map(str::trim).filter(|v| !v.is_empty());
        let Some(activity_id) = field(Some(id)).and_then(|v| v.parse::<ActivityId>().ok()).filter(|&v| v > 0) else {
            rows.push(Err((line, "Activity ID is not a positive whole number".into())));
            continue;
        };
        let start_utc = field(Some(date)).and_then(parse_export_date);
        rows.push(Ok(ExportRow {
            line,
            activity_id,
            start_utc,
            name: field(name).map(str::to_string),
            activity_type: field(kind).map(str::to_string),
            filename: field(Some(filename)).map(str::to_string),
            elapsed_time: field(elapsed).and_then(|v| v.parse::<f64>().ok()).map(|v| v as i64),
            moving_time: field(moving).and_then(|v| v.parse::<f64>().ok()).map(|v| v as i64),
            distance_m: field(distance_m).and_then(|v| v.parse::<f64>().ok()),
        }));
    }
    Ok(rows)
}

/// `Activity Date` (UTC): `Aug 16, 2013, 6:05:10 PM` as English exports write it, the
/// day-first `16.08.2013, 18:05:10`, or `2013-08-16 18:05:10` / ISO 8601.
pub fn parse_export_date(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Some(t) = crate::xml::parse_time(&value.replacen(' ', "T", 1)) {
        return Some(t);
    }
    if let Some((date, time)) = value.split_once(", ")
        && let [d, m, y] = date.split('.').collect::<Vec<_>>()[..]
    {
        let date = stravasync_core::LocalDate::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
        let t = crate::xml::parse_time(&format!("{date}T{}", time.trim()))?;
        return Some(t);
    }
    // A no-break space (before AM/PM, say) reads as a space.
    let value = value.replace(['\u{a0}', '\u{202f}'], " ");
    let value = value.as_str();
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let parts: Vec<&str> = value.split([' ', ',']).filter(|p| !p.is_empty()).collect();
    let [month, day, year, time, half] = parts[..] else { return None };
    let month = MONTHS.iter().position(|m| month.starts_with(m))? as u32 + 1;
    let date = stravasync_core::LocalDate::from_ymd(year.parse().ok()?, month, day.parse().ok()?)?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next().unwrap_or(Some(0))?);
    if !(1..=12).contains(&h) || m > 59 || s > 59 {
        return None;
    }
    let h = match half {
        "AM" => h % 12,
        "PM" => h % 12 + 12,
        _ => return None,
    };
    Some(i64::from(date.days_since_epoch()) * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_dates() {
        let t = parse_export_date("Aug 16, 2013, 6:05:10 PM").unwrap();
        assert_eq!(stravasync_core::date::format_utc(t), "2013-08-16T18:05:10Z");
        assert_eq!(
            stravasync_core::date::format_utc(parse_export_date("Aug 18, 2015, 12:30:00 AM").unwrap()),
            "2015-08-18T00:30:00Z"
        );
        assert_eq!(parse_export_date("2013-08-16 18:05:10"), Some(t));
        assert_eq!(parse_export_date("16.08.2013, 18:05:10"), Some(t));
        assert_eq!(parse_export_date("Aug 16, 2013, 6:05:10\u{202f}PM"), Some(t));
        assert_eq!(parse_export_date("16.08.2013"), None);
    }

    #[test]
    fn names_that_are_refused() {
        assert!(unsafe_name("activities/../../etc/passwd").is_some());
        assert!(unsafe_name("/etc/passwd").is_some());
        assert!(unsafe_name("activities\\x.fit").is_some());
        assert!(unsafe_name("C:/x.fit").is_some());
        assert!(unsafe_name("activities/=HYPERLINK(1).fit").is_some());
        assert!(unsafe_name("activities/a\nb.fit").is_some());
        assert_eq!(unsafe_name("activities/123.fit.gz"), None);
        assert_eq!(display_name("activities/=1+1.fit"), "'activities/=1+1.fit");
    }

    #[test]
    fn columns_by_name_and_occurrence_whatever_their_number_and_language() {
        let english = "Activity ID,Activity Date,Activity Name,Activity Type,Elapsed Time,Distance,Filename,Elapsed Time,Moving Time,Distance,Recovery,With Pet,Media\n\
            1,\"Aug 16, 2013, 6:05:10 PM\",\"Ride, long\",Ride,4699,41.34,activities/9.fit.gz,4699.0,4651.0,41337.5,,,\"\"\n";
        let rows = read_activities_csv(english.as_bytes()).unwrap();
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.name.as_deref(), Some("Ride, long"));
        assert_eq!(row.filename.as_deref(), Some("activities/9.fit.gz"));
        assert_eq!((row.elapsed_time, row.moving_time, row.distance_m), (Some(4699), Some(4651), Some(41337.5)));
        let german = "\u{feff}Aktivitäts-ID,Aktivitätsdatum,Dateiname\r\n7,2013-08-16 18:05:10,\r\n";
        let rows = read_activities_csv(german.as_bytes()).unwrap();
        assert_eq!(rows[0].as_ref().unwrap().filename, None);
        let missing = read_activities_csv(b"Activity ID,Activity Date\n1,x\n").unwrap_err();
        assert_eq!(missing.to_string(), "activities.csv has no column \"Filename\"");
        let bad = read_activities_csv(b"Activity ID,Activity Date,Filename\nabc,x,\n").unwrap();
        assert_eq!(bad[0], Err((2, "Activity ID is not a positive whole number".into())));
        // A quoted description over three lines: the next row is on line 5.
        let long =
            read_activities_csv(b"Activity ID,Activity Date,Filename,Activity Description\n1,x,,\"a\nb\nc\"\nzz,x,,\n")
                .unwrap();
        assert_eq!(long[1], Err((5, "Activity ID is not a positive whole number".into())));
    }
}
