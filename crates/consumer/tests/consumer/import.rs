//! The athlete's own files against moto (docs/design.md §4b): the small export imports
//! exactly and without a Strava request; the API path and the file path meet on the same
//! ids, in both orders, with nothing twice; a tombstone stays; a loose file and Strava's
//! copy of the same recording are one activity.

use crate::common::*;
use serde_json::json;
use stravasync_consumer::Outcome;
use stravasync_core::metrics::ScoreSource;
use stravasync_core::model::{ActivityState, ImportFile, ImportLine, ImportOutcome, StoredActivity, is_local_id};
use stravasync_core::ports::roles::*;
use stravasync_files::archive::Export;

const T: i64 = 1_763_755_200;

fn export() -> Export<std::io::Cursor<Vec<u8>>> {
    let bytes = std::fs::read(stravasync_fixtures::export_dir().join("strava-export-small.zip")).unwrap();
    Export::open(std::io::Cursor::new(bytes)).unwrap()
}

/// Every entry of the small export through the consumer's import, in order.
async fn import_export(h: &Harness) -> Vec<ImportLine> {
    let mut export = export();
    export.check_owner(ATHLETE).unwrap();
    let mut lines = Vec::new();
    for p in export.plan().unwrap() {
        let bytes = p.entry.as_deref().map(|e| export.read(e).unwrap());
        let job = ImportFile { athlete_id: ATHLETE, import_id: "i-1".into(), name: p.name, entry: p.entry, row: p.row };
        lines.push(h.consumer.import_file(&job, bytes.as_deref()).await.unwrap());
    }
    lines
}

async fn import_loose(h: &Harness, name: &str) -> ImportLine {
    let bytes = std::fs::read(stravasync_fixtures::fit_dir().join(name)).unwrap();
    let job = ImportFile {
        athlete_id: ATHLETE,
        import_id: "i-2".into(),
        name: name.into(),
        entry: Some(name.into()),
        row: None,
    };
    h.consumer.import_file(&job, Some(&bytes)).await.unwrap()
}

async fn live(h: &Harness, id: i64) -> StoredActivity {
    match h.consumer.store.get_activity(ATHLETE, id).await.unwrap() {
        Some(ActivityState::Live(a)) => *a,
        other => panic!("{id}: {other:?}"),
    }
}

fn outcomes(lines: &[ImportLine]) -> Vec<ImportOutcome> {
    lines.iter().map(|l| l.outcome).collect()
}

