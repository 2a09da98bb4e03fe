//! JSONata mode: `{% %}` expressions evaluated by `jsonata-rs`, with
//! `$states` and the workflow variables bound, and failures worded as the
//! service words them (`States.QueryEvaluationError`).

use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as Ata};
use serde_json::{Map, Value};

use crate::Failure;
use crate::jsonata_library::argument_error;

pub(crate) const EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// What an expression can read: `$states.input`, `$states.result` (after a
/// task, Parallel or Map succeeded), `$states.errorOutput` (in a catcher),
/// `$states.context`, and the variables.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub input: &'a Value,
    pub result: Option<&'a Value>,
    pub error_output: Option<&'a Value>,
    pub context: &'a Value,
    pub variables: &'a Map<String, Value>,
    /// The state and the id of the event that entered it, which every
    /// cause names.
    pub state: &'a str,
    pub entered: usize,
    /// Seeds `$random()` and `$uuid()`.
    pub seed: u64,
}

/// The expression of a `{% … %}` string.
/// Only a string that starts and ends with the delimiters is one: AWS
/// takes `" {% states.input %} "` literally (`test_base_cases[BASE_LITERALS]`).
pub(crate) fn expression(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

/// `template` with every `{% %}` string evaluated; `field` is where it is
/// (`Output`, `Arguments/FunctionName`), as causes name it.
pub(crate) fn fill(template: &Value, field: &str, env: &Env<'_>) -> Result<Value, Failure> {
    Ok(match template {
        Value::String(text) => match expression(text) {
            Some(expr) => evaluate(expr, field, env)?,
            None => template.clone(),
        },
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, value) in fields {
                out.insert(key.clone(), fill(value, &format!("{field}/{key}"), env)?);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| fill(item, &format!("{field}[{i}]"), env))
                .collect::<Result<_, _>>()?,
        ),
        literal => literal.clone(),
    })
}

/// A service failure of the state, with the prefix every cause has.
pub(crate) fn failure(env: &Env<'_>, error: &str, cause: &str) -> Failure {
    Failure::new(
        error,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {cause}",
            env.state, env.entered
        ),
    )
}

/// One expression's value.
pub(crate) fn evaluate(expr: &str, field: &str, env: &Env<'_>) -> Result<Value, Failure> {
    let fail = |cause: String| {
        failure(
            env,
            EVALUATION_ERROR,
            &format!("The JSONata expression '{expr}' specified for the field '{field}' {cause}"),
        )
    };
    let deterministic = deterministic(expr, env);
    // jsonata-rs panics on the parts of JSONata it does not implement (the
    // parent operator `%`, some binding operators): a States.Runtime that
    // says so, not a crash and not a made-up value.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_expression(&deterministic, env)
    }));
    match outcome {
        Ok(Ok(Some(value))) => Ok(value),
        Ok(Ok(None)) => Err(fail("returned an unsupported result type.".into())),
        Ok(Err(Evaluation::Undefined)) => Err(fail("returned nothing (undefined).".into())),
        Ok(Err(Evaluation::Error(message))) => {
            Err(fail(format!("threw an error during evaluation. {message}")))
        }
        Err(_) => Err(failure(
            env,
            "States.Runtime",
            &format!(
                "The JSONata expression '{expr}' specified for the field '{field}' uses a part of \
                 JSONata the simulator's evaluator (jsonata-rs) does not implement"
            ),
        )),
    }
}

/// Why an expression has no value.
enum Evaluation {
    Undefined,
    Error(String),
}

/// The expression's value, `None` for a function (which is no JSON).
fn run_expression(expr: &str, env: &Env<'_>) -> Result<Option<Value>, Evaluation> {
    let arena = Bump::new();
    let error = |e: jsonata_rs::Error| Evaluation::Error(message(&e));
    let ata = JsonAta::new(expr, &arena).map_err(error)?;
    bind(&ata, &arena, env);
    let value = ata.evaluate(None, None).map_err(error)?;
    if value.is_undefined() {
        return Err(Evaluation::Undefined);
    }
    if value.is_function() {
        return Ok(None);
    }
    let mut sources = vec![env.input];
    sources.extend(env.result);
    sources.extend(env.error_output);
    sources.push(env.context);
    sources.extend(env.variables.values());
    let order = crate::jsonata_order::KeyOrder::new(expr, sources);
    Ok(from_ata(value).map(|v| order.apply(v)))
}

