//! `stravasync status`: is this stack healthy? Reads a deployed or local stack (every
//! variable of the manifest's `operator` reader, [`StatusEnv`]: `APP_SECRET_ID`,
//! `TABLE_NAME`, `QUEUE_URL`, `BACKGROUND_QUEUE_URL`, `DLQ_URL` (and `IMPORT_QUEUE_URL`); `STRAVA_API_URL` and
//! `STRAVA_OAUTH_URL` for fake-strava; `RATE_LIMIT_15MIN` and `RATE_LIMIT_DAILY` when the
//! stack's limits are not Strava's defaults), Strava's push
//! subscriptions and the webhook's answer to a challenge through its public URL, and prints
//! one line per concern (`crate::health`). The age of each queue's oldest message
//! is CloudWatch's (`ApproximateAgeOfOldestMessage`): reading the queue for it would count
//! as a receive of its messages. Exit 0 when all is well, 1 otherwise,
//! so it can run right after `sam deploy` and from cron.

use clap::Args;

use crate::health::{self, AthletesFacts, Facts, QueueDepth};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::secrets::SecretsVault;
use stravasync_core::config::manifest::{
    APP_SECRET_ID, BACKGROUND_QUEUE_URL, DLQ_URL, IMPORT_QUEUE_URL, QUEUE_URL, RATE_LIMIT_15MIN, RATE_LIMIT_DAILY,
    STRAVA_API_URL, STRAVA_OAUTH_URL, TABLE_NAME,
};
use stravasync_core::config::{ConfigError, Env};
use stravasync_core::model::{ConnectionState, RateWindow, RateWindowKind};
use stravasync_core::ports::{EventQueue, ProfileStore, RateBudget, ReadStore, RollupStore, TokenVault};
use stravasync_strava::{StravaClient, StravaConfig};

use crate::{CliError, InputError, block_on};

/// `stravasync status`'s arguments.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The webhook's public callback URL, as given to `stravasync subscribe` (the stack's
    /// `WebhookBaseUrl` output followed by its WebhookPathSecret).
    #[arg(long, env = "STRAVASYNC_CALLBACK")]
    pub callback: Option<String>,
}

impl StatusArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(status(self.callback))
    }
}

/// How many dead-letter reasons the report quotes.
const DLQ_REASONS: usize = 3;

/// What `stravasync status` reads of its environment: every variable of the manifest's
/// `operator` reader (a test), read before anything else, so a missing one is named first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEnv {
    pub app_secret_id: String,
    pub table: String,
    pub queue_url: String,
    pub background_queue_url: String,
    /// The import queue, when the stack has one.
    pub import_queue_url: Option<String>,
    pub dlq_url: String,
    pub limit_15min: u32,
    pub limit_daily: u32,
    /// Strava's, unless set (fake-strava's locally).
    pub strava_api_url: Option<String>,
    pub strava_oauth_url: Option<String>,
}

impl StatusEnv {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        Ok(StatusEnv {
            app_secret_id: env.required(&APP_SECRET_ID)?,
            table: env.required(&TABLE_NAME)?,
            queue_url: env.required(&QUEUE_URL)?,
            background_queue_url: env.required(&BACKGROUND_QUEUE_URL)?,
            import_queue_url: env.optional(&IMPORT_QUEUE_URL),
            dlq_url: env.required(&DLQ_URL)?,
            limit_15min: env.parsed(&RATE_LIMIT_15MIN)?,
            limit_daily: env.parsed(&RATE_LIMIT_DAILY)?,
            strava_api_url: env.optional(&STRAVA_API_URL),
            strava_oauth_url: env.optional(&STRAVA_OAUTH_URL),
        })
    }
}

