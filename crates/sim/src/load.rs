//! The load: who connects when, what they have recorded before, and what they record,
//! edit, delete and revoke during the run. Pure and seeded: the same options give the same
//! schedule.

pub use fake_strava::data::Rng;

/// The load's generator for `seed` (fake-strava's splitmix64, the seed mixed so that
/// small seeds start far apart).
pub fn rng(seed: u64) -> Rng {
    Rng::new(seed ^ 0x9E37_79B9_7F4A_7C15)
}

/// Shares of the load model (per activity or per athlete over the run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behaviour {
    /// Mean activities per athlete per day (each athlete's own rate is 0.4–1.6× this).
    pub activities_per_day: f64,
    /// Share of activities whose title is edited afterwards.
    pub title_edits: f64,
    /// Share of activities whose sport type is changed afterwards (a rescore).
    pub type_edits: f64,
    /// Share of activities deleted afterwards.
    pub deletes: f64,
    /// Share of athletes who revoke access during the run.
    pub deauthorizations: f64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            activities_per_day: 0.7,
            title_edits: 0.15,
            type_edits: 0.02,
            deletes: 0.02,
            deauthorizations: 0.01,
        }
    }
}

/// UTC offsets of the athletes, hours, with weights (most in the Americas and Europe).
const TIMEZONES: [(f64, f64); 8] =
    [(-8.0, 0.12), (-6.0, 0.08), (-5.0, 0.18), (-3.0, 0.05), (0.0, 0.14), (1.0, 0.28), (2.0, 0.05), (10.0, 0.10)];

/// One athlete's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct AthletePlan {
    pub index: u32,
    /// When they connect (unix seconds).
    pub connect_at: i64,
    /// Starts of what they recorded before connecting (oldest first).
    pub history: Vec<i64>,
    /// Their own activities per day.
    pub rate: f64,
    /// UTC offset, seconds.
    pub utc_offset: i64,
    /// When they revoke access, if they do.
    pub deauthorize_at: Option<i64>,
}

/// Local hour of an activity's start: mornings, lunch, evenings.
fn start_hour(rng: &mut Rng) -> f64 {
    let roll = rng.unit();
    let hour = if roll < 0.40 {
        rng.normal(7.0, 1.0)
    } else if roll < 0.55 {
        rng.normal(12.5, 0.8)
    } else {
        rng.normal(18.0, 1.5)
    };
    hour.clamp(4.5, 22.5)
}

/// The next activity start after `after` for an athlete at `rate` a day, at a realistic
/// local hour.
pub fn next_start(rng: &mut Rng, after: i64, rate: f64, utc_offset: i64) -> i64 {
    let gap_days = rng.exp(1.0 / rate.max(0.01));
    let local_day = (after + utc_offset + (gap_days * 86_400.0) as i64).div_euclid(86_400);
    let start = local_day * 86_400 + (start_hour(rng) * 3600.0) as i64 - utc_offset;
    if start <= after { start + 86_400 } else { start }
}

/// The athletes of a run: connecting uniformly over `connect_over_s` from `start`, each
/// with `history` activities recorded before.
pub fn plan_athletes(
    athletes: u32,
    start: i64,
    connect_over_s: i64,
    end: i64,
    history: u32,
    behaviour: &Behaviour,
    seed: u64,
) -> Vec<AthletePlan> {
    (0..athletes)
        .map(|index| {
            let mut rng = rng(seed ^ (u64::from(index) << 20) ^ 0xA11);
            let connect_at = start + (rng.unit() * connect_over_s as f64) as i64;
            let rate = behaviour.activities_per_day * rng.range(0.4, 1.6);
            let mut pick = rng.unit();
            let utc_offset = TIMEZONES
                .iter()
                .find(|(_, w)| {
                    pick -= w;
                    pick < 0.0
                })
                .map_or(0.0, |(h, _)| *h);
            let utc_offset = (utc_offset * 3600.0) as i64;
            // History, walking back from the connection at the athlete's own rate.
            let mut t = connect_at - 2 * 3600;
            let mut starts = Vec::with_capacity(history as usize);
            for _ in 0..history {
                t -= (rng.exp(1.0 / rate) * 86_400.0) as i64 + 3600;
                starts.push(t);
            }
            starts.reverse();
            let deauthorize_at = (rng.unit() < behaviour.deauthorizations)
                .then(|| connect_at + (rng.unit() * (end - connect_at).max(1) as f64) as i64);
            AthletePlan { index, connect_at, history: starts, rate, utc_offset, deauthorize_at }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_seeded_and_plausible() {
        let b = Behaviour::default();
        let a = plan_athletes(200, 0, 3_600, 30 * 86_400, 30, &b, 7);
        assert_eq!(a, plan_athletes(200, 0, 3_600, 30 * 86_400, 30, &b, 7));
        assert!(a.iter().all(|p| (0..3_600).contains(&p.connect_at)));
        assert!(a.iter().all(|p| p.history.len() == 30 && p.history.windows(2).all(|w| w[0] < w[1])));
        assert!(a.iter().all(|p| p.history.last().is_some_and(|t| *t < p.connect_at)));
        let revoking = a.iter().filter(|p| p.deauthorize_at.is_some()).count();
        assert!(revoking < 12, "about 1 %: {revoking}");

        // Starts fall on local mornings, lunches and evenings, one every ~1/rate days.
        let mut rng = rng(1);
        let (mut t, mut n, offset) = (0i64, 0, -5 * 3600);
        while t < 200 * 86_400 {
            let next = next_start(&mut rng, t, 0.7, offset);
            assert!(next > t);
            let local_hour = (next + offset).rem_euclid(86_400) / 3600;
            assert!((4..=22).contains(&local_hour), "{local_hour}");
            (t, n) = (next, n + 1);
        }
        assert!((110..170).contains(&n), "{n} activities in 200 days at 0.7 a day");
    }
}
