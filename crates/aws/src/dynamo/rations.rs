//! The [`RationStore`] port: rations kept as attributes of the athlete's profile item
//! (`export_at`, `backfill_day`, `backfill_used`, `threshold_changes_day`,
//! `threshold_changes_used`), written with conditions that never
//! create the item, so a deleted athlete's rations are gone with the profile and are not
//! recreated by a request that raced the deletion.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use stravasync_core::LocalDate;
use stravasync_core::model::AthleteId;
use stravasync_core::ports::{Ration, RationStore, StoreError};
use stravasync_core::ration::{
    BackfillAllowance, BackfillGrant, backfill_grant, backfill_refund, backfill_remaining, export_wait,
};

use super::keys::*;
use super::*;

/// Lost conditional writes in a row before a backfill ration gives up (transient).
const RATION_ATTEMPTS: usize = 8;

/// The ration attributes the read API may write (the template's `dynamodb:Attributes`).
pub const RATION_ATTRIBUTES: &[&str] =
    &["export_at", "backfill_day", "backfill_used", "threshold_changes_day", "threshold_changes_used"];

/// Seconds until the next UTC day, when the daily allowances renew.
fn seconds_to_midnight(now: i64) -> i64 {
    86_400 - now.rem_euclid(86_400)
}

/// A daily allowance's two attributes on the profile item: its day and what was used.
#[derive(Clone, Copy)]
struct Daily {
    day: &'static str,
    used: &'static str,
    what: &'static str,
}

const BACKFILL: Daily = Daily { day: "backfill_day", used: "backfill_used", what: "backfill allowance" };
const IMPORT_FILES: Daily =
    Daily { day: "import_files_day", used: "import_files_used", what: "import allowance (files)" };
const IMPORT_KIB: Daily = Daily { day: "import_kib_day", used: "import_kib_used", what: "import allowance (bytes)" };
const THRESHOLD_CHANGES: Daily =
    Daily { day: "threshold_changes_day", used: "threshold_changes_used", what: "threshold-change allowance" };

impl DynamoStore {
    /// The profile item's stored backfill allowance (`None`: no profile).
    async fn backfill_allowance(&self, athlete: AthleteId) -> Result<Option<BackfillAllowance>, StoreError> {
        self.daily_allowance(athlete, BACKFILL).await
    }

    /// A daily allowance as stored on the profile item (`None`: no profile).
    async fn daily_allowance(&self, athlete: AthleteId, a: Daily) -> Result<Option<BackfillAllowance>, StoreError> {
        let Some(item) = self.get_item(&athlete_pk(athlete), "PROFILE").await? else { return Ok(None) };
        let day = item.get(a.day).and_then(|v| v.as_s().ok()).and_then(|d| d.parse::<LocalDate>().ok());
        let used = item.get(a.used).map_or(Ok(0), |_| get_n::<u32>(&item, a.used))?;
        Ok(Some(BackfillAllowance { day, used }))
    }

