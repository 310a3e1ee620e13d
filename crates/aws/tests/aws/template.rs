//! The stack made from template.yaml (SAM's transform, moto's CloudFormation) against the
//! code's own bootstrap (`stravasync_aws::resources`, which the in-process tests use): the
//! same key schema, indexes and projections, TTL, queue attributes, redrive policies and
//! secrets. And the functions' environments, as the created functions hold them, are
//! variables the manifest lists for them, with the local deployment's parameters.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stravasync_aws::local::LocalStack;
use stravasync_core::config::manifest::{self, Reader};

use crate::common::{sdk, stack};

/// The table's definition, without its name, ARN and what moto makes up (dates, sizes).
async fn table_shape(table: &str) -> Value {
    let client = aws_sdk_dynamodb::Client::new(&sdk());
    let t = client.describe_table().table_name(table).send().await.unwrap().table.unwrap();
    let key = |k: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        k.iter().map(|e| json!([e.attribute_name(), e.key_type().as_str()])).collect::<Vec<_>>()
    };
    let mut attributes: Vec<Value> =
        t.attribute_definitions().iter().map(|a| json!([a.attribute_name(), a.attribute_type().as_str()])).collect();
    attributes.sort_by_key(|a| a.to_string());
    let mut indexes: Vec<Value> = t
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let projection = i.projection().unwrap();
            let mut include: Vec<&str> = projection.non_key_attributes().iter().map(String::as_str).collect();
            include.sort();
            json!({
                "name": i.index_name(),
                "key": key(i.key_schema()),
                "projection": projection.projection_type().map(|p| p.as_str()),
                "include": include,
            })
        })
        .collect();
    indexes.sort_by_key(|i| i["name"].to_string());
    let ttl = client.describe_time_to_live().table_name(table).send().await.unwrap();
    let ttl = ttl
        .time_to_live_description()
        .map(|d| json!([d.attribute_name(), d.time_to_live_status().map(|s| s.as_str().to_string())]));
    json!({
        "key": key(t.key_schema()),
        "attributes": attributes,
        "indexes": indexes,
        "billing": t.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str().to_string()),
        "ttl": ttl,
    })
}

/// A queue's attributes that the definition sets, the redrive target by the name of the
/// stack's queue it names (`dlq`).
async fn queue_shape(url: &str, dlq_arn: &str) -> Value {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let client = aws_sdk_sqs::Client::new(&sdk());
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    let get = |a: A| attributes.get(&a).cloned().unwrap_or_default();
    let redrive: Value = serde_json::from_str(&get(A::RedrivePolicy)).unwrap_or(Value::Null);
    let target = redrive.get("deadLetterTargetArn").and_then(Value::as_str).map(|arn| arn == dlq_arn);
    json!({
        "fifo": get(A::FifoQueue),
        "content_based_deduplication": get(A::ContentBasedDeduplication),
        "visibility_timeout": get(A::VisibilityTimeout),
        "retention": get(A::MessageRetentionPeriod),
        "max_receive_count": redrive.get("maxReceiveCount").map(|v| v.to_string().trim_matches('"').to_string()),
        "redrives_to_own_dlq": target,
    })
}

async fn queue_arn(url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    aws_sdk_sqs::Client::new(&sdk())
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&A::QueueArn)
        .unwrap()
}

/// The stack's resources as the functions see them.
async fn shape(stack: &LocalStack) -> Value {
    let dlq_arn = queue_arn(&stack.urls.dlq_url).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk());
    let mut secret_keys = BTreeMap::new();
    for (name, id) in [("app", &stack.names.app_secret_id), ("session", &stack.names.session_secret_id)] {
        let text = secrets.get_secret_value().secret_id(id).send().await.unwrap().secret_string.unwrap();
        // The app secret's fields (an operator fills in their values); the session key is text.
        let keys = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map.keys().cloned().collect::<Vec<_>>(),
            _ => vec!["<text>".to_string()],
        };
        secret_keys.insert(name, keys);
    }
    json!({
        "table": table_shape(&stack.names.table).await,
        "events_queue": queue_shape(&stack.urls.queue_url, &dlq_arn).await,
        "background_queue": queue_shape(&stack.urls.background_queue_url, &dlq_arn).await,
        "dlq": queue_shape(&stack.urls.dlq_url, &dlq_arn).await,
        "secrets": secret_keys,
    })
}

