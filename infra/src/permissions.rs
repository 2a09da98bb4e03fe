//! Least privilege for the state machine, derived from its definition.
//!
//! Every Task state is read for the service integration it calls and the
//! resource it names; the role gets exactly those actions on exactly those
//! resources. A Task this module does not understand is an error rather than
//! a silently missing (or silently broad) permission.

use std::collections::BTreeMap;

use asl::{Map, ProcessorMode, State, StateMachine, Task};
use serde_json::Value;

use crate::cfn::{Expr, TemplateError};
use crate::resources::Statement;

/// A `${Name}` in the definition, the value substituted for it, and the ARN
/// IAM needs for it (a table is substituted by name but authorised by ARN).
#[derive(Debug, Clone)]
pub struct Placeholder {
    pub name: &'static str,
    pub value: Expr,
    pub arn: Expr,
    /// For a state machine, the ARN pattern of its executions, which a
    /// `.sync` task describes and stops.
    pub executions: Option<Expr>,
}

impl Placeholder {
    pub fn function(name: &'static str, arn: Expr) -> Placeholder {
        Placeholder {
            name,
            value: arn.clone(),
            arn,
            executions: None,
        }
    }

    pub fn table(name: &'static str, table_name: Expr, arn: Expr) -> Placeholder {
        Placeholder {
            name,
            value: table_name,
            arn,
            executions: None,
        }
    }

    pub fn bucket(name: &'static str, bucket_name: Expr, arn: Expr) -> Placeholder {
        Placeholder {
            name,
            value: bucket_name,
            arn,
            executions: None,
        }
    }

    pub fn state_machine(name: &'static str, arn: Expr, executions: Expr) -> Placeholder {
        Placeholder {
            name,
            value: arn.clone(),
            arn,
            executions: Some(executions),
        }
    }
}

/// The state machine the statements are for, where its own ARN is needed:
/// a Distributed Map starts its child workflows as executions of it.
#[derive(Debug, Clone)]
pub struct Itself {
    pub arn: Expr,
    /// The ARN pattern of its child workflow executions.
    pub child_executions: Expr,
}

/// The rule through which Step Functions learns that a `.sync` child
/// execution ended.
const SYNC_EVENTS_RULE: &str = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule";

/// The IAM statements the state machine's Task states need, those inside
/// Parallel branches and Map processors too. `input_objects` is the ARN
/// pattern of the objects executions are started for, which Rekognition
/// reads with the state machine's credentials.
pub fn state_machine_statements(
    definition: &StateMachine,
    placeholders: &[Placeholder],
    input_objects: &Expr,
    itself: Option<&Itself>,
) -> Result<Vec<Statement>, TemplateError> {
    let mut grants = Grants {
        placeholders,
        input_objects,
        by_action: BTreeMap::new(),
    };
    for visited in definition.all_states() {
        match visited.state {
            State::Task(task) => grants.task(&visited.path(), task)?,
            State::Map(map) => grants.map(&visited.path(), map, itself)?,
            _ => {}
        }
    }
    Ok(grants.statements())
}

/// The actions the Task states need, with what they are needed on.
struct Grants<'a> {
    placeholders: &'a [Placeholder],
    input_objects: &'a Expr,
    /// Action -> resources, ordered so the policy is deterministic.
    by_action: BTreeMap<String, Vec<Expr>>,
}

