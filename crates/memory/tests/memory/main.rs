//! The in-memory ports follow the adapters' rules: the store is held to the storage
//! contract (`stravasync-contract`, which `stravasync-aws`'s tests run on DynamoDB on moto);
//! the standalone budget's limits and holds, the vault's conditional replace and FIFO
//! deduplication are tested here.

use stravasync_core::Secret;
use stravasync_core::job::QueueMessage;
use stravasync_core::model::{AppCredentials, OAuthTokens, RateWindow, RateWindowKind, Scopes};
use stravasync_core::ports::{EventQueue, RateBudget, Reservation, TokenVault, VaultError};
use stravasync_memory::*;

const ATHLETE: i64 = 7;

#[tokio::test]
async fn rate_budget_never_passes_the_limit_and_holds_windows_for_events() {
    let b = MemoryRateBudget::default();
    let w = RateWindow::containing(RateWindowKind::QuarterHour, 0);
    assert_eq!(b.reserve(w, 2, 3).await.unwrap(), Reservation::Granted { used: 2 });
    assert_eq!(b.reserve(w, 2, 3).await.unwrap(), Reservation::Exhausted { used: 2 });
    b.record_usage(w, 3).await.unwrap();
    assert_eq!(b.reserve(w, 1, 3).await.unwrap(), Reservation::Exhausted { used: 3 });
    let next = w.next();
    b.hold_for_events(next).await.unwrap();
    assert_eq!(b.reserve_background(next, 1, 3).await.unwrap(), Reservation::Held { used: 0 });
    assert_eq!(b.reserve(next, 1, 3).await.unwrap(), Reservation::Granted { used: 1 }, "events still reserve");
}

#[tokio::test]
async fn the_vault_replaces_only_the_pair_it_was_given() {
    let app = AppCredentials {
        client_id: "1".into(),
        client_secret: Secret::new("s"),
        verify_token: Secret::new("v"),
        subscription_id: 1,
    };
    let v = MemoryVault::new(app);
    let pair = |access: &str| OAuthTokens {
        athlete_id: ATHLETE,
        access_token: Secret::new(access),
        refresh_token: Secret::new(format!("r-{access}")),
        expires_at: 10,
        scopes: Scopes::parse("read"),
        connected_at: 0,
    };
    v.put_tokens(&pair("a")).await.unwrap();
    v.replace_tokens(&pair("a"), &pair("b")).await.unwrap();
    assert_eq!(v.replace_tokens(&pair("a"), &pair("c")).await, Err(VaultError::Conflict(ATHLETE)));
    assert_eq!(v.get_tokens(ATHLETE).await.unwrap(), Some(pair("b")));
    v.delete_tokens(ATHLETE).await.unwrap();
    assert_eq!(v.get_tokens(ATHLETE).await.unwrap(), None);
}

#[tokio::test]
async fn queue_dedups() {
    let q = MemoryQueue::default();
    let m = QueueMessage { group_id: "g".into(), dedup_id: "d".into(), body: "b".into() };
    q.enqueue(&m).await.unwrap();
    q.enqueue(&m).await.unwrap();
    assert_eq!(q.messages().len(), 1);
}

async fn fresh_store(_label: &str) -> (MemoryStore, ()) {
    (MemoryStore::default(), ())
}

stravasync_contract::store_contract!(fresh_store);
