//! Python literals as test suites write them (`sim replay` reads the values
//! LocalStack's tests give their templates): strings (raw, and adjacent
//! ones joined), numbers (`100_000_000`), `None`/`True`/`False`, lists
//! (`[…] * n` too), tuples, dicts, `pytest.param(value, …)`,
//! `json.dumps(value)` (its JSON text), and names, which the caller
//! resolves.

use serde_json::{Map, Value};

/// The value of the literal at the start of `text` (what follows it is
/// ignored); `name` gives the value of a name (`items_path`, `EJT.BASE`).
pub fn literal(text: &str, name: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    Parser { rest: text, name }.value()
}

struct Parser<'t, 'n> {
    rest: &'t str,
    name: &'n dyn Fn(&str) -> Option<Value>,
}

impl Parser<'_, '_> {
    fn skip_space(&mut self) {
        loop {
            self.rest = self.rest.trim_start();
            match self.rest.strip_prefix('#') {
                // A comment runs to the end of its line.
                Some(comment) => self.rest = comment.split_once('\n').map_or("", |(_, r)| r),
                None => return,
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_space();
        let first = self.rest.chars().next()?;
        match first {
            '[' => {
                let items = self.sequence(']')?;
                Some(Value::Array(self.repeated(items)?))
            }
            '(' => {
                let mut items = self.sequence(')')?;
                // `("a" "b")` and `(value)` are one value; `(a, b)` a tuple.
                Some(match items.len() {
                    1 => items.remove(0),
                    _ => Value::Array(items),
                })
            }
            '{' => self.dict(),
            '"' | '\'' => self.strings(),
            'r' | 'R' if self.rest[1..].starts_with(['"', '\'']) => self.strings(),
            '-' | '0'..='9' => self.number(),
            _ => self.word(),
        }
    }

    /// Items up to `close`, a trailing comma allowed.
    fn sequence(&mut self, close: char) -> Option<Vec<Value>> {
        self.rest = &self.rest[1..];
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.value()?);
            if !self.eat(',') {
                self.eat(close).then_some(())?;
                break;
            }
        }
        Some(items)
    }

    /// `[…] * n`: the items n times over.
    fn repeated(&mut self, items: Vec<Value>) -> Option<Vec<Value>> {
        if !self.eat('*') {
            return Some(items);
        }
        let times = usize::try_from(self.number()?.as_u64()?).ok()?;
        Some(
            items
                .iter()
                .cycle()
                .take(items.len() * times)
                .cloned()
                .collect(),
        )
    }

    fn dict(&mut self) -> Option<Value> {
        self.rest = &self.rest[1..];
        let mut fields = Map::new();
        while !self.eat('}') {
            let Value::String(key) = self.value()? else {
                return None;
            };
            self.eat(':').then_some(())?;
            fields.insert(key, self.value()?);
            if !self.eat(',') {
                self.eat('}').then_some(())?;
                break;
            }
        }
        Some(Value::Object(fields))
    }

    /// One string literal, or adjacent ones joined as Python joins them.
    fn strings(&mut self) -> Option<Value> {
        let mut text = String::new();
        loop {
            self.skip_space();
            let raw = self.rest.starts_with(['r', 'R']);
            let body = if raw { &self.rest[1..] } else { self.rest };
            let Some(quote) = body.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                break;
            };
            let mut chars = body[1..].char_indices();
            let end = loop {
                match chars.next()? {
                    (i, c) if c == quote => break i,
                    (_, '\\') if raw => {
                        // A raw string keeps its backslashes, and the
                        // character after one cannot end it.
                        let (_, next) = chars.next()?;
                        text.push('\\');
                        text.push(next);
                    }
                    (_, '\\') => match chars.next()?.1 {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        other => text.push(other),
                    },
                    (_, c) => text.push(c),
                }
            };
            self.rest = &body[1 + end + 1..];
        }
        Some(Value::String(text))
    }

    fn number(&mut self) -> Option<Value> {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_digit() || "-+._eE".contains(c)))
            .unwrap_or(self.rest.len());
        let digits = self.rest[..end].replace('_', "");
        self.rest = &self.rest[end..];
        serde_json::from_str(&digits).ok()
    }

    fn word(&mut self) -> Option<Value> {
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(self.rest.len());
        let word = &self.rest[..end];
        self.rest = &self.rest[end..];
        match word {
            "None" => Some(Value::Null),
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "pytest.param" if self.rest.starts_with('(') => {
                // Its value is the first argument; marks and ids follow.
                self.rest = &self.rest[1..];
                self.value()
            }
            "json.dumps" if self.rest.starts_with('(') => {
                self.rest = &self.rest[1..];
                Some(Value::String(self.value()?.to_string()))
            }
            "" => None,
            name => (self.name)(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::literal;

    fn parse(text: &str) -> Option<Value> {
        literal(text, &|name| (name == "EJT.BASE").then(|| json!("{% 1 %}")))
    }

    #[test]
    fn the_literals_the_tests_write_are_read() {
        assert_eq!(parse("None"), Some(Value::Null));
        assert_eq!(parse("100_000_000,  # a comment"), Some(json!(100_000_000)));
        assert_eq!(parse("0.1"), Some(json!(0.1)));
        assert_eq!(
            parse(r#"r'{% $contains("a$b", /^a\$/) %}'"#),
            Some(json!(r#"{% $contains("a$b", /^a\$/) %}"#))
        );
        assert_eq!(
            parse("(\n  \"{% $merge(\"\n  '[1]) %}'\n)\nnext = 1"),
            Some(json!("{% $merge([1]) %}"))
        );
        assert_eq!(
            parse("[None, 0, True, \"s\", [], {\"key\": \"{% true %}\"},]"),
            Some(json!([null, 0, true, "s", [], {"key": "{% true %}"}]))
        );
        assert_eq!(
            parse("{\"Items\": EJT.BASE}"),
            Some(json!({"Items": "{% 1 %}"}))
        );
        assert_eq!(parse("pytest.param(\"x\", marks=m)"), Some(json!("x")));
        assert_eq!(
            parse("[{\"a\": 1}] * 3"),
            Some(json!([{"a": 1}, {"a": 1}, {"a": 1}]))
        );
        assert_eq!(parse("unknown_name"), None);
        assert_eq!(
            parse("json.dumps({\"Bucket\": EJT.BASE})"),
            Some(json!(r#"{"Bucket":"{% 1 %}"}"#))
        );
    }
}
