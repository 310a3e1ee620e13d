//! The SQS FIFO adapter against a moto server.

use crate::common;
use stravasync_aws::sqs::SqsQueue;
use stravasync_core::event::WebhookEvent;
use stravasync_core::job::QueueMessage;
use stravasync_core::ports::EventQueue;

async fn queue(label: &str) -> (SqsQueue, common::Stack) {
    let stack = common::stack(label).await;
    (SqsQueue::new(aws_sdk_sqs::Client::new(&stack.sdk), &stack.urls.queue_url), stack)
}

fn event(object_id: i64, event_time: i64) -> WebhookEvent {
    WebhookEvent::parse(
        format!(
            r#"{{"aspect_type":"create","event_time":{event_time},"object_id":{object_id},
            "object_type":"activity","owner_id":5123456789,"subscription_id":1,"updates":{{}}}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

#[tokio::test]
async fn fifo_dedup_collapses_stravas_retries() {
    let (q, _stack) = queue("dedup").await;
    let e = event(1 << 40, 1_700_000_000);
    for _ in 0..3 {
        q.enqueue(&QueueMessage::for_event(&e, None)).await.unwrap();
    }
    q.enqueue(&QueueMessage::for_event(&event(1 << 40, 1_700_000_001), None)).await.unwrap();
    let got = q.receive(10, 0).await.unwrap();
    assert_eq!(got.len(), 2, "three pushes of one event are one message");
    assert_eq!(got[0].group_id.as_deref(), Some("athlete-5123456789"));
    assert_eq!(got[0].dedup_id.as_deref(), Some(e.dedup_id().as_str()));
    let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["event"]["object_id"], 1_i64 << 40);
}

#[tokio::test]
async fn one_group_is_delivered_in_order_and_deleted_messages_stay_gone() {
    let (q, _stack) = queue("order").await;
    for t in 0..5 {
        q.enqueue(&QueueMessage::for_event(&event(7, 1000 + t), None)).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let batch = q.receive(10, 0).await.unwrap();
        assert!(!batch.is_empty(), "messages went missing after {seen:?}");
        for m in batch {
            let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            seen.push(body["event"]["event_time"].as_i64().unwrap());
            q.delete(&m.receipt_handle).await.unwrap();
        }
    }
    assert_eq!(seen, vec![1000, 1001, 1002, 1003, 1004]);
    assert!(q.receive(10, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn deferral_hides_a_message_and_receive_count_grows() {
    let (q, _stack) = queue("defer").await;
    q.enqueue(&QueueMessage::for_event(&event(8, 1), None)).await.unwrap();
    let first = q.receive(1, 0).await.unwrap().remove(0);
    assert_eq!(first.receive_count, 1);
    // Deferred for 10 minutes: not visible now.
    q.defer(&first.receipt_handle, 600).await.unwrap();
    assert!(q.receive(1, 0).await.unwrap().is_empty());
    // Deferral of 0 makes it visible again at once, as a second receive.
    let again = {
        // The receipt handle is still valid for a visibility change.
        q.defer(&first.receipt_handle, 0).await.unwrap();
        q.receive(1, 0).await.unwrap().remove(0)
    };
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(again.receive_count, 2);
}

#[tokio::test]
async fn a_message_received_too_often_moves_to_the_dlq() {
    let (q, stack) = queue("redrive").await;
    let dlq = SqsQueue::new(aws_sdk_sqs::Client::new(&stack.sdk), &stack.urls.dlq_url);
    q.enqueue(&QueueMessage::for_event(&event(9, 1), None)).await.unwrap();
    let max = stravasync_aws::resources::QUEUE.max_receive_count;
    for _ in 0..max {
        let m = q.receive(1, 0).await.unwrap().remove(0);
        q.defer(&m.receipt_handle, 0).await.unwrap();
    }
    assert!(q.receive(1, 0).await.unwrap().is_empty(), "moved after {max} receives");
    let dead = dlq.receive(1, 0).await.unwrap();
    assert_eq!(dead.len(), 1);
}

/// Two lanes: a background job goes to the background queue under its own group; one
/// receive takes the events first; a deferral or delete of a background message reaches
/// its queue through the handle's lane.
#[tokio::test]
async fn background_jobs_travel_on_their_own_queue() {
    use stravasync_core::job::{Job, Lane};
    let stack = common::stack("lanes").await;
    let client = aws_sdk_sqs::Client::new(&stack.sdk);
    let q = SqsQueue::for_lanes(client.clone(), &stack.urls.queue_url, Some(&stack.urls.background_queue_url));
    q.enqueue(&QueueMessage::for_job(&Job::start_backfill(5, Some(30), None, None, Some(1)), "b")).await.unwrap();
    q.enqueue(&QueueMessage::for_event(&event(9, 1_700_000_000), None)).await.unwrap();
    let events_only = SqsQueue::new(client.clone(), &stack.urls.queue_url);
    let background_only = SqsQueue::new(client, &stack.urls.background_queue_url);
    assert_eq!(
        (events_only.approximate_depth().await.unwrap(), background_only.approximate_depth().await.unwrap()),
        (1, 1)
    );

    let got = q.receive(10, 0).await.unwrap();
    let lanes: Vec<Lane> = got.iter().map(|m| Lane::of_group(m.group_id.as_deref().unwrap())).collect();
    assert_eq!(lanes, [Lane::Events, Lane::Background], "events first");
    assert_eq!(got[1].group_id.as_deref(), Some("background-5"));
    q.defer(&got[1].receipt_handle, 0).await.unwrap();
    q.delete(&got[0].receipt_handle).await.unwrap();
    let again = q.receive(10, 0).await.unwrap();
    assert_eq!(again.len(), 1, "the deferred background job is visible again");
    q.delete(&again[0].receipt_handle).await.unwrap();
    assert_eq!(q.approximate_depth().await.unwrap(), 0);

    // The event source's records: the lane from the queue ARN.
    let bg = Some(stack.urls.background_queue_url.as_str());
    let name = stack.urls.background_queue_url.rsplit('/').next().unwrap();
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    assert_eq!(stravasync_aws::sqs::lane_of_source(Some(&arn), bg), Lane::Background);
    assert_eq!(stravasync_aws::sqs::lane_of_source(Some("arn:aws:sqs:us-east-1:1:other.fifo"), bg), Lane::Events);
    assert_eq!(stravasync_aws::sqs::lane_of_source(Some(&arn), None), Lane::Events);
}
