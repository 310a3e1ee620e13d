//! Logs of a whole connect and event flow carry no secret. In a test binary of its own:
//! the capture is a thread-local subscriber, and tests on other threads of the same process
//! would race it for the callsites' cached interest.

#[path = "webhook/common/mod.rs"]
mod common;

use common::*;
use stravasync_core::ports::TokenVault;
use stravasync_testkit::Captured;

#[tokio::test]
async fn a_full_connect_and_event_flow_logs_no_secret() {
    let (captured, _guard) = Captured::trace_json();

    let h = harness_with("logs", Some(1)).await;
    // /connect, then Strava's consent page, then the callback with the real state and cookie.
    let connect = h.send("oauth-connect.json").await;
    let location = connect.headers.iter().find(|(k, _)| *k == "location").unwrap().1.clone();
    let cookie = connect.headers.iter().find(|(k, _)| *k == "set-cookie").unwrap().1.clone();
    let nonce = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    let http =
        stravasync_strava::tls::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = http.get(&location).send().await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let back = reqwest::Url::parse(&back).unwrap();
    let callback = axum::http::Request::get(format!("{}?{}", back.path(), back.query().unwrap_or_default()))
        .header("cookie", format!("{}={nonce}", stravasync_webhook::oauth_state::NONCE_COOKIE))
        .body(axum::body::Body::empty())
        .unwrap();
    let done = h.call(callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    for name in [
        "webhook-challenge.json",
        "webhook-challenge-wrong-token.json",
        "webhook-activity-create.json",
        "webhook-wrong-path-secret.json",
    ] {
        h.send(name).await;
    }

    // One athlete more than the application may connect: a warning with the count.
    let second = h.fake.state.add_generated_athlete(2, 1);
    assert_eq!(h.connect_as(second).await.status, 403);
    assert_eq!(h.connect_as(second).await.status, 403);

    let tokens = h.stack.vault().get_tokens(ATHLETE).await.unwrap().unwrap();
    let logs = captured.text();
    let refusals: Vec<&str> = logs.lines().filter(|l| l.contains("\"outcome\":\"athlete_capacity\"")).collect();
    assert_eq!(refusals.len(), 2, "{logs}");
    assert!(refusals[0].contains("\"level\":\"WARN\"") && refusals[0].contains("\"refusals\":1"), "{}", refusals[0]);
    assert!(refusals[1].contains("\"refusals\":2"), "{}", refusals[1]);
    assert!(logs.contains("\"outcome\":\"connected\"") && logs.contains("\"outcome\":\"enqueued\""), "{logs}");
    let code = back.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    for secret in [
        tokens.access_token.expose(),
        tokens.refresh_token.expose(),
        "client-secret-value",
        "verify-token-value",
        "path-secret-value",
        stravasync_aws::resources::LOCAL_SESSION_KEY,
        code.as_str(),
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into logs: {logs}");
    }
}