/// `T1006: Attempted to invoke a non-function`, as the service quotes
/// JSONata's errors: jsonata-rs writes `T1006 @ 12: …`.
fn message(error: &jsonata_rs::Error) -> String {
    let text = error.to_string();
    match text.split_once(": ") {
        Some((_, rest)) => format!("{}: {rest}", error.code()),
        None => text,
    }
}

fn bind<'a>(ata: &JsonAta<'a>, arena: &'a Bump, env: &Env<'_>) {
    let states = Ata::object_with_capacity(arena, 4);
    states.insert("input", to_ata(arena, env.input));
    states.insert("context", to_ata(arena, env.context));
    if let Some(result) = env.result {
        states.insert("result", to_ata(arena, result));
    }
    if let Some(error) = env.error_output {
        states.insert("errorOutput", to_ata(arena, error));
    }
    ata.assign_var("states", states);
    for (name, value) in env.variables {
        ata.assign_var(name, to_ata(arena, value));
    }
    ata.register_function("partition", 2, partition);
    ata.register_function("range", 3, range);
    ata.register_function("parse", 1, parse);
    ata.register_function("hash", 2, hash);
    ata.register_function("seededRandom", 1, seeded_random);
    crate::jsonata_library::register(ata, env.seed);
}

/// The functions that read the clock or draw random numbers, as literals:
/// jsonata-rs's own read the host's clock and random source (and cannot be
/// replaced: it binds them last), while an execution must be the same for
/// the same seed. `$now()` and `$millis()` are the state's entry time.
/// AWS's `$random(seed)` becomes a call of the simulator's own, which gives
/// the same number for the same seed.
fn deterministic<'e>(expr: &'e str, env: &Env<'_>) -> std::borrow::Cow<'e, str> {
    const CALLS: [&str; 5] = ["$now()", "$millis()", "$random()", "$random(", "$uuid()"];
    if !CALLS.iter().any(|call| expr.contains(call)) {
        return expr.into();
    }
    let entered = env.context["State"]["EnteredTime"]
        .as_str()
        .and_then(crate::time::parse)
        .unwrap_or_default();
    let mut state = env.seed;
    let mut random = move || crate::run::splitmix(&mut state);
    let (mut out, mut rest, mut quote) = (String::with_capacity(expr.len()), expr, None);
    while let Some(c) = rest.chars().next() {
        let call = CALLS.iter().find(|call| rest.starts_with(**call));
        match (quote, call) {
            (None, Some(call)) => {
                out.push_str(&match *call {
                    "$now()" => format!("'{}'", crate::time::format(entered)),
                    "$millis()" => entered.to_string(),
                    "$random()" => format!("{}", crate::run::unit(random())),
                    "$random(" => "$seededRandom(".to_owned(),
                    _ => match crate::intrinsics::uuid(&[], &mut random) {
                        Ok(Value::String(id)) => format!("'{id}'"),
                        _ => "''".into(),
                    },
                });
                rest = &rest[call.len()..];
                continue;
            }
            (None, None) if c == '\'' || c == '"' => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            _ => {}
        }
        // An escaped quote inside a string does not end it.
        let skip = if quote.is_some() && c == '\\' { 2 } else { 1 };
        let taken: usize = rest.chars().take(skip).map(char::len_utf8).sum();
        out.push_str(&rest[..taken]);
        rest = &rest[taken..];
    }
    out.into()
}

