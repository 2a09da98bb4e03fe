//! The contract between the Lambdas and the `ImageProcessing` state machine.
//!
//! Every payload that crosses a state boundary and every error name that a
//! `Retry` or `Catch` matches is defined here, once. The functions in
//! `lambdas/` serialize these types; the stack in `infra` reads the field and
//! error names from here when it writes JSONPath and `ErrorEquals`, so a rename
//! on one side cannot silently break the other.
//!
//! This crate depends on `serde`, `serde_json` and `sha2` alone (and, with the `lambda`
//! feature the functions enable, `lambda_runtime`): `infra` is a pure data
//! crate and must not pull the AWS SDK in through it.

use serde::{Deserialize, Serialize};

mod failure;
pub mod naming;
pub mod table;

pub use failure::Failure;

/// Default bound on the pixels the functions decode (`MAX_PIXELS`).
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// Default edge of the square thumbnails fit into (`THUMBNAIL_SIZE`).
pub const DEFAULT_THUMBNAIL_SIZE: u32 = 250;

/// How a thumbnail made with box edge `size` is described on its item, so a
/// backfill can tell thumbnails made with other settings.
pub fn thumbnail_settings(size: u32) -> String {
    format!("fit {size}x{size}")
}

/// Input of an `ImageProcessing` execution, written by `start-execution`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    pub bucket: String,
    /// The decoded object key (S3 events carry it URL-encoded).
    pub key: String,
    pub size: u64,
    /// The uploaded bytes' ETag. The functions read the object only while
    /// it still has these bytes, so a version replaced or deleted before its
    /// execution reads it is not processed as if it were current. Always
    /// written (`null` when unknown) because the state machine passes it on.
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The event's place among the events of this key ([`Sequencer`]).
    #[serde(default)]
    pub sequencer: Sequencer,
}

/// S3's order of the events of one key, as a string that DynamoDB compares
/// correctly: S3's hexadecimal `sequencer`, upper-cased and left-padded with
/// zeros to [`Sequencer::WIDTH`] digits (S3's vary in length, and compare
/// only once padded). Every write to a table item is conditional on it, so
/// an older upload's execution, however late, never overwrites what a newer
/// upload of the same key wrote. Events without one sort before all others.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Sequencer(String);

impl Sequencer {
    pub const WIDTH: usize = 32;

    /// `None` for a sequencer that is not hexadecimal or is longer than
    /// [`Sequencer::WIDTH`] digits.
    pub fn from_event(sequencer: &str) -> Option<Sequencer> {
        let digits = sequencer.trim_start_matches('0');
        (sequencer.chars().all(|c| c.is_ascii_hexdigit()) && digits.len() <= Self::WIDTH).then(
            || {
                Sequencer(format!(
                    "{:0>width$}",
                    digits.to_ascii_uppercase(),
                    width = Self::WIDTH
                ))
            },
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Sequencer {
    fn default() -> Self {
        Sequencer("0".repeat(Self::WIDTH))
    }
}

/// An S3 object, as the Lambda tasks receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    /// When set, the object is read only while its ETag is this one.
    #[serde(default)]
    pub etag: Option<String>,
}

/// Image formats recognised from the bytes. Only [`ImageFormat::Jpeg`] and
/// [`ImageFormat::Png`] are processed; the others are reported by name so the
/// state machine's Choice can reject them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
    Heic,
    Avif,
}

impl ImageFormat {
    /// Formats the pipeline goes on with; the Choice state is generated from this list.
    pub const SUPPORTED: [ImageFormat; 2] = [ImageFormat::Jpeg, ImageFormat::Png];

    /// The name as it appears in payloads (`"JPEG"`, `"PNG"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Webp => "WEBP",
            ImageFormat::Tiff => "TIFF",
            ImageFormat::Bmp => "BMP",
            ImageFormat::Heic => "HEIC",
            ImageFormat::Avif => "AVIF",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Tiff => "image/tiff",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Heic => "image/heic",
            ImageFormat::Avif => "image/avif",
        }
    }
}

/// Output of `extract-metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageMetadata {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Object size in bytes.
    pub size: u64,
    pub content_type: String,
    /// Always present (fields are `null` when absent) so that the state
    /// machine can store it without a Choice on its existence.
    pub exif: Exif,
}

/// The EXIF fields the pipeline keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exif {
    /// `DateTimeOriginal` as ISO 8601 (`2019-05-04T13:02:11`), with the
    /// zone's offset (`2019-05-04T13:02:11+02:00`) when the camera recorded
    /// one in `OffsetTimeOriginal`.
    pub date_time_original: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// 1–8 as in the EXIF standard.
    pub orientation: Option<u16>,
    pub gps: Option<GpsPosition>,
    /// Set when the image carries EXIF that could not be read entirely:
    /// `InvalidExif` when none of it could, `PartialExif` (the fields above
    /// kept, the cause naming what was skipped) when a part is broken. The
    /// image is still processed either way.
    pub error: Option<ErrorInfo>,
}

/// A position in signed decimal degrees (south and west negative).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpsPosition {
    pub latitude: f64,
    pub longitude: f64,
}

/// An error as Step Functions records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

