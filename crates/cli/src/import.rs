//! `stravasync import`: an athlete's own files into the stack (TABLE_NAME and the
//! consumer's variables), without a Strava request: a FIT, GPX or TCX file (gzipped or
//! not), a folder of them, or Strava's bulk-export ZIP. One message per activity file
//! ([`ImportMessage`], the file's bytes in it) goes on the import queue (`IMPORT_QUEUE_URL`),
//! and the queue's records go through the consumer's own handler, here, with a progress bar;
//! the PMC follows. The report is each file's stored line (the API's shape): stored,
//! updated, duplicate, or refused with its reason.

use std::path::{Path, PathBuf};

use clap::Args;
use stravasync_aws::sqs::SqsQueue;
use stravasync_consumer::deps::{AwsConsumer, ConsumerEnv};
use stravasync_core::job::QueueMessage;
use stravasync_core::model::{ImportFile, ImportLine, ImportMessage, ImportOutcome, MAX_INLINE_BODY, encode_body};
use stravasync_core::ports::{EventQueue, ImportStore, ProfileStore};
use stravasync_files::Format;
use stravasync_files::archive::{Export, Planned, display_name};

use crate::{CliError, InputError, to_json};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The athlete whose files these are (an export's profile.csv must say the same).
    #[arg(long)]
    pub athlete: i64,
    /// A FIT, GPX or TCX file (`.gz` or not), a folder of them, or an export ZIP.
    pub path: PathBuf,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// How long to wait, once the queue looks empty, for files a deployed consumer is still
    /// storing, in seconds.
    #[arg(long, default_value_t = 60)]
    pub wait_s: u32,
}

/// Strava's API and OAuth bases, for a consumer that never calls them.
const STRAVA_API: &str = "https://www.strava.com/api/v3";
const STRAVA_OAUTH: &str = "https://www.strava.com/oauth";

/// Where the files' bytes come from.
pub enum Source {
    Zip(Box<Export<std::fs::File>>),
    Disk(PathBuf),
}

impl Source {
    pub fn read(&mut self, entry: &str) -> Result<Vec<u8>, String> {
        match self {
            Source::Zip(export) => export.read(entry),
            Source::Disk(dir) => {
                let limit = stravasync_files::MAX_FILE_BYTES;
                std::fs::File::open(dir.join(entry))
                    .and_then(|f| stravasync_files::read_at_most(f, limit))
                    .map_err(|e| format!("cannot read the file: {e}"))?
                    .ok_or_else(|| format!("the file is larger than {} MiB", limit >> 20))
            }
        }
    }
}

/// What an import did, as the API will serve it.
#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    pub import_id: String,
    pub athlete_id: i64,
    pub stored: usize,
    pub updated: usize,
    pub duplicate: usize,
    pub refused: usize,
    pub files: Vec<ImportLine>,
}

impl ImportArgs {
    pub fn run(self) -> Result<String, CliError> {
        crate::block_on(self.import())
    }

    async fn import(self) -> Result<String, CliError> {
        let athlete = self.athlete;
        let sdk = crate::sdk_config().await;
        // The consumer's variables; Strava's URLs default to Strava's own, which an import
        // never calls.
        let env = ConsumerEnv::from_lookup(|k| {
            std::env::var(k).ok().or_else(|| match k {
                "STRAVA_API_URL" => Some(STRAVA_API.to_string()),
                "STRAVA_OAUTH_URL" => Some(STRAVA_OAUTH.to_string()),
                _ => None,
            })
        })
        .map_err(|e| InputError::new(e.to_string()))?;
        let consumer = AwsConsumer::build(&sdk, env).await.map_err(|e| InputError::new(e.to_string()))?;
        let Some(queue_url) = consumer.import_queue_url.clone() else {
            return Err(
                InputError::new("IMPORT_QUEUE_URL is not set: the stack has no import queue".to_string()).into()
            );
        };
        let imports = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), &queue_url);
        let store = &consumer.store;
        let profile = store.get_profile(athlete).await.map_err(CliError::runtime("reading the profile"))?;
        if profile.is_none() {
            return Err(InputError::new(format!("athlete {athlete} is not connected: nothing imported")).into());
        }
        let now = consumer.now();
        // Unique across runs, machines and athletes (SQS deduplicates queue-wide).
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let import_id = format!("cli-{athlete}-{now}-{}-{nanos}", std::process::id());
        let messages = Messages::new(&self.path, athlete, &import_id)?;
        let total = messages.total;

        // One message per file on the import queue; what cannot travel is its line at once.
        let sending = crate::progress::Progress::new("queue", Some(u64::from(total)));
        for (seq, message) in messages {
            match message {
                Err(line) => {
                    store
                        .put_import_line(athlete, &import_id, seq, &line, now)
                        .await
                        .map_err(CliError::runtime("storing a report line"))?;
                }
                Ok(message) => {
                    imports
                        .enqueue(&QueueMessage::for_import(&message))
                        .await
                        .map_err(CliError::runtime("sending to the import queue"))?;
                }
            }
            sending.update(u64::from(seq) + 1, "queued");
        }
        sending.finish();

        // The queue's records through the consumer's own handler, here (a deployed stack's
        // consumer takes its share too), until every file has its line.
        let progress = crate::progress::Progress::new("import", Some(u64::from(total)));
        let (mut idle, mut done) = (0u32, 0u64);
        let lines = loop {
            let stats = stravasync_consumer::pump::pump_imports_once(&consumer, &imports)
                .await
                .map_err(CliError::runtime("pumping the import queue"))?;
            if stats.received > 0 {
                done += stats.done as u64;
                progress.update(done, "files stored");
                idle = 0;
                continue;
            }
            let lines =
                store.import_lines(athlete, &import_id).await.map_err(CliError::runtime("reading the report"))?;
            if lines.len() >= total as usize {
                break lines;
            }
            idle += 1;
            if idle > self.wait_s.saturating_mul(2) {
                return Err(InputError::new(format!(
                    "import {import_id}: {} of {total} files done; the rest are still queued",
                    lines.len()
                ))
                .into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        };
        progress.finish();
        consumer.recompute_dirtied().await;
        let files: Vec<ImportLine> = lines.into_iter().map(|(_, l)| l).collect();
        let count = |o: ImportOutcome| files.iter().filter(|l| l.outcome == o).count();
        let report = ImportReport {
            import_id,
            athlete_id: athlete,
            stored: count(ImportOutcome::Stored),
            updated: count(ImportOutcome::Updated),
            duplicate: count(ImportOutcome::Duplicate),
            refused: count(ImportOutcome::Refused),
            files,
        };
        if let Some(path) = &self.report {
            std::fs::write(path, to_json(&report, true)?)
                .map_err(|e| InputError::new(format!("{}: {e}", path.display())))?;
        }
        Ok(render(&report))
    }
}

