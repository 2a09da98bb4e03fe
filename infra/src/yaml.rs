//! JSON written as block-style YAML, for templates people read and diff.
//!
//! Templates are only ever written, never parsed, so a small emitter is all
//! they need; the YAML crates that serde offers are forks of an archived one
//! around a C library translated to unsafe Rust. A string is written plain
//! only where no YAML 1.1 or 1.2 reader could take it for anything else,
//! multi-line text as a literal block, and the rest quoted.

use serde_json::Value;

/// `value` as a YAML document.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => sequence(&mut out, items, 0),
        scalar => {
            inline(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        // A mapping that is a sequence item starts on the item's dash line.
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        quoted_or_plain(out, key);
        out.push(':');
        nested(out, value, indent, indent + 2);
    }
}

fn sequence(out: &mut String, items: &[Value], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push('-');
        nested(out, item, indent + 2, indent + 2);
    }
}

/// What follows a key's colon or an item's dash. Sequences under a key sit
/// at the key's own indentation, as most hand-written templates have them.
fn nested(out: &mut String, value: &Value, sequence_indent: usize, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            if out.ends_with('-') {
                out.push(' ');
            } else {
                out.push('\n');
            }
            mapping(out, map, indent);
        }
        Value::Array(items) if !items.is_empty() => {
            if out.ends_with('-') {
                out.push(' ');
                sequence(out, items, indent);
            } else {
                out.push('\n');
                sequence(out, items, sequence_indent);
            }
        }
        scalar => {
            out.push(' ');
            inline(out, scalar, indent);
            out.push('\n');
        }
    }
}

fn inline(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::String(s) if literal_block_fits(s) => literal_block(out, s, indent),
        Value::String(s) => quoted_or_plain(out, s),
        // null, booleans and numbers read the same in YAML as in JSON.
        other => out.push_str(&other.to_string()),
    }
}

fn quoted_or_plain(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if s.chars().all(printable) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        double_quoted(out, s);
    }
}

/// Escapes every character that is not [`printable`].
fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if !printable(c) => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What YAML takes as printable, less the line and paragraph separators,
/// which YAML 1.1 reads as line breaks.
fn printable(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}')
}

/// Words, spaces and punctuation that is no YAML indicator, starting with a
/// letter (so never a number), with no `: ` or trailing colon (so never a
/// key), and no word YAML 1.1 reads as a boolean or null.
fn is_plain_safe(s: &str) -> bool {
    let starts_with_letter = s.starts_with(|c: char| c.is_ascii_alphabetic());
    let simple = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " _-./():;,'+=@".contains(c));
    let reserved = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"]
        .iter()
        .any(|word| s.eq_ignore_ascii_case(word));
    starts_with_letter && simple && !reserved && !s.ends_with([' ', ':']) && !s.contains(": ")
}

/// A literal block keeps every character but a few: nothing but newlines
/// that is not [`printable`], and a first line that does not start with a
/// space, which would change the block's detected indentation.
fn literal_block_fits(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && s.chars().all(|c| c == '\n' || printable(c))
        && !s.lines().any(|line| line.ends_with(' '))
}

fn literal_block(out: &mut String, s: &str, indent: usize) {
    let body = s.trim_end_matches('\n');
    let chomping = match s.len() - body.len() {
        0 => "|-",
        1 => "|",
        _ => "|+",
    };
    out.push_str(chomping);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
    // `|+` keeps the trailing newlines beyond the one that ends the block.
    for _ in 1..s.len() - body.len() {
        out.push('\n');
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use yaml_rust2::{Yaml, YamlLoader};

    use super::*;

    /// An independent YAML reader's view of the document, as JSON.
    fn read_back(yaml: &str) -> Value {
        let docs = YamlLoader::load_from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        assert_eq!(docs.len(), 1, "{yaml}");
        to_json(&docs[0])
    }

    fn to_json(yaml: &Yaml) -> Value {
        match yaml {
            Yaml::Hash(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let key = k.as_str().unwrap_or_else(|| panic!("key {k:?}"));
                        (key.to_owned(), to_json(v))
                    })
                    .collect(),
            ),
            Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
            Yaml::String(s) => json!(s),
            Yaml::Integer(i) => json!(i),
            Yaml::Real(r) => json!(r.parse::<f64>().expect("a real number")),
            Yaml::Boolean(b) => json!(b),
            Yaml::Null => Value::Null,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn awkward_strings_read_back_as_the_same_strings() {
        let strings = [
            "",
            " ",
            "-",
            "- a",
            "?",
            ":",
            "a: b",
            "a #b",
            "#",
            "'",
            "\"",
            "it's",
            "yes",
            "No",
            "ON",
            "null",
            "~",
            "y",
            "true",
            "1",
            "1.5",
            "1e3",
            "0x1F",
            "0o7",
            ".inf",
            "-.5",
            "2010-09-09",
            "12:30:00",
            "@x",
            "`x`",
            "%x",
            "!Ref x",
            "&a",
            "*a",
            "{a}",
            "[a]",
            "a,b",
            "x86_64",
            "^(none|[1-9][0-9]*)$",
            "ü",
            "tab\there",
            "bell\u{7}",
            "del\u{7f}",
            "nel\u{85}",
            "bom\u{feff}",
            "ls\u{2028}ps\u{2029}",
            "two\nls\u{2028}lines",
            "nonchar\u{fffe}",
            "q\"\\",
            "AWS::S3::Bucket",
            "a:",
            "a ",
            "two  spaces",
            "a, b (c); d=e+f@g",
            "a'b",
            "a\nb",
            "a\nb\n",
            "a\nb\n\n",
            "a\n\nb",
            " lead\nb",
            "\nlead",
            "trail \nb",
            "line\r\nbreak",
            "{\n  \"k\": 1\n}",
        ];
        let value = json!({
            "strings": &strings[..],
            "keys": strings.iter().map(|s| (s.to_string(), json!(s))).collect::<serde_json::Map<_, _>>(),
        });
        assert_eq!(read_back(&to_string(&value)), value);
    }

    #[test]
    fn nesting_reads_back_as_written() {
        let value = json!({
            "empty map": {}, "empty list": [], "null": null, "flags": [true, false],
            "numbers": [0, -3, 2.5, 1_000_000],
            "lists": [[1, [2, 3]], [], [{}], [{"a": 1, "b": [{"c": "d\ne"}]}]],
            "maps": {"a": {"b": {"c": ["x", {"y": "z"}]}}},
            "block in list": ["one\ntwo", {"k": "three\nfour\n"}],
        });
        assert_eq!(read_back(&to_string(&value)), value);
        for scalar in [json!("top"), json!(1), json!([]), json!(["a"])] {
            assert_eq!(read_back(&to_string(&scalar)), scalar);
        }
    }

    #[test]
    fn the_style_is_block_with_plain_words_and_literal_text() {
        let value = json!({
            "Type": "String",
            "AllowedValues": ["x86_64", "arm64"],
            "Description": "it's a: b",
            "Definition": "{\n  \"a\": 1\n}",
            "Tags": [{"Key": "k", "Value": "v"}],
        });
        assert_eq!(
            to_string(&value),
            "Type: String\n\
             AllowedValues:\n\
             - x86_64\n\
             - arm64\n\
             Description: 'it''s a: b'\n\
             Definition: |-\n  {\n    \"a\": 1\n  }\n\
             Tags:\n\
             - Key: k\n  Value: v\n"
        );
        // YAML 1.1 takes U+2028 for a line break, which quotes would fold.
        assert_eq!(to_string(&json!("a\u{2028}b")), "\"a\\u2028b\"\n");
    }
}
