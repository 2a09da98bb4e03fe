//! A builder in which transitions are handles, not names.
//!
//! Adding (or declaring) a state returns a [`StateId`]; `next`, `otherwise`,
//! `when` and [`Catch`] take only a `StateId`, so a transition to a state that
//! was never added cannot be written. Each builder (the machine and every
//! branch) stamps its handles with its own scope, and [`StateMachineBuilder::build`]
//! rejects a handle used outside the builder that made it, which is how a
//! Parallel or Map branch reaching outside itself is caught.
//!
//! States appear in the output in the order they were declared, so declare
//! them in reading order (`declare` first, `define` later) when a machine
//! loops or jumps forward.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use indexmap::IndexMap;
use serde_json::{Number, Value};

use crate::types::{
    self, ChoiceRule, Condition, ExecutionType, Expr, ItemBatcher, ItemReader, MAX_NAME_LEN,
    ProcessorConfig, ProcessorMode, QueryLanguage, ResultWriter, Retrier, State, StateMachine,
};
use crate::validate::ValidationErrors;

static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);

/// A handle to a state of one builder; only that builder's states may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateId {
    scope: u64,
    index: usize,
}

/// Something went wrong assembling a machine; `path` is the state's place in
/// the document, e.g. `States.Process.Branches[0].States.Resize`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(
        "{path}: refers to a state of another builder: a branch may only move between its own states, so add the target to this branch"
    )]
    ForeignState { path: String },
    #[error("{path}: was declared but never defined: call define() with its state")]
    Undefined { path: String },
    #[error("{path}: was defined twice: define each declared state once")]
    DefinedTwice { path: String },
    #[error("{path}: has no transition: call .next(..) or .end()")]
    NoTransition { path: String },
    #[error(
        "{path}: the name is used by another state of this machine: state names must be unique across all branches"
    )]
    DuplicateName { path: String },
    #[error("{path}: has no states: add at least one")]
    Empty { path: String },
    #[error("{path}: choice state has no rules: add one with .when(..)")]
    NoChoices { path: String },
    #[error("{path}: the name is longer than {MAX_NAME_LEN} characters: shorten it")]
    NameTooLong { path: String },
    /// The assembled document still breaks a rule of the language, such as
    /// a `ResultPath` that is not a reference path.
    #[error("{0}")]
    Invalid(ValidationErrors),
}

/// Every problem found by [`StateMachineBuilder::build`], not just the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildErrors(pub Vec<BuildError>);

impl fmt::Display for BuildErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BuildErrors {}

/// The states of one machine or branch, in declaration order.
#[derive(Debug)]
pub struct BranchBuilder {
    scope: u64,
    comment: Option<String>,
    start_at: Option<StateId>,
    names: Vec<String>,
    states: Vec<Option<StateDef>>,
    /// Misuse noticed while adding states, reported by `build`.
    errors: Vec<ScopeMisuse>,
}

#[derive(Debug)]
enum ScopeMisuse {
    ForeignDefine,
    ForeignStart,
    DefinedTwice(usize),
}

