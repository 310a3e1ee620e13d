//! `stravasync-dev cost`: the monthly AWS bill per athlete, from what the pipeline measurably
//! does, at list prices, for both token stores.
//!
//! Measured, on the local stack (moto, fake-strava, the real handler code; see
//! [`crate::demo`]): every AWS call of `activities` new activities, each pushed to the
//! webhook over HTTP, consumed, and rolled up on its own (as the hourly rollup does when
//! activities arrive hours apart), counted by operation with its bytes and DynamoDB
//! capacity units ([`stravasync_aws::http::meter`]); one token rotation through the
//! stack's vault; the bytes the athlete's partition holds per activity; the wall time of
//! each webhook call, consumer batch and rollup run (local latencies stand in for AWS's).
//!
//! Also measured: the bytes of the metrics' EMF lines each activity adds to the functions'
//! logs (the functions' recorder, [`stravasync_aws::emf`], writing into a counter after each
//! webhook call, consumer batch and rollup run, the `Function` dimension a name of a
//! deployed function's length), and the metrics (name and dimension values) they make.
//!
//! Modelled (and printed with the figures): one webhook event per activity; a token
//! refresh before each activity (Strava's tokens live 6 h), at most four a day; prices
//! of us-east-1 on-demand as published for 2025 ([`Prices::LIST`]); the EMF lines stored a
//! month (LogRetentionDays 30); the stack's metrics, dashboard and six alarms shared among
//! the athletes. Not included: the functions' other log lines, data transfer, the SQS event
//! source's idle polling, free tiers.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

use clap::Args;

use stravasync_aws::http::meter::{self, Calls};
use stravasync_consumer::pump::pump_until_idle;
use stravasync_core::LocalDate;
use stravasync_core::ports::TokenVault;
use stravasync_rollup::{Mode, RollupRequest};

use crate::demo::{DemoError, DemoOptions};
use stravasync_cli::{CliError, InputError};

/// `stravasync-dev cost`'s arguments.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Athletes of the deployment (shares its fixed costs).
    #[arg(long, default_value_t = 1000)]
    pub athletes: u32,
    /// Activities each athlete records a month.
    #[arg(long, default_value_t = 20.0)]
    pub activities_per_month: f64,
    /// New activities measured per store.
    #[arg(long, default_value_t = 20)]
    pub sample: u32,
}

impl CostArgs {
    /// Measures both token stores on the local stack and prints the bill.
    pub fn run(self) -> Result<String, CliError> {
        let CostArgs { athletes, activities_per_month, sample } = self;
        if !stravasync_cli::ops::endpoint_is_local(std::env::var("AWS_ENDPOINT_URL").ok().as_deref()) {
            return Err(InputError::new(
                "the cost measurement runs against a local moto server: use infra/with-moto.sh",
            )
            .into());
        }
        if !(activities_per_month.is_finite() && activities_per_month >= 0.0) || athletes == 0 || sample == 0 {
            return Err(InputError::new(
                "--athletes and --sample must be positive, --activities-per-month not negative",
            )
            .into());
        }
        let now = stravasync_core::clock::unix_now();
        let runtime = tokio::runtime::Runtime::new().map_err(CliError::runtime("async runtime"))?;
        let mut measured = Vec::new();
        for kms in [false, true] {
            measured.push(runtime.block_on(measure(kms, sample, now)).map_err(CliError::runtime("cost"))?);
        }
        Ok(report(&measured, athletes, activities_per_month, &Prices::LIST))
    }
}

/// List prices in USD (us-east-1, on demand), shared with `stravasync-dev simulate`'s bill.
pub use stravasync_sim::Prices;

/// Memory of each function in `template.yaml`, GB.
const CONSUMER_GB: f64 = 0.25;
const SMALL_GB: f64 = 0.125;
/// Strava access tokens live 6 h: at most four refreshes a day.
const MAX_REFRESHES_PER_MONTH: f64 = 4.0 * 30.0;
/// Rollup runs a month: hourly and daily schedules.
const ROLLUP_RUNS_PER_MONTH: f64 = 24.0 * 30.0 + 30.0;

