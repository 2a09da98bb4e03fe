//! The execution history as the simulator records it; with the `sdk`
//! feature, `history_sdk` gives it out as the SDK's `HistoryEvent`s.

use serde_json::Value;

use crate::Failure;

/// One event, with the index of the event that led to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at_ms: i64,
    pub previous: Option<usize>,
    pub kind: Kind,
}

/// How the history names a task's resource: `lambda` / `invoke` for
/// `arn:aws:states:::lambda:invoke`, `aws-sdk:s3` / `getObject` for an SDK
/// integration. A Lambda function's own ARN is recorded with the older
/// `LambdaFunction…` events instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Service { kind: String, name: String },
    LambdaFunction(String),
}

impl Resource {
    pub fn of(arn: &str) -> Resource {
        match arn.strip_prefix("arn:aws:states:::") {
            Some(service) => {
                let (kind, name) = service.rsplit_once(':').unwrap_or((service, ""));
                // `states:startExecution.sync:2`: the version is part of the name.
                let (kind, name) = match name.parse::<u32>() {
                    Ok(_) => match kind.rsplit_once(':') {
                        Some((k, n)) => (k.to_owned(), format!("{n}:{name}")),
                        None => (kind.to_owned(), name.to_owned()),
                    },
                    Err(_) => (kind.to_owned(), name.to_owned()),
                };
                Resource::Service { kind, name }
            }
            None => Resource::LambdaFunction(arn.to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    ExecutionStarted {
        input: Value,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed(Failure),
    ExecutionTimedOut(Failure),
    /// `kind` is the state's `Type`: `TaskStateEntered`, `PassStateEntered`…
    StateEntered {
        kind: &'static str,
        name: String,
        input: Value,
    },
    StateExited {
        kind: &'static str,
        name: String,
        output: Value,
    },
    TaskScheduled {
        resource: Resource,
        region: String,
        parameters: Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    },
    TaskStarted(Resource),
    TaskSucceeded(Resource, Value),
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
}

impl Kind {
    /// The event's type as the service names it.
    pub fn name(&self) -> String {
        let lambda = |r: &Resource, service: &str, function: &str| match r {
            Resource::Service { .. } => service.to_owned(),
            Resource::LambdaFunction(_) => function.to_owned(),
        };
        match self {
            Kind::ExecutionStarted { .. } => "ExecutionStarted".into(),
            Kind::ExecutionSucceeded { .. } => "ExecutionSucceeded".into(),
            Kind::ExecutionFailed(_) => "ExecutionFailed".into(),
            Kind::ExecutionTimedOut(_) => "ExecutionTimedOut".into(),
            Kind::StateEntered { kind, .. } => format!("{kind}StateEntered"),
            Kind::StateExited { kind, .. } => format!("{kind}StateExited"),
            Kind::TaskScheduled { resource, .. } => {
                lambda(resource, "TaskScheduled", "LambdaFunctionScheduled")
            }
            Kind::TaskStarted(r) => lambda(r, "TaskStarted", "LambdaFunctionStarted"),
            Kind::TaskSucceeded(r, _) => lambda(r, "TaskSucceeded", "LambdaFunctionSucceeded"),
            Kind::TaskFailed(r, _) => lambda(r, "TaskFailed", "LambdaFunctionFailed"),
            Kind::TaskTimedOut(r, _) => lambda(r, "TaskTimedOut", "LambdaFunctionTimedOut"),
            Kind::ParallelStarted => "ParallelStateStarted".into(),
            Kind::ParallelSucceeded => "ParallelStateSucceeded".into(),
            Kind::ParallelFailed => "ParallelStateFailed".into(),
            Kind::MapStarted { .. } => "MapStateStarted".into(),
            Kind::MapIterationStarted { .. } => "MapIterationStarted".into(),
            Kind::MapIterationSucceeded { .. } => "MapIterationSucceeded".into(),
            Kind::MapIterationFailed { .. } => "MapIterationFailed".into(),
            Kind::MapSucceeded => "MapStateSucceeded".into(),
            Kind::MapFailed => "MapStateFailed".into(),
        }
    }
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
            Resource::of("arn:aws:lambda:us-east-1:1:function:f"),
            Resource::LambdaFunction("arn:aws:lambda:us-east-1:1:function:f".into())
        );
    }
}
