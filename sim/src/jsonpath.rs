//! JSONPath as the service reads it (Jayway's dialect): a definite path
//! (names and indices only) yields one value or nothing; any other path
//! (wildcards, slices, unions, deep scans, filters) yields the array of what
//! it matched, possibly empty.

use serde_json::{Map, Value};

use crate::Failure;

/// What a path can start from: `$` the state's input, `$$` the context
/// object, `$name` a variable.
#[derive(Debug, Clone, Copy)]
pub struct Roots<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub variables: &'a Map<String, Value>,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Name(String),
    Index(i64),
    Wildcard,
    Union(Vec<Step>),
    Slice(Option<i64>, Option<i64>, i64),
    /// `..name` or `..*`: the step applied to every descendant.
    Scan(Box<Step>),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    /// The path under `@`.
    path: Vec<Step>,
    /// `None`: `[?(@.a)]`, the path exists.
    compare: Option<(Op, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Reads `path` (`$…`, `$$…` or `$name…`). `Ok(None)`: a definite path
/// found nothing.
pub fn read(path: &str, roots: &Roots<'_>) -> Result<Option<Value>, Failure> {
    let (root, rest) = root(path, roots)?;
    if let Some(found) = names_only(root, rest) {
        return Ok(found.cloned());
    }
    let steps =
        parse(rest).map_err(|e| Failure::runtime(format!("invalid JSONPath '{path}': {e}")))?;
    Ok(select(root, &steps))
}

/// `.a.b.c`, the path most states read, walked without parsing it into
/// steps; `None` for any other (and for one with an empty name, which
/// `parse` refuses).
fn names_only<'a>(root: &'a Value, rest: &str) -> Option<Option<&'a Value>> {
    let simple = rest.is_empty()
        || (rest.starts_with('.')
            && !rest.contains(['[', '*'])
            && !rest.contains("..")
            && !rest.ends_with('.'));
    if !simple {
        return None;
    }
    let mut at = root;
    for name in rest.split('.').skip(1) {
        match at.as_object().and_then(|o| o.get(name)) {
            Some(value) => at = value,
            None => return Some(None),
        }
    }
    Some(Some(at))
}

/// Where `path` starts and the rest of it.
fn root<'a>(path: &'a str, roots: &Roots<'a>) -> Result<(&'a Value, &'a str), Failure> {
    let Some(rest) = path.strip_prefix('$') else {
        return Err(Failure::runtime(format!(
            "'{path}' is not a JSONPath: it must start with '$'"
        )));
    };
    if let Some(rest) = rest.strip_prefix('$') {
        return Ok((roots.context, rest));
    }
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return Ok((roots.input, rest));
    }
    let (name, rest) = rest.split_at(name_len);
    match roots.variables.get(name) {
        Some(value) => Ok((value, rest)),
        None => Err(Failure::runtime(format!(
            "The variable '${name}' is not defined"
        ))),
    }
}

/// Why a definite `path` finds nothing, as the service's JSONPath library
/// (Jayway) says it: `Missing property in path $['a']` when a step before
/// the last finds nothing, `No results for path: $['a']['b']` when only the
/// last does.
pub fn missing(path: &str, roots: &Roots<'_>) -> String {
    let Ok((mut at, rest)) = root(path, roots) else {
        return format!("Invalid path '{path}'");
    };
    let steps = parse(rest).unwrap_or_default();
    let mut walked = String::from("$");
    for (i, step) in steps.iter().enumerate() {
        let next = match step {
            Step::Name(name) => {
                walked.push_str(&format!("['{name}']"));
                at.as_object().and_then(|o| o.get(name))
            }
            Step::Index(index) => {
                walked.push_str(&format!("[{index}]"));
                let items = at.as_array();
                usize::try_from(*index)
                    .ok()
                    .and_then(|i| items.and_then(|a| a.get(i)))
            }
            _ => return format!("No results for path: {walked}"),
        };
        match next {
            Some(value) => at = value,
            None if i + 1 < steps.len() => return format!("Missing property in path {walked}"),
            None => break,
        }
    }
    format!("No results for path: {walked}")
}

