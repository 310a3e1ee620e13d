//! Shared set-up of the adapter tests: a moto server named by `AWS_ENDPOINT_URL`
//! (`make test` starts one through `infra/with-moto.sh`), and resources with names unique
//! to each test so tests run in parallel on one server.

#![allow(dead_code, unused_imports)]

pub use stravasync_aws::local::{LocalStack as Stack, local_app_credentials as app_credentials};
pub use stravasync_testkit::moto_sdk as sdk;

pub async fn stack(label: &str) -> Stack {
    stravasync_testkit::test_stack(label).await
}
