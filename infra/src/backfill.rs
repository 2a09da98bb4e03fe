//! The `ImageBackfill` state machine: every object already under a prefix
//! of the photo bucket, through `ImageProcessing`, by Step Functions'
//! Distributed Map.
//!
//! ```text
//! Backfill (Distributed Map over ListObjectsV2 of the prefix), per object:
//!   IsImageKey ─no─▶ NotAnImageKey
//!     └─yes─▶ LookUpItem ─▶ IsDone ─same ETag and thumbnail settings, COMPLETED─▶ AlreadyDone
//!                              └─otherwise─▶ ProcessImage (ImageProcessing, .sync:2)
//!                                              └─fails─▶ WasRejected ─yes─▶ Rejected
//!                                                           └─no─▶ ProcessingFailed
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
//! The Map is JSONPath, which every engine we test on serves; the states of
//! its processor are JSONata, which says "this attribute, if the item has
//! it" without a Choice per attribute.

use asl::builder::{
    BranchBuilder, Catch, ChoiceState, FailState, MapState, StateMachineBuilder, SucceedState,
    TaskState,
};
use asl::{Condition, ExecutionType, ItemReader, QueryLanguage, ResultWriter, StateMachine};
use photopipe_shared::table::{Status, attribute};
use photopipe_shared::{
    BACKFILL_RESULTS_PREFIX, DEFAULT_THUMBNAIL_SIZE, ErrorName, INCOMING_PREFIX, Sequencer,
    thumbnail_settings,
};
use serde_json::{Value, json};

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
    pub const PROCESS_IMAGE: &str = "ProcessImage";
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
            "etag.$": "$$.Map.Item.Value.Etag",
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

/// `{% … %}`: a JSONata expression.
fn jsonata(expression: &str) -> String {
    format!("{{% {expression} %}}")
}

/// An item's output: its key and what happened to it.
fn outcome(name: &str) -> Value {
    json!(jsonata(&format!(
        "{{ 'key': $states.input.key, 'outcome': '{name}' }}"
    )))
}

fn processor() -> BranchBuilder {
    let mut p = BranchBuilder::new();
    let is_image_key = p.declare(state::IS_IMAGE_KEY);
    let not_an_image_key = p.declare(state::NOT_AN_IMAGE_KEY);
    let look_up = p.declare(state::LOOK_UP_ITEM);
    let is_done = p.declare(state::IS_DONE);
    let already_done = p.declare(state::ALREADY_DONE);
    let process = p.declare(state::PROCESS_IMAGE);
    let was_rejected = p.declare(state::WAS_REJECTED);
    let rejected = p.declare(state::REJECTED);
    let failed = p.declare(state::PROCESSING_FAILED);

    p.define(
        is_image_key,
        ChoiceState::new()
            .comment("What an upload would have processed: under incoming/, not a folder marker")
            .query_language(QueryLanguage::Jsonata)
            .when(
                Condition::jsonata(jsonata(&format!(
                    "$substring($states.input.key, 0, {len}) = '{INCOMING_PREFIX}' and \
                     $substring($states.input.key, -1) != '/'",
                    len = INCOMING_PREFIX.len(),
                ))),
                look_up,
            )
            .otherwise(not_an_image_key),
    );
    p.define(
        not_an_image_key,
        SucceedState::new()
            .query_language(QueryLanguage::Jsonata)
            .output(outcome(outcome::NOT_AN_IMAGE_KEY)),
    );
    p.define(look_up, look_up_item().next(is_done));
    p.define(
        is_done,
        ChoiceState::new()
            .comment("Done already: a success recorded for these bytes and these thumbnails")
            .query_language(QueryLanguage::Jsonata)
            .when(Condition::jsonata(jsonata(&done_already())), already_done)
            .otherwise(process),
    );
    p.define(
        already_done,
        SucceedState::new()
            .query_language(QueryLanguage::Jsonata)
            .output(outcome(outcome::SKIPPED)),
    );
    p.define(
        process,
        process_image()
            .catch(Catch::new(["States.TaskFailed"], was_rejected))
            .end(),
    );
    p.define(
        was_rejected,
        ChoiceState::new()
            .comment("A refused format is an outcome like a completed image; other failures fail the item")
            .query_language(QueryLanguage::Jsonata)
            .when(
                Condition::jsonata(jsonata(&format!(
                    "$contains($states.input.Cause, '{}')",
                    ErrorName::NotSupportedImageType.as_str()
                ))),
                rejected,
            )
            .otherwise(failed),
    );
    p.define(
        rejected,
        SucceedState::new()
            .query_language(QueryLanguage::Jsonata)
            .output(json!(jsonata(&format!(
                "{{ 'key': $key, 'outcome': '{}' }}",
                outcome::REJECTED
            )))),
    );
    p.define(
        failed,
        FailState::new()
            .comment("ImageProcessing recorded the failure on the item; the Map Run counts it")
            .query_language(QueryLanguage::Jsonata)
            .error(jsonata("$states.input.Error"))
            .cause(jsonata("$states.input.Cause")),
    );
    p
}

/// The object's item, or `{}`: JSONata reads a missing attribute as
/// undefined, which equals nothing.
fn look_up_item() -> TaskState {
    TaskState::new("arn:aws:states:::dynamodb:getItem")
        .comment("The item of the object, to skip work done already and to reuse its sequencer")
        .query_language(QueryLanguage::Jsonata)
        .arguments(json!({
            "TableName": placeholder(TABLE_NAME),
            "Key": { attribute::IMAGE_KEY: { "S": jsonata("$states.input.key") } },
            "ConsistentRead": true,
        }))
        .assign(json!({
            "key": jsonata("$states.input.key"),
            "item": jsonata("$exists($states.result.Item) ? $states.result.Item : {}"),
        }))
        .output(json!(jsonata("$states.input")))
        .timeout_seconds(10)
        .retry(pipeline::dynamodb_retry())
}

/// The listing's ETag is quoted (`"\"…\""`); S3 events, and so the item,
/// have it bare.
const BARE_ETAG: &str = "$replace($states.input.etag, '\"', '')";

fn done_already() -> String {
    format!(
        "$states.input.force != true and $item.{status}.S = '{completed}' and \
         $item.{etag}.S = {BARE_ETAG} and $item.{thumbnail}.M.settings.S = '{settings}'",
        status = attribute::STATUS,
        completed = Status::Completed.as_str(),
        etag = attribute::ETAG,
        thumbnail = attribute::THUMBNAIL,
        settings = thumbnail_settings(DEFAULT_THUMBNAIL_SIZE),
    )
}

/// `ImageProcessing` for the object, as a child execution whose outcome is
/// this state's.
fn process_image() -> TaskState {
    TaskState::new("arn:aws:states:::states:startExecution.sync:2")
        .comment("ImageProcessing, as for an upload of these bytes")
        .query_language(QueryLanguage::Jsonata)
        .arguments(json!({
            "StateMachineArn": placeholder(IMAGE_PROCESSING_ARN),
            "Input": {
                "bucket": placeholder(PHOTO_BUCKET),
                "key": jsonata("$states.input.key"),
                "size": jsonata("$states.input.size"),
                "etag": jsonata(BARE_ETAG),
                "sequencer": jsonata(&format!(
                    "$exists($item.{seq}.S) ? $item.{seq}.S : '{first}'",
                    seq = attribute::SEQUENCER,
                    first = Sequencer::default().as_str(),
                )),
            },
        }))
        .output(json!(jsonata(&format!(
            "{{ 'key': $states.input.key, 'outcome': '{}', 'execution': $states.result.ExecutionArn }}",
            outcome::PROCESSED
        ))))
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
