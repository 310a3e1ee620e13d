//! Fetching, scoring and storing one activity, and the reads it needs.

use crate::ConsumerStore;
use stravasync_core::analysis::{AnalysisError, ZoneSettings, score_activity};
use stravasync_core::codec::{decode_chunks, encode_chunks, stream_set_id};
use stravasync_core::metrics::ActivityMetrics;
use stravasync_core::model::{
    ActivityId, ActivityState, ActivitySummary, AthleteId, FieldVersions, OAuthTokens, SCHEMA_VERSION, Sex,
    StoredActivity, Thresholds, is_local_id, same_recording,
};
use stravasync_core::ports::{EventQueue, TokenVault, WriteOutcome};
use stravasync_core::streams::{MAX_SAMPLES, StreamSet};
use stravasync_core::thresholds::ThresholdHistory;
use stravasync_strava::AthleteSession;

use crate::outcome::{Outcome, Step};
use crate::{Consumer, Priority};

/// The versions an activity is stored with: the event's (every field at it), or, when a
/// stored activity is fetched again (a re-sync), the stored ones, so that an unchanged
/// activity is stored exactly as it was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stamp {
    version: i64,
    fields: FieldVersions,
}

impl From<i64> for Stamp {
    fn from(version: i64) -> Self {
        Stamp { version, fields: FieldVersions::all(version) }
    }
}

impl Stamp {
    pub(crate) fn of(a: &StoredActivity) -> Self {
        Stamp { version: a.version, fields: a.field_versions }
    }
}

/// An athlete's threshold history and zone settings, read once for every activity a
/// record scores.
pub(crate) struct AthleteModel {
    pub(crate) history: ThresholdHistory,
    pub(crate) zones: ZoneSettings,
}

/// [`score_activity`] of one activity, or why it has no score (see `Consumer::score`).
pub(crate) fn score_with(
    summary: &ActivitySummary,
    set: &StreamSet,
    model: &AthleteModel,
) -> Step<(Option<ActivityMetrics>, Option<String>)> {
    let unscored = |reason: String| {
        tracing::warn!(reason, "activity left unscored");
        Ok((None, Some(reason)))
    };
    if let Err(e) = summary.sport() {
        return unscored(e.to_string());
    }
    match score_activity(summary, set, &model.history, &model.zones) {
        Ok(m) => Ok((Some(m), None)),
        Err(AnalysisError::Thresholds(e)) => unscored(format!("athlete thresholds invalid: {e}")),
        Err(AnalysisError::Summary(e)) => unscored(e.to_string()),
        Err(AnalysisError::Streams(e)) if e.is_over_limit() => unscored(e.to_string()),
        Err(AnalysisError::Streams(e)) => {
            Err(Outcome::Poison { reason: format!("streams of activity {} from Strava: {e}", summary.id) })
        }
    }
}

/// How an activity's streams came out.
enum Streams {
    Ready(Box<StreamSet>),
    /// Strava answered `{}`: not processed yet.
    NotYet,
}

