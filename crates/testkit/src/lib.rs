//! Test support for every crate of the workspace, and nothing a Lambda links: a
//! dev-dependency only.
//!
//! - [`memory`]: in-memory implementations of the ports, following the adapters' rules.
//! - [`moto_sdk`] / [`test_stack`]: a stack with unique names on the local moto server.
//! - [`fixtures_dir`] and the ids of the shared recordings ([`ATHLETE`], [`EDGE810`], …).
//! - [`consumer_config`] / [`webhook_config`]: the handlers' configs for a local stack and
//!   a running fake-strava; [`consumer_config_for_strava`] for runs on in-memory ports.
//! - [`mint_tokens`]: an athlete's tokens from fake-strava, stored as a connection does.
//! - [`describe_activity`]: an activity's stored state as text, to compare stores.
//! - [`scored_activity`]: a stored activity with a date and a score.
//! - [`Captured`]: a log writer for tests that check what was logged.

pub use stravasync_sim::memory;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fake_strava::RunningFake;
use memory::{MemoryQueue, MemoryStore, MemoryVault};
use stravasync_aws::local::{LocalStack, local_app_credentials, unique_suffix};
use stravasync_aws::resources::ResourceNames;
pub use stravasync_aws::resources::{LOCAL_SESSION_GENERATION, LOCAL_SESSION_KEY};
use stravasync_consumer::{Consumer, ConsumerConfig, Record};
use stravasync_core::Secret;
use stravasync_core::event::Job;
use stravasync_core::model::ActivityState;
use stravasync_core::model::{AthleteProfile, OAuthTokens, Scopes, Sex, Thresholds};
use stravasync_core::ports::{ActivityStore, TokenVault};
use stravasync_strava::{StravaClient, StravaConfig};
use stravasync_webhook::WebhookConfig;

/// The athlete of the shared recordings.
pub const ATHLETE: i64 = 5_123_456_789;
/// The shared recordings' activities.
pub const EDGE810: i64 = 17_000_000_101;
pub const FENIX2: i64 = 17_000_000_102;
/// The client secret fake-strava and the local app credentials share.
pub const CLIENT_SECRET: &str = "client-secret-value";

/// The shared real recordings (`../shared/fixtures/strava` beside the repository, or
/// `STRAVA_FIXTURES`).
pub fn fixtures_dir() -> PathBuf {
    fake_strava::default_fixtures_dir().expect("the shared recordings (../shared/fixtures/strava, or STRAVA_FIXTURES)")
}

/// The SDK config of the moto server in `AWS_ENDPOINT_URL`, refusing anything that is not
/// on 127.0.0.1 so a test can never touch a real account.
pub async fn moto_sdk() -> stravasync_aws::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1"),
        "these tests need a local moto server: run them with `make test` (infra/with-moto.sh sets AWS_ENDPOINT_URL)"
    );
    stravasync_aws::sdk_config_from_env().expect("infra/with-moto.sh sets the region and credentials")
}

/// A fresh stack with unique names on the local moto server.
pub async fn test_stack(label: &str) -> LocalStack {
    let sdk = moto_sdk().await;
    LocalStack::create(sdk, ResourceNames::local(&unique_suffix(label)), &local_app_credentials())
        .await
        .expect("bootstrap on moto")
}

/// The stack and Strava variables every handler reads.
fn stack_env(stack: &LocalStack, fake: &RunningFake) -> Vec<(&'static str, String)> {
    let mut env = stack.handler_env();
    env.extend([("STRAVA_API_URL", fake.api_url()), ("STRAVA_OAUTH_URL", fake.oauth_url())]);
    env
}

fn lookup(env: &[(&'static str, String)], key: &str) -> Option<String> {
    env.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
}

/// The consumer's config for a local stack (with its DLQ) and a running fake-strava.
pub fn consumer_config(stack: &LocalStack, fake: &RunningFake) -> ConsumerConfig {
    let env = stack_env(stack, fake);
    ConsumerConfig::from_lookup(|k| lookup(&env, k)).expect("local consumer config")
}

/// The webhook's config for a local stack, a running fake-strava and a public base URL.
pub fn webhook_config(stack: &LocalStack, fake: &RunningFake, public_base_url: &str) -> WebhookConfig {
    let mut env = stack_env(stack, fake);
    env.push(("PUBLIC_BASE_URL", public_base_url.to_string()));
    WebhookConfig::from_lookup(|k| lookup(&env, k)).expect("local webhook config")
}

/// The consumer's defaults for runs on in-memory ports (benchmarks, examples, property
/// tests): Strava at the given URLs, placeholder AWS names, no DLQ.
pub fn consumer_config_for_strava(api_url: &str, oauth_url: &str) -> ConsumerConfig {
    let env = [("STRAVA_API_URL", api_url), ("STRAVA_OAUTH_URL", oauth_url), ("PACE_BACKGROUND", "false")];
    let required = ["QUEUE_URL", "TABLE_NAME", "APP_SECRET_ID", "TOKEN_SECRET_PREFIX"];
    ConsumerConfig::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
            .or_else(|| required.contains(&k).then(|| "unused".into()))
    })
    .expect("the defaults are valid")
}

