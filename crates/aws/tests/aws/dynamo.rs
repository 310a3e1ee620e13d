//! The DynamoDB repository against a moto server.

use crate::common;
use std::collections::BTreeMap;

use stravasync_aws::dynamo::DynamoStore;
use stravasync_core::LocalDate;
use stravasync_core::codec::{decode_chunks, encode_chunks, encode_chunks_sized, stream_set_id};
use stravasync_core::model::{
    ActivityState, AthleteProfile, PmcConstants, RateWindow, RateWindowKind, StoredActivity, StreamSetRef, Tombstone,
};
use stravasync_core::pmc;
use stravasync_core::ports::{ActivityStore, RateBudget, Reservation, StoreError, WriteOutcome};
use stravasync_core::streams::{NumericKey, StreamSet};

async fn store(label: &str) -> (DynamoStore, common::Stack) {
    let stack = common::stack(label).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&stack.sdk), &stack.names.table);
    (store, stack)
}

fn activity(athlete: i64, id: i64, version: i64, date: &str, name: &str) -> StoredActivity {
    let mut a = stravasync_testkit::scored_activity(athlete, id, date.parse().unwrap(), 80.5);
    a.version = version;
    a.summary.name = Some(name.to_string());
    a
}

const BIG_ID: i64 = 1 << 40;

#[tokio::test]
async fn profile_round_trip() {
    let (store, _stack) = store("profile").await;
    assert_eq!(store.get_profile(BIG_ID).await.unwrap(), None);
    let mut p = AthleteProfile::new(BIG_ID);
    p.thresholds.ftp = Some(265.0);
    store.put_profile(&p).await.unwrap();
    assert_eq!(store.get_profile(BIG_ID).await.unwrap(), Some(p));
    store.put_profile(&AthleteProfile::new(7)).await.unwrap();
    let mut athletes = store.athletes().await.unwrap();
    athletes.sort();
    assert_eq!(athletes, vec![7, BIG_ID], "listed through the sparse index");
}

#[tokio::test]
async fn activity_versions_conflict_and_tombstones_block_resurrection() {
    let (store, _stack) = store("versions").await;
    let a = activity(BIG_ID, BIG_ID + 1, 100, "2024-03-01", "first");
    assert_eq!(store.put_activity(&a).await.unwrap(), WriteOutcome::Written);
    // An older event loses and reports the stored version.
    let older = activity(BIG_ID, BIG_ID + 1, 99, "2024-03-01", "older");
    assert_eq!(store.put_activity(&older).await.unwrap(), WriteOutcome::Stale { stored_version: 100 });
    // A newer one wins.
    let newer = activity(BIG_ID, BIG_ID + 1, 101, "2024-03-02", "newer");
    assert_eq!(store.put_activity(&newer).await.unwrap(), WriteOutcome::Written);
    match store.get_activity(BIG_ID, BIG_ID + 1).await.unwrap() {
        Some(ActivityState::Live(a)) => assert_eq!(*a, newer),
        other => panic!("{other:?}"),
    }
    // An older delete loses; an equally new delete wins the tie.
    let t = |v| Tombstone { athlete_id: BIG_ID, activity_id: BIG_ID + 1, version: v };
    assert_eq!(store.put_tombstone(t(100)).await.unwrap(), WriteOutcome::Stale { stored_version: 101 });
    assert_eq!(store.put_tombstone(t(101)).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_activity(BIG_ID, BIG_ID + 1).await.unwrap(), Some(ActivityState::Deleted(t(101))));
    // A late create of the same second does not resurrect it; a later one does.
    assert_eq!(store.put_activity(&newer).await.unwrap(), WriteOutcome::Stale { stored_version: 101 });
    let d = "2024-03-01".parse().unwrap();
    let e = "2024-03-31".parse().unwrap();
    assert!(store.activities_between(BIG_ID, d, e).await.unwrap().is_empty(), "tombstones are not in the date index");
    let recreated = activity(BIG_ID, BIG_ID + 1, 102, "2024-03-05", "again");
    assert_eq!(store.put_activity(&recreated).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.activities_between(BIG_ID, d, e).await.unwrap(), vec![recreated]);
}

