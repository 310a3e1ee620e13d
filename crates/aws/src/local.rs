//! A complete local stack on a moto server (or any endpoint): the resources of
//! [`crate::resources`] under unique names, with the adapters wired to them. Used by the
//! CLI's `local` commands, the demo and (through `stravasync-testkit`) the tests.

use std::sync::atomic::{AtomicU32, Ordering};

use stravasync_core::Secret;
use stravasync_core::model::AppCredentials;

use crate::dynamo::DynamoStore;
use crate::resources::{BootstrapError, Bootstrapped, ResourceNames, bootstrap};
use crate::secrets::SecretsVault;
use crate::sqs::SqsQueue;

/// App credentials of local stacks. Local only: fake-strava accepts this client secret
/// and the `events/` fixtures are built with these secrets.
pub fn local_app_credentials() -> AppCredentials {
    AppCredentials {
        client_id: "12345".into(),
        client_secret: Secret::new("client-secret-value"),
        verify_token: Secret::new("verify-token-value"),
        webhook_path_secret: Secret::new("path-secret-value"),
        subscription_id: 120_475,
    }
}

/// A name suffix unique to this process and call.
pub fn unique_suffix(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{label}-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub struct LocalStack {
    pub sdk: aws_config::SdkConfig,
    pub names: ResourceNames,
    pub urls: Bootstrapped,
}

impl LocalStack {
    /// Bootstraps the resources named `names` (creating what is missing) with `app`.
    pub async fn create(
        sdk: aws_config::SdkConfig,
        names: ResourceNames,
        app: &AppCredentials,
    ) -> Result<Self, BootstrapError> {
        let urls = bootstrap(&sdk, &names, Some(app)).await?;
        Ok(LocalStack { sdk, names, urls })
    }

    /// The variables the handlers read to find this stack (`local up` prints them).
    pub fn handler_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TABLE_NAME", self.names.table.clone()),
            ("QUEUE_URL", self.urls.queue_url.clone()),
            ("DLQ_URL", self.urls.dlq_url.clone()),
            ("APP_SECRET_ID", self.names.app_secret_id.clone()),
            ("TOKEN_SECRET_PREFIX", self.names.token_secret_prefix.clone()),
            ("SESSION_SECRET_ID", self.names.session_secret_id.clone()),
        ]
    }

    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&self.sdk), &self.names.table)
    }

    pub fn queue(&self) -> SqsQueue {
        SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), &self.urls.queue_url)
    }

    pub fn dlq(&self) -> SqsQueue {
        SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), &self.urls.dlq_url)
    }

    pub fn vault(&self) -> SecretsVault {
        SecretsVault::new(
            aws_sdk_secretsmanager::Client::new(&self.sdk),
            &self.names.app_secret_id,
            &self.names.token_secret_prefix,
        )
    }
}
