//! Choice rules evaluated on a state's input.

use asl::{Comparison, Condition};
use serde_json::{Number, Value};

use crate::jsonpath::{self, Roots};
use crate::{Failure, time};

/// Whether `condition` holds. A `Variable` that finds nothing is a runtime
/// error, except for `IsPresent`, which exists to ask.
pub fn holds(condition: &Condition, roots: &Roots<'_>) -> Result<bool, Failure> {
    Ok(match condition {
        Condition::And(all) => {
            for c in all {
                if !holds(c, roots)? {
                    return Ok(false);
                }
            }
            true
        }
        Condition::Or(any) => {
            for c in any {
                if holds(c, roots)? {
                    return Ok(true);
                }
            }
            false
        }
        Condition::Not(c) => !holds(c, roots)?,
        Condition::Commented { condition, .. } => holds(condition, roots)?,
        Condition::Compare {
            variable,
            comparison,
        } => {
            let value = jsonpath::read(variable, roots)?;
            match (comparison, value) {
                (Comparison::IsPresent(expected), value) => value.is_some() == *expected,
                (comparison, Some(value)) => compare(&value, comparison, roots)?,
                (_, None) => {
                    return Err(Failure::runtime(format!(
                        "Invalid path '{variable}': The choice state's condition path references an invalid value."
                    )));
                }
            }
        }
        Condition::Jsonata(_) => {
            return Err(Failure::runtime("JSONata conditions are not simulated"));
        }
    })
}

