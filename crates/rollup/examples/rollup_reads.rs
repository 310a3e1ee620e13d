//! Read units of a ten-year full recompute on DynamoDB (the local moto server), counted
//! from the items each query returns as DynamoDB bills them (`DynamoStore::query_read_units`:
//! half a unit per started 4 KB per page; moto itself reports no real figure).
//!
//! `infra/with-moto.sh cargo run --release -p stravasync-rollup --example rollup_reads`
//!
//! Ten years of one athlete: an activity six days a week (3,131), scored.

use stravasync_aws::local::{LocalStack, local_app_credentials, unique_suffix};
use stravasync_aws::resources::ResourceNames;
use stravasync_core::LocalDate;
use stravasync_core::model::AthleteProfile;
use stravasync_core::ports::roles::*;
use stravasync_rollup::{Rollup, RollupRequest};
use stravasync_testkit::scored_activity;

#[tokio::main]
async fn main() {
    let sdk = stravasync_aws::sdk_config_from_env().expect("AWS environment (run under infra/with-moto.sh)");
    let stack = LocalStack::create(sdk, ResourceNames::local(&unique_suffix("reads")), &local_app_credentials())
        .await
        .expect("a local stack (run under infra/with-moto.sh)");
    let store = stack.store();
    let start: LocalDate = "2016-01-01".parse().unwrap();
    let days = 3653;
    let today = start.add_days(days - 1);
    let now = i64::from(today.days_since_epoch()) * 86_400 + 43_200;
    store.put_profile(&AthleteProfile::new(1)).await.unwrap();
    let mut activities = 0;
    for d in 0..days {
        if d % 7 != 3 {
            let load = f64::from((d * 37) % 160);
            store.put_activity(&scored_activity(1, i64::from(d), start.add_days(d), load)).await.unwrap();
            activities += 1;
        }
    }
    let rollup = Rollup::new(store.clone(), stack.queue());
    let full = RollupRequest { athlete_id: Some(1), ..Default::default() };
    rollup.run(&full, now).await.unwrap(); // writes the rows
    let before = store.query_read_units();
    let loads = store.daily_loads(1, "1970-01-01".parse().unwrap(), today.add_days(366)).await.unwrap();
    let loads_units = store.query_read_units() - before;
    let before = store.query_read_units();
    let rows = store.pmc_rows(1, start, today).await.unwrap();
    let rows_units = store.query_read_units() - before;
    let before = store.query_read_units();
    let report = rollup.run(&full, now).await.unwrap();
    let recompute_units = store.query_read_units() - before;
    let before = store.query_read_units();
    let items = store.activities_between(1, "1970-01-01".parse().unwrap(), today.add_days(366)).await.unwrap();
    let items_units = store.query_read_units() - before;
    println!("{activities} activities over {days} days; {} PMC rows", rows.len());
    println!("full recompute: {recompute_units} read units (rows rewritten: {})", report.rows_written);
    println!("  of which the loads index: {loads_units} units for {} (date, load) pairs", loads.len());
    println!("  of which the stored PMC rows: {rows_units} units for {} rows", rows.len());
    println!(
        "the same history as full items (by_date, the read before): {items_units} units per query for {}",
        items.len()
    );
}
