//! Arbitrary requests against the handler (in-memory ports): it never panics, never
//! answers 200 to an event it did not enqueue, and never enqueues what it refused.

use proptest::prelude::*;
use stravasync_core::memory::{MemoryQueue, MemoryStore, MemoryVault};
use stravasync_webhook::{HttpRequest, Webhook, WebhookConfig};

const VALID: &str = r#"{"aspect_type":"create","event_time":1763755200,"object_id":17000000101,"object_type":"activity","owner_id":5123456789,"subscription_id":120475,"updates":{}}"#;

fn config() -> WebhookConfig {
    WebhookConfig::from_lookup(|k| {
        Some(match k {
            "PUBLIC_BASE_URL" => "https://hooks.example.test".into(),
            "STRAVA_API_URL" => "http://127.0.0.1:9/api/v3".into(),
            "STRAVA_OAUTH_URL" => "http://127.0.0.1:9/oauth".into(),
            "BACKFILL_COUNT" | "STRAVA_SCOPE" => return None,
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
            let webhook = Webhook::new(config(), MemoryQueue::default(), vault, MemoryStore::default()).await.unwrap();
            let req = HttpRequest { method: method.to_string(), path: path.clone(), query, cookies: Default::default(), body: body.clone() };
            let resp = webhook.handle(&req).await;
            let enqueued = webhook.queue.messages().len();
            let is_event = method == "POST" && path == "/webhook/path-secret-value";
            if is_event && resp.status == 200 {
                prop_assert_eq!(enqueued, 1, "200 without an enqueue");
            }
            if resp.status >= 400 {
                prop_assert_eq!(enqueued, 0, "enqueued although refused with {}", resp.status);
            }
            if !is_event {
                prop_assert_eq!(enqueued, 0, "only a valid event is enqueued");
            }
            prop_assert!(resp.status >= 200 && resp.status < 600);
            Ok(())
        })?;
    }
}
