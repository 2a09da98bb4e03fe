//! The recorded history in the service's own shape, the SDK's `HistoryEvent`.

use aws_sdk_sfn::types::{self as sdk, HistoryEventType};
use aws_smithy_types::DateTime;
use serde_json::Value;

use crate::history::{Event, Kind, Resource};

/// `events` as the SDK's `HistoryEvent`s, with ids counted from 1.
pub fn to_sdk(events: &[Event]) -> Vec<sdk::HistoryEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| sdk_event(i, e))
        .collect()
}

fn sdk_event(index: usize, event: &Event) -> sdk::HistoryEvent {
    let id = |i: usize| i64::try_from(i + 1).unwrap_or(i64::MAX);
    let builder = sdk::HistoryEvent::builder()
        .id(id(index))
        .previous_event_id(event.previous.map_or(0, id))
        .timestamp(DateTime::from_millis(event.at_ms))
        .r#type(HistoryEventType::from(event.kind.name().as_str()));
    details(builder, &event.kind)
        .build()
        .expect("every required field of a HistoryEvent is set")
}

fn text(value: &str) -> String {
    value.to_owned()
}

fn details(
    b: sdk::builders::HistoryEventBuilder,
    kind: &Kind,
) -> sdk::builders::HistoryEventBuilder {
    use sdk::*;
    match kind {
        Kind::ExecutionStarted { input, role_arn } => b.execution_started_event_details(
            ExecutionStartedEventDetails::builder()
                .input(text(input))
                .role_arn(role_arn)
                .build(),
        ),
        Kind::ExecutionSucceeded { output } => b.execution_succeeded_event_details(
            ExecutionSucceededEventDetails::builder()
                .output(text(output))
                .build(),
        ),
        Kind::ExecutionFailed(f) => b.execution_failed_event_details(
            ExecutionFailedEventDetails::builder()
                .error(&f.error)
                .cause(&f.cause)
                .build(),
        ),
        Kind::ExecutionTimedOut(f) => b.execution_timed_out_event_details(
            ExecutionTimedOutEventDetails::builder()
                .error(&f.error)
                .cause(&f.cause)
                .build(),
        ),
        Kind::StateEntered { name, input, .. } => b.state_entered_event_details(
            StateEnteredEventDetails::builder()
                .name(name)
                .input(text(input))
                .build()
                .expect("a name is set"),
        ),
        Kind::StateExited { name, output, .. } => b.state_exited_event_details(
            StateExitedEventDetails::builder()
                .name(name)
                .output(text(output))
                .build()
                .expect("a name is set"),
        ),
        Kind::TaskScheduled {
            resource,
            region,
            parameters,
            timeout,
            heartbeat,
        } => match resource {
            Resource::Service { kind, name } => b.task_scheduled_event_details(
                TaskScheduledEventDetails::builder()
                    .resource_type(&**kind)
                    .resource(&**name)
                    .region(&**region)
                    .parameters(text(parameters))
                    .set_timeout_in_seconds(timeout.and_then(|t| i64::try_from(t).ok()))
                    .set_heartbeat_in_seconds(heartbeat.and_then(|t| i64::try_from(t).ok()))
                    .build()
                    .expect("the resource and parameters are set"),
            ),
            Resource::LambdaFunction(arn) => b.lambda_function_scheduled_event_details(
                LambdaFunctionScheduledEventDetails::builder()
                    .resource(&**arn)
                    .input(text(parameters))
                    .set_timeout_in_seconds(timeout.and_then(|t| i64::try_from(t).ok()))
                    .build()
                    .expect("the resource is set"),
            ),
            Resource::Activity(arn) => b.activity_scheduled_event_details(
                ActivityScheduledEventDetails::builder()
                    .resource(&**arn)
                    .input(text(parameters))
                    .set_timeout_in_seconds(timeout.and_then(|t| i64::try_from(t).ok()))
                    .set_heartbeat_in_seconds(heartbeat.and_then(|t| i64::try_from(t).ok()))
                    .build()
                    .expect("the resource is set"),
            ),
        },
        Kind::ActivityStarted { worker } => b.activity_started_event_details(
            ActivityStartedEventDetails::builder()
                .set_worker_name(worker.clone())
                .build(),
        ),
        Kind::TaskStarted(resource) => match resource {
            Resource::Service { kind, name } => b.task_started_event_details(
                TaskStartedEventDetails::builder()
                    .resource_type(&**kind)
                    .resource(&**name)
                    .build()
                    .expect("the resource is set"),
            ),
            Resource::LambdaFunction(_) | Resource::Activity(_) => b,
        },
        Kind::TaskSubmitted(resource, output) => match resource {
            Resource::Service { kind, name } => b.task_submitted_event_details(
                TaskSubmittedEventDetails::builder()
                    .resource_type(&**kind)
                    .resource(&**name)
                    .output(text(output))
                    .build()
                    .expect("the resource is set"),
            ),
            Resource::LambdaFunction(_) | Resource::Activity(_) => b,
        },
        Kind::TaskSucceeded(resource, output) => match resource {
            Resource::Service { kind, name } => b.task_succeeded_event_details(
                TaskSucceededEventDetails::builder()
                    .resource_type(&**kind)
                    .resource(&**name)
                    .output(text(output))
                    .build()
                    .expect("the resource is set"),
            ),
            Resource::LambdaFunction(_) => b.lambda_function_succeeded_event_details(
                LambdaFunctionSucceededEventDetails::builder()
                    .output(text(output))
                    .build(),
            ),
            Resource::Activity(_) => b.activity_succeeded_event_details(
                ActivitySucceededEventDetails::builder()
                    .output(text(output))
                    .build(),
            ),
        },
        Kind::TaskFailed(resource, f) => match resource {
            Resource::Service { kind, name } => b.task_failed_event_details(
                TaskFailedEventDetails::builder()
                    .resource_type(&**kind)
                    .resource(&**name)
                    .error(&f.error)
                    .cause(&f.cause)
                    .build()
                    .expect("the resource is set"),
            ),
            Resource::LambdaFunction(_) => b.lambda_function_failed_event_details(
                LambdaFunctionFailedEventDetails::builder()
                    .error(&f.error)
                    .cause(&f.cause)
                    .build(),
            ),
            Resource::Activity(_) => b.activity_failed_event_details(
                ActivityFailedEventDetails::builder()
                    .error(&f.error)
                    .cause(&f.cause)
                    .build(),
            ),
        },
        Kind::TaskTimedOut(resource, f) => match resource {
            Resource::Service { kind, name } => b.task_timed_out_event_details(
                TaskTimedOutEventDetails::builder()
                    .resource_type(&**kind)
                    .resource(&**name)
                    .error(&f.error)
                    .cause(&f.cause)
                    .build()
                    .expect("the resource is set"),
            ),
            Resource::LambdaFunction(_) => b.lambda_function_timed_out_event_details(
                LambdaFunctionTimedOutEventDetails::builder()
                    .error(&f.error)
                    .cause(&f.cause)
                    .build(),
            ),
            Resource::Activity(_) => b.activity_timed_out_event_details(
                ActivityTimedOutEventDetails::builder()
                    .error(&f.error)
                    .cause(&f.cause)
                    .build(),
            ),
        },
        Kind::MapStarted { length } => b.map_state_started_event_details(
            MapStateStartedEventDetails::builder()
                .length(i32::try_from(*length).unwrap_or(i32::MAX))
                .build(),
        ),
        Kind::MapRunStarted { arn } => b.map_run_started_event_details(
            MapRunStartedEventDetails::builder()
                .map_run_arn(arn)
                .build(),
        ),
        Kind::MapRunFailed(f) => b.map_run_failed_event_details(
            MapRunFailedEventDetails::builder()
                .error(&f.error)
                .cause(&f.cause)
                .build(),
        ),
        Kind::MapIterationStarted { name, index } => {
            b.map_iteration_started_event_details(iteration(name, *index))
        }
        Kind::MapIterationSucceeded { name, index } => {
            b.map_iteration_succeeded_event_details(iteration(name, *index))
        }
        Kind::MapIterationFailed { name, index } => {
            b.map_iteration_failed_event_details(iteration(name, *index))
        }
        Kind::MapIterationAborted { name, index } => {
            b.map_iteration_aborted_event_details(iteration(name, *index))
        }
        Kind::EvaluationFailed {
            state,
            location,
            failure: f,
        } => b.evaluation_failed_event_details(
            EvaluationFailedEventDetails::builder()
                .state(state)
                .set_location(location.clone())
                .error(&f.error)
                .cause(&f.cause)
                .build()
                .expect("the state is set"),
        ),
        Kind::ExecutionAborted
        | Kind::ParallelStarted
        | Kind::StateAborted { .. }
        | Kind::ParallelSucceeded
        | Kind::ParallelFailed
        | Kind::MapSucceeded
        | Kind::MapFailed
        | Kind::MapRunSucceeded => b,
    }
}

