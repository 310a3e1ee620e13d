//! The athletes the fake knows: the profiles `/athlete` answers with, and the thresholds
//! their zones (`/athlete/zones`) and generated activities follow.

use std::collections::BTreeMap;

use super::FakeState;
use crate::data::{self, Athlete};

#[derive(Default)]
pub(crate) struct Athletes {
    profiles: BTreeMap<i64, Athlete>,
}

impl Athletes {
    pub fn get(&self, id: i64) -> Option<&Athlete> {
        self.profiles.get(&id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.profiles.contains_key(&id)
    }

    /// Who consents when an authorization names nobody: the lowest id.
    pub fn first(&self) -> Option<i64> {
        self.profiles.keys().next().copied()
    }

    pub fn ids(&self) -> Vec<i64> {
        self.profiles.keys().copied().collect()
    }

    /// Adds the athlete, or replaces the profile of the same id.
    pub fn insert(&mut self, athlete: Athlete) {
        self.profiles.insert(athlete.id, athlete);
    }

    /// An activity inserted for an athlete the fake does not know brings its owner, with
    /// the fixtures' default thresholds, so that the owner can authorize and list it.
    pub fn ensure_known(&mut self, id: i64) {
        self.profiles.entry(id).or_insert_with(|| Athlete {
            id,
            firstname: "Inserted".into(),
            lastname: format!("Athlete {id}"),
            sex: "M",
            ftp: 250.0,
            lthr: 165.0,
            threshold_speed: 3.9,
        });
    }
}

impl FakeState {
    /// Adds generated athlete `index` (as a season would); returns their id.
    pub fn add_generated_athlete(&self, index: u32, seed: u64) -> i64 {
        let athlete = data::generate_athlete(index, seed);
        let id = athlete.id;
        self.world().athletes.insert(athlete);
        id
    }

    pub fn athlete_ids(&self) -> Vec<i64> {
        self.world().athletes.ids()
    }
}