fn select(root: &Value, steps: &[Step]) -> Option<Value> {
    if steps
        .iter()
        .all(|s| matches!(s, Step::Name(_) | Step::Index(_)))
    {
        let mut at = root;
        for step in steps {
            at = match step {
                Step::Name(name) => at.as_object()?.get(name)?,
                Step::Index(i) => {
                    let items = at.as_array()?;
                    let i = if *i < 0 { items.len() as i64 + i } else { *i };
                    items.get(usize::try_from(i).ok()?)?
                }
                _ => unreachable!("only names and indices are definite"),
            };
        }
        return Some(at.clone());
    }
    let mut current = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for value in current {
            apply(step, value, &mut next);
        }
        current = next;
    }
    Some(Value::Array(current.into_iter().cloned().collect()))
}

fn apply<'a>(step: &Step, value: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Name(name) => out.extend(value.as_object().and_then(|o| o.get(name))),
        Step::Index(i) => {
            if let Some(items) = value.as_array() {
                let i = if *i < 0 { items.len() as i64 + i } else { *i };
                out.extend(usize::try_from(i).ok().and_then(|i| items.get(i)));
            }
        }
        Step::Wildcard => match value {
            Value::Array(items) => out.extend(items),
            Value::Object(map) => out.extend(map.values()),
            _ => {}
        },
        Step::Union(steps) => {
            for step in steps {
                apply(step, value, out);
            }
        }
        Step::Slice(start, end, by) => {
            if let Some(items) = value.as_array() {
                out.extend(slice(items, *start, *end, *by));
            }
        }
        Step::Scan(step) => scan(step, value, out),
        Step::Filter(filter) => {
            let candidates: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => map.values().collect(),
                _ => Vec::new(),
            };
            out.extend(candidates.into_iter().filter(|v| filter.accepts(v)));
        }
    }
}

fn scan<'a>(step: &Step, value: &'a Value, out: &mut Vec<&'a Value>) {
    apply(step, value, out);
    match value {
        Value::Array(items) => items.iter().for_each(|v| scan(step, v, out)),
        Value::Object(map) => map.values().for_each(|v| scan(step, v, out)),
        _ => {}
    }
}

fn slice(items: &[Value], start: Option<i64>, end: Option<i64>, by: i64) -> Vec<&Value> {
    let len = items.len() as i64;
    let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let (start, end) = (clamp(start.unwrap_or(0)), clamp(end.unwrap_or(len)));
    let by = usize::try_from(by.max(1)).unwrap_or(1);
    (start..end)
        .step_by(by)
        .filter_map(|i| items.get(usize::try_from(i).ok()?))
        .collect()
}

impl Filter {
    fn accepts(&self, candidate: &Value) -> bool {
        let Some(found) = select(candidate, &self.path) else {
            return false;
        };
        let Some((op, expected)) = &self.compare else {
            return true;
        };
        match (op, &found, expected) {
            (Op::Eq, a, b) => equal(a, b),
            (Op::Ne, a, b) => !equal(a, b),
            (op, Value::Number(a), Value::Number(b)) => {
                let (a, b) = (
                    a.as_f64().unwrap_or(f64::NAN),
                    b.as_f64().unwrap_or(f64::NAN),
                );
                ordered(*op, a.partial_cmp(&b))
            }
            (op, Value::String(a), Value::String(b)) => ordered(*op, Some(a.cmp(b))),
            _ => false,
        }
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

fn ordered(op: Op, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, ordering),
        (Op::Lt, Some(Less))
            | (Op::Le, Some(Less | Equal))
            | (Op::Gt, Some(Greater))
            | (Op::Ge, Some(Greater | Equal))
    )
}

/// Writes `value` at the reference path `path` inside `target` (a
/// `ResultPath`): `$` replaces the whole, missing objects on the way are
/// created, and a step through a non-object is a runtime error.
pub fn write(target: Value, path: &str, value: Value) -> Result<Value, Failure> {
    let steps = path
        .strip_prefix('$')
        .ok_or_else(|| Failure::runtime(format!("'{path}' is not a reference path")))
        .and_then(|rest| {
            parse(rest)
                .map_err(|e| Failure::runtime(format!("invalid reference path '{path}': {e}")))
        })?;
    let mut target = target;
    put(&mut target, &steps, value, path)?;
    Ok(target)
}

