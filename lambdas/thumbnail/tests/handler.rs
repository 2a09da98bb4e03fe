//! The handler on real image bytes from `imaging`'s fixtures, read from and
//! written to an in-memory object store.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use imaging::ThumbnailOptions;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use photopipe_shared::{ErrorName, ObjectRef};
use thumbnail::{ObjectStore, StoreError, handler, options_from_env};

const BUCKET: &str = "photos";

/// An object as `(bytes, content type, ETag)`; ETags count the writes.
type Object = (Vec<u8>, String, String);

#[derive(Debug, Default)]
struct Memory {
    objects: Mutex<HashMap<String, Object>>,
    failures: HashMap<String, StoreError>,
    /// Uploaded to the key it was read from right after the first read, as
    /// if someone replaced the photo while its thumbnail was being made.
    replace_after_read: Mutex<Option<Vec<u8>>>,
}

impl Memory {
    fn with(key: &str, bytes: Vec<u8>) -> Self {
        let m = Memory::default();
        m.put(key, bytes, "binary/octet-stream");
        m
    }

    fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) {
        let mut objects = self.objects.lock().unwrap();
        let etag = format!("etag-{}", objects.len() + 1);
        objects.insert(key.to_owned(), (bytes, content_type.to_owned(), etag));
    }

    fn object(&self, key: &str) -> Option<(Vec<u8>, String)> {
        let objects = self.objects.lock().unwrap();
        objects.get(key).map(|(b, c, _)| (b.clone(), c.clone()))
    }

    fn current(&self, object: &ObjectRef) -> Result<Vec<u8>, StoreError> {
        assert_eq!(object.bucket, BUCKET);
        if let Some(failure) = self.failures.get(&object.key) {
            return Err(failure.clone());
        }
        let objects = self.objects.lock().unwrap();
        let (bytes, _, etag) = objects
            .get(&object.key)
            .ok_or_else(|| StoreError::NotFound(format!("NoSuchKey: {}", object.key)))?;
        match &object.etag {
            Some(wanted) if wanted != etag => Err(StoreError::Superseded(format!(
                "PreconditionFailed: {} is {etag}, not {wanted}",
                object.key
            ))),
            _ => Ok(bytes.clone()),
        }
    }
}

impl ObjectStore for Memory {
    async fn read(&self, object: &ObjectRef) -> Result<Vec<u8>, StoreError> {
        let bytes = self.current(object)?;
        if let Some(newer) = self.replace_after_read.lock().unwrap().take() {
            self.put(&object.key, newer, "image/jpeg");
        }
        Ok(bytes)
    }

    async fn check_current(&self, object: &ObjectRef) -> Result<(), StoreError> {
        self.current(object).map(drop)
    }

