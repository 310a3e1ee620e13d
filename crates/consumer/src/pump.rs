//! A local stand-in for Lambda's SQS event source mapping: receive a batch from the FIFO
//! queue, hand it to the consumer as one invocation, delete what succeeded, leave the
//! failures to their visibility (and, after the redrive count, to the DLQ).

use stravasync_aws::sqs::SqsQueue;
use stravasync_core::ports::{ActivityStore, QueueError, RateBudget, TokenVault};

use crate::{Consumer, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PumpStats {
    pub received: usize,
    pub done: usize,
    pub failed: usize,
}

/// One receive (up to 10 messages, no long poll) and one invocation.
pub async fn pump_once<S, V>(consumer: &Consumer<S, V, SqsQueue>) -> Result<PumpStats, QueueError>
where
    S: ActivityStore + RateBudget,
    V: TokenVault,
{
    let messages = consumer.queue.receive(10, 0).await?;
    let records: Vec<Record> = messages
        .iter()
        .map(|m| Record {
            message_id: m.message_id.clone(),
            receipt_handle: m.receipt_handle.clone(),
            body: m.body.clone(),
            receive_count: m.receive_count,
        })
        .collect();
    let failed = consumer.handle_batch(&records).await;
    let mut stats = PumpStats { received: records.len(), ..Default::default() };
    for r in &records {
        if failed.contains(&r.message_id) {
            stats.failed += 1;
        } else {
            consumer.queue.delete(&r.receipt_handle).await?;
            stats.done += 1;
        }
    }
    Ok(stats)
}

/// Pumps until a receive comes back empty (deferred messages stay hidden) or `max_rounds`.
pub async fn pump_until_idle<S, V>(
    consumer: &Consumer<S, V, SqsQueue>,
    max_rounds: usize,
) -> Result<PumpStats, QueueError>
where
    S: ActivityStore + RateBudget,
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
    }
    Ok(total)
}
