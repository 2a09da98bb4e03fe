//! Lambda entry point: `ObjectRef` in, `ImageMetadata` out.
//!
//! Environment: `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` (LocalStack; turns
//! on path-style S3 addressing), `RUST_LOG` (default `info`).

use extract_metadata::handler;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use photopipe_shared::ObjectRef;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // CloudWatch stamps every line already.
        .without_time()
        .init();
    let config = aws_config::load_from_env().await;
    let client = photopipe_s3::s3_client(&config);
    run(service_fn(|event: LambdaEvent<ObjectRef>| {
        handler(&client, event)
    }))
    .await
}
