//! The [`ActivityStore`] port: profiles, activities and tombstones, stream sets, PMC rows
//! and the dirty marker.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use stravasync_core::LocalDate;
use stravasync_core::model::{
    ActivityId, ActivityState, AthleteId, AthleteProfile, PmcRow, SCHEMA_VERSION, StoredActivity, StreamSetRef,
    Tombstone, check_schema,
};
use stravasync_core::ports::{
    ActivityCounts, ActivityCursor, DirtyMark, EraseStore, ProfileStore, QueryMeter, ReadStore, RollupStore,
    StoreError, VersionedHistory, WriteOutcome, WriteStore,
};
use stravasync_core::thresholds::ThresholdHistory;

use super::keys::*;
use super::*;

/// Conditional profile writes lost in a row before [`ActivityStore::update_profile`] gives
/// up (as a transient failure).
const PROFILE_UPDATE_ATTEMPTS: usize = 8;

impl DynamoStore {
    /// The live activities of `from..=to` through `index` (`by_date`: whole items; `loads`:
    /// keys and load).
    async fn live_between(
        &self,
        index: &str,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<Item>, StoreError> {
        self.query_all(
            Some(index),
            "gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to",
            vec![(":pk", s(by_date_pk(athlete))), (":from", s(format!("{from}#"))), (":to", s(format!("{to}#~")))],
            false,
        )
        .await
    }
}

/// The PMC marker of a `PMCDIRTY` item (no `dirty_seq`: written before the count, 0).
fn dirty_mark(item: &Item) -> Result<DirtyMark, StoreError> {
    let from = get_s(item, "dirty_from")?.parse().map_err(|_| malformed(item, "dirty_from is not a date"))?;
    let seq = match item.get("dirty_seq") {
        None => 0,
        Some(v) => {
            v.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| malformed(item, "dirty_seq is not a count"))?
        }
    };
    Ok(DirtyMark { from, seq })
}

impl QueryMeter for DynamoStore {
    fn query_read_units(&self) -> f64 {
        DynamoStore::query_read_units(self)
    }
}

impl ProfileStore for DynamoStore {
    async fn get_profile(&self, athlete: AthleteId) -> Result<Option<AthleteProfile>, StoreError> {
        let Some(item) = self.get_item(&athlete_pk(athlete), "PROFILE").await? else { return Ok(None) };
        schema_of(&item, "profile")?;
        let p: AthleteProfile = parse_json(&item)?;
        check_schema("profile", p.schema)?;
        Ok(Some(p))
    }

    async fn put_profile(&self, profile: &AthleteProfile) -> Result<(), StoreError> {
        // An update, not a put: the item's other attributes (the rations the read API
        // keeps with the profile) stay.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete_pk(profile.athlete_id), "PROFILE".into())))
            .update_expression("SET #d = :data, #schema = :schema, gsi2pk = :listing, gsi2sk = :athlete")
            .expression_attribute_names("#d", "data")
            .expression_attribute_names("#schema", "schema")
            .expression_attribute_values(":data", s(to_json(profile)?))
            .expression_attribute_values(":schema", n(profile.schema))
            .expression_attribute_values(":listing", s("PROFILE"))
            .expression_attribute_values(":athlete", s(profile.athlete_id.to_string()))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn update_profile<F>(&self, athlete: AthleteId, mut change: F) -> Result<Option<AthleteProfile>, StoreError>
    where
        F: FnMut(&mut AthleteProfile) -> bool + Send,
    {
        for _ in 0..PROFILE_UPDATE_ATTEMPTS {
            let Some(item) = self.get_item(&athlete_pk(athlete), "PROFILE").await? else { return Ok(None) };
            schema_of(&item, "profile")?;
            let mut p: AthleteProfile = parse_json(&item)?;
            check_schema("profile", p.schema)?;
            if !change(&mut p) {
                return Ok(Some(p));
            }
            // Conditional on the stored text itself: equal text, equal profile; a deleted
            // profile fails it too. The item's other attributes (rations) are left as
            // they are.
            let written = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(athlete_pk(athlete), "PROFILE".into())))
                .update_expression("SET #d = :data, #schema = :schema")
                .condition_expression("#d = :old")
                .expression_attribute_names("#d", "data")
                .expression_attribute_names("#schema", "schema")
                .expression_attribute_values(":data", s(to_json(&p)?))
                .expression_attribute_values(":schema", n(p.schema))
                .expression_attribute_values(":old", item.get("data").cloned().unwrap_or_else(|| s("")))
                .send()
                .await;
            match written {
                Ok(_) => return Ok(Some(p)),
                Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => continue,
                Err(e) => return Err(sdk_err(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "profile of athlete {athlete} changed by other writers {PROFILE_UPDATE_ATTEMPTS} times in a row"
        )))
    }

    async fn threshold_history(&self, athlete: AthleteId) -> Result<Option<VersionedHistory>, StoreError> {
        let Some(item) = self.get_item(&athlete_pk(athlete), THRESHOLDS_SK).await? else { return Ok(None) };
        schema_of(&item, "threshold history")?;
        Ok(Some(VersionedHistory { history: parse_json(&item)?, version: get_n(&item, "version")? }))
    }

