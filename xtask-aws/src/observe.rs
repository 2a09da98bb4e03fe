//! Watching the pipeline work: finding the execution an upload started,
//! waiting for it, and reading what it left behind (history, table item,
//! thumbnail), in forms fit for a report and for snapshots.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_sfn::Client as Sfn;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use photopipe_shared::naming::{self, Revision};
use photopipe_shared::table::{ImageItem, attribute};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::deploy::explain;

mod repair;

use repair::RepairHistory;

/// A finished execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub arn: String,
    pub key: String,
    pub status: ExecutionStatus,
    pub start: Option<SystemTime>,
    pub stop: Option<SystemTime>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub output: Option<Value>,
}

impl Execution {
    pub fn succeeded(&self) -> bool {
        self.status == ExecutionStatus::Succeeded
    }

    /// From start to stop, as Step Functions recorded them.
    pub fn duration(&self) -> Option<Duration> {
        self.stop?.duration_since(self.start?).ok()
    }

    fn from_description(key: &str, d: &DescribeExecutionOutput) -> Execution {
        let start = system_time(d.start_date());
        let stop = d.stop_date().and_then(system_time);
        Execution {
            arn: d.execution_arn().to_owned(),
            key: key.to_owned(),
            status: d.status().clone(),
            start,
            stop,
            error: d.error().map(str::to_owned),
            cause: d.cause().map(str::to_owned),
            output: d.output().and_then(|o| serde_json::from_str(o).ok()),
        }
    }
}

fn system_time(t: &aws_smithy_types::DateTime) -> Option<SystemTime> {
    SystemTime::try_from(*t).ok()
}

/// An object as S3 acknowledged its upload: enough to compute the name of
/// the execution its event starts (`photopipe_shared::naming`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl Upload {
    pub fn new(bucket: &str, key: &str, put: &PutObjectOutput) -> Upload {
        Upload {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            etag: unquote(put.e_tag().unwrap_or_default()).to_owned(),
            version_id: put.version_id().map(str::to_owned),
        }
    }

    pub fn execution_name(&self) -> Result<String> {
        let revision = Revision::of_object(self.version_id.as_deref(), Some(&self.etag))
            .with_context(|| format!("S3 gave {} neither an ETag nor a version", self.key))?;
        Ok(naming::execution_name(&self.bucket, &self.key, revision))
    }
}

/// Finds the executions of uploads. Their names follow from the uploads
/// (`photopipe_shared::naming`), so waiting needs no search; only counting
/// every execution of a key reads inputs.
#[derive(Debug)]
pub struct Executions {
    sfn: Sfn,
    state_machine: String,
    /// `(key, etag)` of each execution's input, by ARN: inputs never change.
    inputs: HashMap<String, (String, String)>,
}

