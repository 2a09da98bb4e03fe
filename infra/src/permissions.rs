//! Least privilege for the state machine, derived from its definition.
//!
//! Every Task state is read for the service integration it calls and the
//! resource it names; the role gets exactly those actions on exactly those
//! resources. A Task this module does not understand is an error rather than
//! a silently missing (or silently broad) permission.

use std::collections::BTreeMap;

use asl::{State, StateMachine, Task};
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
}

impl Placeholder {
    pub fn function(name: &'static str, arn: Expr) -> Placeholder {
        Placeholder {
            name,
            value: arn.clone(),
            arn,
        }
    }

    pub fn table(name: &'static str, table_name: Expr, arn: Expr) -> Placeholder {
        Placeholder {
            name,
            value: table_name,
            arn,
        }
    }
}

/// The IAM statements the state machine's Task states need, those inside
/// Parallel branches and Map processors too. `input_objects` is the ARN
/// pattern of the objects executions are started for, which Rekognition
/// reads with the state machine's credentials.
pub fn state_machine_statements(
    definition: &StateMachine,
    placeholders: &[Placeholder],
    input_objects: &Expr,
) -> Result<Vec<Statement>, TemplateError> {
    let mut grants = Grants {
        placeholders,
        input_objects,
        by_action: BTreeMap::new(),
    };
    for visited in definition.all_states() {
        if let State::Task(task) = visited.state {
            grants.task(&visited.path(), task)?;
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

    /// What the Task state at `path` calls, on what.
    fn task(&mut self, path: &str, task: &Task) -> Result<(), TemplateError> {
        let placeholders = self.placeholders;
        let lookup = |text: Option<&str>| -> Result<Expr, TemplateError> {
            let text = text.unwrap_or_default();
            placeholders
                .iter()
                .find(|p| text == format!("${{{}}}", p.name))
                .map(|p| p.arn.clone())
                .ok_or_else(|| TemplateError::DanglingReference {
                    from: path.to_owned(),
                    target: text.to_owned(),
                })
        };
        let resource = task.resource.as_str();
        let parameters = task.parameters.as_ref().unwrap_or(&Value::Null);
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
            placeholder if placeholder.starts_with("${") => {
                self.grant("lambda:InvokeFunction", lookup(Some(placeholder))?);
            }
            other => {
                return Err(TemplateError::DanglingReference {
                    from: path.to_owned(),
                    target: format!("no IAM mapping for Task resource {other}"),
                });
            }
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
        let err =
            state_machine_statements(&machine(definition), &[], &"x".into()).expect_err("unknown");
        assert!(err.to_string().contains("sqs:sendMessage"), "{err}");
    }

    #[test]
    fn a_task_naming_an_unknown_placeholder_is_an_error() {
        let definition = json!({
            "StartAt": "A",
            "States": { "A": { "Type": "Task", "Resource": "${Nope}", "End": true } }
        });
        let err =
            state_machine_statements(&machine(definition), &[], &"x".into()).expect_err("unknown");
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
        let statements = state_machine_statements(&machine(definition), &placeholders, &"x".into())
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
