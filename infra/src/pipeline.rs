//! The `ImageProcessing` state machine, written with the `asl` builder.
//!
//! ```text
//! ExtractMetadata ─▶ CheckImageFormat ─JPEG/PNG─▶ StoreMetadata ─▶ ProcessImage ─▶ MarkCompleted
//!       │                  └─other─▶ DescribeUnsupportedFormat ─▶ RecordRejection ─▶ NotSupportedImageType
//!       └─UnknownImageFormat (not an image at all) ─────────────────────▲
//! any named failure ─▶ RecordFailure ─▶ ProcessingFailed (re-raises the error)
//! a newer upload of the key owns the item ─▶ Superseded
//! ```
//!
//! Uploads of one key race: S3 delivers their events in any order, and an
//! older version's execution may run last. Every write to the item is
//! conditional on the event's [`Sequencer`](photopipe_shared::Sequencer)
//! (`StoreMetadata` and the outcome records claim an item whose sequencer is
//! not greater; the later writes need it unchanged), and the functions read
//! only the bytes the event announced (its ETag). An execution that loses
//! either race ends in `Superseded` and leaves the item to the newer one.
//!
//! Error names in `Retry` and `Catch` come from [`ErrorName`], the same
//! definition the Lambdas report. ARNs and the table name are `${...}`
//! placeholders that the stack fills through `DefinitionSubstitutions`.

use asl::builder::{
    BranchBuilder, Catch, ChoiceState, FailState, ParallelState, PassState, StateId,
    StateMachineBuilder, SucceedState, TaskState,
};
use asl::{Condition, JitterStrategy, Retrier, StateMachine};
use photopipe_shared::table::{Status, attribute};
use photopipe_shared::{ErrorName, ImageFormat};
use serde_json::{Value, json};

use crate::TemplateError;

/// Placeholders the definition uses for values that exist only once the stack does.
pub const EXTRACT_METADATA_ARN: &str = "ExtractMetadataFunctionArn";
pub const THUMBNAIL_ARN: &str = "ThumbnailFunctionArn";
pub const TABLE_NAME: &str = "ImageMetadataTableName";

/// The state machine's logical id in the template.
pub const STATE_MACHINE_NAME: &str = "ImageProcessing";

/// Why the definition of state machine `name` could not be written as JSON.
pub(crate) fn unwritable(name: &str, e: serde_json::Error) -> Vec<TemplateError> {
    vec![TemplateError::Definition {
        name: name.to_owned(),
        reason: e.to_string(),
    }]
}

/// The states' names, for whoever mocks or inspects one.
pub mod state {
    pub const EXTRACT_METADATA: &str = "ExtractMetadata";
    pub const CHECK_IMAGE_FORMAT: &str = "CheckImageFormat";
    pub const STORE_METADATA: &str = "StoreMetadata";
    pub const PROCESS_IMAGE: &str = "ProcessImage";
    /// The state that calls Rekognition; emulators without it mock this state.
    pub const DETECT_LABELS: &str = "DetectLabels";
    pub const STORE_LABELS: &str = "StoreLabels";
    pub const MAKE_THUMBNAIL: &str = "MakeThumbnail";
    pub const STORE_THUMBNAIL: &str = "StoreThumbnail";
    pub const MARK_COMPLETED: &str = "MarkCompleted";
    pub const DESCRIBE_UNSUPPORTED_FORMAT: &str = "DescribeUnsupportedFormat";
    pub const RECORD_REJECTION: &str = "RecordRejection";
    pub const NOT_SUPPORTED_IMAGE_TYPE: &str = "NotSupportedImageType";
    pub const RECORD_FAILURE: &str = "RecordFailure";
    pub const PROCESSING_FAILED: &str = "ProcessingFailed";
    pub const SUPERSEDED: &str = "Superseded";
}
pub use state::DETECT_LABELS;

