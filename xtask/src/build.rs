//! `cargo xtask build`: every Lambda under `lambdas/` built with cargo-lambda
//! and packed into one zip per function whose bytes depend on the binary
//! alone, so that `deploy` can store it under its hash and skip what is there.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::{cargo_command, project_root, tools};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build for Graviton (arm64, aarch64-unknown-linux-gnu) instead of x86_64.
    #[arg(long)]
    pub arm64: bool,
    /// Build only this function (repeatable); by default every function under lambdas/.
    #[arg(long = "package", short = 'p', value_name = "FUNCTION")]
    pub packages: Vec<String>,
}

/// A function's deployment package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltFunction {
    /// The binary's name, which is also the function's name in the stack.
    pub name: String,
    /// `target/lambda-zips/<arch>/<name>.zip`, with `bootstrap` at its root.
    pub zip: PathBuf,
    /// Hex SHA-256 of the zip's bytes.
    pub sha256: String,
    pub size: usize,
}

impl std::fmt::Display for BuiltFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}  {:>10} bytes  sha256:{}",
            self.zip.display(),
            self.size,
            self.sha256
        )
    }
}

/// A Lambda instruction set architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    /// The name Lambda uses in a function's `Architectures`.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The oldest CPU Lambda runs this architecture on (what cargo-lambda's
    /// own optimizations would target).
    fn target_cpu(self) -> &'static str {
        match self {
            Arch::X86_64 => "haswell",
            Arch::Arm64 => "neoverse-n1",
        }
    }
}

/// The Cargo profile the functions are built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// What `build` and `deploy` ship.
    Release,
    /// `cargo xtask sync`'s: dependencies as in release, the workspace's
    /// crates incremental and less optimised, so that a change to one
    /// function rebuilds in seconds (Cargo.toml's `[profile.sync]`).
    Sync,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Sync => "sync",
        }
    }

    /// Deflate level: the smallest zips to ship, the quickest to sync
    /// (level 9 takes a second per function here, level 1 a fifth of it).
    fn zip_level(self) -> i64 {
        match self {
            Profile::Release => 9,
            Profile::Sync => 1,
        }
    }
}

/// Builds every function (or those in `args.packages`) and returns their zips.
pub fn run(args: Args) -> Result<Vec<BuiltFunction>> {
    run_with(args, Profile::Release)
}

