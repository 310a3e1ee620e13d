//! Commands against a stack (`local up`, `local pump`, `rollup`, `subscribe`, `resources`):
//! drive a stack (local on moto, or real) from the command line with the same handler code.

use clap::{Args, Subcommand};
use stravasync_aws::local::{LocalStack, local_app_credentials};
use stravasync_aws::resources::ResourceNames;
use stravasync_consumer::deps::AwsConsumer;
use stravasync_core::ports::TokenVault;
use stravasync_rollup::deps::{AwsRollup, RollupConfig};
use stravasync_rollup::{Mode, RollupRequest};
use stravasync_strava::{StravaClient, StravaConfig};

use crate::{CliError, InputError, block_on, to_json};

/// `stravasync local …`: the local stack.
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Create the stack from template.yaml on the local moto server (SAM's transform and
    /// moto's CloudFormation, infra/local_stack.py), fill in its app secret with the local
    /// credentials, and print the functions' environment as `export` lines.
    Up {
        #[arg(long, default_value = "local")]
        name: String,
        /// Print this function's environment only (webhook, api, export, consumer, rollup),
        /// as its AWS::Lambda::Function holds it (Strava's URLs and the site's own are
        /// yours to set).
        #[arg(long)]
        function: Option<String>,
        /// Create the resources with the code's own bootstrap (crates/aws/src/resources.rs)
        /// instead of the template: the same resources (a test proves it), no Python.
        #[arg(long)]
        from_code: bool,
        /// Create the resources (with the code's bootstrap) even though AWS_ENDPOINT_URL is
        /// not on this machine (its app secret holds the well-known local credentials).
        #[arg(long)]
        yes_real_aws: bool,
        /// Also print the endpoint variables for a Strava at this base URL (fake-strava's:
        /// `/api/v3` and `/oauth` under it)...
        #[arg(long, requires = "site")]
        strava: Option<String>,
        /// ... and a site (the webhook's and the API's) at this URL.
        #[arg(long, requires = "strava")]
        site: Option<String>,
    },
    /// Play the SQS event source mapping into the consumer handler until the queue is idle
    /// (consumer environment: QUEUE_URL, TABLE_NAME, APP_SECRET_ID, TOKEN_SECRET_PREFIX, STRAVA_*).
    Pump {
        #[arg(long, default_value_t = 100)]
        max_rounds: usize,
    },
}

impl LocalCommand {
    pub fn run(self) -> Result<String, CliError> {
        match self {
            LocalCommand::Up { name, function, from_code, yes_real_aws, strava, site } => {
                let endpoints = strava.zip(site);
                block_on(up(&name, function.as_deref(), from_code || yes_real_aws, yes_real_aws, endpoints))
            }
            LocalCommand::Pump { max_rounds } => block_on(pump(max_rounds)),
        }
    }
}

/// `stravasync rollup`'s arguments.
#[derive(Debug, Args)]
pub struct RollupArgs {
    /// The daily run: also extend every series to today and enqueue reconciles.
    #[arg(long)]
    pub daily: bool,
    /// Recompute one athlete from their first activity.
    #[arg(long)]
    pub athlete: Option<i64>,
}

impl RollupArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(rollup(self.daily, self.athlete))
    }
}

/// `stravasync subscribe`'s arguments.
#[derive(Debug, Args)]
pub struct SubscribeArgs {
    #[arg(long)]
    pub callback: String,
}

impl SubscribeArgs {
    pub fn run(self) -> Result<String, CliError> {
        block_on(subscribe(&self.callback))
    }
}

