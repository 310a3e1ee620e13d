//! Operator commands that read a stack's table and queues (deployed or local): the stored
//! PMC and activities of an athlete, backfill, rescore and deletion requests, the
//! dead-letter queue.
//! They take the stack from `TABLE_NAME`, `QUEUE_URL` and `DLQ_URL`, as the Lambdas do.

use std::collections::HashSet;

use clap::{Args, Subcommand};

use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::sqs::{ReceivedMessage, SqsQueue};
use stravasync_core::LocalDate;
use stravasync_core::config::manifest::{self, Reader, Var};
use stravasync_core::config::{ConfigError, Env};
use stravasync_core::job::{BackfillRequest, Job, QueueMessage, Requester, RescoreScope};
use stravasync_core::model::{AthleteId, PmcRow};
use stravasync_core::ports::{EraseStore, EventQueue, ProfileStore, RollupStore};
use stravasync_core::thresholds::{MODEL_VERSION, ThresholdChange, ThresholdEntry};
use stravasync_read::ReadError;
use stravasync_read::answers;
use stravasync_read::query;

use crate::progress::Progress;
use crate::{CliError, InputError, block_on};

/// `stravasync activities`' arguments.
#[derive(Debug, Args)]
pub struct ActivitiesArgs {
    #[arg(long)]
    pub athlete: i64,
    /// Page size (1-100).
    #[arg(long)]
    pub limit: Option<String>,
    /// Start after this position (the `--before` a previous page printed, or a date).
    #[arg(long)]
    pub before: Option<String>,
}

impl ActivitiesArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(activities(self.athlete, self.before.as_deref(), self.limit.as_deref()))
    }
}

/// `stravasync backfill`'s arguments: a count, or a range of days.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("range").required(true).args(["count", "after"])))]
pub struct BackfillArgs {
    #[arg(long)]
    pub athlete: i64,
    #[arg(long)]
    pub count: Option<u32>,
    /// First day (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub after: Option<String>,
    /// Day after the last (YYYY-MM-DD, UTC).
    #[arg(long, requires = "after")]
    pub before: Option<String>,
    /// Show its progress until it finishes (the consumer must be running).
    #[arg(long)]
    pub follow: bool,
    /// Re-sync ("update existing datapoints"): activities of the range already stored are
    /// fetched again with their streams, stored again and rescored (else they are skipped).
    #[arg(long)]
    pub refresh: bool,
}

impl BackfillArgs {
    pub fn run(self) -> Result<String, CliError> {
        let request =
            BackfillRequest { count: self.count, after: self.after, before: self.before, refresh: self.refresh };
        block_on(backfill(self.athlete, &request, self.follow))
    }
}

/// `stravasync rescore`'s arguments.
#[derive(Debug, Args)]
pub struct RescoreArgs {
    #[arg(long)]
    pub athlete: i64,
}

impl RescoreArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(rescore(self.athlete))
    }
}

/// `stravasync thresholds`' arguments: show an athlete's threshold history, or change one
/// entry of it (docs/design.md §6b), as the dashboard does.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("values").multiple(true).args([
    "ftp", "cp", "w_prime", "threshold_speed", "css", "lthr", "hr_max", "hr_rest"
])))]
pub struct ThresholdsArgs {
    #[arg(long)]
    pub athlete: i64,
    /// The entry's group: default (the heart rates of every group), cycling, running,
    /// swimming or other.
    #[arg(long, requires = "from")]
    pub group: Option<String>,
    /// The first day the entry holds (YYYY-MM-DD, the athlete's local day).
    #[arg(long, requires = "group")]
    pub from: Option<String>,
    /// Remove the entry of --group from --from instead of saving one.
    #[arg(long, requires = "from", conflicts_with = "values")]
    pub delete: bool,
    #[arg(long, requires = "from")]
    pub ftp: Option<f64>,
    #[arg(long, requires = "from")]
    pub cp: Option<f64>,
    /// W′, J.
    #[arg(long, requires = "from")]
    pub w_prime: Option<f64>,
    /// Threshold running speed, m/s.
    #[arg(long, requires = "from")]
    pub threshold_speed: Option<f64>,
    /// Critical swim speed, m/s.
    #[arg(long, requires = "from")]
    pub css: Option<f64>,
    #[arg(long, requires = "from")]
    pub lthr: Option<f64>,
    #[arg(long, requires = "from")]
    pub hr_max: Option<f64>,
    #[arg(long, requires = "from")]
    pub hr_rest: Option<f64>,
}

