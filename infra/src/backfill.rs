//! The `ImageBackfill` state machine: every object already under a prefix
//! of the photo bucket, through `ImageProcessing`, by Step Functions'
//! Distributed Map.
//!
//! ```text
//! Backfill (Distributed Map over ListObjectsV2 of the prefix), per object:
//!   IsImageKey ─no─▶ NotAnImageKey
//!     └─yes─▶ LookUpItem ─▶ IsDone ─same ETag, and an outcome it would have again─▶ AlreadyDone
//!                              ├─an item─▶ ItsSequencer ─┐
//!                              └─none────▶ FirstSequencer┴▶ ProcessImage (ImageProcessing, .sync:2) ─▶ Processed
//!                                                              └─fails─▶ WasRejected ─yes─▶ Rejected
//!                                                                           └─no─▶ ProcessingFailed
//! ```
//!
//! An image key is one an upload would have processed: under `incoming/`,
//! not a folder marker. A child execution reuses the item's sequencer, so
//! its writes pass the item's conditions, while an upload made during the
//! backfill (a greater sequencer) still wins over it.
//!
//! A rejected format is an outcome, like a completed image; a child that
//! failed otherwise fails its item, which the Map Run counts against
//! `ToleratedFailurePercentage` and lists in its results. There is no
//! `ItemBatcher`: each item is its own `ImageProcessing` execution either
//! way, and a batch would add an inline Map per batch, saving neither a
//! child execution nor a state transition.
//!
//! JSONPath throughout: LocalStack evaluates JSONata with a Java library
//! it downloads on first use, which an offline machine cannot.

use asl::builder::{
    BranchBuilder, Catch, ChoiceState, FailState, MapState, PassState, StateMachineBuilder,
    TaskState,
};
use asl::{Condition, ExecutionType, ItemReader, ResultWriter, StateMachine};
use photopipe_shared::table::{Status, attribute};
use photopipe_shared::{
    BACKFILL_RESULTS_PREFIX, DEFAULT_THUMBNAIL_SIZE, ErrorName, INCOMING_PREFIX, Sequencer,
    thumbnail_settings,
};
use serde_json::json;

use crate::pipeline;

/// Placeholders the definition uses for values that exist only once the stack does.
pub const PHOTO_BUCKET: &str = "PhotoBucketName";
pub const IMAGE_PROCESSING_ARN: &str = "ImageProcessingArn";
pub use pipeline::TABLE_NAME;

/// The state machine's logical id in the template.
pub const STATE_MACHINE_NAME: &str = "ImageBackfill";

/// The states' names.
pub mod state {
    pub const BACKFILL: &str = "Backfill";
    pub const IS_IMAGE_KEY: &str = "IsImageKey";
    pub const NOT_AN_IMAGE_KEY: &str = "NotAnImageKey";
    pub const LOOK_UP_ITEM: &str = "LookUpItem";
    pub const IS_DONE: &str = "IsDone";
    pub const ALREADY_DONE: &str = "AlreadyDone";
    pub const ITS_SEQUENCER: &str = "ItsSequencer";
    pub const FIRST_SEQUENCER: &str = "FirstSequencer";
    pub const PROCESS_IMAGE: &str = "ProcessImage";
    pub const PROCESSED: &str = "Processed";
    pub const WAS_REJECTED: &str = "WasRejected";
    pub const REJECTED: &str = "Rejected";
    pub const PROCESSING_FAILED: &str = "ProcessingFailed";
}

/// What an item's output says happened to its object.
pub mod outcome {
    pub const NOT_AN_IMAGE_KEY: &str = "NOT_AN_IMAGE_KEY";
    pub const SKIPPED: &str = "SKIPPED";
    pub const PROCESSED: &str = "PROCESSED";
    pub const REJECTED: &str = "REJECTED";
}

/// The execution's input: which objects, and how.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillInput {
    /// A prefix under `incoming/` (or `incoming/` itself).
    pub prefix: String,
    /// Reprocess objects whose item already records a success.
    pub force: bool,
    /// Child executions at once.
    pub max_concurrency: u32,
    /// The Map Run fails once more than this share of its items failed.
    pub tolerated_failure_percentage: u32,
}

/// Child executions at once unless told otherwise: a tenth of an account's
/// default Lambda concurrency (1,000), since each image runs two functions.
pub const DEFAULT_MAX_CONCURRENCY: u32 = 100;
pub const DEFAULT_TOLERATED_FAILURE_PERCENTAGE: u32 = 5;

fn placeholder(name: &str) -> String {
    format!("${{{name}}}")
}

