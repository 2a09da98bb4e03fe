//! The builder: a sample machine's output, and the mistakes `build` refuses.

use asl::builder::*;
use asl::{Condition, JitterStrategy, Retrier, StateMachine};
use serde_json::json;

/// A machine shaped like the photo pipeline, touching every state the
/// pipeline needs.
fn sample() -> StateMachine {
    let mut sm = StateMachineBuilder::new();
    sm.comment("Process one uploaded photo")
        .timeout_seconds(300);
    let extract = sm.declare("ExtractMetadata");
    let supported = sm.declare("IsSupported");
    let process = sm.declare("Process");
    let record = sm.declare("Record");
    let done = sm.declare("Done");
    let unsupported = sm.declare("Unsupported");
    let failed = sm.declare("Failed");

    sm.define(
        extract,
        TaskState::new("${ExtractMetadataFunctionArn}")
            .parameters(
                json!({ "bucket.$": "$.detail.bucket.name", "key.$": "$.detail.object.key" }),
            )
            .result_selector(
                json!({ "format.$": "$.Payload.format", "width.$": "$.Payload.width" }),
            )
            .result_path("$.metadata")
            .timeout_seconds(30)
            .retry(
                Retrier::new(["Lambda.ServiceException", "Lambda.TooManyRequestsException"])
                    .interval_seconds(1)
                    .max_attempts(3)
                    .backoff_rate(2.0)
                    .max_delay_seconds(10)
                    .jitter_strategy(JitterStrategy::Full),
            )
            .catch(Catch::new(["UnsupportedFormat"], unsupported).result_path("$.error"))
            .catch(Catch::new(["States.ALL"], failed).result_path("$.error"))
            .next(supported),
    );
    sm.define(
        supported,
        ChoiceState::new()
            .when(
                Condition::or([
                    Condition::string_equals("$.metadata.format", "jpeg"),
                    Condition::string_equals("$.metadata.format", "png"),
                ]),
                process,
            )
            .otherwise(unsupported),
    );

    let mut thumbnail = BranchBuilder::new();
    thumbnail.add(
        "Thumbnail",
        TaskState::new("${ThumbnailFunctionArn}")
            .parameters(
                json!({ "bucket.$": "$.detail.bucket.name", "key.$": "$.detail.object.key" }),
            )
            .end(),
    );
    let mut analyse = BranchBuilder::new();
    let skip = analyse.declare("SkipSmall");
    let labels = analyse.declare("DetectLabels");
    let small = analyse.declare("TooSmall");
    analyse.define(
        skip,
        ChoiceState::new()
            .when(Condition::numeric_less_than("$.metadata.width", 64), small)
            .otherwise(labels),
    );
    analyse.define(labels, TaskState::new("${DetectLabelsFunctionArn}").end());
    analyse.define(
        small,
        PassState::new().result(json!({ "labels": [] })).end(),
    );
    sm.define(
        process,
        ParallelState::new()
            .branch(thumbnail)
            .branch(analyse)
            .result_path("$.results")
            .catch(Catch::new(["States.ALL"], failed).result_path("$.error"))
            .next(record),
    );
    sm.define(
        record,
        TaskState::new("arn:aws:states:::dynamodb:putItem")
            .parameters(json!({
                "TableName": "${PhotosTable}",
                "Item": { "pk": { "S.$": "$.detail.object.key" } }
            }))
            .discard_result()
            .next(done),
    );
    sm.define(done, SucceedState::new());
    sm.define(
        unsupported,
        FailState::new()
            .error("UnsupportedFormat")
            .cause("only jpeg and png are processed"),
    );
    sm.define(
        failed,
        FailState::new()
            .error_path("$.error.Error")
            .cause_path("$.error.Cause"),
    );
    sm.build().expect("the sample machine is complete")
}

#[test]
fn sample_machine_snapshot() {
    insta::assert_yaml_snapshot!("sample_machine", sample());
}

#[test]
fn sample_machine_round_trips() {
    let machine = sample();
    let json = serde_json::to_value(&machine).expect("serializes");
    let back: StateMachine = serde_json::from_value(json.clone()).expect("parses back");
    assert_eq!(back, machine);
}

fn messages(errors: BuildErrors) -> Vec<String> {
    errors.0.iter().map(ToString::to_string).collect()
}

#[test]
fn handle_from_another_branch_is_refused() {
    let mut sm = StateMachineBuilder::new();
    let parallel = sm.declare("Fan");
    let outside = sm.add("Outside", SucceedState::new());
    let mut branch = BranchBuilder::new();
    branch.add("Inner", TaskState::new("arn:inner").next(outside));
    sm.define(parallel, ParallelState::new().branch(branch).next(outside));
    let errors = sm.build().expect_err("the branch points outside itself");
    assert_eq!(
        messages(errors),
        [
            "States.Fan.Branches[0].States.Inner: refers to a state of another builder: a branch may only move between its own states, so add the target to this branch"
        ]
    );
}

#[test]
fn every_structural_mistake_is_reported() {
    let mut sm = StateMachineBuilder::new();
    let first = sm.declare("First");
    let never = sm.declare("NeverDefined");
    sm.define(first, PassState::new());
    sm.define(first, PassState::new().next(never));
    sm.add("First", SucceedState::new());
    sm.add("x".repeat(81), SucceedState::new());
    let mut empty = BranchBuilder::new();
    empty.comment("nothing here");
    sm.add("Fan", ParallelState::new().branch(empty).end());
    sm.add("Pick", ChoiceState::new());
    let errors = sm.build().expect_err("many mistakes");
    assert_eq!(
        messages(errors),
        [
            "States.First: was defined twice: define each declared state once".to_owned(),
            "States.First: has no transition: call .next(..) or .end()".to_owned(),
            "States.NeverDefined: was declared but never defined: call define() with its state".to_owned(),
            "States.First: the name is used by another state of this machine: state names must be unique across all branches".to_owned(),
            format!("States.{}: the name is longer than 80 characters: shorten it", "x".repeat(81)),
            "States.Fan.Branches[0]: has no states: add at least one".to_owned(),
            "States.Pick: choice state has no rules: add one with .when(..)".to_owned(),
        ]
    );
}

#[test]
fn defining_a_foreign_handle_is_refused() {
    let mut other = StateMachineBuilder::new();
    let foreign = other.declare("Elsewhere");
    let mut sm = StateMachineBuilder::new();
    sm.add("Only", SucceedState::new());
    sm.define(foreign, SucceedState::new());
    let errors = sm.build().expect_err("foreign define");
    assert_eq!(
        messages(errors),
        [
            "(root): refers to a state of another builder: a branch may only move between its own states, so add the target to this branch"
        ]
    );
}

#[test]
fn build_validates_what_handles_cannot_prevent() {
    let mut sm = StateMachineBuilder::new();
    sm.add(
        "Resize",
        TaskState::new("arn:resize").result_path("$.items[*]").end(),
    );
    let errors = sm.build().expect_err("a wildcard cannot be written to");
    assert_eq!(
        messages(errors),
        [
            "States.Resize: `ResultPath` is not a valid reference path (`$.items[*]`): use `$` followed by `.name`, `['name']` or `[index]` steps"
        ]
    );
}

#[test]
fn sample_machine_mermaid_snapshot() {
    insta::assert_snapshot!("sample_machine_mermaid", asl::to_mermaid(&sample()));
}
