//! AWS adapters of the pipeline's ports (`stravasync_core::ports`), on aws-sdk-rust.
//!
//! - [`dynamo::DynamoStore`]: the single-table repository (docs/design.md §7) and the shared
//!   rate-limit budget.
//! - [`sqs::SqsQueue`]: the SQS FIFO queue (send, defer, and what a local pump needs).
//! - [`secrets::SecretsVault`]: OAuth tokens and app credentials in Secrets Manager.
//! - [`kms_vault::KmsVault`]: OAuth tokens sealed with KMS data keys in the table
//!   (`TOKEN_STORE=dynamodb-kms`); [`vault::Vault`] is whichever the stack uses.
//! - [`lambda::LazyRouter`] (feature `lambda-http`): the HTTP functions' routes, built at
//!   their first request.
//! - [`resources`]: the one definition of the table, queues and secrets, used by the
//!   local bootstrap and checked against `template.yaml`.
//!
//! Every client of a function is built from one [`sdk_config_from_env`] (see [`http`]): the
//! Lambda environment's region and credentials, the standard `AWS_ENDPOINT_URL` (a moto
//! server locally), and the process's one HTTPS client.

pub mod capacity;
pub mod dynamo;
pub mod emf;
pub mod http;
pub mod kms_vault;
#[cfg(feature = "lambda-http")]
pub mod lambda;
pub mod local;
pub mod resources;
pub mod secrets;
pub mod sqs;
pub mod template_stack;
pub mod vault;

mod sdk_error;
mod ttl_cache;

pub use aws_types::SdkConfig;
pub use http::{MissingVariable, sdk_config_from_env};
