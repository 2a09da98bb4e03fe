//! The execution history as the simulator records it; with the `sdk`
//! feature, `history_sdk` gives it out as the SDK's `HistoryEvent`s.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::Failure;

/// One event, with the index of the event that led to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at_ms: i64,
    pub previous: Option<usize>,
    pub kind: Kind,
}

/// A value as JSON text, which is what the history keeps of inputs and
/// outputs. `Value`'s `to_string` goes through `fmt` and costs twice as much.
pub fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// How the history names a task's resource: `lambda` / `invoke` for
/// `arn:aws:states:::lambda:invoke`, `aws-sdk:s3` / `getObject` for an SDK
/// integration. A Lambda function's own ARN is recorded with the older
/// `LambdaFunction…` events instead.
/// (Shared text: every event of a task names it, and copies cost more than
/// the rest of a short execution's events.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Service {
        kind: Arc<str>,
        name: Arc<str>,
    },
    LambdaFunction(Arc<str>),
    /// An activity's ARN: a worker polls for the task and answers it, and
    /// the history records `Activity…` events.
    Activity(Arc<str>),
}

impl Resource {
    /// Whether the task waits after it is submitted (`.sync`, `.sync:2`,
    /// `.waitForTaskToken`), which the history marks with `TaskSubmitted`.
    pub fn waits(&self) -> bool {
        match self {
            Resource::Service { name, .. } => {
                name.ends_with(".sync")
                    || name.contains(".sync:")
                    || name.ends_with(".waitForTaskToken")
            }
            Resource::LambdaFunction(_) | Resource::Activity(_) => false,
        }
    }

    pub fn of(arn: &str) -> Resource {
        match arn.strip_prefix("arn:aws:states:::") {
            Some(service) => {
                let (kind, name) = service.rsplit_once(':').unwrap_or((service, ""));
                // `states:startExecution.sync:2`: the version is part of the name.
                let (kind, name): (&str, Arc<str>) = match name.parse::<u32>() {
                    Ok(_) => match kind.rsplit_once(':') {
                        Some((k, n)) => (k, format!("{n}:{name}").into()),
                        None => (kind, name.into()),
                    },
                    Err(_) => (kind, name.into()),
                };
                Resource::Service {
                    kind: kind.into(),
                    name,
                }
            }
            None if arn.starts_with("arn:aws:states:") && arn.contains(":activity:") => {
                Resource::Activity(arn.into())
            }
            None => Resource::LambdaFunction(arn.into()),
        }
    }

    /// How the history names the resource's events: `Task…`,
    /// `LambdaFunction…` or `Activity…`.
    fn events(&self) -> &'static str {
        match self {
            Resource::Service { .. } => "Task",
            Resource::LambdaFunction(_) => "LambdaFunction",
            Resource::Activity(_) => "Activity",
        }
    }
}

/// Inputs, outputs and parameters are JSON text, as the service records
/// them: writing a value out is far cheaper than copying it, and the
/// history needs no more than its text.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    ExecutionStarted {
        input: String,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: String,
    },
    ExecutionFailed(Failure),
    ExecutionTimedOut(Failure),
    ExecutionAborted,
    /// `kind` is the state's `Type`: `TaskStateEntered`, `PassStateEntered`…
    StateEntered {
        kind: &'static str,
        name: String,
        input: String,
    },
    StateExited {
        kind: &'static str,
        name: String,
        output: String,
    },
    TaskScheduled {
        resource: Resource,
        region: Arc<str>,
        parameters: String,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    },
    TaskStarted(Resource),
    /// A worker took an activity's task (`GetActivityTask`).
    ActivityStarted {
        worker: Option<String>,
    },
    /// A `.sync` or `.waitForTaskToken` task was submitted; what the service answered.
    TaskSubmitted(Resource, String),
    TaskSucceeded(Resource, String),
    TaskFailed(Resource, Failure),
    TaskTimedOut(Resource, Failure),
    ParallelStarted,
    ParallelSucceeded,
    ParallelFailed,
    MapStarted {
        length: usize,
    },
    MapIterationStarted {
        name: String,
        index: usize,
    },
    MapIterationSucceeded {
        name: String,
        index: usize,
    },
    MapIterationFailed {
        name: String,
        index: usize,
    },
    MapSucceeded,
    MapFailed,
    /// A distributed Map's run started (its child executions are not in
    /// the parent's history).
    MapRunStarted {
        arn: String,
    },
    MapRunSucceeded,
    MapRunFailed(Failure),
    /// A state still running in a branch or iteration that another's
    /// failure ended (or in the one that failed, but for a Fail state).
    StateAborted {
        kind: &'static str,
        name: String,
    },
    MapIterationAborted {
        name: String,
        index: usize,
    },
    /// A JSONata expression of `state` failed; `location` is its field
    /// (none when the state's input is not what it needs).
    EvaluationFailed {
        state: String,
        location: Option<String>,
        failure: Failure,
    },
}