fn to_ata<'a>(arena: &'a Bump, value: &Value) -> &'a Ata<'a> {
    match value {
        Value::Null => Ata::null(arena),
        Value::Bool(b) => Ata::bool(*b),
        Value::Number(n) => Ata::number(arena, n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Ata::string(arena, s),
        Value::Array(items) => {
            let array = Ata::array_with_capacity(arena, items.len(), ArrayFlags::empty());
            for item in items {
                array.push(to_ata(arena, item));
            }
            array
        }
        Value::Object(fields) => {
            let object = Ata::object_with_capacity(arena, fields.len());
            for (key, field) in fields {
                object.insert(key, to_ata(arena, field));
            }
            object
        }
    }
}

/// Back to JSON through jsonata-rs's own serializer, which writes numbers
/// as JavaScript does (`3`, not `3.0`). jsonata-rs keeps objects in hash
/// maps seeded per process, so their keys come back in an order that
/// differs from run to run: `jsonata_order` (or `sorted`) orders them.
fn from_ata<'a>(value: &'a Ata<'a>) -> Option<Value> {
    serde_json::from_str(&value.serialize(false)).ok()
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
            fields.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(fields.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// AWS's `$partition(array, size)`: the array in chunks of `size`.
fn partition<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
) -> jsonata_rs::Result<&'a Ata<'a>> {
    let (Some(array), Some(size)) = (args.first(), args.get(1)) else {
        return Err(argument_error(&ctx, 1));
    };
    let size = size.as_f64();
    if !array.is_array() || !size.is_finite() || size < 1.0 {
        return Err(argument_error(&ctx, 2));
    }
    let members: Vec<&Ata<'a>> = array.members().collect();
    let out = Ata::array_with_capacity(ctx.arena, members.len(), ArrayFlags::empty());
    for chunk in members.chunks(size as usize) {
        let part = Ata::array_with_capacity(ctx.arena, chunk.len(), ArrayFlags::empty());
        chunk.iter().for_each(|m| part.push(m));
        out.push(part);
    }
    Ok(out)
}

/// AWS's `$range(start, end, step)`: like `States.ArrayRange`, end included.
fn range<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
) -> jsonata_rs::Result<&'a Ata<'a>> {
    let number = |i: usize| args.get(i).map(|v| v.as_f64()).filter(|n| n.is_finite());
    let (Some(start), Some(end), Some(step)) = (number(0), number(1), number(2)) else {
        return Err(argument_error(&ctx, 1));
    };
    if step == 0.0 {
        return Err(argument_error(&ctx, 3));
    }
    let out = Ata::array(ctx.arena, ArrayFlags::empty());
    let mut at = start;
    while (step > 0.0 && at <= end) || (step < 0.0 && at >= end) {
        out.push(Ata::number(ctx.arena, at));
        at += step;
    }
    // A JSONata sequence of one is its member: AWS gives `$range(1, 9, 9)`
    // as `1` (`test_array_range`).
    if out.len() == 1 {
        return Ok(out.get_member(0));
    }
    Ok(out)
}

/// AWS's `$hash(data, algorithm)`: as `States.Hash`.
fn hash<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> jsonata_rs::Result<&'a Ata<'a>> {
    let values: Option<Vec<Value>> = args.iter().map(|v| from_ata(v).map(sorted)).collect();
    match values.as_deref().map(crate::intrinsics::hash) {
        Some(Ok(digest)) if values.as_ref().is_some_and(|v| v.len() == 2) => {
            Ok(to_ata(ctx.arena, &digest))
        }
        _ => Err(argument_error(&ctx, 1)),
    }
}

/// AWS's `$random(seed)`: a number in [0, 1), the same for the same
/// integer seed. (No recording holds one, so the number is the simulator's
/// own: splitmix64 of the seed.)
fn seeded_random<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
) -> jsonata_rs::Result<&'a Ata<'a>> {
    let seed = args
        .first()
        .filter(|s| s.is_integer())
        .ok_or_else(|| argument_error(&ctx, 1))?
        .as_f64() as i64;
    let mut state = seed as u64;
    let number = crate::run::unit(crate::run::splitmix(&mut state));
    Ok(Ata::number(ctx.arena, number))
}

