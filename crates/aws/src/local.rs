//! A complete local stack on a moto server (or any endpoint): the resources of
//! [`crate::resources`] under unique names, with the adapters wired to them. Used by the
//! CLI's `local` commands, the demo and (through `stravasync-testkit`) the tests.

use std::sync::atomic::{AtomicU32, Ordering};

use stravasync_core::Secret;
use stravasync_core::config::manifest::{self, Reader, Var};
use stravasync_core::config::{Env, TokenStore};
use stravasync_core::model::AppCredentials;

use crate::dynamo::DynamoStore;
use crate::resources::{BootstrapError, Bootstrapped, ResourceNames, bootstrap};
use crate::secrets::SecretsVault;
use crate::sqs::SqsQueue;
use crate::template_stack::TemplateStack;
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
    /// The stack created from template.yaml, when this is one ([`LocalStack::from_template`]).
    pub template: Option<TemplateStack>,
}

/// The variables whose values are endpoints of the machine a function runs on (Strava's
/// URLs, the site's own addresses): the caller of a local run sets them
/// ([`LocalStack::endpoint_env`]), not the stack.
pub const ENDPOINT_VARIABLES: &[&Var] =
    &[&manifest::STRAVA_API_URL, &manifest::STRAVA_OAUTH_URL, &manifest::PUBLIC_BASE_URL, &manifest::EXPORT_URL];

/// Where Lambda gives a function its role's credentials: [`LocalStack::function_env`] sets
/// them to the function's own IAM user's key where the server enforces IAM.
const CREDENTIAL_VARIABLES: [&str; 2] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

/// What a local stack chooses where a deployment must or may: on a stack made from the
/// template, the values of these variables' parameters (`sam deploy`'s
/// `--parameter-overrides`); on the code's bootstrap, the variables themselves. One list,
/// so the two local stacks agree.
const LOCAL_VALUES: &[(&Var, &str)] = &[
    (&manifest::SUPPORT_EMAIL, LOCAL_SUPPORT_EMAIL),
    (&manifest::WEBHOOK_PATH_SECRET, LOCAL_WEBHOOK_PATH_SECRET),
    // On the wall clock, a paced background share would hold a run just after midnight
    // UTC (the simulation and the deployed stack pace it).
    (&manifest::PACE_BACKGROUND, "false"),
];

/// The template parameters of a local deployment: [`LOCAL_VALUES`] by their variables'
/// parameters, and the token store.
fn local_parameters(token_store: &str) -> Result<Vec<(&'static str, String)>, String> {
    let mut parameters = Vec::new();
    for (var, value) in LOCAL_VALUES.iter().chain([&(&manifest::TOKEN_STORE, token_store)]) {
        let parameter =
            var.source().parameter().ok_or_else(|| format!("{} comes from no template parameter", var.name()))?;
        parameters.push((parameter, value.to_string()));
    }
    Ok(parameters)
}

impl LocalStack {
    /// Bootstraps the resources named `names` (creating what is missing) with `app`.
    pub async fn create(
        sdk: crate::SdkConfig,
        names: ResourceNames,
        app: &AppCredentials,
    ) -> Result<Self, BootstrapError> {
        let urls = bootstrap(&sdk, &names, Some(app)).await?;
        Ok(LocalStack { sdk, names, urls, token_store: TokenStore::SecretsManager, template: None })
    }

    /// The stack `sam deploy` would create, made from template.yaml on the local server of
    /// `AWS_ENDPOINT_URL` ([`crate::template_stack`]) under a name unique to `label`, then
    /// set up as an operator does after a deploy: the app secret filled in with the local
    /// app credentials, and the session key set to the local one (so that the `events/`
    /// fixtures' cookies are valid). `kms_tokens` deploys with `TokenStore=dynamodb-kms`.
    pub async fn from_template(label: &str, kms_tokens: bool) -> Result<Self, String> {
        let sdk = local_sdk_config()?;
        // A stack name: letters, digits and hyphens, starting with a letter.
        let name: String = format!("s-{}", unique_suffix(label))
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let token_store = if kms_tokens { TokenStore::DYNAMODB_KMS } else { TokenStore::SECRETS_MANAGER };
        let template = crate::template_stack::create(&name, &local_parameters(token_store)?).await?;
        Self::on_template(sdk, template, &local_app_credentials()).await
    }

