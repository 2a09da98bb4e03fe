//! `cargo xtask`: the one entry point for building, synthesizing, deploying
//! and testing photopipe.

fn main() -> anyhow::Result<()> {
    Ok(())
}
