//! Shared set-up of the adapter tests: a moto server named by `AWS_ENDPOINT_URL`
//! (`make test` starts one through `infra/with-moto.sh`), and resource names unique to
//! each test so tests run in parallel on one server.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use stravasync_aws::resources::{Bootstrapped, ResourceNames, bootstrap};
use stravasync_core::Secret;
use stravasync_core::model::AppCredentials;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub async fn sdk() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1"),
        "these tests need a local moto server: run them with `make test` (infra/with-moto.sh sets AWS_ENDPOINT_URL)"
    );
    stravasync_aws::load_sdk_config().await
}

pub fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{label}-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub fn app_credentials() -> AppCredentials {
    AppCredentials {
        client_id: "12345".into(),
        client_secret: Secret::new("client-secret-value"),
        verify_token: Secret::new("verify-token-value"),
        webhook_path_secret: Secret::new("path-secret-value"),
        subscription_id: 120_475,
    }
}

pub struct Stack {
    pub sdk: aws_config::SdkConfig,
    pub names: ResourceNames,
    pub urls: Bootstrapped,
}

pub async fn stack(label: &str) -> Stack {
    let sdk = sdk().await;
    let names = ResourceNames::local(&unique(label));
    let urls = bootstrap(&sdk, &names, Some(&app_credentials())).await.expect("bootstrap");
    Stack { sdk, names, urls }
}
