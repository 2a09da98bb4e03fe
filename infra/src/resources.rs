//! The CloudFormation resource types the stack uses, with the properties it
//! sets. Attributes are methods on the handle so only real ones can be named.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::cfn::{Expr, Handle, Resource};

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: "2012-10-17",
            statement,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Value>,
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

impl Statement {
    pub fn allow<'a>(
        actions: impl IntoIterator<Item = &'a str>,
        resources: Vec<Expr>,
    ) -> Statement {
        Statement {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            action: actions.into_iter().map(str::to_owned).collect(),
            resource: resources,
            condition: None,
        }
    }

    /// Lets an AWS service assume a role.
    pub fn assume_role(service: &str) -> Statement {
        Statement {
            sid: None,
            effect: Effect::Allow,
            principal: Some(serde_json::json!({ "Service": service })),
            action: vec!["sts:AssumeRole".into()],
            resource: Vec::new(),
            condition: None,
        }
    }
}

// --- S3 ---------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub bucket_name: Expr,
    pub bucket_encryption: Value,
    pub public_access_block_configuration: Value,
    pub ownership_controls: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning_configuration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_configuration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_configuration: Option<NotificationConfiguration>,
}

impl Resource for Bucket {
    const TYPE: &'static str = "AWS::S3::Bucket";
}

impl Handle<Bucket> {
    pub fn arn(&self) -> Expr {
        self.attr("Arn")
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotificationConfiguration {
    pub lambda_configurations: Vec<LambdaNotification>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LambdaNotification {
    pub event: String,
    pub filter: Value,
    pub function: Expr,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub bucket: Expr,
    pub policy_document: PolicyDocument,
}

impl Resource for BucketPolicy {
    const TYPE: &'static str = "AWS::S3::BucketPolicy";
}

// --- DynamoDB ---------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Table {
    pub attribute_definitions: Vec<Value>,
    pub key_schema: Vec<Value>,
    pub billing_mode: &'static str,
    #[serde(rename = "SSESpecification")]
    pub sse_specification: Value,
    pub point_in_time_recovery_specification: Value,
}

impl Resource for Table {
    const TYPE: &'static str = "AWS::DynamoDB::Table";
}

impl Handle<Table> {
    pub fn arn(&self) -> Expr {
        self.attr("Arn")
    }
}

// --- IAM --------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub assume_role_policy_document: PolicyDocument,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
}

impl Resource for Role {
    const TYPE: &'static str = "AWS::IAM::Role";
}

impl Handle<Role> {
    pub fn arn(&self) -> Expr {
        self.attr("Arn")
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

// --- Lambda -----------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub description: String,
    pub runtime: &'static str,
    pub handler: &'static str,
    pub architectures: Vec<Expr>,
    pub code: FunctionCode,
    pub role: Expr,
    pub memory_size: u32,
    pub timeout: u32,
    pub reserved_concurrent_executions: Expr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    pub logging_config: Value,
}

impl Resource for Function {
    const TYPE: &'static str = "AWS::Lambda::Function";
}

impl Handle<Function> {
    pub fn arn(&self) -> Expr {
        self.attr("Arn")
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCode {
    pub s3_bucket: Expr,
    pub s3_key: Expr,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: IndexMap<String, Expr>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: &'static str,
    pub function_name: Expr,
    pub principal: &'static str,
    pub source_arn: Expr,
    pub source_account: Expr,
}

impl Resource for Permission {
    const TYPE: &'static str = "AWS::Lambda::Permission";
}

/// How Lambda handles a function's asynchronous invocations (S3's events):
/// how often it retries, and where an event goes once it gives up.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfig {
    pub function_name: Expr,
    pub qualifier: &'static str,
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_in_seconds: u32,
    pub destination_config: Value,
}

impl Resource for EventInvokeConfig {
    const TYPE: &'static str = "AWS::Lambda::EventInvokeConfig";
}

// --- SQS --------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queue {
    pub message_retention_period: u32,
    pub sqs_managed_sse_enabled: bool,
}

impl Resource for Queue {
    const TYPE: &'static str = "AWS::SQS::Queue";
}

impl Handle<Queue> {
    pub fn arn(&self) -> Expr {
        self.attr("Arn")
    }

    /// `Ref` of a queue is its URL.
    pub fn url(&self) -> Expr {
        self.r#ref()
    }
}

// --- Logs -------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub retention_in_days: u32,
}

impl Resource for LogGroup {
    const TYPE: &'static str = "AWS::Logs::LogGroup";
}

impl Handle<LogGroup> {
    pub fn arn(&self) -> Expr {
        self.attr("Arn")
    }
}

// --- Step Functions ---------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    /// Set where the state machine's own role must name it (a Distributed
    /// Map starts executions of its own machine); otherwise generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_name: Option<Expr>,
    pub state_machine_type: &'static str,
    /// The definition from the `asl` crate as JSON text. Text rather than an
    /// embedded document: `null` is meaningful in ASL (`"ResultPath": null`)
    /// and template processors (LocalStack's among them) drop or reject it.
    pub definition_string: String,
    /// Values for the `${...}` placeholders the definition uses in place of
    /// ARNs and names that only exist once the stack does.
    pub definition_substitutions: IndexMap<String, Expr>,
    pub role_arn: Expr,
    pub logging_configuration: Value,
}

impl Resource for StateMachine {
    const TYPE: &'static str = "AWS::StepFunctions::StateMachine";
}

impl Handle<StateMachine> {
    /// `Ref` of a state machine is its ARN.
    pub fn arn(&self) -> Expr {
        self.r#ref()
    }

    pub fn name(&self) -> Expr {
        self.attr("Name")
    }
}
