//! The `rollup` binary as Lambda runs it: its real bootstrap behind cargo-lambda's
//! emulator, on the stack made from template.yaml, invoked with the EventBridge Scheduler
//! events of `events/` (`rollup-hourly.json`, `rollup-daily.json`: the template's schedule
//! inputs, checked by `infra/check_template.py`).

use serde_json::json;
use stravasync_aws::local::LocalStack;
use stravasync_core::job::Job;
use stravasync_core::model::{AthleteProfile, PmcConstants};
use stravasync_core::pmc;
use stravasync_core::ports::roles::*;
use stravasync_core::telemetry::{COLD_START, ROLLUP_ATHLETES, ROLLUP_ROWS};
use stravasync_core::{LocalDate, clock};
use stravasync_testkit::emf;
use stravasync_testkit::lambda::{Emulator, event_file};
use stravasync_testkit::scored_activity;

const ATHLETE: i64 = 41;

// Multi-threaded: the test waits for `cargo lambda invoke` without holding the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollup_bootstrap_answers_its_schedules_and_stores_the_pmc() {
    let stack = LocalStack::from_template("boot-rollup", false).await.expect("the template's stack on moto");
    let store = stack.store();
    let today = LocalDate::from_unix_seconds(clock::unix_now());
    let (first, second) = (today.add_days(-5), today.add_days(-2));
    store.put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    for (id, date, load) in [(1, first, 80.0), (2, first, 20.0), (3, second, 60.0)] {
        store.put_activity(&scored_activity(ATHLETE, id, date, load)).await.unwrap();
        store.mark_pmc_dirty(ATHLETE, date).await.unwrap();
    }

    let mut emulator = Emulator::start().unwrap();
    // Every athlete's reconcile is due every day, so that the daily run enqueues one (the
    // template keeps the weekly default, whose day depends on the date).
    let mut env = stack.function_env("rollup").unwrap();
    env.push(("RECONCILE_EVERY_DAYS", "1".to_string()));
    emulator.start_function("rollup", env!("CARGO_BIN_EXE_rollup").as_ref(), &env).unwrap();

    let hourly = emulator.invoke("rollup", &event_file("rollup-hourly.json")).unwrap();
    // The rollup ran on the wall clock: its "today" is the date after the invocation.
    let today = LocalDate::from_unix_seconds(clock::unix_now());
    let expected = pmc::roll_forward(
        first,
        today,
        Default::default(),
        &pmc::daily_loads([(first, 100.0), (second, 60.0)]),
        PmcConstants::default(),
    );
    assert_eq!(hourly, json!({"athletes": 1, "rows_written": expected.len(), "reconciles_enqueued": 0}));
    let rows = store.pmc_rows(ATHLETE, first.add_days(-10), today).await.unwrap();
    assert_eq!(rows, expected);
    assert_eq!(store.pmc_dirty_from(ATHLETE).await.unwrap(), None, "the marker is cleared");

    // The daily run: nothing to recompute, and the reconciles it reports are on the
    // background queue.
    let daily = emulator.invoke("rollup", &event_file("rollup-daily.json")).unwrap();
    assert_eq!(daily["rows_written"], 0, "{daily}");
    let background =
        stravasync_aws::sqs::SqsQueue::new(aws_sdk_sqs::Client::new(&stack.sdk), &stack.urls.background_queue_url);
    let reconciles = background
        .drain()
        .await
        .unwrap()
        .iter()
        .filter(|m| matches!(Job::parse(&m.body), Ok(Job::Reconcile { athlete_id: ATHLETE, .. })))
        .count();
    assert_eq!((daily["reconciles_enqueued"].as_u64(), reconciles), (Some(1), 1), "{daily}");

    // An input that is not a rollup request fails the invocation, naming what is wrong.
    let error = emulator.invoke_json("rollup", &json!({"mode": "weekly"})).unwrap_err();
    assert!(error.contains("RollupRequest") && error.contains("weekly"), "{error}");

    // Its metrics (EMF lines of its log) say what each run did; every one in the catalog.
    let log = emulator.log("rollup");
    let values = emf::values(&log).unwrap_or_else(|e| panic!("{e}\n{log}"));
    let of = |name: &str, mode: &str| emf::total(&values, name, "rollup", &[("Mode", mode)]);
    assert_eq!((of(ROLLUP_ATHLETES, "dirty"), of(ROLLUP_ROWS, "dirty")), (1.0, expected.len() as f64));
    assert_eq!(of(ROLLUP_ROWS, "daily"), 0.0);
    assert_eq!(emf::total(&values, COLD_START, "rollup", &[]), 1.0);
}
