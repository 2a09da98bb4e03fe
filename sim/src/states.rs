//! Each kind of state, in JSONPath mode (`jsonata_states.rs`: in JSONata mode).

use std::borrow::Cow;

use asl::{Choice, Fail, Map as MapState, Parallel, Pass, State, Task, Wait};
use serde_json::{Map, Value, json};

use crate::history::{Kind, Resource, json_text};
use crate::jsonpath::Roots;
use crate::mock::{Call, Response};
use crate::run::{Run, Scope, Step, Thread, input_path, output_path, result_path, seconds};
use crate::{Failure, template, time};

impl Run<'_> {
    pub(crate) fn state(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        state: &State,
        input: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Step, Failure> {
        // A state's input is the output of the state before it, or the
        // execution's input: its text is written already.
        let text = match thread.events.last().map(|e| &e.kind) {
            Some(
                Kind::StateExited { output: text, .. } | Kind::ExecutionStarted { input: text, .. },
            ) => text.clone(),
            _ => json_text(&input),
        };
        thread.push(Kind::StateEntered {
            kind: state.kind(),
            name: scope.name.to_owned(),
            input: text,
        });
        let entered = thread.base + thread.events.len();
        if scope.jsonata {
            return self.jsonata_state(thread, scope, state, input, variables);
        }
        let flow = match state {
            State::Task(task) => self.task(thread, scope, task, input, variables),
            State::Pass(pass) => self.pass(thread, scope, pass, input, variables),
            State::Choice(choice) => self.choice(thread, scope, choice, input, variables),
            State::Wait(wait) => self.wait(thread, scope, wait, input, variables),
            State::Parallel(parallel) => self.parallel(thread, scope, parallel, input, variables),
            State::Map(map) => self.map(thread, scope, map, input, variables),
            State::Succeed(succeed) => {
                let roots = roots(&input, scope, variables);
                let effective = input_path(&input, succeed.input_path.as_ref(), &roots)?;
                let output = output_path(effective, succeed.output_path.as_ref(), &roots)?;
                exit(thread, scope, &output);
                Ok(Flow::Jump(Step::End(output)))
            }
            // A Fail state's own failure is what it says; one in reading
            // its ErrorPath or CausePath is a States.Runtime of the state.
            State::Fail(fail) => match self.failure_of(fail, &roots(&input, scope, variables)) {
                Ok(failure) => return Err(failure),
                Err(runtime) => Err(runtime),
            },
        };
        Ok(
            match flow.map_err(|f| runtime_in(f, scope.name, entered))? {
                Flow::Done(output) => next(state, output),
                Flow::Jump(step) => step,
            },
        )
    }

    fn task(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        task: &Task,
        raw: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let resource = Resource::of(&task.resource);
        let on = roots(&raw, scope, variables);
        let timeout = limit(
            "TimeoutSecondsPath",
            task.timeout_seconds.as_ref(),
            task.timeout_seconds_path.as_deref(),
            &on,
        )?;
        let heartbeat = limit(
            "HeartbeatSecondsPath",
            task.heartbeat_seconds.as_ref(),
            task.heartbeat_seconds_path.as_deref(),
            &on,
        )?;
        let call = Attempt {
            state: scope.name,
            arn: &task.resource,
            resource: &resource,
            timeout,
            heartbeat,
        };
        let mut counts = vec![0; task.retry.len()];
        let mut retries = 0;
        let result = loop {
            let (context, token) = self.attempt_context(scope, thread.clock, retries, &resource);
            let roots = Roots {
                input: &raw,
                context: &context,
                variables,
            };
            // Without an InputPath the effective input is the raw one: no copy.
            let effective = match task.input_path {
                None => Cow::Borrowed(&raw),
                Some(_) => Cow::Owned(input_path(&raw, task.input_path.as_ref(), &roots)?),
            };
            let parameters = match &task.parameters {
                Some(template) => self.fill(
                    template,
                    &Roots {
                        input: &effective,
                        ..roots
                    },
                )?,
                None => effective.into_owned(),
            };
            check_parameters(&resource, &parameters)?;
            let outcome = self.invoke(thread, &call, parameters, token.as_deref());
            match outcome {
                Ok(value) => break Ok(value),
                Err(f) if self.retry(thread, scope.name, &task.retry, &mut counts, &f) => {
                    retries += 1
                }
                Err(f) => break Err(f),
            }
        };
        match result {
            Ok(value) => {
                let io = Io {
                    result_selector: task.result_selector.as_ref(),
                    result_path: task.result_path.as_ref(),
                    output_path: task.output_path.as_ref(),
                    assign: task.assign.as_ref(),
                };
                let output = self.finish(scope, &io, raw, value, variables)?;
                exit(thread, scope, &output);
                Ok(Flow::Done(output))
            }
            Err(f) => self
                .catch(thread, scope, &task.catch, raw, f, variables)
                .map(Flow::Jump),
        }
    }

    /// One attempt of a task, with its events.
    pub(crate) fn invoke(
        &mut self,
        thread: &mut Thread,
        task: &Attempt<'_>,
        parameters: Value,
        task_token: Option<&str>,
    ) -> Result<Value, Failure> {
        let Attempt {
            state,
            arn,
            resource,
            timeout,
            heartbeat,
        } = *task;
        let call = Call {
            state,
            resource: arn,
            parameters: &parameters,
            invocation: self.invoked(state),
            task_token,
        };
        let response = match (self.mocks.answer(&call), resource) {
            (Some(response), _) => response,
            // An activity no worker serves does not exist: nothing is scheduled.
            (None, Resource::Activity(arn)) => {
                return Err(Failure::runtime(format!(
                    "The activity {arn} does not exist."
                )));
            }
            (None, _) => Response::throw(
                "States.Runtime",
                format!("no mock answers the state '{state}' (resource {arn})"),
            ),
        };
        thread.push(Kind::TaskScheduled {
            resource: resource.clone(),
            region: self.region.clone(),
            parameters: json_text(&parameters),
            timeout,
            heartbeat,
        });
        thread.push(match resource {
            Resource::Activity(_) => Kind::ActivityStarted {
                worker: response.worker.clone(),
            },
            _ => Kind::TaskStarted(resource.clone()),
        });
        // A task that failed before it was submitted has no TaskSubmitted.
        if resource.waits() && (response.result.is_ok() || response.submitted.is_some()) {
            let output = response.submitted.as_ref().unwrap_or(&Value::Null);
            thread.push(Kind::TaskSubmitted(resource.clone(), json_text(output)));
        }
        let took = i64::try_from(response.took_ms).unwrap_or(i64::MAX);
        let timed_out = timeout.map(seconds).filter(|t| took > *t);
        let lapsed = heartbeat.and_then(|h| response.heartbeat_lapse(seconds(h)));
        // A heartbeat that does not come in time is a timeout like the
        // other: AWS records both as States.Timeout.
        let ends = match (lapsed, timed_out) {
            (Some(h), Some(t)) => Some(h.min(t)),
            (h, t) => h.or(t),
        };
        if let Some(after) = ends {
            thread.clock += after;
            let f = Failure::new("States.Timeout", "");
            thread.push(Kind::TaskTimedOut(resource.clone(), f.clone()));
            return Err(f);
        }
        thread.clock += took;
        match response.result {
            Ok(value) => {
                thread.push(Kind::TaskSucceeded(resource.clone(), json_text(&value)));
                Ok(value)
            }
            Err(f) => {
                thread.push(Kind::TaskFailed(resource.clone(), f.clone()));
                Err(f)
            }
        }
    }

    /// `ResultSelector`, `Assign`, `ResultPath` and `OutputPath` on a result.
    fn finish(
        &mut self,
        scope: &Scope<'_>,
        io: &Io<'_>,
        raw: Value,
        result: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Value, Failure> {
        let selected = match io.result_selector {
            Some(template) => self.fill(template, &roots(&result, scope, variables))?,
            None => result,
        };
        let assigned = self.assigned(io.assign, &selected, scope, variables)?;
        let output = result_path(raw, io.result_path, selected)?;
        // OutputPath reads the output; the roots lend it the context and variables.
        let output = output_path(
            output,
            io.output_path,
            &roots(&Value::Null, scope, variables),
        )?;
        variables.extend(assigned);
        Ok(output)
    }

    fn pass(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        pass: &Pass,
        raw: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let roots_ = roots(&raw, scope, variables);
        let effective = input_path(&raw, pass.input_path.as_ref(), &roots_)?;
        let result = match (&pass.result, &pass.parameters) {
            (Some(result), _) => result.clone(),
            (None, Some(template)) => self.fill(
                template,
                &Roots {
                    input: &effective,
                    ..roots_
                },
            )?,
            (None, None) => effective,
        };
        let io = Io {
            result_selector: None,
            result_path: pass.result_path.as_ref(),
            output_path: pass.output_path.as_ref(),
            assign: pass.assign.as_ref(),
        };
        let output = self.finish(scope, &io, raw, result, variables)?;
        exit(thread, scope, &output);
        Ok(Flow::Done(output))
    }

    fn choice(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        choice: &Choice,
        raw: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let roots_ = roots(&raw, scope, variables);
        let effective = input_path(&raw, choice.input_path.as_ref(), &roots_)?;
        let on = Roots {
            input: &effective,
            ..roots_
        };
        let (rule, next) = self.choose(scope, choice, |c| crate::choice::holds(c, &on))?;
        let assign = rule.and_then(|r| r.assign.as_ref());
        let assign = assign.or(choice.assign.as_ref());
        let assigned = self.assigned(assign, &effective, scope, variables)?;
        let output = output_path(
            effective,
            choice.output_path.as_ref(),
            &roots(&raw, scope, variables),
        )?;
        variables.extend(assigned);
        exit(thread, scope, &output);
        Ok(Flow::Jump(Step::Next(next, output)))
    }

    fn wait(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        wait: &Wait,
        raw: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let roots_ = roots(&raw, scope, variables);
        let effective = input_path(&raw, wait.input_path.as_ref(), &roots_)?;
        let on = Roots {
            input: &effective,
            ..roots_
        };
        let seconds_limit = limit(
            "SecondsPath",
            wait.seconds.as_ref(),
            wait.seconds_path.as_deref(),
            &on,
        )?;
        let until = match seconds_limit {
            Some(s) => thread.clock.saturating_add(seconds(s)),
            None => wait_until(wait, &on)?,
        };
        thread.clock = thread.clock.max(until);
        let output = output_path(
            effective,
            wait.output_path.as_ref(),
            &roots(&raw, scope, variables),
        )?;
        let assigned = self.assigned(wait.assign.as_ref(), &output, scope, variables)?;
        variables.extend(assigned);
        exit(thread, scope, &output);
        Ok(Flow::Done(output))
    }

    fn parallel(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        parallel: &Parallel,
        raw: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let mut counts = vec![0; parallel.retry.len()];
        let result = loop {
            let roots_ = roots(&raw, scope, variables);
            let effective = input_path(&raw, parallel.input_path.as_ref(), &roots_)?;
            let effective = match &parallel.parameters {
                Some(template) => self.fill(
                    template,
                    &Roots {
                        input: &effective,
                        ..roots_
                    },
                )?,
                None => effective,
            };
            match self.branches(thread, parallel, &effective, variables) {
                Ok(value) => break Ok(value),
                // A Parallel that is retried has no ParallelStateFailed:
                // the service writes it only when the state fails for good.
                Err(f) => {
                    if !self.retry(thread, scope.name, &parallel.retry, &mut counts, &f) {
                        thread.push(Kind::ParallelFailed);
                        break Err(f);
                    }
                }
            }
        };
        match result {
            Ok(value) => {
                let io = Io {
                    result_selector: parallel.result_selector.as_ref(),
                    result_path: parallel.result_path.as_ref(),
                    output_path: parallel.output_path.as_ref(),
                    assign: parallel.assign.as_ref(),
                };
                let output = self.finish(scope, &io, raw, value, variables)?;
                exit(thread, scope, &output);
                Ok(Flow::Done(output))
            }
            Err(f) => self
                .catch(thread, scope, &parallel.catch, raw, f, variables)
                .map(Flow::Jump),
        }
    }

    /// One attempt of a Parallel's branches on `effective`: its events,
    /// and the branches' outputs or the first failure.
    pub(crate) fn branches(
        &mut self,
        thread: &mut Thread,
        parallel: &Parallel,
        effective: &Value,
        variables: &Map<String, Value>,
    ) -> Result<Value, Failure> {
        let started = thread.push(Kind::ParallelStarted);
        let mut children = Vec::new();
        let mut results = Vec::new();
        for branch in &parallel.branches {
            let mut child = thread.child();
            let ended = self.branch(
                &mut child,
                &branch.states,
                &branch.start_at,
                effective.clone(),
                variables,
                None,
            );
            results.push((child.clock, ended));
            children.push(child);
        }
        let first_failure = first_failure(&mut results);
        abort(&mut children, &results, None);
        thread.merge(children, started, first_failure.as_ref().map(|(at, _)| *at));
        match first_failure {
            None => {
                thread.push(Kind::ParallelSucceeded);
                Ok(Value::Array(
                    results.into_iter().filter_map(|(_, r)| r.ok()).collect(),
                ))
            }
            Some((_, f)) => Err(f),
        }
    }

    fn map(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        map: &MapState,
        raw: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let processor = inline_processor(map, scope)?;
        let concurrency = max_concurrency(map, &roots(&raw, scope, variables))?;
        let mut counts = vec![0; map.retry.len()];
        let result = loop {
            let roots_ = roots(&raw, scope, variables);
            let effective = input_path(&raw, map.input_path.as_ref(), &roots_)?;
            // An ItemReader gives the items (`map_run` reads them).
            let items = match map.item_reader {
                Some(_) => Value::Array(Vec::new()),
                None => template::read(
                    "ItemsPath",
                    map.items_path.as_deref().unwrap_or("$"),
                    &Roots {
                        input: &effective,
                        ..roots_
                    },
                )?,
            };
            let Value::Array(items) = items else {
                return Err(Failure::runtime(format!(
                    "Invalid path for the Map state '{}': the items are not an array",
                    scope.name
                )));
            };
            let each = Items {
                map,
                processor,
                input: &effective,
                variables,
                jsonata: false,
            };
            match self.iterations(thread, scope, &each, &items, concurrency) {
                Ok(value) => break Ok(value),
                // As for Parallel: no MapStateFailed before a retry.
                Err(f) => {
                    if !self.retry(thread, scope.name, &map.retry, &mut counts, &f) {
                        if !std::mem::take(&mut self.map_refused) {
                            thread.push(Kind::MapFailed);
                        }
                        break Err(f);
                    }
                }
            }
        };
        match result {
            Ok(value) => {
                let io = Io {
                    result_selector: map.result_selector.as_ref(),
                    result_path: map.result_path.as_ref(),
                    output_path: map.output_path.as_ref(),
                    assign: map.assign.as_ref(),
                };
                let output = self.finish(scope, &io, raw, value, variables)?;
                exit(thread, scope, &output);
                Ok(Flow::Done(output))
            }
            Err(f) => self
                .catch(thread, scope, &map.catch, raw, f, variables)
                .map(Flow::Jump),
        }
    }

    /// One attempt of a Map's iterations over `items`, at most
    /// `concurrency` at a time (0: no limit): its events, and the
    /// iterations' outputs or the first failure.
    pub(crate) fn iterations(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        each: &Items<'_>,
        items: &[Value],
        concurrency: u64,
    ) -> Result<Value, Failure> {
        if crate::distributed::is_distributed(each.map) {
            return self.map_run(thread, scope, each, items, concurrency);
        }
        let started = thread.push(Kind::MapStarted {
            length: items.len(),
        });
        let mut slots: Vec<i64> = Vec::new();
        let (mut children, mut results) = (Vec::new(), Vec::new());
        for (index, item) in items.iter().enumerate() {
            let mut child = thread.child();
            if concurrency > 0 && slots.len() >= usize::try_from(concurrency).unwrap_or(usize::MAX)
            {
                slots.sort_unstable();
                child.clock = child.clock.max(slots.remove(0));
                // An iteration waiting for a slot never starts once
                // another has failed the Map.
                if first_failure(&mut results).is_some_and(|(at, _)| at <= child.clock) {
                    break;
                }
            }
            let ended = self.iteration(&mut child, scope, each, index, item);
            slots.push(child.clock);
            results.push((child.clock, ended));
            children.push(child);
        }
        let first_failure = first_failure(&mut results);
        abort(&mut children, &results, Some(scope.name));
        thread.merge(children, started, first_failure.as_ref().map(|(at, _)| *at));
        match first_failure {
            None => {
                thread.push(Kind::MapSucceeded);
                Ok(Value::Array(
                    results.into_iter().filter_map(|(_, r)| r.ok()).collect(),
                ))
            }
            Some((_, f)) => Err(f),
        }
    }

    fn iteration(
        &mut self,
        child: &mut Thread,
        scope: &Scope<'_>,
        items: &Items<'_>,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure> {
        let Items {
            processor,
            variables,
            ..
        } = *items;
        let name = scope.name.to_owned();
        child.push(Kind::MapIterationStarted {
            name: name.clone(),
            index,
        });
        let map_item = json!({"Index": index, "Value": item});
        let input = self.item_input(scope, items, index, item, child.clock);
        let ended = input.and_then(|input| {
            self.branch(
                child,
                &processor.states,
                &processor.start_at,
                input,
                variables,
                Some(&map_item),
            )
        });
        child.push(match &ended {
            Ok(_) => Kind::MapIterationSucceeded { name, index },
            Err(_) => Kind::MapIterationFailed { name, index },
        });
        ended
    }
}

impl Run<'_> {
    /// An item's input: `ItemSelector` (or `Parameters`) filled with
    /// `$$.Map.Item`, else the item itself.
    pub(crate) fn item_input(
        &mut self,
        scope: &Scope<'_>,
        items: &Items<'_>,
        index: usize,
        item: &Value,
        entered_ms: i64,
    ) -> Result<Value, Failure> {
        let Items {
            map,
            input: effective,
            variables,
            jsonata,
            ..
        } = *items;
        let map_item = json!({"Index": index, "Value": item});
        let context = self.context(scope.name, entered_ms, Some(0), Some(&map_item));
        let roots = Roots {
            input: effective,
            context: &context,
            variables,
        };
        match map.item_selector.as_ref().or(map.parameters.as_ref()) {
            Some(template) if jsonata => {
                let env = crate::jsonata::Env {
                    input: effective,
                    result: None,
                    error_output: None,
                    context: &context,
                    variables,
                    state: scope.name,
                    entered: scope.entered,
                    seed: scope.seed,
                };
                crate::jsonata::fill(template, "ItemSelector", &env)
            }
            Some(template) => self.fill(template, &roots),
            None => Ok(item.clone()),
        }
    }
}

