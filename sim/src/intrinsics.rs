//! Intrinsic functions evaluated: `States.Format('{}', $.a)` and the rest.
//!
//! A call is parsed whole first, then evaluated inside out: arguments left
//! to right, paths through the caller's reader. Where the documentation is
//! silent, behaviour follows what the service itself returned in
//! LocalStack's AWS-recorded snapshots; the tests quote those responses.

use std::fmt::Display;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Md5;
use serde_json::{Map, Number, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::Failure;

/// Evaluates the intrinsic call `call`; `path` reads a path argument and
/// `random` gives the entropy `States.MathRandom` and `States.UUID` use.
pub fn evaluate(
    call: &str,
    path: &dyn Fn(&str) -> Result<Value, Failure>,
    random: &mut dyn FnMut() -> u64,
) -> Result<Value, Failure> {
    let expression = parse(call)?;
    Evaluator { path, random }.value(&expression)
}

// ---- the call's text ------------------------------------------------------

/// The call or one of its arguments, as written.
#[derive(Debug)]
enum Expr<'a> {
    /// A quoted string with its escapes still in place, so that
    /// `States.Format` can tell a placeholder `{}` from an escaped `\{\}`.
    Text(&'a str),
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    Path(&'a str),
    Call {
        name: &'a str,
        args: Vec<Expr<'a>>,
    },
}

fn parse(call: &str) -> Result<Expr<'_>, Failure> {
    let mut parser = Parser { rest: call.trim() };
    let reason = match parser.call() {
        Ok(expression) if parser.rest.trim().is_empty() => return Ok(expression),
        Ok(_) => format!("`{}` follows the call", parser.rest.trim()),
        Err(reason) => reason,
    };
    Err(Failure::intrinsic(format!(
        "Invalid intrinsic function call '{call}': {reason}"
    )))
}

struct Parser<'a> {
    rest: &'a str,
}

impl<'a> Parser<'a> {
    fn call(&mut self) -> Result<Expr<'a>, String> {
        let after = self
            .rest
            .strip_prefix("States.")
            .ok_or("a call starts with `States.`")?;
        let name_len = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        let name = &after[..name_len];
        self.rest = after[name_len..]
            .strip_prefix('(')
            .ok_or_else(|| format!("`States.{name}` needs `(` after its name"))?;
        let args = self.args(name)?;
        Ok(Expr::Call { name, args })
    }

    fn args(&mut self, name: &str) -> Result<Vec<Expr<'a>>, String> {
        let mut args = Vec::new();
        self.skip_spaces();
        if let Some(rest) = self.rest.strip_prefix(')') {
            self.rest = rest;
            return Ok(args);
        }
        loop {
            args.push(self.arg()?);
            self.skip_spaces();
            let mut chars = self.rest.chars();
            match chars.next() {
                Some(',') => self.rest = chars.as_str(),
                Some(')') => {
                    self.rest = chars.as_str();
                    return Ok(args);
                }
                _ => return Err(format!("`States.{name}(` is not closed with `)`")),
            }
        }
    }

    fn arg(&mut self) -> Result<Expr<'a>, String> {
        self.skip_spaces();
        if self.rest.starts_with('\'') {
            return self.text();
        }
        if self.rest.starts_with("States.") {
            return self.call();
        }
        match self.bare() {
            "" => Err("an argument is missing".into()),
            "true" => Ok(Expr::Literal(Value::Bool(true))),
            "false" => Ok(Expr::Literal(Value::Bool(false))),
            "null" => Ok(Expr::Literal(Value::Null)),
            path if path.starts_with('$') => Ok(Expr::Path(path)),
            token => number(token).map(Expr::Literal).ok_or_else(|| {
                format!(
                    "`{token}` is neither a path, a number, `true`, `false`, `null` nor a quoted string"
                )
            }),
        }
    }

    /// A single-quoted string, where `\` escapes only `'`, `{`, `}` and `\`.
    fn text(&mut self) -> Result<Expr<'a>, String> {
        let body = &self.rest[1..];
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.rest = &body[i + 1..];
                    return Ok(Expr::Text(&body[..i]));
                }
                '\\' => match chars.next() {
                    Some((_, '\'' | '{' | '}' | '\\')) => {}
                    Some((_, other)) => {
                        return Err(format!(
                            "`\\{other}` is not an escape: in a string only `\\'`, `\\{{`, `\\}}` and `\\\\` are"
                        ));
                    }
                    None => break,
                },
                _ => {}
            }
        }
        Err("a string is not closed with `'`".into())
    }

    /// A path or a literal: up to the next `,` or `)` that is outside
    /// brackets, parentheses and quotes, as a path's subscripts and filters
    /// (`$['a,b']`, `$[?(@.n > 1)]`) may hold both.
    fn bare(&mut self) -> &'a str {
        let mut depth = 0usize;
        let mut quote = None;
        let end = self
            .rest
            .char_indices()
            .find(|&(_, c)| {
                match (quote, c) {
                    (Some(open), _) if c == open => quote = None,
                    (Some(_), _) => {}
                    (None, ',' | ')') if depth == 0 => return true,
                    (None, '\'' | '"') if depth > 0 => quote = Some(c),
                    (None, '[' | '(') => depth += 1,
                    (None, ']' | ')') => depth = depth.saturating_sub(1),
                    _ => {}
                }
                false
            })
            .map_or(self.rest.len(), |(i, _)| i);
        let token = self.rest[..end].trim_end();
        self.rest = &self.rest[end..];
        token
    }

    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start();
    }
}

/// A number literal; integers stay integers so that `States.Array(1)`
/// gives `[1]`, not `[1.0]`.
fn number(token: &str) -> Option<Value> {
    if let Ok(integer) = token.parse::<i64>() {
        return Some(integer.into());
    }
    if let Ok(integer) = token.parse::<u64>() {
        return Some(integer.into());
    }
    Number::from_f64(token.parse::<f64>().ok()?).map(Value::Number)
}

/// The value of a quoted string's text.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

// ---- evaluation -----------------------------------------------------------

struct Evaluator<'a> {
    path: &'a dyn Fn(&str) -> Result<Value, Failure>,
    random: &'a mut dyn FnMut() -> u64,
}

