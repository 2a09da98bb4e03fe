//! `cargo xtask`: the one entry point for building, synthesizing, deploying
//! and testing photopipe. Each subcommand lives in its own module with a `run`.

mod asl_cmd;
mod build;
mod images;
mod localstack_image;
mod synth;
mod tools;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Build, synthesize, deploy and test photopipe")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build every Lambda with cargo-lambda into one zip per function.
    Build(build::Args),
    /// Write the CloudFormation template, state machine definition and diagram.
    Synth(synth::Args),
    /// Check or format Amazon States Language files.
    Asl(asl_cmd::Args),
    /// Print, as JSON, what extract-metadata returns for local image files.
    Inspect(images::InspectArgs),
    /// Write the thumbnail the thumbnail function would write for a local file.
    Thumbnail(images::ThumbnailArgs),
    /// Build the offline LocalStack image from the package registries.
    LocalstackImage(localstack_image::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Build(args) => build::run(args).map(drop),
        Command::Synth(args) => synth::run(args),
        Command::Asl(args) => asl_cmd::run(args),
        Command::Inspect(args) => images::inspect(args),
        Command::Thumbnail(args) => images::thumbnail(args),
        Command::LocalstackImage(args) => localstack_image::run(args).map(drop),
    }
}

/// The workspace root, whatever directory `cargo xtask` was started from.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
