//! Watching the pipeline work: finding the execution an upload started,
//! waiting for it, and reading what it left behind (history, table item,
//! thumbnail), in forms fit for a report and for snapshots.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_sfn::Client as Sfn;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde::Serialize;
use serde_json::{Value, json};

use crate::deploy::explain;

mod repair;

use repair::RepairHistory;

/// A finished (or timed-out) execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub arn: String,
    pub key: String,
    pub status: ExecutionStatus,
    pub duration: Option<Duration>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub output: Option<Value>,
}

impl Execution {
    pub fn succeeded(&self) -> bool {
        self.status == ExecutionStatus::Succeeded
    }
}

/// Finds executions by the object in their input. Execution names are
/// hashes, so the input is the only link from an upload to its execution.
#[derive(Debug)]
pub struct Executions {
    sfn: Sfn,
    state_machine: String,
    /// `(key, etag)` of each execution's input, by ARN: inputs never change.
    inputs: HashMap<String, (String, String)>,
}

impl Executions {
    pub fn new(sfn: Sfn, state_machine: &str) -> Executions {
        Executions {
            sfn,
            state_machine: state_machine.to_owned(),
            inputs: HashMap::new(),
        }
    }

    /// Every execution started for `key` so far, newest first, as `(arn, status)`.
    pub async fn for_key(&mut self, key: &str) -> Result<Vec<(String, ExecutionStatus)>> {
        self.matching(key, None, false).await
    }

    /// The newest execution started for this version of `key` (S3's ETag,
    /// quoted or not), if one has started.
    pub async fn newest(
        &mut self,
        key: &str,
        etag: &str,
    ) -> Result<Option<(String, ExecutionStatus)>> {
        let found = self.matching(key, Some(unquote(etag)), true).await?;
        Ok(found.into_iter().next())
    }

