//! Rollup cost for ten years of one athlete, on the in-memory store (so the figure is the
//! rollup's own CPU, not DynamoDB's latency), and the rows each run writes.
//! `cargo bench -p stravasync-rollup --bench rollup`

use criterion::{Criterion, criterion_group, criterion_main};
use stravasync_core::LocalDate;
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::roles::*;
use stravasync_rollup::{Rollup, RollupRequest};
use stravasync_testkit::memory::{MemoryQueue, MemoryStore};
use stravasync_testkit::scored_activity;

fn ten_years(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let start: LocalDate = "2016-01-01".parse().unwrap();
    let days = 3653;
    let today = start.add_days(days - 1);
    let now = i64::from(today.days_since_epoch()) * 86_400 + 43_200;
    let rollup = Rollup::new(MemoryStore::default(), MemoryQueue::default());
    rt.block_on(async {
        rollup.store.put_profile(&AthleteProfile::new(1)).await.unwrap();
        for d in 0..days {
            if d % 7 != 3 {
                let load = f64::from((d * 37) % 160);
                rollup.store.put_activity(&scored_activity(1, i64::from(d), start.add_days(d), load)).await.unwrap();
            }
        }
        rollup.store.mark_pmc_dirty(1, start).await.unwrap();
        let first = rollup.run(&RollupRequest::default(), now).await.unwrap();
        println!("first rollup of 10 years: {} rows written for {days} days", first.rows_written);
        // One new activity 30 days ago: exactly the days from then on change.
        let day = today.add_days(-29);
        rollup.store.put_activity(&scored_activity(1, 99_999, day, 75.0)).await.unwrap();
        rollup.store.mark_pmc_dirty(1, day).await.unwrap();
        let incremental = rollup.run(&RollupRequest::default(), now).await.unwrap();
        println!("incremental rollup after one activity 30 days ago: {} rows written", incremental.rows_written);
    });
    c.bench_function("rollup/full_recompute_10y", |b| {
        b.iter(|| rt.block_on(rollup.run(&RollupRequest { athlete_id: Some(1), ..Default::default() }, now)).unwrap())
    });
    let recent = today.add_days(-29);
    c.bench_function("rollup/incremental_last_30_days_of_10y", |b| {
        b.iter(|| {
            rt.block_on(async {
                rollup.store.mark_pmc_dirty(1, recent).await.unwrap();
                rollup.run(&RollupRequest::default(), now).await.unwrap()
            })
        })
    });
}

criterion_group!(benches, ten_years);
criterion_main!(benches);
