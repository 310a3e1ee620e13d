//! Shared set-up of the adapter tests: a moto server named by `AWS_ENDPOINT_URL`
//! (`make test` starts one through `infra/with-moto.sh`), and resources with names unique
//! to each test so tests run in parallel on one server.

#![allow(dead_code, unused_imports)]

pub use stravasync_aws::local::{LocalStack as Stack, local_app_credentials as app_credentials};

/// The SDK configuration of the local moto server.
pub fn sdk() -> stravasync_aws::SdkConfig {
    stravasync_aws::local::local_sdk_config().expect("a moto server on this machine")
}

pub async fn stack(label: &str) -> Stack {
    Stack::on_local_endpoint(label).await.expect("a stack on the local moto server")
}
