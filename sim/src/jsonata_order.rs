//! The key order of the objects a JSONata expression gives. AWS keeps keys
//! in the order they were inserted; jsonata-rs keeps objects in hash maps
//! seeded per process, so that order is lost and is rebuilt here:
//! - an object whose keys are all written as string literals in the
//!   expression was built by it, in the order they are written;
//! - an object equal to one the expression reads (`$states.input`, the
//!   result, the context, the variables) was passed through, in that order;
//! - any other takes its keys in the order the expression writes them, then
//!   in the order they first appear in what it reads (`$merge` keeps its
//!   arguments' order), then by name.

use std::cell::OnceCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

pub(crate) struct KeyOrder<'e> {
    expr: &'e str,
    sources: Vec<&'e Value>,
    /// Each key's first appearance in the sources, walked in order.
    first_seen: OnceCell<HashMap<&'e str, usize>>,
}

impl<'e> KeyOrder<'e> {
    pub(crate) fn new(expr: &'e str, sources: Vec<&'e Value>) -> KeyOrder<'e> {
        KeyOrder {
            expr,
            sources,
            first_seen: OnceCell::new(),
        }
    }

    /// `value` with every object's keys in the order AWS would give them.
    pub(crate) fn apply(&self, value: Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.apply(v)).collect()),
            Value::Object(fields) => self.object(fields),
            other => other,
        }
    }

    fn object(&self, fields: Map<String, Value>) -> Value {
        let built = fields.keys().all(|k| self.written_at(k).is_some());
        if fields.len() > 1
            && !built
            && let Some(same) = self.sources.iter().find_map(|s| same_object(s, &fields))
        {
            return same.clone();
        }
        self.ranked(fields)
    }

    fn ranked(&self, fields: Map<String, Value>) -> Value {
        let mut entries: Vec<(String, Value)> = fields
            .into_iter()
            .map(|(k, v)| (k, self.apply(v)))
            .collect();
        entries.sort_by_cached_key(|(key, _)| {
            let seen = || self.first_seen().get(key.as_str()).copied();
            (
                self.written_at(key).unwrap_or(usize::MAX),
                seen().unwrap_or(usize::MAX),
                key.clone(),
            )
        });
        Value::Object(entries.into_iter().collect())
    }

    /// Where the expression writes `key` as a string literal.
    fn written_at(&self, key: &str) -> Option<usize> {
        ['"', '\''].iter().find_map(|q| {
            self.expr
                .match_indices(&format!("{q}{key}{q}"))
                .next()
                .map(|(at, _)| at)
        })
    }

    fn first_seen(&self) -> &HashMap<&'e str, usize> {
        self.first_seen.get_or_init(|| {
            let mut seen = HashMap::new();
            let mut stack: Vec<&Value> = self.sources.iter().rev().copied().collect();
            while let Some(value) = stack.pop() {
                match value {
                    Value::Object(fields) => {
                        for key in fields.keys() {
                            let next = seen.len();
                            seen.entry(key.as_str()).or_insert(next);
                        }
                        stack.extend(fields.values().rev());
                    }
                    Value::Array(items) => stack.extend(items.iter().rev()),
                    _ => {}
                }
            }
            seen
        })
    }
}

/// An object inside `within` equal to `object` (whatever their key orders).
fn same_object<'v>(within: &'v Value, wanted: &Map<String, Value>) -> Option<&'v Value> {
    let mut stack = vec![within];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(fields) => {
                if fields == wanted {
                    return Some(value);
                }
                stack.extend(fields.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::KeyOrder;

    fn keys(value: &serde_json::Value) -> Vec<&str> {
        value
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn keys_come_back_in_the_order_aws_inserts_them() {
        let input =
            json!({"part1": {"hello": "world"}, "part2": {"foo": "bar"}, "obj": {"z": 1, "a": 2}});
        let sorted = |v: serde_json::Value| {
            let mut text: Vec<_> = v
                .as_object()
                .expect("an object")
                .clone()
                .into_iter()
                .collect();
            text.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(text.into_iter().collect())
        };
        // Built by the expression: its own order.
        let order = KeyOrder::new(r#"{"Question": 1, "Answer": 2}"#, vec![&input]);
        let built = order.apply(sorted(json!({"Question": 1, "Answer": 2})));
        assert_eq!(keys(&built), ["Question", "Answer"]);
        // Passed through: the input's order.
        let order = KeyOrder::new("$states.input.obj", vec![&input]);
        assert_eq!(
            keys(&order.apply(sorted(json!({"z": 1, "a": 2})))),
            ["z", "a"]
        );
        // Merged: the order the keys first appear in the input
        // (`test_merge_with_dynamic_args`, as AWS answered).
        let order = KeyOrder::new(
            "$merge([$states.input.part1, $states.input.part2])",
            vec![&input],
        );
        let merged = order.apply(sorted(json!({"hello": "world", "foo": "bar"})));
        assert_eq!(keys(&merged), ["hello", "foo"]);
    }
}
