//! The operational metrics every function emits, in CloudWatch's Embedded Metric Format
//! (`stravasync_aws::emf`): one catalog, read by the functions' set-up (units), by
//! `stravasync resources` (so that `infra/check_template.py` checks every metric the
//! dashboard and the alarms read against it), by the EMF tests, and listed in
//! docs/design.md §9.
//!
//! Every metric also carries the dimension `Function` (the Lambda function's name). No
//! dimension ever holds an athlete or activity id: a dimension value is a metric of its own,
//! and cardinality is cost. Dimension values come from the short lists below.

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "StravaSync";
/// The dimension every metric carries: `AWS_LAMBDA_FUNCTION_NAME`.
pub const FUNCTION_DIMENSION: &str = "Function";

/// How a metric aggregates within one invocation's EMF document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Summed over the invocation.
    Counter,
    /// The last value set in the invocation.
    Gauge,
    /// Every value recorded (percentiles in CloudWatch).
    Histogram,
}

/// A dimension: its name and the values the code gives it (empty: open, such as Strava's
/// endpoints and statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimension {
    pub name: &'static str,
    pub values: &'static [&'static str],
}

const fn dim(name: &'static str, values: &'static [&'static str]) -> Dimension {
    Dimension { name, values }
}

const LANE: Dimension = dim("Lane", &["events", "background"]);
const MODE: Dimension = dim("Mode", &["dirty", "daily", "athlete"]);

/// One metric: its name, unit (CloudWatch's), dimensions besides `Function`, and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub dimensions: &'static [Dimension],
    /// The functions that emit it.
    pub functions: &'static [&'static str],
    pub meaning: &'static str,
}

pub const COLD_START: &str = "ColdStart";
pub const UPLOAD_TO_STORED: &str = "UploadToStored";
pub const STRAVA_REQUESTS: &str = "StravaRequests";
pub const STRAVA_RATE_LIMITED: &str = "StravaRateLimited";
pub const BUDGET_USED: &str = "BudgetUsed";
pub const BUDGET_RESERVED: &str = "BudgetReserved";
pub const DEFERRALS: &str = "Deferrals";
pub const DEFER_SECONDS: &str = "DeferSeconds";
pub const RECORDS: &str = "Records";
pub const BACKFILL_SLICES: &str = "BackfillSlices";
pub const WEBHOOK_EVENTS: &str = "WebhookEvents";
pub const CONNECTIONS: &str = "Connections";
pub const API_LATENCY: &str = "ApiLatency";
pub const ROLLUP_ATHLETES: &str = "RollupAthletes";
pub const ROLLUP_ROWS: &str = "RollupRows";

const ALL: &[&str] = &["webhook", "api", "export", "consumer", "rollup"];
const STRAVA_CALLERS: &[&str] = &["webhook", "consumer"];