    async fn matching(
        &mut self,
        key: &str,
        etag: Option<&str>,
        first_only: bool,
    ) -> Result<Vec<(String, ExecutionStatus)>> {
        let mut found = Vec::new();
        let mut pages = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(explain).context("failed to list executions")?;
            for e in page.executions() {
                let arn = e.execution_arn();
                if !self.inputs.contains_key(arn) {
                    let input = self.input_of(arn).await?;
                    self.inputs.insert(arn.to_owned(), input);
                }
                let matches = self
                    .inputs
                    .get(arn)
                    .is_some_and(|(k, t)| k == key && etag.is_none_or(|etag| t == etag));
                if matches {
                    found.push((arn.to_owned(), e.status().clone()));
                    if first_only {
                        return Ok(found);
                    }
                }
            }
        }
        Ok(found)
    }

    async fn input_of(&self, arn: &str) -> Result<(String, String)> {
        let described = describe(&self.sfn, arn).await?;
        let input: Value = described
            .input()
            .and_then(|i| serde_json::from_str(i).ok())
            .unwrap_or_default();
        let field = |name: &str| input[name].as_str().unwrap_or_default();
        Ok((field("key").to_owned(), unquote(field("etag")).to_owned()))
    }

    /// Waits for the execution an upload of `key` started, then for it to end.
    pub async fn wait(&mut self, key: &str, timeout: Duration) -> Result<Execution> {
        let deadline = Instant::now() + timeout;
        let arn = loop {
            if let Some((arn, _)) = self.for_key(key).await?.into_iter().next() {
                break arn;
            }
            if Instant::now() > deadline {
                bail!(
                    "no execution started for {key} within {timeout:?}: did the S3 notification fire?"
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        loop {
            let d = describe(&self.sfn, &arn).await?;
            if *d.status() != ExecutionStatus::Running {
                let duration = d.stop_date().and_then(|stop| {
                    let ms = stop.to_millis().ok()? - d.start_date().to_millis().ok()?;
                    Some(Duration::from_millis(u64::try_from(ms).ok()?))
                });
                return Ok(Execution {
                    arn,
                    key: key.to_owned(),
                    status: d.status().clone(),
                    duration,
                    error: d.error().map(str::to_owned),
                    cause: d.cause().map(str::to_owned),
                    output: d.output().and_then(|o| serde_json::from_str(o).ok()),
                });
            }
            if Instant::now() > deadline {
                bail!("execution {arn} for {key} still running after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

/// What Step Functions says of one execution now.
pub async fn describe(sfn: &Sfn, arn: &str) -> Result<DescribeExecutionOutput> {
    sfn.describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to describe execution {arn}"))
}

/// S3 quotes ETags in its headers but not in its events.
pub fn unquote(etag: &str) -> &str {
    etag.trim_matches('"')
}

/// The full history of an execution, oldest first.
pub async fn history(sfn: &Sfn, execution: &str) -> Result<Vec<HistoryEvent>> {
    let mut events = Vec::new();
    let mut next_token = None;
    loop {
        let page = history_page(sfn, execution, next_token).await?;
        events.extend(page.events().iter().cloned());
        next_token = page.next_token().map(str::to_owned);
        if next_token.is_none() {
            return Ok(events);
        }
    }
}

async fn history_page(
    sfn: &Sfn,
    execution: &str,
    next_token: Option<String>,
) -> Result<GetExecutionHistoryOutput> {
    // LocalStack answers 500 now and then while an execution it has just
    // finished is being recorded; a moment later the same call succeeds.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = sfn
            .get_execution_history()
            .execution_arn(execution)
            .include_execution_data(true)
            .set_next_token(next_token.clone())
            .customize()
            .interceptor(RepairHistory)
            .send()
            .await;
        match result {
            Ok(page) => return Ok(page),
            Err(e)
                if attempt < 10
                    && e.raw_response()
                        .is_some_and(|r| r.status().is_server_error()) =>
            {
                eprintln!(
                    "observe: retrying the history of {execution}: {}",
                    explain(e)
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(explain(e))
                    .with_context(|| format!("failed to read the history of {execution}"));
            }
        }
    }
}

/// One event of a normalised history.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Value>,
}

/// The history as a stable list for snapshots: every event is attributed to
/// the state it belongs to, events of Parallel branches are ordered by
/// branch (they interleave arbitrarily when they run), and ids, ARNs,
/// timestamps and the stack's bucket name are redacted.
pub fn normalise(
    events: &[HistoryEvent],
    branch_of: &dyn Fn(&str) -> Option<usize>,
    bucket: &str,
) -> Vec<Event> {
    let mut state_of: HashMap<i64, Option<String>> = HashMap::new();
    // Parallel and Map states being run, innermost last: their own unnamed
    // events (`ParallelStateSucceeded`, ...) follow whichever branch ended
    // last, so they are attributed to the state, not to that branch.
    let mut containers: Vec<String> = Vec::new();
    let mut out: Vec<(Option<usize>, usize, Event)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let kind = e.r#type().as_str();
        let is_container_event = kind.starts_with("ParallelState") || kind.starts_with("MapState");
        let named = e
            .state_entered_event_details()
            .map(|d| d.name().to_owned())
            .or_else(|| e.state_exited_event_details().map(|d| d.name().to_owned()));
        if let Some(name) = &named {
            match kind {
                "ParallelStateEntered" | "MapStateEntered" => containers.push(name.clone()),
                "ParallelStateExited" | "MapStateExited" => {
                    containers.pop();
                }
                _ => {}
            }
        }
        let state = named.or_else(|| {
            if is_container_event {
                containers.last().cloned()
            } else {
                state_of.get(&e.previous_event_id()).cloned().flatten()
            }
        });
        state_of.insert(e.id(), state.clone());
        let (error, cause) = failure(e);
        let event = Event {
            kind: e.r#type().as_str().to_owned(),
            input: e
                .state_entered_event_details()
                .and_then(|d| d.input())
                .map(|s| redact_json(s, bucket)),
            output: e
                .state_exited_event_details()
                .and_then(|d| d.output())
                .map(|s| redact_json(s, bucket)),
            error,
            cause: cause.map(|c| redact_json(&c, bucket)),
            state: state.clone(),
        };
        out.push((state.as_deref().and_then(branch_of), i, event));
    }
    // Within each run of branch events, order by branch, keeping each
    // branch's own order.
    let mut result = Vec::with_capacity(out.len());
    let mut run: Vec<(usize, usize, Event)> = Vec::new();
    for (branch, i, event) in out {
        match branch {
            Some(b) => run.push((b, i, event)),
            None => {
                run.sort_by_key(|(b, i, _)| (*b, *i));
                result.extend(run.drain(..).map(|(_, _, e)| e));
                result.push(event);
            }
        }
    }
    run.sort_by_key(|(b, i, _)| (*b, *i));
    result.extend(run.into_iter().map(|(_, _, e)| e));
    result
}

fn failure(e: &HistoryEvent) -> (Option<String>, Option<String>) {
    macro_rules! pick {
        ($($details:ident),*) => {
            $(if let Some(d) = e.$details() {
                return (d.error().map(str::to_owned), d.cause().map(str::to_owned));
            })*
        };
    }
    pick!(
        task_failed_event_details,
        task_timed_out_event_details,
        lambda_function_failed_event_details,
        lambda_function_timed_out_event_details,
        execution_failed_event_details,
        execution_timed_out_event_details
    );
    if let Some(d) = e.lambda_function_schedule_failed_event_details() {
        return (d.error().map(str::to_owned), d.cause().map(str::to_owned));
    }
    (None, None)
}

/// Parses `text` as JSON (or keeps it as a string) and redacts what differs
/// between runs.
pub fn redact_json(text: &str, bucket: &str) -> Value {
    let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    redact(value, bucket)
}

pub fn redact(value: Value, bucket: &str) -> Value {
    match value {
        Value::String(s) => Value::String(redact_str(&s, bucket)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| redact(v, bucket)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, redact(v, bucket)))
                .collect(),
        ),
        other => other,
    }
}

fn redact_str(s: &str, bucket: &str) -> String {
    // A cause is often JSON inside a string: redact inside it too.
    if (s.starts_with('{') || s.starts_with('[')) && serde_json::from_str::<Value>(s).is_ok() {
        let inner = redact_json(s, bucket);
        return serde_json::to_string(&inner).unwrap_or_default();
    }
    if s.starts_with("arn:") {
        return "[arn]".into();
    }
    if looks_like_timestamp(s) {
        return "[timestamp]".into();
    }
    if bucket.is_empty() {
        s.to_owned()
    } else {
        s.replace(bucket, "[bucket]")
    }
}

/// A point in time of this run: ISO 8601 with a zone. EXIF times have no
/// zone and are data, not run-dependent.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let zoned = s.ends_with('Z') || b.get(b.len().saturating_sub(6)) == Some(&b'+');
    zoned
        && b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

/// Labels as stored by `StoreLabels`: a JSON list, or a single string where
/// LocalStack's JSONPath returns one `[*]` match unwrapped.
pub fn labels(stored: &Value) -> Vec<String> {
    match stored
        .as_str()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(one)) => vec![one],
        _ => Vec::new(),
    }
}

/// The names of the states an execution entered, in order (branches ordered).
pub fn path(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind.ends_with("StateEntered"))
        .filter_map(|e| e.state.clone())
        .collect()
}

