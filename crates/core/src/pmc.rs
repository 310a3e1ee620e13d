//! Performance Management Chart: CTL (fitness), ATL (fatigue), TSB (form), docs/design.md §6.
//!
//! `CTL[d] = CTL[d−1] + (S[d] − CTL[d−1])·(1 − e^(−1/τ_ctl))`, ATL likewise with τ_atl,
//! and `TSB[d] = CTL[d−1] − ATL[d−1]`: the form going into the day, as TrainingPeaks and
//! GoldenCheetah show it. Before the first day CTL = ATL = 0. Days without activities are
//! zero load and still get a row. A value that decays below [`NEGLIGIBLE`] is zero: after
//! a long break ATL reaches 1e-270, which DynamoDB (numbers down to 1e-130) refuses to
//! store, and no chart could show.

use std::collections::BTreeMap;

use crate::date::LocalDate;
use crate::model::{PmcConstants, PmcRow};

/// Fitness and fatigue smaller than this are zero (a year without training takes ATL below
/// it; the rows stay storable and the chart is unchanged to any digit it shows).
pub const NEGLIGIBLE: f64 = 1e-9;

fn settle(x: f64) -> f64 {
    if x.abs() < NEGLIGIBLE { 0.0 } else { x }
}

/// CTL and ATL at the end of a day: all the recurrence needs to carry on.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PmcState {
    pub ctl: f64,
    pub atl: f64,
}

impl From<&PmcRow> for PmcState {
    fn from(row: &PmcRow) -> Self {
        PmcState { ctl: row.ctl, atl: row.atl }
    }
}

/// Sums activity scores into daily loads; repeated dates add up.
pub fn daily_loads(scores: impl IntoIterator<Item = (LocalDate, f64)>) -> BTreeMap<LocalDate, f64> {
    let mut loads = BTreeMap::new();
    for (date, load) in scores {
        *loads.entry(date).or_insert(0.0) += load;
    }
    loads
}

/// Rows for `first..=last`, starting from `prev` (the state at the end of the day before
/// `first`); days missing from `loads` are zero load. This is the incremental recompute:
/// to refresh after a change on day D, pass the stored row of D−1 as `prev` and `first = D`.
pub fn roll_forward(
    first: LocalDate,
    last: LocalDate,
    prev: PmcState,
    loads: &BTreeMap<LocalDate, f64>,
    k: PmcConstants,
) -> Vec<PmcRow> {
    let days = (first.days_until(last).max(-1) + 1) as usize;
    let mut dense = vec![0.0; days];
    for (date, load) in loads.range(first..=last) {
        dense[first.days_until(*date) as usize] = *load;
    }
    roll_forward_days(first, prev, &dense, k)
}

/// As [`roll_forward`], with the loads indexed by day: `loads[i]` is the load of
/// `first + i` days (the rollup's form: no map, one pass).
pub fn roll_forward_days(first: LocalDate, prev: PmcState, loads: &[f64], k: PmcConstants) -> Vec<PmcRow> {
    let ctl_gain = 1.0 - (-1.0 / k.ctl_days).exp();
    let atl_gain = 1.0 - (-1.0 / k.atl_days).exp();
    let mut rows = Vec::with_capacity(loads.len());
    let mut state = prev;
    for (offset, &load) in loads.iter().enumerate() {
        let tsb = state.ctl - state.atl;
        state = PmcState {
            ctl: settle(state.ctl + (load - state.ctl) * ctl_gain),
            atl: settle(state.atl + (load - state.atl) * atl_gain),
        };
        rows.push(PmcRow { date: first.add_days(offset as i32), load, ctl: state.ctl, atl: state.atl, tsb });
    }
    rows
}

/// The whole chart from the first to the last day with a load, starting from zero.
pub fn series(loads: &BTreeMap<LocalDate, f64>, k: PmcConstants) -> Vec<PmcRow> {
    match (loads.keys().next(), loads.keys().next_back()) {
        (Some(&first), Some(&last)) => roll_forward(first, last, PmcState::default(), loads, k),
        _ => Vec::new(),
    }
}