/// The `ImageBackfill` state machine.
pub fn definition() -> StateMachine {
    let mut sm = StateMachineBuilder::new();
    sm.comment(
        "ImageBackfill: runs ImageProcessing for every image already under a prefix of the \
         photo bucket, skipping those whose item records a success for the same bytes and \
         thumbnail settings.",
    );
    let backfill = sm.declare(state::BACKFILL);
    sm.define(backfill, backfill_map());
    match sm.build() {
        Ok(machine) => machine,
        // The definition is a constant; the tests exercise this path.
        Err(errors) => panic!("the ImageBackfill definition is invalid: {errors}"),
    }
}

fn backfill_map() -> MapState {
    MapState::new(processor())
        .comment("One child workflow per object of the listing")
        .distributed(ExecutionType::Standard)
        .label(state::BACKFILL)
        .item_reader(ItemReader {
            resource: "arn:aws:states:::s3:listObjectsV2".into(),
            reader_config: None,
            parameters: Some(json!({
                "Bucket": placeholder(PHOTO_BUCKET),
                "Prefix.$": "$.prefix",
            })),
            arguments: None,
        })
        .item_selector(json!({
            "key.$": "$$.Map.Item.Value.Key",
            // The listing's ETag is quoted; S3 events, and so items, have it bare.
            "etag.$": "States.ArrayGetItem(States.StringSplit($$.Map.Item.Value.Etag, '\"'), 0)",
            "size.$": "$$.Map.Item.Value.Size",
            "force.$": "$.force",
        }))
        .max_concurrency_path("$.maxConcurrency")
        .tolerated_failure_percentage_path("$.toleratedFailurePercentage")
        .result_writer(ResultWriter {
            resource: Some("arn:aws:states:::s3:putObject".into()),
            parameters: Some(json!({
                "Bucket": placeholder(PHOTO_BUCKET),
                "Prefix": BACKFILL_RESULTS_PREFIX.trim_end_matches('/'),
            })),
            arguments: None,
            writer_config: None,
        })
        .end()
}

/// An item's output: its key and what happened to it.
fn outcome(name: &str) -> PassState {
    PassState::new()
        .parameters(json!({ "key.$": "$.key", "outcome": name }))
        .end()
}

fn processor() -> BranchBuilder {
    let mut p = BranchBuilder::new();
    let is_image_key = p.declare(state::IS_IMAGE_KEY);
    let not_an_image_key = p.declare(state::NOT_AN_IMAGE_KEY);
    let look_up = p.declare(state::LOOK_UP_ITEM);
    let is_done = p.declare(state::IS_DONE);
    let already_done = p.declare(state::ALREADY_DONE);
    let its_sequencer = p.declare(state::ITS_SEQUENCER);
    let first_sequencer = p.declare(state::FIRST_SEQUENCER);
    let process = p.declare(state::PROCESS_IMAGE);
    let processed = p.declare(state::PROCESSED);
    let was_rejected = p.declare(state::WAS_REJECTED);
    let rejected = p.declare(state::REJECTED);
    let failed = p.declare(state::PROCESSING_FAILED);

    p.define(
        is_image_key,
        ChoiceState::new()
            .comment("What an upload would have processed: under incoming/, not a folder marker")
            .when(
                Condition::and([
                    Condition::string_matches("$.key", format!("{INCOMING_PREFIX}*")),
                    Condition::not(Condition::string_matches("$.key", "*/")),
                ]),
                look_up,
            )
            .otherwise(not_an_image_key),
    );
    p.define(not_an_image_key, outcome(outcome::NOT_AN_IMAGE_KEY));
    p.define(
        look_up,
        TaskState::new("arn:aws:states:::dynamodb:getItem")
            .comment("The object's item, to skip work done already and to reuse its sequencer")
            .parameters(json!({
                "TableName": placeholder(TABLE_NAME),
                "Key": { attribute::IMAGE_KEY: { "S.$": "$.key" } },
                "ConsistentRead": true,
            }))
            .result_path("$.found")
            .timeout_seconds(10)
            .retry(pipeline::dynamodb_retry())
            .next(is_done),
    );
    p.define(
        is_done,
        ChoiceState::new()
            .comment("Done already when these bytes would end as they did; else the item's sequencer, if any")
            .when(done_already(), already_done)
            .when(
                Condition::is_present(item(attribute::SEQUENCER), true),
                its_sequencer,
            )
            .otherwise(first_sequencer),
    );
    p.define(already_done, outcome(outcome::SKIPPED));
    p.define(
        its_sequencer,
        PassState::new()
            .comment("The item's own: the child's conditional writes pass, a newer upload's win")
            .input_path(item(attribute::SEQUENCER))
            .result_path("$.sequencer")
            .next(process),
    );
    p.define(
        first_sequencer,
        PassState::new()
            .comment("No item: the sequencer every S3 event's exceeds")
            .result(json!(Sequencer::default().as_str()))
            .result_path("$.sequencer")
            .next(process),
    );
    p.define(
        process,
        process_image()
            .catch(Catch::new(["States.TaskFailed"], was_rejected).result_path("$.error"))
            .next(processed),
    );
    p.define(
        processed,
        PassState::new()
            .parameters(json!({
                "key.$": "$.key",
                "outcome": outcome::PROCESSED,
                "execution.$": "$.child.execution",
            }))
            .end(),
    );
    p.define(
        was_rejected,
        ChoiceState::new()
            .comment("A refused format is an outcome like a completed image; other failures fail the item")
            .when(
                Condition::string_matches(
                    "$.error.Cause",
                    format!("*{}*", ErrorName::NotSupportedImageType.as_str()),
                ),
                rejected,
            )
            .otherwise(failed),
    );
    p.define(rejected, outcome(outcome::REJECTED));
    p.define(
        failed,
        FailState::new()
            .comment("ImageProcessing recorded the failure on the item; the Map Run counts it")
            .error_path("$.error.Error")
            .cause_path("$.error.Cause"),
    );
    p
}

