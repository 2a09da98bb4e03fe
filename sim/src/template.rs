//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`,
//! `Assign`): a key ending in `.$` takes the value its path or intrinsic
//! function yields.

use serde_json::{Map, Value};

use crate::jsonpath::{self, Roots};
use crate::{Failure, intrinsics};

/// `template` with every `.$` field evaluated against `roots`.
pub fn fill(
    template: &Value,
    roots: &Roots<'_>,
    random: &mut dyn FnMut() -> u64,
) -> Result<Value, Failure> {
    Ok(match template {
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, field) in fields {
                match (key.strip_suffix(".$"), field) {
                    (Some(name), Value::String(expression)) => {
                        out.insert(name.to_owned(), value(key, expression, roots, random)?);
                    }
                    _ => {
                        out.insert(key.clone(), fill(field, roots, random)?);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill(item, roots, random))
                .collect::<Result<_, _>>()?,
        ),
        literal => literal.clone(),
    })
}

/// The value of one `field.$` (or of `ErrorPath`, `CausePath`): a path or
/// an intrinsic function.
pub fn value(
    field: &str,
    expression: &str,
    roots: &Roots<'_>,
    random: &mut dyn FnMut() -> u64,
) -> Result<Value, Failure> {
    if expression.starts_with("States.") {
        return intrinsics::evaluate(expression, &|path| read(field, path, roots), random);
    }
    read(field, expression, roots)
}

/// The value a path field (`InputPath`, `OutputPath`, `…SecondsPath`)
/// selects, or the service's error for a path that selects nothing.
pub fn select(path: &str, roots: &Roots<'_>) -> Result<Value, Failure> {
    jsonpath::read(path, roots)?.ok_or_else(|| {
        Failure::runtime(format!(
            "Invalid path '{path}' : {}",
            jsonpath::missing(path, roots)
        ))
    })
}

/// The value `path` finds, or the service's error for a payload template
/// field whose path finds nothing (the service names the state's input even
/// for a `$$` path).
pub fn read(field: &str, path: &str, roots: &Roots<'_>) -> Result<Value, Failure> {
    jsonpath::read(path, roots)?.ok_or_else(|| {
        Failure::runtime(format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
            roots.input
        ))
    })
}