impl Evaluator<'_> {
    fn value(&mut self, expression: &Expr<'_>) -> Result<Value, Failure> {
        match expression {
            Expr::Text(raw) => Ok(Value::String(unescape(raw))),
            Expr::Literal(value) => Ok(value.clone()),
            Expr::Path(path) => (self.path)(path),
            Expr::Call { name, args } => self.call(name, args),
        }
    }

    fn call(&mut self, name: &str, args: &[Expr<'_>]) -> Result<Value, Failure> {
        let function = FUNCTIONS
            .iter()
            .find(|function| function.name == name)
            .ok_or_else(|| Failure::intrinsic(format!("There is no function States.{name}")))?;
        function.check_arity(args.len())?;
        let values = args
            .iter()
            .map(|arg| self.value(arg))
            .collect::<Result<Vec<_>, _>>()?;
        match function.body {
            Body::Pure(body) => body(&values),
            Body::Random(body) => body(&values, &mut *self.random),
            Body::Format => match &args[0] {
                Expr::Text(raw) => format(raw, true, &values[1..]),
                _ => format(
                    string("Format", "the template", &values[0])?,
                    false,
                    &values[1..],
                ),
            },
        }
    }
}

type Pure = fn(&[Value]) -> Result<Value, Failure>;
type Random = fn(&[Value], &mut dyn FnMut() -> u64) -> Result<Value, Failure>;

enum Body {
    Pure(Pure),
    Random(Random),
    /// `States.Format` reads its template before escapes are applied.
    Format,
}

/// A function and its arity; a body indexes its arguments freely because
/// [`Function::check_arity`] has already run.
struct Function {
    name: &'static str,
    min: usize,
    max: Option<usize>,
    body: Body,
}

impl Function {
    fn check_arity(&self, count: usize) -> Result<(), Failure> {
        if count >= self.min && self.max.is_none_or(|max| count <= max) {
            return Ok(());
        }
        let wanted = match self.max {
            Some(max) if max == self.min => format!("{max}"),
            Some(max) => format!("{} to {max}", self.min),
            None => format!("at least {}", self.min),
        };
        Err(Failure::intrinsic(format!(
            "States.{} takes {wanted} arguments, not {count}",
            self.name
        )))
    }
}

const fn pure(name: &'static str, min: usize, max: usize, body: Pure) -> Function {
    Function {
        name,
        min,
        max: Some(max),
        body: Body::Pure(body),
    }
}

/// Every function the service has (the same list as `asl`'s checker).
const FUNCTIONS: &[Function] = &[
    Function {
        name: "Format",
        min: 1,
        max: None,
        body: Body::Format,
    },
    pure("StringToJson", 1, 1, string_to_json),
    pure("JsonToString", 1, 1, json_to_string),
    Function {
        name: "Array",
        min: 0,
        max: None,
        body: Body::Pure(array_of),
    },
    pure("ArrayPartition", 2, 2, array_partition),
    pure("ArrayContains", 2, 2, array_contains),
    pure("ArrayRange", 3, 3, array_range),
    pure("ArrayGetItem", 2, 2, array_get_item),
    pure("ArrayLength", 1, 1, array_length),
    pure("ArrayUnique", 1, 1, array_unique),
    pure("Base64Encode", 1, 1, base64_encode),
    pure("Base64Decode", 1, 1, base64_decode),
    pure("Hash", 2, 2, hash),
    pure("JsonMerge", 3, 3, json_merge),
    Function {
        name: "MathRandom",
        min: 2,
        max: Some(3),
        body: Body::Random(math_random),
    },
    pure("MathAdd", 2, 2, math_add),
    pure("StringSplit", 2, 2, string_split),
    Function {
        name: "UUID",
        min: 0,
        max: Some(0),
        body: Body::Random(uuid),
    },
];

// ---- argument checks ------------------------------------------------------

fn invalid(function: &str, problem: impl Display) -> Failure {
    Failure::intrinsic(format!("Invalid arguments in States.{function}: {problem}"))
}

/// `value` for a message: its kind and (the start of) its JSON text.
fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null".into(),
        Value::Bool(_) => "the boolean",
        Value::Number(_) => "the number",
        Value::String(_) => "the string",
        Value::Array(_) => "the array",
        Value::Object(_) => "the object",
    };
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{kind} {}...", &text[..cut]),
        None => format!("{kind} {text}"),
    }
}

fn wrong_type(function: &str, what: &str, wanted: &str, value: &Value) -> Failure {
    invalid(
        function,
        format!("{what} must be {wanted}, not {}", describe(value)),
    )
}

fn string<'v>(function: &str, what: &str, value: &'v Value) -> Result<&'v str, Failure> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(function, what, "a string", value))
}

fn array<'v>(function: &str, what: &str, value: &'v Value) -> Result<&'v [Value], Failure> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| wrong_type(function, what, "an array", value))
}

fn object<'v>(
    function: &str,
    what: &str,
    value: &'v Value,
) -> Result<&'v Map<String, Value>, Failure> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(function, what, "a JSON object", value))
}

/// A number argument as an integer: the service rounds a non-integer to
/// the nearest one, halves up (Java's `Math.round`: 2.5 gives 3, -2.5
/// gives -2), as its recorded `States.MathAdd` results show.
fn integer(function: &str, what: &str, value: &Value) -> Result<i64, Failure> {
    let Value::Number(number) = value else {
        return Err(wrong_type(function, what, "a number", value));
    };
    if let Some(integer) = number.as_i64() {
        return Ok(integer);
    }
    let x = number.as_f64().unwrap_or(f64::NAN);
    let floor = x.floor();
    let rounded = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    // `i64::MAX as f64` rounds up to 2^63, which no i64 holds.
    if rounded >= i64::MIN as f64 && rounded < i64::MAX as f64 {
        Ok(rounded as i64)
    } else {
        Err(invalid(function, format!("{what} {x} is out of range")))
    }
}

/// Text for the functions whose input the service caps at 10,000
/// characters.
fn limited<'v>(function: &str, what: &str, value: &'v Value) -> Result<&'v str, Failure> {
    const MAX_CHARS: usize = 10_000;
    let text = string(function, what, value)?;
    let count = text.chars().count();
    if count > MAX_CHARS {
        return Err(invalid(
            function,
            format!("{what} has {count} characters; at most {MAX_CHARS} are allowed"),
        ));
    }
    Ok(text)
}

/// JSON equality where numbers compare by value, so `1` and `1.0` are one
/// item to `States.ArrayContains` and `States.ArrayUnique`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || ((x.is_f64() || y.is_f64()) && x.as_f64() == y.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

