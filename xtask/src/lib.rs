//! The tasks behind `cargo xtask`, as a library so that the integration tests
//! deploy and observe the stack through exactly the code users run.

pub mod asl_cmd;
pub mod build;
pub mod ci;
pub mod images;
pub mod lint;
pub mod localstack_image;
pub mod synth;
pub mod tools;

use std::path::{Path, PathBuf};

/// The workspace root, whatever directory `cargo xtask` was started from.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
