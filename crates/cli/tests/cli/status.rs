//! `stravasync status`, run as the binary against a stack made from template.yaml, with
//! fake-strava as Strava and the webhook served over HTTP as API Gateway serves it. A
//! healthy stack answers ✓ on every line and exit 0; then one thing at a time is broken
//! (and mended where it can be): a missing `subscription_id`, a subscription pointing
//! elsewhere, a DLQ message, a webhook that does not answer, a spent budget, an events queue
//! whose oldest message is old. Each time `status` exits 1 and a ✗ names what is wrong.

use std::process::Command;
use std::sync::Arc;

use stravasync_aws::local::{LOCAL_WEBHOOK_PATH_SECRET, LocalStack};
use stravasync_core::job::QueueMessage;
use stravasync_core::model::{RateWindow, RateWindowKind};
use stravasync_core::ports::{EventQueue, RateBudget};
use stravasync_strava::{StravaClient, StravaConfig};
use stravasync_testkit::fake_config;

fn status(env: &[(&'static str, String)], callback: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stravasync"))
        .args(["status", "--callback", callback])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn subscribe(env: &[(&'static str, String)], callback: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_stravasync"))
        .args(["subscribe", "--callback", callback])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The lines marked ✗.
fn crosses(report: &str) -> Vec<&str> {
    report.lines().filter(|l| l.starts_with('✗')).collect()
}

/// The stack's webhook, served on `listener` as API Gateway serves it.
async fn serve_webhook(stack: &LocalStack, env: &[(&'static str, String)], listener: tokio::net::TcpListener) {
    let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let config = stravasync_webhook::WebhookConfig::from_lookup(lookup).unwrap();
    let webhook = stravasync_webhook::AwsWebhook::build(&stack.function_sdk("webhook").unwrap(), config).await.unwrap();
    let routes = stravasync_webhook::router(Arc::new(webhook));
    tokio::spawn(async move { axum::serve(listener, routes).await });
}

// Multi-threaded: the webhook and fake-strava are served while the binary runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_all_ticks_on_a_healthy_stack_and_names_each_thing_broken() {
    let stack = LocalStack::from_template("status", false).await.expect("the template's stack on moto");
    let fake = fake_strava::start(fake_config()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{site}/webhook/{LOCAL_WEBHOOK_PATH_SECRET}");
    let mut env = stack.handler_env();
    env.extend([
        ("STRAVA_API_URL", fake.api_url()),
        ("STRAVA_OAUTH_URL", fake.oauth_url()),
        ("PUBLIC_BASE_URL", site.clone()),
    ]);
    serve_webhook(&stack, &env, listener).await;
    subscribe(&env, &callback);

    let (code, report) = status(&env, &callback);
    assert_eq!((code, crosses(&report)), (Some(0), vec![]), "{report}");
    assert!(report.contains("✓ push subscription") && report.ends_with("healthy\n"), "{report}");
    let lines = report.lines().count();
    eprintln!("a healthy stack:\n{report}");

    // 1. The app secret without its subscription id.
    let vault = stack.vault();
    let app = stravasync_core::ports::TokenVault::app_credentials_fresh(&vault).await.unwrap();
    let without = serde_json::json!({"client_id": app.client_id, "client_secret": app.client_secret.expose(),
                                     "verify_token": app.verify_token.expose()});
    vault.write(&stack.names.app_secret_id, &without.to_string()).await.unwrap();
    let (code, report) = status(&env, &callback);
    assert_eq!(code, Some(1), "{report}");
    let broken = crosses(&report);
    assert_eq!(broken.len(), 2, "{report}");
    assert!(broken[0].contains("no subscription_id") && broken[0].contains(&callback), "{report}");
    assert!(broken[1].contains("push subscription: none stored"), "the subscription cannot be matched: {report}");
    vault.write(&stack.names.app_secret_id, &serde_json::to_string(&app).unwrap()).await.unwrap();
    assert_eq!(status(&env, &callback).0, Some(0));

    // 2. A subscription pointing elsewhere: Strava's one subscription is another webhook's.
    let strava = StravaClient::new(
        StravaConfig::new(app.client_id.clone(), app.client_secret.clone()).with_urls(fake.api_url(), fake.oauth_url()),
    )
    .unwrap();
    let elsewhere_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere = format!("http://{}/webhook/{LOCAL_WEBHOOK_PATH_SECRET}", elsewhere_listener.local_addr().unwrap());
    serve_webhook(&stack, &env, elsewhere_listener).await;
    strava.delete_subscription(app.subscription_id).await.unwrap();
    subscribe(&env, &elsewhere);
    let (code, report) = status(&env, &callback);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(crosses(&report).len(), 1, "{report}");
    assert!(
        crosses(&report)[0].contains(&format!("its callback is {elsewhere}, not this stack's webhook")),
        "{report}"
    );
    let moved = stravasync_core::ports::TokenVault::app_credentials_fresh(&vault).await.unwrap();
    strava.delete_subscription(moved.subscription_id).await.unwrap();
    subscribe(&env, &callback);
    assert_eq!(status(&env, &callback).0, Some(0));

    // 3. A message in the DLQ, with its reason.
    // As the consumer moves it: received from the events queue, then dead-lettered.
    let (queue, dlq) = (stack.queue().with_dead_letter_queue(&stack.urls.dlq_url), stack.dlq());
    let message = QueueMessage { group_id: "athlete-7".into(), dedup_id: "status-dead".into(), body: "{}".into() };
    queue.enqueue(&message).await.unwrap();
    let received = queue.receive(1, 0).await.unwrap().pop().unwrap();
    queue.dead_letter(&received.receipt_handle, &message, "gave up after 5 receives: HTTP 500").await.unwrap();
    let (code, report) = status(&env, &callback);
    assert_eq!((code, crosses(&report).len()), (Some(1), 1), "{report}");
    assert!(
        crosses(&report)[0].contains("dead-letter queue: 1 message(s), first reasons: gave up after 5 receives"),
        "{report}"
    );
    assert_eq!(dlq.drain().await.unwrap().len(), 1, "status left the message where it was");
    assert_eq!(status(&env, &callback).0, Some(0));

    // 4. A webhook that does not answer: the same URL, nothing listening.
    let (code, report) =
        status(&env, &format!("http://127.0.0.1:{}/webhook/{LOCAL_WEBHOOK_PATH_SECRET}", closed_port()));
    assert_eq!(code, Some(1), "{report}");
    let broken = crosses(&report);
    assert!(broken.iter().any(|l| l.starts_with("✗ webhook: no answer to Strava's challenge")), "{report}");

    // 5. The day's budget spent (it stays spent: counts only grow).
    let day = RateWindow::containing(RateWindowKind::Daily, stravasync_core::clock::unix_now());
    let limit: u32 = env.iter().find(|(k, _)| *k == "RATE_LIMIT_DAILY").unwrap().1.parse().unwrap();
    stack.store().record_usage(day, limit).await.unwrap();
    let (code, report) = status(&env, &callback);
    assert_eq!((code, crosses(&report).len()), (Some(1), 1), "{report}");
    assert!(crosses(&report)[0].contains("the daily budget is spent: new activities wait until"), "{report}");
    assert_eq!(report.lines().count(), lines, "the same lines, one of them ✗");

    // 6. The events queue falling behind: its oldest message 20 minutes old, as SQS
    // publishes it to CloudWatch (the background lane's as old is its normal wait).
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&stack.sdk);
    for url in [&stack.urls.queue_url, &stack.urls.background_queue_url] {
        let queue = url.rsplit('/').next().unwrap();
        let datum = aws_sdk_cloudwatch::types::MetricDatum::builder()
            .metric_name("ApproximateAgeOfOldestMessage")
            .dimensions(aws_sdk_cloudwatch::types::Dimension::builder().name("QueueName").value(queue).build())
            .value(1_200.0)
            .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(stravasync_core::clock::unix_now() - 30))
            .build();
        cloudwatch.put_metric_data().namespace("AWS/SQS").metric_data(datum).send().await.unwrap();
    }
    let (code, report) = status(&env, &callback);
    assert_eq!(code, Some(1), "{report}");
    let broken = crosses(&report);
    assert_eq!(broken.len(), 2, "the budget, and now the events queue: {report}");
    assert!(broken[0].contains("events queue: 0 waiting, 0 in flight, 0 delayed, the oldest 1200 s old"), "{report}");
    assert!(
        report.contains("✓ background queue: 0 waiting, 0 in flight, 0 delayed, the oldest 1200 s old"),
        "{report}"
    );
}

/// A port of 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
