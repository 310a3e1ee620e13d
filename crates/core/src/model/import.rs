//! The athlete's own files (docs/design.md §4b): what one file's import message carries,
//! and the line of the import's report that says what became of it.

use serde::{Deserialize, Serialize};

use super::{ActivityId, ActivitySummary, AthleteId};
use crate::thresholds::SportGroup;

/// The version an imported activity is stored at: the lowest, so that any event of
/// Strava's for the same id (and an explicit re-sync) replaces it.
pub const IMPORT_VERSION: i64 = 0;

/// A loose file and a Strava activity are the same recording when they start within this
/// many seconds of each other in the same sport group.
pub const SAME_START_S: i64 = 60;

/// One row of the export's `activities.csv`, as far as an import needs it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImportRow {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub activity_id: ActivityId,
    /// `Activity Date`, which is UTC (unix seconds).
    pub start_utc: Option<i64>,
    pub name: Option<String>,
    pub activity_type: Option<String>,
    /// `Filename`, relative to the archive's root; `None` for a manual activity.
    pub filename: Option<String>,
    /// The first `Elapsed Time` (whole seconds).
    pub elapsed_time: Option<i64>,
    pub moving_time: Option<i64>,
    /// The second `Distance` (metres).
    pub distance_m: Option<f64>,
}

/// One activity file to import (or an export row without one): the message of the import
/// queue, one per file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportFile {
    pub athlete_id: AthleteId,
    pub import_id: String,
    /// What the report calls it: the file's name.
    pub name: String,
    /// Where its bytes are (the archive entry, or the file), for the import's source;
    /// `None` for a manual activity.
    pub entry: Option<String>,
    pub row: Option<ImportRow>,
}

/// The import queue's message (one per file): the file, its place in the import (`seq`
/// of `total`), and its bytes zstd-compressed in base64 (`None` for an export row without
/// a file). SQS takes 1 MiB a message, so a file is sent when its body fits
/// [`MAX_INLINE_BODY`]; an upload through storage of its own will carry a reference instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportMessage {
    pub file: ImportFile,
    pub seq: u32,
    pub total: u32,
    /// The import's last message: the PMC is recomputed after it (once an import, not once a
    /// batch: every batch of an old history would rewrite the chart from its day to today).
    #[serde(default)]
    pub last: bool,
    #[serde(default)]
    pub body: Option<String>,
}

/// The largest body a message carries (SQS's 1 MiB less room for the rest).
pub const MAX_INLINE_BODY: usize = 960 * 1024;
/// The most bytes a body may expand to (the files' own limit, 64 MiB).
pub const MAX_BODY_BYTES: usize = 64 << 20;

impl ImportMessage {
    /// The message group: one per athlete, so one athlete's files are stored in turn.
    pub fn group_id(&self) -> String {
        format!("import-{}", self.file.athlete_id)
    }

    /// The deduplication id: the import and the file's place in it.
    pub fn dedup_id(&self) -> String {
        let id: String = self.file.import_id.chars().filter(char::is_ascii_alphanumeric).take(60).collect();
        format!("import-{id}-{}", self.seq)
    }

    /// The file's bytes, as sent.
    pub fn bytes(&self) -> Result<Option<Vec<u8>>, String> {
        self.body.as_deref().map(decode_body).transpose()
    }
}

/// A file's bytes as a message body: zstd, then base64.
pub fn encode_body(bytes: &[u8]) -> String {
    use base64::Engine;
    let compressed = zstd::bulk::compress(bytes, 3).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(compressed)
}

/// A message body's bytes, within [`MAX_BODY_BYTES`].
pub fn decode_body(body: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let compressed =
        base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| format!("body is not base64: {e}"))?;
    zstd::bulk::decompress(&compressed, MAX_BODY_BYTES).map_err(|e| format!("body is not zstd within 64 MiB: {e}"))
}

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportOutcome {
    /// A new activity.
    Stored,
    /// An activity stored without its streams got them from the file.
    Updated,
    /// Already stored (from Strava, or an earlier import): nothing written.
    Duplicate,
    /// Not imported; the reason says why.
    Refused,
}

/// One line of an import's report: the same shape on the CLI and the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportLine {
    pub file: String,
    pub activity_id: Option<ActivityId>,
    pub outcome: ImportOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ImportLine {
    pub fn refused(file: impl Into<String>, activity_id: Option<ActivityId>, reason: impl Into<String>) -> Self {
        ImportLine { file: file.into(), activity_id, outcome: ImportOutcome::Refused, reason: Some(reason.into()) }
    }
}

/// Whether two activities are one recording: starts within [`SAME_START_S`] and the
/// same sport group (a loose file and the Strava activity made from the same upload).
pub fn same_recording(a: &ActivitySummary, b: &ActivitySummary) -> bool {
    let start = |s: &ActivitySummary| crate::date::parse_timestamp(&s.start_date);
    match (start(a), start(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= SAME_START_S && SportGroup::of_summary(a) == SportGroup::of_summary(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_round_trips_and_a_bad_one_is_named() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(decode_body(&encode_body(&bytes)).unwrap(), bytes);
        assert!(decode_body("***").unwrap_err().starts_with("body is not base64"));
        assert!(decode_body("aGVsbG8=").unwrap_err().starts_with("body is not zstd"));
    }
}
