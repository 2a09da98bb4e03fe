//! Where task results come from: closures per state or per resource, or a
//! mock configuration file in the format of AWS Step Functions Local.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use crate::Failure;

/// One task invocation, as a mock sees it.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub state: &'a str,
    pub resource: &'a str,
    /// The task's effective parameters (after `InputPath` and `Parameters`).
    pub parameters: &'a Value,
    /// How many times this state's task was invoked before in this
    /// execution, retries included: 0 for the first.
    pub invocation: u32,
    /// The task token of a `.waitForTaskToken` or `.sync` task (what
    /// `$$.Task.Token` gave its parameters) or of an activity's task: the
    /// mock answers as `SendTaskSuccess`/`SendTaskFailure` with it would.
    pub task_token: Option<&'a str>,
}

/// What a mocked task does: return a result or throw, after `took_ms` of
/// virtual time (which `TimeoutSeconds` and `HeartbeatSeconds` are held to).
/// For a callback or an activity, that is the worker's `SendTaskSuccess` or
/// `SendTaskFailure`; one that never answers is one that takes longer than
/// the task's timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub result: Result<Value, Failure>,
    pub took_ms: u64,
    /// What the service answered when a `.sync` or `.waitForTaskToken`
    /// task was submitted (its `TaskSubmitted` output), if known.
    pub submitted: Option<Value>,
    /// When the worker sent `SendTaskHeartbeat`, in milliseconds after the
    /// task started: each restarts the `HeartbeatSeconds` clock.
    pub heartbeats: Vec<u64>,
    /// The `workerName` an activity's worker polled with.
    pub worker: Option<String>,
}

impl Response {
    pub fn ok(value: Value) -> Response {
        Response::of(Ok(value))
    }

    pub fn throw(error: impl Into<String>, cause: impl Into<String>) -> Response {
        Response::of(Err(Failure::new(error, cause)))
    }

    fn of(result: Result<Value, Failure>) -> Response {
        Response {
            result,
            took_ms: 0,
            submitted: None,
            heartbeats: Vec::new(),
            worker: None,
        }
    }

    /// The answer to the submission of a `.sync` or `.waitForTaskToken` task.
    pub fn submitted(self, output: Value) -> Response {
        Response {
            submitted: Some(output),
            ..self
        }
    }

    pub fn taking(self, millis: u64) -> Response {
        Response {
            took_ms: millis,
            ..self
        }
    }

    /// Heartbeats sent at these times (milliseconds after the task started).
    pub fn heartbeats(self, at_ms: impl IntoIterator<Item = u64>) -> Response {
        Response {
            heartbeats: at_ms.into_iter().collect(),
            ..self
        }
    }

    /// The activity worker's name, which `ActivityStarted` records.
    pub fn worker(self, name: impl Into<String>) -> Response {
        Response {
            worker: Some(name.into()),
            ..self
        }
    }

    /// When the task stops for want of a heartbeat, if it does: the first
    /// silence longer than `limit_ms` between the start, the heartbeats
    /// and the answer.
    pub(crate) fn heartbeat_lapse(&self, limit_ms: i64) -> Option<i64> {
        let mut last = 0;
        for beat in self.heartbeats.iter().copied().chain([self.took_ms]) {
            let beat = i64::try_from(beat).unwrap_or(i64::MAX);
            if beat.saturating_sub(last) > limit_ms {
                return Some(last + limit_ms);
            }
            last = last.max(beat);
        }
        None
    }
}

