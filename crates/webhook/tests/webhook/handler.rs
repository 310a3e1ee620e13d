//! The webhook handler on the `events/` fixtures, against moto (SQS, Secrets Manager,
//! DynamoDB) and an in-process fake-strava.

use crate::common::*;
use stravasync_aws::sqs::SqsQueue;
use stravasync_core::event::AspectType;
use stravasync_core::job::Job;
use stravasync_core::model::ConnectionState;
use stravasync_core::ports::TokenVault;
use stravasync_core::ports::roles::*;
use stravasync_webhook::Webhook;

#[tokio::test]
async fn challenge_is_answered_only_with_the_verify_token() {
    let h = harness("challenge").await;
    let ok = h.send("webhook-challenge.json").await;
    assert_eq!((ok.status, ok.content_type.as_str()), (200, "application/json"));
    assert_eq!(body(&ok), serde_json::json!({"hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3"}));
    let wrong = h.send("webhook-challenge-wrong-token.json").await;
    assert_eq!(wrong.status, 403);
    assert!(!wrong.body.contains("15f7d1a9"));
    assert!(h.enqueued().await.is_empty());
}

#[tokio::test]
async fn every_valid_event_is_enqueued_once_in_its_group() {
    let h = harness("events").await;
    let cases = [
        ("webhook-activity-create.json", AspectType::Create, "athlete-5123456789"),
        ("webhook-activity-update-title.json", AspectType::Update, "athlete-5123456789"),
        ("webhook-activity-update-private.json", AspectType::Update, "athlete-5123456789"),
        ("webhook-activity-delete.json", AspectType::Delete, "athlete-5123456789"),
        // Not behind the athlete's events (docs/design.md §5).
        ("webhook-athlete-deauthorize.json", AspectType::Update, "deauth-5123456789"),
    ];
    for (name, aspect, group) in cases {
        let resp = h.send(name).await;
        assert_eq!(resp.status, 200, "{name}: {}", resp.body);
        assert_eq!(body(&resp)["status"], "enqueued");
        let got = h.enqueued().await;
        assert_eq!(got.len(), 1, "{name}");
        assert_eq!(got[0].group_id.as_deref(), Some(group), "{name}");
        match Job::parse(&got[0].body).unwrap() {
            Job::WebhookEvent { event, .. } => {
                assert_eq!(event.aspect_type, aspect, "{name}");
                assert_eq!(event.owner_id, ATHLETE);
                assert_eq!(got[0].dedup_id.as_deref(), Some(event.dedup_id().as_str()));
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(h.fake.state.requests().len(), 0, "events make no Strava call");
}

#[tokio::test]
async fn stravas_retries_of_one_push_collapse_into_one_message() {
    let h = harness("retries").await;
    for _ in 0..3 {
        assert_eq!(h.send("webhook-activity-create.json").await.status, 200);
    }
    assert_eq!(h.enqueued().await.len(), 1);
}

#[tokio::test]
async fn invalid_requests_get_a_4xx_with_a_reason_and_nothing_is_enqueued() {
    let h = harness("invalid").await;
    let cases = [
        ("webhook-wrong-subscription.json", 403, "subscription_id"),
        ("webhook-malformed.json", 400, "object_id"),
        ("webhook-unknown-object-type.json", 400, "object_type"),
        ("webhook-oversized.json", 413, "8192 bytes"),
        ("webhook-wrong-path-secret.json", 404, "not found"),
    ];
    for (name, status, reason) in cases {
        let resp = h.send(name).await;
        assert_eq!(resp.status, status, "{name}: {}", resp.body);
        let error = body(&resp)["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(reason), "{name}: {error}");
    }
    assert!(h.enqueued().await.is_empty());
}

#[tokio::test]
async fn a_queue_failure_is_a_5xx_so_strava_retries() {
    let h = harness("queue-down").await;
    let broken_queue = SqsQueue::new(
        aws_sdk_sqs::Client::new(&h.stack.sdk),
        format!("{}-missing.fifo", h.stack.urls.queue_url.trim_end_matches(".fifo")),
    );
    let webhook = std::sync::Arc::new(
        Webhook::new(config_for(&h.stack, &h.fake), broken_queue, h.stack.vault(), h.stack.store()).await.unwrap(),
    );
    let resp = call(&webhook, fixture("webhook-activity-create.json")).await;
    assert_eq!(resp.status, 503, "{}", resp.body);
    assert!(h.enqueued().await.is_empty());
}

#[tokio::test]
async fn connect_redirects_to_strava_with_a_signed_state_and_a_nonce_cookie() {
    let h = harness("connect").await;
    let resp = h.send("oauth-connect.json").await;
    assert_eq!(resp.status, 302);
    let location = &resp.headers.iter().find(|(k, _)| *k == "location").unwrap().1;
    assert!(location.starts_with(&format!("{}/authorize?", h.fake.oauth_url())), "{location}");
    assert!(location.contains("redirect_uri=https%3A%2F%2Fhooks.example.test%2Foauth%2Fcallback"));
    assert!(location.contains("scope=read%2Cactivity%3Aread_all"));
    let cookie = &resp.headers.iter().find(|(k, _)| *k == "set-cookie").unwrap().1;
    assert!(
        cookie.starts_with("__Host-stravasync_oauth_nonce=")
            && cookie.contains("HttpOnly")
            && cookie.contains("Secure")
    );
    assert!(cookie.contains("Path=/;") && !cookie.contains("Domain"), "__Host- needs Path=/ and no Domain: {cookie}");
}

#[tokio::test]
async fn callback_stores_tokens_and_profile_and_enqueues_a_backfill() {
    let h = harness("callback").await;
    h.fake.state.register_code("demo-authorization-code", ATHLETE, "read,activity:read_all");
    let resp = h.send("oauth-callback.json").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let header =
        |name: &str| resp.headers.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let location = header("location");
    assert!(location.len() == 1 && location[0].starts_with("/?connected="), "to the dashboard: {location:?}");
    let cookies = header("set-cookie");
    let session = cookies.iter().find(|c| c.starts_with("__Host-stravasync_session=")).expect("session cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/;"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    let value = session.split(';').next().unwrap().split_once('=').unwrap().1;
    let key = h.stack.vault().named_secret(&h.stack.names.session_secret_id).await.unwrap().unwrap();
    let now = stravasync_core::clock::unix_now();
    let signed = stravasync_core::signed::verify_session(key.expose().as_bytes(), value, now).unwrap();
    assert_eq!(signed.athlete, ATHLETE);
    assert!(!session.contains(key.expose()), "the key never leaves the vault");
    let cleared = cookies.iter().find(|c| c.starts_with("__Host-stravasync_oauth_nonce=")).unwrap();
    assert!(cleared.starts_with("__Host-stravasync_oauth_nonce=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let tokens = h.stack.vault().get_tokens(ATHLETE).await.unwrap().expect("tokens stored");
    assert!(tokens.scopes.can_read_private());
    let profile = h.stack.store().get_profile(ATHLETE).await.unwrap().expect("profile stored");
    assert_eq!(profile.state, ConnectionState::Connected);
    assert_eq!(profile.session_generation, Some(signed.generation), "the cookie belongs to this connection");
    assert_eq!(profile.thresholds.ftp, Some(250.0), "FTP from GET /athlete");
    assert!(profile.thresholds.power_zones.is_none(), "no profile:read_all, no zones call");
    assert_eq!(h.fake.state.requests_to("/api/v3/athlete/zones"), 0);
    let jobs = h.enqueued().await;
    assert_eq!(jobs.len(), 1);
    match Job::parse(&jobs[0].body).unwrap() {
        Job::Backfill {
            athlete_id: ATHLETE,
            most_recent: Some(30),
            after: None,
            before: None,
            page: 1,
            index: 0,
            done: 0,
            requested_at: Some(_),
            refresh: false,
            charged: None,
            imported: 0,
        } => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn callback_with_zones_scope_takes_the_athletes_zones() {
    let h = harness("zones").await;
    h.fake.state.register_code("demo-authorization-code", ATHLETE, "read,activity:read_all,profile:read_all");
    let mut req = fixture_json("oauth-callback.json");
    set_query(&mut req, "scope", "read,activity:read_all,profile:read_all");
    assert_eq!(h.call(request_of(&req)).await.status, 303);
    let profile = h.stack.store().get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!(profile.thresholds.power_zones.unwrap().len(), 6);
    assert_eq!(profile.thresholds.heartrate_zones.unwrap().len(), 4);
}

#[tokio::test]
async fn denied_or_read_only_authorizations_store_nothing() {
    let h = harness("denied").await;
    h.fake.state.register_code("demo-authorization-code", ATHLETE, "read");
    for name in ["oauth-denied.json", "oauth-callback-read-only.json"] {
        let resp = h.send(name).await;
        assert_eq!(resp.status, 403, "{name}");
        assert!(
            resp.body.contains("Nothing was stored") || resp.body.contains("nothing was stored"),
            "{name}: {}",
            resp.body
        );
    }
    assert_eq!(h.fake.state.requests_to("/oauth/token"), 0, "the code was never exchanged");
    assert_eq!(h.stack.vault().get_tokens(ATHLETE).await.unwrap(), None);
    assert_eq!(h.stack.store().get_profile(ATHLETE).await.unwrap(), None);
    assert!(h.enqueued().await.is_empty());
}

#[tokio::test]
async fn a_forged_or_replayed_state_is_refused() {
    let h = harness("forged").await;
    h.fake.state.register_code("demo-authorization-code", ATHLETE, "read,activity:read_all");
    let mut no_cookie = fixture_json("oauth-callback.json");
    no_cookie.as_object_mut().unwrap().remove("cookies");
    let resp = h.call(request_of(&no_cookie)).await;
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains("another browser"));
    let mut forged = fixture_json("oauth-callback.json");
    let state = forged["queryStringParameters"]["state"].as_str().unwrap().replace("4102444800.", "4102444801.");
    set_query(&mut forged, "state", &state);
    assert_eq!(h.call(request_of(&forged)).await.status, 400);
    assert_eq!(h.stack.vault().get_tokens(ATHLETE).await.unwrap(), None);
}

#[tokio::test]
async fn a_running_webhook_accepts_the_subscription_created_after_it_started() {
    let h = harness("resubscribe").await;
    // The warm container answered Strava's challenge; `stravasync subscribe` then stores
    // the new subscription id in the app secret (another process, another cache).
    let mut app = stravasync_aws::local::local_app_credentials();
    app.subscription_id = 987_654;
    h.stack.vault().write(&h.stack.names.app_secret_id, &serde_json::to_string(&app).unwrap()).await.unwrap();
    let resp = h.call(event_request(serde_json::json!({"subscription_id": 987_654}))).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(h.webhook.app().subscription_id, 987_654, "the re-read is kept");
    assert_eq!(h.enqueued().await.len(), 1);
    // The old subscription's events are now the unknown ones.
    let old = h.call(event_request(serde_json::json!({"subscription_id": 120_475}))).await;
    assert_eq!(old.status, 403);
    assert!(h.enqueued().await.is_empty());
}

#[tokio::test]
async fn trailing_bytes_and_far_future_times_are_refused_and_nothing_is_enqueued() {
    let h = harness("hostile-events").await;
    let valid = fixture_json("webhook-activity-create.json")["body"].as_str().unwrap().to_string();
    for tail in ["{}", " garbage", "\n{\"object_type\":\"activity\"}"] {
        let resp = h.call(event_with_body(&format!("{valid}{tail}"))).await;
        assert_eq!(resp.status, 400, "{}", resp.body);
        assert!(body(&resp)["error"].as_str().unwrap().contains("end of document"), "{}", resp.body);
    }
    let far = h.webhook.strava.now() + 2 * 86_400;
    let resp = h.call(event_request(serde_json::json!({"event_time": far}))).await;
    assert_eq!(resp.status, 400);
    assert!(body(&resp)["error"].as_str().unwrap().contains("event_time"), "{}", resp.body);
    let max = h.call(event_request(serde_json::json!({"event_time": i64::MAX}))).await;
    assert_eq!(max.status, 400, "{}", max.body);
    assert!(h.enqueued().await.is_empty());
}

#[tokio::test]
async fn characters_sqs_refuses_are_escaped_and_the_event_survives() {
    let h = harness("sqs-chars").await;
    let title = "Ride \u{FFFE}\u{FFFF}\u{1}\u{B} 😀";
    let req = event_request(serde_json::json!({"aspect_type": "update", "updates": {"title": title}}));
    let resp = h.call(req).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let got = h.enqueued().await;
    assert_eq!(got.len(), 1);
    assert!(got[0].body.chars().all(stravasync_core::job::sqs_allows), "{:?}", got[0].body);
    match Job::parse(&got[0].body).unwrap() {
        Job::WebhookEvent { event, .. } => assert_eq!(event.updates.title.as_deref(), Some(title)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_claimed_scope_strava_proves_missing_is_not_stored() {
    let h = harness("scope-downgrade").await;
    // Strava granted read,activity:read_all; the redirect (the athlete's browser) claims
    // profile:read_all too. The zones call answers 403 naming it.
    h.fake.state.register_code("demo-authorization-code", ATHLETE, "read,activity:read_all");
    let mut req = fixture_json("oauth-callback.json");
    set_query(&mut req, "scope", "read,activity:read_all,profile:read_all");
    let resp = h.call(request_of(&req)).await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(h.fake.state.requests_to("/api/v3/athlete/zones"), 1);
    let tokens = h.stack.vault().get_tokens(ATHLETE).await.unwrap().unwrap();
    assert!(!tokens.scopes.can_read_zones() && tokens.scopes.can_read_private(), "{:?}", tokens.scopes);
    let profile = h.stack.store().get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!(profile.scopes, tokens.scopes);
    assert!(tokens.connected_at > 0, "the connection time travels with the tokens");
}

/// Single Player Mode: Strava refuses the token exchange of one athlete more than the
/// application may connect. The callback says so plainly, with what the operator must do;
/// nothing of the athlete is stored.
#[tokio::test]
async fn a_connection_past_the_athlete_capacity_is_refused_plainly() {
    let h = harness_with("capacity", Some(1)).await;
    let first = h.connect_as(ATHLETE).await;
    assert_eq!(first.status, 303, "{}", first.body);
    let second = h.fake.state.add_generated_athlete(2, 1);
    let refused = h.connect_as(second).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Not connected: this app is full"), "{}", refused.body);
    assert!(refused.body.contains("must submit the app to Strava&#39;s review"), "{}", refused.body);
    assert!(refused.body.contains("Nothing about you was stored"), "{}", refused.body);
    assert!(refused.body.contains("mailto:support@example.test"), "the operator's contact");
    assert!(refused.headers.iter().all(|(k, v)| k != "set-cookie" || !v.starts_with("__Host-stravasync_session")));
    assert!(h.stack.store().get_profile(second).await.unwrap().is_none());
    assert!(h.stack.vault().get_tokens(second).await.unwrap().is_none());
    let queued = h.enqueued().await;
    assert_eq!(queued.len(), 1, "only the first athlete's import: {queued:?}");
    // A reconnect of the connected athlete is still fine.
    assert_eq!(h.connect_as(ATHLETE).await.status, 303);
}

/// Signing in again (a new device, an expired session) keeps the thresholds the athlete
/// set on the dashboard: Strava's FTP seeds a new profile only.
#[tokio::test]
async fn signing_in_again_keeps_the_athlete_s_own_thresholds() {
    let h = harness("own-thresholds").await;
    assert_eq!(h.connect_as(ATHLETE).await.status, 303);
    let store = h.stack.store();
    let seeded = store.get_profile(ATHLETE).await.unwrap().unwrap().thresholds.ftp;
    store
        .update_profile(ATHLETE, |p| {
            (p.thresholds.ftp, p.thresholds_version) = (Some(333.0), 1);
            true
        })
        .await
        .unwrap();
    assert_eq!(h.connect_as(ATHLETE).await.status, 303);
    let profile = store.get_profile(ATHLETE).await.unwrap().unwrap();
    assert_eq!(profile.thresholds.ftp, Some(333.0), "not Strava's {seeded:?}");
}
