//! `cargo xtask localstack-image`. (Placeholder: being written.)
use anyhow::Result;
#[derive(Debug, clap::Args)]
pub struct Args {}
/// Builds (or reuses) the offline image and returns its tag.
pub fn run(_args: Args) -> Result<String> {
    anyhow::bail!("localstack-image: being written")
}
