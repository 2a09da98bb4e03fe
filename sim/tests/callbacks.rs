//! Tasks that wait for a worker: `.waitForTaskToken` callbacks and
//! activities, with the events AWS records for them (LocalStack's
//! `test_callback`, `test_heartbeats` and `test_activities` recordings).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sim::{Mocks, Response, Simulator, Status};

fn machine(definition: Value) -> asl::StateMachine {
    serde_json::from_value(definition).expect("a state machine")
}

fn kinds(execution: &sim::Execution) -> Vec<String> {
    execution.events.iter().map(|e| e.kind.name()).collect()
}

const SEND: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";

fn send_and_wait(extra: Value) -> asl::StateMachine {
    let mut task = json!({
        "Type": "Task", "Resource": SEND,
        "Parameters": {
            "QueueUrl.$": "$.QueueUrl",
            "MessageBody": {"Message.$": "$.Message", "TaskToken.$": "$$.Task.Token"}
        },
        "End": true
    });
    if let (Value::Object(t), Value::Object(e)) = (&mut task, extra) {
        t.extend(e);
    }
    machine(json!({"StartAt": "SendMessageWithWait", "States": {"SendMessageWithWait": task}}))
}

fn input() -> Value {
    json!({"QueueUrl": "https://sqs/q", "Message": "test_message_txt"})
}

#[test]
fn a_callback_gets_a_token_and_answers_with_what_the_worker_sent() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&tokens);
    let mocks = Mocks::new().resource(SEND, move |call| {
        let token = call.task_token.expect("a callback task has a token");
        assert_eq!(call.parameters["MessageBody"]["TaskToken"], token);
        seen.lock().expect("not poisoned").push(token.to_owned());
        Response::ok(json!("test_message_txt")).submitted(json!({"MessageId": "m-1"}))
    });
    let execution = Simulator::new(&mocks).run(&send_and_wait(json!({})), input());
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(execution.output, Some(json!("test_message_txt")));
    assert_eq!(
        kinds(&execution),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(tokens.lock().expect("not poisoned").len(), 1);
}

#[test]
fn each_retry_of_a_callback_gets_a_new_token() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&tokens);
    let mocks = Mocks::new().resource(SEND, move |call| {
        seen.lock()
            .expect("not poisoned")
            .push(call.task_token.map(str::to_owned));
        match call.invocation {
            0 => Response::throw("Worker.Busy", "try later").submitted(json!({})),
            _ => Response::ok(json!({"done": true})).submitted(json!({})),
        }
    });
    let retry = json!({"Retry": [{"ErrorEquals": ["Worker.Busy"], "IntervalSeconds": 1}]});
    let execution = Simulator::new(&mocks).run(&send_and_wait(retry), input());
    assert_eq!(execution.status, Status::Succeeded);
    let tokens = tokens.lock().expect("not poisoned");
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1]);
}

#[test]
fn a_failure_with_neither_error_nor_cause_is_caught_with_null_ones() {
    // test_sqs_failure_in_wait_for_task_tok_no_error_field: SendTaskFailure
    // with no fields; States.ALL catches it and AWS writes nulls.
    let mocks = Mocks::new().resource(SEND, |_| Response::throw("", "").submitted(json!({})));
    let mut definition = serde_json::to_value(send_and_wait(json!({}))).expect("serialises");
    let task = definition["States"]["SendMessageWithWait"]
        .as_object_mut()
        .expect("an object");
    task.remove("End");
    task.insert("Next".into(), json!("CaughtStatesALL"));
    task.insert(
        "Catch".into(),
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.states_all_error",
                "Next": "CaughtStatesALL"}]),
    );
    definition["States"]["CaughtStatesALL"] = json!({"Type": "Pass", "End": true});
    let execution = Simulator::new(&mocks).run(&machine(definition), input());
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(
        execution.output.expect("an output")["states_all_error"],
        json!({"Error": null, "Cause": null})
    );
}

