//! The SVG diagram: its bytes for a small machine, and the contract a web
//! page relies on (well-formed, one `data-state` per state) for every real
//! document.

use std::fs;
use std::path::{Path, PathBuf};

use asl::builder::*;
use asl::{Condition, StateMachine};

/// A loop, a Choice with a default, a Catch and a Parallel of two branches.
fn small() -> StateMachine {
    let mut sm = StateMachineBuilder::new();
    let fetch = sm.declare("Fetch");
    let ready = sm.declare("Ready?");
    let wait = sm.declare("Wait");
    let fan = sm.declare("Fan out");
    let done = sm.declare("Done");
    let failed = sm.declare("Failed");
    sm.define(
        fetch,
        TaskState::new("arn:fetch")
            .catch(Catch::new(["Timeout", "Throttled", "Gone"], failed))
            .next(ready),
    );
    sm.define(
        ready,
        ChoiceState::new()
            .when(Condition::string_equals("$.status", "<ready>"), fan)
            .otherwise(wait),
    );
    sm.define(wait, WaitState::new().seconds(5).next(fetch));
    let mut left = BranchBuilder::new();
    let first = left.declare("First");
    let second = left.declare("Second");
    left.define(first, PassState::new().next(second));
    left.define(second, TaskState::new("arn:second").end());
    let mut right = BranchBuilder::new();
    right.add("Alone", TaskState::new("arn:alone").end());
    sm.define(
        fan,
        ParallelState::new().branch(left).branch(right).next(done),
    );
    sm.define(done, SucceedState::new());
    sm.define(failed, FailState::new().error("Failed"));
    sm.build().expect("the small machine is complete")
}

fn documents() -> Vec<(String, StateMachine)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-world");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/real-world exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.to_string_lossy().ends_with(".asl.json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("readable file");
            let value = serde_json::from_str(&text).expect("real documents are JSON");
            let name = path
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned();
            let machine = asl::parse(&value).unwrap_or_else(|e| panic!("{name}:\n{e}"));
            (name, machine)
        })
        .collect()
}

/// Every state name at any depth, in document order.
fn state_names(states: &indexmap::IndexMap<String, asl::State>, out: &mut Vec<String>) {
    for (name, state) in states {
        out.push(name.clone());
        match state {
            asl::State::Parallel(parallel) => {
                for branch in &parallel.branches {
                    state_names(&branch.states, out);
                }
            }
            asl::State::Map(map) => {
                if let Some(processor) = map.processor() {
                    state_names(&processor.states, out);
                }
            }
            _ => {}
        }
    }
}

/// Parses the SVG and checks the contract; `name` is for messages.
fn check(name: &str, machine: &StateMachine) {
    let svg = asl::to_svg(machine);
    let doc = roxmltree::Document::parse(&svg)
        .unwrap_or_else(|e| panic!("{name}: the SVG is not well-formed: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{name}");
    assert_eq!(root.attribute("class"), Some("asl-graph"), "{name}");
    let (w, h) = (root.attribute("width"), root.attribute("height"));
    assert_eq!(
        root.attribute("viewBox"),
        Some(format!("0 0 {} {}", w.expect("width"), h.expect("height")).as_str()),
        "{name}"
    );

    let mut expected = Vec::new();
    state_names(&machine.states, &mut expected);
    let groups: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("state"))
        .collect();
    let mut drawn: Vec<String> = groups
        .iter()
        .map(|g| g.attribute("data-state").expect("data-state").to_owned())
        .collect();
    expected.sort();
    drawn.sort();
    assert_eq!(drawn, expected, "{name}: each state exactly once");

    for g in &groups {
        let kind = g.attribute("data-kind").expect("data-kind");
        assert!(
            [
                "task", "choice", "parallel", "map", "pass", "wait", "succeed", "fail"
            ]
            .contains(&kind),
            "{name}: kind {kind}"
        );
        let shapes = g
            .children()
            .filter(|n| {
                n.attribute("class")
                    .is_some_and(|c| c.split(' ').any(|c| c == "shape"))
            })
            .count();
        assert_eq!(shapes, 1, "{name}: one shape per state");
        let text = g
            .children()
            .find(|n| n.has_tag_name("text"))
            .expect("a name");
        assert_eq!(text.text(), g.attribute("data-state"), "{name}");
        // Nested states would inherit a container's status colour.
        assert!(
            g.descendants()
                .skip(1)
                .all(|n| n.attribute("class") != Some("state")),
            "{name}: states are not nested"
        );
    }
    for node in doc.descendants().filter(|n| n.is_element()) {
        assert!(
            node.attribute("style").is_none() && node.attribute("fill").is_none(),
            "{name}: colours belong in the style block"
        );
        for end in ["data-from", "data-to"] {
            if let Some(state) = node.attribute(end) {
                assert!(expected.iter().any(|s| s == state), "{name}: {end}={state}");
            }
        }
    }
}

#[test]
fn small_machine_snapshot() {
    insta::assert_snapshot!("small_machine_svg", asl::to_svg(&small()));
}

#[test]
fn small_machine_keeps_the_contract() {
    let machine = small();
    check("small", &machine);
    let svg = asl::to_svg(&machine);
    assert!(svg.contains(r#"data-state="Ready?" data-kind="choice""#));
    assert!(svg.contains(r#"data-state="Fan out" data-kind="parallel""#));
    assert!(svg.contains(r#"<path class="edge edge-catch" data-from="Fetch" data-to="Failed""#));
    assert!(svg.contains(">Timeout +2<title>Timeout, Throttled, Gone</title></text>"));
    assert!(svg.contains("status == &#39;&lt;ready&gt;&#39;"));
    assert_eq!(svg.matches("<marker ").count(), 1);
    assert_eq!(svg.matches(r#"class="terminal terminal-start""#).count(), 3);
}

#[test]
fn real_documents_keep_the_contract() {
    for (name, machine) in documents() {
        check(&name, &machine);
    }
}

#[test]
fn rendering_is_deterministic() {
    for (name, machine) in documents() {
        assert_eq!(
            asl::to_svg(&machine),
            asl::to_svg(&machine.clone()),
            "{name}"
        );
    }
}