/// AWS's `$parse(text)`: JSON text to its value.
fn parse<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
) -> jsonata_rs::Result<&'a Ata<'a>> {
    let parsed = args
        .first()
        .filter(|v| v.is_string())
        .and_then(|v| serde_json::from_str::<Value>(&v.as_str()).ok())
        .ok_or_else(|| argument_error(&ctx, 1))?;
    Ok(to_ata(ctx.arena, &parsed))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{Env, evaluate, expression};

    fn eval(expr: &str, input: Value) -> Result<Value, String> {
        let (context, variables) = (json!({}), Map::new());
        let env = Env {
            input: &input,
            result: None,
            error_output: None,
            context: &context,
            variables: &variables,
            state: "State0",
            entered: 2,
            seed: 0,
        };
        evaluate(expr, "Output", &env).map_err(|f| f.cause)
    }

    #[test]
    fn an_expression_is_what_the_delimiters_hold() {
        assert_eq!(expression("{% $states.input %}"), Some("$states.input"));
        assert_eq!(expression("$states.input"), None);
        assert_eq!(expression(" {% states.input %} "), None);
    }

    /// `test_base_jsonata_functions`-style values: numbers come back as
    /// JavaScript writes them.
    #[test]
    fn the_input_and_the_aws_functions_are_bound() {
        assert_eq!(eval("$states.input.a + 1", json!({"a": 2})), Ok(json!(3)));
        assert_eq!(
            eval("$partition([1,2,3,4,5], 2)", json!({})),
            Ok(json!([[1, 2], [3, 4], [5]]))
        );
        // `test_array_range`, as AWS answered.
        assert_eq!(eval("$range(0, 9, 3)", json!({})), Ok(json!([0, 3, 6, 9])));
        assert_eq!(eval("$range(0, 10, 3)", json!({})), Ok(json!([0, 3, 6, 9])));
        assert_eq!(eval("$range(1, 9, 9)", json!({})), Ok(json!(1)));
        assert_eq!(
            eval("$parse('{\"a\": [1]}')", json!({})),
            Ok(json!({"a": [1]}))
        );
    }

    /// The standard functions jsonata-rs lacks, with the JSONata
    /// documentation's examples.
    #[test]
    fn the_missing_standard_functions_are_added() {
        let cases = [
            ("$average([1, 2, 3, 4])", json!(2.5)),
            ("$average(5)", json!(5)),
            (
                "[$type(null), $type(1), $type('a'), $type(true), $type([]), $type({}), $type($sum)]",
                json!([
                    "null", "number", "string", "boolean", "array", "object", "function"
                ]),
            ),
            ("$formatBase(100, 2)", json!("1100100")),
            ("$formatBase(2555, 16)", json!("9fb")),
            ("$formatBase(-100, 2)", json!("-1100100")),
            ("$formatBase(99.5)", json!("100")),
            ("$encodeUrlComponent('?x=test')", json!("%3Fx%3Dtest")),
            (
                "$encodeUrl('https://mozilla.org/?x=шеллы')",
                json!("https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B"),
            ),
            ("$decodeUrlComponent('%3Fx%3Dtest')", json!("?x=test")),
            (
                "$decodeUrl('https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B')",
                json!("https://mozilla.org/?x=шеллы"),
            ),
            ("$decodeUrl('a%3Fb%20c')", json!("a%3Fb c")),
            ("$spread({'b': 2, 'a': 1})", json!([{"a": 1}, {"b": 2}])),
            (
                "$sift({'a': 1, 'b': 2, 'c': 3}, function($v) { $v > 1 })",
                json!({"b": 2, "c": 3}),
            ),
            (
                "$sift({'a': 1, 'bb': 2}, function($v, $k) { $length($k) = 2 })",
                json!({"bb": 2}),
            ),
            ("$sort($shuffle([1, 2, 3, 4, 5]))", json!([1, 2, 3, 4, 5])),
        ];
        for (expr, expected) in cases {
            assert_eq!(eval(expr, json!({})), Ok(expected), "{expr}");
        }
        assert!(
            eval("$average([])", json!({})).is_err(),
            "no numbers, no mean"
        );
        assert!(eval("$decodeUrlComponent('%E0%A4%A')", json!({})).is_err());
        assert!(eval("$formatBase(10, 40)", json!({})).is_err());
        let shuffled = eval("$shuffle([1, 2, 3, 4, 5, 6, 7, 8])", json!({}));
        assert_eq!(
            shuffled,
            eval("$shuffle([1, 2, 3, 4, 5, 6, 7, 8])", json!({}))
        );
    }

    /// What reads the clock or draws is the same on every run.
    #[test]
    fn the_clock_and_random_functions_are_deterministic() {
        let uuid = eval("$uuid()", json!({}));
        assert_eq!(uuid, eval("$uuid()", json!({})));
        let id = uuid.expect("a uuid");
        assert_eq!(id.as_str().map(str::len), Some(36), "{id}");
        assert_eq!(eval("$random() < 1", json!({})), Ok(json!(true)));
        let seeded = eval("$random(7)", json!({}));
        assert_eq!(seeded, eval("$random( 7 )".trim(), json!({})));
        assert_ne!(seeded, eval("$random(8)", json!({})));
        assert!(eval("$random('seven')", json!({})).is_err());
        assert_eq!(eval("'$uuid()'", json!({})), Ok(json!("$uuid()")));
        // States.Hash's answer for the same input (test_hash_calculations).
        assert_eq!(
            eval("$hash('input data', 'SHA-1')", json!({})),
            Ok(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
    }

    /// What jsonata-rs does not implement fails the state instead of
    /// crashing the simulator.
    #[test]
    fn an_unimplemented_part_of_jsonata_is_a_runtime_failure() {
        let cause = eval("$states.input.a.%", json!({"a": {"b": 1}})).expect_err("it fails");
        assert!(cause.ends_with("does not implement"), "{cause}");
    }

    /// Objects from an expression keep the order AWS gives their keys: an
    /// object passed through keeps its own, one built keeps the written one.
    #[test]
    fn objects_come_back_with_their_keys_in_aws_order() {
        let text =
            |expr: &str| eval(expr, json!({"b": 1, "a": {"d": 2, "c": 3}})).map(|v| v.to_string());
        assert_eq!(
            text("$states.input").as_deref(),
            Ok(r#"{"b":1,"a":{"d":2,"c":3}}"#)
        );
        assert_eq!(
            text(r#"{"theQuestion": $states.input.b, "theAnswer": 42}"#).as_deref(),
            Ok(r#"{"theQuestion":1,"theAnswer":42}"#)
        );
    }

    /// `test_error_output`: the service's wording of an undefined result.
    #[test]
    fn an_undefined_result_is_an_evaluation_error() {
        assert_eq!(
            eval("$doesNotExist", json!({})),
            Err("An error occurred while executing the state 'State0' (entered at the event id #2). \
                 The JSONata expression '$doesNotExist' specified for the field 'Output' returned nothing (undefined)."
                .into())
        );
    }

    /// Expectations from the JSONata test suite's groups for these
    /// functions (function-formatNumber, -formatInteger, -parseInteger,
    /// -spread, -sift, -average).
    #[test]
    fn the_format_functions_agree_with_jsonata() {
        let cases = [
            ("$formatNumber(12345.6, '#,###.00')", json!("12,345.60")),
            (
                "$formatNumber(123412345678.9, '9,9,99.99')",
                json!("123412345,6,78.90"),
            ),
            (
                "$formatNumber(1234.56789, '9,999.999,999')",
                json!("1,234.567,890"),
            ),
            ("$formatNumber(123.9, '9999')", json!("0124")),
            ("$formatNumber(0.14, '01%')", json!("14%")),
            (
                "$formatNumber(0.14, '###pm', {'per-mille': 'pm'})",
                json!("140pm"),
            ),
            ("$formatNumber(-6, '000')", json!("-006")),
            (
                "$formatNumber(1234.5678, '00.000e000')",
                json!("12.346e002"),
            ),
            ("$formatNumber(0.234, '0.0e0')", json!("2.3e-1")),
            ("$formatNumber(0.123, '#.e9')", json!("0.1e0")),
            ("$formatNumber(-42, '0e0')", json!("-4e1")),
            (
                "$formatNumber(2392.14*(-36.58), '000,000.000###;###,###.000###')",
                json!("87,504.4812"),
            ),
            (
                "$formatNumber(2.14*86.58, 'PREFIX##00.000###SUFFIX')",
                json!("PREFIX185.2812SUFFIX"),
            ),
            (
                "$formatNumber(1E20, '#,######')",
                json!("100,000000,000000,000000"),
            ),
            (
                "$formatNumber(0.1, 'AeAAA', {'zero-digit': 'A'})",
                json!("Be-AAB"),
            ),
            ("$formatNumber(34.555, '#0.00;(#0.00)')", json!("34.56")),
            ("$formatInteger(-3, '0000')", json!("-0003")),
            ("$formatInteger(12.6, '###0')", json!("12")),
            ("$formatInteger(123, '000;o')", json!("123rd")),
            ("$formatInteger(12340, '###０')", json!("１２３４０")),
            (
                "$formatInteger(1234567890, '#:###,##0')",
                json!("1234:567,890"),
            ),
            (
                "$formatInteger(1234567890, '#,###,##0')",
                json!("1,234,567,890"),
            ),
            ("$formatInteger(1984, 'I')", json!("MCMLXXXIV")),
            ("$formatInteger(123456, 'A')", json!("FZPH")),
            (
                "$formatInteger(555, 'Ww')",
                json!("Five Hundred and Fifty-Five"),
            ),
            (
                "$formatInteger(4327732, 'w;o')",
                json!(
                    "four million, three hundred and twenty-seven thousand, seven hundred and thirty-second"
                ),
            ),
            (
                "$formatInteger(1e46, 'w')",
                json!("ten billion trillion trillion trillion"),
            ),
            (
                "$parseInteger('12345,67,890', '##,##,##0')",
                json!(1234567890),
            ),
            ("$parseInteger('28th', '#0;o')", json!(28)),
            ("$parseInteger('xcix', 'i')", json!(99)),
            (
                "$parseInteger('Seven Hundred and Thirty-Third', 'Ww;o')",
                json!(733),
            ),
            (
                "$parseInteger('one trillion and first', 'w;o')",
                json!(1000000000001_u64),
            ),
            ("$spread([{'a': 1}])", json!([{"a": 1}])),
            ("$string($spread(function($x){$x*$x}))", json!("")),
            (
                "$sift({'a': 'hello', 'b': 'world', 'hello': 'again'}, λ($v,$k,$o){$lookup($o, $v)})",
                json!({"a": "hello"}),
            ),
            ("$formatBase(99.5, 2.5)", json!("1100100")),
        ];
        for (expr, expected) in cases {
            assert_eq!(eval(expr, json!({})), Ok(expected), "{expr}");
        }
        // The suite's picture errors (D3080–D3093, D3130, D3131) and
        // $average's T0412, as far as jsonata-rs has codes for them.
        for (expr, code) in [
            ("$formatNumber(20, '#;#;#')", "T0410"),
            ("$formatNumber(20, '#0.#0e0')", "T0410"),
            ("$formatNumber(42, '---')", "T0410"),
            ("$formatInteger(12340, '##0０')", "T0410"),
            ("$parseInteger('50', '#')", "T0410"),
            ("$average(['1', '2', 3])", "T0412"),
            ("$average([1], [])", "T0410"),
        ] {
            let cause = eval(expr, json!({})).expect_err(expr);
            assert!(
                cause.contains(&format!("evaluation. {code}:")),
                "{expr}: {cause}"
            );
        }
        assert_eq!(
            eval(
                "$states.input.n.$formatNumber('#0.0')",
                json!({"n": [1.25, 2.35]})
            ),
            Ok(json!(["1.2", "2.4"]))
        );
    }
}
