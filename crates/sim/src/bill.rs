//! The monthly bill of what a run used, at list prices (as `stravasync-dev cost` prices it).

use stravasync_memory::Units;

/// List prices in USD (us-east-1, on demand), as `stravasync-dev cost` uses them.
#[derive(Debug, Clone, Copy)]
pub struct Prices {
    pub lambda_gb_second: f64,
    pub lambda_request: f64,
    pub http_api_request: f64,
    pub sqs_fifo_request: f64,
    pub dynamo_write_unit: f64,
    pub dynamo_read_unit: f64,
    pub dynamo_gb_month: f64,
    pub secret_month: f64,
    pub secrets_api_call: f64,
    pub kms_key_month: f64,
    pub kms_request: f64,
    /// CloudWatch Logs: ingestion and storage per GB.
    pub logs_ingest_gb: f64,
    pub logs_gb_month: f64,
    /// CloudWatch: a custom metric (one name and dimension values), a dashboard, an alarm's
    /// metric, per month.
    pub custom_metric_month: f64,
    pub dashboard_month: f64,
    pub alarm_metric_month: f64,
}

impl Prices {
    pub const LIST: Prices = Prices {
        lambda_gb_second: 0.000_013_333_4, // arm64
        lambda_request: 0.20 / 1e6,
        http_api_request: 1.00 / 1e6,
        sqs_fifo_request: 0.50 / 1e6,
        dynamo_write_unit: 0.625 / 1e6,
        dynamo_read_unit: 0.125 / 1e6,
        dynamo_gb_month: 0.25,
        secret_month: 0.40,
        secrets_api_call: 0.05 / 1e4,
        kms_key_month: 1.00,
        kms_request: 0.03 / 1e4,
        logs_ingest_gb: 0.50,
        logs_gb_month: 0.03,
        custom_metric_month: 0.30,
        dashboard_month: 3.00,
        alarm_metric_month: 0.10,
    };
}

/// The monthly bill of a run, by service (USD for 30 days).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bill {
    pub lambda: f64,
    pub api_gateway: f64,
    pub sqs: f64,
    pub dynamodb: f64,
    pub secrets: f64,
}

impl Bill {
    pub fn total(&self) -> f64 {
        self.lambda + self.api_gateway + self.sqs + self.dynamodb + self.secrets
    }

    /// The month's bill of `u`, scaled from its days to 30.
    pub fn of(u: &Usage, prices: &Prices) -> Bill {
        let scale = 30.0 / f64::from(u.days.max(1));
        let rollup_s = u.rollup_runs as f64 * ROLLUP_S + u.reconciles as f64 * 0.002;
        let lambda = u.consumer_s * CONSUMER_GB * prices.lambda_gb_second
            + (u.events as f64 * WEBHOOK_S + rollup_s) * SMALL_GB * prices.lambda_gb_second
            + (u.invocations + u.events + u.rollup_runs) as f64 * prices.lambda_request;
        Bill {
            lambda: lambda * scale,
            api_gateway: u.events as f64 * prices.http_api_request * scale,
            sqs: u.queue_requests as f64 * prices.sqs_fifo_request * scale,
            dynamodb: (u.units.read * prices.dynamo_read_unit + u.units.write * prices.dynamo_write_unit) * scale,
            secrets: u.connected as f64 * prices.secret_month + u.vault_calls as f64 * prices.secrets_api_call * scale,
        }
    }
}

/// What a run used, as the bill counts it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// Simulated days (the bill scales them to 30).
    pub days: u32,
    /// Consumer invocations, and their seconds.
    pub invocations: u64,
    pub consumer_s: f64,
    /// Webhook events (each an HTTP API request and a webhook invocation).
    pub events: u64,
    pub rollup_runs: u64,
    pub reconciles: u64,
    pub queue_requests: u64,
    pub units: Units,
    /// Athletes with a token secret.
    pub connected: u64,
    pub vault_calls: u64,
}

/// Memory of the functions in `template.yaml`, GB.
const CONSUMER_GB: f64 = 0.25;
const SMALL_GB: f64 = 0.125;
/// Modelled, not measured: a webhook call, and a rollup run (plus per athlete it touches).
const WEBHOOK_S: f64 = 0.01;
const ROLLUP_S: f64 = 0.05;
