//! `start-execution`: subscribed to the photo bucket's `ObjectCreated`
//! notifications for `incoming/`, it starts one `ImageProcessing` execution
//! per uploaded object, at most once per object revision.
//!
//! Environment: `STATE_MACHINE_ARN` (required); the usual AWS SDK variables,
//! including `AWS_ENDPOINT_URL` against LocalStack; `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG`, and `AWS_LAMBDA_LOG_FORMAT=JSON`, for the logs.

mod handler;
mod naming;
mod sfn;

#[cfg(test)]
mod tests;

use lambda_runtime::service_fn;

use crate::handler::Starter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();

    let state_machine_arn = std::env::var("STATE_MACHINE_ARN")
        .map_err(|err| format!("STATE_MACHINE_ARN must hold the state machine's ARN: {err}"))?;
    let config = aws_config::load_from_env().await;
    let starter = Starter {
        sfn: aws_sdk_sfn::Client::new(&config),
        state_machine_arn,
    };

    lambda_runtime::run(service_fn(|event| handler::handle(&starter, event))).await
}
