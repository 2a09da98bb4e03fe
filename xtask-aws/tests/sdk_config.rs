//! Which credentials and endpoint `deploy::sdk_config` ends up with, for a
//! given environment. aws-config reads the process environment, which a
//! test cannot change for itself, so this binary runs itself once per case
//! with that case's environment and home directory.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{ConfigBag, Intercept, ProvideCredentials, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use xtask_aws::deploy::{Target, sdk_config};

/// Set in a child: the `--endpoint-url` flag it is given, or "" for none.
const FLAG: &str = "PHOTOPIPE_SDK_CONFIG_FLAG";
const LOCAL: &str = "http://localhost:4566";

struct Case<'a> {
    name: &'a str,
    flag: &'a str,
    env: &'a [(&'a str, &'a str)],
    /// Whether the child's ~/.aws/credentials has a default profile.
    default_profile: bool,
    /// The access key id, then the start of the S3 request's URI.
    expected: (&'a str, &'a str),
}

fn main() -> ExitCode {
    match std::env::var(FLAG) {
        Ok(flag) => child(&flag),
        Err(_) => parent(),
    }
}

fn parent() -> ExitCode {
    let cases = [
        Case {
            name: "a local endpoint and no credentials anywhere: LocalStack's",
            flag: "",
            env: &[("AWS_ENDPOINT_URL", LOCAL)],
            default_profile: false,
            expected: ("test", LOCAL),
        },
        Case {
            name: "a local endpoint and a default profile: the profile's",
            flag: "",
            env: &[("AWS_ENDPOINT_URL", LOCAL)],
            default_profile: true,
            expected: ("AKIDEFAULTPROFILE", LOCAL),
        },
        Case {
            name: "the flag and a default profile: the profile's",
            flag: LOCAL,
            env: &[],
            default_profile: true,
            expected: ("AKIDEFAULTPROFILE", LOCAL),
        },
        Case {
            name: "a remote endpoint and no credentials: none made up, nothing sent",
            flag: "",
            env: &[("AWS_ENDPOINT_URL", "https://s3.example.com")],
            default_profile: false,
            expected: ("none", "no request"),
        },
        Case {
            name: "the service's own variable outranks AWS_ENDPOINT_URL",
            flag: "",
            env: &[
                ("AWS_ENDPOINT_URL", "http://localhost:1"),
                ("AWS_ENDPOINT_URL_S3", LOCAL),
            ],
            default_profile: false,
            expected: ("test", LOCAL),
        },
        Case {
            name: "the flag outranks every variable",
            flag: LOCAL,
            env: &[("AWS_ENDPOINT_URL_S3", "http://localhost:1")],
            default_profile: false,
            expected: ("test", LOCAL),
        },
    ];
    let Ok(me) = std::env::current_exe() else {
        eprintln!("sdk_config: cannot find its own executable");
        return ExitCode::FAILURE;
    };
    let mut failed = 0;
    for (i, case) in cases.iter().enumerate() {
        let got = run_child(&me, i, case);
        let expected = format!("{} {}", case.expected.0, case.expected.1);
        if got.starts_with(&expected) {
            println!("ok   {}: {got}", case.name);
        } else {
            println!("FAIL {}: {got}, expected {expected}…", case.name);
            failed += 1;
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_child(me: &Path, i: usize, case: &Case<'_>) -> String {
    let home =
        std::env::temp_dir().join(format!("photopipe-sdk-config-{}-{i}", std::process::id()));
    let aws = home.join(".aws");
    if let Err(e) = std::fs::create_dir_all(&aws) {
        return format!("cannot make {}: {e}", aws.display());
    }
    if case.default_profile {
        let credentials =
            "[default]\naws_access_key_id = AKIDEFAULTPROFILE\naws_secret_access_key = secret\n";
        if let Err(e) = std::fs::write(aws.join("credentials"), credentials) {
            return format!("cannot write credentials: {e}");
        }
    }
    let output = Command::new(me)
        // Nothing from the machine's own AWS setup, and no instance metadata.
        .env_clear()
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .envs(case.env.iter().copied())
        .env(FLAG, case.flag)
        .output();
    let _ = std::fs::remove_dir_all(&home);
    match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(output) => format!(
            "the child failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => format!("the child did not start: {e}"),
    }
}

/// Prints the access key id the configuration yields and the URI an S3
/// request would go to.
fn child(flag: &str) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("no tokio runtime");
        return ExitCode::FAILURE;
    };
    let line = runtime.block_on(async {
        let target = Target {
            endpoint_url: (!flag.is_empty()).then(|| flag.to_owned()),
            ..Target::default()
        };
        let config = sdk_config(&target).await;
        let key = match config.credentials_provider() {
            Some(p) => p
                .provide_credentials()
                .await
                .map_or("none".to_owned(), |c| c.access_key_id().to_owned()),
            None => "none".to_owned(),
        };
        let seen = Arc::new(Mutex::new(None));
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .retry_config(RetryConfig::disabled())
                .interceptor(Capture(Arc::clone(&seen)))
                .build(),
        );
        // Fails by design: the interceptor stops the request before it is sent.
        let _ = client.list_buckets().send().await;
        let uri = seen
            .lock()
            .ok()
            .and_then(|uri| uri.clone())
            .unwrap_or_else(|| "no request".into());
        format!("{key} {uri}")
    });
    println!("{line}");
    ExitCode::SUCCESS
}

/// Records the request's URI and stops it.
#[derive(Debug)]
struct Capture(Arc<Mutex<Option<String>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "Capture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(mut seen) = self.0.lock() {
            *seen = Some(context.request().uri().to_owned());
        }
        Err("captured; not sent".into())
    }
}
