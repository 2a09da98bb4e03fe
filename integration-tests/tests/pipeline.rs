//! The whole pipeline against LocalStack, started by testcontainers.
//!
//! One test, one LocalStack and one deployment for every case: starting and
//! deploying dominate the run time. Every case uploads through S3 and waits
//! for the execution the bucket's event started; none calls StartExecution.
//! There is no skipping: without Docker or an image the test fails and says
//! how to fix it. Last, the web console is driven in headless Chromium
//! against the same deployment (`browser/`).

mod browser;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use aws_config::SdkConfig;
use serde_json::{Value, json};
use xtask::build::{self, Arch};
use xtask::deploy::{self, Deployment};
use xtask::localstack::{self, LocalStack};
use xtask::observe::{self, Executions, Upload};

const TIMEOUT: Duration = Duration::from_secs(120);

struct Env {
    config: SdkConfig,
    s3: aws_sdk_s3::Client,
    sfn: aws_sdk_sfn::Client,
    bucket: String,
    table: String,
    state_machine: String,
    deployment: Deployment,
}

fn images() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("images")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = images().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
}

impl Env {
    async fn new(localstack: &LocalStack) -> Result<Env> {
        let functions = build::run(build::Args {
            arm64: false,
            packages: Vec::new(),
        })?;
        let config = localstack.target().sdk_config().await;
        let deployment =
            deploy::deploy(&config, "photopipe-test", &functions, Arch::X86_64, None).await?;
        let output = |key: &str| deployment.output(key).map(str::to_owned);
        Ok(Env {
            s3: deploy::s3_client(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            bucket: output(infra::stack::outputs::PHOTO_BUCKET)?,
            table: output(infra::stack::outputs::METADATA_TABLE)?,
            state_machine: output(infra::stack::outputs::STATE_MACHINE)?,
            config,
            deployment,
        })
    }

    async fn upload(&self, key: &str, bytes: Vec<u8>) -> Result<Upload> {
        let put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .map_err(deploy::explain)
            .with_context(|| format!("failed to upload {key}"))?;
        Ok(Upload::new(&self.bucket, key, &put))
    }

    fn executions(&self) -> Executions {
        Executions::new(self.sfn.clone(), &self.state_machine)
    }

    /// Waits for the execution of `key` and returns everything it left behind,
    /// normalised for a snapshot.
    async fn outcome(&self, upload: &Upload) -> Result<Value> {
        let key = upload.key.as_str();
        let execution = self.executions().wait(upload, TIMEOUT).await?;
        let branches = observe::branches(&infra::pipeline::definition());
        let mut history = observe::normalise(
            &observe::history(&self.sfn, &execution.arn).await?,
            &|state| branches.get(state).copied(),
            &self.bucket,
        );
        let mut item = observe::item(
            &aws_sdk_dynamodb::Client::new(&self.config),
            &self.table,
            key,
        )
        .await?
        .map(|i| observe::redact(i, &self.bucket));
        if !execution.succeeded() && observe::path(&history).iter().any(|s| s == "ProcessImage") {
            // When one branch of ProcessImage fails, how far the other got is
            // a race: keep only what is certain.
            let failed_branch = history
                .iter()
                .find(|e| e.error.is_some())
                .and_then(|e| e.state.as_deref())
                .and_then(|s| branches.get(s).copied());
            history.retain(|e| {
                let branch = e.state.as_deref().and_then(|s| branches.get(s).copied());
                branch.is_none() || branch == failed_branch
            });
            if let Some(Value::Object(item)) = item.as_mut() {
                item.shift_remove("labels");
                item.shift_remove("thumbnail");
            }
        }
        Ok(json!({
            "status": execution.status.as_str(),
            "error": execution.error,
            "cause": execution.cause.map(|c| observe::redact_json(&c, &self.bucket)),
            "path": observe::path(&history),
            "item": item,
            "thumbnail": self.thumbnail(key).await?,
            "history": history,
        }))
    }

    /// The thumbnail written for `key`, as the image library reads it back.
    async fn thumbnail(&self, key: &str) -> Result<Value> {
        let thumbnail_key = photopipe_shared::thumbnail_key(key);
        let Ok(object) = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&thumbnail_key)
            .send()
            .await
        else {
            return Ok(Value::Null);
        };
        let content_type = object.content_type().map(str::to_owned);
        let bytes = object
            .body
            .collect()
            .await
            .context("failed to read the thumbnail")?
            .into_bytes();
        let meta = imaging::metadata(&bytes)
            .map_err(|e| anyhow::anyhow!("the thumbnail is unreadable: {e}"))?;
        Ok(json!({
            "key": thumbnail_key,
            "contentType": content_type,
            "format": meta.format,
            "width": meta.width,
            "height": meta.height,
        }))
    }