/// A literal or the value another path finds.
enum Operand<'a> {
    Text(&'a str),
    Number(&'a Number),
    Boolean(bool),
    Path(&'a str),
}

fn compare(value: &Value, comparison: &Comparison, roots: &Roots<'_>) -> Result<bool, Failure> {
    use Comparison as C;
    use Operand::{Boolean, Number, Path, Text};
    use std::cmp::Ordering::{Equal, Greater, Less};
    let (kind, operand, wanted): (Kind, Operand<'_>, &[std::cmp::Ordering]) = match comparison {
        C::StringEquals(s) => (Kind::String, Text(s), &[Equal]),
        C::StringEqualsPath(p) => (Kind::String, Path(p), &[Equal]),
        C::StringLessThan(s) => (Kind::String, Text(s), &[Less]),
        C::StringLessThanPath(p) => (Kind::String, Path(p), &[Less]),
        C::StringGreaterThan(s) => (Kind::String, Text(s), &[Greater]),
        C::StringGreaterThanPath(p) => (Kind::String, Path(p), &[Greater]),
        C::StringLessThanEquals(s) => (Kind::String, Text(s), &[Less, Equal]),
        C::StringLessThanEqualsPath(p) => (Kind::String, Path(p), &[Less, Equal]),
        C::StringGreaterThanEquals(s) => (Kind::String, Text(s), &[Greater, Equal]),
        C::StringGreaterThanEqualsPath(p) => (Kind::String, Path(p), &[Greater, Equal]),
        C::NumericEquals(n) => (Kind::Number, Number(n), &[Equal]),
        C::NumericEqualsPath(p) => (Kind::Number, Path(p), &[Equal]),
        C::NumericLessThan(n) => (Kind::Number, Number(n), &[Less]),
        C::NumericLessThanPath(p) => (Kind::Number, Path(p), &[Less]),
        C::NumericGreaterThan(n) => (Kind::Number, Number(n), &[Greater]),
        C::NumericGreaterThanPath(p) => (Kind::Number, Path(p), &[Greater]),
        C::NumericLessThanEquals(n) => (Kind::Number, Number(n), &[Less, Equal]),
        C::NumericLessThanEqualsPath(p) => (Kind::Number, Path(p), &[Less, Equal]),
        C::NumericGreaterThanEquals(n) => (Kind::Number, Number(n), &[Greater, Equal]),
        C::NumericGreaterThanEqualsPath(p) => (Kind::Number, Path(p), &[Greater, Equal]),
        C::BooleanEquals(b) => (Kind::Boolean, Boolean(*b), &[Equal]),
        C::BooleanEqualsPath(p) => (Kind::Boolean, Path(p), &[Equal]),
        C::TimestampEquals(s) => (Kind::Timestamp, Text(s), &[Equal]),
        C::TimestampEqualsPath(p) => (Kind::Timestamp, Path(p), &[Equal]),
        C::TimestampLessThan(s) => (Kind::Timestamp, Text(s), &[Less]),
        C::TimestampLessThanPath(p) => (Kind::Timestamp, Path(p), &[Less]),
        C::TimestampGreaterThan(s) => (Kind::Timestamp, Text(s), &[Greater]),
        C::TimestampGreaterThanPath(p) => (Kind::Timestamp, Path(p), &[Greater]),
        C::TimestampLessThanEquals(s) => (Kind::Timestamp, Text(s), &[Less, Equal]),
        C::TimestampLessThanEqualsPath(p) => (Kind::Timestamp, Path(p), &[Less, Equal]),
        C::TimestampGreaterThanEquals(s) => (Kind::Timestamp, Text(s), &[Greater, Equal]),
        C::TimestampGreaterThanEqualsPath(p) => (Kind::Timestamp, Path(p), &[Greater, Equal]),
        C::StringMatches(pattern) => {
            return Ok(value.as_str().is_some_and(|s| matches(s, pattern)));
        }
        C::IsNull(expected) => return Ok(value.is_null() == *expected),
        C::IsPresent(expected) => return Ok(*expected),
        C::IsNumeric(expected) => return Ok(value.is_number() == *expected),
        C::IsString(expected) => return Ok(value.is_string() == *expected),
        C::IsBoolean(expected) => return Ok(value.is_boolean() == *expected),
        C::IsTimestamp(expected) => {
            return Ok(value.as_str().and_then(time::parse).is_some() == *expected);
        }
    };
    let other = match operand {
        Text(s) => Value::String(s.to_owned()),
        Number(n) => Value::Number(n.clone()),
        Boolean(b) => Value::Bool(b),
        Path(p) => jsonpath::read(p, roots)?.ok_or_else(|| {
            Failure::runtime(format!(
                "Invalid path '{p}': The choice state's condition path references an invalid value."
            ))
        })?,
    };
    Ok(kind
        .order(value, &other)
        .is_some_and(|o| wanted.contains(&o)))
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    String,
    Number,
    Boolean,
    Timestamp,
}

impl Kind {
    /// How `a` compares with `b` as this kind; `None` when either is not one.
    fn order(self, a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
        match self {
            Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
            Kind::Number => a.as_f64()?.partial_cmp(&b.as_f64()?),
            Kind::Boolean => (a.as_bool()? == b.as_bool()?).then_some(std::cmp::Ordering::Equal),
            Kind::Timestamp => Some(time::parse(a.as_str()?)?.cmp(&time::parse(b.as_str()?)?)),
        }
    }
}

/// `StringMatches`: `*` matches any run of characters, `\*` and `\\` are
/// literal.
fn matches(text: &str, pattern: &str) -> bool {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Some(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(None),
            c => tokens.push(Some(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    glob(&text, &tokens)
}

fn glob(text: &[char], tokens: &[Option<char>]) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((None, rest)) => (0..=text.len()).any(|skip| glob(&text[skip..], rest)),
        Some((Some(c), rest)) => text.first() == Some(c) && glob(&text[1..], rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn check(condition: Value, input: Value) -> Result<bool, Failure> {
        let rule: asl::ChoiceRule = serde_json::from_value(
            json!({"Next": "X"})
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.extend(condition.as_object().cloned().unwrap_or_default());
                    Value::Object(o)
                })
                .expect("an object"),
        )
        .expect("a rule");
        let (context, variables) = (json!({}), Map::new());
        holds(
            &rule.condition,
            &Roots {
                input: &input,
                context: &context,
                variables: &variables,
            },
        )
    }

    #[test]
    fn comparisons_follow_the_type_of_the_operator() {
        let input = json!({"s": "JPEG", "n": 5, "b": true, "t": "2026-01-01T00:00:00Z", "m": null});
        assert_eq!(
            check(
                json!({"Variable": "$.s", "StringEquals": "JPEG"}),
                input.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            check(
                json!({"Variable": "$.n", "StringEquals": "5"}),
                input.clone()
            ),
            Ok(false)
        );
        assert_eq!(
            check(
                json!({"Variable": "$.n", "NumericGreaterThanEquals": 5}),
                input.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            check(
                json!({"Variable": "$.n", "NumericLessThanPath": "$.n"}),
                input.clone()
            ),
            Ok(false)
        );
        assert_eq!(
            check(
                json!({"Variable": "$.b", "BooleanEquals": true}),
                input.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            check(
                json!({"Variable": "$.t", "TimestampLessThan": "2026-01-01T00:00:01Z"}),
                input.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            check(json!({"Variable": "$.m", "IsNull": true}), input.clone()),
            Ok(true)
        );
        assert_eq!(
            check(
                json!({"Variable": "$.x", "IsPresent": false}),
                input.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            check(
                json!({"Variable": "$.s", "StringMatches": "J*G"}),
                input.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            check(
                json!({"Not": {"Variable": "$.s", "StringEquals": "PNG"}}),
                input.clone()
            ),
            Ok(true)
        );
        let missing = check(json!({"Variable": "$.x", "StringEquals": "a"}), input);
        assert_eq!(
            missing.map_err(|f| f.error),
            Err("States.Runtime".to_owned())
        );
    }

    #[test]
    fn string_matches_takes_escaped_stars_literally() {
        assert!(matches("log-2026.txt", "log-*.txt"));
        assert!(matches("a*b", "a\\*b"));
        assert!(!matches("axb", "a\\*b"));
        assert!(matches("", "*"));
    }
}