impl Default for BranchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BranchBuilder {
    pub fn new() -> Self {
        BranchBuilder {
            scope: NEXT_SCOPE.fetch_add(1, Ordering::Relaxed),
            comment: None,
            start_at: None,
            names: Vec::new(),
            states: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn comment(&mut self, comment: impl Into<String>) -> &mut Self {
        self.comment = Some(comment.into());
        self
    }

    /// Reserves a name (and its place in the output) for a state defined
    /// later with [`define`](Self::define), so earlier states can point at it.
    pub fn declare(&mut self, name: impl Into<String>) -> StateId {
        self.names.push(name.into());
        self.states.push(None);
        StateId {
            scope: self.scope,
            index: self.names.len() - 1,
        }
    }

    /// Gives a declared state its definition.
    pub fn define(&mut self, id: StateId, state: impl Into<StateDef>) -> &mut Self {
        if id.scope != self.scope {
            self.errors.push(ScopeMisuse::ForeignDefine);
            return self;
        }
        let slot = &mut self.states[id.index];
        if slot.is_some() {
            self.errors.push(ScopeMisuse::DefinedTwice(id.index));
        } else {
            *slot = Some(state.into());
        }
        self
    }

    /// Declares and defines at once, for states whose targets already exist.
    pub fn add(&mut self, name: impl Into<String>, state: impl Into<StateDef>) -> StateId {
        let id = self.declare(name);
        self.define(id, state);
        id
    }

    /// The first state to run; without it, the first one declared.
    pub fn start_at(&mut self, id: StateId) -> &mut Self {
        if id.scope == self.scope {
            self.start_at = Some(id);
        } else {
            self.errors.push(ScopeMisuse::ForeignStart);
        }
        self
    }

    /// Turns the handles into names, collecting every problem into `errors`.
    fn finish(
        self,
        path: &str,
        seen: &mut HashSet<String>,
        errors: &mut Vec<BuildError>,
    ) -> Finished {
        let at = |name: &str| join(path, name);
        for misuse in &self.errors {
            errors.push(match misuse {
                ScopeMisuse::ForeignDefine | ScopeMisuse::ForeignStart => {
                    BuildError::ForeignState {
                        path: trim_states(path),
                    }
                }
                ScopeMisuse::DefinedTwice(index) => BuildError::DefinedTwice {
                    path: at(&self.names[*index]),
                },
            });
        }
        if self.names.is_empty() {
            errors.push(BuildError::Empty {
                path: trim_states(path),
            });
        }
        let start = self
            .start_at
            .map(|id| self.names[id.index].clone())
            .or_else(|| self.names.first().cloned())
            .unwrap_or_default();
        let resolver = Resolver {
            scope: self.scope,
            names: &self.names,
        };
        let mut states = IndexMap::new();
        for (name, def) in self.names.iter().zip(self.states) {
            let here = at(name);
            if name.chars().count() > MAX_NAME_LEN {
                errors.push(BuildError::NameTooLong { path: here.clone() });
            }
            if !seen.insert(name.clone()) {
                errors.push(BuildError::DuplicateName { path: here.clone() });
                continue;
            }
            let Some(def) = def else {
                errors.push(BuildError::Undefined { path: here });
                continue;
            };
            let state = def.resolve(&resolver, &here, seen, errors);
            states.insert(name.clone(), state);
        }
        Finished {
            comment: self.comment,
            start_at: start,
            states,
        }
    }
}

/// A finished machine, branch or processor: its fields in the document.
struct Finished {
    comment: Option<String>,
    start_at: String,
    states: IndexMap<String, State>,
}

/// Builds a whole state machine; see the crate docs for an example.
#[derive(Debug, Default)]
pub struct StateMachineBuilder {
    states: BranchBuilder,
    query_language: Option<QueryLanguage>,
    version: Option<String>,
    timeout_seconds: Option<u64>,
}

impl StateMachineBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn comment(&mut self, comment: impl Into<String>) -> &mut Self {
        self.states.comment(comment);
        self
    }

    pub fn query_language(&mut self, language: QueryLanguage) -> &mut Self {
        self.query_language = Some(language);
        self
    }

    pub fn version(&mut self, version: impl Into<String>) -> &mut Self {
        self.version = Some(version.into());
        self
    }

    /// Fails the whole execution after this long.
    pub fn timeout_seconds(&mut self, seconds: u64) -> &mut Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// See [`BranchBuilder::declare`].
    pub fn declare(&mut self, name: impl Into<String>) -> StateId {
        self.states.declare(name)
    }

    /// See [`BranchBuilder::define`].
    pub fn define(&mut self, id: StateId, state: impl Into<StateDef>) -> &mut Self {
        self.states.define(id, state);
        self
    }

    /// See [`BranchBuilder::add`].
    pub fn add(&mut self, name: impl Into<String>, state: impl Into<StateDef>) -> StateId {
        self.states.add(name, state)
    }

    /// See [`BranchBuilder::start_at`].
    pub fn start_at(&mut self, id: StateId) -> &mut Self {
        self.states.start_at(id);
        self
    }

    /// Assembles the document and validates it, reporting every problem.
    pub fn build(self) -> Result<StateMachine, BuildErrors> {
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let finished = self.states.finish("States", &mut seen, &mut errors);
        if !errors.is_empty() {
            return Err(BuildErrors(errors));
        }
        let machine = StateMachine {
            comment: finished.comment,
            query_language: self.query_language,
            start_at: finished.start_at,
            states: finished.states,
            version: self.version,
            timeout_seconds: self.timeout_seconds,
        };
        match machine.validate() {
            Ok(()) => Ok(machine),
            Err(problems) => Err(BuildErrors(vec![BuildError::Invalid(problems)])),
        }
    }
}

fn join(path: &str, name: &str) -> String {
    format!("{path}.{name}")
}

/// `States.P.Branches[0].States` names the branch `States.P.Branches[0]`.
fn trim_states(path: &str) -> String {
    let trimmed = path.strip_suffix(".States").unwrap_or(path);
    if trimmed == "States" {
        "(root)".to_owned()
    } else {
        trimmed.to_owned()
    }
}

struct Resolver<'a> {
    scope: u64,
    names: &'a [String],
}

