//! `cargo xtask localstack-image`: builds the offline LocalStack image from the
//! package registries alone (Debian and PyPI), because no container registry is
//! reachable here and the newest upstream images need an auth token.
//!
//! Recipe: debootstrap a minimal Debian trixie (Python 3.13), a venv with the
//! hash-pinned LocalStack 4.14.0 lock plus our plugin package
//! (`integration-tests/localstack/`), then `tar | docker import`. The image carries
//! a label with the sha256 of every input; a matching image is reused, not rebuilt.
//! See `integration-tests/localstack/README.md`.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use sha2::{Digest, Sha256};

use crate::{project_root, tools};

/// Bump when the recipe below changes in a way the hashed files do not show.
const RECIPE_VERSION: &str = "1";
const DEFAULT_TAG: &str = "photopipe-localstack:4.14.0";
const LABEL: &str = "photopipe.inputs";
const SUITE: &str = "trixie";
const VENV: &str = "/opt/localstack";
/// Where build inputs live inside the root while it is being built; removed before packing.
const BUILD_DIR: &str = "tmp/photopipe-build";
const LOCK: &str = "requirements-localstack-4.14.0.lock";
const CMD: &str = r#"CMD ["python", "-m", "localstack.runtime.main"]"#;

/// The environment baked into the image. A caller can override any of these with
/// `docker run -e`, e.g. `SERVICES`, or add `LOCALSTACK_HOST` / `DEBUG=1`.
const IMAGE_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/opt/localstack/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("LANG", "C.UTF-8"),
    ("GATEWAY_LISTEN", "0.0.0.0:4566"),
    // No DNS server: nothing resolves names through LocalStack here, and port 53 in
    // a container would clash with nothing useful.
    ("DNS_ADDRESS", "0"),
    // Offline: LocalStack would otherwise try to download its TLS certificate.
    ("SKIP_SSL_CERT_DOWNLOAD", "1"),
    // No analytics calls home.
    ("DISABLE_EVENTS", "1"),
    // What the photopipe stack (CloudFormation: S3, DynamoDB, IAM, Lambda, Logs,
    // Step Functions; the state machine: SQS, Rekognition) and LocalStack itself
    // (STS for Lambda credentials, EventBridge for Step Functions events) need.
    (
        "SERVICES",
        "cloudformation,dynamodb,events,iam,lambda,logs,rekognition,s3,sqs,stepfunctions,sts",
    ),
    ("LAMBDA_RUNTIME_EXECUTOR", "photopipe-process"),
    ("PROVIDER_OVERRIDE_DYNAMODB", "photopipe-moto"),
    ("PROVIDER_OVERRIDE_REKOGNITION", "photopipe-moto"),
];

/// Host variables that tell pip how to reach the package index. Only these cross
/// into the chroot (`env -i` drops everything else, e.g. a host PIP_REQUIRE_VIRTUALENV).
const FORWARDED_ENV: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_RETRIES",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Image tag to build or reuse.
    #[arg(long, default_value = DEFAULT_TAG)]
    tag: String,
    /// Rebuild even when an image with the same inputs exists.
    #[arg(long)]
    rebuild: bool,
    /// Debian mirror for debootstrap [default: read from the host's apt sources].
    #[arg(long)]
    mirror: Option<String>,
    /// Leave the prebuilt service catalog out of the image.
    #[arg(long)]
    no_catalog: bool,
    /// After building, start the image (with a published port and with
    /// `--network none`), wait for `Ready.` and check `/_localstack/health`.
    #[arg(long)]
    verify: bool,
    /// With --verify: also run `integration-tests/localstack/smoke.py` inside the
    /// `--network none` container, deploying this zip's `bootstrap` (an echo function,
    /// see the README) as the stack's function.
    #[arg(long, value_name = "ZIP", requires = "verify")]
    smoke_zip: Option<PathBuf>,
}

/// The last token-free official release.
pub const OFFICIAL_IMAGE: (&str, &str) = ("localstack/localstack", "4.14.0");

