//! Round trips over real state machines from public repositories (see
//! `real-world/SOURCES.md`): each parses, validates, and serializes back to
//! the same document, with state order and template key order intact.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Keys whose values are user templates: their key order is the author's.
const TEMPLATES: &[&str] = &[
    "Parameters",
    "Arguments",
    "ResultSelector",
    "Result",
    "Output",
    "Assign",
    "ItemSelector",
    "Credentials",
    "BatchInput",
    "ReaderConfig",
    "WriterConfig",
];

/// The real documents, then `accepted/`: minimal ones of our own, one per
/// unusual form AWS accepts (a class the validator once refused).
fn documents() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests/real-world", "tests/accepted"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut found: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("the test directory exists")
            .map(|entry| entry.expect("readable directory").path())
            .filter(|path| path.to_string_lossy().ends_with(".asl.json"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

fn read(path: &Path) -> Value {
    let text = fs::read_to_string(path).expect("readable file");
    serde_json::from_str(&text).expect("real documents are JSON")
}

/// Field order inside the typed parts is canonicalised by serialization, so
/// those objects are compared sorted; `States` maps and templates keep their
/// order, which is what the comparison then checks.
fn normalize(value: &Value, keep_order: bool) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            if !keep_order {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            let mut out = Map::new();
            for (key, child) in entries {
                let child_order = keep_order || TEMPLATES.contains(&key.as_str());
                let child = if key == "States" && !keep_order {
                    match child {
                        Value::Object(states) => Value::Object(
                            states
                                .iter()
                                .map(|(name, state)| (name.clone(), normalize(state, false)))
                                .collect(),
                        ),
                        other => normalize(other, false),
                    }
                } else {
                    normalize(child, child_order)
                };
                out.insert(key.clone(), child);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| normalize(item, keep_order))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn there_are_enough_real_documents() {
    assert!(
        documents().len() >= 10,
        "collect more documents under tests/real-world"
    );
}

#[test]
fn real_documents_round_trip_and_validate() {
    for path in documents() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        let original = read(&path);
        let machine = asl::parse(&original).unwrap_or_else(|e| panic!("{name}:\n{e}"));
        let back = serde_json::to_value(&machine).expect("serializes");
        assert_eq!(back, original, "{name}: round trip changed the document");
        assert_eq!(
            serde_json::to_string_pretty(&normalize(&back, false)).expect("serializes"),
            serde_json::to_string_pretty(&normalize(&original, false)).expect("serializes"),
            "{name}: round trip reordered states or template keys"
        );
        machine
            .validate()
            .unwrap_or_else(|e| panic!("{name} after the round trip:\n{e}"));
    }
}

#[test]
fn mermaid_of_real_documents() {
    for name in [
        "explicit-failure-with-parallel-states.asl.json",
        "jsonata-data-extraction-child.asl.json",
        "human-in-the-loop.asl.json",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/real-world")
            .join(name);
        let machine = asl::parse(&read(&path)).expect("parses");
        insta::assert_snapshot!(
            name.trim_end_matches(".asl.json"),
            asl::to_mermaid(&machine)
        );
    }
}

/// The order check above would be worthless if `normalize` hid reordering.
#[test]
fn normalize_keeps_state_and_template_order_visible() {
    let original = serde_json::json!({
        "StartAt": "A",
        "States": {
            "A": { "Type": "Pass", "Parameters": { "x": 1, "y": 2 }, "Next": "B" },
            "B": { "Type": "Succeed" }
        }
    });
    let states_swapped = serde_json::json!({
        "StartAt": "A",
        "States": {
            "B": { "Type": "Succeed" },
            "A": { "Type": "Pass", "Parameters": { "x": 1, "y": 2 }, "Next": "B" }
        }
    });
    let template_swapped = serde_json::json!({
        "StartAt": "A",
        "States": {
            "A": { "Next": "B", "Type": "Pass", "Parameters": { "y": 2, "x": 1 } },
            "B": { "Type": "Succeed" }
        }
    });
    let fields_swapped = serde_json::json!({
        "States": {
            "A": { "Next": "B", "Parameters": { "x": 1, "y": 2 }, "Type": "Pass" },
            "B": { "Type": "Succeed" }
        },
        "StartAt": "A"
    });
    let text = |v: &Value| serde_json::to_string(&normalize(v, false)).expect("serializes");
    assert_ne!(text(&original), text(&states_swapped));
    assert_ne!(text(&original), text(&template_swapped));
    assert_eq!(text(&original), text(&fields_swapped));
}