/// A `States.Runtime` failure as the service reports it: which state, and
/// the id of the event that entered it. A failure that comes up from a
/// nested state already says where it happened.
fn runtime_in(f: Failure, state: &str, entered: usize) -> Failure {
    const PREFIX: &str = "An error occurred while executing the state";
    if f.error != "States.Runtime" || f.cause.starts_with(PREFIX) {
        return f;
    }
    Failure::runtime(format!(
        "{PREFIX} '{state}' (entered at the event id #{entered}). {}",
        f.cause
    ))
}

/// What every attempt of one Task state shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    pub state: &'a str,
    pub arn: &'a str,
    pub resource: &'a Resource,
    pub timeout: Option<u64>,
    pub heartbeat: Option<u64>,
}

/// What every iteration of one Map state shares.
pub(crate) struct Items<'a> {
    pub map: &'a MapState,
    pub processor: &'a asl::ItemProcessor,
    /// The Map state's effective input, which `ItemSelector` reads.
    pub input: &'a Value,
    pub variables: &'a Map<String, Value>,
    /// `ItemSelector` is JSONata: the Map state is.
    pub jsonata: bool,
}

/// How a state handler ends: with an output that follows the state's own
/// `Next` or `End`, or somewhere else (a Choice rule, a catcher).
pub(crate) enum Flow {
    Done(Value),
    Jump(Step),
}

