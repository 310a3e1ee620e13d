//! Webhook events (docs/design.md §5): [`decide`] says what an event asks for; this
//! carries the decision out.

use crate::ConsumerStore;
use stravasync_core::decide::{Connection, EventDecision, LocalEdit, apply_local_edits, decide};
use stravasync_core::event::{ObjectType, WebhookEvent};
use stravasync_core::job::Requester;
use stravasync_core::model::{ActivityId, ActivityState, AthleteId, StoredActivity, Tombstone};
use stravasync_core::ports::{EventQueue, TokenVault, WriteOutcome};
use stravasync_strava::{AthleteSession, StravaError};

use crate::outcome::{Outcome, Step};
use crate::{Consumer, Priority};

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    #[tracing::instrument(skip_all, fields(athlete_id = event.owner_id, object_id = event.object_id))]
    pub(crate) async fn apply_event(&self, event: &WebhookEvent, receive_count: u32) -> Step<()> {
        let athlete = event.owner_id;
        let id = event.object_id;
        let stored = match event.object_type {
            ObjectType::Activity => self.store.get_activity(athlete, id).await?,
            ObjectType::Athlete => None,
        };
        // A deauthorization compares with the connection time of the tokens as stored now
        // (a reconnect may have just replaced them), so it reads past any cache.
        let tokens = if event.is_deauthorization() {
            self.vault.get_tokens_fresh(athlete).await?
        } else {
            match self.tokens(athlete).await? {
                // Cached tokens of an athlete without a profile: another container may have
                // applied a deauthorization since (it deletes both); read past the cache.
                Some(_) if self.store.get_profile(athlete).await?.is_none() => {
                    self.vault.get_tokens_fresh(athlete).await?
                }
                cached => cached,
            }
        };
        let connection =
            tokens.map(|t| Connection { connected_at: t.connected_at, can_read_private: t.scopes.can_read_private() });
        let decision = decide(stored.as_ref(), event, connection, self.now());
        let applied = matches!(decision, EventDecision::Delete | EventDecision::Refetch | EventDecision::UpdateLocally);
        let result = match decision {
            EventDecision::FromTheFuture => {
                Err(Outcome::Poison { reason: "event_time is more than a day in the future".into() })
            }
            EventDecision::Deauthorize => self.deauthorize(athlete).await,
            EventDecision::Delete => self.delete_activity(athlete, id, event.event_time, stored.as_ref()).await,
            EventDecision::Refetch => {
                self.fetch_and_store(athlete, id, event.event_time.into(), None, receive_count, Priority::Event).await
            }
            EventDecision::UpdateLocally => match &stored {
                Some(ActivityState::Live(a)) => {
                    self.update_locally(a, event, connection.is_some_and(|c| c.can_read_private)).await
                }
                _ => unreachable!("decide() updates locally only a live activity"),
            },
            // An activity stored for an athlete who is not connected: a write that raced a
            // deauthorization and crashed before its check. Sweep it now.
            EventDecision::NotConnected if stored.is_some() => self.deleted_meanwhile(athlete).await.map(|_| ()),
            EventDecision::StaleDeauthorization { .. }
            | EventDecision::IgnoreAthleteUpdate
            | EventDecision::Stale { .. }
            | EventDecision::NotConnected
            | EventDecision::AlreadyApplied => {
                tracing::info!(?decision, outcome = "ignored", "event needs nothing");
                Ok(())
            }
        };
        if applied && result.is_ok() {
            self.note_event(athlete, event.event_time).await;
        }
        result
    }

    /// Records the athlete's latest applied event time in the profile (the dashboard's
    /// sync status). Best effort: the event itself is stored already.
    async fn note_event(&self, athlete: AthleteId, event_time: i64) {
        let noted = self
            .store
            .update_profile(athlete, |p| {
                let later = p.last_event_at.is_none_or(|t| t < event_time);
                if later {
                    p.last_event_at = Some(event_time);
                }
                later
            })
            .await;
        if let Err(e) = noted {
            tracing::warn!(error = %e, "last event time not recorded");
        }
    }

    /// Title / type / privacy changes, with no Strava call ([`apply_local_edits`]); a type
    /// change rescores from the stored streams.
    async fn update_locally(&self, current: &StoredActivity, event: &WebhookEvent, can_read_private: bool) -> Step<()> {
        let (mut a, retyped) = match apply_local_edits(current, event, can_read_private) {
            LocalEdit::Unchanged => {
                tracing::info!(outcome = "stale", "older edits ignored");
                return Ok(());
            }
            LocalEdit::Delete { version } => {
                // Without activity:read_all a private activity must not be kept.
                let state = ActivityState::Live(Box::new(current.clone()));
                return self.delete_activity(current.athlete_id, current.activity_id, version, Some(&state)).await;
            }
            LocalEdit::Changed { activity, retyped } => (*activity, retyped),
        };
        if retyped {
            let set = self.stored_streams(&a).await?;
            (a.metrics, a.unscored_reason) = self.score(&a.summary, &set, a.athlete_id).await?;
        }
        if self.store.put_activity(&a).await? == WriteOutcome::Written {
            if retyped {
                self.mark_dirty(a.athlete_id, a.local_date).await?;
            }
            if self.deleted_meanwhile(a.athlete_id).await? {
                return Ok(());
            }
        }
        tracing::info!(retyped, outcome = "updated_locally", "activity updated");
        Ok(())
    }

    pub(crate) async fn delete_activity(
        &self,
        athlete: AthleteId,
        id: ActivityId,
        version: i64,
        stored: Option<&ActivityState>,
    ) -> Step<()> {
        let outcome = self.store.put_tombstone(Tombstone { athlete_id: athlete, activity_id: id, version }).await?;
        if outcome == WriteOutcome::Written {
            self.store.delete_stream_chunks(athlete, id, None).await?;
            if let Some(ActivityState::Live(a)) = stored {
                self.mark_dirty(athlete, a.local_date).await?;
            }
            if self.deleted_meanwhile(athlete).await? {
                return Ok(());
            }
        }
        tracing::info!(activity_id = id, ?outcome, outcome_kind = "deleted", "activity deleted");
        Ok(())
    }

    /// The athlete asked to disconnect (or an operator, at their request): the
    /// authorization is revoked at Strava with the athlete's token (refreshed first when it
    /// has expired), then everything is deleted as for a deauthorization.
    ///
    /// Whatever the order with Strava's deauthorization event that follows (it lands in the
    /// same message group, behind this job), and whatever crash between the two steps, it
    /// ends with nothing stored and nothing dead-lettered: a 401 or a refused refresh means
    /// the athlete already revoked; tokens already gone mean the event came first; and on
    /// its last allowed receive a disconnect that still cannot reach Strava deletes anyway
    /// (the athlete's data must go; the grant then lapses with the deleted tokens).
    #[tracing::instrument(skip(self), fields(athlete_id = athlete))]
    pub(crate) async fn disconnect(
        &self,
        athlete: AthleteId,
        requested_at: i64,
        by: Requester,
        receive_count: u32,
    ) -> Step<()> {
        let tokens = self.vault.get_tokens_fresh(athlete).await?;
        if let Some(t) = &tokens {
            if t.connected_at > requested_at {
                tracing::info!(
                    connected_at = t.connected_at,
                    requested_at,
                    outcome = "ignored",
                    "disconnect older than the athlete's current connection"
                );
                return Ok(());
            }
            let mut session = AthleteSession::new(&self.strava, &self.vault, athlete);
            match session.deauthorize().await {
                Ok(()) => tracing::info!(?by, outcome = "revoked", "authorization revoked at Strava"),
                Err(StravaError::Unauthorized { .. } | StravaError::NoTokens { .. }) => {
                    tracing::info!(?by, outcome = "already_revoked", "Strava no longer knows the authorization")
                }
                Err(e) if receive_count < self.policy.max_receives => {
                    return Err(Outcome::Retry { reason: format!("revoking at Strava: {e}") });
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    receive_count,
                    outcome = "revoke_failed",
                    "authorization could not be revoked at Strava; deleting the athlete's data anyway"
                ),
            }
        }
        self.deauthorize(athlete).await
    }

    /// The API agreement: a deauthorized athlete's personal data is deleted.
    async fn deauthorize(&self, athlete: AthleteId) -> Step<()> {
        self.vault.delete_tokens(athlete).await?;
        let items = self.store.delete_athlete(athlete).await?;
        tracing::info!(items, outcome = "deauthorized", "athlete data deleted");
        Ok(())
    }
}
