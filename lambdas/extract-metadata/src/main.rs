//! Lambda entry point: `ObjectRef` in, `ImageMetadata` out.
//!
//! Environment: `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` (LocalStack; turns
//! on path-style S3 addressing), `RUST_LOG` (default `info`).

use extract_metadata::{Failure, extract_metadata, s3};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use photopipe_shared::{ImageMetadata, ObjectRef};
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
    let client = s3::client(&config);
    run(service_fn(|event: LambdaEvent<ObjectRef>| {
        let client = &client;
        async move {
            let object = event.payload;
            let result: Result<ImageMetadata, Failure> = extract_metadata(client, &object).await;
            match &result {
                Ok(metadata) => tracing::info!(
                    bucket = object.bucket,
                    key = object.key,
                    format = metadata.format.as_str(),
                    width = metadata.width,
                    height = metadata.height,
                    "read metadata"
                ),
                Err(failure) => tracing::warn!(
                    bucket = object.bucket,
                    key = object.key,
                    error = failure.name.as_str(),
                    message = failure.message,
                    "failed"
                ),
            }
            result
        }
    }))
    .await
}