/// What one store's measurement found, per activity unless named otherwise.
#[derive(Debug, Clone)]
pub struct Measured {
    pub kms_tokens: bool,
    pub activities: u32,
    /// AWS calls of all `activities` (webhook, consumer, rollup), by `service:Operation`.
    pub calls: BTreeMap<String, Calls>,
    /// AWS calls of one token rotation through the stack's vault.
    pub per_refresh: BTreeMap<String, Calls>,
    pub webhook_ms: f64,
    pub consumer_ms: f64,
    pub rollup_ms: f64,
    /// Wall time of a rollup run with nothing to do (the hourly run of a quiet hour).
    pub idle_rollup_ms: f64,
    /// Bytes the athlete's partition holds per stored activity (items as DynamoDB sizes them).
    pub stored_bytes: f64,
    /// Bytes of EMF lines per activity (its webhook call, consumer batches and rollup run).
    pub emf_bytes: f64,
    /// The distinct metrics (name and dimension values) those lines make: CloudWatch bills
    /// each a month.
    pub emf_metrics: usize,
}

/// Alarms of template.yaml, each on one metric (or one metric math over one metric).
const ALARMS: f64 = 6.0;

/// The functions' recorder, installed once per process (both stores' runs share it).
fn emf() -> Result<&'static stravasync_aws::emf::Emf, String> {
    static EMF: std::sync::OnceLock<Result<stravasync_aws::emf::Emf, String>> = std::sync::OnceLock::new();
    // A deployed function's name: `<stack>-<Logical>Function-<12 characters>`.
    EMF.get_or_init(|| stravasync_aws::emf::Emf::init_as("stravasync-ConsumerFunction-1A2B3C4D5E6F"))
        .as_ref()
        .map_err(Clone::clone)
}

/// What the recorder holds since its last flush: the bytes of its EMF lines, and the
/// metrics (name and dimension values) among them, added to `metrics`.
fn flushed(emf: &stravasync_aws::emf::Emf, metrics: &mut std::collections::BTreeSet<String>) -> Result<usize, String> {
    let mut lines = Vec::new();
    emf.flush_to(&mut lines).map_err(|e| e.to_string())?;
    for line in String::from_utf8_lossy(&lines).lines() {
        let doc: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        let dims: Vec<String> = directive["Dimensions"][0]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str())
            .map(|d| format!("{d}={}", doc[d].as_str().unwrap_or_default()))
            .collect();
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            metrics.insert(format!("{} {}", metric["Name"].as_str().unwrap_or_default(), dims.join(",")));
        }
    }
    Ok(lines.len())
}

