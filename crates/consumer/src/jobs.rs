//! The jobs: webhook events (docs/design.md §5), backfill / reconcile, rescore.

use stravasync_core::LocalDate;
use stravasync_core::codec::{decode_chunks, encode_chunks, stream_set_id};
use stravasync_core::event::{AspectType, Job, MAX_EVENT_CLOCK_SKEW_S, ObjectType, QueueMessage, WebhookEvent};
use stravasync_core::metrics::{self, ActivityMetrics, MetricsError};
use stravasync_core::model::{
    ActivityId, ActivityState, ActivitySummary, AthleteId, FieldVersions, OAuthTokens, SCHEMA_VERSION, Sex,
    StoredActivity, Thresholds, Tombstone,
};
use stravasync_core::ports::{ActivityStore, EventQueue, RateBudget, TokenVault, WriteOutcome};
use stravasync_core::streams::{MAX_SAMPLES, StreamSet};
use stravasync_strava::{ActivityQuery, AthleteSession};

use crate::outcome::{Outcome, Step};
use crate::{Consumer, Priority};

/// Version of activities imported by backfill: any real event supersedes them.
const BACKFILL_VERSION: i64 = 0;
const PER_PAGE: u32 = 200;

/// How an activity's streams came out.
enum Streams {
    Ready(Box<StreamSet>),
    /// Strava answered `{}`: not processed yet.
    NotYet,
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ActivityStore + RateBudget,
    V: TokenVault,
    Q: EventQueue,
{
    /// The athlete's tokens, or `None` when they are not connected (deauthorized, or never).
    async fn tokens(&self, athlete: AthleteId) -> Step<Option<OAuthTokens>> {
        Ok(self.vault.get_tokens(athlete).await?)
    }

    async fn thresholds(&self, athlete: AthleteId) -> Step<Thresholds> {
        Ok(self
            .store
            .get_profile(athlete)
            .await?
            .map(|p| p.thresholds)
            .unwrap_or_else(|| Thresholds::starter(Sex::Male)))
    }

    pub(crate) async fn apply_event(&self, event: &WebhookEvent, receive_count: u32) -> Step<()> {
        let athlete = event.owner_id;
        if event.event_time > self.now().saturating_add(MAX_EVENT_CLOCK_SKEW_S) {
            return Err(Outcome::Poison { reason: "event_time is more than a day in the future".into() });
        }
        if event.is_deauthorization() {
            return self.deauthorize(athlete, event.event_time).await;
        }
        if event.object_type == ObjectType::Athlete {
            tracing::info!(owner_id = athlete, outcome = "ignored", "athlete update other than deauthorization");
            return Ok(());
        }
        let id = event.object_id;
        let stored = self.store.get_activity(athlete, id).await?;
        let u = &event.updates;
        let local_only = event.aspect_type == AspectType::Update && u.other.is_empty() && u.authorized.is_none();
        // A local-only update of a live activity is judged field by field (see
        // `update_locally`); everything else loses to a newer stored state.
        let judged_per_field = local_only && matches!(stored, Some(ActivityState::Live(_)));
        if let Some(s) = &stored
            && s.version() > event.event_time
            && !judged_per_field
        {
            tracing::info!(
                owner_id = athlete,
                object_id = id,
                stored = s.version(),
                outcome = "stale",
                "older event ignored"
            );
            return Ok(());
        }
        let Some(tokens) = self.tokens(athlete).await? else {
            tracing::info!(
                owner_id = athlete,
                object_id = id,
                outcome = "not_connected",
                "event of an athlete without tokens ignored"
            );
            return Ok(());
        };
        match event.aspect_type {
            AspectType::Delete => self.delete_activity(athlete, id, event.event_time, stored.as_ref()).await,
            AspectType::Create => match &stored {
                // The same create again, or a delete of the same second: nothing to do.
                Some(s) if s.version() == event.event_time => Ok(()),
                _ => self.fetch_and_store(athlete, id, event.event_time, None, receive_count, Priority::Event).await,
            },
            AspectType::Update => {
                match &stored {
                    Some(ActivityState::Live(a)) if local_only => {
                        self.update_locally(a, event, tokens.scopes.can_read_private()).await
                    }
                    // Not stored (never imported) or anything else changed: refetch.
                    _ => {
                        self.fetch_and_store(athlete, id, event.event_time, None, receive_count, Priority::Event).await
                    }
                }
            }
        }
    }

    /// Title / type / privacy changes, with no Strava call. Each field changes only if
    /// the event is newer than that field's last change, so the result does not depend on
    /// the order edits arrive in.
    async fn update_locally(&self, current: &StoredActivity, event: &WebhookEvent, can_read_private: bool) -> Step<()> {
        let u = &event.updates;
        let t = event.event_time;
        if u.private.is_some_and(|p| p.0) && !can_read_private {
            // Without activity:read_all a private activity must not be kept.
            let state = ActivityState::Live(Box::new(current.clone()));
            let version = t.max(current.version);
            return self.delete_activity(current.athlete_id, current.activity_id, version, Some(&state)).await;
        }
        let mut a = current.clone();
        let fv = &mut a.field_versions;
        if let Some(title) = u.title.as_ref().filter(|_| t > fv.title) {
            a.summary.name = Some(title.clone());
            fv.title = t;
        }
        if let Some(p) = u.private.filter(|_| t > fv.private) {
            a.summary.private = p.0;
            fv.private = t;
        }
        let mut retyped = false;
        if let Some(ty) = u.sport_type.as_ref().filter(|_| t > fv.sport_type) {
            retyped = a.summary.sport_type.as_ref() != Some(ty);
            a.summary.sport_type = Some(ty.clone());
            a.summary.legacy_type = Some(ty.clone());
            fv.sport_type = t;
        }
        if a == *current {
            tracing::info!(
                owner_id = a.athlete_id,
                object_id = a.activity_id,
                outcome = "stale",
                "older edits ignored"
            );
            return Ok(());
        }
        a.version = a.version.max(t);
        if retyped {
            let set = self.stored_streams(&a).await?;
            (a.metrics, a.unscored_reason) = self.score(&a.summary, &set, a.athlete_id).await?;
        }
        if self.store.put_activity(&a).await? == WriteOutcome::Written && retyped {
            self.store.mark_pmc_dirty(a.athlete_id, a.local_date).await?;
        }
        tracing::info!(
            owner_id = a.athlete_id,
            object_id = a.activity_id,
            retyped,
            outcome = "updated_locally",
            "activity updated"
        );
        Ok(())
    }

    async fn delete_activity(
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
                self.store.mark_pmc_dirty(athlete, a.local_date).await?;
            }
        }
        tracing::info!(owner_id = athlete, object_id = id, ?outcome, outcome_kind = "deleted", "activity deleted");
        Ok(())
    }

    /// The API agreement: a deauthorized athlete's personal data is deleted, unless the
    /// athlete connected again after this deauthorization (its tokens say when): then it
    /// belongs to the earlier connection and the fresh tokens and profile stay.
    async fn deauthorize(&self, athlete: AthleteId, event_time: i64) -> Step<()> {
        if let Some(t) = self.vault.get_tokens_fresh(athlete).await?
            && t.connected_at > event_time
        {
            tracing::info!(
                owner_id = athlete,
                connected_at = t.connected_at,
                event_time,
                outcome = "stale",
                "deauthorization older than the latest connection ignored"
            );
            return Ok(());
        }
        self.vault.delete_tokens(athlete).await?;
        let items = self.store.delete_athlete(athlete).await?;
        tracing::info!(owner_id = athlete, items, outcome = "deauthorized", "athlete data deleted");
        Ok(())
    }

    /// Metrics with the athlete's thresholds, or why there are none. An unknown sport, bad
    /// thresholds or streams longer than the pipeline scores leave the activity unscored
    /// rather than unstored; invalid streams are poison.
    async fn score(
        &self,
        summary: &ActivitySummary,
        set: &StreamSet,
        athlete: AthleteId,
    ) -> Step<(Option<ActivityMetrics>, Option<String>)> {
        let unscored = |reason: String| {
            tracing::warn!(owner_id = athlete, object_id = summary.id, reason, "activity left unscored");
            Ok((None, Some(reason)))
        };
        let sport = match summary.sport() {
            Ok(s) => s,
            Err(e) => return unscored(e.to_string()),
        };
        match metrics::compute(&sport, set, &self.thresholds(athlete).await?) {
            Ok(m) => Ok((Some(m), None)),
            Err(MetricsError::Thresholds(e)) => unscored(format!("athlete thresholds invalid: {e}")),
            Err(MetricsError::Streams(e)) if e.is_over_limit() => unscored(e.to_string()),
            Err(MetricsError::Streams(e)) => {
                Err(Outcome::Poison { reason: format!("streams of activity {} from Strava: {e}", summary.id) })
            }
        }
    }

    /// The decoded stream set an activity points at (empty when it has none).
    async fn stored_streams(&self, a: &StoredActivity) -> Step<StreamSet> {
        let Some(set) = a.streams_ref() else { return Ok(StreamSet::default()) };
        let chunks = self.store.get_stream_chunks(a.athlete_id, a.activity_id, set).await?;
        decode_chunks(&chunks)
            .map_err(|e| Outcome::Poison { reason: format!("stored streams of {}: {e}", a.activity_id) })
    }

    /// Fetches (or takes the given list summary), scores and stores one activity.
    /// `attempt` counts deliveries, for the empty-streams schedule.
    pub(crate) async fn fetch_and_store(
        &self,
        athlete: AthleteId,
        id: ActivityId,
        version: i64,
        listed: Option<&ActivitySummary>,
        attempt: u32,
        priority: Priority,
    ) -> Step<()> {
        let mut session = AthleteSession::new(&self.strava, &self.vault, athlete);
        let summary = match listed {
            Some(s) => s.clone(),
            None => match self.call(athlete, priority, session.activity(id)).await? {
                Some(s) => s,
                None => {
                    // Gone (deleted, or private to us) since the event: same as a delete.
                    let stored = self.store.get_activity(athlete, id).await?;
                    return self.delete_activity(athlete, id, version, stored.as_ref()).await;
                }
            },
        };
        let local_date = summary.local_date().map_err(|e| Outcome::Poison { reason: e.to_string() })?;
        let streams = if summary.manual {
            Streams::Ready(Box::default())
        } else {
            match self.call(athlete, priority, session.streams(id)).await? {
                None => Streams::Ready(Box::default()), // manual, or no streams at all
                Some(set) if set.is_empty() => Streams::NotYet,
                Some(set) => Streams::Ready(Box::new(set)),
            }
        };
        let (set, pending) = match streams {
            Streams::Ready(set) => (*set, false),
            Streams::NotYet => match self.config.empty_stream_delays.get(attempt.saturating_sub(1) as usize) {
                Some(&secs) if listed.is_none() => {
                    return Err(Outcome::Defer { secs, reason: format!("streams of {id} not ready") });
                }
                // Out of retries (or a backfill, which does not wait): store what exists.
                _ => (StreamSet::default(), true),
            },
        };
        let (metrics, unscored_reason) = self.score(&summary, &set, athlete).await?;
        // Streams over the sample cap are not stored either (their chunks would be huge).
        let keep_streams = !set.is_empty() && set.len() <= MAX_SAMPLES;
        let chunks = if keep_streams {
            encode_chunks(&set).map_err(|e| Outcome::Poison { reason: format!("encoding streams of {id}: {e}") })?
        } else {
            Vec::new()
        };
        // Chunks first, under their content's own set id, then the activity that points at
        // them, then the PMC marker. A crash between the steps is repaired by the retry,
        // which rewrites the same keys; a writer that loses the conditional put never
        // touched the chunks the stored activity points at.
        let streams_id = stream_set_id(&chunks);
        if let Some(set_id) = &streams_id {
            self.store.put_stream_chunks(athlete, id, set_id, &chunks).await?;
        }
        let activity = StoredActivity {
            schema: SCHEMA_VERSION,
            athlete_id: athlete,
            activity_id: id,
            version,
            local_date,
            summary,
            metrics,
            stream_chunks: chunks.len() as u32,
            streams_id,
            unscored_reason,
            pending_streams: pending,
            field_versions: FieldVersions::all(version),
        };
        match self.store.put_activity(&activity).await? {
            WriteOutcome::Written => {
                // Sets the activity no longer points at (an older fetch, or one whose
                // activity write never happened) go.
                self.store.delete_stream_chunks(athlete, id, activity.streams_ref()).await?;
                self.store.mark_pmc_dirty(athlete, local_date).await?;
                tracing::info!(
                    owner_id = athlete,
                    object_id = id,
                    version,
                    pending,
                    outcome = "stored",
                    "activity stored"
                );
            }
            WriteOutcome::Stale { stored_version } => {
                // Our set is an orphan unless the stored activity points at the same one.
                let stored = self.store.get_activity(athlete, id).await?;
                let keep = match &stored {
                    Some(ActivityState::Live(s)) => s.streams_ref(),
                    _ => None,
                };
                self.store.delete_stream_chunks(athlete, id, keep).await?;
                tracing::info!(
                    owner_id = athlete,
                    object_id = id,
                    stored_version,
                    outcome = "stale",
                    "newer state kept"
                );
            }
        }
        Ok(())
    }

    /// Backfill and reconcile: page the activity list (200 a page), import what is
    /// missing with the list summary (no detail call), hand over to a continuation message
    /// after `backfill_batch` imports or when the background budget runs out.
    pub(crate) async fn backfill(&self, job: &Job) -> Step<()> {
        let (athlete, most_recent, after, before, mut page, mut index, mut done) = match *job {
            Job::Backfill { athlete_id, most_recent, after, before, page, index, done } => {
                (athlete_id, most_recent, after, before, page, index, done)
            }
            Job::Reconcile { athlete_id, since } => (athlete_id, None, Some(since), None, 1, 0, 0),
            _ => return Ok(()),
        };
        if self.tokens(athlete).await?.is_none() {
            tracing::info!(
                owner_id = athlete,
                outcome = "not_connected",
                "backfill of an athlete without tokens dropped"
            );
            return Ok(());
        }
        let mut imported = 0u32;
        let continuation = |page: u32, index: u32, done: u32| Job::Backfill {
            athlete_id: athlete,
            most_recent,
            after,
            before,
            page,
            index,
            done,
        };
        loop {
            if imported >= self.config.backfill_batch {
                // Hand over before listing a page this message would not get to import.
                return self.hand_over(&continuation(page, index, done)).await;
            }
            let mut session = AthleteSession::new(&self.strava, &self.vault, athlete);
            let query = ActivityQuery { before, after, page, per_page: PER_PAGE };
            let list = match self.call(athlete, Priority::Background, session.activities(query)).await {
                Ok(list) => list.unwrap_or_default(),
                Err(Outcome::Defer { .. }) if imported > 0 => {
                    return self.hand_over(&continuation(page, index, done)).await;
                }
                Err(o) => return Err(o),
            };
            for (i, summary) in list.iter().enumerate().skip(index as usize) {
                if most_recent.is_some_and(|n| done >= n) {
                    return self.finish_backfill(athlete, done).await;
                }
                if imported >= self.config.backfill_batch {
                    return self.hand_over(&continuation(page, i as u32, done)).await;
                }
                // Import what is missing, or live but still waiting for its streams (keeping
                // its version); a tombstone stays.
                let needed = match self.store.get_activity(athlete, summary.id).await? {
                    None => Some(BACKFILL_VERSION),
                    Some(ActivityState::Live(a)) if a.pending_streams => Some(a.version),
                    Some(_) => None,
                };
                if let Some(version) = needed {
                    match self
                        .fetch_and_store(athlete, summary.id, version, Some(summary), 1, Priority::Background)
                        .await
                    {
                        Ok(()) => imported += 1,
                        Err(Outcome::Defer { .. }) => return self.hand_over(&continuation(page, i as u32, done)).await,
                        Err(o) => return Err(o),
                    }
                }
                done += 1;
            }
            if list.len() < PER_PAGE as usize {
                return self.finish_backfill(athlete, done).await;
            }
            page += 1;
            index = 0;
        }
    }

    /// Enqueues the rest of a backfill as a new message (its own checkpoint); the current
    /// one is then done. If the budget is out, the continuation is deferred when received.
    async fn hand_over(&self, next: &Job) -> Step<()> {
        let key = match next {
            Job::Backfill { page, index, done, .. } => format!("cont-{page}-{index}-{done}-{}", self.now()),
            _ => format!("cont-{}", self.now()),
        };
        self.queue.enqueue(&QueueMessage::for_job(next, &key)).await?;
        tracing::info!(athlete_id = next.athlete_id(), outcome = "continued", "backfill handed over");
        Ok(())
    }

    async fn finish_backfill(&self, athlete: AthleteId, done: u32) -> Step<()> {
        if let Some(mut p) = self.store.get_profile(athlete).await? {
            p.last_sync = Some(self.now());
            self.store.put_profile(&p).await?;
        }
        tracing::info!(owner_id = athlete, activities = done, outcome = "backfilled", "backfill complete");
        Ok(())
    }

    /// Recomputes metrics from stored streams (after a threshold change).
    pub(crate) async fn rescore(&self, athlete: AthleteId, only: Option<ActivityId>) -> Step<()> {
        let activities = match only {
            Some(id) => match self.store.get_activity(athlete, id).await? {
                Some(ActivityState::Live(a)) => vec![*a],
                _ => Vec::new(),
            },
            None => {
                let (from, to) = (LocalDate::from_ymd(1970, 1, 1), LocalDate::from_ymd(9999, 12, 31));
                match (from, to) {
                    (Some(f), Some(t)) => self.store.activities_between(athlete, f, t).await?,
                    _ => Vec::new(),
                }
            }
        };
        let mut earliest: Option<LocalDate> = None;
        for mut a in activities {
            let set = self.stored_streams(&a).await?;
            (a.metrics, a.unscored_reason) = self.score(&a.summary, &set, athlete).await?;
            if self.store.put_activity(&a).await? == WriteOutcome::Written {
                earliest = Some(earliest.map_or(a.local_date, |e| e.min(a.local_date)));
            }
        }
        if let Some(d) = earliest {
            self.store.mark_pmc_dirty(athlete, d).await?;
        }
        Ok(())
    }
}
