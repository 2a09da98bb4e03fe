//! Choice rules.
//!
//! A rule is written as one flat JSON object mixing the condition
//! (`Variable` plus one operator, or `And`/`Or`/`Not`, or a JSONata
//! `Condition`) with `Next`, `Comment`, `Assign` and `Output`. serde's
//! `flatten` cannot be combined with rejecting unknown keys, so the mapping is
//! written by hand over a `serde_json::Map`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// A top-level entry of `Choices`: a condition and where it leads.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: String,
    pub comment: Option<String>,
    pub assign: Option<Value>,
    pub output: Option<Value>,
}

/// A boolean test on the state input (JSONPath) or a JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// `Variable` compared with one operator.
    Compare {
        variable: String,
        comparison: Comparison,
    },
    /// JSONata: `"Condition": "{% ... %}"`, or a literal `true` or `false`.
    Jsonata(Value),
    /// A rule inside `And`, `Or` or `Not` with its `Comment` (a top-level
    /// rule keeps its own in [`ChoiceRule::comment`]).
    Commented {
        comment: String,
        condition: Box<Condition>,
    },
}

/// Every comparison operator; the variant name is the JSON key.
///
/// The `*Path` variants hold a path to compare with instead of a literal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Comparison {
    StringEquals(String),
    StringEqualsPath(String),
    StringLessThan(String),
    StringLessThanPath(String),
    StringGreaterThan(String),
    StringGreaterThanPath(String),
    StringLessThanEquals(String),
    StringLessThanEqualsPath(String),
    StringGreaterThanEquals(String),
    StringGreaterThanEqualsPath(String),
    StringMatches(String),
    NumericEquals(Number),
    NumericEqualsPath(String),
    NumericLessThan(Number),
    NumericLessThanPath(String),
    NumericGreaterThan(Number),
    NumericGreaterThanPath(String),
    NumericLessThanEquals(Number),
    NumericLessThanEqualsPath(String),
    NumericGreaterThanEquals(Number),
    NumericGreaterThanEqualsPath(String),
    BooleanEquals(bool),
    BooleanEqualsPath(String),
    TimestampEquals(String),
    TimestampEqualsPath(String),
    TimestampLessThan(String),
    TimestampLessThanPath(String),
    TimestampGreaterThan(String),
    TimestampGreaterThanPath(String),
    TimestampLessThanEquals(String),
    TimestampLessThanEqualsPath(String),
    TimestampGreaterThanEquals(String),
    TimestampGreaterThanEqualsPath(String),
    IsNull(bool),
    IsPresent(bool),
    IsNumeric(bool),
    IsString(bool),
    IsBoolean(bool),
    IsTimestamp(bool),
}

/// Every operator key, so callers (the validator) can recognise one.
pub const COMPARISON_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringEqualsPath",
    "StringLessThan",
    "StringLessThanPath",
    "StringGreaterThan",
    "StringGreaterThanPath",
    "StringLessThanEquals",
    "StringLessThanEqualsPath",
    "StringGreaterThanEquals",
    "StringGreaterThanEqualsPath",
    "StringMatches",
    "NumericEquals",
    "NumericEqualsPath",
    "NumericLessThan",
    "NumericLessThanPath",
    "NumericGreaterThan",
    "NumericGreaterThanPath",
    "NumericLessThanEquals",
    "NumericLessThanEqualsPath",
    "NumericGreaterThanEquals",
    "NumericGreaterThanEqualsPath",
    "BooleanEquals",
    "BooleanEqualsPath",
    "TimestampEquals",
    "TimestampEqualsPath",
    "TimestampLessThan",
    "TimestampLessThanPath",
    "TimestampGreaterThan",
    "TimestampGreaterThanPath",
    "TimestampLessThanEquals",
    "TimestampLessThanEqualsPath",
    "TimestampGreaterThanEquals",
    "TimestampGreaterThanEqualsPath",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