/// The `ImageMetadata` item of `key`, as plain JSON.
pub async fn item(ddb: &aws_sdk_dynamodb::Client, table: &str, key: &str) -> Result<Option<Value>> {
    let out = ddb
        .get_item()
        .table_name(table)
        .key(
            infra::stack::TABLE_KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(key.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to read the item of {key} from {table}"))?;
    Ok(out.item().map(attributes))
}

/// A DynamoDB map as JSON, keys sorted: the SDK's map has no stable order.
pub fn attributes(map: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> Value {
    let sorted: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, attribute(v))).collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
}

fn attribute(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => json!(s),
        A::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| n.parse::<f64>().map(Value::from))
            .unwrap_or(json!(n)),
        A::Bool(b) => json!(b),
        A::M(m) => attributes(m),
        A::L(l) => Value::Array(l.iter().map(attribute).collect()),
        A::Ss(s) => json!(s),
        A::Null(_) => Value::Null,
        other => json!(format!("{other:?}")),
    }
}

/// Branch index of each state inside the Parallel states of a definition.
pub fn branches(definition: &asl::StateMachine) -> BTreeMap<String, usize> {
    let json = serde_json::to_value(definition).unwrap_or_default();
    let mut map = BTreeMap::new();
    fn walk(states: &Value, branch: Option<usize>, map: &mut BTreeMap<String, usize>) {
        for (name, state) in states.as_object().into_iter().flatten() {
            if let Some(b) = branch {
                map.insert(name.clone(), b);
            }
            for (i, br) in state["Branches"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                walk(&br["States"], Some(i), map);
            }
        }
    }
    walk(&json["States"], None, &mut map);
    map
}
