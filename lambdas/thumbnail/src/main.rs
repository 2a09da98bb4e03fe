//! Lambda entry point: `ObjectRef` in, `Thumbnail` out.
//!
//! Environment: `THUMBNAIL_SIZE` (box edge in pixels, default 250),
//! `MAX_PIXELS` (largest image decoded, default 100 000 000),
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` (LocalStack; turns on
//! path-style S3 addressing), `RUST_LOG` (default `info`).

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use photopipe_shared::ObjectRef;
use thumbnail::{handler, options_from_env};
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
    let options = options_from_env(|name| std::env::var(name).ok())?;
    let config = aws_config::load_from_env().await;
    let client = photopipe_s3::s3_client(&config);
    run(service_fn(|event: LambdaEvent<ObjectRef>| {
        handler(&client, &options, event)
    }))
    .await
}
