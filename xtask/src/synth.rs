//! `cargo xtask synth`. (Placeholder: being written.)
use anyhow::Result;
#[derive(Debug, clap::Args)]
pub struct Args {}
pub fn run(_args: Args) -> Result<()> {
    anyhow::bail!("synth: being written")
}
