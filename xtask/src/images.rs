//! `cargo xtask inspect` and `cargo xtask thumbnail`. (Placeholder: being written.)
use anyhow::Result;
#[derive(Debug, clap::Args)]
pub struct InspectArgs {}
#[derive(Debug, clap::Args)]
pub struct ThumbnailArgs {}
pub fn inspect(_args: InspectArgs) -> Result<()> {
    anyhow::bail!("inspect: being written")
}
pub fn thumbnail(_args: ThumbnailArgs) -> Result<()> {
    anyhow::bail!("thumbnail: being written")
}
