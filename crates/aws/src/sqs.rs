//! The SQS FIFO queues of the two lanes (docs/design.md §5): one message group per athlete
//! and lane, a deduplication id per event, deferral by visibility, and the receive/delete
//! calls a local pump uses.
//!
//! One consumer function reads both queues (an event source mapping each). A receipt
//! handle of the background queue carries its lane ([`tag_receipt_handle`], from the
//! record's event source, or from [`SqsQueue::receive`] in a local pump), so a deferral
//! or a delete goes to the queue the message came from; an untagged handle is the events
//! queue's.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use stravasync_core::job::{Lane, QueueMessage};
use stravasync_core::ports::{EventQueue, QueueError};

use crate::sdk_error::classify;

/// SQS caps a visibility timeout at 12 hours.
pub const MAX_VISIBILITY_S: u32 = 43_200;

/// Longest `reason` attribute written on a dead-lettered message.
const MAX_REASON_CHARS: usize = 1_000;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    /// The events lane's queue (and the only one, without a background queue).
    queue_url: String,
    background_url: Option<String>,
    dlq_url: Option<String>,
}

/// Prefix of a background-lane receipt handle (SQS issues base64 handles, which never
/// start so).
const BACKGROUND_TAG: &str = "lane:background|";

/// A receipt handle as [`SqsQueue`] takes it: a background-lane handle carries its lane.
pub fn tag_receipt_handle(lane: Lane, raw: &str) -> String {
    match lane {
        Lane::Events => raw.to_string(),
        Lane::Background => format!("{BACKGROUND_TAG}{raw}"),
    }
}

/// The lane of a record from its event source ARN (`arn:aws:sqs:…:<queue name>`), given
/// the background queue's URL (`https://…/<queue name>`).
pub fn lane_of_source(event_source_arn: Option<&str>, background_url: Option<&str>) -> Lane {
    if is_from_queue(event_source_arn, background_url) { Lane::Background } else { Lane::Events }
}

/// Whether a record's event source ARN (`arn:aws:sqs:…:<queue name>`) is the queue at
/// `queue_url` (`https://…/<queue name>`).
pub fn is_from_queue(event_source_arn: Option<&str>, queue_url: Option<&str>) -> bool {
    let name = queue_url.and_then(|u| u.rsplit('/').next()).filter(|n| !n.is_empty());
    matches!((event_source_arn, name), (Some(arn), Some(name)) if arn.rsplit(':').next() == Some(name))
}

/// A received message with what the event source mapping passes to a Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
    /// `SentTimestamp`, in Unix seconds.
    pub sent_at: Option<i64>,
    /// Why the consumer moved it to the dead-letter queue (the `reason` attribute).
    pub reason: Option<String>,
}

