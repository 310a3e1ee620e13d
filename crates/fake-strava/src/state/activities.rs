//! Activities as Strava serves them (detail, list, streams; private and deleted ones hidden
//! from who may not see them), and the push subscription Strava sends its events to: an
//! activity created, edited or deleted, an athlete's deauthorization.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use stravasync_core::streams::{NumericKey, StreamSet};

use super::FakeState;
use crate::data::{self, Activity, StreamSource};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: i64,
    pub callback_url: String,
}

pub(crate) struct Activities {
    by_id: BTreeMap<i64, Activity>,
    /// Activity ids by owner (the list endpoint reads one athlete's, not the world's).
    by_owner: HashMap<i64, Vec<i64>>,
    /// The last id given to an activity recorded while the fake runs: far above the
    /// generated seasons' ids, so a new one never takes a season's.
    last_new_id: i64,
    /// Strava allows an application one subscription.
    subscription: Option<Subscription>,
}

impl Activities {
    pub fn new() -> Self {
        Activities {
            by_id: BTreeMap::new(),
            by_owner: HashMap::new(),
            last_new_id: data::GENERATED_ACTIVITY_BASE + 900_000_000,
            subscription: None,
        }
    }

    /// Adds the activity, or replaces the one of the same id (which keeps its place in its
    /// first owner's list).
    pub fn insert(&mut self, activity: Activity) {
        let (id, owner) = (activity.id, activity.owner);
        if self.by_id.insert(id, activity).is_none() {
            self.by_owner.entry(owner).or_default().push(id);
        }
    }

    /// An id for an activity recorded now.
    pub fn new_id(&mut self) -> i64 {
        self.last_new_id += 1;
        self.last_new_id
    }

    pub fn get(&self, id: i64) -> Option<&Activity> {
        self.by_id.get(&id)
    }

    pub fn owner_of(&self, id: i64) -> Option<i64> {
        self.by_id.get(&id).map(|a| a.owner)
    }

    /// The athlete's activities (deleted ones included).
    fn of_owner(&self, owner: i64) -> impl Iterator<Item = &Activity> {
        self.by_owner.get(&owner).into_iter().flatten().filter_map(|id| self.by_id.get(id))
    }