/// The LocalStack image to run, as name and tag: `PHOTOPIPE_LOCALSTACK_IMAGE`
/// when set; else the official image when Docker already has it; else the
/// offline one, built when missing or stale.
pub fn select() -> Result<(String, String)> {
    check_docker()?;
    let image = match std::env::var("PHOTOPIPE_LOCALSTACK_IMAGE") {
        Ok(image) if !image.is_empty() => image,
        _ if image_exists(&format!("{}:{}", OFFICIAL_IMAGE.0, OFFICIAL_IMAGE.1)) => {
            format!("{}:{}", OFFICIAL_IMAGE.0, OFFICIAL_IMAGE.1)
        }
        _ => run(crate::default_args())?,
    };
    let (name, tag) = image.rsplit_once(':').unwrap_or((image.as_str(), "latest"));
    Ok((name.to_owned(), tag.to_owned()))
}

fn image_exists(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds (or reuses) the offline image and returns its tag.
pub fn run(args: Args) -> Result<String> {
    let dir = project_root().join("integration-tests/localstack");
    check_docker()?;
    let inputs = inputs_hash(&dir, !args.no_catalog)?;
    if !args.rebuild && existing_label(&args.tag)?.as_deref() == Some(inputs.as_str()) {
        eprintln!(
            "localstack-image: reusing {} ({LABEL}={})",
            args.tag,
            &inputs[..16]
        );
    } else {
        build(&args, &dir, &inputs)?;
    }
    if args.verify {
        verify(&args.tag, &dir, args.smoke_zip.as_deref())?;
    }
    Ok(args.tag)
}

fn build(args: &Args, dir: &Path, inputs: &str) -> Result<()> {
    let total = Instant::now();
    eprintln!(
        "localstack-image: building {} ({LABEL}={})",
        args.tag,
        &inputs[..16]
    );
    let root = TempRoot::new()?;
    let r = root.path();

    let mirror = match &args.mirror {
        Some(m) => m.clone(),
        None => host_mirror()?,
    };
    step(1, "debootstrap", || {
        tools::ensure_debian("debootstrap", "debootstrap", "it builds the image's root")?;
        // python3, python3-venv and ca-certificates are installed inside the new
        // root by debootstrap itself: one resolver run instead of an apt-get in a
        // chroot that would need /proc and apt lists.
        run_cmd(
            Command::new("debootstrap")
                .args([
                    "--variant=minbase",
                    "--include=python3,python3-venv,ca-certificates",
                ])
                .arg(SUITE)
                .arg(r)
                .arg(&mirror),
            "debootstrap",
        )
        .with_context(|| format!("debootstrap of {SUITE} from {mirror} failed; check the mirror"))
    })?;

    step(2, "copy inputs into the root", || copy_inputs(dir, r))?;

    step(3, "venv with the hash-pinned LocalStack lock", || {
        chroot(r, &["/usr/bin/python3", "-m", "venv", VENV])?;
        let pip = format!("{VENV}/bin/pip");
        let lock = format!("/{BUILD_DIR}/{LOCK}");
        chroot(
            r,
            &[
                &pip,
                "install",
                "--no-cache-dir",
                "--require-hashes",
                "-r",
                &lock,
            ],
        )
    })?;

    step(4, "install the photopipe plugins", || {
        let pip = format!("{VENV}/bin/pip");
        let pkg = format!("/{BUILD_DIR}/pkg");
        // No build isolation: setuptools comes from the lock, nothing unpinned is fetched.
        chroot(
            r,
            &[
                &pip,
                "install",
                "--no-cache-dir",
                "--no-deps",
                "--no-build-isolation",
                &pkg,
            ],
        )
    })?;

    if !args.no_catalog {
        step(5, "prebuild the service catalog", || {
            // LocalStack reads it from /usr/lib/localstack when it believes it runs in
            // a container; without it, it parses every botocore spec at start-up.
            fs::create_dir_all(r.join("usr/lib/localstack"))
                .context("failed to create usr/lib/localstack in the root")?;
            chroot(
                r,
                &[&format!("{VENV}/bin/python"), "-m", "localstack.aws.spec"],
            )
        })?;
    }

    step(6, "clean the root", || clean_root(r))?;

    let previous = image_id(&args.tag);
    step(7, "tar | docker import", || {
        docker_import(r, &args.tag, inputs)
    })?;
    drop(root);
    // The import moved the tag; the image it pointed to is now dangling.
    if let Some(old) = previous.filter(|old| image_id(&args.tag).as_ref() != Some(old)) {
        let removed = Command::new("docker").args(["rmi", &old]).output();
        if removed.is_ok_and(|o| o.status.success()) {
            eprintln!("localstack-image: removed the previous image {old}");
        }
    }
    eprintln!(
        "localstack-image: built {} in {:.1} s, {}",
        args.tag,
        total.elapsed().as_secs_f64(),
        image_size(&args.tag)?
    );
    Ok(())
}

/// Runs one build step with progress and timing.
fn step(n: u32, what: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("localstack-image: [{n}/7] {what}");
    let start = Instant::now();
    f().with_context(|| format!("step {n} ({what}) failed"))?;
    eprintln!(
        "localstack-image: [{n}/7] {what}: done in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The sha256 of everything that decides the image's content.
fn inputs_hash(dir: &Path, catalog: bool) -> Result<String> {
    let mut h = Sha256::new();
    h.update(format!(
        "recipe {RECIPE_VERSION} {SUITE} catalog={catalog}\n{CMD}\n"
    ));
    for (k, v) in IMAGE_ENV {
        h.update(format!("env {k}={v}\n"));
    }
    for file in package_files(dir)? {
        let rel = file.strip_prefix(dir).unwrap_or(&file);
        let bytes =
            fs::read(&file).with_context(|| format!("failed to read {}", file.display()))?;
        h.update(format!("file {} {}\n", rel.display(), bytes.len()));
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The lock and the package sources, in a stable order.
fn package_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![dir.join(LOCK), dir.join("pyproject.toml")];
    let pkg = dir.join("photopipe_localstack");
    let mut sources: Vec<PathBuf> = fs::read_dir(&pkg)
        .with_context(|| format!("failed to list {}", pkg.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("failed to list {}", pkg.display()))?;
    sources.retain(|p| p.extension().is_some_and(|e| e == "py"));
    sources.sort();
    files.extend(sources);
    for f in &files {
        ensure!(
            f.is_file(),
            "{} is missing; the plugin package is incomplete",
            f.display()
        );
    }
    Ok(files)
}

/// Fails with instructions when there is no usable Docker daemon.
pub fn check_docker() -> Result<()> {
    let output = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    match output {
        Err(_) => bail!(
            "docker is not installed: install Docker Engine (Debian: `apt-get install docker.io`) and start it"
        ),
        Ok(o) if !o.status.success() => bail!(
            "the Docker daemon is not running: start it (`dockerd &`, or `systemctl start docker`)\n{}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Ok(_) => Ok(()),
    }
}

/// The `photopipe.inputs` label of an existing image, if there is one.
fn existing_label(tag: &str) -> Result<Option<String>> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format"])
        .arg(format!("{{{{ index .Config.Labels \"{LABEL}\" }}}}"))
        .arg(tag)
        .output()
        .context("failed to run docker image inspect")?;
    if !out.status.success() {
        return Ok(None); // no such image
    }
    Ok(Some(
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    ))
}

/// The host's Debian mirror, read from its apt sources (never written into code).
fn host_mirror() -> Result<String> {
    let deb822 = Path::new("/etc/apt/sources.list.d/debian.sources");
    if let Ok(text) = fs::read_to_string(deb822) {
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
                    .unwrap_or_default()
            };
            let (uris, suites) = (field("URIs:"), field("Suites:"));
            if suites.contains("security") || uris.contains("security") {
                continue;
            }
            if let Some(uri) = uris.split_whitespace().next() {
                return Ok(uri.to_string());
            }
        }
    }
    let list = Path::new("/etc/apt/sources.list");
    if let Ok(text) = fs::read_to_string(list) {
        for line in text.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("deb ") else {
                continue;
            };
            // Skip `[arch=… signed-by=…]` options.
            let rest = match rest.trim_start().strip_prefix('[') {
                Some(r) => r.split_once(']').map_or("", |(_, r)| r),
                None => rest,
            };
            if let Some(uri) = rest
                .split_whitespace()
                .next()
                .filter(|u| !u.contains("security"))
            {
                return Ok(uri.to_string());
            }
        }
    }
    bail!(
        "no Debian mirror found in {} or {}; pass one with --mirror",
        deb822.display(),
        list.display()
    )
}

/// Puts the lock, the package, the host's CA bundle and pip configuration where
/// the chroot sees them. All of it lives under BUILD_DIR or is removed in `clean_root`.
fn copy_inputs(dir: &Path, root: &Path) -> Result<()> {
    let build = root.join(BUILD_DIR);
    let pkg = build.join("pkg/photopipe_localstack");
    fs::create_dir_all(&pkg).with_context(|| format!("failed to create {}", pkg.display()))?;
    for file in package_files(dir)? {
        let rel = file
            .strip_prefix(dir)
            .context("package file outside its folder")?;
        let to = if rel == Path::new(LOCK) {
            build.join(LOCK)
        } else {
            build.join("pkg").join(rel)
        };
        fs::copy(&file, &to)
            .with_context(|| format!("failed to copy {} to {}", file.display(), to.display()))?;
    }
    // TLS from inside the chroot trusts what the host trusts (a proxy's CA, say).
    let ca = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if ca.is_file() {
        fs::copy(ca, build.join("host-ca.crt")).context("failed to copy the host CA bundle")?;
    }
    // pip's own config files say how the host reaches the index; the chroot's pip
    // reads the same paths. Removed again in `clean_root`.
    for (from, to) in pip_configs() {
        let target = root.join(to.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        fs::copy(&from, &target).with_context(|| format!("failed to copy {}", from.display()))?;
    }
    Ok(())
}

/// Host pip config files and where the chroot's pip (running as root) looks for them.
fn pip_configs() -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let home = std::env::var("HOME").unwrap_or_default();
    let candidates = [
        ("/etc/pip.conf".to_string(), "/etc/pip.conf"),
        (
            format!("{home}/.config/pip/pip.conf"),
            "/root/.config/pip/pip.conf",
        ),
        (format!("{home}/.pip/pip.conf"), "/root/.pip/pip.conf"),
    ];
    for (from, to) in candidates {
        if Path::new(&from).is_file() {
            found.push((PathBuf::from(from), to.to_string()));
        }
    }
    if let Ok(file) = std::env::var("PIP_CONFIG_FILE")
        && Path::new(&file).is_file()
    {
        found.push((PathBuf::from(file), format!("/{BUILD_DIR}/pip.conf")));
    }
    found
}

/// Runs a command inside the root with a clean environment.
fn chroot(root: &Path, argv: &[&str]) -> Result<()> {
    // `env -i` inside the chroot, not env_clear() here: the host's PATH must still
    // find chroot itself.
    let mut cmd = Command::new("chroot");
    cmd.arg(root).args(["/usr/bin/env", "-i"]).args([
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "LANG=C.UTF-8",
        "PIP_DISABLE_PIP_VERSION_CHECK=1",
        // Makes LocalStack use its container paths (the service catalog step).
        "OVERRIDE_IN_DOCKER=1",
    ]);
    if root.join(BUILD_DIR).join("host-ca.crt").is_file() {
        cmd.arg(format!("PIP_CERT=/{BUILD_DIR}/host-ca.crt"));
    }
    if root.join(BUILD_DIR).join("pip.conf").is_file() {
        cmd.arg(format!("PIP_CONFIG_FILE=/{BUILD_DIR}/pip.conf"));
    }
    for name in FORWARDED_ENV {
        if let Ok(value) = std::env::var(name) {
            cmd.arg(format!("{name}={value}"));
        }
    }
    // A find-links directory on the host is invisible in the chroot; a URL works.
    if let Ok(links) = std::env::var("PIP_FIND_LINKS") {
        if links.contains("://") {
            cmd.arg(format!("PIP_FIND_LINKS={links}"));
        } else if fs::read_dir(&links).is_ok_and(|mut d| d.next().is_some()) {
            eprintln!(
                "localstack-image: note: PIP_FIND_LINKS={links} is a host directory, not used in the chroot"
            );
        }
    }
    cmd.args(argv);
    run_cmd(&mut cmd, &format!("chroot {}", argv.join(" ")))
}

fn clean_root(root: &Path) -> Result<()> {
    let remove = [
        BUILD_DIR,
        "etc/pip.conf",
        "root/.config/pip",
        "root/.pip",
        "root/.cache",
        // docker provides its own resolv.conf; the host's must not be baked in.
        "etc/resolv.conf",
        "var/cache/apt/pkgcache.bin",
        "var/cache/apt/srcpkgcache.bin",
    ];
    for rel in remove {
        let p = root.join(rel);
        let result = if p.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("failed to remove {}", p.display())),
        }
    }
    for dir in [
        "tmp",
        "var/tmp",
        "var/lib/apt/lists",
        "var/cache/apt/archives",
    ] {
        empty_dir(&root.join(dir))?;
    }
    // Directories LocalStack expects in a container.
    for dir in [
        "var/lib/localstack",
        "etc/localstack/init",
        "usr/lib/localstack",
    ] {
        fs::create_dir_all(root.join(dir))
            .with_context(|| format!("failed to create {dir} in the root"))?;
    }
    Ok(())
}

