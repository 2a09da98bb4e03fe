//! `cargo xtask lint`: cfn-lint and checkov on the generated template. Every
//! cfn-lint finding (errors, warnings and informational) fails it, and so
//! does every checkov finding the stack does not decline with a reason
//! (`Template::decline`, written into the resource's `Metadata`).

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

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
    checkov(&template)
}

fn checkov(template: &std::path::Path) -> Result<()> {
    let checkov = tools::ensure(tools::CHECKOV)?;
    eprintln!("lint: checkov {}", template.display());
    let output = Command::new(&checkov)
        .args(["--framework", "cloudformation", "--output", "json"])
        // Offline: no guidelines or policies from checkov's vendor.
        .arg("--skip-download")
        .arg("--file")
        .arg(template)
        .output()
        .with_context(|| format!("failed to run {}", checkov.display()))?;
    let report: Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "checkov printed no JSON report ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    let checks = |kind: &str| {
        report["results"][kind]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let (passed, failed, skipped) = (
        checks("passed_checks"),
        checks("failed_checks"),
        checks("skipped_checks"),
    );
    let unexplained: Vec<&Value> = skipped
        .iter()
        .filter(|c| {
            c["check_result"]["suppress_comment"]
                .as_str()
                .is_none_or(|s| s.trim().is_empty())
        })
        .collect();
    for c in failed.iter().chain(unexplained.iter().copied()) {
        eprintln!(
            "lint: checkov {} {}: {}",
            c["check_id"].as_str().unwrap_or("?"),
            c["resource"].as_str().unwrap_or("?"),
            c["check_name"].as_str().unwrap_or("?")
        );
    }
    eprintln!(
        "lint: checkov: {} passed, {} failed, {} declined with a reason",
        passed.len(),
        failed.len(),
        skipped.len() - unexplained.len()
    );
    if !failed.is_empty() || !unexplained.is_empty() {
        bail!(
            "checkov reported {} findings nobody explained: fix them, or decline each with \
             its reason in infra/src/stack.rs (`Template::decline`)",
            failed.len() + unexplained.len()
        );
    }
    Ok(())
}