    /// Takes `wanted` of a daily allowance of `limit` ([`backfill_grant`]'s rule),
    /// conditional on the allowance as read, so that two requests never both spend it.
    async fn take_daily(
        &self,
        athlete: AthleteId,
        a: Daily,
        wanted: Option<u32>,
        limit: u32,
        now: i64,
    ) -> Result<Ration, StoreError> {
        let key = Self::key(athlete_pk(athlete), "PROFILE".into());
        for _ in 0..RATION_ATTEMPTS {
            let Some(stored) = self.daily_allowance(athlete, a).await? else {
                return Ok(Ration::NotConnected);
            };
            let used = stored.used;
            let (activities, after) = match backfill_grant(stored, wanted, limit, now) {
                BackfillGrant::Spent { retry_after_s, remaining } => {
                    return Ok(Ration::Wait { retry_after_s, remaining });
                }
                BackfillGrant::Granted { activities, after } => (activities, after),
            };
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .update_expression("SET #day = :day, #used = :used")
                .expression_attribute_names("#day", a.day)
                .expression_attribute_names("#used", a.used)
                .expression_attribute_values(":day", s(after.day.map(|d| d.to_string()).unwrap_or_default()))
                .expression_attribute_values(":used", n(after.used));
            update = match stored.day {
                Some(d) => update
                    .condition_expression("attribute_exists(pk) AND #day = :read_day AND #used = :read_used")
                    .expression_attribute_values(":read_day", s(d.to_string()))
                    .expression_attribute_values(":read_used", n(used)),
                None => update.condition_expression("attribute_exists(pk) AND attribute_not_exists(#day)"),
            };
            match update.send().await {
                Ok(_) => return Ok(Ration::Granted { activities }),
                Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => continue,
                Err(e) => return Err(sdk_err(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "{} of athlete {athlete} changed by other requests {RATION_ATTEMPTS} times in a row",
            a.what
        )))
    }
}

impl RationStore for DynamoStore {
    async fn take_export(&self, athlete: AthleteId, now: i64, every_s: i64) -> Result<Ration, StoreError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(athlete_pk(athlete), "PROFILE".into())))
            .update_expression("SET export_at = :now")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(export_at) OR export_at <= :cutoff)")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":cutoff", n(now - every_s))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(_) => Ok(Ration::Granted { activities: 1 }),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let old = match se.err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                        c.item.clone()
                    }
                    _ => None,
                };
                let last = old.as_ref().and_then(|item| get_n::<i64>(item, "export_at").ok());
                match (old.filter(|item| !item.is_empty()), export_wait(last, now, every_s)) {
                    (None, _) => Ok(Ration::NotConnected),
                    (Some(_), Some(wait)) => Ok(Ration::Wait { retry_after_s: wait, remaining: 0 }),
                    // Taken by a concurrent request whose time is later than ours: wait a window.
                    (Some(_), None) => Ok(Ration::Wait { retry_after_s: every_s, remaining: 0 }),
                }
            }
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn take_backfill(
        &self,
        athlete: AthleteId,
        wanted: Option<u32>,
        limit: u32,
        now: i64,
    ) -> Result<Ration, StoreError> {
        self.take_daily(athlete, BACKFILL, wanted, limit, now).await
    }

    async fn take_threshold_change(&self, athlete: AthleteId, limit: u32, now: i64) -> Result<Ration, StoreError> {
        self.take_daily(athlete, THRESHOLD_CHANGES, Some(1), limit, now).await
    }

    async fn take_import(&self, athlete: AthleteId, kib: u32, now: i64) -> Result<Ration, StoreError> {
        use stravasync_core::ration::{IMPORT_FILES_DAILY, IMPORT_KIB_DAILY};
        match self.take_daily(athlete, IMPORT_FILES, Some(1), IMPORT_FILES_DAILY, now).await? {
            Ration::Granted { .. } => {}
            other => return Ok(other),
        }
        // A file is taken whole or not at all: a part of its bytes is no grant.
        match self.take_daily(athlete, IMPORT_KIB, Some(kib), IMPORT_KIB_DAILY, now).await? {
            Ration::Granted { activities } if activities < kib => {
                Ok(Ration::Wait { retry_after_s: seconds_to_midnight(now), remaining: 0 })
            }
            Ration::Granted { .. } => Ok(Ration::Granted { activities: 1 }),
            other => Ok(other),
        }
    }

    async fn backfill_remaining(&self, athlete: AthleteId, limit: u32, now: i64) -> Result<u32, StoreError> {
        let stored = self.backfill_allowance(athlete).await?.unwrap_or_default();
        Ok(backfill_remaining(stored, limit, now))
    }

    async fn refund_backfill(&self, athlete: AthleteId, day: LocalDate, activities: u32) -> Result<(), StoreError> {
        for _ in 0..RATION_ATTEMPTS {
            let Some(stored) = self.backfill_allowance(athlete).await? else { return Ok(()) };
            let after = backfill_refund(stored, day, activities);
            if after == stored {
                return Ok(());
            }
            // Conditional on the allowance as read, as a grant is.
            let update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(athlete_pk(athlete), "PROFILE".into())))
                .update_expression("SET backfill_used = :used")
                .condition_expression("attribute_exists(pk) AND backfill_day = :day AND backfill_used = :read")
                .expression_attribute_values(":used", n(after.used))
                .expression_attribute_values(":day", s(day.to_string()))
                .expression_attribute_values(":read", n(stored.used));
            match update.send().await {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => continue,
                Err(e) => return Err(sdk_err(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "backfill allowance of athlete {athlete} changed by other requests {RATION_ATTEMPTS} times in a row"
        )))
    }
}