fn empty_dir(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry
            .with_context(|| format!("failed to list {}", dir.display()))?
            .path();
        let result = if path.is_dir() && !path.is_symlink() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.with_context(|| format!("failed to remove {}", path.display()))?;
    }
    Ok(())
}

fn docker_import(root: &Path, tag: &str, inputs: &str) -> Result<()> {
    let mut tar = Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(root)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("failed to start tar")?;
    let tar_out = tar.stdout.take().context("tar has no stdout")?;
    let mut import = Command::new("docker");
    import.arg("import");
    for (k, v) in IMAGE_ENV {
        import.args(["-c", &format!("ENV {k}={v}")]);
    }
    import
        .args(["-c", &format!("LABEL {LABEL}={inputs}")])
        .args(["-c", "EXPOSE 4566"])
        .args(["-c", "WORKDIR /root"])
        .args(["-c", CMD])
        .args(["-", tag])
        .stdin(Stdio::from(tar_out))
        .stdout(Stdio::null());
    let status = import.status().context("failed to run docker import")?;
    let tar_status = tar.wait().context("failed to wait for tar")?;
    ensure!(
        tar_status.success(),
        "tar of the root failed ({tar_status})"
    );
    ensure!(
        status.success(),
        "docker import failed ({status}); is there space left for docker?"
    );
    Ok(())
}