impl Resolver<'_> {
    fn name(&self, id: StateId, path: &str, errors: &mut Vec<BuildError>) -> String {
        if id.scope == self.scope {
            self.names[id.index].clone()
        } else {
            errors.push(BuildError::ForeignState {
                path: path.to_owned(),
            });
            String::new()
        }
    }
}

/// Where a non-Choice, non-terminal state goes next.
#[derive(Debug, Clone, Copy)]
enum Transition {
    Next(StateId),
    End,
}

fn transition(
    transition: Option<Transition>,
    resolver: &Resolver<'_>,
    path: &str,
    errors: &mut Vec<BuildError>,
) -> (Option<String>, Option<bool>) {
    match transition {
        Some(Transition::Next(id)) => (Some(resolver.name(id, path, errors)), None),
        Some(Transition::End) => (None, Some(true)),
        None => {
            errors.push(BuildError::NoTransition {
                path: path.to_owned(),
            });
            (None, None)
        }
    }
}

/// A state definition for [`BranchBuilder::define`]; made from the `*State`
/// builders with `.into()`.
#[derive(Debug)]
pub enum StateDef {
    Task(TaskState),
    Choice(ChoiceState),
    Parallel(ParallelState),
    Map(Box<MapState>),
    Pass(PassState),
    Wait(WaitState),
    Succeed(SucceedState),
    Fail(FailState),
}

impl StateDef {
    fn resolve(
        self,
        resolver: &Resolver<'_>,
        path: &str,
        seen: &mut HashSet<String>,
        errors: &mut Vec<BuildError>,
    ) -> State {
        let catch = |catchers: Vec<Catch>, errors: &mut Vec<BuildError>| {
            catchers
                .into_iter()
                .map(|c| {
                    let mut catcher = c.inner;
                    catcher.next = resolver.name(c.next, path, errors);
                    catcher
                })
                .collect::<Vec<_>>()
        };
        match self {
            StateDef::Task(mut s) => {
                (s.inner.next, s.inner.end) = transition(s.transition, resolver, path, errors);
                s.inner.catch = catch(s.catch, errors);
                State::Task(s.inner)
            }
            StateDef::Parallel(mut s) => {
                (s.inner.next, s.inner.end) = transition(s.transition, resolver, path, errors);
                s.inner.catch = catch(s.catch, errors);
                s.inner.branches = s
                    .branches
                    .into_iter()
                    .enumerate()
                    .map(|(i, branch)| {
                        let branch_path = format!("{path}.Branches[{i}].States");
                        let finished = branch.finish(&branch_path, seen, errors);
                        types::Branch {
                            comment: finished.comment,
                            start_at: finished.start_at,
                            states: finished.states,
                        }
                    })
                    .collect();
                State::Parallel(s.inner)
            }
            StateDef::Map(mut s) => {
                (s.inner.next, s.inner.end) = transition(s.transition, resolver, path, errors);
                s.inner.catch = catch(s.catch, errors);
                let processor_path = format!("{path}.ItemProcessor.States");
                let finished = s.processor.finish(&processor_path, seen, errors);
                s.inner.item_processor = Some(types::ItemProcessor {
                    comment: finished.comment,
                    processor_config: s.processor_config,
                    start_at: finished.start_at,
                    states: finished.states,
                });
                State::Map(Box::new(s.inner))
            }
            StateDef::Pass(mut s) => {
                (s.inner.next, s.inner.end) = transition(s.transition, resolver, path, errors);
                State::Pass(s.inner)
            }
            StateDef::Wait(mut s) => {
                (s.inner.next, s.inner.end) = transition(s.transition, resolver, path, errors);
                State::Wait(s.inner)
            }
            StateDef::Choice(mut s) => {
                if s.rules.is_empty() {
                    errors.push(BuildError::NoChoices {
                        path: path.to_owned(),
                    });
                }
                s.inner.choices = s
                    .rules
                    .into_iter()
                    .map(|(condition, next)| {
                        ChoiceRule::new(condition, resolver.name(next, path, errors))
                    })
                    .collect();
                s.inner.default = s.default.map(|id| resolver.name(id, path, errors));
                State::Choice(s.inner)
            }
            StateDef::Succeed(s) => State::Succeed(s.inner),
            StateDef::Fail(s) => State::Fail(s.inner),
        }
    }
}

