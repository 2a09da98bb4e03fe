//! `cargo xtask sim replay DIR`: runs the simulator on the executions that
//! LocalStack's Step Functions test suite recorded on AWS (its
//! `*.snapshot.json` files), with each task answering what it answered then,
//! and compares the two histories event by event. It is a report: it exits 0
//! whatever it finds, and fails only when DIR holds no recordings.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use sim::Simulator;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SimCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Replay the execution histories of LocalStack's Step Functions tests
    /// (DIR = its `tests/aws/services/stepfunctions`) and report where the
    /// simulator's history differs from the one AWS recorded.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The `tests/aws/services/stepfunctions` directory of a LocalStack checkout.
    pub dir: PathBuf,
    /// Print the report as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        SimCommand::Replay(replay) => run_replay(&replay),
    }
}

/// One recorded execution and what replaying it gave.
#[derive(Debug, Serialize)]
struct Replayed {
    test: String,
    /// The recorded-content entry that holds the history.
    entry: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    definition: Option<String>,
    outcome: Outcome,
}

#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Outcome {
    Skipped {
        reason: String,
    },
    Agrees {
        events: usize,
        /// The first state output that holds the same objects with their
        /// keys in another order (JSON objects are unordered, so the
        /// histories still agree; AWS's order is what users see).
        #[serde(skip_serializing_if = "Option::is_none")]
        key_order: Option<String>,
    },
    Differs(Difference),
}

#[derive(Debug, Serialize)]
struct Difference {
    /// What differs first: the event's type, state name, input, output, failure…
    category: String,
    /// Its index in the recorded history.
    index: usize,
    recorded: Value,
    simulated: Value,
}

fn run_replay(args: &ReplayArgs) -> Result<()> {
    let dir = &args.dir;
    if !dir.is_dir() {
        bail!(
            "{} is not a directory (expected LocalStack's tests/aws/services/stepfunctions)",
            dir.display()
        );
    }
    let snapshots = files_under(&dir.join("v2"), ".snapshot.json");
    if snapshots.is_empty() {
        bail!("no *.snapshot.json under {}", dir.join("v2").display());
    }
    let mut sources = Sources::new(dir);
    let mut replayed = Vec::new();
    for snapshot in &snapshots {
        eprintln!("replaying {}", snapshot.display());
        replayed.extend(replay_snapshot(snapshot, &mut sources)?);
    }
    let summary = Summary::of(&replayed);
    if args.json {
        let report = serde_json::json!({"summary": summary, "executions": replayed});
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&replayed, &summary);
    }
    Ok(())
}

/// Every execution history recorded in one snapshot file.
fn replay_snapshot(snapshot: &Path, sources: &mut Sources) -> Result<Vec<Replayed>> {
    let text = std::fs::read_to_string(snapshot)
        .with_context(|| format!("failed to read {}", snapshot.display()))?;
    let entries: BTreeMap<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", snapshot.display()))?;
    let name = snapshot
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let test_file = snapshot.with_file_name(name.replace(".snapshot.json", ".py"));
    let mut out = Vec::new();
    for (test, entry) in &entries {
        let histories = histories(&entry["recorded-content"]);
        if histories.is_empty() {
            continue;
        }
        let definition = sources.definition(&test_file, test);
        for (key, events) in histories {
            let outcome = match &definition {
                Ok(resolved) => replay_one(resolved, events),
                Err(reason) => Outcome::Skipped {
                    reason: reason.clone(),
                },
            };
            out.push(Replayed {
                test: test.clone(),
                entry: key,
                definition: definition
                    .as_ref()
                    .ok()
                    .and_then(|r| r.files.first())
                    .map(|p| p.display().to_string()),
                outcome,
            });
        }
    }
    Ok(out)
}

/// The `events` arrays of a test's recorded content, with the key they are under.
fn histories(content: &Value) -> Vec<(String, &[Value])> {
    let Value::Object(entries) = content else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(key, v)| Some((key.clone(), v.get("events")?.as_array()?.as_slice())))
        .collect()
}

fn replay_one(resolved: &Resolved, recorded: &[Value]) -> Outcome {
    let skip = |reason: &str| Outcome::Skipped {
        reason: reason.to_owned(),
    };
    // `reverseOrder=True` recordings list the history newest first.
    let mut recorded = recorded.to_vec();
    if recorded
        .last()
        .is_some_and(|e| e["type"] == "ExecutionStarted")
    {
        recorded.reverse();
    }
    let Some(mut document) = pick_definition(resolved, &recorded) else {
        return skip("unsupported: the definition is not JSON5 this reader understands");
    };
    let redacted = redacted_input(&recorded[0]);
    if let Some(reason) = unsupported(&document, &recorded, redacted && resolved.input.is_none()) {
        return skip(reason);
    }
    use_recorded_resources(&mut document, &recorded, resolved.activity);
    // The validator refuses the tests' placeholder resources (`_tbd_`, which
    // the test replaces before creating the machine): the types alone will do.
    let parsed = asl::parse(&document).or_else(|_| serde_json::from_value(document.clone()));
    let Ok(machine) = parsed else {
        return skip("unsupported: asl does not parse the definition");
    };
    let input = match (&resolved.input, redacted) {
        (Some(input), true) => input.clone(),
        _ => json_of(&recorded[0]["executionStartedEventDetails"]["input"]),
    };
    let mut mocks = reader_mocks(sim::recorded::mocks(&recorded), resolved, &recorded);
    if let Some(handler) = &resolved.lambda_handler {
        for state in unrecorded_tasks(&document, &recorded) {
            mocks = mocks.state(state, lambda_mock(handler.clone()));
        }
    }
    let execution = Simulator::new(&mocks)
        .with_options(snapshot_options())
        .run(&machine, input);
    let simulated = sim::history::to_json(&execution.events);
    match compare(&recorded, &simulated, &resolved.placeholders) {
        None => Outcome::Agrees {
            events: recorded.len(),
            key_order: key_order_difference(&recorded, &simulated),
        },
        Some(mut difference) => {
            if resolved.edited {
                difference
                    .category
                    .push_str(" (the test edits the template)");
            }
            Outcome::Differs(difference)
        }
    }
}

