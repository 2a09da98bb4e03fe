//! Mermaid `flowchart TD` rendering of a state machine.
//!
//! The output is committed as a generated artifact and read by a web
//! console, so it is deterministic (document order throughout) and node ids
//! are derived from state names alone: `s_` followed by the name with every
//! character other than an ASCII letter or digit written as `_` and its hex
//! code (`Resize Photo` becomes `s_Resize_20Photo`). The mapping is
//! injective, and state names are unique across a valid document, so ids are
//! too. Nodes are declared first (inside subgraphs for Parallel branches and
//! Map processors), then every edge, so no edge pulls a node into the wrong
//! subgraph. Each branch and processor has its own start and end markers,
//! `<subgraph id>__start` and `__end`; the machine's are `machine_start` and
//! `machine_end`.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde_json::Value;

use crate::types::{ChoiceRule, Comparison, Condition, State, StateMachine};

const START: &str = "machine_start";
const END: &str = "machine_end";

/// The diagram of `machine`, ending in a newline.
pub fn to_mermaid(machine: &StateMachine) -> String {
    let mut diagram = Diagram::default();
    diagram.scope(&machine.states, &machine.start_at, 1, START, END);
    let mut out = String::from("flowchart TD\n");
    out.push_str(&diagram.nodes);
    for edge in &diagram.edges {
        let _ = writeln!(out, "    {edge}");
    }
    out.push_str("    classDef choice fill:#fff3cd,stroke:#b58900\n");
    out.push_str("    classDef succeed fill:#d4edda,stroke:#2e7d32\n");
    out.push_str("    classDef fail fill:#f8d7da,stroke:#c62828\n");
    out
}

/// The node id of a state; see the module docs for the encoding.
pub fn node_id(name: &str) -> String {
    let mut id = String::from("s_");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else {
            let _ = write!(id, "_{:x}", c as u32);
        }
    }
    id
}

#[derive(Default)]
struct Diagram {
    nodes: String,
    edges: Vec<String>,
}

impl Diagram {
    fn line(&mut self, depth: usize, text: String) {
        let _ = writeln!(self.nodes, "{}{text}", "    ".repeat(depth));
    }

    /// One machine, branch or processor: its own start and end markers (so a
    /// branch's `End` is not mistaken for the machine's), then its states.
    fn scope(
        &mut self,
        states: &IndexMap<String, State>,
        start_at: &str,
        depth: usize,
        start: &str,
        end: &str,
    ) {
        self.line(depth, format!("{start}((start))"));
        self.edges
            .push(format!("{start} --> {}", node_id(start_at)));
        self.states(states, depth, end);
        if states.values().any(State::is_end) {
            self.line(depth, format!("{end}((end))"));
        }
    }

    fn states(&mut self, states: &IndexMap<String, State>, depth: usize, end: &str) {
        for (name, state) in states {
            let id = node_id(name);
            let label = escape(name);
            match state {
                State::Parallel(parallel) => {
                    self.line(depth, format!("subgraph {id} [\"{label} (parallel)\"]"));
                    self.line(depth + 1, "direction TB".into());
                    for (i, branch) in parallel.branches.iter().enumerate() {
                        let branch_id = format!("{id}__b{i}");
                        self.line(
                            depth + 1,
                            format!("subgraph {branch_id} [\"branch {}\"]", i + 1),
                        );
                        self.scope(
                            &branch.states,
                            &branch.start_at,
                            depth + 2,
                            &format!("{branch_id}__start"),
                            &format!("{branch_id}__end"),
                        );
                        self.line(depth + 1, "end".into());
                    }
                    self.line(depth, "end".into());
                }
                State::Map(map) => {
                    self.line(depth, format!("subgraph {id} [\"{label} (map)\"]"));
                    self.line(depth + 1, "direction TB".into());
                    if let Some(processor) = map.processor() {
                        self.scope(
                            &processor.states,
                            &processor.start_at,
                            depth + 1,
                            &format!("{id}__start"),
                            &format!("{id}__end"),
                        );
                    }
                    self.line(depth, "end".into());
                }
                State::Choice(_) => self.line(depth, format!("{id}{{\"{label}\"}}:::choice")),
                State::Succeed(_) => self.line(depth, format!("{id}([\"{label}\"]):::succeed")),
                State::Fail(_) => self.line(depth, format!("{id}([\"{label}\"]):::fail")),
                State::Wait(_) => self.line(depth, format!("{id}>\"{label}\"]")),
                State::Pass(_) => self.line(depth, format!("{id}[/\"{label}\"/]")),
                State::Task(_) => self.line(depth, format!("{id}[\"{label}\"]")),
            }
            self.transitions(&id, state, end);
        }
    }

    fn transitions(&mut self, id: &str, state: &State, end: &str) {
        if let State::Choice(choice) = state {
            for ChoiceRule {
                condition, next, ..
            } in &choice.choices
            {
                let label = escape(&short(condition));
                self.edges
                    .push(format!("{id} -->|\"{label}\"| {}", node_id(next)));
            }
            if let Some(default) = &choice.default {
                self.edges
                    .push(format!("{id} -->|\"default\"| {}", node_id(default)));
            }
        }
        if let Some(next) = state.next() {
            self.edges.push(format!("{id} --> {}", node_id(next)));
        }
        if state.is_end() {
            self.edges.push(format!("{id} --> {end}"));
        }
        for catcher in state.catchers() {
            let label = escape(&catcher.error_equals.join(", "));
            self.edges
                .push(format!("{id} -.->|\"{label}\"| {}", node_id(&catcher.next)));
        }
    }
}

