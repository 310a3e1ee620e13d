//! Test support for every crate of the workspace above `core`, and nothing a Lambda links:
//! a dev-dependency only. It depends on `core`, the in-memory ports and fake-strava, so any
//! crate's tests may use it without building the AWS SDK or the handlers. (The moto stack
//! is `stravasync_aws::local`; a handler's own test helpers live beside the handler.)
//!
//! - [`memory`]: the in-memory ports (`stravasync-memory`), re-exported.
//! - [`fixtures_dir`] and the ids of the shared recordings ([`ATHLETE`], [`EDGE810`], …).
//! - [`mint_tokens`] / [`connect`]: an athlete's tokens from fake-strava, and the profile a
//!   connection leaves.
//! - [`scored_activity`], [`store_history`]: stored activities, one or years of them.
//! - [`describe_activity`]: an activity's stored state as text, to compare stores.
//! - [`session_cookie`]: a signed session cookie.
//! - [`Captured`]: a log writer for tests that check what was logged.
//! - [`alloc`]: a counting global allocator, for memory measurements.
//! - [`lambda`]: the functions' bootstrap binaries behind cargo-lambda's emulator, and the
//!   `events/` fixtures.
//! - [`fake_config`]: fake-strava serving the shared recordings to the local app.

pub mod alloc;
pub mod emf;
pub mod lambda;

pub use stravasync_fixtures::strava_api_document;
pub use stravasync_memory as memory;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fake_strava::RunningFake;
use stravasync_core::Secret;
use stravasync_core::model::ActivityState;
use stravasync_core::model::{AthleteProfile, OAuthTokens, Scopes, Sex, Thresholds};
use stravasync_core::ports::TokenVault;
use stravasync_core::ports::roles::*;

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
    stravasync_fixtures::required_dir()
}

/// fake-strava serving the shared recordings, accepting the local app's client secret.
pub fn fake_config() -> fake_strava::FakeConfig {
    fake_strava::FakeConfig {
        fixtures_dir: fake_strava::default_fixtures_dir(),
        client_secret: CLIENT_SECRET.into(),
        ..Default::default()
    }
}

/// A number unique within this process (temporary file names).
pub fn unique_number() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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

/// A stored activity with just a date and a score (a ride of one hour at `load`).
pub fn scored_activity(
    athlete: i64,
    id: i64,
    date: stravasync_core::LocalDate,
    load: f64,
) -> stravasync_core::model::StoredActivity {
    use stravasync_core::metrics::{ActivityMetrics, Score};
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
            ..Default::default()
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
    // The generation the `events/` fixtures' cookies carry.
    p.session_generation = Some(SESSION_GENERATION);
    p.thresholds = thresholds();
    store.put_profile(&p).await.expect("profile stored");
}

/// The thresholds the tests score the shared recordings with: FTP 250 W, LTHR 165 bpm,
/// heart rate 50–190 bpm, threshold speed 3.9 m/s, male; no zones from Strava.
pub fn thresholds() -> Thresholds {
    Thresholds {
        ftp: Some(250.0),
        lthr: Some(165.0),
        hr_max: Some(190.0),
        hr_rest: Some(50.0),
        threshold_speed: Some(3.9),
        sex: Sex::Male,
        power_zones: None,
        heartrate_zones: None,
    }
}

/// The session generation of the shared recordings' athlete: [`connect`] stores it, and the
/// `events/` fixtures' cookies carry it (signed with the local stacks' session key).
pub const SESSION_GENERATION: u64 = 7001;

/// A session cookie (`name=value`, the HTTPS name) of `athlete` in `generation`, signed
/// with `key`.
pub fn session_cookie(key: &str, athlete: i64, generation: u64, expires_at: i64) -> String {
    let session = stravasync_core::signed::Session { athlete, generation };
    let value = stravasync_core::signed::sign_session(key.as_bytes(), session, expires_at);
    format!("{}={value}", stravasync_read::site::SESSION_COOKIE)
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
    let thresholds = thresholds();
    let mut recordings = Vec::new();
    for name in ["ride_power_edge810", "virtualride_zwift", "run_fenix2", "ride_elevate_sample"] {
        let read = |kind: &str| std::fs::read(dir.join(format!("{name}.{kind}.json")));
        let (Ok(activity), Ok(streams)) = (read("activity"), read("streams")) else { continue };
        let summary: ActivitySummary = serde_json::from_slice(&activity).expect("a fixture activity");
        let streams = stravasync_core::streams::parse_streams_json(&streams).expect("fixture streams");
        let metrics =
            stravasync_core::analysis::score_single(&summary, &streams, &thresholds).expect("fixture metrics");
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
