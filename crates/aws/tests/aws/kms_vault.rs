//! The DynamoDB + KMS token vault (`TokenStore=dynamodb-kms`) against a moto server:
//! moto's KMS generates and decrypts the data keys, moto's DynamoDB holds the items.

use crate::common;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use stravasync_aws::dynamo::TOKENS_SK;
use stravasync_aws::kms_vault::KmsVault;
use stravasync_core::Secret;
use stravasync_core::model::{AthleteId, OAuthTokens, Scopes};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{TokenVault, VaultError};

async fn kms_stack(label: &str) -> common::Stack {
    common::stack(label).await.with_kms_token_store().await.expect("KMS key on moto")
}

fn vault(stack: &common::Stack) -> KmsVault {
    let stravasync_core::config::TokenStore::DynamoKms { key_id } = &stack.token_store else { panic!("a KMS stack") };
    KmsVault::new(
        aws_sdk_dynamodb::Client::new(&stack.sdk),
        &stack.names.table,
        aws_sdk_kms::Client::new(&stack.sdk),
        key_id,
        stack.vault(),
    )
}

fn tokens(athlete: AthleteId, n: u32) -> OAuthTokens {
    OAuthTokens {
        athlete_id: athlete,
        access_token: Secret::new(format!("access-{athlete}-{n}")),
        refresh_token: Secret::new(format!("refresh-{athlete}-{n}")),
        expires_at: 1_700_000_000 + i64::from(n),
        scopes: Scopes::parse("read,activity:read_all"),
        connected_at: 1_690_000_000,
    }
}

fn key(athlete: AthleteId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".into(), AttributeValue::S(format!("ATH#{athlete}"))),
        ("sk".into(), AttributeValue::S(TOKENS_SK.into())),
    ])
}

/// A change to a stored item.
type Damage = dyn Fn(&mut HashMap<String, AttributeValue>);

async fn raw_item(stack: &common::Stack, athlete: AthleteId) -> Option<HashMap<String, AttributeValue>> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    client.get_item().table_name(&stack.names.table).set_key(Some(key(athlete))).send().await.unwrap().item
}

async fn put_raw(stack: &common::Stack, item: HashMap<String, AttributeValue>) {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    client.put_item().table_name(&stack.names.table).set_item(Some(item)).send().await.unwrap();
}

