//! Refresh-token rotation across consumer containers: two consumers, each with its own
//! Secrets Manager vault (and so its own 60 s cache) over one moto secret, against
//! fake-strava, which rotates refresh tokens and refuses a spent one.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use common::*;
use serde_json::json;
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_aws::sqs::SqsQueue;
use stravasync_consumer::{Consumer, Outcome};
use stravasync_core::Secret;
use stravasync_core::model::{AppCredentials, AthleteId, OAuthTokens};
use stravasync_core::ports::{TokenVault, VaultError};
use stravasync_strava::{StravaClient, StravaConfig};

const T: i64 = 1_763_755_200;
const TOKEN_TTL_S: i64 = 21_600;

/// A vault that holds an old pair in its cache and whose next fresh read still answers it
/// once: a rotation by another container that lands right after this one read the secret.
struct LaggingOnce {
    inner: SecretsVault,
    stale: Mutex<Option<OAuthTokens>>,
}

impl TokenVault for LaggingOnce {
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
        let h = harness(label, "read,activity:read_all").await;
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
        Consumer::new(self.h.consumer.config.clone(), strava, self.h.stack.store(), vault, queue_of(&self.h.stack))
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
fn refetch(id: i64, time: i64) -> stravasync_core::event::Job {
    event_job("activity", id, "update", json!({"description": "x"}), time)
}

async fn run<V: TokenVault>(c: &Consumer<DynamoStore, V, SqsQueue>, job: &stravasync_core::event::Job) -> Outcome {
    c.process(&record(job, "m", 1)).await
}

#[tokio::test]
async fn a_container_with_a_cached_pair_takes_the_pair_another_container_rotated() {
    let w = World::new("rotation-cached").await;
    let a = w.container(w.h.stack.vault());
    let b = w.container(w.h.stack.vault());
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
    let a = w.container(LaggingOnce { inner: w.h.stack.vault(), stale: Mutex::new(Some(old)) });
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
