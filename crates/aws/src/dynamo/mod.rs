//! DynamoDB single-table repository (docs/design.md §7).
//!
//! | item | pk | sk | notes |
//! |---|---|---|---|
//! | profile | `ATH#<athlete>` | `PROFILE` | `data`: JSON; `gsi2pk = PROFILE`, `gsi2sk = <athlete>` (index `listing`); the read API's rations `export_at`, `backfill_day`, `backfill_used` |
//! | activity | `ATH#<athlete>` | `ACT#<activity>` | `data`: JSON, `version`, `tombstone`; live ones also `gsi1pk = ATH#<athlete>#ACT`, `gsi1sk = <local date>#<activity>` |
//! | stream chunk | `ATH#<athlete>` | `STS#<activity>#<set id>#<index:05>` | `data`: binary (codec chunk); the set id is the content hash, so sets never share keys |
//! | stream chunk, before set ids | `ATH#<athlete>` | `STR#<activity>#<index:05>` | read and deleted, never written |
//! | PMC day | `ATH#<athlete>` | `PMC#<date>` | `load`, `ctl`, `atl`, `tsb` as numbers |
//! | PMC dirty marker | `ATH#<athlete>` | `PMCDIRTY` | `dirty_from`; `gsi2pk = PMC_DIRTY`, `gsi2sk = <athlete>` (sparse index `listing`) |
//! | OAuth tokens (`TokenStore=dynamodb-kms` only) | `ATH#<athlete>` | `TOKENS` | `v`, `data_key`, `nonce`, `sealed`: see [`crate::kms_vault`]; deleted by the vault, not by `delete_athlete` |
//! | rate window | `RATE` | `<kind>#<start>` | `used`, `expires_at` (TTL) |
//!
//! Everything of one athlete shares a partition key, so deleting an athlete is one
//! paginated query plus batched deletes. Activities by date use the sparse `by_date`
//! index: no scan. Writes of many items go through BatchWriteItem in 25s, retrying
//! `UnprocessedItems` with exponential backoff.

mod activities;
mod batch;
mod imports;
mod keys;
mod rate_budget;
mod rations;

pub use rations::RATION_ATTRIBUTES;

pub use keys::TOKENS_SK;
pub(crate) use keys::athlete_pk;
use keys::*;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use stravasync_core::json::parse_json_with_path;
use stravasync_core::model::{
    ActivityId, ActivityState, AthleteId, PmcRow, StoredActivity, StreamSetRef, check_schema,
};
use stravasync_core::ports::{StoreError, WriteOutcome};

use crate::sdk_error::classify;
type Item = HashMap<String, AttributeValue>;

/// Items per BatchWriteItem request (the service's limit).
const BATCH_SIZE: usize = 25;
/// Attempts at a batch whose items keep coming back unprocessed.
const BATCH_ATTEMPTS: u32 = 8;
const BATCH_BACKOFF_START: Duration = Duration::from_millis(50);

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items per Query page; `None` lets DynamoDB fill 1 MB pages.
    page_size: Option<i32>,
    /// Read capacity the queries consumed, in half units (see [`DynamoStore::query_read_units`]).
    query_half_units: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Bytes DynamoDB counts for an item: attribute names plus values (strings and binaries
/// by their length, numbers by their digits, about one byte per two, plus one).
pub fn item_bytes(item: &Item) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.trim_start_matches('-').replace('.', "").len().div_ceil(2) + 1,
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value(v)).sum::<usize>(),
            AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + value(v)).sum::<usize>(),
            AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
            AttributeValue::Ns(l) => l.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
            AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
            _ => 0,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn sdk_err<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match classify(&err) {
        (true, text) => StoreError::Unavailable(text),
        (false, text) => StoreError::Rejected(text),
    }
}

fn malformed(item: &Item, reason: impl Into<String>) -> StoreError {
    let key = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    StoreError::Malformed { key: format!("{}/{}", key("pk"), key("sk")), reason: reason.into() }
}

fn get_s<'a>(item: &'a Item, attr: &str) -> Result<&'a str, StoreError> {
    item.get(attr)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| malformed(item, format!("attribute {attr} missing or not a string")))
}

fn get_n<T: std::str::FromStr>(item: &Item, attr: &str) -> Result<T, StoreError> {
    item.get(attr)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| malformed(item, format!("attribute {attr} missing or not a number")))
}

fn parse_json<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let data = get_s(item, "data")?;
    parse_json_with_path(data.as_bytes()).map_err(|e| malformed(item, format!("data {e}")))
}

fn schema_of(item: &Item, what: &'static str) -> Result<(), StoreError> {
    let found: u32 = item.get("schema").map_or(Ok(1), |_| get_n(item, "schema"))?;
    Ok(check_schema(what, found)?)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Rejected(format!("cannot serialize item: {e}")))
}