impl Kind {
    /// The event's type as the service names it.
    pub fn name(&self) -> String {
        let task = |r: &Resource, what: &str| format!("{}{what}", r.events());
        match self {
            Kind::ExecutionStarted { .. } => "ExecutionStarted".into(),
            Kind::ExecutionSucceeded { .. } => "ExecutionSucceeded".into(),
            Kind::ExecutionFailed(_) => "ExecutionFailed".into(),
            Kind::ExecutionTimedOut(_) => "ExecutionTimedOut".into(),
            Kind::ExecutionAborted => "ExecutionAborted".into(),
            Kind::StateEntered { kind, .. } => format!("{kind}StateEntered"),
            Kind::StateExited { kind, .. } => format!("{kind}StateExited"),
            Kind::TaskScheduled { resource, .. } => task(resource, "Scheduled"),
            Kind::TaskStarted(r) => task(r, "Started"),
            Kind::ActivityStarted { .. } => "ActivityStarted".into(),
            Kind::TaskSubmitted(..) => "TaskSubmitted".into(),
            Kind::TaskSucceeded(r, _) => task(r, "Succeeded"),
            Kind::TaskFailed(r, _) => task(r, "Failed"),
            Kind::TaskTimedOut(r, _) => task(r, "TimedOut"),
            Kind::ParallelStarted => "ParallelStateStarted".into(),
            Kind::ParallelSucceeded => "ParallelStateSucceeded".into(),
            Kind::ParallelFailed => "ParallelStateFailed".into(),
            Kind::MapStarted { .. } => "MapStateStarted".into(),
            Kind::MapIterationStarted { .. } => "MapIterationStarted".into(),
            Kind::MapIterationSucceeded { .. } => "MapIterationSucceeded".into(),
            Kind::MapIterationFailed { .. } => "MapIterationFailed".into(),
            Kind::MapSucceeded => "MapStateSucceeded".into(),
            Kind::MapFailed => "MapStateFailed".into(),
            Kind::MapRunStarted { .. } => "MapRunStarted".into(),
            Kind::MapRunSucceeded => "MapRunSucceeded".into(),
            Kind::MapRunFailed(_) => "MapRunFailed".into(),
            Kind::StateAborted { kind, .. } => format!("{kind}StateAborted"),
            Kind::MapIterationAborted { .. } => "MapIterationAborted".into(),
            Kind::EvaluationFailed { .. } => "EvaluationFailed".into(),
        }
    }
}

/// `events` in `GetExecutionHistory`'s JSON shape (ids counted from 1,
/// epoch seconds, inputs and outputs as JSON text, camelCase `…EventDetails`),
/// which [`crate::recorded::mocks`] reads back and a recorded history can be
/// compared with.
pub fn to_json(events: &[Event]) -> Vec<Value> {
    let id = |i: usize| i64::try_from(i + 1).unwrap_or(i64::MAX);
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut out = json!({
                "id": id(i),
                "previousEventId": e.previous.map_or(0, id),
                "timestamp": e.at_ms as f64 / 1000.0,
                "type": e.kind.name(),
            });
            if let (Some((key, value)), Value::Object(fields)) = (details(&e.kind), &mut out) {
                fields.insert(key.to_owned(), value);
            }
            out
        })
        .collect()
}

