//! A local stand-in for Lambda's SQS event source mapping: receive a batch from the FIFO
//! queue, hand it to the consumer as one invocation, delete what succeeded, leave the
//! reported failures to the visibility the consumer set. Records the consumer moved to
//! the DLQ itself are already deleted.

use crate::ConsumerStore;
use stravasync_aws::sqs::SqsQueue;
use stravasync_core::ports::{QueueError, TokenVault};

use crate::{BatchReport, Consumer, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PumpStats {
    pub received: usize,
    pub done: usize,
    pub failed: usize,
    pub dead_lettered: usize,
    /// Replaced by a copy after waiting for the budget through many receives.
    pub resent: usize,
}

/// One receive and invocation in detail: the records as delivered, and the consumer's report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    pub records: Vec<Record>,
    pub report: BatchReport,
    pub stats: PumpStats,
}

/// One receive (up to 10 messages, no long poll) and one invocation.
pub async fn pump_once<S, V>(consumer: &Consumer<S, V, SqsQueue>) -> Result<PumpStats, QueueError>
where
    S: ConsumerStore,
    V: TokenVault,
{
    Ok(deliver_once(consumer).await?.stats)
}

/// As [`pump_once`], returning what was delivered and reported.
pub async fn deliver_once<S, V>(consumer: &Consumer<S, V, SqsQueue>) -> Result<Delivery, QueueError>
where
    S: ConsumerStore,
    V: TokenVault,
{
    let records = as_records(&consumer.queue.receive(10, 0).await?);
    let report = consumer.handle_batch(&records).await;
    let mut stats = PumpStats { received: records.len(), ..Default::default() };
    for r in &records {
        if report.failed.contains(&r.message_id) {
            stats.failed += 1;
        } else if report.dead_lettered.contains(&r.message_id) {
            stats.dead_lettered += 1;
        } else if report.resent.contains(&r.message_id) {
            stats.resent += 1;
        } else {
            consumer.queue.delete(&r.receipt_handle).await?;
            stats.done += 1;
        }
    }
    Ok(Delivery { records, report, stats })
}

/// Pumps until a receive comes back empty (deferred messages stay hidden) or `max_rounds`.
pub async fn pump_until_idle<S, V>(
    consumer: &Consumer<S, V, SqsQueue>,
    max_rounds: usize,
) -> Result<PumpStats, QueueError>
where
    S: ConsumerStore,
    V: TokenVault,
{
    pump_until_idle_with(consumer, max_rounds, |_| {}).await
}

/// As [`pump_until_idle`], telling `on_round` the running totals after each round.
pub async fn pump_until_idle_with<S, V>(
    consumer: &Consumer<S, V, SqsQueue>,
    max_rounds: usize,
    mut on_round: impl FnMut(&PumpStats),
) -> Result<PumpStats, QueueError>
where
    S: ConsumerStore,
    V: TokenVault,
{
    let mut total = PumpStats::default();
    for _ in 0..max_rounds {
        let s = pump_once(consumer).await?;
        if s.received == 0 {
            break;
        }
        total.received += s.received;
        total.done += s.done;
        total.failed += s.failed;
        total.dead_lettered += s.dead_lettered;
        total.resent += s.resent;
        on_round(&total);
    }
    Ok(total)
}

/// The same for the import queue (`imports`): one receive of up to 10 records, one
/// invocation of [`Consumer::handle_import_batch`], the records done deleted, the failed
/// left to their visibility (a retry, then the DLQ by the queue's redrive).
pub async fn pump_imports_once<S, V>(
    consumer: &Consumer<S, V, SqsQueue>,
    imports: &SqsQueue,
) -> Result<PumpStats, QueueError>
where
    S: ConsumerStore,
    V: TokenVault,
{
    let records = as_records(&imports.receive(10, 0).await?);
    let report = consumer.handle_import_batch(&records).await;
    let mut stats = PumpStats { received: records.len(), ..Default::default() };
    for r in &records {
        if report.failed.contains(&r.message_id) {
            stats.failed += 1;
        } else {
            imports.delete(&r.receipt_handle).await?;
            stats.done += 1;
        }
    }
    Ok(stats)
}

/// Received messages as the event source's records.
fn as_records(messages: &[stravasync_aws::sqs::ReceivedMessage]) -> Vec<Record> {
    messages
        .iter()
        .map(|m| Record {
            message_id: m.message_id.clone(),
            receipt_handle: m.receipt_handle.clone(),
            body: m.body.clone(),
            receive_count: m.receive_count,
            group_id: m.group_id.clone(),
            dedup_id: m.dedup_id.clone(),
            sent_at: m.sent_at,
        })
        .collect()
}