// ---- the functions --------------------------------------------------------

/// `States.Format`: each `{}` takes the next argument. An escaped template
/// (a string literal) keeps `\{` and `\}` as literal braces.
fn format(template: &str, escaped: bool, args: &[Value]) -> Result<Value, Failure> {
    let mut out = String::with_capacity(template.len());
    let mut rest = args.iter();
    let mut placeholders = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escaped => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                placeholders += 1;
                if let Some(arg) = rest.next() {
                    display(arg, &mut out);
                }
            }
            _ => out.push(c),
        }
    }
    if placeholders != args.len() {
        return Err(invalid(
            "Format",
            format!(
                "the template has {placeholders} placeholders but {} arguments follow it",
                args.len()
            ),
        ));
    }
    Ok(Value::String(out))
}

/// An argument as `States.Format` writes it: strings raw, and arrays and
/// objects the way Java prints its collections (`{Arg1=1, Arg2=[]}`, as
/// the service returned for `{"Arg1": 1, "Arg2": []}`), not as JSON.
fn display(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                display(item, out);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (key, field)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                display(field, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `States.StringToJson`: an empty or blank string gives `null`, as the
/// service returns.
fn string_to_json(args: &[Value]) -> Result<Value, Failure> {
    let text = string("StringToJson", "the argument", &args[0])?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text)
        .map(integer_zero)
        .map_err(|error| invalid("StringToJson", format!("'{text}' is not JSON: {error}")))
}

/// serde_json reads `-0` as the float -0.0; the service reads it as the
/// integer 0. (`-0.0` becomes 0 too: the parsed value keeps no trace of
/// which was written.)
fn integer_zero(value: Value) -> Value {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|x| x == 0.0 && x.is_sign_negative()) => {
            Value::from(0)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(integer_zero).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, field)| (key, integer_zero(field)))
                .collect(),
        ),
        other => other,
    }
}

/// `States.JsonToString`: compact JSON, as the service writes it.
fn json_to_string(args: &[Value]) -> Result<Value, Failure> {
    Ok(Value::String(args[0].to_string()))
}

/// `States.Array`: its arguments, in order.
fn array_of(args: &[Value]) -> Result<Value, Failure> {
    Ok(Value::Array(args.to_vec()))
}

fn array_partition(args: &[Value]) -> Result<Value, Failure> {
    let items = array("ArrayPartition", "the first argument", &args[0])?;
    let size = integer("ArrayPartition", "the chunk size", &args[1])?;
    let size = usize::try_from(size)
        .ok()
        .filter(|&size| size > 0)
        .ok_or_else(|| {
            invalid(
                "ArrayPartition",
                format!("the chunk size must be a non-zero, positive integer, not {size}"),
            )
        })?;
    let chunks = items.chunks(size).map(|chunk| Value::Array(chunk.to_vec()));
    Ok(Value::Array(chunks.collect()))
}

fn array_contains(args: &[Value]) -> Result<Value, Failure> {
    let items = array("ArrayContains", "the first argument", &args[0])?;
    Ok(Value::Bool(items.iter().any(|item| same(item, &args[1]))))
}

/// `States.ArrayRange(first, last, step)`: `last` is included when a step
/// lands on it; a negative step counts down.
fn array_range(args: &[Value]) -> Result<Value, Failure> {
    const MAX_ITEMS: i128 = 1000;
    let first = integer("ArrayRange", "the first element", &args[0])?;
    let last = integer("ArrayRange", "the final element", &args[1])?;
    let step = integer("ArrayRange", "the step", &args[2])?;
    if step == 0 {
        return Err(invalid("ArrayRange", "the step must not be 0"));
    }
    let distance = i128::from(last) - i128::from(first);
    let count = if distance.signum() == -i128::from(step.signum()) {
        0
    } else {
        distance / i128::from(step) + 1
    };
    if count > MAX_ITEMS {
        return Err(invalid(
            "ArrayRange",
            format!("the range has {count} items; at most {MAX_ITEMS} are allowed"),
        ));
    }
    let items = (0..count).map(|i| Value::from((i128::from(first) + i * i128::from(step)) as i64));
    Ok(Value::Array(items.collect()))
}

fn array_get_item(args: &[Value]) -> Result<Value, Failure> {
    let items = array("ArrayGetItem", "the first argument", &args[0])?;
    let index = index(&args[1]).ok_or_else(|| {
        wrong_type(
            "ArrayGetItem",
            "the index",
            "a non-negative integer",
            &args[1],
        )
    })?;
    let item = usize::try_from(index).ok().and_then(|i| items.get(i));
    item.cloned().ok_or_else(|| {
        invalid(
            "ArrayGetItem",
            format!(
                "the index {index} is out of bounds for an array of {} items",
                items.len()
            ),
        )
    })
}

/// An array index: unlike the functions that round, a fraction is refused,
/// since no item sits between two others.
fn index(value: &Value) -> Option<u64> {
    let number = value.as_number()?;
    number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x < u64::MAX as f64)
            .map(|x| x as u64)
    })
}

fn array_length(args: &[Value]) -> Result<Value, Failure> {
    Ok(array("ArrayLength", "the argument", &args[0])?.len().into())
}

/// `States.ArrayUnique`: the first of each run of equal items, in order.
fn array_unique(args: &[Value]) -> Result<Value, Failure> {
    let items = array("ArrayUnique", "the argument", &args[0])?;
    let mut unique: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.iter().any(|kept| same(kept, item)) {
            unique.push(item.clone());
        }
    }
    Ok(Value::Array(unique))
}

fn base64_encode(args: &[Value]) -> Result<Value, Failure> {
    let text = limited("Base64Encode", "the data", &args[0])?;
    Ok(Value::String(BASE64.encode(text)))
}

fn base64_decode(args: &[Value]) -> Result<Value, Failure> {
    let text = limited("Base64Decode", "the data", &args[0])?;
    let bytes = BASE64
        .decode(text)
        .map_err(|error| invalid("Base64Decode", format!("'{text}' is not Base64: {error}")))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        invalid(
            "Base64Decode",
            format!("'{text}' does not decode to UTF-8 text"),
        )
    })
}