#[tokio::test]
async fn tokens_round_trip_sealed_and_are_deleted() {
    let stack = kms_stack("kms-roundtrip").await;
    let v = vault(&stack);
    let athlete = 1 << 40;
    assert_eq!(v.get_tokens(athlete).await.unwrap(), None);
    v.put_tokens(&tokens(athlete, 1)).await.unwrap();
    assert_eq!(v.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 1)));
    // Another container (no cache) reads what this one wrote.
    let other = vault(&stack).with_cache_ttl(Duration::ZERO);
    assert_eq!(other.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 1)));
    assert_eq!(other.stored_version(athlete).await.unwrap(), Some(1));

    // The item holds no token in the clear, in any attribute.
    let item = raw_item(&stack, athlete).await.unwrap();
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["data_key", "nonce", "pk", "sealed", "sk", "v"]);
    let text = format!("{item:?}");
    for value in [&tokens(athlete, 1).access_token, &tokens(athlete, 1).refresh_token] {
        assert!(!text.contains(value.expose()), "a token in the clear");
        for a in item.values() {
            if let AttributeValue::B(b) = a {
                let bytes = b.as_ref();
                let needle = value.expose().as_bytes();
                assert!(!bytes.windows(needle.len()).any(|w| w == needle), "a token in a binary attribute");
            }
        }
    }
    let AttributeValue::B(nonce) = &item["nonce"] else { panic!("binary nonce") };
    assert_eq!(nonce.as_ref().len(), 12);

    // Every write seals with a new data key and nonce.
    v.put_tokens(&tokens(athlete, 1)).await.unwrap();
    let again = raw_item(&stack, athlete).await.unwrap();
    assert_ne!(again["data_key"], item["data_key"]);
    assert_ne!(again["nonce"], item["nonce"]);
    assert_eq!(again["v"], AttributeValue::N("2".into()));

    v.delete_tokens(athlete).await.unwrap();
    assert_eq!(v.get_tokens(athlete).await.unwrap(), None);
    assert_eq!(other.get_tokens(athlete).await.unwrap(), None);
    assert!(raw_item(&stack, athlete).await.is_none());
    v.delete_tokens(athlete).await.unwrap();
    // A new authorization after a deletion is stored and read again.
    v.put_tokens(&tokens(athlete, 5)).await.unwrap();
    assert_eq!(other.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 5)));
    // App credentials and the session key still come from Secrets Manager.
    assert_eq!(v.app_credentials().await.unwrap(), common::app_credentials());
    assert!(v.named_secret(&stack.names.session_secret_id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_rotation_from_a_pair_another_writer_replaced_is_a_conflict_and_writes_nothing() {
    let stack = kms_stack("kms-rotation").await;
    let athlete = 7;
    let (a, b) = (vault(&stack), vault(&stack));
    a.put_tokens(&tokens(athlete, 1)).await.unwrap();
    // Both containers hold pair 1 (B in its cache).
    assert_eq!(b.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 1)));
    a.replace_tokens(&tokens(athlete, 1), &tokens(athlete, 2)).await.unwrap();
    // B rotates from its cached pair 1: refused, nothing written, and its cache is not
    // trusted after that.
    assert_eq!(b.replace_tokens(&tokens(athlete, 1), &tokens(athlete, 3)).await, Err(VaultError::Conflict(athlete)));
    assert_eq!(b.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 2)));
    assert_eq!(a.stored_version(athlete).await.unwrap(), Some(2));
    // From the pair it read again, B's rotation succeeds.
    b.replace_tokens(&tokens(athlete, 2), &tokens(athlete, 3)).await.unwrap();
    // A new authorization (put) wins over whatever is stored; a rotation of the older
    // connection's pair then conflicts, even from a cache that still holds it.
    assert_eq!(a.get_tokens(athlete).await.unwrap(), Some(tokens(athlete, 2)), "A's cache");
    b.put_tokens(&tokens(athlete, 9)).await.unwrap();
    assert_eq!(a.replace_tokens(&tokens(athlete, 3), &tokens(athlete, 4)).await, Err(VaultError::Conflict(athlete)));
    assert_eq!(a.get_tokens_fresh(athlete).await.unwrap(), Some(tokens(athlete, 9)));
    // A rotation of deleted tokens (a deauthorization meanwhile) writes nothing either.
    b.delete_tokens(athlete).await.unwrap();
    assert_eq!(a.replace_tokens(&tokens(athlete, 9), &tokens(athlete, 10)).await, Err(VaultError::Conflict(athlete)));
    assert!(raw_item(&stack, athlete).await.is_none());
}

#[tokio::test]
async fn concurrent_rotations_from_one_pair_let_exactly_one_win() {
    let stack = kms_stack("kms-race").await;
    let athlete = 8;
    let vaults: Vec<KmsVault> = (0..6).map(|_| vault(&stack)).collect();
    vaults[0].put_tokens(&tokens(athlete, 1)).await.unwrap();
    for v in &vaults {
        v.get_tokens(athlete).await.unwrap();
    }
    let results =
        futures_util::future::join_all(vaults.iter().enumerate().map(|(i, v)| async move {
            v.replace_tokens(&tokens(athlete, 1), &tokens(athlete, 100 + i as u32)).await
        }))
        .await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || *r == Err(VaultError::Conflict(athlete))), "{results:?}");
    let stored = vaults[0].get_tokens_fresh(athlete).await.unwrap();
    assert_eq!(stored, Some(tokens(athlete, 100 + winners[0] as u32)));
}

#[tokio::test]
async fn an_item_moved_to_another_athlete_is_refused_not_read() {
    let stack = kms_stack("kms-swap").await;
    let v = vault(&stack).with_cache_ttl(Duration::ZERO);
    let (one, two) = (11, 12);
    v.put_tokens(&tokens(one, 1)).await.unwrap();
    v.put_tokens(&tokens(two, 1)).await.unwrap();
    let item_one = raw_item(&stack, one).await.unwrap();
    let item_two = raw_item(&stack, two).await.unwrap();

    // Athlete one's whole item under athlete two's key: KMS refuses the data key under
    // athlete two's encryption context.
    let mut moved = item_one.clone();
    moved.extend(key(two));
    put_raw(&stack, moved).await;
    match v.get_tokens(two).await {
        Err(VaultError::Malformed { field, .. }) => assert_eq!(field, "data_key"),
        other => panic!("{other:?}"),
    }
    // With athlete two's own data key but athlete one's seal: the seal does not open.
    let mut spliced = item_two.clone();
    spliced.insert("nonce".into(), item_one["nonce"].clone());
    spliced.insert("sealed".into(), item_one["sealed"].clone());
    put_raw(&stack, spliced).await;
    match v.get_tokens(two).await {
        Err(VaultError::Malformed { field, .. }) => assert_eq!(field, "sealed"),
        other => panic!("{other:?}"),
    }
    // Athlete one is untouched.
    assert_eq!(v.get_tokens(one).await.unwrap(), Some(tokens(one, 1)));
}