/// The id of the image `tag` names, if there is one.
fn image_id(tag: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", tag])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn image_size(tag: &str) -> Result<String> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Size}}", tag])
        .output()
        .context("failed to run docker image inspect")?;
    let bytes: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    Ok(format!("{} MB", bytes / 1_000_000))
}

/// Starts the image twice (published port; `--network none`) and checks readiness.
fn verify(tag: &str, dir: &Path, smoke_zip: Option<&Path>) -> Result<()> {
    eprintln!("localstack-image: verify: image size {}", image_size(tag)?);
    for network in [None, Some("none")] {
        let mut cmd = Command::new("docker");
        cmd.args(["run", "-d", "--rm"]);
        match network {
            Some(n) => cmd.args(["--network", n]),
            None => cmd.args(["-p", "127.0.0.1::4566"]),
        };
        let start = Instant::now();
        let out = cmd.arg(tag).output().context("failed to run docker run")?;
        ensure!(
            out.status.success(),
            "docker run {tag} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let container = Container(id);
        let label = network.map_or("published port".to_string(), |n| format!("--network {n}"));
        wait_ready(&container.0, Duration::from_secs(60))?;
        let ready = start.elapsed();
        let health = match network {
            None => http_get(&published_port(&container.0)?, "/_localstack/health")?,
            Some(_) => container_health(&container.0)?,
        };
        ensure!(
            health.contains("\"lambda\": \"available\"")
                || health.contains("\"lambda\": \"running\""),
            "health check ({label}) does not list lambda as available: {health}"
        );
        eprintln!(
            "localstack-image: verify ({label}): Ready. after {:.2} s, /_localstack/health ok",
            ready.as_secs_f64()
        );
        if let (Some(zip), Some(_)) = (smoke_zip, network) {
            smoke(&container.0, dir, zip)?;
        }
    }
    Ok(())
}

/// Runs the end-to-end smoke check inside the container: offline, with the
/// container's own boto3, against LocalStack on its loopback.
fn smoke(id: &str, dir: &Path, zip: &Path) -> Result<()> {
    ensure!(
        zip.is_file(),
        "{} does not exist; build the echo function first",
        zip.display()
    );
    for (from, to) in [
        (dir.join("smoke.py"), "/root/smoke.py"),
        (zip.to_path_buf(), "/root/function.zip"),
    ] {
        run_cmd(
            Command::new("docker")
                .arg("cp")
                .arg(&from)
                .arg(format!("{id}:{to}")),
            &format!("docker cp {}", from.display()),
        )?;
    }
    eprintln!("localstack-image: verify: smoke.py inside the --network none container");
    let start = Instant::now();
    run_cmd(
        Command::new("docker").args([
            "exec",
            id,
            "python",
            "/root/smoke.py",
            "--endpoint",
            "http://127.0.0.1:4566",
            "--zip",
            "/root/function.zip",
        ]),
        "smoke.py (see its output above for the failed check)",
    )?;
    eprintln!(
        "localstack-image: verify: smoke passed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Removes its container when dropped, so no verify run leaves one behind.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.0])
            .stdout(Stdio::null())
            .status();
    }
}

fn wait_ready(id: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        let out = Command::new("docker")
            .args(["logs", id])
            .output()
            .context("failed to run docker logs")?;
        if String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == "Ready.")
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = Command::new("docker")
        .args(["logs", id])
        .output()
        .context("failed to run docker logs")?;
    bail!(
        "container {id} printed no `Ready.` within {timeout:?}; its output:\n{}{}",
        String::from_utf8_lossy(&logs.stdout),
        String::from_utf8_lossy(&logs.stderr)
    )
}