/// Tokens minted by fake-strava for `athlete` with `scope`, stored in `vault` as the
/// OAuth callback stores them.
pub async fn mint_tokens(fake: &RunningFake, vault: &impl TokenVault, athlete: i64, scope: &str) -> OAuthTokens {
    let (access, refresh, expires_at) = fake.state.mint_tokens(athlete, scope);
    let tokens = OAuthTokens {
        athlete_id: athlete,
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        expires_at,
        scopes: Scopes::parse(scope),
        connected_at: 0,
    };
    vault.put_tokens(&tokens).await.expect("tokens stored");
    tokens
}

/// The consumer on in-memory ports against a running fake-strava, with the defaults and
/// the local app credentials (benchmarks, examples, property tests).
pub fn memory_consumer(fake: &RunningFake) -> Consumer<MemoryStore, MemoryVault, MemoryQueue> {
    let strava = StravaClient::new(
        StravaConfig::new("12345", Secret::new(CLIENT_SECRET)).with_urls(fake.api_url(), fake.oauth_url()),
    )
    .expect("strava client");
    Consumer::new(
        consumer_config_for_strava(&fake.api_url(), &fake.oauth_url()),
        strava,
        MemoryStore::default(),
        MemoryVault::new(local_app_credentials()),
        MemoryQueue::default(),
    )
}

/// A stored activity with just a date and a score (a ride of one hour at `load`).
pub fn scored_activity(
    athlete: i64,
    id: i64,
    date: stravasync_core::LocalDate,
    load: f64,
) -> stravasync_core::model::StoredActivity {
    use stravasync_core::metrics::{ActivityMetrics, Peaks, Score, Zones};
    use stravasync_core::model::{SCHEMA_VERSION, ScoreSource, StoredActivity};
    let day = date.to_string();
    StoredActivity {
        schema: SCHEMA_VERSION,
        athlete_id: athlete,
        activity_id: id,
        version: 1,
        local_date: date,
        summary: serde_json::from_value(serde_json::json!({
            "id": id, "sport_type": "Ride", "start_date": format!("{day}T08:00:00Z"), "start_date_local": format!("{day}T09:00:00Z")
        }))
        .unwrap_or_else(|e| unreachable!("static summary: {e}")),
        metrics: Some(ActivityMetrics {
            duration_s: 3600,
            power: None,
            pace: None,
            heartrate: None,
            score: Score { source: ScoreSource::Power, value: Some(load) },
            zones: Zones { power: None, heartrate: None },
            peaks: Peaks { watts: None, heartrate: None, velocity_smooth: None },
        }),
        stream_chunks: 0,
        streams_id: None,
        unscored_reason: None,
        pending_streams: false,
        field_versions: Default::default(),
    }
}

/// One activity's stored state as a line of text (scores to 9 digits, chunk counts), for
/// tests that compare two stores: live or deleted, version, visible fields, streams.
pub async fn describe_activity(store: &impl ActivityStore, athlete: i64, id: i64) -> String {
    let state = match store.get_activity(athlete, id).await.expect("read") {
        None => "none".to_string(),
        Some(ActivityState::Deleted(t)) => format!("deleted v{}", t.version),
        Some(ActivityState::Live(a)) => {
            let score = a.metrics.as_ref().map(|m| (m.score.source, m.score.value.map(|v| format!("{v:.9}"))));
            format!(
                "v{} {:?} {:?} private={} score={score:?} pending={} chunks={} stored={}",
                a.version,
                a.summary.name,
                a.summary.sport_type,
                a.summary.private,
                a.pending_streams,
                a.stream_chunks,
                store.stream_chunk_count(athlete, id).await.expect("read")
            )
        }
    };
    format!("{id}: {state}")
}

