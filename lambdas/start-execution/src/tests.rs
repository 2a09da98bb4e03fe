//! The handler against an in-memory Step Functions that keeps executions by
//! name the way the real service does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use photopipe_shared::naming::MAX_NAME_LEN;
use photopipe_shared::{ExecutionInput, Sequencer};
use serde_json::{Value, json};

use crate::handler::{Outcome, RecordSummary, Starter, Summary, handle};
use crate::sfn::{StartError, StepFunctions};

const STATE_MACHINE_ARN: &str =
    "arn:aws:states:eu-west-1:123456789012:stateMachine:ImageProcessing";

#[derive(Debug)]
struct Execution {
    arn: String,
    input: ExecutionInput,
    running: bool,
}

/// Step Functions as far as `StartExecution` goes: names must be valid, a
/// name is taken for good once used, and an identical request for a running
/// execution returns that execution instead of failing.
#[derive(Debug, Default)]
struct FakeStepFunctions {
    executions: Mutex<BTreeMap<String, Execution>>,
    /// Object keys whose start fails with the given error.
    failing_keys: Mutex<HashMap<String, StartError>>,
}

impl FakeStepFunctions {
    fn fail_key(&self, key: &str, error: StartError) {
        self.failing_keys
            .lock()
            .expect("lock")
            .insert(key.to_owned(), error);
    }

    fn finish_all(&self) {
        for execution in self.executions.lock().expect("lock").values_mut() {
            execution.running = false;
        }
    }

    fn started_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .executions
            .lock()
            .expect("lock")
            .values()
            .map(|execution| execution.input.key.clone())
            .collect();
        keys.sort();
        keys
    }

    fn arn_of(&self, key: &str) -> String {
        let executions = self.executions.lock().expect("lock");
        let execution = executions
            .values()
            .find(|execution| execution.input.key == key)
            .unwrap_or_else(|| panic!("no execution for {key:?}"));
        execution.arn.clone()
    }

    fn names(&self) -> Vec<String> {
        self.executions
            .lock()
            .expect("lock")
            .keys()
            .cloned()
            .collect()
    }
}

impl StepFunctions for FakeStepFunctions {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: String,
    ) -> Result<String, StartError> {
        assert_eq!(state_machine_arn, STATE_MACHINE_ARN);
        let valid_name = (1..=MAX_NAME_LEN).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(StartError::Permanent(format!("InvalidName: {name}")));
        }
        let input: ExecutionInput =
            serde_json::from_str(&input).expect("input is an ExecutionInput");
        if let Some(error) = self.failing_keys.lock().expect("lock").get(&input.key) {
            return Err(error.clone());
        }
        let mut executions = self.executions.lock().expect("lock");
        if let Some(existing) = executions.get(name) {
            return if existing.running && existing.input == input {
                Ok(existing.arn.clone())
            } else {
                Err(StartError::AlreadyExists)
            };
        }
        let arn = format!("arn:aws:states:eu-west-1:123456789012:execution:ImageProcessing:{name}");
        executions.insert(
            name.to_owned(),
            Execution {
                arn: arn.clone(),
                input,
                running: true,
            },
        );
        Ok(arn)
    }
}

fn starter() -> Starter<FakeStepFunctions> {
    Starter {
        sfn: FakeStepFunctions::default(),
        state_machine_arn: STATE_MACHINE_ARN.to_owned(),
    }
}

/// A record as S3 writes it, with the key already encoded the way S3 does.
fn record(encoded_key: &str, etag: &str) -> Value {
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2024-05-04T13:02:11.123Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:AIDAEXAMPLE" },
        "requestParameters": { "sourceIPAddress": "203.0.113.7" },
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "incoming-uploads",
            "bucket": {
                "name": "photos",
                "ownerIdentity": { "principalId": "A3NL1KOZZKExample" },
                "arn": "arn:aws:s3:::photos"
            },
            "object": {
                "key": encoded_key,
                "size": 1024,
                "eTag": etag,
                "sequencer": "0055AED6DCD90281E5"
            }
        }
    })
}