/// The processor of a Map the simulator runs: an inline one.
pub(crate) fn inline_processor<'m>(
    map: &'m MapState,
    scope: &Scope<'_>,
) -> Result<&'m asl::ItemProcessor, Failure> {
    let processor = map.processor().ok_or_else(|| {
        Failure::runtime(format!(
            "the Map state '{}' has no ItemProcessor",
            scope.name
        ))
    })?;
    Ok(processor)
}

/// The output processing fields of a state that has a result.
struct Io<'a> {
    result_selector: Option<&'a Value>,
    result_path: Option<&'a Option<String>>,
    output_path: Option<&'a Option<String>>,
    assign: Option<&'a Value>,
}

pub(crate) fn state_language(state: &State) -> Option<asl::QueryLanguage> {
    match state {
        State::Task(s) => s.query_language,
        State::Choice(s) => s.query_language,
        State::Parallel(s) => s.query_language,
        State::Map(s) => s.query_language,
        State::Pass(s) => s.query_language,
        State::Wait(s) => s.query_language,
        State::Succeed(s) => s.query_language,
        State::Fail(s) => s.query_language,
    }
}

fn roots<'a>(
    input: &'a Value,
    scope: &'a Scope<'_>,
    variables: &'a Map<String, Value>,
) -> Roots<'a> {
    Roots {
        input,
        context: &scope.context,
        variables,
    }
}

