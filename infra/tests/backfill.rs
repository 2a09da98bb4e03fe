//! What ImageBackfill does with each object of the listing: its item
//! processor run in the simulator, with the table's item and the child
//! execution's outcome as mocks.

use std::sync::{Arc, Mutex};

use infra::backfill::{self, outcome, state};
use photopipe_shared::{DEFAULT_THUMBNAIL_SIZE, Sequencer, thumbnail_settings};
use serde_json::{Value, json};
use sim::{Mocks, Response, Simulator, Status, coverage};

/// The processor of the Distributed Map as a machine of its own: what one
/// child workflow runs for one object.
fn processor() -> asl::StateMachine {
    let machine = backfill::definition();
    let Some(asl::State::Map(map)) = machine.states.get(state::BACKFILL) else {
        panic!("the backfill machine starts with its Map");
    };
    let processor = map.processor().expect("the Map has a processor").clone();
    asl::StateMachine {
        comment: None,
        query_language: None,
        start_at: processor.start_at,
        states: processor.states,
        version: None,
        timeout_seconds: None,
    }
}

/// An object of the listing, as the Map's `ItemSelector` gives it (the
/// ETag unquoted).
fn object(key: &str, force: bool) -> Value {
    json!({ "key": key, "etag": ETAG, "size": 48_213, "force": force })
}

/// An item as DynamoDB's `GetItem` returns it.
fn item(status: &str, etag: &str, settings: Option<&str>) -> Value {
    failed_item(status, etag, settings, None)
}

fn failed_item(status: &str, etag: &str, settings: Option<&str>, error: Option<&str>) -> Value {
    let mut thumbnail = json!({ "key": { "S": "thumbnails/a.jpg" } });
    if let Some(settings) = settings {
        thumbnail["settings"] = json!({ "S": settings });
    }
    let mut found = json!({ "Item": {
        "imageKey": { "S": "incoming/a.jpg" },
        "sequencer": { "S": "0000000000000000000000000000001F" },
        "status": { "S": status },
        "etag": { "S": etag },
        "thumbnail": { "M": thumbnail },
    } });
    if let Some(error) = error {
        found["Item"]["error"] = json!({ "S": error });
    }
    found
}

const ETAG: &str = "5d41402abc4b2a76b9719d911017c592";

struct Run {
    execution: sim::Execution,
    /// The Choice rules, catchers and exhausted retriers taken.
    routes: Vec<coverage::Route>,
    /// The inputs of the ImageProcessing executions started.
    children: Vec<Value>,
}

/// The processor on `object`, the table holding `found` and the child
/// execution ending with `child`.
fn run(object: Value, found: Value, child: Response) -> Run {
    run_with(object, Response::ok(found), child)
}

/// As [`run`], with the lookup answering `found` (a result or a throw).
fn run_with(object: Value, found: Response, child: Response) -> Run {
    let children = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::clone(&children);
    let mocks = Mocks::new()
        .resource("arn:aws:states:::dynamodb:getItem", move |_| found.clone())
        .state(state::PROCESS_IMAGE, move |call| {
            if let Ok(mut started) = started.lock() {
                started.push(call.parameters["Input"].clone());
            }
            child.clone()
        });
    let execution = Simulator::new(&mocks).run(&processor(), object);
    let children = children.lock().map(|c| c.clone()).unwrap_or_default();
    Run {
        routes: execution.routes.clone(),
        execution,
        children,
    }
}

fn succeeded() -> Response {
    Response::ok(json!({
        "ExecutionArn": "arn:aws:states:us-east-1:000000000000:execution:ImageProcessing:child",
        "Status": "SUCCEEDED",
        "Output": {},
    }))
}

fn child_failed(error: &str) -> Response {
    Response::throw(
        "States.TaskFailed",
        json!({ "Status": "FAILED", "Error": error, "Cause": "…" }).to_string(),
    )
}

fn outcome_of(run: &Run) -> &str {
    run.execution
        .output
        .as_ref()
        .and_then(|o| o["outcome"].as_str())
        .unwrap_or("(none)")
}

fn current_settings() -> String {
    thumbnail_settings(DEFAULT_THUMBNAIL_SIZE)
}

#[test]
fn keys_no_upload_would_have_processed_are_left_alone() {
    for key in [
        "incoming/album/",
        "thumbnails/a.jpg",
        "backfill-results/x/manifest.json",
    ] {
        let run = run(object(key, false), json!({}), succeeded());
        assert_eq!(run.execution.status, Status::Succeeded, "{key}");
        assert_eq!(outcome_of(&run), outcome::NOT_AN_IMAGE_KEY, "{key}");
        assert!(run.children.is_empty(), "{key}");
    }
}

#[test]
fn an_object_without_an_item_is_processed_as_the_first_upload_of_its_key() {
    let run = run(object("incoming/a.jpg", false), json!({}), succeeded());
    assert_eq!(outcome_of(&run), outcome::PROCESSED);
    assert_eq!(
        run.children,
        [json!({
            "bucket": "${PhotoBucketName}",
            "key": "incoming/a.jpg",
            "size": 48_213,
            "etag": ETAG,
            "sequencer": Sequencer::default().as_str(),
        })]
    );
}

