//! Syntax of the strings that point into data: reference paths, JSONPath,
//! intrinsic functions and JSONata expressions.
//!
//! These are syntax checks only; whether a path finds anything is a runtime
//! question the validator cannot answer.

/// A reference path (`ResultPath`, a catcher's `ResultPath`): `$` and plain
/// steps only, since it names a single place to write to.
pub(crate) fn is_reference_path(path: &str) -> bool {
    match path.strip_prefix('$') {
        Some(rest) if !rest.starts_with('$') => steps(rest, true),
        _ => false,
    }
}

/// A JSONPath to read from: the state input (`$`), the context object
/// (`$$`) or a variable (`$name`), followed by any JSONPath steps.
pub(crate) fn is_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('$') else {
        return false;
    };
    let rest = match rest.strip_prefix('$') {
        Some(context) => context,
        None => rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    };
    steps(rest, false)
}

/// A JSONata expression: the whole string is `{% ... %}`.
pub(crate) fn is_jsonata(value: &str) -> bool {
    let trimmed = value.trim();
    trimmed.len() >= 4 && trimmed.starts_with("{%") && trimmed.ends_with("%}")
}

/// What is wrong with a string meant as JSONata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonataProblem {
    /// It opens with `{%` but does not close with `%}`.
    Unclosed,
    /// The expression inside does not parse; `at` counts characters of the
    /// whole string, from 1.
    Syntax { at: usize, message: String },
}

/// Why `value` is not a valid `{% ... %}` JSONata expression, if it is not.
pub(crate) fn jsonata_problem(value: &str) -> Option<JsonataProblem> {
    if !is_jsonata(value) {
        return Some(JsonataProblem::Unclosed);
    }
    let open = value.find("{%")? + 2;
    let close = value.rfind("%}")?;
    let expression = &value[open..close];
    if let Some(offset) = dangling_decimal_point(expression) {
        return Some(JsonataProblem::Syntax {
            at: value[..open].chars().count() + offset + 1,
            message: "a number cannot end in `.`".into(),
        });
    }
    let arena = bumpalo::Bump::new();
    let error = jsonata_rs::JsonAta::new(expression, &arena)
        .err()?
        .to_string();
    // jsonata-rs says `S0201 @ 8: Syntax error `2``: a code, the offset
    // into the expression, the message.
    let located = error
        .split_once(" @ ")
        .and_then(|(_, rest)| rest.split_once(": "))
        .and_then(|(offset, message)| Some((offset.parse::<usize>().ok()?, message)));
    let (offset, message) = located.unwrap_or((0, error.as_str()));
    Some(JsonataProblem::Syntax {
        at: value[..open].chars().count() + offset + 1,
        message: message.to_owned(),
    })
}

/// Where a number literal ends in a `.` with nothing to apply it to
/// (`420.`): JSONata's grammar refuses it, jsonata-rs reads `420.0`.
fn dangling_decimal_point(expression: &str) -> Option<usize> {
    let chars: Vec<char> = expression.chars().collect();
    let mut quote = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
        } else if c.is_ascii_digit() {
            let starts_number = i == 0
                || !(chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '_' | '$' | '.'));
            let mut end = i;
            while end < chars.len() && chars[end].is_ascii_digit() {
                end += 1;
            }
            let after = chars[end + 1..].iter().find(|c| !c.is_whitespace());
            if starts_number
                && chars.get(end) == Some(&'.')
                && after.is_none_or(|c| matches!(c, ')' | ']' | '}' | ',' | ';'))
            {
                return Some(end);
            }
            i = end;
            continue;
        }
        i += 1;
    }
    None
}

/// Whether a string is meant as JSONata (it opens with `{%`), valid or not.
pub(crate) fn looks_like_jsonata(value: &str) -> bool {
    value.trim_start().starts_with("{%")
}

