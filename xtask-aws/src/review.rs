//! Review before apply: what a change set would do to each resource, the
//! state machine's definition diff in ASL terms, and the confirmation a
//! change that removes or replaces something needs.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use aws_sdk_cloudformation::types::ResourceChange;
use serde_json::Value;

/// One resource's change, as CloudFormation computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `Add`, `Modify`, `Remove` (or `Import`, `Dynamic`).
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional`, for a `Modify`.
    pub replacement: Option<String>,
    /// The properties the change touches.
    pub properties: Vec<String>,
    /// Whether a property's own new value (not a reference CloudFormation
    /// re-evaluates) requires recreating the resource.
    pub recreates: bool,
}

impl Change {
    pub fn of(rc: &ResourceChange) -> Change {
        let mut properties: Vec<String> = rc
            .details()
            .iter()
            .filter_map(|d| d.target()?.name().map(str::to_owned))
            .collect();
        properties.dedup();
        let recreates = rc.details().iter().any(|d| {
            let requires = d
                .target()
                .and_then(|t| t.requires_recreation())
                .map(|r| r.as_str());
            let evaluation = d.evaluation().map(|e| e.as_str());
            requires == Some("Always")
                || (requires == Some("Conditionally") && evaluation == Some("Static"))
        });
        Change {
            action: rc.action().map_or("?", |a| a.as_str()).to_owned(),
            logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: rc.resource_type().unwrap_or_default().to_owned(),
            replacement: rc.replacement().map(|r| r.as_str().to_owned()),
            properties,
            recreates,
        }
    }

    /// Whether the change deletes something: a removal, or a replacement
    /// that is certain or that a changed property of its own may require.
    /// A `Conditional` replacement of a resource that only refers to a
    /// changed one (CloudFormation re-evaluates the reference) is not.
    pub fn destroys(&self) -> bool {
        self.action == "Remove" || self.replacement.as_deref() == Some("True") || self.recreates
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<7} {} ({})",
            self.action, self.logical_id, self.resource_type
        )?;
        if let Some(replacement) = &self.replacement {
            write!(f, ", replacement: {replacement}")?;
        }
        if !self.properties.is_empty() {
            write!(f, ", properties: {}", self.properties.join(", "))?;
        }
        Ok(())
    }
}

/// The states a new definition adds, removes and changes, by name, nested
/// states included.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DefinitionDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl DefinitionDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// How `new` differs from the `deployed` definition (none: a new stack).
/// The deployed one has CloudFormation's substitutions made: a `${Name}`
/// placeholder in `new` matches whatever stands in its place.
pub fn definition_diff(deployed: Option<&Value>, new: &Value) -> DefinitionDiff {
    let before = deployed.map(states).unwrap_or_default();
    let after = states(new);
    DefinitionDiff {
        added: after
            .keys()
            .filter(|k| !before.contains_key(*k))
            .cloned()
            .collect(),
        removed: before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .cloned()
            .collect(),
        changed: after
            .iter()
            .filter(|(k, v)| before.get(*k).is_some_and(|old| !same(v, old)))
            .map(|(k, _)| k.clone())
            .collect(),
    }
}

/// Every state by name, each without the states nested in it (those are
/// entries of their own), so a change deep in a branch names its state only.
fn states(definition: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    collect(definition.get("States"), &mut out);
    out
}

fn collect(states: Option<&Value>, out: &mut BTreeMap<String, Value>) {
    let Some(Value::Object(states)) = states else {
        return;
    };
    for (name, state) in states {
        let mut own = state.clone();
        if let Value::Object(fields) = &mut own {
            for nested in ["Branches", "ItemProcessor", "Iterator"] {
                if let Some(inner) = fields.remove(nested) {
                    let scopes = match inner {
                        Value::Array(branches) => branches,
                        processor => vec![processor],
                    };
                    for scope in &scopes {
                        collect(scope.get("States"), out);
                    }
                    fields.insert(nested.to_owned(), Value::from(scopes.len()));
                }
            }
        }
        out.insert(name.clone(), own);
    }
}

/// Equal, where a string of `new` holding a `${…}` placeholder equals any
/// string: CloudFormation substituted it on deploying.
fn same(new: &Value, deployed: &Value) -> bool {
    match (new, deployed) {
        (Value::String(n), Value::String(_)) if n.contains("${") => true,
        (Value::Object(n), Value::Object(d)) => {
            n.len() == d.len()
                && n.iter()
                    .all(|(k, v)| d.get(k).is_some_and(|dv| same(v, dv)))
        }
        (Value::Array(n), Value::Array(d)) => {
            n.len() == d.len() && n.iter().zip(d).all(|(a, b)| same(a, b))
        }
        _ => new == deployed,
    }
}

/// The review as text: one line per resource change, then the definition's.
pub fn render(stack_name: &str, changes: &[Change], definition: &DefinitionDiff) -> String {
    let mut out = format!("stack {stack_name}: {} resource changes\n", changes.len());
    for change in changes {
        out.push_str(&format!("  {change}\n"));
    }
    if definition.is_empty() {
        out.push_str("state machine definition: unchanged\n");
    } else {
        out.push_str("state machine definition:\n");
        for (sign, states) in [
            ("+", &definition.added),
            ("-", &definition.removed),
            ("~", &definition.changed),
        ] {
            for state in states {
                out.push_str(&format!("  {sign} {state}\n"));
            }
        }
    }
    out
}

/// Asks `question` on the terminal and goes on only when the answer is one
/// of `accepted`; `yes` skips the question. Without a terminal it refuses:
/// a script must say `--yes`.
pub fn confirm(question: &str, accepted: &[&str], yes: bool) -> Result<()> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    confirm_on(question, accepted, yes, terminal.then(|| stdin.lock()))
}

fn confirm_on(
    question: &str,
    accepted: &[&str],
    yes: bool,
    terminal: Option<impl BufRead>,
) -> Result<()> {
    if yes {
        return Ok(());
    }
    let Some(mut terminal) = terminal else {
        bail!("{question}\nrefusing to go on without a terminal to ask on: pass --yes to go ahead");
    };
    eprint!("{question} ");
    std::io::stderr()
        .flush()
        .context("failed to write the question")?;
    let mut answer = String::new();
    terminal
        .read_line(&mut answer)
        .context("failed to read the answer")?;
    if accepted.contains(&answer.trim()) {
        Ok(())
    } else {
        bail!("not confirmed; nothing was changed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definitions_differ_by_state_with_substituted_values_equal() {
        let deployed = json!({"States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f"}, "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}], "End": true},
            "Gone": {"Type": "Succeed"},
        }});
        let new = json!({"States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "${ExtractMetadataFunctionArn}"}, "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 1, "End": true}}}], "End": true},
            "New": {"Type": "Succeed"},
        }});
        let diff = definition_diff(Some(&deployed), &new);
        assert_eq!(
            diff,
            DefinitionDiff {
                added: vec!["New".into()],
                removed: vec!["Gone".into()],
                changed: vec!["B".into()],
            }
        );
        assert!(definition_diff(Some(&new), &new).is_empty());
        assert_eq!(definition_diff(None, &new).added, ["A", "B", "New", "P"]);
    }

    #[test]
    fn removals_and_replacements_destroy() {
        let change = |action: &str, replacement: Option<&str>, recreates| Change {
            action: action.into(),
            logical_id: "X".into(),
            resource_type: "AWS::S3::Bucket".into(),
            replacement: replacement.map(str::to_owned),
            properties: vec![],
            recreates,
        };
        assert!(change("Remove", None, false).destroys());
        assert!(change("Modify", Some("True"), true).destroys());
        assert!(change("Modify", Some("Conditional"), true).destroys());
        assert!(!change("Modify", Some("Conditional"), false).destroys());
        assert!(!change("Modify", Some("False"), false).destroys());
        assert!(!change("Add", None, false).destroys());
    }

    #[test]
    fn confirmation_needs_yes_or_the_answer() {
        let none: Option<&[u8]> = None;
        assert!(confirm_on("go?", &["y"], true, none).is_ok());
        let refused = confirm_on("go?", &["y"], false, none).expect_err("no terminal");
        assert!(refused.to_string().contains("pass --yes"), "{refused}");
        assert!(confirm_on("go?", &["y", "yes"], false, Some(&b"yes\n"[..])).is_ok());
        assert!(confirm_on("go?", &["y"], false, Some(&b"n\n"[..])).is_err());
        assert!(
            confirm_on(
                "type photopipe:",
                &["photopipe"],
                false,
                Some(&b"photopipe\n"[..])
            )
            .is_ok()
        );
    }
}