/// The Task states of `document` that the recorded history never enters.
fn unrecorded_tasks(document: &Value, recorded: &[Value]) -> Vec<String> {
    let entered: Vec<&str> = recorded
        .iter()
        .filter_map(|e| e.pointer("/stateEnteredEventDetails/name")?.as_str())
        .collect();
    let mut tasks = Vec::new();
    let mut stack = vec![document];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(fields) => {
                if let Some(Value::Object(states)) = fields.get("States") {
                    tasks.extend(
                        states
                            .iter()
                            .filter(|(name, s)| {
                                s["Type"] == "Task" && !entered.contains(&name.as_str())
                            })
                            .map(|(name, _)| name.clone()),
                    );
                }
                stack.extend(fields.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    tasks
}

/// A Lambda task answered by running the test's own handler with python3,
/// as `lambda:invoke` (the response around the payload) or as a function
/// ARN resource (the payload itself) would answer.
fn lambda_mock(handler: PathBuf) -> impl Fn(&sim::Call<'_>) -> sim::Response + Send + Sync {
    move |call| {
        let invoke = call.resource.starts_with("arn:aws:states:::lambda:invoke");
        let event = match invoke {
            true => call
                .parameters
                .get("Payload")
                .cloned()
                .unwrap_or(Value::Null),
            false => call.parameters.clone(),
        };
        match run_handler(&handler, &event) {
            Ok(payload) if invoke => sim::Response::ok(serde_json::json!({
                "ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200
            })),
            Ok(payload) => sim::Response::ok(payload),
            Err(why) => sim::Response::throw("Lambda.Unknown", why),
        }
    }
}

fn run_handler(handler: &Path, event: &Value) -> Result<Value, String> {
    use std::io::Write;
    const RUN: &str = "import importlib.util, json, sys\n\
        spec = importlib.util.spec_from_file_location('handler', sys.argv[1])\n\
        module = importlib.util.module_from_spec(spec)\n\
        spec.loader.exec_module(module)\n\
        print(json.dumps(module.handler(json.load(sys.stdin), None)))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", RUN])
        .arg(handler)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("python3 runs the test's Lambda handler: {e} (install it: apt install python3)")
        })?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(event.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the handler's answer is not JSON: {e}"))
}

/// The first state whose recorded output has an object whose keys the
/// simulated one, equal as JSON, orders otherwise. Outputs pair by state
/// name and value, which holds inside Parallels and Maps too.
fn key_order_difference(recorded: &[Value], simulated: &[Value]) -> Option<String> {
    let exits = |events: &[Value]| -> Vec<(String, Value)> {
        events
            .iter()
            .filter(|e| {
                e["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("StateExited"))
            })
            .map(|e| {
                let details = &e["stateExitedEventDetails"];
                let name = details["name"].as_str().unwrap_or_default().to_owned();
                (name, parse_nested(json_of(&details["output"])))
            })
            .collect()
    };
    let mut simulated = exits(simulated);
    for (name, output) in exits(recorded) {
        let Some(at) = simulated
            .iter()
            .position(|(n, o)| *n == name && *o == output)
        else {
            continue;
        };
        let (_, ours) = simulated.remove(at);
        if key_orders(&output) != key_orders(&ours) {
            return Some(name);
        }
    }
    None
}

/// Every object's keys, in document order; objects with a snapshot's
/// `<placeholder>` key are left out, as the snapshot renamed them.
fn key_orders(value: &Value) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(fields) => {
                if !fields.keys().any(|k| k.starts_with('<')) {
                    out.push(fields.keys().map(String::as_str).collect());
                }
                stack.extend(fields.values().rev());
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
    }
    out
}

/// The simulator's names in the snapshot's account (LocalStack replaces
/// the account id with 111111111111, which the placeholders leave in ARNs).
fn snapshot_options() -> sim::Options {
    sim::Options {
        state_machine_arn: "arn:aws:states:us-east-1:111111111111:stateMachine:replayed".into(),
        role_arn: "arn:aws:iam::111111111111:role/replayed".into(),
        ..sim::Options::default()
    }
}

/// The first of the test's definitions that has the state the recorded
/// history enters first, with its `%…%` placeholders filled by the test's
/// parameters.
fn pick_definition(resolved: &Resolved, recorded: &[Value]) -> Option<Value> {
    let first_state = recorded
        .iter()
        .find_map(|e| e.pointer("/stateEnteredEventDetails/name")?.as_str());
    let documents: Vec<Value> = resolved
        .files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| serde_json::from_str(&json5_to_json(&text)).ok())
        .map(|document| fill_placeholders(document, resolved))
        .collect();
    let has_state =
        |d: &Value| first_state.is_some_and(|s| d.to_string().contains(&format!("\"{s}\"")));
    let found = documents.iter().position(has_state).unwrap_or(0);
    let mut document = documents.into_iter().nth(found)?;
    for edit in &resolved.edits {
        apply_edit(&mut document, edit);
    }
    Some(document)
}

/// A template's `"%SOME_PLACEHOLDER%"` strings, which tests replace by a
/// literal (`definition.replace(…)`) or by their one parameter
/// (`test_input_path[$$.Execution.Input]`). A function ARN placeholder
/// needs none: the recorded history's resource is taken.
fn fill_placeholders(document: Value, resolved: &Resolved) -> Value {
    let mut text = document.to_string();
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    for (placeholder, literal) in &resolved.replacements {
        text = text.replace(placeholder, &escape(literal));
    }
    // Replacing `"_tbd_"` with its quotes puts JSON in; `_tbd_`, string text.
    for (from, to) in &resolved.text_edits {
        let to = if from.starts_with('"') {
            to.clone()
        } else {
            escape(to)
        };
        text = text.replace(from.as_str(), &to);
    }
    let found = text.find("\"%").and_then(|start| {
        let length = text[start + 2..].find("%\"")?;
        Some(text[start + 1..start + 2 + length + 1].to_owned())
    });
    if let Some(placeholder) = found
        && !resolved.params.is_empty()
        && !placeholder.contains("LAMBDA_FUNCTION_ARN")
    {
        text = text.replace(&placeholder, &escape(&resolved.params));
    }
    serde_json::from_str(&text).unwrap_or(document)
}

/// Sets each Task state's `Resource` to what the recorded history says it
/// ran: tests replace the templates' placeholder resources (`_tbd_`, a
/// function ARN placeholder) before creating the machine, and a Lambda
/// function's ARN is recorded with other events than `lambda:invoke`.
/// The ARN the replay gives the activity a test creates.
const ACTIVITY_ARN: &str = "arn:aws:states:us-east-1:111111111111:activity:activity_arn";

/// Each Task state's resource as the recorded history names it; with
/// `activity`, a state the test points at its activity (`_tbd_` in the
/// template) gets one even when the history never scheduled it.
fn use_recorded_resources(document: &mut Value, recorded: &[Value], activity: bool) {
    let mut ran: HashMap<String, String> = HashMap::new();
    let mut state = String::new();
    for e in recorded {
        if let Some(name) = e
            .pointer("/stateEnteredEventDetails/name")
            .and_then(Value::as_str)
        {
            state = name.to_owned();
        }
        let resource = match e["type"].as_str() {
            Some("LambdaFunctionScheduled") => e
                .pointer("/lambdaFunctionScheduledEventDetails/resource")
                .and_then(Value::as_str)
                .map(str::to_owned),
            Some("TaskScheduled") => {
                let d = &e["taskScheduledEventDetails"];
                match (d["resourceType"].as_str(), d["resource"].as_str()) {
                    (Some(kind), Some(name)) => Some(format!("arn:aws:states:::{kind}:{name}")),
                    _ => None,
                }
            }
            Some("ActivityScheduled") => Some(ACTIVITY_ARN.to_owned()),
            _ => None,
        };
        if let Some(resource) = resource {
            ran.entry(state.clone()).or_insert(resource);
        }
    }
    set_resources(document, &ran, activity);
}

