//! The `consumer` Lambda: wiring only; the handler lives in the library.
//!
//! Init reads only the environment (a wrong variable fails the init, naming it); the app
//! credentials are fetched with the first batch, and again with the next one if that
//! fetch failed (the batch is then retried by SQS; nothing is lost).

// The lazily built consumer nests the SDK clients' futures inside the runtime's; their
// layout is deeper than the compiler's default query limit.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use stravasync_consumer::deps::{AwsConsumer, ConsumerEnv};
use tokio::sync::OnceCell;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = &stravasync_aws::sdk_config_from_env()?;
    let env = &ConsumerEnv::from_env()?;
    let emf = &stravasync_aws::emf::Emf::init()?;
    let consumer = &OnceCell::new();
    let handler = |event: LambdaEvent<SqsEvent>| {
        emf.after(async move {
            let consumer = consumer.get_or_try_init(|| AwsConsumer::build(sdk, env.clone())).await?;
            Ok::<_, Error>(consumer.handle_sqs_event(event.payload).await)
        })
    };
    run(service_fn(handler)).await
}
