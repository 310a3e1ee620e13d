//! The `webhook` binary as Lambda runs it: its real bootstrap behind cargo-lambda's
//! emulator, on the stack made from template.yaml, invoked with the `events/webhook-*.json`
//! and `events/oauth-*.json` fixtures (API Gateway v2 events). It answers each as the
//! router does in process (`handler.rs`).

use stravasync_aws::local::LocalStack;
use stravasync_core::telemetry::{COLD_START, CONNECTIONS, WEBHOOK_EVENTS};
use stravasync_testkit::emf;
use stravasync_testkit::lambda::{Emulator, event_file, http_answer};

use crate::common::*;

// Multi-threaded: fake-strava is served while the test waits for `cargo lambda invoke`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_bootstrap_answers_the_fixtures_as_the_router_does() {
    let stack = LocalStack::from_template("boot-webhook", false).await.expect("the template's stack on moto");
    let Harness { stack, fake, webhook } = harness_on(stack, None).await;
    let mut emulator = Emulator::start().unwrap();
    let mut env = stack.function_env("webhook").unwrap();
    env.extend(endpoints(&fake));
    emulator.start_function("webhook", env!("CARGO_BIN_EXE_webhook").as_ref(), &env).unwrap();

    for name in [
        "webhook-challenge.json",
        "webhook-challenge-wrong-token.json",
        "webhook-activity-create.json",
        "webhook-activity-update-title.json",
        "webhook-activity-update-private.json",
        "webhook-activity-delete.json",
        "webhook-athlete-deauthorize.json",
        "webhook-wrong-subscription.json",
        "webhook-malformed.json",
        "webhook-unknown-object-type.json",
        "webhook-oversized.json",
        "webhook-wrong-path-secret.json",
        "oauth-denied.json",
    ] {
        let routed = call(&webhook, fixture(name)).await;
        let (status, headers, body) = http_answer(&emulator.invoke("webhook", &event_file(name)).unwrap()).unwrap();
        assert_eq!((status, body.as_str()), (routed.status, routed.body.as_str()), "{name}");
        let content_type = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str());
        assert_eq!(content_type, routed.header("content-type"), "{name}");
    }
    // The connect redirect carries a fresh state and nonce: the same place, not the same bytes.
    let routed = call(&webhook, fixture("oauth-connect.json")).await;
    let (status, headers, _) =
        http_answer(&emulator.invoke("webhook", &event_file("oauth-connect.json")).unwrap()).unwrap();
    let location = |h: &[(String, String)]| {
        h.iter().find(|(k, _)| k == "location").map(|(_, v)| v.split("state=").next().unwrap_or_default().to_string())
    };
    assert_eq!((status, location(&headers)), (routed.status, location(&routed.headers)));

    // Each event enqueued once: the function's deliveries collapsed with the router's, as
    // Strava's retries do.
    let enqueued = stack.queue().drain().await.unwrap();
    assert_eq!(enqueued.len(), 5, "{:?}", enqueued.iter().map(|m| &m.body).collect::<Vec<_>>());

    // Its metrics (EMF lines of its log): each push event by outcome, the refused
    // authorization, one cold start; every one in the catalog.
    let log = emulator.log("webhook");
    let values = emf::values(&log).unwrap_or_else(|e| panic!("{e}\n{log}"));
    let events = |outcome: &str| emf::total(&values, WEBHOOK_EVENTS, "webhook", &[("Outcome", outcome)]);
    assert_eq!(
        [
            events("enqueued"),
            events("wrong_subscription"),
            events("invalid"),
            events("too_large"),
            events("wrong_path")
        ],
        [5.0, 1.0, 2.0, 1.0, 1.0]
    );
    assert_eq!(emf::total(&values, CONNECTIONS, "webhook", &[("Outcome", "denied")]), 1.0);
    assert_eq!(emf::total(&values, COLD_START, "webhook", &[]), 1.0);
}
