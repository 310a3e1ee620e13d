//! The consumer Lambda (SQS FIFO event source, `ReportBatchItemFailures`), as a library so
//! tests, the local pump and the demo run the same code as the `consumer` binary.
//!
//! Each record is parsed on its own into a [`Job`]; docs/design.md §5 says what each does:
//!
//! | job | Strava requests |
//! |---|---|
//! | activity create | 2: activity + streams (1 for a manual activity) |
//! | update of title / type / private only | 0 (a type change rescores from stored streams) |
//! | any other update | 2: refetch as a create |
//! | activity delete | 0: tombstone, chunks deleted |
//! | athlete deauthorization | 0: token secret and every item of the athlete deleted |
//! | disconnect (the athlete, or an operator at their request) | `POST /oauth/deauthorize`, then as a deauthorization |
//! | stale event (older than the stored version) | 0 |
//! | backfill / reconcile | 1 per activity + 1 per page of 200 (the list summary replaces the detail call) |
//!
//! Invariant relied on: one athlete's messages share a FIFO message group, so they are
//! processed in order and never concurrently. This is what makes the read-modify-write of
//! an activity race-free. (It does not make a per-container token cache safe: consecutive
//! messages of an athlete may run in different containers, so a token refresh always
//! starts from a fresh read; see `stravasync_strava::AthleteSession`.)
//!
//! Failure rule, per message group ([`Consumer::handle_batch`]): a record that is not done
//! holds its own group only. Later records of the same group are not attempted (that would
//! break the group's order); they are made visible again at once, since an in-flight record
//! holds its group, and reported in `batchItemFailures` with the failed one. Records of
//! other groups are processed in the same invocation, so they never wait for, nor spend a
//! receive on, another athlete's failure. A poison record, and a transient failure on its
//! last allowed receive, are moved to the DLQ by the consumer itself, at once, so they
//! stop holding their group and its later records are processed right away.

mod backfill;
pub mod config;
pub mod deps;
mod events;
mod fetch;
pub mod outcome;
pub mod pump;
mod rescore;

use std::collections::HashSet;

use futures_util::FutureExt;
use stravasync_core::event::{Job, Lane, QueueMessage};
use stravasync_core::model::RateWindowKind;
use stravasync_core::model::{AthleteId, OAuthTokens, RateWindow, paced_daily_share, paced_share_resumes_at};
use stravasync_core::ports::{ActivityStore, EventQueue, RateBudget, Reservation, TokenVault};
use stravasync_strava::{RateUsage, Response, StravaClient, StravaError};

pub use config::{ConfigError, ConsumerConfig};
pub use outcome::Outcome;
use outcome::{budget_backoff, retry_delay, strava_outcome};

/// One SQS record, as the event source mapping (or the local pump) delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    /// `MessageGroupId` (FIFO). Records without one are treated as one group.
    pub group_id: Option<String>,
    /// `MessageDeduplicationId` (FIFO), kept when the record is dead-lettered.
    pub dedup_id: Option<String>,
    /// `SentTimestamp`, in Unix seconds.
    pub sent_at: Option<i64>,
}

/// What became of a batch: what to report to the event source, and what the consumer
/// settled itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReport {
    /// Message ids for `batchItemFailures`: not done, left on the queue (with the
    /// visibility their outcome set).
    pub failed: Vec<String>,
    /// Message ids the consumer moved to the dead-letter queue and deleted itself.
    pub dead_lettered: Vec<String>,
    /// Message ids not attempted because an earlier record of their group failed (a
    /// subset of `failed`, made visible again at once).
    pub released: Vec<String>,
    /// Message ids that waited for the budget through `resend_after` receives: replaced by a
    /// copy at the back of the queue (and deleted by the consumer).
    pub resent: Vec<String>,
}

/// Webhook work has priority: background jobs stop at a share of each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    Event,
    Background,
}

pub struct Consumer<S, V, Q> {
    pub config: ConsumerConfig,
    pub strava: StravaClient,
    pub store: S,
    pub vault: V,
    pub queue: Q,
    /// Windows this container found spent, per priority, and until when to wait: they stay
    /// spent until they reset (counts only grow, holds are never lifted), so later records
    /// wait without a write.
    spent: std::sync::Mutex<std::collections::HashMap<(RateWindow, Priority), i64>>,
}

