//! Strava's shared budget as the consumer spends it: each call reserved in both windows
//! before it is made, background work below its share and paced over the day, events first
//! (docs/design.md §5, lanes); windows a container found spent remembered until they reset.

use crate::ConsumerStore;
use stravasync_core::job::{Lane, MAX_VISIBILITY_S};
use stravasync_core::model::{
    AthleteId, OAuthTokens, RateWindow, RateWindowKind, paced_daily_share, paced_share_resumes_at,
};
use stravasync_core::ports::{EventQueue, Reservation, TokenVault};
use stravasync_core::telemetry::BUDGET_RESERVED;
use stravasync_strava::{RateUsage, Response, StravaError};

use crate::Consumer;
use crate::outcome::{Outcome, strava_outcome};

/// Webhook work has priority: background jobs stop at a share of each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    Event,
    Background,
}

/// The deferral of a record that waits for the budget until `until`.
fn budget_wait(kind: RateWindowKind, now: i64, until: i64) -> Outcome {
    Outcome::Defer {
        secs: (until - now).clamp(1, i64::from(MAX_VISIBILITY_S)) as u32,
        reason: format!("{kind:?} budget spent"),
        budget: true,
    }
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    fn limit(&self, kind: RateWindowKind, priority: Priority) -> u32 {
        let full = match kind {
            RateWindowKind::QuarterHour => self.policy.limit_15min,
            RateWindowKind::Daily => self.policy.limit_daily,
        };
        match priority {
            Priority::Event => full,
            Priority::Background => (f64::from(full) * self.policy.background_share).floor() as u32,
        }
    }

    /// Reserves one request in both shared windows, or says how long to wait. An event
    /// that must wait holds the next 15-minute window for the events lane: background
    /// work yields it, so the waiting events go first (docs/design.md §5, lanes).
    ///
    /// Background work waits so that every waiting slice wakes at the same moment (their
    /// queue order is the round-robin): until the window resets; until the next hour when
    /// the window was held for events (they are short of budget, and will be for a while);
    /// until midnight when the day's share is spent as well.
    async fn reserve(&self, priority: Priority) -> Result<(), Outcome> {
        let now = self.now();
        let kinds = [RateWindowKind::QuarterHour, RateWindowKind::Daily];
        // Both windows before reserving in either: a spent day must not use up the quarter.
        for kind in kinds {
            if let Some(until) = self.known_spent(RateWindow::containing(kind, now), priority, now) {
                return Err(budget_wait(kind, now, until));
            }
        }
        for kind in kinds {
            let window = RateWindow::containing(kind, now);
            let limit = match (kind, priority) {
                (RateWindowKind::Daily, Priority::Background) if self.policy.pace_background => {
                    paced_daily_share(self.limit(kind, priority), now)
                }
                _ => self.limit(kind, priority),
            };
            let reservation = match priority {
                Priority::Event => self.store.reserve(window, 1, limit).await?,
                Priority::Background => self.store.reserve_background(window, 1, limit).await?,
            };
            let share = self.limit(RateWindowKind::Daily, priority);
            let used = match reservation {
                Reservation::Granted { used } | Reservation::Exhausted { used } | Reservation::Held { used } => used,
            };
            self.saw_budget(kind, used);
            let mut until = match (reservation, kind, priority) {
                (Reservation::Granted { .. }, ..) => continue,
                (Reservation::Exhausted { used }, RateWindowKind::Daily, Priority::Background)
                    if self.policy.pace_background =>
                {
                    paced_share_resumes_at(share, used, now)
                }
                (Reservation::Exhausted { .. }, ..) => window.resets_at(),
                (Reservation::Held { .. }, ..) => (now.div_euclid(3600) + 1) * 3600,
            };
            if priority == Priority::Event && kind == RateWindowKind::QuarterHour {
                self.store.hold_for_events(window.next()).await?;
            }
            if priority == Priority::Background && kind == RateWindowKind::QuarterHour {
                // Past the day's paced share too, it waits for the pace (midnight when the
                // whole share is spent), not for every quarter or hour in between.
                let day = RateWindow::containing(RateWindowKind::Daily, now);
                let used = self.store.used(day).await?;
                let resumes = if self.policy.pace_background {
                    paced_share_resumes_at(share, used, now)
                } else if used >= share {
                    day.resets_at()
                } else {
                    now
                };
                if resumes > until {
                    self.note_spent(day, priority, resumes, now);
                    until = resumes;
                }
            }
            self.note_spent(window, priority, until, now);
            tracing::info!(?kind, ?reservation, ?priority, "rate budget exhausted; deferring");
            return Err(budget_wait(kind, now, until));
        }
        let lane = match priority {
            Priority::Event => Lane::Events,
            Priority::Background => Lane::Background,
        };
        metrics::counter!(BUDGET_RESERVED, "Lane" => lane.name()).increment(1);
        Ok(())
    }

    /// Keeps the highest count seen in a window during this batch: `BudgetUsed`, one value
    /// per window per invocation ([`Consumer::handle_batch`] records it).
    fn saw_budget(&self, kind: RateWindowKind, used: u32) {
        let window = match kind {
            RateWindowKind::QuarterHour => "15min",
            RateWindowKind::Daily => "daily",
        };
        let mut seen = self.budget_seen.lock().unwrap_or_else(|p| p.into_inner());
        let highest = seen.entry(window).or_insert(0);
        *highest = (*highest).max(used);
    }

    /// Until when this container knows `window` is spent for `priority` (if after `now`).
    fn known_spent(&self, window: RateWindow, priority: Priority, now: i64) -> Option<i64> {
        self.spent.lock().unwrap_or_else(|p| p.into_inner()).get(&(window, priority)).copied().filter(|t| *t > now)
    }

    fn note_spent(&self, window: RateWindow, priority: Priority, until: i64, now: i64) {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        spent.retain(|(w, _), _| w.resets_at() > now);
        spent.insert((window, priority), until);
    }

    /// Corrects the shared windows from what Strava reported (reads count against the
    /// read limit; fall back to the overall one).
    async fn observe(&self, usage: Option<&RateUsage>) {
        let Some(u) = usage.and_then(|u| u.read.or(u.overall)) else { return };
        let now = self.now();
        for (kind, used) in [(RateWindowKind::QuarterHour, u.used_15min), (RateWindowKind::Daily, u.used_daily)] {
            if let Err(e) = self.store.record_usage(RateWindow::containing(kind, now), used).await {
                tracing::warn!(error = %e, "rate window correction failed");
            }
        }
    }

    /// A Strava call on the athlete's behalf inside the shared budget: reserve, call,
    /// correct from headers, and map a failure to its outcome. `NotFound` is returned as
    /// `Ok(None)`; a 403 proving a scope missing also downgrades the stored scopes.
    pub(crate) async fn call<T>(
        &self,
        athlete: AthleteId,
        priority: Priority,
        fut: impl std::future::Future<Output = Result<Response<T>, StravaError>>,
    ) -> Result<Option<T>, Outcome> {
        self.reserve(priority).await?;
        match fut.await {
            Ok(r) => {
                self.observe(r.usage.as_ref()).await;
                Ok(Some(r.value))
            }
            Err(StravaError::NotFound { .. }) => Ok(None),
            Err(e) => {
                match &e {
                    StravaError::RateLimited { usage, .. } => self.observe(usage.as_ref()).await,
                    StravaError::MissingScope { scope, .. } => self.downgrade_scope(athlete, scope).await?,
                    _ => {}
                }
                Err(strava_outcome(e, self.now()))
            }
        }
    }
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// Removes a scope Strava proved missing from the stored tokens and profile, so that
    /// what the pipeline believes it may read matches what it was granted.
    async fn downgrade_scope(&self, athlete: AthleteId, scope: &str) -> Result<(), Outcome> {
        if let Some(tokens) = self.vault.get_tokens_fresh(athlete).await? {
            let narrowed = OAuthTokens { scopes: tokens.scopes.without(scope), ..tokens.clone() };
            self.vault.replace_tokens(&tokens, &narrowed).await?;
        }
        self.store
            .update_profile(athlete, |p| {
                p.scopes = p.scopes.without(scope);
                true
            })
            .await?;
        tracing::warn!(
            athlete_id = athlete,
            scope,
            outcome = "scope_downgraded",
            "Strava proved a stored scope missing"
        );
        Ok(())
    }
}