/// Setters that copy a value into the wrapped serde struct.
macro_rules! setters {
    ($($kind:ident $name:ident => $field:ident;)*) => {
        $(setters!(@$kind $name $field);)*
    };
    (@string $name:ident $field:ident) => {
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.inner.$field = Some(value.into());
            self
        }
    };
    (@value $name:ident $field:ident) => {
        pub fn $name(mut self, value: Value) -> Self {
            self.inner.$field = Some(value);
            self
        }
    };
    (@path $name:ident $field:ident) => {
        pub fn $name(mut self, path: impl Into<String>) -> Self {
            self.inner.$field = Some(Some(path.into()));
            self
        }
    };
    (@seconds $name:ident $field:ident) => {
        pub fn $name(mut self, value: u64) -> Self {
            self.inner.$field = Some(Expr::Literal(value));
            self
        }
    };
    (@language $name:ident $field:ident) => {
        pub fn $name(mut self, language: QueryLanguage) -> Self {
            self.inner.$field = Some(language);
            self
        }
    };
}

/// `next`/`end` for the states that move on after finishing.
macro_rules! transitions {
    () => {
        /// Continue with `state` (of the same builder).
        pub fn next(mut self, state: StateId) -> Self {
            self.transition = Some(Transition::Next(state));
            self
        }

        /// Make this a terminal state (`"End": true`).
        pub fn end(mut self) -> Self {
            self.transition = Some(Transition::End);
            self
        }
    };
}

/// `Retry`/`Catch` for the states that take them.
macro_rules! error_handling {
    () => {
        /// Append a retrier; order matters, the first match wins.
        pub fn retry(mut self, retrier: Retrier) -> Self {
            self.inner.retry.push(retrier);
            self
        }

        /// Append a catcher; order matters, the first match wins.
        pub fn catch(mut self, catch: Catch) -> Self {
            self.catch.push(catch);
            self
        }

        /// `"ResultPath": null`: keep the input, throw the result away.
        pub fn discard_result(mut self) -> Self {
            self.inner.result_path = Some(None);
            self
        }
    };
}

macro_rules! into_def {
    ($($ty:ident => $variant:ident,)*) => {
        $(impl From<$ty> for StateDef {
            fn from(state: $ty) -> Self {
                StateDef::$variant(state)
            }
        })*
    };
}

into_def! {
    TaskState => Task,
    ChoiceState => Choice,
    ParallelState => Parallel,
    PassState => Pass,
    WaitState => Wait,
    SucceedState => Succeed,
    FailState => Fail,
}

impl From<MapState> for StateDef {
    fn from(state: MapState) -> Self {
        StateDef::Map(Box::new(state))
    }
}

/// A `Catch` entry whose target is a handle.
#[derive(Debug, Clone)]
pub struct Catch {
    inner: types::Catcher,
    next: StateId,
}