pub(crate) fn exit(thread: &mut Thread, scope: &Scope<'_>, output: &Value) {
    thread.push(Kind::StateExited {
        kind: scope.kind,
        name: scope.name.to_owned(),
        output: json_text(output),
    });
}

pub(crate) fn next(state: &State, output: Value) -> Step {
    match state.next() {
        Some(next) if !state.is_end() => Step::Next(next.to_owned(), output),
        _ => Step::End(output),
    }
}

/// Once a branch or iteration fails, the others stop where they are: each
/// is aborted at the time of the first failure. `map`: the Map state's name,
/// whose iterations are aborted too.
fn abort(children: &mut [Thread], results: &[(i64, Result<Value, Failure>)], map: Option<&str>) {
    let winner = results
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| r.is_err())
        .min_by_key(|(_, (at, _))| *at);
    let Some((failed, (at, _))) = winner else {
        return;
    };
    for (index, child) in children.iter_mut().enumerate() {
        child.abort(*at, map.map(|name| (name, index)), index == failed);
    }
}

/// The failure that ended first among branch results, and when.
fn first_failure(results: &mut [(i64, Result<Value, Failure>)]) -> Option<(i64, Failure)> {
    results
        .iter()
        .filter_map(|(at, r)| r.as_ref().err().map(|f| (*at, f.clone())))
        .min_by_key(|(at, _)| *at)
}