fn set_resources(value: &mut Value, ran: &HashMap<String, String>, activity: bool) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::Object(states)) = fields.get_mut("States") {
                for (name, state) in states.iter_mut() {
                    let Some(slot) = state.get_mut("Resource") else {
                        continue;
                    };
                    if let Some(resource) = ran.get(name) {
                        *slot = Value::String(resource.clone());
                    } else if activity && slot.as_str().is_some_and(|r| r.contains("_tbd_")) {
                        *slot = Value::String(ACTIVITY_ARN.to_owned());
                    }
                }
            }
            fields
                .values_mut()
                .for_each(|v| set_resources(v, ran, activity));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| set_resources(v, ran, activity)),
        _ => {}
    }
}

/// Why an execution cannot be replayed, if it cannot: what the simulator
/// does not run, or a history that is not a whole execution.
fn unsupported(document: &Value, recorded: &[Value], input_unknown: bool) -> Option<&'static str> {
    let text = document.to_string();
    let has = |needle: &str| text.contains(needle);
    let recorded_has = |prefix: &str| {
        recorded
            .iter()
            .any(|e| e["type"].as_str().is_some_and(|t| t.starts_with(prefix)))
    };
    if recorded
        .first()
        .is_none_or(|e| e["type"] != "ExecutionStarted")
    {
        return Some("unsupported: the recorded history does not start with ExecutionStarted");
    }
    if has("Timestamp") && input_unknown {
        return Some("unsupported: the snapshot redacted the timestamp the input holds");
    }
    let ended = |e: &Value| {
        e["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("Execution") && t != "ExecutionStarted")
    };
    if !recorded.last().is_some_and(ended) {
        return Some("unsupported: the recorded history is incomplete");
    }
    if anonymous_answers(recorded) > 1 {
        return Some(
            "unsupported: the snapshot sorted a Parallel's task answers apart from their states",
        );
    }
    if recorded_has("ExecutionAborted") {
        return Some("unsupported: the test stopped the execution");
    }
    None
}

/// Whether the execution's input holds a time the snapshot replaced.
fn redacted_input(started: &Value) -> bool {
    let input = started.pointer("/executionStartedEventDetails/input");
    input.is_some_and(|i| {
        PLACEHOLDER_WORDS
            .iter()
            .chain(&["<timestamp>", "start-time", "start-date"])
            .any(|w| i.to_string().contains(&format!("\"{w}\"")))
    })
}

/// How many task answers have no id: the snapshot sorts a Parallel's
/// events and drops their ids (`[0]`), so which branch's task answered
/// what is lost once there are two.
fn anonymous_answers(recorded: &[Value]) -> usize {
    recorded
        .iter()
        .filter(|e| !e["id"].is_number())
        .filter_map(|e| e["type"].as_str())
        .filter(|kind| kind.starts_with("Task") || kind.starts_with("LambdaFunction"))
        .filter(|kind| {
            kind.ends_with("Succeeded") || kind.ends_with("Failed") || kind.ends_with("TimedOut")
        })
        .count()
}

/// Test files and template modules, read once each.
struct Sources {
    templates: PathBuf,
    /// Per template module: its constants and the files they name.
    modules: HashMap<PathBuf, HashMap<String, PathBuf>>,
    tests: HashMap<PathBuf, Option<String>>,
}

impl Sources {
    fn new(dir: &Path) -> Sources {
        Sources {
            templates: dir.join("templates"),
            modules: HashMap::new(),
            tests: HashMap::new(),
        }
    }

    /// The state machine file of test `key` (`tests/…/test_x.py::Class::test[params]`).
    fn definition(&mut self, test_file: &Path, key: &str) -> Result<Resolved, String> {
        let unresolved = |why: &str| format!("unresolved template: {why}");
        let source = self
            .tests
            .entry(test_file.to_owned())
            .or_insert_with(|| std::fs::read_to_string(test_file).ok())
            .clone()
            .ok_or_else(|| unresolved("no test file beside the snapshot"))?;
        let test = TestName::parse(key);
        let (decorators, body) =
            function(&source, test.function).ok_or_else(|| unresolved("no such test function"))?;
        let candidates = template_references(decorators, body, test.params);
        let templates = self.templates.clone();
        let constant = |reference: &str| {
            let (class, name) = reference.split_once('.')?;
            let module = templates
                .join(import_of(&source, class)?.replace('.', "/"))
                .with_extension("py");
            constant_value(&std::fs::read_to_string(module).ok()?, name)
        };
        let names = Names {
            body,
            decorators,
            params: test.params,
            constant: &constant,
        };
        let (edits, understood) = template_edits(&names);
        let text_edits = text_replacements(body, decorators, test.params);
        let named = self.named_in_params(test.params);
        if candidates.is_empty() && named.is_none() {
            return Err(unresolved("the test names no template"));
        }
        let mut resolved = Resolved {
            files: Vec::new(),
            params: test.params.to_owned(),
            edited: !understood || text_edits.iter().any(Option::is_none),
            edits,
            replacements: replacements(body),
            text_edits: text_edits.into_iter().flatten().collect(),
            activity: body.contains("create_activity"),
            objects: put_objects(&names),
            input: None,
            lambda_handler: None,
            placeholders: Placeholders::of_test(&source),
        };
        let mut last = unresolved("the template class is not imported from templates");
        for (class, constant) in candidates {
            match self.file(&source, &class, &constant) {
                Ok(file) if !resolved.files.contains(&file) => resolved.files.push(file),
                Ok(_) => {}
                Err(Some(why)) => last = unresolved(why),
                Err(None) => {}
            }
        }
        resolved.files.extend(named);
        if resolved.files.is_empty() {
            return Err(last);
        }
        // The input the test starts with, for a recording whose input the
        // snapshot redacted.
        resolved.input = names
            .value("exec_input")
            .and_then(|text| serde_json::from_str(text.as_str()?).ok());
        resolved.lambda_handler = call_argument(body, "handler_file=")
            .and_then(reference)
            .and_then(|(class, constant)| self.file(&source, &class, &constant).ok());
        Ok(resolved)
    }

    /// The one template file a parametrized id names
    /// (`test_base[pass_result.json5_ALL_False]`, an id built from paths).
    fn named_in_params(&self, params: &str) -> Option<PathBuf> {
        let (before, _) = params.split_once(".json5")?;
        // Ids of several parameters are joined with `-`.
        let stem = before.rsplit('-').next().unwrap_or(before);
        let found = files_under(&self.templates, &format!("/{stem}.json5"));
        (found.len() == 1)
            .then(|| found.into_iter().next())
            .flatten()
    }

    /// The file a template class's constant names (`X.CONSTANT` of an
    /// `os.path.join(_THIS_FOLDER, "…")`); `Err(None)` when the class is not
    /// imported from the templates.
    fn file(
        &mut self,
        source: &str,
        class: &str,
        constant: &str,
    ) -> Result<PathBuf, Option<&'static str>> {
        let module = import_of(source, class).ok_or(None)?;
        let module = self
            .templates
            .join(module.replace('.', "/"))
            .with_extension("py");
        let constants = self
            .modules
            .entry(module.clone())
            .or_insert_with(|| constants(&module));
        constants
            .get(constant)
            .cloned()
            .ok_or(Some("the constant is not a statemachines/ file"))
    }
}

