//! DynamoDB single-table repository (docs/design.md §7).
//!
//! | item | pk | sk | notes |
//! |---|---|---|---|
//! | profile | `ATH#<athlete>` | `PROFILE` | `data`: JSON; `gsi2pk = PROFILE`, `gsi2sk = <athlete>` (index `listing`) |
//! | activity | `ATH#<athlete>` | `ACT#<activity>` | `data`: JSON, `version`, `tombstone`; live ones also `gsi1pk = ATH#<athlete>#ACT`, `gsi1sk = <local date>#<activity>` |
//! | stream chunk | `ATH#<athlete>` | `STS#<activity>#<set id>#<index:05>` | `data`: binary (codec chunk); the set id is the content hash, so sets never share keys |
//! | stream chunk, before set ids | `ATH#<athlete>` | `STR#<activity>#<index:05>` | read and deleted, never written |
//! | PMC day | `ATH#<athlete>` | `PMC#<date>` | `load`, `ctl`, `atl`, `tsb` as numbers |
//! | PMC dirty marker | `ATH#<athlete>` | `PMCDIRTY` | `dirty_from`; `gsi2pk = PMC_DIRTY`, `gsi2sk = <athlete>` (sparse index `listing`) |
//! | rate window | `RATE` | `<kind>#<start>` | `used`, `expires_at` (TTL) |
//!
//! Everything of one athlete shares a partition key, so deleting an athlete is one
//! paginated query plus batched deletes. Activities by date use the sparse `by_date`
//! index: no scan. Writes of many items go through BatchWriteItem in 25s, retrying
//! `UnprocessedItems` with exponential backoff.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ReturnValue, ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use stravasync_core::LocalDate;
use stravasync_core::json::parse_json_with_path;
use stravasync_core::model::{
    ActivityId, ActivityState, AthleteId, AthleteProfile, PmcRow, RateWindow, RateWindowKind, StoredActivity,
    StreamSetRef, Tombstone, check_schema,
};
use stravasync_core::ports::{ActivityStore, RateBudget, Reservation, StoreError, WriteOutcome};

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
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn athlete_pk(athlete: AthleteId) -> String {
    format!("ATH#{athlete}")
}

fn activity_sk(activity: ActivityId) -> String {
    format!("ACT#{activity}")
}

/// Key prefix of the chunks of one stream set.
fn chunk_prefix(activity: ActivityId, set: StreamSetRef<'_>) -> String {
    match set {
        StreamSetRef::Id(id) => format!("STS#{activity}#{id}#"),
        StreamSetRef::Legacy => format!("STR#{activity}#"),
    }
}

fn chunk_sk(activity: ActivityId, set_id: &str, index: usize) -> String {
    format!("{}{index:05}", chunk_prefix(activity, StreamSetRef::Id(set_id)))
}

fn pmc_sk(date: LocalDate) -> String {
    format!("PMC#{date}")
}

fn by_date_pk(athlete: AthleteId) -> String {
    format!("ATH#{athlete}#ACT")
}

