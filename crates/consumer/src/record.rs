//! One SQS record as the consumer sees it, and what its receives say: how long it has
//! waited, across the copies it was re-sent as.

use stravasync_core::job::Lane;

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

/// Marks a re-sent copy's deduplication id: `<original>~w<receives so far>@<first sent>`.
pub(crate) const WAITED_MARK: &str = "~w";

impl Record {
    /// The lane it came from (its message group).
    pub fn lane(&self) -> Lane {
        self.group_id.as_deref().map_or(Lane::Events, Lane::of_group)
    }

    /// What a re-sent copy's deduplication id carries: receives before, and when the
    /// first of its line was sent.
    pub(crate) fn waited_mark(&self) -> Option<(u32, Option<i64>)> {
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