fn put(at: &mut Value, steps: &[Step], value: Value, path: &str) -> Result<(), Failure> {
    let Some((first, rest)) = steps.split_first() else {
        *at = value;
        return Ok(());
    };
    match (first, at) {
        (Step::Name(name), Value::Object(map)) => {
            let slot = map.entry(name.clone()).or_insert(Value::Null);
            if !rest.is_empty() && slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            put(slot, rest, value, path)
        }
        (Step::Index(i), Value::Array(items)) => {
            match usize::try_from(*i).ok().and_then(|i| items.get_mut(i)) {
                Some(slot) => put(slot, rest, value, path),
                None => Err(Failure::runtime(format!(
                    "the ResultPath '{path}' points past the end of an array"
                ))),
            }
        }
        (_, at) => Err(Failure::runtime(format!(
            "Invalid path '{path}': the value it writes into is not an object but {}",
            kind(at)
        ))),
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse(mut rest: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    while !rest.is_empty() {
        let (step, tail) = if let Some(tail) = rest.strip_prefix("..") {
            let (step, tail) = if let Some(tail) = tail.strip_prefix('[') {
                bracket(tail)?
            } else {
                dotted(tail)?
            };
            (Step::Scan(Box::new(step)), tail)
        } else if let Some(tail) = rest.strip_prefix('.') {
            dotted(tail)?
        } else if let Some(tail) = rest.strip_prefix('[') {
            bracket(tail)?
        } else {
            return Err(format!("unexpected '{rest}'"));
        };
        steps.push(step);
        rest = tail;
    }
    Ok(steps)
}

fn dotted(rest: &str) -> Result<(Step, &str), String> {
    if let Some(tail) = rest.strip_prefix('*') {
        return Ok((Step::Wildcard, tail));
    }
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    if end == 0 {
        return Err("a '.' must be followed by a name".into());
    }
    Ok((Step::Name(rest[..end].to_owned()), &rest[end..]))
}

/// The inside of `[...]`, `rest` starting after the `[`.
fn bracket(rest: &str) -> Result<(Step, &str), String> {
    let rest = rest.trim_start();
    if let Some(tail) = rest.strip_prefix('?') {
        let tail = tail
            .trim_start()
            .strip_prefix('(')
            .ok_or("a filter is written [?(...)]")?;
        let close = tail.rfind(")]").ok_or("an unclosed filter")?;
        // The filter's own brackets end at the first `)]` that balances.
        let close = matching_close(tail).unwrap_or(close);
        return Ok((Step::Filter(filter(&tail[..close])?), &tail[close + 2..]));
    }
    let end = close_of(rest).ok_or("an unclosed '['")?;
    let inner = rest[..end].trim();
    let tail = &rest[end + 1..];
    let parts = split_top(inner, ',');
    let mut steps = parts
        .iter()
        .map(|p| part(p.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let step = if steps.len() == 1 {
        steps.remove(0)
    } else {
        Step::Union(steps)
    };
    Ok((step, tail))
}

fn part(text: &str) -> Result<Step, String> {
    if text == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(name) = quoted(text) {
        return Ok(Step::Name(name));
    }
    if text.contains(':') {
        let bounds: Vec<&str> = text.split(':').map(str::trim).collect();
        let number = |s: &str| -> Result<Option<i64>, String> {
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse()
                    .map(Some)
                    .map_err(|_| format!("'{s}' is not an index"))
            }
        };
        return Ok(Step::Slice(
            number(bounds[0])?,
            number(bounds.get(1).copied().unwrap_or(""))?,
            number(bounds.get(2).copied().unwrap_or(""))?.unwrap_or(1),
        ));
    }
    text.parse()
        .map(Step::Index)
        .map_err(|_| format!("'{text}' is not an index or a quoted name"))
}

fn quoted(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    Some(inner.replace(&format!("\\{quote}"), &quote.to_string()))
}

/// The index of the `]` closing a bracket whose inside starts `text`, past
/// quoted names.
fn close_of(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '(') => depth += 1,
            (None, ')') if depth == 0 && bytes.get(i + 1) == Some(&b']') => return Some(i),
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn split_top(text: &str, by: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c == by => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn filter(text: &str) -> Result<Filter, String> {
    const OPS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let text = text.trim();
    let found = OPS
        .iter()
        .find_map(|(symbol, op)| text.find(symbol).map(|at| (at, *symbol, *op)));
    let (left, compare) = match found {
        Some((at, symbol, op)) => {
            let right = text[at + symbol.len()..].trim();
            let value = quoted(right)
                .map(Value::String)
                .or_else(|| serde_json::from_str(right).ok())
                .ok_or_else(|| format!("'{right}' is not a literal a filter can compare with"))?;
            (text[..at].trim(), Some((op, value)))
        }
        None => (text, None),
    };
    let path = left
        .strip_prefix('@')
        .ok_or("a filter tests '@', the candidate")?;
    Ok(Filter {
        path: parse(path)?,
        compare,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn on(input: &Value, path: &str) -> Option<Value> {
        let context = json!({"Execution": {"Id": "arn:x"}});
        let variables = Map::from_iter([("count".to_owned(), json!(3))]);
        read(
            path,
            &Roots {
                input,
                context: &context,
                variables: &variables,
            },
        )
        .expect("a valid path")
    }

    #[test]
    fn names_alone_are_read_as_the_parsed_path_reads_them() {
        let input = json!({"a": {"b": [1, {"c": 2}]}, "x": 1});
        let roots = Roots {
            input: &input,
            context: &Value::Null,
            variables: &Map::new(),
        };
        for path in [
            "$",
            "$.a",
            "$.a.b",
            "$.a.b.c",
            "$.x.y",
            "$.missing",
            "$.missing..c",
            "$..c",
            "$.a.b[1].c",
            "$.a.*",
            "$.a.",
            "$.",
        ] {
            let (root, rest) = root(path, &roots).expect("a root");
            let parsed = parse(rest).map(|steps| select(root, &steps));
            match names_only(root, rest) {
                Some(found) => assert_eq!(Ok(found.cloned()), parsed, "{path}"),
                None => assert!(
                    rest.contains(['[', '*']) || rest.contains("..") || rest.ends_with('.'),
                    "{path}"
                ),
            }
        }
    }

    #[test]
    fn definite_paths_yield_one_value_or_nothing() {
        let input = json!({"a": {"b": [10, 20, 30]}, "odd key": 1});
        assert_eq!(on(&input, "$"), Some(input.clone()));
        assert_eq!(on(&input, "$.a.b[1]"), Some(json!(20)));
        assert_eq!(on(&input, "$.a.b[-1]"), Some(json!(30)));
        assert_eq!(on(&input, "$['odd key']"), Some(json!(1)));
        assert_eq!(on(&input, "$.a.c"), None);
        assert_eq!(on(&input, "$.a.b[3]"), None);
        assert_eq!(on(&input, "$$.Execution.Id"), Some(json!("arn:x")));
        assert_eq!(on(&input, "$count"), Some(json!(3)));
    }

    #[test]
    fn other_paths_yield_every_match() {
        let input =
            json!({"Labels": [{"Name": "Dog", "C": 99}, {"Name": "Cat", "C": 70}, {"C": 1}]});
        assert_eq!(on(&input, "$.Labels[*].Name"), Some(json!(["Dog", "Cat"])));
        assert_eq!(on(&input, "$..Name"), Some(json!(["Dog", "Cat"])));
        assert_eq!(on(&input, "$.Labels[0:2].C"), Some(json!([99, 70])));
        assert_eq!(on(&input, "$.Labels[0,2].C"), Some(json!([99, 1])));
        assert_eq!(
            on(&input, "$.Labels[?(@.C > 50)].Name"),
            Some(json!(["Dog", "Cat"]))
        );
        assert_eq!(
            on(&input, "$.Labels[?(@.Name == 'Cat')].C"),
            Some(json!([70]))
        );
        assert_eq!(on(&input, "$.Labels[?(@.Name)].C"), Some(json!([99, 70])));
        assert_eq!(on(&input, "$.Nothing[*]"), Some(json!([])));
    }

    #[test]
    fn writes_create_objects_on_the_way_and_refuse_to_step_through_values() {
        let input = json!({"a": 1});
        assert_eq!(
            write(input.clone(), "$", json!(2)).expect("a write"),
            json!(2)
        );
        assert_eq!(
            write(input.clone(), "$.b.c", json!(2)).expect("a write"),
            json!({"a": 1, "b": {"c": 2}})
        );
        assert_eq!(
            write(input.clone(), "$.a", json!(2)).expect("a write"),
            json!({"a": 2})
        );
        let refused = write(input, "$.a.b", json!(2)).expect_err("a step through a number");
        assert_eq!(refused.error, "States.Runtime");
    }
}
