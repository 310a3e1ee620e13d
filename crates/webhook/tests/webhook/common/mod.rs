//! Shared set-up of the webhook tests: a moto-backed stack, an in-process fake-strava, the
//! handler wired to both, and the `events/` fixtures.

#![allow(dead_code)]

use fake_strava::{FakeConfig, RunningFake};
use serde_json::Value;
use std::sync::Arc;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::local::LocalStack;
use stravasync_aws::secrets::SecretsVault;
use stravasync_aws::sqs::{ReceivedMessage, SqsQueue};

use axum::body::Body;
use stravasync_webhook::{Webhook, WebhookConfig, router};
use tower::ServiceExt;

pub type Request = axum::http::Request<Body>;
pub type LocalWebhook = Webhook<SqsQueue, SecretsVault, DynamoStore>;

pub use stravasync_testkit::ATHLETE;

pub struct Harness {
    pub stack: LocalStack,
    pub fake: RunningFake,
    pub webhook: Arc<LocalWebhook>,
}

pub async fn harness(label: &str) -> Harness {
    harness_with(label, None).await
}

/// As [`harness`], fake-strava refusing connections past `athlete_capacity` athletes.
pub async fn harness_with(label: &str, athlete_capacity: Option<u32>) -> Harness {
    harness_on(test_stack(label).await, athlete_capacity).await
}

/// As [`harness_with`], on `stack` (one made from template.yaml, for instance).
pub async fn harness_on(stack: LocalStack, athlete_capacity: Option<u32>) -> Harness {
    let fake = fake_strava::start(FakeConfig { athlete_capacity, ..stravasync_testkit::fake_config() }).await.unwrap();
    let config = config_for(&stack, &fake);
    let webhook = Arc::new(Webhook::new(config, stack.queue(), stack.vault(), stack.store()).await.unwrap());
    Harness { stack, fake, webhook }
}

/// A fresh stack with unique names on the local moto server.
pub async fn test_stack(label: &str) -> LocalStack {
    LocalStack::on_local_endpoint(label).await.expect("a stack on the local moto server")
}

/// The webhook's configuration for a local stack and a running fake-strava, as its Lambda
/// reads it from the environment.
pub fn config_for(stack: &LocalStack, fake: &RunningFake) -> WebhookConfig {
    let mut env = stack.handler_env();
    env.extend(endpoints(fake));
    WebhookConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).expect("local config")
}

/// The endpoints the webhook's tests run it with: fake-strava's URLs and a public base URL.
pub fn endpoints(fake: &RunningFake) -> [(&'static str, String); 3] {
    [
        ("STRAVA_API_URL", fake.api_url()),
        ("STRAVA_OAUTH_URL", fake.oauth_url()),
        ("PUBLIC_BASE_URL", "https://hooks.example.test".to_string()),
    ]
}

/// An API Gateway v2 event of `events/`, as JSON (for tests that patch it).
pub fn fixture_json(name: &str) -> Value {
    let path = stravasync_testkit::lambda::event_file(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The request `lambda_http` hands the router for an API Gateway v2 event.
pub fn request_of(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|e| panic!("not an API Gateway event: {e}"))
        .map(|body| Body::from(body.to_vec()))
}

pub fn fixture(name: &str) -> Request {
    request_of(&fixture_json(name))
}

/// Sets one query parameter of an API Gateway event (raw string and parsed map alike).
pub fn set_query(event: &mut Value, key: &str, value: &str) {
    let mut url = reqwest::Url::parse("http://q/").unwrap();
    url.set_query(event["rawQueryString"].as_str());
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != key).collect();
    pairs.push((key.to_string(), value.to_string()));
    url.query_pairs_mut().clear().extend_pairs(&pairs);
    event["rawQueryString"] = Value::String(url.query().unwrap_or_default().to_string());
    event["queryStringParameters"][key] = Value::String(value.to_string());
}

/// An answer as a test reads it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// One request through the webhook's router, as Lambda or the demo serve it.
pub async fn call(webhook: &Arc<LocalWebhook>, req: Request) -> Reply {
    let resp = router(webhook.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> =
        resp.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    let content_type = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.clone()).unwrap_or_default();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Reply { status, content_type, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

impl Harness {
    /// An athlete's trip through `/connect`, Strava's consent (as `athlete`) and the
    /// callback, as a browser makes it.
    pub async fn connect_as(&self, athlete: i64) -> Reply {
        let connect = self.send("oauth-connect.json").await;
        let location = connect.header("location").unwrap().to_string();
        let nonce =
            connect.header("set-cookie").unwrap().split(';').next().unwrap().split_once('=').unwrap().1.to_string();
        let http =
            stravasync_strava::tls::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let consent = http.get(format!("{location}&athlete_id={athlete}")).send().await.unwrap();
        let back = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
        let callback = axum::http::Request::get(format!("{}?{}", back.path(), back.query().unwrap_or_default()))
            .header("cookie", format!("{}={nonce}", stravasync_webhook::oauth_state::NONCE_COOKIE))
            .body(Body::empty())
            .unwrap();
        self.call(callback).await
    }

    pub async fn send(&self, name: &str) -> Reply {
        self.call(fixture(name)).await
    }

    pub async fn call(&self, req: Request) -> Reply {
        call(&self.webhook, req).await
    }

    pub async fn enqueued(&self) -> Vec<ReceivedMessage> {
        self.stack.queue().drain().await.expect("drain")
    }
}

pub fn body(resp: &Reply) -> Value {
    serde_json::from_str(&resp.body).unwrap_or(Value::Null)
}

/// The create event fixture with its push body replaced by `body`.
pub fn event_with_body(body: &str) -> Request {
    let mut event = fixture_json("webhook-activity-create.json");
    event["body"] = Value::String(body.to_string());
    request_of(&event)
}

/// A create event of the fixtures' athlete with its fields replaced by `patch`.
pub fn event_request(patch: serde_json::Value) -> Request {
    let event = fixture_json("webhook-activity-create.json");
    let mut push: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    for (k, v) in patch.as_object().unwrap() {
        push[k] = v.clone();
    }
    event_with_body(&push.to_string())
}
