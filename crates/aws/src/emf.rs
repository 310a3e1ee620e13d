//! A function's operational metrics as CloudWatch Embedded Metric Format lines in its log:
//! the `metrics` facade's recorder is `metrics_cloudwatch_embedded`'s collector, and each
//! invocation ends by writing what it recorded to stdout (one JSON line per dimension set).
//! CloudWatch Logs turns the lines into metrics: no `PutMetricData`, no IAM permission.
//! The crate's own Lambda integration (a tower layer flushing after each invocation) is not
//! used: it pulls in every event type of `lambda_http`, and [`Emf::after`] is that flush.
//!
//! The catalog of metrics (names, units, dimensions) is `stravasync_core::telemetry`; every
//! metric carries the dimension `Function` (`AWS_LAMBDA_FUNCTION_NAME`).
//!
//! ```ignore
//! let emf = stravasync_aws::emf::Emf::init()?;
//! run(service_fn(|event| emf.after(handler(event)))).await
//! ```

use std::future::Future;

use metrics::Unit;
use metrics_cloudwatch_embedded::{Builder, Collector};
use stravasync_core::telemetry::{self, COLD_START, FUNCTION_DIMENSION, Kind, NAMESPACE};

/// The recorder of one function's process.
pub struct Emf {
    collector: &'static Collector,
}

fn unit(name: &str) -> Unit {
    match name {
        "Milliseconds" => Unit::Milliseconds,
        "Seconds" => Unit::Seconds,
        _ => Unit::Count,
    }
}

impl Emf {
    /// Installs the recorder (once per process), with every metric's unit from the catalog,
    /// and counts this environment's cold start (written with the first invocation's lines).
    pub fn init() -> Result<Self, String> {
        Self::init_as(&std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into()))
    }

    /// As [`Emf::init`], the `Function` dimension being `function`.
    pub fn init_as(function: &str) -> Result<Self, String> {
        let function = function.to_string();
        let collector = Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .with_dimension(FUNCTION_DIMENSION, function)
            .init()
            .map_err(|e| format!("metrics: {e}"))?;
        for m in telemetry::METRICS {
            match m.kind {
                Kind::Counter => metrics::describe_counter!(m.name, unit(m.unit), m.meaning),
                Kind::Gauge => metrics::describe_gauge!(m.name, unit(m.unit), m.meaning),
                Kind::Histogram => metrics::describe_histogram!(m.name, unit(m.unit), m.meaning),
            }
        }
        metrics::counter!(COLD_START).increment(1);
        Ok(Emf { collector })
    }

    /// Writes the metrics recorded since the last flush to stdout, where Lambda's log
    /// capture sends them to CloudWatch Logs. A failed write is logged, never fatal.
    pub fn flush(&self) {
        if let Err(e) = self.flush_to(std::io::stdout().lock()) {
            tracing::warn!(error = %e, "metrics not written");
        }
    }

    /// Writes the metrics recorded since the last flush to `writer` (`stravasync-dev cost`
    /// measures their bytes).
    pub fn flush_to(&self, writer: impl std::io::Write) -> std::io::Result<()> {
        self.collector.flush(writer)
    }

    /// Runs one invocation, then flushes its metrics.
    pub async fn after<T>(&self, invocation: impl Future<Output = T>) -> T {
        let out = invocation.await;
        self.flush();
        out
    }
}
