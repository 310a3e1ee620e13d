//! The rollup's configuration and parts, built once per container: the same builder for
//! the Lambda and `stravasync rollup`.

use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::sqs::SqsQueue;
use stravasync_core::config::manifest::{BACKGROUND_QUEUE_URL, QUEUE_URL, RECONCILE_EVERY_DAYS, TABLE_NAME};
use stravasync_core::config::{ConfigError, Env};

use crate::{Rollup, RollupError, RollupReport, RollupRequest};

/// Typed configuration from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupConfig {
    pub table_name: String,
    /// The events queue (`QUEUE_URL`).
    pub queue_url: String,
    /// The background lane's queue (`BACKGROUND_QUEUE_URL`): reconcile jobs go there.
    pub background_queue_url: Option<String>,
    /// Each athlete is reconciled every this many days (`RECONCILE_EVERY_DAYS`, default 7).
    pub reconcile_every_days: u32,
}

impl RollupConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        Ok(RollupConfig {
            table_name: env.required(&TABLE_NAME)?,
            queue_url: env.required(&QUEUE_URL)?,
            background_queue_url: env.optional(&BACKGROUND_QUEUE_URL),
            reconcile_every_days: match env.parsed(&RECONCILE_EVERY_DAYS)? {
                0 => {
                    return Err(ConfigError::Invalid {
                        var: RECONCILE_EVERY_DAYS.name(),
                        reason: "must be > 0".into(),
                    });
                }
                n => n,
            },
        })
    }
}

/// The rollup on the AWS adapters.
pub type AwsRollup = Rollup<DynamoStore, SqsQueue>;

impl AwsRollup {
    pub fn build(sdk: &stravasync_aws::SdkConfig, config: &RollupConfig) -> Self {
        Rollup::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
            SqsQueue::for_lanes(
                aws_sdk_sqs::Client::new(sdk),
                &config.queue_url,
                config.background_queue_url.as_deref(),
            ),
        )
        .with_reconcile_every(config.reconcile_every_days)
    }

    /// One scheduled invocation: the schedule's `Input` as JSON, at the system clock.
    pub async fn handle_json(&self, input: serde_json::Value) -> Result<RollupReport, RollupError> {
        let req: RollupRequest = serde_json::from_value(input).map_err(|e| RollupError::Request(e.to_string()))?;
        self.run(&req, stravasync_core::clock::unix_now()).await
    }
}

/// The failure Lambda reports for an invocation: the error's kind and its sentence.
impl From<RollupError> for lambda_runtime::Diagnostic {
    fn from(e: RollupError) -> Self {
        let error_type = match &e {
            RollupError::Request(_) => "RollupRequest",
            RollupError::Store(_) => "Store",
            RollupError::Queue(_) => "Queue",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variables_read_are_the_manifests() {
        use stravasync_core::config::manifest::{Reader, check_reader};
        check_reader(Reader::Rollup, |get| RollupConfig::from_lookup(get)).unwrap();
    }

    #[test]
    fn names_the_missing_variable() {
        let e = RollupConfig::from_lookup(|k| (k == "TABLE_NAME").then(|| "t".into())).unwrap_err();
        assert_eq!(e, ConfigError::Missing("QUEUE_URL"));
        let e = RollupConfig::from_lookup(|_| Some("x".into())).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { var: "RECONCILE_EVERY_DAYS", .. }));
        let c = RollupConfig::from_lookup(|k| (k != "RECONCILE_EVERY_DAYS").then(|| "x".into())).unwrap();
        assert_eq!(
            c,
            RollupConfig {
                table_name: "x".into(),
                queue_url: "x".into(),
                background_queue_url: Some("x".into()),
                reconcile_every_days: 7
            }
        );
        let c = RollupConfig::from_lookup(|k| (k == "TABLE_NAME" || k == "QUEUE_URL").then(|| "x".into())).unwrap();
        assert_eq!(c.background_queue_url, None);
        let e = RollupConfig::from_lookup(|k| match k {
            "RECONCILE_EVERY_DAYS" => Some("0".into()),
            _ => Some("x".into()),
        })
        .unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { var: "RECONCILE_EVERY_DAYS", .. }));
    }
}
