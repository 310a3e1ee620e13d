//! One invocation's batch ([`Consumer::handle_batch`]): records processed in order, group by
//! group; a record not done holds its group only, and is settled with the queue (deferred,
//! retried, re-sent, dead-lettered) on its own.

use crate::ConsumerStore;
use std::collections::HashMap;

use futures_util::FutureExt;
use stravasync_core::job::{Lane, MAX_VISIBILITY_S, QueueMessage};
use stravasync_core::ports::{EventQueue, TokenVault};
use stravasync_core::telemetry::{BUDGET_USED, DEFER_SECONDS, DEFERRALS, RECORDS};

use crate::outcome::{Outcome, budget_backoff, retry_delay};
use crate::record::WAITED_MARK;
use crate::{Consumer, Record};

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

/// `Records` by lane and what became of the record (`stravasync_core::telemetry`).
fn count_record(record: &Record, outcome: &'static str) {
    metrics::counter!(RECORDS, "Lane" => record.lane().name(), "Outcome" => outcome).increment(1);
}

/// Where a message group stands in the batch, once its first record not done is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupState {
    /// Its head failed or waits (not for the budget, or in the background lane): later
    /// records of the group are released, not attempted.
    Held,
    /// Its head waits for the budget in the events lane: a later record past
    /// `resend_after` receives is re-sent (it would otherwise reach the redrive limit
    /// without ever being tried), the others released.
    WaitingForBudget,
    /// Its head waited long and was re-sent to the back of the queue: every later record
    /// goes with it, in order.
    Resent,
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// Processes a batch in order, group by group (see the crate docs), and says which
    /// records to report as failed.
    pub async fn handle_batch(&self, records: &[Record]) -> BatchReport {
        let mut report = BatchReport::default();
        // Groups whose first record not done is known, and what that means for the rest.
        let mut groups: HashMap<Option<&str>, GroupState> = HashMap::new();
        self.budget_seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
        for record in records {
            let group = record.group_id.as_deref();
            if let Some(state) = groups.get(&group).copied() {
                self.behind(record, state, &mut report).await;
                continue;
            }
            // A panic must not take the batch (and the rest of the records) with it.
            let outcome = std::panic::AssertUnwindSafe(self.process(record))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Outcome::Poison { reason: "panic while processing".into() });
            let give_up = match &outcome {
                Outcome::Done => {
                    count_record(record, "done");
                    continue;
                }
                Outcome::Poison { reason } => Some(("poisoned", reason.clone())),
                Outcome::Retry { reason } if record.receive_count >= self.policy.max_receives => {
                    Some(("dead_lettered", format!("gave up after {} receives: {reason}", record.receive_count)))
                }
                Outcome::Retry { .. } | Outcome::Defer { .. } => None,
            };
            if let Some((counted, reason)) = give_up
                && self.dead_letter(record, &reason).await
            {
                // Out of the way: the group's later records go on.
                count_record(record, counted);
                report.dead_lettered.push(record.message_id.clone());
                continue;
            }
            let waits_for_budget =
                matches!(outcome, Outcome::Defer { budget: true, .. }) && record.lane() == Lane::Events;
            let state = if !waits_for_budget {
                GroupState::Held
            } else if record.receive_count >= self.policy.resend_after && self.resend(record).await {
                // The copy is behind whatever the group has queued: its later records in this
                // batch go after it, not before.
                count_record(record, "resent");
                report.resent.push(record.message_id.clone());
                groups.insert(group, GroupState::Resent);
                continue;
            } else {
                GroupState::WaitingForBudget
            };
            self.settle(record, &outcome).await;
            groups.insert(group, state);
            report.failed.push(record.message_id.clone());
        }
        self.recompute_dirtied().await;
        let seen = std::mem::take(&mut *self.budget_seen.lock().unwrap_or_else(|p| p.into_inner()));
        for (window, used) in seen {
            metrics::histogram!(BUDGET_USED, "Window" => window).record(f64::from(used));
        }
        report
    }

    /// A record received behind its group's first record not done. Received along with a
    /// head that waits, a record's receive count grows with every wake of that head. Behind
    /// a head re-sent, the records received with it go with it, in order: they have been
    /// received about as often, and each would become the head only to be re-sent at once
    /// (a wake per record). Behind a head that waits on for the budget, one past
    /// `resend_after` is re-sent, or it would reach the redrive limit without ever being
    /// tried. Any other is released: visible again at once, reported failed.
    async fn behind(&self, record: &Record, state: GroupState, report: &mut BatchReport) {
        let replace = match state {
            GroupState::Resent => true,
            GroupState::WaitingForBudget => record.receive_count >= self.policy.resend_after,
            GroupState::Held => false,
        };
        if replace && self.resend(record).await {
            count_record(record, "resent");
            report.resent.push(record.message_id.clone());
            return;
        }
        count_record(record, "released");
        self.release(record).await;
        report.released.push(record.message_id.clone());
        report.failed.push(record.message_id.clone());
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
        let lane = record.lane().name();
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
                let secs = secs.saturating_add(backoff).min(MAX_VISIBILITY_S);
                let cause = if *budget { "budget" } else { "strava" };
                count_record(record, "deferred");
                metrics::counter!(DEFERRALS, "Lane" => lane, "Cause" => cause).increment(1);
                metrics::histogram!(DEFER_SECONDS, "Lane" => lane, "Cause" => cause).record(f64::from(secs));
                (secs, reason)
            }
            Outcome::Retry { reason } => {
                count_record(record, "retried");
                (retry_delay(self.policy.retry_base_s, record.receive_count), reason)
            }
            // Not dead-lettered (the move failed): retried by the redrive policy.
            Outcome::Poison { reason } => {
                count_record(record, "retried");
                (0, reason)
            }
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
}
