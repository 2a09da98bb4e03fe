//! MiniStack, the second engine: installed from its hash-locked lock into
//! `.tools/ministack`, run as a host process group on a free loopback port,
//! and stopped by the command that started it.
//!
//! It runs our functions as host processes, which inherit its environment:
//! `AWS_ENDPOINT_URL` points them back at it. It has no Rekognition, so
//! `DetectLabels` is answered by its Step Functions mock configuration (the
//! format of AWS Step Functions Local, which LocalStack's `SFN_MOCK_CONFIG`
//! reads too), with the answer LocalStack's moto gives.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::deploy::{Deployment, Target, explain};
use crate::localstack;
use xtask::{project_root, tools};

/// The version the lock pins, as the reports name it.
pub const VERSION: &str = "1.5.33";

/// Where labels come from on MiniStack, said plainly.
pub const LABELS_SOURCE: &str = "MOCKED: MiniStack has no Rekognition; DetectLabels is answered by its Step Functions \
     mock configuration with moto's fixed answer, as on LocalStack (no image analysis happens locally)";

/// The test case of the mock configuration; Step Functions Local and
/// MiniStack apply a configuration only to executions started on
/// `<state machine ARN>#<test case>`.
pub const TEST_CASE: &str = "MockedLabels";

const READY_WITHIN: Duration = Duration::from_secs(60);

/// A running MiniStack. Dropping it stops its whole process group.
#[derive(Debug)]
pub struct MiniStack {
    child: Child,
    pub endpoint: String,
    pub log: PathBuf,
}

impl MiniStack {
    /// Installs MiniStack when needed and starts it on a free port of
    /// 127.0.0.1, proving that nothing of it listens anywhere else.
    pub async fn start() -> Result<MiniStack> {
        let bin = tools::ensure_locked(&tools::MINISTACK)?;
        let port = free_port()?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let dir = project_root().join("target/ministack");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        let log = dir.join(format!("ministack-{port}.log"));
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("failed to create {}", log.display()))?;
        eprintln!(
            "ministack: starting MiniStack {VERSION} at {endpoint} (log: {})",
            log.display()
        );
        let started = Instant::now();
        let mut command = Command::new(&bin);
        command
            .env("GATEWAY_PORT", port.to_string())
            .env("BIND_HOST", "127.0.0.1")
            // The functions it runs inherit this and so reach it, not AWS.
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            // No Docker for it: everything it offers runs in its process.
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            // Services that would open listeners of their own.
            .env("IOT_MTLS_ENABLED", "0")
            .env("SFTP_ENABLED", "0")
            .env_remove("SFN_MOCK_CONFIG")
            .env_remove("LOCALSTACK_SFN_MOCK_CONFIG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // Its own process group, so that stopping it stops the function
        // processes and workers it started too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        stop_leftovers(&dir);
        let child = command
            .spawn()
            .with_context(|| format!("failed to start {}", bin.display()))?;
        std::fs::write(pid_file(&dir, child.id()), "")
            .context("failed to record MiniStack's process id")?;
        let mut ministack = MiniStack {
            child,
            endpoint,
            log,
        };
        ministack.wait_ready(started).await?;
        ministack.check_loopback_only()?;
        eprintln!(
            "ministack: ready after {:.1} s, listening on 127.0.0.1 only",
            started.elapsed().as_secs_f64()
        );
        Ok(ministack)
    }

