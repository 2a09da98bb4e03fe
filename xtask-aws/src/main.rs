//! The `cargo xtask` commands that need the AWS SDK, Docker or the image
//! code. `cargo xtask` runs this binary for them with its own command line.

use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;
use xtask::cli::{Cli, Command};
use xtask_aws::{backfill, console, deploy, e2e, engines, images, load, logs, redrive, sync};

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        // The one command whose exit code says more than success or failure.
        Command::Deploy(args) => return deploy::run_deploy(args),
        Command::Destroy(args) => deploy::run_destroy(args),
        Command::Outputs(args) => deploy::run_outputs(args),
        Command::Upload(args) => e2e::run_upload(args),
        Command::E2e(args) => e2e::run(args),
        Command::Engines(args) => engines::run(args),
        Command::Load(args) => load::run(args),
        Command::Redrive(args) => redrive::run(args),
        Command::Backfill(args) => backfill::run(args),
        Command::Sync(args) => sync::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Console(args) => console::run(args),
        Command::Inspect(args) => images::inspect(args),
        Command::Thumbnail(args) => images::thumbnail(args),
        command => bail!("{command:?} runs in xtask itself: use `cargo xtask`"),
    }?;
    Ok(ExitCode::SUCCESS)
}
