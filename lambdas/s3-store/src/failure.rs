//! Errors as the state machine sees them: an [`ErrorName`] and a message.

use lambda_runtime::Diagnostic;
use photopipe_shared::ErrorName;

/// Why an S3 call failed, as far as a retry is concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    /// The key holds other bytes than the ones asked for.
    #[error("{0}")]
    Superseded(String),
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

/// A failed invocation; becomes the function's `Diagnostic`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct Failure {
    pub name: ErrorName,
    pub message: String,
}

// Both functions that use the store fail with `imaging`'s errors too, and
// `?` needs this conversion where `Failure` is defined.
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
            StoreError::Superseded(m) => (ErrorName::Superseded, m),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_the_names_the_state_machine_matches() {
        let diagnostic = |e: StoreError| Diagnostic::from(Failure::from(e));
        let cases = [
            (StoreError::NotFound("gone".to_owned()), "ObjectNotFound"),
            (StoreError::Superseded("newer".to_owned()), "Superseded"),
            (
                StoreError::Transient("slow".to_owned()),
                "TransientAwsError",
            ),
            (StoreError::Permanent("denied".to_owned()), "AwsError"),
        ];
        for (error, name) in cases {
            let message = error.to_string();
            let d = diagnostic(error);
            assert_eq!((d.error_type.as_str(), d.error_message), (name, message));
        }
        let failure = Failure::from(imaging::Error::EmptyObject);
        assert_eq!(
            failure.to_string(),
            "EmptyObject: the object is empty (0 bytes)"
        );
    }
}