#[tokio::test]
async fn concurrent_writers_of_one_activity_leave_the_newest() {
    let (store, _stack) = store("race").await;
    let mut tasks = Vec::new();
    for v in 1..=12 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.put_activity(&activity(5, 6, v, "2024-01-01", &format!("v{v}"))).await
        }));
    }
    let outcomes: Vec<_> = futures_join(tasks).await;
    assert!(outcomes.contains(&WriteOutcome::Written));
    match store.get_activity(5, 6).await.unwrap() {
        Some(ActivityState::Live(a)) => assert_eq!(a.version, 12),
        other => panic!("{other:?}"),
    }
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<Result<WriteOutcome, StoreError>>>) -> Vec<WriteOutcome> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn activities_by_date_range_cross_pages_without_a_scan() {
    let (store, _stack) = store("bydate").await;
    let store = store.with_page_size(7);
    let start: LocalDate = "2023-12-25".parse().unwrap();
    for i in 0..40 {
        store.put_activity(&activity(9, 1000 + i, 1, &start.add_days(i as i32).to_string(), "x")).await.unwrap();
    }
    // Another athlete's activities never show up.
    store.put_activity(&activity(10, 1, 1, "2024-01-01", "other")).await.unwrap();
    let got = store.activities_between(9, "2024-01-01".parse().unwrap(), "2024-01-10".parse().unwrap()).await.unwrap();
    assert_eq!(got.len(), 10);
    assert!(got.windows(2).all(|w| w[0].local_date <= w[1].local_date));
    assert_eq!(got[0].local_date.to_string(), "2024-01-01");
}

#[tokio::test]
async fn queries_page_past_one_megabyte() {
    let (store, _stack) = store("onemb").await;
    // 14 activities of ~100 KB each: more than one 1 MB page of the index.
    let padding = "x".repeat(100_000);
    for i in 0..14 {
        store.put_activity(&activity(11, i, 1, "2024-02-01", &padding)).await.unwrap();
    }
    let day: LocalDate = "2024-02-01".parse().unwrap();
    let got = store.activities_between(11, day, day).await.unwrap();
    assert_eq!(got.len(), 14);
    assert!(got.iter().all(|a| a.summary.name.as_deref() == Some(padding.as_str())));
}

#[tokio::test]
async fn stream_sets_round_trip_and_never_share_keys() {
    let (store, stack) = store("chunks").await;
    let n = 3000;
    let set = StreamSet::default()
        .with(NumericKey::Time, (0..n).map(f64::from).collect())
        .with(NumericKey::Watts, (0..n).map(|i| f64::from((i * 37) % 500)).collect())
        .with(NumericKey::Altitude, (0..n).map(|i| f64::from(i).sin() * 100.0).collect());
    let many = encode_chunks_sized(&set, 1000).unwrap();
    assert!(many.len() > 5, "{}", many.len());
    let many_id = stream_set_id(&many).unwrap();
    store.put_stream_chunks(1, 2, &many_id, &many).await.unwrap();
    let back = store.get_stream_chunks(1, 2, StreamSetRef::Id(&many_id)).await.unwrap();
    assert_eq!(back, many);
    assert_eq!(decode_chunks(&back).unwrap(), set);
    // Other content is another set, under other keys: writing it leaves the first intact.
    let other = set.clone().with(NumericKey::Watts, (0..n).map(|i| f64::from((i * 41) % 500)).collect());
    let other_chunks = encode_chunks_sized(&other, 1000).unwrap();
    let other_id = stream_set_id(&other_chunks).unwrap();
    assert_ne!(other_id, many_id);
    store.put_stream_chunks(1, 2, &other_id, &other_chunks).await.unwrap();
    assert_eq!(store.get_stream_chunks(1, 2, StreamSetRef::Id(&many_id)).await.unwrap(), many);
    // A chunk of the layout before set ids is still read, and pruned with the rest.
    let legacy = encode_chunks(&set).unwrap();
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .put_item()
        .table_name(&stack.names.table)
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("ATH#1".into()))
        .item("sk", aws_sdk_dynamodb::types::AttributeValue::S("STR#2#00000".into()))
        .item("data", aws_sdk_dynamodb::types::AttributeValue::B(legacy[0].clone().into()))
        .send()
        .await
        .unwrap();
    assert_eq!(decode_chunks(&store.get_stream_chunks(1, 2, StreamSetRef::Legacy).await.unwrap()).unwrap(), set);
    let total = many.len() + other_chunks.len() + 1;
    assert_eq!(store.stream_chunk_count(1, 2).await.unwrap(), total);
    // Activity 20's chunks are not activity 2's (no prefix confusion).
    store.put_stream_chunks(1, 20, &many_id, &many).await.unwrap();
    // Pruning keeps exactly the set named.
    let pruned = store.delete_stream_chunks(1, 2, Some(StreamSetRef::Id(&other_id))).await.unwrap();
    assert_eq!(pruned, many.len() + 1);
    assert_eq!(store.get_stream_chunks(1, 2, StreamSetRef::Id(&other_id)).await.unwrap(), other_chunks);
    assert_eq!(store.delete_stream_chunks(1, 2, None).await.unwrap(), other_chunks.len());
    assert_eq!(store.stream_chunk_count(1, 2).await.unwrap(), 0);
    assert_eq!(store.stream_chunk_count(1, 20).await.unwrap(), many.len());
}