const LAMBDA_TRANSIENT: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];
const DYNAMODB_TRANSIENT: [&str; 4] = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.ThrottlingException",
];
const REKOGNITION_TRANSIENT: [&str; 3] = [
    "Rekognition.ThrottlingException",
    "Rekognition.ProvisionedThroughputExceededException",
    "Rekognition.InternalServerErrorException",
];
/// What Rekognition says about images it cannot read: permanent, like ours.
pub(crate) const REKOGNITION_PERMANENT: [&str; 3] = [
    "Rekognition.InvalidImageFormatException",
    "Rekognition.ImageTooLargeException",
    "Rekognition.InvalidS3ObjectException",
];
/// A condition on the item's sequencer failed: a newer upload owns the item.
const CONDITIONAL_CHECK_FAILED: &str = "DynamoDB.ConditionalCheckFailedException";
/// Our Lambdas' errors that no retry can fix.
const PERMANENT: [ErrorName; 6] = [
    ErrorName::EmptyObject,
    ErrorName::ObjectNotFound,
    ErrorName::CorruptImage,
    ErrorName::ImageTooLarge,
    ErrorName::InvalidInput,
    ErrorName::AwsError,
];

fn placeholder(name: &str) -> String {
    format!("${{{name}}}")
}

/// Transient failures: retried with capped, jittered exponential backoff.
fn retry(errors: &[&str]) -> Retrier {
    Retrier::new(errors.iter().copied())
        .interval_seconds(1)
        .max_attempts(4)
        .backoff_rate(2.0)
        .max_delay_seconds(10)
        .jitter_strategy(JitterStrategy::Full)
}

/// DynamoDB's transient failures, retried; for the backfill's reads too.
pub(crate) fn dynamodb_retry() -> Retrier {
    retry(&DYNAMODB_TRANSIENT)
}

fn lambda_retry() -> Retrier {
    let mut errors = vec![ErrorName::TransientAwsError.as_str()];
    errors.extend(LAMBDA_TRANSIENT);
    retry(&errors)
}

/// A Lambda task through the optimised integration, which reports throttling
/// and service faults under their `Lambda.*` names. The function's result
/// arrives as `Payload`; `fields` are the ones the next states use.
fn lambda(function: &str, fields: &[&str]) -> TaskState {
    let selector: serde_json::Map<String, Value> = fields
        .iter()
        .map(|f| (format!("{f}.$"), json!(format!("$.Payload.{f}"))))
        .collect();
    TaskState::new("arn:aws:states:::lambda:invoke")
        .parameters(json!({
            "FunctionName": placeholder(function),
            "Payload": { "bucket.$": "$.bucket", "key.$": "$.key", "etag.$": "$.etag" },
        }))
        .result_selector(Value::Object(selector))
}

/// Which items a write may touch, by their `sequencer` attribute.
#[derive(Debug, Clone, Copy)]
enum Owner {
    /// None yet, or one from an older event: the write (which sets the
    /// sequencer) makes the item this execution's.
    Claim,
    /// This execution's: the sequencer is still its own.
    Keep,
}

fn dynamodb(operation: &str, owner: Owner, parameters: Value) -> TaskState {
    let mut parameters = parameters;
    if let Some(map) = parameters.as_object_mut() {
        map.insert("TableName".into(), json!(placeholder(TABLE_NAME)));
        // PutItem names its key inside `Item`; a `Key` there is a field the
        // API does not have, which Step Functions refuses on AWS.
        if operation != "putItem" {
            map.insert(
                "Key".into(),
                json!({ attribute::IMAGE_KEY: { "S.$": "$.key" } }),
            );
        }
        let condition = match owner {
            Owner::Claim => "attribute_not_exists(#sequencer) OR #sequencer <= :sequencer",
            Owner::Keep => "#sequencer = :sequencer",
        };
        map.insert("ConditionExpression".into(), json!(condition));
        let mut merge = |field: &str, name: &str, value: Value| {
            let entry = map.entry(field).or_insert_with(|| json!({}));
            if let Some(entry) = entry.as_object_mut() {
                entry.insert(name.into(), value);
            }
        };
        merge(
            "ExpressionAttributeNames",
            "#sequencer",
            json!(attribute::SEQUENCER),
        );
        merge(
            "ExpressionAttributeValues",
            ":sequencer",
            json!({ "S.$": "$.sequencer" }),
        );
    }
    TaskState::new(format!("arn:aws:states:::dynamodb:{operation}"))
        .parameters(parameters)
        .timeout_seconds(10)
        .retry(dynamodb_retry())
        .discard_result()
}

