//! LocalStack in a container, started with testcontainers, for `cargo xtask
//! e2e` and the integration tests.
//!
//! Which image: `PHOTOPIPE_LOCALSTACK_IMAGE` when set; else the official
//! token-free `localstack/localstack:4.14.0` when Docker already has it
//! (GitHub Actions pulls it); else the offline image `cargo xtask
//! localstack-image` builds from the package registries, since no registry
//! may be reachable.

use std::borrow::Cow;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use testcontainers::core::{ContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image};

use crate::deploy::{self, Target};
use xtask::{localstack_image, project_root};

const PORT: ContainerPort = ContainerPort::Tcp(4566);

/// Where the labels of `DetectLabels` come from on each kind of image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// The official image, with our plugin package installed at boot so that
    /// Rekognition is answered by LocalStack's bundled moto.
    Official,
    /// Our offline image: Lambda as processes, DynamoDB and Rekognition from moto.
    Offline,
}

/// Where labels come from on LocalStack, said plainly: nothing looks at the image.
pub const LABELS_SOURCE: &str =
    "moto's fixed DetectLabels answer inside LocalStack (no image analysis happens locally)";

/// A LocalStack image as testcontainers starts it.
#[derive(Debug, Clone)]
pub struct LocalStackImage {
    pub name: String,
    pub tag: String,
    pub flavor: Flavor,
    env: Vec<(String, String)>,
    mounts: Vec<Mount>,
}

impl std::fmt::Display for LocalStackImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.flavor {
            Flavor::Official => "official LocalStack image",
            Flavor::Offline => "offline LocalStack image built by `cargo xtask localstack-image`",
        };
        write!(f, "{}:{} ({kind})", self.name, self.tag)
    }
}

impl Image for LocalStackImage {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout("Ready.")]
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn mounts(&self) -> impl IntoIterator<Item = &Mount> {
        &self.mounts
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        std::slice::from_ref(&PORT)
    }
}

/// Picks the image, building the offline one when nothing else is there.
pub fn select_image() -> Result<LocalStackImage> {
    let (name, tag) = localstack_image::select()?;
    let flavor = if name.starts_with("localstack/") {
        Flavor::Official
    } else {
        Flavor::Offline
    };
    // Lambda waits a minute (then two) between retries of an asynchronous
    // invocation; a second here lets a test see an S3 event through both
    // retries to the start function's on-failure destination.
    let mut env = vec![("LAMBDA_RETRY_BASE_DELAY".to_owned(), "1".to_owned())];
    let mut mounts = Vec::new();
    if flavor == Flavor::Official {
        // Lambdas run in sibling containers; the plugin package is installed by
        // a boot hook so that Rekognition is routable as in the offline image.
        mounts.push(Mount::bind_mount(
            "/var/run/docker.sock",
            "/var/run/docker.sock",
        ));
        let plugin = project_root().join("integration-tests/localstack");
        mounts.push(Mount::bind_mount(
            path_str(&plugin)?,
            "/opt/photopipe-localstack",
        ));
        mounts.push(Mount::bind_mount(
            path_str(&plugin.join("boot.d"))?,
            "/etc/localstack/init/boot.d",
        ));
        env.push((
            "PROVIDER_OVERRIDE_REKOGNITION".into(),
            "photopipe-moto".into(),
        ));
        if let Ok(token) = std::env::var("LOCALSTACK_AUTH_TOKEN").map(|t| t.trim().to_owned())
            && !token.is_empty()
        {
            env.push(("LOCALSTACK_AUTH_TOKEN".into(), token));
        }
    }
    Ok(LocalStackImage {
        name,
        tag,
        flavor,
        env,
        mounts,
    })
}

fn path_str(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

/// A running LocalStack. Dropping it removes the container.
#[derive(Debug)]
pub struct LocalStack {
    container: ContainerAsync<LocalStackImage>,
    pub image: LocalStackImage,
    pub endpoint: String,
}

impl LocalStack {
    pub async fn start(image: LocalStackImage) -> Result<LocalStack> {
        eprintln!("localstack: starting {image}");
        let started = std::time::Instant::now();
        let container = image
            .clone()
            .start()
            .await
            .with_context(|| format!("failed to start {image}"))?;
        let port = container
            .get_host_port_ipv4(PORT)
            .await
            .context("failed to read LocalStack's published port")?;
        let endpoint = format!("http://127.0.0.1:{port}");
        eprintln!(
            "localstack: ready at {endpoint} after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(LocalStack {
            container,
            image,
            endpoint,
        })
    }

    /// Where to point the AWS SDK.
    pub fn target(&self) -> Target {
        target(&self.endpoint)
    }

    /// Restarts the container, as a crash or `docker restart` would.
    /// LocalStack keeps no state across it, and its port may change.
    pub fn restart(&self) -> Result<()> {
        docker(&["restart", "--time", "1", self.container.id()]).map(drop)
    }

    /// The container's log, for failure reports.
    pub async fn logs(&self) -> String {
        let out = self.container.stdout_to_vec().await.unwrap_or_default();
        let err = self.container.stderr_to_vec().await.unwrap_or_default();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        )
    }
}

