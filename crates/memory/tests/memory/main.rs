//! The in-memory ports follow the adapters' rules (which `stravasync-aws`'s tests check on
//! moto): versions and tombstones, conditional profile updates, rations that never outlive
//! the profile, the budget's limits and holds, the vault's conditional replace, FIFO
//! deduplication.

use stravasync_core::job::QueueMessage;
use stravasync_core::model::{
    ActivityId, AppCredentials, AthleteProfile, OAuthTokens, RateWindow, RateWindowKind, Scopes, StoredActivity,
    Tombstone,
};
use stravasync_core::ports::{
    ActivityStore, EventQueue, RateBudget, Ration, RationStore, Reservation, TokenVault, VaultError, WriteOutcome,
};
use stravasync_core::{LocalDate, Secret};
use stravasync_memory::*;

const ATHLETE: i64 = 7;

fn activity(id: ActivityId, version: i64, date: &str) -> StoredActivity {
    let summary = serde_json::from_value(serde_json::json!({
        "id": id, "sport_type": "Ride", "start_date": format!("{date}T08:00:00Z"), "start_date_local": format!("{date}T09:00:00Z")
    }))
    .unwrap();
    StoredActivity {
        schema: 1,
        athlete_id: ATHLETE,
        activity_id: id,
        version,
        local_date: date.parse().unwrap(),
        summary,
        metrics: None,
        stream_chunks: 0,
        streams_id: None,
        unscored_reason: None,
        pending_streams: false,
        field_versions: Default::default(),
    }
}

#[tokio::test]
async fn versions_decide_and_deletes_win_ties() {
    let s = MemoryStore::default();
    assert_eq!(s.put_activity(&activity(1, 10, "2024-01-01")).await.unwrap(), WriteOutcome::Written);
    assert_eq!(
        s.put_activity(&activity(1, 9, "2024-01-01")).await.unwrap(),
        WriteOutcome::Stale { stored_version: 10 }
    );
    assert_eq!(s.put_activity(&activity(1, 10, "2024-01-02")).await.unwrap(), WriteOutcome::Written);
    let t = Tombstone { athlete_id: ATHLETE, activity_id: 1, version: 10 };
    assert_eq!(s.put_tombstone(t).await.unwrap(), WriteOutcome::Written);
    assert_eq!(
        s.put_activity(&activity(1, 10, "2024-01-01")).await.unwrap(),
        WriteOutcome::Stale { stored_version: 10 }
    );
    assert_eq!(s.put_activity(&activity(1, 11, "2024-01-01")).await.unwrap(), WriteOutcome::Written);
}

#[tokio::test]
async fn profiles_update_only_when_stored_and_deleting_an_athlete_leaves_nothing() {
    let s = MemoryStore::default();
    assert_eq!(s.update_profile(ATHLETE, |_| true).await.unwrap(), None, "never recreated");
    s.put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    let updated = s
        .update_profile(ATHLETE, |p| {
            p.firstname = Some("Ada".into());
            true
        })
        .await
        .unwrap();
    assert_eq!(updated.unwrap().firstname.as_deref(), Some("Ada"));
    s.put_activity(&activity(1, 1, "2024-01-01")).await.unwrap();
    s.mark_pmc_dirty(ATHLETE, LocalDate::from_ymd(2024, 1, 1).unwrap()).await.unwrap();
    assert!(s.athlete_has_items(ATHLETE).await.unwrap());
    assert!(s.delete_athlete(ATHLETE).await.unwrap() >= 3);
    assert!(!s.athlete_has_items(ATHLETE).await.unwrap());
}

#[tokio::test]
async fn rations_are_taken_once_per_window_and_go_with_the_profile() {
    let s = MemoryStore::default();
    let now = 1_764_590_400;
    assert_eq!(s.take_export(ATHLETE, now, 300).await.unwrap(), Ration::NotConnected, "no profile, nothing written");
    s.put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    assert_eq!(s.take_export(ATHLETE, now, 300).await.unwrap(), Ration::Granted { activities: 1 });
    assert_eq!(
        s.take_export(ATHLETE, now + 100, 300).await.unwrap(),
        Ration::Wait { retry_after_s: 200, remaining: 0 }
    );
    assert_eq!(s.take_backfill(ATHLETE, Some(8), 10, now).await.unwrap(), Ration::Granted { activities: 8 });
    assert!(matches!(s.take_backfill(ATHLETE, Some(5), 10, now).await.unwrap(), Ration::Wait { remaining: 2, .. }));
    assert_eq!(s.take_backfill(ATHLETE, None, 10, now).await.unwrap(), Ration::Granted { activities: 2 });
    s.delete_athlete(ATHLETE).await.unwrap();
    s.put_profile(&AthleteProfile::new(ATHLETE)).await.unwrap();
    assert_eq!(
        s.take_export(ATHLETE, now + 100, 300).await.unwrap(),
        Ration::Granted { activities: 1 },
        "a fresh start"
    );
}

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

#[tokio::test]
async fn pages_follow_the_by_date_index_order_and_its_cursors() {
    // Same-day ids of different lengths sort as the index's strings do ("…#10" < "…#9").
    let store = MemoryStore::default();
    let ids: [(ActivityId, &str); 6] = [
        (9, "2026-03-02"),
        (10, "2026-03-02"),
        (100, "2026-03-01"),
        (7, "2026-03-03"),
        (8, "2026-03-01"),
        (11, "2026-03-02"),
    ];
    for (id, date) in ids {
        store.put_activity(&activity(id, 1, date)).await.unwrap();
    }
    let mut want: Vec<StoredActivity> = ids.iter().map(|(id, date)| activity(*id, 1, date)).collect();
    want.sort_by_key(|a| std::cmp::Reverse(stravasync_core::view::activity_sort_key(a)));
    let want: Vec<ActivityId> = want.iter().map(|a| a.activity_id).collect();
    assert_eq!(want, [7, 9, 11, 10, 8, 100]);
    // Walked two at a time with the cursors the list hands out.
    let mut got = Vec::new();
    let mut before = None;
    loop {
        let page = store.activities_page(ATHLETE, before, 2).await.unwrap();
        got.extend(page.iter().map(|a| a.activity_id));
        match page.last() {
            Some(last) if page.len() == 2 => before = Some(stravasync_core::view::ActivityCursor::after(last)),
            _ => break,
        }
    }
    assert_eq!(got, want);
    // A whole-day cursor: everything before that day.
    let day = stravasync_core::view::ActivityCursor { date: "2026-03-02".parse().unwrap(), activity: None };
    let older: Vec<ActivityId> =
        store.activities_page(ATHLETE, Some(day), 10).await.unwrap().iter().map(|a| a.activity_id).collect();
    assert_eq!(older, [8, 100]);
}