/// An `updateItem` that records an outcome (`status`, `error`, `cause`).
fn record_outcome(status: Status, superseded: StateId) -> TaskState {
    dynamodb(
        "updateItem",
        Owner::Claim,
        json!({
            "UpdateExpression": format!(
                "SET #status = :status, #error = :error, #cause = :cause, {} = :execution, {} = :now, #sequencer = :sequencer, {} = :etag",
                attribute::EXECUTION_ARN,
                attribute::UPDATED_AT,
                attribute::ETAG,
            ),
            "ExpressionAttributeNames": {
                "#status": attribute::STATUS,
                "#error": attribute::ERROR,
                "#cause": attribute::CAUSE,
            },
            "ExpressionAttributeValues": {
                ":status": { "S": status.as_str() },
                ":error": { "S.$": "$.error.Error" },
                ":cause": { "S.$": "$.error.Cause" },
                ":execution": { "S.$": "$$.Execution.Id" },
                ":now": { "S.$": "$$.State.EnteredTime" },
                ":etag": { "S.$": "States.Format('{}', $.etag)" },
            },
        }),
    )
    .catch(superseded_by_newer(superseded))
}

/// Catches the failed condition of a write to an item a newer upload owns.
fn superseded_by_newer(superseded: StateId) -> Catch {
    Catch::new([CONDITIONAL_CHECK_FAILED], superseded).result_path("$.error")
}