/// [`run`] with a profile of choice; zips of other profiles than release
/// go under `target/lambda-zips/<profile>/<arch>`.
pub fn run_with(args: Args, profile: Profile) -> Result<Vec<BuiltFunction>> {
    let arch = if args.arm64 {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
    let root = project_root();
    let workspace = Workspace::load(&root)?;
    let functions = select(&workspace.functions, &args.packages)?;
    ensure_target_installed(&root, arch)?;
    // Without nasm, libjpeg-turbo builds without its SIMD code and says so
    // only in a cargo warning: the deployed thumbnails would be slower.
    tools::ensure_debian("nasm", "nasm", "libjpeg-turbo's SIMD code needs it")?;
    let cargo_lambda = tools::ensure(tools::CARGO_LAMBDA)?;

    let names: Vec<&str> = functions
        .iter()
        .map(|function| function.bin.as_str())
        .collect();
    let out_dir = |kind: &str| match profile {
        Profile::Release => workspace.target_dir.join(kind).join(arch.lambda_name()),
        _ => workspace
            .target_dir
            .join(kind)
            .join(profile.name())
            .join(arch.lambda_name()),
    };
    let lambda_dir = out_dir("lambda");
    eprintln!(
        "build: building {} for {} ({}) with cargo-lambda",
        names.join(", "),
        arch.lambda_name(),
        arch.rust_target()
    );
    let mut build = cargo_command(&cargo_lambda);
    // cargo-lambda links with zig, which targets an older glibc than the
    // build machine's, so the binaries run on the Lambda OS whatever built them.
    build
        .args([
            "lambda",
            "build",
            "--profile",
            profile.name(),
            "--target",
            arch.rust_target(),
        ])
        .arg("--lambda-dir")
        .arg(&lambda_dir)
        // cargo-lambda's release optimizations include panic=abort, which
        // turns every libjpeg error (reported by unwinding out of its error
        // handler) into a crashed function; the workspace's release profile
        // has the rest (one codegen unit, stripped symbols).
        .arg("--disable-optimizations")
        .env(
            format!(
                "CARGO_TARGET_{}_RUSTFLAGS",
                arch.rust_target().to_uppercase().replace('-', "_")
            ),
            format!("-C target-cpu={}", arch.target_cpu()),
        )
        .current_dir(&root)
        .env("PATH", tool_path()?);
    // Packages, not just binaries: with `--bin` alone cargo selects every
    // workspace member and unifies their dependencies' features, so a
    // dependency added to xtask would change the functions' bytes.
    for function in &functions {
        build.args(["--package", &function.package, "--bin", &function.bin]);
    }
    // Whatever cargo-lambda (or zig) prints is progress: stdout belongs to
    // the command that called us (`e2e --json`).
    let status = build
        .stdout(io::stderr())
        .status()
        .with_context(|| format!("failed to run {}", cargo_lambda.display()))?;
    if !status.success() {
        bail!("cargo lambda build failed ({status}); the compiler's messages are above");
    }

    let zip_dir = out_dir("lambda-zips");
    fs::create_dir_all(&zip_dir)
        .with_context(|| format!("failed to create {}", zip_dir.display()))?;
    let mut built = Vec::with_capacity(names.len());
    for name in names {
        let bootstrap = lambda_dir.join(name).join("bootstrap");
        let zip = zip_dir.join(format!("{name}.zip"));
        let bytes = write_zip(&bootstrap, &zip, profile.zip_level())?;
        let sha256 = hex_sha256(&bytes);
        built.push(BuiltFunction {
            name: name.to_owned(),
            zip,
            sha256,
            size: bytes.len(),
        });
    }
    Ok(built)
}

/// The zips an earlier `cargo xtask build` wrote to `dir` (`<function>.zip`
/// for each of `names`), checked to hold a `bootstrap` built for `arch`, so
/// that CI can deploy the same bytes to several stages.
pub fn from_dir(dir: &Path, names: &[&str], arch: Arch) -> Result<Vec<BuiltFunction>> {
    names
        .iter()
        .map(|name| {
            let zip = dir.join(format!("{name}.zip"));
            let bytes = fs::read(&zip).with_context(|| {
                format!(
                    "failed to read {}: build it first with `cargo xtask build{}`",
                    zip.display(),
                    if arch == Arch::Arm64 { " --arm64" } else { "" }
                )
            })?;
            check_bootstrap(&zip, &bytes, arch)?;
            Ok(BuiltFunction {
                name: (*name).to_owned(),
                sha256: hex_sha256(&bytes),
                size: bytes.len(),
                zip,
            })
        })
        .collect()
}

/// Refuses a zip without a `bootstrap` executable for `arch` at its root:
/// Lambda would only fail on the first invocation.
fn check_bootstrap(zip: &Path, bytes: &[u8], arch: Arch) -> Result<()> {
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes))
        .with_context(|| format!("{} is not a zip", zip.display()))?;
    let mut header = [0u8; 20];
    {
        use std::io::Read;
        let mut bootstrap = archive
            .by_name("bootstrap")
            .with_context(|| format!("{} has no bootstrap at its root", zip.display()))?;
        bootstrap
            .read_exact(&mut header)
            .with_context(|| format!("the bootstrap in {} is not an executable", zip.display()))?;
    }
    // ELF: the magic number, then e_machine at offset 18 (little-endian).
    let machine = u16::from_le_bytes([header[18], header[19]]);
    let wanted = match arch {
        Arch::X86_64 => 0x3e,
        Arch::Arm64 => 0xb7,
    };
    if &header[..4] != b"\x7fELF" || machine != wanted {
        bail!(
            "the bootstrap in {} is not a Linux {} executable: pass the directory `cargo xtask build{}` wrote (target/lambda-zips/{})",
            zip.display(),
            arch.lambda_name(),
            if arch == Arch::Arm64 { " --arm64" } else { "" },
            arch.lambda_name()
        );
    }
    Ok(())
}

