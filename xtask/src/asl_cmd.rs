//! `cargo xtask asl check|fmt`: validate and format Amazon States Language
//! files with the `asl` crate, which itself does no I/O.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use asl::StateMachine;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Report every problem in each file as `FILE: PATH: message`, then a
    /// summary line. A directory stands for every `*.json` under it.
    Check {
        /// Print the results as JSON on stdout: per file its problems, each
        /// with a JSON pointer, a stable rule name and the message.
        #[arg(long)]
        json: bool,
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
        Command::Check { json, files } => check(&expand(&files)?, json),
        Command::Fmt { check, files } => fmt(&files, check),
    }
}

/// What `check --json` prints.
#[derive(Debug, Serialize)]
struct Report {
    documents: usize,
    valid: usize,
    invalid: usize,
    files: Vec<FileReport>,
}

#[derive(Debug, Serialize)]
struct FileReport {
    file: String,
    valid: bool,
    problems: Vec<ProblemReport>,
}

#[derive(Debug, Serialize)]
struct ProblemReport {
    /// Where, as the messages name it: `States.Process.Branches[0]`.
    path: String,
    /// Where, as a JSON pointer into the document (RFC 6901).
    pointer: String,
    rule: String,
    severity: Severity,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    /// AWS refuses the document.
    Error,
    /// AWS runs it, but it is likely a mistake.
    Warning,
}

impl ProblemReport {
    fn line(&self) -> String {
        let warning = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        format!("{warning}{}: {}", self.path, self.message)
    }

    fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

fn check(files: &[PathBuf], as_json: bool) -> Result<()> {
    let mut report = Report {
        documents: files.len(),
        valid: 0,
        invalid: 0,
        files: Vec::new(),
    };
    for file in files {
        let problems = located_problems(&read(file)?);
        let name = file.display().to_string();
        let valid = !problems.iter().any(ProblemReport::is_error);
        if valid {
            report.valid += 1;
        } else {
            report.invalid += 1;
        }
        if !as_json {
            if valid {
                println!("{name}: ok");
            }
            for p in &problems {
                println!("{name}: {}", p.line());
            }
        }
        report.files.push(FileReport {
            file: name,
            valid,
            problems,
        });
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} documents: {} valid, {} invalid",
            report.documents, report.valid, report.invalid
        );
    }
    if report.invalid > 0 {
        bail!(
            "problems in {} of {} documents: fix them and run `cargo xtask asl check` again",
            report.invalid,
            report.documents
        );
    }
    Ok(())
}

/// The files named, with each directory replaced by the `*.json` files
/// under it, sorted.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        let mut dirs = vec![path.clone()];
        while let Some(dir) = dirs.pop() {
            let entries =
                fs::read_dir(&dir).with_context(|| format!("failed to list {}", dir.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("failed to list {}", dir.display()))?;
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    found.push(path);
                }
            }
        }
        if found.is_empty() {
            bail!("{} holds no *.json files", path.display());
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
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

/// Each problem of a document AWS would refuse it for, as `PATH: message`.
pub fn problems(text: &str) -> Vec<String> {
    located_problems(text)
        .iter()
        .filter(|p| p.is_error())
        .map(ProblemReport::line)
        .collect()
}

fn located_problems(text: &str) -> Vec<ProblemReport> {
    let document: serde_json::Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(e) => {
            return vec![ProblemReport {
                path: "(root)".into(),
                pointer: String::new(),
                rule: "not-json".into(),
                severity: Severity::Error,
                message: format!("not valid JSON ({e}): fix the syntax"),
            }];
        }
    };
    asl::problems(&document)
        .iter()
        .map(|p| ProblemReport {
            path: p.path.clone(),
            pointer: p.pointer(&document),
            rule: p.rule.name(),
            severity: if p.rule.is_warning() {
                Severity::Warning
            } else {
                Severity::Error
            },
            message: p.rule.to_string(),
        })
        .collect()
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
    fn a_directory_stands_for_every_json_file_under_it() {
        let broken = crate::project_root().join("asl/tests/broken");
        let files = expand(std::slice::from_ref(&broken)).expect("lists");
        let on_disk = fs::read_dir(&broken).expect("lists").count();
        assert_eq!(files.len(), on_disk);
        assert!(files.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert!(
            files
                .iter()
                .all(|f| f.extension().is_some_and(|e| e == "json"))
        );
        let empty = empty_dir();
        assert!(
            expand(&[empty]).is_err(),
            "a directory without documents is an error"
        );
    }

    fn empty_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("asl-empty-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("creates");
        dir
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