#[tokio::test]
async fn a_missing_stored_chunk_is_reported_by_the_codec() {
    let (store, stack) = store("missing-chunk").await;
    let set = StreamSet::default()
        .with(NumericKey::Time, (0..2000).map(f64::from).collect())
        .with(NumericKey::Altitude, (0..2000).map(|i| f64::from(i).sin() * 100.0).collect());
    let chunks = encode_chunks_sized(&set, 300).unwrap();
    assert!(chunks.len() >= 3, "{}", chunks.len());
    let id = stream_set_id(&chunks).unwrap();
    store.put_stream_chunks(3, 4, &id, &chunks).await.unwrap();
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .delete_item()
        .table_name(&stack.names.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("ATH#3".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(format!("STS#4#{id}#00001")))
        .send()
        .await
        .unwrap();
    let stored = store.get_stream_chunks(3, 4, StreamSetRef::Id(&id)).await.unwrap();
    assert_eq!(stored.len(), chunks.len() - 1);
    match decode_chunks(&stored) {
        Err(err) => assert!(err.to_string().contains("chunk 1 of"), "{err}"),
        Ok(_) => panic!("decoded despite a missing chunk"),
    }
}

#[tokio::test]
async fn pmc_rows_batch_write_and_range_query() {
    let (store, _stack) = store("pmc").await;
    let store = store.with_page_size(100);
    let start: LocalDate = "2015-01-01".parse().unwrap();
    let loads: BTreeMap<LocalDate, f64> = (0..1200).map(|i| (start.add_days(i), f64::from(i % 13) * 9.5)).collect();
    let rows = pmc::series(&loads, PmcConstants::default());
    store.put_pmc_rows(7, &rows).await.unwrap();
    let all = store.pmc_rows(7, start, start.add_days(5000)).await.unwrap();
    assert_eq!(all, rows, "1,200 rows come back exactly, across pages");
    let some = store.pmc_rows(7, start.add_days(10), start.add_days(19)).await.unwrap();
    assert_eq!(some, rows[10..20].to_vec());
}

#[tokio::test]
async fn delete_athlete_removes_more_than_a_thousand_items() {
    let (store, _stack) = store("delete-all").await;
    let start: LocalDate = "2020-01-01".parse().unwrap();
    let loads: BTreeMap<LocalDate, f64> = (0..1100).map(|i| (start.add_days(i), 50.0)).collect();
    store.put_pmc_rows(42, &pmc::series(&loads, PmcConstants::default())).await.unwrap();
    store.put_profile(&AthleteProfile::new(42)).await.unwrap();
    for i in 0..5 {
        store.put_activity(&activity(42, i, 1, "2020-02-01", "a")).await.unwrap();
    }
    let set = StreamSet::default().with(NumericKey::Time, (0..500).map(f64::from).collect());
    let chunks = encode_chunks_sized(&set, 100).unwrap();
    store.put_stream_chunks(42, 1, &stream_set_id(&chunks).unwrap(), &chunks).await.unwrap();
    // A neighbour that must survive.
    store.put_profile(&AthleteProfile::new(43)).await.unwrap();

    let deleted = store.delete_athlete(42).await.unwrap();
    assert!(deleted > 1100, "{deleted}");
    assert_eq!(store.get_profile(42).await.unwrap(), None);
    assert!(store.pmc_rows(42, start, start.add_days(2000)).await.unwrap().is_empty());
    assert_eq!(store.stream_chunk_count(42, 1).await.unwrap(), 0);
    assert!(store.get_profile(43).await.unwrap().is_some());
    assert_eq!(store.delete_athlete(42).await.unwrap(), 0);
}

#[tokio::test]
async fn rate_window_counter_is_atomic_and_bounded() {
    let (store, _stack) = store("rate").await;
    let w = RateWindow::containing(RateWindowKind::QuarterHour, 1_700_000_000);
    let limit = 25;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.reserve(w, 1, limit).await.unwrap() }));
    }
    let mut granted = 0;
    for t in tasks {
        if let Reservation::Granted { used } = t.await.unwrap() {
            assert!(used <= limit);
            granted += 1;
        }
    }
    assert_eq!(granted, limit, "exactly the limit is granted, never more");
    assert_eq!(store.reserve(w, 1, limit).await.unwrap(), Reservation::Exhausted { used: limit });

    // Strava's header corrects our count upwards, never downwards.
    let w2 = RateWindow::containing(RateWindowKind::Daily, 1_700_000_000);
    assert_eq!(store.reserve(w2, 2, 10).await.unwrap(), Reservation::Granted { used: 2 });
    store.record_usage(w2, 8).await.unwrap();
    store.record_usage(w2, 3).await.unwrap();
    assert_eq!(store.reserve(w2, 2, 10).await.unwrap(), Reservation::Granted { used: 10 });
    assert_eq!(store.reserve(w2, 1, 10).await.unwrap(), Reservation::Exhausted { used: 10 });
    assert_eq!(store.reserve(w2, 11, 10).await.unwrap(), Reservation::Exhausted { used: 10 });
}