impl ThresholdsArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(thresholds(self))
    }

    /// The change the flags ask for, if any.
    fn change(&self) -> Result<Option<ThresholdChange>, CliError> {
        let (Some(group), Some(from)) = (&self.group, &self.from) else { return Ok(None) };
        let removal = stravasync_read::thresholds::removal(Some(group), Some(from)).map_err(field)?;
        if self.delete {
            return Ok(Some(removal));
        }
        let ThresholdChange::Remove { group, effective_from } = removal else { return Ok(None) };
        let entry = ThresholdEntry {
            ftp: self.ftp,
            cp: self.cp,
            w_prime: self.w_prime,
            threshold_speed: self.threshold_speed,
            css: self.css,
            lthr: self.lthr,
            hr_max: self.hr_max,
            hr_rest: self.hr_rest,
            ..ThresholdEntry::new(group, effective_from)
        };
        Ok(Some(ThresholdChange::Save { entry }))
    }
}

/// `stravasync migrate`'s arguments.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// One athlete (default: every athlete not yet migrated).
    #[arg(long)]
    pub athlete: Option<i64>,
}

impl MigrateArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(migrate(self.athlete))
    }
}

/// `stravasync athlete …`: athletes' rights, for support requests.
#[derive(Debug, Subcommand)]
pub enum AthleteCommand {
    /// Disconnect an athlete and delete everything of theirs, as their dashboard's
    /// "Disconnect from Strava and delete my data" does: the consumer revokes the
    /// authorization at Strava and deletes the tokens and every item (QUEUE_URL; TABLE_NAME).
    Delete {
        #[arg(long)]
        athlete: i64,
        /// Return once enqueued instead of waiting until nothing is stored (the consumer
        /// must be running to finish it).
        #[arg(long)]
        no_wait: bool,
    },
}

impl AthleteCommand {
    pub fn run(self) -> Result<String, CliError> {
        match self {
            AthleteCommand::Delete { athlete, no_wait } => block_on(athlete_delete(athlete, !no_wait)),
        }
    }
}

/// `stravasync dlq …`: the dead-letter queue.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Show the dead-lettered messages, with why each was moved; they stay in the queue.
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Move dead-lettered messages back to the event queue (same group and dedup id).
    Redrive {
        #[arg(long, default_value_t = usize::MAX)]
        max: usize,
    },
}

impl DlqCommand {
    pub fn run(self) -> Result<String, CliError> {
        match self {
            DlqCommand::List { max } => block_on(dlq_list(max)),
            DlqCommand::Redrive { max } => block_on(dlq_redrive(max)),
        }
    }
}

/// An operator variable (the manifest's `operator` reader: the stack's outputs), set and
/// non-empty.
pub(crate) fn operator_var(var: &'static Var) -> Result<String, CliError> {
    debug_assert!(var.is_read_by(Reader::Operator), "{} is not an operator variable of the manifest", var.name());
    Env::process().required(var).map_err(|e: ConfigError| InputError::new(e.to_string()).into())
}

pub(crate) async fn sdk() -> stravasync_aws::SdkConfig {
    crate::sdk_config().await
}

pub(crate) fn store(sdk: &stravasync_aws::SdkConfig) -> Result<DynamoStore, CliError> {
    Ok(DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &operator_var(&manifest::TABLE_NAME)?))
}