/// The import queue's messages of an import, one per file in the order planned; a file that
/// cannot travel is its report line at once.
pub struct Messages {
    source: Source,
    plan: std::vec::IntoIter<Planned>,
    athlete: i64,
    import_id: String,
    seq: u32,
    pub total: u32,
}

impl Messages {
    /// The files at `path` (a file, a folder or an export ZIP, checked as the athlete's).
    pub fn new(path: &Path, athlete: i64, import_id: &str) -> Result<Self, CliError> {
        let (source, plan) = plan(path, athlete)?;
        let total = u32::try_from(plan.len()).map_err(|_| InputError::new("too many files".to_string()))?;
        Ok(Messages { source, plan: plan.into_iter(), athlete, import_id: import_id.to_string(), seq: 0, total })
    }
}

impl Iterator for Messages {
    type Item = (u32, Result<ImportMessage, ImportLine>);

    fn next(&mut self) -> Option<Self::Item> {
        let planned = self.plan.next()?;
        let seq = self.seq;
        self.seq += 1;
        let row_id = planned.row.as_ref().map(|r| r.activity_id);
        let body = match (&planned.refused, &planned.entry) {
            (Some(reason), _) => Err(reason.clone()),
            (None, None) => Ok(None),
            (None, Some(entry)) => self.source.read(entry).and_then(|bytes| inline(&bytes).map(Some)),
        };
        let message = match body {
            Err(reason) => Err(ImportLine::refused(planned.name, row_id, reason)),
            Ok(body) => {
                let file = ImportFile {
                    athlete_id: self.athlete,
                    import_id: self.import_id.clone(),
                    name: planned.name,
                    entry: planned.entry,
                    row: planned.row,
                };
                // The last file planned; when it is refused before the queue, the command
                // itself recomputes the chart at the end.
                Ok(ImportMessage { file, seq, total: self.total, last: seq + 1 == self.total, body })
            }
        };
        Some((seq, message))
    }
}

/// A file's bytes as one message's body, or why they cannot travel so.
fn inline(bytes: &[u8]) -> Result<String, String> {
    let body = encode_body(bytes);
    if body.len() > MAX_INLINE_BODY {
        return Err(format!(
            "compressed, the file is over the {} KiB one import message carries",
            MAX_INLINE_BODY >> 10
        ));
    }
    Ok(body)
}

/// The files to import and where their bytes are.
fn plan(path: &Path, athlete: i64) -> Result<(Source, Vec<Planned>), CliError> {
    let fail = |e: &dyn std::fmt::Display| InputError::new(format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
    if meta.is_dir() {
        let mut names = Vec::new();
        collect(path, path, &mut names).map_err(|e| fail(&e))?;
        names.sort();
        let plan = names
            .into_iter()
            .map(|name| Planned { name: display_name(&name), entry: Some(name), row: None, refused: None })
            .collect();
        return Ok((Source::Disk(path.to_path_buf()), plan));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    if Format::of_name(&name).is_some() {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok((
            Source::Disk(dir),
            vec![Planned { name: name.clone(), entry: Some(name), row: None, refused: None }],
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let mut export = Export::open(file).map_err(|e| fail(&e))?;
    export.check_owner(athlete).map_err(|e| fail(&e))?;
    let plan = export.plan().map_err(|e| fail(&e))?;
    Ok((Source::Zip(Box::new(export)), plan))
}

/// Activity files under `dir`, as paths relative to `root`. Symbolic links are not
/// followed (no loops, nothing from outside the folder) and only regular files are taken.
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let (path, kind) = (entry.path(), entry.file_type()?);
        if kind.is_dir() {
            collect(root, &path, out)?;
        } else if kind.is_file()
            && let Some(rel) = path.strip_prefix(root).ok().and_then(|p| p.to_str())
            && Format::of_name(rel).is_some()
        {
            out.push(rel.to_string());
        }
    }
    Ok(())
}

/// The report as a person reads it: the totals, then one line per file.
pub fn render(report: &ImportReport) -> String {
    let mut out = format!(
        "import {} for athlete {}: {} stored, {} updated, {} duplicate, {} refused\n",
        report.import_id, report.athlete_id, report.stored, report.updated, report.duplicate, report.refused
    );
    for l in &report.files {
        let id = l.activity_id.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
        let outcome = l.outcome.name();
        out.push_str(&format!("  {outcome:<9} {id:>17}  {}", l.file));
        if let Some(r) = &l.reason {
            out.push_str(&format!(": {r}"));
        }
        out.push('\n');
    }
    out.pop();
    out
}
