//! The rollup on the in-memory store and on DynamoDB (moto).

use stravasync_core::LocalDate;
use stravasync_core::job::Job;
use stravasync_core::model::{AthleteProfile, PmcConstants};
use stravasync_core::pmc;
use stravasync_core::ports::roles::*;
use stravasync_rollup::{Mode, Rollup, RollupRequest};
use stravasync_testkit::memory::{MemoryQueue, MemoryStore};
use stravasync_testkit::scored_activity;

fn d(s: &str) -> LocalDate {
    s.parse().unwrap()
}

fn noon(date: &str) -> i64 {
    i64::from(d(date).days_since_epoch()) * 86_400 + 43_200
}

async fn seed(store: &impl ActivityStore, athlete: i64, acts: &[(i64, &str, f64)]) {
    store.put_profile(&AthleteProfile::new(athlete)).await.unwrap();
    for (id, date, load) in acts {
        store.put_activity(&scored_activity(athlete, *id, d(date), *load)).await.unwrap();
        store.mark_pmc_dirty(athlete, d(date)).await.unwrap();
    }
}

async fn scenario(store: impl ActivityStore) {
    let rollup = Rollup::new(store, MemoryQueue::default()).with_reconcile_every(1);
    seed(&rollup.store, 1, &[(10, "2024-03-01", 80.0), (11, "2024-03-01", 20.0), (12, "2024-03-05", 60.0)]).await;
    let today = noon("2024-03-10");
    let report = rollup.run(&RollupRequest::default(), today).await.unwrap();
    assert_eq!(report.rows_written, 10, "every day from the first activity to today");
    let rows = rollup.store.pmc_rows(1, d("2024-01-01"), d("2024-12-31")).await.unwrap();
    let expected = pmc::roll_forward(
        d("2024-03-01"),
        d("2024-03-10"),
        Default::default(),
        &pmc::daily_loads([(d("2024-03-01"), 100.0), (d("2024-03-05"), 60.0)]),
        PmcConstants::default(),
    );
    assert_eq!(rows, expected);
    assert_eq!(rollup.store.pmc_dirty_from(1).await.unwrap(), None, "marker cleared");

    // Nothing changed: nothing written.
    rollup.store.mark_pmc_dirty(1, d("2024-03-01")).await.unwrap();
    assert_eq!(rollup.run(&RollupRequest::default(), today).await.unwrap().rows_written, 0);

    // A new activity on 03-07: only 03-07..03-10 change and are written.
    seed(&rollup.store, 1, &[(13, "2024-03-07", 50.0)]).await;
    assert_eq!(rollup.run(&RollupRequest::default(), today).await.unwrap().rows_written, 4);
    let rows = rollup.store.pmc_rows(1, d("2024-01-01"), d("2024-12-31")).await.unwrap();
    let full = pmc::roll_forward(
        d("2024-03-01"),
        d("2024-03-10"),
        Default::default(),
        &pmc::daily_loads([(d("2024-03-01"), 100.0), (d("2024-03-05"), 60.0), (d("2024-03-07"), 50.0)]),
        PmcConstants::default(),
    );
    assert_eq!(rows, full, "incremental equals a full recompute");

    // An activity before the first day restarts the chart there.
    seed(&rollup.store, 1, &[(14, "2024-02-27", 30.0)]).await;
    rollup.run(&RollupRequest::default(), today).await.unwrap();
    let rows = rollup.store.pmc_rows(1, d("2024-01-01"), d("2024-12-31")).await.unwrap();
    assert_eq!(rows.first().unwrap().date, d("2024-02-27"));
    assert_eq!(rows.len(), 13);

    // Daily: the series is extended to today and a reconcile is enqueued.
    let report = rollup.run(&RollupRequest { mode: Mode::Daily, athlete_id: None }, noon("2024-03-13")).await.unwrap();
    assert_eq!(report.rows_written, 3);
    assert_eq!(report.reconciles_enqueued, 1);
    let job = Job::parse(&rollup.queue.messages()[0].body).unwrap();
    assert!(matches!(job, Job::Reconcile { athlete_id: 1, .. }));
    let last = rollup.store.pmc_rows(1, d("2024-03-13"), d("2024-03-13")).await.unwrap();
    assert_eq!(last[0].load, 0.0);

    // A full recompute of one athlete rewrites nothing when nothing changed.
    let report =
        rollup.run(&RollupRequest { mode: Mode::Dirty, athlete_id: Some(1) }, noon("2024-03-13")).await.unwrap();
    assert_eq!(report.rows_written, 0);
}

#[tokio::test]
async fn rollup_on_the_memory_store() {
    scenario(MemoryStore::default()).await;
}

#[tokio::test]
async fn rollup_on_dynamodb() {
    let stack = stravasync_aws::local::LocalStack::on_local_endpoint("rollup").await.expect("a stack on moto");
    scenario(stack.store()).await;
}

/// By default each athlete is reconciled once a week: a seventh of them a day, every one
/// within any seven days.
#[tokio::test]
async fn reconciles_rotate_through_the_week() {
    let rollup = Rollup::new(MemoryStore::default(), MemoryQueue::default());
    for athlete in 1..=70 {
        rollup.store.put_profile(&AthleteProfile::new(athlete)).await.unwrap();
    }
    let mut seen = std::collections::BTreeMap::new();
    for day in 0..7 {
        let today = noon("2024-03-10") + day * 86_400;
        let report = rollup.run(&RollupRequest { mode: Mode::Daily, athlete_id: None }, today).await.unwrap();
        assert_eq!(report.reconciles_enqueued, 10, "day {day}");
        for m in rollup.queue.take() {
            if let Job::Reconcile { athlete_id, .. } = Job::parse(&m.body).unwrap() {
                *seen.entry(athlete_id).or_insert(0) += 1;
            }
        }
    }
    assert_eq!(seen.len(), 70);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}