/// The state machine files a test may have run, most likely first (a test
/// may load a second machine, which its own starts), and what else the
/// replay needs to know of the test.
#[derive(Debug, Clone)]
struct Resolved {
    files: Vec<PathBuf>,
    /// The test's `[params]`, which fill a template's `%…%` placeholder.
    params: String,
    /// The test changes the loaded template in ways not followed here.
    edited: bool,
    /// The changes it makes that are followed.
    edits: Vec<Edit>,
    /// `definition.replace(Class.SOME_PLACEHOLDER, "text")`: `%SOME_PLACEHOLDER%` and its text.
    replacements: Vec<(String, String)>,
    /// `definition.replace("_tbd_", …)`: the text and its replacement.
    text_edits: Vec<(String, String)>,
    /// The test creates an activity, which its template's placeholder names.
    activity: bool,
    /// The S3 objects the test puts with literal keys and bodies: (key, body).
    objects: Vec<(String, Value)>,
    /// The input the test body gives its execution (`exec_input = json.dumps(…)`).
    input: Option<Value>,
    /// The handler of the Lambda function the test creates, which answers
    /// the tasks the recorded history does not (a distributed Map's
    /// children, whose histories are their own).
    lambda_handler: Option<PathBuf>,
    placeholders: Placeholders,
}

/// `mocks` with what a distributed Map's `ItemReader` reads: `getObject`
/// serves the object the test put (its key, else its only one);
/// `listObjectsV2`, whose objects the tests put in loops, serves the
/// listing the recorded Map state gave out (its processors pass items on).
fn reader_mocks(mocks: sim::Mocks, resolved: &Resolved, recorded: &[Value]) -> sim::Mocks {
    let objects = resolved.objects.clone();
    let mocks = mocks.reader("arn:aws:states:::s3:getObject", move |call| {
        let key = call.parameters["Key"].as_str().unwrap_or_default();
        let found = objects
            .iter()
            .find(|(k, _)| k == key)
            .or_else(|| (objects.len() == 1).then(|| &objects[0]));
        match found {
            Some((_, body)) => sim::Response::ok(body.clone()),
            None => sim::Response::throw(
                "S3.NoSuchKey",
                format!("the test puts no object with the key {key} this reader follows"),
            ),
        }
    });
    let listings: Vec<(String, Value)> = recorded
        .iter()
        .filter(|e| e["type"] == "MapStateExited")
        .filter_map(|e| {
            let d = &e["stateExitedEventDetails"];
            let output = json_of(&d["output"]);
            output
                .is_array()
                .then(|| (d["name"].as_str().unwrap_or_default().to_owned(), output))
        })
        .collect();
    mocks.reader(
        "arn:aws:states:::s3:listObjectsV2",
        move |call| match listings.iter().find(|(name, _)| name == call.state) {
            Some((_, items)) => sim::Response::ok(serde_json::json!({"Contents": items})),
            None => sim::Response::throw("S3.NoSuchBucket", "no recorded listing"),
        },
    )
}

/// `put_object(…, Key=…, Body=…)` calls of a test body whose key and body
/// are literals, or names bound to literals (`json.dumps(…)` of a Python
/// literal, a string, or strings concatenated in parentheses).
fn put_objects(names: &Names<'_>) -> Vec<(String, Value)> {
    let body = names.body;
    let value = |expr: &str| crate::python::literal(expr, &|n| names.value(n));
    body.match_indices("put_object(")
        .filter_map(|(at, _)| {
            let args = split_top(bracketed_by(&body[at..], '(', ')')?);
            let arg = |name: &str| {
                args.iter()
                    .find_map(|a| a.trim().strip_prefix(name)?.strip_prefix('='))
                    .map(str::trim)
            };
            let key = value(arg("Key")?)?;
            let content = value(arg("Body")?)?;
            Some((key.as_str()?.to_owned(), content))
        })
        .collect()
}

/// The `%NAME%` placeholders a test body replaces with a literal:
/// `definition.replace(Class.NAME, "text")`.
fn replacements(body: &str) -> Vec<(String, String)> {
    body.match_indices(".replace(")
        .filter_map(|(at, _)| {
            let args = split_top(bracketed_by(&body[at..], '(', ')')?);
            let name = args.first()?.rsplit('.').next()?;
            let text = args.get(1)?.strip_prefix('"')?.strip_suffix('"')?;
            Some((format!("%{name}%"), text.to_owned()))
        })
        .collect()
}

/// A test's `definition.replace("_tbd_", …)` with a string, a parameter or
/// an f-string of parameters (`f"{{% {items_literal} %}}"`): the text to
/// replace and what replaces it; `None` for one not followed. A name that
/// is not a parameter is a resource, which the recorded history gives.
fn text_replacements(body: &str, decorators: &str, params: &str) -> Vec<Option<(String, String)>> {
    let parameter = |name: &str| parameter(decorators, name.trim(), params).map(python_str);
    body.match_indices(".replace(")
        .filter_map(|(at, _)| {
            let args = split_top(bracketed_by(&body[at..], '(', ')')?);
            let from = quoted(args.first()?.trim())?;
            let to = args.get(1)?.trim();
            let to = match (quoted(to), to.strip_prefix('f').and_then(quoted)) {
                (Some(text), _) => Some(text.to_owned()),
                (None, Some(template)) => interpolate(template, &parameter),
                (None, None) => Some(parameter(to)?),
            };
            Some(to.map(|to| (from.to_owned(), to)))
        })
        .collect()
}

/// A Python string literal's text (no escapes are needed by the tests).
fn quoted(text: &str) -> Option<&str> {
    ['"', '\'']
        .iter()
        .find_map(|q| text.strip_prefix(*q)?.strip_suffix(*q))
}

/// `str()` of a Python literal: a string's text, a list with its strings
/// single-quoted, anything else as written.
fn python_str(literal: &str) -> String {
    // `pytest.param(value, marks=…)`: its value.
    if let Some(value) = literal
        .strip_prefix("pytest.param")
        .and_then(|rest| bracketed_by(rest, '(', ')'))
        .and_then(|args| split_top(args).first().map(|v| v.trim().to_owned()))
    {
        return python_str(&value);
    }
    match quoted(literal) {
        Some(text) => text.to_owned(),
        None => literal.replace('"', "'"),
    }
}

