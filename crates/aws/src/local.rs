//! A complete local stack on a moto server (or any endpoint): the resources of
//! [`crate::resources`] under unique names, with the adapters wired to them. Used by the
//! CLI's `local` commands, the demo and (through `stravasync-testkit`) the tests.

use std::sync::atomic::{AtomicU32, Ordering};

use stravasync_core::Secret;
use stravasync_core::config::TokenStore;
use stravasync_core::model::AppCredentials;

use crate::dynamo::DynamoStore;
use crate::resources::{BootstrapError, Bootstrapped, ResourceNames, bootstrap};
use crate::secrets::SecretsVault;
use crate::sqs::SqsQueue;
use crate::vault::Vault;

/// App credentials of local stacks. Local only: fake-strava accepts this client secret
/// and the `events/` fixtures are built with these secrets.
pub fn local_app_credentials() -> AppCredentials {
    AppCredentials {
        client_id: "12345".into(),
        client_secret: Secret::new("client-secret-value"),
        verify_token: Secret::new("verify-token-value"),
        subscription_id: 120_475,
    }
}

/// The webhook's secret path segment on local stacks (`WEBHOOK_PATH_SECRET`; the
/// `events/` fixtures post to `/webhook/path-secret-value`).
pub const LOCAL_WEBHOOK_PATH_SECRET: &str = "path-secret-value";
/// The support contact local stacks show (`SUPPORT_EMAIL`).
pub const LOCAL_SUPPORT_EMAIL: &str = "support@example.test";

/// Whether `AWS_ENDPOINT_URL` names this machine (a moto server).
pub fn endpoint_is_local(endpoint: Option<&str>) -> bool {
    let Some(endpoint) = endpoint else { return false };
    let authority = endpoint.split("://").nth(1).unwrap_or(endpoint).split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The SDK configuration of the server in `AWS_ENDPOINT_URL` (a moto server), refused unless
/// it is on this machine: what tests and the demo use, so they can never touch a real account.
pub fn local_sdk_config() -> Result<crate::SdkConfig, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    if !endpoint_is_local(endpoint.as_deref()) {
        return Err(format!(
            "AWS_ENDPOINT_URL is {}, not a server on this machine: run through `make test` \
             (infra/with-moto.sh starts a moto server and sets it)",
            endpoint.as_deref().unwrap_or("unset")
        ));
    }
    crate::sdk_config_from_env().map_err(|e| e.to_string())
}

/// A name suffix unique to this process and call.
pub fn unique_suffix(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{label}-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub struct LocalStack {
    pub sdk: crate::SdkConfig,
    pub names: ResourceNames,
    pub urls: Bootstrapped,
    /// Where the handlers keep athletes' tokens (Secrets Manager unless
    /// [`LocalStack::with_kms_token_store`]).
    pub token_store: TokenStore,
}

impl LocalStack {
    /// Bootstraps the resources named `names` (creating what is missing) with `app`.
    pub async fn create(
        sdk: crate::SdkConfig,
        names: ResourceNames,
        app: &AppCredentials,
    ) -> Result<Self, BootstrapError> {
        let urls = bootstrap(&sdk, &names, Some(app)).await?;
        Ok(LocalStack { sdk, names, urls, token_store: TokenStore::SecretsManager })
    }

    /// A stack with names unique to this process and `label` on the local server of
    /// `AWS_ENDPOINT_URL` ([`local_sdk_config`]), with the local app credentials.
    pub async fn on_local_endpoint(label: &str) -> Result<Self, String> {
        let sdk = local_sdk_config()?;
        Self::create(sdk, ResourceNames::local(&unique_suffix(label)), &local_app_credentials())
            .await
            .map_err(|e| e.to_string())
    }

    /// Keeps athletes' tokens in the table, sealed under a new KMS key
    /// (`TOKEN_STORE=dynamodb-kms`).
    pub async fn with_kms_token_store(mut self) -> Result<Self, BootstrapError> {
        let key_id = crate::resources::create_token_key(&self.sdk, &self.names).await?;
        self.token_store = TokenStore::DynamoKms { key_id };
        Ok(self)
    }

    /// The variables the handlers read to find this stack (`local up` prints them).
    pub fn handler_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("TABLE_NAME", self.names.table.clone()),
            ("QUEUE_URL", self.urls.queue_url.clone()),
            ("BACKGROUND_QUEUE_URL", self.urls.background_queue_url.clone()),
            ("DLQ_URL", self.urls.dlq_url.clone()),
            ("APP_SECRET_ID", self.names.app_secret_id.clone()),
            ("TOKEN_SECRET_PREFIX", self.names.token_secret_prefix.clone()),
            ("SESSION_SECRET_ID", self.names.session_secret_id.clone()),
            // On the wall clock, a paced background share would hold a demo run just after
            // midnight UTC (the simulation and the deployed stack pace it).
            ("PACE_BACKGROUND", "false".to_string()),
            ("WEBHOOK_PATH_SECRET", LOCAL_WEBHOOK_PATH_SECRET.to_string()),
            ("SUPPORT_EMAIL", LOCAL_SUPPORT_EMAIL.to_string()),
        ];
        if let TokenStore::DynamoKms { key_id } = &self.token_store {
            env.extend([("TOKEN_STORE", "dynamodb-kms".to_string()), ("TOKEN_KEY_ID", key_id.clone())]);
        }
        env
    }

    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&self.sdk), &self.names.table)
    }

    pub fn queue(&self) -> SqsQueue {
        SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), &self.urls.queue_url)
            .with_background_queue(&self.urls.background_queue_url)
    }

    pub fn dlq(&self) -> SqsQueue {
        SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), &self.urls.dlq_url)
    }

    /// The token vault the handlers of this stack use (see [`LocalStack::token_store`]).
    pub fn token_vault(&self) -> Vault {
        Vault::new(
            &self.sdk,
            &self.token_store,
            &self.names.table,
            &self.names.app_secret_id,
            &self.names.token_secret_prefix,
        )
    }

    /// The Secrets Manager vault of this stack's app credentials, session key and (by
    /// default) tokens.
    pub fn vault(&self) -> SecretsVault {
        SecretsVault::new(
            aws_sdk_secretsmanager::Client::new(&self.sdk),
            &self.names.app_secret_id,
            &self.names.token_secret_prefix,
        )
    }
}