/// What `cargo metadata` says about the workspace.
#[derive(Debug)]
struct Workspace {
    target_dir: PathBuf,
    /// Binary targets of the packages under `lambdas/`, sorted by name.
    functions: Vec<Function>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Function {
    package: String,
    bin: String,
}

impl Workspace {
    fn load(root: &Path) -> Result<Workspace> {
        let output = cargo_command(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(root)
            .output()
            .context("failed to run cargo metadata")?;
        if !output.status.success() {
            bail!(
                "cargo metadata failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
            .context("failed to parse the output of cargo metadata")?;
        Workspace::from_metadata(&metadata, &root.join("lambdas"))
    }

    fn from_metadata(metadata: &serde_json::Value, lambdas: &Path) -> Result<Workspace> {
        let target_dir = metadata["target_directory"]
            .as_str()
            .context("failed to read target_directory from cargo metadata")?
            .into();
        let packages = metadata["packages"]
            .as_array()
            .context("failed to read packages from cargo metadata")?;
        let mut functions = Vec::new();
        for package in packages {
            let manifest = package["manifest_path"]
                .as_str()
                .context("failed to read a package's manifest_path from cargo metadata")?;
            if !Path::new(manifest).starts_with(lambdas) {
                continue;
            }
            let package_name = package["name"]
                .as_str()
                .with_context(|| format!("failed to read the package name in {manifest}"))?;
            let targets = package["targets"]
                .as_array()
                .with_context(|| format!("failed to read the targets of {manifest}"))?;
            for target in targets {
                let is_bin = target["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"));
                if is_bin {
                    let name = target["name"]
                        .as_str()
                        .with_context(|| format!("failed to read a target name in {manifest}"))?;
                    functions.push(Function {
                        package: package_name.to_owned(),
                        bin: name.to_owned(),
                    });
                }
            }
        }
        functions.sort_by(|a, b| a.bin.cmp(&b.bin));
        Ok(Workspace {
            target_dir,
            functions,
        })
    }
}

/// The requested functions, or all of them when none is requested.
fn select<'a>(functions: &'a [Function], requested: &[String]) -> Result<Vec<&'a Function>> {
    if functions.is_empty() {
        bail!("no function to build: no package under lambdas/ has a binary target");
    }
    if requested.is_empty() {
        return Ok(functions.iter().collect());
    }
    requested
        .iter()
        .map(|wanted| {
            functions
                .iter()
                .find(|function| function.bin == *wanted)
                .with_context(|| {
                    let names: Vec<&str> = functions.iter().map(|f| f.bin.as_str()).collect();
                    format!(
                        "no function named {wanted} under lambdas/; the functions are {}",
                        names.join(", ")
                    )
                })
        })
        .collect()
}

/// cargo-lambda checks for the target too, but this says what to run.
fn ensure_target_installed(root: &Path, arch: Arch) -> Result<()> {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(root)
        .output()
        .context("failed to run rustc --print sysroot")?;
    if !output.status.success() {
        bail!("rustc --print sysroot failed ({})", output.status);
    }
    let sysroot = String::from_utf8(output.stdout).context("failed to read the rustc sysroot")?;
    let target = arch.rust_target();
    let std_dir = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(target)
        .join("lib");
    if !std_dir.is_dir() {
        bail!(
            "the rust standard library for {target} is not installed; \
             install it with `rustup target add {target}`"
        );
    }
    Ok(())
}

/// The cargo that runs xtask, so that cargo-lambda builds with the same toolchain.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// `PATH` for cargo-lambda: it runs `cargo` by name, and finds zig through
/// the `python3` of the venv it was installed into (the `ziglang` package).
fn tool_path() -> Result<std::ffi::OsString> {
    let mut dirs = vec![tools::venv_dir().join("bin")];
    if let Some(cargo_dir) = cargo().parent().filter(|dir| !dir.as_os_str().is_empty()) {
        dirs.push(cargo_dir.to_path_buf());
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).context("failed to build PATH for cargo-lambda")
}

/// A deployment package holding `bootstrap` (mode 0755) alone, the same
/// bytes for the same binary: no time or file-system detail gets in.
pub fn zip_bootstrap(bootstrap: &[u8], level: i64) -> Result<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(level))
        .last_modified_time(DateTime::default())
        .system(System::Unix)
        .unix_permissions(0o755);
    let mut writer = ZipWriter::new(io::Cursor::new(Vec::new()));
    writer
        .start_file("bootstrap", options)
        .context("failed to start bootstrap in the zip")?;
    writer
        .write_all(bootstrap)
        .context("failed to compress bootstrap")?;
    Ok(writer
        .finish()
        .context("failed to finish the zip")?
        .into_inner())
}

