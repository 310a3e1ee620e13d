//! The athlete's data export: one ZIP ([`stravasync_read::export`] lists its files),
//! written while it is sent.
//!
//! Memory stays bounded whatever the history: activities are read a page at a time, one
//! activity's streams are decoded at a time, and the archive is written into a small
//! buffer that is handed to the response body (a bounded channel) every 64 KiB, so a slow
//! reader holds the writer back instead of the writer filling memory. The peak is set by
//! the largest single activity (at most the codec's cap), not by how many there are
//! (BENCHMARKS.md, "Export").
//!
//! In AWS the archive cannot travel through API Gateway (6 MB responses, no streaming):
//! `GET /api/export` takes the athlete's ration and redirects to a one-time link served
//! by the `export` function behind a Lambda function URL in response-streaming mode
//! (up to 200 MB), where the session cookie does not reach; the link carries a signed,
//! short-lived token instead ([`stravasync_core::signed::sign_export`]). Locally the same
//! router serves both.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use stravasync_core::LocalDate;
use stravasync_core::codec::decode_chunks;
use stravasync_core::model::{AthleteId, AthleteProfile};
use stravasync_core::ports::ActivityCursor;
use stravasync_core::ports::{ReadStore, StoreError};
use stravasync_read::export::{
    ACTIVITIES_FILE, PMC_COLUMNS, PMC_FILE, PROFILE_FILE, README_FILE, README_TEXT, activity_columns, activity_fields,
    csv_line, pmc_fields, streams_file,
};
use zip::write::SimpleFileOptions;

/// Bytes written before they are handed to the response body.
const FLUSH_AT: usize = 64 * 1024;
/// Archive pieces waiting for the reader at most.
const PIECES_IN_FLIGHT: usize = 4;
/// Activities read per page of the list.
const PAGE: usize = 100;
/// The days of the PMC read per query (a decade).
const PMC_SPAN_DAYS: i32 = 3_653;

/// Where the archive is written: a buffer the exporter empties into the body.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why an export stopped part way (the archive is then cut short: the reader sees an
/// incomplete ZIP, never a complete one with data missing).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("archive: {0}")]
    Io(#[from] std::io::Error),
    #[error("the reader went away")]
    Closed,
}

/// What was exported (for the log and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub activities: usize,
    pub streams: usize,
    pub pmc_days: usize,
    pub bytes: u64,
}

struct Exporter<S> {
    store: S,
    athlete: AthleteId,
    zip: zip::ZipWriter<zip::write::StreamWriter<Buffer>>,
    buffer: Buffer,
    out: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    options: SimpleFileOptions,
    summary: ExportSummary,
}

impl<S: ReadStore> Exporter<S> {
    /// Hands what was written to the body once there is enough of it (`all`: whatever
    /// there is); waits while the reader is behind.
    async fn flush(&mut self, all: bool) -> Result<(), ExportError> {
        if self.buffer.len() < FLUSH_AT && !all {
            return Ok(());
        }
        let bytes = self.buffer.take();
        if bytes.is_empty() {
            return Ok(());
        }
        self.summary.bytes += bytes.len() as u64;
        self.out.send(Ok(Bytes::from(bytes))).await.map_err(|_| ExportError::Closed)
    }

    /// One file, written in slices with the body fed between them.
    async fn file(&mut self, name: &str, content: &[u8]) -> Result<(), ExportError> {
        self.zip.start_file(name, self.options)?;
        for slice in content.chunks(FLUSH_AT) {
            self.zip.write_all(slice)?;
            self.flush(false).await?;
        }
        Ok(())
    }

    async fn run(mut self, profile: &AthleteProfile, today: LocalDate) -> Result<ExportSummary, ExportError> {
        self.file(README_FILE, README_TEXT.as_bytes()).await?;
        let profile_json = serde_json::to_vec_pretty(&ProfileExport::of(profile)).map_err(std::io::Error::other)?;
        self.file(PROFILE_FILE, &profile_json).await?;
        self.activities().await?;
        self.pmc(today).await?;
        // Writes the central directory; the writer left in its place is never used.
        std::mem::replace(&mut self.zip, zip::ZipWriter::new_stream(Buffer::default())).finish()?;
        self.flush(true).await?;
        Ok(self.summary)
    }