/// The deferral of a record that waits for the budget until `until`.
fn budget_wait(kind: RateWindowKind, now: i64, until: i64) -> Outcome {
    Outcome::Defer {
        secs: (until - now).clamp(1, 43_200) as u32,
        reason: format!("{kind:?} budget spent"),
        budget: true,
    }
}

/// Marks a re-sent copy's deduplication id: `<original>~w<receives so far>@<first sent>`.
const WAITED_MARK: &str = "~w";

impl Record {
    /// The lane it came from (its message group).
    pub fn lane(&self) -> Lane {
        self.group_id.as_deref().map_or(Lane::Events, Lane::of_group)
    }

    /// What a re-sent copy's deduplication id carries: receives before, and when the
    /// first of its line was sent.
    fn waited_mark(&self) -> Option<(u32, Option<i64>)> {
        let (_, mark) = self.dedup_id.as_deref()?.rsplit_once(WAITED_MARK)?;
        let (waits, since) = mark.split_once('@').map_or((mark, None), |(w, t)| (w, t.parse().ok()));
        Some((waits.parse().ok()?, since))
    }

    /// Receives so far, those of the copies it replaced included.
    pub fn waits(&self) -> u32 {
        self.waited_mark().map_or(0, |(n, _)| n).saturating_add(self.receive_count)
    }

    /// When it was first sent (its first copy's `SentTimestamp` when it was re-sent).
    pub fn waiting_since(&self) -> Option<i64> {
        self.waited_mark().and_then(|(_, since)| since).or(self.sent_at)
    }
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ActivityStore + RateBudget,
    V: TokenVault,
    Q: EventQueue,
{
    pub fn new(config: ConsumerConfig, strava: StravaClient, store: S, vault: V, queue: Q) -> Self {
        Consumer { config, strava, store, vault, queue, spent: Default::default() }
    }

    pub fn now(&self) -> i64 {
        self.strava.now()
    }

    /// Processes a batch in order, group by group (see the module docs), and says which
    /// records to report as failed.
    pub async fn handle_batch(&self, records: &[Record]) -> BatchReport {
        let mut report = BatchReport::default();
        let mut held: HashSet<Option<&str>> = HashSet::new();
        // Events-lane groups whose first record waits for the budget, and those of them
        // whose first record was re-sent.
        let mut waiting: HashSet<Option<&str>> = HashSet::new();
        let mut resent: HashSet<Option<&str>> = HashSet::new();
        for record in records {
            let group = record.group_id.as_deref();
            if held.contains(&group) {
                // Received along with a head that waits, a record's receive count grows with
                // every wake of that head. Behind a head re-sent, the records received with
                // it go with it, in order: they have been received about as often, and each
                // would become the head only to be re-sent at once (a wake per record).
                // Behind a head that waits on, one past `resend_after` is re-sent, or it
                // would reach the redrive limit without ever being tried.
                let replace = resent.contains(&group)
                    || (waiting.contains(&group) && record.receive_count >= self.config.resend_after);
                if replace && self.resend(record).await {
                    report.resent.push(record.message_id.clone());
                    continue;
                }
                self.release(record).await;
                report.released.push(record.message_id.clone());
                report.failed.push(record.message_id.clone());
                continue;
            }
            // A panic must not take the batch (and the rest of the records) with it.
            let outcome = std::panic::AssertUnwindSafe(self.process(record))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Outcome::Poison { reason: "panic while processing".into() });
            let give_up = match &outcome {
                Outcome::Done => continue,
                Outcome::Poison { reason } => Some(reason.clone()),
                Outcome::Retry { reason } if record.receive_count >= self.config.max_receives => {
                    Some(format!("gave up after {} receives: {reason}", record.receive_count))
                }
                Outcome::Retry { .. } | Outcome::Defer { .. } => None,
            };
            if let Some(reason) = give_up
                && self.dead_letter(record, &reason).await
            {
                report.dead_lettered.push(record.message_id.clone());
                continue;
            }
            let waits_for_budget =
                matches!(outcome, Outcome::Defer { budget: true, .. }) && record.lane() == Lane::Events;
            if waits_for_budget {
                waiting.insert(group);
            }
            if waits_for_budget && record.receive_count >= self.config.resend_after && self.resend(record).await {
                // The copy is behind whatever the group has queued: hold the group, so its
                // later records are not applied before it in this batch.
                held.insert(group);
                resent.insert(group);
                report.resent.push(record.message_id.clone());
                continue;
            }
            self.settle(record, &outcome).await;
            held.insert(group);
            report.failed.push(record.message_id.clone());
        }
        report
    }

