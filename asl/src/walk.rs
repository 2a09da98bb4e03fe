//! The states of a machine in all its scopes: its own, its Parallel
//! branches' and its Map processors', at any depth.
//!
//! Two walks of the same tree, one per representation:
//! [`StateMachine::all_states`] over the typed model, for whoever holds a
//! parsed or built machine, and `nested` over raw JSON for the validator,
//! whose documents may not parse. Both name a state's place the way the
//! validator reports it: `States.Process.Branches[0].States.Resize`.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde_json::Value;

use crate::types::{State, StateMachine};

/// Where a state sits: the sub-machine that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location<'a> {
    /// The path of the `States` object that holds the state: `States`,
    /// `States.Process.Branches[0].States` or `States.Each.ItemProcessor.States`.
    pub scope: String,
    /// The Parallel or Map state whose sub-machine holds the state; `None`
    /// at the top level.
    pub container: Option<&'a str>,
    /// The branch of the innermost Parallel state around the state; the
    /// states of a Map's processor are in the branch the Map is in.
    pub branch: Option<usize>,
}

/// One state of a machine, with its name and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRef<'a> {
    pub name: &'a str,
    pub state: &'a State,
    pub location: Location<'a>,
}

impl StateRef<'_> {
    /// The state's path, such as `States.Process.Branches[0].States.Resize`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.location.scope, self.name)
    }
}

impl StateMachine {
    /// Every state of the machine and of its sub-machines, in document
    /// order: a Parallel or Map state comes right before the states inside
    /// it. A Map with both `ItemProcessor` and the legacy `Iterator` (which
    /// the validator refuses) has the states of both.
    pub fn all_states(&self) -> Vec<StateRef<'_>> {
        let top = Location {
            scope: "States".to_owned(),
            container: None,
            branch: None,
        };
        let mut out = Vec::new();
        collect(&self.states, &top, &mut out);
        out
    }

    /// The branch index of every state inside a Parallel state, by name
    /// (names are unique across the machine). A state in a nested Parallel
    /// has the index of its own branch; one in a Map's processor has the
    /// index of the branch the Map is in. Top-level states are absent.
    pub fn parallel_branches(&self) -> BTreeMap<String, usize> {
        self.all_states()
            .into_iter()
            .filter_map(|s| Some((s.name.to_owned(), s.location.branch?)))
            .collect()
    }
}

fn collect<'a>(
    states: &'a IndexMap<String, State>,
    at: &Location<'a>,
    out: &mut Vec<StateRef<'a>>,
) {
    for (name, state) in states {
        out.push(StateRef {
            name,
            state,
            location: at.clone(),
        });
        let inside = |field: String, branch: Option<usize>| Location {
            scope: format!("{}.{name}.{field}.States", at.scope),
            container: Some(name),
            branch,
        };
        match state {
            State::Parallel(parallel) => {
                for (i, branch) in parallel.branches.iter().enumerate() {
                    collect(
                        &branch.states,
                        &inside(format!("Branches[{i}]"), Some(i)),
                        out,
                    );
                }
            }
            State::Map(map) => {
                let processors = [
                    ("ItemProcessor", &map.item_processor),
                    ("Iterator", &map.iterator),
                ];
                for (field, processor) in processors {
                    if let Some(processor) = processor {
                        collect(&processor.states, &inside(field.to_owned(), at.branch), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Which sub-machine a scope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The document itself.
    Root,
    /// A Parallel branch.
    Branch,
    /// A Map's `ItemProcessor` or `Iterator`.
    Processor,
}

/// A sub-machine that a state holds, as written.
pub(crate) struct Nested<'a> {
    /// Its place in the state: `Branches[0]`, `ItemProcessor` or `Iterator`.
    pub field: String,
    pub scope: Scope,
    pub machine: &'a Value,
}

/// The sub-machines written in a state, whatever its `Type`: every entry of
/// a `Branches` array, then `ItemProcessor` and `Iterator` if present.
/// Callers that trust the `Type` keep the kind of scope it allows.
pub(crate) fn nested(state: &Value) -> Vec<Nested<'_>> {
    let branches = state.get("Branches").and_then(Value::as_array);
    let branches = branches
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, machine)| Nested {
            field: format!("Branches[{i}]"),
            scope: Scope::Branch,
            machine,
        });
    let processors = ["ItemProcessor", "Iterator"]
        .into_iter()
        .filter_map(|field| {
            Some(Nested {
                field: field.to_owned(),
                scope: Scope::Processor,
                machine: state.get(field)?,
            })
        });
    branches.chain(processors).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn machine() -> StateMachine {
        serde_json::from_value(json!({
            "StartAt": "Fork",
            "States": {
                "Fork": { "Type": "Parallel", "Next": "Each", "Branches": [
                    { "StartAt": "A", "States": { "A": { "Type": "Pass", "End": true } } },
                    { "StartAt": "Inner", "States": {
                        "Inner": { "Type": "Parallel", "End": true, "Branches": [
                            { "StartAt": "B", "States": { "B": { "Type": "Pass", "End": true } } },
                            { "StartAt": "Loop", "States": {
                                "Loop": { "Type": "Map", "End": true, "ItemProcessor": {
                                    "StartAt": "C",
                                    "States": { "C": { "Type": "Pass", "End": true } }
                                } }
                            } }
                        ] }
                    } }
                ] },
                "Each": { "Type": "Map", "End": true, "Iterator": {
                    "StartAt": "D", "States": { "D": { "Type": "Succeed" } }
                } }
            }
        }))
        .expect("the test machine parses")
    }

    #[test]
    fn all_states_are_visited_in_document_order_with_their_places() {
        let machine = machine();
        let seen: Vec<(String, Option<&str>, Option<usize>)> = machine
            .all_states()
            .iter()
            .map(|s| (s.path(), s.location.container, s.location.branch))
            .collect();
        let expected = [
            ("States.Fork", None, None),
            ("States.Fork.Branches[0].States.A", Some("Fork"), Some(0)),
            (
                "States.Fork.Branches[1].States.Inner",
                Some("Fork"),
                Some(1),
            ),
            (
                "States.Fork.Branches[1].States.Inner.Branches[0].States.B",
                Some("Inner"),
                Some(0),
            ),
            (
                "States.Fork.Branches[1].States.Inner.Branches[1].States.Loop",
                Some("Inner"),
                Some(1),
            ),
            (
                "States.Fork.Branches[1].States.Inner.Branches[1].States.Loop.ItemProcessor.States.C",
                Some("Loop"),
                Some(1),
            ),
            ("States.Each", None, None),
            ("States.Each.Iterator.States.D", Some("Each"), None),
        ];
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(path, container, branch)| (path.to_owned(), container, branch))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn parallel_branches_maps_the_states_inside_parallel_states() {
        let expected = [("A", 0), ("Inner", 1), ("B", 0), ("Loop", 1), ("C", 1)]
            .into_iter()
            .map(|(name, branch)| (name.to_owned(), branch))
            .collect::<BTreeMap<_, _>>();
        assert_eq!(machine().parallel_branches(), expected);
    }

    #[test]
    fn nested_lists_what_is_written_whatever_the_type() {
        let state = json!({
            "Type": "Task",
            "Branches": [{}, {}],
            "Iterator": {}
        });
        let fields: Vec<(String, Scope)> = nested(&state)
            .into_iter()
            .map(|n| (n.field, n.scope))
            .collect();
        assert_eq!(
            fields,
            [
                ("Branches[0]".to_owned(), Scope::Branch),
                ("Branches[1]".to_owned(), Scope::Branch),
                ("Iterator".to_owned(), Scope::Processor),
            ]
        );
    }
}
