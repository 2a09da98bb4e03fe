//! The one Step Functions call the function makes, behind a trait so that
//! the handler can be tested against an in-memory state machine.

use std::future::Future;

use aws_sdk_sfn::config::http::HttpResponse;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::start_execution::StartExecutionError;

/// Why a start was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// An execution with this name exists already. Names are derived from
    /// the object revision, so this is a re-delivered event.
    #[error("an execution with this name already exists")]
    AlreadyExists,
    /// May succeed if the event is delivered again.
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

pub trait StepFunctions {
    /// Starts an execution and returns its ARN.
    fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: String,
    ) -> impl Future<Output = Result<String, StartError>> + Send;
}

impl StepFunctions for aws_sdk_sfn::Client {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: String,
    ) -> Result<String, StartError> {
        let output = self
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.execution_arn)
    }
}

/// Codes that mean "slow down" or "we broke", whatever the operation.
const TRANSIENT_CODES: [&str; 7] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServerError",
];

fn classify(err: SdkError<StartExecutionError, HttpResponse>) -> StartError {
    let message = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StartError::Transient(message)
        }
        SdkError::ServiceError(service) => match service.err() {
            StartExecutionError::ExecutionAlreadyExists(_) => StartError::AlreadyExists,
            // Both clear up by themselves: running executions finish, KMS
            // throttling passes.
            StartExecutionError::ExecutionLimitExceeded(_)
            | StartExecutionError::KmsThrottlingException(_) => StartError::Transient(message),
            other
                if other
                    .code()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code))
                    || service.raw().status().is_server_error()
                    || service.raw().status().as_u16() == 429 =>
            {
                StartError::Transient(message)
            }
            _ => StartError::Permanent(message),
        },
        _ => StartError::Permanent(message),
    }
}
