//! What a webhook event asks for (docs/design.md §5), decided from what is stored, with no
//! I/O: the consumer reads the inputs, calls [`decide`], and carries the decision out.
//! Local title / type / privacy edits are merged by [`apply_local_edits`], field by field.

use crate::event::{AspectType, MAX_EVENT_CLOCK_SKEW_S, ObjectType, WebhookEvent};
use crate::model::{ActivityState, StoredActivity};

/// What the stored tokens say about the athlete's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// When the OAuth connection the tokens descend from was made (0: unknown).
    pub connected_at: i64,
    /// `activity:read_all` was granted: private activities may be kept.
    pub can_read_private: bool,
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDecision {
    /// `event_time` is more than a day ahead of the clock: refused (poison).
    FromTheFuture,
    /// Delete the athlete's tokens and every item.
    Deauthorize,
    /// A deauthorization older than the athlete's latest connection: it belongs to an
    /// earlier connection; nothing is deleted.
    StaleDeauthorization { connected_at: i64 },
    /// An athlete update other than a deauthorization: nothing to do.
    IgnoreAthleteUpdate,
    /// A newer state is stored: nothing to do.
    Stale { stored_version: i64 },
    /// The athlete has no tokens (never connected, or deauthorized): nothing to do.
    NotConnected,
    /// Tombstone the activity and delete its streams.
    Delete,
    /// The same create again, or a delete of the same second: nothing to do.
    AlreadyApplied,
    /// Fetch the activity and its streams from Strava, score and store them.
    Refetch,
    /// Apply title / type / privacy changes to the stored activity ([`apply_local_edits`]).
    UpdateLocally,
}

/// An update that changes nothing but title, type or privacy.
fn is_local_only(event: &WebhookEvent) -> bool {
    let u = &event.updates;
    event.aspect_type == AspectType::Update && u.other.is_empty() && u.authorized.is_none()
}

/// The decision for `event`, given the activity's stored state (for activity events),
/// the athlete's connection (`None`: no tokens) and the clock.
pub fn decide(
    stored: Option<&ActivityState>,
    event: &WebhookEvent,
    connection: Option<Connection>,
    now: i64,
) -> EventDecision {
    if event.event_time > now.saturating_add(MAX_EVENT_CLOCK_SKEW_S) {
        return EventDecision::FromTheFuture;
    }
    if event.is_deauthorization() {
        return match connection {
            Some(c) if c.connected_at > event.event_time => {
                EventDecision::StaleDeauthorization { connected_at: c.connected_at }
            }
            _ => EventDecision::Deauthorize,
        };
    }
    if event.object_type == ObjectType::Athlete {
        return EventDecision::IgnoreAthleteUpdate;
    }
    // A local-only update of a live activity is judged field by field; anything else
    // loses to a newer stored state.
    let per_field = is_local_only(event) && matches!(stored, Some(ActivityState::Live(_)));
    if let Some(s) = stored
        && s.version() > event.event_time
        && !per_field
    {
        return EventDecision::Stale { stored_version: s.version() };
    }
    if connection.is_none() {
        return EventDecision::NotConnected;
    }
    match event.aspect_type {
        AspectType::Delete => EventDecision::Delete,
        AspectType::Create => match stored {
            Some(s) if s.version() == event.event_time => EventDecision::AlreadyApplied,
            _ => EventDecision::Refetch,
        },
        AspectType::Update if per_field => EventDecision::UpdateLocally,
        // Never imported, or something else changed: refetch.
        AspectType::Update => EventDecision::Refetch,
    }
}

/// The result of merging local edits into a stored activity.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalEdit {
    /// Every edit is older than its field's last change.
    Unchanged,
    /// Made private without `activity:read_all`: it must not be kept; tombstone at `version`.
    Delete { version: i64 },
    /// The activity with the edits applied; `retyped` when the sport changed (rescore).
    Changed { activity: Box<StoredActivity>, retyped: bool },
}