    async fn physical_id(&self, logical_id: &str) -> Result<String> {
        deploy::physical_id(&self.config, &self.deployment.stack_name, logical_id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_end_to_end() -> Result<()> {
    let image = localstack::select_image()?;
    let localstack = LocalStack::start(image).await?;
    let result = cases(&localstack).await;
    if result.is_err() {
        eprintln!("--- LocalStack log ---\n{}", localstack.logs().await);
    }
    result
}

async fn cases(localstack: &LocalStack) -> Result<()> {
    let env = Env::new(localstack).await?;
    let mut uploaded = Vec::new();

    // Each simple case: one upload, its execution, its snapshot.
    let simple = [
        (
            "jpeg_exif_gps",
            "incoming/jpeg-exif-gps.jpg",
            "jpeg-exif-gps.jpg",
        ),
        ("png_alpha", "incoming/png-alpha.png", "png-alpha.png"),
        (
            "orientation_6",
            "incoming/orientation-6.jpg",
            "orientation-6.jpg",
        ),
        ("gif_not_supported", "incoming/animated.gif", "animated.gif"),
        ("webp_not_supported", "incoming/image.webp", "image.webp"),
        ("truncated_jpeg", "incoming/truncated.jpg", "truncated.jpg"),
        ("zero_bytes", "incoming/empty.jpg", "empty.jpg"),
        (
            "key_with_spaces_unicode_and_plus",
            "incoming/holiday photos/Zürich + friends.jpg",
            "flower.jpg",
        ),
    ];
    let mut simple_uploads = Vec::new();
    for (_, key, file) in simple {
        simple_uploads.push(env.upload(key, fixture(file)).await?);
        uploaded.push(key.to_owned());
    }
    for ((name, _, _), upload) in simple.iter().zip(&simple_uploads) {
        let outcome = env
            .outcome(upload)
            .await
            .with_context(|| format!("case {name}"))?;
        insta::assert_yaml_snapshot!(*name, outcome);
    }

    // Upright thumbnails: orientation 6 stores landscape pixels for a portrait photo.
    let rotated = env.thumbnail("incoming/orientation-6.jpg").await?;
    let source =
        imaging::metadata(&fixture("orientation-6.jpg")).map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(
        source.width > source.height,
        "the orientation-6 fixture must have landscape pixels"
    );
    ensure!(
        rotated["height"].as_u64() > rotated["width"].as_u64(),
        "the thumbnail of an Orientation 6 JPEG must be portrait, got {rotated}"
    );

    duplicate_event(&env, &mut uploaded).await?;
    ten_at_once(&env, &mut uploaded).await?;
    transient_failure_is_retried(&env, &mut uploaded).await?;
    failed_starts_are_queued_and_redriven(&env, &mut uploaded).await?;
    crashing_and_hanging_functions_fail_cleanly(&env, &mut uploaded).await?;
    thumbnails_start_nothing(&env, &uploaded).await?;
    browser::console_in_a_browser(&env.config, &env.deployment, &env.s3)
        .await
        .context("the console in a browser")
}

/// S3 delivers events at least once: the same event again starts nothing.
async fn duplicate_event(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    let key = "incoming/delivered-twice.jpg";
    let upload = env.upload(key, fixture("flower.jpg")).await?;
    uploaded.push(key.to_owned());
    let first = env.executions().wait(&upload, TIMEOUT).await?;
    ensure!(first.succeeded(), "the first delivery failed: {first:?}");

    let head = env
        .s3
        .head_object()
        .bucket(&env.bucket)
        .key(key)
        .send()
        .await
        .map_err(deploy::explain)?;
    let event = json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:PHOTOPIPETEST" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": "PHOTOPIPETEST", "x-amz-id-2": "PHOTOPIPETEST" },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "photopipe-test",
            "bucket": {
                "name": env.bucket,
                "ownerIdentity": { "principalId": "PHOTOPIPETEST" },
                "arn": format!("arn:aws:s3:::{}", env.bucket),
            },
            "object": {
                "key": "incoming/delivered-twice.jpg",
                "size": head.content_length().unwrap_or_default(),
                "eTag": head.e_tag().unwrap_or_default().trim_matches('"'),
                "versionId": head.version_id().unwrap_or_default(),
                "sequencer": "0055AED6DCD90281E5",
            },
        },
    }]});
    let function = env
        .physical_id(infra::stack::START_EXECUTION.logical_id)
        .await?;
    let response = aws_sdk_lambda::Client::new(&env.config)
        .invoke()
        .function_name(&function)
        .payload(serde_json::to_vec(&event)?.into())
        .send()
        .await
        .map_err(deploy::explain)?;
    let payload: Value =
        serde_json::from_slice(response.payload().map(|p| p.as_ref()).unwrap_or_default())?;
    ensure!(
        response.function_error().is_none(),
        "the redelivered event failed: {payload}"
    );
    let executions = env.executions().for_key(key).await?;
    ensure!(
        executions.len() == 1,
        "a redelivered event started another execution: {executions:?}"
    );
    insta::assert_yaml_snapshot!(
        "duplicate_event_response",
        observe::redact(payload, &env.bucket)
    );
    Ok(())
}