/// Writes `bootstrap` into a zip at `zip` and returns the zip's bytes. Every
/// field that would otherwise come from the file system or the clock is fixed.
fn write_zip(bootstrap: &Path, zip: &Path, level: i64) -> Result<Vec<u8>> {
    let binary = fs::read(bootstrap).with_context(|| {
        format!(
            "failed to read {}; did cargo lambda build it?",
            bootstrap.display()
        )
    })?;
    // cargo-lambda copies every bootstrap on every build: a zip whose
    // bootstrap is unchanged is reused rather than deflated again (a second
    // per function, which `sync` would pay for functions it does not touch).
    let digest = zip.with_extension("zip.bootstrap-sha256");
    let binary_sha256 = hex_sha256(&binary);
    if fs::read_to_string(&digest).is_ok_and(|d| d == binary_sha256)
        && let Ok(bytes) = fs::read(zip)
    {
        return Ok(bytes);
    }
    let bytes = zip_bootstrap(&binary, level).with_context(|| {
        format!(
            "failed to zip {} into {}",
            bootstrap.display(),
            zip.display()
        )
    })?;

    // Written next to the destination and renamed, so that a zip on disk is
    // always a whole one.
    let partial = zip.with_extension("zip.partial");
    let mut file = File::create(&partial)
        .with_context(|| format!("failed to create {}", partial.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write {}", partial.display()))?;
    fs::rename(&partial, zip)
        .with_context(|| format!("failed to move {} to {}", partial.display(), zip.display()))?;
    fs::write(&digest, binary_sha256)
        .with_context(|| format!("failed to write {}", digest.display()))?;
    Ok(bytes)
}

/// The SHA-256 of `bytes` in lower-case hex.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use serde_json::json;

    use super::*;

    #[test]
    fn zips_from_a_directory_must_hold_a_bootstrap_for_the_architecture() {
        let dir = std::env::temp_dir().join(format!("photopipe-zips-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("a temporary directory");
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[18] = 0x3e;
        fs::write(dir.join("f.zip"), zip_bootstrap(&elf, 9).expect("a zip")).expect("written");
        let built = from_dir(&dir, &["f"], Arch::X86_64).expect("an x86_64 zip");
        assert_eq!(built[0].name, "f");
        let refused = from_dir(&dir, &["f"], Arch::Arm64).expect_err("not an arm64 zip");
        assert!(
            refused.to_string().contains("not a Linux arm64 executable"),
            "{refused}"
        );
        let missing = from_dir(&dir, &["g"], Arch::X86_64).expect_err("no such zip");
        assert!(
            missing.to_string().contains("cargo xtask build"),
            "{missing}"
        );
        fs::remove_dir_all(&dir).expect("removed");
    }

    #[test]
    fn functions_are_the_binaries_under_lambdas() {
        let metadata = json!({
            "target_directory": "/w/target",
            "packages": [
                { "name": "thumbnail", "manifest_path": "/w/lambdas/thumbnail/Cargo.toml",
                  "targets": [{ "name": "thumbnail", "kind": ["bin"] }] },
                { "name": "photopipe-shared", "manifest_path": "/w/lambdas/shared/Cargo.toml",
                  "targets": [{ "name": "photopipe_shared", "kind": ["lib"] }] },
                { "name": "starter", "manifest_path": "/w/lambdas/start-execution/Cargo.toml",
                  "targets": [{ "name": "start-execution", "kind": ["bin"] },
                              { "name": "it", "kind": ["test"] }] },
                { "name": "xtask", "manifest_path": "/w/xtask/Cargo.toml",
                  "targets": [{ "name": "xtask", "kind": ["bin"] }] },
                { "name": "lookalike", "manifest_path": "/w/lambdasx/Cargo.toml",
                  "targets": [{ "name": "lookalike", "kind": ["bin"] }] }
            ]
        });
        let workspace =
            Workspace::from_metadata(&metadata, Path::new("/w/lambdas")).expect("parses");
        assert_eq!(workspace.target_dir, Path::new("/w/target"));
        let function = |package: &str, bin: &str| Function {
            package: package.to_owned(),
            bin: bin.to_owned(),
        };
        assert_eq!(
            workspace.functions,
            [
                function("starter", "start-execution"),
                function("thumbnail", "thumbnail")
            ]
        );
    }

    #[test]
    fn selecting_an_unknown_function_names_the_known_ones() {
        let functions: Vec<Function> = ["a", "b"]
            .map(|name| Function {
                package: name.to_owned(),
                bin: name.to_owned(),
            })
            .into();
        let bins = |selected: Vec<&Function>| -> Vec<String> {
            selected.into_iter().map(|f| f.bin.clone()).collect()
        };
        assert_eq!(bins(select(&functions, &[]).expect("all")), ["a", "b"]);
        assert_eq!(
            bins(select(&functions, &["b".to_owned()]).expect("b")),
            ["b"]
        );
        let error = select(&functions, &["c".to_owned()]).expect_err("c is unknown");
        assert_eq!(
            error.to_string(),
            "no function named c under lambdas/; the functions are a, b"
        );
    }

    #[test]
    fn zips_are_reproducible_and_executable() {
        let dir = std::env::temp_dir().join(format!("xtask-build-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let bootstrap = dir.join("bootstrap");
        let content: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        fs::write(&bootstrap, &content).expect("write bootstrap");

        let first = write_zip(&bootstrap, &dir.join("first.zip"), 9).expect("first zip");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        fs::write(&bootstrap, &content).expect("touch bootstrap");
        let second = write_zip(&bootstrap, &dir.join("second.zip"), 9).expect("second zip");
        assert_eq!(hex_sha256(&first), hex_sha256(&second));
        assert_eq!(fs::read(dir.join("second.zip")).expect("read zip"), second);

        let mut archive = zip::ZipArchive::new(io::Cursor::new(first)).expect("a zip");
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).expect("one entry");
        assert_eq!(entry.name().expect("a UTF-8 name"), "bootstrap");
        assert_eq!(entry.unix_mode(), Some(0o100755));
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        let mut unpacked = Vec::new();
        entry.read_to_end(&mut unpacked).expect("inflates");
        assert_eq!(unpacked, content);
        fs::remove_dir_all(&dir).expect("clean up");
    }
}
