//! The interpreter: executions, branches, and what every state shares
//! (input and output processing, retries, catchers, the virtual clock).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use asl::{Catcher, Retrier, State, StateMachine};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::coverage::Route;
use crate::distributed::MapRun;
use crate::history::{Event, Kind, Resource, json_text};
use crate::jsonpath::{self, Roots};
use crate::mock::Mocks;
use crate::states::shown;
use crate::{Failure, template, time};

/// Runs state machines on mocks.
#[derive(Debug)]
pub struct Simulator<'m> {
    pub mocks: &'m Mocks,
    pub options: Options,
}

/// What an execution is called and when it starts.
#[derive(Debug, Clone)]
pub struct Options {
    pub state_machine_arn: String,
    pub execution_name: String,
    pub role_arn: String,
    pub region: String,
    /// When the execution starts, in milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// Seeds the jitter of retries, `States.MathRandom` and `States.UUID`.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:Simulated"
                .into(),
            execution_name: "simulated".into(),
            role_arn: "arn:aws:iam::123456789012:role/simulated".into(),
            region: "us-east-1".into(),
            start_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    /// Stopped while running: a distributed Map's child when its run failed.
    Aborted,
}

impl Status {
    /// As `DescribeExecution` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// An ended execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub status: Status,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    pub events: Vec<Event>,
    /// The Choice rules, catchers and exhausted retriers it went through.
    pub routes: Vec<Route>,
    /// The runs of its distributed Maps (nested ones too), in the order
    /// they ended, with their child executions.
    pub map_runs: Vec<MapRun>,
}

