//! ImageProcessing in the simulator: how our functions and services answer
//! as mocks, and the scenarios that take every route of the state machine
//! (each Choice rule, each catcher, each retrier run out).
//!
//! `cargo test -p infra` runs them all; `cargo xtask paths` shows which
//! scenario covers which route, and `cargo xtask ci` fails when a route has
//! none. e2e predicts an image's outcome with [`pipeline_mocks`] and the
//! functions' own library code.

use photopipe_shared::{ErrorName, ExecutionInput, Failure, ImageFormat, ImageMetadata, Thumbnail};
use serde::Serialize;
use serde_json::{Value, json};
use sim::{Mocks, Response, Status};

use crate::pipeline::state;

/// How a Lambda function's answer reaches the state machine through
/// `lambda:invoke`: a result under `Payload`, an error named by its
/// `errorType` with the error object as its cause.
pub fn lambda<T: Serialize>(result: Result<T, Failure>) -> Response {
    match result {
        Ok(value) => Response::ok(json!({
            "ExecutedVersion": "$LATEST",
            "Payload": value,
            "StatusCode": 200,
        })),
        Err(f) => Response::throw(
            f.name.as_str(),
            json!({"errorType": f.name.as_str(), "errorMessage": f.message}).to_string(),
        ),
    }
}

/// The whole pipeline on mocks: the two functions answer `metadata` and
/// what `thumbnail` makes (only if the state machine asks for it),
/// Rekognition finds `labels`, and DynamoDB accepts every write.
pub fn pipeline_mocks(
    metadata: Result<ImageMetadata, Failure>,
    thumbnail: impl Fn() -> Result<Thumbnail, Failure> + Send + Sync + 'static,
    labels: &[&str],
) -> Mocks {
    let metadata = lambda(metadata);
    let labels: Vec<Value> = labels
        .iter()
        .map(|name| json!({"Name": name, "Confidence": 99.0}))
        .collect();
    Mocks::new()
        .state(state::EXTRACT_METADATA, move |_| metadata.clone())
        .state(state::MAKE_THUMBNAIL, move |_| lambda(thumbnail()))
        .state(state::DETECT_LABELS, move |_| {
            Response::ok(json!({"Labels": labels}))
        })
        .resource("arn:aws:states:::dynamodb:putItem", |_| {
            Response::ok(json!({}))
        })
        .resource("arn:aws:states:::dynamodb:updateItem", |_| {
            Response::ok(json!({}))
        })
}

/// An upload's execution input.
pub fn input(key: &str) -> Value {
    serde_json::to_value(ExecutionInput {
        bucket: "photos".into(),
        key: key.into(),
        size: 48_213,
        etag: Some("5d41402abc4b2a76b9719d911017c592".into()),
        version_id: Some("v1".into()),
        sequencer: photopipe_shared::Sequencer::default(),
    })
    .unwrap_or_default()
}

fn metadata(format: ImageFormat) -> ImageMetadata {
    ImageMetadata {
        format,
        width: 640,
        height: 480,
        size: 48_213,
        content_type: format.content_type().into(),
        exif: photopipe_shared::Exif::default(),
    }
}

fn thumbnail() -> Thumbnail {
    Thumbnail {
        bucket: "photos".into(),
        key: "thumbnails/photo.jpg".into(),
        width: 250,
        height: 188,
        size: 9_120,
        content_type: "image/jpeg".into(),
        settings: photopipe_shared::thumbnail_settings(250),
    }
}

fn failure(name: ErrorName, message: &str) -> Failure {
    Failure {
        name,
        message: message.into(),
    }
}

/// What happens to one upload, and how its execution must end.
#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub mocks: Mocks,
    pub status: Status,
    pub error: Option<&'static str>,
}

impl Scenario {
    fn new(name: &'static str, status: Status, error: Option<&'static str>) -> Scenario {
        Scenario {
            name,
            mocks: pipeline_mocks(
                Ok(metadata(ImageFormat::Jpeg)),
                || Ok(thumbnail()),
                &["Dog", "Pet"],
            ),
            status,
            error,
        }
    }

    fn succeeds(name: &'static str) -> Scenario {
        Scenario::new(name, Status::Succeeded, None)
    }

    fn fails(name: &'static str, error: &'static str) -> Scenario {
        Scenario::new(name, Status::Failed, Some(error))
    }

    /// `state` answers `response` instead.
    fn with(self, state: &str, response: Response) -> Scenario {
        Scenario {
            mocks: self.mocks.state(state, move |_| response.clone()),
            ..self
        }
    }

    /// `state` throws `error` the first `times` times, then answers `then`.
    fn throws_first(
        self,
        state: &str,
        times: u32,
        error: &'static str,
        then: Response,
    ) -> Scenario {
        let mocks = self.mocks.state(state, move |call| {
            if call.invocation < times {
                Response::throw(error, "simulated")
            } else {
                then.clone()
            }
        });
        Scenario { mocks, ..self }
    }
}

