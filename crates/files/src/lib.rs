//! The athlete's own files: FIT (`fitparser`), GPX and TCX (`quick-xml` with serde), each
//! gzipped or not (`flate2`), and Strava's bulk export (`zip`, `csv`), read within limits and
//! turned into the stream set and summary the API path stores (docs/design.md §4b). No
//! I/O: bytes in, activities out; the consumer stores them, the CLI reads the disk.
//!
//! - [`read_file`]: one file (by its name's extension) as a [`Recording`].
//! - [`FileActivity::new`]: a recording as Strava's summary and streams, dated.
//! - [`archive`]: the export's `activities.csv`, `profile.csv` and entries.
//! - [`sport`]: the one table of sport types.

pub mod archive;
mod fit;
pub mod sport;
mod xml;

use std::io::Read;

use stravasync_core::convert::{Sample, figures, stream_set};
use stravasync_core::date::format_utc;
use stravasync_core::model::{ActivityId, ActivitySummary, AthleteId, LOCAL_ID_BASE};
use stravasync_core::streams::{NumericKey, StreamSet};

pub use sport::Sport;

/// Largest file taken, once decompressed: 64 MiB (Strava's own upload limit is 25 MB; a
/// 24-hour 1 Hz FIT file is about 5 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Largest expansion of a compressed file or entry: real FIT files deflate about 3:1 and
/// GPX about 15:1; a zip bomb's runs of zeros reach 1000:1.
pub const MAX_RATIO: u64 = 100;

/// The formats read, from the file name (case-insensitive): `.fit`, `.gpx`, `.tcx`, each
/// also `.gz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Fit,
    Gpx,
    Tcx,
}

impl Format {
    /// The format and whether it is gzipped, or `None` for any other name.
    pub fn of_name(name: &str) -> Option<(Format, bool)> {
        let lower = name.to_ascii_lowercase();
        let (stem, gz) = match lower.strip_suffix(".gz") {
            Some(stem) => (stem, true),
            None => (lower.as_str(), false),
        };
        let format = if stem.ends_with(".fit") {
            Format::Fit
        } else if stem.ends_with(".gpx") {
            Format::Gpx
        } else if stem.ends_with(".tcx") {
            Format::Tcx
        } else {
            return None;
        };
        Some((format, gz))
    }
}

/// Why a file was not read, in the athlete's words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileError {
    #[error("not a .fit, .gpx or .tcx file (gzipped or not)")]
    UnknownFormat,
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {} MiB once decompressed", MAX_FILE_BYTES >> 20)]
    TooLarge,
    #[error("the file expands more than {MAX_RATIO} times: refused as a possible zip bomb")]
    Ratio,
    #[error("the gzip data is damaged: {0}")]
    Gzip(String),
    #[error("not a readable FIT file: {0}")]
    Fit(String),
    #[error("not a readable GPX/TCX file: {0}")]
    Xml(String),
    #[error("the file holds no samples with a time")]
    NoSamples,
}

/// When a recording started, as its file tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Real time: the first sample's unix seconds, and the place's offset when the file
    /// says (a FIT file's `activity.local_timestamp − activity.timestamp`).
    Utc { unix: i64, utc_offset_s: Option<i64> },
    /// A device's own clock (FIT timestamps below 0x10000000): no date at all.
    DeviceRelative,
}

/// One file's samples, sport and start.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub samples: Vec<Sample>,
    pub sport: Sport,
    pub start: Start,
    /// The track's own name (GPX `<name>`).
    pub name: Option<String>,
}

/// One file, by the extension of `name`, gunzipped when it ends in `.gz`.
pub fn read_file(name: &str, bytes: &[u8]) -> Result<Recording, FileError> {
    let (format, gz) = Format::of_name(name).ok_or(FileError::UnknownFormat)?;
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    let owned;
    let data = if gz {
        owned = gunzip(bytes)?;
        &owned[..]
    } else {
        bytes
    };
    if data.is_empty() {
        return Err(FileError::Empty);
    }
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(FileError::TooLarge);
    }
    match format {
        Format::Fit => fit::read(data),
        Format::Gpx | Format::Tcx => {
            let text = std::str::from_utf8(data).map_err(|e| FileError::Xml(format!("not UTF-8 text ({e})")))?;
            // TCX files in real exports begin with spaces before `<?xml`.
            let text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
            if format == Format::Gpx { xml::gpx(text) } else { xml::tcx(text) }
        }
    }
}

