//! Refresh-token rotation across consumer containers: two consumers, each with its own
//! Secrets Manager vault (and so its own 60 s cache) over one moto secret, against
//! fake-strava, which rotates refresh tokens and refuses a spent one.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::common::*;
use serde_json::json;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::sqs::SqsQueue;
use stravasync_consumer::{Consumer, Outcome};
use stravasync_core::Secret;
use stravasync_core::model::{AppCredentials, AthleteId, OAuthTokens};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{TokenVault, VaultError};
use stravasync_strava::{StravaClient, StravaConfig};

const T: i64 = 1_763_755_200;
const TOKEN_TTL_S: i64 = 21_600;

/// A vault that holds an old pair in its cache and whose next fresh read still answers it
/// once: a rotation by another container that lands right after this one read the secret.
struct LaggingOnce<V> {
    inner: V,
    stale: Mutex<Option<OAuthTokens>>,
}

impl<V: TokenVault> TokenVault for LaggingOnce<V> {
    async fn get_tokens(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        let cached = self.stale.lock().unwrap().clone();
        match cached {
            Some(t) => Ok(Some(t)),
            None => self.inner.get_tokens(athlete).await,
        }
    }
    async fn get_tokens_fresh(&self, athlete: AthleteId) -> Result<Option<OAuthTokens>, VaultError> {
        let stale = self.stale.lock().unwrap().take();
        match stale {
            Some(t) => Ok(Some(t)),
            None => self.inner.get_tokens_fresh(athlete).await,
        }
    }
    async fn put_tokens(&self, tokens: &OAuthTokens) -> Result<(), VaultError> {
        self.inner.put_tokens(tokens).await
    }
    async fn replace_tokens(&self, previous: &OAuthTokens, next: &OAuthTokens) -> Result<(), VaultError> {
        self.inner.replace_tokens(previous, next).await
    }
    async fn delete_tokens(&self, athlete: AthleteId) -> Result<(), VaultError> {
        self.inner.delete_tokens(athlete).await
    }
    async fn app_credentials(&self) -> Result<AppCredentials, VaultError> {
        self.inner.app_credentials().await
    }
}

struct World {
    h: Harness,
    clock: Arc<AtomicI64>,
}

impl World {
    async fn new(label: &str) -> World {
        World::on(harness(label, "read,activity:read_all").await)
    }

    /// With the tokens in the table under a KMS key (`TOKEN_STORE=dynamodb-kms`).
    async fn kms(label: &str) -> World {
        World::on(harness_kms(label, "read,activity:read_all").await)
    }

    fn on(h: Harness) -> World {
        let clock = Arc::new(AtomicI64::new(h.fake.state.now()));
        World { h, clock }
    }

    /// A second container: its own vault and cache, its own HTTP client, the shared clock.
    fn container<V: TokenVault>(&self, vault: V) -> Consumer<DynamoStore, V, SqsQueue> {
        let clock = self.clock.clone();
        let strava = StravaClient::new(
            StravaConfig::new("12345", Secret::new("client-secret-value"))
                .with_urls(self.h.fake.api_url(), self.h.fake.oauth_url())
                .with_clock(Arc::new(move || clock.load(Ordering::SeqCst))),
        )
        .unwrap();
        Consumer::new(self.h.consumer.policy.clone(), strava, self.h.stack.store(), vault, queue_of(&self.h.stack))
    }

    /// Moves both clocks (consumers' and fake-strava's) past the tokens' expiry.
    fn expire(&self) {
        let later = self.clock.fetch_add(TOKEN_TTL_S, Ordering::SeqCst) + TOKEN_TTL_S;
        self.h.fake.state.set_now(later);
    }

    fn refreshes(&self) -> usize {
        self.h.fake.state.requests_to("/oauth/token")
    }
}

/// A refetching update: needs Strava calls, so it needs tokens.
fn refetch(id: i64, time: i64) -> stravasync_core::job::Job {
    event_job("activity", id, "update", json!({"description": "x"}), time)
}

async fn run<V: TokenVault>(c: &Consumer<DynamoStore, V, SqsQueue>, job: &stravasync_core::job::Job) -> Outcome {
    c.process(&record(job, "m", 1)).await
}

#[tokio::test]
async fn a_container_with_a_cached_pair_takes_the_pair_another_container_rotated() {
    cached_pair_rotation(World::new("rotation-cached").await).await;
}

#[tokio::test]
async fn a_container_with_a_cached_pair_takes_the_pair_another_container_rotated_kms() {
    cached_pair_rotation(World::kms("rotation-cached-kms").await).await;
}