/// Reads the stack and judges it; `Err(CliError::Unhealthy)` carries the report when a
/// check fails.
pub async fn status(callback: Option<String>) -> Result<String, CliError> {
    let vars = StatusEnv::from_lookup(|k| std::env::var(k).ok()).map_err(|e| InputError::new(e.to_string()))?;
    let sdk = crate::sdk_config().await;
    let (secret_id, table, dlq_url) = (&vars.app_secret_id, &vars.table, &vars.dlq_url);
    let mut queues = vec![("events", &vars.queue_url), ("background", &vars.background_queue_url)];
    if let Some(url) = &vars.import_queue_url {
        queues.push(("import", url));
    }
    let limits = [
        ("15-minute", RateWindowKind::QuarterHour, vars.limit_15min),
        ("daily", RateWindowKind::Daily, vars.limit_daily),
    ];
    let now = stravasync_core::clock::unix_now();

    let vault = SecretsVault::new(aws_sdk_secretsmanager::Client::new(&sdk), secret_id, "unused");
    let app_secret: Result<serde_json::Value, String> = match vault.named_secret(secret_id).await {
        Ok(Some(text)) => serde_json::from_str(text.expose()).map_err(|e| format!("not JSON: {e}")),
        Ok(None) => Err("no value".to_string()),
        Err(e) => Err(e.to_string()),
    };
    let text = |key: &str| app_secret.as_ref().ok().and_then(|s| s[key].as_str()).filter(|v| !v.is_empty());
    let subscriptions = match (text("client_id"), text("client_secret")) {
        (Some(id), Some(secret)) => Some(list_subscriptions(&vars, id, secret).await),
        _ => None,
    };
    let challenge = match (&callback, text("verify_token")) {
        (Some(url), Some(token)) => Some(challenge(url, token).await),
        _ => None,
    };

    let (sqs, cloudwatch) = (aws_sdk_sqs::Client::new(&sdk), aws_sdk_cloudwatch::Client::new(&sdk));
    let mut depths = Vec::new();
    for (lane, url) in &queues {
        let depth = match depth(&sqs, url).await {
            Ok(d) => oldest_age(&cloudwatch, url, now).await.map(|oldest_s| QueueDepth { oldest_s, ..d }),
            Err(e) => Err(e),
        };
        depths.push((*lane, depth));
    }
    let dlq = dead_letters(&sqs, dlq_url).await;

    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let mut budget = Ok(Vec::new());
    for (name, kind, limit) in limits {
        let window = RateWindow::containing(kind, now);
        match store.used(window).await {
            Ok(used) => {
                if let Ok(windows) = &mut budget {
                    windows.push((name, used, limit, window.resets_at()));
                }
            }
            Err(e) => budget = Err(e.to_string()),
        }
    }
    let athletes = athletes(&store).await;

    let facts = Facts { app_secret, callback, subscriptions, challenge, queues: depths, dlq, budget, athletes, now };
    let checks = health::assess(&facts);
    let report = health::render(&checks);
    if checks.iter().all(|c| c.ok) { Ok(report) } else { Err(CliError::Unhealthy(report)) }
}

async fn list_subscriptions(
    vars: &StatusEnv,
    client_id: &str,
    client_secret: &str,
) -> Result<Vec<(i64, String)>, String> {
    let mut config = StravaConfig::new(client_id.to_string(), stravasync_core::Secret::new(client_secret));
    if let Some(url) = &vars.strava_api_url {
        config.api_url = url.clone();
    }
    if let Some(url) = &vars.strava_oauth_url {
        config.oauth_url = url.clone();
    }
    let strava = StravaClient::new(config).map_err(|e| e.to_string())?;
    let subs = strava.list_subscriptions().await.map_err(|e| e.to_string())?;
    Ok(subs.into_iter().map(|s| (s.id, s.callback_url.unwrap_or_default())).collect())
}

/// Strava's subscription check, as Strava makes it: a GET with a fresh challenge and the
/// verify token; the webhook must echo the challenge.
async fn challenge(callback: &str, verify_token: &str) -> Result<(), String> {
    let client = stravasync_strava::tls::http_client_builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let challenge = format!("status-{}", stravasync_core::clock::unix_now_ms());
    let response = client
        .get(callback)
        .query(&[("hub.mode", "subscribe"), ("hub.challenge", challenge.as_str()), ("hub.verify_token", verify_token)])
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() && body["hub.challenge"] == challenge.as_str() {
        Ok(())
    } else {
        Err(format!("HTTP {}, {body}", status.as_u16()))
    }
}

