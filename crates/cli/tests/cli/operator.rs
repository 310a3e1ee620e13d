//! The operator commands against a moto-backed stack: `pmc --athlete`, `activities`,
//! `backfill`, `rescore` and `dlq list|redrive`, run as the binary (piped, and in a
//! terminal for the progress bar).

use std::process::Command;

use stravasync_aws::local::LocalStack;

/// A fresh stack made from template.yaml on the local moto server, as `sam deploy` makes it.
async fn test_stack(label: &str) -> LocalStack {
    LocalStack::from_template(label, false).await.expect("the template's stack on the local moto server")
}
use stravasync_core::LocalDate;
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::model::{AthleteProfile, BackfillProgress, PmcRow};
use stravasync_core::ports::EventQueue;
use stravasync_core::ports::roles::*;
use stravasync_testkit::scored_activity;

const ATHLETE: i64 = 77;

/// `stravasync` with `args` and the stack's variables: exit code, stdout, stderr.
pub(crate) fn run(args: &[&str], env: &[(&'static str, String)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stravasync")).args(args).envs(env.iter().cloned()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn today() -> LocalDate {
    let now = stravasync_core::clock::unix_now();
    LocalDate::from_unix_seconds(now)
}

/// A stack with an athlete, five scored activities on the last five days and their PMC.
async fn seeded(label: &str) -> (LocalStack, Vec<(&'static str, String)>) {
    let stack = test_stack(label).await;
    let store = stack.store();
    store.put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    let mut rows = Vec::new();
    for back in 0..5 {
        let date = today().add_days(-back);
        store
            .put_activity(&scored_activity(ATHLETE, 1000 + i64::from(back), date, 50.0 + f64::from(back)))
            .await
            .unwrap();
        rows.push(PmcRow { date, load: 50.0, ctl: 10.0 + f64::from(back), atl: 20.0, tsb: -5.0 });
    }
    rows.reverse();
    store.put_pmc_rows(ATHLETE, &rows).await.unwrap();
    let env = stack.handler_env();
    (stack, env)
}

async fn drain(stack: &LocalStack) -> Vec<stravasync_aws::sqs::ReceivedMessage> {
    stack.queue().drain().await.unwrap()
}

#[tokio::test]
async fn pmc_and_activities_read_the_stored_rows() {
    let (stack, env) = seeded("cli-read").await;
    let svg = std::env::temp_dir().join(format!("pmc-{}.svg", std::process::id()));
    let from = today().add_days(-6).to_string();
    let (code, out, err) = run(&["pmc", "--athlete", "77", "--from", &from, "--svg", svg.to_str().unwrap()], &env);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().filter(|l| l.starts_with("20")).count(), 5, "{out}");
    assert!(out.contains(&format!("{}     50   14.0   20.0   -5.0", today().add_days(-4))), "{out}");
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.contains("CTL (fitness)") && chart.contains(&today().to_string()), "dated axes and a legend");
    let _ = std::fs::remove_file(&svg);

    let (code, out, err) = run(&["activities", "--athlete", "77", "--limit", "2"], &env);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].starts_with(&today().to_string()) && lines[1].contains("1000") && lines[1].contains("50.0"),
        "{out}"
    );
    assert!(lines[2].contains("1001") && lines[2].contains("power"), "{out}");
    let next = lines[3].strip_prefix("next page: --before ").expect("a next page");
    let (code, out, _) = run(&["activities", "--athlete", "77", "--limit", "10", "--before", next], &env);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().filter(|l| l.contains("  100")).count(), 3, "{out}");
    assert!(out.ends_with("3 activities, no more\n"), "{out}");
    // Decoupling and EF, where the activity has them.
    let mut steady = scored_activity(ATHLETE, 3000, today().add_days(-9), 80.0);
    let m = steady.metrics.as_mut().unwrap();
    m.ef = Some(1.8512);
    m.decoupling = serde_json::from_value(serde_json::json!({
        "output": "power", "half_split": 1800, "valid_1": 1800, "mean_output_1": 200.0, "mean_hr_1": 140.0,
        "ef_1": 1.43, "valid_2": 1800, "mean_output_2": 200.0, "mean_hr_2": 144.5, "ef_2": 1.38, "pct": 3.21
    }))
    .unwrap();
    stack.store().put_activity(&steady).await.unwrap();
    let (_, out, _) = run(&["activities", "--athlete", "77", "--limit", "10"], &env);
    assert!(out.lines().next().unwrap().contains("decoup     ef"), "{out}");
    let line = out.lines().find(|l| l.contains("3000")).unwrap();
    assert!(line.contains("3.2%") && line.contains("1.85"), "{out}");

    // Bad flags exit 2 naming the flag.
    let (code, _, err) = run(&["activities", "--athlete", "77", "--limit", "0"], &env);
    assert_eq!(code, Some(2));
    assert!(err.contains("--limit"), "{err}");
    let (code, _, err) = run(&["pmc", "--athlete", "77", "--from", "2026-02-30"], &env);
    assert_eq!(code, Some(2));
    assert!(err.contains("--from"), "{err}");
    let (code, _, err) = run(&["pmc", "--athlete", "77"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("TABLE_NAME"), "{err}");
    let (code, _, _) = run(&["pmc"], &env);
    assert_eq!(code, Some(2), "--loads or --athlete");
}