/// An f-string's text with each `{name}` replaced, `{{` and `}}` unescaped.
fn interpolate(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let (mut out, mut rest) = (String::new(), template);
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("{{").or(rest.strip_prefix("}}")) {
            out.push(c);
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let (name, after) = after.split_once('}')?;
            out.push_str(&value(name)?);
            rest = after;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Some(out)
}

/// One change a test makes to the template it loaded:
/// `template["States"]["S"]["item.$"] = value`, `template[…].append(value)`
/// or `template[…].update(dict)`.
#[derive(Debug, Clone)]
struct Edit {
    keys: Vec<Value>,
    value: Value,
    how: EditKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum EditKind {
    Set,
    Append,
    Update,
}

/// What the names in a test body stand for: its parametrized arguments
/// (chosen by the test's `[params]`), its locals bound to literals, and
/// the template classes' constants (`EJT.BASE_PASS`).
struct Names<'a> {
    body: &'a str,
    decorators: &'a str,
    params: &'a str,
    constant: &'a dyn Fn(&str) -> Option<Value>,
}

impl Names<'_> {
    fn value(&self, name: &str) -> Option<Value> {
        if let Some(literal) = parameter(self.decorators, name, self.params) {
            return crate::python::literal(literal, &|n| self.value(n));
        }
        // A local bound at any depth of the body (`key = "file.json"`).
        let assignment = format!("{name} = ");
        let bound = self.body.match_indices(&assignment).find(|(at, _)| {
            let line = &self.body[..*at];
            line[line.rfind('\n').map_or(0, |i| i + 1)..]
                .trim()
                .is_empty()
        });
        if let Some((at, _)) = bound {
            let value = &self.body[at + assignment.len()..];
            return crate::python::literal(value, &|n| self.value(n));
        }
        name.contains('.').then(|| (self.constant)(name)).flatten()
    }
}

/// The edits of a test body to its `template`, and whether every one was
/// understood: the value is a Python literal, or names one (see [`Names`]).
/// A new `Resource` needs none: the recorded history's is taken.
fn template_edits(names: &Names<'_>) -> (Vec<Edit>, bool) {
    let (mut edits, mut understood) = (Vec::new(), true);
    let body = names.body;
    for (at, _) in body.match_indices("template[") {
        let line_start = body[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = body[line_start..at].trim();
        if !(before.is_empty() || before == "del") {
            continue;
        }
        match (before, edit(&body[at + "template".len()..], names)) {
            ("", Some(Some(edit))) => edits.push(edit),
            ("", Some(None)) => {}
            _ => understood = false,
        }
    }
    (edits, understood)
}

/// `Some(None)`: an edit of a `Resource`; `None`: not understood.
fn edit(text: &str, names: &Names<'_>) -> Option<Option<Edit>> {
    let (mut rest, mut keys) = (text, Vec::new());
    while let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        let key = inner[..close].trim();
        // `["States"]`, `[0]`, or a name such as a parametrized `[field]`.
        match crate::python::literal(key, &|n| names.value(n))? {
            key @ (Value::String(_) | Value::Number(_)) => keys.push(key),
            _ => return None,
        }
        rest = &inner[close + 1..];
    }
    if keys.last().is_some_and(|k| k == "Resource") {
        return Some(None);
    }
    let (how, value) = if let Some(value) = rest.strip_prefix(".append(") {
        (EditKind::Append, value)
    } else if let Some(value) = rest.strip_prefix(".update(") {
        (EditKind::Update, value)
    } else {
        (EditKind::Set, rest.trim_start().strip_prefix('=')?)
    };
    let value = crate::python::literal(value, &|n| names.value(n))?;
    if how == EditKind::Update && !value.is_object() {
        return None;
    }
    Some(Some(Edit { keys, value, how }))
}

/// `document` with `edit` made, if its keys lead somewhere.
fn apply_edit(document: &mut Value, edit: &Edit) {
    let mut at = Some(document);
    for key in &edit.keys {
        at = at.and_then(|v| match key {
            Value::String(name) => v
                .as_object_mut()
                .map(|o| o.entry(name.clone()).or_insert(Value::Null)),
            _ => v.get_mut(usize::try_from(key.as_u64().unwrap_or(u64::MAX)).unwrap_or(usize::MAX)),
        });
    }
    match (at, edit.how, &edit.value) {
        (Some(Value::Array(items)), EditKind::Append, value) => items.push(value.clone()),
        (Some(Value::Object(fields)), EditKind::Update, Value::Object(new)) => {
            fields.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        (Some(slot), EditKind::Set, value) => *slot = value.clone(),
        _ => {}
    }
}

/// The `Class.CONSTANT`s that may name the test's template, most likely
/// first: the arguments of its `load_sfn_template(…)` calls (a constant, or
/// a `pytest.mark.parametrize` argument chosen by the test's `[params]`);
/// without one, the template a parametrize argument holds; then any
/// `Alias.CONSTANT` in the body (a helper such as `create_and_test_on_inputs`
/// loading the template it is given).
fn template_references(decorators: &str, body: &str, params: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    const CALL: &str = "load_sfn_template(";
    for (at, _) in body.match_indices(CALL) {
        let Some(argument) = call_argument(&body[at..], CALL) else {
            continue;
        };
        match reference(argument) {
            Some(found) => out.push(found),
            None => out.extend(parametrized(decorators, argument, params)),
        }
    }
    if out.is_empty() {
        for (at, _) in decorators.match_indices("parametrize(") {
            if let Some(argument) = decorators[at..].split('"').nth(1) {
                out.extend(parametrized(decorators, argument, params));
            }
        }
    }
    out.extend(
        body.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .filter_map(reference),
    );
    out
}

/// `Class.CONSTANT`, as a pair.
fn reference(text: &str) -> Option<(String, String)> {
    let (class, constant) = text.trim().split_once('.')?;
    let upper = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };
    let is_class = class.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    (is_class && !constant.is_empty() && upper(constant))
        .then(|| (class.to_owned(), constant.to_owned()))
}

/// `test_x.py::Class::test_name[params]` in parts.
struct TestName<'a> {
    function: &'a str,
    params: &'a str,
}

impl TestName<'_> {
    fn parse(key: &str) -> TestName<'_> {
        let last = key.rsplit("::").next().unwrap_or(key);
        let (function, params) = match last.split_once('[') {
            Some((f, p)) => (f, p.strip_suffix(']').unwrap_or(p)),
            None => (last, ""),
        };
        TestName { function, params }
    }
}

/// The decorators and body of `def name(` in a Python file.
fn function<'a>(source: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let start = source.find(&format!("def {name}("))?;
    let rest = &source[start..];
    // The body ends where the next decorator, method or class begins.
    let end = [
        "\n    @",
        "\n    def ",
        "\n    async def ",
        "\nclass ",
        "\ndef ",
        "\n@",
    ]
    .iter()
    .filter_map(|marker| rest[1..].find(marker))
    .min()
    .map_or(rest.len(), |i| i + 1);
    // Decorators sit right above, after the last blank line.
    let before = &source[..start];
    let decorators = &before[before.rfind("\n\n").unwrap_or(0)..];
    Some((decorators, &rest[..end]))
}

/// The text of the first argument of the first call `call` (which ends in `(`).
fn call_argument<'a>(text: &'a str, call: &str) -> Option<&'a str> {
    let start = text.find(call)? + call.len();
    let rest = &text[start..];
    let end = rest.find([')', ','])?;
    Some(rest[..end].trim())
}

/// `pytest.mark.parametrize("argument", [X.A, X.B], ids=["A", "B"])`: the
/// `X.CONST` the test's `[params]` chose.
fn parametrized(decorators: &str, argument: &str, params: &str) -> Option<(String, String)> {
    let mut choice = parameter(decorators, argument, params)?;
    // `pytest.param(value, marks=…)`: the value.
    if let Some(inner) = choice.strip_prefix("pytest.param(") {
        choice = split_top(inner).first().copied()?;
    }
    // A choice is `X.CONST` or `X.load_sfn_template(X.CONST)`.
    let constant = choice.rsplit('(').next().unwrap_or(choice);
    reference(constant.trim_end_matches([')', ' ', '\n']).trim())
}