/// Ten uploads at once all make it through.
async fn ten_at_once(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    let keys: Vec<String> = (1..=10)
        .map(|i| format!("incoming/batch/photo-{i:02}.jpg"))
        .collect();
    let mut puts = tokio::task::JoinSet::new();
    for key in &keys {
        let (s3, bucket, key) = (env.s3.clone(), env.bucket.clone(), key.clone());
        puts.spawn(async move {
            let put = s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(fixture("fresh-flower.jpg").into())
                .send()
                .await
                .map_err(deploy::explain)?;
            anyhow::Ok(Upload::new(&bucket, &key, &put))
        });
    }
    let mut uploads = Vec::new();
    while let Some(result) = puts.join_next().await {
        uploads.push(result??);
    }
    uploads.sort_by(|a, b| a.key.cmp(&b.key));
    uploaded.extend(keys.iter().cloned());
    let statuses: Vec<Value> = env
        .executions()
        .wait_all(&uploads, TIMEOUT)
        .await?
        .into_iter()
        .map(|e| json!({ "key": e.key, "status": e.status.as_str(), "error": e.error }))
        .collect();
    insta::assert_yaml_snapshot!("ten_at_once", statuses);
    Ok(())
}

/// A throttled first attempt (reserved concurrency 0) fails with
/// `Lambda.TooManyRequestsException`; once the throttle lifts, Retry succeeds.
async fn transient_failure_is_retried(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    let lambda = aws_sdk_lambda::Client::new(&env.config);
    let function = env
        .physical_id(infra::stack::EXTRACT_METADATA.logical_id)
        .await?;
    lambda
        .put_function_concurrency()
        .function_name(&function)
        .reserved_concurrent_executions(0)
        .send()
        .await
        .map_err(deploy::explain)?;
    let key = "incoming/retried.jpg";
    let upload = env.upload(key, fixture("flower.jpg")).await?;
    uploaded.push(key.to_owned());

    let executions = env.executions();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let failed_attempt = loop {
        if let Some(d) = executions.describe_upload(&upload).await? {
            let events = observe::normalise(
                &observe::history(&env.sfn, d.execution_arn()).await?,
                &|_| None,
                &env.bucket,
            );
            if let Some(failure) = events.iter().find(|e| e.error.is_some()) {
                break failure.clone();
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the throttled ExtractMetadata never failed");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    lambda
        .delete_function_concurrency()
        .function_name(&function)
        .send()
        .await
        .map_err(deploy::explain)?;

    let outcome = env.outcome(&upload).await?;
    ensure!(
        outcome["status"] == "SUCCEEDED",
        "the retry did not recover: {outcome}"
    );
    let history = outcome["history"].as_array().cloned().unwrap_or_default();
    let attempts = history
        .iter()
        .filter(|e| {
            e["state"] == "ExtractMetadata"
                && e["type"].as_str().is_some_and(|t| t.ends_with("Scheduled"))
        })
        .count();
    ensure!(
        attempts >= 2,
        "expected a retried ExtractMetadata, saw {attempts} attempt(s)"
    );
    // The number of throttled attempts depends on timing; what must hold is
    // the error, the recovery and the path.
    insta::assert_yaml_snapshot!(
        "transient_failure_is_retried",
        json!({
            "firstFailure": { "type": failed_attempt.kind, "state": failed_attempt.state, "error": failed_attempt.error },
            "status": outcome["status"],
            "path": outcome["path"],
            "thumbnail": outcome["thumbnail"],
        })
    );
    Ok(())
}

/// The start function cannot start executions (its state machine is gone):
/// Lambda retries the S3 event twice, then puts it into the start-failures
/// queue; `cargo xtask redrive` replays it once starts work again, and the
/// upload is processed exactly once.
async fn failed_starts_are_queued_and_redriven(
    env: &Env,
    uploaded: &mut Vec<String>,
) -> Result<()> {
    let lambda = aws_sdk_lambda::Client::new(&env.config);
    let sqs = aws_sdk_sqs::Client::new(&env.config);
    let queue = env
        .deployment
        .output(infra::stack::outputs::START_FAILURES_QUEUE)?;
    let function = env
        .physical_id(infra::stack::START_EXECUTION.logical_id)
        .await?;
    let configuration = lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .map_err(deploy::explain)?;
    let variables = configuration
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let set_variables = async |variables: std::collections::HashMap<String, String>| {
        lambda
            .update_function_configuration()
            .function_name(&function)
            .environment(
                aws_sdk_lambda::types::Environment::builder()
                    .set_variables(Some(variables))
                    .build(),
            )
            .send()
            .await
            .map_err(deploy::explain)?;
        wait_until_updated(&lambda, &function).await?;
        // LocalStack 4.14 stops the old version's poller of asynchronous
        // events while its 2 s long poll may still take one; that event
        // then waits out a 90 s visibility timeout (event_manager.py). The
        // poller says nothing when it is gone, so wait out its one poll.
        tokio::time::sleep(Duration::from_secs(3)).await;
        anyhow::Ok(())
    };
    let mut broken = variables.clone();
    broken.insert(
        "STATE_MACHINE_ARN".into(),
        format!("{}-missing", env.state_machine),
    );
    set_variables(broken).await?;

    let key = "incoming/started-late.jpg";
    let upload = env.upload(key, fixture("flower.jpg")).await?;
    uploaded.push(key.to_owned());
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(deploy::explain)?;
        let queued = attributes
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_default();
        if queued == 1 {
            break;
        }
        ensure!(
            queued == 0,
            "{queued} messages in the start-failures queue, expected one"
        );
        if tokio::time::Instant::now() > deadline {
            bail!("the failed start never reached the start-failures queue");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ensure!(
        env.executions().describe_upload(&upload).await?.is_none(),
        "an execution started although every start failed"
    );

    set_variables(variables).await?;
    let first = xtask::redrive::redrive(&env.config, &env.deployment).await?;
    ensure!(
        first.handled.len() == 1 && first.failed.is_empty(),
        "the redrive did not handle the queued event: {first:?}"
    );
    let execution = env.executions().wait(&upload, TIMEOUT).await?;
    ensure!(
        execution.succeeded(),
        "the redriven upload failed: {execution:?}"
    );
    let again = xtask::redrive::redrive(&env.config, &env.deployment).await?;
    ensure!(
        again.handled.is_empty() && again.failed.is_empty(),
        "a second redrive found work: {again:?}"
    );
    insta::assert_yaml_snapshot!(
        "failed_starts_are_queued_and_redriven",
        observe::redact(json!(first.handled), &env.bucket)
    );
    Ok(())
}

/// A thumbnail function that crashes (its process exits) or hangs past its
/// timeout: the execution fails with Lambda's error name, the table records
/// the failure, and no thumbnail is written. The function's real code and
/// timeout are put back afterwards.
async fn crashing_and_hanging_functions_fail_cleanly(
    env: &Env,
    uploaded: &mut Vec<String>,
) -> Result<()> {
    let lambda = aws_sdk_lambda::Client::new(&env.config);
    let function = env.physical_id(infra::stack::THUMBNAIL.logical_id).await?;
    let original = lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .map_err(deploy::explain)?;
    let real_code = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/lambda-zips/x86_64/thumbnail.zip"),
    )
    .context("the thumbnail zip `cargo xtask build` made")?;
    let set_code = async |zip: Vec<u8>| {
        lambda
            .update_function_code()
            .function_name(&function)
            .zip_file(zip.into())
            .send()
            .await
            .map_err(deploy::explain)?;
        wait_until_serving(&lambda, &function).await
    };
    let set_timeout = async |seconds: i32| {
        lambda
            .update_function_configuration()
            .function_name(&function)
            .timeout(seconds)
            .send()
            .await
            .map_err(deploy::explain)?;
        wait_until_serving(&lambda, &function).await
    };

    let mut outcomes = serde_json::Map::new();
    let faults = [
        (
            "crash",
            "#!/bin/sh\necho 'thumbnail: crashing on purpose' >&2\nexit 3\n",
            None,
        ),
        // Takes an invocation from the Runtime API (bash's /dev/tcp, no curl
        // needed), then never answers it.
        ("hang", HANG, Some(2)),
    ];
    for (fault, script, timeout) in faults {
        // The timeout first: waiting for the new code to serve calls it once.
        if let Some(seconds) = timeout {
            set_timeout(seconds).await?;
        }
        set_code(build::zip_bootstrap(script.as_bytes())?).await?;
        let key = format!("incoming/thumbnail-{fault}.jpg");
        let upload = env.upload(&key, fixture("flower.jpg")).await?;
        uploaded.push(key.clone());
        let outcome = env.outcome(&upload).await?;
        ensure!(
            outcome["thumbnail"].is_null(),
            "a {fault} left a thumbnail: {outcome}"
        );
        ensure!(
            outcome["item"]["status"] == infra::pipeline::status::FAILED,
            "a {fault} was not recorded as failed: {outcome}"
        );
        outcomes.insert(
            fault.to_owned(),
            json!({
                "status": outcome["status"],
                "error": outcome["error"],
                "path": outcome["path"],
                "itemStatus": outcome["item"]["status"],
                "itemError": outcome["item"]["error"],
            }),
        );
    }
    set_code(real_code).await?;
    set_timeout(original.timeout().unwrap_or(60)).await?;
    insta::assert_yaml_snapshot!("crashing_and_hanging_functions", outcomes);
    Ok(())
}

const HANG: &str = r#"#!/bin/bash
api="$AWS_LAMBDA_RUNTIME_API"
exec 3<>"/dev/tcp/${api%:*}/${api##*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n' "$api" >&3
sleep 600
"#;

/// Waits until the updated function itself answers an invocation. LocalStack
/// reports an update done while the old version, shutting down, still takes
/// invocations and fails them with `ServiceException`.
async fn wait_until_serving(lambda: &aws_sdk_lambda::Client, function: &str) -> Result<()> {
    wait_until_updated(lambda, function).await?;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        // `{}` is no event the thumbnail function handles: any answer of its
        // own, an error included, shows the new version is serving.
        match lambda
            .invoke()
            .function_name(function)
            .payload(b"{}".to_vec().into())
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_service_exception())
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(deploy::explain(e)).context("the updated function does not answer");
            }
        }
    }
}

