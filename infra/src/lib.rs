//! CloudFormation as Rust types, and the photopipe stack.