impl Grants<'_> {
    fn grant(&mut self, action: &str, resource: Expr) {
        let resources = self.by_action.entry(action.to_owned()).or_default();
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }

    /// The placeholder `text` names, as the state at `path` uses it.
    fn placeholder(&self, path: &str, text: Option<&str>) -> Result<&Placeholder, TemplateError> {
        let text = text.unwrap_or_default();
        self.placeholders
            .iter()
            .find(|p| text == format!("${{{}}}", p.name))
            .ok_or_else(|| TemplateError::DanglingReference {
                from: path.to_owned(),
                target: text.to_owned(),
            })
    }

    /// What a Distributed Map at `path` needs beyond its processor's tasks:
    /// to start its child workflows, to read its items and to write its results.
    fn map(&mut self, path: &str, map: &Map, itself: Option<&Itself>) -> Result<(), TemplateError> {
        let distributed = map
            .processor()
            .and_then(|p| p.processor_config.as_ref())
            .is_some_and(|c| c.mode == Some(ProcessorMode::Distributed));
        if !distributed {
            return Ok(());
        }
        let itself = itself.ok_or_else(|| TemplateError::DanglingReference {
            from: path.to_owned(),
            target: "a Distributed Map needs its own state machine's ARN".to_owned(),
        })?;
        self.grant("states:StartExecution", itself.arn.clone());
        self.grant("states:DescribeExecution", itself.child_executions.clone());
        self.grant("states:StopExecution", itself.child_executions.clone());
        if let Some(reader) = &map.item_reader {
            let parameters = reader.parameters.as_ref().or(reader.arguments.as_ref());
            let bucket = parameters
                .and_then(|p| p.get("Bucket"))
                .and_then(Value::as_str);
            match reader.resource.as_str() {
                "arn:aws:states:::s3:listObjectsV2" => {
                    let bucket = self.placeholder(path, bucket)?.arn.clone();
                    self.grant("s3:ListBucket", bucket);
                }
                other => return Err(unmapped(path, other)),
            }
        }
        if let Some(writer) = &map.result_writer {
            let parameters = writer.parameters.as_ref().or(writer.arguments.as_ref());
            let field = |name: &str| parameters.and_then(|p| p.get(name)).and_then(Value::as_str);
            match writer.resource.as_deref() {
                Some("arn:aws:states:::s3:putObject") => {
                    let bucket = self.placeholder(path, field("Bucket"))?.arn.clone();
                    let prefix = field("Prefix").unwrap_or_default().trim_end_matches('/');
                    let objects =
                        Expr::sub_with(format!("${{Bucket}}/{prefix}/*"), [("Bucket", bucket)]);
                    for action in [
                        "s3:PutObject",
                        "s3:GetObject",
                        "s3:ListMultipartUploadParts",
                        "s3:AbortMultipartUpload",
                    ] {
                        self.grant(action, objects.clone());
                    }
                }
                other => return Err(unmapped(path, other.unwrap_or("(none)"))),
            }
        }
        Ok(())
    }

    /// What the Task state at `path` calls, on what.
    fn task(&mut self, path: &str, task: &Task) -> Result<(), TemplateError> {
        let lookup = |text: Option<&str>| -> Result<Expr, TemplateError> {
            self.placeholder(path, text).map(|p| p.arn.clone())
        };
        let resource = task.resource.as_str();
        // JSONata states name their fields in `Arguments`.
        let parameters = task
            .parameters
            .as_ref()
            .or(task.arguments.as_ref())
            .unwrap_or(&Value::Null);
        match resource {
            "arn:aws:states:::lambda:invoke" => {
                let function = parameters.get("FunctionName").and_then(Value::as_str);
                self.grant("lambda:InvokeFunction", lookup(function)?);
            }
            "arn:aws:states:::dynamodb:putItem"
            | "arn:aws:states:::dynamodb:updateItem"
            | "arn:aws:states:::dynamodb:getItem"
            | "arn:aws:states:::dynamodb:deleteItem" => {
                let op = resource.rsplit(':').next().unwrap_or_default();
                let table = parameters.get("TableName").and_then(Value::as_str);
                self.grant(&format!("dynamodb:{}", upper_first(op)), lookup(table)?);
            }
            "arn:aws:states:::aws-sdk:rekognition:detectLabels" => {
                // DetectLabels has no resource-level permissions; the object
                // it reads is authorised separately below.
                self.grant("rekognition:DetectLabels", "*".into());
                if parameters.pointer("/Image/S3Object").is_some() {
                    self.grant("s3:GetObject", self.input_objects.clone());
                }
            }
            "arn:aws:states:::states:startExecution.sync:2" => {
                let machine = parameters.get("StateMachineArn").and_then(Value::as_str);
                let machine = self.placeholder(path, machine)?;
                let executions = machine.executions.clone().ok_or_else(|| {
                    unmapped(
                        path,
                        "startExecution.sync of a placeholder that is no state machine",
                    )
                })?;
                let arn = machine.arn.clone();
                self.grant("states:StartExecution", arn);
                self.grant("states:DescribeExecution", executions.clone());
                self.grant("states:StopExecution", executions);
                let rule = Expr::sub(SYNC_EVENTS_RULE);
                for action in ["events:PutTargets", "events:PutRule", "events:DescribeRule"] {
                    self.grant(action, rule.clone());
                }
            }
            placeholder if placeholder.starts_with("${") => {
                self.grant("lambda:InvokeFunction", lookup(Some(placeholder))?);
            }
            other => return Err(unmapped(path, other)),
        }
        Ok(())
    }

    fn statements(self) -> Vec<Statement> {
        self.by_action
            .into_iter()
            .map(|(action, resources)| Statement::allow([action.as_str()], resources))
            .collect()
    }
}

fn unmapped(path: &str, resource: &str) -> TemplateError {
    TemplateError::DanglingReference {
        from: path.to_owned(),
        target: format!("no IAM mapping for Task resource {resource}"),
    }
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn machine(definition: Value) -> StateMachine {
        serde_json::from_value(definition).expect("the test definition parses")
    }

    #[test]
    fn a_task_without_a_known_integration_is_an_error() {
        let definition = json!({
            "StartAt": "A",
            "States": { "A": { "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true } }
        });
        let err = state_machine_statements(&machine(definition), &[], &"x".into(), None)
            .expect_err("unknown");
        assert!(err.to_string().contains("sqs:sendMessage"), "{err}");
    }

    #[test]
    fn a_task_naming_an_unknown_placeholder_is_an_error() {
        let definition = json!({
            "StartAt": "A",
            "States": { "A": { "Type": "Task", "Resource": "${Nope}", "End": true } }
        });
        let err = state_machine_statements(&machine(definition), &[], &"x".into(), None)
            .expect_err("unknown");
        assert!(err.to_string().contains("${Nope}"), "{err}");
    }

    #[test]
    fn tasks_inside_branches_are_granted() {
        let definition = json!({
            "StartAt": "P",
            "States": { "P": { "Type": "Parallel", "End": true, "Branches": [
                { "StartAt": "T", "States": { "T": {
                    "Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                    "Parameters": { "TableName": "${Table}" }, "End": true } } }
            ] } }
        });
        let placeholders = [Placeholder::table("Table", "name".into(), "arn".into())];
        let statements =
            state_machine_statements(&machine(definition), &placeholders, &"x".into(), None)
                .expect("derives");
        assert_eq!(
            statements,
            vec![Statement::allow(
                ["dynamodb:UpdateItem"],
                vec!["arn".into()]
            )]
        );
    }
}