/// Output of `thumbnail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thumbnail {
    pub bucket: String,
    pub key: String,
    pub width: u32,
    pub height: u32,
    /// Encoded size in bytes.
    pub size: u64,
    pub content_type: String,
    /// [`thumbnail_settings`] of the options it was made with.
    pub settings: String,
}

/// Object key prefixes. Uploads under [`INCOMING_PREFIX`] start an execution;
/// thumbnails are written under [`THUMBNAIL_PREFIX`] so they never do.
pub const INCOMING_PREFIX: &str = "incoming/";
pub const THUMBNAIL_PREFIX: &str = "thumbnails/";
/// Where `ImageBackfill` writes its Map Runs' results.
pub const BACKFILL_RESULTS_PREFIX: &str = "backfill-results/";

/// The thumbnail key for an incoming key: `incoming/a/b.jpg` → `thumbnails/a/b.jpg`.
pub fn thumbnail_key(incoming_key: &str) -> String {
    let relative = incoming_key
        .strip_prefix(INCOMING_PREFIX)
        .unwrap_or(incoming_key);
    format!("{THUMBNAIL_PREFIX}{relative}")
}

/// Every error name a Lambda of ours can return, and the one the state
/// machine raises itself. The Lambdas report these as the `errorType` of
/// their `Diagnostic`; the state machine's `Retry` and `Catch` match on
/// [`ErrorName::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorName {
    /// A failure of an AWS call that may succeed when retried (throttling,
    /// 5xx, timeouts, connection errors).
    TransientAwsError,
    /// The object does not exist (deleted before it was processed).
    ObjectNotFound,
    /// The object was uploaded again before this execution read it or
    /// wrote its results: the newer upload's execution owns the outcome.
    Superseded,
    /// The object has zero bytes.
    EmptyObject,
    /// The bytes are not an image in any format we recognise.
    UnknownImageFormat,
    /// The image's header is readable but its data is truncated or corrupt.
    CorruptImage,
    /// The header claims more pixels than the function will decode
    /// (decompression bomb guard).
    ImageTooLarge,
    /// A payload that does not have the expected shape.
    InvalidInput,
    /// Starting the state machine failed permanently for a record.
    StartExecutionFailed,
    /// An AWS call failed permanently (access denied, validation).
    AwsError,
    /// Raised by the state machine's `Fail` state for formats other than
    /// JPEG and PNG, and for objects that are not images at all.
    NotSupportedImageType,
}

impl ErrorName {
    pub const ALL: [ErrorName; 11] = [
        ErrorName::TransientAwsError,
        ErrorName::ObjectNotFound,
        ErrorName::Superseded,
        ErrorName::EmptyObject,
        ErrorName::UnknownImageFormat,
        ErrorName::CorruptImage,
        ErrorName::ImageTooLarge,
        ErrorName::InvalidInput,
        ErrorName::StartExecutionFailed,
        ErrorName::AwsError,
        ErrorName::NotSupportedImageType,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorName::TransientAwsError => "TransientAwsError",
            ErrorName::ObjectNotFound => "ObjectNotFound",
            ErrorName::Superseded => "Superseded",
            ErrorName::EmptyObject => "EmptyObject",
            ErrorName::UnknownImageFormat => "UnknownImageFormat",
            ErrorName::CorruptImage => "CorruptImage",
            ErrorName::ImageTooLarge => "ImageTooLarge",
            ErrorName::InvalidInput => "InvalidInput",
            ErrorName::StartExecutionFailed => "StartExecutionFailed",
            ErrorName::AwsError => "AwsError",
            ErrorName::NotSupportedImageType => "NotSupportedImageType",
        }
    }

    /// Whether a retry can succeed. The state machine retries exactly these.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorName::TransientAwsError)
    }
}

impl std::fmt::Display for ErrorName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_unique_and_match_their_variant() {
        let names: std::collections::BTreeSet<_> =
            ErrorName::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), ErrorName::ALL.len());
        for e in ErrorName::ALL {
            assert_eq!(format!("{e:?}"), e.as_str());
        }
    }

    #[test]
    fn formats_serialize_as_their_names() {
        for f in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::Webp,
            ImageFormat::Tiff,
            ImageFormat::Bmp,
            ImageFormat::Heic,
            ImageFormat::Avif,
        ] {
            let json = serde_json::to_value(f).expect("serializes");
            assert_eq!(json, serde_json::Value::String(f.as_str().to_owned()));
        }
    }

    #[test]
    fn sequencers_compare_as_s3_orders_events() {
        let seq = |s: &str| Sequencer::from_event(s).expect("a sequencer");
        assert!(seq("0055AED6DCD90281E5") < seq("0055AED6DCD90281E6"));
        // Different lengths compare once padded: 0x1F < 0xA0.
        assert!(seq("1F") < seq("a0"));
        assert_eq!(seq("00ab"), seq("AB"));
        assert!(Sequencer::default() < seq("1"));
        assert_eq!(seq("1").as_str().len(), Sequencer::WIDTH);
        assert_eq!(Sequencer::from_event("not hex"), None);
        assert_eq!(Sequencer::from_event(&"F".repeat(33)), None);
    }

    #[test]
    fn thumbnail_key_keeps_the_relative_name() {
        assert_eq!(
            thumbnail_key("incoming/a b/ü+.jpg"),
            "thumbnails/a b/ü+.jpg"
        );
    }
}