fn throw(error: &str) -> Response {
    Response::throw(error, "simulated")
}

fn lambda_error(name: ErrorName) -> Response {
    lambda::<()>(Err(failure(name, "simulated")))
}

const THROTTLED: &str = "DynamoDB.ProvisionedThroughputExceededException";
const CONDITION_FAILED: &str = "DynamoDB.ConditionalCheckFailedException";

/// Every scenario, at least one per route.
pub fn all() -> Vec<Scenario> {
    use ErrorName as E;
    use state::*;
    let not_supported = E::NotSupportedImageType.as_str();
    vec![
        Scenario::succeeds("jpeg_is_processed"),
        Scenario::succeeds("png_is_processed")
            .with(EXTRACT_METADATA, lambda(Ok(metadata(ImageFormat::Png)))),
        Scenario::fails("gif_is_refused", not_supported)
            .with(EXTRACT_METADATA, lambda(Ok(metadata(ImageFormat::Gif)))),
        Scenario::fails("unknown_format_is_refused", not_supported)
            .with(EXTRACT_METADATA, lambda_error(E::UnknownImageFormat)),
        Scenario::succeeds("superseded_before_reading")
            .with(EXTRACT_METADATA, lambda_error(E::Superseded)),
        Scenario::fails("corrupt_image", "CorruptImage")
            .with(EXTRACT_METADATA, lambda_error(E::CorruptImage)),
        Scenario::fails("function_crashes", "Runtime.ExitError")
            .with(EXTRACT_METADATA, throw("Runtime.ExitError")),
        Scenario::succeeds("transient_error_is_retried").throws_first(
            EXTRACT_METADATA,
            2,
            "TransientAwsError",
            lambda(Ok(metadata(ImageFormat::Jpeg))),
        ),
        Scenario::fails("transient_errors_run_out", "TransientAwsError")
            .with(EXTRACT_METADATA, lambda_error(E::TransientAwsError)),
        Scenario::fails("function_hangs", "States.Timeout").with(
            EXTRACT_METADATA,
            lambda(Ok(metadata(ImageFormat::Jpeg))).taking(36_000),
        ),
        Scenario::succeeds("older_upload_stores_nothing")
            .with(STORE_METADATA, throw(CONDITION_FAILED)),
        Scenario::fails("metadata_store_throttled", THROTTLED)
            .with(STORE_METADATA, throw(THROTTLED)),
        Scenario::succeeds("thumbnail_superseded")
            .with(MAKE_THUMBNAIL, lambda_error(E::Superseded)),
        Scenario::succeeds("labels_superseded").with(STORE_LABELS, throw(CONDITION_FAILED)),
        Scenario::fails("thumbnail_of_corrupt_image", "CorruptImage")
            .with(MAKE_THUMBNAIL, lambda_error(E::CorruptImage)),
        Scenario::fails(
            "rekognition_access_denied",
            "Rekognition.AccessDeniedException",
        )
        .with(DETECT_LABELS, throw("Rekognition.AccessDeniedException")),
        Scenario::fails("thumbnail_errors_run_out", "TransientAwsError")
            .with(MAKE_THUMBNAIL, lambda_error(E::TransientAwsError)),
        Scenario::fails("rekognition_throttled", "Rekognition.ThrottlingException")
            .with(DETECT_LABELS, throw("Rekognition.ThrottlingException")),
        Scenario::fails("label_store_throttled", THROTTLED).with(STORE_LABELS, throw(THROTTLED)),
        Scenario::fails("thumbnail_store_throttled", THROTTLED)
            .with(STORE_THUMBNAIL, throw(THROTTLED)),
        Scenario::fails("completion_throttled", THROTTLED).with(MARK_COMPLETED, throw(THROTTLED)),
        Scenario::succeeds("completion_superseded").with(MARK_COMPLETED, throw(CONDITION_FAILED)),
        Scenario::succeeds("rejection_superseded")
            .with(EXTRACT_METADATA, lambda(Ok(metadata(ImageFormat::Gif))))
            .with(RECORD_REJECTION, throw(CONDITION_FAILED)),
        Scenario::fails("rejection_store_throttled", THROTTLED)
            .with(EXTRACT_METADATA, lambda(Ok(metadata(ImageFormat::Gif))))
            .with(RECORD_REJECTION, throw(THROTTLED)),
        Scenario::succeeds("failure_superseded")
            .with(EXTRACT_METADATA, lambda_error(E::CorruptImage))
            .with(RECORD_FAILURE, throw(CONDITION_FAILED)),
        Scenario::fails("failure_store_throttled", THROTTLED)
            .with(EXTRACT_METADATA, lambda_error(E::CorruptImage))
            .with(RECORD_FAILURE, throw(THROTTLED)),
    ]
}