    /// The local stack of an already created `template` stack, with `app` in its app secret.
    pub async fn on_template(
        sdk: crate::SdkConfig,
        template: TemplateStack,
        app: &AppCredentials,
    ) -> Result<Self, String> {
        let queue_name = |logical: &str| -> Result<String, String> {
            Ok(template.id(logical)?.rsplit('/').next().unwrap_or_default().to_string())
        };
        let names = ResourceNames {
            table: template.id("Table")?.to_string(),
            queue: queue_name("EventsQueue")?,
            background_queue: queue_name("BackgroundQueue")?,
            import_queue: queue_name("ImportQueue")?,
            dlq: queue_name("EventsDlq")?,
            app_secret_id: template.id("AppSecret")?.to_string(),
            token_secret_prefix: template.stack.clone(),
            session_secret_id: template.id("SessionSecret")?.to_string(),
        };
        let urls = Bootstrapped {
            queue_url: template.id("EventsQueue")?.to_string(),
            background_queue_url: template.id("BackgroundQueue")?.to_string(),
            import_queue_url: template.id("ImportQueue")?.to_string(),
            dlq_url: template.id("EventsDlq")?.to_string(),
        };
        let consumer = template.function(Reader::Consumer.name())?;
        let token_store = TokenStore::read(&Env::new(|k: &str| consumer.environment.get(k).cloned()))
            .map_err(|e| format!("the consumer's token store: {e}"))?;
        let stack = LocalStack { sdk, names, urls, token_store, template: Some(template) };
        // Every function's variables are ones the manifest lists for it: refused here, once,
        // so that no later reading of the environment meets an unknown one.
        for binary in stack.template.iter().flat_map(|t| t.functions.keys()) {
            stack.function_env(binary)?;
        }
        let app_text = serde_json::to_string(app).map_err(|e| e.to_string())?;
        let vault = stack.vault();
        vault.write(&stack.names.app_secret_id, &app_text).await.map_err(|e| e.to_string())?;
        vault
            .write(&stack.names.session_secret_id, crate::resources::LOCAL_SESSION_KEY)
            .await
            .map_err(|e| e.to_string())?;
        Ok(stack)
    }

    /// The environment of the function `binary` for a local run: on a stack made from the
    /// template, its `AWS::Lambda::Function`'s variables but the [`ENDPOINT_VARIABLES`]
    /// (the caller's); on a bootstrapped one, [`LocalStack::handler_env`]. A variable the
    /// manifest does not list for the function is an error (a typo in the template, or a
    /// setting it does not read).
    pub fn function_env(&self, binary: &str) -> Result<Vec<(&'static str, String)>, String> {
        let Some(template) = &self.template else { return Ok(self.handler_env()) };
        let function = template.function(binary)?;
        let reader = Reader::from_name(binary)
            .filter(|r| r.is_function())
            .ok_or_else(|| format!("{binary} is not a function of the manifest"))?;
        let mut env = Vec::new();
        for (key, value) in &function.environment {
            let var = manifest::var(key)
                .filter(|v| v.is_read_by(reader))
                .ok_or_else(|| format!("{binary}'s environment has {key}, which the manifest does not list for it"))?;
            if !ENDPOINT_VARIABLES.contains(&var) {
                env.push((var.name(), value.clone()));
            }
        }
        if let Some(key) = &function.credentials {
            let [id, secret] = CREDENTIAL_VARIABLES;
            env.push((id, key.access_key_id.clone()));
            env.push((secret, key.secret_access_key.expose().to_string()));
        }
        Ok(env)
    }