/// The queue named by `var`; for `QUEUE_URL`, with the background lane's queue
/// (`BACKGROUND_QUEUE_URL`) when it is set, so jobs go to their lane.
fn queue(sdk: &stravasync_aws::SdkConfig, var: &'static Var) -> Result<SqsQueue, CliError> {
    let background =
        if *var == manifest::QUEUE_URL { Env::process().optional(&manifest::BACKGROUND_QUEUE_URL) } else { None };
    Ok(SqsQueue::for_lanes(aws_sdk_sqs::Client::new(sdk), &operator_var(var)?, background.as_deref()))
}

/// A read of the read side that failed: a refusal names the input, the rest is the stack's.
pub(crate) fn read_error(what: &'static str) -> impl Fn(ReadError) -> CliError {
    move |e| match e {
        ReadError::Bad(e) => InputError::new(format!("--{e}")).into(),
        ReadError::NotFound(why) => InputError::new(why).into(),
        e => CliError::runtime(what)(e),
    }
}

fn now() -> i64 {
    stravasync_core::clock::unix_now()
}

fn field(e: stravasync_core::json::FieldError) -> CliError {
    InputError::new(format!("--{}", e)).into()
}

/// The athlete's stored PMC rows from `from` to `to` (default: the last 90 days).
pub async fn pmc_rows(athlete: AthleteId, from: Option<&str>, to: Option<&str>) -> Result<Vec<PmcRow>, CliError> {
    let (from, to) = query::pmc_range(from, to, LocalDate::from_unix_seconds(now())).map_err(field)?;
    let sdk = sdk().await;
    let answer = answers::pmc(&store(&sdk)?, athlete, from, to).await;
    Ok(answer.map_err(read_error("reading the PMC"))?.rows)
}

/// One page of the athlete's activities, newest first, as a table; the last line gives
/// the `--before` of the next page.
pub async fn activities(athlete: AthleteId, before: Option<&str>, limit: Option<&str>) -> Result<String, CliError> {
    let (before, limit) = query::activity_page(before, limit).map_err(field)?;
    let sdk = sdk().await;
    let page = answers::activity_page(&store(&sdk)?, athlete, before, limit)
        .await
        .map_err(read_error("reading activities"))?;
    let mut out = format!(
        "{:<10}  {:>12}  {:<16}  {:>8}  {:>6}  {:<9}  {:>6}  {:>5}  name\n",
        "date", "id", "type", "moving", "score", "source", "decoup", "ef"
    );
    for r in &page.activities {
        let moving = r.moving_time_s.map(|s| format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60));
        let source = r.score_source.map(|s| format!("{s:?}").to_lowercase());
        out.push_str(&format!(
            "{}  {:>12}  {:<16}  {:>8}  {:>6}  {:<9}  {:>6}  {:>5}  {}\n",
            r.date,
            r.id,
            r.sport_type.as_deref().unwrap_or_default(),
            moving.unwrap_or_default(),
            r.score.map(|s| format!("{s:.1}")).unwrap_or_else(|| "-".into()),
            source.unwrap_or_default(),
            r.decoupling_pct.map(|d| format!("{d:.1}%")).unwrap_or_else(|| "-".into()),
            r.ef.map(|e| format!("{e:.2}")).unwrap_or_else(|| "-".into()),
            r.name.as_deref().unwrap_or_default(),
        ));
        if let Some(why) = &r.unscored {
            out.push_str(&format!("{:<10}  unscored: {why}\n", ""));
        }
    }
    match page.next {
        Some(next) => out.push_str(&format!("next page: --before {next}\n")),
        None => out.push_str(&format!("{} activities, no more\n", page.activities.len())),
    }
    Ok(out)
}

