//! `cargo xtask`: the one entry point for building, synthesizing, deploying
//! and testing photopipe. Each subcommand lives in its own module with a `run`.

use clap::{Parser, Subcommand};
use xtask::{
    asl_cmd, build, ci, console, deploy, e2e, engines, images, lint, load, localstack_image,
    redrive, synth,
};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, synthesize, deploy and test photopipe"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build every Lambda with cargo-lambda into one zip per function.
    Build(build::Args),
    /// Build, upload and deploy the stack (to AWS, or LocalStack with --endpoint-url).
    Deploy(deploy::DeployArgs),
    /// Delete the stack; --delete-data also deletes the bucket and table it retains.
    Destroy(deploy::DestroyArgs),
    /// The whole pipeline on a local engine (LocalStack by default): build, deploy, upload, report.
    E2e(e2e::Args),
    /// The sample set on LocalStack and MiniStack, and where the two disagree.
    Engines(engines::Args),
    /// Upload many images at once into a local deployment; report throughput,
    /// latencies, outcomes and a reconciliation that proves nothing was lost.
    Load(load::Args),
    /// Replay the S3 events whose execution could not be started (the start-failures queue).
    Redrive(redrive::Args),
    /// Serve a web page to upload photos and watch them go through the pipeline.
    Console(console::Args),
    /// Write the CloudFormation template, state machine definition and diagram.
    Synth(synth::Args),
    /// Run cfn-lint on the generated template; any finding fails.
    Lint,
    /// Everything CI checks: fmt, clippy, synth --check, cfn-lint, all tests.
    Ci,
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
        Command::Build(args) => {
            for function in build::run(args)? {
                println!("{function}");
            }
            Ok(())
        }
        Command::Deploy(args) => deploy::run_deploy(args),
        Command::Destroy(args) => deploy::run_destroy(args),
        Command::E2e(args) => e2e::run(args),
        Command::Engines(args) => engines::run(args),
        Command::Load(args) => load::run(args),
        Command::Redrive(args) => redrive::run(args),
        Command::Console(args) => console::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Lint => lint::run(),
        Command::Ci => ci::run(),
        Command::Asl(args) => asl_cmd::run(args),
        Command::Inspect(args) => images::inspect(args),
        Command::Thumbnail(args) => images::thumbnail(args),
        Command::LocalstackImage(args) => localstack_image::run(args).map(drop),
    }
}
