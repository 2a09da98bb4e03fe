//! Each kind of state, in JSONata mode: `Arguments`, `Output` and `Assign`
//! instead of the JSONPath fields, `$states` instead of `$` and `$$`.

use asl::{Catcher, Choice, Expr, Fail, Map as MapState, Parallel, State, Task, Wait};
use serde_json::{Map, Value};

use crate::history::{Kind, Resource};
use crate::jsonata::{self, EVALUATION_ERROR, Env};
use crate::run::{Run, Scope, Step, Thread, seconds};
use crate::states::{Attempt, Flow, Items, check_parameters, exit, inline_processor, shown};
use crate::{Failure, time};

/// What a state with a result does with it: `Output` (the result by
/// default, else the input) and `Assign`; with a failure, its `Catch`.
struct Finish<'a> {
    output: Option<&'a Value>,
    assign: Option<&'a Value>,
    catch: &'a [Catcher],
}

impl Run<'_> {
    pub(crate) fn jsonata_state(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        state: &State,
        input: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Step, Failure> {
        match self.ata_flow(thread, scope, state, input, variables) {
            Ok(Flow::Done(output)) => Ok(crate::states::next(state, output)),
            Ok(Flow::Jump(step)) => Ok(step),
            Err(f) => Err(evaluation_failed(thread, scope, f)),
        }
    }

    fn ata_flow(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        state: &State,
        input: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        match state {
            State::Task(task) => self.ata_task(thread, scope, task, input, variables),
            State::Pass(pass) => {
                let finish = Finish {
                    output: pass.output.as_ref(),
                    assign: pass.assign.as_ref(),
                    catch: &[],
                };
                let output = finish_state(scope, &finish, &input, None, variables)?;
                exit(thread, scope, &output);
                Ok(Flow::Done(output))
            }
            State::Choice(choice) => self.ata_choice(thread, scope, choice, input, variables),
            State::Wait(wait) => ata_wait(thread, scope, wait, input, variables),
            State::Parallel(p) => self.ata_parallel(thread, scope, p, input, variables),
            State::Map(map) => self.ata_map(thread, scope, map, input, variables),
            State::Succeed(succeed) => {
                let env = env(scope, &input, variables);
                let output = match &succeed.output {
                    Some(template) => jsonata::fill(template, "Output", &env)?,
                    None => input.clone(),
                };
                exit(thread, scope, &output);
                Ok(Flow::Jump(Step::End(output)))
            }
            State::Fail(fail) => Err(fail_failure(fail, &env(scope, &input, variables))),
        }
    }

    fn ata_task(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        task: &Task,
        input: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let resource = Resource::of(&task.resource);
        let on = env(scope, &input, variables);
        let call = Attempt {
            state: scope.name,
            arn: &task.resource,
            resource: &resource,
            timeout: number(task.timeout_seconds.as_ref(), "TimeoutSeconds", &on)?,
            heartbeat: number(task.heartbeat_seconds.as_ref(), "HeartbeatSeconds", &on)?,
        };
        let (mut counts, mut retries) = (vec![0; task.retry.len()], 0);
        let result = loop {
            let (context, token) = self.attempt_context(scope, thread.clock, retries, &resource);
            let on = Env {
                context: &context,
                ..env(scope, &input, variables)
            };
            let arguments = match &task.arguments {
                Some(template) => jsonata::fill(template, "Arguments", &on),
                None => Ok(input.clone()),
            };
            let outcome = arguments.and_then(|arguments| {
                check_parameters(&resource, &arguments)?;
                self.invoke(thread, &call, arguments, token.as_deref())
            });
            match outcome {
                Ok(value) => break Ok(value),
                Err(f) if self.retry(thread, scope.name, &task.retry, &mut counts, &f) => {
                    retries += 1
                }
                Err(f) => break Err(f),
            }
        };
        let finish = Finish {
            output: task.output.as_ref(),
            assign: task.assign.as_ref(),
            catch: &task.catch,
        };
        self.ended(thread, scope, &finish, input, result, variables)
    }

    /// A Task, Parallel or Map that has its result or its failure.
    fn ended(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        finish: &Finish<'_>,
        input: Value,
        result: Result<Value, Failure>,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        match result {
            Ok(value) => {
                let output = finish_state(scope, finish, &input, Some(&value), variables)?;
                exit(thread, scope, &output);
                Ok(Flow::Done(output))
            }
            Err(f) => self
                .ata_catch(thread, scope, finish.catch, &input, f, variables)
                .map(Flow::Jump),
        }
    }

    /// The first catcher that takes `failure`: its `Output` (the error
    /// output by default) and `Assign` read `$states.errorOutput`.
    fn ata_catch(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        catchers: &[Catcher],
        input: &Value,
        failure: Failure,
        variables: &mut Map<String, Value>,
    ) -> Result<Step, Failure> {
        let (catcher, error) = self.catcher(scope, catchers, failure)?;
        let on = Env {
            error_output: Some(&error),
            ..env(scope, input, variables)
        };
        let output = match &catcher.output {
            Some(template) => jsonata::fill(template, "Output", &on)?,
            None => error.clone(),
        };
        let assigned = assigned(catcher.assign.as_ref(), &on)?;
        variables.extend(assigned);
        exit(thread, scope, &output);
        Ok(Step::Next(catcher.next.clone(), output))
    }

    fn ata_choice(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        choice: &Choice,
        input: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let on = env(scope, &input, variables);
        let (rule, next) = self.choose(scope, choice, |c| condition(c, &on))?;
        let (output, assign) = (
            rule.and_then(|r| r.output.as_ref()),
            rule.and_then(|r| r.assign.as_ref()),
        );
        let finish = Finish {
            output: output.or(choice.output.as_ref()),
            assign: assign.or(choice.assign.as_ref()),
            catch: &[],
        };
        let output = finish_state(scope, &finish, &input, None, variables)?;
        exit(thread, scope, &output);
        Ok(Flow::Jump(Step::Next(next, output)))
    }

    fn ata_parallel(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        parallel: &Parallel,
        input: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let mut counts = vec![0; parallel.retry.len()];
        let result = loop {
            let arguments = match &parallel.arguments {
                Some(t) => jsonata::fill(t, "Arguments", &env(scope, &input, variables))?,
                None => input.clone(),
            };
            match self.branches(thread, parallel, &arguments, variables) {
                Ok(value) => break Ok(value),
                // No ParallelStateFailed before a retry, as in JSONPath mode.
                Err(f) => {
                    if !self.retry(thread, scope.name, &parallel.retry, &mut counts, &f) {
                        thread.push(Kind::ParallelFailed);
                        break Err(f);
                    }
                }
            }
        };
        let finish = Finish {
            output: parallel.output.as_ref(),
            assign: parallel.assign.as_ref(),
            catch: &parallel.catch,
        };
        self.ended(thread, scope, &finish, input, result, variables)
    }

    fn ata_map(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        map: &MapState,
        input: Value,
        variables: &mut Map<String, Value>,
    ) -> Result<Flow, Failure> {
        let processor = inline_processor(map, scope)?;
        let on = env(scope, &input, variables);
        let concurrency = number(map.max_concurrency.as_ref(), "MaxConcurrency", &on)?;
        let mut counts = vec![0; map.retry.len()];
        let result = loop {
            // A Map whose items are not an array has failed (as recorded:
            // EvaluationFailed, then MapStateFailed, and no MapStateStarted).
            let read = map.item_reader.is_some().then(Vec::new);
            let items = match read.map_or_else(
                || items(map.items.as_ref(), &env(scope, &input, variables)),
                Ok,
            ) {
                Ok(items) => items,
                Err(f) => {
                    let f = evaluation_failed(thread, scope, f);
                    thread.push(Kind::MapFailed);
                    return Err(f);
                }
            };
            let each = Items {
                map,
                processor,
                input: &input,
                variables,
                jsonata: true,
            };
            match self.iterations(thread, scope, &each, &items, concurrency.unwrap_or(0)) {
                Ok(value) => break Ok(value),
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
        let finish = Finish {
            output: map.output.as_ref(),
            assign: map.assign.as_ref(),
            catch: &map.catch,
        };
        self.ended(thread, scope, &finish, input, result, variables)
    }
}

fn env<'a>(scope: &'a Scope<'_>, input: &'a Value, variables: &'a Map<String, Value>) -> Env<'a> {
    Env {
        input,
        result: None,
        error_output: None,
        context: &scope.context,
        variables,
        state: scope.name,
        entered: scope.entered,
        seed: scope.seed,
    }
}

/// `Output` and `Assign`, both evaluated on the variables as they were:
/// the state sets its variables only once its output is known.
fn finish_state(
    scope: &Scope<'_>,
    finish: &Finish<'_>,
    input: &Value,
    result: Option<&Value>,
    variables: &mut Map<String, Value>,
) -> Result<Value, Failure> {
    let on = Env {
        result,
        ..env(scope, input, variables)
    };
    let output = match finish.output {
        Some(template) => jsonata::fill(template, "Output", &on)?,
        None => result.unwrap_or(input).clone(),
    };
    let assigned = assigned(finish.assign, &on)?;
    variables.extend(assigned);
    Ok(output)
}

fn assigned(assign: Option<&Value>, on: &Env<'_>) -> Result<Map<String, Value>, Failure> {
    match assign.map(|template| jsonata::fill(template, "Assign", on)) {
        Some(Ok(Value::Object(assigned))) => Ok(assigned),
        Some(Err(f)) => Err(f),
        _ => Ok(Map::new()),
    }
}

fn ata_wait(
    thread: &mut Thread,
    scope: &Scope<'_>,
    wait: &Wait,
    input: Value,
    variables: &mut Map<String, Value>,
) -> Result<Flow, Failure> {
    let on = env(scope, &input, variables);
    let until = match (
        number(wait.seconds.as_ref(), "Seconds", &on)?,
        &wait.timestamp,
    ) {
        (Some(s), _) => thread.clock.saturating_add(seconds(s)),
        (None, Some(stamp)) => {
            let value = jsonata::fill(&Value::String(stamp.clone()), "Timestamp", &on)?;
            match value.as_str().and_then(time::parse) {
                Some(until) => until,
                // An evaluation failure of the field, as recorded
                // (`test_wait_timestamp_jsonata[NO_T]`).
                None => {
                    let f = jsonata::failure(
                        &on,
                        EVALUATION_ERROR,
                        &format!(
                            "The Timestamp field cannot be parsed as an ISO-8601 extended offset \
                             date-time format string: {}",
                            shown(&value)
                        ),
                    );
                    return Err(field_failed(thread, scope, Some("Timestamp".into()), f));
                }
            }
        }
        (None, None) => return Err(Failure::runtime("a Wait state needs Seconds or Timestamp")),
    };
    thread.clock = thread.clock.max(until);
    let finish = Finish {
        output: wait.output.as_ref(),
        assign: wait.assign.as_ref(),
        catch: &[],
    };
    let output = finish_state(scope, &finish, &input, None, variables)?;
    exit(thread, scope, &output);
    Ok(Flow::Done(output))
}

/// A Fail state's `Error` and `Cause`, literal or computed.
fn fail_failure(fail: &Fail, on: &Env<'_>) -> Failure {
    let text = |field: &str, value: &Option<String>| -> Result<String, Failure> {
        let Some(text) = value else {
            return Ok(String::new());
        };
        match jsonata::fill(&Value::String(text.clone()), field, on)? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    };
    match (text("Error", &fail.error), text("Cause", &fail.cause)) {
        (Ok(error), Ok(cause)) => Failure::new(error, cause),
        (Err(f), _) | (_, Err(f)) => f,
    }
}

/// A limit (`TimeoutSeconds`, `MaxConcurrency`, `Seconds`): a literal or
/// what its expression yields, which must be a non-negative integer.
fn number(expr: Option<&Expr<u64>>, field: &str, on: &Env<'_>) -> Result<Option<u64>, Failure> {
    let text = match expr {
        None => return Ok(None),
        Some(Expr::Literal(n)) => return Ok(Some(*n)),
        Some(Expr::Jsonata(text)) => text,
    };
    let value = jsonata::fill(&Value::String(text.clone()), field, on)?;
    value.as_u64().map(Some).ok_or_else(|| {
        unexpected(
            on,
            jsonata::expression(text).unwrap_or(text),
            field,
            "integer",
            &value,
        )
    })
}

/// A Map's `Items`: its input by default, else an array or an
/// expression yielding one.
fn items(items: Option<&Value>, on: &Env<'_>) -> Result<Vec<Value>, Failure> {
    let Some(template) = items else {
        return match on.input {
            Value::Array(items) => Ok(items.clone()),
            other => Err(jsonata::failure(
                on,
                EVALUATION_ERROR,
                &format!("Map state input must be an array but was: {other}"),
            )),
        };
    };
    match jsonata::fill(template, "Items", on)? {
        Value::Array(items) => Ok(items),
        other => {
            let expr = template.as_str().and_then(jsonata::expression);
            Err(unexpected(
                on,
                expr.unwrap_or_default(),
                "Items",
                "array",
                &other,
            ))
        }
    }
}

/// The service's error for an expression whose value has the wrong type.
fn unexpected(on: &Env<'_>, expr: &str, field: &str, expected: &str, value: &Value) -> Failure {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    jsonata::failure(
        on,
        EVALUATION_ERROR,
        &format!(
            "The JSONata expression '{expr}' specified for the field '{field}' returned an \
             unexpected result type. Expected '{expected}', but was '{kind}' for value: {value}"
        ),
    )
}

/// A Choice rule's `Condition`: `true`, `false`, or an expression
/// yielding one of them.
fn condition(condition: &asl::Condition, on: &Env<'_>) -> Result<bool, Failure> {
    let asl::Condition::Jsonata(value) = condition else {
        return Err(Failure::runtime(
            "a JSONata Choice rule needs a Condition, not JSONPath comparisons",
        ));
    };
    match jsonata::fill(value, "Condition", on)? {
        Value::Bool(b) => Ok(b),
        other => {
            let expr = value
                .as_str()
                .and_then(jsonata::expression)
                .unwrap_or_default();
            Err(unexpected(on, expr, "Condition", "boolean", &other))
        }
    }
}

/// `f`, recorded as the `EvaluationFailed` of the field at `location`.
fn field_failed(
    thread: &mut Thread,
    scope: &Scope<'_>,
    location: Option<String>,
    f: Failure,
) -> Failure {
    thread.push(Kind::EvaluationFailed {
        state: scope.name.to_owned(),
        location,
        failure: f.clone(),
    });
    f
}

/// A state's evaluation failure is recorded as an `EvaluationFailed`
/// event; a States.Runtime failure gets the prefix that names the state.
fn evaluation_failed(thread: &mut Thread, scope: &Scope<'_>, f: Failure) -> Failure {
    let own = format!(
        "An error occurred while executing the state '{}' (entered at the event id #{}).",
        scope.name, scope.entered
    );
    let reported = thread
        .events
        .iter()
        .rev()
        .take_while(|e| !matches!(e.kind, Kind::StateEntered { .. }))
        .any(|e| matches!(e.kind, Kind::EvaluationFailed { .. }));
    if f.error == EVALUATION_ERROR && f.cause.starts_with(&own) && !reported {
        // The cause names the field the expression is in, as the event does.
        let location = f
            .cause
            .split_once("specified for the field '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(field, _)| field.to_owned());
        return field_failed(thread, scope, location, f);
    }
    if f.error == "States.Runtime" && !f.cause.starts_with("An error occurred") {
        return Failure::runtime(format!("{own} {}", f.cause));
    }
    f
}

/// The service's own answers, from histories AWS recorded (LocalStack's
/// test suite snapshots), as oracles.
#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::history::Kind;
    use crate::{Execution, Mocks, Response, Simulator};

    fn run(definition: Value, input: Value, mocks: &Mocks) -> Execution {
        let machine = serde_json::from_value(definition).expect("a valid definition");
        Simulator::new(mocks).run(&machine, input)
    }

    /// `test_map_state_items_input_types[string]`: a Map without `Items`
    /// needs an array input; EvaluationFailed (no location), MapStateFailed.
    #[test]
    fn a_map_without_items_needs_an_array_input() {
        let definition = json!({"QueryLanguage": "JSONata", "StartAt": "MapIterateState",
            "States": {"MapIterateState": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}}}}});
        let e = run(definition, json!("string"), &Mocks::new());
        let names: Vec<String> = e.events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(
            names,
            [
                "ExecutionStarted",
                "MapStateEntered",
                "EvaluationFailed",
                "MapStateFailed",
                "ExecutionFailed"
            ]
        );
        assert!(matches!(
            &e.events[2].kind,
            Kind::EvaluationFailed { location: None, .. }
        ));
        assert_eq!(
            e.failure.expect("it fails").cause,
            "An error occurred while executing the state 'MapIterateState' (entered at the event id #2). \
             Map state input must be an array but was: \"string\""
        );
    }

    /// `test_base_output_any_non_dict[NULL]`: `"Output": null` outputs null,
    /// where no `Output` passes the input on.
    #[test]
    fn an_output_of_null_is_null() {
        let pass = |fields: Value| {
            let mut state = json!({"Type": "Pass", "End": true});
            state
                .as_object_mut()
                .expect("an object")
                .extend(fields.as_object().cloned().unwrap_or_default());
            json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {"State0": state}})
        };
        let input = json!({"input_value": "stringliteral"});
        let e = run(pass(json!({"Output": null})), input.clone(), &Mocks::new());
        assert_eq!(e.output, Some(Value::Null));
        let e = run(pass(json!({})), input.clone(), &Mocks::new());
        assert_eq!(e.output, Some(input));
    }

    /// `test_wait_timestamp_jsonata[NO_T]`: a timestamp that is not ISO-8601
    /// is an evaluation failure of the `Timestamp` field.
    #[test]
    fn a_timestamp_that_cannot_be_parsed_fails_its_field() {
        let definition = json!({"QueryLanguage": "JSONata", "StartAt": "WaitState", "States": {
            "WaitState": {"Type": "Wait", "Timestamp": "{% $states.input.TimestampValue %}", "End": true}}});
        let e = run(
            definition,
            json!({"TimestampValue": "2016-12-05 21:29:29Z"}),
            &Mocks::new(),
        );
        let Kind::EvaluationFailed {
            location, failure, ..
        } = &e.events[2].kind
        else {
            panic!("an EvaluationFailed event, not {:?}", e.events[2].kind);
        };
        assert_eq!(location.as_deref(), Some("Timestamp"));
        assert_eq!(failure.error, "States.QueryEvaluationError");
        assert_eq!(
            failure.cause,
            "An error occurred while executing the state 'WaitState' (entered at the event id #2). \
             The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05 21:29:29Z"
        );
        assert_eq!(e.failure.as_ref(), Some(failure));
    }

    /// `test_undefined_reference[BASE_UNDEFINED_ASSIGN]`: the event names the field.
    #[test]
    fn an_undefined_variable_fails_where_it_is_read() {
        let definition = json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {
            "State0": {"Type": "Pass", "Assign": {"result": "{% $doesNotExist %}"}, "End": true}}});
        let e = run(definition, json!({}), &Mocks::new());
        let Kind::EvaluationFailed {
            location, failure, ..
        } = &e.events[2].kind
        else {
            panic!("an EvaluationFailed event, not {:?}", e.events[2].kind);
        };
        assert_eq!(location.as_deref(), Some("Assign/result"));
        assert_eq!(failure.error, "States.QueryEvaluationError");
        assert_eq!(
            failure.cause,
            "An error occurred while executing the state 'State0' (entered at the event id #2). \
             The JSONata expression '$doesNotExist' specified for the field 'Assign/result' returned nothing (undefined)."
        );
    }

    /// A task's result is `$states.result`; variables are seen by later
    /// states; a catcher's `Output` reads `$states.errorOutput`; a Choice
    /// `Condition` is an expression.
    #[test]
    fn results_variables_error_output_and_conditions() {
        let definition = json!({"QueryLanguage": "JSONata", "StartAt": "Invoke", "States": {
            "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"Payload": "{% $states.input.n %}"},
                "Assign": {"doubled": "{% $states.result.Payload * 2 %}"},
                "Output": "{% $states.result.Payload %}", "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [
                {"Condition": "{% $doubled > 5 %}", "Next": "Fails"}], "Default": "Done"},
            "Fails": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done",
                    "Output": {"error": "{% $states.errorOutput.Error %}", "was": "{% $states.input %}"}}],
                "End": true},
            "Done": {"Type": "Succeed"}}});
        let mocks = Mocks::new()
            .state("Invoke", |call| {
                Response::ok(json!({"Payload": call.parameters["Payload"]}))
            })
            .state("Fails", |_| Response::throw("Boom", "it broke"));
        let e = run(definition.clone(), json!({"n": 3}), &mocks);
        assert_eq!(e.output, Some(json!({"error": "Boom", "was": 3})));
        assert_eq!(e.path(), ["Invoke", "Check", "Fails", "Done"]);
        let e = run(definition, json!({"n": 2}), &mocks);
        assert_eq!(e.output, Some(json!(2)));
        assert_eq!(e.path(), ["Invoke", "Check", "Done"]);
    }

    /// `test_map_state_items_eval_jsonata_fail[…]` and `[mixed]`: the
    /// template `MAP_STATE_ITEMS_LITERAL` with `Items` set to each
    /// expression, and the causes AWS recorded.
    #[test]
    fn items_that_are_not_an_array_fail_as_recorded() {
        let machine = |items: &str| {
            json!({"QueryLanguage": "JSONata", "StartAt": "MapIterateState", "States": {
                "MapIterateState": {"Type": "Map", "MaxConcurrency": 1,
                    "Items": format!("{{% {items} %}}"), "End": true,
                    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Pass",
                        "States": {"Pass": {"Type": "Pass", "End": true}}}}}})
        };
        let prefix = "An error occurred while executing the state 'MapIterateState' \
                      (entered at the event id #2). The JSONata expression";
        let unexpected = |kind: &str, value: &str| {
            format!(
                "specified for the field 'Items' returned an unexpected result type. \
                     Expected 'array', but was '{kind}' for value: {value}"
            )
        };
        let cases = [
            ("1", unexpected("number", "1")),
            ("'string'", unexpected("string", "\"string\"")),
            ("true", unexpected("boolean", "true")),
            ("{'foo': 'bar'}", unexpected("object", "{\"foo\":\"bar\"}")),
            ("null", unexpected("null", "null")),
            (
                "$fn := function($x){$x}",
                "specified for the field 'Items' returned an unsupported result type.".into(),
            ),
        ];
        for (items, cause) in cases {
            let e = run(machine(items), json!({}), &Mocks::new());
            let kinds: Vec<String> = e.events.iter().map(|e| e.kind.name()).collect();
            assert_eq!(
                kinds[2..4],
                ["EvaluationFailed", "MapStateFailed"],
                "{items}"
            );
            let failure = e.failure.expect("it fails");
            assert_eq!(failure.cause, format!("{prefix} '{items}' {cause}"));
        }
        let e = run(machine("[1, 'two', 3]"), json!({}), &Mocks::new());
        assert_eq!(e.output, Some(json!([1, "two", 3])));
    }

    /// `test_base_output_any_non_dict[LIST_RICH]`, `test_base_jsonata_regular_expressions`
    /// and `test_base_map[ITEMS]`: expressions anywhere in a list or
    /// object, the rest literal (even what looks like a path), as AWS answered.
    #[test]
    fn expressions_inside_lists_and_objects_and_regular_expressions() {
        let pass = |output: Value| {
            json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {
                "State0": {"Type": "Pass", "Output": output, "End": true}}})
        };
        let rich = json!([null, 0, 0.1, true, "string", [], "$nosuchvar", "$.no.such.path",
            "{% $states.input %}", {"key": "{% true %}"}]);
        let e = run(
            pass(rich),
            json!({"input_value": "stringliteral"}),
            &Mocks::new(),
        );
        assert_eq!(
            e.output,
            Some(
                json!([null, 0, 0.1, true, "string", [], "$nosuchvar", "$.no.such.path",
                {"input_value": "stringliteral"}, {"key": true}])
            )
        );
        let cases = [
            (r#"{% $contains("hello$world", /^hello\$/) %}"#, true),
            (r#"{% $contains("hello$world", /^hello\ /) %}"#, false),
            (r"{% $contains('hello$world', /^hello\$/) %}", true),
            (r"{% $contains('hello$world', /^hello\ /) %}", false),
        ];
        for (expression, answer) in cases {
            let e = run(pass(json!(expression)), json!({}), &Mocks::new());
            assert_eq!(
                e.output,
                Some(json!(answer)),
                "{expression}: {:?}",
                e.failure
            );
        }
        let map = json!({"QueryLanguage": "JSONata", "StartAt": "Start", "States": {
            "Start": {"Type": "Map", "Items": [1, "{% $number(\"2\") %}", 3], "End": true,
                "ItemProcessor": {"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}}}}});
        assert_eq!(
            run(map, json!({}), &Mocks::new()).output,
            Some(json!([1, 2, 3]))
        );
        // `test_merge_with_dynamic_args`: equal as JSON to AWS's answer,
        // though AWS writes `hello` first and ours come sorted.
        let merge = pass(json!(
            "{% $merge([$states.input.part1, $states.input.part2]) %}"
        ));
        let input = json!({"part1": {"hello": "world"}, "part2": {"foo": "bar"}});
        assert_eq!(
            run(merge, input, &Mocks::new()).output,
            Some(json!({"hello": "world", "foo": "bar"}))
        );
    }
}