    /// Moves a record to the DLQ; false if that failed (the redrive policy then applies).
    async fn dead_letter(&self, record: &Record, reason: &str) -> bool {
        let message = QueueMessage {
            group_id: record.group_id.clone().unwrap_or_else(|| "ungrouped".into()),
            dedup_id: record.dedup_id.clone().unwrap_or_else(|| record.message_id.clone()),
            body: record.body.clone(),
        };
        match self.queue.dead_letter(&record.receipt_handle, &message, reason).await {
            Ok(()) => {
                tracing::warn!(message_id = %record.message_id, receive_count = record.receive_count, reason, outcome = "dead_lettered", "record moved to the DLQ");
                true
            }
            Err(e) => {
                tracing::error!(message_id = %record.message_id, error = %e, "moving to the DLQ failed; the redrive policy applies");
                false
            }
        }
    }

    /// Replaces a long-deferred record by a copy under a new deduplication id; false if
    /// that failed (it is then deferred as usual).
    async fn resend(&self, record: &Record) -> bool {
        let group_id = record.group_id.clone().unwrap_or_else(|| "ungrouped".into());
        let dedup = record.dedup_id.as_deref().unwrap_or(&record.message_id);
        let original: String = dedup.split_once(WAITED_MARK).map_or(dedup, |(d, _)| d).chars().take(96).collect();
        // The copy carries how often and since when it waited, so its waits keep spreading out.
        let since = record.waiting_since().map_or(String::new(), |t| format!("@{t}"));
        let copy = QueueMessage {
            group_id,
            dedup_id: format!("{original}{WAITED_MARK}{}{since}", record.waits()),
            body: record.body.clone(),
        };
        match self.queue.resend(&record.receipt_handle, &copy).await {
            Ok(()) => {
                tracing::info!(message_id = %record.message_id, receive_count = record.receive_count, outcome = "resent", "long-deferred record replaced by a fresh copy");
                true
            }
            Err(e) => {
                tracing::error!(message_id = %record.message_id, error = %e, "resend failed; deferred as usual");
                false
            }
        }
    }

    /// Makes a record that was not attempted visible again at once: in flight, it would
    /// hold its group for the whole visibility timeout.
    async fn release(&self, record: &Record) {
        tracing::info!(message_id = %record.message_id, outcome = "released", "not attempted: an earlier record of its group failed");
        if let Err(e) = self.queue.defer(&record.receipt_handle, 0).await {
            tracing::error!(message_id = %record.message_id, error = %e, "release failed; default visibility applies");
        }
    }

    /// Sets the visibility a not-done record needs.
    async fn settle(&self, record: &Record, outcome: &Outcome) {
        let (secs, reason) = match outcome {
            Outcome::Done => return,
            // Events that waited before wake spread out; background slices all wake at the
            // reset, in queue order: their order is the round-robin (docs/design.md §5).
            Outcome::Defer { secs, reason, budget } => {
                let backoff = match record.lane() {
                    Lane::Events if *budget => {
                        let waited = record.waiting_since().map_or(0, |t| self.now() - t);
                        budget_backoff(record.waits(), waited, &record.message_id)
                    }
                    _ => 0,
                };
                (secs.saturating_add(backoff).min(43_200), reason)
            }
            Outcome::Retry { reason } => (retry_delay(self.config.retry_base_s, record.receive_count), reason),
            Outcome::Poison { reason } => (0, reason),
        };
        tracing::warn!(
            message_id = %record.message_id,
            receive_count = record.receive_count,
            outcome = outcome.kind(),
            delay_s = secs,
            reason = %reason,
            "record not done"
        );
        if let Err(e) = self.queue.defer(&record.receipt_handle, secs).await {
            tracing::error!(message_id = %record.message_id, error = %e, "visibility change failed; default visibility applies");
        }
    }