fn activity_state(item: &Item) -> Result<ActivityState, StoreError> {
    schema_of(item, "activity")?;
    if item.get("tombstone").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false) {
        Ok(ActivityState::Deleted(parse_json(item)?))
    } else {
        let a: StoredActivity = parse_json(item)?;
        check_schema("activity", a.schema)?;
        Ok(ActivityState::Live(Box::new(a)))
    }
}

fn pmc_row(item: &Item) -> Result<PmcRow, StoreError> {
    let date = get_s(item, "sk")?
        .strip_prefix("PMC#")
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| malformed(item, "sort key is not PMC#<date>"))?;
    Ok(PmcRow {
        date,
        load: get_n(item, "load")?,
        ctl: get_n(item, "ctl")?,
        atl: get_n(item, "atl")?,
        tsb: get_n(item, "tsb")?,
    })
}
impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into(), page_size: None, query_half_units: Default::default() }
    }

    /// Read capacity units the queries of this store have consumed, as DynamoDB bills an
    /// eventually consistent query: per page, half a unit per started 4 KB of the items it
    /// read (a local moto server reports no real figure). Counted from the items returned,
    /// so exact for queries without a projection expression.
    pub fn query_read_units(&self) -> f64 {
        self.query_half_units.load(std::sync::atomic::Ordering::Relaxed) as f64 / 2.0
    }

    /// Adds one query page's read units to [`DynamoStore::query_read_units`].
    fn count_query_reads(&self, page: &[Item]) {
        let bytes: usize = page.iter().map(item_bytes).sum();
        self.query_half_units.fetch_add(bytes.div_ceil(4096).max(1) as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Caps Query pages at `items` (tests use it to cross page boundaries cheaply).
    pub fn with_page_size(mut self, items: i32) -> Self {
        self.page_size = Some(items);
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(pk: String, sk: String) -> Item {
        HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
    }

    /// Runs a Query to the end, following `LastEvaluatedKey`.
    async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        keys_only: bool,
    ) -> Result<Vec<Item>, StoreError> {
        self.query_up_to(index, condition, &values, keys_only, false, None).await
    }

    /// Every item the query finds (at most `limit`), in the key's order or backwards,
    /// page after page: DynamoDB ends a page at 1 MB (or at the store's page size) whatever
    /// the limit, so a short answer always means the end.
    async fn query_up_to(
        &self,
        index: Option<&str>,
        condition: &str,
        values: &[(&str, AttributeValue)],
        keys_only: bool,
        backwards: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = limit.map(|l| i32::try_from(l.saturating_sub(items.len())).unwrap_or(i32::MAX));
            let page_limit = match (remaining, self.page_size) {
                (Some(r), Some(p)) => Some(r.min(p)),
                (r, p) => r.or(p),
            };
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .set_index_name(index.map(str::to_string))
                .set_limit(page_limit)
                .scan_index_forward(!backwards)
                .set_exclusive_start_key(start.take());
            for (k, v) in values {
                q = q.expression_attribute_values(*k, v.clone());
            }
            if keys_only {
                q = q.projection_expression("pk, sk");
            }
            let page = q.send().await.map_err(sdk_err)?;
            let page_items = page.items.unwrap_or_default();
            self.count_query_reads(&page_items);
            items.extend(page_items);
            let full = limit.is_some_and(|l| items.len() >= l);
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && !full => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// A conditional activity put; on a lost condition, reports the stored version.
    async fn conditional_put(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in values {
            put = put.expression_attribute_values(k, v);
        }
        let result = put.send().await;
        match result {
            Ok(_) => Ok(WriteOutcome::Written),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let stored = match se.err() {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                        c.item.clone()
                    }
                    _ => None,
                };
                let stored = match stored {
                    Some(old) => old,
                    None => self.get_item(get_s(&item, "pk")?, get_s(&item, "sk")?).await?.unwrap_or_default(),
                };
                Ok(WriteOutcome::Stale { stored_version: get_n(&stored, "version")? })
            }
            Err(e) => Err(sdk_err(e)),
        }
    }

    /// The items under a key prefix of the athlete's partition, in key order.
    async fn items_with_prefix(
        &self,
        athlete: AthleteId,
        prefix: String,
        keys_only: bool,
    ) -> Result<Vec<Item>, StoreError> {
        self.query_all(
            None,
            "pk = :pk AND begins_with(sk, :prefix)",
            vec![(":pk", s(athlete_pk(athlete))), (":prefix", s(prefix))],
            keys_only,
        )
        .await
    }

    /// Keys of every stream chunk of one activity, of every set and layout.
    async fn all_chunk_keys(&self, athlete: AthleteId, activity: ActivityId) -> Result<Vec<Item>, StoreError> {
        let mut keys = self.items_with_prefix(athlete, format!("STS#{activity}#"), true).await?;
        keys.extend(self.items_with_prefix(athlete, chunk_prefix(activity, StreamSetRef::Legacy), true).await?);
        Ok(keys)
    }

    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk.to_string(), sk.to_string())))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item)
    }
}
