//! The handler on real image bytes from `imaging`'s fixtures, read through an
//! in-memory object source with S3's ranged-GET semantics.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use extract_metadata::{Chunk, FIRST_FETCH, ObjectSource, StoreError, handler};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use photopipe_shared::{ErrorName, ImageFormat, ObjectRef};

const BUCKET: &str = "photos";

#[derive(Debug, Default)]
struct Memory {
    objects: HashMap<String, Vec<u8>>,
    failures: HashMap<String, StoreError>,
    /// Every range read, to show how little of a large object is fetched.
    reads: Mutex<Vec<Range<u64>>>,
}

impl Memory {
    fn with(key: &str, bytes: Vec<u8>) -> Self {
        let mut m = Memory::default();
        m.objects.insert(key.to_owned(), bytes);
        m
    }

    fn bytes_read(&self) -> u64 {
        self.reads
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.end - r.start)
            .sum()
    }
}

impl ObjectSource for Memory {
    async fn read_range(&self, object: &ObjectRef, range: Range<u64>) -> Result<Chunk, StoreError> {
        assert_eq!(object.bucket, BUCKET);
        let key = &object.key;
        if let Some(failure) = self.failures.get(key) {
            return Err(failure.clone());
        }
        let object = self
            .objects
            .get(key)
            .ok_or_else(|| StoreError::NotFound(format!("NoSuchKey: {key}")))?;
        let size = object.len() as u64;
        let (start, end) = (range.start.min(size), range.end.min(size));
        self.reads.lock().unwrap().push(start..end);
        Ok(Chunk {
            bytes: object[start as usize..end as usize].to_vec(),
            object_size: size,
        })
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../imaging/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn event(key: &str) -> LambdaEvent<ObjectRef> {
    let payload = ObjectRef {
        bucket: BUCKET.to_owned(),
        key: key.to_owned(),
        etag: None,
    };
    LambdaEvent::new(payload, Context::default())
}

async fn error_of(source: &Memory, key: &str) -> Diagnostic {
    let failure = handler(source, event(key)).await.unwrap_err();
    Diagnostic::from(failure)
}

#[tokio::test]
async fn jpeg_with_exif_and_gps() {
    let source = Memory::with("incoming/pixel.jpg", fixture("jpeg-exif-gps.jpg"));
    let m = handler(&source, event("incoming/pixel.jpg")).await.unwrap();
    let json = serde_json::to_value(&m).unwrap();
    insta::assert_yaml_snapshot!(json);
}

#[tokio::test]
async fn format_comes_from_the_bytes_not_the_name() {
    let source = Memory::with("incoming/really-a-png.jpg", fixture("png-alpha.png"));
    let m = handler(&source, event("incoming/really-a-png.jpg"))
        .await
        .unwrap();
    assert_eq!(
        (m.format, m.content_type.as_str()),
        (ImageFormat::Png, "image/png")
    );
    for (name, format) in [
        ("animated.gif", ImageFormat::Gif),
        ("image.webp", ImageFormat::Webp),
        ("image.tiff", ImageFormat::Tiff),
        ("image.bmp", ImageFormat::Bmp),
        ("image.heic", ImageFormat::Heic),
        ("image.avif", ImageFormat::Avif),
    ] {
        let source = Memory::with("incoming/x.jpg", fixture(name));
        let m = handler(&source, event("incoming/x.jpg")).await.unwrap();
        assert_eq!(m.format, format, "{name}");
        assert!(m.width > 0 && m.height > 0, "{name}");
    }
}

/// A header longer than the first fetch costs further ranged reads, not a
/// read of the whole object.
#[tokio::test]
async fn reads_only_the_header() {
    let bytes = fixture("flower.jpg");
    let mut big = bytes.clone();
    // A 10 MB object whose header is flower.jpg's: only the prefix is read.
    big.resize(10_000_000, 0);
    let source = Memory::with("incoming/big.jpg", big);
    let m = handler(&source, event("incoming/big.jpg")).await.unwrap();
    assert_eq!((m.width, m.height, m.size), (480, 360, 10_000_000));
    assert_eq!(source.bytes_read(), FIRST_FETCH);

    let long = fixture("long-header.jpg");
    let source = Memory::with("incoming/long.jpg", long.clone());
    let m = handler(&source, event("incoming/long.jpg")).await.unwrap();
    assert_eq!((m.width, m.height), (425, 250));
    let reads = source.reads.lock().unwrap().clone();
    assert!(reads.len() > 1, "{reads:?}");
    // Consecutive ranges, no byte read twice.
    for pair in reads.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "{reads:?}");
    }
}

#[tokio::test]
async fn unreadable_exif_does_not_fail() {
    let source = Memory::with("incoming/bad-exif.jpg", fixture("invalid-exif.jpg"));
    let m = handler(&source, event("incoming/bad-exif.jpg"))
        .await
        .unwrap();
    assert_eq!(m.exif.error.unwrap().error, "InvalidExif");
    assert_eq!(m.exif.make, None);
}

#[tokio::test]
async fn bad_input_has_a_name() {
    let cases = [
        ("empty.jpg", ErrorName::EmptyObject),
        ("not-an-image.txt", ErrorName::UnknownImageFormat),
    ];
    for (name, expected) in cases {
        let source = Memory::with("incoming/x", fixture(name));
        let d = error_of(&source, "incoming/x").await;
        assert_eq!(
            d.error_type,
            expected.as_str(),
            "{name}: {}",
            d.error_message
        );
    }
    // Cut inside its header, a JPEG is corrupt even to extract-metadata.
    let source = Memory::with("incoming/x", fixture("flower.jpg")[..300].to_vec());
    let d = error_of(&source, "incoming/x").await;
    assert_eq!(d.error_type, "CorruptImage", "{}", d.error_message);
}

#[tokio::test]
async fn store_errors_keep_their_meaning() {
    let d = error_of(&Memory::default(), "incoming/gone.jpg").await;
    assert_eq!(d.error_type, "ObjectNotFound");
    assert!(d.error_message.contains("gone.jpg"));

    let mut source = Memory::default();
    source.failures.insert(
        "slow".to_owned(),
        StoreError::Transient("SlowDown".to_owned()),
    );
    source.failures.insert(
        "denied".to_owned(),
        StoreError::Permanent("AccessDenied".to_owned()),
    );
    assert_eq!(
        error_of(&source, "slow").await.error_type,
        "TransientAwsError"
    );
    assert_eq!(error_of(&source, "denied").await.error_type, "AwsError");
    source.failures.insert(
        "replaced".to_owned(),
        StoreError::Superseded("PreconditionFailed".to_owned()),
    );
    assert_eq!(error_of(&source, "replaced").await.error_type, "Superseded");
}
