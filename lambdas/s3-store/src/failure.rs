//! S3's errors, and their names as the state machine sees them.

use photopipe_shared::{ErrorName, Failure};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_the_names_the_state_machine_matches() {
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
            let f = Failure::from(error);
            assert_eq!((f.name.as_str(), f.message), (name, message));
        }
    }
}