/// The AWS resource definitions the local bootstrap uses, the deployment manifest (every
/// environment variable) and the metrics the functions emit, as JSON (`stravasync resources`, checked against template.yaml by infra/check_template.py).
pub fn resources() -> Result<String, CliError> {
    let mut spec = stravasync_aws::resources::spec_json();
    spec["metrics"] = serde_json::json!({
        "namespace": stravasync_core::telemetry::NAMESPACE,
        "every_metric_dimension": stravasync_core::telemetry::FUNCTION_DIMENSION,
        "metrics": stravasync_core::telemetry::METRICS.iter().map(|m| serde_json::json!({
            "name": m.name, "unit": m.unit, "functions": m.functions,
            "dimensions": m.dimensions.iter().map(|d| serde_json::json!({"name": d.name, "values": dimension_values(m.name, d)})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    to_json(&spec, true)
}

/// The values the code gives a metric's dimension: the catalog's list, or for the API's
/// `Route` (open in the catalog) the routes of its table.
fn dimension_values(metric: &str, d: &stravasync_core::telemetry::Dimension) -> Vec<&'static str> {
    if metric == stravasync_core::telemetry::API_LATENCY && d.name == "Route" {
        stravasync_api::routes::latency_routes()
    } else {
        d.values.to_vec()
    }
}

/// A configuration error (a variable) is the input's fault; anything else is a runtime failure.
fn input(e: impl std::fmt::Display) -> CliError {
    CliError::Input(InputError::new(e.to_string()))
}

pub use stravasync_aws::local::endpoint_is_local;

/// Creates the table, queues and app secret under `name` and prints the environment the
/// handlers need, with the endpoint variables of `endpoints` (Strava's base URL, the
/// site's) when given. The app secret holds the well-known local credentials, so anything
/// but a local endpoint is refused unless `real_aws` says the operator means it.
pub async fn up(
    name: &str,
    function: Option<&str>,
    from_code: bool,
    real_aws: bool,
    endpoints: Option<(String, String)>,
) -> Result<String, CliError> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    if !real_aws && !endpoint_is_local(endpoint.as_deref()) {
        return Err(input(format!(
            "`local up` creates resources with local, well-known secrets; AWS_ENDPOINT_URL is {}, not this machine. \
             Point it at a local moto server, or pass --yes-real-aws to create them in the account of your credentials",
            endpoint.as_deref().unwrap_or("unset (the real AWS)")
        )));
    }
    let stack = if from_code {
        let sdk = crate::sdk_config().await;
        LocalStack::create(sdk, ResourceNames::local(name), &local_app_credentials())
            .await
            .map_err(CliError::runtime("creating the stack"))?
    } else {
        LocalStack::from_template(name, false)
            .await
            .map_err(|e| CliError::Runtime { context: "creating the stack from template.yaml", source: e.into() })?
    };
    let mut env = match function {
        Some(function) => stack.function_env(function).map_err(input)?,
        None => stack.handler_env(),
    };
    if let Some((strava, site)) = endpoints {
        let strava = strava.trim_end_matches('/');
        env.extend(LocalStack::endpoint_env(&format!("{strava}/api/v3"), &format!("{strava}/oauth"), &site));
    }
    Ok(env.iter().map(|(k, v)| format!("export {k}={v}")).collect::<Vec<_>>().join("\n"))
}

/// Plays the SQS event source mapping: receive batches, invoke the consumer handler,
/// delete what succeeded, until the queue has nothing visible.
pub async fn pump(max_rounds: usize) -> Result<String, CliError> {
    let sdk = crate::sdk_config().await;
    let consumer = AwsConsumer::from_env(&sdk).await.map_err(input)?;
    let progress = crate::progress::Progress::new("pump", None);
    let stats = stravasync_consumer::pump::pump_until_idle_with(&consumer, max_rounds, |s| {
        progress.update(s.done as u64, &format!("done, {} received, {} failed", s.received, s.failed))
    })
    .await
    .map_err(CliError::runtime("pumping the queue"))?;
    progress.finish();
    Ok(format!(
        "received {}, done {}, failed (left to their visibility) {}, moved to the DLQ {}",
        stats.received, stats.done, stats.failed, stats.dead_lettered
    ))
}

/// Runs the rollup handler once.
pub async fn rollup(daily: bool, athlete: Option<i64>) -> Result<String, CliError> {
    let sdk = crate::sdk_config().await;
    let rollup = AwsRollup::build(&sdk, &RollupConfig::from_env().map_err(input)?);
    let now = stravasync_core::clock::unix_now();
    let req = RollupRequest { mode: if daily { Mode::Daily } else { Mode::Dirty }, athlete_id: athlete };
    let report = rollup.run(&req, now).await.map_err(CliError::runtime("rollup"))?;
    to_json(&report, false)
}

/// Creates Strava's push subscription for `callback` with the app secret's credentials
/// and verify token, and stores the subscription id in the app secret.
pub async fn subscribe(callback: &str) -> Result<String, CliError> {
    let sdk = crate::sdk_config().await;
    let secret_id = crate::stack::operator_var(&stravasync_core::config::manifest::APP_SECRET_ID)?;
    let vault =
        stravasync_aws::secrets::SecretsVault::new(aws_sdk_secretsmanager::Client::new(&sdk), &secret_id, "unused");
    let mut app = vault.app_credentials().await.map_err(CliError::runtime("reading the app secret"))?;
    let strava = StravaClient::new(StravaConfig::new(app.client_id.clone(), app.client_secret.clone()).with_env_urls())
        .map_err(CliError::runtime("strava client"))?;
    let sub =
        strava.create_subscription(callback, &app.verify_token).await.map_err(CliError::runtime("subscribing"))?;
    app.subscription_id = sub.id;
    let text = serde_json::to_string(&app).map_err(CliError::runtime("app secret"))?;
    vault.write(&secret_id, &text).await.map_err(CliError::runtime("storing the subscription id"))?;
    Ok(format!("push subscription {} created and stored in {secret_id}", sub.id))
}