impl Catch {
    /// Catch the named errors (e.g. `["States.ALL"]`) and go to `next`.
    pub fn new<I, S>(errors: I, next: StateId) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Catch {
            inner: types::Catcher {
                error_equals: errors.into_iter().map(Into::into).collect(),
                ..types::Catcher::default()
            },
            next,
        }
    }

    setters! {
        string comment => comment;
        path result_path => result_path;
        value output => output;
        value assign => assign;
    }
}

impl Retrier {
    /// Retry the named errors with the service defaults until configured.
    pub fn new<I, S>(errors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Retrier {
            error_equals: errors.into_iter().map(Into::into).collect(),
            ..Retrier::default()
        }
    }

    pub fn interval_seconds(mut self, seconds: u64) -> Self {
        self.interval_seconds = Some(seconds);
        self
    }

    pub fn max_attempts(mut self, attempts: u64) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Panics on a non-finite rate, which JSON cannot hold.
    pub fn backoff_rate(mut self, rate: f64) -> Self {
        self.backoff_rate = Some(Number::from_f64(rate).expect("backoff rate must be finite"));
        self
    }

    pub fn max_delay_seconds(mut self, seconds: u64) -> Self {
        self.max_delay_seconds = Some(seconds);
        self
    }

    pub fn jitter_strategy(mut self, strategy: types::JitterStrategy) -> Self {
        self.jitter_strategy = Some(strategy);
        self
    }
}

/// A `Task` state.
#[derive(Debug, Clone)]
pub struct TaskState {
    inner: types::Task,
    transition: Option<Transition>,
    catch: Vec<Catch>,
}

impl TaskState {
    /// `resource` is an ARN, or a template placeholder such as
    /// `"${ExtractMetadataFunctionArn}"` that deployment substitutes.
    pub fn new(resource: impl Into<String>) -> Self {
        TaskState {
            inner: types::Task {
                resource: resource.into(),
                ..types::Task::default()
            },
            transition: None,
            catch: Vec::new(),
        }
    }

    transitions!();
    error_handling!();
    setters! {
        string comment => comment;
        language query_language => query_language;
        path input_path => input_path;
        value parameters => parameters;
        value arguments => arguments;
        value credentials => credentials;
        value result_selector => result_selector;
        path result_path => result_path;
        path output_path => output_path;
        value output => output;
        value assign => assign;
        seconds timeout_seconds => timeout_seconds;
        string timeout_seconds_path => timeout_seconds_path;
        seconds heartbeat_seconds => heartbeat_seconds;
        string heartbeat_seconds_path => heartbeat_seconds_path;
    }
}

/// A `Choice` state: rules are tried in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct ChoiceState {
    inner: types::Choice,
    rules: Vec<(Condition, StateId)>,
    default: Option<StateId>,
}

impl ChoiceState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Go to `next` when `condition` holds (and no earlier rule matched).
    pub fn when(mut self, condition: Condition, next: StateId) -> Self {
        self.rules.push((condition, next));
        self
    }

    /// `Default`: where to go when no rule matches.
    pub fn otherwise(mut self, next: StateId) -> Self {
        self.default = Some(next);
        self
    }

    setters! {
        string comment => comment;
        language query_language => query_language;
        path input_path => input_path;
        path output_path => output_path;
        value output => output;
        value assign => assign;
    }
}

/// A `Parallel` state; each branch is its own [`BranchBuilder`].
#[derive(Debug, Default)]
pub struct ParallelState {
    inner: types::Parallel,
    branches: Vec<BranchBuilder>,
    transition: Option<Transition>,
    catch: Vec<Catch>,
}

impl ParallelState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn branch(mut self, branch: BranchBuilder) -> Self {
        self.branches.push(branch);
        self
    }

    transitions!();
    error_handling!();
    setters! {
        string comment => comment;
        language query_language => query_language;
        path input_path => input_path;
        value parameters => parameters;
        value arguments => arguments;
        value result_selector => result_selector;
        path result_path => result_path;
        path output_path => output_path;
        value output => output;
        value assign => assign;
    }
}

/// A `Map` state; its per-item states are a [`BranchBuilder`].
#[derive(Debug)]
pub struct MapState {
    inner: types::Map,
    processor: BranchBuilder,
    processor_config: Option<ProcessorConfig>,
    transition: Option<Transition>,
    catch: Vec<Catch>,
}