/// Waits until Lambda has applied a configuration update.
async fn wait_until_updated(lambda: &aws_sdk_lambda::Client, function: &str) -> Result<()> {
    use aws_sdk_lambda::types::LastUpdateStatus;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let configuration = lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(deploy::explain)?;
        match configuration.last_update_status() {
            None | Some(LastUpdateStatus::Successful) => return Ok(()),
            Some(LastUpdateStatus::Failed) => bail!(
                "updating {function} failed: {}",
                configuration
                    .last_update_status_reason()
                    .unwrap_or_default()
            ),
            _ if tokio::time::Instant::now() > deadline => {
                bail!("{function} did not finish updating")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Writing thumbnails under `thumbnails/` never starts an execution: every
/// execution belongs to one upload under `incoming/`.
async fn thumbnails_start_nothing(env: &Env, uploaded: &[String]) -> Result<()> {
    let thumbnails = env
        .s3
        .list_objects_v2()
        .bucket(&env.bucket)
        .prefix(photopipe_shared::THUMBNAIL_PREFIX)
        .send()
        .await
        .map_err(deploy::explain)?;
    ensure!(
        thumbnails.key_count().unwrap_or_default() > 0,
        "no thumbnails were written"
    );
    let mut executions = env.executions();
    let mut total = 0;
    for key in uploaded {
        let found = executions.for_key(key).await?;
        ensure!(found.len() == 1, "{key} has {} executions", found.len());
        total += found.len();
    }
    let all = env
        .sfn
        .list_executions()
        .state_machine_arn(&env.state_machine)
        .send()
        .await
        .map_err(deploy::explain)?;
    ensure!(
        all.executions().len() == total,
        "{} executions for {total} uploads: something other than an upload started one",
        all.executions().len()
    );
    Ok(())
}
