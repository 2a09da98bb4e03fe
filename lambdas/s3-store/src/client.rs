//! The S3 client, the store traits for it, and what its errors mean for a
//! retry.

use std::ops::Range;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_types::SdkConfig;
use aws_types::service_config::ServiceConfigKey;

use photopipe_shared::ObjectRef;

use crate::{Chunk, ObjectSource, ObjectStore, StoreError};

/// The S3 client for `config`: path-style addressing when S3 is reached
/// through a custom endpoint, since LocalStack's virtual-hosted bucket names
/// don't resolve everywhere.
pub fn s3_client(config: &SdkConfig) -> Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(has_custom_endpoint(config))
        .build();
    Client::from_conf(s3_config)
}

/// Whether the S3 client built from `config` gets an endpoint URL.
///
/// `SdkConfig::endpoint_url` holds the shared endpoint only (set in code,
/// `AWS_ENDPOINT_URL`, a profile's `endpoint_url`). S3's own
/// (`AWS_ENDPOINT_URL_S3`, or the profile's `services` section) stays in the
/// config's service settings, which S3's config builder reads unless the
/// endpoint was set in code; this asks what that builder asks.
fn has_custom_endpoint(config: &SdkConfig) -> bool {
    if config.endpoint_url().is_some() {
        return true;
    }
    if config.get_origin("endpoint_url").is_client_config() {
        return false;
    }
    let Ok(key) = ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
    else {
        return false;
    };
    config
        .service_config()
        .and_then(|settings| settings.load_config(key))
        .is_some()
}

/// How an object is named in messages: its URL, and the ETag it must have.
fn describe(object: &ObjectRef) -> String {
    match &object.etag {
        Some(etag) => format!("s3://{}/{} (ETag {etag})", object.bucket, object.key),
        None => format!("s3://{}/{}", object.bucket, object.key),
    }
}

impl ObjectSource for Client {
    async fn read_range(&self, object: &ObjectRef, range: Range<u64>) -> Result<Chunk, StoreError> {
        let last = range.end.saturating_sub(1).max(range.start);
        let response = self
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_if_match(object.etag.clone())
            .range(format!("bytes={}-{last}", range.start))
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            // S3 refuses a range that starts at or past the end, which for
            // a range from 0 means an empty object.
            Err(SdkError::ServiceError(e)) if e.err().code() == Some("InvalidRange") => {
                return Ok(Chunk {
                    bytes: Vec::new(),
                    object_size: range.start,
                });
            }
            Err(e) => return Err(classify(&describe(object), e)),
        };
        let total = output
            .content_range()
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, total)| total.parse().ok());
        let length = output.content_length().and_then(|n| u64::try_from(n).ok());
        let body = output.body.collect().await.map_err(|e| {
            StoreError::Transient(format!(
                "reading {}: {}",
                describe(object),
                DisplayErrorContext(e)
            ))
        })?;
        let bytes = body.to_vec();
        Ok(Chunk {
            // Without Content-Range the whole object came back.
            object_size: total.or(length).unwrap_or(bytes.len() as u64),
            bytes,
        })
    }
}

impl ObjectStore for Client {
    async fn read(&self, object: &ObjectRef) -> Result<Vec<u8>, StoreError> {
        let what = describe(object);
        let output = self
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_if_match(object.etag.clone())
            .send()
            .await
            .map_err(|e| classify(&what, e))?;
        let body = output.body.collect().await.map_err(|e| {
            StoreError::Transient(format!("reading {what}: {}", DisplayErrorContext(e)))
        })?;
        Ok(body.to_vec())
    }

    async fn check_current(&self, object: &ObjectRef) -> Result<(), StoreError> {
        self.head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_if_match(object.etag.clone())
            .send()
            .await
            .map_err(|e| classify(&describe(object), e))?;
        Ok(())
    }

    async fn write(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| classify(&format!("writing s3://{bucket}/{key}"), e))?;
        Ok(())
    }
}

