//! Every `cargo xtask` command and flag, in one place. The commands that need
//! the AWS SDK, Docker or the image code run in `xtask-aws`, which parses the
//! same definitions; keeping them here lets `cargo xtask --help` list
//! everything without compiling that crate.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{asl_cmd, build, cost, localstack_image, paths, sim_cmd, synth};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, synthesize, deploy and test photopipe"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build every Lambda with cargo-lambda into one zip per function.
    Build(build::Args),
    /// Build, upload and deploy the stack (to AWS, or LocalStack with --endpoint-url).
    Deploy(DeployArgs),
    /// Delete the stack; --delete-data also deletes the bucket and table it retains.
    Destroy(DestroyArgs),
    /// Print the deployed stack's outputs.
    Outputs(OutputsArgs),
    /// Upload images under incoming/ of a deployed stack; --follow waits for
    /// each execution and reports it as e2e does.
    Upload(UploadArgs),
    /// The whole pipeline on a local engine (LocalStack by default): build, deploy, upload, report.
    E2e(E2eArgs),
    /// The sample set on LocalStack and MiniStack, and where the two disagree.
    Engines(EnginesArgs),
    /// Upload many images at once into a local deployment; report throughput,
    /// latencies, outcomes and a reconciliation that proves nothing was lost.
    Load(LoadArgs),
    /// Replay the S3 events whose execution could not be started (the start-failures queue).
    Redrive(RedriveArgs),
    /// Process every image already under a prefix of the bucket (ImageBackfill,
    /// a Distributed Map); --follow shows the Map Run's progress.
    Backfill(BackfillArgs),
    /// Print a function's CloudWatch Logs, structured lines shown readably.
    Logs(LogsArgs),
    /// After a code change, update the deployed functions' code and state
    /// machines' definitions directly, skipping CloudFormation where it can;
    /// --watch does it on every save.
    Sync(SyncArgs),
    /// What a backfill of N objects costs on AWS at list prices, and how long it takes.
    Cost(cost::Args),
    /// Serve a web page to upload photos and watch them go through the pipeline.
    Console(ConsoleArgs),
    /// Write the CloudFormation template, state machine definition and diagram.
    Synth(synth::Args),
    /// Run cfn-lint on the generated template; any finding fails.
    Lint,
    /// Every route through the state machine and the simulator scenario that takes it.
    Paths(paths::Args),
    /// Everything CI checks: fmt, clippy, synth --check, cfn-lint, all tests.
    Ci,
    /// Check or format Amazon States Language files.
    Asl(asl_cmd::Args),
    /// Replay recorded Step Functions executions on the simulator and report where they differ.
    Sim(sim_cmd::Args),
    /// Print, as JSON, what extract-metadata returns for local image files.
    Inspect(InspectArgs),
    /// Write the thumbnail the thumbnail function would write for a local file.
    Thumbnail(ThumbnailArgs),
    /// Build the offline LocalStack image from the package registries.
    LocalstackImage(localstack_image::Args),
}

/// Where to deploy: the standard aws-config chain, optionally pointed at
/// LocalStack.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Target {
    /// AWS region (default: from the profile or `AWS_REGION`, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config.
    #[arg(long)]
    pub profile: Option<String>,
    /// Endpoint for every AWS service, e.g. http://localhost:4566 for
    /// LocalStack. Without it the SDK's own settings apply, in its order:
    /// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the profile.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

impl Target {
    /// Whether the command line or the environment names a target, rather
    /// than leaving a command to start its own local engine.
    pub fn is_named(&self) -> bool {
        self.region.is_some()
            || self.profile.is_some()
            || self.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
    }
}

/// Which stack a command works on: the stage's own, `photopipe-<stage>`,
/// or one named outright.
#[derive(Debug, Clone, clap::Args)]
pub struct Stack {
    /// The stage (dev, prod, a branch...): its own stack, photopipe-STAGE,
    /// beside the other stages', with a photopipe:stage tag on every resource.
    #[arg(long, default_value = "dev", value_parser = stage)]
    pub stage: String,
    /// The stack's name, instead of photopipe-STAGE.
    #[arg(long)]
    pub stack_name: Option<String>,
}

impl Stack {
    pub fn of_stage(stage: &str) -> Stack {
        Stack {
            stage: stage.to_owned(),
            stack_name: None,
        }
    }

    pub fn name(&self) -> String {
        self.stack_name
            .clone()
            .unwrap_or_else(|| format!("photopipe-{}", self.stage))
    }
}

/// A stage name is part of the stack's name and of the names CloudFormation
/// gives the resources: letters, digits and hyphens, starting with a letter.
fn stage(value: &str) -> Result<String, String> {
    let valid = value.len() <= 32
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("a stage is up to 32 letters, digits and hyphens, starting with a letter".into())
    }
}

/// `KEY=VALUE`.
fn tag(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("a tag is KEY=VALUE, not {value:?}")),
    }
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// Build the functions for arm64 (Graviton) instead of x86_64.
    #[arg(long)]
    pub arm64: bool,
    /// Reserve this many concurrent executions for each function (and cap it
    /// there); by default nothing is reserved, which new accounts' quota of 10 needs.
    #[arg(long)]
    pub reserved_concurrency: Option<u32>,
    /// Show what the change set would do (per resource, and the state
    /// machine's states added, removed and changed), then delete it without
    /// executing: exit 0 when nothing would change, 2 when something would.
    #[arg(long)]
    pub diff: bool,
    /// Execute a change set that removes or replaces resources without asking.
    #[arg(long)]
    pub yes: bool,
    /// Deploy the zips an earlier `cargo xtask build` wrote to DIR
    /// (`target/lambda-zips/<arch>`) instead of building.
    #[arg(long, value_name = "DIR")]
    pub zips: Option<PathBuf>,
    /// A tag for the stack, which CloudFormation puts on every resource
    /// that takes tags (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = tag)]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// The function.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        infra::stack::LAMBDAS.map(|l| l.package)))]
    pub function: String,
    /// How far back to start: 30s, 10m, 2h, 1d.
    #[arg(long, default_value = "10m", value_parser = duration)]
    pub since: std::time::Duration,
    /// Keep printing new lines as they arrive.
    #[arg(long)]
    pub follow: bool,
}