impl Executions {
    pub fn new(sfn: Sfn, state_machine: &str) -> Executions {
        // An engine that accepts connections but never answers (frozen,
        // half restarted) must fail a call, not hang the wait.
        let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_secs(20))
            .build();
        let sfn = Sfn::from_conf(sfn.config().to_builder().timeout_config(timeouts).build());
        Executions {
            sfn,
            state_machine: state_machine.to_owned(),
            inputs: HashMap::new(),
        }
    }

    pub fn state_machine(&self) -> &str {
        &self.state_machine
    }

    /// The ARN the execution of `upload` has, or will have once it starts.
    pub fn arn_of(&self, upload: &Upload) -> Result<String> {
        let name = upload.execution_name()?;
        naming::execution_arn(&self.state_machine, &name)
            .with_context(|| format!("{} is not a state machine ARN", self.state_machine))
    }

    /// What Step Functions says of the execution of `upload`, if it has started.
    pub async fn describe_upload(
        &self,
        upload: &Upload,
    ) -> Result<Option<DescribeExecutionOutput>> {
        let arn = self.arn_of(upload)?;
        match self
            .sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(d) => Ok(Some(d)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                Ok(None)
            }
            Err(e) => {
                Err(explain(e)).with_context(|| format!("failed to describe execution {arn}"))
            }
        }
    }

    /// Waits for the execution an upload started to end.
    pub async fn wait(&self, upload: &Upload, timeout: Duration) -> Result<Execution> {
        let mut done = self.wait_all(std::slice::from_ref(upload), timeout).await?;
        done.pop().context("wait_all returned nothing")
    }

    /// Waits until the execution of every upload has ended, in the uploads'
    /// order. One `ListExecutions` page per thousand executions a poll, and
    /// one `DescribeExecution` per execution once it has ended: the cost does
    /// not grow with the square of the uploads.
    ///
    /// Fails with an [`Unfinished`] (which says what had ended and what was
    /// lost, and why) after `timeout`, once the state machine is gone (the
    /// engine was reset or restarted and kept nothing), or once Step
    /// Functions has not answered for [`UNREACHABLE_AFTER`].
    pub async fn wait_all(&self, uploads: &[Upload], timeout: Duration) -> Result<Vec<Execution>> {
        let deadline = Instant::now() + timeout;
        let arns = uploads
            .iter()
            .map(|u| self.arn_of(u))
            .collect::<Result<Vec<_>>>()?;
        let mut ended: HashMap<&str, Execution> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut failing_since: Option<Instant> = None;
        loop {
            match self.poll(&arns, uploads, &mut ended, &mut seen).await {
                Ok(()) => failing_since = None,
                Err(Poll::Gone(reason)) => {
                    return Err(Unfinished::new(uploads, &arns, ended, reason).into());
                }
                Err(Poll::Failed(error)) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= UNREACHABLE_AFTER {
                        let reason = format!(
                            "Step Functions has not answered for {} s: {error:#}",
                            UNREACHABLE_AFTER.as_secs()
                        );
                        return Err(Unfinished::new(uploads, &arns, ended, reason).into());
                    }
                }
            }
            if ended.len() == arns.len() {
                return Ok(arns
                    .iter()
                    .filter_map(|a| ended.remove(a.as_str()))
                    .collect());
            }
            if Instant::now() > deadline {
                let missing: Vec<&str> = uploads
                    .iter()
                    .zip(&arns)
                    .filter(|(_, a)| !seen.contains(*a))
                    .map(|(u, _)| u.key.as_str())
                    .collect();
                let running = arns.len() - ended.len() - missing.len();
                let reason = format!(
                    "after {timeout:?}, {} never started (did the S3 notification fire? {}), \
                     {running} still running",
                    missing.len(),
                    preview(&missing),
                );
                return Err(Unfinished::new(uploads, &arns, ended, reason).into());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// One look at every execution; describes those that ended since.
    async fn poll<'a>(
        &self,
        arns: &'a [String],
        uploads: &[Upload],
        ended: &mut HashMap<&'a str, Execution>,
        seen: &mut HashSet<String>,
    ) -> Result<(), Poll> {
        let statuses = self.statuses().await.map_err(|e| self.classify(e))?;
        for (arn, upload) in arns.iter().zip(uploads) {
            let Some(status) = statuses.get(arn) else {
                continue;
            };
            seen.insert(arn.clone());
            if *status != ExecutionStatus::Running && !ended.contains_key(arn.as_str()) {
                let d = describe(&self.sfn, arn)
                    .await
                    .map_err(|e| self.classify(e))?;
                ended.insert(arn, Execution::from_description(&upload.key, &d));
            }
        }
        Ok(())
    }

    /// Whether the state machine is gone for good, or a call merely failed.
    fn classify(&self, error: anyhow::Error) -> Poll {
        let gone = error.chain().any(|cause| {
            let text = cause.to_string();
            text.contains("StateMachineDoesNotExist") || text.contains("ExecutionDoesNotExist")
        });
        if gone {
            Poll::Gone(format!(
                "the state machine {} or its executions no longer exist: the engine lost the \
                 deployment (LocalStack restarted or was reset, keeping nothing), and with it \
                 every execution that had not ended",
                self.state_machine
            ))
        } else {
            Poll::Failed(error)
        }
    }

    /// The status of every execution of the state machine, by ARN.
    async fn statuses(&self) -> Result<HashMap<String, ExecutionStatus>> {
        let mut statuses = HashMap::new();
        let mut pages = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine)
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(explain).context("failed to list executions")?;
            for e in page.executions() {
                statuses.insert(e.execution_arn().to_owned(), e.status().clone());
            }
        }
        Ok(statuses)
    }

    /// Every execution so far, as `(arn, status, key, etag)` of its input:
    /// what proves that nothing else started one. Reads each input once.
    pub async fn all(&mut self) -> Result<Vec<(String, ExecutionStatus, String, String)>> {
        let mut all = Vec::new();
        for (arn, status) in self.statuses().await? {
            if !self.inputs.contains_key(&arn) {
                let input = self.input_of(&arn).await?;
                self.inputs.insert(arn.clone(), input);
            }
            let (key, etag) = self.inputs[&arn].clone();
            all.push((arn, status, key, etag));
        }
        Ok(all)
    }

    /// Every execution started for `key` so far, as `(arn, status)`.
    pub async fn for_key(&mut self, key: &str) -> Result<Vec<(String, ExecutionStatus)>> {
        Ok(self
            .all()
            .await?
            .into_iter()
            .filter(|(_, _, k, _)| k == key)
            .map(|(arn, status, _, _)| (arn, status))
            .collect())
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
}

