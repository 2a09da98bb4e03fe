//! One test per validator rule: each document under `tests/broken/` breaks
//! a rule, and the test pins the exact path and message reported.

use std::fs;
use std::path::Path;

fn problems(document: &str) -> Vec<String> {
    let document = serde_json::from_str(document).expect("broken documents are still JSON");
    match asl::validate(&document) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

macro_rules! rejects {
    ($($test:ident: $file:literal => [$($message:expr),* $(,)?];)*) => {$(
        #[test]
        fn $test() {
            let expected: &[&str] = &[$($message),*];
            assert_eq!(problems(include_str!(concat!("broken/", $file))), expected);
        }
    )*};
}

rejects! {
    bad_choice_rules: "bad-choice-rules.asl.json" => [
        "States.Route.Choices[0]: choice rule has no condition: add `Variable` with a comparison, `And`, `Or`, `Not` or (JSONata) `Condition`",
        "States.Route.Choices[1]: choice rule has more than one condition (`Not` and `Variable`): combine them with `And`",
        "States.Route.Choices[1]: choice rule on `Variable` needs exactly one comparison operator such as `StringEquals`",
        "States.Route.Choices[2]: choice rule on `Variable` needs exactly one comparison operator such as `StringEquals`",
        "States.Route.Choices[3].And[0]: a nested choice rule cannot have `Next`: only top-level rules move to a state, so remove it",
        "States.Route.Choices[4]: `StringEquals` must be a string",
        "States.Route.Choices[4]: missing `Next`: add it",
    ];
    branch_reaches_outside: "branch-reaches-outside.asl.json" => [
        "States.Process.Branches[0].States.Resize: `Next` names `Done`, which is outside this branch: a Parallel or Map branch may only move between its own states",
    ];
    choice_rule_in_wrong_language: "choice-rule-in-wrong-language.asl.json" => [
        "States.Route.Choices[0]: `Variable` is a JSONPath field but this state uses JSONata: use `Condition` with a `{% %}` expression",
    ];
    duplicate_name: "duplicate-name.asl.json" => [
        "States.Process.Branches[1].States.Resize: state name `Resize` is already used at `States.Process.Branches[0].States.Resize`: names must be unique across the whole machine, so rename one",
    ];
    empty: "empty.asl.json" => [
        "States.Route: `Choices` must not be empty: add at least one entry",
        "States.Process: `Branches` must not be empty: add at least one entry",
    ];
    exclusive: "exclusive.asl.json" => [
        "States.Resize: `TimeoutSeconds` and `TimeoutSecondsPath` cannot be used together: keep one",
        "States.Failed: `Error` and `ErrorPath` cannot be used together: keep one",
    ];
    heartbeat_not_below_timeout: "heartbeat-not-below-timeout.asl.json" => [
        "States.WaitForApproval: `HeartbeatSeconds` (300) must be less than `TimeoutSeconds` (300): lower it or raise the timeout",
    ];
    invalid_choice_paths: "invalid-choice-paths.asl.json" => [
        "States.Route.Choices[0]: `Variable` is not a valid JSONPath (`kind`): start it with `$`, `$$` or `$variable` and fix the steps",
        "States.Route.Choices[1]: `NumericGreaterThanPath` is not a valid JSONPath (`$.limits[`): start it with `$`, `$$` or `$variable` and fix the steps",
    ];
    invalid_dynamic_value: "invalid-dynamic-value.asl.json" => [
        "States.Resize.Parameters: `bucket.$` ends in `.$`, so its value must be a path or an intrinsic function such as `States.Format(...)`, not `detail.bucket`: fix the value or drop the `.$`",
        "States.Resize.Parameters: `key.$` holds `States.Fromat('{}', $.key)`, which is not a valid intrinsic function call: there is no function `States.Fromat`: fix the call",
        "States.Resize.Parameters: `width.$` ends in `.$`, so its value must be a path or an intrinsic function such as `States.Format(...)`, not `64`: fix the value or drop the `.$`",
    ];
    invalid_jsonata: "invalid-jsonata.asl.json" => [
        "States.Route.Choices[0]: `{% $states.input.kind = 'jpeg'` is not a complete JSONata expression: write it as `{% ... %}`",
        "States.Done.Output: `{% $states.input.kind` is not a complete JSONata expression: write it as `{% ... %}`",
    ];
    invalid_path: "invalid-path.asl.json" => [
        "States.Resize: `InputPath` is not a valid JSONPath (`detail`): start it with `$`, `$$` or `$variable` and fix the steps",
        "States.Resize: `OutputPath` is not a valid JSONPath (`$.a[`): start it with `$`, `$$` or `$variable` and fix the steps",
    ];
    invalid_result_path: "invalid-result-path.asl.json" => [
        "States.Resize: `ResultPath` is not a valid reference path (`$.items[*]`): use `$` followed by `.name`, `['name']` or `[index]` steps",
    ];
    invalid_retrier: "invalid-retrier.asl.json" => [
        "States.Resize.Retry[0]: `IntervalSeconds` must be a whole number of seconds, at least 1: fix its value",
        "States.Resize.Retry[0]: `BackoffRate` must be a number, at least 1.0: fix its value",
        "States.Resize.Retry[0]: `JitterStrategy` must be \"FULL\" or \"NONE\": fix its value",
    ];
    jsonata_field_in_jsonpath: "jsonata-field-in-jsonpath.asl.json" => [
        "States.Resize: `Arguments` is a JSONata field but this state uses JSONPath: use `Parameters`, or set `\"QueryLanguage\": \"JSONata\"`",
        "States.Resize: `Output` is a JSONata field but this state uses JSONPath: use `ResultSelector`, `ResultPath` or `OutputPath`, or set `\"QueryLanguage\": \"JSONata\"`",
    ];
    jsonata_value_in_jsonpath: "jsonata-value-in-jsonpath.asl.json" => [
        "States.Resize: `TimeoutSeconds` holds a JSONata expression but this state uses JSONPath: set `\"QueryLanguage\": \"JSONata\"`",
    ];
    jsonpath_field_in_jsonata: "jsonpath-field-in-jsonata.asl.json" => [
        "States.Resize: `Parameters` is a JSONPath field but this state uses JSONata: use `Arguments` (or `ItemSelector` in a Map)",
        "States.Resize: `ResultPath` is a JSONPath field but this state uses JSONata: use `Output` and `Assign`",
    ];
    map_reaches_outside: "map-reaches-outside.asl.json" => [
        "States.EachPhoto.ItemProcessor.States.Resize.Catch[0]: `Next` names `Failed`, which is outside this branch: a Parallel or Map branch may only move between its own states",
        "States.Failed: state is unreachable from `StartAt`: remove it or add a transition to it",
    ];
    missing_field: "missing-field.asl.json" => [
        "States.Resize: missing `Resource`: add it",
    ];
    name_too_long: "name-too-long.asl.json" => [
        "States.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA: state name is 81 characters long: shorten it to at most 80",
    ];
    next_and_end: "next-and-end.asl.json" => [
        "States.Resize: state has both `Next` and `End`: keep only one",
        "States.Done: state is unreachable from `StartAt`: remove it or add a transition to it",
    ];
    next_on_succeed: "next-on-succeed.asl.json" => [
        "States.Done: `Next` is not a field of a Succeed state: remove it or fix its spelling",
    ];
    no_processor: "no-processor.asl.json" => [
        "States.EachPhoto: a Map state needs `ItemProcessor` (or the legacy `Iterator`): add one",
    ];
    no_transition: "no-transition.asl.json" => [
        "States.Resize: state has neither `Next` nor `End`: add `\"Next\": \"...\"` or `\"End\": true`",
    ];
    not_an_object: "not-an-object.asl.json" => [
        "States.Resize: must be a JSON object",
    ];
    retry_on_pass: "retry-on-pass.asl.json" => [
        "States.Prepare: a Pass state cannot have `Retry`: only Task, Parallel and Map states retry or catch errors, so remove it",
        "States.Prepare: a Pass state cannot have `Catch`: only Task, Parallel and Map states retry or catch errors, so remove it",
    ];
    schema: "schema.asl.json" => [
        "States.EachPhoto: invalid field value: invalid type: string \"s3://photos/manifest.json\", expected struct ItemReader: fix its type",
    ];
    states_all_not_alone: "states-all-not-alone.asl.json" => [
        "States.Resize.Retry[0]: `States.ALL` must be alone in `ErrorEquals`: move the other errors to an earlier entry",
    ];
    states_all_not_last: "states-all-not-last.asl.json" => [
        "States.Resize.Retry[0]: `States.ALL` must be in the last `Retry` entry: move this entry to the end",
        "States.Resize.Catch[0]: `States.ALL` must be in the last `Catch` entry: move this entry to the end",
    ];
    unknown_catch_next: "unknown-catch-next.asl.json" => [
        "States.Resize.Catch[0]: `Next` names `Failed`, which is not a state here: add that state or fix the name",
    ];
    unknown_default: "unknown-default.asl.json" => [
        "States.Route: `Default` names `Reject`, which is not a state here: add that state or fix the name",
    ];
    unknown_field: "unknown-field.asl.json" => [
        "(root): unknown field `Comments`: remove it or fix its spelling",
        "States.Resize: `ResultPth` is not a field of a Task state: remove it or fix its spelling",
        "States.Resize.Retry[0]: unknown field `MaxAttempt`: remove it or fix its spelling",
    ];
    unknown_next: "unknown-next.asl.json" => [
        "States.Resize: `Next` names `Sotre`, which is not a state here: add that state or fix the name",
        "States.Store: state is unreachable from `StartAt`: remove it or add a transition to it",
    ];
    unknown_start_at: "unknown-start-at.asl.json" => [
        "StartAt: `StartAt` names `Begin`, which is not a state here: add that state or fix the name",
    ];
    unknown_type: "unknown-type.asl.json" => [
        "States.Resize: unknown state type `Lambda`: use one of Task, Choice, Parallel, Map, Pass, Wait, Succeed or Fail",
    ];
    unreachable_state: "unreachable-state.asl.json" => [
        "States.Orphan: state is unreachable from `StartAt`: remove it or add a transition to it",
    ];
    wait_duration: "wait-duration.asl.json" => [
        "States.Pause: a Wait state needs exactly one of `Seconds`, `Timestamp`, `SecondsPath` or `TimestampPath`",
    ];
    wrong_type: "wrong-type.asl.json" => [
        "(root): `StartAt` must be the name of a state",
        "States.Resize: `Comment` must be a string",
        "States.Resize: `TimeoutSeconds` must be a number",
    ];
    no_terminal_state: "no-terminal-state.asl.json" => [
        "States: no state ends here: give one state `\"End\": true` or add a Succeed or Fail state",
    ];
    jsonpath_state_in_jsonata_machine: "jsonpath-state-in-jsonata-machine.asl.json" => [
        "States.Resize: `QueryLanguage` is \"JSONPath\" but the machine's top level is JSONata: a state may only opt into JSONata, so remove it or make the top level JSONPath",
    ];
    bad_credentials: "bad-credentials.asl.json" => [
        "States.Empty.Credentials: missing `RoleArn`: add it",
        "States.Extra.Credentials: unknown field `Region`: remove it or fix its spelling",
        "States.Text.Credentials: `Credentials` must be an object with `RoleArn` (or `RoleArn.$`)",
        "States.Null.Credentials: `Credentials` must be an object with `RoleArn` (or `RoleArn.$`)",
    ];
    bad_map_label: "bad-map-label.asl.json" => [
        "States.Empty: Map `Label` is empty: use 1 to 40 characters, none of them whitespace, a control character, a bracket, a backtick or one of ? * \" # % \\ ^ | ~ $ & , ; : /",
        "States.Long: Map `Label` is 41 characters long: use 1 to 40 characters, none of them whitespace, a control character, a bracket, a backtick or one of ? * \" # % \\ ^ | ~ $ & , ; : /",
        "States.Spaced: Map `Label` contains ' ': use 1 to 40 characters, none of them whitespace, a control character, a bracket, a backtick or one of ? * \" # % \\ ^ | ~ $ & , ; : /",
    ];
    duplicate_template_field: "duplicate-template-field.asl.json" => [
        "States.Resize.Parameters: `bucket` and `bucket.$` name the same field: keep one",
        "States.Resize.Parameters: `width` and `width.$` name the same field: keep one",
    ];
    map_settings: "map-settings.asl.json" => [
        "States.Each: `Parameters` and `ItemSelector` cannot be used together: keep one",
        "States.Each: `ItemsPath` is not a valid JSONPath (`null`): start it with `$`, `$$` or `$variable` and fix the steps",
        "States.Each: `ToleratedFailurePercentage` must be a number from 0 to 100: fix its value",
        "States.Each.ItemBatcher: `MaxItemsPerBatch` and `MaxItemsPerBatchPath` cannot be used together: keep one",
        "States.Each.ItemReader.ReaderConfig: `MaxItems` and `MaxItemsPath` cannot be used together: keep one",
    ];
    jsonata_syntax: "jsonata-syntax.asl.json" => [
        "States.Sum.Output: `{% 10 + * 2 %}` does not parse as JSONata: Syntax error `2` at character 11: fix the expression",
        "States.Sum.Output: `{% $sum($states.input.items %}` does not parse as JSONata: Expected `)` before end of expression at character 29: fix the expression",
        "States.Route.Choices[0]: `{% $states.input.total > %}` does not parse as JSONata: The symbol `(end)` cannot be used as a unary operator at character 26: fix the expression",
    ];
    invalid_intrinsic: "invalid-intrinsic.asl.json" => [
        "States.Shape.Parameters: `parsed.$` holds `States.StringToJson('{\"t\":\"a \\\"q\\\" b\"}')`, which is not a valid intrinsic function call: `\\\"` is not an escape: in a string only `\\'`, `\\{`, `\\}` and `\\\\` are: fix the call",
        "States.Shape.Parameters: `sum.$` holds `States.MathAdd(1,'-1')`, which is not a valid intrinsic function call: `States.MathAdd` takes numbers, not strings: fix the call",
        "States.Shape.Parameters: `id.$` holds `States.UUID($.seed)`, which is not a valid intrinsic function call: `States.UUID` takes 0 arguments, not 1: fix the call",
        "States.Shape.Parameters: `open.$` holds `States.Format('{}', $.name`, which is not a valid intrinsic function call: `States.Format(` is not closed with `)`: fix the call",
    ];
    invalid_resource: "invalid-resource.asl.json" => [
        "States.Query: `Resource` names `dynamodb:query`, which is not an optimized integration (those of dynamodb are getItem, putItem, updateItem, deleteItem): call it as `arn:aws:states:::aws-sdk:dynamodb:query`: fix the ARN",
        "States.Alias: `Resource` ends in `:` with no version or alias after it: fix the ARN",
        "States.Template: `Resource` opens a `${` substitution it does not close: fix the ARN",
    ];
    processor_language_not_inherited: "processor-language-not-inherited.asl.json" => [
        "States.Each.ItemProcessor.States.Resize: `Arguments` is a JSONata field but this state uses JSONPath: use `Parameters`, or set `\"QueryLanguage\": \"JSONata\"`",
    ];
}

/// Every file under `tests/broken/` must have a test above and be rejected,
/// so `cargo xtask asl check asl/tests/broken/*` shows every rule failing.
#[test]
fn every_broken_file_is_rejected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let here = include_str!("validate.rs");
    for entry in fs::read_dir(&dir).expect("tests/broken exists") {
        let path = entry.expect("readable directory").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name");
        assert!(
            here.contains(&format!("{name:?}")),
            "{name} has no test in tests/validate.rs"
        );
        let text = fs::read_to_string(&path).expect("readable file");
        assert!(!problems(&text).is_empty(), "{name} is accepted");
    }
}