/// Decompresses within [`MAX_FILE_BYTES`] and [`MAX_RATIO`].
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, FileError> {
    let limit = MAX_FILE_BYTES.min((bytes.len() as u64).saturating_mul(MAX_RATIO));
    read_at_most(flate2::read::MultiGzDecoder::new(bytes), limit)
        .map_err(|e| FileError::Gzip(e.to_string()))?
        .ok_or(if limit < MAX_FILE_BYTES { FileError::Ratio } else { FileError::TooLarge })
}

/// All of `reader` if it holds at most `limit` bytes, `None` if it holds more (reading no
/// further than one byte past the limit).
pub fn read_at_most(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    Ok((out.len() as u64 <= limit).then_some(out))
}

/// A recording as Strava would serve it: the summary (dated) and the streams.
#[derive(Debug, Clone, PartialEq)]
pub struct FileActivity {
    pub summary: ActivitySummary,
    pub streams: StreamSet,
}

/// What dates an activity beside its file: the export row's start (UTC) and type, and the
/// athlete's own offset (from their Strava activities, or set by them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dating {
    pub row_start_utc: Option<i64>,
    pub athlete_offset_s: Option<i64>,
}

/// Why a recording could not be dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the file has no date (its device counted its own seconds): import it with the export's activities.csv, or give its start"
)]
pub struct NoDate;

impl FileActivity {
    /// The summary and streams of `recording` under `id`, dated by docs/design.md §4b: a
    /// FIT file's own offset, else the athlete's (UTC without one); a device-relative file
    /// by the export row, else not at all.
    pub fn new(
        recording: &Recording,
        id: ActivityId,
        athlete: AthleteId,
        name: Option<&str>,
        sport_type: Option<&str>,
        dating: &Dating,
    ) -> Result<FileActivity, NoDate> {
        let (start, offset) = match recording.start {
            Start::Utc { unix, utc_offset_s } => (unix, utc_offset_s.or(dating.athlete_offset_s).unwrap_or(0)),
            Start::DeviceRelative => (dating.row_start_utc.ok_or(NoDate)?, dating.athlete_offset_s.unwrap_or(0)),
        };
        let streams = stream_set(&recording.samples);
        let f = figures(&streams);
        let sport = sport_type.unwrap_or(recording.sport.sport_type);
        let summary = ActivitySummary {
            id,
            athlete_id: Some(athlete),
            name: name.map(str::to_string).or_else(|| recording.name.clone()),
            sport_type: Some(sport.to_string()),
            start_date: format_utc(start),
            start_date_local: format_utc(start + offset),
            distance: f.distance,
            moving_time: Some(f.moving_time),
            elapsed_time: Some(f.elapsed_time),
            average_watts: f.average_watts,
            device_watts: streams.get(NumericKey::Watts).map(|_| true),
            average_heartrate: f.average_heartrate,
            max_heartrate: f.max_heartrate,
            average_speed: match (f.distance, f.moving_time) {
                (Some(d), t) if t > 0 => Some(d / t as f64),
                _ => None,
            },
            trainer: recording.sport.trainer,
            ..ActivitySummary::default()
        };
        Ok(FileActivity { summary, streams })
    }
}

/// The id of a file without a Strava id (a loose file): in a range of its own, from the
/// file's content, so the same file gets the same id again. Strava's ids are far below
/// 2^52; these stay below 2^53, so a browser's numbers hold them exactly.
pub fn local_id(bytes: &[u8]) -> ActivityId {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    LOCAL_ID_BASE + (u64::from_be_bytes(n) % (1 << 52)) as i64
}
