//! Arbitrary requests against the handler (in-memory ports): it never panics, never
//! answers 200 to an event it did not enqueue, and never enqueues what it refused.

use proptest::prelude::*;
use std::sync::Arc;
use stravasync_testkit::memory::{MemoryQueue, MemoryStore, MemoryVault};

use axum::body::Body;
use axum::http::Request;
use stravasync_webhook::{Webhook, WebhookConfig, router};
use tower::ServiceExt;

const VALID: &str = r#"{"aspect_type":"create","event_time":1763755200,"object_id":17000000101,"object_type":"activity","owner_id":5123456789,"subscription_id":120475,"updates":{}}"#;

fn config() -> WebhookConfig {
    WebhookConfig::from_lookup(|k| {
        Some(match k {
            "PUBLIC_BASE_URL" => "https://hooks.example.test".into(),
            "STRAVA_API_URL" => "http://127.0.0.1:9/api/v3".into(),
            "STRAVA_OAUTH_URL" => "http://127.0.0.1:9/oauth".into(),
            "WEBHOOK_PATH_SECRET" => stravasync_aws::local::LOCAL_WEBHOOK_PATH_SECRET.into(),
            "SUPPORT_EMAIL" => "support@example.test".into(),
            "BACKFILL_COUNT" | "STRAVA_SCOPE" | "TOKEN_STORE" => return None,
            _ => "x".into(),
        })
    })
    .unwrap()
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        Just(VALID.as_bytes().to_vec()),
        // A valid event with one byte changed.
        (0..VALID.len(), any::<u8>()).prop_map(|(i, b)| {
            let mut v = VALID.as_bytes().to_vec();
            v[i] = b;
            v
        }),
        // A valid event with one field's value replaced.
        (
            prop::sample::select(vec!["\"create\"", "17000000101", "\"activity\"", "120475", "1763755200", "{}"]),
            ".{0,12}"
        )
            .prop_map(|(from, to)| VALID.replacen(from, &to, 1).into_bytes()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/webhook/path-secret-value".to_string()),
        "/webhook/[a-z-]{0,20}",
        Just("/connect".to_string()),
        Just("/oauth/callback".to_string()),
        "/[ -~]{0,30}",
    ]
}

/// A field's value of several kilobytes: the 400 names the field and quotes a short excerpt.
#[tokio::test]
async fn a_400_names_the_field_and_quotes_a_short_excerpt() {
    let vault = MemoryVault::new(stravasync_aws::local::local_app_credentials());
    let webhook =
        Arc::new(Webhook::new(config(), MemoryQueue::default(), vault, MemoryStore::default()).await.unwrap());
    let chosen = "<script>".repeat(900);
    let body = VALID.replacen("\"activity\"", &format!("\"{chosen}\""), 1);
    let req = Request::builder().method("POST").uri("/webhook/path-secret-value").body(Body::from(body)).unwrap();
    let resp = router(webhook.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let reply: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
    let error = reply["error"].as_str().unwrap();
    assert!(error.contains("object_type") && error.chars().count() <= 400, "{error}");
    assert!(!error.contains(&chosen[..400]), "echoes the input: {error}");
    assert!(webhook.queue.messages().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_no_200_without_enqueue_no_enqueue_on_refusal(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        path in path(),
        query in proptest::collection::hash_map("[a-z.]{1,16}", "[ -~]{0,24}", 0..4),
        body in body(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let vault = MemoryVault::new(stravasync_aws::local::local_app_credentials());
            let webhook = Arc::new(Webhook::new(config(), MemoryQueue::default(), vault, MemoryStore::default()).await.unwrap());
            let mut url = reqwest::Url::parse("http://h/").unwrap();
            url.set_path(&path);
            url.query_pairs_mut().extend_pairs(&query);
            let target = format!("{}{}", url.path(), url.query().map(|q| format!("?{q}")).unwrap_or_default());
            let req = Request::builder().method(method).uri(target).body(Body::from(body.clone())).unwrap();
            let resp = router(webhook.clone()).oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let reply = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            if status == 400 {
                let error = serde_json::from_slice::<serde_json::Value>(&reply)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_string))
                    .unwrap_or_default();
                prop_assert!(error.chars().count() <= 400, "a reason of {} characters: {}", error.len(), error);
            }
            let enqueued = webhook.queue.messages().len();
            let is_event = method == "POST" && url.path() == "/webhook/path-secret-value";
            if is_event && status == 200 {
                prop_assert_eq!(enqueued, 1, "200 without an enqueue");
            }
            if status >= 400 {
                prop_assert_eq!(enqueued, 0, "enqueued although refused with {}", status);
            }
            if !is_event {
                prop_assert_eq!(enqueued, 0, "only a valid event is enqueued");
            }
            prop_assert!((200..600).contains(&status));
            Ok(())
        })?;
    }
}
