//! The `consumer` binary as Lambda runs it: its real bootstrap behind cargo-lambda's
//! emulator, on the stack made from template.yaml, invoked with the `events/sqs-*.json`
//! fixtures (SQS events exactly as the event source mapping delivers them).
//!
//! The fixtures are the messages the pipeline sends (the webhook's for events, the API's
//! and the consumer's for jobs): a test rebuilds them from `QueueMessage` and compares, so
//! they cannot drift from the code. `STRAVASYNC_WRITE_EVENTS=1` rewrites them.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use stravasync_aws::local::LocalStack;
use stravasync_core::event::WebhookEvent;
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::model::{ActivityState, ThresholdsUpdate};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{EventQueue, TokenVault};
use stravasync_core::telemetry::{BACKFILL_SLICES, RECORDS, UPLOAD_TO_STORED};
use stravasync_testkit::emf;
use stravasync_testkit::lambda::{Emulator, event_file};

use crate::common::{ATHLETE, EDGE810, FENIX2, connect, fake_config};

/// The queues' ARNs as a deployed stack named `stravasync` has them.
const EVENTS_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:stravasync-EventsQueue-1RS5W1KWOPQ6G.fifo";
const BACKGROUND_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:stravasync-BackgroundQueue-9XK2M3N4P5Q6R.fifo";
/// When the fixtures' events happened (2025-11-24 16:00 UTC).
const T0: i64 = 1_764_000_000;
/// The second athlete of the mixed batch: fake-strava's first generated athlete, and the
/// activity it records for them first.
const SECOND: i64 = fake_strava::data::GENERATED_ATHLETE_BASE + 1;
const SECOND_ACTIVITY: i64 = 19_900_000_001;
/// The shared recording the poison batch's good record creates.
const ZWIFT: i64 = 17_000_000_104;
/// What the poison record carries: a queue body cut short.
const POISON_BODY: &str = r#"{"kind": "webhook_event", "event": {"object_type": "activity", "object_id": 17000000101"#;

/// The webhook's message for an event `minutes` after [`T0`] (events of one activity are
/// told apart, and ordered, by their time), received 0.4 s after it happened.
fn event(object_type: &str, object_id: i64, aspect: &str, updates: Value, owner: i64, minutes: i64) -> QueueMessage {
    let event: WebhookEvent = serde_json::from_value(json!({
        "object_type": object_type, "object_id": object_id, "aspect_type": aspect, "updates": updates,
        "owner_id": owner, "subscription_id": 120475, "event_time": T0 + 60 * minutes,
    }))
    .expect("a webhook event");
    QueueMessage::for_event(&event, Some(event.event_time * 1000 + 400))
}

/// One SQS record as Lambda's event source mapping delivers it.
fn record(arn: &str, n: usize, group: &str, dedup: &str, body: &str) -> Value {
    let sent = (T0 + n as i64) * 1000;
    json!({
        "messageId": format!("1d3f5a7c-0000-4000-8000-{n:012}"),
        "receiptHandle": format!("AQEBfixture{n:04}receipthandle=="),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": sent.to_string(),
            "SenderId": "AROAEXAMPLEROLEID:stravasync-WebhookFunction",
            "ApproximateFirstReceiveTimestamp": (sent + 40).to_string(),
            "SequenceNumber": format!("1889430000000000{n:04}"),
            "MessageGroupId": group,
            "MessageDeduplicationId": dedup,
        },
        "messageAttributes": {},
        "md5OfBody": format!("{:x}", Md5::digest(body.as_bytes())),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "us-east-1",
    })
}

fn batch(arn: &str, first: usize, messages: &[QueueMessage]) -> Value {
    json!({"Records": messages.iter().enumerate().map(|(i, m)| record(arn, first + i, &m.group_id, &m.dedup_id, &m.body)).collect::<Vec<_>>()})
}

/// The day the threshold fixture's values hold from.
const THRESHOLDS_FROM: &str = "2013-08-01";