/// Rows of `new` that differ from the stored `old` rows (by date) by more than a
/// relative 1e-9, or are absent from them: what a rollup must write.
pub fn changed_rows<'a>(old: &[PmcRow], new: &'a [PmcRow]) -> Vec<&'a PmcRow> {
    let old: BTreeMap<LocalDate, &PmcRow> = old.iter().map(|r| (r.date, r)).collect();
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-9);
    new.iter()
        .filter(|n| match old.get(&n.date) {
            Some(o) => !(same(o.load, n.load) && same(o.ctl, n.ctl) && same(o.atl, n.atl) && same(o.tsb, n.tsb)),
            None => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> LocalDate {
        s.parse().unwrap()
    }

    #[test]
    fn hundred_every_day_for_42_days() {
        let start = d("2024-01-01");
        let loads = daily_loads((0..42).map(|i| (start.add_days(i), 100.0)));
        let rows = series(&loads, PmcConstants::default());
        assert_eq!(rows.len(), 42);
        let last = rows[41];
        assert!((last.ctl - 63.212).abs() < 5e-4, "{}", last.ctl);
        assert!((last.atl - 99.752).abs() < 5e-4, "{}", last.atl);
        assert_eq!(rows[0].tsb, 0.0);
        assert!((rows[41].tsb - (rows[40].ctl - rows[40].atl)).abs() < 1e-12);
    }

    #[test]
    fn single_day_of_100() {
        let rows = series(&daily_loads([(d("2024-01-01"), 100.0)]), PmcConstants::default());
        assert_eq!(rows.len(), 1);
        assert!((rows[0].ctl - 2.3528).abs() < 5e-5);
        assert!((rows[0].atl - 13.3122).abs() < 5e-5);
    }

    #[test]
    fn gaps_get_zero_rows_and_repeated_dates_sum() {
        let loads = daily_loads([(d("2024-01-03"), 10.0), (d("2024-01-01"), 50.0), (d("2024-01-01"), 50.0)]);
        let rows = series(&loads, PmcConstants::default());
        assert_eq!(rows.iter().map(|r| r.load).collect::<Vec<_>>(), vec![100.0, 0.0, 10.0]);
        assert_eq!(rows[1].date, d("2024-01-02"));
        assert!(rows[1].ctl < rows[0].ctl);
    }

    #[test]
    fn incremental_recompute_matches_full_recompute() {
        let start = d("2023-01-01");
        let mut loads = daily_loads((0..400).map(|i| (start.add_days(i * 2), f64::from(i % 9) * 20.0)));
        let k = PmcConstants { ctl_days: 42.0, atl_days: 7.0 };
        let before = series(&loads, k);
        let changed = start.add_days(300);
        loads.insert(changed, 250.0);
        let full = series(&loads, k);
        let idx = start.days_until(changed) as usize;
        let tail = roll_forward(changed, full.last().unwrap().date, PmcState::from(&before[idx - 1]), &loads, k);
        assert_eq!(&full[idx..], &tail[..]);
        let diff = changed_rows(&before, &full);
        assert_eq!(diff.first().unwrap().date, changed);
        assert!(changed_rows(&full, &full).is_empty());
    }

    #[test]
    fn custom_time_constants() {
        let rows = series(&daily_loads([(d("2024-01-01"), 100.0)]), PmcConstants { ctl_days: 1.0, atl_days: 1.0 });
        assert!((rows[0].ctl - 100.0 * (1.0 - (-1.0f64).exp())).abs() < 1e-12);
    }

    /// Years without a load: fitness and fatigue reach zero, not a number too small to
    /// store (DynamoDB refuses magnitudes under 1e-130).
    #[test]
    fn a_long_break_decays_to_zero_not_to_an_unstorable_number() {
        let start = d("2013-08-16");
        let rows = roll_forward(
            start,
            start.add_days(4_400),
            PmcState::default(),
            &[(start, 150.0)].into(),
            PmcConstants::default(),
        );
        let last = rows.last().unwrap();
        assert_eq!((last.ctl, last.atl, last.tsb), (0.0, 0.0, 0.0));
        assert!(rows.iter().all(|r| r.ctl == 0.0 || r.ctl.abs() >= NEGLIGIBLE), "nothing in between");
        assert!(rows.iter().all(|r| r.atl == 0.0 || r.atl.abs() >= NEGLIGIBLE));
    }
}
