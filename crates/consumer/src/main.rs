//! The `consumer` Lambda: wiring only; the handler lives in the library.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use stravasync_consumer::deps::AwsConsumer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let consumer = &AwsConsumer::from_env(&stravasync_aws::load_sdk_config().await).await?;
    let handler =
        |event: LambdaEvent<SqsEvent>| async move { Ok::<_, Error>(consumer.handle_sqs_event(event.payload).await) };
    run(service_fn(handler)).await
}
