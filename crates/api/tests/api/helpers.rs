//! The local site of the read API tests: a moto stack filled by the real consumer and
//! rollup from the shared recordings, the webhook and the API served on one listener (as
//! the HttpApi serves both), fake-strava with a push subscription to it, and request
//! helpers that read like an athlete's actions.

use std::sync::Arc;

use axum::body::Body;
use serde_json::Value;
use stravasync_api::{Api, ApiConfig, router};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::local::{LOCAL_WEBHOOK_PATH_SECRET, LocalStack, local_app_credentials};
pub use stravasync_aws::resources::LOCAL_SESSION_KEY;
use stravasync_aws::sqs::SqsQueue;
use stravasync_aws::vault::Vault;
use stravasync_consumer::pump::pump_until_idle;
pub use stravasync_consumer::testing::record;
use stravasync_consumer::{Consumer, Outcome};
use stravasync_core::Secret;
use stravasync_core::job::Job;
use stravasync_core::model::ActivityState;
use stravasync_core::ports::roles::*;
use stravasync_rollup::{Mode, Rollup, RollupRequest};
use stravasync_strava::{StravaClient, StravaConfig};
use stravasync_testkit::{ATHLETE, CLIENT_SECRET, SESSION_GENERATION, connect};
use tower::ServiceExt;

/// The fixtures' clock: 2025-11-21T20:00:00Z.
pub const NOW: i64 = 1_763_755_200;
pub const ORIGIN: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
pub const OTHER_ATHLETE: i64 = 42;

pub type LocalApi = Api<DynamoStore, SqsQueue>;
pub type LocalConsumer = Consumer<DynamoStore, Vault, SqsQueue>;

pub struct Harness {
    pub stack: LocalStack,
    pub fake: fake_strava::RunningFake,
    pub consumer: Arc<LocalConsumer>,
    pub api: Arc<LocalApi>,
    /// Every activity of the athlete, newest first, as stored.
    pub ids: Vec<i64>,
    /// Where the webhook and the API are served over HTTP (fake-strava pushes there).
    pub site: String,
}

/// The handlers' variables for `stack`, fake-strava and this site.
fn handler_env(stack: &LocalStack, fake: &fake_strava::RunningFake, site: &str) -> Vec<(&'static str, String)> {
    let mut env = stack.handler_env();
    env.extend([
        ("STRAVA_API_URL", fake.api_url()),
        ("STRAVA_OAUTH_URL", fake.oauth_url()),
        ("PUBLIC_BASE_URL", site.to_string()),
    ]);
    env
}

fn lookup<'a>(env: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
}

fn strava_at(fake: &fake_strava::RunningFake, now: i64) -> StravaClient {
    StravaClient::new(
        StravaConfig::new("12345", Secret::new(CLIENT_SECRET))
            .with_urls(fake.api_url(), fake.oauth_url())
            .with_clock(Arc::new(move || now)),
    )
    .unwrap()
}

/// A stack holding what the pipeline made of the shared recordings: the athlete connected,
/// a backfill of everything run by the consumer, the PMC by the rollup; the webhook and
/// the API served, Strava's push subscription pointing at them. Every clock reads [`NOW`].
pub async fn harness(label: &str) -> Harness {
    harness_on(label, false).await
}

/// As [`harness`], athletes' tokens sealed with KMS in the table (`TokenStore=dynamodb-kms`).
pub async fn harness_on(label: &str, kms: bool) -> Harness {
    let mut stack = LocalStack::on_local_endpoint(label).await.expect("a stack on the local moto server");
    if kms {
        stack = stack.with_kms_token_store().await.unwrap();
    }
    harness_with_stack(stack).await
}