impl MapState {
    /// An inline Map running `processor` for each item.
    pub fn new(processor: BranchBuilder) -> Self {
        MapState {
            inner: types::Map::default(),
            processor,
            processor_config: None,
            transition: None,
            catch: Vec::new(),
        }
    }

    /// Run each item (or batch) as a child execution of the given type.
    pub fn distributed(mut self, execution_type: ExecutionType) -> Self {
        self.processor_config = Some(ProcessorConfig {
            mode: Some(ProcessorMode::Distributed),
            execution_type: Some(execution_type),
        });
        self
    }

    pub fn max_concurrency(mut self, max: u64) -> Self {
        self.inner.max_concurrency = Some(Expr::Literal(max));
        self
    }

    pub fn tolerated_failure_percentage(mut self, percent: u64) -> Self {
        self.inner.tolerated_failure_percentage = Some(Expr::Literal(percent.into()));
        self
    }

    /// `MaxConcurrencyPath`: the bound, read from the state's input.
    pub fn max_concurrency_path(mut self, path: impl Into<String>) -> Self {
        self.inner.max_concurrency_path = Some(path.into());
        self
    }

    /// `ToleratedFailurePercentagePath`: the threshold, read from the state's input.
    pub fn tolerated_failure_percentage_path(mut self, path: impl Into<String>) -> Self {
        self.inner.tolerated_failure_percentage_path = Some(path.into());
        self
    }

    pub fn tolerated_failure_count(mut self, count: u64) -> Self {
        self.inner.tolerated_failure_count = Some(Expr::Literal(count));
        self
    }

    pub fn item_reader(mut self, reader: ItemReader) -> Self {
        self.inner.item_reader = Some(reader);
        self
    }

    pub fn item_batcher(mut self, batcher: ItemBatcher) -> Self {
        self.inner.item_batcher = Some(batcher);
        self
    }

    pub fn result_writer(mut self, writer: ResultWriter) -> Self {
        self.inner.result_writer = Some(writer);
        self
    }

    transitions!();
    error_handling!();
    setters! {
        string comment => comment;
        language query_language => query_language;
        path input_path => input_path;
        string items_path => items_path;
        value items => items;
        value item_selector => item_selector;
        string label => label;
        value result_selector => result_selector;
        path result_path => result_path;
        path output_path => output_path;
        value output => output;
        value assign => assign;
    }
}

/// A `Pass` state.
#[derive(Debug, Clone, Default)]
pub struct PassState {
    inner: types::Pass,
    transition: Option<Transition>,
}

impl PassState {
    pub fn new() -> Self {
        Self::default()
    }

    transitions!();
    setters! {
        string comment => comment;
        language query_language => query_language;
        path input_path => input_path;
        value parameters => parameters;
        value result => result;
        path result_path => result_path;
        path output_path => output_path;
        value output => output;
        value assign => assign;
    }
}

/// A `Wait` state; set exactly one of the four ways to say how long.
#[derive(Debug, Clone, Default)]
pub struct WaitState {
    inner: types::Wait,
    transition: Option<Transition>,
}

impl WaitState {
    pub fn new() -> Self {
        Self::default()
    }

    transitions!();
    setters! {
        string comment => comment;
        language query_language => query_language;
        path input_path => input_path;
        seconds seconds => seconds;
        string timestamp => timestamp;
        string seconds_path => seconds_path;
        string timestamp_path => timestamp_path;
        path output_path => output_path;
        value output => output;
        value assign => assign;
    }
}

/// A `Succeed` state (terminal).
#[derive(Debug, Clone, Default)]
pub struct SucceedState {
    inner: types::Succeed,
}

impl SucceedState {
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        string comment => comment;
        language query_language => query_language;
        path input_path => input_path;
        path output_path => output_path;
        value output => output;
    }
}

/// A `Fail` state (terminal).
#[derive(Debug, Clone, Default)]
pub struct FailState {
    inner: types::Fail,
}

impl FailState {
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        string comment => comment;
        language query_language => query_language;
        string error => error;
        string cause => cause;
        string error_path => error_path;
        string cause_path => cause_path;
    }
}