/// An event's `…EventDetails` object and its key.
fn details(kind: &Kind) -> Option<(&'static str, Value)> {
    let text = |v: &String| Value::String(v.clone());
    let detail = |key, value| Some((key, value));
    match kind {
        Kind::ExecutionStarted { input, role_arn } => detail(
            "executionStartedEventDetails",
            json!({"input": text(input), "roleArn": role_arn}),
        ),
        Kind::ExecutionSucceeded { output } => detail(
            "executionSucceededEventDetails",
            json!({"output": text(output)}),
        ),
        Kind::ExecutionFailed(f) => detail("executionFailedEventDetails", failure(f)),
        Kind::ExecutionTimedOut(f) => detail("executionTimedOutEventDetails", failure(f)),
        Kind::StateEntered { name, input, .. } => detail(
            "stateEnteredEventDetails",
            json!({"name": name, "input": text(input)}),
        ),
        Kind::StateExited { name, output, .. } => detail(
            "stateExitedEventDetails",
            json!({"name": name, "output": text(output)}),
        ),
        Kind::TaskScheduled {
            resource,
            region,
            parameters,
            timeout,
            heartbeat,
        } => {
            let mut d = match resource {
                Resource::Service { kind, name } => json!({
                    "resourceType": &**kind, "resource": &**name,
                    "region": &**region, "parameters": text(parameters),
                }),
                Resource::LambdaFunction(arn) | Resource::Activity(arn) => {
                    json!({"resource": &**arn, "input": text(parameters)})
                }
            };
            if let Value::Object(fields) = &mut d {
                let limits = [
                    ("timeoutInSeconds", timeout),
                    ("heartbeatInSeconds", heartbeat),
                ];
                for (key, limit) in limits {
                    if let Some(seconds) = limit {
                        fields.insert(key.into(), json!(seconds));
                    }
                }
            }
            detail(event_key(resource, "Scheduled"), d)
        }
        Kind::TaskStarted(r @ Resource::Service { .. }) => {
            detail(event_key(r, "Started"), service(r, json!({})))
        }
        Kind::TaskStarted(_) => None,
        Kind::ActivityStarted { worker } => detail(
            "activityStartedEventDetails",
            match worker {
                Some(name) => json!({"workerName": name}),
                None => json!({}),
            },
        ),
        Kind::TaskSubmitted(r, output) => detail(
            "taskSubmittedEventDetails",
            service(r, json!({"output": text(output)})),
        ),
        Kind::TaskSucceeded(r, output) => detail(
            event_key(r, "Succeeded"),
            service(r, json!({"output": text(output)})),
        ),
        Kind::TaskFailed(r, f) => detail(event_key(r, "Failed"), service(r, failure(f))),
        Kind::TaskTimedOut(r, f) => detail(event_key(r, "TimedOut"), service(r, failure(f))),
        Kind::MapStarted { length } => {
            detail("mapStateStartedEventDetails", json!({"length": length}))
        }
        Kind::MapRunStarted { arn } => {
            detail("mapRunStartedEventDetails", json!({"mapRunArn": arn}))
        }
        Kind::MapRunFailed(f) => detail("mapRunFailedEventDetails", failure(f)),
        Kind::MapIterationStarted { name, index } => iteration("Started", name, *index),
        Kind::MapIterationSucceeded { name, index } => iteration("Succeeded", name, *index),
        Kind::MapIterationFailed { name, index } => iteration("Failed", name, *index),
        Kind::MapIterationAborted { name, index } => iteration("Aborted", name, *index),
        Kind::EvaluationFailed {
            state,
            location,
            failure: f,
        } => {
            let mut details = failure(f);
            if let Value::Object(fields) = &mut details {
                if let Some(location) = location {
                    fields.insert("location".into(), json!(location));
                }
                fields.insert("state".into(), json!(state));
            }
            detail("evaluationFailedEventDetails", details)
        }
        Kind::ExecutionAborted
        | Kind::ParallelStarted
        | Kind::ParallelSucceeded
        | Kind::ParallelFailed
        | Kind::MapSucceeded
        | Kind::MapFailed
        | Kind::MapRunSucceeded
        | Kind::StateAborted { .. } => None,
    }
}

