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

    /// The deduplication id (SQS's is queue-wide): the athlete, the import and the file's
    /// place in it.
    pub fn dedup_id(&self) -> String {
        let id: String = self.file.import_id.chars().filter(char::is_ascii_alphanumeric).take(80).collect();
        format!("import-{}-{id}-{}", self.file.athlete_id, self.seq)
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

/// A message body's bytes, within [`MAX_BODY_BYTES`] and [`MAX_BODY_RATIO`] times its
/// compressed size (a body is a bomb's only by being made one).
pub fn decode_body(body: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let compressed =
        base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| format!("body is not base64: {e}"))?;
    let limit = MAX_BODY_BYTES.min(compressed.len().saturating_mul(MAX_BODY_RATIO).max(64 << 10));
    zstd::bulk::decompress(&compressed, limit)
        .map_err(|e| format!("body is not zstd within {limit} bytes ({MAX_BODY_RATIO}x its size, 64 MiB at most): {e}"))
}

/// The most a body may expand: real files compress 2 to 15 times.
pub const MAX_BODY_RATIO: usize = 100;

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

impl ImportOutcome {
    /// Its name, as the report's JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            ImportOutcome::Stored => "stored",
            ImportOutcome::Updated => "updated",
            ImportOutcome::Duplicate => "duplicate",
            ImportOutcome::Refused => "refused",
        }
    }
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
/// same sport group (a loose file and the Strava activity made from the same upload). A
/// `Workout` matches any group: it is what a file says when it does not say its sport
/// (GPX without `<type>`, TCX `Other`, FIT `generic`), while Strava's copy names it.
pub fn same_recording(a: &ActivitySummary, b: &ActivitySummary) -> bool {
    let start = |s: &ActivitySummary| crate::date::parse_timestamp(&s.start_date);
    let unsaid = |s: &ActivitySummary| s.sport_type.as_deref().or(s.legacy_type.as_deref()) == Some("Workout");
    match (start(a), start(b)) {
        (Some(x), Some(y)) => {
            (x - y).abs() <= SAME_START_S
                && (unsaid(a) || unsaid(b) || SportGroup::of_summary(a) == SportGroup::of_summary(b))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_recording_is_the_same_start_and_group_or_a_file_that_does_not_say() {
        let s = |start: &str, sport: &str| ActivitySummary {
            id: 1,
            sport_type: Some(sport.into()),
            start_date: start.into(),
            start_date_local: start.into(),
            ..ActivitySummary::default()
        };
        let run = s("2015-08-15T14:45:08Z", "Run");
        assert!(same_recording(&run, &s("2015-08-15T14:46:08Z", "TrailRun")), "60 s, same group");
        assert!(!same_recording(&run, &s("2015-08-15T14:46:09Z", "Run")), "61 s");
        assert!(!same_recording(&run, &s("2015-08-15T14:45:08Z", "Ride")), "another group");
        assert!(same_recording(&run, &s("2015-08-15T14:45:30Z", "Workout")), "a file that does not say its sport");
    }

    #[test]
    fn an_outcome_is_named_as_its_json() {
        for o in [ImportOutcome::Stored, ImportOutcome::Updated, ImportOutcome::Duplicate, ImportOutcome::Refused] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.name());
        }
    }

    #[test]
    fn a_body_round_trips_and_a_bad_one_is_named() {
        // Bytes that compress as little as a file's (a linear congruential sequence).
        let bytes: Vec<u8> = (0..100_000u64)
            .scan(7u64, |x, _| {
                *x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                Some((*x >> 56) as u8)
            })
            .collect();
        assert_eq!(decode_body(&encode_body(&bytes)).unwrap(), bytes);
        assert!(decode_body("***").unwrap_err().starts_with("body is not base64"));
        assert!(decode_body("aGVsbG8=").unwrap_err().starts_with("body is not zstd"));
        // 32 MiB of zeros compress to a few KiB: more than 100 times, refused.
        let bomb = encode_body(&vec![0u8; 32 << 20]);
        assert!(decode_body(&bomb).unwrap_err().starts_with("body is not zstd within"), "a bomb");
    }
}