/// `30s`, `10m`, `2h`, `1d`.
fn duration(value: &str) -> Result<std::time::Duration, String> {
    let split = value.len().saturating_sub(1);
    let (number, unit) = value.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "a duration is a number and s, m, h or d (10m), not {value:?}"
            ));
        }
    };
    number
        .parse::<u64>()
        .map(|n| std::time::Duration::from_secs(n * seconds))
        .map_err(|_| format!("a duration is a number and s, m, h or d (10m), not {value:?}"))
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// Sync again whenever a source file under lambdas/, infra/, asl/ or sim/ is saved.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, clap::Args)]
pub struct UploadArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// The images, each uploaded as incoming/<file name>.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Wait for each upload's execution and print its path and outcome.
    #[arg(long)]
    pub follow: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A prefix an upload's key could have: `incoming/` or one under it.
fn incoming_prefix(value: &str) -> Result<String, String> {
    if value.starts_with(photopipe_shared::INCOMING_PREFIX) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "only images under {} are processed; a prefix must start with it",
            photopipe_shared::INCOMING_PREFIX
        ))
    }
}

#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// Process the objects whose keys start with this.
    #[arg(long, default_value = photopipe_shared::INCOMING_PREFIX, value_parser = incoming_prefix)]
    pub prefix: String,
    /// ImageProcessing executions at once.
    #[arg(long, default_value_t = infra::backfill::DEFAULT_MAX_CONCURRENCY)]
    pub max_concurrency: u32,
    /// Stop the backfill once more than this percentage of its objects failed.
    #[arg(long, default_value_t = infra::backfill::DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub tolerated_failure_percentage: u32,
    /// Process objects again even where their item records a success for the
    /// same bytes and thumbnail settings.
    #[arg(long)]
    pub force: bool,
    /// Show the Map Run's progress until it ends, then a summary.
    #[arg(long)]
    pub follow: bool,
    /// Print the result (the execution, or with --follow the summary) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct OutputsArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// Print the outputs as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// Also delete the photo bucket (with every object) and the ImageMetadata table,
    /// which the stack retains on deletion.
    #[arg(long)]
    pub delete_data: bool,
    /// Delete without asking (without a terminal, destroy refuses otherwise).
    #[arg(long)]
    pub yes: bool,
}

/// The local engines the pipeline runs on: `--engine` picks one for `e2e`,
/// `load`, `console` and `engines`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, clap::ValueEnum, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// LocalStack in a container (the reference engine).
    #[default]
    Localstack,
    /// MiniStack as host processes on a loopback port.
    Ministack,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Localstack, Engine::Ministack];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Localstack => "localstack",
            Engine::Ministack => "ministack",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, clap::Args)]
pub struct E2eArgs {
    #[command(flatten)]
    pub stack: Stack,
    /// Upload the images in this directory instead of the samples in
    /// integration-tests/images.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The local engine to run on.
    #[arg(long, value_enum, default_value_t)]
    pub engine: Engine,
}

#[derive(Debug, clap::Args)]
pub struct EnginesArgs {
    /// Upload the images in this directory instead of the samples in
    /// integration-tests/images.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// How many uploads to make at once.
    #[arg(long, default_value_t = 200)]
    pub uploads: usize,
    /// Cycle through the images in this directory instead of the samples in
    /// integration-tests/images.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The local engine to run on.
    #[arg(long, value_enum, default_value_t)]
    pub engine: Engine,
}

#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Use the stack deployed at this target instead of a local LocalStack.
    /// Without any of --region, --profile or --endpoint-url, the console
    /// starts (or reuses) LocalStack in the container `photopipe-console`
    /// and deploys the stack there.
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub stack: Stack,
    /// Port to serve the page on (127.0.0.1 only).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Largest upload accepted, in MiB.
    #[arg(long, default_value_t = 20)]
    pub max_upload_mib: u64,
    /// The local engine (default: LocalStack, kept in its container).
    /// MiniStack runs as long as the console, and its state goes with it.
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Image files to read.
    #[arg(required_unless_present = "compare_exiftool")]
    pub images: Vec<PathBuf>,
    /// Instead, compare capture time, camera, orientation and GPS with
    /// exiftool's for every file under DIR: the agreement per field and
    /// every difference (non-zero exit when there is one).
    #[arg(long, value_name = "DIR", conflicts_with = "images")]
    pub compare_exiftool: Option<PathBuf>,
    /// Print the comparison as JSON (a plain `inspect` always prints JSON).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ThumbnailArgs {
    /// The image to shrink.
    pub image: PathBuf,
    /// Where to write the thumbnail (JPEG for a JPEG, PNG for a PNG).
    pub out: PathBuf,
    /// Edge of the square the thumbnail fits in, as `THUMBNAIL_SIZE`.
    #[arg(long, default_value_t = photopipe_shared::DEFAULT_THUMBNAIL_SIZE)]
    pub size: u32,
    /// Largest image decoded, as `MAX_PIXELS`.
    #[arg(long, default_value_t = photopipe_shared::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(duration("90s"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(duration("10m"), Ok(std::time::Duration::from_secs(600)));
        assert_eq!(duration("1d"), Ok(std::time::Duration::from_secs(86_400)));
        assert!(duration("10").is_err() && duration("m").is_err() && duration("").is_err());
    }
}
