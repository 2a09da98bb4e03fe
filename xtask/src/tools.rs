//! External tools the project installs for itself, into `.tools/` under the
//! workspace root, so that nobody has to install them by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::project_root;

/// Python tools, pinned so that every machine lints and builds alike.
pub const CFN_LINT: PythonTool = PythonTool {
    package: "cfn-lint",
    version: "1.58.0",
    bin: "cfn-lint",
};
pub const CHECKOV: PythonTool = PythonTool {
    package: "checkov",
    version: "3.3.30",
    bin: "checkov",
};
pub const CARGO_LAMBDA: PythonTool = PythonTool {
    package: "cargo-lambda",
    version: "1.9.2",
    bin: "cargo-lambda",
};

/// MiniStack, the second engine, from its hash-locked requirements.
pub const MINISTACK: LockedTool = LockedTool {
    name: "ministack",
    lock: "integration-tests/ministack/requirements.lock",
    bin: "ministack",
    python: (3, 10),
};

/// A Python tool installed from a lock of pinned, hashed requirements into a
/// virtualenv of its own (`.tools/<name>`), because its pins clash with the
/// other tools'.
#[derive(Debug, Clone, Copy)]
pub struct LockedTool {
    pub name: &'static str,
    /// Relative to the workspace root.
    pub lock: &'static str,
    pub bin: &'static str,
    /// The oldest Python it runs on.
    pub python: (u32, u32),
}

/// Returns the path of `tool`'s executable, installing it from its lock
/// when it is missing or the lock changed.
pub fn ensure_locked(tool: &LockedTool) -> Result<PathBuf> {
    let venv = project_root().join(".tools").join(tool.name);
    let bin = venv.join("bin").join(tool.bin);
    let lock = project_root().join(tool.lock);
    let locked =
        std::fs::read(&lock).with_context(|| format!("failed to read {}", lock.display()))?;
    let digest = crate::build::hex_sha256(&locked);
    let stamp = venv.join(format!(".lock-{digest}"));
    if bin.exists() && stamp.exists() {
        return Ok(bin);
    }
    let python3 = python3()?;
    check_python(&python3, tool)?;
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .with_context(|| format!("failed to remove the stale {}", venv.display()))?;
    }
    eprintln!(
        "xtask: installing {} from {} into {}",
        tool.name,
        tool.lock,
        venv.display()
    );
    create_venv(&python3, &venv)?;
    pip_install(
        &venv,
        &[
            "--require-hashes",
            "--no-deps",
            "-r",
            &lock.to_string_lossy(),
        ],
        &format!("{} from {}", tool.name, tool.lock),
    )?;
    std::fs::write(&stamp, "").with_context(|| format!("failed to write {}", stamp.display()))?;
    Ok(bin)
}

fn check_python(python3: &Path, tool: &LockedTool) -> Result<()> {
    let output = Command::new(python3)
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .output()
        .context("failed to run python3")?;
    let version: Vec<u32> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let (major, minor) = tool.python;
    if version.as_slice() < [major, minor].as_slice() {
        bail!(
            "{} needs Python {major}.{minor} or later, and python3 is {version:?}: install a newer Python 3 (Debian 12 and later ship one)",
            tool.name
        );
    }
    Ok(())
}

fn create_venv(python3: &Path, venv: &Path) -> Result<()> {
    let status = Command::new(python3)
        .args(["-m", "venv"])
        .arg(venv)
        .stdout(std::io::stderr())
        .status()
        .context("failed to run python3 -m venv")?;
    if !status.success() {
        bail!(
            "python3 -m venv {} failed; on Debian install it with `apt-get install python3-venv`",
            venv.display()
        );
    }
    Ok(())
}

/// `pip install ARGS` in `venv`; `what` names the install in its error.
fn pip_install(venv: &Path, args: &[&str], what: &str) -> Result<()> {
    let status = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(args)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("failed to run pip to install {what}"))?;
    if !status.success() {
        bail!("pip could not install {what}; check that the Python package index is reachable");
    }
    Ok(())
}

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
    if !venv.join("bin/python").exists() {
        eprintln!("xtask: creating {}", venv.display());
        create_venv(&python3()?, &venv)?;
    }
    eprintln!(
        "xtask: installing {}=={} into {}",
        tool.package,
        tool.version,
        venv.display()
    );
    let requirement = format!("{}=={}", tool.package, tool.version);
    pip_install(&venv, &[&requirement], &requirement)?;
    std::fs::write(&stamp, "").with_context(|| format!("failed to write {}", stamp.display()))?;
    Ok(bin)
}

/// Makes sure `program` runs, installing Debian's `package` with apt-get
/// when it does not and we are root; otherwise says what to install and why.
pub fn ensure_debian(program: &str, package: &str, why: &str) -> Result<()> {
    if which(program).is_some() {
        return Ok(());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .context("failed to run id -u")?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("{program} is missing ({why}): install it with `sudo apt-get install {package}`");
    }
    eprintln!("xtask: installing {package} with apt-get ({why})");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::io::stderr())
            .status()
            .context("failed to run apt-get")
    };
    if !install()?.success() {
        let updated = Command::new("apt-get")
            .args(["update", "-qq"])
            .stdout(std::io::stderr())
            .status()
            .context("failed to run apt-get update")?;
        if !updated.success() || !install()?.success() {
            bail!("apt-get install {package} failed; install {program} by hand ({why})");
        }
    }
    if which(program).is_none() {
        bail!("apt-get installed {package} but {program} is still not on PATH");
    }
    Ok(())
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
