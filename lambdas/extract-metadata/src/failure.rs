//! Errors as the state machine sees them: an [`ErrorName`] and a message.

use std::fmt;

use lambda_runtime::Diagnostic;
use photopipe_shared::ErrorName;

/// Why a read from S3 failed, as far as a retry is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound(String),
    Transient(String),
    Permanent(String),
}

/// A failed invocation; becomes the function's `Diagnostic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub name: ErrorName,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl From<imaging::Error> for Failure {
    fn from(e: imaging::Error) -> Self {
        Failure {
            name: e.name(),
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let (name, message) = match e {
            StoreError::NotFound(m) => (ErrorName::ObjectNotFound, m),
            StoreError::Transient(m) => (ErrorName::TransientAwsError, m),
            StoreError::Permanent(m) => (ErrorName::AwsError, m),
        };
        Failure { name, message }
    }
}

impl From<Failure> for Diagnostic {
    fn from(failure: Failure) -> Self {
        Diagnostic {
            error_type: failure.name.as_str().to_owned(),
            error_message: failure.message,
        }
    }
}