/// Every metric the functions emit.
pub const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: COLD_START,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[],
        functions: ALL,
        meaning: "a new execution environment's first invocation",
    },
    MetricSpec {
        name: UPLOAD_TO_STORED,
        kind: Kind::Histogram,
        unit: "Milliseconds",
        dimensions: &[LANE, dim("Kind", &["create", "update", "delete", "deauthorize", "backfill"])],
        functions: &["consumer"],
        meaning: "events lane: from the webhook's receipt of the event (carried in the queue message) to the \
                  record done (the activity stored, updated or deleted, the athlete removed), Kind the event \
                  (create, update, delete, deauthorize); background lane: from the import's request to each \
                  of its slices done, Kind backfill",
    },
    MetricSpec {
        name: STRAVA_REQUESTS,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[dim("Endpoint", &[]), dim("Status", &[])],
        functions: STRAVA_CALLERS,
        meaning: "requests to Strava by endpoint (its path template) and HTTP status (0: no answer)",
    },
    MetricSpec {
        name: STRAVA_RATE_LIMITED,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[],
        functions: STRAVA_CALLERS,
        meaning: "Strava's 429 answers",
    },
    MetricSpec {
        name: BUDGET_USED,
        kind: Kind::Histogram,
        unit: "Count",
        dimensions: &[dim("Window", &["15min", "daily"])],
        functions: &["consumer"],
        meaning: "requests counted in the shared budget's current window (15min or daily), both lanes: the \
                  highest count an invocation's reservations saw (one value per invocation; its Maximum \
                  over a period is the window's use)",
    },
    MetricSpec {
        name: BUDGET_RESERVED,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[LANE],
        functions: &["consumer"],
        meaning: "requests reserved in the shared budget (in both windows) by each lane",
    },
    MetricSpec {
        name: DEFERRALS,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[LANE, dim("Cause", &["budget", "strava"])],
        functions: &["consumer"],
        meaning: "records left on the queue to wait: for the budget, or for Strava (streams not ready, a 429)",
    },
    MetricSpec {
        name: DEFER_SECONDS,
        kind: Kind::Histogram,
        unit: "Seconds",
        dimensions: &[LANE, dim("Cause", &["budget", "strava"])],
        functions: &["consumer"],
        meaning: "how long each deferred record is hidden",
    },
    MetricSpec {
        name: RECORDS,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[
            LANE,
            dim("Outcome", &["done", "deferred", "retried", "released", "resent", "dead_lettered", "poisoned"]),
        ],
        functions: &["consumer"],
        meaning: "SQS records by what became of them: done, deferred, retried, released (behind a failed \
                  record of their group), resent, dead_lettered (gave up after the receive limit), poisoned",
    },
    MetricSpec {
        name: BACKFILL_SLICES,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[],
        functions: &["consumer"],
        meaning: "backfill slices completed (a page of an athlete's history, or its end)",
    },
    MetricSpec {
        name: WEBHOOK_EVENTS,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[dim(
            "Outcome",
            &["enqueued", "queue_failed", "too_large", "invalid", "wrong_subscription", "wrong_path"],
        )],
        functions: &["webhook"],
        meaning: "push events: enqueued, queue_failed, or the refusal (too_large, invalid, \
                  wrong_subscription, wrong_path)",
    },
    MetricSpec {
        name: CONNECTIONS,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[dim("Outcome", &["connected", "capacity_refused", "denied", "failed"])],
        functions: &["webhook"],
        meaning: "OAuth callbacks: connected, capacity_refused (Strava's athlete limit), denied (the athlete \
                  said no or gave too little scope), failed",
    },
    MetricSpec {
        name: API_LATENCY,
        kind: Kind::Histogram,
        unit: "Milliseconds",
        // `Route` is open here: its values are the API's route table
        // (`stravasync_api::routes::latency_routes`), checked against it by the API's tests.
        dimensions: &[dim("Route", &[]), dim("Status", &["1xx", "2xx", "3xx", "4xx", "5xx"])],
        functions: &["api", "export"],
        meaning: "each request's handling time by route (its template) and status class (2xx … 5xx)",
    },
    MetricSpec {
        name: ROLLUP_ATHLETES,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[MODE],
        functions: &["rollup"],
        meaning: "athletes whose PMC a run recomputed",
    },
    MetricSpec {
        name: ROLLUP_ROWS,
        kind: Kind::Counter,
        unit: "Count",
        dimensions: &[MODE],
        functions: &["rollup"],
        meaning: "PMC rows a run wrote",
    },
];

/// The metric called `name`.
pub fn metric(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.name == name)
}

impl MetricSpec {
    /// Whether `value` is one the code gives dimension `name` of this metric (any value of
    /// an open dimension); false for a dimension it does not have.
    pub fn allows(&self, name: &str, value: &str) -> bool {
        self.dimensions.iter().any(|d| d.name == name && (d.values.is_empty() || d.values.contains(&value)))
    }
}

/// An HTTP status as the `Status` dimension of [`API_LATENCY`]: its class.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_no_dimension_names_an_athlete() {
        let mut names: Vec<_> = METRICS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
        for m in METRICS {
            for d in m.dimensions {
                assert_ne!(d.name, FUNCTION_DIMENSION, "{}", m.name);
                assert!(
                    !d.name.to_ascii_lowercase().contains("athlete") && !d.name.contains("Id"),
                    "{}: {d:?}",
                    m.name
                );
            }
            assert!(["Count", "Milliseconds", "Seconds"].contains(&m.unit), "{}", m.name);
            assert!(m.dimensions.len() < 30, "EMF allows 30 dimensions, Function included");
        }
        let names = |m: &MetricSpec| m.dimensions.iter().map(|d| d.name).collect::<Vec<_>>();
        assert_eq!(metric(RECORDS).map(names), Some(vec!["Lane", "Outcome"]));
        assert_eq!((status_class(204), status_class(429), status_class(503)), ("2xx", "4xx", "5xx"));
    }

    #[test]
    fn the_design_document_lists_every_metric_with_its_unit() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/design.md");
        let design = std::fs::read_to_string(path).unwrap();
        for m in METRICS {
            let row = format!("| `{}` | {} |", m.name, m.unit);
            assert!(design.contains(&row), "docs/design.md §11 has no row {row}");
        }
    }
}
