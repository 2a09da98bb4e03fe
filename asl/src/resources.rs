//! Which `Resource` ARNs of Task states AWS accepts, as far as the text
//! tells. A `${...}` substitution is a template for a deploy tool to fill
//! in; only that it closes is checked.

/// Optimized integrations whose actions are a closed set: any other action
/// of these services goes through `aws-sdk:`.
const CLOSED: &[(&str, &[&str])] = &[
    (
        "dynamodb",
        &["getItem", "putItem", "updateItem", "deleteItem"],
    ),
    ("sns", &["publish"]),
    ("sqs", &["sendMessage"]),
    ("events", &["putEvents"]),
];

/// Why AWS would refuse `arn` as a Task's `Resource`, if it would.
pub(crate) fn resource_problem(arn: &str) -> Option<String> {
    if let Some(at) = arn.find("${") {
        return (!arn[at..].contains('}'))
            .then(|| "opens a `${` substitution it does not close".to_owned());
    }
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", service, action, ..] => integration(service, action),
        ["arn", _, "lambda", _, _, "function", _, qualifier] => lambda_qualifier(qualifier),
        ["arn", _, "lambda", _, _, "function", _, _, _, ..] => {
            Some("has more than one qualifier after the function name".to_owned())
        }
        _ => None,
    }
}

fn integration(service: &str, action: &str) -> Option<String> {
    // `.sync`, `.sync:2` and `.waitForTaskToken` pick a pattern, not an action.
    let action = action.split('.').next().unwrap_or(action);
    let (_, actions) = CLOSED.iter().find(|(s, _)| *s == service)?;
    (!actions.contains(&action)).then(|| {
        format!(
            "names `{service}:{action}`, which is not an optimized integration (those of {service} are {}): call it as `arn:aws:states:::aws-sdk:{service}:{action}`",
            actions.join(", ")
        )
    })
}

/// A version, `$LATEST` or an alias of letters, digits, `-` and `_`.
fn lambda_qualifier(qualifier: &str) -> Option<String> {
    let alias = |q: &str| {
        !q.is_empty()
            && q.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if qualifier.is_empty() {
        return Some("ends in `:` with no version or alias after it".to_owned());
    }
    (qualifier != "$LATEST" && !alias(qualifier)).then(|| {
        format!(
            "ends in the qualifier `{qualifier}`, which is neither a version, `$LATEST` nor an alias of letters, digits, `-` and `_`"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_aws_accepts() {
        for ok in [
            "arn:aws:states:::dynamodb:putItem",
            "arn:aws:states:::aws-sdk:dynamodb:query",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::ecs:runTask.sync",
            "arn:aws:lambda:us-east-1:123456789012:function:resize",
            "arn:aws:lambda:us-east-1:123456789012:function:resize:$LATEST",
            "arn:aws:lambda:us-east-1:123456789012:function:resize:7",
            "arn:aws:lambda:us-east-1:123456789012:function:resize:AZaz12-_",
            "arn:aws-cn:states:::sns:publish",
            "${ResizeFunctionArn}",
            "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:x",
            "arn:aws:states:us-east-1:123456789012:activity:approve",
        ] {
            assert_eq!(resource_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn resources_aws_refuses() {
        for bad in [
            "arn:aws:states:::dynamodb:query",
            "arn:aws:lambda:us-east-1:123456789012:function:resize:",
            "arn:aws:lambda:us-east-1:123456789012:function:resize:$*#$7485",
            "arn:aws:lambda:us-east-1:123456789012:function:resize:1:2",
            "${lambdaArn",
        ] {
            assert!(resource_problem(bad).is_some(), "{bad}");
        }
    }
}