/// The source text of the value `pytest.mark.parametrize("…argument…",
/// [values], ids=[…])` gives `argument` in the test named by `params`
/// (an id, pytest's own `argument0`…, or the value itself). With several
/// argument names (`"a, b"`), each value is a tuple.
fn parameter<'a>(decorators: &'a str, argument: &str, params: &str) -> Option<&'a str> {
    let (at, names) = decorators
        .match_indices("parametrize(")
        .filter_map(|(at, _)| Some((at, decorators[at..].split('"').nth(1)?)))
        .find(|(_, names)| names.split(',').any(|n| n.trim() == argument))?;
    let position = names.split(',').position(|n| n.trim() == argument)?;
    let rest = &decorators[at..];
    let values: Vec<&str> = split_top(bracketed(rest)?);
    let ids: Vec<String> = rest
        .find("ids=")
        .and_then(|i| bracketed(&rest[i..]))
        .map(|ids| {
            split_top(ids)
                .iter()
                .map(|s| s.trim_matches('"').to_owned())
                .collect()
        })
        .unwrap_or_default();
    let parts: Vec<&str> = params.split('-').collect();
    let index = ids
        .iter()
        .position(|id| parts.contains(&id.as_str()) || id == params)
        .or_else(|| {
            // pytest's own ids: `argument0`, `argument1`…
            parts
                .iter()
                .find_map(|p| p.strip_prefix(argument)?.parse().ok())
        })
        .or_else(|| {
            values.iter().position(|v| {
                let v = v.trim_matches('"');
                // pytest writes `100_000_000` as `100000000`.
                let number = v.replace('_', "");
                v == params
                    || (number.parse::<f64>().is_ok() && number == params)
                    || v.split_once('.').is_some_and(|(_, k)| parts.contains(&k))
            })
        })
        // A key without `[params]` was recorded before the test was
        // parametrized, with what became its first value.
        .or((values.len() == 1 || params.is_empty()).then_some(0))?;
    let value = values.get(index)?;
    // A tuple, or `pytest.param(a, b, id=…)`, whose arguments are the values.
    let tuple = value.strip_prefix("pytest.param").unwrap_or(value);
    match names.contains(',') {
        true => split_top(tuple.strip_prefix('(')?.strip_suffix(')')?)
            .get(position)
            .copied(),
        false => Some(value),
    }
}

/// `text` split at its top-level commas, each part trimmed, empty ones left out.
fn split_top(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut in_string, mut start) = (Vec::new(), 0, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' | '[' | '{' if !in_string => depth += 1,
            ')' | ']' | '}' if !in_string => depth -= 1,
            ',' if depth == 0 && !in_string => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// The text between the first `[` and its `]`.
fn bracketed(text: &str) -> Option<&str> {
    bracketed_by(text, '[', ']')
}

/// The text between the first `open` and the `close` that matches it.
fn bracketed_by(text: &str, open: char, close: char) -> Option<&str> {
    let start = text.find(open)? + 1;
    let mut depth = 1;
    for (i, c) in text[start..].char_indices() {
        match c {
            c if c == open => depth += 1,
            c if c == close => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return Some(&text[start..start + i]);
        }
    }
    None
}

/// The module path (`scenarios.scenarios_templates`) that `class` (or its
/// alias) is imported from, as
/// `from tests.aws.services.stepfunctions.templates.<module> import (A as B, C)`.
fn import_of(source: &str, class: &str) -> Option<String> {
    const PREFIX: &str = "from tests.aws.services.stepfunctions.templates.";
    source.match_indices(PREFIX).find_map(|(at, _)| {
        let rest = &source[at + PREFIX.len()..];
        let (module, names) = rest.split_once(" import ")?;
        let names = match names.strip_prefix('(') {
            Some(inner) => inner.split(')').next()?,
            None => names.lines().next()?,
        };
        let imported = names.split(',').map(str::trim).any(|name| {
            let alias = name.rsplit(" as ").next().unwrap_or(name);
            alias.trim() == class
        });
        imported.then(|| module.trim().to_owned())
    })
}

/// A template class's constant bound to a literal:
/// `NAME = r'{% … %}'` or `NAME: Final[str] = "…"`.
fn constant_value(module: &str, name: &str) -> Option<Value> {
    module.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?;
        let rest = rest
            .strip_prefix(':')
            .map_or(rest, |typed| typed.split_once('=').map_or("", |(_, v)| v));
        let rest = rest.trim_start().strip_prefix('=').unwrap_or(rest);
        match rest.trim_start().starts_with(['"', '\'', 'r', '{', '[']) {
            true => crate::python::literal(rest, &|_| None),
            false => None,
        }
    })
}

/// A template module's `NAME: Final[str] = os.path.join(_THIS_FOLDER, "statemachines/x.json5")`.
fn constants(module: &Path) -> HashMap<String, PathBuf> {
    let Ok(source) = std::fs::read_to_string(module) else {
        return HashMap::new();
    };
    let folder = module.parent().unwrap_or(Path::new("."));
    let mut out = HashMap::new();
    for (at, _) in source.match_indices("os.path.join(") {
        let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = &source[line_start..at];
        let name = line.split([':', '=']).next().unwrap_or_default().trim();
        let rest = &source[at..];
        let file = rest
            .split_once(')')
            .and_then(|(args, _)| args.split('"').nth(1));
        if let (false, Some(file)) = (name.is_empty(), file) {
            out.insert(name.to_owned(), folder.join(file));
        }
    }
    out
}

/// JSON5 as the templates use it (comments, trailing commas) into JSON.
fn json5_to_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            (']' | '}', _) => {
                // A trailing comma before the closing bracket.
                let trimmed = out.trim_end().len();
                if out[..trimmed].ends_with(',') {
                    out.truncate(trimmed - 1);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Files under `dir` whose name ends with `suffix`, sorted.
fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path, suffix));
        } else if path.to_str().is_some_and(|p| p.ends_with(suffix)) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A JSON value stored as text, or already parsed.
