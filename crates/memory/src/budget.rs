//! [`MemoryRateBudget`]: the shared Strava budget's windows in memory (the store holds
//! one and doubles as the budget, as the DynamoDB table does).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use stravasync_core::model::RateWindow;
use stravasync_core::ports::{RateBudget, Reservation, StoreError};

#[derive(Default, Clone)]
pub struct MemoryRateBudget {
    used: Arc<Mutex<HashMap<RateWindow, u32>>>,
    held: Arc<Mutex<HashSet<RateWindow>>>,
}

impl RateBudget for MemoryRateBudget {
    async fn reserve(&self, window: RateWindow, requests: u32, limit: u32) -> Result<Reservation, StoreError> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let count = used.entry(window).or_insert(0);
        if *count + requests <= limit {
            *count += requests;
            Ok(Reservation::Granted { used: *count })
        } else {
            Ok(Reservation::Exhausted { used: *count })
        }
    }

    async fn record_usage(&self, window: RateWindow, observed: u32) -> Result<(), StoreError> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let count = used.entry(window).or_insert(0);
        *count = (*count).max(observed);
        Ok(())
    }

    async fn hold_for_events(&self, window: RateWindow) -> Result<(), StoreError> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(window);
        Ok(())
    }

    async fn reserve_background(
        &self,
        window: RateWindow,
        requests: u32,
        limit: u32,
    ) -> Result<Reservation, StoreError> {
        if self.held.lock().unwrap_or_else(|p| p.into_inner()).contains(&window) {
            return Ok(Reservation::Held { used: self.used(window).await? });
        }
        self.reserve(window, requests, limit).await
    }

    async fn used(&self, window: RateWindow) -> Result<u32, StoreError> {
        Ok(self.used.lock().unwrap_or_else(|p| p.into_inner()).get(&window).copied().unwrap_or(0))
    }
}