/// The path of the found item's attribute `name`, a string.
fn item(name: &str) -> String {
    format!("$.found.Item.{name}.S")
}

/// The failures these bytes would meet again: the image itself is at fault.
/// Others (throttling that outlasted the retries, a permission) may not recur.
fn permanent_for_these_bytes() -> Vec<&'static str> {
    [
        ErrorName::EmptyObject,
        ErrorName::CorruptImage,
        ErrorName::ImageTooLarge,
    ]
    .iter()
    .map(|e| e.as_str())
    .chain(pipeline::REKOGNITION_PERMANENT)
    .collect()
}

/// Processing these bytes again would end as it did: completed with the
/// current thumbnail settings, rejected, or failed for a fault of the image.
/// Each attribute is tested for presence before it is compared (`And`
/// stops at the first condition that fails), since a comparison with a
/// missing path is an error.
fn done_already() -> Condition {
    let status = item(attribute::STATUS);
    let settings = format!("$.found.Item.{}.M.settings.S", attribute::THUMBNAIL);
    let error = item(attribute::ERROR);
    let completed = Condition::and([
        Condition::string_equals(status.clone(), Status::Completed.as_str()),
        Condition::is_present(settings.clone(), true),
        Condition::string_equals(settings, thumbnail_settings(DEFAULT_THUMBNAIL_SIZE)),
    ]);
    let rejected = Condition::string_equals(status.clone(), Status::Rejected.as_str());
    let failed = Condition::and([
        Condition::string_equals(status, Status::Failed.as_str()),
        Condition::is_present(error.clone(), true),
        Condition::or(
            permanent_for_these_bytes()
                .into_iter()
                .map(|e| Condition::string_equals(error.clone(), e)),
        ),
    ]);
    Condition::and([
        Condition::boolean_equals("$.force", false),
        Condition::is_present(item(attribute::ETAG), true),
        Condition::compare(
            item(attribute::ETAG),
            asl::Comparison::StringEqualsPath("$.etag".into()),
        ),
        Condition::or([completed, rejected, failed]),
    ])
}

/// `ImageProcessing` for the object, as a child execution whose outcome is
/// this state's.
fn process_image() -> TaskState {
    TaskState::new("arn:aws:states:::states:startExecution.sync:2")
        .comment("ImageProcessing, as for an upload of these bytes")
        .parameters(json!({
            "StateMachineArn": placeholder(IMAGE_PROCESSING_ARN),
            "Input": {
                "bucket": placeholder(PHOTO_BUCKET),
                "key.$": "$.key",
                "size.$": "$.size",
                "etag.$": "$.etag",
                "sequencer.$": "$.sequencer",
            },
        }))
        .result_selector(json!({ "execution.$": "$.ExecutionArn" }))
        .result_path("$.child")
        .retry(
            asl::Retrier::new([
                "StepFunctions.ExecutionLimitExceededException",
                "StepFunctions.AWSStepFunctionsException",
                "StepFunctions.SdkClientException",
            ])
            .interval_seconds(1)
            .max_attempts(6)
            .backoff_rate(2.0)
            .max_delay_seconds(30)
            .jitter_strategy(asl::JitterStrategy::Full),
        )
}