#[tokio::test]
async fn backfill_and_rescore_enqueue_for_the_consumer() {
    let (stack, env) = seeded("cli-enqueue").await;
    let (code, out, err) = run(&["backfill", "--athlete", "77", "--count", "25"], &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("enqueued"), "{out}");
    let (code, _, err) =
        run(&["backfill", "--athlete", "77", "--after", "2025-01-01", "--before", "2025-02-01", "--refresh"], &env);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = run(&["rescore", "--athlete", "77"], &env);
    assert_eq!(code, Some(0), "{err}");
    // Each to the background lane, in the athlete's background group: the backfills and the
    // rescore (history work; none waits in front of a new activity).
    let messages = drain(&stack).await;
    let jobs: Vec<Job> = messages.iter().map(|m| Job::parse(&m.body).unwrap()).collect();
    assert!(matches!(
        jobs[0],
        Job::Backfill { athlete_id: ATHLETE, most_recent: Some(25), requested_at: Some(_), refresh: false, .. }
    ));
    assert!(matches!(jobs[1], Job::Backfill { most_recent: None, after: Some(_), before: Some(_), refresh: true, .. }));
    assert!(matches!(jobs[2], Job::Rescore { athlete_id: ATHLETE, activity_id: None, scope: None }));
    for m in &messages {
        assert_eq!(m.group_id.as_deref(), Some("background-77"));
        assert!(m.receipt_handle.starts_with("lane:background|"));
    }

    // While one runs, another is refused; so are bad ranges and unknown athletes.
    let store = stack.store();
    let mut profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    let now = stravasync_core::clock::unix_now();
    profile.backfill = Some(BackfillProgress {
        requested_at: now - 60,
        updated_at: now - 5,
        most_recent: Some(100),
        after: None,
        before: None,
        done: 40,
        imported: 0,
        finished_at: None,
        refresh: false,
    });
    store.put_profile(&profile).await.unwrap();
    for (args, needle) in [
        (&["backfill", "--athlete", "77", "--count", "5"][..], "already running (40 done)"),
        (&["backfill", "--athlete", "78", "--count", "5"][..], "not connected"),
        (&["backfill", "--athlete", "77", "--count", "0"][..], "--count"),
        (&["backfill", "--athlete", "77", "--after", "2025-02-01", "--before", "2025-01-01"][..], "--before"),
        (&["backfill", "--athlete", "77"][..], "--count"),
    ] {
        let (code, _, err) = run(args, &env);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(drain(&stack).await.is_empty());
}

/// Three dead-lettered messages of two groups, as the consumer leaves them.
async fn dead_letters(stack: &LocalStack) {
    let dlq = stack.queue().with_dead_letter_queue(&stack.urls.dlq_url);
    for (i, group) in [(1, "athlete-7"), (2, "athlete-7"), (3, "athlete-8")] {
        let message =
            QueueMessage { group_id: group.into(), dedup_id: format!("dedup-{i}"), body: format!("{{\"n\":{i}}}") };
        dlq.enqueue(&message).await.unwrap();
        let received = stack.queue().receive(1, 0).await.unwrap();
        dlq.dead_letter(&received[0].receipt_handle, &message, &format!("poison {i}")).await.unwrap();
    }
}

#[tokio::test]
async fn dlq_list_leaves_the_messages_and_redrive_keeps_group_and_dedup_ids() {
    let (stack, mut env) = seeded("cli-dlq").await;
    dead_letters(&stack).await;
    env.push(("DLQ_URL", stack.urls.dlq_url.clone()));
    for _ in 0..2 {
        let (code, out, err) = run(&["dlq", "list"], &env);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("3 message(s)"), "listing leaves them in place: {out}");
        for i in 1..=3 {
            assert!(out.contains(&format!("dedup=dedup-{i}")) && out.contains(&format!("reason: poison {i}")), "{out}");
        }
        assert!(out.contains("group=athlete-8"), "{out}");
    }
    // Piped: plain progress lines, no control characters.
    let (code, out, err) = run(&["dlq", "redrive", "--max", "2"], &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("redrive: 1/2 group ") && out.contains("redrive: 2/2 group "), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    assert!(out.contains("2 message(s) moved"), "{out}");
    let moved = drain(&stack).await;
    assert_eq!(moved.len(), 2);
    for m in &moved {
        let n = &m.body[5..6];
        assert_eq!(m.dedup_id.as_deref(), Some(format!("dedup-{n}").as_str()));
        let group = if n == "3" { "athlete-8" } else { "athlete-7" };
        assert_eq!(m.group_id.as_deref(), Some(group));
    }
    let (_, out, _) = run(&["dlq", "list"], &env);
    assert!(out.contains("1 message(s)"), "{out}");

    // In a terminal: a progress bar drawn in place.
    let cmd = format!("{} dlq redrive", env!("CARGO_BIN_EXE_stravasync"));
    let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).envs(env.iter().cloned()).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("redrive [") && shown.contains("1 message(s) moved"), "a bar: {shown:?}");
    assert!(!shown.contains("redrive: 1/1 group"), "no plain lines on a terminal: {shown:?}");
    assert_eq!(drain(&stack).await.len(), 1);
}

