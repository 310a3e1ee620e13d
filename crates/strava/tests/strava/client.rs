//! The client against a fake-strava started in-process on a random port.

use std::sync::Arc;
use std::time::Duration;

use fake_strava::{FakeConfig, Fault, FaultKind, RunningFake};
use serde_json::json;
use stravasync_core::Secret;
use stravasync_core::model::{AppCredentials, OAuthTokens};
use stravasync_core::ports::TokenVault;
use stravasync_core::streams::{NumericKey, StreamSet};
use stravasync_strava::{ActivityQuery, AthleteSession, StravaClient, StravaConfig, StravaError};
use stravasync_testkit::Captured;
use stravasync_testkit::memory::MemoryVault;

const ATHLETE: i64 = 5_123_456_789;
const EDGE810: i64 = 17_000_000_101;

async fn fake() -> RunningFake {
    let config = FakeConfig { fixtures_dir: fake_strava::default_fixtures_dir(), ..Default::default() };
    fake_strava::start(config).await.expect("start fake-strava")
}

fn client(fake: &RunningFake) -> StravaClient {
    let config = StravaConfig::new("12345", Secret::new("fake-client-secret"))
        .with_urls(fake.api_url(), fake.oauth_url())
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(5));
    StravaClient::new(config).unwrap()
}

fn vault() -> MemoryVault {
    MemoryVault::new(AppCredentials {
        client_id: "12345".into(),
        client_secret: Secret::new("fake-client-secret"),
        verify_token: Secret::new("v"),
        subscription_id: 1,
    })
}

/// Tokens minted by the fake, stored in the vault as the OAuth callback would.
async fn connect(fake: &RunningFake, vault: &MemoryVault, scope: &str) -> OAuthTokens {
    stravasync_testkit::mint_tokens(fake, vault, ATHLETE, scope).await
}

#[tokio::test]
async fn fetches_activity_and_streams_with_rate_usage() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read,activity:read_all").await;
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    let a = session.activity(EDGE810).await.unwrap();
    assert_eq!(a.value.id, EDGE810);
    assert_eq!(a.value.sport().unwrap().as_str(), "Ride");
    let usage = a.usage.unwrap().overall.unwrap();
    assert_eq!((usage.limit_15min, usage.limit_daily, usage.used_15min), (200, 2000, 1));
    let s = session.streams(EDGE810).await.unwrap();
    assert_eq!(s.value.len(), 4700);
    assert_eq!(s.value, fake.state.activity_streams(EDGE810).unwrap());
    assert_eq!(s.usage.unwrap().read.unwrap().used_15min, 2);
    assert_eq!(fake.state.api_requests(), 2, "exactly two Strava calls");
}

#[tokio::test]
async fn expired_token_is_refreshed_and_the_rotated_one_persisted_first() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    let old = connect(&fake, &vault, "read,activity:read_all").await;
    fake.state.expire_tokens(ATHLETE);
    // The vault still says the token is valid: the 401 drives a reactive refresh.
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    session.athlete().await.unwrap();
    assert_eq!(session.refreshes(), 1);
    let stored = vault.get_tokens(ATHLETE).await.unwrap().unwrap();
    assert_ne!(stored.refresh_token, old.refresh_token, "rotated refresh token stored");
    assert_eq!(stored.scopes, old.scopes, "granted scopes survive a refresh");
    // Strava rotates: the old refresh token no longer works.
    assert!(matches!(client.refresh(&old.refresh_token).await, Err(StravaError::Unauthorized { .. })));
    assert_eq!(fake.state.requests_to("/oauth/token"), 2);
}

#[tokio::test]
async fn tokens_near_expiry_are_refreshed_before_the_call() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    let mut tokens = connect(&fake, &vault, "read,activity:read_all").await;
    tokens.expires_at = client.now() + 120; // within the 5-minute leeway
    vault.put_tokens(&tokens).await.unwrap();
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    session.activity(EDGE810).await.unwrap();
    let routes: Vec<String> = fake.state.requests().into_iter().map(|r| r.route).collect();
    assert_eq!(routes, vec!["/oauth/token", "/api/v3/activities/{id}"], "refresh first, no 401 round trip");
    assert!(vault.get_tokens(ATHLETE).await.unwrap().unwrap().expires_at > client.now() + 3600);
}