fn event(records: impl IntoIterator<Item = Value>) -> LambdaEvent<S3Event> {
    let records: Vec<Value> = records.into_iter().collect();
    let payload = serde_json::from_value(json!({ "Records": records })).expect("a valid S3 event");
    LambdaEvent::new(payload, Context::default())
}

fn outcomes(summary: &Summary) -> Vec<(&str, Outcome)> {
    summary
        .records
        .iter()
        .map(|r| (r.key.as_str(), r.outcome))
        .collect()
}

#[tokio::test]
async fn starts_one_execution_per_record_with_decoded_keys() {
    let starter = starter();
    let summary = handle(
        &starter,
        event([
            record("incoming/summer+holiday/IMG+0001.jpg", "e1"),
            record("incoming/%C3%BCber+caf%C3%A9+%F0%9F%93%B7.png", "e2"),
            record("incoming/1%2B1+%3D+2.jpg", "e3"),
        ]),
    )
    .await
    .expect("all records start");

    assert_eq!(
        outcomes(&summary),
        [
            ("incoming/summer holiday/IMG 0001.jpg", Outcome::Started),
            ("incoming/über café 📷.png", Outcome::Started),
            ("incoming/1+1 = 2.jpg", Outcome::Started),
        ]
    );
    assert_eq!(
        starter.sfn.started_keys(),
        [
            "incoming/1+1 = 2.jpg",
            "incoming/summer holiday/IMG 0001.jpg",
            "incoming/über café 📷.png"
        ]
    );
    for record in &summary.records {
        assert_eq!(
            record.execution_arn.as_deref(),
            Some(starter.sfn.arn_of(&record.key).as_str())
        );
    }
}

#[tokio::test]
async fn the_execution_input_carries_the_object() {
    let starter = starter();
    let mut versioned = record("incoming/a.jpg", "d41d8cd98f00b204e9800998ecf8427e");
    versioned["s3"]["object"]["versionId"] = json!("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY");
    versioned["s3"]["object"]["size"] = json!(5_000_000_000_u64);
    handle(&starter, event([versioned])).await.expect("starts");

    let executions = starter.sfn.executions.lock().expect("lock");
    let inputs: Vec<&ExecutionInput> = executions.values().map(|e| &e.input).collect();
    assert_eq!(
        inputs,
        [&ExecutionInput {
            bucket: "photos".to_owned(),
            key: "incoming/a.jpg".to_owned(),
            size: 5_000_000_000,
            etag: Some("d41d8cd98f00b204e9800998ecf8427e".to_owned()),
            version_id: Some("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY".to_owned()),
            sequencer: Sequencer::from_event("0055AED6DCD90281E5").expect("hexadecimal"),
        }]
    );
}

#[tokio::test]
async fn a_redelivered_event_starts_nothing_new() {
    let starter = starter();
    let records = || {
        [
            record("incoming/a.jpg", "e1"),
            record("incoming/b+c.jpg", "e2"),
        ]
    };
    let first = handle(&starter, event(records()))
        .await
        .expect("first delivery");
    assert_eq!(
        outcomes(&first),
        [
            ("incoming/a.jpg", Outcome::Started),
            ("incoming/b c.jpg", Outcome::Started)
        ]
    );

    // Once the executions have finished, Step Functions refuses the name.
    starter.sfn.finish_all();
    let second = handle(&starter, event(records()))
        .await
        .expect("a duplicate is no error");
    assert_eq!(
        outcomes(&second),
        [
            ("incoming/a.jpg", Outcome::Duplicate),
            ("incoming/b c.jpg", Outcome::Duplicate)
        ]
    );
    let arns = |summary: &Summary| -> Vec<Option<String>> {
        summary
            .records
            .iter()
            .map(|r| r.execution_arn.clone())
            .collect()
    };
    assert_eq!(arns(&second), arns(&first));
    assert_eq!(starter.sfn.names().len(), 2);
}