/// Requests of the operations starting with `prefix`.
fn requests(calls: &BTreeMap<String, Calls>, prefix: &str) -> f64 {
    calls.iter().filter(|(k, _)| k.starts_with(prefix)).fold(0.0, |sum, (_, c)| sum + c.requests as f64)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Runs the demo stack on `kms_tokens`'s store and measures `activities` new activities.
pub async fn measure(kms_tokens: bool, activities: u32, now: i64) -> Result<Measured, DemoError> {
    let step = |step: &'static str| move |e: String| DemoError { step, message: e };
    let options = DemoOptions {
        suffix: format!("cost-{kms_tokens}-{}-{now}", std::process::id()),
        activities: 3,
        seed: 5,
        now,
        kms_tokens,
        read_limits: None,
    };
    let report = crate::demo::run(options, |_| {}).await?;
    let (fake, athlete) = (&report.fake, report.athlete);
    let today = LocalDate::from_unix_seconds(now);
    let dirty = RollupRequest { mode: Mode::Dirty, athlete_id: None };

    let started = Instant::now();
    report.rollup.run(&dirty, now).await.map_err(|e| step("rollup")(e.to_string()))?;
    let idle_rollup_ms = ms_since(started);

    let emf = emf().map_err(step("metrics"))?;
    let mut emf_metrics = std::collections::BTreeSet::new();
    // What the set-up recorded is not the activities'.
    flushed(emf, &mut std::collections::BTreeSet::new()).map_err(step("metrics"))?;
    let mut emf_bytes = 0;
    let (mut webhook_ms, mut consumer_ms, mut rollup_ms) = (0.0, 0.0, 0.0);
    meter::start();
    for i in 0..activities {
        let start = i64::from(today.days_since_epoch()) * 86_400 + 3600 + i64::from(i) * 60;
        let id = fake.state.new_activity(athlete, start).ok_or_else(|| step("new activity")("no athlete".into()))?;
        let event = fake.state.event("activity", id, "create", serde_json::json!({}), athlete);
        let t = Instant::now();
        crate::demo::push(fake, &event).await?;
        webhook_ms += ms_since(t);
        emf_bytes += flushed(emf, &mut emf_metrics).map_err(step("metrics"))?;
        let t = Instant::now();
        pump_until_idle(&report.consumer, 100).await.map_err(|e| step("pump")(e.to_string()))?;
        consumer_ms += ms_since(t);
        emf_bytes += flushed(emf, &mut emf_metrics).map_err(step("metrics"))?;
        let t = Instant::now();
        report.rollup.run(&dirty, now).await.map_err(|e| step("rollup")(e.to_string()))?;
        rollup_ms += ms_since(t);
        emf_bytes += flushed(emf, &mut emf_metrics).map_err(step("metrics"))?;
    }
    let calls = meter::stop();
    let n = f64::from(activities.max(1));

    // One rotation, as the consumer's session makes it after a refresh.
    let vault = report.stack.token_vault();
    let current = vault.get_tokens(athlete).await.map_err(|e| step("tokens")(e.to_string()))?;
    let current = current.ok_or_else(|| step("tokens")("the athlete has no tokens".into()))?;
    meter::start();
    let fresh = vault.get_tokens_fresh(athlete).await.map_err(|e| step("tokens")(e.to_string()))?;
    let rotated = stravasync_core::model::OAuthTokens { expires_at: current.expires_at + 21_600, ..current.clone() };
    vault
        .replace_tokens(fresh.as_ref().unwrap_or(&current), &rotated)
        .await
        .map_err(|e| step("tokens")(e.to_string()))?;
    let per_refresh = meter::stop();

    let stored_bytes = partition_bytes(&report.stack, athlete).await.map_err(step("storage"))?;
    let stored = report.stack.store();
    let count = stravasync_core::ports::ReadStore::activity_counts(&stored, athlete)
        .await
        .map_err(|e| step("storage")(e.to_string()))?;
    Ok(Measured {
        kms_tokens,
        activities,
        calls,
        per_refresh,
        webhook_ms: webhook_ms / n,
        consumer_ms: consumer_ms / n,
        rollup_ms: rollup_ms / n,
        idle_rollup_ms,
        stored_bytes: stored_bytes as f64 / count.stored.max(1) as f64,
        emf_bytes: emf_bytes as f64 / n,
        emf_metrics: emf_metrics.len(),
    })
}

/// Bytes of every item in the athlete's partition, as DynamoDB sizes them.
async fn partition_bytes(stack: &stravasync_aws::local::LocalStack, athlete: i64) -> Result<usize, String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut pages = client
        .query()
        .table_name(&stack.names.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ATH#{athlete}")))
        .into_paginator()
        .items()
        .send();
    let mut bytes = 0;
    while let Some(item) = pages.next().await {
        bytes += stravasync_aws::dynamo::item_bytes(&item.map_err(|e| e.to_string())?);
    }
    Ok(bytes)
}

/// The monthly bill of one athlete (USD), by line.
#[derive(Debug, Clone, PartialEq)]
pub struct Bill {
    pub lines: Vec<(&'static str, f64)>,
}

impl Bill {
    pub fn total(&self) -> f64 {
        self.lines.iter().map(|(_, v)| v).sum()
    }
}

/// The bill per athlete-month of `m`'s store, for `athletes` athletes recording
/// `activities_per_month` each. Fixed costs of the stack are shared among the athletes.
pub fn bill(m: &Measured, athletes: u32, activities_per_month: f64, p: &Prices) -> Bill {
    let k = activities_per_month;
    // The measured calls are of `m.activities` activities.
    let per_activity = k / f64::from(m.activities.max(1));
    let refreshes = k.min(MAX_REFRESHES_PER_MONTH);
    let per_month = |calls: &BTreeMap<String, Calls>, times: f64, prefix: &str| requests(calls, prefix) * times;
    let units = |calls: &BTreeMap<String, Calls>, times: f64| {
        let w = calls.values().fold(0.0, |sum, c| sum + c.write_units);
        let r = calls.values().fold(0.0, |sum, c| sum + c.read_units);
        (w * p.dynamo_write_unit + r * p.dynamo_read_unit) * times
    };
    let gb_s = |ms: f64, gb: f64| ms / 1e3 * gb * p.lambda_gb_second;
    let shared = 1.0 / f64::from(athletes.max(1));

    let lambda = k * (gb_s(m.webhook_ms, SMALL_GB) + gb_s(m.consumer_ms, CONSUMER_GB) + gb_s(m.rollup_ms, SMALL_GB))
        + k * 3.0 * p.lambda_request
        + shared * ROLLUP_RUNS_PER_MONTH * (gb_s(m.idle_rollup_ms, SMALL_GB) + p.lambda_request);
    let sqs = per_month(&m.calls, per_activity, "sqs:") * p.sqs_fifo_request;
    let dynamo = units(&m.calls, per_activity) + units(&m.per_refresh, refreshes);
    let storage_year = 12.0 * k * m.stored_bytes / 1e9 * p.dynamo_gb_month;
    let secrets_calls =
        per_month(&m.calls, per_activity, "secretsmanager:") + per_month(&m.per_refresh, refreshes, "secretsmanager:");
    let kms_calls = per_month(&m.calls, per_activity, "kms:") + per_month(&m.per_refresh, refreshes, "kms:");
    let mut lines = vec![
        ("Lambda (webhook, consumer, rollup)", lambda),
        ("API Gateway HTTP API", k * p.http_api_request),
        ("SQS FIFO", sqs),
        ("DynamoDB requests", dynamo),
        ("DynamoDB storage (after a year of history)", storage_year),
        ("Secrets Manager API calls", secrets_calls * p.secrets_api_call),
        ("KMS requests", kms_calls * p.kms_request),
    ];
    if m.kms_tokens {
        lines.push(("KMS key (shared)", shared * p.kms_key_month));
    } else {
        lines.push(("Secrets Manager: the athlete's token secret", p.secret_month));
    }
    lines.push(("Secrets Manager: app and session secrets (shared)", shared * 2.0 * p.secret_month));
    lines.push((
        "CloudWatch Logs: metrics' EMF lines (a month kept)",
        k * m.emf_bytes / 1e9 * (p.logs_ingest_gb + p.logs_gb_month),
    ));
    lines.push((
        "CloudWatch metrics, dashboard and alarms (shared)",
        shared * (m.emf_metrics as f64 * p.custom_metric_month + p.dashboard_month + ALARMS * p.alarm_metric_month),
    ));
    Bill { lines }
}

/// The report `stravasync-dev cost` prints: the measurement, then both bills side by side.
pub fn report(measured: &[Measured], athletes: u32, activities_per_month: f64, p: &Prices) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Monthly AWS cost per athlete: {athletes} athletes, {activities_per_month} activities per athlete-month \
         (us-east-1 list prices, USD)\n"
    );
    for m in measured {
        let store = if m.kms_tokens { "dynamodb-kms" } else { "secretsmanager" };
        let _ = writeln!(out, "Measured with TokenStore={store} over {} new activities, per activity:", m.activities);
        let n = f64::from(m.activities.max(1));
        for (op, c) in &m.calls {
            let _ = writeln!(
                out,
                "  {op:<32} {:>6.2} requests {:>8.2} WRU {:>8.2} RRU",
                c.requests as f64 / n,
                c.write_units / n,
                c.read_units / n
            );
        }
        let rotation: Vec<String> = m.per_refresh.iter().map(|(op, c)| format!("{op} ×{}", c.requests)).collect();
        let _ = writeln!(out, "  token rotation: {}", rotation.join(", "));
        let _ = writeln!(
            out,
            "  wall time: webhook {:.1} ms, consumer {:.1} ms, rollup {:.1} ms (idle run {:.1} ms); stored {:.1} KB",
            m.webhook_ms,
            m.consumer_ms,
            m.rollup_ms,
            m.idle_rollup_ms,
            m.stored_bytes / 1e3
        );
        let _ = writeln!(
            out,
            "  metrics: {:.0} bytes of EMF lines per activity, {} distinct metrics\n",
            m.emf_bytes, m.emf_metrics
        );
    }
    let bills: Vec<Bill> = measured.iter().map(|m| bill(m, athletes, activities_per_month, p)).collect();
    let mut names: Vec<&str> = Vec::new();
    for b in &bills {
        for (name, _) in &b.lines {
            if !names.contains(name) {
                names.push(name);
            }
        }
    }
    let header: Vec<String> =
        measured.iter().map(|m| (if m.kms_tokens { "dynamodb-kms" } else { "secretsmanager" }).to_string()).collect();
    let _ =
        writeln!(out, "{:<52} {}", "per athlete-month", header.iter().map(|h| format!("{h:>16}")).collect::<String>());
    for name in &names {
        let cells: String = bills
            .iter()
            .map(|b| {
                b.lines.iter().find(|(n, _)| n == name).map_or(format!("{:>16}", "-"), |(_, v)| format!("{v:>16.5}"))
            })
            .collect();
        let _ = writeln!(out, "{name:<52} {cells}");
    }
    let totals: String = bills.iter().map(|b| format!("{:>16.5}", b.total())).collect();
    let _ = writeln!(out, "{:<52} {totals}", "total per athlete-month");
    let stack: String = bills.iter().map(|b| format!("{:>16.2}", b.total() * f64::from(athletes))).collect();
    let _ = writeln!(out, "{:<52} {stack}", format!("total for {athletes} athletes"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(kms_tokens: bool) -> Measured {
        let calls = |entries: &[(&str, u64, f64, f64)]| {
            entries
                .iter()
                .map(|&(k, requests, write_units, read_units)| {
                    (k.to_string(), Calls { requests, write_units, read_units, ..Default::default() })
                })
                .collect()
        };
        Measured {
            kms_tokens,
            activities: 2,
            calls: calls(&[("dynamodb:BatchWriteItem", 2, 20.0, 0.0), ("sqs:SendMessage", 2, 0.0, 0.0)]),
            per_refresh: if kms_tokens {
                calls(&[
                    ("kms:Decrypt", 1, 0.0, 0.0),
                    ("kms:GenerateDataKey", 1, 0.0, 0.0),
                    ("dynamodb:UpdateItem", 1, 1.0, 0.0),
                ])
            } else {
                calls(&[("secretsmanager:PutSecretValue", 1, 0.0, 0.0)])
            },
            webhook_ms: 10.0,
            consumer_ms: 100.0,
            rollup_ms: 10.0,
            idle_rollup_ms: 5.0,
            stored_bytes: 50_000.0,
            emf_bytes: 2_000.0,
            emf_metrics: 40,
        }
    }

    #[test]
    fn the_bill_adds_up_its_lines_at_the_given_prices() {
        let p = Prices::LIST;
        let b = bill(&measured(false), 1, 10.0, &p);
        let line = |n: &str| b.lines.iter().find(|(name, _)| *name == n).unwrap().1;
        assert_eq!(line("Secrets Manager: the athlete's token secret"), 0.40);
        assert!((line("DynamoDB requests") - 10.0 * 10.0 * p.dynamo_write_unit).abs() < 1e-12);
        assert!((line("SQS FIFO") - 10.0 * p.sqs_fifo_request).abs() < 1e-12);
        assert!((line("Secrets Manager API calls") - 10.0 * p.secrets_api_call).abs() < 1e-12);
        assert!((b.total() - b.lines.iter().map(|l| l.1).sum::<f64>()).abs() < 1e-12);
        // 10 activities × 2 kB of EMF lines, ingested and kept a month.
        assert!((line("CloudWatch Logs: metrics' EMF lines (a month kept)") - 20_000.0 / 1e9 * 0.53).abs() < 1e-12);
        // One athlete bears the stack's 40 metrics, its dashboard and its six alarms.
        assert!((line("CloudWatch metrics, dashboard and alarms (shared)") - (40.0 * 0.30 + 3.0 + 0.6)).abs() < 1e-9);
    }

    #[test]
    fn the_kms_store_costs_its_requests_and_a_shared_key_not_a_secret_per_athlete() {
        let p = Prices::LIST;
        let b = bill(&measured(true), 1000, 10.0, &p);
        assert!(b.lines.iter().all(|(n, _)| *n != "Secrets Manager: the athlete's token secret"));
        let line = |n: &str| b.lines.iter().find(|(name, _)| *name == n).unwrap().1;
        assert!((line("KMS key (shared)") - 0.001).abs() < 1e-12);
        assert!((line("KMS requests") - 20.0 * p.kms_request).abs() < 1e-12);
        assert!(b.total() < bill(&measured(false), 1000, 10.0, &p).total() / 10.0);
        // Refreshes are capped at four a day, however many activities.
        let busy = bill(&measured(true), 1000, 1000.0, &p);
        let kms = busy.lines.iter().find(|(n, _)| *n == "KMS requests").unwrap().1;
        assert!((kms - 2.0 * 120.0 * p.kms_request).abs() < 1e-12);
    }
}