impl<S, V, Q> Consumer<S, V, Q>
where
    S: ConsumerStore,
    V: TokenVault,
    Q: EventQueue,
{
    /// The athlete's tokens, or `None` when they are not connected (deauthorized, or never).
    /// The athlete's tokens. "None" from the vault's cache is confirmed at the source: a
    /// disconnect this container carried out leaves "none" cached, and a reconnect made
    /// meanwhile on another container (the webhook) must not see its work dropped.
    pub(crate) async fn tokens(&self, athlete: AthleteId) -> Step<Option<OAuthTokens>> {
        match self.vault.get_tokens(athlete).await? {
            Some(tokens) => Ok(Some(tokens)),
            None => Ok(self.vault.get_tokens_fresh(athlete).await?),
        }
    }

    /// What an athlete's activities are scored with (docs/design.md §6b): the stored
    /// threshold history, or before one is stored the profile's single thresholds as the
    /// entries the migration makes of them (the starter thresholds without a profile); and
    /// the athlete's own zone boundaries from Strava, kept in the profile.
    pub(crate) async fn athlete_model(&self, athlete: AthleteId) -> Step<AthleteModel> {
        let single = self.store.get_profile(athlete).await?.map(|p| p.thresholds);
        let single = single.unwrap_or_else(|| Thresholds::starter(Sex::Male));
        let history = match self.store.threshold_history(athlete).await? {
            Some(stored) => stored.history,
            None => ThresholdHistory::from_profile(&single),
        };
        Ok(AthleteModel { history, zones: ZoneSettings::of(&single) })
    }

    /// Whether the athlete was deleted (a deauthorization, which has a message group of its
    /// own) while this record wrote for them; if so, what it wrote is deleted again. Every
    /// write for an athlete is followed by this check before its record is done. The
    /// deletion removes tokens, then the profile, then every other item; so a write followed
    /// by this check either is seen by that last sweep (the profile was still there) or
    /// is undone here (it was gone, and the tokens with it). docs/design.md §5, lanes.
    pub(crate) async fn deleted_meanwhile(&self, athlete: AthleteId) -> Step<bool> {
        if self.store.get_profile(athlete).await?.is_some() || self.vault.get_tokens_fresh(athlete).await?.is_some() {
            return Ok(false);
        }
        let items = self.store.delete_athlete(athlete).await?;
        tracing::warn!(
            items,
            outcome = "undone",
            "athlete deleted while this record wrote for them; its writes deleted"
        );
        Ok(true)
    }

    /// Metrics with the athlete's thresholds in force on the activity's day, or why there
    /// are none. An unknown sport, a bad date or history, or streams longer than the
    /// pipeline scores leave the activity unscored rather than unstored; invalid streams
    /// are poison.
    pub(crate) async fn score(
        &self,
        summary: &ActivitySummary,
        set: &StreamSet,
        athlete: AthleteId,
    ) -> Step<(Option<ActivityMetrics>, Option<String>)> {
        let model = self.athlete_model(athlete).await?;
        score_with(summary, set, &model)
    }

    /// The decoded stream set an activity points at (empty when it has none).
    pub(crate) async fn stored_streams(&self, a: &StoredActivity) -> Step<StreamSet> {
        let Some(set) = a.streams_ref() else { return Ok(StreamSet::default()) };
        let chunks = self.store.get_stream_chunks(a.athlete_id, a.activity_id, set).await?;
        decode_chunks(&chunks)
            .map_err(|e| Outcome::Poison { reason: format!("stored streams of {}: {e}", a.activity_id) })
    }

    /// Fetches (or takes the given list summary), scores and stores one activity.
    /// `attempt` counts deliveries, for the empty-streams schedule.
    #[tracing::instrument(skip_all, fields(athlete_id = athlete, activity_id = id, version = stamp.version))]
    pub(crate) async fn fetch_and_store(
        &self,
        athlete: AthleteId,
        id: ActivityId,
        stamp: Stamp,
        listed: Option<&ActivitySummary>,
        attempt: u32,
        priority: Priority,
    ) -> Step<()> {
        let version = stamp.version;
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
        // A bad date is poison before the streams are asked for.
        summary.local_date().map_err(|e| Outcome::Poison { reason: e.to_string() })?;
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
            Streams::NotYet => match self.policy.empty_stream_delays.get(attempt.saturating_sub(1) as usize) {
                Some(&secs) if listed.is_none() => {
                    return Err(Outcome::Defer { secs, reason: format!("streams of {id} not ready"), budget: false });
                }
                // Out of retries (or a backfill, which does not wait): store what exists.
                _ => (StreamSet::default(), true),
            },
        };
        if let Some(stored) = self.store_scored(athlete, id, stamp, summary, set, pending).await? {
            self.keep_one_copy(&stored).await?;
        }
        Ok(())
    }

    /// Scores and stores one activity with its streams at `stamp`: chunks first, under
    /// their content's own set id, then the activity that points at them, then the PMC
    /// marker. The activity as written, or `None` when a newer state was kept.
    pub(crate) async fn store_scored(
        &self,
        athlete: AthleteId,
        id: ActivityId,
        stamp: Stamp,
        summary: ActivitySummary,
        set: StreamSet,
        pending: bool,
    ) -> Step<Option<StoredActivity>> {
        let local_date = summary.local_date().map_err(|e| Outcome::Poison { reason: e.to_string() })?;
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
            version: stamp.version,
            local_date,
            summary,
            metrics,
            stream_chunks: chunks.len() as u32,
            streams_id,
            unscored_reason,
            pending_streams: pending,
            field_versions: stamp.fields,
        };
        match self.store.put_activity(&activity).await? {
            WriteOutcome::Written => {
                // Sets the activity no longer points at (an older fetch, or one whose
                // activity write never happened) go.
                self.store.delete_stream_chunks(athlete, id, activity.streams_ref()).await?;
                self.mark_dirty(athlete, local_date).await?;
                if self.deleted_meanwhile(athlete).await? {
                    // The athlete is gone: nothing more for this record to do.
                    return Err(Outcome::Done);
                }
                tracing::info!(version = stamp.version, pending, outcome = "stored", "activity stored");
                return Ok(Some(activity));
            }
            WriteOutcome::Stale { stored_version } => {
                // Our set is an orphan unless the stored activity points at the same one.
                let stored = self.store.get_activity(athlete, id).await?;
                let keep = match &stored {
                    Some(ActivityState::Live(s)) => s.streams_ref(),
                    _ => None,
                };
                self.store.delete_stream_chunks(athlete, id, keep).await?;
                tracing::info!(stored_version, outcome = "stale", "newer state kept");
            }
        }
        Ok(None)
    }

    /// After a write, one copy of the recording stays (the same start within a minute, the
    /// same sport group; one query of the three days around it), so the chart never counts
    /// it twice: a Strava id takes the place of loose files' copies; a loose file with a
    /// Strava twin goes itself, and that twin is returned.
    pub(crate) async fn keep_one_copy(&self, stored: &StoredActivity) -> Step<Option<ActivityId>> {
        let (athlete, day) = (stored.athlete_id, stored.local_date);
        let local = is_local_id(stored.activity_id);
        for other in self.store.activities_between(athlete, day.add_days(-1), day.add_days(1)).await? {
            if other.activity_id == stored.activity_id || !same_recording(&other.summary, &stored.summary) {
                continue;
            }
            let (gone, twin) = match (local, is_local_id(other.activity_id)) {
                (false, true) => (&other, None),
                (true, false) => (stored, Some(other.activity_id)),
                _ => continue,
            };
            let state = ActivityState::Live(Box::new(gone.clone()));
            self.delete_activity(athlete, gone.activity_id, gone.version, Some(&state)).await?;
            tracing::info!(
                replaced = gone.activity_id,
                outcome = "local_copy_replaced",
                "a loose file's copy replaced"
            );
            if twin.is_some() {
                return Ok(twin);
            }
        }
        Ok(None)
    }
}