/// A window held for the events lane refuses background reservations (and only those,
/// and only in that window).
#[tokio::test]
async fn a_held_window_refuses_background_reservations() {
    let (store, _stack) = store("held").await;
    let w = RateWindow::containing(RateWindowKind::QuarterHour, 1_700_000_000);
    assert_eq!(store.reserve_background(w, 1, 10).await.unwrap(), Reservation::Granted { used: 1 });
    store.hold_for_events(w.next()).await.unwrap();
    assert_eq!(store.reserve_background(w, 1, 10).await.unwrap(), Reservation::Granted { used: 2 });
    assert_eq!(store.reserve_background(w.next(), 1, 10).await.unwrap(), Reservation::Held { used: 0 });
    assert_eq!(store.reserve(w.next(), 1, 10).await.unwrap(), Reservation::Granted { used: 1 });
    assert_eq!(store.reserve_background(w.next(), 1, 10).await.unwrap(), Reservation::Held { used: 1 });
    store.hold_for_events(w).await.unwrap();
    assert_eq!(store.reserve_background(w, 1, 10).await.unwrap(), Reservation::Held { used: 2 });
    assert_eq!(store.reserve(w, 8, 10).await.unwrap(), Reservation::Granted { used: 10 });
    assert_eq!(store.reserve_background(w.next().next(), 3, 2).await.unwrap(), Reservation::Exhausted { used: 0 });
    assert_eq!((store.used(w).await.unwrap(), store.used(w.next().next()).await.unwrap()), (10, 0));
}

