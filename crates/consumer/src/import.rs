//! The athlete's own files (docs/design.md §4b): one file of an import, converted, scored
//! and stored under its Strava id (an export row's) or a local id (a loose file's), at the
//! lowest version, without a Strava request: the import queue's records, in the Lambda and
//! in `stravasync import` alike.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use stravasync_core::date::format_utc;
use stravasync_core::json::parse_json_with_path;
use stravasync_core::model::{
    ActivityId, ActivityState, ActivitySummary, AthleteId, IMPORT_VERSION, ImportFile, ImportLine, ImportMessage,
    ImportOutcome, ImportRow, is_local_id, same_recording,
};
use stravasync_core::ports::{EventQueue, Ration, TokenVault};
use stravasync_core::ration::{IMPORT_FILES_DAILY, IMPORT_KIB_DAILY, import_kib};
use stravasync_core::streams::StreamSet;
use stravasync_files::{Dating, FileActivity, Start, local_id, read_file, sport};

use crate::fetch::Stamp;
use crate::outcome::{Outcome, Step};
use crate::{BatchReport, Consumer, ConsumerStore, Record};

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// One invocation of the import queue's event source: each record's file imported and
    /// its report line stored, in order; at the first record a retry may mend (the store
    /// unavailable, a body that is not an import message), it and every later record are
    /// reported failed (FIFO: the group's order holds), so they come back, and after the
    /// queue's redrive count (5) go to the DLQ. The PMC of the athletes changed follows the
    /// import's last message (until then their charts are marked for it, and the scheduled
    /// rollup is the backstop).
    pub async fn handle_import_batch(&self, records: &[Record]) -> BatchReport {
        let mut report = BatchReport::default();
        let mut last = false;
        for (i, record) in records.iter().enumerate() {
            match self.process_import(&record.body).await {
                Ok((_, is_last)) => last |= is_last,
                Err(reason) => {
                    tracing::warn!(message_id = %record.message_id, reason, outcome = "import_retry", "import record failed");
                    report.failed.extend(records[i..].iter().map(|r| r.message_id.clone()));
                    break;
                }
            }
        }
        if last {
            self.recompute_dirtied().await;
        }
        report
    }

    /// One import record: its file imported and its line stored; whether it was its
    /// import's last.
    pub async fn process_import(&self, body: &str) -> Result<(ImportLine, bool), String> {
        let message: ImportMessage = parse_json_with_path(body.as_bytes())
            .map_err(|e| format!("import message at {}: {}", e.path, e.message))?;
        let file = &message.file;
        let row_id = file.row.as_ref().map(|r| r.activity_id);
        let imported = match message.bytes() {
            // A body that does not decode is the file's fault: its line says so.
            Err(reason) => Ok(ImportLine::refused(&file.name, row_id, reason)),
            // A panic in a parser on a hostile file is that file's refusal, not the batch's.
            Ok(bytes) => match AssertUnwindSafe(self.import_file(file, bytes.as_deref())).catch_unwind().await {
                Ok(result) => result,
                Err(_) => Ok(ImportLine::refused(&file.name, row_id, "the file could not be read (the reader failed)")),
            },
        };
        let line = match imported {
            Ok(line) => line,
            // The athlete is gone (disconnected, or deleted meanwhile): nothing is written for them.
            Err(Outcome::Done) => {
                return Ok((ImportLine::refused(&file.name, row_id, "the athlete is not connected"), false));
            }
            // What the file itself caused is its line; only the store's failures are retried.
            Err(Outcome::Poison { reason }) => ImportLine::refused(&file.name, row_id, reason),
            Err(other) => return Err(format!("{other:?}")),
        };
        self.store
            .put_import_line(file.athlete_id, &file.import_id, message.seq, &line, self.now())
            .await
            .map_err(|e| e.to_string())?;
        // A deletion that raced this line takes it back (docs/design.md §5, lanes).
        if self.deleted_meanwhile(file.athlete_id).await.map_err(|o| format!("{o:?}"))? {
            return Ok((line, false));
        }
        tracing::info!(athlete_id = file.athlete_id, seq = message.seq, outcome = ?line.outcome, "import line");
        Ok((line, message.last))
    }

    /// One file of an import (`bytes` is `None` for an export row without a file: a manual
    /// activity). Its line of the report; `Err(Outcome::Done)` when the athlete is not
    /// connected (nothing is written for them), `Poison` for what the file itself caused that
    /// the scoring refused, and otherwise an `Err` only for what a retry may mend (the store
    /// unavailable).
    #[tracing::instrument(skip_all, fields(athlete_id = job.athlete_id, import_id = %job.import_id))]
    pub async fn import_file(&self, job: &ImportFile, bytes: Option<&[u8]>) -> Step<ImportLine> {
        let athlete = job.athlete_id;
        let row = job.row.as_ref();
        let row_id = row.map(|r| r.activity_id);
        let refuse = |id: Option<ActivityId>, reason: String| Ok(ImportLine::refused(&job.name, id, reason));
        let kib = import_kib(bytes.map_or(0, <[u8]>::len));
        match self.store.take_import(athlete, kib, self.now()).await? {
            Ration::Granted { .. } => {}
            Ration::Wait { retry_after_s, .. } => {
                return refuse(
                    row_id,
                    format!(
                        "over today's import allowance ({IMPORT_FILES_DAILY} files, {} GiB); try again in {} h",
                        IMPORT_KIB_DAILY >> 20,
                        (retry_after_s + 3599) / 3600
                    ),
                );
            }
            // Gone: nothing is stored for them, not even a line.
            Ration::NotConnected => return Err(Outcome::Done),
        }
        let id = match (row_id, bytes) {
            (Some(id), _) => id,
            (None, Some(b)) => local_id(b),
            (None, None) => return refuse(None, "no file and no activities.csv row".into()),
        };
        let stored = self.store.get_activity(athlete, id).await?;
        // What the file updates: an activity from Strava stored without streams (waiting for
        // them), when the file has them.
        let updating = match &stored {
            Some(ActivityState::Deleted(_)) => {
                return refuse(Some(id), "deleted on Strava: an import does not bring it back".into());
            }
            Some(ActivityState::Live(a)) if bytes.is_some() && a.streams_ref().is_none() && !a.summary.manual => {
                Some(a.as_ref())
            }
            Some(ActivityState::Live(_)) => return Ok(line(job, id, ImportOutcome::Duplicate, None)),
            None => None,
        };
        let (summary, set) = match bytes {
            Some(bytes) => {
                let name = job.entry.as_deref().unwrap_or(&job.name);
                let recording = match read_file(name, bytes) {
                    Ok(r) => r,
                    Err(e) => return refuse(Some(id), e.to_string()),
                };
                let athlete_offset_s = match recording.start {
                    Start::Utc { utc_offset_s: Some(_), .. } => None,
                    _ => self.athlete_offset(athlete).await?,
                };
                let dating = Dating { row_start_utc: row.and_then(|r| r.start_utc), athlete_offset_s };
                let sport = row.and_then(|r| r.activity_type.as_deref()).and_then(sport::strava_type);
                let name = row.and_then(|r| r.name.as_deref());
                match FileActivity::new(&recording, id, athlete, name, sport, &dating) {
                    // Strava's summary of a stored activity stays (its name, privacy, figures):
                    // the file brings its streams only.
                    Ok(a) => (updating.map_or(a.summary, |s| s.summary.clone()), a.streams),
                    Err(e) => return refuse(Some(id), e.to_string()),
                }
            }
            None => {
                let Some(row) = row else { return refuse(None, "no file".into()) };
                match manual_summary(row, athlete, self.athlete_offset(athlete).await?) {
                    Ok(s) => (s, StreamSet::default()),
                    Err(reason) => return refuse(Some(id), reason),
                }
            }
        };
        if let Err(e) = summary.local_date() {
            return refuse(Some(id), e.to_string());
        }
        // Streams a file made that Strava would never serve (non-finite numbers, times out of
        // order or range, positions off the globe) are the file's refusal, not poison.
        if let Err(e) = set.validate() {
            return refuse(Some(id), format!("the file's samples are not valid: {e}"));
        }
        if row.is_none()
            && let Some(same) = self.same_recording_stored(athlete, &summary).await?
        {
            return Ok(line(job, same, ImportOutcome::Duplicate, Some("the same recording is stored already")));
        }
        let stamp = updating.map_or(Stamp::from(IMPORT_VERSION), Stamp::of);
        let Some(stored) = self.store_scored(athlete, id, stamp, summary, set, false).await? else {
            return Ok(line(job, id, ImportOutcome::Duplicate, None));
        };
        // One copy of the recording: a Strava id takes its loose twins' place; a loose file
        // whose Strava twin arrived after the check above goes again.
        if let Some(twin) = self.keep_one_copy(&stored).await? {
            return Ok(line(job, twin, ImportOutcome::Duplicate, Some("the same recording arrived from Strava")));
        }
        let outcome = if updating.is_some() { ImportOutcome::Updated } else { ImportOutcome::Stored };
        Ok(line(job, id, outcome, None))
    }

    /// The athlete's offset from UTC: that of their newest activity from Strava, which
    /// knows where it was recorded (`None` without one: UTC).
    async fn athlete_offset(&self, athlete: AthleteId) -> Step<Option<i64>> {
        let newest = self.store.activities_page(athlete, None, 5).await?;
        Ok(newest.iter().filter(|a| !is_local_id(a.activity_id)).find_map(|a| a.summary.utc_offset_s()))
    }

    /// A stored activity that is the same recording as `summary` (a loose file's twin).
    async fn same_recording_stored(&self, athlete: AthleteId, summary: &ActivitySummary) -> Step<Option<ActivityId>> {
        let day = summary.local_date().map_err(|e| Outcome::Poison { reason: e.to_string() })?;
        let near = self.store.activities_between(athlete, day.add_days(-1), day.add_days(1)).await?;
        Ok(near
            .iter()
            .find(|a| a.activity_id != summary.id && same_recording(&a.summary, summary))
            .map(|a| a.activity_id))
    }
}

fn line(job: &ImportFile, id: ActivityId, outcome: ImportOutcome, reason: Option<&str>) -> ImportLine {
    ImportLine { file: job.name.clone(), activity_id: Some(id), outcome, reason: reason.map(str::to_string) }
}

/// An export row without a file: Strava's summary of a manual activity, dated by the row
/// (UTC) and the athlete's offset.
fn manual_summary(row: &ImportRow, athlete: AthleteId, offset: Option<i64>) -> Result<ActivitySummary, String> {
    let start = row.start_utc.ok_or("Activity Date is not a date this import reads")?;
    let sport = row.activity_type.as_deref().and_then(sport::strava_type).unwrap_or("Workout");
    Ok(ActivitySummary {
        id: row.activity_id,
        athlete_id: Some(athlete),
        name: row.name.clone(),
        sport_type: Some(sport.to_string()),
        start_date: format_utc(start),
        start_date_local: format_utc(start + offset.unwrap_or(0)),
        distance: row.distance_m,
        moving_time: row.moving_time.or(row.elapsed_time),
        elapsed_time: row.elapsed_time,
        manual: true,
        ..ActivitySummary::default()
    })
}