/// The names a catcher for permanent failures matches: ours, then `extra`.
fn permanent(extra: &[&'static str]) -> Vec<&'static str> {
    PERMANENT
        .iter()
        .map(|e| e.as_str())
        .chain(extra.iter().copied())
        .collect()
}

/// The top-level states, declared in document order so that each can name
/// the others before it is defined.
struct Top {
    extract: StateId,
    check: StateId,
    store: StateId,
    process: StateId,
    completed: StateId,
    describe_unsupported: StateId,
    record_rejection: StateId,
    not_supported: StateId,
    record_failure: StateId,
    failed: StateId,
    superseded: StateId,
}

impl Top {
    fn declare(sm: &mut StateMachineBuilder) -> Top {
        Top {
            extract: sm.declare(state::EXTRACT_METADATA),
            check: sm.declare(state::CHECK_IMAGE_FORMAT),
            store: sm.declare(state::STORE_METADATA),
            process: sm.declare(state::PROCESS_IMAGE),
            completed: sm.declare(state::MARK_COMPLETED),
            describe_unsupported: sm.declare(state::DESCRIBE_UNSUPPORTED_FORMAT),
            record_rejection: sm.declare(state::RECORD_REJECTION),
            not_supported: sm.declare(state::NOT_SUPPORTED_IMAGE_TYPE),
            record_failure: sm.declare(state::RECORD_FAILURE),
            failed: sm.declare(state::PROCESSING_FAILED),
            superseded: sm.declare(state::SUPERSEDED),
        }
    }
}

/// The `ImageProcessing` state machine.
pub fn definition() -> StateMachine {
    let mut sm = StateMachineBuilder::new();
    sm.comment(
        "ImageProcessing: extract metadata, accept JPEG and PNG, store the metadata, then detect \
         labels and make a thumbnail in parallel. Every failure is recorded in the table before \
         the execution fails with its error name.",
    );
    let top = Top::declare(&mut sm);
    sm.define(top.extract, extract_metadata(&top));
    sm.define(top.check, check_image_format(&top));
    sm.define(top.store, store_metadata(&top));
    sm.define(top.process, process_image(&top));
    sm.define(top.completed, mark_completed(&top));
    define_outcomes(&mut sm, &top);
    match sm.build() {
        Ok(machine) => machine,
        // The definition is a constant; the tests exercise this path.
        Err(errors) => panic!("the ImageProcessing definition is invalid: {errors}"),
    }
}

fn extract_metadata(top: &Top) -> TaskState {
    lambda(
        EXTRACT_METADATA_ARN,
        &["format", "width", "height", "size", "contentType", "exif"],
    )
    .comment("Format, dimensions, size and EXIF, read from the object's header")
    .result_path("$.metadata")
    .timeout_seconds(35)
    .retry(lambda_retry())
    .catch(Catch::new([ErrorName::Superseded.as_str()], top.superseded).result_path("$.error"))
    .catch(
        Catch::new(
            [ErrorName::UnknownImageFormat.as_str()],
            top.record_rejection,
        )
        .result_path("$.error"),
    )
    .catch(Catch::new(permanent(&[]), top.record_failure).result_path("$.error"))
    .catch(Catch::new(["States.ALL"], top.record_failure).result_path("$.error"))
    .next(top.check)
}

fn check_image_format(top: &Top) -> ChoiceState {
    let supported = ImageFormat::SUPPORTED
        .iter()
        .map(|f| Condition::string_equals("$.metadata.format", f.as_str()));
    ChoiceState::new()
        .comment("Only JPEG and PNG go on")
        .when(Condition::or(supported), top.store)
        .otherwise(top.describe_unsupported)
}

fn store_metadata(top: &Top) -> TaskState {
    dynamodb(
        "putItem",
        Owner::Claim,
        json!({
            "Item": {
                attribute::IMAGE_KEY: { "S.$": "$.key" },
                attribute::SEQUENCER: { "S.$": "$.sequencer" },
                attribute::BUCKET: { "S.$": "$.bucket" },
                // A backfill compares it with the listing's. `States.Format`
                // writes an event's missing ETag as "null": an S attribute
                // cannot hold JSON's null.
                attribute::ETAG: { "S.$": "States.Format('{}', $.etag)" },
                attribute::STATUS: { "S": Status::Processing.as_str() },
                attribute::FORMAT: { "S.$": "$.metadata.format" },
                attribute::WIDTH: { "N.$": "States.JsonToString($.metadata.width)" },
                attribute::HEIGHT: { "N.$": "States.JsonToString($.metadata.height)" },
                attribute::SIZE: { "N.$": "States.JsonToString($.metadata.size)" },
                attribute::CONTENT_TYPE: { "S.$": "$.metadata.contentType" },
                attribute::EXIF: { "S.$": "States.JsonToString($.metadata.exif)" },
                attribute::UPLOADED_AT: { "S.$": "$$.Execution.StartTime" },
                attribute::EXECUTION_ARN: { "S.$": "$$.Execution.Id" },
            }
        }),
    )
    .comment("The metadata, before the slower steps run")
    .catch(superseded_by_newer(top.superseded))
    .catch(unrecorded(top))
    .next(top.process)
}

fn process_image(top: &Top) -> ParallelState {
    ParallelState::new()
        .comment("Labels and thumbnail are independent")
        .branch(labels_branch())
        .branch(thumbnail_branch())
        .result_selector(json!({ "labels.$": "$[0].labels", "thumbnail.$": "$[1]" }))
        .result_path("$.results")
        .catch(
            Catch::new(
                [ErrorName::Superseded.as_str(), CONDITIONAL_CHECK_FAILED],
                top.superseded,
            )
            .result_path("$.error"),
        )
        .catch(
            Catch::new(permanent(&REKOGNITION_PERMANENT), top.record_failure)
                .result_path("$.error"),
        )
        .catch(Catch::new(["States.ALL"], top.record_failure).result_path("$.error"))
        .next(top.completed)
}

/// Rekognition's labels, stored on the item.
fn labels_branch() -> BranchBuilder {
    let mut labels = BranchBuilder::new();
    let detect_labels = labels.declare(DETECT_LABELS);
    let store_labels = labels.declare(state::STORE_LABELS);
    labels.define(
        detect_labels,
        TaskState::new("arn:aws:states:::aws-sdk:rekognition:detectLabels")
            .comment("Amazon Rekognition reads the image from the bucket itself")
            .parameters(json!({
                "Image": { "S3Object": { "Bucket.$": "$.bucket", "Name.$": "$.key" } },
                "MaxLabels": 10,
                "MinConfidence": 75,
            }))
            .result_selector(json!({ "labels.$": "$.Labels[*].Name" }))
            .result_path("$.detected")
            .timeout_seconds(30)
            .retry(retry(&REKOGNITION_TRANSIENT))
            .next(store_labels),
    );
    labels.define(
        store_labels,
        dynamodb(
            "updateItem",
            Owner::Keep,
            json!({
                "UpdateExpression": format!("SET {} = :labels", attribute::LABELS),
                "ExpressionAttributeValues": {
                    ":labels": { "S.$": "States.JsonToString($.detected.labels)" },
                },
            }),
        )
        .result_path("$.stored")
        .output_path("$.detected")
        .end(),
    );
    labels
}

/// The thumbnail, made and stored on the item.
fn thumbnail_branch() -> BranchBuilder {
    let mut thumbnail = BranchBuilder::new();
    let make_thumbnail = thumbnail.declare(state::MAKE_THUMBNAIL);
    let store_thumbnail = thumbnail.declare(state::STORE_THUMBNAIL);
    thumbnail.define(
        make_thumbnail,
        lambda(
            THUMBNAIL_ARN,
            &[
                "bucket",
                "key",
                "width",
                "height",
                "size",
                "contentType",
                "settings",
            ],
        )
        .comment("An upright thumbnail within 250x250 under thumbnails/")
        .result_path("$.thumbnail")
        .timeout_seconds(65)
        .retry(lambda_retry())
        .next(store_thumbnail),
    );
    thumbnail.define(
        store_thumbnail,
        dynamodb(
            "updateItem",
            Owner::Keep,
            json!({
                "UpdateExpression": format!("SET {} = :thumbnail", attribute::THUMBNAIL),
                "ExpressionAttributeValues": {
                    ":thumbnail": { "M": {
                        "key": { "S.$": "$.thumbnail.key" },
                        "width": { "N.$": "States.JsonToString($.thumbnail.width)" },
                        "height": { "N.$": "States.JsonToString($.thumbnail.height)" },
                        "size": { "N.$": "States.JsonToString($.thumbnail.size)" },
                        "contentType": { "S.$": "$.thumbnail.contentType" },
                        "settings": { "S.$": "$.thumbnail.settings" },
                    } },
                },
            }),
        )
        .result_path("$.stored")
        .output_path("$.thumbnail")
        .end(),
    );
    thumbnail
}

fn mark_completed(top: &Top) -> TaskState {
    dynamodb(
        "updateItem",
        Owner::Keep,
        json!({
            "UpdateExpression": format!("SET #status = :status, {} = :now", attribute::UPDATED_AT),
            "ExpressionAttributeNames": { "#status": attribute::STATUS },
            "ExpressionAttributeValues": {
                ":status": { "S": Status::Completed.as_str() },
                ":now": { "S.$": "$$.State.EnteredTime" },
            },
        }),
    )
    .catch(superseded_by_newer(top.superseded))
    .catch(unrecorded(top))
    .end()
}

/// Any other failure of a write to the item, throttling past its retries
/// included, is recorded as the upload's failure: without it the execution
/// would fail with the item missing or left `PROCESSING` (the simulator's
/// `metadata_store_throttled` and `completion_throttled` scenarios found both).
fn unrecorded(top: &Top) -> Catch {
    Catch::new(["States.ALL"], top.record_failure).result_path("$.error")
}

/// The states that end an execution other than by completing it: a
/// refused format, a failure, a newer upload.
fn define_outcomes(sm: &mut StateMachineBuilder, top: &Top) {
    sm.define(
        top.describe_unsupported,
        PassState::new()
            .comment("Says which format was refused")
            .parameters(json!({
                "Error": ErrorName::NotSupportedImageType.as_str(),
                "Cause.$": "States.Format('only JPEG and PNG images are processed; this object is {}', $.metadata.format)",
            }))
            .result_path("$.error")
            .next(top.record_rejection),
    );
    sm.define(
        top.record_rejection,
        record_outcome(Status::Rejected, top.superseded).next(top.not_supported),
    );
    sm.define(
        top.not_supported,
        FailState::new()
            .error(ErrorName::NotSupportedImageType.as_str())
            .cause_path("$.error.Cause"),
    );
    sm.define(
        top.record_failure,
        record_outcome(Status::Failed, top.superseded).next(top.failed),
    );
    sm.define(
        top.failed,
        FailState::new()
            .comment("Fails with the error that was caught")
            .error_path("$.error.Error")
            .cause_path("$.error.Cause"),
    );
    sm.define(
        top.superseded,
        SucceedState::new().comment(
            "A newer upload of the key was made before this one was processed; its execution \
             owns the item and the thumbnail",
        ),
    );
}
