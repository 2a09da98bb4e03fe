//! `cargo xtask asl check|fmt`: validate and format Amazon States Language
//! files with the `asl` crate, which itself does no I/O.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use asl::StateMachine;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Report every problem in each file as `FILE: PATH: message`.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Rewrite each file in canonical form (pretty JSON, 2-space indent).
    Fmt {
        /// Only list the files that would change; fail if there are any.
        #[arg(long)]
        check: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Check { files } => check(&files),
        Command::Fmt { check, files } => fmt(&files, check),
    }
}

fn check(files: &[PathBuf]) -> Result<()> {
    let mut failed = 0;
    for file in files {
        let text = read(file)?;
        let problems = problems(&text);
        if problems.is_empty() {
            println!("{}: ok", file.display());
        } else {
            failed += 1;
            for problem in problems {
                println!("{}: {problem}", file.display());
            }
        }
    }
    if failed > 0 {
        let total = match files.len() {
            1 => "1 file".to_owned(),
            n => format!("{n} files"),
        };
        bail!("problems in {failed} of {total}: fix them and run `cargo xtask asl check` again");
    }
    Ok(())
}

fn fmt(files: &[PathBuf], check_only: bool) -> Result<()> {
    let mut stale = 0;
    for file in files {
        let text = read(file)?;
        let formatted = format_document(&text).with_context(|| {
            format!(
                "cannot format {}: run `cargo xtask asl check` on it",
                file.display()
            )
        })?;
        if formatted == text {
            continue;
        }
        stale += 1;
        if check_only {
            println!("{}: not formatted", file.display());
        } else {
            fs::write(file, formatted)
                .with_context(|| format!("failed to write {}", file.display()))?;
            println!("{}: formatted", file.display());
        }
    }
    if check_only && stale > 0 {
        bail!(
            "{stale} {} not formatted: run `cargo xtask asl fmt` on {}",
            if stale == 1 { "file is" } else { "files are" },
            if stale == 1 { "it" } else { "them" }
        );
    }
    Ok(())
}

fn read(file: &Path) -> Result<String> {
    fs::read_to_string(file)
        .with_context(|| format!("failed to read {}: check the path", file.display()))
}

/// Each problem of a document as `PATH: message`.
pub fn problems(text: &str) -> Vec<String> {
    let document: serde_json::Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(e) => return vec![format!("(root): not valid JSON ({e}): fix the syntax")],
    };
    match asl::validate(&document) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// The canonical text of a document: fields in the order of the `asl`
/// types, user templates untouched, 2-space indent and a final newline.
pub fn format_document(text: &str) -> Result<String> {
    let machine: StateMachine =
        serde_json::from_str(text).context("not a state machine definition")?;
    Ok(canonical(&machine))
}

/// How every state machine file in this repository is written.
pub fn canonical(machine: &StateMachine) -> String {
    let mut text =
        serde_json::to_string_pretty(machine).expect("a state machine always serializes to JSON");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asl_file(relative: &str) -> String {
        let path = crate::project_root().join("asl/tests").join(relative);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn check_reports_problems_with_their_path() {
        assert_eq!(
            problems(&asl_file("broken/unknown-next.asl.json")),
            [
                "States.Resize: `Next` names `Sotre`, which is not a state here: add that state or fix the name",
                "States.Store: state is unreachable from `StartAt`: remove it or add a transition to it",
            ]
        );
    }

    #[test]
    fn check_reports_bad_json() {
        assert_eq!(
            problems("{"),
            [
                "(root): not valid JSON (EOF while parsing an object at line 1 column 1): fix the syntax"
            ]
        );
    }

    #[test]
    fn fmt_is_idempotent_and_canonical() {
        let messy = r#"{"States":{"Done":{"Type":"Succeed"}},"StartAt":"Done"}"#;
        let once = format_document(messy).expect("formats");
        assert_eq!(
            once,
            "{\n  \"StartAt\": \"Done\",\n  \"States\": {\n    \"Done\": {\n      \"Type\": \"Succeed\"\n    }\n  }\n}\n"
        );
        assert_eq!(format_document(&once).expect("formats again"), once);
    }
}