    /// A PutItem conditional on the stored version, after a check that the profile exists.
    /// A deletion between the two is undone by the consumer's check after its writes
    /// (docs/design.md §5, "deleted meanwhile"), as for any other item.
    async fn put_threshold_history(
        &self,
        athlete: AthleteId,
        history: &ThresholdHistory,
        expected: u64,
    ) -> Result<bool, StoreError> {
        if self.get_item(&athlete_pk(athlete), "PROFILE").await?.is_none() {
            return Ok(false);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(athlete_pk(athlete)))
            .item("sk", s(THRESHOLDS_SK))
            .item("data", s(to_json(history)?))
            .item("schema", n(SCHEMA_VERSION))
            .item("version", n(expected + 1));
        let put = if expected == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("version = :expected").expression_attribute_values(":expected", n(expected))
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(sdk_err(e)),
        }
    }
}

impl ReadStore for DynamoStore {
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

    async fn activities_page(
        &self,
        athlete: AthleteId,
        before: Option<ActivityCursor>,
        limit: usize,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        let (condition, mut values) = match before {
            Some(c) => ("gsi1pk = :pk AND gsi1sk < :before", vec![(":before", s(by_date_sort_key(&c)))]),
            None => ("gsi1pk = :pk", vec![]),
        };
        values.push((":pk", s(by_date_pk(athlete))));
        let items = self.query_up_to(Some("by_date"), condition, &values, false, true, Some(limit)).await?;
        items
            .iter()
            .map(|item| match activity_state(item)? {
                ActivityState::Live(a) => Ok(*a),
                ActivityState::Deleted(_) => Err(malformed(item, "tombstone in the by_date index")),
            })
            .collect()
    }

    /// One count query over the `loads` index (keys, `load`, `pending`: about 60 B an
    /// activity, not the whole item): `ScannedCount` is every live activity, `Count` those
    /// the filter keeps (waiting for streams).
    async fn first_activity_date(&self, athlete: AthleteId) -> Result<Option<LocalDate>, StoreError> {
        // The `loads` index (keys, load and the pending marker only): the first key in date
        // order names the oldest live activity's day.
        let first = self
            .query_up_to(Some("loads"), "gsi1pk = :pk", &[(":pk", s(by_date_pk(athlete)))], false, false, Some(1))
            .await?;
        let Some(item) = first.first() else { return Ok(None) };
        let key = item.get("gsi1sk").and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
        key.get(..10)
            .and_then(|d| d.parse().ok())
            .map(Some)
            .ok_or_else(|| malformed(item, "gsi1sk does not begin with a date"))
    }

    async fn pmc_dirty_mark(&self, athlete: AthleteId) -> Result<Option<DirtyMark>, StoreError> {
        match self.get_item(&athlete_pk(athlete), "PMCDIRTY").await? {
            Some(item) => dirty_mark(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn activity_counts(&self, athlete: AthleteId) -> Result<ActivityCounts, StoreError> {
        let mut counts = ActivityCounts::default();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("loads")
                .key_condition_expression("gsi1pk = :pk")
                .filter_expression("attribute_exists(pending)")
                .expression_attribute_values(":pk", s(by_date_pk(athlete)))
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_err)?;
            counts.stored += usize::try_from(page.scanned_count).unwrap_or_default();
            counts.pending_streams += usize::try_from(page.count).unwrap_or_default();
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(counts),
            }
        }
    }
}