/// Throttling, 5xx, timeouts and connection failures may pass; a missing
/// key and other bytes under it (a failed `If-Match`) are their own cases;
/// anything else (access denied, a missing bucket) will fail the same way
/// again.
fn classify<E>(what: &str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{what}: {}", DisplayErrorContext(&e));
    match &e {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            // These two are expected outcomes, not faults: a message without
            // the response's request ids and dates, so it reads well in the
            // table and stays the same from run to run.
            if code == Some("NoSuchKey") || (status == 404 && code != Some("NoSuchBucket")) {
                StoreError::NotFound(format!("{what}: no such key (deleted before it was read?)"))
            } else if status == 412 {
                StoreError::Superseded(format!(
                    "{what}: the key holds other bytes now (uploaded again before it was read)"
                ))
            } else if status == 429
                || status >= 500
                || matches!(
                    code,
                    Some(
                        "SlowDown"
                            | "Throttling"
                            | "ThrottlingException"
                            | "RequestTimeout"
                            | "InternalError"
                            | "ServiceUnavailable"
                    )
                )
            {
                StoreError::Transient(message)
            } else {
                StoreError::Permanent(message)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Transient(message)
        }
        _ => StoreError::Permanent(message),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::primitives::SdkBody;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_types::origin::Origin;
    use aws_types::service_config::LoadServiceConfig;

    use super::*;

    fn service_error(e: GetObjectError, status: u16) -> SdkError<GetObjectError, HttpResponse> {
        SdkError::service_error(
            e,
            HttpResponse::new(status.try_into().unwrap(), SdkBody::empty()),
        )
    }

    fn coded(code: &str, status: u16) -> SdkError<GetObjectError, HttpResponse> {
        service_error(
            GetObjectError::generic(ErrorMetadata::builder().code(code).build()),
            status,
        )
    }

    fn kind(e: SdkError<GetObjectError, HttpResponse>) -> &'static str {
        match classify("s3://b/k", e) {
            StoreError::NotFound(_) => "not found",
            StoreError::Superseded(_) => "superseded",
            StoreError::Transient(_) => "transient",
            StoreError::Permanent(_) => "permanent",
        }
    }

    #[test]
    fn s3_errors_are_classified_for_retries() {
        let no_such_key = GetObjectError::NoSuchKey(NoSuchKey::builder().build());
        assert_eq!(kind(service_error(no_such_key, 404)), "not found");
        assert_eq!(kind(coded("NotFound", 404)), "not found");
        assert_eq!(kind(coded("NoSuchBucket", 404)), "permanent");
        assert_eq!(kind(coded("PreconditionFailed", 412)), "superseded");
        assert_eq!(kind(coded("SlowDown", 503)), "transient");
        assert_eq!(kind(coded("InternalError", 500)), "transient");
        assert_eq!(kind(coded("ThrottlingException", 400)), "transient");
        assert_eq!(kind(coded("TooManyRequests", 429)), "transient");
        assert_eq!(
            kind(SdkError::timeout_error("no answer in 3s")),
            "transient"
        );
        assert_eq!(kind(coded("AccessDenied", 403)), "permanent");
        assert_eq!(
            kind(SdkError::construction_failure("bad bucket name")),
            "permanent"
        );
    }

    /// Service settings with an S3 endpoint of its own, as aws-config makes
    /// them from `AWS_ENDPOINT_URL_S3`.
    #[derive(Debug)]
    struct S3Endpoint;

    impl LoadServiceConfig for S3Endpoint {
        fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
            (key.service_id() == "S3" && key.env() == "AWS_ENDPOINT_URL")
                .then(|| "http://127.0.0.1:4566".to_owned())
        }
    }

    #[test]
    fn an_endpoint_of_s3_alone_counts_unless_code_set_the_endpoint() {
        let plain = SdkConfig::builder().build();
        assert!(!has_custom_endpoint(&plain));

        let shared = SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:4566")
            .build();
        assert!(has_custom_endpoint(&shared));

        let s3_only = SdkConfig::builder().service_config(S3Endpoint).build();
        assert!(has_custom_endpoint(&s3_only));

        // S3's config builder then takes the endpoint from code, here none.
        let mut builder = SdkConfig::builder().service_config(S3Endpoint);
        builder.insert_origin("endpoint_url", Origin::shared_config());
        assert!(!has_custom_endpoint(&builder.build()));
    }
}