    /// Ids of an athlete's activities that are not deleted, oldest first.
    pub fn live_ids(&self, owner: i64) -> Vec<i64> {
        let mut v: Vec<(i64, i64)> = self.of_owner(owner).filter(|a| !a.deleted).map(|a| (a.start, a.id)).collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// What `/athlete/activities` lists for the athlete, newest first, before paging:
    /// private ones only with `activity:read_all`, starts strictly between `after` and
    /// `before`.
    pub fn listed(&self, owner: i64, read_all: bool, before: Option<i64>, after: Option<i64>) -> Vec<&Activity> {
        let mut list: Vec<&Activity> = self
            .of_owner(owner)
            .filter(|a| !a.deleted && (read_all || !a.private))
            .filter(|a| before.is_none_or(|b| a.start < b) && after.is_none_or(|x| a.start > x))
            .collect();
        list.sort_by_key(|a| std::cmp::Reverse((a.start, a.id)));
        list
    }

    /// The activity if `athlete` may see it: their own, not deleted, and not private
    /// unless they granted `activity:read_all`. Strava answers 404 otherwise, not 403.
    pub fn visible(&self, id: i64, athlete: i64, read_all: bool) -> Option<&Activity> {
        self.by_id.get(&id).filter(|a| a.owner == athlete && !a.deleted && (!a.private || read_all))
    }

    /// Spends one of the activity's stream fetches set to answer `{}`.
    pub fn spend_empty_fetch(&mut self, id: i64) {
        if let Some(stored) = self.by_id.get_mut(&id) {
            stored.empty_stream_fetches -= 1;
        }
    }

    pub fn set_empty_fetches(&mut self, id: i64, fetches: u32) -> bool {
        self.by_id.get_mut(&id).map(|a| a.empty_stream_fetches = fetches).is_some()
    }

    /// Deleted activities stay known (their owner's events still name them) but answer 404.
    pub fn delete(&mut self, id: i64) -> bool {
        self.by_id.get_mut(&id).map(|a| a.deleted = true).is_some()
    }

    pub fn set_private(&mut self, id: i64, private: bool) -> bool {
        self.by_id.get_mut(&id).map(|a| a.private = private).is_some()
    }

    /// Changes title and/or sport type; Strava keeps the legacy `type` equal to the sport.
    pub fn edit(&mut self, id: i64, name: Option<&str>, sport_type: Option<&str>) -> bool {
        let Some(a) = self.by_id.get_mut(&id) else { return false };
        a.edit_json(|j| {
            if let Some(n) = name {
                j["name"] = json!(n);
            }
            if let Some(s) = sport_type {
                j["sport_type"] = json!(s);
                j["type"] = json!(s);
            }
        });
        true
    }

    pub fn subscription(&self) -> Option<&Subscription> {
        self.subscription.as_ref()
    }

    pub fn subscribe(&mut self, subscription: Subscription) {
        self.subscription = Some(subscription);
    }

    /// Deletes subscription `id`; `false` if that is not the application's subscription.
    pub fn unsubscribe(&mut self, id: i64) -> bool {
        match &self.subscription {
            Some(s) if s.id == id => {
                self.subscription = None;
                true
            }
            _ => false,
        }
    }

    /// A push event as Strava would send it at `now` for the subscription (id 0 without one).
    pub fn event(
        &self,
        object_type: &str,
        object_id: i64,
        aspect_type: &str,
        updates: Value,
        owner_id: i64,
        now: i64,
    ) -> Value {
        json!({
            "object_type": object_type,
            "object_id": object_id,
            "aspect_type": aspect_type,
            "updates": updates,
            "owner_id": owner_id,
            "subscription_id": self.subscription.as_ref().map_or(0, |s| s.id),
            "event_time": now,
        })
    }
}

/// The streams `/activities/{id}/streams` serves for the activity (`None`: a manual one,
/// which has none). Generated streams are thinned to one sample every `step` seconds, as a
/// device's smart recording; fixtures are served as recorded. `keys` (Strava's
/// comma-separated query) keeps only the streams asked for.
pub(crate) fn served_streams(activity: &Activity, step: usize, keys: Option<&str>) -> Option<StreamSet> {
    let mut set = activity.streams()?;
    if step > 1 && matches!(activity.streams, StreamSource::Generated { .. }) {
        let kept: Vec<usize> = (0..set.len()).step_by(step).collect();
        set = set.select(&kept);
    }
    if let Some(keys) = keys {
        let wanted: Vec<&str> = keys.split(',').collect();
        for key in NumericKey::ALL {
            if !wanted.contains(&key.name()) {
                set.set(key, None);
            }
        }
        if !wanted.contains(&"latlng") {
            set.latlng = None;
        }
        if !wanted.contains(&"moving") {
            set.moving = None;
        }
    }
    Some(set)
}

impl FakeState {
    /// Ids of an athlete's activities that are not deleted, oldest first.
    pub fn activity_ids(&self, athlete: i64) -> Vec<i64> {
        self.world().activities.live_ids(athlete)
    }

    pub fn activity_json(&self, id: i64) -> Option<Value> {
        self.world().activities.get(id).map(Activity::served_json)
    }

    /// The streams an activity serves (`None` for a manual activity).
    pub fn activity_streams(&self, id: i64) -> Option<StreamSet> {
        self.world().activities.get(id).and_then(Activity::streams)
    }

    pub(crate) fn owner_of(&self, id: i64) -> Option<i64> {
        self.world().activities.owner_of(id)
    }

