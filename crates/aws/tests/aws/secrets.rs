//! The Secrets Manager token vault against a moto server.

use crate::common;
use std::time::Duration;

use stravasync_aws::secrets::SecretsVault;
use stravasync_core::Secret;
use stravasync_core::model::{OAuthTokens, Scopes};
use stravasync_core::ports::{TokenVault, VaultError};

async fn vault(label: &str) -> (SecretsVault, common::Stack) {
    let stack = common::stack(label).await;
    let v = SecretsVault::new(
        aws_sdk_secretsmanager::Client::new(&stack.sdk),
        &stack.names.app_secret_id,
        &stack.names.token_secret_prefix,
    );
    (v, stack)
}

fn tokens(athlete: i64, n: u32) -> OAuthTokens {
    OAuthTokens {
        athlete_id: athlete,
        access_token: Secret::new(format!("access-{n}")),
        refresh_token: Secret::new(format!("refresh-{n}")),
        expires_at: 1_700_000_000 + i64::from(n),
        scopes: Scopes::parse("read,activity:read_all"),
        connected_at: 0,
    }
}

#[tokio::test]
async fn create_get_rotate_delete() {
    let (v, stack) = vault("tokens").await;
    let athlete = 1 << 40;
    assert_eq!(v.get_tokens(athlete).await.unwrap(), None);
    v.put_tokens(&tokens(athlete, 1)).await.unwrap();
    assert_eq!(v.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 1)));
    // A rotation is visible to a fresh vault with no cache (another Lambda container):
    // the newest refresh token is what everyone reads.
    for n in 2..=4 {
        v.put_tokens(&tokens(athlete, n)).await.unwrap();
    }
    let fresh = SecretsVault::new(
        aws_sdk_secretsmanager::Client::new(&stack.sdk),
        &stack.names.app_secret_id,
        &stack.names.token_secret_prefix,
    )
    .with_cache_ttl(Duration::ZERO);
    assert_eq!(fresh.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 4)));
    v.delete_tokens(athlete).await.unwrap();
    assert_eq!(v.get_tokens(athlete).await.unwrap(), None);
    assert_eq!(fresh.get_tokens(athlete).await.unwrap(), None);
    v.delete_tokens(athlete).await.unwrap();
    // A token written again after a delete is readable (no recovery window blocks it).
    v.put_tokens(&tokens(athlete, 5)).await.unwrap();
    assert_eq!(fresh.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 5)));
}

#[tokio::test]
async fn app_credentials_are_read_from_the_app_secret() {
    let (v, _stack) = vault("app").await;
    assert_eq!(v.app_credentials().await.unwrap(), common::app_credentials());
}

#[tokio::test]
async fn a_missing_app_secret_is_named() {
    let stack = common::stack("noapp").await;
    let v = SecretsVault::new(aws_sdk_secretsmanager::Client::new(&stack.sdk), "does/not/exist", "p");
    assert_eq!(v.app_credentials().await.unwrap_err(), VaultError::Missing("does/not/exist".into()));
}

#[tokio::test]
async fn a_token_secret_with_missing_fields_is_a_typed_error_without_the_value() {
    let (v, stack) = vault("malformed").await;
    let name = v.token_secret_name(5);
    aws_sdk_secretsmanager::Client::new(&stack.sdk)
        .create_secret()
        .name(&name)
        .secret_string(r#"{"athlete_id": 5, "access_token": "leaky-access-token", "expires_at": 1}"#)
        .send()
        .await
        .unwrap();
    let err = v.get_tokens(5).await.unwrap_err();
    assert_eq!(err, VaultError::Malformed { secret: name, field: "refresh_token".into(), problem: "missing" });
    assert!(!format!("{err} {err:?}").contains("leaky-access-token"));
}

#[tokio::test]
async fn the_cache_serves_reads_within_its_ttl() {
    let (v, stack) = vault("cache").await;
    v.put_tokens(&tokens(6, 1)).await.unwrap();
    // Another writer replaces the secret behind this vault's back.
    let other = SecretsVault::new(
        aws_sdk_secretsmanager::Client::new(&stack.sdk),
        &stack.names.app_secret_id,
        &stack.names.token_secret_prefix,
    );
    other.put_tokens(&tokens(6, 2)).await.unwrap();
    assert_eq!(v.get_tokens(6).await.unwrap(), Some(tokens(6, 1)), "cached");
    v.invalidate(6);
    assert_eq!(v.get_tokens(6).await.unwrap(), Some(tokens(6, 2)), "re-read after invalidation");
}
