//! The `ImageMetadata` table: one item per object key. The state machine's
//! DynamoDB tasks write it with the attribute names and status values below;
//! xtask reads it back as an [`ImageItem`]. A rename here changes both sides.

use serde::{Deserialize, Serialize};

use crate::Exif;

/// The attribute names of an item.
pub mod attribute {
    /// The partition key: the object key of the upload.
    pub const IMAGE_KEY: &str = "imageKey";
    /// The S3 event's sequencer of the revision the item describes; a task
    /// writes only while it is its own execution's (or older).
    pub const SEQUENCER: &str = "sequencer";
    pub const BUCKET: &str = "bucket";
    /// The ETag of the bytes the item describes, as S3 events give it
    /// (no quotes); `null` as text when the event had none.
    pub const ETAG: &str = "etag";
    pub const STATUS: &str = "status";
    pub const FORMAT: &str = "format";
    pub const WIDTH: &str = "width";
    pub const HEIGHT: &str = "height";
    pub const SIZE: &str = "size";
    pub const CONTENT_TYPE: &str = "contentType";
    pub const EXIF: &str = "exif";
    pub const UPLOADED_AT: &str = "uploadedAt";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const EXECUTION_ARN: &str = "executionArn";
    pub const LABELS: &str = "labels";
    pub const THUMBNAIL: &str = "thumbnail";
    pub const ERROR: &str = "error";
    pub const CAUSE: &str = "cause";
}

/// The `status` attribute: where the item's execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The metadata is stored; labels and thumbnail are on their way.
    Processing,
    Completed,
    /// The format is not one the pipeline processes.
    Rejected,
    Failed,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "PROCESSING",
            Status::Completed => "COMPLETED",
            Status::Rejected => "REJECTED",
            Status::Failed => "FAILED",
        }
    }
}

/// An item as read back, its DynamoDB values unwrapped (numbers as
/// numbers). Only the key, the sequencer and the status are always there:
/// an outcome recorded for an image whose metadata was never stored has no
/// metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageItem {
    pub image_key: String,
    pub sequencer: String,
    pub status: Status,
    pub bucket: Option<String>,
    pub etag: Option<String>,
    pub format: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub size: Option<u64>,
    pub content_type: Option<String>,
    /// [`Exif`] as JSON text (`States.JsonToString`).
    pub exif: Option<String>,
    pub uploaded_at: Option<String>,
    pub updated_at: Option<String>,
    pub execution_arn: Option<String>,
    /// The label names as JSON text.
    pub labels: Option<String>,
    pub thumbnail: Option<StoredThumbnail>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// The `thumbnail` attribute: where the thumbnail is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredThumbnail {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub content_type: String,
    /// [`thumbnail_settings`](crate::thumbnail_settings) it was made with;
    /// absent on items older than the backfill.
    pub settings: Option<String>,
}

impl ImageItem {
    /// The EXIF fields, when stored and readable.
    pub fn exif(&self) -> Option<Exif> {
        serde_json::from_str(self.exif.as_deref()?).ok()
    }

    /// The label names: a JSON list, or a single string where LocalStack's
    /// JSONPath returns one `[*]` match unwrapped.
    pub fn labels(&self) -> Vec<String> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Labels {
            Many(Vec<String>),
            One(String),
        }
        match self.labels.as_deref().map(serde_json::from_str) {
            Some(Ok(Labels::Many(labels))) => labels,
            Some(Ok(Labels::One(label))) => vec![label],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(labels: Option<&str>) -> ImageItem {
        serde_json::from_value(serde_json::json!({
            "imageKey": "incoming/a.jpg",
            "sequencer": "0A",
            "status": "COMPLETED",
            "labels": labels,
            "exif": "{\"make\":\"Canon\",\"dateTimeOriginal\":null,\"model\":null,\"orientation\":6,\"gps\":null,\"error\":null}",
        }))
        .expect("a minimal item")
    }

    #[test]
    fn labels_read_as_a_list_or_as_the_single_string_localstack_stores() {
        assert_eq!(item(Some("[\"Dog\",\"Cat\"]")).labels(), ["Dog", "Cat"]);
        assert_eq!(item(Some("\"Dog\"")).labels(), ["Dog"]);
        assert!(item(None).labels().is_empty());
        assert!(item(Some("not json")).labels().is_empty());
    }

    #[test]
    fn exif_reads_back_from_its_json_text() {
        let exif = item(None).exif().expect("stored EXIF");
        assert_eq!(exif.make.as_deref(), Some("Canon"));
        assert_eq!(exif.orientation, Some(6));
    }

    #[test]
    fn status_names_are_the_serialized_ones() {
        for status in [
            Status::Processing,
            Status::Completed,
            Status::Rejected,
            Status::Failed,
        ] {
            let json = serde_json::to_value(status).expect("a status serializes");
            assert_eq!(json, status.as_str());
        }
    }
}
