//! The in-memory ports follow the adapters' rules.

use stravasync_core::event::QueueMessage;
use stravasync_core::model::{ActivityId, RateWindow, StoredActivity, Tombstone};
use stravasync_core::ports::{ActivityStore, EventQueue, RateBudget, Reservation, WriteOutcome};
use stravasync_testkit::memory::*;

use stravasync_core::model::{ActivitySummary, RateWindowKind};

fn activity(id: ActivityId, version: i64, date: &str) -> StoredActivity {
    StoredActivity { version, ..stravasync_testkit::scored_activity(7, id, date.parse().unwrap(), 1.0) }
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
    let t = Tombstone { athlete_id: 7, activity_id: 1, version: 10 };
    assert_eq!(s.put_tombstone(t).await.unwrap(), WriteOutcome::Written);
    assert_eq!(
        s.put_activity(&activity(1, 10, "2024-01-01")).await.unwrap(),
        WriteOutcome::Stale { stored_version: 10 }
    );
    assert_eq!(s.put_activity(&activity(1, 11, "2024-01-01")).await.unwrap(), WriteOutcome::Written);
    let _: ActivitySummary = activity(1, 1, "2024-01-01").summary;
}

#[tokio::test]
async fn rate_budget_never_passes_the_limit() {
    let b = MemoryRateBudget::default();
    let w = RateWindow::containing(RateWindowKind::QuarterHour, 0);
    assert_eq!(b.reserve(w, 2, 3).await.unwrap(), Reservation::Granted { used: 2 });
    assert_eq!(b.reserve(w, 2, 3).await.unwrap(), Reservation::Exhausted { used: 2 });
    b.record_usage(w, 3).await.unwrap();
    assert_eq!(b.reserve(w, 1, 3).await.unwrap(), Reservation::Exhausted { used: 3 });
}

#[tokio::test]
async fn queue_dedups() {
    let q = MemoryQueue::default();
    let m = QueueMessage { group_id: "g".into(), dedup_id: "d".into(), body: "b".into() };
    q.enqueue(&m).await.unwrap();
    q.enqueue(&m).await.unwrap();
    assert_eq!(q.messages().len(), 1);
}