/// `task…EventDetails`, `lambdaFunction…EventDetails` or
/// `activity…EventDetails`, as [`Kind::name`].
fn event_key(resource: &Resource, what: &str) -> &'static str {
    match (resource.events(), what) {
        ("Task", "Scheduled") => "taskScheduledEventDetails",
        ("Task", "Started") => "taskStartedEventDetails",
        ("Task", "Succeeded") => "taskSucceededEventDetails",
        ("Task", "Failed") => "taskFailedEventDetails",
        ("Task", _) => "taskTimedOutEventDetails",
        ("Activity", "Scheduled") => "activityScheduledEventDetails",
        ("Activity", "Succeeded") => "activitySucceededEventDetails",
        ("Activity", "Failed") => "activityFailedEventDetails",
        ("Activity", _) => "activityTimedOutEventDetails",
        (_, "Scheduled") => "lambdaFunctionScheduledEventDetails",
        (_, "Started") => "lambdaFunctionStartedEventDetails",
        (_, "Succeeded") => "lambdaFunctionSucceededEventDetails",
        (_, "Failed") => "lambdaFunctionFailedEventDetails",
        (_, _) => "lambdaFunctionTimedOutEventDetails",
    }
}

/// A service integration's events name their resource; a function's don't.
fn service(resource: &Resource, mut details: Value) -> Value {
    if let (Resource::Service { kind, name }, Value::Object(fields)) = (resource, &mut details) {
        fields.insert("resourceType".into(), json!(&**kind));
        fields.insert("resource".into(), json!(&**name));
    }
    details
}

/// `error` and `cause`; the service leaves out what it has not got.
fn failure(f: &Failure) -> Value {
    let mut fields = serde_json::Map::new();
    for (key, text) in [("error", &f.error), ("cause", &f.cause)] {
        if !text.is_empty() {
            fields.insert(key.into(), json!(text));
        }
    }
    Value::Object(fields)
}

fn iteration(what: &str, name: &str, index: usize) -> Option<(&'static str, Value)> {
    let key = match what {
        "Started" => "mapIterationStartedEventDetails",
        "Succeeded" => "mapIterationSucceededEventDetails",
        "Aborted" => "mapIterationAbortedEventDetails",
        _ => "mapIterationFailedEventDetails",
    };
    Some((key, json!({"name": name, "index": index})))
}

#[cfg(test)]
mod tests {
    use super::Resource;

    #[test]
    fn resources_are_named_as_the_history_names_them() {
        let service = |kind: &str, name: &str| Resource::Service {
            kind: kind.into(),
            name: name.into(),
        };
        assert_eq!(
            Resource::of("arn:aws:states:::lambda:invoke"),
            service("lambda", "invoke")
        );
        assert_eq!(
            Resource::of("arn:aws:states:::aws-sdk:rekognition:detectLabels"),
            service("aws-sdk:rekognition", "detectLabels")
        );
        assert_eq!(
            Resource::of("arn:aws:states:::states:startExecution.sync:2"),
            service("states", "startExecution.sync:2")
        );
        assert_eq!(
            Resource::of("arn:aws:states:us-east-1:1:activity:review"),
            Resource::Activity("arn:aws:states:us-east-1:1:activity:review".into())
        );
        assert_eq!(
            Resource::of("arn:aws:lambda:us-east-1:1:function:f"),
            Resource::LambdaFunction("arn:aws:lambda:us-east-1:1:function:f".into())
        );
    }
}