/// Enqueues a backfill for the consumer (one runs at a time per athlete: the consumer
/// drops a second start while one runs). With `follow`, shows its progress from the
/// athlete's profile until it finishes.
pub async fn backfill(athlete: AthleteId, request: &BackfillRequest, follow: bool) -> Result<String, CliError> {
    let requested_at = now();
    let job = request.to_job(athlete, requested_at).map_err(field)?;
    let sdk = sdk().await;
    let store = store(&sdk)?;
    let profile = store.get_profile(athlete).await.map_err(CliError::runtime("reading the profile"))?;
    let Some(profile) = profile else {
        return Err(InputError::new(format!("athlete {athlete} is not connected (no profile)")).into());
    };
    if let Some(running) = profile.backfill.as_ref().filter(|b| b.is_running(requested_at)) {
        return Err(InputError::new(format!(
            "a backfill of athlete {athlete} is already running ({} done); try again when it has finished",
            running.done
        ))
        .into());
    }
    queue(&sdk, &manifest::QUEUE_URL)?
        .enqueue(&QueueMessage::for_job(&job, &format!("cli-backfill-{requested_at}")))
        .await
        .map_err(CliError::runtime("enqueueing the backfill"))?;
    if !follow {
        return Ok(format!(
            "backfill of athlete {athlete} enqueued (follow it with --follow or `stravasync activities`)"
        ));
    }
    let total = match job {
        Job::Backfill { most_recent, .. } => most_recent.map(u64::from),
        _ => None,
    };
    let progress = Progress::new("backfill", total);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let p = store.get_profile(athlete).await.map_err(CliError::runtime("reading the profile"))?;
        let Some(b) = p.and_then(|p| p.backfill).filter(|b| b.requested_at == requested_at) else {
            progress.update(0, "queued");
            continue;
        };
        if b.finished_at.is_some() {
            progress.finish();
            return Ok(format!("backfill of athlete {athlete} finished: {} activities looked at", b.done));
        }
        progress.update(u64::from(b.done), "importing");
    }
}

/// Deletes an athlete at their request (a support e-mail): the same path as the
/// dashboard's "Disconnect from Strava and delete my data" — a `disconnect` job that the
/// consumer carries out (the authorization revoked at Strava, then the tokens and every
/// item deleted). With `wait`, follows it until nothing of the athlete is stored.
pub async fn athlete_delete(athlete: AthleteId, wait: bool) -> Result<String, CliError> {
    let requested_at = now();
    let job = Job::Disconnect { athlete_id: athlete, requested_at, by: Requester::Operator };
    let sdk = sdk().await;
    let store = store(&sdk)?;
    if !store.athlete_has_items(athlete).await.map_err(CliError::runtime("reading the table"))? {
        return Ok(format!("nothing of athlete {athlete} is stored; nothing to delete"));
    }
    queue(&sdk, &manifest::QUEUE_URL)?
        .enqueue(&QueueMessage::for_job(&job, &format!("cli-delete-{requested_at}")))
        .await
        .map_err(CliError::runtime("enqueueing the deletion"))?;
    if !wait {
        return Ok(format!(
            "deletion of athlete {athlete} enqueued: the consumer revokes the authorization at Strava and deletes \
             the tokens and every item (follow it with --wait)"
        ));
    }
    let progress = Progress::new("delete", None);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if !store.athlete_has_items(athlete).await.map_err(CliError::runtime("reading the table"))? {
            progress.finish();
            return Ok(format!(
                "athlete {athlete} deleted: authorization revoked at Strava, tokens and every stored item gone"
            ));
        }
        progress.update(0, "waiting for the consumer");
    }
}

/// The athlete's threshold history as a table; with a change, the change checked against
/// it and enqueued for the consumer (which stores it if the history has not changed
/// meanwhile, and rescores from its date).
pub async fn thresholds(args: ThresholdsArgs) -> Result<String, CliError> {
    let change = args.change()?;
    let sdk = sdk().await;
    let store = store(&sdk)?;
    let profile = answers::profile(&store, args.athlete).await.map_err(read_error("reading the profile"))?;
    let answer =
        stravasync_read::thresholds::answer(&store, &profile).await.map_err(read_error("reading thresholds"))?;
    let Some(change) = change else { return Ok(stravasync_read::thresholds::table(&answer, args.athlete)) };
    let job = stravasync_read::thresholds::change(&store, &profile, change.clone(), answer.version)
        .await
        .map_err(read_error("checking the change"))?;
    queue(&sdk, &manifest::QUEUE_URL)?
        .enqueue(&QueueMessage::for_job(&job, &format!("cli-thresholds-{}", now())))
        .await
        .map_err(CliError::runtime("enqueueing the change"))?;
    let (group, from) = change.scope();
    Ok(format!(
        "{} enqueued (history version {}): the consumer stores it and rescores {group} activities from {from}",
        match change {
            ThresholdChange::Save { .. } => "entry",
            ThresholdChange::Remove { .. } => "removal",
        },
        answer.version
    ))
}