#[tokio::test]
async fn a_duplicate_within_one_event_starts_once() {
    let starter = starter();
    let summary = handle(
        &starter,
        event([
            record("incoming/a.jpg", "e1"),
            record("incoming/a.jpg", "e1"),
        ]),
    )
    .await
    .expect("both succeed");
    // The first execution still runs, so Step Functions hands back the same one.
    assert_eq!(summary.records[0], summary.records[1]);
    assert_eq!(starter.sfn.started_keys(), ["incoming/a.jpg"]);
}

#[tokio::test]
async fn a_new_upload_of_the_same_key_is_a_new_execution() {
    let starter = starter();
    handle(&starter, event([record("incoming/a.jpg", "e1")]))
        .await
        .expect("first upload");
    handle(&starter, event([record("incoming/a.jpg", "e2")]))
        .await
        .expect("second upload");
    assert_eq!(
        starter.sfn.started_keys(),
        ["incoming/a.jpg", "incoming/a.jpg"]
    );
}

#[tokio::test]
async fn the_sequencer_tells_uploads_apart_when_there_is_no_etag() {
    let starter = starter();
    let upload = |sequencer: &str| {
        let mut r = record("incoming/a.jpg", "");
        r["s3"]["object"]["sequencer"] = json!(sequencer);
        r
    };
    handle(&starter, event([upload("0055AED6DCD90281E5")]))
        .await
        .expect("first");
    starter.sfn.finish_all();
    let again = handle(&starter, event([upload("0055AED6DCD90281E5")]))
        .await
        .expect("again");
    assert_eq!(outcomes(&again), [("incoming/a.jpg", Outcome::Duplicate)]);
    handle(&starter, event([upload("0055AED6DCD90281F0")]))
        .await
        .expect("next upload");
    assert_eq!(starter.sfn.names().len(), 2);
}

#[tokio::test]
async fn keys_outside_incoming_are_ignored() {
    let starter = starter();
    let mut removed = record("incoming/gone.jpg", "e3");
    removed["eventName"] = json!("ObjectRemoved:Delete");
    let summary = handle(
        &starter,
        event([
            record("thumbnails/a.jpg", "e1"),
            record("incomingx/b.jpg", "e2"),
            removed,
            record("incoming/c.jpg", "e4"),
        ]),
    )
    .await
    .expect("ignoring is no error");
    assert_eq!(
        outcomes(&summary),
        [
            ("thumbnails/a.jpg", Outcome::Ignored),
            ("incomingx/b.jpg", Outcome::Ignored),
            ("incoming/gone.jpg", Outcome::Ignored),
            ("incoming/c.jpg", Outcome::Started),
        ]
    );
    assert_eq!(starter.sfn.started_keys(), ["incoming/c.jpg"]);
}

#[tokio::test]
async fn one_failing_record_does_not_hide_the_others() {
    let starter = starter();
    starter.sfn.fail_key(
        "incoming/bad one.jpg",
        StartError::Permanent("AccessDeniedException: not authorized".to_owned()),
    );
    starter.sfn.fail_key(
        "incoming/slow.jpg",
        StartError::Transient("ThrottlingException: rate exceeded".to_owned()),
    );
    let error = handle(
        &starter,
        event([
            record("incoming/good.jpg", "e1"),
            record("incoming/bad+one.jpg", "e2"),
            record("incoming/also-good.jpg", "e3"),
            record("incoming/slow.jpg", "e4"),
        ]),
    )
    .await
    .expect_err("two records fail");

    assert_eq!(
        starter.sfn.started_keys(),
        ["incoming/also-good.jpg", "incoming/good.jpg"]
    );
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "StartExecutionFailed");
    assert_eq!(
        diagnostic.error_message,
        "2 of 4 records failed: \"incoming/bad one.jpg\": AccessDeniedException: not authorized; \
         \"incoming/slow.jpg\": ThrottlingException: rate exceeded"
    );
}