impl Execution {
    /// The history as `GetExecutionHistory` gives it.
    #[cfg(feature = "sdk")]
    pub fn history(&self) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
        crate::history_sdk::to_sdk(&self.events)
    }

    /// The names of the states entered, in order.
    pub fn path(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                Kind::StateEntered { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl<'m> Simulator<'m> {
    pub fn new(mocks: &'m Mocks) -> Simulator<'m> {
        Simulator {
            mocks,
            options: Options::default(),
        }
    }

    pub fn with_options(self, options: Options) -> Simulator<'m> {
        Simulator { options, ..self }
    }

    pub fn run(&self, machine: &StateMachine, input: Value) -> Execution {
        let o = &self.options;
        let mut run = Run {
            mocks: self.mocks,
            region: o.region.as_str().into(),
            execution: execution_context(o, &input),
            invocations: HashMap::new(),
            tokens: 0,
            random: o.seed ^ 0x9e37_79b9_7f4a_7c15,
            deadline: machine
                .timeout_seconds
                .map(|s| o.start_ms.saturating_add(seconds(s))),
            timed_out: false,
            routes: Vec::new(),
            map_runs: Vec::new(),
            map_refused: false,
            role_arn: &o.role_arn,
            jsonata: machine.query_language == Some(asl::QueryLanguage::Jsonata),
        };
        let mut thread = Thread::new(o.start_ms);
        thread.push(Kind::ExecutionStarted {
            input: json_text(&input),
            role_arn: o.role_arn.clone(),
        });
        let ended = run.branch(
            &mut thread,
            &machine.states,
            &machine.start_at,
            input,
            &Map::new(),
            None,
        );
        let (status, output, failure, kind) = match ended {
            Ok(output) => (
                Status::Succeeded,
                Some(output.clone()),
                None,
                Kind::ExecutionSucceeded {
                    output: json_text(&output),
                },
            ),
            Err(f) if run.timed_out => (
                Status::TimedOut,
                None,
                Some(f.clone()),
                Kind::ExecutionTimedOut(f),
            ),
            Err(f) => (
                Status::Failed,
                None,
                Some(f.clone()),
                Kind::ExecutionFailed(f),
            ),
        };
        thread.push(kind);
        Execution {
            status,
            output,
            failure,
            events: thread.events,
            routes: run.routes,
            map_runs: run.map_runs,
        }
    }
}

fn execution_context(o: &Options, input: &Value) -> Value {
    let execution_arn = format!(
        "{}:{}",
        o.state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1),
        o.execution_name
    );
    let machine_name = o.state_machine_arn.rsplit(':').next().unwrap_or_default();
    json!({
        "Execution": {
            // In the order AWS gives its fields.
            "Id": execution_arn,
            "Input": input,
            "StartTime": time::format(o.start_ms),
            "Name": o.execution_name,
            "RoleArn": o.role_arn,
            "RedriveCount": 0,
        },
        "StateMachine": {"Id": o.state_machine_arn, "Name": machine_name},
    })
}

/// splitmix64: the next number of `state`'s sequence, deterministic per
/// seed, good enough for jitter, ids and JSONata's random functions.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A number of [0, 1) from 53 random bits.
pub(crate) fn unit(random: u64) -> f64 {
    (random >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn seconds(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// What is shared by every branch of one execution.
pub(crate) struct Run<'a> {
    pub mocks: &'a Mocks,
    pub region: Arc<str>,
    /// The context object's `Execution` and `StateMachine`.
    execution: Value,
    /// Per state name: how many times its task was invoked.
    invocations: HashMap<String, u32>,
    /// Task tokens handed out so far.
    tokens: u32,
    random: u64,
    deadline: Option<i64>,
    timed_out: bool,
    pub routes: Vec<Route>,
    pub map_runs: Vec<MapRun>,
    /// A distributed Map failed before its run started: no MapStateFailed.
    pub map_refused: bool,
    role_arn: &'a str,
    /// The machine's `QueryLanguage` is JSONata: its states' default.
    jsonata: bool,
}

/// One line of execution: the top level, a Parallel branch or a Map
/// iteration, with its own clock and events (merged into its parent's).
#[derive(Debug)]
pub(crate) struct Thread {
    pub clock: i64,
    pub events: Vec<Event>,
    /// The event the thread's first event follows, in the parent.
    starts_after: Option<usize>,
    /// How many events come before the thread's in the whole history, as far
    /// as is known when it starts (error causes give event ids).
    pub base: usize,
}

impl Thread {
    pub fn new(clock: i64) -> Thread {
        Thread {
            clock,
            // Growing the history was a tenth of a short execution's time.
            events: Vec::with_capacity(64),
            starts_after: None,
            base: 0,
        }
    }

    pub fn push(&mut self, kind: Kind) -> usize {
        let previous = self.events.len().checked_sub(1).or(self.starts_after);
        self.events.push(Event {
            at_ms: self.clock,
            previous,
            kind,
        });
        self.events.len() - 1
    }

    /// A child thread that starts now, after this thread's last event.
    pub fn child(&self) -> Thread {
        Thread {
            clock: self.clock,
            events: Vec::with_capacity(16),
            starts_after: None,
            base: self.base + self.events.len(),
        }
    }

    /// Ends a branch or Map iteration that a failure cut short at `at`, as
    /// the service does: its later events never happen, each state still
    /// running is aborted (a Fail state has ended), and so is an iteration
    /// that had not ended. `failed`: this is the branch whose failure ends
    /// them all, so its iteration fails rather than being aborted.
    pub fn abort(&mut self, at: i64, iteration: Option<(&str, usize)>, failed: bool) {
        self.events.retain(|e| e.at_ms <= at);
        let ended = |k: Option<&Kind>| match k {
            Some(Kind::MapIterationSucceeded { .. }) => true,
            Some(Kind::MapIterationFailed { .. }) => failed,
            _ => false,
        };
        if !failed
            && matches!(
                self.events.last().map(|e| &e.kind),
                Some(Kind::MapIterationFailed { .. })
            )
        {
            self.events.pop();
        }
        let iteration_ended = ended(self.events.last().map(|e| &e.kind));
        let mut running: Vec<(&'static str, String)> = Vec::new();
        for e in &self.events {
            match &e.kind {
                Kind::StateEntered { kind, name, .. } => running.push((kind, name.clone())),
                // A state whose expression failed has ended, as a Fail state has.
                Kind::StateExited { name, .. } | Kind::EvaluationFailed { state: name, .. } => {
                    if let Some(i) = running.iter().rposition(|(_, n)| n == name) {
                        running.remove(i);
                    }
                }
                _ => {}
            }
        }
        self.clock = self.clock.max(at);
        for (kind, name) in running
            .into_iter()
            .rev()
            .filter(|(kind, _)| *kind != "Fail")
        {
            self.push(Kind::StateAborted { kind, name });
        }
        if let (Some((name, index)), false) = (iteration, iteration_ended) {
            self.push(Kind::MapIterationAborted {
                name: name.to_owned(),
                index,
            });
        }
    }

    /// Takes in the events of `children` up to `until` (all when `None`),
    /// in the order of their times; `parent` is the event they follow.
    pub fn merge(&mut self, children: Vec<Thread>, parent: usize, until: Option<i64>) {
        let mut all: Vec<(i64, usize, usize, Event)> = Vec::new();
        for (branch, child) in children.into_iter().enumerate() {
            for (i, e) in child.events.into_iter().enumerate() {
                if until.is_none_or(|t| e.at_ms <= t) {
                    all.push((e.at_ms, branch, i, e));
                }
            }
        }
        all.sort_by_key(|(at, branch, i, _)| (*at, *branch, *i));
        let mut placed: HashMap<(usize, usize), usize> = HashMap::new();
        for (at, branch, i, mut e) in all {
            e.previous = Some(match e.previous {
                Some(p) => placed.get(&(branch, p)).copied().unwrap_or(parent),
                None => parent,
            });
            self.clock = self.clock.max(at);
            placed.insert((branch, i), self.events.len());
            self.events.push(e);
        }
    }
}

/// Where a state leads.
pub(crate) enum Step {
    Next(String, Value),
    End(Value),
}

impl<'a> Run<'a> {
    /// Runs the states from `start` until one ends the branch.
    pub fn branch(
        &mut self,
        thread: &mut Thread,
        states: &IndexMap<String, State>,
        start: &str,
        input: Value,
        variables: &Map<String, Value>,
        map_item: Option<&Value>,
    ) -> Result<Value, Failure> {
        let mut variables = variables.clone();
        let (mut name, mut input) = (start.to_owned(), input);
        // One context object per branch, its `State` rewritten for each
        // state: copying the execution's part for every state dominated.
        let mut context = self.context(start, thread.clock, None, map_item);
        loop {
            self.check_deadline(thread)?;
            let state = states
                .get(&name)
                .ok_or_else(|| Failure::runtime(format!("no state named '{name}'")))?;
            set_state(&mut context, &name, thread.clock, retries(state));
            let jsonata = self.jsonata(state);
            let scope = Scope {
                name: &name,
                kind: state.kind(),
                context,
                map_item,
                entered: thread.base + thread.events.len() + 1,
                jsonata,
                // Only a JSONata state draws: JSONPath runs keep their numbers.
                seed: if jsonata { self.random() } else { 0 },
            };
            let step = self.state(thread, &scope, state, input, &mut variables);
            context = scope.context;
            match step? {
                Step::Next(next, output) => (name, input) = (next, output),
                Step::End(output) => return Ok(output),
            }
        }
    }

    /// A state's language is its own or the machine's, never that of the
    /// Map or Parallel it is in.
    fn jsonata(&self, state: &State) -> bool {
        crate::states::state_language(state)
            .map_or(self.jsonata, |l| l == asl::QueryLanguage::Jsonata)
    }

    fn check_deadline(&mut self, thread: &Thread) -> Result<(), Failure> {
        match self.deadline {
            Some(deadline) if thread.clock > deadline => {
                self.timed_out = true;
                Err(Failure::new("States.Timeout", "The execution timed out"))
            }
            _ => Ok(()),
        }
    }

    /// The context object of a state entered at `entered_ms`.
    /// `retry` is `None` for a state that cannot retry, whose `State` has
    /// no `RetryCount` (as AWS gives a Pass state's).
    pub fn context(
        &self,
        state: &str,
        entered_ms: i64,
        retry: Option<u64>,
        map_item: Option<&Value>,
    ) -> Value {
        let mut context = self.execution.clone();
        set_state(&mut context, state, entered_ms, retry);
        if let (Value::Object(fields), Some(item)) = (&mut context, map_item) {
            fields.insert("Map".into(), json!({ "Item": item }));
        }
        context
    }

    /// How many times `state`'s task was invoked before; counts this one.
    pub fn invoked(&mut self, state: &str) -> u32 {
        // Looked up before it is inserted: a key for every call cost more.
        match self.invocations.get_mut(state) {
            Some(count) => {
                *count += 1;
                *count - 1
            }
            None => {
                self.invocations.insert(state.to_owned(), 1);
                0
            }
        }
    }

    /// The context object of one attempt of a task, and its task token: a
    /// retry has its own `RetryCount`, and each attempt of a task that waits
    /// (`.waitForTaskToken`, `.sync`) or of an activity its own token (the
    /// former's is `$$.Task.Token`).
    pub fn attempt_context<'s>(
        &mut self,
        scope: &'s Scope<'_>,
        clock: i64,
        retries: u64,
        resource: &Resource,
    ) -> (Cow<'s, Value>, Option<String>) {
        let mut context = if retries == 0 {
            Cow::Borrowed(&scope.context)
        } else {
            Cow::Owned(self.context(scope.name, clock, Some(retries), scope.map_item))
        };
        if !resource.waits() && !matches!(resource, Resource::Activity(_)) {
            return (context, None);
        }
        self.tokens += 1;
        let token = format!("{}:token:{}", shown(&self.execution["Id"]), self.tokens);
        if resource.waits()
            && let Value::Object(fields) = context.to_mut()
        {
            fields.insert("Task".into(), json!({ "Token": token }));
        }
        (context, Some(token))
    }

    pub fn machine_arn(&self) -> String {
        shown(&self.execution["StateMachine"]["Id"])
    }

    pub fn machine_name(&self) -> String {
        shown(&self.execution["StateMachine"]["Name"])
    }

    pub fn role_arn(&self) -> String {
        self.role_arn.to_owned()
    }

    /// `arn:aws:states:REGION:ACCOUNT`, the execution's.
    pub fn arn_prefix(&self) -> String {
        let arn = self.machine_arn();
        match arn.find(":stateMachine:") {
            Some(i) => arn[..i].to_owned(),
            None => format!("arn:aws:states:{}:123456789012", self.region),
        }
    }

    pub fn random(&mut self) -> u64 {
        splitmix(&mut self.random)
    }

    /// `template` filled from `roots`.
    pub fn fill(&mut self, template: &Value, roots: &Roots<'_>) -> Result<Value, Failure> {
        let mut random = || self.random();
        template::fill(template, roots, &mut random)
    }

    /// Waits before the next attempt when a retrier matches `failure` and has
    /// attempts left; `counts` holds each retrier's attempts so far.
    pub fn retry(
        &mut self,
        thread: &mut Thread,
        state: &str,
        retriers: &[Retrier],
        counts: &mut [u64],
        failure: &Failure,
    ) -> bool {
        let Some(i) = retriers
            .iter()
            .position(|r| matches(&r.error_equals, &failure.error))
        else {
            return false;
        };
        let r = &retriers[i];
        if counts[i] >= r.max_attempts.unwrap_or(3) {
            self.routes.push(Route::RetryExhausted {
                state: state.to_owned(),
                retrier: i,
            });
            return false;
        }
        let rate = r
            .backoff_rate
            .as_ref()
            .and_then(serde_json::Number::as_f64)
            .unwrap_or(2.0);
        let exponent = i32::try_from(counts[i]).unwrap_or(i32::MAX);
        let mut delay = r.interval_seconds.unwrap_or(1) as f64 * rate.powi(exponent);
        if let Some(max) = r.max_delay_seconds {
            delay = delay.min(max as f64);
        }
        if r.jitter_strategy == Some(asl::JitterStrategy::Full) {
            delay *= unit(self.random());
        }
        counts[i] += 1;
        thread.clock += (delay * 1000.0) as i64;
        true
    }

    /// The first of `choice`'s rules whose condition `holds`, or its
    /// `Default` (`None`), recorded as the route taken, and where it leads.
    pub fn choose<'c>(
        &mut self,
        scope: &Scope<'_>,
        choice: &'c asl::Choice,
        mut holds: impl FnMut(&asl::Condition) -> Result<bool, Failure>,
    ) -> Result<(Option<&'c asl::ChoiceRule>, String), Failure> {
        let mut chosen = None;
        for (i, rule) in choice.choices.iter().enumerate() {
            if holds(&rule.condition)? {
                chosen = Some((i, rule));
                break;
            }
        }
        let (index, rule, next) = match (chosen, &choice.default) {
            (Some((i, rule)), _) => (Some(i), Some(rule), rule.next.clone()),
            (None, Some(default)) => (None, None, default.clone()),
            (None, None) => {
                return Err(Failure::new(
                    "States.NoChoiceMatched",
                    format!(
                        "No Choice Rule matched and no Default was specified in the state '{}'",
                        scope.name
                    ),
                ));
            }
        };
        self.routes.push(Route::Choice {
            state: scope.name.to_owned(),
            rule: index,
            next: next.clone(),
        });
        Ok((rule, next))
    }

    /// The first catcher that takes `failure`, recorded as the route taken,
    /// with the error output `{Error, Cause}`; no catcher: the failure itself.
    pub fn catcher<'c>(
        &mut self,
        scope: &Scope<'_>,
        catchers: &'c [Catcher],
        failure: Failure,
    ) -> Result<(&'c Catcher, Value), Failure> {
        let Some((i, catcher)) = catchers
            .iter()
            .enumerate()
            .find(|(_, c)| matches(&c.error_equals, &failure.error))
        else {
            return Err(failure);
        };
        self.routes.push(Route::Catch {
            state: scope.name.to_owned(),
            catcher: i,
            next: catcher.next.clone(),
        });
        Ok((catcher, failure.output()))
    }

    /// Routes an unretried `failure` to the first catcher that matches it:
    /// the error output is written at the catcher's `ResultPath` into the
    /// state's raw input. No catcher: the failure goes on up.
    pub fn catch(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        catchers: &[Catcher],
        raw: Value,
        failure: Failure,
        variables: &mut Map<String, Value>,
    ) -> Result<Step, Failure> {
        let (catcher, error) = self.catcher(scope, catchers, failure)?;
        let assigned = self.assigned(catcher.assign.as_ref(), &error, scope, variables)?;
        let output = result_path(raw, catcher.result_path.as_ref(), error)?;
        variables.extend(assigned);
        thread.push(Kind::StateExited {
            kind: scope.kind,
            name: scope.name.to_owned(),
            output: json_text(&output),
        });
        Ok(Step::Next(catcher.next.clone(), output))
    }

    /// The variables `Assign` sets, evaluated against `value` with the
    /// variables as they are: a state sets them only once its output is
    /// processed (AWS: an `OutputPath` of `$answer` reads the old `answer`).
    pub fn assigned(
        &mut self,
        assign: Option<&Value>,
        value: &Value,
        scope: &Scope<'_>,
        variables: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Failure> {
        let Some(assign) = assign else {
            return Ok(Map::new());
        };
        let roots = Roots {
            input: value,
            context: &scope.context,
            variables,
        };
        match self.fill(assign, &roots)? {
            Value::Object(assigned) => Ok(assigned),
            _ => Ok(Map::new()),
        }
    }
}

/// Sets the context object's `State` for a state entered at `entered_ms`.
fn set_state(context: &mut Value, state: &str, entered_ms: i64, retry: Option<u64>) {
    let Value::Object(fields) = context else {
        return;
    };
    // Rewritten in place for each state: a new object each time was a
    // tenth of a short execution.
    if !matches!(fields.get("State"), Some(Value::Object(_))) {
        fields.insert("State".into(), Value::Object(Map::with_capacity(3)));
    }
    let Some(Value::Object(about)) = fields.get_mut("State") else {
        return;
    };
    let mut put = |key: &str, text: &str| match about.get_mut(key) {
        Some(Value::String(old)) => {
            old.clear();
            old.push_str(text);
        }
        _ => {
            about.insert(key.into(), Value::String(text.to_owned()));
        }
    };
    put("Name", state);
    put("EnteredTime", &time::format(entered_ms));
    match (retry, about.get_mut("RetryCount")) {
        (Some(count), Some(old)) => *old = json!(count),
        (Some(count), None) => {
            about.insert("RetryCount".into(), json!(count));
        }
        (None, _) => {
            about.shift_remove("RetryCount");
        }
    }
}

/// The state being run: its name and context object.
#[derive(Debug)]
pub(crate) struct Scope<'a> {
    pub name: &'a str,
    /// The state's `Type`, which its events are named after.
    pub kind: &'static str,
    pub context: Value,
    pub map_item: Option<&'a Value>,
    /// The id of the event that enters the state, which causes name.
    pub entered: usize,
    /// The state's language is JSONata (its own, or the machine's).
    pub jsonata: bool,
    /// Seeds the state's `$random()` and `$uuid()` (JSONata).
    pub seed: u64,
}

/// A state's first `RetryCount`, if it is a state that can retry.
fn retries(state: &State) -> Option<u64> {
    matches!(state, State::Task(_) | State::Parallel(_) | State::Map(_)).then_some(0)
}

/// Whether a retrier's or catcher's `ErrorEquals` takes `error`.
/// `States.ALL` takes everything but States.Runtime, which the service never
/// lets a workflow handle; `States.TaskFailed` everything but a timeout too.
pub(crate) fn matches(names: &[String], error: &str) -> bool {
    // AWS catches a task's States.DataLimitExceeded with States.ALL (as
    // recorded), though the documentation calls it terminal.
    let unhandled = error == "States.Runtime";
    names.iter().any(|name| {
        name == error
            || (name == "States.ALL" && !unhandled)
            || (name == "States.TaskFailed" && !unhandled && error != "States.Timeout")
    })
}

/// `InputPath`: absent keeps the input, `null` gives `{}`.
pub(crate) fn input_path(
    raw: &Value,
    path: Option<&Option<String>>,
    roots: &Roots<'_>,
) -> Result<Value, Failure> {
    match path {
        None => Ok(raw.clone()),
        Some(None) => Ok(json!({})),
        Some(Some(p)) => template::select(
            p,
            &Roots {
                input: raw,
                ..*roots
            },
        ),
    }
}

/// `ResultPath`: absent replaces the input, `null` keeps it.
pub(crate) fn result_path(
    raw: Value,
    path: Option<&Option<String>>,
    result: Value,
) -> Result<Value, Failure> {
    match path {
        None => Ok(result),
        Some(None) => Ok(raw),
        Some(Some(p)) => jsonpath::write(raw, p, result),
    }
}

/// `OutputPath`: absent keeps the output, `null` gives `{}`.
pub(crate) fn output_path(
    output: Value,
    path: Option<&Option<String>>,
    roots: &Roots<'_>,
) -> Result<Value, Failure> {
    match path {
        None => Ok(output),
        Some(None) => Ok(json!({})),
        Some(Some(p)) => template::select(
            p,
            &Roots {
                input: &output,
                ..*roots
            },
        ),
    }
}