#[tokio::test]
async fn the_bootstrap_creates_exactly_what_the_template_does() {
    let from_template = LocalStack::from_template("shape", false).await.expect("the template's stack on moto");
    let bootstrapped = stack("shape").await;
    let (template, code) = (shape(&from_template).await, shape(&bootstrapped).await);
    assert_eq!(template, code, "template.yaml (left) and the code's bootstrap (right) differ");
    // Not trivially equal: the shapes carry what they should.
    assert_eq!(template["table"]["indexes"].as_array().map(Vec::len), Some(3), "{template:#}");
    assert_eq!(template["events_queue"]["max_receive_count"], "20");
    assert_eq!(template["background_queue"]["max_receive_count"], "1000");
    assert_eq!(template["events_queue"]["redrives_to_own_dlq"], true);
    assert_eq!(template["table"]["ttl"][1], "ENABLED");
}

#[tokio::test]
async fn every_variable_the_template_sets_is_one_the_function_reads_and_each_function_finds_its_resources() {
    let stack = LocalStack::from_template("env", false).await.expect("the template's stack on moto");
    let template = stack.template.as_ref().unwrap();
    assert_eq!(
        template.functions.keys().map(String::as_str).collect::<Vec<_>>(),
        ["api", "consumer", "export", "rollup", "webhook"]
    );
    for (binary, function) in &template.functions {
        let reader = Reader::from_name(binary).unwrap();
        for key in function.environment.keys() {
            let var = manifest::var(key);
            assert!(var.is_some_and(|v| v.is_read_by(reader)), "{binary} sets {key}, which it does not read");
        }
        // Exactly the manifest's, but the default-only ones.
        let set: Vec<&str> = manifest::read_by(reader)
            .filter(|v| v.source().for_function(reader).is_ok())
            .map(|v| v.name())
            .filter(|name| !function.environment.contains_key(*name))
            .collect();
        assert_eq!(set, Vec::<&str>::new(), "{binary} lacks these");
        let env = stack.function_env(binary).unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("TABLE_NAME"), Some(stack.names.table.as_str()), "{binary}");
        // The endpoints are the local run's to set.
        assert_eq!(get("STRAVA_API_URL"), None, "{binary}");
    }
    let consumer = stack.function_env("consumer").unwrap();
    let get = |k: &str| consumer.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    assert_eq!(get("QUEUE_URL"), Some(stack.urls.queue_url.clone()));
    assert_eq!(get("DLQ_URL"), Some(stack.urls.dlq_url.clone()));
    assert_eq!(get("APP_SECRET_ID"), Some(stack.names.app_secret_id.clone()));
    assert_eq!(get("TOKEN_SECRET_PREFIX"), Some(template.stack.clone()));
    // Left to the code's default (default-only), and the local deployment's parameter.
    assert_eq!(get("MAX_RECEIVES"), None);
    assert_eq!(get("PACE_BACKGROUND").as_deref(), Some("false"));
    assert_eq!(get("RATE_LIMIT_15MIN").as_deref(), Some("100"));
    let rollup = stack.function_env("rollup").unwrap();
    assert!(rollup.contains(&("RECONCILE_EVERY_DAYS", "7".to_string())), "{rollup:?}");
}

#[tokio::test]
async fn a_template_stack_with_tokens_in_the_table_has_its_kms_key() {
    let stack = LocalStack::from_template("kms", true).await.expect("the template's stack on moto");
    let stravasync_core::config::TokenStore::DynamoKms { key_id } = &stack.token_store else {
        panic!("TokenStore=dynamodb-kms gave {:?}", stack.token_store)
    };
    let key = aws_sdk_kms::Client::new(&sdk()).describe_key().key_id(key_id).send().await.unwrap();
    assert!(key.key_metadata.is_some_and(|m| m.enabled));
}
