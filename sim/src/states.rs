//! Each kind of state, in JSONPath mode.

use asl::{Choice, Fail, Map as MapState, Parallel, Pass, State, Task, Wait};
use serde_json::{Map, Value, json};

use crate::coverage::Route;
use crate::history::{Kind, Resource};
use crate::jsonpath::Roots;
use crate::mock::Call;
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
        if let Some(language) = state_language(state)
            && language == asl::QueryLanguage::Jsonata
        {
            return Err(Failure::runtime(format!(
                "the state '{}' is written in JSONata, which the simulator does not run yet",
                scope.name
            )));
        }
        thread.push(Kind::StateEntered {
            kind: state.kind(),
            name: scope.name.to_owned(),
            input: input.clone(),
        });
        let entered = thread.base + thread.events.len();
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
                exit(thread, scope, output.clone());
                Ok(Flow::Jump(Step::End(output)))
            }
            State::Fail(fail) => Err(failure_of(fail, &roots(&input, scope, variables))?),
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
        let timeout = limit(
            task.timeout_seconds.as_ref(),
            task.timeout_seconds_path.as_deref(),
            &raw,
            scope,
            variables,
        )?;
        let heartbeat = limit(
            task.heartbeat_seconds.as_ref(),
            task.heartbeat_seconds_path.as_deref(),
            &raw,
            scope,
            variables,
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
            let context = self.context(scope.name, thread.clock, retries, scope.map_item);
            let roots = Roots {
                input: &raw,
                context: &context,
                variables,
            };
            let effective = input_path(&raw, task.input_path.as_ref(), &roots)?;
            let parameters = match &task.parameters {
                Some(template) => self.fill(
                    template,
                    &Roots {
                        input: &effective,
                        ..roots
                    },
                )?,
                None => effective,
            };
            let outcome = self.invoke(thread, &call, parameters);
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
                let output = self.finish(scope, &io, &raw, value, variables)?;
                exit(thread, scope, output.clone());
                Ok(Flow::Done(output))
            }
            Err(f) => self
                .catch(thread, scope, &task.catch, raw, f, variables)
                .map(Flow::Jump),
        }
    }

    /// One attempt of a task, with its events.
    fn invoke(
        &mut self,
        thread: &mut Thread,
        task: &Attempt<'_>,
        parameters: Value,
    ) -> Result<Value, Failure> {
        let Attempt {
            state,
            arn,
            resource,
            timeout,
            heartbeat,
        } = *task;
        thread.push(Kind::TaskScheduled {
            resource: resource.clone(),
            region: self.region.to_owned(),
            parameters: parameters.clone(),
            timeout,
            heartbeat,
        });
        thread.push(Kind::TaskStarted(resource.clone()));
        let count = self.invocations.entry(state.to_owned()).or_default();
        let call = Call {
            state,
            resource: arn,
            parameters: &parameters,
            invocation: *count,
        };
        *count += 1;
        let response = self.mocks.answer(&call);
        let took = i64::try_from(response.took_ms).unwrap_or(i64::MAX);
        let over = |limit: Option<u64>| limit.map(seconds).filter(|l| took > *l);
        if let Some(after) = over(heartbeat).filter(|h| over(timeout).is_none_or(|t| h < &t)) {
            thread.clock += after;
            let f = Failure::new("States.HeartbeatTimeout", "");
            thread.push(Kind::TaskTimedOut(resource.clone(), f.clone()));
            return Err(f);
        }
        if let Some(after) = over(timeout) {
            thread.clock += after;
            let f = Failure::new("States.Timeout", "");
            thread.push(Kind::TaskTimedOut(resource.clone(), f.clone()));
            return Err(f);
        }
        thread.clock += took;
        match response.result {
            Ok(value) => {
                thread.push(Kind::TaskSucceeded(resource.clone(), value.clone()));
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
        raw: &Value,
        result: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Value, Failure> {
        let selected = match io.result_selector {
            Some(template) => self.fill(template, &roots(&result, scope, variables))?,
            None => result,
        };
        if let Some(assign) = io.assign {
            self.assign(assign, &selected, scope, variables)?;
        }
        let output = result_path(raw.clone(), io.result_path, selected)?;
        output_path(output, io.output_path, &roots(raw, scope, variables))
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
        let output = self.finish(scope, &io, &raw, result, variables)?;
        exit(thread, scope, output.clone());
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
        let mut chosen = None;
        for (i, rule) in choice.choices.iter().enumerate() {
            if crate::choice::holds(&rule.condition, &on)? {
                chosen = Some((Some(i), rule.next.clone(), rule.assign.as_ref()));
                break;
            }
        }
        let (rule, next, assign) = match (chosen, &choice.default) {
            (Some(found), _) => found,
            (None, Some(default)) => (None, default.clone(), None),
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
            rule,
            next: next.clone(),
        });
        if let Some(assign) = assign.or(choice.assign.as_ref()) {
            self.assign(assign, &effective, scope, variables)?;
        }
        let output = output_path(
            effective,
            choice.output_path.as_ref(),
            &roots(&raw, scope, variables),
        )?;
        exit(thread, scope, output.clone());
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
        let until = if let Some(s) = limit(
            wait.seconds.as_ref(),
            wait.seconds_path.as_deref(),
            &effective,
            scope,
            variables,
        )? {
            thread.clock.saturating_add(seconds(s))
        } else {
            let stamp = match (&wait.timestamp, &wait.timestamp_path) {
                (Some(t), _) => Value::String(t.clone()),
                (None, Some(p)) => template::read("TimestampPath", p, &on)?,
                (None, None) => {
                    return Err(Failure::runtime("a Wait state needs Seconds or Timestamp"));
                }
            };
            stamp.as_str().and_then(time::parse).ok_or_else(|| {
                Failure::runtime(format!(
                    "The Timestamp '{stamp}' of the state '{}' is not an ISO 8601 timestamp",
                    scope.name
                ))
            })?
        };
        thread.clock = thread.clock.max(until);
        let output = output_path(
            effective,
            wait.output_path.as_ref(),
            &roots(&raw, scope, variables),
        )?;
        if let Some(assign) = &wait.assign {
            self.assign(assign, &output, scope, variables)?;
        }
        exit(thread, scope, output.clone());
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
            thread.merge(children, started, first_failure.as_ref().map(|(at, _)| *at));
            match first_failure {
                None => {
                    thread.push(Kind::ParallelSucceeded);
                    break Ok(Value::Array(
                        results.into_iter().filter_map(|(_, r)| r.ok()).collect(),
                    ));
                }
                // A Parallel that is retried has no ParallelStateFailed:
                // the service writes it only when the state fails for good.
                Some((_, f)) => {
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
                let output = self.finish(scope, &io, &raw, value, variables)?;
                exit(thread, scope, output.clone());
                Ok(Flow::Done(output))
            }
            Err(f) => self
                .catch(thread, scope, &parallel.catch, raw, f, variables)
                .map(Flow::Jump),
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
        let processor = map.processor().ok_or_else(|| {
            Failure::runtime(format!(
                "the Map state '{}' has no ItemProcessor",
                scope.name
            ))
        })?;
        if map.item_reader.is_some() {
            return Err(Failure::runtime(
                "a distributed Map's ItemReader is not simulated yet",
            ));
        }
        let concurrency = match &map.max_concurrency {
            Some(asl::Expr::Literal(n)) => *n,
            _ => 0,
        };
        let mut counts = vec![0; map.retry.len()];
        let result = loop {
            let roots_ = roots(&raw, scope, variables);
            let effective = input_path(&raw, map.input_path.as_ref(), &roots_)?;
            let items = template::read(
                "ItemsPath",
                map.items_path.as_deref().unwrap_or("$"),
                &Roots {
                    input: &effective,
                    ..roots_
                },
            )?;
            let Value::Array(items) = items else {
                return Err(Failure::runtime(format!(
                    "Invalid path for the Map state '{}': the items are not an array",
                    scope.name
                )));
            };
            let started = thread.push(Kind::MapStarted {
                length: items.len(),
            });
            let mut slots: Vec<i64> = Vec::new();
            let (mut children, mut results) = (Vec::new(), Vec::new());
            for (index, item) in items.iter().enumerate() {
                let mut child = thread.child();
                if concurrency > 0
                    && slots.len() >= usize::try_from(concurrency).unwrap_or(usize::MAX)
                {
                    slots.sort_unstable();
                    child.clock = child.clock.max(slots.remove(0));
                    // An iteration waiting for a slot never starts once
                    // another has failed the Map.
                    if first_failure(&mut results).is_some_and(|(at, _)| at <= child.clock) {
                        break;
                    }
                }
                let items = Items {
                    map,
                    processor,
                    input: &effective,
                    variables,
                };
                let ended = self.iteration(&mut child, scope, &items, index, item);
                slots.push(child.clock);
                results.push((child.clock, ended));
                children.push(child);
            }
            let first_failure = first_failure(&mut results);
            thread.merge(children, started, first_failure.as_ref().map(|(at, _)| *at));
            match first_failure {
                None => {
                    thread.push(Kind::MapSucceeded);
                    break Ok(Value::Array(
                        results.into_iter().filter_map(|(_, r)| r.ok()).collect(),
                    ));
                }
                // As for Parallel: no MapStateFailed before a retry.
                Some((_, f)) => {
                    if !self.retry(thread, scope.name, &map.retry, &mut counts, &f) {
                        thread.push(Kind::MapFailed);
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
                let output = self.finish(scope, &io, &raw, value, variables)?;
                exit(thread, scope, output.clone());
                Ok(Flow::Done(output))
            }
            Err(f) => self
                .catch(thread, scope, &map.catch, raw, f, variables)
                .map(Flow::Jump),
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
            map,
            processor,
            input: effective,
            variables,
        } = *items;
        let name = scope.name.to_owned();
        child.push(Kind::MapIterationStarted {
            name: name.clone(),
            index,
        });
        let map_item = json!({"Index": index, "Value": item});
        let context = self.context(scope.name, child.clock, 0, Some(&map_item));
        let roots = Roots {
            input: effective,
            context: &context,
            variables,
        };
        let input = match map.item_selector.as_ref().or(map.parameters.as_ref()) {
            Some(template) => self.fill(template, &roots),
            None => Ok(item.clone()),
        };
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
struct Attempt<'a> {
    state: &'a str,
    arn: &'a str,
    resource: &'a Resource,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
}

/// What every iteration of one Map state shares.
struct Items<'a> {
    map: &'a MapState,
    processor: &'a asl::ItemProcessor,
    /// The Map state's effective input, which `ItemSelector` reads.
    input: &'a Value,
    variables: &'a Map<String, Value>,
}

/// How a state handler ends: with an output that follows the state's own
/// `Next` or `End`, or somewhere else (a Choice rule, a catcher).
enum Flow {
    Done(Value),
    Jump(Step),
}

/// The output processing fields of a state that has a result.
struct Io<'a> {
    result_selector: Option<&'a Value>,
    result_path: Option<&'a Option<String>>,
    output_path: Option<&'a Option<String>>,
    assign: Option<&'a Value>,
}

fn state_language(state: &State) -> Option<asl::QueryLanguage> {
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

fn exit(thread: &mut Thread, scope: &Scope<'_>, output: Value) {
    thread.push(Kind::StateExited {
        kind: scope.kind,
        name: scope.name.to_owned(),
        output,
    });
}

fn next(state: &State, output: Value) -> Step {
    match state.next() {
        Some(next) if !state.is_end() => Step::Next(next.to_owned(), output),
        _ => Step::End(output),
    }
}

/// The failure that ended first among branch results, and when.
fn first_failure(results: &mut [(i64, Result<Value, Failure>)]) -> Option<(i64, Failure)> {
    results
        .iter()
        .filter_map(|(at, r)| r.as_ref().err().map(|f| (*at, f.clone())))
        .min_by_key(|(at, _)| *at)
}

/// A literal limit (`TimeoutSeconds`, `Seconds`…) or the one its `…Path` reads.
fn limit(
    literal: Option<&asl::Expr<u64>>,
    path: Option<&str>,
    input: &Value,
    scope: &Scope<'_>,
    variables: &Map<String, Value>,
) -> Result<Option<u64>, Failure> {
    match (literal, path) {
        (Some(asl::Expr::Literal(n)), _) => Ok(Some(*n)),
        (Some(asl::Expr::Jsonata(_)), _) => Err(Failure::runtime("JSONata is not simulated yet")),
        (None, Some(p)) => {
            let value = template::read(p, p, &roots(input, scope, variables))?;
            value.as_u64().map(Some).ok_or_else(|| {
                Failure::runtime(format!(
                    "The value of '{p}' must be a positive integer, not {value}"
                ))
            })
        }
        (None, None) => Ok(None),
    }
}

fn failure_of(fail: &Fail, roots: &Roots<'_>) -> Result<Failure, Failure> {
    let text =
        |literal: &Option<String>, path: &Option<String>, field: &str| -> Result<String, Failure> {
            match (literal, path) {
                (Some(text), _) => Ok(text.clone()),
                (None, Some(p)) => match template::read(field, p, roots)? {
                    Value::String(s) => Ok(s),
                    other => Err(Failure::runtime(format!(
                        "The {field} '{p}' must yield a string, not {other}"
                    ))),
                },
                (None, None) => Ok(String::new()),
            }
        };
    Ok(Failure::new(
        text(&fail.error, &fail.error_path, "ErrorPath")?,
        text(&fail.cause, &fail.cause_path, "CausePath")?,
    ))
}

/// The service's own answers, from histories AWS recorded (LocalStack's
/// test suite snapshots), as oracles.
#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{Execution, Mocks, Simulator};

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
}
