//! Intrinsic function calls such as `States.Format('Hello, {}', $.name)`,
//! parsed whole: the function's name and arity, each argument's kind,
//! nesting, and the escapes string literals allow (`\'`, `\{`, `\}`, `\\`).

use crate::paths::is_path;

/// What an argument is, as far as the text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    Text,
    Number,
    /// `true`, `false` or `null`.
    Literal,
    /// A path or a nested call: its type is known only at run time.
    Dynamic,
}

/// Argument kinds a function takes; `None` bounds mean "any number".
struct Signature {
    name: &'static str,
    min: usize,
    max: Option<usize>,
    /// The kind literal arguments must have, where it is fixed.
    literals: Option<Arg>,
}

const fn f(name: &'static str, min: usize, max: Option<usize>, literals: Option<Arg>) -> Signature {
    Signature {
        name,
        min,
        max,
        literals,
    }
}

/// Every function the service knows, with its arity.
const FUNCTIONS: &[Signature] = &[
    f("Array", 0, None, None),
    f("ArrayContains", 2, Some(2), None),
    f("ArrayGetItem", 2, Some(2), None),
    f("ArrayLength", 1, Some(1), None),
    f("ArrayPartition", 2, Some(2), None),
    f("ArrayRange", 3, Some(3), Some(Arg::Number)),
    f("ArrayUnique", 1, Some(1), None),
    f("Base64Decode", 1, Some(1), Some(Arg::Text)),
    f("Base64Encode", 1, Some(1), Some(Arg::Text)),
    f("Format", 1, None, None),
    f("Hash", 2, Some(2), Some(Arg::Text)),
    f("JsonMerge", 3, Some(3), None),
    f("JsonToString", 1, Some(1), None),
    f("MathAdd", 2, Some(2), Some(Arg::Number)),
    f("MathRandom", 2, Some(3), Some(Arg::Number)),
    f("StringSplit", 2, Some(2), Some(Arg::Text)),
    f("StringToJson", 1, Some(1), Some(Arg::Text)),
    f("UUID", 0, Some(0), None),
];

/// Whether `call` is a well-formed intrinsic function call.
pub(crate) fn is_intrinsic(call: &str) -> bool {
    call.starts_with("States.") && intrinsic_problem(call).is_none()
}

/// Why `call`, which starts with `States.`, is not a valid call.
pub(crate) fn intrinsic_problem(call: &str) -> Option<String> {
    let mut parser = Parser { rest: call.trim() };
    match parser.call() {
        Err(reason) => Some(reason),
        Ok(_) if !parser.rest.trim().is_empty() => {
            Some(format!("`{}` follows the call", parser.rest.trim()))
        }
        Ok(_) => None,
    }
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn call(&mut self) -> Result<Arg, String> {
        let Some(after) = self.rest.strip_prefix("States.") else {
            return Err("a call starts with `States.`".into());
        };
        let name_len = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let Some(signature) = FUNCTIONS.iter().find(|s| s.name == name) else {
            return Err(format!("there is no function `States.{name}`"));
        };
        self.rest = after[name_len..]
            .strip_prefix('(')
            .ok_or_else(|| format!("`States.{name}` needs `(` after its name"))?;
        let mut args = Vec::new();
        self.skip_spaces();
        if let Some(rest) = self.rest.strip_prefix(')') {
            self.rest = rest;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_spaces();
                match self.rest.chars().next() {
                    Some(',') => self.rest = &self.rest[1..],
                    Some(')') => {
                        self.rest = &self.rest[1..];
                        break;
                    }
                    _ => return Err(format!("`States.{name}(` is not closed with `)`")),
                }
            }
        }
        check(signature, &args)?;
        Ok(Arg::Dynamic)
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_spaces();
        let rest = self.rest;
        if rest.starts_with('\'') {
            return self.text();
        }
        if rest.starts_with("States.") {
            return self.call();
        }
        // A path or a literal runs to the next `,` or `)` outside brackets.
        let mut depth = 0usize;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if depth == 0 && (c == ',' || c == ')') {
                    return true;
                }
                match c {
                    '[' | '(' => depth += 1,
                    ']' | ')' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                false
            })
            .map_or(rest.len(), |(i, _)| i);
        let token = rest[..end].trim();
        self.rest = &rest[end..];
        match token {
            "" => Err("an argument is missing".into()),
            "true" | "false" | "null" => Ok(Arg::Literal),
            _ if token.parse::<f64>().is_ok() => Ok(Arg::Number),
            _ if token.starts_with('$') && is_path(token) => Ok(Arg::Dynamic),
            _ => Err(format!(
                "`{token}` is neither a path, a number, `true`, `false`, `null` nor a quoted string"
            )),
        }
    }

    /// A single-quoted string, where `\` escapes only `'`, `{`, `}` and `\`.
    fn text(&mut self) -> Result<Arg, String> {
        let mut chars = self.rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.rest = &self.rest[i + 1..];
                    return Ok(Arg::Text);
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

    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start();
    }
}