impl Comparison {
    /// The JSON key and value, e.g. `("StringEquals", "jpeg")`.
    pub fn to_entry(&self) -> (String, Value) {
        let value = serde_json::to_value(self).expect("a comparison always serializes");
        let Value::Object(map) = value else {
            unreachable!("an externally tagged newtype variant serializes as a one-entry object")
        };
        map.into_iter()
            .next()
            .expect("an externally tagged newtype variant serializes as a one-entry object")
    }
}

impl Condition {
    /// `Variable` compared with `comparison`.
    pub fn compare(variable: impl Into<String>, comparison: Comparison) -> Self {
        Condition::Compare {
            variable: variable.into(),
            comparison,
        }
    }

    pub fn string_equals(variable: impl Into<String>, value: impl Into<String>) -> Self {
        Self::compare(variable, Comparison::StringEquals(value.into()))
    }

    pub fn string_matches(variable: impl Into<String>, pattern: impl Into<String>) -> Self {
        Self::compare(variable, Comparison::StringMatches(pattern.into()))
    }

    pub fn numeric_equals(variable: impl Into<String>, value: impl Into<Number>) -> Self {
        Self::compare(variable, Comparison::NumericEquals(value.into()))
    }

    pub fn numeric_greater_than(variable: impl Into<String>, value: impl Into<Number>) -> Self {
        Self::compare(variable, Comparison::NumericGreaterThan(value.into()))
    }

    pub fn numeric_less_than(variable: impl Into<String>, value: impl Into<Number>) -> Self {
        Self::compare(variable, Comparison::NumericLessThan(value.into()))
    }

    pub fn boolean_equals(variable: impl Into<String>, value: bool) -> Self {
        Self::compare(variable, Comparison::BooleanEquals(value))
    }

    pub fn is_present(variable: impl Into<String>, present: bool) -> Self {
        Self::compare(variable, Comparison::IsPresent(present))
    }

    pub fn is_null(variable: impl Into<String>, null: bool) -> Self {
        Self::compare(variable, Comparison::IsNull(null))
    }

    pub fn and(conditions: impl IntoIterator<Item = Condition>) -> Self {
        Condition::And(conditions.into_iter().collect())
    }

