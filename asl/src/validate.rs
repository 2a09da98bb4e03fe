//! Checks a document from outside against the rules of the language.
//!
//! It works on raw `serde_json::Value` rather than the parsed types because
//! the interesting mistakes (a `Retry` on a Pass state, a misspelt field, a
//! JSONata field in a JSONPath state) are exactly the ones the types would
//! reject with a bare serde error, or cannot see at all. Every problem is
//! reported, each with the path of the state it is in, such as
//! `States.Process.Branches[0].States.Resize`.
//!
//! A state's query language is its own `QueryLanguage`, else the
//! document's, else JSONPath, wherever the state is: the states of a JSONata
//! Map's processor in a JSONPath machine are JSONPath unless they say
//! otherwise. That is AWS's rule ("the default value for each state" is the
//! top-level one, in the Step Functions developer guide's "State machine
//! structure"; the CDK's `QueryLanguage` reference says a state without the
//! field "will use the query language specified in the top-level
//! queryLanguage field"); it is not inherited through the enclosing state.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::{Map, Value};

use crate::choice::COMPARISON_OPERATORS;
use crate::intrinsics::{intrinsic_problem, is_intrinsic};
use crate::paths::{
    JsonataProblem, is_path, is_reference_path, jsonata_problem, looks_like_jsonata,
};
use crate::resources::resource_problem;
use crate::types::{MAX_NAME_LEN, State, StateMachine};
use crate::walk::{self, Scope};

/// One broken rule, at `path`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {rule}")]
pub struct Problem {
    /// Where: `(root)`, `StartAt`, a state (`States.A`), or something inside
    /// one (`States.A.Retry[1]`, `States.C.Choices[0].And[1]`).
    pub path: String,
    pub rule: Rule,
}

/// The rules a document can break; the message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("must be a JSON object")]
    NotAnObject,
    #[error("missing `{field}`: add it")]
    MissingField { field: &'static str },
    #[error("`{field}` must be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("unknown field `{field}`: remove it or fix its spelling")]
    UnknownField { field: String },
    #[error("`{field}` is not a field of a {kind} state: remove it or fix its spelling")]
    NotAStateField { field: String, kind: String },
    #[error(
        "a {kind} state cannot have `{field}`: only Task, Parallel and Map states retry or catch errors, so remove it"
    )]
    ErrorHandlingNotAllowed { field: String, kind: String },
    #[error(
        "unknown state type `{kind}`: use one of Task, Choice, Parallel, Map, Pass, Wait, Succeed or Fail"
    )]
    UnknownType { kind: String },
    #[error(
        "`{field}` names `{target}`, which is not a state here: add that state or fix the name"
    )]
    UnknownTarget { field: String, target: String },
    #[error(
        "`{field}` names `{target}`, which is outside this branch: a Parallel or Map branch may only move between its own states"
    )]
    ReachesOutside { field: String, target: String },
    #[error("state is unreachable from `StartAt`: remove it or add a transition to it")]
    Unreachable,
    #[error("state has neither `Next` nor `End`: add `\"Next\": \"...\"` or `\"End\": true`")]
    NoTransition,
    #[error("state has both `Next` and `End`: keep only one")]
    NextAndEnd,
    #[error(
        "`States.ALL` must be alone in `ErrorEquals`: move the other errors to an earlier entry"
    )]
    StatesAllNotAlone,
    #[error("`States.ALL` must be in the last `{field}` entry: move this entry to the end")]
    StatesAllNotLast { field: &'static str },
    #[error(
        "`{field}` is not a valid reference path (`{value}`): use `$` followed by `.name`, `['name']` or `[index]` steps"
    )]
    InvalidReferencePath { field: String, value: String },
    #[error(
        "`{field}` is not a valid JSONPath (`{value}`): start it with `$`, `$$` or `$variable` and fix the steps"
    )]
    InvalidPath { field: String, value: String },
    #[error(
        "`{key}` ends in `.$`, so its value must be a path or an intrinsic function such as `States.Format(...)`, not `{value}`: fix the value or drop the `.$`"
    )]
    InvalidDynamicValue { key: String, value: String },
    #[error(
        "`{key}` holds `{value}`, which is not a valid intrinsic function call: {reason}: fix the call"
    )]
    InvalidIntrinsic {
        key: String,
        value: String,
        reason: String,
    },
    #[error("`Resource` {reason}: fix the ARN")]
    InvalidResource { reason: String },
    #[error("state name is {len} characters long: shorten it to at most {MAX_NAME_LEN}")]
    NameTooLong { len: usize },
    #[error(
        "state name `{name}` is already used at `{first}`: names must be unique across the whole machine, so rename one"
    )]
    DuplicateName { name: String, first: String },
    #[error("`{field}` is a JSONPath field but this state uses JSONata: {hint}")]
    JsonPathFieldInJsonata { field: String, hint: &'static str },
    #[error(
        "`{field}` is a JSONata field but this state uses JSONPath: {hint}, or set `\"QueryLanguage\": \"JSONata\"`"
    )]
    JsonataFieldInJsonPath { field: String, hint: &'static str },
    /// A warning: AWS runs the document.
    #[error(
        "`{key}` ends in `.$`, which only JSONPath reads: in JSONata AWS keeps the key as written, `.$` and all; if the value was meant to be evaluated, drop the `.$` and write it as `{{% ... %}}`"
    )]
    JsonPathKeyInJsonata { key: String },
    #[error(
        "`{field}` holds a JSONata expression but this state uses JSONPath: set `\"QueryLanguage\": \"JSONata\"`"
    )]
    JsonataValueInJsonPath { field: String },
    #[error("`{value}` is not a complete JSONata expression: write it as `{{% ... %}}`")]
    InvalidJsonata { value: String },
    #[error("`{value}` does not parse as JSONata: {message} at character {at}: fix the expression")]
    JsonataSyntax {
        value: String,
        at: usize,
        message: String,
    },
    #[error("`{field}` must not be empty: add at least one entry")]
    Empty { field: &'static str },
    #[error("`{first}` and `{second}` cannot be used together: keep one")]
    Exclusive {
        first: &'static str,
        second: &'static str,
    },
    #[error(
        "`HeartbeatSeconds` ({heartbeat}) must be less than `TimeoutSeconds` ({timeout}): lower it or raise the timeout"
    )]
    HeartbeatNotBelowTimeout { heartbeat: u64, timeout: u64 },
    #[error(
        "a Wait state needs exactly one of `Seconds`, `Timestamp`, `SecondsPath` or `TimestampPath`"
    )]
    WaitDuration,
    #[error("a Map state needs `ItemProcessor` (or the legacy `Iterator`): add one")]
    NoProcessor,
    #[error("no state ends here: give one state `\"End\": true` or add a Succeed or Fail state")]
    NoTerminalState,
    #[error(
        "`QueryLanguage` is \"JSONPath\" but the machine's top level is JSONata: a state may only opt into JSONata, so remove it or make the top level JSONPath"
    )]
    JsonPathUnderJsonata,
    #[error(
        "Map `Label` {reason}: use 1 to 40 characters, none of them whitespace, a control character, a bracket, a backtick or one of ? * \" # % \\ ^ | ~ $ & , ; : /"
    )]
    InvalidLabel { reason: String },
    #[error("`{key}` and `{key}.$` name the same field: keep one")]
    DuplicateTemplateField { key: String },
    #[error(
        "choice rule has no condition: add `Variable` with a comparison, `And`, `Or`, `Not` or (JSONata) `Condition`"
    )]
    NoCondition,
    #[error(
        "choice rule has more than one condition (`{first}` and `{second}`): combine them with `And`"
    )]
    ManyConditions { first: String, second: String },
    #[error(
        "choice rule on `Variable` needs exactly one comparison operator such as `StringEquals`"
    )]
    NoComparison,
    #[error(
        "a nested choice rule cannot have `Next`: only top-level rules move to a state, so remove it"
    )]
    NestedNext,
    #[error("`{field}` must be {expected}: fix its value")]
    InvalidValue {
        field: &'static str,
        expected: &'static str,
    },
    /// The document's shape is right but a value has the wrong type, in a
    /// way the typed model found (e.g. a string where a number belongs).
    #[error("invalid field value: {0}: fix its type")]
    Schema(String),
}