/// Text safe inside a quoted Mermaid label: quotes would end it and angle
/// brackets are read as HTML.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// A condition in a compact, readable form such as `format == 'jpeg'`.
pub(crate) fn short(condition: &Condition) -> String {
    let nested = |c: &Condition| match c {
        Condition::And(_) | Condition::Or(_) => format!("({})", short(c)),
        _ => short(c),
    };
    match condition {
        Condition::And(all) => all.iter().map(nested).collect::<Vec<_>>().join(" and "),
        Condition::Or(any) => any.iter().map(nested).collect::<Vec<_>>().join(" or "),
        Condition::Not(inner) => format!("not {}", nested(inner)),
        Condition::Jsonata(Value::String(expression)) => expression
            .trim()
            .trim_start_matches("{%")
            .trim_end_matches("%}")
            .trim()
            .to_owned(),
        Condition::Jsonata(literal) => literal.to_string(),
        Condition::Commented { condition, .. } => short(condition),
        Condition::Compare {
            variable,
            comparison,
        } => {
            let variable = short_path(variable);
            let (op, operand) = operator(comparison);
            format!("{variable} {op} {operand}").trim_end().to_owned()
        }
    }
}

/// `$.a.b` reads as `a.b`; context (`$$.`) and variable paths stay as written.
fn short_path(path: &str) -> &str {
    path.strip_prefix("$.").unwrap_or(path)
}

fn operator(comparison: &Comparison) -> (&'static str, String) {
    use Comparison::*;
    let quoted = |s: &str| format!("'{s}'");
    let path = |s: &str| short_path(s).to_owned();
    let is = |yes: bool, what: &'static str, not: &'static str| {
        (if yes { what } else { not }, String::new())
    };
    match comparison {
        StringEquals(s) | TimestampEquals(s) => ("==", quoted(s)),
        StringLessThan(s) | TimestampLessThan(s) => ("<", quoted(s)),
        StringGreaterThan(s) | TimestampGreaterThan(s) => (">", quoted(s)),
        StringLessThanEquals(s) | TimestampLessThanEquals(s) => ("<=", quoted(s)),
        StringGreaterThanEquals(s) | TimestampGreaterThanEquals(s) => (">=", quoted(s)),
        StringMatches(s) => ("matches", quoted(s)),
        NumericEquals(n) => ("==", n.to_string()),
        NumericLessThan(n) => ("<", n.to_string()),
        NumericGreaterThan(n) => (">", n.to_string()),
        NumericLessThanEquals(n) => ("<=", n.to_string()),
        NumericGreaterThanEquals(n) => (">=", n.to_string()),
        BooleanEquals(b) => ("==", b.to_string()),
        StringEqualsPath(p)
        | NumericEqualsPath(p)
        | BooleanEqualsPath(p)
        | TimestampEqualsPath(p) => ("==", path(p)),
        StringLessThanPath(p) | NumericLessThanPath(p) | TimestampLessThanPath(p) => ("<", path(p)),
        StringGreaterThanPath(p) | NumericGreaterThanPath(p) | TimestampGreaterThanPath(p) => {
            (">", path(p))
        }
        StringLessThanEqualsPath(p)
        | NumericLessThanEqualsPath(p)
        | TimestampLessThanEqualsPath(p) => ("<=", path(p)),
        StringGreaterThanEqualsPath(p)
        | NumericGreaterThanEqualsPath(p)
        | TimestampGreaterThanEqualsPath(p) => (">=", path(p)),
        IsNull(yes) => is(*yes, "is null", "is not null"),
        IsPresent(yes) => is(*yes, "is present", "is absent"),
        IsNumeric(yes) => is(*yes, "is numeric", "is not numeric"),
        IsString(yes) => is(*yes, "is string", "is not string"),
        IsBoolean(yes) => is(*yes, "is boolean", "is not boolean"),
        IsTimestamp(yes) => is(*yes, "is timestamp", "is not timestamp"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_injective_and_mermaid_safe() {
        assert_eq!(node_id("Resize"), "s_Resize");
        assert_eq!(node_id("Resize Photo"), "s_Resize_20Photo");
        assert_eq!(node_id("a_b"), "s_a_5fb");
        assert_ne!(node_id("a b"), node_id("a_20b"));
        assert_eq!(node_id("end"), "s_end");
    }

    #[test]
    fn conditions_read_short() {
        let condition = Condition::and([
            Condition::string_equals("$.format", "jpeg"),
            Condition::not(Condition::or([
                Condition::is_present("$.skip", true),
                Condition::numeric_less_than("$.width", 64),
            ])),
        ]);
        assert_eq!(
            short(&condition),
            "format == 'jpeg' and not (skip is present or width < 64)"
        );
        assert_eq!(
            short(&Condition::jsonata("{% $states.input.width > 64 %}")),
            "$states.input.width > 64"
        );
    }
}
