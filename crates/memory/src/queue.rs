//! [`MemoryQueue`]: what was enqueued, deferred and dead-lettered, with SQS FIFO's
//! deduplication.

use std::collections::HashSet;
use std::sync::Mutex;

use stravasync_core::job::QueueMessage;
use stravasync_core::ports::{EventQueue, QueueError};

/// Records what was enqueued; drops a message whose dedup id was already seen, as an
/// SQS FIFO queue does within its 5-minute window.
#[derive(Default)]
pub struct MemoryQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    messages: Vec<QueueMessage>,
    seen_dedup_ids: HashSet<String>,
    deferrals: Vec<(String, u32)>,
    dead_letters: Vec<(QueueMessage, String)>,
}

impl MemoryQueue {
    fn with<R>(&self, f: impl FnOnce(&mut QueueState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn messages(&self) -> Vec<QueueMessage> {
        self.with(|s| s.messages.clone())
    }

    /// The messages enqueued so far, removed (as a consumer receives and deletes them).
    pub fn take(&self) -> Vec<QueueMessage> {
        self.with(|s| std::mem::take(&mut s.messages))
    }

    /// `(receipt handle, delay)` of every deferral, in order.
    pub fn deferrals(&self) -> Vec<(String, u32)> {
        self.with(|s| s.deferrals.clone())
    }

    /// `(message, reason)` of every message moved to the dead-letter queue, in order.
    pub fn dead_letters(&self) -> Vec<(QueueMessage, String)> {
        self.with(|s| s.dead_letters.clone())
    }
}

impl EventQueue for MemoryQueue {
    async fn enqueue(&self, message: &QueueMessage) -> Result<(), QueueError> {
        self.with(|s| {
            if s.seen_dedup_ids.insert(message.dedup_id.clone()) {
                s.messages.push(message.clone());
            }
        });
        Ok(())
    }

    async fn defer(&self, receipt_handle: &str, delay_secs: u32) -> Result<(), QueueError> {
        self.with(|s| s.deferrals.push((receipt_handle.to_string(), delay_secs)));
        Ok(())
    }

    async fn dead_letter(&self, _receipt_handle: &str, message: &QueueMessage, reason: &str) -> Result<(), QueueError> {
        self.with(|s| s.dead_letters.push((message.clone(), reason.to_string())));
        Ok(())
    }

    async fn resend(&self, _receipt_handle: &str, copy: &QueueMessage) -> Result<(), QueueError> {
        self.enqueue(copy).await
    }
}
