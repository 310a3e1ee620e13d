//! AWS adapters of the pipeline's ports (`stravasync_core::ports`), on aws-sdk-rust.
//!
//! - [`dynamo::DynamoStore`]: the single-table repository (docs/design.md §7) and the shared
//!   rate-limit budget.
//! - [`sqs::SqsQueue`]: the SQS FIFO queue (send, defer, and what a local pump needs).
//! - [`secrets::SecretsVault`]: OAuth tokens and app credentials in Secrets Manager.
//! - [`resources`]: the one definition of the table, queues and secrets, used by the
//!   local bootstrap and checked against `template.yaml`.
//!
//! Every client is built from one [`load_sdk_config`], which honours the standard
//! `AWS_ENDPOINT_URL` (a moto server locally) and credential chain.

pub mod dynamo;
pub mod local;
pub mod resources;
pub mod secrets;
pub mod sqs;

mod sdk_error;

/// Loads the shared SDK configuration once per process (region, credentials, endpoint).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