/// `backfill --follow` while the consumer runs (the event source played here): it waits
/// for the import it enqueued and reports its end.
#[tokio::test]
async fn backfill_follow_reports_progress_until_the_import_is_done() {
    let stack = test_stack("cli-follow").await;
    let fake = fake_strava::start(stravasync_testkit::fake_config()).await.unwrap();
    let consumer = stravasync_consumer::testing::local_consumer(&stack, &fake);
    let athlete = stravasync_testkit::ATHLETE;
    stravasync_testkit::connect(&fake, &consumer.vault, &consumer.store, athlete, "read,activity:read_all").await;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_stravasync"))
        .args(["backfill", "--athlete", &athlete.to_string(), "--count", "3", "--follow"])
        .envs(stack.handler_env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    while !waiting.is_finished() {
        stravasync_consumer::pump::pump_once(&consumer).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let out = waiting.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.trim_end().ends_with("finished: 3 activities looked at"), "{stdout}");
    let progress = consumer.store.get_profile(athlete).await.unwrap().unwrap().backfill.unwrap();
    assert_eq!((progress.most_recent, progress.done, progress.finished_at.is_some()), (Some(3), 3, true));
}

/// A support request: `athlete delete` takes the dashboard's path (a disconnect job the
/// consumer carries out) and, waiting, returns once nothing of the athlete is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athlete_delete_takes_the_disconnect_path_and_waits_for_it() {
    let (stack, env) = seeded("cli-delete").await;
    let store = stack.store();
    assert!(store.athlete_has_items(ATHLETE).await.unwrap());
    let (code, out, err) = run(&["athlete", "delete", "--athlete", "77", "--no-wait"], &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("deletion of athlete 77 enqueued"), "{out}");
    let queued = drain(&stack).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].group_id.as_deref(), Some("deauth-77"), "the deauthorization group: it waits behind nothing");
    assert!(matches!(
        Job::parse(&queued[0].body).unwrap(),
        Job::Disconnect { athlete_id: ATHLETE, by: stravasync_core::job::Requester::Operator, .. }
    ));

    // Waiting: the command returns once the consumer has deleted everything.
    let child = Command::new(env!("CARGO_BIN_EXE_stravasync"))
        .args(["athlete", "delete", "--athlete", "77"])
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let fake = fake_strava::start(fake_strava::FakeConfig::default()).await.unwrap();
    let consumer = stravasync_consumer::testing::local_consumer(&stack, &fake);
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    while !waiting.is_finished() {
        stravasync_consumer::pump::pump_until_idle(&consumer, 10).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let output = waiting.await.unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("athlete 77 deleted"));
    assert!(!store.athlete_has_items(ATHLETE).await.unwrap());
    assert!(stack.dlq().drain().await.unwrap().is_empty(), "nothing dead-lettered");
    let (code, out, _) = run(&["athlete", "delete", "--athlete", "77"], &env);
    assert_eq!(code, Some(0));
    assert!(out.contains("nothing of athlete 77 is stored"), "{out}");
}