/// The latest `ApproximateAgeOfOldestMessage` CloudWatch has of the queue at `url` in the
/// last ten minutes (SQS publishes it each minute while the queue is active).
async fn oldest_age(cloudwatch: &aws_sdk_cloudwatch::Client, url: &str, now: i64) -> Result<Option<u64>, String> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    let queue = url.rsplit('/').next().unwrap_or_default();
    let metric = Metric::builder()
        .namespace("AWS/SQS")
        .metric_name("ApproximateAgeOfOldestMessage")
        .dimensions(Dimension::builder().name("QueueName").value(queue).build())
        .build();
    let query = MetricDataQuery::builder()
        .id("oldest")
        .metric_stat(MetricStat::builder().metric(metric).period(60).stat("Maximum").build())
        .build();
    let answer = cloudwatch
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from_secs(now - 600))
        .end_time(DateTime::from_secs(now + 60))
        .send()
        .await
        .map_err(|e| format!("CloudWatch: {}", aws_sdk_cloudwatch::error::DisplayErrorContext(&e)))?;
    let latest = answer
        .metric_data_results()
        .iter()
        .flat_map(|r| r.timestamps().iter().zip(r.values()))
        .max_by_key(|(t, _)| t.secs())
        .map(|(_, v)| v.max(0.0).round() as u64);
    Ok(latest)
}

async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<QueueDepth, String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?
        .attributes
        .unwrap_or_default();
    let get = |a: A| attributes.get(&a).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(QueueDepth {
        waiting: get(A::ApproximateNumberOfMessages),
        in_flight: get(A::ApproximateNumberOfMessagesNotVisible),
        delayed: get(A::ApproximateNumberOfMessagesDelayed),
        oldest_s: None,
    })
}

/// The DLQ's count, and the reasons of its first few messages (received, then made
/// visible again at once: the DLQ has no redrive, so a receive costs nothing).
async fn dead_letters(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<(u64, Vec<String>), String> {
    let d = depth(sqs, url).await?;
    let count = d.waiting + d.in_flight + d.delayed;
    if count == 0 {
        return Ok((0, Vec::new()));
    }
    let dlq = stravasync_aws::sqs::SqsQueue::new(sqs.clone(), url);
    let messages = crate::stack::receive_dlq(&dlq, DLQ_REASONS).await.map_err(|e| e.to_string())?;
    let mut reasons = Vec::new();
    for m in &messages {
        reasons.push(m.reason.clone().unwrap_or_else(|| "moved by the queue's redrive policy".into()));
        let _ = dlq.defer(&m.receipt_handle, 0).await;
    }
    Ok((count, reasons))
}

async fn athletes(store: &DynamoStore) -> Result<AthletesFacts, String> {
    let mut facts = AthletesFacts::default();
    for athlete in store.athletes().await.map_err(|e| e.to_string())? {
        let Some(profile) = store.get_profile(athlete).await.map_err(|e| e.to_string())? else { continue };
        if profile.state == ConnectionState::Connected {
            facts.connected += 1;
        }
        facts.last_event_at = facts.last_event_at.max(profile.last_event_at);
        if profile.backfill.as_ref().is_some_and(|b| b.finished_at.is_none()) {
            facts.backfills_running += 1;
        }
        let newest = store.activities_page(athlete, None, 1).await.map_err(|e| e.to_string())?;
        facts.last_activity = facts.last_activity.max(newest.first().map(|a| a.local_date));
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_the_operator_variables_of_the_manifest() {
        use stravasync_core::config::manifest::{Reader, check_reader};
        check_reader(Reader::Operator, |get| StatusEnv::from_lookup(get)).unwrap();
    }
}