/// Where to point the AWS SDK for a LocalStack at `endpoint`.
pub fn target(endpoint: &str) -> Target {
    Target {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
    }
}

/// Starts (or finds running) a LocalStack container named `name` that
/// outlives this process, unlike [`LocalStack::start`]'s: the console's
/// stack, uploads and table survive a restart of the console. Returns its
/// endpoint once it answers.
pub async fn start_kept(image: &LocalStackImage, name: &str) -> Result<String> {
    let wanted = format!("{}:{}", image.name, image.tag);
    match docker(&[
        "inspect",
        "--format",
        "{{.Config.Image}} {{.State.Running}}",
        name,
    ]) {
        Ok(state) if state == format!("{wanted} true") => {
            eprintln!("localstack: reusing container {name} ({image})");
        }
        Ok(state) if state == format!("{wanted} false") => {
            eprintln!("localstack: restarting container {name} ({image})");
            docker(&["start", name])?;
        }
        found => {
            if found.is_ok() {
                eprintln!("localstack: replacing container {name}, which runs another image");
                docker(&["rm", "--force", name])?;
            }
            eprintln!("localstack: starting {image} as container {name}");
            let mut args = vec![
                "run".to_owned(),
                "--detach".into(),
                "--name".into(),
                name.into(),
                "--publish".into(),
                format!("127.0.0.1::{}", PORT.as_u16()),
            ];
            for (key, value) in &image.env {
                args.extend(["--env".into(), format!("{key}={value}")]);
            }
            for mount in &image.mounts {
                if let (Some(source), Some(target)) = (mount.source(), mount.target()) {
                    args.extend(["--volume".into(), format!("{source}:{target}")]);
                }
            }
            args.push(wanted.clone());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            docker(&args)?;
        }
    }
    let published = docker(&["port", name, &format!("{}/tcp", PORT.as_u16())])?;
    let address = published
        .lines()
        .next()
        .with_context(|| format!("container {name} publishes no port for LocalStack"))?;
    let endpoint = format!("http://{address}");
    wait_until_ready(&endpoint, name).await?;
    eprintln!(
        "localstack: ready at {endpoint}; container {name} keeps running after this command (`docker rm --force {name}` removes it and everything in it)"
    );
    Ok(endpoint)
}

/// Waits until LocalStack answers CloudFormation, which it serves last.
async fn wait_until_ready(endpoint: &str, name: &str) -> Result<()> {
    let config = deploy::sdk_config(&target(endpoint)).await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        match cfn.list_stacks().send().await {
            Ok(_) => return Ok(()),
            Err(e) if std::time::Instant::now() > deadline => {
                let logs = docker(&["logs", "--tail", "50", name]).unwrap_or_default();
                return Err(deploy::explain(e)).with_context(|| {
                    format!("LocalStack in container {name} did not become ready within 3 minutes; its last log lines:\n{logs}")
                });
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
}

/// Runs `docker ARGS`, returning its trimmed standard output.
fn docker(args: &[&str]) -> Result<String> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .with_context(|| format!("failed to run docker {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Fault injection in our LocalStack plugin (`photopipe_localstack/faults.py`):
/// `rules` (a JSON array) replaces the rule set, `[]` clears it; the answer
/// lists each rule with how often it was `injected` and how often it will be.
/// Without rules, nothing is injected.
pub async fn set_faults(endpoint: &str, rules: serde_json::Value) -> Result<serde_json::Value> {
    let body = serde_json::json!({ "rules": rules }).to_string();
    faults_request(endpoint, "POST", &body).await
}

/// The fault rules in force, with their counts.
pub async fn faults(endpoint: &str) -> Result<serde_json::Value> {
    faults_request(endpoint, "GET", "").await
}

/// One HTTP/1.1 request to the plugin's route: small enough not to need an
/// HTTP client crate.
async fn faults_request(endpoint: &str, method: &str, body: &str) -> Result<serde_json::Value> {
    let (status, payload) = http(endpoint, method, "/_photopipe/faults", body).await?;
    if status != "200" {
        bail!(
            "{method} /_photopipe/faults answered {status}: {payload} (is this our LocalStack image, with the photopipe plugin?)"
        );
    }
    serde_json::from_str(&payload)
        .with_context(|| format!("the fault rules are not JSON: {payload}"))
}

/// One HTTP/1.1 request to an engine's own routes, answered with the status
/// code and the body: small enough not to need an HTTP client crate.
pub async fn http(
    endpoint: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let address = endpoint
        .strip_prefix("http://")
        .with_context(|| format!("{path} needs an http:// endpoint, not {endpoint}"))?
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("failed to connect to {address}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let (head, payload) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("the answer to {method} {path} is not HTTP: {response}"))?;
    let status = head.split(' ').nth(1).unwrap_or_default().to_owned();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let payload = if chunked {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    Ok((status, payload))
}

/// The body of a `Transfer-Encoding: chunked` message.
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            super::dechunk("7\r\n{\"rules\r\n4\r\n\": [\r\n2\r\n]}\r\n0\r\n\r\n"),
            "{\"rules\": []}"
        );
        assert_eq!(super::dechunk("0\r\n\r\n"), "");
    }
}
