use std::fmt;

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