/// Every SQS fixture: its file and its event.
fn fixtures() -> Vec<(&'static str, Value)> {
    let title = |t: &str| json!({"title": t});
    let thresholds = Job::SetThresholds {
        athlete_id: ATHLETE,
        thresholds: ThresholdsUpdate { ftp: Some(265.0), ..Default::default() },
        from: Some(THRESHOLDS_FROM.parse().unwrap()),
    };
    let backfill = Job::start_backfill(ATHLETE, Some(2), None, None, Some(T0));
    let poison = QueueMessage {
        group_id: QueueMessage::group_for(ATHLETE),
        dedup_id: "poison-1".into(),
        body: POISON_BODY.into(),
    };
    vec![
        (
            "sqs-activity-create.json",
            batch(EVENTS_ARN, 1, &[event("activity", EDGE810, "create", json!({}), ATHLETE, 1)]),
        ),
        (
            "sqs-activity-update-title.json",
            batch(EVENTS_ARN, 2, &[event("activity", EDGE810, "update", title("Hill repeats, renamed"), ATHLETE, 2)]),
        ),
        ("sqs-threshold-change.json", batch(EVENTS_ARN, 3, &[QueueMessage::for_job(&thresholds, &T0.to_string())])),
        ("sqs-backfill-slice.json", batch(BACKGROUND_ARN, 4, &[QueueMessage::for_job(&backfill, "page-1")])),
        (
            "sqs-mixed-two-athletes.json",
            batch(
                EVENTS_ARN,
                5,
                &[
                    event("activity", FENIX2, "create", json!({}), ATHLETE, 3),
                    event("activity", SECOND_ACTIVITY, "create", json!({}), SECOND, 3),
                    event("activity", FENIX2, "update", title("Tempo run, renamed"), ATHLETE, 4),
                    event("activity", SECOND_ACTIVITY, "update", title("Second athlete's ride"), SECOND, 4),
                ],
            ),
        ),
        ("sqs-poison.json", batch(EVENTS_ARN, 9, &[poison, event("activity", ZWIFT, "create", json!({}), ATHLETE, 5)])),
        (
            "sqs-activity-delete.json",
            batch(EVENTS_ARN, 11, &[event("activity", EDGE810, "delete", json!({}), ATHLETE, 6)]),
        ),
        (
            "sqs-athlete-deauthorize.json",
            batch(EVENTS_ARN, 12, &[event("athlete", ATHLETE, "update", json!({"authorized": "false"}), ATHLETE, 7)]),
        ),
    ]
}

#[test]
fn the_sqs_fixtures_are_the_messages_the_pipeline_sends() {
    let write = std::env::var("STRAVASYNC_WRITE_EVENTS").is_ok_and(|v| v == "1");
    for (file, expected) in fixtures() {
        let path = event_file(file);
        if write {
            std::fs::write(&path, serde_json::to_string_pretty(&expected).unwrap() + "\n").unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let on_disk: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            on_disk, expected,
            "{file} differs from the messages the pipeline sends (STRAVASYNC_WRITE_EVENTS=1 rewrites it)"
        );
        // As the Lambda reads it: every record parses, with the attributes the consumer uses.
        let event: SqsEvent = serde_json::from_str(&text).unwrap();
        for r in &event.records {
            for attribute in ["MessageGroupId", "MessageDeduplicationId", "ApproximateReceiveCount", "SentTimestamp"] {
                assert!(r.attributes.contains_key(attribute), "{file}: {attribute}");
            }
            assert!(r.event_source_arn.as_deref().is_some_and(|a| a.ends_with(".fifo")), "{file}");
            let lane = stravasync_core::job::Lane::of_group(&r.attributes["MessageGroupId"]);
            let queue = if lane == stravasync_core::job::Lane::Background { "BackgroundQueue" } else { "EventsQueue" };
            assert!(r.event_source_arn.as_deref().unwrap().contains(queue), "{file}: a {lane:?} group on {queue}");
        }
    }
}