    pub fn or(conditions: impl IntoIterator<Item = Condition>) -> Self {
        Condition::Or(conditions.into_iter().collect())
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(condition: Condition) -> Self {
        Condition::Not(Box::new(condition))
    }

    /// A JSONata condition; pass the whole `{% ... %}` string.
    pub fn jsonata(expression: impl Into<String>) -> Self {
        Condition::Jsonata(Value::String(expression.into()))
    }

    fn write(&self, out: &mut Map<String, Value>) {
        match self {
            Condition::And(all) => {
                out.insert(
                    "And".into(),
                    Value::Array(all.iter().map(Self::to_value).collect()),
                );
            }
            Condition::Or(any) => {
                out.insert(
                    "Or".into(),
                    Value::Array(any.iter().map(Self::to_value).collect()),
                );
            }
            Condition::Not(inner) => {
                out.insert("Not".into(), inner.to_value());
            }
            Condition::Compare {
                variable,
                comparison,
            } => {
                out.insert("Variable".into(), Value::String(variable.clone()));
                let (key, value) = comparison.to_entry();
                out.insert(key, value);
            }
            Condition::Jsonata(expression) => {
                out.insert("Condition".into(), expression.clone());
            }
            Condition::Commented { comment, condition } => {
                out.insert("Comment".into(), Value::String(comment.clone()));
                condition.write(out);
            }
        }
    }

    fn to_value(&self) -> Value {
        let mut map = Map::new();
        self.write(&mut map);
        Value::Object(map)
    }

    /// Reads the condition keys of `map`, leaving nothing behind on success.
    fn read(mut map: Map<String, Value>) -> Result<Self, String> {
        let nested = |value: Value, key: &str| match value {
            Value::Object(inner) => Condition::read(inner),
            _ => Err(format!("`{key}` takes a rule object")),
        };
        let list = |value: Value, key: &str| match value {
            Value::Array(items) => items.into_iter().map(|item| nested(item, key)).collect(),
            _ => Err(format!("`{key}` takes an array of rules")),
        };
        let comment = match map.shift_remove("Comment") {
            Some(Value::String(comment)) => Some(comment),
            Some(_) => return Err("`Comment` takes a string".into()),
            None => None,
        };
        let condition = if let Some(value) = map.shift_remove("And") {
            Condition::And(list(value, "And")?)
        } else if let Some(value) = map.shift_remove("Or") {
            Condition::Or(list(value, "Or")?)
        } else if let Some(value) = map.shift_remove("Not") {
            Condition::Not(Box::new(nested(value, "Not")?))
        } else if let Some(value) = map.shift_remove("Condition") {
            match value {
                Value::String(_) | Value::Bool(_) => Condition::Jsonata(value),
                _ => return Err("`Condition` takes a JSONata string or a boolean".into()),
            }
        } else if let Some(value) = map.shift_remove("Variable") {
            let Value::String(variable) = value else {
                return Err("`Variable` takes a path string".into());
            };
            let Some(key) = map
                .keys()
                .find(|key| COMPARISON_OPERATORS.contains(&key.as_str()))
                .cloned()
            else {
                return Err(format!(
                    "rule on `{variable}` has no comparison operator: add one such as `StringEquals`"
                ));
            };
            let value = map.shift_remove(&key).unwrap_or(Value::Null);
            let mut entry = Map::new();
            entry.insert(key.clone(), value);
            let comparison = serde_json::from_value(Value::Object(entry))
                .map_err(|e| format!("invalid `{key}` value: {e}"))?;
            Condition::Compare {
                variable,
                comparison,
            }
        } else {
            return Err(
                "choice rule has no condition: add `Variable` with an operator, `And`, `Or`, `Not` or `Condition`"
                    .into(),
            );
        };
        if let Some(extra) = map.keys().next() {
            return Err(format!("unknown field `{extra}` in choice rule"));
        }
        Ok(match comment {
            Some(comment) => Condition::Commented {
                comment,
                condition: Box::new(condition),
            },
            None => condition,
        })
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::deserialize(deserializer)?;
        Condition::read(map).map_err(D::Error::custom)
    }
}

impl ChoiceRule {
    pub fn new(condition: Condition, next: impl Into<String>) -> Self {
        ChoiceRule {
            condition,
            next: next.into(),
            comment: None,
            assign: None,
            output: None,
        }
    }
}

impl Serialize for ChoiceRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = Map::new();
        if let Some(comment) = &self.comment {
            map.insert("Comment".into(), Value::String(comment.clone()));
        }
        self.condition.write(&mut map);
        if let Some(assign) = &self.assign {
            map.insert("Assign".into(), assign.clone());
        }
        if let Some(output) = &self.output {
            map.insert("Output".into(), output.clone());
        }
        map.insert("Next".into(), Value::String(self.next.clone()));
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ChoiceRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Map::deserialize(deserializer)?;
        let next = match map.shift_remove("Next") {
            Some(Value::String(next)) => next,
            Some(_) => return Err(D::Error::custom("`Next` takes a state name")),
            None => return Err(D::Error::custom("choice rule has no `Next`: add one")),
        };
        let comment = match map.shift_remove("Comment") {
            Some(Value::String(comment)) => Some(comment),
            Some(_) => return Err(D::Error::custom("`Comment` takes a string")),
            None => None,
        };
        let assign = map.shift_remove("Assign");
        let output = map.shift_remove("Output");
        let condition = Condition::read(map).map_err(D::Error::custom)?;
        Ok(ChoiceRule {
            condition,
            next,
            comment,
            assign,
            output,
        })
    }
}