/// How long Step Functions may fail every call before [`Executions::wait_all`]
/// gives up on it: long enough for a network blip, short of a hang.
pub const UNREACHABLE_AFTER: Duration = Duration::from_secs(30);

enum Poll {
    /// The deployment is gone: waiting longer cannot help.
    Gone(String),
    /// A call failed; the next may not.
    Failed(anyhow::Error),
}

/// Waiting stopped before every upload's execution ended: what had ended,
/// which uploads have no recorded outcome, and why.
#[derive(Debug)]
pub struct Unfinished {
    pub ended: Vec<Execution>,
    /// The keys of the uploads whose execution had not ended.
    pub lost: Vec<String>,
    pub reason: String,
}

impl Unfinished {
    fn new(
        uploads: &[Upload],
        arns: &[String],
        mut ended: HashMap<&str, Execution>,
        reason: String,
    ) -> Unfinished {
        let mut done = Vec::new();
        let mut lost = Vec::new();
        for (upload, arn) in uploads.iter().zip(arns) {
            match ended.remove(arn.as_str()) {
                Some(execution) => done.push(execution),
                None => lost.push(upload.key.clone()),
            }
        }
        Unfinished {
            ended: done,
            lost,
            reason,
        }
    }
}

impl std::fmt::Display for Unfinished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.lost.iter().map(String::as_str).collect();
        write!(
            f,
            "{} of {} uploads have no outcome ({}): {}",
            self.lost.len(),
            self.lost.len() + self.ended.len(),
            preview(&keys),
            self.reason
        )
    }
}

impl std::error::Error for Unfinished {}

/// The first few of many names, for a message.
fn preview(names: &[&str]) -> String {
    let mut shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        shown.push_str(&format!(" and {} more", names.len() - 5));
    }
    shown
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

/// How long each state took, from its `…StateEntered` to its
/// `…StateExited`, in the order the states were left. A state that never
/// exited (the execution failed inside it) is left out.
pub fn state_durations(events: &[HistoryEvent]) -> Vec<(String, Duration)> {
    let mut entered: HashMap<&str, SystemTime> = HashMap::new();
    let mut took = Vec::new();
    for e in events {
        let Some(at) = system_time(e.timestamp()) else {
            continue;
        };
        if let Some(d) = e.state_entered_event_details() {
            entered.insert(d.name(), at);
        } else if let Some(d) = e.state_exited_event_details()
            && let Some(start) = entered.remove(d.name())
        {
            took.push((
                d.name().to_owned(),
                at.duration_since(start).unwrap_or_default(),
            ));
        }
    }
    took
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
    let mut current: Option<String> = None;
    let mut out: Vec<(Option<usize>, (String, usize), Event)> = Vec::new();
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
        // MiniStack leaves out previousEventId: an event then belongs to the
        // state entered last and not yet left. Inside a Parallel state whose
        // branches record no StateEntered, that is the Parallel state, and the
        // branches' events arrive in any order: they are put in order by type.
        let previous = state_of.get(&e.previous_event_id()).cloned();
        let unplaced = named.is_none()
            && !is_container_event
            && previous.is_none()
            && current.is_some()
            && current.as_ref() == containers.last();
        let state = named.clone().or_else(|| {
            if is_container_event {
                containers.last().cloned()
            } else {
                previous.unwrap_or_else(|| current.clone())
            }
        });
        if kind.ends_with("StateEntered") {
            current = named;
        } else if kind.ends_with("StateExited") {
            current = containers.last().cloned();
        }
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
        if unplaced {
            out.push((Some(usize::MAX), (event.kind.clone(), 0), event));
        } else {
            out.push((
                state.as_deref().and_then(branch_of),
                (String::new(), i),
                event,
            ));
        }
    }
    // Within each run of branch events, order by branch, keeping each
    // branch's own order.
    let mut result = Vec::with_capacity(out.len());
    let mut run: Vec<(usize, (String, usize), Event)> = Vec::new();
    for (branch, i, event) in out {
        match branch {
            Some(b) => run.push((b, i, event)),
            None => {
                run.sort_by(|(b, i, _), (c, j, _)| (b, i).cmp(&(c, j)));
                result.extend(run.drain(..).map(|(_, _, e)| e));
                result.push(event);
            }
        }
    }
    run.sort_by(|(b, i, _), (c, j, _)| (b, i).cmp(&(c, j)));
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
                .map(|(k, v)| match k.as_str() {
                    // S3 makes up version ids; which one an upload got is noise.
                    "versionId" | "VersionId" if v.is_string() => (k, json!("[version]")),
                    // Sequencers count time: which one an event got is noise too.
                    "sequencer" if v.is_string() => (k, json!("[sequencer]")),
                    _ => (k, redact(v, bucket)),
                })
                .collect(),
        ),
        other => other,
    }
}

