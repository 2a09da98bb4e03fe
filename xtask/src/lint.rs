//! `cargo xtask lint`: cfn-lint on the generated template, with every
//! finding (errors, warnings and informational) treated as a failure.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{project_root, tools};

pub fn run() -> Result<()> {
    let cfn_lint = tools::ensure(tools::CFN_LINT)?;
    let template = project_root().join(infra::TEMPLATE_PATH);
    eprintln!("lint: cfn-lint {}", template.display());
    let status = Command::new(&cfn_lint)
        // Informational findings count too: the issue asks for none at all.
        .args(["--include-checks", "I", "--"])
        .arg(&template)
        .status()
        .with_context(|| format!("failed to run {}", cfn_lint.display()))?;
    if !status.success() {
        bail!("cfn-lint reported findings in {}", infra::TEMPLATE_PATH);
    }
    eprintln!("lint: cfn-lint found nothing");
    Ok(())
}