/// When a Wait with `Timestamp` or `TimestampPath` ends.
fn wait_until(wait: &Wait, on: &Roots<'_>) -> Result<i64, Failure> {
    let (stamp, path) = match (&wait.timestamp, &wait.timestamp_path) {
        (Some(t), _) => (Value::String(t.clone()), None),
        (None, Some(p)) => (template::select(p, on)?, Some(p)),
        (None, None) => return Err(Failure::runtime("a Wait state needs Seconds or Timestamp")),
    };
    stamp.as_str().and_then(time::parse).ok_or_else(|| {
        Failure::runtime(format!(
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset \
             date-time format string: {} == {}",
            path.map_or("Timestamp", String::as_str),
            shown(&stamp)
        ))
    })
}

/// Parameters the service refuses to start a task with, before it is
/// scheduled: API Gateway's `Headers` must map each name to a list of values
/// (`test_invoke_with_headers[singleStringHeader]`).
pub(crate) fn check_parameters(resource: &Resource, parameters: &Value) -> Result<(), Failure> {
    let Resource::Service { kind, name } = resource else {
        return Ok(());
    };
    let headers = (&**kind == "apigateway" && name.starts_with("invoke"))
        .then(|| parameters.get("Headers"))
        .flatten();
    match headers {
        Some(Value::Object(h)) if h.values().any(|v| !v.is_array()) => {
            Err(Failure::runtime(format!(
                "The Parameters '{parameters}' could not be used to start the Task: \
             [The value of the field 'Headers' has an invalid format]"
            )))
        }
        _ => Ok(()),
    }
}