fn window_sk(w: RateWindow) -> String {
    let kind = match w.kind {
        RateWindowKind::QuarterHour => "15min",
        RateWindowKind::Daily => "daily",
    };
    format!("{kind}#{}", w.start)
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
        DynamoStore { client, table: table.into(), page_size: None }
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
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .set_index_name(index.map(str::to_string))
                .set_limit(self.page_size)
                .set_exclusive_start_key(start.take());
            for (k, v) in &values {
                q = q.expression_attribute_values(*k, v.clone());
            }
            if keys_only {
                q = q.projection_expression("pk, sk");
            }
            let page = q.send().await.map_err(sdk_err)?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// BatchWriteItem in groups of 25, retrying unprocessed items with backoff.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for group in requests.chunks(BATCH_SIZE) {
            let mut pending = group.to_vec();
            let mut delay = BATCH_BACKOFF_START;
            for attempt in 1..=BATCH_ATTEMPTS {
                let out =
                    self.client.batch_write_item().request_items(&self.table, pending).send().await.map_err(sdk_err)?;
                pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == BATCH_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "{} items still unprocessed after {BATCH_ATTEMPTS} attempts",
                        pending.len()
                    )));
                }
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Ok(())
    }

    async fn delete_keys(&self, items: Vec<Item>) -> Result<usize, StoreError> {
        let count = items.len();
        let requests = items
            .into_iter()
            .map(|item| {
                let key = Self::key(get_s(&item, "pk")?.to_string(), get_s(&item, "sk")?.to_string());
                let del = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))?;
                Ok(WriteRequest::builder().delete_request(del).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await?;
        Ok(count)
    }

    fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
        let put =
            PutRequest::builder().set_item(Some(item)).build().map_err(|e| StoreError::Rejected(e.to_string()))?;
        Ok(WriteRequest::builder().put_request(put).build())
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

impl ActivityStore for DynamoStore {
    async fn get_profile(&self, athlete: AthleteId) -> Result<Option<AthleteProfile>, StoreError> {
        let Some(item) = self.get_item(&athlete_pk(athlete), "PROFILE").await? else { return Ok(None) };
        schema_of(&item, "profile")?;
        let p: AthleteProfile = parse_json(&item)?;
        check_schema("profile", p.schema)?;
        Ok(Some(p))
    }

    async fn put_profile(&self, profile: &AthleteProfile) -> Result<(), StoreError> {
        let mut item = Self::key(athlete_pk(profile.athlete_id), "PROFILE".into());
        item.insert("data".into(), s(to_json(profile)?));
        item.insert("schema".into(), n(profile.schema));
        item.insert("gsi2pk".into(), s("PROFILE"));
        item.insert("gsi2sk".into(), s(profile.athlete_id.to_string()));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    async fn get_activity(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
    ) -> Result<Option<ActivityState>, StoreError> {
        match self.get_item(&athlete_pk(athlete), &activity_sk(activity)).await? {
            Some(item) => activity_state(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn put_activity(&self, a: &StoredActivity) -> Result<WriteOutcome, StoreError> {
        let mut item = Self::key(athlete_pk(a.athlete_id), activity_sk(a.activity_id));
        item.insert("data".into(), s(to_json(a)?));
        item.insert("schema".into(), n(a.schema));
        item.insert("version".into(), n(a.version));
        item.insert("tombstone".into(), AttributeValue::Bool(false));
        item.insert("gsi1pk".into(), s(by_date_pk(a.athlete_id)));
        item.insert("gsi1sk".into(), s(format!("{}#{}", a.local_date, a.activity_id)));
        self.conditional_put(
            item,
            "attribute_not_exists(pk) OR version < :v OR (version = :v AND tombstone = :false)",
            vec![(":v", n(a.version)), (":false", AttributeValue::Bool(false))],
        )
        .await
    }

    async fn put_tombstone(&self, t: Tombstone) -> Result<WriteOutcome, StoreError> {
        let mut item = Self::key(athlete_pk(t.athlete_id), activity_sk(t.activity_id));
        item.insert("data".into(), s(to_json(&t)?));
        item.insert("schema".into(), n(stravasync_core::model::SCHEMA_VERSION));
        item.insert("version".into(), n(t.version));
        item.insert("tombstone".into(), AttributeValue::Bool(true));
        self.conditional_put(item, "attribute_not_exists(pk) OR version <= :v", vec![(":v", n(t.version))]).await
    }

    async fn put_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        set_id: &str,
        chunks: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let requests = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut item = Self::key(athlete_pk(athlete), chunk_sk(activity, set_id, i));
                item.insert("data".into(), AttributeValue::B(Blob::new(c.clone())));
                Self::put_request(item)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }

    async fn get_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        set: StreamSetRef<'_>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let items = self.items_with_prefix(athlete, chunk_prefix(activity, set), false).await?;
        items
            .iter()
            .map(|item| match item.get("data") {
                Some(AttributeValue::B(b)) => Ok(b.as_ref().to_vec()),
                _ => Err(malformed(item, "attribute data missing or not binary")),
            })
            .collect()
    }

    async fn delete_stream_chunks(
        &self,
        athlete: AthleteId,
        activity: ActivityId,
        keep: Option<StreamSetRef<'_>>,
    ) -> Result<usize, StoreError> {
        let kept = keep.map(|set| chunk_prefix(activity, set));
        let in_kept = |key: &Item| {
            let sk = key.get("sk").and_then(|v| v.as_s().ok());
            kept.as_deref().is_some_and(|p| sk.is_some_and(|sk| sk.starts_with(p)))
        };
        let doomed = self.all_chunk_keys(athlete, activity).await?.into_iter().filter(|k| !in_kept(k)).collect();
        self.delete_keys(doomed).await
    }

    async fn stream_chunk_count(&self, athlete: AthleteId, activity: ActivityId) -> Result<usize, StoreError> {
        Ok(self.all_chunk_keys(athlete, activity).await?.len())
    }

    async fn put_pmc_rows(&self, athlete: AthleteId, rows: &[PmcRow]) -> Result<(), StoreError> {
        let requests = rows
            .iter()
            .map(|r| {
                let mut item = Self::key(athlete_pk(athlete), pmc_sk(r.date));
                for (attr, v) in [("load", r.load), ("ctl", r.ctl), ("atl", r.atl), ("tsb", r.tsb)] {
                    item.insert(attr.into(), n(v));
                }
                Self::put_request(item)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }

    async fn pmc_rows(&self, athlete: AthleteId, from: LocalDate, to: LocalDate) -> Result<Vec<PmcRow>, StoreError> {
        let items = self
            .query_all(
                None,
                "pk = :pk AND sk BETWEEN :from AND :to",
                vec![(":pk", s(athlete_pk(athlete))), (":from", s(pmc_sk(from))), (":to", s(pmc_sk(to)))],
                false,
            )
            .await?;
        items.iter().map(pmc_row).collect()
    }

    async fn activities_between(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        let items = self
            .query_all(
                Some("by_date"),
                "gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to",
                vec![(":pk", s(by_date_pk(athlete))), (":from", s(format!("{from}#"))), (":to", s(format!("{to}#~")))],
                false,
            )
            .await?;
        items
            .iter()
            .map(|item| match activity_state(item)? {
                ActivityState::Live(a) => Ok(*a),
                ActivityState::Deleted(_) => Err(malformed(item, "tombstone in the by_date index")),
            })
            .collect()
    }

    async fn mark_pmc_dirty(&self, athlete: AthleteId, from: LocalDate) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete_pk(athlete), "PMCDIRTY".into())))
            .update_expression("SET dirty_from = :d, gsi2pk = :g, gsi2sk = :a")
            .condition_expression("attribute_not_exists(dirty_from) OR dirty_from > :d")
            .expression_attribute_values(":d", s(from.to_string()))
            .expression_attribute_values(":g", s("PMC_DIRTY"))
            .expression_attribute_values(":a", s(athlete.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // An earlier date is already recorded: it wins.
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn pmc_dirty_from(&self, athlete: AthleteId) -> Result<Option<LocalDate>, StoreError> {
        match self.get_item(&athlete_pk(athlete), "PMCDIRTY").await? {
            Some(item) => {
                let d = get_s(&item, "dirty_from")?;
                d.parse().map(Some).map_err(|_| malformed(&item, "dirty_from is not a date"))
            }
            None => Ok(None),
        }
    }

    async fn athletes(&self) -> Result<Vec<AthleteId>, StoreError> {
        let items = self.query_all(Some("listing"), "gsi2pk = :g", vec![(":g", s("PROFILE"))], true).await?;
        items
            .iter()
            .map(|item| {
                get_s(item, "pk")?
                    .strip_prefix("ATH#")
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| malformed(item, "pk is not ATH#<athlete>"))
            })
            .collect()
    }

    async fn dirty_athletes(&self) -> Result<Vec<(AthleteId, LocalDate)>, StoreError> {
        let items = self.query_all(Some("listing"), "gsi2pk = :g", vec![(":g", s("PMC_DIRTY"))], false).await?;
        items
            .iter()
            .map(|item| {
                let athlete =
                    get_s(item, "gsi2sk")?.parse().map_err(|_| malformed(item, "gsi2sk is not an athlete id"))?;
                let from =
                    get_s(item, "dirty_from")?.parse().map_err(|_| malformed(item, "dirty_from is not a date"))?;
                Ok((athlete, from))
            })
            .collect()
    }

    async fn clear_pmc_dirty(&self, athlete: AthleteId, from: LocalDate) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete_pk(athlete), "PMCDIRTY".into())))
            .condition_expression("dirty_from = :d")
            .expression_attribute_values(":d", s(from.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn delete_athlete(&self, athlete: AthleteId) -> Result<usize, StoreError> {
        let keys = self.query_all(None, "pk = :pk", vec![(":pk", s(athlete_pk(athlete)))], true).await?;
        self.delete_keys(keys).await
    }
}

impl RateBudget for DynamoStore {
    async fn reserve(&self, window: RateWindow, requests: u32, limit: u32) -> Result<Reservation, StoreError> {
        let key = Self::key("RATE".into(), window_sk(window));
        if requests > limit {
            let used = match self.get_item("RATE", &window_sk(window)).await? {
                Some(item) => get_n(&item, "used")?,
                None => 0,
            };
            return Ok(Reservation::Exhausted { used });
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("ADD used :n SET expires_at = :exp")
            .condition_expression("attribute_not_exists(used) OR used <= :max")
            .expression_attribute_values(":n", n(requests))
            .expression_attribute_values(":max", n(limit - requests))
            .expression_attribute_values(":exp", n(window.resets_at() + 86_400))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Reservation::Granted { used: get_n(&out.attributes.unwrap_or_default(), "used")? }),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let used = match se.err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                        c.item.as_ref().and_then(|i| get_n(i, "used").ok())
                    }
                    _ => None,
                };
                Ok(Reservation::Exhausted { used: used.unwrap_or(limit) })
            }
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn record_usage(&self, window: RateWindow, observed: u32) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key("RATE".into(), window_sk(window))))
            .update_expression("SET used = :obs, expires_at = :exp")
            .condition_expression("attribute_not_exists(used) OR used < :obs")
            .expression_attribute_values(":obs", n(observed))
            .expression_attribute_values(":exp", n(window.resets_at() + 86_400))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Our own count is already at least Strava's: nothing to correct.
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(sdk_err(e)),
        }
    }
}
