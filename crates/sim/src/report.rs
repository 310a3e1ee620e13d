//! What a simulation measured, and the monthly bill it implies.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::bill::{Bill, Prices, Usage};
use crate::options::SimOptions;
use stravasync_memory::Units;

/// One lane's invocations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaneStats {
    pub invocations: u64,
    pub records: u64,
    pub done: u64,
    /// Reported failed: deferred (budget, streams not ready), retried, or not attempted.
    pub deferred: u64,
    pub dead_lettered: u64,
    pub resent: u64,
    pub strava_requests: u64,
    pub invocation_ms: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub options: Option<SimOptions>,
    pub lanes: [LaneStats; 2],
    /// Seconds from the webhook to the record's success, by event kind.
    pub latencies: BTreeMap<&'static str, Vec<f64>>,
    /// Events still waiting at the end: their age, by kind.
    pub waiting: BTreeMap<&'static str, Vec<f64>>,
    /// Seconds from connection to the end of the backfill, per athlete that finished.
    pub backfills: Vec<f64>,
    pub backfill_unfinished: u64,
    /// Seconds from connection to the athlete's first backfill slice (their most recent
    /// activities); one still waiting counts its wait so far.
    pub first_slices: Vec<f64>,
    pub connected: u64,
    pub recorded: u64,
    pub deauthorized: u64,
    pub stray_429s: u64,
    pub answered_429s: u64,
    pub rollup_runs: u64,
    pub reconciles: u64,
    pub quarter_counts: Vec<(i64, u32)>,
    pub queue_requests: u64,
    pub dead_letters: u64,
    /// What reached the DLQ, by reason (first 70 characters).
    pub dead_letter_reasons: BTreeMap<String, u64>,
    pub redriven: u64,
    pub units: Units,
    pub vault_calls: u64,
    pub events_depth: u64,
    pub background_depth: u64,
    pub stored: u64,
    pub strava_requests: u64,
    pub wall_s: f64,
    pub failures: Vec<String>,
}

/// `p` (0–100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    Some(sorted[rank.min(sorted.len() - 1)])
}

/// A duration for people: seconds, minutes, hours or days.
pub fn human(seconds: f64) -> String {
    match seconds {
        s if s < 90.0 => format!("{s:.1} s"),
        s if s < 90.0 * 60.0 => format!("{:.1} min", s / 60.0),
        s if s < 48.0 * 3600.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} d", s / 86_400.0),
    }
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

impl Report {
    pub fn new(options: &SimOptions) -> Self {
        Report { options: Some(options.clone()), ..Default::default() }
    }

    pub fn lane_mut(&mut self, lane: stravasync_core::job::Lane) -> &mut LaneStats {
        &mut self.lanes[lane as usize]
    }

    pub fn latency(&mut self, kind: &'static str, seconds: f64) {
        self.latencies.entry(kind).or_default().push(seconds);
    }

    pub fn waiting(&mut self, kind: &'static str, age: f64) {
        self.waiting.entry(kind).or_default().push(age);
    }

    pub fn backfill_done(&mut self, seconds: f64) {
        self.backfills.push(seconds);
    }

    /// The p-th percentile of the time to an athlete's first backfill slice.
    pub fn first_slice_percentile(&self, p: f64) -> Option<f64> {
        percentile(&sorted(&self.first_slices), p)
    }

    /// Latencies of new activities (create events), sorted.
    pub fn create_latencies(&self) -> Vec<f64> {
        sorted(self.latencies.get("create").map_or(&[][..], Vec::as_slice))
    }

    /// The p-th percentile of create latency, counting events still waiting at the end as
    /// at least as late as their age.
    pub fn create_percentile(&self, p: f64) -> Option<f64> {
        let mut all = self.latencies.get("create").cloned().unwrap_or_default();
        all.extend(self.waiting.get("create").cloned().unwrap_or_default());
        percentile(&sorted(&all), p)
    }

    /// What the run used, as the bill counts it.
    pub fn usage(&self) -> Usage {
        Usage {
            days: self.options.as_ref().map_or(1, |o| o.days),
            invocations: self.lanes.iter().map(|l| l.invocations).sum(),
            consumer_s: self.lanes.iter().map(|l| l.invocation_ms as f64 / 1000.0).sum(),
            events: self.latencies.values().chain(self.waiting.values()).map(|v| v.len() as u64).sum(),
            rollup_runs: self.rollup_runs,
            reconciles: self.reconciles,
            queue_requests: self.queue_requests,
            units: self.units,
            connected: self.connected,
            vault_calls: self.vault_calls,
        }
    }

    /// The month's bill, scaled from the simulated days to 30.
    pub fn bill(&self, prices: &Prices) -> Bill {
        Bill::of(&self.usage(), prices)
    }