/// The one-time move to the athlete model of docs/design.md §6b: for each athlete not yet
/// at [`MODEL_VERSION`], a rescore of every stored activity that first stores the
/// profile's single thresholds as the history's first entries (0001-01-01). Resumable: the
/// rescore goes on by itself, chunk by chunk; run again, this enqueues only the athletes
/// whose rescore has not finished.
pub async fn migrate(only: Option<AthleteId>) -> Result<String, CliError> {
    let sdk = sdk().await;
    let store = store(&sdk)?;
    let athletes = match only {
        Some(a) => vec![a],
        None => store.athletes().await.map_err(CliError::runtime("listing athletes"))?,
    };
    let queue = queue(&sdk, &manifest::QUEUE_URL)?;
    let (mut enqueued, mut done) = (0, 0);
    for athlete in athletes {
        let Some(p) = store.get_profile(athlete).await.map_err(CliError::runtime("reading a profile"))? else {
            continue;
        };
        if p.model_version >= MODEL_VERSION {
            done += 1;
            continue;
        }
        let scope = RescoreScope { migrate: true, ..RescoreScope::everything(p.thresholds_version) };
        let job = Job::Rescore { athlete_id: athlete, activity_id: None, scope: Some(scope) };
        queue
            .enqueue(&QueueMessage::for_job(&job, &format!("migrate-{athlete}-{}", now())))
            .await
            .map_err(CliError::runtime("enqueueing a migration"))?;
        enqueued += 1;
    }
    Ok(format!(
        "migration to athlete model {MODEL_VERSION}: {enqueued} athletes enqueued, {done} already done \
         (run again to see it finish: it counts them as done)"
    ))
}

/// Enqueues a rescore of every stored activity of the athlete (after a rules change).
pub async fn rescore(athlete: AthleteId) -> Result<String, CliError> {
    let job = Job::Rescore { athlete_id: athlete, activity_id: None, scope: None };
    let sdk = sdk().await;
    queue(&sdk, &manifest::QUEUE_URL)?
        .enqueue(&QueueMessage::for_job(&job, &format!("cli-rescore-{}", now())))
        .await
        .map_err(CliError::runtime("enqueueing the rescore"))?;
    Ok(format!("rescore of athlete {athlete} enqueued; the PMC follows at the next rollup"))
}

/// Receives up to `max` messages of the dead-letter queue, hiding each for the queue's
/// visibility timeout, and returns them with their handles (to release or delete).
pub(crate) async fn receive_dlq(dlq: &SqsQueue, max: usize) -> Result<Vec<ReceivedMessage>, CliError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while out.len() < max {
        let batch = dlq.receive(10, 0).await.map_err(CliError::runtime("reading the DLQ"))?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            if seen.insert(m.message_id.clone()) && out.len() < max {
                out.push(m);
            } else {
                // Over the limit: make it visible again at once.
                dlq.defer(&m.receipt_handle, 0).await.map_err(CliError::runtime("releasing a DLQ message"))?;
            }
        }
    }
    Ok(out)
}