fn failures(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not an SqsBatchResponse: {answer}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

/// What the event source mapping does with a fixture: its messages are sent to the stack's
/// queue of their `eventSourceARN` and received, and the fixture is handed over with those
/// receipt handles (the consumer deletes what it moves to the DLQ and delays what waits,
/// which needs a handle the queue knows); then, as the mapping does, the records not
/// reported failed are deleted. The failed ones are deleted too (the test does not wait
/// for SQS to offer them again), and returned.
async fn deliver(stack: &LocalStack, emulator: &mut Emulator, file: &str) -> Vec<String> {
    let mut event: SqsEvent = serde_json::from_str(&std::fs::read_to_string(event_file(file)).unwrap()).unwrap();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queue_of = |r: &SqsMessage| {
        let arn = r.event_source_arn.as_deref().unwrap_or_default();
        let url =
            if arn.contains("BackgroundQueue") { &stack.urls.background_queue_url } else { &stack.urls.queue_url };
        stravasync_aws::sqs::SqsQueue::new(sqs.clone(), url)
    };
    let dedup_of = |r: &SqsMessage| r.attributes["MessageDeduplicationId"].clone();
    for r in &event.records {
        let message = QueueMessage {
            group_id: r.attributes["MessageGroupId"].clone(),
            dedup_id: dedup_of(r),
            body: r.body.clone().unwrap_or_default(),
        };
        queue_of(r).enqueue(&message).await.unwrap();
    }
    let mut handles = std::collections::HashMap::new();
    for r in &mut event.records {
        let queue = queue_of(r);
        let dedup = dedup_of(r);
        while !handles.contains_key(&dedup) {
            let received = queue.receive(10, 0).await.unwrap();
            assert!(!received.is_empty(), "{file}: {dedup} was sent but cannot be received");
            for m in received {
                handles.insert(m.dedup_id.clone().unwrap_or_default(), m.receipt_handle);
            }
        }
        r.receipt_handle = Some(handles[&dedup].clone());
    }
    let answer = emulator.invoke_json("consumer", &serde_json::to_value(&event).unwrap()).unwrap();
    let failed = failures(&answer);
    if !failed.is_empty() {
        eprintln!("{file}: {answer}\nthe consumer's log:\n{}", emulator.log("consumer"));
    }
    for r in &event.records {
        // What the consumer moved to the DLQ it already deleted; the rest the mapping deletes.
        let _ = queue_of(r).delete(r.receipt_handle.as_deref().unwrap_or_default()).await;
    }
    failed
}

fn message_ids(file: &str) -> Vec<String> {
    let event: Value = serde_json::from_str(&std::fs::read_to_string(event_file(file)).unwrap()).unwrap();
    event["Records"].as_array().unwrap().iter().map(|r| r["messageId"].as_str().unwrap().to_string()).collect()
}

async fn live(stack: &LocalStack, athlete: i64, activity: i64) -> Option<stravasync_core::model::StoredActivity> {
    match stack.store().get_activity(athlete, activity).await.unwrap() {
        Some(ActivityState::Live(a)) => Some(*a),
        _ => None,
    }
}

// Multi-threaded: fake-strava is served by this runtime's workers while the test waits
// for `cargo lambda invoke`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_bootstrap_answers_each_fixture_with_exactly_its_failed_records() {
    let stack = LocalStack::from_template("boot-consumer", false).await.expect("the template's stack on moto");
    let fake = fake_strava::start(fake_config()).await.unwrap();
    assert_eq!(fake.state.add_generated_athlete(0, 1), SECOND);
    assert_eq!(fake.state.new_activity(SECOND, T0 - 3_600), Some(SECOND_ACTIVITY));
    let (store, vault) = (stack.store(), stack.token_vault());
    for athlete in [ATHLETE, SECOND] {
        connect(&fake, &vault, &store, athlete, "read,activity:read_all").await;
    }
    let mut emulator = Emulator::start().unwrap();
    let mut env = stack.function_env("consumer").unwrap();
    env.extend([("STRAVA_API_URL", fake.api_url()), ("STRAVA_OAUTH_URL", fake.oauth_url())]);
    emulator.start_function("consumer", env!("CARGO_BIN_EXE_consumer").as_ref(), &env).unwrap();
    // The first fixture as it is on disk (as `make invoke` sends it); the rest through the
    // queue, as the event source mapping delivers them.
    assert_eq!(
        failures(&emulator.invoke("consumer", &event_file("sqs-activity-create.json")).unwrap()),
        Vec::<String>::new()
    );

    let created = live(&stack, ATHLETE, EDGE810).await.expect("stored");
    assert!(created.metrics.is_some_and(|m| m.score.value.is_some()), "scored");

    assert_eq!(deliver(&stack, &mut emulator, "sqs-activity-update-title.json").await, Vec::<String>::new());
    let renamed = live(&stack, ATHLETE, EDGE810).await.unwrap();
    assert_eq!(renamed.summary.name.as_deref(), Some("Hill repeats, renamed"));

    assert_eq!(deliver(&stack, &mut emulator, "sqs-threshold-change.json").await, Vec::<String>::new());
    // The shorthand holds from the day it was applied: a cycling entry of the history.
    let history = store.threshold_history(ATHLETE).await.unwrap().expect("a history").history;
    let from = THRESHOLDS_FROM.parse().unwrap();
    let cycling = history.entry_in_force(stravasync_core::thresholds::ThresholdGroup::Cycling, from).unwrap();
    assert_eq!((cycling.ftp, cycling.effective_from), (Some(265.0), from));
    let rescores = stack.queue().drain().await.unwrap();
    assert!(
        rescores.iter().any(|m| Job::parse(&m.body).is_ok_and(|j| matches!(j, Job::Rescore { .. }))),
        "the rescore is enqueued: {:?}",
        rescores.iter().map(|m| &m.body).collect::<Vec<_>>()
    );

    assert_eq!(deliver(&stack, &mut emulator, "sqs-backfill-slice.json").await, Vec::<String>::new());
    let counts = store.activity_counts(ATHLETE).await.unwrap();
    assert!(counts.stored >= 2, "the two most recent are imported: {counts:?}");

    // FENIX2's fetch fails every time (Strava 500s): its record is reported, and so is the
    // athlete's next record (held behind it, in order); the other athlete's go through.
    fake.state.inject(fake_strava::Fault {
        route: format!("/api/v3/activities/{FENIX2}"),
        kind: fake_strava::FaultKind::ServerError,
        count: 1_000,
        delay_ms: 0,
    });
    let ids = message_ids("sqs-mixed-two-athletes.json");
    assert_eq!(
        deliver(&stack, &mut emulator, "sqs-mixed-two-athletes.json").await,
        vec![ids[0].clone(), ids[2].clone()]
    );
    assert!(live(&stack, ATHLETE, FENIX2).await.is_none());
    let second = live(&stack, SECOND, SECOND_ACTIVITY).await.expect("the other athlete's activity");
    assert_eq!(second.summary.name.as_deref(), Some("Second athlete's ride"));

    // The poison record goes to the DLQ at once (not reported: SQS would only send it
    // again); the good record beside it is stored.
    assert_eq!(deliver(&stack, &mut emulator, "sqs-poison.json").await, Vec::<String>::new());
    assert!(live(&stack, ATHLETE, ZWIFT).await.is_some());

    assert_eq!(deliver(&stack, &mut emulator, "sqs-activity-delete.json").await, Vec::<String>::new());
    assert!(live(&stack, ATHLETE, EDGE810).await.is_none());

    assert_eq!(deliver(&stack, &mut emulator, "sqs-athlete-deauthorize.json").await, Vec::<String>::new());
    assert!(store.get_profile(ATHLETE).await.unwrap().is_none());
    assert!(!store.athlete_has_items(ATHLETE).await.unwrap());
    // A vault of its own: this one remembers the tokens it wrote.
    assert!(stack.token_vault().get_tokens(ATHLETE).await.unwrap().is_none());
    assert!(store.get_profile(SECOND).await.unwrap().is_some(), "the other athlete stays");

    // Nothing else was dead-lettered.
    let dead = stack.dlq().drain().await.unwrap();
    assert_eq!(dead.len(), 1, "{:?}", dead.iter().map(|m| &m.body).collect::<Vec<_>>());
    assert!(dead[0].body.contains("17000000101"), "the poison record: {}", dead[0].body);

    // What its metrics (EMF lines of its log) said of all this; every one in the catalog.
    let log = emulator.log("consumer");
    let values = emf::values(&log).unwrap_or_else(|e| panic!("{e}\n{log}"));
    let records = |outcome: &str| emf::total(&values, RECORDS, "consumer", &[("Lane", "events"), ("Outcome", outcome)]);
    assert_eq!((records("poisoned"), records("retried"), records("released")), (1.0, 1.0, 1.0));
    assert_eq!(records("dead_lettered"), 0.0);
    assert!(emf::total(&values, BACKFILL_SLICES, "consumer", &[]) >= 1.0);
    for (lane, kind) in [
        ("events", "create"),
        ("events", "update"),
        ("events", "delete"),
        ("events", "deauthorize"),
        ("background", "backfill"),
    ] {
        let key = emf::key(UPLOAD_TO_STORED, "consumer", &[("Lane", lane), ("Kind", kind)]);
        assert!(values.get(&key).is_some_and(|v| !v.is_empty()), "no {kind} latency: {:?}", values.keys());
    }
}