/// As [`harness`], on `stack` (one made from template.yaml, for instance).
pub async fn harness_with_stack(stack: LocalStack) -> Harness {
    let fake = fake_strava::start(stravasync_testkit::fake_config()).await.unwrap();
    fake.state.set_now(NOW);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let env = handler_env(&stack, &fake, &site);
    // As deployed: the consumer dead-letters into the DLQ (so "nothing dead-lettered" is
    // a claim the tests can check).
    let queue = stack.queue().with_dead_letter_queue(&stack.urls.dlq_url);
    let policy = stravasync_consumer::deps::ConsumerEnv::from_lookup(lookup(&env)).unwrap().policy;
    let consumer = Consumer::new(policy, strava_at(&fake, NOW), stack.store(), stack.token_vault(), queue);
    connect(&fake, &consumer.vault, &consumer.store, ATHLETE, "read,activity:read_all,profile:read_all").await;
    let backfill = Job::start_backfill(ATHLETE, None, None, None, Some(NOW - 60));
    assert_eq!(consumer.process(&record(&backfill, "b-1", 1)).await, Outcome::Done);
    let rollup = Rollup::new(stack.store(), stack.queue());
    rollup.run(&RollupRequest { mode: Mode::Dirty, athlete_id: None }, NOW).await.unwrap();
    let store = stack.store();
    let ids = store.activities_page(ATHLETE, None, 100).await.unwrap().iter().map(|a| a.activity_id).collect();
    let api = Arc::new(api_for(&stack, NOW));

    // The webhook and the API on one site, as the HttpApi serves them.
    let webhook_config = stravasync_webhook::WebhookConfig::from_lookup(lookup(&env)).unwrap();
    let mut webhook = stravasync_webhook::AwsWebhook::build(&stack.sdk, webhook_config).await.unwrap();
    webhook.strava = strava_at(&fake, NOW);
    let routes = router(api.clone()).fallback_service(stravasync_webhook::router(Arc::new(webhook)));
    tokio::spawn(async move { axum::serve(listener, routes).await });
    // Strava's push subscription to it, its id in the app secret (`stravasync subscribe`).
    let app = local_app_credentials();
    let callback = format!("{site}/webhook/{LOCAL_WEBHOOK_PATH_SECRET}");
    let sub = strava_at(&fake, NOW).create_subscription(&callback, &app.verify_token).await.unwrap();
    let with_id = stravasync_core::model::AppCredentials { subscription_id: sub.id, ..app };
    stack.vault().write(&stack.names.app_secret_id, &serde_json::to_string(&with_id).unwrap()).await.unwrap();
    assert!(drain(&stack).await.is_empty(), "nothing queued after the harness");
    Harness { stack, fake, consumer: Arc::new(consumer), api, ids, site }
}

pub fn api_for(stack: &LocalStack, now: i64) -> LocalApi {
    let mut env = stack.handler_env();
    env.push(("PUBLIC_BASE_URL", ORIGIN.to_string()));
    let config = ApiConfig::from_lookup(lookup(&env)).unwrap();
    Api::new(config, Secret::new(LOCAL_SESSION_KEY), stack.store(), stack.queue()).with_clock(Arc::new(move || now))
}

