use std::fmt;

use serde_json::{Value, json};

/// An error as the service names it: what `Retry` and `Catch` match on and
/// what a failed execution reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// `States.Runtime`: the definition asked for something the data cannot
    /// give (a path that matches nothing, a non-string `ErrorPath`, ...).
    pub fn runtime(cause: impl Into<String>) -> Failure {
        Failure::new("States.Runtime", cause)
    }

    /// The error output a catcher passes on. A failure with no name (a
    /// `SendTaskFailure` that gave neither error nor cause) has null ones.
    pub fn output(&self) -> Value {
        if self.error.is_empty() && self.cause.is_empty() {
            return json!({"Error": null, "Cause": null});
        }
        json!({"Error": self.error, "Cause": self.cause})
    }

    /// `States.IntrinsicFailure`: an intrinsic function refused its arguments.
    pub fn intrinsic(cause: impl Into<String>) -> Failure {
        Failure::new("States.IntrinsicFailure", cause)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for Failure {}
