//! What a simulation runs: how many athletes, for how long, under which limits, and how
//! they behave.

use stravasync_consumer::ConsumerPolicy;

use crate::load::Behaviour;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub athletes: u32,
    pub days: u32,
    /// Strava's read limits: per 15 minutes and per day.
    pub limit_15min: u32,
    pub limit_daily: u32,
    /// Athletes connect uniformly over this many hours from the start.
    pub connect_over_hours: f64,
    /// Activities each athlete recorded before connecting.
    pub history: u32,
    /// Activities imported at connection (`BackfillCount`).
    pub backfill_count: u32,
    pub behaviour: Behaviour,
    /// Share of each window the background lane may use (`BACKGROUND_SHARE`).
    pub background_share: f64,
    /// Imports per background message before it hands over (`BACKFILL_BATCH`).
    pub backfill_batch: u32,
    /// Virtual duration of one Strava call.
    pub request_ms: i64,
    /// Chance, each hour, that Strava answers one request 429 outside our budget's view.
    pub stray_429_per_hour: f64,
    /// Generated streams are served at one sample every this many seconds.
    pub stream_step: usize,
    pub seed: u64,
    /// Unix seconds of the start (a UTC midnight).
    pub start: i64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            athletes: 100,
            days: 30,
            limit_15min: ConsumerPolicy::DEFAULT_LIMIT_15MIN,
            limit_daily: ConsumerPolicy::DEFAULT_LIMIT_DAILY,
            connect_over_hours: 7.0 * 24.0,
            history: 60,
            backfill_count: 30,
            behaviour: Behaviour::default(),
            background_share: ConsumerPolicy::DEFAULT_BACKGROUND_SHARE,
            backfill_batch: ConsumerPolicy::DEFAULT_BACKFILL_BATCH,
            request_ms: 300,
            stray_429_per_hour: 0.05,
            stream_step: 4,
            seed: 1,
            start: 1_767_225_600, // 2026-01-01
        }
    }
}