/// The dead-lettered messages (at most `max`), left in the queue: id, group, dedup id,
/// why, receives, and the start of the body.
pub async fn dlq_list(max: usize) -> Result<String, CliError> {
    let sdk = sdk().await;
    let dlq = queue(&sdk, &manifest::DLQ_URL)?;
    let messages = receive_dlq(&dlq, max).await?;
    let mut out = String::new();
    for m in &messages {
        let body: String = m.body.chars().take(160).collect();
        out.push_str(&format!(
            "{}  group={}  dedup={}  received={}\n  reason: {}\n  body: {body}{}\n",
            m.message_id,
            m.group_id.as_deref().unwrap_or("-"),
            m.dedup_id.as_deref().unwrap_or("-"),
            m.receive_count,
            m.reason.as_deref().unwrap_or("(moved by the queue's redrive policy)"),
            if m.body.chars().count() > 160 { "…" } else { "" },
        ));
        dlq.defer(&m.receipt_handle, 0).await.map_err(CliError::runtime("releasing a DLQ message"))?;
    }
    out.push_str(&format!("{} message(s) in the dead-letter queue (listed, left in place)\n", messages.len()));
    Ok(out)
}

/// Moves up to `max` dead-lettered messages back to the event queue, each with its own
/// group and deduplication id (so the athlete's order holds), deleting each from the DLQ
/// only once it is sent. A message sent back within SQS's five-minute deduplication
/// window of its first sending is dropped by SQS as a duplicate: redrive after fixing the
/// cause, not at once.
pub async fn dlq_redrive(max: usize) -> Result<String, CliError> {
    let sdk = sdk().await;
    let dlq = queue(&sdk, &manifest::DLQ_URL)?;
    let target = queue(&sdk, &manifest::QUEUE_URL)?;
    let store = store(&sdk)?;
    let depth = dlq.approximate_depth().await.map_err(CliError::runtime("reading the DLQ"))?;
    let total = (depth as usize).min(max);
    let progress = Progress::new("redrive", Some(total as u64));
    let (mut moved, mut dropped) = (0usize, 0usize);
    while moved < max {
        let batch = dlq.receive(10, 0).await.map_err(CliError::runtime("reading the DLQ"))?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            if moved >= max {
                dlq.defer(&m.receipt_handle, 0).await.map_err(CliError::runtime("releasing a DLQ message"))?;
                continue;
            }
            if of_a_deleted_athlete(&store, &m.body).await? {
                // Deleted (disconnected, deauthorized, or deleted on request): what they sent
                // is not replayed (docs/security.md, the DLQ and the deletion promise).
                dlq.delete(&m.receipt_handle).await.map_err(CliError::runtime("deleting from the DLQ"))?;
                dropped += 1;
                continue;
            }
            let message = QueueMessage {
                group_id: m.group_id.clone().unwrap_or_else(|| "redriven".into()),
                dedup_id: m.dedup_id.clone().unwrap_or_else(|| m.message_id.clone()),
                body: m.body.clone(),
            };
            target.enqueue(&message).await.map_err(CliError::runtime("sending to the event queue"))?;
            dlq.delete(&m.receipt_handle).await.map_err(CliError::runtime("deleting from the DLQ"))?;
            moved += 1;
            progress.update(moved as u64, &format!("group {}", message.group_id));
        }
    }
    progress.finish();
    let dropped = match dropped {
        0 => String::new(),
        n => format!("; {n} of athletes no longer connected dropped, not replayed"),
    };
    Ok(format!("{moved} message(s) moved from the dead-letter queue back to the event queue{dropped}"))
}

/// Whether a dead-lettered body is work for an athlete who has no profile any more. A
/// deletion (a deauthorization, a disconnect) is always replayed: it deletes; a body that
/// does not parse is replayed for the consumer to refuse again, with its reason.
async fn of_a_deleted_athlete(store: &DynamoStore, body: &str) -> Result<bool, CliError> {
    let Ok(job) = Job::parse(body) else { return Ok(false) };
    let deletes = match &job {
        Job::Disconnect { .. } => true,
        Job::WebhookEvent { event, .. } => event.is_deauthorization(),
        _ => false,
    };
    if deletes {
        return Ok(false);
    }
    Ok(store.get_profile(job.athlete_id()).await.map_err(CliError::runtime("reading a profile"))?.is_none())
}
