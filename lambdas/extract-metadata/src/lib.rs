//! The `extract-metadata` function: an image's format, size and EXIF from
//! the start of its S3 object.
//!
//! The handler is generic over [`ObjectSource`] so tests run it on real
//! image bytes held in memory; `photopipe-s3` implements it for the S3 client.

use lambda_runtime::LambdaEvent;
use photopipe_shared::{ImageMetadata, ObjectRef};

pub use photopipe_s3::{Chunk, ObjectSource, StoreError};
pub use photopipe_shared::Failure;

/// The first fetch. Covers the EXIF segment (at most 64 KiB) and the frame
/// header of nearly every JPEG; longer headers cost a second, larger fetch.
pub const FIRST_FETCH: u64 = 64 * 1024;

/// The function: logs the outcome of [`extract_metadata`].
pub async fn handler<S: ObjectSource>(
    source: &S,
    event: LambdaEvent<ObjectRef>,
) -> Result<ImageMetadata, Failure> {
    let object = event.payload;
    let result = extract_metadata(source, &object).await;
    match &result {
        Ok(m) => tracing::info!(
            bucket = object.bucket,
            key = object.key,
            format = m.format.as_str(),
            width = m.width,
            height = m.height,
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

/// Reads just enough of the object to know its format, dimensions and EXIF.
pub async fn extract_metadata<S: ObjectSource>(
    source: &S,
    object: &ObjectRef,
) -> Result<ImageMetadata, Failure> {
    let read = |range| source.read_range(object, range);
    let first = read(0..FIRST_FETCH).await?;
    let mut size = first.object_size;
    let mut bytes = first.bytes;
    loop {
        match imaging::probe(&bytes, size)? {
            imaging::Probe::Metadata(mut metadata) => {
                metadata.size = first.object_size;
                return Ok(metadata);
            }
            imaging::Probe::NeedBytes(needed) => {
                let have = bytes.len() as u64;
                // At least doubling bounds the number of requests by log2 of
                // the header's length.
                let want = needed.max(have.saturating_mul(2)).min(size);
                tracing::debug!(have, want, "header goes on past the bytes read");
                let more = read(have..want).await?;
                if more.bytes.is_empty() {
                    // The object shrank under us: judge what we have as all of it.
                    size = have;
                }
                bytes.extend_from_slice(&more.bytes);
            }
        }
    }
}
