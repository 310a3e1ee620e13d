//! The one definition of the pipeline's AWS resources. The local bootstrap creates
//! exactly these on a moto server, and a test compares them with `template.yaml`.

use serde::{Deserialize, Serialize};
use stravasync_core::config::manifest;

/// Names of one deployment's resources, from the environment in a Lambda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceNames {
    pub table: String,
    /// Name of the FIFO queue (ends in `.fifo`).
    pub queue: String,
    /// Name of the background lane's FIFO queue (ends in `.fifo`).
    pub background_queue: String,
    /// Name of the import queue (ends in `.fifo`): one message per file of an athlete's
    /// own files (docs/design.md §4b).
    pub import_queue: String,
    /// Name of the dead-letter queue of all three (ends in `.fifo`).
    pub dlq: String,
    pub app_secret_id: String,
    /// Athlete token secrets are `<token_secret_prefix>/athlete/<id>`.
    pub token_secret_prefix: String,
    /// The key that signs session cookies (webhook signs, read API checks).
    pub session_secret_id: String,
}

impl ResourceNames {
    /// Names for a local stack; `suffix` keeps parallel test runs apart.
    pub fn local(suffix: &str) -> Self {
        ResourceNames {
            table: format!("stravasync-{suffix}"),
            queue: format!("stravasync-events-{suffix}.fifo"),
            background_queue: format!("stravasync-background-{suffix}.fifo"),
            import_queue: format!("stravasync-import-{suffix}.fifo"),
            dlq: format!("stravasync-events-dlq-{suffix}.fifo"),
            app_secret_id: format!("stravasync/{suffix}/app"),
            token_secret_prefix: format!("stravasync/{suffix}"),
            session_secret_id: format!("stravasync/{suffix}/session"),
        }
    }
}

pub struct KeySpec {
    pub partition: &'static str,
    pub sort: &'static str,
}

pub struct IndexSpec {
    pub name: &'static str,
    pub key: KeySpec,
    /// Attributes projected besides the keys; `None` projects every attribute.
    pub include: Option<&'static [&'static str]>,
}

/// The single table (docs/design.md §7): string keys, on-demand billing, TTL on the rate-limit
/// windows, a sparse index of live activities by local date, and a sparse `listing` index of
/// athletes (every profile, and separately those whose PMC needs a rollup).
pub struct TableSpec {
    pub key: KeySpec,
    pub indexes: &'static [IndexSpec],
    pub ttl_attribute: &'static str,
}

pub const TABLE: TableSpec = TableSpec {
    key: KeySpec { partition: "pk", sort: "sk" },
    indexes: &[
        IndexSpec { name: "by_date", key: KeySpec { partition: "gsi1pk", sort: "gsi1sk" }, include: None },
        // The rollup's read (dates and loads) and the sync status count (`pending`): live
        // activities by date with nothing else.
        IndexSpec {
            name: "loads",
            key: KeySpec { partition: "gsi1pk", sort: "gsi1sk" },
            include: Some(&["load", "pending"]),
        },
        IndexSpec { name: "listing", key: KeySpec { partition: "gsi2pk", sort: "gsi2sk" }, include: None },
    ],
    ttl_attribute: "expires_at",
};

/// The event queue and its dead-letter queue.
pub struct QueueSpec {
    /// Seconds a received message stays invisible: at least 6× the consumer timeout.
    pub visibility_timeout_s: u32,
    /// Receives before SQS itself moves a message to the DLQ. A backstop only (crashes,
    /// timeouts, deferrals without end): the consumer dead-letters poison records at once and
    /// gives up a transient failure after its own `MAX_RECEIVES` (5). Kept well above that,
    /// because receives of records that were not attempted (released behind a failed record
    /// of their group) and deferrals count too.
    pub max_receive_count: u32,
    /// The background queue's: a backfill slice may wait for the budget through many
    /// windows, and keeps its place in the queue (round-robin) only as long as it is not
    /// re-sent; so it waits in place, and this only stops a message that can never run.
    pub background_max_receive_count: u32,
    /// The import queue's: a file that fails this often (the store unavailable throughout,
    /// a body that does not parse) goes to the DLQ; a file's own faults are its report line.
    pub import_max_receive_count: u32,
    /// How long the DLQ keeps a message (14 days, the SQS maximum).
    pub dlq_retention_s: u32,
}

