//! The `rollup` Lambda: wiring only; the work lives in the library.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use stravasync_aws::dynamo::DynamoStore;
use stravasync_aws::sqs::SqsQueue;
use stravasync_rollup::{Rollup, RollupRequest};

fn env(var: &'static str) -> Result<String, Error> {
    std::env::var(var).map_err(|_| format!("environment variable {var} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().with_target(false).without_time().init();
    let (table, queue_url) = (env("TABLE_NAME")?, env("QUEUE_URL")?);
    let sdk = stravasync_aws::load_sdk_config().await;
    let rollup = Rollup::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url),
    );
    let rollup = &rollup;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let req: RollupRequest = serde_json::from_value(event.payload).map_err(|e| format!("rollup request: {e}"))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
        Ok::<_, Error>(rollup.run(&req, now).await?)
    }))
    .await
}
