//! The [`RateBudget`] port: one counter item per rate-limit window, shared by every
//! consumer.

use stravasync_core::model::RateWindow;
use stravasync_core::ports::{RateBudget, Reservation, StoreError};

use super::keys::*;
use super::*;

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
