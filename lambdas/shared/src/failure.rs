//! A failed invocation as the state machine sees it: an [`ErrorName`] and a
//! message. Each crate that owns an error converts it into a [`Failure`]
//! (`imaging`'s image errors, `photopipe-s3`'s store errors); with the
//! `lambda` feature a failure becomes the function's `Diagnostic`.

use std::fmt;

use crate::ErrorName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub name: ErrorName,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name.as_str(), self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(feature = "lambda")]
impl From<Failure> for lambda_runtime::Diagnostic {
    fn from(failure: Failure) -> Self {
        lambda_runtime::Diagnostic {
            error_type: failure.name.as_str().to_owned(),
            error_message: failure.message,
        }
    }
}

#[cfg(all(test, feature = "lambda"))]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_answered_under_its_error_name() {
        let failure = Failure {
            name: ErrorName::CorruptImage,
            message: "bad scan".into(),
        };
        let diagnostic = lambda_runtime::Diagnostic::from(failure);
        assert_eq!(
            (
                diagnostic.error_type.as_str(),
                diagnostic.error_message.as_str()
            ),
            ("CorruptImage", "bad scan")
        );
    }
}