    /// `activities.csv`, then each activity's streams: two passes over the list, a page
    /// at a time, so neither holds more than a page.
    async fn activities(&mut self) -> Result<(), ExportError> {
        self.zip.start_file(ACTIVITIES_FILE, self.options)?;
        self.zip.write_all(csv_line(&activity_columns()).as_bytes())?;
        let mut before: Option<ActivityCursor> = None;
        loop {
            let page = self.store.activities_page(self.athlete, before, PAGE).await?;
            for a in &page {
                self.zip.write_all(csv_line(&activity_fields(a)).as_bytes())?;
                self.summary.activities += 1;
            }
            self.flush(false).await?;
            match page.last() {
                Some(last) if page.len() == PAGE => before = Some(ActivityCursor::after(last)),
                _ => break,
            }
        }
        let mut before: Option<ActivityCursor> = None;
        loop {
            let page = self.store.activities_page(self.athlete, before, PAGE).await?;
            for a in &page {
                let Some(set) = a.streams_ref() else { continue };
                let chunks = self.store.get_stream_chunks(self.athlete, a.activity_id, set).await?;
                let streams = match decode_chunks(&chunks) {
                    Ok(s) => s,
                    Err(e) => {
                        // A damaged item is not the athlete's data lost by us twice: say so in
                        // the archive rather than leave the file out silently.
                        tracing::error!(activity_id = a.activity_id, error = %e, "stored streams do not decode");
                        let note = format!("{{\"error\": \"the stored streams of this activity are damaged: {e}\"}}");
                        self.file(&streams_file(a.activity_id), note.as_bytes()).await?;
                        continue;
                    }
                };
                drop(chunks);
                let json = serde_json::to_vec(&streams).map_err(std::io::Error::other)?;
                drop(streams);
                self.file(&streams_file(a.activity_id), &json).await?;
                self.summary.streams += 1;
            }
            match page.last() {
                Some(last) if page.len() == PAGE => before = Some(ActivityCursor::after(last)),
                _ => break,
            }
        }
        Ok(())
    }

    /// `pmc.csv`: every stored day, a decade per query (a decade's rows are ~200 KB).
    async fn pmc(&mut self, today: LocalDate) -> Result<(), ExportError> {
        self.zip.start_file(PMC_FILE, self.options)?;
        self.zip.write_all(csv_line(&PMC_COLUMNS).as_bytes())?;
        let mut from = LocalDate::from_days_since_epoch(0);
        let last = today.add_days(1);
        while from <= last {
            let to = from.add_days(PMC_SPAN_DAYS - 1);
            for row in self.store.pmc_rows(self.athlete, from, to).await? {
                self.zip.write_all(csv_line(&pmc_fields(&row)).as_bytes())?;
                self.summary.pmc_days += 1;
                self.flush(false).await?;
            }
            from = to.add_days(1);
        }
        Ok(())
    }
}

/// `profile.json`: the profile as the athlete knows it (the session generation, a
/// server-side secret of sorts, stays out).
#[derive(serde::Serialize)]
struct ProfileExport<'a> {
    athlete_id: AthleteId,
    firstname: &'a Option<String>,
    lastname: &'a Option<String>,
    thresholds: &'a stravasync_core::model::Thresholds,
    pmc_constants: &'a stravasync_core::model::PmcConstants,
    scopes: &'a stravasync_core::model::Scopes,
    last_sync: Option<i64>,
    last_event_at: Option<i64>,
    backfill: &'a Option<stravasync_core::model::BackfillProgress>,
}

impl<'a> ProfileExport<'a> {
    fn of(p: &'a AthleteProfile) -> Self {
        ProfileExport {
            athlete_id: p.athlete_id,
            firstname: &p.firstname,
            lastname: &p.lastname,
            thresholds: &p.thresholds,
            pmc_constants: &p.pmc,
            scopes: &p.scopes,
            last_sync: p.last_sync,
            last_event_at: p.last_event_at,
            backfill: &p.backfill,
        }
    }
}

/// The archive of `profile`'s athlete as a response body, written while it is read.
/// `now` dates the files; `done` hears how it ended.
pub fn archive<S>(
    store: S,
    profile: AthleteProfile,
    now: i64,
    done: impl FnOnce(Result<ExportSummary, ExportError>) + Send + 'static,
) -> Body
where
    S: ReadStore + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(PIECES_IN_FLIGHT);
    let buffer = Buffer::default();
    let when = zip_time(now);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(when);
    let exporter = Exporter {
        store,
        athlete: profile.athlete_id,
        zip: zip::ZipWriter::new_stream(buffer.clone()),
        buffer,
        out: tx.clone(),
        options,
        summary: ExportSummary::default(),
    };
    tokio::spawn(async move {
        let result = exporter.run(&profile, LocalDate::from_unix_seconds(now)).await;
        if let Err(e) = &result
            && !matches!(e, ExportError::Closed)
        {
            // Cut the body short with an error: the client sees a failed download.
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
        done(result);
    });
    Body::from_stream(tokio_stream_of(rx))
}

/// A receiver as a stream of body pieces.
fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// `now` as the ZIP's MS-DOS date and time (UTC).
fn zip_time(now: i64) -> zip::DateTime {
    let date = LocalDate::from_unix_seconds(now);
    let secs = now.rem_euclid(86_400);
    let (y, m, d) = date.ymd();
    zip::DateTime::from_date_and_time(
        y.clamp(1980, 2107) as u16,
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        (secs % 3600 / 60) as u8,
        (secs % 60) as u8,
    )
    .unwrap_or_default()
}