fn redact_str(s: &str, bucket: &str) -> String {
    // A cause is often JSON inside a string: redact inside it too.
    if (s.starts_with('{') || s.starts_with('[')) && serde_json::from_str::<Value>(s).is_ok() {
        let inner = redact_json(s, bucket);
        return serde_json::to_string(&inner).expect("a JSON value always serializes");
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

/// A recorded execution run again in the simulator on the same definition
/// and input, each task answering what it answered then (and taking as
/// long): its history, to set beside the recorded one.
pub fn simulated(
    definition: &asl::StateMachine,
    events: &[HistoryEvent],
    state_machine_arn: &str,
    execution_arn: &str,
) -> Vec<HistoryEvent> {
    let started = events.first();
    let input = started
        .and_then(|e| e.execution_started_event_details())
        .and_then(|d| d.input())
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let options = sim::Options {
        state_machine_arn: state_machine_arn.to_owned(),
        execution_name: execution_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned(),
        start_ms: started
            .and_then(|e| e.timestamp().to_millis().ok())
            .unwrap_or_default(),
        ..sim::Options::default()
    };
    let mocks = sim::recorded::mocks(&sim::history_sdk::to_json(events));
    sim::Simulator::new(&mocks)
        .with_options(options)
        .run(definition, input)
        .history()
}

/// The first event where two normalised histories differ, described; `None`
/// when they are equal.
pub fn first_difference(recorded: &[Event], simulated: &[Event]) -> Option<String> {
    let render = |e: Option<&Event>| {
        e.map_or("nothing".to_owned(), |e| {
            serde_json::to_string(e).unwrap_or_else(|err| format!("unprintable event: {err}"))
        })
    };
    (0..recorded.len().max(simulated.len()))
        .find(|&i| render(recorded.get(i)) != render(simulated.get(i)))
        .map(|i| {
            format!(
                "event {i} differs:\n  recorded:  {}\n  simulated: {}",
                render(recorded.get(i)),
                render(simulated.get(i))
            )
        })
}

/// The names of the states an execution entered, in order (branches ordered).
pub fn path(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind.ends_with("StateEntered"))
        .filter_map(|e| e.state.clone())
        .collect()
}

/// The states of `path` outside Parallel branches (`branches`), which
/// every engine records; MiniStack records none inside them.
pub fn top_level(path: &[String], branches: &BTreeMap<String, usize>) -> Vec<String> {
    path.iter()
        .filter(|state| !branches.contains_key(*state))
        .cloned()
        .collect()
}

/// The `ImageMetadata` item of `key`, typed.
pub async fn image_item(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
) -> Result<Option<ImageItem>> {
    item(ddb, table, key).await?.as_ref().map(typed).transpose()
}

/// An item read as plain JSON, typed.
fn typed(item: &Value) -> Result<ImageItem> {
    ImageItem::deserialize(item)
        .with_context(|| format!("not an item the state machine writes: {item}"))
}

/// Every item of the table, typed, read consistently.
pub async fn items(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<ImageItem>> {
    let mut items = Vec::new();
    let mut pages = ddb
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(explain)
            .with_context(|| format!("failed to scan {table}"))?;
        for item in page.items() {
            items.push(typed(&attributes(item))?);
        }
    }
    Ok(items)
}

/// The `ImageMetadata` item of `key`, as plain JSON.
pub async fn item(ddb: &aws_sdk_dynamodb::Client, table: &str, key: &str) -> Result<Option<Value>> {
    let out = ddb
        .get_item()
        .table_name(table)
        .key(
            attribute::IMAGE_KEY,
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::types::HistoryEventType;

    fn upload(key: &str) -> Upload {
        Upload {
            bucket: "photos".into(),
            key: key.into(),
            etag: "e".into(),
            version_id: None,
        }
    }

    #[test]
    fn unfinished_names_what_ended_and_what_was_lost() {
        let uploads = [upload("incoming/a.jpg"), upload("incoming/b.jpg")];
        let arns = ["arn:a".to_owned(), "arn:b".to_owned()];
        let ended = HashMap::from([(
            "arn:b",
            Execution {
                arn: "arn:b".into(),
                key: "incoming/b.jpg".into(),
                status: ExecutionStatus::Succeeded,
                start: None,
                stop: None,
                error: None,
                cause: None,
                output: None,
            },
        )]);
        let unfinished = Unfinished::new(&uploads, &arns, ended, "LocalStack restarted".into());
        assert_eq!(unfinished.lost, ["incoming/a.jpg"]);
        assert_eq!(unfinished.ended.len(), 1);
        assert_eq!(
            unfinished.to_string(),
            "1 of 2 uploads have no outcome (incoming/a.jpg): LocalStack restarted"
        );
    }

    /// A history as MiniStack writes it: no previousEventId, and the tasks
    /// of Parallel branches without their states, in any order.
    fn ministack_history(branch_events: [HistoryEventType; 4]) -> Vec<HistoryEvent> {
        use aws_sdk_sfn::types::{StateEnteredEventDetails, StateExitedEventDetails};
        let at = aws_smithy_types::DateTime::from_secs(0);
        let event = |id: i64, kind: HistoryEventType| {
            HistoryEvent::builder().id(id).timestamp(at).r#type(kind)
        };
        let entered = |id, kind, name: &str| {
            event(id, kind)
                .state_entered_event_details(
                    StateEnteredEventDetails::builder()
                        .name(name)
                        .build()
                        .expect("a name"),
                )
                .build()
                .expect("a history event")
        };
        let exited = |id, kind, name: &str| {
            event(id, kind)
                .state_exited_event_details(
                    StateExitedEventDetails::builder()
                        .name(name)
                        .build()
                        .expect("a name"),
                )
                .build()
                .expect("a history event")
        };
        let mut events = vec![
            event(1, HistoryEventType::ExecutionStarted)
                .build()
                .expect("an event"),
            entered(2, HistoryEventType::TaskStateEntered, "Extract"),
            event(3, HistoryEventType::TaskScheduled)
                .build()
                .expect("an event"),
            exited(4, HistoryEventType::TaskStateExited, "Extract"),
            entered(5, HistoryEventType::ParallelStateEntered, "Process"),
        ];
        for (i, kind) in branch_events.into_iter().enumerate() {
            events.push(event(6 + i as i64, kind).build().expect("an event"));
        }
        events.push(exited(10, HistoryEventType::ParallelStateExited, "Process"));
        events
    }

    #[test]
    fn events_without_previous_ids_belong_to_the_open_state_in_a_stable_order() {
        use HistoryEventType::{TaskScheduled as S, TaskSucceeded as D};
        let one = normalise(&ministack_history([S, D, S, D]), &|_| None, "b");
        let other = normalise(&ministack_history([S, S, D, D]), &|_| None, "b");
        let states: Vec<_> = one
            .iter()
            .map(|e| (e.kind.as_str(), e.state.as_deref()))
            .collect();
        assert_eq!(
            states,
            [
                ("ExecutionStarted", None),
                ("TaskStateEntered", Some("Extract")),
                ("TaskScheduled", Some("Extract")),
                ("TaskStateExited", Some("Extract")),
                ("ParallelStateEntered", Some("Process")),
                ("TaskScheduled", Some("Process")),
                ("TaskScheduled", Some("Process")),
                ("TaskSucceeded", Some("Process")),
                ("TaskSucceeded", Some("Process")),
                ("ParallelStateExited", Some("Process")),
            ]
        );
        let kinds = |events: &[Event]| events.iter().map(|e| e.kind.clone()).collect::<Vec<_>>();
        assert_eq!(kinds(&one), kinds(&other));
    }
}
