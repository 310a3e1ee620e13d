//! Production-like chaos: two consumer containers (each its own vault cache, HTTP client
//! and token session) pump one FIFO queue on moto concurrently, against a fake-strava that
//! answers 500, 429, 401 and malformed bodies, has no streams yet for some activities and
//! expires every token mid-run. Several athletes, their events interleaved into mixed
//! batches, duplicates past SQS's dedup window, a backfill, a deauthorization.
//!
//! The final store must equal applying the same events once, in order, with no faults
//! (in-memory reference); the queue and the DLQ must be empty. No wall clock: when both
//! containers find nothing visible, time is advanced by making deferred records visible
//! and moving the consumers' and fake-strava's clocks.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::common::*;
use fake_strava::data::Season;
use fake_strava::{Fault, FaultKind, RunningFake};
use serde_json::json;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::local::LocalStack;
use stravasync_aws::sqs::SqsQueue;
use stravasync_consumer::pump::deliver_once;
use stravasync_consumer::{Consumer, ConsumerPolicy, Outcome};
use stravasync_core::Secret;
use stravasync_core::job::{Job, QueueMessage};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{EventQueue, TokenVault};
use stravasync_strava::{StravaClient, StravaConfig};
use stravasync_testkit::memory::{MemoryQueue, MemoryStore, MemoryVault};

const T: i64 = 1_763_755_200;
const SCOPE: &str = "read,activity:read_all";

fn chaos_fake_config() -> fake_strava::FakeConfig {
    let mut c = fake_config();
    c.season = Some(Season { athletes: 3, activities_per_athlete: 5, seed: 11, end: 1_763_000_000, block_days: 0 });
    c.read_limit_15min = 100_000;
    c.read_limit_daily = 1_000_000;
    c.limit_15min = 100_000;
    c.limit_daily = 1_000_000;
    c
}

fn consumer_settings(c: &mut ConsumerPolicy) {
    c.limit_15min = 100_000;
    c.limit_daily = 1_000_000;
    c.retry_base_s = 0;
    c.max_receives = 20;
    c.empty_stream_delays = vec![0, 0, 0];
}

fn event(owner: i64, object_type: &str, id: i64, aspect: &str, updates: serde_json::Value, time: i64) -> Job {
    serde_json::from_value(json!({"kind": "webhook_event", "event": {
        "object_type": object_type, "object_id": id, "aspect_type": aspect, "updates": updates,
        "owner_id": owner, "subscription_id": 120475, "event_time": time}}))
    .unwrap()
}

/// Every athlete's history, in Strava's order per athlete, interleaved across athletes;
/// the fake's world is set to its final state (what any fetch sees).
fn history(fake: &RunningFake) -> (Vec<Job>, Vec<(i64, Vec<i64>)>) {
    let athletes = fake.state.athlete_ids();
    let mut per_athlete: Vec<Vec<Job>> = Vec::new();
    let mut ids = Vec::new();
    for (n, &athlete) in athletes.iter().enumerate() {
        let acts = fake.state.activity_ids(athlete);
        let mut t = T + 1000 * n as i64;
        let mut jobs = Vec::new();
        for &id in &acts {
            t += 1;
            jobs.push(event(athlete, "activity", id, "create", json!({}), t));
        }
        t += 1;
        fake.state.update_activity(acts[0], Some("renamed"), None);
        jobs.push(event(athlete, "activity", acts[0], "update", json!({"title": "renamed"}), t));
        t += 1;
        jobs.push(event(athlete, "activity", acts[1], "update", json!({"gear_id": "b1"}), t));
        t += 1;
        fake.state.delete_activity(acts[2]);
        jobs.push(event(athlete, "activity", acts[2], "delete", json!({}), t));
        if n == 1 {
            jobs.push(Job::start_backfill(athlete, Some(3), None, None, None));
        }
        if n == athletes.len() - 1 {
            t += 1;
            jobs.push(event(athlete, "athlete", athlete, "update", json!({"authorized": "false"}), t));
            t += 1;
            jobs.push(event(athlete, "activity", acts[3], "update", json!({"title": "too late"}), t));
        }
        per_athlete.push(jobs);
        ids.push((athlete, acts));
    }
    let mut all = Vec::new();
    let longest = per_athlete.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for jobs in &per_athlete {
            if let Some(j) = jobs.get(i) {
                all.push(j.clone());
            }
        }
    }
    (all, ids)
}