/// `stravasync thresholds`: the history as a table; a change checked against it (refused
/// naming the field) and enqueued from its version; `stravasync migrate` enqueues the
/// athletes not yet on the athlete model, and only them.
#[tokio::test]
async fn thresholds_and_migrate_for_support() {
    let (stack, env) = seeded("cli-thresholds").await;
    let store = stack.store();
    let mut profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    profile.thresholds.ftp = Some(250.0);
    profile.thresholds.lthr = Some(165.0);
    profile.model_version = 0;
    store.put_profile(&profile).await.unwrap();
    let (code, out, err) = run(&["thresholds", "--athlete", "77"], &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("version 0") && out.contains("cycling\n  from 0001-01-01  ftp 250"), "{out}");
    assert!(out.contains("default\n  from 0001-01-01  lthr 165"), "{out}");

    let (code, out, err) =
        run(&["thresholds", "--athlete", "77", "--group", "running", "--from", "2026-10-01", "--ftp", "280"], &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("rescores running activities from 2026-10-01"), "{out}");
    let jobs: Vec<Job> = drain(&stack).await.iter().map(|m| Job::parse(&m.body).unwrap()).collect();
    match &jobs[..] {
        [Job::ChangeThresholds { athlete_id: ATHLETE, version: 0, change }] => {
            assert_eq!(
                change.scope(),
                (stravasync_core::thresholds::ThresholdGroup::Running, "2026-10-01".parse().unwrap())
            )
        }
        other => panic!("{other:?}"),
    }
    for (args, says) in [
        (&["--group", "cycling", "--from", "2026-10-01", "--css", "1.2"][..], "css"),
        (&["--group", "rowing", "--from", "2026-10-01", "--ftp", "200"][..], "group"),
        (&["--group", "running", "--from", "2026-10-01", "--delete"][..], "effective_from"),
        (&["--group", "running", "--ftp", "200"][..], "--from"),
    ] {
        let mut full = vec!["thresholds", "--athlete", "77"];
        full.extend_from_slice(args);
        let (code, _, err) = run(&full, &env);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(drain(&stack).await.is_empty(), "nothing refused was enqueued");

    let other = AthleteProfile::new(78); // a new connection: on the model already
    store.put_profile(&other).await.unwrap();
    let (code, out, err) = run(&["migrate"], &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1 athletes enqueued, 1 already done"), "{out}");
    let jobs: Vec<Job> = drain(&stack).await.iter().map(|m| Job::parse(&m.body).unwrap()).collect();
    assert!(
        matches!(&jobs[..], [Job::Rescore { athlete_id: ATHLETE, activity_id: None, scope: Some(s) }] if s.migrate),
        "{jobs:?}"
    );
}

/// A deleted athlete's dead-lettered work is dropped on redrive, not replayed; a deletion is
/// always replayed (it deletes), and so is a connected athlete's work.
#[tokio::test]
async fn dlq_redrive_drops_the_work_of_a_deleted_athlete() {
    let (stack, mut env) = seeded("cli-dlq-deleted").await;
    env.push(("DLQ_URL", stack.urls.dlq_url.clone()));
    let dlq = stack.queue().with_dead_letter_queue(&stack.urls.dlq_url);
    let jobs = [
        Job::Rescore { athlete_id: ATHLETE, activity_id: None, scope: None },
        Job::Rescore { athlete_id: 404, activity_id: None, scope: None },
        Job::Disconnect { athlete_id: 404, requested_at: 1, by: stravasync_core::job::Requester::Athlete },
    ];
    for (i, job) in jobs.iter().enumerate() {
        let message = QueueMessage::for_job(job, &format!("dead-{i}"));
        dlq.enqueue(&message).await.unwrap();
        let received = stack.queue().receive(1, 0).await.unwrap();
        dlq.dead_letter(&received[0].receipt_handle, &message, "poison").await.unwrap();
    }
    let (code, out, err) = run(&["dlq", "redrive"], &env);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("2 message(s) moved") && out.contains("1 of athletes no longer connected dropped"), "{out}");
    let moved: Vec<Job> = drain(&stack).await.iter().map(|m| Job::parse(&m.body).unwrap()).collect();
    assert_eq!(moved.len(), 2, "{moved:?}");
    assert!(moved.contains(&jobs[0]) && moved.contains(&jobs[2]), "{moved:?}");
    assert!(stack.dlq().drain().await.unwrap().is_empty(), "nothing left behind");
}

/// `stravasync import` of the small export into a stack: every file's line, the PMC
/// recomputed, nothing twice on a second run; another athlete's archive and a file that is
/// no archive refused whole (exit 2), naming why.
#[tokio::test]
async fn import_of_an_export_reports_every_file() {
    const OWNER: i64 = 5_123_456_789;
    let stack = test_stack("cli-import").await;
    let store = stack.store();
    store.put_profile(&AthleteProfile::new(OWNER)).await.unwrap();
    // The stack's variables only: an import needs no Strava URL (it never calls Strava).
    let env = stack.handler_env();
    let zip = stravasync_fixtures::export_dir().join("strava-export-small.zip");
    let zip = zip.to_str().unwrap();
    let report = std::env::temp_dir().join(format!("import-report-{}.json", std::process::id()));
    let (code, out, err) =
        run(&["import", "--athlete", &OWNER.to_string(), zip, "--report", report.to_str().unwrap()], &env);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains(": 5 stored, 0 updated, 0 duplicate, 0 refused"), "{out}");
    assert!(out.contains("  stored          17000000111  activities/17000000111.gpx"), "{out}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["files"].as_array().unwrap().len(), 5);
    assert_eq!(json["files"][4]["file"], "activities.csv line 6 (manual)");
    // The chart follows at once: its rows reach today from the first imported day.
    let first: LocalDate = "2013-08-16".parse().unwrap();
    let rows = store.pmc_rows(OWNER, first, today()).await.unwrap();
    assert!(rows.len() > 4000 && rows[0].date == first, "{} rows", rows.len());
    let (code, out, _) = run(&["import", "--athlete", &OWNER.to_string(), zip], &env);
    assert_eq!(code, Some(0));
    assert!(out.contains(": 0 stored, 0 updated, 5 duplicate, 0 refused"), "{out}");
    // Another athlete's archive: nothing at all.
    store.put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    let (code, _, err) = run(&["import", "--athlete", &ATHLETE.to_string(), zip], &env);
    assert_eq!(code, Some(2));
    assert!(err.contains("this archive is athlete 5123456789's (profile.csv), not athlete 77's"), "{err}");
    assert!(store.activities_page(ATHLETE, None, 10).await.unwrap().is_empty());
    let not_zip = std::env::temp_dir().join(format!("not-a-zip-{}.zip", std::process::id()));
    std::fs::write(&not_zip, "hello").unwrap();
    let (code, _, err) = run(&["import", "--athlete", &ATHLETE.to_string(), not_zip.to_str().unwrap()], &env);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a ZIP archive"), "{err}");
    // A loose file, in a terminal: progress bars drawn in place, then the report.
    let fit = stravasync_fixtures::fit_dir().join("run_power_stryd.fit");
    let cmd = format!("{} import --athlete {OWNER} {}", env!("CARGO_BIN_EXE_stravasync"), fit.display());
    let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).envs(env.iter().cloned()).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("queue [") && shown.contains(": 1 stored, 0 updated, 0 duplicate, 0 refused"), "{shown:?}");
    assert!(shown.contains("run_power_stryd.fit") && !shown.contains("import: 1/1"), "no plain lines: {shown:?}");
}