/// Title / type / privacy edits of `event` applied to `current`. Each field changes only
/// if the event is newer than that field's last change, so the result does not depend on
/// the order edits arrive in.
pub fn apply_local_edits(current: &StoredActivity, event: &WebhookEvent, can_read_private: bool) -> LocalEdit {
    let u = &event.updates;
    let t = event.event_time;
    if u.private.is_some_and(|p| p.0) && !can_read_private {
        return LocalEdit::Delete { version: t.max(current.version) };
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
        return LocalEdit::Unchanged;
    }
    a.version = a.version.max(t);
    LocalEdit::Changed { activity: Box::new(a), retyped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldVersions, SCHEMA_VERSION, Tombstone};

    const NOW: i64 = 1_763_755_200;
    const CONNECTED: Option<Connection> = Some(Connection { connected_at: 0, can_read_private: true });

    fn event(object_type: &str, aspect: &str, updates: serde_json::Value, time: i64) -> WebhookEvent {
        serde_json::from_value(serde_json::json!({
            "object_type": object_type, "object_id": if object_type == "athlete" { 5 } else { 77 },
            "aspect_type": aspect, "updates": updates, "owner_id": 5, "subscription_id": 1, "event_time": time
        }))
        .unwrap()
    }

    fn live(version: i64) -> ActivityState {
        ActivityState::Live(Box::new(StoredActivity {
            schema: SCHEMA_VERSION,
            athlete_id: 5,
            activity_id: 77,
            version,
            local_date: "2025-01-02".parse().unwrap(),
            summary: serde_json::from_value(serde_json::json!({
                "id": 77, "name": "Morning Ride", "sport_type": "Ride", "start_date": "2025-01-02T08:00:00Z",
                "start_date_local": "2025-01-02T09:00:00Z"
            }))
            .unwrap(),
            metrics: None,
            stream_chunks: 0,
            streams_id: None,
            unscored_reason: None,
            pending_streams: false,
            field_versions: FieldVersions::all(version),
        }))
    }

    fn deleted(version: i64) -> ActivityState {
        ActivityState::Deleted(Tombstone { athlete_id: 5, activity_id: 77, version })
    }

    fn activity(state: ActivityState) -> StoredActivity {
        match state {
            ActivityState::Live(a) => *a,
            ActivityState::Deleted(_) => unreachable!(),
        }
    }

    #[test]
    fn the_event_table_case_by_case() {
        use EventDecision::*;
        let t = NOW - 100;
        let create = event("activity", "create", serde_json::json!({}), t);
        let title = event("activity", "update", serde_json::json!({"title": "x"}), t);
        let other = event("activity", "update", serde_json::json!({"gear_id": "b1"}), t);
        let delete = event("activity", "delete", serde_json::json!({}), t);
        type Case<'a> = (&'a str, Option<ActivityState>, &'a WebhookEvent, Option<Connection>, EventDecision);
        let cases: Vec<Case> = vec![
            ("create, nothing stored", None, &create, CONNECTED, Refetch),
            ("create again", Some(live(t)), &create, CONNECTED, AlreadyApplied),
            ("create after a delete of the same second", Some(deleted(t)), &create, CONNECTED, AlreadyApplied),
            (
                "create older than the stored state",
                Some(live(t + 1)),
                &create,
                CONNECTED,
                Stale { stored_version: t + 1 },
            ),
            (
                "create older than a tombstone",
                Some(deleted(t + 1)),
                &create,
                CONNECTED,
                Stale { stored_version: t + 1 },
            ),
            ("create of an athlete without tokens", None, &create, None, NotConnected),
            ("title edit of a live activity", Some(live(t - 1)), &title, CONNECTED, UpdateLocally),
            ("older title edit: judged per field", Some(live(t + 1)), &title, CONNECTED, UpdateLocally),
            ("title edit of an activity never imported", None, &title, CONNECTED, Refetch),
            (
                "title edit after a newer delete",
                Some(deleted(t + 1)),
                &title,
                CONNECTED,
                Stale { stored_version: t + 1 },
            ),
            ("other update", Some(live(t - 1)), &other, CONNECTED, Refetch),
            ("older other update", Some(live(t + 1)), &other, CONNECTED, Stale { stored_version: t + 1 }),
            ("delete", Some(live(t - 1)), &delete, CONNECTED, Delete),
            ("delete of nothing stored", None, &delete, CONNECTED, Delete),
            ("older delete", Some(live(t + 1)), &delete, CONNECTED, Stale { stored_version: t + 1 }),
            ("delete without tokens", Some(live(t - 1)), &delete, None, NotConnected),
        ];
        for (name, stored, e, connection, want) in cases {
            assert_eq!(decide(stored.as_ref(), e, connection, NOW), want, "{name}");
        }
    }

    #[test]
    fn athlete_events_and_the_clock() {
        let deauth = event("athlete", "update", serde_json::json!({"authorized": "false"}), NOW - 50);
        assert_eq!(decide(None, &deauth, CONNECTED, NOW), EventDecision::Deauthorize);
        assert_eq!(decide(None, &deauth, None, NOW), EventDecision::Deauthorize, "idempotent without tokens");
        let reconnected = Some(Connection { connected_at: NOW - 10, can_read_private: true });
        assert_eq!(
            decide(None, &deauth, reconnected, NOW),
            EventDecision::StaleDeauthorization { connected_at: NOW - 10 }
        );
        let rename = event("athlete", "update", serde_json::json!({"title": "x"}), NOW);
        assert_eq!(decide(None, &rename, CONNECTED, NOW), EventDecision::IgnoreAthleteUpdate);
        let future = event("activity", "create", serde_json::json!({}), NOW + MAX_EVENT_CLOCK_SKEW_S + 1);
        assert_eq!(decide(None, &future, CONNECTED, NOW), EventDecision::FromTheFuture);
        let near = event("activity", "create", serde_json::json!({}), NOW + MAX_EVENT_CLOCK_SKEW_S);
        assert_eq!(decide(None, &near, CONNECTED, NOW), EventDecision::Refetch);
        let far = event("activity", "create", serde_json::json!({}), i64::MAX);
        assert_eq!(decide(None, &far, CONNECTED, i64::MAX - 1), EventDecision::Refetch, "no overflow");
    }

    #[test]
    fn local_edits_merge_per_field_in_any_order() {
        let base = activity(live(10));
        let title = event("activity", "update", serde_json::json!({"title": "Hills"}), 14);
        let sport = event("activity", "update", serde_json::json!({"type": "VirtualRide"}), 15);
        let apply = |a: &StoredActivity, e: &WebhookEvent| match apply_local_edits(a, e, true) {
            LocalEdit::Changed { activity, .. } => *activity,
            LocalEdit::Unchanged => a.clone(),
            other => panic!("{other:?}"),
        };
        let one = apply(&apply(&base, &title), &sport);
        let other = apply(&apply(&base, &sport), &title);
        assert_eq!(one, other, "title@14 after type@15 still applies");
        assert_eq!(one.summary.name.as_deref(), Some("Hills"));
        assert_eq!(one.version, 15);
        match apply_local_edits(&base, &sport, true) {
            LocalEdit::Changed { retyped, .. } => assert!(retyped),
            other => panic!("{other:?}"),
        }
        // The same edit again changes nothing.
        assert_eq!(apply_local_edits(&one, &title, true), LocalEdit::Unchanged);
        // Private without activity:read_all: delete, at the newer of the two versions.
        let private = event("activity", "update", serde_json::json!({"private": "true"}), 12);
        assert_eq!(apply_local_edits(&one, &private, false), LocalEdit::Delete { version: 15 });
        match apply_local_edits(&one, &private, true) {
            LocalEdit::Changed { activity, retyped } => assert!(activity.summary.private && !retyped),
            other => panic!("{other:?}"),
        }
    }
}