impl Rule {
    /// Whether AWS runs a document that breaks this rule: the validator
    /// then warns instead of refusing it.
    pub fn is_warning(&self) -> bool {
        matches!(self, Rule::JsonPathKeyInJsonata { .. })
    }

    /// The rule's stable name for tools (editors, CI annotations): its
    /// variant's name in kebab case, such as `unknown-field`.
    pub fn name(&self) -> String {
        let debug = format!("{self:?}");
        let variant = debug
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default();
        let mut name = String::new();
        for c in variant.chars() {
            if c.is_uppercase() && !name.is_empty() {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        }
        name
    }
}

impl Problem {
    /// [`Problem::path`] as a JSON pointer into `document` (RFC 6901), such
    /// as `/States/Process/Branches/0/States/Resize`. The document decides
    /// where a state name with dots in it ends.
    pub fn pointer(&self, document: &Value) -> String {
        let mut pointer = String::new();
        let mut rest = if self.path == ROOT {
            ""
        } else {
            self.path.as_str()
        };
        let mut at = document;
        while !rest.is_empty() {
            let step = if let Some(index) = rest.strip_prefix('[') {
                let (digits, after) = index.split_once(']').unwrap_or((index, ""));
                at = &at[digits.parse::<usize>().unwrap_or(usize::MAX)];
                rest = after;
                digits.to_owned()
            } else {
                // The longest key of this object the path goes on with.
                let key = at
                    .as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .filter(|k| {
                        rest.strip_prefix(k.as_str())
                            .is_some_and(|r| r.is_empty() || r.starts_with(['.', '[']))
                    })
                    .max_by_key(|k| k.len())
                    .cloned()
                    .unwrap_or_else(|| rest.split(['.', '[']).next().unwrap_or(rest).to_owned());
                at = &at[key.as_str()];
                rest = &rest[key.len()..];
                key
            };
            rest = rest.strip_prefix('.').unwrap_or(rest);
            pointer.push('/');
            pointer.push_str(&step.replace('~', "~0").replace('/', "~1"));
        }
        pointer
    }
}

/// Every problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<Problem>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Checks a whole document, reporting every problem AWS would refuse it
/// for; [`problems`] has the warnings too.
pub fn validate(document: &Value) -> Result<(), ValidationErrors> {
    let errors: Vec<Problem> = problems(document)
        .into_iter()
        .filter(|p| !p.rule.is_warning())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errors))
    }
}

/// Every problem in a document, in document order: the errors AWS would
/// refuse it for and the warnings ([`Rule::is_warning`]) it would run with.
pub fn problems(document: &Value) -> Vec<Problem> {
    Validator::run(document)
}

/// Validates, then parses into the typed model.
pub fn parse(document: &Value) -> Result<StateMachine, ValidationErrors> {
    validate(document)?;
    serde_json::from_value(document.clone()).map_err(|e| {
        ValidationErrors(vec![Problem {
            path: ROOT.to_owned(),
            rule: Rule::Schema(e.to_string()),
        }])
    })
}

impl StateMachine {
    /// Checks a machine built in code or edited after parsing.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        match serde_json::to_value(self) {
            Ok(document) => validate(&document),
            Err(e) => Err(ValidationErrors(vec![Problem {
                path: ROOT.to_owned(),
                rule: Rule::Schema(e.to_string()),
            }])),
        }
    }
}

const ROOT: &str = "(root)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    JsonPath,
    Jsonata,
}

impl Language {
    fn parse(value: Option<&Value>) -> Option<Self> {
        match value?.as_str()? {
            "JSONPath" => Some(Language::JsonPath),
            "JSONata" => Some(Language::Jsonata),
            _ => None,
        }
    }
}

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const TASK: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Arguments",
    "Output",
    "Assign",
    "Resource",
    "Credentials",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Retry",
    "Catch",
    "Next",
    "End",
];
const PARALLEL: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Arguments",
    "Output",
    "Assign",
    "Branches",
    "Retry",
    "Catch",
    "Next",
    "End",
];
const MAP: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "Items",
    "ItemReader",
    "ItemSelector",
    "ItemBatcher",
    "ItemProcessor",
    "Iterator",
    "Parameters",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
    "ResultSelector",
    "ResultPath",
    "Output",
    "Assign",
    "Retry",
    "Catch",
    "Next",
    "End",
];
const PASS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "Result",
    "ResultPath",
    "Output",
    "Assign",
    "Next",
    "End",
];
const WAIT: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Seconds",
    "Timestamp",
    "SecondsPath",
    "TimestampPath",
    "Output",
    "Assign",
    "Next",
    "End",
];
const CHOICE: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Choices",
    "Default",
    "Output",
    "Assign",
];
const SUCCEED: &[&str] = &["InputPath", "OutputPath", "Output"];
const FAIL: &[&str] = &["Error", "Cause", "ErrorPath", "CausePath"];

/// JSONPath-only fields and what a JSONata state uses instead.
const JSONPATH_ONLY: &[(&str, &str)] = &[
    ("InputPath", "use `Arguments` or `Output` to shape data"),
    ("OutputPath", "use `Output`"),
    ("Parameters", "use `Arguments` (or `ItemSelector` in a Map)"),
    ("ResultSelector", "use `Output`"),
    ("ResultPath", "use `Output` and `Assign`"),
    ("ItemsPath", "use `Items`"),
    (
        "TimeoutSecondsPath",
        "use `TimeoutSeconds` with a `{% %}` expression",
    ),
    (
        "HeartbeatSecondsPath",
        "use `HeartbeatSeconds` with a `{% %}` expression",
    ),
    ("SecondsPath", "use `Seconds` with a `{% %}` expression"),
    ("TimestampPath", "use `Timestamp` with a `{% %}` expression"),
    ("ErrorPath", "use `Error` with a `{% %}` expression"),
    ("CausePath", "use `Cause` with a `{% %}` expression"),
    (
        "MaxConcurrencyPath",
        "use `MaxConcurrency` with a `{% %}` expression",
    ),
    (
        "ToleratedFailurePercentagePath",
        "use `ToleratedFailurePercentage` with a `{% %}` expression",
    ),
    (
        "ToleratedFailureCountPath",
        "use `ToleratedFailureCount` with a `{% %}` expression",
    ),
    ("Variable", "use `Condition` with a `{% %}` expression"),
];