fn iteration(name: &str, index: usize) -> sdk::MapIterationEventDetails {
    sdk::MapIterationEventDetails::builder()
        .name(name)
        .index(i32::try_from(index).unwrap_or(i32::MAX))
        .build()
}

/// Recorded `events` in `GetExecutionHistory`'s JSON shape, as far as
/// [`crate::recorded::mocks`] reads it: ids, types, times, state names and
/// what tasks answered.
pub fn to_json(events: &[sdk::HistoryEvent]) -> Vec<Value> {
    events.iter().map(event_json).collect()
}

fn event_json(e: &sdk::HistoryEvent) -> Value {
    let seconds = e.timestamp().as_secs_f64();
    let mut out = serde_json::json!({
        "id": e.id(),
        "previousEventId": e.previous_event_id(),
        "timestamp": seconds,
        "type": e.r#type().as_str(),
    });
    #[allow(clippy::manual_map)]
    let details = if let Some(d) = e.state_entered_event_details() {
        Some((
            "stateEnteredEventDetails",
            serde_json::json!({"name": d.name(), "input": d.input()}),
        ))
    } else if let Some(d) = e.task_scheduled_event_details() {
        Some((
            "taskScheduledEventDetails",
            serde_json::json!({"timeoutInSeconds": d.timeout_in_seconds()}),
        ))
    } else if let Some(d) = e.lambda_function_scheduled_event_details() {
        Some((
            "lambdaFunctionScheduledEventDetails",
            serde_json::json!({"timeoutInSeconds": d.timeout_in_seconds()}),
        ))
    } else if let Some(d) = e.task_submitted_event_details() {
        Some((
            "taskSubmittedEventDetails",
            serde_json::json!({"output": d.output()}),
        ))
    } else if let Some(d) = e.task_succeeded_event_details() {
        Some((
            "taskSucceededEventDetails",
            serde_json::json!({"output": d.output()}),
        ))
    } else if let Some(d) = e.lambda_function_succeeded_event_details() {
        Some((
            "lambdaFunctionSucceededEventDetails",
            serde_json::json!({"output": d.output()}),
        ))
    } else if let Some(d) = e.task_failed_event_details() {
        Some((
            "taskFailedEventDetails",
            serde_json::json!({"error": d.error(), "cause": d.cause()}),
        ))
    } else if let Some(d) = e.lambda_function_failed_event_details() {
        Some((
            "lambdaFunctionFailedEventDetails",
            serde_json::json!({"error": d.error(), "cause": d.cause()}),
        ))
    } else if let Some(d) = e.task_timed_out_event_details() {
        Some((
            "taskTimedOutEventDetails",
            serde_json::json!({"error": d.error(), "cause": d.cause()}),
        ))
    } else if let Some(d) = e.activity_scheduled_event_details() {
        Some((
            "activityScheduledEventDetails",
            serde_json::json!({"timeoutInSeconds": d.timeout_in_seconds()}),
        ))
    } else if let Some(d) = e.activity_started_event_details() {
        Some((
            "activityStartedEventDetails",
            serde_json::json!({"workerName": d.worker_name()}),
        ))
    } else if let Some(d) = e.activity_succeeded_event_details() {
        Some((
            "activitySucceededEventDetails",
            serde_json::json!({"output": d.output()}),
        ))
    } else if let Some(d) = e.activity_failed_event_details() {
        Some((
            "activityFailedEventDetails",
            serde_json::json!({"error": d.error(), "cause": d.cause()}),
        ))
    } else {
        None
    };
    if let (Some((key, value)), Value::Object(fields)) = (details, &mut out) {
        fields.insert(key.to_owned(), value);
    }
    out
}
