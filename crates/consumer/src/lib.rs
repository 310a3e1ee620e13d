//! The consumer Lambda (SQS FIFO event source, `ReportBatchItemFailures`), as a library so
//! tests, the local pump and the demo run the same code as the `consumer` binary.
//!
//! Each record is parsed on its own into a [`Job`]; DESIGN §5 says what each does:
//!
//! | job | Strava requests |
//! |---|---|
//! | activity create | 2: activity + streams (1 for a manual activity) |
//! | update of title / type / private only | 0 (a type change rescores from stored streams) |
//! | any other update | 2: refetch as a create |
//! | activity delete | 0: tombstone, chunks deleted |
//! | athlete deauthorization | 0: token secret and every item of the athlete deleted |
//! | stale event (older than the stored version) | 0 |
//! | backfill / reconcile | 1 per activity + 1 per page of 200 (the list summary replaces the detail call) |
//!
//! Invariant relied on: one athlete's messages share a FIFO message group, so they are
//! processed in order and never concurrently. This is what makes the read-modify-write of
//! an activity and the refresh-token rotation race-free.
//!
//! Failure rule (AWS, FIFO): processing stops at the first record that is not done; it and
//! every later record of the batch are reported in `batchItemFailures`.

pub mod config;
mod jobs;
pub mod outcome;
pub mod pump;

use futures_util::FutureExt;
use stravasync_core::event::Job;
use stravasync_core::model::RateWindow;
use stravasync_core::model::RateWindowKind;
use stravasync_core::ports::{ActivityStore, EventQueue, RateBudget, Reservation, TokenVault};
use stravasync_strava::{RateUsage, Response, StravaClient, StravaError};

pub use config::{ConfigError, ConsumerConfig};
pub use outcome::Outcome;
use outcome::{retry_delay, strava_outcome};

/// One SQS record, as the event source mapping (or the local pump) delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
}

/// Webhook work has priority: background jobs stop at a share of each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ActivityStore + RateBudget,
    V: TokenVault,
    Q: EventQueue,
{
    pub fn new(config: ConsumerConfig, strava: StravaClient, store: S, vault: V, queue: Q) -> Self {
        Consumer { config, strava, store, vault, queue }
    }

    pub fn now(&self) -> i64 {
        self.strava.now()
    }

    /// Processes a batch in order and returns the message ids to report as failed.
    pub async fn handle_batch(&self, records: &[Record]) -> Vec<String> {
        for (i, record) in records.iter().enumerate() {
            // A panic must not take the batch (and the rest of the records) with it.
            let outcome = std::panic::AssertUnwindSafe(self.process(record))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Outcome::Poison { reason: "panic while processing".into() });
            if outcome == Outcome::Done {
                continue;
            }
            self.settle(record, &outcome).await;
            return records[i..].iter().map(|r| r.message_id.clone()).collect();
        }
        Vec::new()
    }

    /// Sets the visibility a not-done record needs.
    async fn settle(&self, record: &Record, outcome: &Outcome) {
        let (secs, reason) = match outcome {
            Outcome::Done => return,
            Outcome::Defer { secs, reason } => (*secs, reason),
            Outcome::Retry { reason } => (retry_delay(record.receive_count), reason),
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
    pub async fn process(&self, record: &Record) -> Outcome {
        let job = match Job::parse(&record.body) {
            Ok(job) => job,
            Err(e) => return Outcome::Poison { reason: format!("message body at {}: {}", e.path, e.message) },
        };
        let result = match &job {
            Job::WebhookEvent { event } => self.apply_event(event, record.receive_count).await,
            Job::Backfill { .. } | Job::Reconcile { .. } => self.backfill(&job).await,
            Job::Rescore { athlete_id, activity_id } => self.rescore(*athlete_id, *activity_id).await,
        };
        let outcome = result.err().unwrap_or(Outcome::Done);
        if outcome == Outcome::Done {
            tracing::info!(message_id = %record.message_id, athlete_id = job.athlete_id(), outcome = "done", "record applied");
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

    /// Reserves one request in both shared windows, or says how long to wait.
    async fn reserve(&self, priority: Priority) -> Result<(), Outcome> {
        let now = self.now();
        for kind in [RateWindowKind::QuarterHour, RateWindowKind::Daily] {
            let window = RateWindow::containing(kind, now);
            if let Reservation::Exhausted { used } = self.store.reserve(window, 1, self.limit(kind, priority)).await? {
                tracing::info!(?kind, used, "rate budget exhausted; deferring");
                return Err(Outcome::Defer {
                    secs: (window.resets_at() - now).clamp(1, 43_200) as u32,
                    reason: format!("{kind:?} budget used ({used})"),
                });
            }
        }
        Ok(())
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

    /// A Strava call inside the shared budget: reserve, call, correct from headers, and
    /// map a failure to its outcome. `NotFound` is returned as `Ok(None)`.
    async fn call<T>(
        &self,
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
                if let StravaError::RateLimited { usage, .. } = &e {
                    self.observe(usage.as_ref()).await;
                }
                Err(strava_outcome(e, self.now()))
            }
        }
    }
}

/// Converts a record of the SQS Lambda event.
pub fn record_from_sqs(m: aws_lambda_events::event::sqs::SqsMessage) -> Record {
    let receive_count = m.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    Record {
        message_id: m.message_id.unwrap_or_default(),
        receipt_handle: m.receipt_handle.unwrap_or_default(),
        body: m.body.unwrap_or_default(),
        receive_count,
    }
}