/// Read-modify-writes of the profile from many writers at once lose nothing: each
/// conditional write retries from a new read when another landed first. A profile that
/// does not exist is not created.
#[tokio::test]
async fn concurrent_profile_updates_all_land() {
    let (store, _stack) = store("profile-cas").await;
    assert_eq!(store.update_profile(7, |_| true).await.unwrap(), None);
    assert_eq!(store.get_profile(7).await.unwrap(), None, "not created");
    store.put_profile(&AthleteProfile::new(7)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .update_profile(7, move |p| {
                    p.thresholds_version += 1;
                    p.rescored_version = p.rescored_version.max(i);
                    true
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_some());
    }
    let p = store.get_profile(7).await.unwrap().unwrap();
    assert_eq!(p.thresholds_version, 6, "every increment landed");
    assert_eq!(p.rescored_version, 5);
    // A change that changes nothing writes nothing and says what is stored.
    assert_eq!(store.update_profile(7, |_| false).await.unwrap(), Some(p));
}

#[tokio::test]
async fn items_from_a_future_schema_or_malformed_are_typed_errors() {
    let (store, stack) = store("schema").await;
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let put = |sk: &str, data: &str, schema: &str| {
        client
            .put_item()
            .table_name(&stack.names.table)
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("ATH#77".into()))
            .item("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
            .item("data", aws_sdk_dynamodb::types::AttributeValue::S(data.into()))
            .item("schema", aws_sdk_dynamodb::types::AttributeValue::N(schema.into()))
            .item("version", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
            .send()
    };
    put("PROFILE", r#"{"athlete_id": 77}"#, "9").await.unwrap();
    let err = store.get_profile(77).await.unwrap_err();
    assert!(matches!(err, StoreError::Schema(ref s) if s.found == 9), "{err}");

    put("ACT#1", r#"{"athlete_id": 77, "activity_id": "one"}"#, "1").await.unwrap();
    let err = store.get_activity(77, 1).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Malformed { ref key, ref reason } if key == "ATH#77/ACT#1" && reason.contains("activity_id")),
        "{err}"
    );
}

#[tokio::test]
async fn pmc_dirty_marker_keeps_the_earliest_date_and_clears_conditionally() {
    let (store, _stack) = store("dirty").await;
    let d = |s: &str| s.parse::<LocalDate>().unwrap();
    assert_eq!(store.pmc_dirty_from(1).await.unwrap(), None);
    store.mark_pmc_dirty(1, d("2024-03-10")).await.unwrap();
    store.mark_pmc_dirty(1, d("2024-03-12")).await.unwrap();
    assert_eq!(store.pmc_dirty_from(1).await.unwrap(), Some(d("2024-03-10")));
    store.mark_pmc_dirty(1, d("2024-03-01")).await.unwrap();
    store.mark_pmc_dirty(2, d("2024-01-01")).await.unwrap();
    let mut dirty = store.dirty_athletes().await.unwrap();
    dirty.sort();
    assert_eq!(dirty, vec![(1, d("2024-03-01")), (2, d("2024-01-01"))]);
    // A rollup that read 03-10 must not clear a marker moved to 03-01 meanwhile.
    assert!(!store.clear_pmc_dirty(1, d("2024-03-10")).await.unwrap());
    assert!(store.clear_pmc_dirty(1, d("2024-03-01")).await.unwrap());
    assert_eq!(store.dirty_athletes().await.unwrap(), vec![(2, d("2024-01-01"))]);
}

/// The rollup's read: dates and loads from the `loads` index (keys and `load` only), in
/// date order, the same as from the full items at a fraction of the read units; items
/// written before `load` existed are read in full instead.
#[tokio::test]
async fn daily_loads_read_keys_and_load_only() {
    let (store, stack) = store("loads").await;
    let (from, to) = (LocalDate::from_ymd(2024, 1, 1).unwrap(), LocalDate::from_ymd(2024, 12, 31).unwrap());
    for i in 0..120i64 {
        let mut a = activity(3, 500 + i, 1, &from.add_days((i * 3) as i32).to_string(), "ride");
        if i % 10 == 0 {
            a.metrics = None; // unscored, waiting for streams: load 0
            a.pending_streams = true;
        } else {
            a.metrics.as_mut().unwrap().score.value = Some(i as f64 + 0.25);
        }
        store.put_activity(&a).await.unwrap();
    }
    let full = store.activities_between(3, from, to).await.unwrap();
    let full_reads = store.query_read_units();
    let loads = store.daily_loads(3, from, to).await.unwrap();
    let load_reads = store.query_read_units() - full_reads;
    let expected: Vec<(LocalDate, f64)> = full.iter().map(|a| (a.local_date, a.load())).collect();
    assert_eq!(loads, expected);
    assert_eq!(loads[0].1, 0.0);
    assert_eq!(loads[1], (from.add_days(3), 1.25));
    assert!(load_reads * 10.0 <= full_reads, "{load_reads} read units for loads, {full_reads} for the full items");
    // The sync status counts from the same index: every live one, and those waiting.
    let counts = store.activity_counts(3).await.unwrap();
    assert_eq!((counts.stored, counts.pending_streams), (120, 12));
    let mut done = full.iter().find(|a| a.pending_streams).unwrap().clone();
    done.pending_streams = false;
    store.put_activity(&done).await.unwrap();
    assert_eq!(store.activity_counts(3).await.unwrap().pending_streams, 11, "a rewrite drops the marker");

    // An item from before the attribute: the range is read in full, same answer.
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    client
        .update_item()
        .table_name(&stack.names.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("ATH#3".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("ACT#501".into()))
        .update_expression("REMOVE #l")
        .expression_attribute_names("#l", "load")
        .send()
        .await
        .unwrap();
    assert_eq!(store.daily_loads(3, from, to).await.unwrap(), expected);
}