/// JSONata-only fields and what a JSONPath state uses instead.
const JSONATA_ONLY: &[(&str, &str)] = &[
    ("Arguments", "use `Parameters`"),
    (
        "Output",
        "use `ResultSelector`, `ResultPath` or `OutputPath`",
    ),
    ("Items", "use `ItemsPath`"),
    ("Condition", "use `Variable` with a comparison operator"),
];

/// Fields that hold a JSONata expression in a JSONata state and a literal in
/// a JSONPath one.
const EXPRESSION_FIELDS: &[&str] = &[
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Seconds",
    "Timestamp",
    "MaxConcurrency",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
    "Error",
    "Cause",
];

/// Fields that hold a number, or in JSONata an expression yielding one.
const NUMBER_FIELDS: &[&str] = &[
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Seconds",
    "MaxConcurrency",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
];

/// Fields read with a JSONPath (`$...`) in JSONPath states.
const PATH_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
];

const RETRIER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];
const CATCHER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "Next",
    "ResultPath",
    "Output",
    "Assign",
    "Comment",
];

struct Validator {
    problems: Vec<Problem>,
    /// Every state name in the document and where it first appears.
    names: HashMap<String, String>,
    /// Every state name anywhere, to tell "outside this branch" from "unknown".
    everywhere: HashSet<String>,
    /// The document's own query language.
    top: Language,
}

/// A sub-machine being checked: the document, a branch or a processor.
struct SubMachine<'a> {
    object: &'a Map<String, Value>,
    /// Its path, empty for the document itself.
    prefix: &'a str,
    /// Its path in problems: `(root)` for the document itself.
    here: &'a str,
    kind: Scope,
}

/// A state being checked, once its `Type` is known.
struct StateAt<'a, 'p> {
    state: &'a Value,
    object: &'a Map<String, Value>,
    kind: Kind<'a>,
    path: &'p str,
    language: Language,
}

/// A state's `Type`, when it is one, and the fields that type allows.
#[derive(Clone, Copy)]
struct Kind<'a> {
    name: &'a str,
    fields: &'static [&'static str],
}

/// Where a state's transitions may go: the states of its own sub-machine.
struct Transitions<'a, 's> {
    local: &'s HashSet<&'a str>,
    scope: Scope,
    /// The local states the transitions name.
    found: Vec<&'a str>,
}

impl Validator {
    fn run(document: &Value) -> Vec<Problem> {
        let mut everywhere = HashSet::new();
        collect_names(document, &mut everywhere);
        let mut v = Validator {
            problems: Vec::new(),
            names: HashMap::new(),
            everywhere,
            top: Language::JsonPath,
        };
        let language = match document.get("QueryLanguage") {
            None => Language::JsonPath,
            Some(value) => Language::parse(Some(value)).unwrap_or_else(|| {
                v.report(
                    ROOT,
                    Rule::WrongType {
                        field: "QueryLanguage".into(),
                        expected: "\"JSONPath\" or \"JSONata\"",
                    },
                );
                Language::JsonPath
            }),
        };
        v.top = language;
        v.scope(document, "", Scope::Root, language);
        v.problems
    }

    fn report(&mut self, path: &str, rule: Rule) {
        self.problems.push(Problem {
            path: path.to_owned(),
            rule,
        });
    }

    fn scope(&mut self, scope: &Value, prefix: &str, kind: Scope, language: Language) {
        let here = if prefix.is_empty() { ROOT } else { prefix };
        let Some(object) = scope.as_object() else {
            self.report(here, Rule::NotAnObject);
            return;
        };
        let sub = SubMachine {
            object,
            prefix,
            here,
            kind,
        };
        self.scope_fields(&sub);
        let states = self.scope_states(&sub);
        let local: HashSet<&str> = states
            .map(|s| s.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let start = self.start_at(&sub, states.map(|_| &local));
        let Some(states) = states else {
            return;
        };
        let states_path = join(prefix, "States");
        let edges = self.states(states, &states_path, &local, kind, language);
        if let Some(start) = start {
            self.unreachable(states, &states_path, start, &edges);
        }
    }

    /// The fields of a sub-machine besides `States` and `StartAt`.
    fn scope_fields(&mut self, sub: &SubMachine<'_>) {
        let here = sub.here;
        let allowed: &[&str] = match sub.kind {
            Scope::Root => &[
                "Comment",
                "StartAt",
                "States",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
            Scope::Branch => &["Comment", "StartAt", "States"],
            Scope::Processor => &["Comment", "StartAt", "States", "ProcessorConfig"],
        };
        for key in sub.object.keys() {
            if !allowed.contains(&key.as_str()) {
                self.report(here, Rule::UnknownField { field: key.clone() });
            }
        }
        let wrong_type = |v: &mut Self, field: &str, ok: fn(&Value) -> bool, expected| {
            if sub.object.get(field).is_some_and(|value| !ok(value)) {
                let field = field.into();
                v.report(here, Rule::WrongType { field, expected });
            }
        };
        if sub.kind == Scope::Root {
            wrong_type(self, "Version", Value::is_string, "a string");
            wrong_type(self, "TimeoutSeconds", Value::is_u64, "a positive integer");
        }
        wrong_type(self, "Comment", Value::is_string, "a string");
        if let Some(config) = sub.object.get("ProcessorConfig") {
            self.processor_config(config, &join(sub.prefix, "ProcessorConfig"));
        }
    }

    /// The sub-machine's states, if it has any.
    fn scope_states<'a>(&mut self, sub: &SubMachine<'a>) -> Option<&'a Map<String, Value>> {
        match sub.object.get("States") {
            None => {
                self.report(sub.here, Rule::MissingField { field: "States" });
                None
            }
            Some(Value::Object(states)) if states.is_empty() => {
                let states_path = join(sub.prefix, "States");
                self.report(&states_path, Rule::Empty { field: "States" });
                None
            }
            Some(Value::Object(states)) => Some(states),
            Some(_) => {
                self.report(
                    sub.here,
                    Rule::WrongType {
                        field: "States".into(),
                        expected: "an object of named states",
                    },
                );
                None
            }
        }
    }