    async fn write(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        assert_eq!(bucket, BUCKET);
        if let Some(failure) = self.failures.get(key) {
            return Err(failure.clone());
        }
        self.put(key, bytes, content_type);
        Ok(())
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

async fn error_of(store: &Memory, key: &str) -> Diagnostic {
    let failure = handler(store, &ThumbnailOptions::default(), event(key))
        .await
        .unwrap_err();
    Diagnostic::from(failure)
}

#[tokio::test]
async fn jpeg_thumbnail_is_written_under_thumbnails() {
    let store = Memory::with("incoming/2024/flower.jpg", fixture("flower.jpg"));
    let t = handler(
        &store,
        &ThumbnailOptions::default(),
        event("incoming/2024/flower.jpg"),
    )
    .await
    .unwrap();
    // The encoded size depends on the encoder version; it is checked below.
    insta::assert_yaml_snapshot!(serde_json::to_value(&t).unwrap(), { ".size" => "[bytes]" });
    let (bytes, content_type) = store.object("thumbnails/2024/flower.jpg").unwrap();
    assert_eq!(content_type, "image/jpeg");
    assert_eq!(bytes.len() as u64, t.size);
    let written = imaging::metadata(&bytes).unwrap();
    assert_eq!((written.width, written.height), (250, 188));
}

#[tokio::test]
async fn png_stays_png_and_portrait_stays_upright() {
    let store = Memory::with("incoming/alpha.png", fixture("png-alpha.png"));
    let t = handler(
        &store,
        &ThumbnailOptions::default(),
        event("incoming/alpha.png"),
    )
    .await
    .unwrap();
    assert_eq!(
        (t.width, t.height, t.content_type.as_str()),
        (250, 140, "image/png")
    );
    assert_eq!(store.object("thumbnails/alpha.png").unwrap().1, "image/png");

    let store = Memory::with("incoming/o6.jpg", fixture("portrait-orientation-6.jpg"));
    let t = handler(
        &store,
        &ThumbnailOptions::default(),
        event("incoming/o6.jpg"),
    )
    .await
    .unwrap();
    assert_eq!((t.width, t.height), (188, 250));
    let (bytes, _) = store.object("thumbnails/o6.jpg").unwrap();
    // Upright pixels, and no orientation tag left to turn them again.
    let written = imaging::metadata(&bytes).unwrap();
    assert_eq!(
        (written.width, written.height, written.exif.orientation),
        (188, 250, None)
    );
}

#[tokio::test]
async fn thumbnail_size_comes_from_the_environment() {
    let env = |name: &str| (name == "THUMBNAIL_SIZE").then(|| "100".to_owned());
    let options = options_from_env(env).unwrap();
    assert_eq!(options.size, 100);
    let store = Memory::with("incoming/f.jpg", fixture("flower.jpg"));
    let t = handler(&store, &options, event("incoming/f.jpg"))
        .await
        .unwrap();
    assert_eq!((t.width, t.height), (100, 75));

    assert!(options_from_env(|_| Some("big".to_owned())).is_err());
    assert_eq!(
        options_from_env(|_| None).unwrap(),
        ThumbnailOptions::default()
    );
}

#[tokio::test]
async fn bad_input_has_a_name_and_writes_nothing() {
    let cases = [
        ("empty.jpg", ErrorName::EmptyObject),
        ("not-an-image.txt", ErrorName::UnknownImageFormat),
        ("truncated.jpg", ErrorName::CorruptImage),
        ("truncated-progressive.jpg", ErrorName::CorruptImage),
        ("truncated.png", ErrorName::CorruptImage),
        ("bomb.jpg", ErrorName::ImageTooLarge),
        ("bomb.png", ErrorName::ImageTooLarge),
        ("animated.gif", ErrorName::NotSupportedImageType),
    ];
    for (name, expected) in cases {
        let store = Memory::with("incoming/x.jpg", fixture(name));
        let d = error_of(&store, "incoming/x.jpg").await;
        assert_eq!(
            d.error_type,
            expected.as_str(),
            "{name}: {}",
            d.error_message
        );
        assert!(store.object("thumbnails/x.jpg").is_none(), "{name}");
    }
}

#[tokio::test]
async fn max_pixels_comes_from_the_environment() {
    let env = |name: &str| (name == "MAX_PIXELS").then(|| "1000".to_owned());
    let options = options_from_env(env).unwrap();
    let store = Memory::with("incoming/f.jpg", fixture("flower.jpg"));
    let failure = handler(&store, &options, event("incoming/f.jpg"))
        .await
        .unwrap_err();
    assert_eq!(failure.name, ErrorName::ImageTooLarge);
}

#[tokio::test]
async fn store_errors_keep_their_meaning() {
    let d = error_of(&Memory::default(), "incoming/gone.jpg").await;
    assert_eq!(d.error_type, "ObjectNotFound");

    let mut store = Memory::with("incoming/f.jpg", fixture("flower.jpg"));
    store.failures.insert(
        "thumbnails/f.jpg".to_owned(),
        StoreError::Transient("SlowDown".to_owned()),
    );
    assert_eq!(
        error_of(&store, "incoming/f.jpg").await.error_type,
        "TransientAwsError"
    );
    store.failures.insert(
        "thumbnails/f.jpg".to_owned(),
        StoreError::Permanent("AccessDenied".to_owned()),
    );
    assert_eq!(
        error_of(&store, "incoming/f.jpg").await.error_type,
        "AwsError"
    );
}

/// A photo uploaded again under the same key, before or while its older
/// version's thumbnail is made: the older execution writes nothing.
#[tokio::test]
async fn a_replaced_photo_gets_no_thumbnail_of_its_old_bytes() {
    let store = Memory::with("incoming/f.jpg", fixture("flower.jpg"));
    let mut old = event("incoming/f.jpg");
    old.payload.etag = Some("etag-1".to_owned());
    *store.replace_after_read.lock().unwrap() = Some(fixture("png-alpha.png"));
    let failure = handler(&store, &ThumbnailOptions::default(), old)
        .await
        .unwrap_err();
    assert_eq!(failure.name, ErrorName::Superseded, "{failure}");
    assert!(store.object("thumbnails/f.jpg").is_none());

    let mut again = event("incoming/f.jpg");
    again.payload.etag = Some("etag-1".to_owned());
    let failure = handler(&store, &ThumbnailOptions::default(), again)
        .await
        .unwrap_err();
    assert_eq!(failure.name, ErrorName::Superseded, "{failure}");

    let mut current = event("incoming/f.jpg");
    current.payload.etag = Some("etag-2".to_owned());
    let t = handler(&store, &ThumbnailOptions::default(), current)
        .await
        .unwrap();
    assert_eq!((t.width, t.height), (250, 140));
}
