//! The KMS vault's traffic, logged at TRACE, carries no token and no data key. In a test
//! binary of its own: the capture is a thread-local subscriber (see webhook/tests/logs.rs).

#[path = "aws/common/mod.rs"]
mod common;

use stravasync_core::Secret;
use stravasync_core::model::{OAuthTokens, Scopes};
use stravasync_core::ports::TokenVault;
use stravasync_testkit::Captured;

#[tokio::test]
async fn sealing_and_opening_tokens_logs_neither_the_tokens_nor_the_data_key() {
    let (captured, _guard) = Captured::trace_json();

    let stack = common::stack("kms-logs").await.with_kms_token_store().await.unwrap();
    let vault = stack.token_vault();
    let tokens = OAuthTokens {
        athlete_id: 77,
        access_token: Secret::new("access-token-that-must-not-be-logged"),
        refresh_token: Secret::new("refresh-token-that-must-not-be-logged"),
        expires_at: 1_800_000_000,
        scopes: Scopes::parse("read"),
        connected_at: 0,
    };
    vault.put_tokens(&tokens).await.unwrap();
    let read = vault.get_tokens_fresh(77).await.unwrap().unwrap();
    assert_eq!(read, tokens);
    vault.replace_tokens(&tokens, &tokens).await.unwrap();

    let logs = captured.text();
    assert!(logs.contains("GenerateDataKey") && logs.contains("Decrypt"), "the SDK's calls are traced: {logs}");
    assert!(logs.contains("received response from service"), "responses are traced: {logs}");
    for secret in ["access-token-that-must-not-be-logged", "refresh-token-that-must-not-be-logged"] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
    // KMS answers the plaintext data key in a `Plaintext` field: no response body is logged.
    assert!(!logs.contains("Plaintext"), "a KMS response body in the logs");
}
