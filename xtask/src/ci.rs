//! `cargo xtask ci`: the README's test command. Everything a pull request must
//! pass, in the order that fails fastest.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{build, cargo_command, lint, localstack_image, paths, project_root, synth};

/// cargo-insta, pinned to the insta version of the workspace.
const CARGO_INSTA_VERSION: &str = "1.49.0";

pub fn run() -> Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    synth::run(synth::Args { check: true })?;
    paths::run(paths::Args { json: false })?;
    lint::run()?;
    // The end-to-end test builds the functions and picks a LocalStack image
    // itself; doing both here first shows their progress instead of hiding
    // it in captured test output.
    build::run(build::Args {
        arm64: false,
        packages: Vec::new(),
    })?;
    let (name, tag) = localstack_image::select()?;
    eprintln!("ci: the end-to-end test will use {name}:{tag}");
    let insta = cargo_insta()?;
    // `--check` fails on any snapshot that differs, `--unreferenced=reject` on
    // snapshot files no test uses any more.
    // Run as cargo runs a subcommand (first argument `insta`, `CARGO` set),
    // leaving PATH alone: build scripts that watch it would rebuild the
    // Lambdas that were just built.
    run_step(
        cargo_command(insta)
            .args([
                "insta",
                "test",
                "--workspace",
                "--check",
                "--unreferenced=reject",
            ])
            .env("CARGO", env!("CARGO"))
            .current_dir(project_root()),
    )
}

fn cargo(args: &[&str]) -> Result<()> {
    run_step(
        cargo_command(env!("CARGO"))
            .args(args)
            .current_dir(project_root()),
    )
}

fn run_step(command: &mut Command) -> Result<()> {
    // The command line alone: its Debug form lists every variable removed.
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("ci: {shown}");
    let status = command
        .status()
        .with_context(|| format!("failed to run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// cargo-insta from crates.io, installed under `.tools/cargo` when missing.
fn cargo_insta() -> Result<PathBuf> {
    let root = project_root().join(".tools/cargo");
    let bin = root.join("bin/cargo-insta");
    let stamp = root.join(format!(".cargo-insta-{CARGO_INSTA_VERSION}"));
    if bin.exists() && stamp.exists() {
        return Ok(bin);
    }
    eprintln!(
        "ci: installing cargo-insta {CARGO_INSTA_VERSION} into {}",
        root.display()
    );
    run_step(
        cargo_command(env!("CARGO"))
            .args([
                "install",
                "--locked",
                "--quiet",
                "cargo-insta",
                "--version",
                CARGO_INSTA_VERSION,
                "--root",
            ])
            .arg(&root),
    )
    .context("failed to install cargo-insta; check that crates.io is reachable")?;
    std::fs::write(&stamp, "").with_context(|| format!("failed to write {}", stamp.display()))?;
    Ok(bin)
}