/// A literal limit (`TimeoutSeconds`, `Seconds`…) or the one its `…Path`
/// (named `field`) reads, refused as the service refuses it.
fn limit(
    field: &str,
    literal: Option<&asl::Expr<u64>>,
    path: Option<&str>,
    roots: &Roots<'_>,
) -> Result<Option<u64>, Failure> {
    match (literal, path) {
        (Some(asl::Expr::Literal(n)), _) => Ok(Some(*n)),
        (Some(asl::Expr::Jsonata(_)), _) => Err(Failure::runtime("JSONata is not simulated yet")),
        (None, Some(p)) => {
            // How AWS words a Wait's SecondsPath that finds nothing
            // (`test_logs`'s `wait_seconds_path.json5`).
            let value = template::select(p, roots).map_err(|f| match field {
                "SecondsPath" => Failure::runtime(format!(
                    "The SecondsPath parameter does not reference an input value: {p}"
                )),
                _ => f,
            })?;
            let shown = shown(&value);
            match value.as_i64() {
                Some(n) if n < 0 => Err(Failure::runtime(format!(
                    "The {field} parameter references a negative value: {p} == {shown}"
                ))),
                Some(n) => Ok(u64::try_from(n).ok()),
                None => Err(Failure::runtime(format!(
                    "The {field} parameter cannot be parsed as a long value: {p} == {shown}"
                ))),
            }
        }
        (None, None) => Ok(None),
    }
}

/// A value as the service quotes it in an error: a string's text, else JSON.
pub(crate) fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `MaxConcurrency`, or the integer `MaxConcurrencyPath` reads; 0 is no limit.
/// (`test_reference_in_map_state[…MAX_CONCURRENCY_PATH]` reads `"1"`.)
fn max_concurrency(map: &MapState, roots: &Roots<'_>) -> Result<u64, Failure> {
    match (&map.max_concurrency, &map.max_concurrency_path) {
        (Some(asl::Expr::Literal(n)), _) => Ok(*n),
        (None, Some(p)) => {
            let value = template::select(p, roots)?;
            // AWS takes an integer in a string too (`"1"`, as recorded).
            let integer = match &value {
                Value::String(s) => s.parse().ok(),
                other => other.as_u64(),
            };
            integer.ok_or_else(|| {
                Failure::runtime(format!(
                    "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: {p}",
                    shown(&value)
                ))
            })
        }
        _ => Ok(0),
    }
}

impl Run<'_> {
    /// The failure a Fail state raises: `Error`/`Cause`, or what
    /// `ErrorPath`/`CausePath` (a path or an intrinsic function) give.
    fn failure_of(&mut self, fail: &Fail, roots: &Roots<'_>) -> Result<Failure, Failure> {
        let error = self.fail_text(&fail.error, &fail.error_path, "ErrorPath", roots)?;
        let cause = self.fail_text(&fail.cause, &fail.cause_path, "CausePath", roots)?;
        Ok(Failure::new(error, cause))
    }

    fn fail_text(
        &mut self,
        literal: &Option<String>,
        path: &Option<String>,
        field: &str,
        roots: &Roots<'_>,
    ) -> Result<String, Failure> {
        let Some(p) = path else {
            return Ok(literal.clone().unwrap_or_default());
        };
        let mut random = || self.random();
        match template::value(field, p, roots, &mut random)? {
            Value::String(s) => Ok(s),
            other => Err(Failure::runtime(format!(
                "The {field} '{p}' must yield a string, not {other}"
            ))),
        }
    }
}