#[test]
fn a_success_for_the_same_bytes_and_settings_is_skipped_unless_forced() {
    let done = item("COMPLETED", ETAG, Some(&current_settings()));
    let skipped = run(object("incoming/a.jpg", false), done.clone(), succeeded());
    assert_eq!(outcome_of(&skipped), outcome::SKIPPED);
    assert!(skipped.children.is_empty());

    let forced = run(object("incoming/a.jpg", true), done, succeeded());
    assert_eq!(outcome_of(&forced), outcome::PROCESSED);
    // The item's own sequencer, so the child's conditional writes pass.
    assert_eq!(
        forced.children[0]["sequencer"],
        "0000000000000000000000000000001F"
    );
}

#[test]
fn an_outcome_the_same_bytes_would_meet_again_is_skipped() {
    for (why, found) in [
        (
            "rejected",
            failed_item("REJECTED", ETAG, None, Some("NotSupportedImageType")),
        ),
        (
            "corrupt",
            failed_item("FAILED", ETAG, None, Some("CorruptImage")),
        ),
        (
            "unreadable to Rekognition",
            failed_item(
                "FAILED",
                ETAG,
                None,
                Some("Rekognition.InvalidImageFormatException"),
            ),
        ),
    ] {
        let run = run(object("incoming/a.jpg", false), found, succeeded());
        assert_eq!(outcome_of(&run), outcome::SKIPPED, "{why}");
        assert!(run.children.is_empty(), "{why}");
    }
}

#[test]
fn other_bytes_other_settings_or_no_success_are_processed_again() {
    let settings = current_settings();
    for (why, found) in [
        ("other bytes", item("COMPLETED", "0123", Some(&settings))),
        (
            "other settings",
            item("COMPLETED", ETAG, Some("fit 100x100")),
        ),
        (
            "made before settings were recorded",
            item("COMPLETED", ETAG, None),
        ),
        (
            "failed on throttling",
            failed_item("FAILED", ETAG, None, Some("DynamoDB.ThrottlingException")),
        ),
        (
            "rejected other bytes",
            failed_item("REJECTED", "0123", None, Some("NotSupportedImageType")),
        ),
        (
            "still processing",
            item("PROCESSING", ETAG, Some(&settings)),
        ),
    ] {
        let run = run(object("incoming/a.jpg", false), found, succeeded());
        assert_eq!(outcome_of(&run), outcome::PROCESSED, "{why}");
        assert_eq!(run.children.len(), 1, "{why}");
    }
}

#[test]
fn a_rejected_format_is_an_outcome_and_other_failures_fail_the_item() {
    let rejected = run(
        object("incoming/a.gif", false),
        json!({}),
        child_failed("NotSupportedImageType"),
    );
    assert_eq!(rejected.execution.status, Status::Succeeded);
    assert_eq!(outcome_of(&rejected), outcome::REJECTED);

    let corrupt = run(
        object("incoming/a.jpg", false),
        json!({}),
        child_failed("CorruptImage"),
    );
    assert_eq!(corrupt.execution.status, Status::Failed);
    let failure = corrupt.execution.failure.expect("a failure");
    assert_eq!(failure.error, "States.TaskFailed");
    assert!(failure.cause.contains("CorruptImage"), "{}", failure.cause);
}

/// Every run the tests above make, and the two whose retries run out.
fn all_runs() -> Vec<Run> {
    let settings = current_settings();
    let mut runs = vec![
        run(object("incoming/album/", false), json!({}), succeeded()),
        run(object("incoming/a.jpg", false), json!({}), succeeded()),
        run(
            object("incoming/a.jpg", false),
            item("COMPLETED", ETAG, Some(&settings)),
            succeeded(),
        ),
        run(
            object("incoming/a.jpg", false),
            item("COMPLETED", "0123", Some(&settings)),
            succeeded(),
        ),
        run(
            object("incoming/a.gif", false),
            json!({}),
            child_failed("NotSupportedImageType"),
        ),
        run(
            object("incoming/a.jpg", false),
            json!({}),
            child_failed("CorruptImage"),
        ),
    ];
    runs.push(run_with(
        object("incoming/a.jpg", false),
        Response::throw("DynamoDB.ThrottlingException", "Rate exceeded"),
        succeeded(),
    ));
    runs.push(run(
        object("incoming/a.jpg", false),
        json!({}),
        Response::throw(
            "StepFunctions.ExecutionLimitExceededException",
            "too many executions",
        ),
    ));
    runs
}

#[test]
fn throttling_past_the_retries_fails_the_item_with_its_name() {
    let runs = all_runs();
    let names: Vec<Option<&str>> = runs[runs.len() - 2..]
        .iter()
        .map(|r| r.execution.failure.as_ref().map(|f| f.error.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            Some("DynamoDB.ThrottlingException"),
            Some("StepFunctions.ExecutionLimitExceededException")
        ]
    );
}

#[test]
fn every_route_of_the_processor_is_taken() {
    let mut taken = std::collections::BTreeSet::new();
    for run in all_runs() {
        taken.extend(run.routes);
    }
    let missing: Vec<String> = coverage::routes(&processor())
        .into_iter()
        .filter(|route| !taken.contains(route))
        .map(|route| route.to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "routes no test takes:\n{}",
        missing.join("\n")
    );
}