#[test]
fn heartbeats_keep_a_callback_alive_and_a_missed_one_times_it_out() {
    let heartbeat = json!({"HeartbeatSeconds": 5, "TimeoutSeconds": 600});
    let beating = Mocks::new().resource(SEND, |_| {
        Response::ok(json!("done"))
            .submitted(json!({}))
            .heartbeats([4_000, 8_000, 12_000])
            .taking(15_000)
    });
    let execution = Simulator::new(&beating).run(&send_and_wait(heartbeat.clone()), input());
    assert_eq!(execution.status, Status::Succeeded);

    // test_heartbeat_timeout: AWS records the missed heartbeat as States.Timeout.
    let silent = Mocks::new().resource(SEND, |_| {
        Response::ok(json!("late"))
            .submitted(json!({}))
            .heartbeats([4_000])
            .taking(60_000)
    });
    let execution = Simulator::new(&silent).run(&send_and_wait(heartbeat), input());
    assert_eq!(execution.status, Status::Failed);
    assert_eq!(
        execution.failure.as_ref().map(|f| f.error.as_str()),
        Some("States.Timeout")
    );
    let timed_out = execution
        .events
        .iter()
        .find(|e| e.kind.name() == "TaskTimedOut");
    let started = execution
        .events
        .iter()
        .find(|e| e.kind.name() == "TaskStarted");
    let (timed_out, started) = (timed_out.expect("timed out"), started.expect("started"));
    assert_eq!(
        timed_out.at_ms - started.at_ms,
        9_000,
        "the 4 s beat, then 5 s of silence"
    );
}

const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:review";

fn activity_task(extra: Value) -> asl::StateMachine {
    let mut task = json!({"Type": "Task", "Resource": ACTIVITY, "End": true});
    if let (Value::Object(t), Value::Object(e)) = (&mut task, extra) {
        t.extend(e);
    }
    machine(json!({"StartAt": "ActivityTask", "States": {"ActivityTask": task}}))
}

#[test]
fn an_activity_is_taken_by_a_worker_and_recorded_as_activity_events() {
    let mocks = Mocks::new().resource(ACTIVITY, |call| {
        assert!(call.task_token.is_some(), "a worker gets the task's token");
        Response::ok(call.parameters.clone()).worker("BASE_ID_ACTIVITY_CONSUMER")
    });
    let execution = Simulator::new(&mocks).run(
        &activity_task(json!({"TimeoutSeconds": 60, "HeartbeatSeconds": 10})),
        json!({"Value1": "HelloWorld"}),
    );
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(execution.output, Some(json!({"Value1": "HelloWorld"})));
    let history = sim::history::to_json(&execution.events);
    let types: Vec<&str> = history.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        history[2]["activityScheduledEventDetails"],
        json!({
            "resource": ACTIVITY, "input": "{\"Value1\":\"HelloWorld\"}",
            "timeoutInSeconds": 60, "heartbeatInSeconds": 10
        })
    );
    assert_eq!(
        history[3]["activityStartedEventDetails"],
        json!({"workerName": "BASE_ID_ACTIVITY_CONSUMER"})
    );
}

#[test]
fn an_activity_failure_and_timeout_are_activity_events() {
    let failing = Mocks::new().resource(ACTIVITY, |_| {
        Response::throw("Programmatic Error", "{\"Value1\":\"HelloWorld\"}")
    });
    let execution = Simulator::new(&failing).run(&activity_task(json!({})), json!({}));
    assert_eq!(kinds(&execution)[4], "ActivityFailed");
    assert_eq!(
        execution.failure.map(|f| f.error),
        Some("Programmatic Error".to_owned())
    );

    let slow = Mocks::new().resource(ACTIVITY, |_| Response::ok(json!({})).taking(6_000));
    let execution =
        Simulator::new(&slow).run(&activity_task(json!({"TimeoutSeconds": 5})), json!({}));
    assert_eq!(kinds(&execution)[4], "ActivityTimedOut");
    assert_eq!(
        execution.failure.map(|f| f.error),
        Some("States.Timeout".to_owned())
    );
}

#[test]
fn an_activity_no_worker_serves_does_not_exist() {
    // test_activity_task_on_deleted: nothing is scheduled.
    let execution =
        Simulator::new(&Mocks::new()).run(&activity_task(json!({})), json!({"Value1": 1}));
    assert_eq!(
        kinds(&execution),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    let failure = execution.failure.expect("a failure");
    assert_eq!(failure.error, "States.Runtime");
    assert!(
        failure
            .cause
            .ends_with(&format!("The activity {ACTIVITY} does not exist.")),
        "{}",
        failure.cause
    );
}

#[cfg(feature = "sdk")]
#[test]
fn the_sdk_history_holds_the_activity_details() {
    let mocks = Mocks::new().resource(ACTIVITY, |_| Response::ok(json!(1)).worker("w-1"));
    let execution = Simulator::new(&mocks).run(&activity_task(json!({})), json!({}));
    let history = execution.history();
    let scheduled = history[2]
        .activity_scheduled_event_details()
        .expect("ActivityScheduled");
    assert_eq!(scheduled.resource(), ACTIVITY);
    let started = history[3]
        .activity_started_event_details()
        .expect("ActivityStarted");
    assert_eq!(started.worker_name(), Some("w-1"));
    let succeeded = history[4]
        .activity_succeeded_event_details()
        .expect("ActivitySucceeded");
    assert_eq!(succeeded.output(), Some("1"));
}