#[tokio::test]
async fn a_damaged_item_names_the_attribute_and_never_a_token() {
    let stack = kms_stack("kms-damaged").await;
    let v = vault(&stack).with_cache_ttl(Duration::ZERO);
    let athlete = 21;
    v.put_tokens(&tokens(athlete, 1)).await.unwrap();
    let good = raw_item(&stack, athlete).await.unwrap();
    let AttributeValue::B(sealed) = &good["sealed"] else { panic!() };
    let mut flipped = sealed.as_ref().to_vec();
    flipped[0] ^= 1;
    let cases: Vec<(&str, Box<Damage>, &str)> = vec![
        ("nonce", Box::new(|i| drop(i.remove("nonce"))), "missing"),
        ("nonce", Box::new(|i| drop(i.insert("nonce".into(), AttributeValue::B(vec![0; 5].into())))), "not 12 bytes"),
        ("data_key", Box::new(|i| drop(i.insert("data_key".into(), AttributeValue::S("x".into())))), "not binary"),
        ("data_key", Box::new(|i| drop(i.insert("data_key".into(), AttributeValue::B(vec![1; 40].into())))), ""),
        ("v", Box::new(|i| drop(i.insert("v".into(), AttributeValue::S("1".into())))), "not a number"),
        ("v", Box::new(|i| drop(i.remove("v"))), "missing"),
        ("sealed", Box::new(move |i| drop(i.insert("sealed".into(), AttributeValue::B(flipped.clone().into())))), ""),
    ];
    for (field, damage, problem) in cases {
        let mut item = good.clone();
        damage(&mut item);
        put_raw(&stack, item).await;
        let e = v.get_tokens(athlete).await.unwrap_err();
        match &e {
            VaultError::Malformed { field: f, problem: p, .. } => {
                assert_eq!(f, field, "{e}");
                assert!(p.contains(problem), "{e}");
            }
            other => panic!("{field}: {other:?}"),
        }
        let text = e.to_string();
        assert!(!text.contains("access-") && !text.contains("refresh-"), "{text}");
        assert!(text.contains(&format!("ATH#{athlete}/TOKENS")), "{text}");
    }
}

#[tokio::test]
async fn deleting_an_athletes_data_leaves_the_vaults_item_to_the_vault() {
    // The consumer deletes the tokens first, then the athlete's data; tokens written
    // between the two (a new connection) must survive the second step.
    let stack = kms_stack("kms-delete-athlete").await;
    let v = vault(&stack);
    let store = stack.store();
    let athlete = 31;
    store.put_profile(&stravasync_core::model::AthleteProfile::new(athlete)).await.unwrap();
    v.put_tokens(&tokens(athlete, 1)).await.unwrap();
    assert_eq!(store.delete_athlete(athlete).await.unwrap(), 1, "the profile only");
    assert_eq!(store.get_profile(athlete).await.unwrap(), None);
    assert_eq!(v.get_tokens_fresh(athlete).await.unwrap(), Some(tokens(athlete, 1)));
}

#[tokio::test]
async fn an_unknown_key_is_an_error_not_a_silent_store() {
    let stack = common::stack("kms-nokey").await;
    let v = KmsVault::new(
        aws_sdk_dynamodb::Client::new(&stack.sdk),
        &stack.names.table,
        aws_sdk_kms::Client::new(&stack.sdk),
        "00000000-0000-0000-0000-000000000000",
        stack.vault(),
    );
    let e = v.put_tokens(&tokens(41, 1)).await.unwrap_err();
    assert!(matches!(e, VaultError::Rejected(_)), "{e:?}");
    assert!(!e.to_string().contains("access-41"), "{e}");
    assert!(raw_item(&stack, 41).await.is_none());
}
