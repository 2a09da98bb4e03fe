//! `cargo xtask synth`: writes the template, the state machine definition and
//! its diagram (also embedded in README.md), or with `--check` fails when a
//! committed copy is stale.

use std::fs;

use anyhow::{Context, Result, bail};

use crate::project_root;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only check that the committed artifacts are up to date.
    #[arg(long)]
    pub check: bool,
}

const README: &str = "README.md";
const DIAGRAM_START: &str = "<!-- synth:diagram:start -->\n";
const DIAGRAM_END: &str = "<!-- synth:diagram:end -->";

pub fn run(args: Args) -> Result<()> {
    let root = project_root();
    let mut files: Vec<(String, String)> = infra::artifacts()
        .map_err(|errors| {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("the stack is invalid:\n  {}", list.join("\n  "))
        })?
        .into_iter()
        .map(|a| (a.path.to_owned(), a.contents))
        .collect();
    let diagram = files
        .iter()
        .find(|(path, _)| path == infra::DIAGRAM_PATH)
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    let readme_path = root.join(README);
    let readme = fs::read_to_string(&readme_path)
        .with_context(|| format!("failed to read {}", readme_path.display()))?;
    files.push((README.to_owned(), with_diagram(&readme, &diagram)?));

    let mut stale = Vec::new();
    for (path, contents) in &files {
        let full = root.join(path);
        let current = fs::read_to_string(&full).unwrap_or_default();
        if current == *contents {
            continue;
        }
        if args.check {
            stale.push(path.clone());
        } else {
            if let Some(dir) = full.parent() {
                fs::create_dir_all(dir)
                    .with_context(|| format!("failed to create {}", dir.display()))?;
            }
            fs::write(&full, contents)
                .with_context(|| format!("failed to write {}", full.display()))?;
            eprintln!("synth: wrote {path}");
        }
    }
    if !stale.is_empty() {
        bail!(
            "generated artifacts are stale: {}\nrun `cargo xtask synth` and commit the result",
            stale.join(", ")
        );
    }
    if args.check {
        eprintln!("synth: {} artifacts up to date", files.len());
    }
    Ok(())
}

/// README.md with the diagram between its markers replaced.
fn with_diagram(readme: &str, diagram: &str) -> Result<String> {
    let (Some(start), Some(end)) = (readme.find(DIAGRAM_START), readme.find(DIAGRAM_END)) else {
        bail!(
            "README.md has lost its `{}` markers; put them back around the diagram",
            DIAGRAM_START.trim()
        );
    };
    let body_start = start + DIAGRAM_START.len();
    Ok(format!(
        "{}```mermaid\n{}```\n{}",
        &readme[..body_start],
        diagram,
        &readme[end..]
    ))
}
