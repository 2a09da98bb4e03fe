//! The synthesized stack: snapshots of what reviewers care about, and the
//! invariants that must hold whatever the snapshots say.

use serde_json::Value;

fn template() -> Value {
    infra::stack::template()
        .expect("the stack builds")
        .to_json()
        .expect("every reference in the stack resolves")
}

/// Both machines as the service would read them: what `asl check` says of
/// the committed documents.
#[test]
fn the_definitions_pass_the_validator() {
    for machine in [infra::pipeline::definition(), infra::backfill::definition()] {
        let json = serde_json::to_value(&machine).expect("serializes");
        let problems = asl::problems(&json);
        assert!(problems.is_empty(), "{problems:?}");
    }
}

/// `CreateChangeSet` takes a template of at most 51,200 bytes inline, as
/// deploy sends it (JSON).
#[test]
fn the_template_fits_in_a_request() {
    let body = serde_json::to_string(&template()).expect("serializes");
    assert!(
        body.len() <= 51_200,
        "the template is {} bytes; CloudFormation takes 51,200 inline",
        body.len()
    );
}

#[test]
fn committed_artifacts_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for artifact in infra::artifacts().expect("the stack renders") {
        let committed = std::fs::read_to_string(root.join(artifact.path)).unwrap_or_default();
        assert!(
            committed == artifact.contents,
            "{} is stale: run `cargo xtask synth` and commit the result",
            artifact.path
        );
    }
}

/// Every IAM policy of the stack, by role: the least-privilege review surface.
#[test]
fn iam_policies() {
    let template = template();
    let roles: serde_json::Map<String, Value> = template["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
        .map(|(id, r)| (id.clone(), r["Properties"]["Policies"].clone()))
        .collect();
    insta::assert_yaml_snapshot!(roles);
}

#[test]
fn no_wildcard_resource_except_where_iam_has_no_resource_level_permissions() {
    let allowed_wildcards = [
        "rekognition:DetectLabels",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    ];
    let template = template();
    for (id, resource) in template["Resources"].as_object().expect("resources") {
        for policy in resource["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .expect("statements")
            {
                let wildcard = statement["Resource"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r == "*"));
                if wildcard {
                    for action in statement["Action"].as_array().expect("actions") {
                        let action = action.as_str().expect("action is a string");
                        assert!(
                            allowed_wildcards.contains(&action) && !action.contains('*'),
                            "{id}: {action} on `*`"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn thumbnails_do_not_trigger_executions() {
    let template = template();
    let notifications = &template["Resources"]["PhotoBucket"]["Properties"]["NotificationConfiguration"]
        ["LambdaConfigurations"];
    let prefixes: Vec<&Value> = notifications
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| &n["Filter"]["S3Key"]["Rules"][0]["Value"])
        .collect();
    assert_eq!(prefixes, vec![photopipe_shared::INCOMING_PREFIX]);
}

#[test]
fn every_error_the_state_machines_match_is_ours_or_one_aws_raises() {
    let mut names = Vec::new();
    for machine in [infra::pipeline::definition(), infra::backfill::definition()] {
        let definition = serde_json::to_value(machine).expect("serializes");
        collect_error_names(&definition, &mut names);
    }
    let ours: Vec<&str> = photopipe_shared::ErrorName::ALL
        .iter()
        .map(|e| e.as_str())
        .collect();
    for name in names {
        assert!(
            AWS_ERROR_NAMES.contains(&name.as_str()) || ours.contains(&name.as_str()),
            "{name} is neither ours (ErrorName) nor an error AWS raises (AWS_ERROR_NAMES)"
        );
    }
}

/// The error names of AWS the state machine may match, spelt as Step
/// Functions reports them: the ASL specification's `States.*`, the Lambda
/// service exceptions Step Functions' Lambda integration names, and the
/// API exceptions of DynamoDB and Rekognition under their service's prefix.
/// A name must be here, or be ours, to be matched: a misspelt one would
/// never match anything.
const AWS_ERROR_NAMES: &[&str] = &[
    "States.ALL",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.Runtime",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "DynamoDB.ConditionalCheckFailedException",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.ThrottlingException",
    "DynamoDB.AmazonDynamoDBException",
    "Rekognition.ImageTooLargeException",
    "Rekognition.InternalServerErrorException",
    "Rekognition.InvalidImageFormatException",
    "Rekognition.InvalidS3ObjectException",
    "Rekognition.ProvisionedThroughputExceededException",
    "Rekognition.ThrottlingException",
    "StepFunctions.AWSStepFunctionsException",
    "StepFunctions.ExecutionLimitExceededException",
    "StepFunctions.SdkClientException",
];

fn collect_error_names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "ErrorEquals" {
                    out.extend(
                        v.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e.as_str().map(str::to_owned)),
                    );
                } else if k == "Error" && v.is_string() {
                    // A JSONata `Error` is computed: it re-raises what was caught.
                    let name = v.as_str().unwrap_or_default();
                    if !name.starts_with("{%") {
                        out.push(name.to_owned());
                    }
                } else {
                    collect_error_names(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_error_names(v, out)),
        _ => {}
    }
}

/// Every write to the item is conditional on the event's sequencer, and
/// every state that can lose that race (or read replaced bytes) ends the
/// execution in `Superseded`: an older upload never overwrites a newer one.
#[test]
fn every_item_write_is_ordered_by_the_sequencer() {
    let machine = infra::pipeline::definition();
    let writes: Vec<(&str, &asl::Task)> = machine
        .all_states()
        .into_iter()
        .filter_map(|s| match s.state {
            asl::State::Task(task) if task.resource.contains(":dynamodb:") => Some((s.name, task)),
            _ => None,
        })
        .collect();
    assert_eq!(writes.len(), 6, "{writes:?}");
    for (name, task) in writes {
        let parameters = task
            .parameters
            .as_ref()
            .expect("a DynamoDB task has parameters");
        let condition = parameters["ConditionExpression"]
            .as_str()
            .unwrap_or_default();
        assert!(condition.contains("#sequencer"), "{name}: {condition:?}");
        assert_eq!(
            parameters["ExpressionAttributeNames"]["#sequencer"],
            "sequencer"
        );
        assert_eq!(
            parameters["ExpressionAttributeValues"][":sequencer"]["S.$"],
            "$.sequencer"
        );
    }
    let catches_to_superseded = |state: &Value, error: &str| {
        state["Catch"].as_array().into_iter().flatten().any(|c| {
            c["Next"] == "Superseded"
                && c["ErrorEquals"]
                    .as_array()
                    .is_some_and(|e| e.contains(&error.into()))
        })
    };
    let definition = serde_json::to_value(&machine).expect("serializes");
    let states = &definition["States"];
    for state in [
        "StoreMetadata",
        "RecordFailure",
        "RecordRejection",
        "MarkCompleted",
        "ProcessImage",
    ] {
        assert!(
            catches_to_superseded(&states[state], "DynamoDB.ConditionalCheckFailedException"),
            "{state}"
        );
    }
    for state in ["ExtractMetadata", "ProcessImage"] {
        assert!(
            catches_to_superseded(&states[state], "Superseded"),
            "{state}"
        );
    }
    assert_eq!(states["Superseded"]["Type"], "Succeed");
}