/// For editors and CI annotations: where in the document, and which rule.
#[test]
fn problems_point_into_the_document_and_name_their_rule() {
    let text = include_str!("broken/branch-reaches-outside.asl.json");
    let document: serde_json::Value = serde_json::from_str(text).expect("JSON");
    let errors = asl::validate(&document).expect_err("broken");
    assert_eq!(
        errors.0[0].pointer(&document),
        "/States/Process/Branches/0/States/Resize"
    );
    assert_eq!(errors.0[0].rule.name(), "reaches-outside");
    // State names may hold dots and slashes; the document says where they end.
    let document = serde_json::json!({
        "StartAt": "v1.resize/small",
        "States": { "v1.resize/small": { "Type": "Pass", "Next": "gone" } }
    });
    let errors = asl::validate(&document).expect_err("broken");
    assert_eq!(errors.0[0].pointer(&document), "/States/v1.resize~1small");
    assert_eq!(errors.0[0].rule.name(), "unknown-target");
}

/// AWS keeps a `.$` key in JSONata as written: a warning, not a refusal.
#[test]
fn a_jsonpath_key_in_jsonata_is_a_warning() {
    let text = include_str!("accepted/jsonpath-key-in-jsonata.asl.json");
    let document: serde_json::Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(asl::validate(&document), Ok(()));
    let warnings: Vec<String> = asl::problems(&document)
        .iter()
        .filter(|p| p.rule.is_warning())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warnings,
        [
            "States.Resize.Arguments: `key.$` ends in `.$`, which only JSONPath reads: in JSONata AWS keeps the key as written, `.$` and all; if the value was meant to be evaluated, drop the `.$` and write it as `{% ... %}`"
        ]
    );
}