    async fn wait_ready(&mut self, started: Instant) -> Result<()> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "MiniStack exited ({status}) before it was ready; its log:\n{}",
                    self.logs()
                );
            }
            if let Ok(body) = http(&self.endpoint, "GET", "/_ministack/ready", "").await
                && body.contains("\"completed\"")
            {
                return Ok(());
            }
            if started.elapsed() > READY_WITHIN {
                bail!(
                    "MiniStack did not answer {}/_ministack/ready within {} s; its log:\n{}",
                    self.endpoint,
                    READY_WITHIN.as_secs(),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails when any process of MiniStack's group has a socket bound to
    /// an address other than loopback. Called at start and again at the end
    /// of a run, after the function processes and their runtime API servers
    /// have come and gone.
    pub fn check_loopback_only(&self) -> Result<()> {
        let exposed: Vec<SocketAddr> = bound_addresses(self.child.id())?
            .into_iter()
            .filter(|address| !address.ip().is_loopback())
            .collect();
        if !exposed.is_empty() {
            bail!("MiniStack listens beyond loopback, on {exposed:?}: refusing to go on");
        }
        Ok(())
    }

    /// Where to point the AWS SDK.
    pub fn target(&self) -> Target {
        localstack::target(&self.endpoint)
    }

    /// The log so far, for failure reports.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Makes MiniStack answer `DetectLabels` from the mock configuration and
    /// points the start function at its test case. Needed after every
    /// deployment: the state machine's name comes from CloudFormation, and a
    /// deployment resets the function's environment.
    pub async fn mock_labels(
        &self,
        config: &aws_config::SdkConfig,
        deployment: &Deployment,
    ) -> Result<()> {
        let state_machine = deployment.output(infra::stack::outputs::STATE_MACHINE)?;
        let name = state_machine
            .rsplit(':')
            .next()
            .context("the state machine's ARN has no name")?;
        let body = json!({ "stepfunctions._sfn_mock_config": mock_config(name) }).to_string();
        let answer = http(&self.endpoint, "POST", "/_ministack/config", &body).await?;
        if !answer.contains("stepfunctions._sfn_mock_config") {
            bail!("MiniStack did not take the Step Functions mock configuration: {answer}");
        }
        let function = crate::deploy::physical_id(
            config,
            &deployment.stack_name,
            infra::stack::START_EXECUTION.logical_id,
        )
        .await?;
        point_at_test_case(config, &function, state_machine).await
    }

    /// Stops MiniStack and everything it started.
    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Usually gone by now; the KILL is for what ignored the TERM.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_file(pid_file(dir, self.child.id()));
        }
    }
}

impl Drop for MiniStack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The mock configuration, in AWS Step Functions Local's format: for the
/// state machine `name`, test case [`TEST_CASE`] answers the `DetectLabels`
/// state, on every attempt, with what LocalStack's moto answers.
pub fn mock_config(name: &str) -> Value {
    json!({
        "StateMachines": {
            name: { "TestCases": { TEST_CASE: { infra::pipeline::DETECT_LABELS: "MotoDetectLabels" } } }
        },
        "MockedResponses": { "MotoDetectLabels": { "0": { "Return": moto_detect_labels() } } }
    })
}

/// moto's fixed `DetectLabels` answer (`moto/rekognition/models.py`), whose
/// label LocalStack's side records; bounding boxes and colours left out.
fn moto_detect_labels() -> Value {
    json!({
        "Labels": [{
            "Name": "Mobile Phone",
            "Confidence": 99.9364013671875,
            "Parents": [{ "Name": "Phone" }],
            "Aliases": [{ "Name": "Cell Phone" }],
            "Categories": [{ "Name": "Technology and Computing" }],
        }],
        "LabelModelVersion": "3.0",
    })
}

/// Sets the start function's `STATE_MACHINE_ARN` to the test case's ARN,
/// keeping the rest of its environment.
async fn point_at_test_case(
    config: &aws_config::SdkConfig,
    function: &str,
    state_machine: &str,
) -> Result<()> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let current = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to read the configuration of {function}"))?;
    let mut variables = current
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    variables.insert(
        "STATE_MACHINE_ARN".into(),
        format!("{state_machine}#{TEST_CASE}"),
    );
    crate::deploy::set_environment(&lambda, function, variables).await
}

/// Marks a running MiniStack: `<dir>/<pid>.pid`.
fn pid_file(dir: &std::path::Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.pid"))
}