fn sdk_err<E, R>(err: SdkError<E, R>) -> QueueError
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match classify(&err) {
        (true, text) => QueueError::Unavailable(text),
        (false, text) => QueueError::Rejected(text),
    }
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsQueue { client, queue_url: queue_url.into(), background_url: None, dlq_url: None }
    }

    /// The events queue and, when there is one, the background queue.
    pub fn for_lanes(client: Client, queue_url: &str, background_url: Option<&str>) -> Self {
        let queue = SqsQueue::new(client, queue_url);
        match background_url {
            Some(url) => queue.with_background_queue(url),
            None => queue,
        }
    }

    /// The background lane's queue: background jobs are sent there, and [`SqsQueue::receive`]
    /// takes from both queues. Without it, both lanes share the one queue (their message
    /// groups still differ, so a backfill never holds an athlete's events).
    pub fn with_background_queue(mut self, url: impl Into<String>) -> Self {
        self.background_url = Some(url.into());
        self
    }

    /// The background lane's queue, when it has one of its own.
    pub fn background_url(&self) -> Option<&str> {
        self.background_url.as_deref()
    }

    /// The queue of `lane`.
    pub fn lane_url(&self, lane: Lane) -> &str {
        match (lane, &self.background_url) {
            (Lane::Background, Some(url)) => url,
            _ => &self.queue_url,
        }
    }

    fn two_queues(&self) -> bool {
        self.background_url.as_ref().is_some_and(|b| *b != self.queue_url)
    }

    /// The queue a receipt handle belongs to, and the handle as SQS issued it.
    fn locate<'a>(&self, receipt_handle: &'a str) -> (&str, &'a str) {
        match receipt_handle.strip_prefix(BACKGROUND_TAG) {
            Some(raw) => (self.lane_url(Lane::Background), raw),
            None => (&self.queue_url, receipt_handle),
        }
    }

    /// The dead-letter queue that [`EventQueue::dead_letter`] moves messages to. Without
    /// one, `dead_letter` is refused and the queue's redrive policy is the only way there.
    pub fn with_dead_letter_queue(mut self, dlq_url: impl Into<String>) -> Self {
        self.dlq_url = Some(dlq_url.into());
        self
    }

    pub fn url(&self) -> &str {
        &self.queue_url
    }

    /// Receives up to `max` (≤ 10) messages, long-polling up to `wait_secs`: with a
    /// background queue, from the events lane first and the rest from the background lane
    /// (as two functions would, the events lane never waiting for the other).
    pub async fn receive(&self, max: i32, wait_secs: i32) -> Result<Vec<ReceivedMessage>, QueueError> {
        if !self.two_queues() {
            return self.receive_from(&self.queue_url, max, wait_secs).await;
        }
        let mut out = self.receive_from(&self.queue_url, max, 0).await?;
        let rest = max.clamp(1, 10) - out.len() as i32;
        if rest > 0 {
            let wait = if out.is_empty() { wait_secs } else { 0 };
            let mut background = self.receive_from(self.lane_url(Lane::Background), rest, wait).await?;
            for m in &mut background {
                m.receipt_handle = tag_receipt_handle(Lane::Background, &m.receipt_handle);
            }
            out.extend(background);
        }
        Ok(out)
    }

    async fn receive_from(&self, url: &str, max: i32, wait_secs: i32) -> Result<Vec<ReceivedMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("reason")
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let attrs = m.attributes.unwrap_or_default();
                let reason = m.message_attributes.and_then(|a| a.get("reason").and_then(|v| v.string_value.clone()));
                let attr = |k: MessageSystemAttributeName| attrs.get(&k).cloned();
                Some(ReceivedMessage {
                    message_id: m.message_id?,
                    receipt_handle: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    group_id: attr(MessageSystemAttributeName::MessageGroupId),
                    dedup_id: attr(MessageSystemAttributeName::MessageDeduplicationId),
                    receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                    sent_at: attr(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|t| t.parse::<i64>().ok())
                        .map(|ms| ms / 1000),
                    reason,
                })
            })
            .collect())
    }

    pub async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        let (url, raw) = self.locate(receipt_handle);
        self.client.delete_message().queue_url(url).receipt_handle(raw).send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Every message visible now, of both lanes, received and deleted (as a consumer would
    /// take them): for tests and for draining a local stack.
    pub async fn drain(&self) -> Result<Vec<ReceivedMessage>, QueueError> {
        let mut all = Vec::new();
        loop {
            let batch = self.receive(10, 0).await?;
            if batch.is_empty() {
                return Ok(all);
            }
            for m in &batch {
                self.delete(&m.receipt_handle).await?;
            }
            all.extend(batch);
        }
    }

    /// Approximate number of visible messages, of both lanes (for the demo and tests).
    pub async fn approximate_depth(&self) -> Result<u64, QueueError> {
        let mut depth = self.depth_of(&self.queue_url).await?;
        if self.two_queues() {
            depth += self.depth_of(self.lane_url(Lane::Background)).await?;
        }
        Ok(depth)
    }

    async fn depth_of(&self, url: &str) -> Result<u64, QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages).cloned())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}

impl EventQueue for SqsQueue {
    async fn enqueue(&self, message: &QueueMessage) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(self.lane_url(message.lane()))
            .message_body(&message.body)
            .message_group_id(&message.group_id)
            .message_deduplication_id(&message.dedup_id)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn dead_letter(&self, receipt_handle: &str, message: &QueueMessage, reason: &str) -> Result<(), QueueError> {
        let dlq =
            self.dlq_url.as_deref().ok_or_else(|| QueueError::Rejected("no dead-letter queue configured".into()))?;
        let reason: String =
            reason.chars().filter(|c| stravasync_core::job::sqs_allows(*c)).take(MAX_REASON_CHARS).collect();
        let attribute = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(if v.is_empty() { "-" } else { v })
                .build()
                .map_err(|e| QueueError::Rejected(e.to_string()))
        };
        self.client
            .send_message()
            .queue_url(dlq)
            .message_body(&message.body)
            .message_group_id(&message.group_id)
            .message_deduplication_id(&message.dedup_id)
            .message_attributes("reason", attribute(&reason)?)
            .send()
            .await
            .map_err(sdk_err)?;
        self.delete(receipt_handle).await
    }

    async fn resend(&self, receipt_handle: &str, copy: &QueueMessage) -> Result<(), QueueError> {
        self.enqueue(copy).await?;
        self.delete(receipt_handle).await
    }

    async fn defer(&self, receipt_handle: &str, delay_secs: u32) -> Result<(), QueueError> {
        let (url, raw) = self.locate(receipt_handle);
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(raw)
            .visibility_timeout(delay_secs.min(MAX_VISIBILITY_S) as i32)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}