/// The steps after the root: `.name`, `['name']`, `[0]`, and for non-reference
/// paths also `..`, `*`, filters, slices and unions.
fn steps(mut rest: &str, reference: bool) -> bool {
    while let Some(c) = rest.chars().next() {
        match c {
            '.' => {
                rest = &rest[1..];
                if !reference && rest.starts_with('.') {
                    rest = &rest[1..];
                }
                if !reference && rest.starts_with('*') {
                    rest = &rest[1..];
                    continue;
                }
                // `$.[0]` and `$.a.['b']`: AWS's JSONPath engine takes a dot
                // before a bracket as no step at all.
                if rest.starts_with('[') {
                    continue;
                }
                let len = rest
                    .find(|c: char| ".[]'\"*?@,() \t\n".contains(c))
                    .unwrap_or(rest.len());
                if len == 0 {
                    return false;
                }
                rest = &rest[len..];
                // `.length()` and friends, which the JSONPath engine supports.
                if !reference && rest.starts_with("()") {
                    rest = &rest[2..];
                }
            }
            '[' => {
                let Some(len) = balanced(rest) else {
                    return false;
                };
                let inside = &rest[1..len - 1];
                if !bracket(inside, reference) {
                    return false;
                }
                rest = &rest[len..];
            }
            _ => return false,
        }
    }
    true
}

fn bracket(inside: &str, reference: bool) -> bool {
    let inside = inside.trim();
    let quoted = |s: &str| {
        s.len() >= 2
            && ((s.starts_with('\'') && s.ends_with('\''))
                || (s.starts_with('"') && s.ends_with('"')))
    };
    let index = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if quoted(inside) || index(inside) {
        return true;
    }
    if reference || inside.is_empty() {
        return false;
    }
    if inside == "*" || inside.starts_with("?(") || inside.starts_with('(') {
        return true;
    }
    let signed = |s: &str| s.is_empty() || index(s.trim().trim_start_matches('-'));
    inside.split(',').all(|part| {
        let part = part.trim();
        quoted(part)
            || (part.split(':').count() <= 3 && part.split(':').all(signed) && !part.is_empty())
    })
}

/// Length of the bracketed or parenthesised group `s` opens with, skipping
/// quoted strings; `None` when it never closes.
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '(' => depth += 1,
            ']' | ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_paths() {
        for ok in [
            "$",
            "$.a",
            "$.a.b[0]",
            "$['a b'].c",
            "$.detail.object.key",
            "$.[0]",
            "$.Snapshots.[0].State",
        ] {
            assert!(is_reference_path(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "$.",
            "$..a",
            "$.a[*]",
            "$$.Execution",
            "$.a[?(@.x)]",
            "$x",
            "$.a[",
            "$.a b",
        ] {
            assert!(!is_reference_path(bad), "{bad}");
        }
    }

    #[test]
    fn paths() {
        for ok in [
            "$",
            "$$.Execution.Id",
            "$$.Map.Item.Value",
            "$myVar.field",
            "$..price",
            "$.items[*].id",
            "$.a[?(@.price < 10)]",
            "$.a[0:2]",
            "$.a[-1:]",
            "$.a[0,1]",
            "$.a.length()",
            "$.[0]",
            "$.Snapshots.[0].State",
            "$.[?(@.OU > 0)]",
            "$.[*].['bucket', 'key']",
        ] {
            assert!(is_path(ok), "{ok}");
        }
        for bad in [
            "",
            "a.b",
            "$.",
            "$.a[",
            "$.a]",
            "$.a..",
            "$ .a",
            "States.Format('x')",
        ] {
            assert!(!is_path(bad), "{bad}");
        }
    }

    #[test]
    fn jsonata() {
        assert!(is_jsonata("{% $states.input.x %}"));
        assert!(!is_jsonata("{% $states.input.x"));
        assert!(looks_like_jsonata("{% $states.input.x"));
        assert_eq!(jsonata_problem("{% $states.input.x %}"), None);
        assert_eq!(
            jsonata_problem("{% $sum($states.input.items %}"),
            Some(JsonataProblem::Syntax {
                at: 29,
                message: "Expected `)` before end of expression".into(),
            })
        );
        assert!(matches!(
            jsonata_problem("{% 10 + * 2 %}"),
            Some(JsonataProblem::Syntax { .. })
        ));
        assert_eq!(jsonata_problem("{% 1"), Some(JsonataProblem::Unclosed));
        assert_eq!(
            jsonata_problem("{% 420. %}"),
            Some(JsonataProblem::Syntax {
                at: 7,
                message: "a number cannot end in `.`".into(),
            })
        );
        for ok in [
            "{% [1..5] %}",
            "{% 4.2 %}",
            "{% '420.' %}",
            "{% $f(1.5, 2) %}",
        ] {
            assert_eq!(jsonata_problem(ok), None, "{ok}");
        }
    }
}