#[tokio::test]
async fn the_export_imports_exactly_without_a_strava_request_then_strava_replaces_it() {
    let h = harness("import-first", "read,activity:read_all").await;
    let calls = h.api_calls();
    let lines = import_export(&h).await;
    assert_eq!(outcomes(&lines), [ImportOutcome::Stored; 5], "{lines:#?}");
    assert_eq!(h.api_calls(), calls, "an import spends no Strava request");
    // The FIT files score as their Strava fixtures do (the shared thresholds).
    let expected = |name: &str| -> serde_json::Value {
        let path = stravasync_fixtures::required_dir().join(format!("expected/{name}.metrics.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    for (id, name) in [(EDGE810, "ride_power_edge810"), (FENIX2, "run_fenix2")] {
        let a = live(&h, id).await;
        assert_eq!(a.version, 0, "the lowest version");
        let score = a.metrics.as_ref().unwrap().score.value.unwrap();
        let want = expected(name)["score"]["value"].as_f64().unwrap();
        assert!(stravasync_fixtures::close(want, score), "{name}: {score} vs {want}");
    }
    // The TCX copy: the run's numbers; the GPX copy: rTSS from its haversine distance.
    let tcx = live(&h, 17_000_000_112).await;
    let run_score = expected("run_fenix2")["score"]["value"].as_f64().unwrap();
    assert!(stravasync_fixtures::close(run_score, tcx.metrics.as_ref().unwrap().score.value.unwrap()));
    let gpx = live(&h, 17_000_000_111).await;
    assert!((gpx.metrics.as_ref().unwrap().score.value.unwrap() - 62.2901).abs() < 1e-4);
    assert_eq!(gpx.summary.name.as_deref(), Some("Afternoon Run (GPX copy)"));
    // The manual row: its summary, no stream score.
    let manual = live(&h, 17_000_000_113).await;
    assert!(manual.summary.manual && manual.streams_ref().is_none());
    assert_eq!(manual.summary.start_date, "2015-08-18T06:30:00Z");
    let m = manual.metrics.as_ref().unwrap();
    assert_eq!((m.score.source, m.score.value, m.duration_s), (ScoreSource::None, None, 0));
    // Again: nothing twice.
    assert_eq!(outcomes(&import_export(&h).await), [ImportOutcome::Duplicate; 5]);
    // Strava's event for an imported id replaces it (any event outranks an import).
    assert_eq!(h.run(&event_job("activity", FENIX2, "create", json!({}), T)).await, Outcome::Done);
    let replaced = live(&h, FENIX2).await;
    assert_eq!(replaced.version, T);
    assert!(stravasync_fixtures::close(run_score, replaced.metrics.as_ref().unwrap().score.value.unwrap()));
}

#[tokio::test]
async fn strava_first_then_the_export_adds_nothing_twice_and_brings_back_nothing_deleted() {
    let h = harness("import-after", "read,activity:read_all").await;
    for id in [EDGE810, FENIX2] {
        assert_eq!(h.run(&event_job("activity", id, "create", json!({}), T)).await, Outcome::Done);
    }
    // Deleted on Strava before the import.
    assert_eq!(h.run(&event_job("activity", 17_000_000_111, "delete", json!({}), T)).await, Outcome::Done);
    let lines = import_export(&h).await;
    assert_eq!(
        outcomes(&lines),
        [
            ImportOutcome::Duplicate,
            ImportOutcome::Duplicate,
            ImportOutcome::Refused,
            ImportOutcome::Stored,
            ImportOutcome::Stored
        ],
        "{lines:#?}"
    );
    assert!(lines[2].reason.as_deref().unwrap().contains("deleted"), "{:?}", lines[2]);
    assert_eq!(live(&h, FENIX2).await.version, T, "Strava's copy kept");
    // A loose copy of a stored recording (same start, same sport group) is a duplicate.
    let line = import_loose(&h, "run_fenix2.fit").await;
    assert_eq!((line.outcome, line.activity_id), (ImportOutcome::Duplicate, Some(FENIX2)), "{line:?}");
}

#[tokio::test]
async fn a_loose_file_is_replaced_by_stravas_copy_of_the_same_recording() {
    let h = harness("import-loose", "read,activity:read_all").await;
    let line = import_loose(&h, "ride_power_edge810.fit").await;
    assert_eq!(line.outcome, ImportOutcome::Stored);
    let local = line.activity_id.unwrap();
    assert!(is_local_id(local));
    // The same file again: the same id, a duplicate.
    assert_eq!(import_loose(&h, "ride_power_edge810.fit").await.outcome, ImportOutcome::Duplicate);
    let day = live(&h, local).await.local_date;
    // Strava's activity of the same upload arrives: the local copy goes, no double load.
    assert_eq!(h.run(&event_job("activity", EDGE810, "create", json!({}), T)).await, Outcome::Done);
    assert!(matches!(h.consumer.store.get_activity(ATHLETE, local).await.unwrap(), Some(ActivityState::Deleted(_))));
    let on_day = h.consumer.store.activities_between(ATHLETE, day.add_days(-1), day.add_days(1)).await.unwrap();
    let ids: Vec<i64> = on_day.iter().map(|a| a.activity_id).collect();
    assert_eq!(ids, [EDGE810]);
    // A device-relative file without an export row has no date: refused, with the reason.
    let line = import_loose(&h, "run_hr_only_fr70.fit").await;
    assert_eq!(line.outcome, ImportOutcome::Refused);
    assert!(line.reason.unwrap().contains("no date"));
    // A damaged file: refused with the parser's reason, nothing stored.
    let mut bytes = std::fs::read(stravasync_fixtures::fit_dir().join("run_fenix2.fit")).unwrap();
    bytes.truncate(bytes.len() / 2);
    let job = ImportFile {
        athlete_id: ATHLETE,
        import_id: "i".into(),
        name: "half.fit".into(),
        entry: Some("half.fit".into()),
        row: None,
    };
    let line = h.consumer.import_file(&job, Some(&bytes)).await.unwrap();
    assert_eq!(line.outcome, ImportOutcome::Refused);
    assert!(line.reason.unwrap().starts_with("not a readable FIT file"));
}

/// The import queue on moto: each record's file and its report line; a body that does not
/// decode is its file's refusal; a record that is no import message fails with every later
/// record of the batch (FIFO), for the queue's redrive to take to the DLQ.
#[tokio::test]
async fn the_import_queue_stores_each_files_line_and_fails_what_is_not_a_message() {
    use stravasync_core::job::QueueMessage;
    use stravasync_core::model::{ImportMessage, encode_body};
    use stravasync_core::ports::{EventQueue, ImportStore};
    let h = harness("import-queue", "read,activity:read_all").await;
    let fit = std::fs::read(stravasync_fixtures::fit_dir().join("run_fenix2.fit")).unwrap();
    let message = |seq: u32, body: Option<String>| ImportMessage {
        file: ImportFile {
            athlete_id: ATHLETE,
            import_id: "q-1".into(),
            name: format!("file-{seq}.fit"),
            entry: Some(format!("file-{seq}.fit")),
            row: None,
        },
        seq,
        total: 2,
        last: seq == 1,
        body,
    };
    let imports = h.stack.import_queue();
    for m in [message(0, Some(encode_body(&fit))), message(1, Some("***".into()))] {
        imports.enqueue(&QueueMessage::for_import(&m)).await.unwrap();
    }
    let stats = stravasync_consumer::pump::pump_imports_once(&h.consumer, &imports).await.unwrap();
    assert_eq!((stats.received, stats.done, stats.failed), (2, 2, 0));
    let lines = h.consumer.store.import_lines(ATHLETE, "q-1").await.unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0].0, lines[0].1.outcome), (0, ImportOutcome::Stored));
    assert_eq!(lines[1].1.outcome, ImportOutcome::Refused);
    assert!(lines[1].1.reason.as_deref().unwrap().starts_with("body is not base64"), "{:?}", lines[1]);
    assert!(imports.drain().await.unwrap().is_empty(), "done records are deleted");
    // The import's last message brings the chart up to date from the run's day.
    let day: stravasync_core::LocalDate = "2015-08-15".parse().unwrap();
    let rows = h.consumer.store.pmc_rows(ATHLETE, day, day).await.unwrap();
    assert!(rows.len() == 1 && rows[0].load > 50.0, "{rows:?}");
    // A file whose samples are not valid (a NaN elevation) is its own refusal; an athlete who
    // is not connected gets nothing written, not even a line; neither holds the batch.
    let gpx = b"<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\"><ele>NaN</ele><time>2020-01-01T00:00:00Z</time></trkpt>\
<trkpt lat=\"1\" lon=\"2.001\"><ele>1</ele><time>2020-01-01T00:00:01Z</time></trkpt></trkseg></trk></gpx>";
    let mut nan = message(2, Some(encode_body(gpx)));
    nan.file.name = "nan.gpx".into();
    nan.file.entry = Some("nan.gpx".into());
    let mut stranger = message(3, Some(encode_body(&fit)));
    stranger.file.athlete_id = 404;
    let records = [
        record_body("m-n", &serde_json::to_string(&nan).unwrap()),
        record_body("m-s", &serde_json::to_string(&stranger).unwrap()),
    ];
    assert!(h.consumer.handle_import_batch(&records).await.failed.is_empty());
    let lines = h.consumer.store.import_lines(ATHLETE, "q-1").await.unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2].1.outcome, ImportOutcome::Refused);
    assert!(lines[2].1.reason.as_deref().unwrap().starts_with("the file's samples are not valid"), "{:?}", lines[2]);
    assert!(h.consumer.store.import_lines(404, "q-1").await.unwrap().is_empty());
    assert!(!h.consumer.store.athlete_has_items(404).await.unwrap(), "nothing for a stranger");
    // Not an import message: it and the records after it fail, nothing is written for them.
    let good = serde_json::to_string(&message(5, Some(encode_body(&fit)))).unwrap();
    let records = [record_body("m-1", "{\"file\": 3}"), record_body("m-2", &good)];
    let report = h.consumer.handle_import_batch(&records).await;
    assert_eq!(report.failed, ["m-1", "m-2"]);
    assert_eq!(h.consumer.store.import_lines(ATHLETE, "q-1").await.unwrap().len(), 3);
}