pub const QUEUE: QueueSpec = QueueSpec {
    visibility_timeout_s: 1080,
    max_receive_count: 20,
    background_max_receive_count: 1000,
    import_max_receive_count: 5,
    dlq_retention_s: 1_209_600,
};

/// The HTTP API routes (method, path) that reach the `api` function: its router serves
/// each of them (a test), and the template routes exactly these (`infra/check_template.py`).
pub const API_ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/logout"),
    ("GET", "/privacy"),
    ("GET", "/disconnected"),
    ("GET", "/static/{file}"),
    ("GET", "/static/brand/{file}"),
    ("ANY", "/api/{proxy+}"),
];

/// Timeout of the consumer function; the queue's visibility timeout is 6× this.
pub const CONSUMER_TIMEOUT_S: u32 = 180;

const _: () = assert!(QUEUE.visibility_timeout_s >= 6 * CONSUMER_TIMEOUT_S);
// The consumer gives up a transient failure, and re-sends a record waiting for the budget,
// before the events queue's redrive would move it: their variables are default-only for
// that reason (the manifest), so these defaults are what a deployment runs with.
const _: () = assert!(manifest::MAX_RECEIVES.whole_default() < QUEUE.max_receive_count);
const _: () = assert!(manifest::RESEND_AFTER.whole_default() < QUEUE.max_receive_count);

/// What the bootstrap created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrapped {
    pub queue_url: String,
    pub background_queue_url: String,
    pub import_queue_url: String,
    pub dlq_url: String,
}

#[derive(Debug, thiserror::Error)]
#[error("bootstrap of {resource} failed: {message}")]
pub struct BootstrapError {
    pub resource: String,
    pub message: String,
}

fn boot_err(resource: &str) -> impl Fn(String) -> BootstrapError + '_ {
    move |message| BootstrapError { resource: resource.to_string(), message }
}

/// The session key of local stacks (well known, like their app credentials; a deployed
/// stack's is generated by CloudFormation).
pub const LOCAL_SESSION_KEY: &str = "local-session-key-0123456789abcdef0123456789abcdef";

/// Creates the table, the FIFO queue with its DLQ and redrive policy, and (if given) the
/// app secret, exactly as [`TABLE`] and [`QUEUE`] define them. Existing resources are
/// kept, so running it twice is harmless.
pub async fn bootstrap(
    sdk: &crate::SdkConfig,
    names: &ResourceNames,
    app: Option<&stravasync_core::model::AppCredentials>,
) -> Result<Bootstrapped, BootstrapError> {
    create_table(&aws_sdk_dynamodb::Client::new(sdk), &names.table).await?;
    let [queue_url, background_queue_url, import_queue_url, dlq_url] =
        create_queues(&aws_sdk_sqs::Client::new(sdk), names).await?;
    if let Some(app) = app {
        let text = serde_json::to_string(app).map_err(|e| boot_err(&names.app_secret_id)(e.to_string()))?;
        let vault = crate::secrets::SecretsVault::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            &names.app_secret_id,
            &names.token_secret_prefix,
        );
        vault.write(&names.app_secret_id, &text).await.map_err(|e| boot_err(&names.app_secret_id)(e.to_string()))?;
        vault
            .write(&names.session_secret_id, LOCAL_SESSION_KEY)
            .await
            .map_err(|e| boot_err(&names.session_secret_id)(e.to_string()))?;
    }
    Ok(Bootstrapped { queue_url, background_queue_url, import_queue_url, dlq_url })
}

/// A symmetric KMS key for the tokens of a local stack (`TokenStore=dynamodb-kms`); its id.
/// Deployed stacks get theirs from the template.
pub async fn create_token_key(sdk: &crate::SdkConfig, names: &ResourceNames) -> Result<String, BootstrapError> {
    let err = boot_err("token key");
    let out = aws_sdk_kms::Client::new(sdk)
        .create_key()
        .description(format!("Athlete OAuth tokens of {}", names.table))
        .send()
        .await
        .map_err(|e| err(aws_sdk_kms::error::DisplayErrorContext(e).to_string()))?;
    out.key_metadata.map(|m| m.key_id).ok_or_else(|| err("CreateKey returned no key".into()))
}