#[tokio::test]
async fn a_401_is_retried_once_after_a_refresh() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read,activity:read_all").await;
    fake.state.inject(Fault {
        route: "/api/v3/activities/{id}".into(),
        kind: FaultKind::Unauthorized,
        count: 1,
        delay_ms: 0,
    });
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    assert_eq!(session.activity(EDGE810).await.unwrap().value.id, EDGE810);
    assert_eq!(session.refreshes(), 1);
    // Twice refused: Unauthorized after one refresh, not a loop.
    fake.state.inject(Fault {
        route: "/api/v3/activities/{id}".into(),
        kind: FaultKind::Unauthorized,
        count: 2,
        delay_ms: 0,
    });
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    assert!(matches!(session.activity(EDGE810).await, Err(StravaError::Unauthorized { .. })));
    assert_eq!(session.refreshes(), 1);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_unauthorized() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read").await;
    fake.state.revoke(ATHLETE);
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    let err = session.athlete().await.unwrap_err();
    assert!(matches!(err, StravaError::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn a_429_is_rate_limited_until_the_next_quarter_hour() {
    let fake = fake().await;
    let now = 1_700_000_000; // 22:13:20 UTC
    fake.state.set_now(now);
    let config = StravaConfig::new("12345", Secret::new("fake-client-secret"))
        .with_urls(fake.api_url(), fake.oauth_url())
        .with_clock(Arc::new(move || now));
    let client = StravaClient::new(config).unwrap();
    let vault = vault();
    connect(&fake, &vault, "read,activity:read_all").await;
    fake.state.inject(Fault { route: "*".into(), kind: FaultKind::RateLimited, count: 1, delay_ms: 0 });
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    match session.activity(EDGE810).await {
        Err(StravaError::RateLimited { resets_at, .. }) => assert_eq!(resets_at, 1_700_000_100),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_real_rate_limit_reports_the_daily_reset_when_the_day_is_spent() {
    let config = FakeConfig { fixtures_dir: fake_strava::default_fixtures_dir(), limit_daily: 3, ..Default::default() };
    let fake = fake_strava::start(config).await.unwrap();
    let now = 1_700_000_000;
    fake.state.set_now(now);
    let cfg = StravaConfig::new("12345", Secret::new("fake-client-secret"))
        .with_urls(fake.api_url(), fake.oauth_url())
        .with_clock(Arc::new(move || now));
    let client = StravaClient::new(cfg).unwrap();
    let vault = vault();
    connect(&fake, &vault, "read").await;
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    for _ in 0..3 {
        session.athlete().await.unwrap();
    }
    match session.athlete().await {
        Err(StravaError::RateLimited { resets_at, usage: Some(u), .. }) => {
            assert_eq!(resets_at, 1_700_006_400, "midnight UTC");
            assert_eq!(u.overall.unwrap().used_daily, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_500_is_retryable_and_the_next_call_succeeds() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read").await;
    fake.state.inject(Fault {
        route: "/api/v3/activities/{id}/streams".into(),
        kind: FaultKind::ServerError,
        count: 1,
        delay_ms: 0,
    });
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    let err = session.streams(EDGE810).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(session.streams(EDGE810).await.unwrap().value.len(), 4700);
}

#[tokio::test]
async fn a_slow_answer_times_out_as_retryable() {
    let fake = fake().await;
    let config = StravaConfig::new("12345", Secret::new("fake-client-secret"))
        .with_urls(fake.api_url(), fake.oauth_url())
        .with_timeouts(Duration::from_secs(1), Duration::from_millis(300));
    let client = StravaClient::new(config).unwrap();
    let vault = vault();
    connect(&fake, &vault, "read").await;
    fake.state.inject(Fault { route: "/api/v3/athlete".into(), kind: FaultKind::Slow, count: 1, delay_ms: 2_000 });
    let err = AthleteSession::new(&client, &vault, ATHLETE).athlete().await.unwrap_err();
    assert!(matches!(err, StravaError::Retryable { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_json_is_invalid_naming_endpoint_and_path() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read").await;
    fake.state.inject(Fault { route: "*".into(), kind: FaultKind::Malformed, count: 2, delay_ms: 0 });
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    match session.activity(EDGE810).await {
        Err(StravaError::Invalid { endpoint, path, .. }) => {
            assert_eq!(endpoint, format!("GET /activities/{EDGE810}"));
            assert_eq!(path, "id");
        }
        other => panic!("{other:?}"),
    }
    match session.streams(EDGE810).await {
        Err(StravaError::Invalid { path, .. }) => assert_eq!(path, "time.data"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unequal_streams_pass_through_for_the_metrics_layer_to_report() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read").await;
    let id = 1_i64 << 40;
    let streams =
        StreamSet::default().with(NumericKey::Time, vec![0.0, 1.0, 2.0]).with(NumericKey::Watts, vec![100.0, 200.0]);
    fake.state.insert_activity(
        json!({"id": id, "athlete": {"id": ATHLETE}, "type": "Ride", "sport_type": "Ride",
               "start_date": "2024-05-01T08:00:00Z", "start_date_local": "2024-05-01T10:00:00Z"}),
        Some(streams.clone()),
    );
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    assert_eq!(session.activity(id).await.unwrap().value.id, id, "a 2^40 id round-trips");
    let got = session.streams(id).await.unwrap().value;
    assert_eq!(got, streams);
    assert!(got.validate().is_err());
}

#[tokio::test]
async fn manual_deleted_and_private_activities_are_not_found() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read,activity:read").await;
    let manual = 77;
    fake.state.insert_activity(
        json!({"id": manual, "athlete": {"id": ATHLETE}, "type": "Workout", "manual": true,
               "start_date": "2024-05-01T08:00:00Z", "start_date_local": "2024-05-01T10:00:00Z"}),
        None,
    );
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    assert!(session.activity(manual).await.is_ok());
    assert!(matches!(session.streams(manual).await, Err(StravaError::NotFound { .. })));
    fake.state.set_private(EDGE810, true);
    assert!(matches!(session.activity(EDGE810).await, Err(StravaError::NotFound { .. })), "private without read_all");
    fake.state.delete_activity(EDGE810);
    assert!(matches!(session.activity(EDGE810).await, Err(StravaError::NotFound { .. })));
}

#[tokio::test]
async fn empty_streams_right_after_upload() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read").await;
    fake.state.set_empty_stream_fetches(EDGE810, 1);
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    assert!(session.streams(EDGE810).await.unwrap().value.is_empty());
    assert_eq!(session.streams(EDGE810).await.unwrap().value.len(), 4700);
}

#[tokio::test]
async fn pager_walks_the_activity_list() {
    let config = FakeConfig {
        season: Some(fake_strava::data::Season {
            athletes: 1,
            activities_per_athlete: 45,
            seed: 3,
            end: 1_780_000_000,
            block_days: 0,
        }),
        ..Default::default()
    };
    let fake = fake_strava::start(config).await.unwrap();
    let athlete = fake.state.athlete_ids()[0];
    let (client, vault) = (client(&fake), vault());
    stravasync_testkit::mint_tokens(&fake, &vault, athlete, "read,activity:read_all").await;
    let mut session = AthleteSession::new(&client, &vault, athlete);
    let mut pager = session.pager(ActivityQuery { per_page: 20, ..Default::default() });
    let mut seen = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        seen.extend(page.value.into_iter().map(|a| a.id));
    }
    assert_eq!(seen.len(), 45);
    assert_eq!(fake.state.requests_to("/api/v3/athlete/activities"), 3, "20 + 20 + 5, then stop");
    let mut expected = fake.state.activity_ids(athlete);
    expected.reverse();
    assert_eq!(seen, expected, "newest first, each once");
    // after/before filter by start time.
    let all = session.activities(ActivityQuery { per_page: 200, ..Default::default() }).await.unwrap().value;
    let cut = stravasync_core::date::parse_timestamp(&all[10].start_date).unwrap();
    let newer = session
        .activities(ActivityQuery { after: Some(cut), per_page: 200, ..Default::default() })
        .await
        .unwrap()
        .value;
    assert_eq!(newer.len(), 10);
}

#[tokio::test]
async fn zones_need_profile_scope() {
    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    connect(&fake, &vault, "read,activity:read_all").await;
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    assert!(
        matches!(session.zones().await, Err(StravaError::MissingScope { scope, .. }) if scope == "profile:read_all")
    );
    connect(&fake, &vault, "read,activity:read_all,profile:read_all").await;
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    let zones = session.zones().await.unwrap().value;
    assert_eq!(zones.power.unwrap().lower_bounds().unwrap().len(), 6);
    assert_eq!(zones.heart_rate.unwrap().lower_bounds().unwrap().len(), 4);
}

#[tokio::test]
async fn oauth_code_exchange_and_deauthorize() {
    let fake = fake().await;
    let client = client(&fake);
    let url = client.authorize_url("http://127.0.0.1:9/cb", "st4te", "read,activity:read_all");
    assert!(
        url.starts_with(&fake.oauth_url())
            && url.contains("state=st4te")
            && url.contains("scope=read%2Cactivity%3Aread_all")
    );
    let http =
        stravasync_strava::tls::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = http.get(&url).send().await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let redirect = reqwest::Url::parse(&location).unwrap();
    let q: std::collections::HashMap<_, _> = redirect.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["scope"], "read,activity:read_all");
    let grant = client.exchange_code(&q["code"]).await.unwrap();
    assert_eq!(grant.athlete.unwrap().id, ATHLETE);
    // A code works once.
    assert!(matches!(client.exchange_code(&q["code"]).await, Err(StravaError::Unauthorized { .. })));
    client.deauthorize(&grant.access_token).await.unwrap();
    assert!(matches!(client.refresh(&grant.refresh_token).await, Err(StravaError::Unauthorized { .. })));
}

#[tokio::test]
async fn push_subscription_create_list_delete_with_the_challenge() {
    let fake = fake().await;
    let client = client(&fake);
    // A callback that answers Strava's GET challenge when the verify token matches.
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::get(|q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
            if q.get("hub.verify_token").map(String::as_str) == Some("verify-me") {
                Ok(axum::Json(json!({"hub.challenge": q.get("hub.challenge").cloned().unwrap_or_default()})))
            } else {
                Err(axum::http::StatusCode::FORBIDDEN)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let wrong = client.create_subscription(&callback, &Secret::new("nope")).await.unwrap_err();
    assert!(matches!(wrong, StravaError::Rejected { status: 400, .. }), "{wrong:?}");
    let sub = client.create_subscription(&callback, &Secret::new("verify-me")).await.unwrap();
    let listed = client.list_subscriptions().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, sub.id);
    assert_eq!(listed[0].callback_url.as_deref(), Some(callback.as_str()));
    client.delete_subscription(sub.id).await.unwrap();
    assert!(client.list_subscriptions().await.unwrap().is_empty());
}

#[tokio::test]
async fn no_token_or_client_secret_in_debug_errors_or_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites first hit by tests on other threads (no subscriber there) have cached
    // "never interested"; re-ask them now that this thread's subscriber exists.
    tracing::callsite::rebuild_interest_cache();

    let fake = fake().await;
    let (client, vault) = (client(&fake), vault());
    let old = connect(&fake, &vault, "read,activity:read_all").await;
    fake.state.expire_tokens(ATHLETE);
    let mut session = AthleteSession::new(&client, &vault, ATHLETE);
    session.activity(EDGE810).await.unwrap();
    fake.state.inject(Fault { route: "*".into(), kind: FaultKind::Malformed, count: 1, delay_ms: 0 });
    let malformed_refresh = client.refresh(&Secret::new("whatever")).await.unwrap_err();
    let list_err = StravaClient::new(
        StravaConfig::new("12345", Secret::new("fake-client-secret"))
            .with_urls("http://127.0.0.1:9/api/v3", "http://127.0.0.1:9/oauth"),
    )
    .unwrap()
    .list_subscriptions()
    .await
    .unwrap_err();
    let new = vault.get_tokens(ATHLETE).await.unwrap().unwrap();

    let mut text = captured.text();
    text.push_str(&format!(
        "{client:?} {old:?} {new:?} {malformed_refresh} {malformed_refresh:?} {list_err} {list_err:?}"
    ));
    assert!(text.contains("strava tokens refreshed"), "the refresh was logged: {text}");
    for secret in [
        old.access_token.expose(),
        old.refresh_token.expose(),
        new.access_token.expose(),
        new.refresh_token.expose(),
        "fake-client-secret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into: {text}");
    }
}
