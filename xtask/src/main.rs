//! `cargo xtask`: the one entry point for building, synthesizing, deploying
//! and testing photopipe. Commands that talk to AWS, Docker or decode images
//! run in `xtask-aws`, built on first use.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xtask::cli::{Cli, Command};
use xtask::{
    asl_cmd, build, cargo_command, ci, cost, lint, localstack_image, paths, project_root, sim_cmd,
    synth,
};

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Build(args) => {
            for function in build::run(args)? {
                println!("{function}");
            }
        }
        Command::Synth(args) => synth::run(args)?,
        Command::Lint => lint::run()?,
        Command::Paths(args) => paths::run(args)?,
        Command::Ci => ci::run()?,
        Command::Asl(args) => asl_cmd::run(args)?,
        Command::Sim(args) => sim_cmd::run(args)?,
        Command::Cost(args) => cost::run(args)?,
        Command::LocalstackImage(args) => localstack_image::run(args).map(drop)?,
        Command::Deploy(_)
        | Command::Destroy(_)
        | Command::Outputs(_)
        | Command::Upload(_)
        | Command::E2e(_)
        | Command::Engines(_)
        | Command::Load(_)
        | Command::Redrive(_)
        | Command::Backfill(_)
        | Command::Sync(_)
        | Command::Logs(_)
        | Command::Console(_)
        | Command::Inspect(_)
        | Command::Thumbnail(_) => return in_xtask_aws(),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the same command line in `xtask-aws`, which parses it again with the
/// same definitions, and exits as it did.
fn in_xtask_aws() -> anyhow::Result<ExitCode> {
    let status = cargo_command(env!("CARGO"))
        .args(["run", "--package", "xtask-aws", "--"])
        .args(std::env::args_os().skip(1))
        .current_dir(project_root())
        .status()
        .context("failed to run cargo for xtask-aws")?;
    Ok(match status.code() {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // Killed by a signal: the signal said what happened.
        None => ExitCode::FAILURE,
    })
}
