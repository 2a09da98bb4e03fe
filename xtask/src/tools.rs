//! External tools the project installs for itself, into `.tools/` under the
//! workspace root, so that nobody has to install them by hand.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::project_root;

/// Python tools, pinned so that every machine lints and builds alike.
pub const CFN_LINT: PythonTool = PythonTool {
    package: "cfn-lint",
    version: "1.58.0",
    bin: "cfn-lint",
};
pub const CARGO_LAMBDA: PythonTool = PythonTool {
    package: "cargo-lambda",
    version: "1.9.2",
    bin: "cargo-lambda",
};

#[derive(Debug, Clone, Copy)]
pub struct PythonTool {
    pub package: &'static str,
    pub version: &'static str,
    pub bin: &'static str,
}

/// The project-local virtualenv that holds the Python tools.
pub fn venv_dir() -> PathBuf {
    project_root().join(".tools/venv")
}

/// Returns the path of `tool`'s executable, installing it into `.tools/venv`
/// first when it is missing or at another version.
pub fn ensure(tool: PythonTool) -> Result<PathBuf> {
    let venv = venv_dir();
    let bin = venv.join("bin").join(tool.bin);
    let stamp = venv.join(format!(".{}-{}", tool.package, tool.version));
    if bin.exists() && stamp.exists() {
        return Ok(bin);
    }
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("xtask: creating {}", venv.display());
        let status = Command::new(python3()?)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("failed to run python3 -m venv")?;
        if !status.success() {
            bail!(
                "python3 -m venv {} failed; on Debian install it with `apt-get install python3-venv`",
                venv.display()
            );
        }
    }
    eprintln!(
        "xtask: installing {}=={} into {}",
        tool.package,
        tool.version,
        venv.display()
    );
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(format!("{}=={}", tool.package, tool.version))
        .status()
        .with_context(|| format!("failed to run pip to install {}", tool.package))?;
    if !status.success() {
        bail!(
            "pip could not install {}=={}; check that the Python package index is reachable",
            tool.package,
            tool.version
        );
    }
    std::fs::write(&stamp, "").with_context(|| format!("failed to write {}", stamp.display()))?;
    Ok(bin)
}

fn python3() -> Result<PathBuf> {
    which("python3").context(
        "python3 is not installed; install Python 3.9 or later (Debian: `apt-get install python3 python3-venv`)",
    )
}

/// Finds an executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