impl Harness {
    /// The event source running beside the test until the returned guard is dropped.
    pub fn event_source(&self) -> EventSource {
        let consumer = self.consumer.clone();
        let fake = self.fake.state.clone();
        EventSource(tokio::spawn(async move {
            loop {
                let _ = pump_until_idle(&consumer, 50).await;
                fake.settle_pushes().await;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }))
    }

    /// Pumps until both queues are idle and Strava's pushes are delivered.
    pub async fn settle(&self) {
        for _ in 0..5 {
            self.fake.state.settle_pushes().await;
            pump_until_idle(&self.consumer, 100).await.unwrap();
        }
    }
}

pub struct EventSource(tokio::task::JoinHandle<()>);

impl Drop for EventSource {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub async fn call(api: &Arc<LocalApi>, req: axum::http::Request<Body>) -> Reply {
    let resp = router(api.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers =
        resp.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec();
    Reply { status, headers, body }
}

/// The request `lambda_http` hands the router for an `events/` fixture.
pub fn fixture(name: &str) -> axum::http::Request<Body> {
    let path = stravasync_testkit::lambda::event_file(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lambda_http::request::from_str(&text).unwrap().map(|b| Body::from(b.to_vec()))
}

/// A cookie of `athlete` in the fixtures' generation, signed with `key`.
pub fn cookie_for(athlete: i64, expires_at: i64, key: &str) -> String {
    stravasync_testkit::session_cookie(key, athlete, SESSION_GENERATION, expires_at)
}

/// A cookie of `athlete` in `generation`, signed with the local stacks' key.
pub fn session_cookie(athlete: i64, generation: u64, expires_at: i64) -> String {
    stravasync_testkit::session_cookie(LOCAL_SESSION_KEY, athlete, generation, expires_at)
}

pub fn get(path: &str, cookie: Option<&str>) -> axum::http::Request<Body> {
    let mut req = axum::http::Request::get(path);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.body(Body::empty()).unwrap()
}

pub fn change(method: &str, path: &str, cookie: &str, body: &str) -> axum::http::Request<Body> {
    axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .header("origin", ORIGIN)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The athlete's session in the stored generation, good for an hour.
pub fn session() -> String {
    session_cookie(ATHLETE, SESSION_GENERATION, NOW + 3600)
}

pub async fn live(store: &DynamoStore, id: i64) -> stravasync_core::model::StoredActivity {
    match store.get_activity(ATHLETE, id).await.unwrap() {
        Some(ActivityState::Live(a)) => *a,
        other => panic!("{id}: {other:?}"),
    }
}

/// Every job on the events and background queues now, taken off them.
pub async fn drain(stack: &LocalStack) -> Vec<Job> {
    stack.queue().drain().await.unwrap().iter().map(|m| Job::parse(&m.body).unwrap()).collect()
}

/// Everything of `athlete` left anywhere: items of the table and of each of its indexes
/// (scanned whole, every attribute searched for the id), the athlete's token secret, and
/// messages on the events, background and dead-letter queues that name them. Empty when
/// the athlete is gone.
pub async fn traces_of(stack: &LocalStack, athlete: i64) -> Vec<String> {
    let id = athlete.to_string();
    let mut found = Vec::new();
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    for index in [None, Some("by_date"), Some("loads"), Some("listing")] {
        let mut start = None;
        loop {
            let page = dynamo
                .scan()
                .table_name(&stack.names.table)
                .set_index_name(index.map(str::to_string))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap();
            for item in page.items.unwrap_or_default() {
                let text = format!("{item:?}");
                if text.contains(&id) {
                    let key = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    found.push(format!("{} item {}/{}", index.unwrap_or("table"), key("pk"), key("sk")));
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
    }
    let secrets = aws_sdk_secretsmanager::Client::new(&stack.sdk);
    let listed = secrets.list_secrets().max_results(100).send().await.unwrap();
    for s in listed.secret_list.unwrap_or_default() {
        let name = s.name.unwrap_or_default();
        if name == format!("{}/athlete/{id}", stack.names.token_secret_prefix) {
            found.push(format!("secret {name}"));
        }
    }
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    for url in [&stack.urls.queue_url, &stack.urls.background_queue_url, &stack.urls.dlq_url] {
        loop {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                break;
            }
            for m in got {
                let body = m.body.unwrap_or_default();
                if body.contains(&id) {
                    found.push(format!("message on {url}: {body}"));
                }
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    found
}

/// An athlete connecting through the site in a browser: `/connect`, Strava's consent
/// (fake-strava consents at once as `athlete`), the callback. Returns the callback's
/// status and the session cookie it set (`name=value`, empty if none) and its page.
pub async fn connect_through_site(site: &str, athlete: i64) -> (u16, String, String) {
    let http =
        stravasync_strava::tls::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let header = |r: &reqwest::Response, h: &str| {
        r.headers().get(h).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    let connect = http.get(format!("{site}/connect")).send().await.unwrap();
    let authorize = format!("{}&athlete_id={athlete}", header(&connect, "location"));
    let nonce = header(&connect, "set-cookie").split(';').next().unwrap_or_default().to_string();
    let consent = http.get(&authorize).send().await.unwrap();
    let landed = http.get(header(&consent, "location")).header("cookie", nonce).send().await.unwrap();
    let status = landed.status().as_u16();
    let cookie = landed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(stravasync_read::site::SESSION_COOKIE_INSECURE))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    (status, cookie, landed.text().await.unwrap_or_default())
}
