//! The SQS FIFO event queue: one message group per athlete, a deduplication id per event
//! (docs/design.md §5), deferral by visibility, and the receive/delete calls a local pump uses.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use stravasync_core::event::QueueMessage;
use stravasync_core::ports::{EventQueue, QueueError};

use crate::sdk_error::classify;

/// SQS caps a visibility timeout at 12 hours.
pub const MAX_VISIBILITY_S: u32 = 43_200;

/// Longest `reason` attribute written on a dead-lettered message.
const MAX_REASON_CHARS: usize = 1_000;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dlq_url: Option<String>,
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
        SqsQueue { client, queue_url: queue_url.into(), dlq_url: None }
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

    /// Receives up to `max` (≤ 10) messages, long-polling up to `wait_secs`.
    pub async fn receive(&self, max: i32, wait_secs: i32) -> Result<Vec<ReceivedMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
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
                    reason,
                })
            })
            .collect())
    }

    pub async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Approximate number of visible messages (for the demo and tests).
    pub async fn approximate_depth(&self) -> Result<u64, QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
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
            .queue_url(&self.queue_url)
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
            reason.chars().filter(|c| stravasync_core::event::sqs_allows(*c)).take(MAX_REASON_CHARS).collect();
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

    async fn defer(&self, receipt_handle: &str, delay_secs: u32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(delay_secs.min(MAX_VISIBILITY_S) as i32)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}
