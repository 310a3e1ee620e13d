//! `stravasync import`: an athlete's own files into the stack (TABLE_NAME and the
//! consumer's variables), without a Strava request: a FIT, GPX or TCX file (gzipped or
//! not), a folder of them, or Strava's bulk-export ZIP. One message per activity file
//! ([`ImportFile`]) goes through the consumer's own import code, a few at a time, with a
//! progress bar; the PMC follows when they are done. The report lists every file as the API
//! will: stored, updated, duplicate, or refused with its reason.

use std::path::{Path, PathBuf};

use clap::Args;
use futures_util::StreamExt;
use stravasync_consumer::deps::AwsConsumer;
use stravasync_core::model::{ImportFile, ImportLine, ImportOutcome};
use stravasync_core::ports::ProfileStore;
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
    /// Files in flight at once.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
}

/// Where the files' bytes come from.
enum Source {
    Zip(Box<Export<std::fs::File>>),
    Disk(PathBuf),
}

impl Source {
    fn read(&mut self, entry: &str) -> Result<Vec<u8>, String> {
        match self {
            Source::Zip(export) => export.read(entry),
            Source::Disk(dir) => {
                let path = dir.join(entry);
                let len = std::fs::metadata(&path).map_err(|e| format!("cannot read the file: {e}"))?.len();
                if len > stravasync_files::MAX_FILE_BYTES {
                    return Err(format!("the file is larger than {} MiB", stravasync_files::MAX_FILE_BYTES >> 20));
                }
                std::fs::read(&path).map_err(|e| format!("cannot read the file: {e}"))
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
        let (mut source, plan) = plan(&self.path, self.athlete)?;
        let sdk = crate::sdk_config().await;
        let consumer = AwsConsumer::from_env(&sdk).await.map_err(|e| InputError::new(e.to_string()))?;
        let profile =
            consumer.store.get_profile(self.athlete).await.map_err(CliError::runtime("reading the profile"))?;
        if profile.is_none() {
            return Err(InputError::new(format!("athlete {} is not connected: nothing imported", self.athlete)).into());
        }
        let import_id = format!("cli-{}", consumer.now());
        let progress = crate::progress::Progress::new("import", Some(plan.len() as u64));
        let total = plan.len();
        let athlete = self.athlete;
        let consumer = &consumer;
        let import_id_ref = &import_id;
        let mut done = 0u64;
        let mut lines: Vec<(usize, ImportLine)> = Vec::with_capacity(total);
        let mut work = futures_util::stream::iter(plan.into_iter().enumerate())
            .map(|(i, planned)| {
                // Read here, one at a time (the archive is one reader); converted and stored
                // by up to `parallel` at once.
                let read = match (&planned.refused, &planned.entry) {
                    (Some(_), _) | (None, None) => Ok(None),
                    (None, Some(entry)) => source.read(entry).map(Some),
                };
                async move {
                    let message = ImportFile {
                        athlete_id: athlete,
                        import_id: import_id_ref.clone(),
                        name: planned.name.clone(),
                        entry: planned.entry.clone(),
                        row: planned.row.clone(),
                    };
                    let line = match (planned.refused, read) {
                        (Some(reason), _) | (None, Err(reason)) => {
                            ImportLine::refused(planned.name, planned.row.map(|r| r.activity_id), reason)
                        }
                        (None, Ok(bytes)) => import_one(consumer, &message, bytes.as_deref()).await,
                    };
                    (i, line)
                }
            })
            .buffer_unordered(self.parallel.max(1));
        while let Some((i, line)) = work.next().await {
            done += 1;
            progress.update(done, &format!("{:?}", line.outcome).to_lowercase());
            lines.push((i, line));
        }
        drop(work);
        progress.finish();
        consumer.recompute_dirtied().await;
        lines.sort_by_key(|(i, _)| *i);
        let files: Vec<ImportLine> = lines.into_iter().map(|(_, l)| l).collect();
        let count = |o: ImportOutcome| files.iter().filter(|l| l.outcome == o).count();
        let report = ImportReport {
            import_id,
            athlete_id: self.athlete,
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

/// One file through the consumer's import, retried a few times when the store is
/// unavailable; a failure that stays is the file's line.
async fn import_one(consumer: &AwsConsumer, message: &ImportFile, bytes: Option<&[u8]>) -> ImportLine {
    let mut last = String::new();
    for attempt in 0..3u64 {
        match consumer.import_file(message, bytes).await {
            Ok(line) => return line,
            Err(outcome) => last = format!("{outcome:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 * (attempt + 1))).await;
    }
    ImportLine::refused(&message.name, message.row.as_ref().map(|r| r.activity_id), format!("not stored: {last}"))
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

/// Activity files under `dir`, as paths relative to `root`.
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if let Some(rel) = path.strip_prefix(root).ok().and_then(|p| p.to_str())
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
        let outcome = format!("{:?}", l.outcome).to_lowercase();
        out.push_str(&format!("  {outcome:<9} {id:>17}  {}", l.file));
        if let Some(r) = &l.reason {
            out.push_str(&format!(": {r}"));
        }
        out.push('\n');
    }
    out.pop();
    out
}