fn json_of(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// An event reduced to what both histories can be compared on: its type,
/// state name, and the input, output, error and cause it carries (parsed
/// when JSON text).
#[derive(Debug, Clone, Serialize)]
struct Normal {
    #[serde(rename = "type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    fields: BTreeMap<&'static str, Value>,
}

fn normalise(e: &Value) -> Normal {
    let kind = e["type"].as_str().unwrap_or_default().to_owned();
    let details = e
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
        .map_or(&Value::Null, |(_, v)| v);
    let mut fields = BTreeMap::new();
    let compared = kind.ends_with("StateEntered")
        || kind.ends_with("StateExited")
        || kind.ends_with("Failed")
        || kind.ends_with("TimedOut");
    if compared {
        for key in ["input", "output", "error", "cause"] {
            match &details[key] {
                Value::Null => {}
                v => {
                    fields.insert(key, parse_nested(json_of(v)));
                }
            }
        }
    }
    Normal {
        kind,
        name: details["name"].as_str().map(str::to_owned),
        fields,
    }
}

/// `value` with every string that holds a JSON object or array parsed:
/// LocalStack's snapshot stores a task's error cause parsed, so the text
/// the service wrote (spacing and all) is lost on one side.
fn parse_nested(value: Value) -> Value {
    match value {
        Value::String(s) if s.starts_with(['{', '[']) => match serde_json::from_str(&s) {
            Ok(parsed) => parse_nested(parsed),
            Err(_) => Value::String(s),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(parse_nested).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, parse_nested(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Event types a recording never holds because LocalStack's snapshot
/// transformer drops them: `ParallelStateSucceeded` appears in no recorded
/// history at all, though AWS writes one for every Parallel that succeeds.
const REDACTED: &[&str] = &["ParallelStateSucceeded"];

/// The first difference between the two histories, if any.
fn compare(recorded: &[Value], simulated: &[Value], words: &Placeholders) -> Option<Difference> {
    let normal = |events: &[Value]| -> Vec<(usize, Normal)> {
        events
            .iter()
            .map(normalise)
            .enumerate()
            .filter(|(_, e)| !REDACTED.contains(&e.kind.as_str()))
            .collect()
    };
    let (recorded, simulated) = (normal(recorded), normal(simulated));
    let (mut r, mut s) = (0, 0);
    while r < recorded.len() || s < simulated.len() {
        let r_end = block_end(&recorded, r);
        let s_end = block_end(&simulated, s);
        if let Some(d) = words.compare_block(&recorded[r..r_end], &simulated[s..s_end]) {
            return Some(d);
        }
        (r, s) = (r_end, s_end);
    }
    None
}

/// Where the comparison unit that starts at `i` ends: one event, or, from
/// a `ParallelStateStarted` or `MapStateStarted`, every event up to its
/// state's exit (or the history's end). LocalStack's snapshot sorts the
/// events of a Parallel's branches (and renumbers them `[0]`), and the
/// events of a Map's concurrent iterations interleave as they happened to
/// arrive in that run, so their order says nothing.
fn block_end(events: &[(usize, Normal)], i: usize) -> usize {
    let kind = events.get(i).map(|(_, e)| e.kind.as_str());
    let Some(state) = kind.and_then(|k| k.strip_suffix("StateStarted")) else {
        return (i + 1).min(events.len());
    };
    let (entered, exited) = (
        format!("{state}StateEntered"),
        format!("{state}StateExited"),
    );
    let name = events[..i]
        .iter()
        .rev()
        .find(|(_, e)| e.kind == entered)
        .and_then(|(_, e)| e.name.clone());
    events[i..]
        .iter()
        .position(|(_, e)| (e.kind == exited && e.name == name) || e.kind.starts_with("Execution"))
        .map_or(events.len(), |p| i + p)
}

/// The bare words that stand for a value in a recording: those of
/// LocalStack's shared transformers, and those the test's own transformers
/// write (`JsonpathTransformer(…, replacement="start-date")`,
/// `RegexTransformer(name, "<lambda_function_name>")`). A `<…>` inside a
/// string is a placeholder too.
#[derive(Debug, Clone, Default)]
struct Placeholders {
    words: Vec<String>,
}

/// The words of LocalStack's shared transformers.
const PLACEHOLDER_WORDS: &[&str] = &["snf_role_arn", "timestamp", "datetime", "date"];

impl Placeholders {
    fn of_test(source: &str) -> Placeholders {
        let mut words: Vec<String> = PLACEHOLDER_WORDS.iter().map(|w| (*w).to_owned()).collect();
        // The replacement is a transformer's second argument, by position
        // or as `replacement=`.
        for call in ["RegexTransformer(", "JsonpathTransformer("] {
            for (at, _) in source.match_indices(call) {
                let second = source[at..].split_once(',').and_then(|(_, rest)| {
                    let rest = rest.trim_start();
                    let rest = rest.strip_prefix("replacement=").unwrap_or(rest);
                    rest.strip_prefix('"')?.split('"').next()
                });
                words.extend(second.map(str::to_owned));
            }
        }
        words.retain(|w| !w.is_empty());
        words.sort();
        words.dedup();
        Placeholders { words }
    }

    fn is_word(&self, text: &str) -> bool {
        self.words.iter().any(|w| w == text)
    }

    /// `text` with each test word inside it (an identifier such as
    /// `activity_arn`, which a `RegexTransformer` put in a sentence) made a
    /// `<…>`, if it holds one.
    fn words_inside(&self, text: &str) -> Option<String> {
        let inside: Vec<&String> = self
            .words
            .iter()
            .filter(|w| w.contains('_') && text.contains(w.as_str()))
            .collect();
        (!inside.is_empty()).then(|| {
            inside.iter().fold(text.to_owned(), |t, w| {
                t.replace(w.as_str(), &format!("<{w}>"))
            })
        })
    }

    fn is_placeholder(&self, text: &str) -> bool {
        self.is_word(text) || text.find('<').is_some_and(|i| text[i..].contains('>'))
    }

    /// Compares two units as multisets (a unit of one event is a plain comparison).
    fn compare_block(
        &self,
        recorded: &[(usize, Normal)],
        simulated: &[(usize, Normal)],
    ) -> Option<Difference> {
        let mut unused: Vec<&Normal> = simulated.iter().map(|(_, e)| e).collect();
        for (index, r) in recorded {
            match unused.iter().position(|s| self.same(r, s)) {
                Some(found) => {
                    unused.remove(found);
                }
                None => {
                    let nearest = unused.first().copied();
                    return Some(self.difference(*index, Some(r), nearest));
                }
            }
        }
        // LocalStack's snapshot drops the closing events of a Parallel nested
        // in another (its ParallelStateExited): those left over are no difference.
        let index = recorded.last().map_or(0, |(i, _)| i + 1);
        let nested = recorded.len() > 1;
        unused
            .into_iter()
            .find(|s| !(nested && s.kind.starts_with("ParallelState")))
            .map(|s| self.difference(index, None, Some(s)))
    }

    fn difference(
        &self,
        index: usize,
        recorded: Option<&Normal>,
        simulated: Option<&Normal>,
    ) -> Difference {
        let category = match (recorded, simulated) {
            (Some(_), None) => "missing event".to_owned(),
            (None, _) => "extra event".to_owned(),
            (Some(r), Some(s)) if r.kind != s.kind => format!("type ({} vs {})", r.kind, s.kind),
            (Some(r), Some(s)) if r.name != s.name => "state name".to_owned(),
            (Some(r), Some(s)) => {
                let field = r
                    .fields
                    .keys()
                    .chain(s.fields.keys())
                    .find(|k| !self.matches_value(r.fields.get(*k), s.fields.get(*k)))
                    .copied()
                    .unwrap_or("fields");
                format!("{field} of {}", r.kind)
            }
        };
        let json = |e: Option<&Normal>| serde_json::to_value(e).unwrap_or(Value::Null);
        Difference {
            category,
            index,
            recorded: json(recorded),
            simulated: json(simulated),
        }
    }

    fn same(&self, r: &Normal, s: &Normal) -> bool {
        r.kind == s.kind
            && r.name == s.name
            && r.fields
                .keys()
                .chain(s.fields.keys())
                .all(|k| self.matches_value(r.fields.get(k), s.fields.get(k)))
    }

    fn matches_value(&self, r: Option<&Value>, s: Option<&Value>) -> bool {
        // The service leaves out an empty cause; a snapshot may keep it.
        let empty = |v: Option<&Value>| v.is_none_or(|v| v == "");
        match (r, s) {
            (Some(r), Some(s)) => self.matches(r, s),
            _ => empty(r) && empty(s),
        }
    }

    /// Whether a recorded value matches a simulated one. LocalStack's snapshot
    /// replaces run-specific values (ARNs, names, ids, times) by placeholders:
    /// `<region>`, `<uuid:1>`, `<ExecArnPart_0idx>`… inside a string, or a bare
    /// word such as `snf_role_arn`; a placeholder matches anything, and the
    /// text around it must match.
    fn matches(&self, recorded: &Value, simulated: &Value) -> bool {
        match (recorded, simulated) {
            (Value::String(r), s) if self.is_placeholder(r) => {
                self.is_word(r) || s.as_str().is_none_or(|s| wildcard(r, s))
            }
            (Value::String(r), Value::String(s)) => {
                r == s
                    || self
                        .words_inside(r)
                        .is_some_and(|pattern| wildcard(&pattern, s))
            }
            (Value::Number(r), Value::Number(s)) => r.as_f64() == s.as_f64(),
            (Value::Array(r), Value::Array(s)) => {
                r.len() == s.len() && r.iter().zip(s).all(|(r, s)| self.matches(r, s))
            }
            (Value::Object(r), Value::Object(s)) => {
                r.len() == s.len()
                    && r.iter()
                        .all(|(k, v)| s.get(k).is_some_and(|s| self.matches(v, s)))
            }
            (r, s) => r == s,
        }
    }
}

/// `pattern` with each `<…>` taken as "anything".
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        literals.push(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    let (first, last) = (literals.first().copied().unwrap_or(""), rest);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut at = first.len();
    let end = text.len() - last.len();
    for literal in literals.iter().skip(1) {
        match text[at..end].find(literal) {
            Some(i) => at += i + literal.len(),
            None => return false,
        }
    }
    true
}

#[derive(Debug, Default, Serialize)]
struct Summary {
    executions: usize,
    resolved: usize,
    skipped: BTreeMap<String, usize>,
    replayed: usize,
    agreeing: usize,
    /// Agreeing executions with an object whose keys come in another order.
    keys_ordered_otherwise: usize,
    disagreeing: usize,
    /// Disagreements by what differs first.
    differences: BTreeMap<String, usize>,
}

impl Summary {
    fn of(replayed: &[Replayed]) -> Summary {
        let mut s = Summary::default();
        for r in replayed {
            s.executions += 1;
            s.resolved += usize::from(r.definition.is_some());
            match &r.outcome {
                Outcome::Skipped { reason } => *s.skipped.entry(reason.clone()).or_default() += 1,
                Outcome::Agrees { key_order, .. } => {
                    s.agreeing += 1;
                    s.keys_ordered_otherwise += usize::from(key_order.is_some());
                }
                Outcome::Differs(d) => {
                    s.disagreeing += 1;
                    *s.differences.entry(d.category.clone()).or_default() += 1;
                }
            }
        }
        s.replayed = s.agreeing + s.disagreeing;
        s
    }
}

fn print_text(replayed: &[Replayed], summary: &Summary) {
    for r in replayed {
        let name = format!("{} ({})", r.test, r.entry);
        match &r.outcome {
            Outcome::Skipped { .. } => {}
            Outcome::Agrees { events, key_order } => match key_order {
                Some(state) => println!(
                    "agree   {name}: {events} events (keys ordered otherwise in {state}'s output)"
                ),
                None => println!("agree   {name}: {events} events"),
            },
            Outcome::Differs(d) => {
                println!("DIFFER  {name}: event {} ({})", d.index, d.category);
                println!("    recorded:  {}", d.recorded);
                println!("    simulated: {}", d.simulated);
            }
        }
    }
    println!();
    println!("executions found:      {}", summary.executions);
    println!("definitions resolved:  {}", summary.resolved);
    println!(
        "skipped:               {}",
        summary.skipped.values().sum::<usize>()
    );
    for (reason, n) in &summary.skipped {
        println!("    {n:>4}  {reason}");
    }
    println!("replayed:              {}", summary.replayed);
    println!("agreeing:              {}", summary.agreeing);
    println!(
        "    {:>4}  of them with an object's keys in another order than AWS's",
        summary.keys_ordered_otherwise
    );
    println!("disagreeing:           {}", summary.disagreeing);
    for (category, n) in &summary.differences {
        println!("    {n:>4}  {category}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json5_loses_comments_and_trailing_commas_but_not_strings() {
        let text = "{\n // a comment\n \"a\": \"// kept\", /* gone */ \"b\": [1, 2,],\n}";
        let json: Value = serde_json::from_str(&json5_to_json(text)).expect("valid JSON");
        assert_eq!(json, serde_json::json!({"a": "// kept", "b": [1, 2]}));
    }

    #[test]
    fn placeholders_match_anything_and_the_text_around_them_must_match() {
        let arn = "arn:<partition>:states:<region>:111111111111:execution:<ArnPart_0idx>:x";
        assert!(wildcard(
            arn,
            "arn:aws:states:us-east-1:111111111111:execution:m:x"
        ));
        assert!(!wildcard(
            arn,
            "arn:aws:states:us-east-1:222222222222:execution:m:x"
        ));
        let words =
            Placeholders::of_test(r#"JsonpathTransformer("$..x", replacement="start-date")"#);
        assert!(words.matches(&"snf_role_arn".into(), &"arn:aws:iam::1:role/r".into()));
        assert!(words.matches(&"start-date".into(), &"2026-01-01".into()));
        assert!(!words.matches(&"plain".into(), &"other".into()));
        let words = Placeholders::of_test(
            r#"RegexTransformer(activity_arn, "activity_arn") RegexTransformer(a, "activity_arn")"#,
        );
        assert!(words.matches(
            &"The activity activity_arn does not exist.".into(),
            &"The activity arn:aws:states:us-east-1:1:activity:a does not exist.".into()
        ));
        assert!(!words.matches(
            &"The activity activity_arn does not exist.".into(),
            &"The activity arn:aws:states:us-east-1:1:activity:a exists.".into()
        ));
    }

    #[test]
    fn parametrized_templates_are_chosen_by_their_ids() {
        let decorators = "\n    @pytest.mark.parametrize(\n        \"template_path\",\n        [ST.A, ST.B],\n        ids=[\"A\", \"B\"],\n    )\n";
        assert_eq!(
            parametrized(decorators, "template_path", "B"),
            Some(("ST".into(), "B".into()))
        );
    }
}