    /// Adds (or replaces) an activity from its DetailedActivity JSON (which must carry
    /// `id`, `athlete.id` and `start_date`) and its streams (`None`: manual).
    pub fn insert_activity(&self, json: Value, streams: Option<StreamSet>) -> Option<i64> {
        let id = json["id"].as_i64()?;
        let owner = json["athlete"]["id"].as_i64()?;
        let start = json["start_date"].as_str().and_then(stravasync_core::date::parse_timestamp)?;
        let streams = match streams {
            Some(s) => StreamSource::Fixed(Box::new(s)),
            None => StreamSource::None,
        };
        let mut w = self.world();
        w.athletes.ensure_known(owner);
        w.activities.insert(Activity::new(id, owner, start, &json, streams));
        Some(id)
    }

    /// The next `fetches` stream requests of the activity answer `{}`.
    pub fn set_empty_stream_fetches(&self, id: i64, fetches: u32) -> bool {
        self.world().activities.set_empty_fetches(id, fetches)
    }

    pub fn delete_activity(&self, id: i64) -> bool {
        self.world().activities.delete(id)
    }

    pub fn set_private(&self, id: i64, private: bool) -> bool {
        self.world().activities.set_private(id, private)
    }

    /// Changes title and/or sport type, as an athlete editing on Strava.
    pub fn update_activity(&self, id: i64, name: Option<&str>, sport_type: Option<&str>) -> bool {
        self.world().activities.edit(id, name, sport_type)
    }

    /// Records a new generated activity for `athlete`, starting at `start`; returns its id.
    pub fn new_activity(&self, athlete: i64, start: i64) -> Option<i64> {
        self.new_activity_with(athlete, start, 1)
    }

    /// As [`FakeState::new_activity`], its summary sketched from streams `summary_step`
    /// times shorter ([`data::generate_activity_with`]).
    pub fn new_activity_with(&self, athlete: i64, start: i64, summary_step: usize) -> Option<i64> {
        let profile = self.world().athletes.get(athlete)?.clone();
        let id = self.world().activities.new_id();
        let seed = self.config.season.map_or(1, |s| s.seed);
        // Generated outside the lock: a summary reads the activity's streams.
        let activity = data::generate_activity_with(&profile, id, start, seed, summary_step);
        self.world().activities.insert(activity);
        Some(id)
    }

    pub fn subscription(&self) -> Option<Subscription> {
        self.world().activities.subscription().cloned()
    }

    /// A push event as Strava would send it now for this subscription.
    pub fn event(&self, object_type: &str, object_id: i64, aspect_type: &str, updates: Value, owner_id: i64) -> Value {
        let now = self.now();
        self.world().activities.event(object_type, object_id, aspect_type, updates, owner_id, now)
    }

    /// POSTs an event to the subscription's callback URL, as Strava does; returns the
    /// callback's status.
    pub async fn push_event(&self, event: &Value) -> Result<u16, String> {
        let sub = self.subscription().ok_or("no push subscription")?;
        let client = crate::http::client_builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let response =
            client.post(&sub.callback_url).json(event).send().await.map_err(|e| e.without_url().to_string())?;
        Ok(response.status().as_u16())
    }

    /// Sends `event` to the push subscription in the background, as Strava does after
    /// the request that caused it has been answered ([`FakeState::settle_pushes`] waits
    /// for it).
    pub(crate) fn push_later(&self, event: Value) {
        let state = self.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = state.push_event(&event).await {
                tracing::warn!(error = %e, "fake-strava: push failed");
            }
        });
        self.pushes.lock().unwrap_or_else(|p| p.into_inner()).push(task);
    }

    /// Waits until every background push has been delivered (or has failed).
    pub async fn settle_pushes(&self) {
        loop {
            let pending: Vec<_> = std::mem::take(&mut *self.pushes.lock().unwrap_or_else(|p| p.into_inner()));
            if pending.is_empty() {
                return;
            }
            for task in pending {
                let _ = task.await;
            }
        }
    }
}
