//! [`ObjectSource`] for the S3 client, and what its errors mean for a retry.

use std::ops::Range;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::{Chunk, ObjectSource, StoreError};

/// The S3 client for `config`. LocalStack (reached through
/// `AWS_ENDPOINT_URL`) serves buckets by path, not by host name.
pub fn client(config: &aws_config::SdkConfig) -> Client {
    let custom_endpoint = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .any(|var| std::env::var_os(var).is_some());
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(custom_endpoint)
        .build();
    Client::from_conf(s3_config)
}

impl ObjectSource for Client {
    async fn read_range(
        &self,
        bucket: &str,
        key: &str,
        range: Range<u64>,
    ) -> Result<Chunk, StoreError> {
        let last = range.end.saturating_sub(1).max(range.start);
        let response = self
            .get_object()
            .bucket(bucket)
            .key(key)
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
            Err(e) => return Err(classify(&format!("s3://{bucket}/{key}"), e)),
        };
        let total = output
            .content_range()
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, total)| total.parse().ok());
        let length = output.content_length().and_then(|n| u64::try_from(n).ok());
        let body = output.body.collect().await.map_err(|e| {
            StoreError::Transient(format!(
                "reading s3://{bucket}/{key}: {}",
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

/// Throttling, 5xx, timeouts and connection failures may pass; a missing
/// key is its own case; anything else (access denied, a missing bucket) will
/// fail the same way again.
pub fn classify<E>(what: &str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{what}: {}", DisplayErrorContext(&e));
    match &e {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            if code == Some("NoSuchKey") || (status == 404 && code != Some("NoSuchBucket")) {
                StoreError::NotFound(message)
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
}
