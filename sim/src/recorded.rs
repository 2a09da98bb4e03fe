//! Mocks from a recorded execution history: each state's tasks answer what
//! they answered then, in the same order and after the same time, so the
//! simulator can run the execution again and be compared with it event by
//! event.
//!
//! The history is taken in `GetExecutionHistory`'s JSON shape (camelCase
//! fields, `…EventDetails` objects); outputs and causes may be JSON text or
//! already parsed, as test suites often store them.

use std::collections::HashMap;

use serde_json::Value;

use crate::mock::{Mocks, Response};

/// The answers every state's tasks gave in `events`.
pub fn mocks(events: &[Value]) -> Mocks {
    let mut answers: HashMap<String, Vec<Response>> = HashMap::new();
    let mut state_of: HashMap<i64, String> = HashMap::new();
    let mut last_entered = String::new();
    let mut started: Option<(f64, Option<u64>)> = None;
    let mut submitted: Option<Value> = None;
    let mut worker: Option<String> = None;
    for e in events {
        let kind = e["type"].as_str().unwrap_or_default();
        let id = e["id"].as_i64().unwrap_or(-1);
        let previous = e["previousEventId"].as_i64().unwrap_or(-1);
        let state = match e
            .pointer("/stateEnteredEventDetails/name")
            .and_then(Value::as_str)
        {
            Some(name) => {
                last_entered = name.to_owned();
                name.to_owned()
            }
            None => state_of
                .get(&previous)
                .cloned()
                .unwrap_or_else(|| last_entered.clone()),
        };
        state_of.insert(id, state.clone());
        if matches!(
            kind,
            "TaskScheduled" | "LambdaFunctionScheduled" | "ActivityScheduled"
        ) {
            let details = details(e);
            started = Some((
                seconds(&e["timestamp"]),
                details["timeoutInSeconds"].as_u64(),
            ));
        }
        match kind {
            "TaskSubmitted" => submitted = Some(json_of(&details(e)["output"])),
            "ActivityStarted" => {
                worker = details(e)["workerName"].as_str().map(str::to_owned);
            }
            _ => {}
        }
        if let Some(mut response) = answer(kind, e, started) {
            if let Some(output) = submitted.take() {
                response = response.submitted(output);
            }
            if let Some(name) = worker.take() {
                response = response.worker(name);
            }
            answers.entry(state).or_default().push(response);
        }
    }
    answers
        .into_iter()
        .fold(Mocks::new(), |mocks, (state, responses)| {
            mocks.state(state.clone(), move |call| {
                responses
                    .get(usize::try_from(call.invocation).unwrap_or(usize::MAX))
                    .cloned()
                    .unwrap_or_else(|| {
                        Response::throw(
                            "States.Runtime",
                            format!(
                                "the recorded history has no answer {} for the state '{state}'",
                                call.invocation
                            ),
                        )
                    })
            })
        })
}

/// What a task's closing event says it answered.
fn answer(kind: &str, e: &Value, started: Option<(f64, Option<u64>)>) -> Option<Response> {
    let d = details(e);
    let (at, timeout) = started.unwrap_or((f64::NAN, None));
    let took = seconds(&e["timestamp"]) - at;
    let took_ms = if took.is_finite() && took > 0.0 {
        (took * 1000.0).round() as u64
    } else {
        0
    };
    let response = match kind {
        "TaskSucceeded" | "LambdaFunctionSucceeded" | "ActivitySucceeded" => {
            Response::ok(json_of(&d["output"]))
        }
        "TaskFailed" | "LambdaFunctionFailed" | "ActivityFailed" => {
            Response::throw(text(&d["error"]), text(&d["cause"]))
        }
        "TaskTimedOut" | "LambdaFunctionTimedOut" | "ActivityTimedOut" => {
            // Longer than the limit, so that the simulator times it out too.
            let limit = timeout.unwrap_or(99_999_999);
            return Some(
                Response::ok(Value::Null).taking(limit.saturating_mul(1000).saturating_add(1)),
            );
        }
        _ => return None,
    };
    Some(response.taking(took_ms))
}

/// The event's one `…EventDetails` object.
fn details(e: &Value) -> &Value {
    e.as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.ends_with("EventDetails"))
                .map(|(_, v)| v)
        })
        .unwrap_or(&Value::Null)
}

/// A JSON value stored as text, or already parsed.
fn json_of(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// An error or cause: text, or an object a test suite parsed for readability.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A timestamp in seconds: the API's epoch seconds, or NaN when redacted.
fn seconds(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}