/// Collects everything written to it: a `tracing_subscriber` writer for tests that check
/// what was logged (`.with_writer(move || captured.clone())`).
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Captures every log line of this thread, TRACE and up, as JSON, until the guard is
    /// dropped. Callsites first hit by tests on other threads (no subscriber there) have
    /// cached "never interested": they are asked again once the subscriber is set. Use it
    /// in a test binary of its own, so no other test races it for that cache.
    pub fn trace_json() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        (captured, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the OAuth callback leaves behind: tokens and a profile with known thresholds.
pub async fn connect(
    fake: &RunningFake,
    vault: &impl TokenVault,
    store: &impl ActivityStore,
    athlete: i64,
    scope: &str,
) {
    mint_tokens(fake, vault, athlete, scope).await;
    let mut p = AthleteProfile::new(athlete);
    p.scopes = Scopes::parse(scope);
    // The generation the `events/` fixtures' cookies carry ([`session_cookie`]).
    p.session_generation = Some(LOCAL_SESSION_GENERATION);
    p.thresholds = Thresholds {
        ftp: Some(250.0),
        lthr: Some(165.0),
        hr_max: Some(190.0),
        hr_rest: Some(50.0),
        threshold_speed: Some(3.9),
        sex: Sex::Male,
        power_zones: None,
        heartrate_zones: None,
    };
    store.put_profile(&p).await.expect("profile stored");
}

/// A session cookie (`name=value`, the HTTPS name) of `athlete` in `generation`, signed
/// with the local session key; [`connect`] stores [`LOCAL_SESSION_GENERATION`].
pub fn session_cookie(athlete: i64, generation: u64, expires_at: i64) -> String {
    let session = stravasync_core::signed::Session { athlete, generation };
    let value = stravasync_core::signed::sign_session(LOCAL_SESSION_KEY.as_bytes(), session, expires_at);
    format!("{}={value}", stravasync_core::signed::SESSION_COOKIE)
}

/// The SQS record the event source hands the consumer for `job`.
pub fn record(job: &Job, id: &str, receive_count: u32) -> Record {
    Record {
        message_id: id.to_string(),
        receipt_handle: format!("receipt-{id}"),
        body: serde_json::to_string(job).expect("a job serializes"),
        receive_count,
        group_id: Some(job.group_id()),
        dedup_id: Some(id.to_string()),
        sent_at: None,
    }
}

/// Every message on `queue` now, received and deleted (as a consumer would take them).
pub async fn drain(queue: &stravasync_aws::sqs::SqsQueue) -> Vec<stravasync_aws::sqs::ReceivedMessage> {
    let mut all = Vec::new();
    loop {
        let batch = queue.receive(10, 0).await.expect("receive");
        if batch.is_empty() {
            return all;
        }
        for m in &batch {
            queue.delete(&m.receipt_handle).await.expect("delete");
        }
        all.extend(batch);
    }
}

/// What [`store_history`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    pub activities: usize,
    pub pmc_days: usize,
    /// Bytes of stream chunks stored.
    pub chunk_bytes: usize,
}

/// Fills `store` with `activities` scored activities of `athlete` spread evenly over the
/// `days` before `end` (the shared recordings in turn, each with its real streams and
/// metrics), and a PMC row for each of those days: an athlete's long history, for
/// measurements that must not grow with it.
pub async fn store_history(
    store: &impl ActivityStore,
    athlete: i64,
    activities: usize,
    days: i32,
    end: stravasync_core::LocalDate,
) -> History {
    use stravasync_core::codec::{encode_chunks, stream_set_id};
    use stravasync_core::model::{ActivitySummary, PmcRow, StoredActivity};
    let dir = fixtures_dir();
    let thresholds = Thresholds {
        ftp: Some(250.0),
        lthr: Some(165.0),
        hr_max: Some(190.0),
        hr_rest: Some(50.0),
        threshold_speed: Some(3.9),
        ..Default::default()
    };
    let mut recordings = Vec::new();
    for name in ["ride_power_edge810", "virtualride_zwift", "run_fenix2", "ride_elevate_sample"] {
        let read = |kind: &str| std::fs::read(dir.join(format!("{name}.{kind}.json")));
        let (Ok(activity), Ok(streams)) = (read("activity"), read("streams")) else { continue };
        let summary: ActivitySummary = serde_json::from_slice(&activity).expect("a fixture activity");
        let streams = stravasync_core::streams::parse_streams_json(&streams).expect("fixture streams");
        let sport = summary.sport().expect("a fixture sport");
        let metrics = stravasync_core::metrics::compute(&sport, &streams, &thresholds).expect("fixture metrics");
        let chunks = encode_chunks(&streams).expect("fixture chunks");
        recordings.push((summary, metrics, chunks));
    }
    assert!(!recordings.is_empty(), "the shared recordings");
    let first = end.add_days(-days);
    let mut chunk_bytes = 0;
    for i in 0..activities {
        let (summary, metrics, chunks) = &recordings[i % recordings.len()];
        let id = 90_000_000_000 + i as i64;
        let date = first.add_days((i64::from(days) * i as i64 / activities.max(1) as i64) as i32);
        let set_id = stream_set_id(chunks).expect("a set id");
        store.put_stream_chunks(athlete, id, &set_id, chunks).await.expect("chunks stored");
        chunk_bytes += chunks.iter().map(Vec::len).sum::<usize>();
        let mut summary = summary.clone();
        summary.id = id;
        summary.start_date = format!("{date}T07:00:00Z");
        summary.start_date_local = format!("{date}T08:00:00Z");
        let activity = StoredActivity {
            activity_id: id,
            local_date: date,
            summary,
            metrics: Some(metrics.clone()),
            stream_chunks: chunks.len() as u32,
            streams_id: Some(set_id),
            ..scored_activity(athlete, id, date, 0.0)
        };
        store.put_activity(&activity).await.expect("activity stored");
    }
    let rows: Vec<PmcRow> = (0..=days)
        .map(|d| PmcRow { date: first.add_days(d), load: 50.0, ctl: 40.0 + f64::from(d % 30), atl: 45.0, tsb: -5.0 })
        .collect();
    store.put_pmc_rows(athlete, &rows).await.expect("pmc stored");
    History { activities, pmc_days: rows.len(), chunk_bytes }
}
