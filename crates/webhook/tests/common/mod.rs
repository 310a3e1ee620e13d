//! Shared set-up of the webhook tests: a moto-backed stack, an in-process fake-strava, the
//! handler wired to both, and the `events/` fixtures.

#![allow(dead_code)]

use fake_strava::{FakeConfig, RunningFake};
use serde_json::Value;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::local::{LocalStack, test_stack};
use stravasync_aws::secrets::SecretsVault;
use stravasync_aws::sqs::{ReceivedMessage, SqsQueue};
use stravasync_webhook::{HttpRequest, HttpResponse, Webhook, WebhookConfig, from_lambda};

pub const ATHLETE: i64 = 5_123_456_789;

pub struct Harness {
    pub stack: LocalStack,
    pub fake: RunningFake,
    pub webhook: Webhook<SqsQueue, SecretsVault, DynamoStore>,
}

pub async fn harness(label: &str) -> Harness {
    let stack = test_stack(label).await;
    let fake = fake_strava::start(FakeConfig {
        fixtures_dir: fake_strava::default_fixtures_dir(),
        client_secret: "client-secret-value".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let config = config_for(&stack, &fake);
    let webhook = Webhook::new(config, stack.queue(), stack.vault(), stack.store()).await.unwrap();
    Harness { stack, fake, webhook }
}

pub fn config_for(stack: &LocalStack, fake: &RunningFake) -> WebhookConfig {
    let env = [
        ("QUEUE_URL", stack.urls.queue_url.clone()),
        ("TABLE_NAME", stack.names.table.clone()),
        ("APP_SECRET_ID", stack.names.app_secret_id.clone()),
        ("TOKEN_SECRET_PREFIX", stack.names.token_secret_prefix.clone()),
        ("STRAVA_API_URL", fake.api_url()),
        ("STRAVA_OAUTH_URL", fake.oauth_url()),
        ("PUBLIC_BASE_URL", "https://hooks.example.test".to_string()),
    ];
    WebhookConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap()
}

pub fn fixture(name: &str) -> HttpRequest {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    from_lambda(&lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}")))
}

impl Harness {
    pub async fn send(&self, name: &str) -> HttpResponse {
        self.webhook.handle(&fixture(name)).await
    }

    pub async fn enqueued(&self) -> Vec<ReceivedMessage> {
        let q = self.stack.queue();
        let mut all = Vec::new();
        loop {
            let batch = q.receive(10, 0).await.unwrap();
            if batch.is_empty() {
                return all;
            }
            for m in &batch {
                q.delete(&m.receipt_handle).await.unwrap();
            }
            all.extend(batch);
        }
    }
}

pub fn body(resp: &HttpResponse) -> Value {
    serde_json::from_str(&resp.body).unwrap_or(Value::Null)
}

/// A create event of the fixtures' athlete with its fields replaced by `patch`.
pub fn event_request(patch: serde_json::Value) -> HttpRequest {
    let mut req = fixture("webhook-activity-create.json");
    let mut event: Value = serde_json::from_slice(&req.body).unwrap();
    for (k, v) in patch.as_object().unwrap() {
        event[k] = v.clone();
    }
    req.body = serde_json::to_vec(&event).unwrap();
    req
}
