//! `cargo xtask`: the commands that need neither the AWS SDK nor Docker's
//! client library nor the image code (synth, lint, asl, build, ci, tools, the
//! offline LocalStack image) and every command's flags (`cli`). The others
//! live in `xtask-aws`, which the `xtask` binary runs for them, so that
//! `cargo xtask synth` does not compile the SDK.

pub mod asl_cmd;
pub mod build;
pub mod ci;
pub mod cli;
pub mod cost;
pub mod lint;
pub mod localstack_image;
pub mod paths;
mod python;
pub mod sim_cmd;
pub mod synth;
pub mod tools;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A command for cargo, or a tool that runs cargo, without the variables
/// cargo sets for the program running now (`CARGO_PKG_NAME`,
/// `CARGO_MANIFEST_DIR`, ... of xtask under `cargo run`, of the test crate
/// under `cargo test`). Build scripts such as ring's watch them: inherited,
/// they would rebuild the dependency tree whenever the caller changes.
pub fn cargo_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(set_by_cargo_for_the_running_program)
        {
            command.env_remove(key);
        }
    }
    command
}

fn set_by_cargo_for_the_running_program(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
        || matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "OUT_DIR"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_cargo_sets_for_the_running_program_is_dropped() {
        for dropped in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "OUT_DIR",
            "CARGO_BIN_EXE_xtask",
        ] {
            assert!(set_by_cargo_for_the_running_program(dropped), "{dropped}");
        }
        for kept in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTFLAGS",
            "PATH",
        ] {
            assert!(!set_by_cargo_for_the_running_program(kept), "{kept}");
        }
    }
}