fn published_port(id: &str) -> Result<String> {
    let out = Command::new("docker")
        .args(["port", id, "4566/tcp"])
        .output()
        .context("failed to run docker port")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .map(|l| l.trim().to_string())
        .context("container publishes no port for 4566")
}

fn container_health(id: &str) -> Result<String> {
    let script = "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:4566/_localstack/health').read().decode())";
    let out = Command::new("docker")
        .args(["exec", id, "python", "-c", script])
        .output()
        .context("failed to run docker exec")?;
    ensure!(
        out.status.success(),
        "health check inside {id} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A minimal HTTP/1.0 GET: enough for the health endpoint, without an HTTP crate.
fn http_get(addr: &str, path: &str) -> Result<String> {
    let mut stream =
        TcpStream::connect(addr).with_context(|| format!("failed to connect to {addr}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .context("failed to set a read timeout")?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")
        .context("failed to send the request")?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .with_context(|| format!("failed to read from {addr}"))?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    ensure!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "GET {path} answered: {head}"
    );
    Ok(body.to_string())
}

/// The root being built; removed when dropped, whether the build succeeded or not.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> Result<Self> {
        let path =
            std::env::temp_dir().join(format!("photopipe-localstack-root-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path)
                .with_context(|| format!("failed to remove stale {}", path.display()))?;
        }
        fs::create_dir_all(&path)
            .with_context(|| format!("failed to create {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        // debootstrap unmounts what it mounted; refuse to descend into anything
        // still mounted (a failed debootstrap can leave /proc behind).
        for sub in ["dev/pts", "proc", "sys"] {
            let _ = Command::new("umount")
                .arg(self.0.join(sub))
                .stderr(Stdio::null())
                .status();
        }
        let prefix = format!("{}/", self.0.display());
        let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        if mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .any(|m| m.starts_with(&prefix))
        {
            eprintln!(
                "localstack-image: {} still has mounts; unmount them, then remove it",
                self.0.display()
            );
            return;
        }
        if let Err(e) = fs::remove_dir_all(&self.0) {
            eprintln!(
                "localstack-image: could not remove {}: {e}; remove it by hand",
                self.0.display()
            );
        }
    }
}

/// Runs a step of the build; what it prints is progress, so it goes to
/// stderr (stdout belongs to the caller: `e2e --json`).
fn run_cmd(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("failed to start {what}"))?;
    ensure!(status.success(), "{what} failed ({status})");
    Ok(())
}
