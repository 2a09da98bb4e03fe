//! Path-style addressing follows the endpoint the S3 client really uses,
//! wherever aws-config found it. aws-config reads the process environment,
//! which a test cannot change for itself, so this binary runs itself once
//! per case with that case's environment and checks the URI each child
//! would have sent its request to.

use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{ConfigBag, Credentials, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use photopipe_s3::s3_client;

/// Set in a child: how it loads its config.
const CASE: &str = "PHOTOPIPE_S3_ENDPOINT_CASE";
/// A host name: S3 addresses an IP endpoint by path whatever the setting.
const LOCALSTACK: &str = "http://localstack:4566";

fn main() -> ExitCode {
    match std::env::var(CASE) {
        Ok(load) => child(&load),
        Err(_) => parent(),
    }
}

/// A child's setup and the start of the URI it must print.
struct Case<'a> {
    /// How the child loads its config ("code": with an endpoint set in code).
    load: &'a str,
    env: &'a [(&'a str, &'a str)],
    expected: &'a str,
}

fn parent() -> ExitCode {
    let path_style = format!("{LOCALSTACK}/photos/incoming/a.jpg");
    let cases = [
        Case {
            load: "env",
            env: &[],
            expected: "https://photos.s3.us-east-1.amazonaws.com/",
        },
        Case {
            load: "env",
            env: &[("AWS_ENDPOINT_URL", LOCALSTACK)],
            expected: &path_style,
        },
        Case {
            load: "env",
            env: &[("AWS_ENDPOINT_URL_S3", LOCALSTACK)],
            expected: &path_style,
        },
        // An endpoint set in code wins over the S3-specific variable.
        Case {
            load: "code",
            env: &[("AWS_ENDPOINT_URL_S3", "http://elsewhere:1")],
            expected: &path_style,
        },
    ];
    let Ok(me) = std::env::current_exe() else {
        eprintln!("endpoint_from_env: cannot find its own executable");
        return ExitCode::FAILURE;
    };
    let mut failed = 0;
    for Case {
        load,
        env,
        expected,
    } in cases
    {
        let output = Command::new(&me)
            // Nothing from the machine's own AWS setup.
            .env_clear()
            .env("AWS_CONFIG_FILE", "/nonexistent/aws/config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws/credentials",
            )
            .envs(env.iter().copied())
            .env(CASE, load)
            .output();
        let uri = match output {
            Ok(output) if output.status.success() => {
                String::from_utf8_lossy(&output.stdout).trim().to_owned()
            }
            Ok(output) => format!(
                "the child failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(e) => format!("the child did not start: {e}"),
        };
        if uri.starts_with(expected) {
            println!("ok   {load} {env:?}: {uri}");
        } else {
            println!("FAIL {load} {env:?}: {uri}, expected {expected}…");
            failed += 1;
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints the URI of a GetObject from the client for this environment.
fn child(load: &str) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("no tokio runtime");
        return ExitCode::FAILURE;
    };
    let uri = runtime.block_on(async {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"));
        if load == "code" {
            loader = loader.endpoint_url(LOCALSTACK);
        }
        let config = loader.load().await;
        let seen = Arc::new(Mutex::new(None));
        let client = s3_client(&config);
        let client = Client::from_conf(
            client
                .config()
                .to_builder()
                .retry_config(RetryConfig::disabled())
                .interceptor(Capture(Arc::clone(&seen)))
                .build(),
        );
        // Fails by design: the interceptor stops the request before it is sent.
        let _ = client
            .get_object()
            .bucket("photos")
            .key("incoming/a.jpg")
            .send()
            .await;
        seen.lock().ok().and_then(|uri| uri.clone())
    });
    match uri {
        Some(uri) => {
            println!("{uri}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("no request reached the transmit stage");
            ExitCode::FAILURE
        }
    }
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