async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), BootstrapError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
        ScalarAttributeType, TimeToLiveSpecification,
    };
    let err = boot_err(table);
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| err(e.to_string()))
    };
    let key = |k: &KeySpec| -> Result<Vec<KeySchemaElement>, BootstrapError> {
        Ok(vec![
            KeySchemaElement::builder()
                .attribute_name(k.partition)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| err(e.to_string()))?,
            KeySchemaElement::builder()
                .attribute_name(k.sort)
                .key_type(KeyType::Range)
                .build()
                .map_err(|e| err(e.to_string()))?,
        ])
    };
    let mut defs = vec![attr(TABLE.key.partition)?, attr(TABLE.key.sort)?];
    let mut indexes = Vec::new();
    for index in TABLE.indexes {
        for name in [index.key.partition, index.key.sort] {
            // Two indexes may share key attributes (by_date and loads): define each once.
            if !defs.iter().any(|d: &AttributeDefinition| d.attribute_name() == name) {
                defs.push(attr(name)?);
            }
        }
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key(&index.key)?))
                .projection(match index.include {
                    None => Projection::builder().projection_type(ProjectionType::All).build(),
                    Some(attributes) => Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(attributes.iter().map(|a| a.to_string()).collect()))
                        .build(),
                })
                .build()
                .map_err(|e| err(e.to_string()))?,
        );
    }
    let created = client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(defs))
        .set_key_schema(Some(key(&TABLE.key)?))
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TABLE.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(|e| err(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    Ok(())
}

async fn create_queues(client: &aws_sdk_sqs::Client, names: &ResourceNames) -> Result<[String; 4], BootstrapError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let dlq_err = boot_err(&names.dlq);
    let dlq = client
        .create_queue()
        .queue_name(&names.dlq)
        .attributes(A::FifoQueue, "true")
        .attributes(A::MessageRetentionPeriod, QUEUE.dlq_retention_s.to_string())
        .send()
        .await
        .map_err(|e| dlq_err(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
    let dlq_url = dlq.queue_url.ok_or_else(|| dlq_err("no queue URL returned".into()))?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .map_err(|e| dlq_err(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?
        .attributes
        .and_then(|mut a| a.remove(&A::QueueArn))
        .ok_or_else(|| dlq_err("no queue ARN returned".into()))?;
    let redrive = |max: u32| serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max }).to_string();
    let mut urls = Vec::new();
    // The two lanes' queues and the import queue: alike but for the redrive count, one
    // dead-letter queue.
    for (name, max) in [
        (&names.queue, QUEUE.max_receive_count),
        (&names.background_queue, QUEUE.background_max_receive_count),
        (&names.import_queue, QUEUE.import_max_receive_count),
    ] {
        let q_err = boot_err(name);
        let queue = client
            .create_queue()
            .queue_name(name)
            .attributes(A::FifoQueue, "true")
            .attributes(A::ContentBasedDeduplication, "false")
            .attributes(A::VisibilityTimeout, QUEUE.visibility_timeout_s.to_string())
            .attributes(A::RedrivePolicy, redrive(max))
            .send()
            .await
            .map_err(|e| q_err(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        urls.push(queue.queue_url.ok_or_else(|| q_err("no queue URL returned".into()))?);
    }
    let [queue, background, import]: [String; 3] =
        urls.try_into().map_err(|_| boot_err("queues")("not three queue URLs".into()))?;
    Ok([queue, background, import, dlq_url])
}

/// The definitions above and the deployment manifest (every environment variable:
/// `stravasync_core::config::manifest`) as JSON, for `stravasync resources` and the
/// template check (`infra/check_template.py`).
pub fn spec_json() -> serde_json::Value {
    let key = |k: &KeySpec| serde_json::json!({"partition": k.partition, "sort": k.sort});
    serde_json::json!({
        "table": {
            "key": key(&TABLE.key),
            "indexes": TABLE.indexes.iter().map(|i| serde_json::json!({"name": i.name, "key": key(&i.key), "include": i.include})).collect::<Vec<_>>(),
            "ttl_attribute": TABLE.ttl_attribute,
        },
        "queue": {
            "visibility_timeout_s": QUEUE.visibility_timeout_s,
            "max_receive_count": QUEUE.max_receive_count,
            "background_max_receive_count": QUEUE.background_max_receive_count,
            "import_max_receive_count": QUEUE.import_max_receive_count,
            "dlq_retention_s": QUEUE.dlq_retention_s,
        },
        "consumer_timeout_s": CONSUMER_TIMEOUT_S,
        "api": {
            "routes": API_ROUTES.iter().map(|(m, p)| serde_json::json!({"method": m, "path": p})).collect::<Vec<_>>(),
            "ration_attributes": crate::dynamo::RATION_ATTRIBUTES,
        },
        "environment": manifest::to_json(),
    })
}