    /// One record, start to end.
    #[tracing::instrument(skip_all, fields(message_id = %record.message_id, receive_count = record.receive_count))]
    pub async fn process(&self, record: &Record) -> Outcome {
        let job = match Job::parse(&record.body) {
            Ok(job) => job,
            Err(e) => return Outcome::Poison { reason: format!("message body at {}: {}", e.path, e.message) },
        };
        // Each job's future is boxed: together (and instrumented) they are large, and a
        // batch of them on the stack of one task is what a small thread stack cannot hold.
        let result = match &job {
            Job::WebhookEvent { event } => Box::pin(self.apply_event(event, record.receive_count)).await,
            Job::Backfill { .. } | Job::Reconcile { .. } => Box::pin(self.backfill(&job)).await,
            Job::Rescore { athlete_id, activity_id } => Box::pin(self.rescore(*athlete_id, *activity_id)).await,
            Job::SetThresholds { athlete_id, thresholds } => {
                Box::pin(self.set_thresholds(*athlete_id, thresholds)).await
            }
            Job::Disconnect { athlete_id, requested_at, by } => {
                Box::pin(self.disconnect(*athlete_id, *requested_at, *by, record.receive_count)).await
            }
        };
        let outcome = result.err().unwrap_or(Outcome::Done);
        if outcome == Outcome::Done {
            tracing::info!(athlete_id = job.athlete_id(), outcome = "done", "record applied");
        }
        outcome
    }

    fn limit(&self, kind: RateWindowKind, priority: Priority) -> u32 {
        let full = match kind {
            RateWindowKind::QuarterHour => self.config.limit_15min,
            RateWindowKind::Daily => self.config.limit_daily,
        };
        match priority {
            Priority::Event => full,
            Priority::Background => (f64::from(full) * self.config.background_share).floor() as u32,
        }
    }

    /// Reserves one request in both shared windows, or says how long to wait. An event
    /// that must wait holds the next 15-minute window for the events lane: background
    /// work yields it, so the waiting events go first (docs/design.md §5, lanes).
    ///
    /// Background work waits so that every waiting slice wakes at the same moment (their
    /// queue order is the round-robin): until the window resets; until the next hour when
    /// the window was held for events (they are short of budget, and will be for a while);
    /// until midnight when the day's share is spent as well.
    async fn reserve(&self, priority: Priority) -> Result<(), Outcome> {
        let now = self.now();
        let kinds = [RateWindowKind::QuarterHour, RateWindowKind::Daily];
        // Both windows before reserving in either: a spent day must not use up the quarter.
        for kind in kinds {
            if let Some(until) = self.known_spent(RateWindow::containing(kind, now), priority, now) {
                return Err(budget_wait(kind, now, until));
            }
        }
        for kind in kinds {
            let window = RateWindow::containing(kind, now);
            let limit = match (kind, priority) {
                (RateWindowKind::Daily, Priority::Background) if self.config.pace_background => {
                    paced_daily_share(self.limit(kind, priority), now)
                }
                _ => self.limit(kind, priority),
            };
            let reservation = match priority {
                Priority::Event => self.store.reserve(window, 1, limit).await?,
                Priority::Background => self.store.reserve_background(window, 1, limit).await?,
            };
            let share = self.limit(RateWindowKind::Daily, priority);
            let mut until = match (reservation, kind, priority) {
                (Reservation::Granted { .. }, ..) => continue,
                (Reservation::Exhausted { used }, RateWindowKind::Daily, Priority::Background)
                    if self.config.pace_background =>
                {
                    paced_share_resumes_at(share, used, now)
                }
                (Reservation::Exhausted { .. }, ..) => window.resets_at(),
                (Reservation::Held { .. }, ..) => (now.div_euclid(3600) + 1) * 3600,
            };
            if priority == Priority::Event && kind == RateWindowKind::QuarterHour {
                self.store.hold_for_events(window.next()).await?;
            }
            if priority == Priority::Background && kind == RateWindowKind::QuarterHour {
                // Past the day's paced share too, it waits for the pace (midnight when the
                // whole share is spent), not for every quarter or hour in between.
                let day = RateWindow::containing(RateWindowKind::Daily, now);
                let used = self.store.used(day).await?;
                let resumes = if self.config.pace_background {
                    paced_share_resumes_at(share, used, now)
                } else if used >= share {
                    day.resets_at()
                } else {
                    now
                };
                if resumes > until {
                    self.note_spent(day, priority, resumes, now);
                    until = resumes;
                }
            }
            self.note_spent(window, priority, until, now);
            tracing::info!(?kind, ?reservation, ?priority, "rate budget exhausted; deferring");
            return Err(budget_wait(kind, now, until));
        }
        Ok(())
    }