/// Stops the MiniStacks of earlier runs that were killed before they could
/// stop theirs (a process group's leader, still running our MiniStack).
fn stop_leftovers(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        let Some(pid) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".pid"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(".tools/ministack"));
        if ours && process_group(pid) == Some(pid) {
            eprintln!("ministack: stopping MiniStack {pid}, left running by an earlier run");
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status();
        }
        let _ = std::fs::remove_file(path);
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("failed to find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// Every address a TCP or UDP socket of process group `group` is bound to,
/// read from `/proc`: the group's processes' socket inodes matched against
/// the kernel's socket tables.
fn bound_addresses(group: u32) -> Result<Vec<SocketAddr>> {
    let mut inodes = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir("/proc").context("failed to read /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if process_group(pid) != Some(group) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path())
                && let Some(inode) = link
                    .to_str()
                    .and_then(|l| l.strip_prefix("socket:["))
                    .and_then(|l| l.strip_suffix(']'))
            {
                inodes.insert(inode.to_owned());
            }
        }
    }
    let mut addresses = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let path = format!("/proc/net/{table}");
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("failed to read {path}"))?;
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && inodes.contains(fields[9]) {
                addresses.extend(parse_socket_address(fields[1]));
            }
        }
    }
    Ok(addresses)
}

/// The process group of `pid`, from `/proc/PID/stat` (the fifth field,
/// counted after the command name, which may hold spaces).
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as the
/// kernel writes them: each 32-bit word in host (little-endian) order.
fn parse_socket_address(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).map(u32::swap_bytes))
        .collect::<Result<_, _>>()
        .ok()?;
    let ip = match words.as_slice() {
        [v4] => IpAddr::V4(Ipv4Addr::from(*v4)),
        [a, b, c, d] => {
            let v6 = Ipv6Addr::from(
                (u128::from(*a) << 96)
                    | (u128::from(*b) << 64)
                    | (u128::from(*c) << 32)
                    | u128::from(*d),
            );
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// One HTTP/1.1 request to MiniStack's own routes.
async fn http(endpoint: &str, method: &str, path: &str, body: &str) -> Result<String> {
    let (status, payload) = localstack::http(endpoint, method, path, body).await?;
    if status != "200" {
        bail!("{method} {path} answered {status}: {payload}");
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_socket_addresses_are_read() {
        assert_eq!(
            parse_socket_address("0100007F:1F90"),
            "127.0.0.1:8080".parse().ok()
        );
        assert_eq!(
            parse_socket_address("00000000:0050"),
            "0.0.0.0:80".parse().ok()
        );
        assert_eq!(
            parse_socket_address("00000000000000000000000001000000:0016"),
            "[::1]:22".parse().ok()
        );
        assert_eq!(
            parse_socket_address("0000000000000000FFFF00000100007F:0016"),
            "127.0.0.1:22".parse().ok()
        );
    }

    /// The check that MiniStack listens on loopback only sees a process
    /// group's sockets: one listening on every interface is found.
    #[test]
    fn a_listener_on_every_interface_is_found() {
        let mut server = Command::new("python3");
        server.args([
            "-c",
            "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen(); time.sleep(30)",
        ]);
        std::os::unix::process::CommandExt::process_group(&mut server, 0);
        let mut server = server.spawn().expect("python3 runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        let found = loop {
            let addresses = bound_addresses(server.id()).expect("/proc is readable");
            if !addresses.is_empty() || Instant::now() > deadline {
                break addresses;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        server.kill().ok();
        server.wait().ok();
        assert!(
            found.iter().any(|a| a.ip().is_unspecified()),
            "found {found:?}"
        );
    }

    #[test]
    fn the_mock_answers_detect_labels_of_the_named_machine() {
        let config = mock_config("ImageProcessing-abc");
        let case = &config["StateMachines"]["ImageProcessing-abc"]["TestCases"][TEST_CASE];
        let response = case[infra::pipeline::DETECT_LABELS]
            .as_str()
            .unwrap_or_default();
        let label = &config["MockedResponses"][response]["0"]["Return"]["Labels"][0]["Name"];
        assert_eq!(label, "Mobile Phone");
    }
}
