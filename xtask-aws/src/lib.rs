//! The `cargo xtask` commands that need the AWS SDK, Docker (through
//! testcontainers) or the functions' image code, as a library so that the
//! integration tests deploy and observe the stack through exactly the code
//! users run. Their flags are defined in `xtask::cli`.

pub mod backfill;
pub mod conformance;
pub mod console;
pub mod deploy;
pub mod e2e;
pub mod engine;
pub mod engines;
pub mod images;
pub mod load;
pub mod localstack;
pub mod logs;
pub mod ministack;
pub mod observe;
pub mod redrive;
pub mod review;
pub mod sync;