/// The state of every athlete and activity, as text (scores to 9 digits).
async fn snapshot(store: &impl ActivityStore, vault: &impl TokenVault, ids: &[(i64, Vec<i64>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (athlete, acts) in ids {
        let tokens = vault.get_tokens_fresh(*athlete).await.unwrap().is_some();
        let profile = store.get_profile(*athlete).await.unwrap().is_some();
        // The chart once every mark is rolled up (the containers recompute it as they go,
        // the reference leaves it to the rollup): what it ends as, not when.
        let today = stravasync_core::LocalDate::from_unix_seconds(T);
        stravasync_rollup::recompute_marked(store, *athlete, today).await.unwrap();
        let rows = store.pmc_rows(*athlete, stravasync_core::LocalDate::from_days_since_epoch(0), today).await.unwrap();
        let last = rows.last().map(|r| format!("{} ctl={:.9} atl={:.9} tsb={:.9}", r.date, r.ctl, r.atl, r.tsb));
        out.push(format!(
            "athlete {athlete}: tokens={tokens} profile={profile} pmc={} rows, last {last:?}",
            rows.len()
        ));
        for &id in acts {
            out.push(format!("  {}", stravasync_testkit::describe_activity(store, *athlete, id).await));
        }
    }
    out
}

async fn reference(ids_hint: usize) -> (Vec<String>, Vec<Job>) {
    let fake = fake_strava::start(chaos_fake_config()).await.unwrap();
    let (jobs, ids) = history(&fake);
    assert!(ids.len() >= 4 && jobs.len() > ids_hint, "{} athletes, {} jobs", ids.len(), jobs.len());
    let mut policy = stravasync_consumer::testing::local_policy();
    consumer_settings(&mut policy);
    let c = Consumer::new(
        policy,
        strava_client(&fake),
        MemoryStore::default(),
        MemoryVault::new(stravasync_aws::local::local_app_credentials()),
        MemoryQueue::default(),
    );
    for (athlete, _) in &ids {
        connect(&fake, &c.vault, &c.store, *athlete, SCOPE).await;
    }
    let mut pending: Vec<Job> = jobs.clone();
    let mut seen = 0;
    while !pending.is_empty() {
        let job = pending.remove(0);
        assert_eq!(c.process(&record(&job, "r", 1)).await, Outcome::Done, "reference run of {job:?}");
        let sent = c.queue.messages();
        pending.extend(sent[seen..].iter().map(|m| Job::parse(&m.body).unwrap()));
        seen = sent.len();
    }
    (snapshot(&c.store, &c.vault, &ids).await, jobs)
}

type Container = Consumer<DynamoStore, stravasync_aws::vault::Vault, SqsQueue>;

/// A consumer container: its own clients, reaching the stack as the consumer function's
/// role does ([`LocalStack::as_function`]: under `infra/with-moto.sh --iam`, exactly the
/// role's policies, the queue's receives included).
fn container(h: &Harness, clock: &Arc<AtomicI64>) -> Container {
    let stack = h.stack.as_function("consumer").expect("the consumer function");
    let clock = clock.clone();
    let strava = StravaClient::new(
        StravaConfig::new("12345", Secret::new("client-secret-value"))
            .with_urls(h.fake.api_url(), h.fake.oauth_url())
            .with_clock(Arc::new(move || clock.load(Ordering::SeqCst))),
    )
    .unwrap();
    Consumer::new(h.consumer.policy.clone(), strava, stack.store(), stack.token_vault(), queue_of(&stack))
}

#[tokio::test]
async fn two_containers_lose_nothing_under_faults_expiry_and_mixed_batches() {
    chaos(false).await;
}

/// The same on the table's token store (`TokenStore=dynamodb-kms`): both containers
/// rotate the same athletes' tokens through conditional writes.
#[tokio::test]
async fn two_containers_lose_nothing_under_faults_expiry_and_mixed_batches_kms() {
    chaos(true).await;
}

async fn chaos(kms: bool) {
    let (expected, jobs) = reference(20).await;

    // The stack `sam deploy` makes, with the template's token store.
    let stack = LocalStack::from_template(if kms { "chaos-kms" } else { "chaos" }, kms)
        .await
        .expect("the template's stack on moto");
    let h = harness_on(stack, SCOPE, chaos_fake_config(), consumer_settings).await;
    let (jobs_here, ids) = history(&h.fake);
    assert_eq!(jobs_here, jobs, "same world, same history");
    let clock = Arc::new(AtomicI64::new(h.fake.state.now()));
    let (a, b) = (container(&h, &clock), container(&h, &clock));

    // Every event once, plus a few again past SQS's 5-minute dedup window (new dedup ids).
    for (i, job) in jobs.iter().enumerate() {
        h.consumer.queue.enqueue(&QueueMessage::for_job(job, &format!("e{i}"))).await.unwrap();
    }
    for (i, job) in jobs.iter().enumerate().filter(|(i, _)| i % 7 == 3) {
        h.consumer.queue.enqueue(&QueueMessage::for_job(job, &format!("again{i}"))).await.unwrap();
    }
    // Strava has no streams yet for some activities.
    for (_, acts) in &ids {
        h.fake.state.set_empty_stream_fetches(*acts.last().unwrap(), 2);
    }

    let faults = [
        (FaultKind::ServerError, 2),
        (FaultKind::RateLimited, 1),
        (FaultKind::Unauthorized, 2),
        (FaultKind::Malformed, 1),
        (FaultKind::ServerError, 1),
    ];
    let mut held: Vec<String> = Vec::new();
    let (mut done, mut failed, mut dead) = (0, 0, 0);
    let mut idle_rounds = 0;
    let mut expired = 0;
    for round in 0..400 {
        assert!(round < 399, "did not drain");
        if round < 30 && round % 3 == 0 {
            let (kind, count) = faults[(round / 3) % faults.len()];
            h.fake.state.inject(Fault { route: "*".into(), kind, count, delay_ms: 0 });
        }
        // Expire everything twice while work remains: after a third and after two thirds.
        let expiries_due = usize::from(done * 3 >= jobs.len()) + usize::from(done * 3 >= 2 * jobs.len());
        if expiries_due > expired {
            expired += 1;
            // Every access token expires: a 401 for tokens in hand, and the clock moves past
            // their expiry, so both containers refresh from whatever their caches hold.
            for (athlete, _) in &ids {
                h.fake.state.expire_tokens(*athlete);
            }
            let later = clock.fetch_add(6 * 3600 + 60, Ordering::SeqCst) + 6 * 3600 + 60;
            h.fake.state.set_now(later);
        }
        let (da, db) = tokio::join!(deliver_once(&a), deliver_once(&b));
        let mut received = 0;
        for d in [da.unwrap(), db.unwrap()] {
            received += d.records.len();
            done += d.stats.done;
            failed += d.stats.failed;
            dead += d.stats.dead_lettered;
            for r in d.records.iter().filter(|r| d.report.failed.contains(&r.message_id)) {
                held.push(r.receipt_handle.clone());
            }
        }
        if received > 0 {
            idle_rounds = 0;
            continue;
        }
        idle_rounds += 1;
        if idle_rounds > 2 {
            break;
        }
        // Nothing visible: let time pass for the records held by a delay.
        for handle in held.drain(..) {
            let _ = h.consumer.queue.defer(&handle, 0).await;
        }
    }

    let refreshes = h.fake.state.requests_to("/oauth/token");
    eprintln!("chaos: {done} done, {failed} failed and redelivered, {dead} dead-lettered, {refreshes} token calls");
    assert!(failed > 0, "the faults were felt");
    assert_eq!(dead, 0, "nothing dead-lettered");
    assert!(done >= jobs.len(), "{done} done for {} jobs", jobs.len());
    assert!(h.stack.dlq().receive(10, 0).await.unwrap().is_empty(), "DLQ empty");
    assert!(h.consumer.queue.receive(10, 0).await.unwrap().is_empty(), "queue empty");
    let actual = snapshot(&h.consumer.store, &h.consumer.vault, &ids).await;
    assert_eq!(actual, expected);
    assert_eq!(expired, 2);
    assert!(refreshes >= 1, "tokens were refreshed after the expiries");
}