    /// Until when this container knows `window` is spent for `priority` (if after `now`).
    fn known_spent(&self, window: RateWindow, priority: Priority, now: i64) -> Option<i64> {
        self.spent.lock().unwrap_or_else(|p| p.into_inner()).get(&(window, priority)).copied().filter(|t| *t > now)
    }

    fn note_spent(&self, window: RateWindow, priority: Priority, until: i64, now: i64) {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        spent.retain(|(w, _), _| w.resets_at() > now);
        spent.insert((window, priority), until);
    }

    /// Corrects the shared windows from what Strava reported (reads count against the
    /// read limit; fall back to the overall one).
    async fn observe(&self, usage: Option<&RateUsage>) {
        let Some(u) = usage.and_then(|u| u.read.or(u.overall)) else { return };
        let now = self.now();
        for (kind, used) in [(RateWindowKind::QuarterHour, u.used_15min), (RateWindowKind::Daily, u.used_daily)] {
            if let Err(e) = self.store.record_usage(RateWindow::containing(kind, now), used).await {
                tracing::warn!(error = %e, "rate window correction failed");
            }
        }
    }

    /// A Strava call on the athlete's behalf inside the shared budget: reserve, call,
    /// correct from headers, and map a failure to its outcome. `NotFound` is returned as
    /// `Ok(None)`; a 403 proving a scope missing also downgrades the stored scopes.
    async fn call<T>(
        &self,
        athlete: AthleteId,
        priority: Priority,
        fut: impl std::future::Future<Output = Result<Response<T>, StravaError>>,
    ) -> Result<Option<T>, Outcome> {
        self.reserve(priority).await?;
        match fut.await {
            Ok(r) => {
                self.observe(r.usage.as_ref()).await;
                Ok(Some(r.value))
            }
            Err(StravaError::NotFound { .. }) => Ok(None),
            Err(e) => {
                match &e {
                    StravaError::RateLimited { usage, .. } => self.observe(usage.as_ref()).await,
                    StravaError::MissingScope { scope, .. } => self.downgrade_scope(athlete, scope).await?,
                    _ => {}
                }
                Err(strava_outcome(e, self.now()))
            }
        }
    }
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ActivityStore + RateBudget,
    V: TokenVault,
    Q: EventQueue,
{
    /// Removes a scope Strava proved missing from the stored tokens and profile, so that
    /// what the pipeline believes it may read matches what it was granted.
    async fn downgrade_scope(&self, athlete: AthleteId, scope: &str) -> Result<(), Outcome> {
        if let Some(tokens) = self.vault.get_tokens_fresh(athlete).await? {
            let narrowed = OAuthTokens { scopes: tokens.scopes.without(scope), ..tokens.clone() };
            self.vault.replace_tokens(&tokens, &narrowed).await?;
        }
        self.store
            .update_profile(athlete, |p| {
                p.scopes = p.scopes.without(scope);
                true
            })
            .await?;
        tracing::warn!(
            athlete_id = athlete,
            scope,
            outcome = "scope_downgraded",
            "Strava proved a stored scope missing"
        );
        Ok(())
    }
}

/// Converts a record of the SQS Lambda event.
pub fn record_from_sqs(m: aws_lambda_events::event::sqs::SqsMessage) -> Record {
    let attr = |k: &str| m.attributes.get(k).cloned();
    Record {
        receive_count: attr("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1),
        group_id: attr("MessageGroupId"),
        dedup_id: attr("MessageDeduplicationId"),
        message_id: m.message_id.unwrap_or_default(),
        receipt_handle: m.receipt_handle.unwrap_or_default(),
        body: m.body.unwrap_or_default(),
        sent_at: attr("SentTimestamp").and_then(|t| t.parse::<i64>().ok()).map(|ms| ms / 1000),
    }
}
