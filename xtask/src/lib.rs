//! The tasks behind `cargo xtask`, as a library so that the integration tests
//! deploy and observe the stack through exactly the code users run.

pub mod asl_cmd;
pub mod build;
pub mod ci;
pub mod console;
pub mod deploy;
pub mod e2e;
pub mod images;
pub mod lint;
pub mod localstack;
pub mod localstack_image;
pub mod observe;
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

/// A subcommand's arguments with every default, as if given no flags.
pub fn default_args<A: clap::Args + clap::FromArgMatches>() -> A {
    let command = A::augment_args(clap::Command::new("defaults"));
    A::from_arg_matches(&command.get_matches_from(["defaults"]))
        .expect("every argument of a subcommand has a default")
}