    /// The [`ENDPOINT_VARIABLES`] of a local run: Strava's API and OAuth URLs (fake-strava's)
    /// and the site's own URL (`EXPORT_URL` unset: exports on the same site).
    pub fn endpoint_env(
        strava_api_url: &str,
        strava_oauth_url: &str,
        public_base_url: &str,
    ) -> Vec<(&'static str, String)> {
        vec![
            (manifest::STRAVA_API_URL.name(), strava_api_url.to_string()),
            (manifest::STRAVA_OAUTH_URL.name(), strava_oauth_url.to_string()),
            (manifest::PUBLIC_BASE_URL.name(), public_base_url.to_string()),
        ]
    }

    /// The SDK configuration the function `binary` runs with: on a stack made from the
    /// template on a server enforcing IAM, its own user's key (exactly its role's
    /// policies); otherwise the stack's.
    pub fn function_sdk(&self, binary: &str) -> Result<crate::SdkConfig, String> {
        let Some(template) = &self.template else { return Ok(self.sdk.clone()) };
        let Some(key) = &template.function(binary)?.credentials else { return Ok(self.sdk.clone()) };
        let credentials = aws_credential_types::Credentials::new(
            &key.access_key_id,
            key.secret_access_key.expose(),
            None,
            None,
            "function-user",
        );
        Ok(self
            .sdk
            .to_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
            .build())
    }

    /// This stack as the function `binary` reaches it ([`LocalStack::function_sdk`]): its
    /// store, queues and vaults are the function's.
    pub fn as_function(&self, binary: &str) -> Result<LocalStack, String> {
        Ok(LocalStack {
            sdk: self.function_sdk(binary)?,
            names: self.names.clone(),
            urls: self.urls.clone(),
            token_store: self.token_store.clone(),
            template: self.template.clone(),
        })
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

    /// The variables the handlers read to find this stack (`local up` prints them): on a
    /// stack made from the template, every function's (they agree where they overlap)
    /// without the endpoints; on a bootstrapped one, the bootstrap's.
    pub fn handler_env(&self) -> Vec<(&'static str, String)> {
        if let Some(template) = &self.template {
            let mut env: Vec<(&'static str, String)> = Vec::new();
            for binary in template.functions.keys() {
                // Checked when the stack was made (`on_template`): no function's is refused.
                for (key, value) in self.function_env(binary).unwrap_or_default() {
                    // A function's own credentials are its alone.
                    if !CREDENTIAL_VARIABLES.contains(&key) && !env.iter().any(|(k, _)| *k == key) {
                        env.push((key, value));
                    }
                }
            }
            return env;
        }
        let mut env = vec![
            (manifest::TABLE_NAME.name(), self.names.table.clone()),
            (manifest::QUEUE_URL.name(), self.urls.queue_url.clone()),
            (manifest::BACKGROUND_QUEUE_URL.name(), self.urls.background_queue_url.clone()),
            (manifest::IMPORT_QUEUE_URL.name(), self.urls.import_queue_url.clone()),
            (manifest::DLQ_URL.name(), self.urls.dlq_url.clone()),
            (manifest::APP_SECRET_ID.name(), self.names.app_secret_id.clone()),
            (manifest::TOKEN_SECRET_PREFIX.name(), self.names.token_secret_prefix.clone()),
            (manifest::SESSION_SECRET_ID.name(), self.names.session_secret_id.clone()),
        ];
        env.extend(LOCAL_VALUES.iter().map(|(var, value)| (var.name(), value.to_string())));
        if let TokenStore::DynamoKms { key_id } = &self.token_store {
            env.extend([
                (manifest::TOKEN_STORE.name(), TokenStore::DYNAMODB_KMS.to_string()),
                (manifest::TOKEN_KEY_ID.name(), key_id.clone()),
            ]);
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

    /// The import queue (one message per file of an athlete's own files).
    pub fn import_queue(&self) -> SqsQueue {
        SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), &self.urls.import_queue_url)
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
