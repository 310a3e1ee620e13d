//! The AWS adapters against a moto server (`make test` starts one through
//! `infra/with-moto.sh`), one test binary: the DynamoDB store and rate budget (`dynamo`),
//! the KMS token vault (`kms_vault`), the Secrets Manager vault (`secrets`) and the SQS FIFO
//! queue (`sqs`). `tests/kms_logs.rs` runs in a process of its own (it captures logs).

mod common;
mod dynamo;
mod kms_vault;
mod secrets;
mod sqs;
mod template;