/// The service's own answers, from histories AWS recorded (LocalStack's
/// test suite snapshots), as oracles.
#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{Execution, Mocks, Response, Simulator};

    fn run(definition: Value, input: Value) -> Execution {
        let machine = serde_json::from_value(definition).expect("a valid definition");
        Simulator::new(&Mocks::new()).run(&machine, input)
    }

    fn cause(execution: &Execution) -> String {
        execution.failure.clone().expect("it fails").cause
    }

    #[test]
    fn a_path_that_selects_nothing_is_reported_with_the_state_and_its_event_id() {
        let pass = |field: &str, path: &str| json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", field: path, "End": true}}});
        let e = run(
            pass("InputPath", "$.NoSuchInputPath"),
            json!({"int-literal": 0}),
        );
        assert_eq!(
            cause(&e),
            "An error occurred while executing the state 'pass' (entered at the event id #2). \
             Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        );
        let e = run(pass("OutputPath", "$.no.such.result.path"), json!({}));
        assert_eq!(
            cause(&e),
            "An error occurred while executing the state 'pass' (entered at the event id #2). \
             Invalid path '$.no.such.result.path' : Missing property in path $['no']"
        );
    }

    /// `test_map_state_retry`: two retries of a Map whose item fails, and a
    /// single MapStateFailed at the end; `test_map_state_break_condition`:
    /// with MaxConcurrency 1, no iteration starts after one fails.
    #[test]
    fn a_map_fails_once_after_its_retries_and_starts_nothing_after_a_failure() {
        let definition = |retry: Value, concurrency: u64| {
            json!({"StartAt": "MapState", "States": {"MapState": {
                "Type": "Map", "MaxConcurrency": concurrency, "Retry": retry, "End": true,
                "ItemProcessor": {"StartAt": "HandleItemFail", "States": {
                    "HandleItemFail": {"Type": "Fail", "Error": "HandleItemFail"}}}}}})
        };
        let types = |definition, input| -> Vec<String> {
            let execution = run(definition, input);
            execution.events.iter().map(|e| e.kind.name()).collect()
        };
        let retry = json!([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]);
        let events = types(definition(retry, 0), json!([1]));
        assert_eq!(events.iter().filter(|t| *t == "MapStateStarted").count(), 3);
        assert_eq!(events.iter().filter(|t| *t == "MapStateFailed").count(), 1);
        let events = types(definition(json!([]), 1), json!([1, 2, 3]));
        assert_eq!(
            events
                .iter()
                .filter(|t| *t == "MapIterationStarted")
                .count(),
            1
        );
    }

    /// `test_start_execution_sync`: a `.sync` task is submitted, then
    /// succeeds; the recorded submission answer is its TaskSubmitted output.
    #[test]
    fn a_sync_task_is_submitted_before_it_ends() {
        let definition = json!({"StartAt": "StartExecution", "States": {"StartExecution": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "End": true}}});
        let machine = serde_json::from_value(definition).expect("a valid definition");
        let mocks = Mocks::new().state("StartExecution", |_| {
            Response::ok(json!({"Output": "{}"})).submitted(json!({"ExecutionArn": "arn"}))
        });
        let execution = Simulator::new(&mocks).run(&machine, json!({}));
        let types: Vec<String> = execution.events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(
            types[2..5],
            ["TaskScheduled", "TaskStarted", "TaskSubmitted"].map(String::from)
        );
        assert_eq!(types[5], "TaskSucceeded");
    }

    /// `test_base_wait_seconds_path`, `test_max_concurrency_path`, `test_logs`.
    #[test]
    fn unusable_seconds_and_concurrency_paths_fail_as_aws_says() {
        let wait = json!({"StartAt": "WaitState", "States": {"WaitState": {
            "Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": true}}});
        let prefix =
            "An error occurred while executing the state 'WaitState' (entered at the event id #2).";
        let e = run(wait.clone(), json!({"input": {"waitSeconds": -1}}));
        assert_eq!(
            cause(&e),
            format!(
                "{prefix} The SecondsPath parameter references a negative value: $.input.waitSeconds == -1"
            )
        );
        let e = run(wait.clone(), json!({"input": {"waitSeconds": 1.5}}));
        assert_eq!(
            cause(&e),
            format!(
                "{prefix} The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == 1.5"
            )
        );
        // `test_logs`'s `wait_seconds_path.json5`, started with `{}`.
        let e = run(wait, json!({}));
        assert_eq!(
            cause(&e),
            format!(
                "{prefix} The SecondsPath parameter does not reference an input value: $.input.waitSeconds"
            )
        );
        let map = json!({"StartAt": "MapState", "States": {"MapState": {
            "Type": "Map", "ItemsPath": "$.Values", "MaxConcurrencyPath": "$.MaxConcurrencyValue",
            "ItemProcessor": {"StartAt": "HandleItem", "States": {"HandleItem": {"Type": "Pass", "End": true}}},
            "End": true}}});
        let e = run(
            map,
            json!({"MaxConcurrencyValue": "NoNumber", "Values": ["HelloWorld"]}),
        );
        assert_eq!(
            cause(&e),
            "An error occurred while executing the state 'MapState' (entered at the event id #2). \
             The MaxConcurrencyPath field refers to value \"NoNumber\" which is not a valid integer: $.MaxConcurrencyValue"
        );
    }

    /// `test_state_fail_intrinsic`: `ErrorPath` and `CausePath` may be intrinsic functions.
    #[test]
    fn a_fail_state_takes_its_error_and_cause_from_intrinsic_functions() {
        let fail = json!({"StartAt": "FailState", "States": {"FailState": {"Type": "Fail",
            "ErrorPath": "$.Error",
            "CausePath": "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)"}}});
        let e = run(
            fail,
            json!({"Error": "error string", "Cause": "cause string"}),
        );
        let failure = e.failure.expect("it fails");
        assert_eq!(failure.error, "error string");
        assert_eq!(
            failure.cause,
            "This is a custom error message for error string, caused by cause string."
        );
    }

    /// `test_state_assign_evaluation_order`: `OutputPath` reads the variables
    /// as they were before the state's `Assign`.
    #[test]
    fn assign_takes_effect_after_the_output_is_processed() {
        let definition = json!({"StartAt": "State0", "States": {
            "State0": {"Type": "Pass", "Assign": {"answer": 42}, "Next": "State1"},
            "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                "OutputPath": "$answer", "Assign": {"answer": "<omitted>"}, "End": true}}});
        assert_eq!(run(definition, json!({})).output, Some(json!(42)));
    }

    /// `test_input_path[$$]`: a Pass state's `$$.State` has no `RetryCount`.
    #[test]
    fn only_a_state_that_can_retry_has_a_retry_count() {
        let definition = json!({"StartAt": "TestState", "States": {"TestState": {
            "Type": "Pass", "InputPath": "$$.State", "End": true}}});
        let output = run(definition, json!({})).output.expect("it succeeds");
        assert_eq!(output.as_object().map(|o| o.len()), Some(2), "{output}");
    }

    /// `test_service_task_lambada_catch_state_all_data_limit_exceeded…`: AWS
    /// catches a task's States.DataLimitExceeded with States.ALL.
    #[test]
    fn states_all_catches_a_data_limit_exceeded() {
        let definition = json!({"StartAt": "InvokeLambda", "States": {
            "InvokeLambda": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "HandleGeneralError"}], "End": true},
            "HandleGeneralError": {"Type": "Pass", "End": true}}});
        let machine = serde_json::from_value(definition).expect("a valid definition");
        let mocks = Mocks::new().state("InvokeLambda", |_| {
            Response::throw("States.DataLimitExceeded", "too large")
        });
        let execution = Simulator::new(&mocks).run(&machine, json!({}));
        assert_eq!(
            execution.output,
            Some(json!({"Error": "States.DataLimitExceeded", "Cause": "too large"}))
        );
    }

    /// `test_service_lambda_map_timeout`: four iterations whose tasks time
    /// out together; the first fails the Map, the others are aborted, and
    /// every task still running is aborted.
    #[test]
    fn a_failed_iteration_aborts_the_others() {
        let definition = json!({"StartAt": "MapWait", "States": {"MapWait": {
            "Type": "Map", "ItemsPath": "$.Inputs", "End": true,
            "ItemProcessor": {"StartAt": "LambdaInvoke", "States": {"LambdaInvoke": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "TimeoutSeconds": 5, "End": true}}}}}});
        let machine = serde_json::from_value(definition).expect("a valid definition");
        let mocks = Mocks::new().state("LambdaInvoke", |_| Response::ok(json!({})).taking(6_000));
        let execution = Simulator::new(&mocks).run(&machine, json!({"Inputs": [1, 2, 3, 4]}));
        let count = |name: &str| {
            execution
                .events
                .iter()
                .filter(|e| e.kind.name() == name)
                .count()
        };
        assert_eq!(count("TaskTimedOut"), 4);
        assert_eq!(count("MapIterationFailed"), 1);
        assert_eq!(count("MapIterationAborted"), 3);
        assert_eq!(count("TaskStateAborted"), 4);
        assert_eq!(
            execution.failure.map(|f| f.error),
            Some("States.Timeout".into())
        );
    }

    /// `test_invoke_with_headers[singleStringHeader]`: refused before it is scheduled.
    #[test]
    fn api_gateway_headers_must_be_lists() {
        let definition = json!({"StartAt": "ApiGatewayInvoke", "States": {"ApiGatewayInvoke": {
            "Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke",
            "Parameters": {"Headers.$": "$.Headers"}, "End": true}}});
        let e = run(
            definition,
            json!({"Headers": {"custom_header": "singleStringHeader"}}),
        );
        assert!(cause(&e).ends_with(
            "could not be used to start the Task: [The value of the field 'Headers' has an invalid format]"
        ));
        assert!(!e.events.iter().any(|e| e.kind.name() == "TaskScheduled"));
    }
}