    /// The printed report.
    pub fn render(&self) -> String {
        let o = self.options.clone().unwrap_or_default();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "stravasync-dev simulate: {} athletes × {} days, limits {}/15 min and {}/day, background share {:.0} %, seed {}",
            o.athletes,
            o.days,
            o.limit_15min,
            o.limit_daily,
            o.background_share * 100.0,
            o.seed
        );
        let _ = writeln!(
            s,
            "ran in {:.1} s; {} connected over {}, {} activities recorded, {} stored (history included), {} deauthorized",
            self.wall_s,
            self.connected,
            human(o.connect_over_hours * 3600.0),
            self.recorded,
            self.stored,
            self.deauthorized
        );
        let _ = writeln!(
            s,
            "\nevents lane: webhook to stored      p50       p95       p99       max     done  waiting (oldest)"
        );
        for (kind, v) in &self.latencies {
            let v = sorted(v);
            let w = self.waiting.get(kind).map_or(&[][..], Vec::as_slice);
            let p = |q| percentile(&v, q).map_or("-".into(), human);
            let oldest = w.iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            let _ = writeln!(
                s,
                "  {kind:<28}{:>10}{:>10}{:>10}{:>10}{:>9}  {} {}",
                p(50.0),
                p(95.0),
                p(99.0),
                p(100.0),
                v.len(),
                w.len(),
                oldest.map_or(String::new(), |o| format!("({})", human(o)))
            );
        }
        if let Some(p99) = self.create_percentile(99.0) {
            let _ = writeln!(s, "  new activities, p99 counting those still waiting: {}", human(p99));
        }
        let b = sorted(&self.backfills);
        let p = |q| percentile(&b, q).map_or("-".into(), human);
        let _ = writeln!(
            s,
            "\nbackground lane: backfill of {} activities, connection to done: p50 {}, p95 {}, max {}; finished {} of {} ({} unfinished); {} reconciles enqueued",
            o.backfill_count,
            p(50.0),
            p(95.0),
            p(100.0),
            b.len(),
            b.len() as u64 + self.backfill_unfinished,
            self.backfill_unfinished,
            self.reconciles
        );
        let f = sorted(&self.first_slices);
        let _ = writeln!(
            s,
            "  first slice of {} (the most recent activities), connection to done: p50 {}, p95 {}, max {}",
            o.backfill_batch.min(o.backfill_count),
            percentile(&f, 50.0).map_or("-".into(), human),
            percentile(&f, 95.0).map_or("-".into(), human),
            percentile(&f, 100.0).map_or("-".into(), human)
        );
        let quarter: Vec<f64> = sorted(
            &self.quarter_counts.iter().map(|(_, n)| f64::from(*n) / f64::from(o.limit_15min)).collect::<Vec<_>>(),
        );
        let mut days: BTreeMap<i64, u32> = BTreeMap::new();
        let end = o.start + i64::from(o.days) * 86_400;
        for (start, n) in self.quarter_counts.iter().filter(|(start, _)| *start < end) {
            *days.entry(start.div_euclid(86_400)).or_default() += n;
        }
        let daily: Vec<f64> =
            sorted(&days.values().map(|n| f64::from(*n) / f64::from(o.limit_daily)).collect::<Vec<_>>());
        let windows = (f64::from(o.days) * 96.0).max(quarter.len() as f64).max(1.0);
        let full = quarter.iter().filter(|u| **u >= 0.95).count() as f64 / windows;
        let mean = |v: &[f64], n: f64| v.iter().sum::<f64>() / n.max(1.0);
        let pct = |x: Option<f64>| x.map_or("-".into(), |x| format!("{:.0} %", x * 100.0));
        let _ = writeln!(
            s,
            "\nbudget (Strava's count): 15-min windows mean {}, p95 {}, {:.0} % of windows at ≥ 95 %; days mean {}, max {}",
            pct(Some(mean(&quarter, windows))),
            pct(percentile(&quarter, 95.0)),
            full * 100.0,
            pct(Some(mean(&daily, f64::from(o.days)))),
            pct(percentile(&daily, 100.0))
        );
        let [ev, bg] = &self.lanes;
        let total_requests = ev.strava_requests + bg.strava_requests;
        let _ = writeln!(
            s,
            "  Strava requests: events lane {}, background lane {}; {:.2} per stored activity; 429s answered {} ({} stray)",
            ev.strava_requests,
            bg.strava_requests,
            total_requests as f64 / (self.stored.max(1)) as f64,
            self.answered_429s,
            self.stray_429s
        );
        for (name, l) in [("events", ev), ("background", bg)] {
            let _ = writeln!(
                s,
                "  {name} lane: {} invocations, {} records: {} done, {} deferred or held, {} re-sent after waiting, {} to the DLQ",
                l.invocations, l.records, l.done, l.deferred, l.resent, l.dead_lettered
            );
        }
        let _ = writeln!(
            s,
            "  left in the queues: events {}, background {}; moved by the redrive policy {}",
            self.events_depth, self.background_depth, self.redriven
        );
        let per = (self.stored.max(1)) as f64;
        let _ = writeln!(
            s,
            "\nDynamoDB per stored activity: {:.1} read units, {:.1} write units (the in-memory store's count of the table's units)",
            self.units.read / per,
            self.units.write / per
        );
        let bill = self.bill(&Prices::LIST);
        let athletes = f64::from(o.athletes.max(1));
        let _ = writeln!(
            s,
            "monthly cost (30 days, list prices): ${:.2} in all, ${:.5} per athlete: Lambda ${:.2}, API Gateway ${:.2}, SQS ${:.2}, DynamoDB ${:.2}, Secrets Manager ${:.2}",
            bill.total(),
            bill.total() / athletes,
            bill.lambda,
            bill.api_gateway,
            bill.sqs,
            bill.dynamodb,
            bill.secrets
        );
        for (reason, n) in &self.dead_letter_reasons {
            let _ = writeln!(s, "  dead-lettered {n}×: {reason}");
        }
        for f in &self.failures {
            let _ = writeln!(s, "failure: {f}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_durations() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(51.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(human(12.34), "12.3 s");
        assert_eq!(human(600.0), "10.0 min");
        assert_eq!(human(7_200.0), "2.0 h");
        assert_eq!(human(3.0 * 86_400.0), "3.0 d");
    }
}