fn check(signature: &Signature, args: &[Arg]) -> Result<(), String> {
    let name = signature.name;
    let count = args.len();
    let too_few = count < signature.min;
    let too_many = signature.max.is_some_and(|max| count > max);
    if too_few || too_many {
        let wanted = match signature.max {
            Some(max) if max == signature.min => format!("{max}"),
            Some(max) => format!("{} to {max}", signature.min),
            None => format!("at least {}", signature.min),
        };
        return Err(format!(
            "`States.{name}` takes {wanted} arguments, not {count}"
        ));
    }
    if name == "Format" && !matches!(args[0], Arg::Text | Arg::Dynamic) {
        return Err("`States.Format` takes its template string first".into());
    }
    if let Some(kind) = signature.literals
        && let Some(wrong) = args.iter().find(|a| **a != kind && **a != Arg::Dynamic)
    {
        let (want, got) = (describe(kind), describe(*wrong));
        return Err(format!("`States.{name}` takes {want}, not {got}"));
    }
    Ok(())
}

fn describe(arg: Arg) -> &'static str {
    match arg {
        Arg::Text => "strings",
        Arg::Number => "numbers",
        Arg::Literal => "`true`, `false` or `null`",
        Arg::Dynamic => "a path",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_aws_documents() {
        for ok in [
            "States.Format('Hello, {}', $.name)",
            "States.StringToJson($.body)",
            "States.Array('a)', States.UUID())",
            "States.Array('Foo', 2020, $.someJson, null)",
            "States.JsonMerge($.json1, $.json2, false)",
            "States.ArrayRange(1, 9, 2)",
            "States.MathAdd($.value1, -1)",
            "States.MathRandom($.start, $.end)",
            "States.Format('{} \\{braces\\} and \\'quotes\\'', $$.Execution.Id)",
            "States.ArrayGetItem($.items[0:2], 1)",
            "States.ArrayLength($.a.length())",
            "States.Array($['a,b'])",
            "States.StringToJson(States.JsonToString($.a))",
            "States.Hash($.Data, $myVariable.algorithm)",
        ] {
            assert_eq!(intrinsic_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn calls_aws_refuses() {
        for (bad, reason) in [
            ("States.Fromat('x')", "there is no function `States.Fromat`"),
            (
                "States.Format('x'",
                "`States.Format(` is not closed with `)`",
            ),
            (
                r#"States.StringToJson('{"t":"a \"q\" b"}')"#,
                "`\\\"` is not an escape: in a string only `\\'`, `\\{`, `\\}` and `\\\\` are",
            ),
            (
                "States.MathAdd(1,'-1')",
                "`States.MathAdd` takes numbers, not strings",
            ),
            ("States.UUID(1)", "`States.UUID` takes 0 arguments, not 1"),
            (
                "States.ArrayLength()",
                "`States.ArrayLength` takes 1 arguments, not 0",
            ),
            (
                "States.Array(foo)",
                "`foo` is neither a path, a number, `true`, `false`, `null` nor a quoted string",
            ),
            ("States.Array('a',)", "an argument is missing"),
            ("States.UUID() x", "`x` follows the call"),
        ] {
            assert_eq!(intrinsic_problem(bad).as_deref(), Some(reason), "{bad}");
        }
    }
}