impl WriteStore for DynamoStore {
    async fn put_activity(&self, a: &StoredActivity) -> Result<WriteOutcome, StoreError> {
        let mut item = Self::key(athlete_pk(a.athlete_id), activity_sk(a.activity_id));
        item.insert("data".into(), s(to_json(a)?));
        item.insert("schema".into(), n(a.schema));
        item.insert("version".into(), n(a.version));
        item.insert("tombstone".into(), AttributeValue::Bool(false));
        item.insert("gsi1pk".into(), s(by_date_pk(a.athlete_id)));
        item.insert("gsi1sk".into(), s(by_date_sort_key(&ActivityCursor::after(a))));
        // Projected alone by the `loads` index (the rollup's read).
        item.insert("load".into(), n(a.load()));
        if a.pending_streams {
            // Top level, so that the sync status counts them without reading the items.
            item.insert("pending".into(), AttributeValue::Bool(true));
        }
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

    async fn activities_between(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<StoredActivity>, StoreError> {
        let items = self.live_between("by_date", athlete, from, to).await?;
        items
            .iter()
            .map(|item| match activity_state(item)? {
                ActivityState::Live(a) => Ok(*a),
                ActivityState::Deleted(_) => Err(malformed(item, "tombstone in the by_date index")),
            })
            .collect()
    }

    async fn mark_pmc_dirty(&self, athlete: AthleteId, from: LocalDate) -> Result<(), StoreError> {
        // The date moves only earlier (a condition: DynamoDB has no `min`); the count goes up
        // either way, so a rollup that read the marker before never clears this mark.
        let key = Self::key(athlete_pk(athlete), "PMCDIRTY".into());
        let conditional_failed = |e: &SdkError<_, _>| match e {
            SdkError::ServiceError(se) => {
                let err: &aws_sdk_dynamodb::operation::update_item::UpdateItemError = se.err();
                err.is_conditional_check_failed_exception()
            }
            _ => false,
        };
        loop {
            let earlier = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .update_expression("SET dirty_from = :d, gsi2pk = :g, gsi2sk = :a ADD dirty_seq :one")
                .condition_expression("attribute_not_exists(dirty_from) OR dirty_from > :d")
                .expression_attribute_values(":d", s(from.to_string()))
                .expression_attribute_values(":g", s("PMC_DIRTY"))
                .expression_attribute_values(":a", s(athlete.to_string()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await;
            match earlier {
                Ok(_) => return Ok(()),
                // An earlier date is already recorded: it stays, and this mark counts.
                Err(e) if conditional_failed(&e) => {}
                Err(e) => return Err(sdk_err(e)),
            }
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .update_expression("ADD dirty_seq :one")
                .condition_expression("attribute_exists(dirty_from)")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await;
            match counted {
                Ok(_) => return Ok(()),
                // Cleared in between: mark again, with this date.
                Err(e) if conditional_failed(&e) => {}
                Err(e) => return Err(sdk_err(e)),
            }
        }
    }
}

impl RollupStore for DynamoStore {
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

    /// One query of the `loads` index: keys and `load` only (about 70 bytes an activity).
    /// Activities written before the attribute existed have none: then the range is read
    /// from the full items instead, with the same result.
    async fn daily_loads(
        &self,
        athlete: AthleteId,
        from: LocalDate,
        to: LocalDate,
    ) -> Result<Vec<(LocalDate, f64)>, StoreError> {
        let items = self.live_between("loads", athlete, from, to).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let date = match item.get("gsi1sk") {
                Some(AttributeValue::S(key)) => key.split('#').next().and_then(|d| d.parse::<LocalDate>().ok()),
                _ => None,
            }
            .ok_or_else(|| malformed(item, "gsi1sk without a date"))?;
            match item.get("load") {
                Some(AttributeValue::N(v)) => {
                    out.push((date, v.parse().map_err(|_| malformed(item, "load is not a number"))?))
                }
                _ => {
                    let full = self.activities_between(athlete, from, to).await?;
                    return Ok(full.iter().map(|a| (a.local_date, a.load())).collect());
                }
            }
        }
        Ok(out)
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

    async fn dirty_athletes(&self) -> Result<Vec<(AthleteId, DirtyMark)>, StoreError> {
        let items = self.query_all(Some("listing"), "gsi2pk = :g", vec![(":g", s("PMC_DIRTY"))], false).await?;
        items
            .iter()
            .map(|item| {
                let athlete =
                    get_s(item, "gsi2sk")?.parse().map_err(|_| malformed(item, "gsi2sk is not an athlete id"))?;
                Ok((athlete, dirty_mark(item)?))
            })
            .collect()
    }

    async fn clear_pmc_dirty(&self, athlete: AthleteId, mark: DirtyMark) -> Result<bool, StoreError> {
        // A marker written before the count existed has none: it clears on its date alone.
        let condition = if mark.seq == 0 {
            "dirty_from = :d AND attribute_not_exists(dirty_seq)"
        } else {
            "dirty_from = :d AND dirty_seq = :n"
        };
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete_pk(athlete), "PMCDIRTY".into())))
            .condition_expression(condition)
            .expression_attribute_values(":d", s(mark.from.to_string()));
        if mark.seq > 0 {
            delete = delete.expression_attribute_values(":n", AttributeValue::N(mark.seq.to_string()));
        }
        match delete.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(sdk_err(e)),
        }
    }
}

impl EraseStore for DynamoStore {
    async fn delete_athlete(&self, athlete: AthleteId) -> Result<usize, StoreError> {
        // The profile goes first: a background import that finds it still there after its
        // own write is sure to be seen by the query below; one that finds it gone undoes
        // its write (docs/design.md §5, lanes).
        let profile = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete_pk(athlete), "PROFILE".into())))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_err)?;
        let profile_deleted = usize::from(profile.attributes.is_some_and(|a| !a.is_empty()));
        let mut keys = self.query_all(None, "pk = :pk", vec![(":pk", s(athlete_pk(athlete)))], true).await?;
        // The tokens item (`TokenStore=dynamodb-kms`) belongs to the vault, which deletes it
        // first; one written since is a new connection's and must stay.
        keys.retain(|k| !matches!(k.get("sk"), Some(AttributeValue::S(sk)) if sk == TOKENS_SK));
        Ok(profile_deleted + self.delete_keys(keys).await?)
    }

    async fn athlete_has_items(&self, athlete: AthleteId) -> Result<bool, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(athlete_pk(athlete)))
            .projection_expression("pk, sk")
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(page.items.is_some_and(|i| !i.is_empty()))
    }
}