/// `States.Hash(data, algorithm)`: lowercase hex, as the service returns.
pub(crate) fn hash(args: &[Value]) -> Result<Value, Failure> {
    let data = limited("Hash", "the data", &args[0])?.as_bytes();
    let algorithm = string("Hash", "the algorithm", &args[1])?;
    let digest = match algorithm {
        "MD5" => hex::<Md5>(data),
        "SHA-1" => hex::<Sha1>(data),
        "SHA-256" => hex::<Sha256>(data),
        "SHA-384" => hex::<Sha384>(data),
        "SHA-512" => hex::<Sha512>(data),
        other => {
            return Err(invalid(
                "Hash",
                format!(
                    "the algorithm '{other}' is not one of MD5, SHA-1, SHA-256, SHA-384 and SHA-512"
                ),
            ));
        }
    };
    Ok(Value::String(digest))
}

fn hex<D: Digest>(data: &[u8]) -> String {
    D::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `States.JsonMerge(a, b, false)`: `b`'s keys replace `a`'s, and a nested
/// object is replaced whole, not merged: the service has only this shallow
/// mode.
fn json_merge(args: &[Value]) -> Result<Value, Failure> {
    let first = object("JsonMerge", "the first argument", &args[0])?;
    let second = object("JsonMerge", "the second argument", &args[1])?;
    match &args[2] {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(invalid(
                "JsonMerge",
                "only the shallow merging mode is supported; the third argument must be false",
            ));
        }
        other => {
            return Err(wrong_type(
                "JsonMerge",
                "the third argument",
                "false",
                other,
            ));
        }
    }
    let mut merged = first.clone();
    merged.extend(
        second
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    Ok(Value::Object(merged))
}

/// `States.MathRandom(start, end[, seed])`: an integer from `start` to
/// `end`, both included. A seed gives the same number every time (but not
/// the number the service would give: its generator is not public).
fn math_random(args: &[Value], random: &mut dyn FnMut() -> u64) -> Result<Value, Failure> {
    let start = integer("MathRandom", "the start number", &args[0])?;
    let end = integer("MathRandom", "the end number", &args[1])?;
    if start > end {
        return Err(invalid(
            "MathRandom",
            format!("the start number {start} is greater than the end number {end}"),
        ));
    }
    let draw = match args.get(2) {
        Some(seed) => splitmix64(integer("MathRandom", "the seed", seed)? as u64),
        None => random(),
    };
    let span = (i128::from(end) - i128::from(start) + 1) as u128;
    let offset = (u128::from(draw) * span) >> 64;
    Ok(Value::from((i128::from(start) + offset as i128) as i64))
}

/// One step of SplitMix64: spreads a small seed over all 64 bits.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `States.MathAdd`: both arguments rounded to integers first, each within
/// Java's `int` range as the documentation requires.
fn math_add(args: &[Value]) -> Result<Value, Failure> {
    let operand = |what: &str, value: &Value| {
        let integer = integer("MathAdd", what, value)?;
        i32::try_from(integer).map_err(|_| {
            invalid(
                "MathAdd",
                format!("{what} {integer} is outside -2147483648 to 2147483647"),
            )
        })
    };
    let sum = i64::from(operand("the first argument", &args[0])?)
        + i64::from(operand("the second argument", &args[1])?);
    Ok(Value::from(sum))
}

/// `States.StringSplit(text, delimiters)`: splits at any one of the
/// delimiter characters and drops the empty pieces, as the service does.
fn string_split(args: &[Value]) -> Result<Value, Failure> {
    let text = string("StringSplit", "the string", &args[0])?;
    let delimiters = string("StringSplit", "the delimiter", &args[1])?;
    let pieces = text
        .split(|c| delimiters.contains(c))
        .filter(|piece| !piece.is_empty())
        .map(|piece| Value::String(piece.to_owned()));
    Ok(Value::Array(pieces.collect()))
}

/// `States.UUID`: a version 4 (random) UUID.
pub(crate) fn uuid(_: &[Value], random: &mut dyn FnMut() -> u64) -> Result<Value, Failure> {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random().to_be_bytes());
    bytes[8..].copy_from_slice(&random().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let (a, rest) = hex.split_at(8);
    let (b, rest) = rest.split_at(4);
    let (c, rest) = rest.split_at(4);
    let (d, e) = rest.split_at(4);
    Ok(Value::String(format!("{a}-{b}-{c}-{d}-{e}")))
}

#[cfg(test)]
mod tests {
    //! Expected values marked "AWS" are the service's own responses, as
    //! recorded in LocalStack's AWS-validated snapshots
    //! (`tests/aws/services/stepfunctions/v2/intrinsic_functions/*.snapshot.json`
    //! and `v2/assign/test_assign_reference_variables.snapshot.json`), for the
    //! same call on the same input.

    use serde_json::json;

    use super::*;

    /// `call` with `$...` read from `input` and `$$...` from `context`
    /// (dotted paths only, which is all these calls use).
    fn eval_in(call: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
        let read = |path: &str| {
            let (root, rest) = match path.strip_prefix("$$") {
                Some(rest) => (context, rest),
                None => (input, path.trim_start_matches('$')),
            };
            rest.split('.')
                .filter(|key| !key.is_empty())
                .try_fold(root, |value, key| value.get(key))
                .cloned()
                .ok_or_else(|| Failure::runtime(format!("no {path}")))
        };
        let mut state = 0u64;
        let mut random = || {
            state += 1;
            splitmix64(state)
        };
        evaluate(call, &read, &mut random)
    }

    fn eval(call: &str, input: Value) -> Result<Value, Failure> {
        eval_in(call, &input, &Value::Null)
    }

    /// `call` on `{"FunctionInput": input}`, the input LocalStack's
    /// recorded tests give it.
    fn aws(call: &str, input: &Value) -> Value {
        eval(call, json!({ "FunctionInput": input }))
            .unwrap_or_else(|failure| panic!("{call} on {input}: {failure}"))
    }

    /// The cause of the failure `call` must give on `input`.
    fn refused(call: &str, input: Value) -> String {
        match eval(call, input) {
            Ok(value) => panic!("{call} gave {value}"),
            Err(failure) => {
                assert_eq!(failure.error, "States.IntrinsicFailure", "{call}");
                failure.cause
            }
        }
    }

    #[test]
    fn format_fills_one_placeholder_as_aws_did() {
        let call = "States.Format('Formatting argument {}.', $.FunctionInput)";
        for (input, output) in [
            (json!(""), "Formatting argument ."),
            (json!(" "), "Formatting argument  ."),
            (json!("HelloWorld"), "Formatting argument HelloWorld."),
            (json!(null), "Formatting argument null."),
            (json!(1), "Formatting argument 1."),
            (json!(1.1), "Formatting argument 1.1."),
            (
                json!("{\"Arg1\": 1, \"Arg2\": []}"),
                "Formatting argument {\"Arg1\": 1, \"Arg2\": []}.",
            ),
        ] {
            assert_eq!(aws(call, &input), json!(output), "AWS, on {input}");
        }
    }

    #[test]
    fn format_writes_objects_as_aws_did_not_as_json() {
        let call = "States.Format('Formatting arguments fst={} and snd={}.', \
                    $.FunctionInput.fst, $.FunctionInput.snd)";
        for (value, shown) in [
            (json!(""), ""),
            (json!(" "), " "),
            (json!(null), "null"),
            (json!(1.1), "1.1"),
            (json!({"Arg1": 1, "Arg2": []}), "{Arg1=1, Arg2=[]}"),
        ] {
            let input = json!({ "fst": value, "snd": value });
            let output = format!("Formatting arguments fst={shown} and snd={shown}.");
            assert_eq!(aws(call, &input), json!(output), "AWS, on {input}");
        }
    }

    #[test]
    fn format_reads_the_context_object_as_aws_did() {
        let context = json!({
            "Execution": { "Name": "exec-1" },
            "StateMachine": {
                "Id": "arn:aws:states:us-east-1:111111111111:stateMachine:sm-1",
                "Name": "sm-1",
            },
        });
        let call = "States.Format('Formatting arguments fst={} and snd={}.', \
                    $$.Execution.Name, $$.StateMachine)";
        assert_eq!(
            eval_in(call, &Value::Null, &context).expect("the context holds both"),
            json!(
                "Formatting arguments fst=exec-1 and snd={Id=arn:aws:states:us-east-1:111111111111:stateMachine:sm-1, Name=sm-1}."
            ),
            "AWS (names redacted in the recording; the shape is the service's)"
        );
    }

    #[test]
    fn format_writes_arrays_like_objects() {
        assert_eq!(
            eval(
                "States.Format('{}', States.Array(1, 'a', null, States.Array()))",
                json!({})
            )
            .expect("an array is an argument"),
            json!("[1, a, null, []]")
        );
    }

    #[test]
    fn format_templates_from_literals_and_paths() {
        let input = json!({ "name": "Arnav", "template": "Hello, my name is {}." });
        for call in [
            "States.Format('Hello, my name is {}.', $.name)",
            "States.Format($.template, $.name)",
        ] {
            assert_eq!(
                eval(call, input.clone()).expect("the documented example"),
                json!("Hello, my name is Arnav."),
                "{call}"
            );
        }
        assert_eq!(
            eval(
                "States.Format('Hello {}, welcome to {}!', $.name, $.place)",
                json!({ "name": "John", "place": "LocalStack" })
            )
            .expect("two placeholders, two arguments"),
            json!("Hello John, welcome to LocalStack!"),
            "AWS"
        );
    }

    #[test]
    fn format_escapes_give_literal_braces_quotes_and_backslashes() {
        assert_eq!(
            eval(r"States.Format('\{\} {} \'q\' \\ {x}', 'v')", json!({}))
                .expect("escaped braces are no placeholder"),
            json!(r"{} v 'q' \ {x}")
        );
    }

    #[test]
    fn format_refuses_a_wrong_number_of_arguments() {
        for (call, counts) in [
            (
                "States.Format('{} {}', 1)",
                "2 placeholders but 1 arguments",
            ),
            ("States.Format('none', 1)", "0 placeholders but 1 arguments"),
            (
                r"States.Format('\{\}', 1)",
                "0 placeholders but 1 arguments",
            ),
        ] {
            let cause = refused(call, json!({}));
            assert!(cause.contains(counts), "{call}: {cause}");
        }
        let cause = refused("States.Format($.n)", json!({ "n": 1 }));
        assert!(cause.contains("the template must be a string"), "{cause}");
    }

    #[test]
    fn string_to_json_parses_as_aws_did() {
        let call = "States.StringToJson($.FunctionInput)";
        for (input, output) in [
            ("", json!(null)),
            (" ", json!(null)),
            ("null", json!(null)),
            ("-0", json!(0)),
            ("1", json!(1)),
            ("1.1", json!(1.1)),
            ("true", json!(true)),
            ("\"HelloWorld\"", json!("HelloWorld")),
            ("[1, 2, \"HelloWorld\"]", json!([1, 2, "HelloWorld"])),
            (
                "{\"Arg1\": 1, \"Arg2\": []}",
                json!({"Arg1": 1, "Arg2": []}),
            ),
        ] {
            assert_eq!(aws(call, &json!(input)), output, "AWS, on {input:?}");
        }
        let cause = refused("States.StringToJson('{')", json!({}));
        assert!(cause.contains("'{' is not JSON"), "{cause}");
    }

    #[test]
    fn json_to_string_writes_compact_json_as_aws_did() {
        let call = "States.JsonToString($.FunctionInput)";
        for (input, output) in [
            (json!(null), "null"),
            (json!(0), "0"),
            (json!(1), "1"),
            (json!(1.1), "1.1"),
            (json!(true), "true"),
            (json!("HelloWorld"), "\"HelloWorld\""),
            (json!([1, 2, "HelloWorld"]), "[1,2,\"HelloWorld\"]"),
            (json!({"Arg1": 1, "Arg2": []}), "{\"Arg1\":1,\"Arg2\":[]}"),
        ] {
            assert_eq!(aws(call, &input), json!(output), "AWS, on {input}");
        }
    }

    #[test]
    fn json_merge_is_shallow_as_aws_did() {
        let input = json!({
            "fst": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3},
            "snd": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4},
        });
        assert_eq!(
            aws(
                "States.JsonMerge($.FunctionInput.fst, $.FunctionInput.snd, false)",
                &input
            ),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}),
            "AWS"
        );
    }

    #[test]
    fn json_merge_takes_a_nested_call_with_unescaped_braces_as_aws_did() {
        let context = json!({
            "Execution": { "Input": { "input_field": { "constant_input_field": "constant_value" } } },
        });
        let call = r#"States.JsonMerge(States.StringToJson('{"constant_in_literal": "false"}'), $$.Execution.Input.input_field, false)"#;
        assert_eq!(
            eval_in(call, &Value::Null, &context).expect("AWS accepted this call"),
            json!({"constant_input_field": "constant_value", "constant_in_literal": "false"}),
            "AWS"
        );
    }

    #[test]
    fn json_merge_refuses_deep_merging_and_non_objects() {
        let input = json!({ "a": {"x": 1}, "b": {"y": 2} });
        let cause = refused("States.JsonMerge($.a, $.b, true)", input.clone());
        assert!(cause.contains("shallow merging mode"), "{cause}");
        let cause = refused("States.JsonMerge($.a, $.b, 'false')", input.clone());
        assert!(cause.contains("must be false"), "{cause}");
        let cause = refused("States.JsonMerge($.a, 1, false)", input);
        assert!(
            cause.contains("must be a JSON object, not the number 1"),
            "{cause}"
        );
    }

    #[test]
    fn array_gathers_its_arguments_as_aws_did() {
        assert_eq!(
            aws("States.Array()", &json!("HelloWorld")),
            json!([]),
            "AWS"
        );
        let call = "States.Array($.FunctionInput.fst, $.FunctionInput.snd)";
        for value in [
            json!(""),
            json!(" "),
            json!("HelloWorld"),
            json!(null),
            json!(1),
            json!(1.1),
            json!("{\"Arg1\": 1, \"Arg2\": []}"),
            json!({"Arg1": 1, "Arg2": []}),
        ] {
            let input = json!({ "fst": value, "snd": value });
            assert_eq!(aws(call, &input), json!([value, value]), "AWS, on {input}");
        }
    }

    #[test]
    fn literals_keep_their_types() {
        let array = eval(
            r"States.Array(1, -2, 1.5, -0.25, true, false, null, 'it\'s', $.x)",
            json!({ "x": {"k": [1]} }),
        )
        .expect("every kind of argument");
        assert_eq!(
            array,
            json!([1, -2, 1.5, -0.25, true, false, null, "it's", {"k": [1]}])
        );
        assert!(array[0].is_i64() && array[1].is_i64(), "{array}");
    }

    #[test]
    fn array_partition_chunks_as_aws_did() {
        let call = "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)";
        for (length, size, chunks) in [
            (0, 1, json!([])),
            (0, 2, json!([])),
            (0, 3, json!([])),
            (0, 4, json!([])),
            (0, 5, json!([])),
            (1, 1, json!([[0]])),
            (1, 2, json!([[0]])),
            (1, 3, json!([[0]])),
            (1, 4, json!([[0]])),
            (1, 5, json!([[0]])),
            (2, 1, json!([[0], [1]])),
            (2, 2, json!([[0, 1]])),
            (2, 3, json!([[0, 1]])),
            (2, 4, json!([[0, 1]])),
            (2, 5, json!([[0, 1]])),
            (3, 1, json!([[0], [1], [2]])),
            (3, 2, json!([[0, 1], [2]])),
            (3, 3, json!([[0, 1, 2]])),
            (3, 4, json!([[0, 1, 2]])),
            (3, 5, json!([[0, 1, 2]])),
            (4, 1, json!([[0], [1], [2], [3]])),
            (4, 2, json!([[0, 1], [2, 3]])),
            (4, 3, json!([[0, 1, 2], [3]])),
            (4, 4, json!([[0, 1, 2, 3]])),
            (4, 5, json!([[0, 1, 2, 3]])),
        ] {
            let input = json!({ "fst": (0..length).collect::<Vec<u32>>(), "snd": size });
            assert_eq!(aws(call, &input), chunks, "AWS, on {input}");
        }
        assert_eq!(
            eval(
                "States.ArrayPartition($.a, 2)",
                json!({ "a": [1, 2, 3, 4, 5, 6] })
            )
            .expect("six items, pairs"),
            json!([[1, 2], [3, 4], [5, 6]]),
            "AWS"
        );
    }

    #[test]
    fn array_partition_rounds_and_refuses_sizes_below_one() {
        assert_eq!(
            eval(
                "States.ArrayPartition(States.Array(1, 2, 3), 1.5)",
                json!({})
            )
            .expect("1.5 rounds to 2"),
            json!([[1, 2], [3]])
        );
        let cause = refused("States.ArrayPartition(States.Array(1), 0)", json!({}));
        assert!(
            cause.contains("non-zero, positive integer, not 0"),
            "{cause}"
        );
        let cause = refused("States.ArrayPartition('abc', 1)", json!({}));
        assert!(
            cause.contains("must be an array, not the string \"abc\""),
            "{cause}"
        );
    }

    #[test]
    fn array_contains_compares_whole_values_as_aws_did() {
        let call = "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)";
        for (array, value, found) in [
            (json!([]), json!(null), false),
            (json!([]), json!([]), false),
            (json!([]), json!(1), false),
            (json!([[1, 2, 3], 2]), json!(null), false),
            (json!([[1, 2, 3], 2]), json!([1, 2, 3]), true),
            (json!([{"1": 2, "2": []}]), json!([]), false),
            (json!([{"1": 2, "2": []}]), json!({"1": 2, "2": []}), true),
            (json!([true, false]), json!(true), true),
            (json!([true, false]), json!(false), true),
        ] {
            let input = json!({ "fst": array, "snd": value });
            assert_eq!(aws(call, &input), json!(found), "AWS, on {input}");
        }
        assert_eq!(
            eval(
                "States.ArrayContains($.a, 5)",
                json!({ "a": [1, 2, 3, 4, 5, 6] })
            )
            .expect("5 is there"),
            json!(true),
            "AWS"
        );
    }

    #[test]
    fn array_range_steps_as_aws_did() {
        let call =
            "States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)";
        for (first, last, step, items) in [
            (0, 9, 3, json!([0, 3, 6, 9])),
            (0, 10, 3, json!([0, 3, 6, 9])),
            (1, 9, 9, json!([1])),
            (1, 9, 2, json!([1, 3, 5, 7, 9])),
        ] {
            let input = json!({ "fst": first, "snd": last, "trd": step });
            assert_eq!(aws(call, &input), items, "AWS, on {input}");
        }
        assert_eq!(
            eval("States.ArrayRange(1, 10, 2)", json!({})).expect("ten is never reached"),
            json!([1, 3, 5, 7, 9]),
            "AWS"
        );
    }

    #[test]
    fn array_range_counts_down_and_keeps_to_1000_items() {
        for (call, items) in [
            ("States.ArrayRange(9, 1, -3)", json!([9, 6, 3])),
            ("States.ArrayRange(5, 5, 1)", json!([5])),
            ("States.ArrayRange(5, 1, 1)", json!([])),
            ("States.ArrayRange(0.5, 2.4, 1)", json!([1, 2])),
        ] {
            assert_eq!(eval(call, json!({})).expect(call), items, "{call}");
        }
        let most = eval("States.ArrayRange(1, 1000, 1)", json!({})).expect("1000 items");
        assert_eq!(most.as_array().map(Vec::len), Some(1000));
        let cause = refused("States.ArrayRange(0, 1000, 1)", json!({}));
        assert!(cause.contains("1001 items; at most 1000"), "{cause}");
        let cause = refused("States.ArrayRange(0, 9, 0)", json!({}));
        assert!(cause.contains("step must not be 0"), "{cause}");
    }

    #[test]
    fn array_get_item_indexes_from_zero_as_aws_did() {
        let input = json!({ "fst": [1, 2, 3, 4, 5, 6, 7, 8, 9], "snd": 5 });
        assert_eq!(
            aws(
                "States.ArrayGetItem($.FunctionInput.fst, $.FunctionInput.snd)",
                &input
            ),
            json!(6),
            "AWS"
        );
        let cause = refused("States.ArrayGetItem(States.Array(1, 2, 3), 3)", json!({}));
        assert!(
            cause.contains("index 3 is out of bounds for an array of 3"),
            "{cause}"
        );
        let cause = refused("States.ArrayGetItem(States.Array(1), -1)", json!({}));
        assert!(cause.contains("must be a non-negative integer"), "{cause}");
        let cause = refused("States.ArrayGetItem(States.Array(1), 0.5)", json!({}));
        assert!(cause.contains("must be a non-negative integer"), "{cause}");
    }

    #[test]
    fn nested_calls_as_aws_did() {
        // The recording redacts the machine's name; AWS's one was
        // `statemachine_<uid>`, without a `-`, so both calls returned it whole.
        let one = "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)";
        let last = "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), \
                    States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))";
        for (name, first, final_piece) in [
            (
                "statemachine_8f3a2c1d",
                "statemachine_8f3a2c1d",
                "statemachine_8f3a2c1d",
            ),
            ("photo-pipe-main", "photo", "main"),
        ] {
            let context = json!({ "StateMachine": { "Name": name } });
            assert_eq!(
                eval_in(one, &Value::Null, &context).expect(one),
                json!(first)
            );
            assert_eq!(
                eval_in(last, &Value::Null, &context).expect(last),
                json!(final_piece)
            );
        }
    }

    #[test]
    fn array_length_and_unique_as_aws_did() {
        assert_eq!(
            aws(
                "States.ArrayLength($.FunctionInput)",
                &json!([1, 2, 3, 4, 5, 6, 7, 8, 9])
            ),
            json!(9),
            "AWS"
        );
        assert_eq!(
            eval(
                "States.ArrayUnique($.a)",
                json!({ "a": [1, 2, 2, 3, 3, 4] })
            )
            .expect("an array"),
            json!([1, 2, 3, 4]),
            "AWS"
        );
        let mixed = json!([
            null, null, true, true, false, 1, 1, 1.0, 1.1, "a", "a", [], [], [null], [null],
            {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1},
        ]);
        assert_eq!(
            eval("States.ArrayUnique($.a)", json!({ "a": mixed })).expect("an array"),
            json!([null, true, false, 1, 1.1, "a", [], [null], {"a": 1, "b": 2}, {"a": 1, "b": 1}])
        );
        let cause = refused("States.ArrayLength($.a)", json!({ "a": {"k": 1} }));
        assert!(
            cause.contains("must be an array, not the object {\"k\":1}"),
            "{cause}"
        );
    }

    #[test]
    fn base64_round_trips_as_aws_did() {
        for (text, encoded) in [
            ("", ""),
            ("Data to encode", "RGF0YSB0byBlbmNvZGU="),
            ("Hello World", "SGVsbG8gV29ybGQ="),
        ] {
            assert_eq!(
                aws("States.Base64Encode($.FunctionInput)", &json!(text)),
                json!(encoded),
                "AWS"
            );
            assert_eq!(
                aws("States.Base64Decode($.FunctionInput)", &json!(encoded)),
                json!(text),
                "AWS"
            );
        }
        let cause = refused("States.Base64Decode('not base64!')", json!({}));
        assert!(cause.contains("is not Base64"), "{cause}");
        let cause = refused(
            "States.Base64Encode($.a)",
            json!({ "a": "x".repeat(10_001) }),
        );
        assert!(cause.contains("10001 characters; at most 10000"), "{cause}");
    }

    #[test]
    fn hash_gives_lowercase_hex_as_aws_did() {
        let call = "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)";
        for (algorithm, digest) in [
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
            (
                "SHA-256",
                "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
            ),
            (
                "SHA-384",
                "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
            ),
            (
                "SHA-512",
                "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
            ),
        ] {
            let input = json!({ "fst": "input data", "snd": algorithm });
            assert_eq!(aws(call, &input), json!(digest), "AWS, {algorithm}");
        }
        assert_eq!(
            eval(
                "States.Hash($.s, 'SHA-256')",
                json!({ "s": "Hash this string" })
            )
            .expect("a string"),
            json!("1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"),
            "AWS"
        );
        let cause = refused("States.Hash('x', 'sha-256')", json!({}));
        assert!(cause.contains("'sha-256' is not one of MD5"), "{cause}");
    }

    #[test]
    fn math_add_rounds_halves_up_as_aws_did() {
        let call = "States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)";
        for (a, b, sum) in [
            (json!(-9), json!(3), -6),
            (json!(1.49), json!(1.5), 3),
            (json!(1.5), json!(1.51), 4),
            (json!(-1.49), json!(-1.5), -2),
            (json!(-1.5), json!(-1.51), -3),
            (json!(1.49), json!(0), 1),
            (json!(1.49), json!(-1.49), 0),
            (json!(1.5), json!(0), 2),
            (json!(1.51), json!(0), 2),
            (json!(-1.49), json!(0), -1),
            (json!(-1.5), json!(0), -1),
            (json!(-1.51), json!(0), -2),
            (json!(0.5), json!(0), 1),
            (json!(2.5), json!(0), 3),
            (json!(3.5), json!(0), 4),
            (json!(-0.5), json!(0.5), 1),
            (json!(-0.5), json!(0), 0),
            (json!(-2.5), json!(0), -2),
            (json!(-3.5), json!(0), -3),
        ] {
            let input = json!({ "fst": a, "snd": b });
            let result = aws(call, &input);
            assert_eq!(result, json!(sum), "AWS, on {input}");
            assert!(result.is_i64(), "{result}");
        }
        assert_eq!(
            eval("States.MathAdd($.a, $.b)", json!({ "a": 5, "b": 3 })).expect("numbers"),
            json!(8),
            "AWS"
        );
        let cause = refused("States.MathAdd(2147483648, 0)", json!({}));
        assert!(
            cause.contains("outside -2147483648 to 2147483647"),
            "{cause}"
        );
        let cause = refused("States.MathAdd($.a, 1)", json!({ "a": "1" }));
        assert!(
            cause.contains("must be a number, not the string \"1\""),
            "{cause}"
        );
    }

    #[test]
    fn math_random_stays_in_range_and_a_seed_repeats() {
        for (start, end, low, high) in [
            (json!(12.5), json!(44.51), 13, 45),
            (json!(9999), json!(99999), 9999, 99999),
            (json!(-99999), json!(-9999), -99999, -9999),
        ] {
            let input = json!({ "fst": start, "snd": end });
            for _ in 0..20 {
                let n = aws(
                    "States.MathRandom($.FunctionInput.fst, $.FunctionInput.snd)",
                    &input,
                );
                let n = n.as_i64().expect("an integer");
                assert!((low..=high).contains(&n), "{n} outside {low}..={high}");
            }
        }
        let seeded = |random: u64| {
            evaluate(
                "States.MathRandom(0, 999, 3)",
                &|_| Ok(Value::Null),
                &mut || random,
            )
            .expect("a seeded draw")
        };
        assert_eq!(seeded(1), seeded(2));
        assert!(seeded(1).as_i64().is_some_and(|n| (0..=999).contains(&n)));
        assert_eq!(
            eval("States.MathRandom(7, 7)", json!({})).expect("a one-number range"),
            json!(7)
        );
        let cause = refused("States.MathRandom(2, 1)", json!({}));
        assert!(
            cause.contains("start number 2 is greater than the end number 1"),
            "{cause}"
        );
    }

    #[test]
    fn string_split_splits_on_any_delimiter_as_aws_did() {
        let call = "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)";
        for (text, delimiters, pieces) in [
            (" ", ",", json!([" "])),
            (" , ", ",", json!([" ", " "])),
            (", , ,", ",", json!([" ", " "])),
            (",,,,", ",", json!([])),
            ("1,2,3,4,5", ",", json!(["1", "2", "3", "4", "5"])),
            (
                "This.is+a,test=string",
                ".+,=",
                json!(["This", "is", "a", "test", "string"]),
            ),
            (
                "split on T and \nnew line",
                "T\n",
                json!(["split on ", " and ", "new line"]),
            ),
        ] {
            let input = json!({ "fst": text, "snd": delimiters });
            assert_eq!(aws(call, &input), pieces, "AWS, on {input}");
        }
    }

    #[test]
    fn string_split_reads_the_context_object_as_aws_did() {
        let text = "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n";
        let context = json!({ "Execution": { "Input": { "FunctionInput": text } } });
        let call = "States.StringSplit($$.Execution.Input.FunctionInput, ',')";
        assert_eq!(
            eval_in(call, &Value::Null, &context).expect("a string"),
            json!([
                "Value1",
                "Value2",
                "Value3\nValue4",
                "Value5",
                "Value6\n",
                "\ntrue",
                "1",
                "'HelloWorld'\nNull",
                "None",
                "\n   \n",
            ]),
            "AWS"
        );
        assert_eq!(
            eval("States.StringSplit('Hello\nWorld', '\n')", json!({})).expect("strings"),
            json!(["Hello", "World"]),
            "AWS"
        );
    }

    #[test]
    fn uuid_is_version_4() {
        let uuid = eval("States.UUID()", json!({})).expect("no arguments");
        let uuid = uuid.as_str().expect("a string");
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{uuid}");
        assert!(
            uuid.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(uuid.as_bytes()[14], b'4', "{uuid}");
        assert!(
            matches!(uuid.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "{uuid}"
        );
    }

    #[test]
    fn paths_keep_commas_and_parentheses_inside_brackets() {
        let read = |path: &str| Ok(Value::String(path.to_owned()));
        let call = "States.Array($['a,b'], $.c , $[?(@.n > 1)], $var.x, $$.Execution.Id)";
        assert_eq!(
            evaluate(call, &read, &mut || 0).expect("five paths"),
            json!([
                "$['a,b']",
                "$.c",
                "$[?(@.n > 1)]",
                "$var.x",
                "$$.Execution.Id"
            ])
        );
    }

    #[test]
    fn a_missing_path_fails_as_the_reader_says() {
        let failure = eval("States.ArrayLength($.nothing)", json!({})).expect_err("no such path");
        assert_eq!(failure, Failure::runtime("no $.nothing"));
    }

    #[test]
    fn malformed_calls_are_refused() {
        for (call, reason) in [
            ("States.Fromat('x')", "There is no function States.Fromat"),
            (
                "States.Format('x'",
                "`States.Format(` is not closed with `)`",
            ),
            (r"States.Format('\n')", r"`\n` is not an escape"),
            ("States.Array('a", "a string is not closed with `'`"),
            ("States.Array('a',)", "an argument is missing"),
            ("States.Array(foo)", "`foo` is neither a path"),
            ("States.UUID() x", "`x` follows the call"),
            ("States.UUID(1)", "States.UUID takes 0 arguments, not 1"),
            (
                "States.MathRandom(1)",
                "States.MathRandom takes 2 to 3 arguments, not 1",
            ),
            (
                "States.Format()",
                "States.Format takes at least 1 arguments, not 0",
            ),
        ] {
            let cause = refused(call, json!({}));
            assert!(cause.contains(reason), "{call}: {cause}");
        }
    }
}