    /// The sub-machine's `StartAt`, if it names one of its states. `local`
    /// is `None` when the sub-machine has no states to check it against.
    fn start_at<'a>(
        &mut self,
        sub: &SubMachine<'a>,
        local: Option<&HashSet<&str>>,
    ) -> Option<&'a str> {
        match sub.object.get("StartAt") {
            None => {
                self.report(sub.here, Rule::MissingField { field: "StartAt" });
                None
            }
            Some(Value::String(start)) => match local {
                Some(local) if !local.contains(start.as_str()) => {
                    let rule = self.target_rule("StartAt", start, sub.kind);
                    self.report(&join(sub.prefix, "StartAt"), rule);
                    None
                }
                _ => Some(start.as_str()),
            },
            Some(_) => {
                self.report(
                    sub.here,
                    Rule::WrongType {
                        field: "StartAt".into(),
                        expected: "the name of a state",
                    },
                );
                None
            }
        }
    }

    /// Checks every state of a sub-machine; returns where each can move to.
    fn states<'a>(
        &mut self,
        states: &'a Map<String, Value>,
        states_path: &str,
        local: &HashSet<&'a str>,
        scope: Scope,
        language: Language,
    ) -> HashMap<&'a str, Vec<&'a str>> {
        let before = self.problems.len();
        let mut edges = HashMap::new();
        for (name, state) in states {
            let path = format!("{states_path}.{name}");
            let mut transitions = Transitions {
                local,
                scope,
                found: Vec::new(),
            };
            self.state(name, state, &path, &mut transitions, language);
            edges.insert(name.as_str(), transitions.found);
        }
        // Only when the states are otherwise sound: a state without a
        // transition, say, is the better explanation.
        let ends = |state: &Value| {
            matches!(state["Type"].as_str(), Some("Succeed" | "Fail")) || state["End"] == true
        };
        if self.problems.len() == before && !states.values().any(ends) {
            self.report(states_path, Rule::NoTerminalState);
        }
        edges
    }

    /// Reports the states that no path from `start` reaches.
    fn unreachable(
        &mut self,
        states: &Map<String, Value>,
        states_path: &str,
        start: &str,
        edges: &HashMap<&str, Vec<&str>>,
    ) {
        let mut reached = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(name) = queue.pop_front() {
            for &target in edges.get(name).into_iter().flatten() {
                if reached.insert(target) {
                    queue.push_back(target);
                }
            }
        }
        for name in states.keys() {
            if !reached.contains(name.as_str()) {
                self.report(&format!("{states_path}.{name}"), Rule::Unreachable);
            }
        }
    }

    fn target_rule(&self, field: &str, target: &str, kind: Scope) -> Rule {
        if kind != Scope::Root && self.everywhere.contains(target) {
            Rule::ReachesOutside {
                field: field.into(),
                target: target.into(),
            }
        } else {
            Rule::UnknownTarget {
                field: field.into(),
                target: target.into(),
            }
        }
    }

    /// A transition's target: kept when it is a local state, else reported.
    fn target<'a>(
        &mut self,
        transitions: &mut Transitions<'a, '_>,
        field: &str,
        value: &'a Value,
        at: &str,
    ) {
        match value {
            Value::String(next) if transitions.local.contains(next.as_str()) => {
                transitions.found.push(next.as_str())
            }
            Value::String(next) => {
                let rule = self.target_rule(field, next, transitions.scope);
                self.report(at, rule);
            }
            _ => self.report(
                at,
                Rule::WrongType {
                    field: field.into(),
                    expected: "the name of a state",
                },
            ),
        }
    }

    /// Checks the sub-machines of a `scope` kind that `state` holds.
    fn nested(&mut self, state: &Value, path: &str, scope: Scope) {
        for nested in walk::nested(state) {
            if nested.scope == scope {
                let at = format!("{path}.{}", nested.field);
                self.scope(nested.machine, &at, scope, self.top);
            }
        }
    }

    /// Checks one state; the local states it can move to go to `transitions`.
    fn state<'a>(
        &mut self,
        name: &str,
        state: &'a Value,
        path: &str,
        transitions: &mut Transitions<'a, '_>,
        inherited: Language,
    ) {
        let before = self.problems.len();
        self.state_name(name, path);
        let Some(object) = state.as_object() else {
            self.report(path, Rule::NotAnObject);
            return;
        };
        let Some(kind) = self.state_kind(object, path) else {
            return;
        };
        let language = self.state_language(object, path, inherited);
        for field in ["Comment", "Label"] {
            if object.get(field).is_some_and(|v| !v.is_string()) {
                self.report(
                    path,
                    Rule::WrongType {
                        field: field.into(),
                        expected: "a string",
                    },
                );
            }
        }
        let shape_ok = self.problems.len() == before;
        let at = StateAt {
            state,
            object,
            kind,
            path,
            language,
        };
        self.transition(&at, transitions);
        for field in ["Retry", "Catch"] {
            if kind.fields.contains(&field)
                && let Some(list) = object.get(field)
            {
                self.handlers(field, list, &at, transitions);
            }
        }
        match language {
            Language::JsonPath => self.jsonpath_fields(&at),
            Language::Jsonata => self.jsonata_fields(&at),
        }
        self.number_fields(&at);
        self.kind_rules(&at, transitions);
        if shape_ok && self.problems.len() == before {
            self.schema(object, path);
        }
    }

    /// A state name's length, and that no other state has it.
    fn state_name(&mut self, name: &str, path: &str) {
        if name.chars().count() > MAX_NAME_LEN {
            self.report(
                path,
                Rule::NameTooLong {
                    len: name.chars().count(),
                },
            );
        }
        if let Some(first) = self.names.get(name) {
            let first = first.clone();
            self.report(
                path,
                Rule::DuplicateName {
                    name: name.to_owned(),
                    first,
                },
            );
        } else {
            self.names.insert(name.to_owned(), path.to_owned());
        }
    }

    /// The state's `Type` and the fields that type allows, if it is one;
    /// reports the fields it does not allow.
    fn state_kind<'a>(&mut self, object: &'a Map<String, Value>, path: &str) -> Option<Kind<'a>> {
        let kind = match object.get("Type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(_) => {
                self.report(
                    path,
                    Rule::WrongType {
                        field: "Type".into(),
                        expected: "a state type such as \"Task\"",
                    },
                );
                return None;
            }
            None => {
                self.report(path, Rule::MissingField { field: "Type" });
                return None;
            }
        };
        let fields: &[&str] = match kind {
            "Task" => TASK,
            "Parallel" => PARALLEL,
            "Map" => MAP,
            "Pass" => PASS,
            "Wait" => WAIT,
            "Choice" => CHOICE,
            "Succeed" => SUCCEED,
            "Fail" => FAIL,
            other => {
                self.report(path, Rule::UnknownType { kind: other.into() });
                return None;
            }
        };
        for key in object.keys() {
            if COMMON.contains(&key.as_str()) || fields.contains(&key.as_str()) {
                continue;
            }
            let rule = if key == "Retry" || key == "Catch" {
                Rule::ErrorHandlingNotAllowed {
                    field: key.clone(),
                    kind: kind.into(),
                }
            } else {
                Rule::NotAStateField {
                    field: key.clone(),
                    kind: kind.into(),
                }
            };
            self.report(path, rule);
        }
        Some(Kind { name: kind, fields })
    }

    /// The state's query language (its own, else `inherited`), and that its
    /// fields suit it.
    fn state_language(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        inherited: Language,
    ) -> Language {
        let language = match object.get("QueryLanguage") {
            None => inherited,
            Some(value) => Language::parse(Some(value)).unwrap_or_else(|| {
                self.report(
                    path,
                    Rule::WrongType {
                        field: "QueryLanguage".into(),
                        expected: "\"JSONPath\" or \"JSONata\"",
                    },
                );
                inherited
            }),
        };
        // AWS refuses it: a JSONata machine cannot hold JSONPath states.
        if self.top == Language::Jsonata && object.get("QueryLanguage") == Some(&"JSONPath".into())
        {
            self.report(path, Rule::JsonPathUnderJsonata);
        }
        self.language(object, path, language);
        language
    }

    /// `Next` or `End`, for the states that move on.
    fn transition<'a>(&mut self, at: &StateAt<'a, '_>, transitions: &mut Transitions<'a, '_>) {
        if !["Task", "Parallel", "Map", "Pass", "Wait"].contains(&at.kind.name) {
            return;
        }
        let end = at.object.get("End");
        if end.is_some_and(|e| !e.is_boolean()) {
            self.report(
                at.path,
                Rule::WrongType {
                    field: "End".into(),
                    expected: "true",
                },
            );
        }
        let ends = end == Some(&Value::Bool(true));
        match (at.object.get("Next"), ends) {
            (Some(_), true) => self.report(at.path, Rule::NextAndEnd),
            (None, false) => self.report(at.path, Rule::NoTransition),
            (Some(next), false) => self.target(transitions, "Next", next, at.path),
            (None, true) => {}
        }
    }

    /// Paths and payload templates of a JSONPath state.
    fn jsonpath_fields(&mut self, at: &StateAt<'_, '_>) {
        let (object, path) = (at.object, at.path);
        for &field in PATH_FIELDS {
            self.path_field(object, field, path);
        }
        if let Some(value) = object.get("ResultPath") {
            self.reference_path(value, "ResultPath", path);
        }
        for field in ["ErrorPath", "CausePath"] {
            if let Some(value) = object.get(field) {
                let ok = value
                    .as_str()
                    .is_some_and(|s| is_path(s) || is_intrinsic(s));
                if !ok {
                    self.invalid_path(field, value, path);
                }
            }
        }
        for field in [
            "Parameters",
            "ResultSelector",
            "ItemSelector",
            "Assign",
            "Credentials",
        ] {
            if let Some(template) = object.get(field) {
                self.template(template, &format!("{path}.{field}"));
            }
        }
    }

    /// Templates and expressions of a JSONata state.
    fn jsonata_fields(&mut self, at: &StateAt<'_, '_>) {
        for field in [
            "Arguments",
            "Output",
            "Assign",
            "Items",
            "ItemSelector",
            "Credentials",
        ] {
            if let Some(template) = at.object.get(field) {
                self.jsonata_template(template, &format!("{}.{field}", at.path));
            }
        }
        for &field in EXPRESSION_FIELDS {
            if let Some(Value::String(s)) = at.object.get(field)
                && looks_like_jsonata(s)
            {
                self.jsonata(s, at.path);
            }
        }
    }

    /// The fields that hold a number (or, in JSONata, an expression).
    fn number_fields(&mut self, at: &StateAt<'_, '_>) {
        for field in NUMBER_FIELDS {
            let Some(value) = at.object.get(*field) else {
                continue;
            };
            let expected = match (at.language, value) {
                (_, Value::Number(_)) => continue,
                (Language::Jsonata, Value::String(_)) => continue,
                (Language::JsonPath, Value::String(s)) if looks_like_jsonata(s) => continue,
                (Language::JsonPath, _) => "a number",
                (Language::Jsonata, _) => "a number or a `{% %}` expression",
            };
            self.report(
                at.path,
                Rule::WrongType {
                    field: (*field).into(),
                    expected,
                },
            );
        }
    }

    /// The rules of the state's own type.
    fn kind_rules<'a>(&mut self, at: &StateAt<'a, '_>, transitions: &mut Transitions<'a, '_>) {
        match at.kind.name {
            "Task" => self.task(at),
            "Fail" => {
                self.exclusive(at.object, at.path, "Error", "ErrorPath");
                self.exclusive(at.object, at.path, "Cause", "CausePath");
            }
            "Wait" => {
                let count = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                    .iter()
                    .filter(|f| at.object.contains_key(**f))
                    .count();
                if count != 1 {
                    self.report(at.path, Rule::WaitDuration);
                }
            }
            "Choice" => self.choice(at, transitions),
            "Parallel" => self.parallel(at),
            "Map" => self.map(at),
            _ => {}
        }
    }

    fn task(&mut self, at: &StateAt<'_, '_>) {
        let (object, path) = (at.object, at.path);
        match object.get("Resource") {
            None => self.report(path, Rule::MissingField { field: "Resource" }),
            Some(Value::String(arn)) => {
                if let Some(reason) = resource_problem(arn) {
                    self.report(path, Rule::InvalidResource { reason });
                }
            }
            Some(_) => self.report(
                path,
                Rule::WrongType {
                    field: "Resource".into(),
                    expected: "an ARN string",
                },
            ),
        }
        self.exclusive(object, path, "TimeoutSeconds", "TimeoutSecondsPath");
        self.exclusive(object, path, "HeartbeatSeconds", "HeartbeatSecondsPath");
        if let Some(credentials) = object.get("Credentials") {
            self.credentials(credentials, &format!("{path}.Credentials"));
        }
        let seconds = |field| object.get(field).and_then(Value::as_u64);
        if let (Some(heartbeat), Some(timeout)) =
            (seconds("HeartbeatSeconds"), seconds("TimeoutSeconds"))
            && heartbeat >= timeout
        {
            self.report(path, Rule::HeartbeatNotBelowTimeout { heartbeat, timeout });
        }
    }

    fn choice<'a>(&mut self, at: &StateAt<'a, '_>, transitions: &mut Transitions<'a, '_>) {
        let path = at.path;
        match at.object.get("Choices") {
            None => self.report(path, Rule::MissingField { field: "Choices" }),
            Some(Value::Array(rules)) if rules.is_empty() => {
                self.report(path, Rule::Empty { field: "Choices" })
            }
            Some(Value::Array(rules)) => {
                for (i, rule) in rules.iter().enumerate() {
                    let rule_at = format!("{path}.Choices[{i}]");
                    if let Some(next) = self.choice_rule(rule, &rule_at, true, at.language) {
                        self.target(transitions, "Next", next, &rule_at);
                    }
                }
            }
            Some(_) => self.report(
                path,
                Rule::WrongType {
                    field: "Choices".into(),
                    expected: "an array of rules",
                },
            ),
        }
        if let Some(default) = at.object.get("Default") {
            self.target(transitions, "Default", default, path);
        }
    }

    fn parallel(&mut self, at: &StateAt<'_, '_>) {
        match at.object.get("Branches") {
            None => self.report(at.path, Rule::MissingField { field: "Branches" }),
            Some(Value::Array(branches)) if branches.is_empty() => {
                self.report(at.path, Rule::Empty { field: "Branches" })
            }
            Some(Value::Array(_)) => self.nested(at.state, at.path, Scope::Branch),
            Some(_) => self.report(
                at.path,
                Rule::WrongType {
                    field: "Branches".into(),
                    expected: "an array of branches",
                },
            ),
        }
    }

    fn map(&mut self, at: &StateAt<'_, '_>) {
        let (object, path) = (at.object, at.path);
        match (object.get("ItemProcessor"), object.get("Iterator")) {
            (Some(_), Some(_)) => self.report(
                path,
                Rule::Exclusive {
                    first: "ItemProcessor",
                    second: "Iterator",
                },
            ),
            (None, None) => self.report(path, Rule::NoProcessor),
            // `Iterator` is the legacy name of the same thing,
            // `ProcessorConfig` and all.
            _ => self.nested(at.state, path, Scope::Processor),
        }
        for (field, sub) in [("ItemReader", true), ("ResultWriter", false)] {
            if let Some(Value::Object(inner)) = object.get(field) {
                self.reader_writer(inner, &format!("{path}.{field}"), at.language, sub);
            }
        }
        for (first, second) in [
            ("MaxConcurrency", "MaxConcurrencyPath"),
            (
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
            ),
            ("ToleratedFailureCount", "ToleratedFailureCountPath"),
            ("ItemsPath", "Items"),
            ("Parameters", "ItemSelector"),
        ] {
            self.exclusive(object, path, first, second);
        }
        self.map_settings(object, path);
    }

    /// Parses the state alone (sub-machines and rules emptied, since they are
    /// checked on their own) to catch values of the wrong type.
    fn schema(&mut self, object: &Map<String, Value>, path: &str) {
        let mut shallow = object.clone();
        if let Some(Value::Array(branches)) = shallow.get_mut("Branches") {
            for branch in branches {
                *branch = serde_json::json!({ "StartAt": "", "States": {} });
            }
        }
        for field in ["ItemProcessor", "Iterator"] {
            if let Some(Value::Object(processor)) = shallow.get_mut(field) {
                processor.insert("States".into(), Value::Object(Map::new()));
            }
        }
        if let Some(choices) = shallow.get_mut("Choices") {
            *choices = Value::Array(Vec::new());
        }
        if let Err(e) = serde_json::from_value::<State>(Value::Object(shallow)) {
            self.report(path, Rule::Schema(e.to_string()));
        }
    }

    fn language(&mut self, object: &Map<String, Value>, path: &str, language: Language) {
        match language {
            Language::Jsonata => {
                for &(field, hint) in JSONPATH_ONLY {
                    if object.contains_key(field) {
                        self.report(
                            path,
                            Rule::JsonPathFieldInJsonata {
                                field: field.into(),
                                hint,
                            },
                        );
                    }
                }
            }
            Language::JsonPath => {
                for &(field, hint) in JSONATA_ONLY {
                    if object.contains_key(field) {
                        self.report(
                            path,
                            Rule::JsonataFieldInJsonPath {
                                field: field.into(),
                                hint,
                            },
                        );
                    }
                }
                for &field in EXPRESSION_FIELDS {
                    if object
                        .get(field)
                        .and_then(Value::as_str)
                        .is_some_and(looks_like_jsonata)
                    {
                        self.report(
                            path,
                            Rule::JsonataValueInJsonPath {
                                field: field.into(),
                            },
                        );
                    }
                }
            }
        }
    }

    fn handlers<'a>(
        &mut self,
        field: &'static str,
        list: &'a Value,
        state: &StateAt<'a, '_>,
        transitions: &mut Transitions<'a, '_>,
    ) {
        let Some(entries) = list.as_array() else {
            self.report(
                state.path,
                Rule::WrongType {
                    field: field.into(),
                    expected: "an array",
                },
            );
            return;
        };
        let allowed = if field == "Retry" {
            RETRIER_FIELDS
        } else {
            CATCHER_FIELDS
        };
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("{}.{field}[{i}]", state.path);
            let Some(entry) = entry.as_object() else {
                self.report(&at, Rule::NotAnObject);
                continue;
            };
            for key in entry.keys() {
                if !allowed.contains(&key.as_str()) {
                    self.report(&at, Rule::UnknownField { field: key.clone() });
                }
            }
            let last = i + 1 == entries.len();
            self.error_equals(entry, &at, field, last);
            if field == "Retry" {
                self.retrier(entry, &at);
            } else {
                self.catcher(entry, &at, state.language, transitions);
            }
        }
    }

    /// A retrier's or catcher's `ErrorEquals`; `States.ALL` goes alone and
    /// in the `last` entry of `field`.
    fn error_equals(
        &mut self,
        entry: &Map<String, Value>,
        at: &str,
        field: &'static str,
        last: bool,
    ) {
        match entry.get("ErrorEquals") {
            None => self.report(
                at,
                Rule::MissingField {
                    field: "ErrorEquals",
                },
            ),
            Some(Value::Array(errors)) if errors.is_empty() => self.report(
                at,
                Rule::Empty {
                    field: "ErrorEquals",
                },
            ),
            Some(Value::Array(errors)) if errors.iter().all(Value::is_string) => {
                let all = errors.iter().any(|e| e == "States.ALL");
                if all && errors.len() > 1 {
                    self.report(at, Rule::StatesAllNotAlone);
                }
                if all && !last {
                    self.report(at, Rule::StatesAllNotLast { field });
                }
            }
            Some(_) => self.report(
                at,
                Rule::WrongType {
                    field: "ErrorEquals".into(),
                    expected: "an array of error names",
                },
            ),
        }
    }

    /// A catcher's `Next` and the fields of its state's query language.
    fn catcher<'a>(
        &mut self,
        entry: &'a Map<String, Value>,
        at: &str,
        language: Language,
        transitions: &mut Transitions<'a, '_>,
    ) {
        match entry.get("Next") {
            None => self.report(at, Rule::MissingField { field: "Next" }),
            Some(next) => self.target(transitions, "Next", next, at),
        }
        match language {
            Language::JsonPath => {
                if entry.contains_key("Output") {
                    self.report(
                        at,
                        Rule::JsonataFieldInJsonPath {
                            field: "Output".into(),
                            hint: "use `ResultPath`",
                        },
                    );
                }
                if let Some(value) = entry.get("ResultPath") {
                    self.reference_path(value, "ResultPath", at);
                }
                if let Some(assign) = entry.get("Assign") {
                    self.template(assign, &format!("{at}.Assign"));
                }
            }
            Language::Jsonata => {
                if entry.contains_key("ResultPath") {
                    self.report(
                        at,
                        Rule::JsonPathFieldInJsonata {
                            field: "ResultPath".into(),
                            hint: "use `Output` and `Assign`",
                        },
                    );
                }
                for field in ["Output", "Assign"] {
                    if let Some(template) = entry.get(field) {
                        self.jsonata_template(template, &format!("{at}.{field}"));
                    }
                }
            }
        }
    }

    fn retrier(&mut self, entry: &Map<String, Value>, at: &str) {
        let int = |v: &Value, min: u64| v.as_u64().is_some_and(|n| n >= min);
        if entry.get("IntervalSeconds").is_some_and(|v| !int(v, 1)) {
            self.report(
                at,
                Rule::InvalidValue {
                    field: "IntervalSeconds",
                    expected: "a whole number of seconds, at least 1",
                },
            );
        }
        if entry.get("MaxAttempts").is_some_and(|v| !int(v, 0)) {
            self.report(
                at,
                Rule::InvalidValue {
                    field: "MaxAttempts",
                    expected: "a whole number, 0 or more",
                },
            );
        }
        if entry.get("MaxDelaySeconds").is_some_and(|v| !int(v, 1)) {
            self.report(
                at,
                Rule::InvalidValue {
                    field: "MaxDelaySeconds",
                    expected: "a whole number of seconds, at least 1",
                },
            );
        }
        if entry
            .get("BackoffRate")
            .is_some_and(|v| !v.as_f64().is_some_and(|rate| rate >= 1.0))
        {
            self.report(
                at,
                Rule::InvalidValue {
                    field: "BackoffRate",
                    expected: "a number, at least 1.0",
                },
            );
        }
        if entry
            .get("JitterStrategy")
            .is_some_and(|v| v != "FULL" && v != "NONE")
        {
            self.report(
                at,
                Rule::InvalidValue {
                    field: "JitterStrategy",
                    expected: "\"FULL\" or \"NONE\"",
                },
            );
        }
    }

    /// Checks a choice rule; returns its `Next` when it is a top-level rule.
    fn choice_rule<'a>(
        &mut self,
        rule: &'a Value,
        at: &str,
        top: bool,
        language: Language,
    ) -> Option<&'a Value> {
        let Some(object) = rule.as_object() else {
            self.report(at, Rule::NotAnObject);
            return None;
        };
        let operators = self.rule_fields(object, at, top);
        self.rule_language(object, at, language);
        if let Some(variable) = object.get("Variable") {
            self.comparison(object, at, variable, &operators);
        }
        for field in ["And", "Or"] {
            match object.get(field) {
                None => {}
                Some(Value::Array(rules)) if !rules.is_empty() => {
                    for (i, rule) in rules.iter().enumerate() {
                        self.choice_rule(rule, &format!("{at}.{field}[{i}]"), false, language);
                    }
                }
                Some(_) => self.report(
                    at,
                    Rule::WrongType {
                        field: field.into(),
                        expected: "a non-empty array of rules",
                    },
                ),
            }
        }
        if let Some(rule) = object.get("Not") {
            self.choice_rule(rule, &format!("{at}.Not"), false, language);
        }
        if !top {
            return None;
        }
        let next = object.get("Next");
        if next.is_none() {
            self.report(at, Rule::MissingField { field: "Next" });
        }
        next
    }

    /// One condition per rule, and only the fields a rule has (`Next` and
    /// the rest only at the `top`); returns the comparison operators.
    fn rule_fields<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        at: &str,
        top: bool,
    ) -> Vec<&'a str> {
        let conditions: Vec<&str> = ["And", "Or", "Not", "Variable", "Condition"]
            .into_iter()
            .filter(|key| object.contains_key(*key))
            .collect();
        match conditions.as_slice() {
            [] => self.report(at, Rule::NoCondition),
            [_] => {}
            [first, second, ..] => self.report(
                at,
                Rule::ManyConditions {
                    first: (*first).into(),
                    second: (*second).into(),
                },
            ),
        }
        let operators: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|key| COMPARISON_OPERATORS.contains(key))
            .collect();
        let mut allowed = vec!["And", "Or", "Not", "Variable", "Condition", "Comment"];
        allowed.extend(&operators);
        if top {
            allowed.extend(["Next", "Assign", "Output"]);
        }
        if object.get("Comment").is_some_and(|c| !c.is_string()) {
            self.report(
                at,
                Rule::WrongType {
                    field: "Comment".into(),
                    expected: "a string",
                },
            );
        }
        for key in object.keys() {
            if key == "Next" && !top {
                self.report(at, Rule::NestedNext);
            } else if !allowed.contains(&key.as_str()) {
                self.report(at, Rule::UnknownField { field: key.clone() });
            }
        }
        operators
    }

    /// A rule's fields against its state's query language.
    fn rule_language(&mut self, object: &Map<String, Value>, at: &str, language: Language) {
        match language {
            Language::JsonPath => {
                for &(field, hint) in JSONATA_ONLY {
                    if object.contains_key(field) {
                        self.report(
                            at,
                            Rule::JsonataFieldInJsonPath {
                                field: field.into(),
                                hint,
                            },
                        );
                    }
                }
                if let Some(assign) = object.get("Assign") {
                    self.template(assign, &format!("{at}.Assign"));
                }
            }
            Language::Jsonata => {
                for field in ["Variable", "And", "Or", "Not"] {
                    if object.contains_key(field) {
                        self.report(
                            at,
                            Rule::JsonPathFieldInJsonata {
                                field: field.into(),
                                hint: "use `Condition` with a `{% %}` expression",
                            },
                        );
                    }
                }
                for field in ["Output", "Assign"] {
                    if let Some(template) = object.get(field) {
                        self.jsonata_template(template, &format!("{at}.{field}"));
                    }
                }
                if let Some(Value::String(condition)) = object.get("Condition") {
                    self.jsonata(condition, at);
                }
            }
        }
    }

    /// A rule on `Variable`: one operator, and paths and values it can compare.
    fn comparison(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        variable: &Value,
        operators: &[&str],
    ) {
        if operators.len() != 1 {
            self.report(at, Rule::NoComparison);
        }
        if !variable.as_str().is_some_and(is_path) {
            self.invalid_path("Variable", variable, at);
        }
        for operator in operators {
            let value = &object[*operator];
            if operator.ends_with("Path") {
                if !value.as_str().is_some_and(is_path) {
                    self.invalid_path(operator, value, at);
                }
                continue;
            }
            let expected = if operator.starts_with("Numeric") {
                value.is_number().then_some(()).ok_or("a number")
            } else if operator.starts_with("String") || operator.starts_with("Timestamp") {
                value.is_string().then_some(()).ok_or("a string")
            } else {
                value.is_boolean().then_some(()).ok_or("true or false")
            };
            if let Err(expected) = expected {
                self.report(
                    at,
                    Rule::WrongType {
                        field: (*operator).into(),
                        expected,
                    },
                );
            }
        }
    }

    fn processor_config(&mut self, config: &Value, at: &str) {
        let Some(config) = config.as_object() else {
            self.report(at, Rule::NotAnObject);
            return;
        };
        for (key, value) in config {
            let ok = match key.as_str() {
                "Mode" => value == "INLINE" || value == "DISTRIBUTED",
                "ExecutionType" => value == "STANDARD" || value == "EXPRESS",
                _ => {
                    self.report(at, Rule::UnknownField { field: key.clone() });
                    continue;
                }
            };
            if !ok {
                self.report(
                    at,
                    Rule::WrongType {
                        field: key.clone(),
                        expected: if key == "Mode" {
                            "\"INLINE\" or \"DISTRIBUTED\""
                        } else {
                            "\"STANDARD\" or \"EXPRESS\""
                        },
                    },
                );
            }
        }
    }

    fn reader_writer(
        &mut self,
        object: &Map<String, Value>,
        at: &str,
        language: Language,
        reader: bool,
    ) {
        let allowed: &[&str] = if reader {
            &["Resource", "ReaderConfig", "Parameters", "Arguments"]
        } else {
            &["Resource", "Parameters", "Arguments", "WriterConfig"]
        };
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                self.report(at, Rule::UnknownField { field: key.clone() });
            }
        }
        match language {
            Language::JsonPath => {
                if object.contains_key("Arguments") {
                    self.report(
                        at,
                        Rule::JsonataFieldInJsonPath {
                            field: "Arguments".into(),
                            hint: "use `Parameters`",
                        },
                    );
                }
                if let Some(template) = object.get("Parameters") {
                    self.template(template, &format!("{at}.Parameters"));
                }
            }
            Language::Jsonata => {
                if object.contains_key("Parameters") {
                    self.report(
                        at,
                        Rule::JsonPathFieldInJsonata {
                            field: "Parameters".into(),
                            hint: "use `Arguments`",
                        },
                    );
                }
                if let Some(template) = object.get("Arguments") {
                    self.jsonata_template(template, &format!("{at}.Arguments"));
                }
            }
        }
    }

    /// `RoleArn` (or its path or expression form) and nothing else.
    fn credentials(&mut self, credentials: &Value, at: &str) {
        let Some(object) = credentials.as_object() else {
            self.report(
                at,
                Rule::WrongType {
                    field: "Credentials".into(),
                    expected: "an object with `RoleArn` (or `RoleArn.$`)",
                },
            );
            return;
        };
        for key in object.keys() {
            if key != "RoleArn" && key != "RoleArn.$" {
                self.report(at, Rule::UnknownField { field: key.clone() });
            }
        }
        if !object.contains_key("RoleArn") && !object.contains_key("RoleArn.$") {
            self.report(at, Rule::MissingField { field: "RoleArn" });
        }
    }

    /// The Map fields whose values AWS bounds, beyond their types.
    fn map_settings(&mut self, object: &Map<String, Value>, path: &str) {
        if object.get("ItemsPath") == Some(&Value::Null) {
            self.invalid_path("ItemsPath", &Value::Null, path);
        }
        if let Some(percent) = object
            .get("ToleratedFailurePercentage")
            .and_then(Value::as_f64)
            && !(0.0..=100.0).contains(&percent)
        {
            self.report(
                path,
                Rule::InvalidValue {
                    field: "ToleratedFailurePercentage",
                    expected: "a number from 0 to 100",
                },
            );
        }
        if let Some(Value::String(label)) = object.get("Label")
            && let Some(reason) = label_problem(label)
        {
            self.report(path, Rule::InvalidLabel { reason });
        }
        if let Some(Value::Object(batcher)) = object.get("ItemBatcher") {
            let at = format!("{path}.ItemBatcher");
            self.exclusive(batcher, &at, "MaxItemsPerBatch", "MaxItemsPerBatchPath");
            self.exclusive(
                batcher,
                &at,
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
            );
        }
        if let Some(Value::Object(config)) = object
            .get("ItemReader")
            .and_then(|reader| reader.get("ReaderConfig"))
        {
            let at = format!("{path}.ItemReader.ReaderConfig");
            self.exclusive(config, &at, "MaxItems", "MaxItemsPath");
        }
    }

    fn exclusive(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        first: &'static str,
        second: &'static str,
    ) {
        if object.contains_key(first) && object.contains_key(second) {
            self.report(path, Rule::Exclusive { first, second });
        }
    }

    fn path_field(&mut self, object: &Map<String, Value>, field: &str, path: &str) {
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(value) if value.as_str().is_some_and(is_path) => {}
            Some(value) => self.invalid_path(field, value, path),
        }
    }

    fn invalid_path(&mut self, field: &str, value: &Value, at: &str) {
        self.report(
            at,
            Rule::InvalidPath {
                field: field.into(),
                value: show(value),
            },
        );
    }

    fn reference_path(&mut self, value: &Value, field: &str, at: &str) {
        match value {
            Value::Null => {}
            Value::String(path) if is_reference_path(path) => {}
            _ => self.report(
                at,
                Rule::InvalidReferencePath {
                    field: field.into(),
                    value: show(value),
                },
            ),
        }
    }

    /// A JSONPath payload template: keys ending in `.$` take a path or an
    /// intrinsic function.
    fn template(&mut self, template: &Value, at: &str) {
        match template {
            Value::Object(object) => {
                for (key, value) in object {
                    let Some(plain) = key.strip_suffix(".$") else {
                        self.template(value, at);
                        continue;
                    };
                    if object.contains_key(plain) {
                        self.report(
                            at,
                            Rule::DuplicateTemplateField {
                                key: plain.to_owned(),
                            },
                        );
                    }
                    self.dynamic_value(key, value, at);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.template(item, at);
                }
            }
            _ => {}
        }
    }

    /// A `{% ... %}` string: closed, and an expression that parses.
    fn jsonata(&mut self, value: &str, at: &str) {
        let rule = match jsonata_problem(value) {
            None => return,
            Some(JsonataProblem::Unclosed) => Rule::InvalidJsonata {
                value: value.to_owned(),
            },
            Some(JsonataProblem::Syntax { at, message }) => Rule::JsonataSyntax {
                value: value.to_owned(),
                at,
                message,
            },
        };
        self.report(at, rule);
    }

    /// The value of a `.$` key: a path or an intrinsic function call.
    fn dynamic_value(&mut self, key: &str, value: &Value, at: &str) {
        let text = value.as_str().unwrap_or_default();
        if is_path(text) {
            return;
        }
        let rule = if text.trim_start().starts_with("States.") {
            let Some(reason) = intrinsic_problem(text) else {
                return;
            };
            Rule::InvalidIntrinsic {
                key: key.to_owned(),
                value: text.to_owned(),
                reason,
            }
        } else {
            Rule::InvalidDynamicValue {
                key: key.to_owned(),
                value: show(value),
            }
        };
        self.report(at, rule);
    }

    /// A JSONata template: no `.$` keys, and `{%` strings must close and parse.
    fn jsonata_template(&mut self, template: &Value, at: &str) {
        match template {
            Value::Object(object) => {
                for (key, value) in object {
                    if key.ends_with(".$") {
                        self.report(at, Rule::JsonPathKeyInJsonata { key: key.clone() });
                    }
                    self.jsonata_template(value, at);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.jsonata_template(item, at);
                }
            }
            Value::String(s) if looks_like_jsonata(s) => self.jsonata(s, at),
            _ => {}
        }
    }
}

/// Why AWS would refuse a Map's `Label`, if it would.
fn label_problem(label: &str) -> Option<String> {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let len = label.chars().count();
    if len == 0 {
        return Some("is empty".into());
    }
    if len > 40 {
        return Some(format!("is {len} characters long"));
    }
    let bad = label
        .chars()
        .find(|&c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c))?;
    Some(format!("contains {bad:?}"))
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// A value as it appears in the document, for messages.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every state name in the document, at any depth.
fn collect_names(scope: &Value, names: &mut HashSet<String>) {
    let Some(states) = scope.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, state) in states {
        names.insert(name.clone());
        for nested in walk::nested(state) {
            collect_names(nested.machine, names);
        }
    }
}