fn record_body(id: &str, body: &str) -> stravasync_consumer::Record {
    stravasync_consumer::Record {
        message_id: id.into(),
        receipt_handle: format!("r-{id}"),
        body: body.into(),
        receive_count: 1,
        group_id: Some(format!("import-{ATHLETE}")),
        dedup_id: Some(id.into()),
        sent_at: None,
    }
}

/// The Lambda's handler on a mixed batch as one invocation could carry it: an import record
/// (told by its source, the import queue) goes to the import handler, a lane's record to the
/// events' rules; neither is failed.
#[tokio::test]
async fn the_handler_routes_import_records_by_their_source_queue() {
    use aws_lambda_events::event::sqs::SqsEvent;
    use stravasync_core::model::{ImportMessage, encode_body};
    use stravasync_core::ports::ImportStore;
    let h = harness("import-route", "read,activity:read_all").await;
    let consumer = stravasync_consumer::Consumer::new(
        stravasync_consumer::testing::local_policy(),
        strava_client(&h.fake),
        h.stack.store(),
        h.stack.token_vault(),
        queue_of(&h.stack),
    )
    .with_import_queue(Some(h.stack.urls.import_queue_url.clone()));
    let fit = std::fs::read(stravasync_fixtures::fit_dir().join("run_fenix2.fit")).unwrap();
    let file = ImportFile {
        athlete_id: ATHLETE,
        import_id: "route".into(),
        name: "run.fit".into(),
        entry: Some("run.fit".into()),
        row: None,
    };
    let import = ImportMessage { file, seq: 0, total: 1, last: true, body: Some(encode_body(&fit)) };
    let event = stravasync_consumer::testing::record(&event_job("activity", EDGE810, "create", json!({}), T), "e-1", 1);
    let arn = |url: &str| format!("arn:aws:sqs:us-east-1:123456789012:{}", url.rsplit('/').next().unwrap());
    let record = |id: &str, body: String, group: &str, arn: String| {
        json!({"messageId": id, "receiptHandle": format!("r-{id}"), "body": body,
               "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": group, "MessageDeduplicationId": id},
               "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"})
    };
    let batch: SqsEvent = serde_json::from_value(json!({"Records": [
        record("i-1", serde_json::to_string(&import).unwrap(), &import.group_id(), arn(&h.stack.urls.import_queue_url)),
        record("e-1", event.body, event.group_id.as_deref().unwrap(), arn(&h.stack.urls.queue_url)),
    ]}))
    .unwrap();
    let response = consumer.handle_sqs_event(batch).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    let lines = consumer.store.import_lines(ATHLETE, "route").await.unwrap();
    assert_eq!((lines.len(), lines[0].1.outcome), (1, ImportOutcome::Stored), "{lines:?}");
    live(&h, EDGE810).await;
}
