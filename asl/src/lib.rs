//! Amazon States Language as Rust types.
