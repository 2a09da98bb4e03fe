//! The `thumbnail` function: an upright thumbnail of a JPEG or PNG in S3,
//! written beside it under `thumbnails/`.
//!
//! The handler is generic over [`ObjectStore`] so tests run it on real image
//! bytes held in memory; `photopipe-s3` implements it for the S3 client.

use imaging::ThumbnailOptions;
use lambda_runtime::LambdaEvent;
use photopipe_shared::{ObjectRef, Thumbnail, thumbnail_key, thumbnail_settings};

pub use photopipe_s3::{ObjectStore, StoreError};
pub use photopipe_shared::Failure;

/// Reads `THUMBNAIL_SIZE` and `MAX_PIXELS` through `var`, with the defaults
/// for those not set.
pub fn options_from_env(var: impl Fn(&str) -> Option<String>) -> Result<ThumbnailOptions, String> {
    let defaults = ThumbnailOptions::default();
    let size = match var("THUMBNAIL_SIZE") {
        Some(v) => v.trim().parse().ok().filter(|&n| n > 0).ok_or_else(|| {
            format!("THUMBNAIL_SIZE must be a positive whole number of pixels, not {v:?}")
        })?,
        None => defaults.size,
    };
    let max_pixels = match var("MAX_PIXELS") {
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("MAX_PIXELS must be a positive whole number, not {v:?}"))?,
        None => defaults.max_pixels,
    };
    Ok(ThumbnailOptions { size, max_pixels })
}

/// The function: logs the outcome of [`make_thumbnail`].
pub async fn handler<S: ObjectStore>(
    store: &S,
    options: &ThumbnailOptions,
    event: LambdaEvent<ObjectRef>,
) -> Result<Thumbnail, Failure> {
    let input = event.payload;
    let result = make_thumbnail(store, options, &input).await;
    match &result {
        Ok(t) => tracing::info!(
            bucket = input.bucket,
            key = input.key,
            thumbnail = t.key,
            width = t.width,
            height = t.height,
            "wrote thumbnail"
        ),
        Err(failure) => tracing::warn!(
            bucket = input.bucket,
            key = input.key,
            error = failure.name.as_str(),
            message = failure.message,
            "failed"
        ),
    }
    result
}

/// Reads the image, writes its thumbnail under `thumbnails/` and describes it.
/// Nothing is written once the key holds other bytes than `input.etag`, so a
/// newer upload's thumbnail is never replaced by an older one's.
pub async fn make_thumbnail<S: ObjectStore>(
    store: &S,
    options: &ThumbnailOptions,
    input: &ObjectRef,
) -> Result<Thumbnail, Failure> {
    let bytes = store.read(input).await?;
    // Decoding runs on the runtime's thread: a Lambda instance serves one
    // invocation at a time, so there is nothing else for it to do meanwhile.
    let thumbnail = imaging::make_thumbnail(&bytes, options)?;
    drop(bytes);
    let key = thumbnail_key(&input.key);
    let content_type = thumbnail.content_type();
    let size = thumbnail.bytes.len() as u64;
    // Decoding takes a while, and the key may have been uploaded again
    // meanwhile. (What remains is a PutObject's time: the newer upload's
    // execution would have to finish in less than that.)
    store.check_current(input).await?;
    store
        .write(&input.bucket, &key, thumbnail.bytes, content_type)
        .await?;
    Ok(Thumbnail {
        bucket: input.bucket.clone(),
        key,
        width: thumbnail.width,
        height: thumbnail.height,
        size,
        content_type: content_type.to_owned(),
        settings: thumbnail_settings(options.size),
    })
}