async fn cached_pair_rotation(w: World) {
    let a = w.container(w.h.stack.token_vault());
    let b = w.container(w.h.stack.token_vault());
    // A caches the first pair.
    assert_eq!(run(&a, &refetch(EDGE810, T)).await, Outcome::Done);
    w.expire();
    // B refreshes: Strava rotates the refresh token; the one A cached is now spent.
    assert_eq!(run(&b, &refetch(FENIX2, T)).await, Outcome::Done);
    assert_eq!(w.refreshes(), 1);
    // A's cache still holds the spent pair (well inside its 60 s TTL). Refreshing from it
    // would be refused and send the athlete's message to the DLQ; A reads the secret fresh
    // and uses the pair B stored, with no second refresh.
    assert_eq!(run(&a, &refetch(EDGE810, T + 1)).await, Outcome::Done);
    assert_eq!(w.refreshes(), 1, "no refresh from the cached, spent pair");
    // And again, both ways round, after the next expiry.
    w.expire();
    assert_eq!(run(&a, &refetch(EDGE810, T + 2)).await, Outcome::Done);
    assert_eq!(run(&b, &refetch(FENIX2, T + 2)).await, Outcome::Done);
    assert_eq!(w.refreshes(), 2);
}

#[tokio::test]
async fn a_refused_refresh_is_retried_once_with_the_pair_read_again() {
    let w = World::new("rotation-race").await;
    let old = w.h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    let b = w.container(w.h.stack.vault());
    w.expire();
    assert_eq!(run(&b, &refetch(FENIX2, T)).await, Outcome::Done);
    // A reads the old pair just before B's rotation lands: its refresh is refused, the
    // re-read shows a different refresh token, and that one is used.
    let a = w.container(LaggingOnce { inner: w.h.stack.token_vault(), stale: Mutex::new(Some(old)) });
    assert_eq!(run(&a, &refetch(EDGE810, T)).await, Outcome::Done);
    let routes: Vec<String> = w.h.fake.state.requests().into_iter().map(|r| r.route).collect();
    let token_calls = routes.iter().filter(|r| *r == "/oauth/token").count();
    assert_eq!(token_calls, 2, "B's refresh, and A's refused one; the re-read pair needed none: {routes:?}");
}

#[tokio::test]
async fn a_refusal_after_a_fresh_read_is_a_revoked_authorization() {
    let w = World::new("rotation-revoked").await;
    let a = w.container(w.h.stack.vault());
    assert_eq!(run(&a, &refetch(EDGE810, T)).await, Outcome::Done);
    w.h.fake.state.revoke(ATHLETE);
    w.expire();
    match run(&a, &refetch(EDGE810, T + 1)).await {
        Outcome::Poison { reason } => assert!(reason.contains("refused the athlete's authorization"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.refreshes(), 1, "one refusal, re-read, same token: not tried twice");
}

#[tokio::test]
async fn a_new_authorization_that_lands_during_a_refresh_is_kept_kms() {
    // The conditional write of the table's vault: a container refreshes from the pair it
    // read just before the athlete connected again; the new connection's pair stays.
    let w = World::kms("rotation-reconnect-kms").await;
    let old = w.h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    w.expire();
    let reconnected =
        stravasync_testkit::mint_tokens(&w.h.fake, &w.h.consumer.vault, ATHLETE, "read,activity:read_all").await;
    let a = w.container(LaggingOnce { inner: w.h.stack.token_vault(), stale: Mutex::new(Some(old.clone())) });
    assert_eq!(run(&a, &refetch(EDGE810, T)).await, Outcome::Done);
    assert_eq!(w.refreshes(), 1, "A refreshed the old connection's pair");
    let stored = w.h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap().unwrap();
    assert_eq!(stored, reconnected, "the rotation of the older pair did not overwrite the new connection's");
    // The next container reads the new connection's pair and needs no refresh.
    let b = w.container(w.h.stack.token_vault());
    assert_eq!(run(&b, &refetch(FENIX2, T + 1)).await, Outcome::Done);
    assert_eq!(w.refreshes(), 1);
}

#[tokio::test]
async fn a_deauthorization_deletes_the_sealed_tokens_and_the_data_kms() {
    let w = World::kms("deauth-kms").await;
    let a = w.container(w.h.stack.token_vault());
    assert_eq!(run(&a, &refetch(EDGE810, T)).await, Outcome::Done);
    assert!(w.h.consumer.store.get_activity(ATHLETE, EDGE810).await.unwrap().is_some());
    let deauth = event_job("athlete", ATHLETE, "update", json!({"authorized": "false"}), T + 10);
    assert_eq!(run(&a, &deauth).await, Outcome::Done);
    assert_eq!(w.h.consumer.vault.get_tokens_fresh(ATHLETE).await.unwrap(), None);
    let left = aws_sdk_dynamodb::Client::new(&w.h.stack.sdk)
        .query()
        .table_name(&w.h.stack.names.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ATH#{ATHLETE}")))
        .send()
        .await
        .unwrap();
    assert_eq!(left.count, 0, "nothing of the athlete is left, tokens included: {:?}", left.items);
}