#[tokio::test]
async fn only_transient_failures_are_reported_as_transient() {
    let starter = starter();
    starter.sfn.fail_key(
        "incoming/a.jpg",
        StartError::Transient("ServiceUnavailable".to_owned()),
    );
    let error = handle(
        &starter,
        event([
            record("incoming/a.jpg", "e1"),
            record("incoming/b.jpg", "e2"),
        ]),
    )
    .await
    .expect_err("a fails");
    assert_eq!(starter.sfn.started_keys(), ["incoming/b.jpg"]);
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "TransientAwsError");
    assert_eq!(
        diagnostic.error_message,
        "1 of 2 records failed: \"incoming/a.jpg\": ServiceUnavailable"
    );

    // The retry starts the one that failed and finds the other one done.
    starter.sfn.failing_keys.lock().expect("lock").clear();
    starter.sfn.finish_all();
    let summary = handle(
        &starter,
        event([
            record("incoming/a.jpg", "e1"),
            record("incoming/b.jpg", "e2"),
        ]),
    )
    .await
    .expect("the retry succeeds");
    assert_eq!(
        outcomes(&summary),
        [
            ("incoming/a.jpg", Outcome::Started),
            ("incoming/b.jpg", Outcome::Duplicate)
        ]
    );
}

#[tokio::test]
async fn malformed_records_fail_by_themselves() {
    let starter = starter();
    let mut no_bucket = record("incoming/no-bucket.jpg", "e1");
    no_bucket["s3"]["bucket"]["name"] = Value::Null;
    let mut no_key = record("incoming/x.jpg", "e2");
    no_key["s3"]["object"]["key"] = Value::Null;
    let error = handle(
        &starter,
        event([
            no_bucket,
            record("incoming/%FF.jpg", "e3"),
            no_key,
            record("incoming/ok.jpg", "e4"),
        ]),
    )
    .await
    .expect_err("three records are malformed");
    assert_eq!(starter.sfn.started_keys(), ["incoming/ok.jpg"]);
    assert_eq!(
        Diagnostic::from(error.clone()).error_type,
        "StartExecutionFailed"
    );
    let keys: Vec<&str> = error.failures.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["incoming/no-bucket.jpg", "incoming/%FF.jpg", ""]);
}

#[tokio::test]
async fn names_are_valid_for_awkward_keys() {
    let starter = starter();
    let long = format!("incoming/{}.jpg", "%C3%A4".repeat(200));
    let summary = handle(
        &starter,
        event([
            record(&long, "e1"),
            record("incoming/%F0%9F%93%B7", "e2"),
            record("incoming/a%2Fb/%2B%2B%2B", "e3"),
        ]),
    )
    .await
    .expect("Step Functions accepts every name");
    assert!(
        summary
            .records
            .iter()
            .all(|r| r.outcome == Outcome::Started)
    );
    for name in starter.sfn.names() {
        assert!(name.len() <= MAX_NAME_LEN, "{name}");
    }
}

#[test]
fn the_summary_serializes_for_the_logs() {
    let summary = Summary {
        records: vec![
            RecordSummary {
                key: "incoming/a.jpg".to_owned(),
                outcome: Outcome::Duplicate,
                execution_arn: Some("arn:aws:states:eu-west-1:1:execution:M:n".to_owned()),
            },
            RecordSummary {
                key: "other/b.jpg".to_owned(),
                outcome: Outcome::Ignored,
                execution_arn: None,
            },
        ],
    };
    assert_eq!(
        serde_json::to_value(summary).expect("serializes"),
        json!({ "records": [
            { "key": "incoming/a.jpg", "outcome": "duplicate", "executionArn": "arn:aws:states:eu-west-1:1:execution:M:n" },
            { "key": "other/b.jpg", "outcome": "ignored" }
        ]})
    );
}
