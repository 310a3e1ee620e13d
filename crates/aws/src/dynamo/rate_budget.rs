//! The [`RateBudget`] port: one counter item per rate-limit window, shared by every
//! consumer.

use stravasync_core::model::RateWindow;
use stravasync_core::ports::{RateBudget, Reservation, StoreError};

use super::keys::*;
use super::*;

impl RateBudget for DynamoStore {
    async fn reserve(&self, window: RateWindow, requests: u32, limit: u32) -> Result<Reservation, StoreError> {
        self.reserve_in(window, requests, limit, false).await
    }

    async fn reserve_background(
        &self,
        window: RateWindow,
        requests: u32,
        limit: u32,
    ) -> Result<Reservation, StoreError> {
        self.reserve_in(window, requests, limit, true).await
    }

    async fn hold_for_events(&self, window: RateWindow) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key("RATE".into(), window_sk(window))))
            .update_expression("SET held = :true, expires_at = :exp")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":exp", n(window.resets_at() + 86_400))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn record_usage(&self, window: RateWindow, observed: u32) -> Result<(), StoreError> {
        self.record_usage_in(window, observed).await
    }

    async fn used(&self, window: RateWindow) -> Result<u32, StoreError> {
        match self.get_item("RATE", &window_sk(window)).await? {
            Some(item) if item.contains_key("used") => get_n(&item, "used"),
            _ => Ok(0),
        }
    }
}

impl DynamoStore {
    /// One conditional `ADD`: within the limit, and (for the background lane) not held.
    async fn reserve_in(
        &self,
        window: RateWindow,
        requests: u32,
        limit: u32,
        background: bool,
    ) -> Result<Reservation, StoreError> {
        let key = Self::key("RATE".into(), window_sk(window));
        if requests > limit {
            let used = match self.get_item("RATE", &window_sk(window)).await? {
                Some(item) => get_n(&item, "used")?,
                None => 0,
            };
            return Ok(Reservation::Exhausted { used });
        }
        let condition = if background {
            "(attribute_not_exists(used) OR used <= :max) AND attribute_not_exists(held)"
        } else {
            "attribute_not_exists(used) OR used <= :max"
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("ADD used :n SET expires_at = :exp")
            .condition_expression(condition)
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
                let old = match se.err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                        c.item.as_ref()
                    }
                    _ => None,
                };
                // A held window may have no count yet.
                let used = old.map_or(limit, |i| get_n(i, "used").unwrap_or(0));
                let held = background && old.is_some_and(|i| i.contains_key("held"));
                Ok(if held { Reservation::Held { used } } else { Reservation::Exhausted { used } })
            }
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn record_usage_in(&self, window: RateWindow, observed: u32) -> Result<(), StoreError> {
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
