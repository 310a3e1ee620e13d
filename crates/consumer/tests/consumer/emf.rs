//! The consumer's metrics as CloudWatch reads them: the EMF lines its real bootstrap logs
//! behind cargo-lambda's emulator, on the stack made from template.yaml. A create whose
//! first fetch Strava answers with a 500: one record retried, then done and stored; the
//! requests by endpoint and status; the upload-to-stored latency, within what the test's
//! own clock saw; the budget; then an event deferred for a spent day (its wait); one cold
//! start. Every metric is checked against the catalog
//! (`stravasync_core::telemetry`).

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;
use stravasync_aws::local::LocalStack;
use stravasync_core::clock::unix_now_ms;
use stravasync_core::event::WebhookEvent;
use stravasync_core::job::QueueMessage;
use stravasync_core::model::{ActivityState, RateWindow, RateWindowKind};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{EventQueue, RateBudget};
use stravasync_core::telemetry::*;
use stravasync_testkit::emf::{self, total};
use stravasync_testkit::lambda::Emulator;

use crate::common::{ATHLETE, EDGE810, FENIX2, connect, fake_config};

/// One record of `message`, received from the stack's events queue, as the event source
/// mapping hands it over.
async fn received(stack: &LocalStack, message: &QueueMessage, arn: &str) -> SqsEvent {
    let queue = stack.queue();
    queue.enqueue(message).await.unwrap();
    let m = queue.receive(1, 0).await.unwrap().pop().expect("the message");
    serde_json::from_value(json!({"Records": [{
        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": unix_now_ms().to_string(),
                       "MessageGroupId": message.group_id, "MessageDeduplicationId": message.dedup_id},
        "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
    }]}))
    .unwrap()
}

// Multi-threaded: fake-strava is served by this runtime's workers while the test waits
// for `cargo lambda invoke`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_with_one_500_is_retried_once_stored_once_and_timed() {
    let stack = LocalStack::from_template("emf-consumer", false).await.expect("the template's stack on moto");
    let fake = fake_strava::start(fake_config()).await.unwrap();
    connect(&fake, &stack.token_vault(), &stack.store(), ATHLETE, "read,activity:read_all").await;
    let mut emulator = Emulator::start().unwrap();
    let mut env = stack.function_env("consumer").unwrap();
    env.extend([("STRAVA_API_URL", fake.api_url()), ("STRAVA_OAUTH_URL", fake.oauth_url())]);
    emulator.start_function("consumer", env!("CARGO_BIN_EXE_consumer").as_ref(), &env).unwrap();
    fake.state.inject(fake_strava::Fault {
        route: format!("/api/v3/activities/{EDGE810}"),
        kind: fake_strava::FaultKind::ServerError,
        count: 1,
        delay_ms: 0,
    });

    let received_ms = unix_now_ms();
    let event: WebhookEvent = serde_json::from_value(json!({
        "object_type": "activity", "object_id": EDGE810, "aspect_type": "create", "updates": {},
        "owner_id": ATHLETE, "subscription_id": 120475, "event_time": received_ms / 1000,
    }))
    .unwrap();
    let arn = "arn:aws:sqs:us-east-1:123456789012:stravasync-EventsQueue.fifo";
    let mut batch = received(&stack, &QueueMessage::for_event(&event, Some(received_ms)), arn).await;
    let first = emulator.invoke_json("consumer", &serde_json::to_value(&batch).unwrap()).unwrap();
    assert_eq!(first["batchItemFailures"].as_array().map(Vec::len), Some(1), "{first}");
    // SQS offers it again: its second receive.
    batch.records[0].attributes.insert("ApproximateReceiveCount".into(), "2".into());
    let second = emulator.invoke_json("consumer", &serde_json::to_value(&batch).unwrap()).unwrap();
    let waited_ms = (unix_now_ms() - received_ms) as f64;
    assert_eq!(second["batchItemFailures"], json!([]), "{second}");
    assert!(
        matches!(stack.store().get_activity(ATHLETE, EDGE810).await.unwrap(), Some(ActivityState::Live(_))),
        "stored"
    );

    // As the event source mapping does with a record not reported failed.
    stack.queue().delete(batch.records[0].receipt_handle.as_deref().unwrap()).await.unwrap();

    // The day's budget spent: the next event waits for it, in the events lane.
    let day = RateWindow::containing(RateWindowKind::Daily, received_ms / 1000);
    stack.store().record_usage(day, 1_000).await.unwrap();
    let mut another = event.clone();
    another.object_id = FENIX2;
    let batch = received(&stack, &QueueMessage::for_event(&another, Some(unix_now_ms())), arn).await;
    let third = emulator.invoke_json("consumer", &serde_json::to_value(&batch).unwrap()).unwrap();
    assert_eq!(third["batchItemFailures"].as_array().map(Vec::len), Some(1), "{third}");

    let log = emulator.log("consumer");
    let values = emf::values(&log).unwrap_or_else(|e| panic!("{e}\n{log}"));
    let f = "consumer";
    let events = [("Lane", "events")];
    assert_eq!(total(&values, COLD_START, f, &[]), 1.0, "one environment, one cold start");
    assert_eq!(total(&values, RECORDS, f, &[events[0], ("Outcome", "retried")]), 1.0);
    assert_eq!(total(&values, RECORDS, f, &[events[0], ("Outcome", "done")]), 1.0);
    let requests = |endpoint: &str, status: &str| {
        total(&values, STRAVA_REQUESTS, f, &[("Endpoint", endpoint), ("Status", status)])
    };
    assert_eq!(requests("GET /activities/{id}", "500"), 1.0);
    assert_eq!(requests("GET /activities/{id}", "200"), 1.0);
    assert_eq!(requests("GET /activities/{id}/streams", "200"), 1.0);
    assert_eq!(total(&values, STRAVA_RATE_LIMITED, f, &[]), 0.0);
    // Every request went through the budget, in the events lane.
    let sent: f64 = values.iter().filter(|((n, _), _)| n == STRAVA_REQUESTS).flat_map(|(_, v)| v).sum();
    assert_eq!(total(&values, BUDGET_RESERVED, f, &[events[0]]), sent);
    let used = &values[&emf::key(BUDGET_USED, f, &[("Window", "daily")])];
    assert_eq!(used.len(), 3, "one value per invocation: {used:?}");
    assert!(used[1] >= used[0] + 1.0, "the second invocation's requests counted: {used:?}");
    assert_eq!(used[2], 1_000.0, "the third saw the day spent");
    let budget = [events[0], ("Cause", "budget")];
    assert_eq!(total(&values, DEFERRALS, f, &budget), 1.0);
    assert_eq!(total(&values, RECORDS, f, &[events[0], ("Outcome", "deferred")]), 1.0);
    let waits = &values[&emf::key(DEFER_SECONDS, f, &budget)];
    let until_midnight = (day.resets_at() - unix_now_ms() / 1000) as f64;
    assert!(waits.len() == 1 && waits[0] >= until_midnight.min(43_200.0) - 5.0, "waits for the day: {waits:?}");

    let latency = &values[&emf::key(UPLOAD_TO_STORED, f, &[events[0], ("Kind", "create")])];
    assert_eq!(latency.len(), 1, "one stored activity: {latency:?}");
    assert!((0.0..=waited_ms).contains(&latency[0]), "{} ms, within the {waited_ms} ms the test waited", latency[0]);
    assert!(values.keys().all(|(_, dims)| !dims.values().any(|v| v.contains(&ATHLETE.to_string()))), "no athlete id");
    eprintln!("EMF: {} bytes over 3 invocations", emf::bytes(&log));
}