type Mock = Box<dyn Fn(&Call<'_>) -> Response + Send + Sync>;

/// The mocks of one execution: a state's own mock wins over its resource's.
#[derive(Default)]
pub struct Mocks {
    by_state: HashMap<String, Mock>,
    by_resource: HashMap<String, Mock>,
    /// Distributed Maps' `ItemReader`s, by Map state name or reader resource.
    readers: HashMap<String, Mock>,
    /// Distributed Maps' `ResultWriter`s, by Map state name or resource.
    writers: HashMap<String, Mock>,
}

impl fmt::Debug for Mocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mocks")
            .field("states", &self.by_state.keys().collect::<Vec<_>>())
            .field("resources", &self.by_resource.keys().collect::<Vec<_>>())
            .field("readers", &self.readers.keys().collect::<Vec<_>>())
            .field("writers", &self.writers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Mocks {
    pub fn new() -> Mocks {
        Mocks::default()
    }

    /// Answers every task of the state named `state`.
    pub fn state(
        mut self,
        state: impl Into<String>,
        mock: impl Fn(&Call<'_>) -> Response + Send + Sync + 'static,
    ) -> Mocks {
        self.by_state.insert(state.into(), Box::new(mock));
        self
    }

    /// Answers every task whose `Resource` is `resource`.
    pub fn resource(
        mut self,
        resource: impl Into<String>,
        mock: impl Fn(&Call<'_>) -> Response + Send + Sync + 'static,
    ) -> Mocks {
        self.by_resource.insert(resource.into(), Box::new(mock));
        self
    }

    /// Serves the `ItemReader` of the distributed Map state named `key`, or
    /// of every reader whose `Resource` is `key` (the state's wins). The
    /// call has the reader's evaluated `Parameters`/`Arguments`; the answer
    /// is what the resource returns: for `s3:listObjectsV2` the listing
    /// (`{"Contents": [...]}` or the entries), for `s3:getObject` the
    /// object's text (or its JSON already parsed), read as `ReaderConfig`'s
    /// `InputType` says. A throw fails the Map run (catchable).
    pub fn reader(
        mut self,
        key: impl Into<String>,
        mock: impl Fn(&Call<'_>) -> Response + Send + Sync + 'static,
    ) -> Mocks {
        self.readers.insert(key.into(), Box::new(mock));
        self
    }

    /// Receives each object a distributed Map's `ResultWriter` writes
    /// (parameters `{Bucket, Key, Body}`, `Body` the file's JSON), keyed
    /// like [`Mocks::reader`]. Without one the results are still written
    /// to [`crate::MapRun::written`]; a throw fails the Map run with
    /// `States.ResultWriterFailed`.
    pub fn writer(
        mut self,
        key: impl Into<String>,
        mock: impl Fn(&Call<'_>) -> Response + Send + Sync + 'static,
    ) -> Mocks {
        self.writers.insert(key.into(), Box::new(mock));
        self
    }

    pub(crate) fn read(&self, call: &Call<'_>) -> Response {
        match self
            .readers
            .get(call.state)
            .or_else(|| self.readers.get(call.resource))
        {
            Some(mock) => mock(call),
            None => Response::throw(
                "States.ItemReaderFailed",
                format!(
                    "no mock serves the ItemReader of the Map state '{}' (resource {})",
                    call.state, call.resource
                ),
            ),
        }
    }

    pub(crate) fn write(&self, call: &Call<'_>) -> Option<Response> {
        self.writers
            .get(call.state)
            .or_else(|| self.writers.get(call.resource))
            .map(|mock| mock(call))
    }

    /// What the state's mock, or else its resource's, answers; `None`
    /// when there is neither.
    pub(crate) fn answer(&self, call: &Call<'_>) -> Option<Response> {
        self.by_state
            .get(call.state)
            .or_else(|| self.by_resource.get(call.resource))
            .map(|mock| mock(call))
    }

    /// The mocks of test case `case` of state machine `machine` in a Step
    /// Functions Local mock configuration (`StateMachines` → `TestCases`
    /// name mocked responses; `MockedResponses` hold, per invocation number
    /// or range such as `"1-2"`, a `Return` or a `Throw`).
    pub fn from_config(config: &Value, machine: &str, case: &str) -> Result<Mocks, MockError> {
        let cases = config
            .pointer(&format!("/StateMachines/{}/TestCases", escape(machine)))
            .ok_or_else(|| MockError::NoMachine(machine.to_owned()))?;
        let states = cases
            .get(case)
            .and_then(Value::as_object)
            .ok_or_else(|| MockError::NoCase(case.to_owned(), machine.to_owned()))?;
        let mut mocks = Mocks::new();
        for (state, response) in states {
            let name = response.as_str().ok_or_else(|| {
                MockError::Invalid(format!("{case}.{state} must name a mocked response"))
            })?;
            let table = config
                .pointer(&format!("/MockedResponses/{}", escape(name)))
                .ok_or_else(|| MockError::NoResponse(name.to_owned()))?;
            let answers = Answers::parse(name, table)?;
            mocks = mocks.state(state.clone(), move |call| answers.nth(call.invocation));
        }
        Ok(mocks)
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A mocked response: what each invocation of a state gets.
#[derive(Debug)]
struct Answers {
    name: String,
    ranges: Vec<(u32, u32, Response)>,
}

impl Answers {
    fn parse(name: &str, table: &Value) -> Result<Answers, MockError> {
        let invalid = |what: String| MockError::Invalid(format!("mocked response {name}: {what}"));
        let entries = table
            .as_object()
            .ok_or_else(|| invalid("must be an object".into()))?;
        let mut ranges = Vec::new();
        for (key, answer) in entries {
            let (first, last) = match key.split_once('-') {
                Some((a, b)) => (a.trim().parse(), b.trim().parse()),
                None => (key.trim().parse(), key.trim().parse()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                return Err(invalid(format!(
                    "'{key}' is not an invocation number or range"
                )));
            };
            let response = match (answer.get("Return"), answer.get("Throw")) {
                (Some(value), None) => Response::ok(value.clone()),
                (None, Some(thrown)) => Response::throw(
                    thrown
                        .get("Error")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    thrown
                        .get("Cause")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                ),
                _ => {
                    return Err(invalid(format!(
                        "'{key}' needs exactly one of Return and Throw"
                    )));
                }
            };
            ranges.push((first, last, response));
        }
        Ok(Answers {
            name: name.to_owned(),
            ranges,
        })
    }

    fn nth(&self, invocation: u32) -> Response {
        self.ranges
            .iter()
            .find(|(first, last, _)| (*first..=*last).contains(&invocation))
            .map(|(_, _, response)| response.clone())
            .unwrap_or_else(|| {
                Response::throw(
                    "States.Runtime",
                    format!(
                        "mocked response {} has no answer for invocation {invocation}",
                        self.name
                    ),
                )
            })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MockError {
    #[error("the mock configuration has no state machine named {0} under StateMachines")]
    NoMachine(String),
    #[error("the mock configuration has no test case {0} for state machine {1}")]
    NoCase(String, String),
    #[error("the mock configuration has no mocked response named {0} under MockedResponses")]
    NoResponse(String),
    #[error("invalid mock configuration: {0}")]
    Invalid(String),
}
