//! The DynamoDB repository against a moto server: the storage contract
//! (`stravasync-contract`), and what only this store has (the legacy chunk layout, items
//! without the `load` attribute, items of another schema).

use crate::common;

use stravasync_aws::dynamo::DynamoStore;
use stravasync_core::LocalDate;
use stravasync_core::codec::{decode_chunks, encode_chunks, encode_chunks_sized, stream_set_id};
use stravasync_core::model::{StoredActivity, StreamSetRef};
use stravasync_core::ports::StoreError;
use stravasync_core::ports::roles::*;
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

/// A chunk of the layout before stream set ids is still read, and pruned with the rest.
#[tokio::test]
async fn legacy_stream_chunks_are_read_and_pruned() {
    let (store, stack) = store("chunks").await;
    let set = StreamSet::default()
        .with(NumericKey::Time, (0..3000).map(f64::from).collect())
        .with(NumericKey::Altitude, (0..3000).map(|i| f64::from(i).sin() * 100.0).collect());
    let chunks = encode_chunks_sized(&set, 1000).unwrap();
    let id = stream_set_id(&chunks).unwrap();
    store.put_stream_chunks(1, 2, &id, &chunks).await.unwrap();
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
    assert_eq!(store.stream_chunk_count(1, 2).await.unwrap(), chunks.len() + 1);
    let pruned = store.delete_stream_chunks(1, 2, Some(StreamSetRef::Id(&id))).await.unwrap();
    assert_eq!(pruned, 1, "the legacy chunk");
    assert_eq!(store.get_stream_chunks(1, 2, StreamSetRef::Id(&id)).await.unwrap(), chunks);
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

/// The rollup's read comes from the `loads` index (keys and `load` only; the contract holds
/// it to the full items' answer at a fraction of the read units); items written before
/// `load` existed are read in full instead, with the same answer.
#[tokio::test]
async fn daily_loads_of_items_without_a_load_attribute_read_the_items() {
    let (store, stack) = store("loads").await;
    let (from, to) = (LocalDate::from_ymd(2024, 1, 1).unwrap(), LocalDate::from_ymd(2024, 12, 31).unwrap());
    for i in 0..12i64 {
        let mut a = activity(3, 500 + i, 1, &from.add_days((i * 3) as i32).to_string(), "ride");
        a.metrics.as_mut().unwrap().score.value = Some(i as f64 + 0.25);
        store.put_activity(&a).await.unwrap();
    }
    let expected = store.daily_loads(3, from, to).await.unwrap();
    assert_eq!(expected.len(), 12);
    aws_sdk_dynamodb::Client::new(&stack.sdk)
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

/// The storage contract on DynamoDB on moto: a table of its own per test, queries paged
/// at 100 items so that every range read crosses pages.
async fn contract_store(label: &str) -> (DynamoStore, common::Stack) {
    let (store, stack) = store(label).await;
    (store.with_page_size(100), stack)
}

stravasync_contract::store_contract!(contract_store);
