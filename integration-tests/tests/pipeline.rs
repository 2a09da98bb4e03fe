//! The whole pipeline on both engines: LocalStack (started by
//! testcontainers), the reference, and MiniStack (host processes on a
//! loopback port), the second.
//!
//! Each case is its own trial (`localstack::jpeg_exif_gps`, ...; the
//! harness is libtest-mimic, so `cargo test -p integration-tests -- NAME`
//! filters as usual), and a failure names its case while the others still
//! run. The cases of one engine share one deployment, since starting and
//! deploying dominate the run time; the engines run one after the other.
//! Each simple case's outcome (status, error, the states outside Parallel
//! branches, table item, thumbnail) is one snapshot both engines must match;
//! two cases' full histories are snapshotted too, per engine, since MiniStack
//! records fewer events (no state events inside Parallel branches). The
//! cases that need LocalStack itself (our plugin's fault injection, a
//! container restart) run on LocalStack only. Every case uploads through S3
//! and waits for the execution the bucket's event started; none calls
//! StartExecution. There is no skipping: without Docker or an image the
//! test fails and says how to fix it. The web console is driven in headless
//! Chromium against the same deployment (`browser/`).

mod browser;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use aws_config::SdkConfig;
use infra::backfill;
use libtest_mimic::{Arguments, Failed, Trial};
use photopipe_shared::table::{ImageItem, Status};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use xtask::build::{self, Arch};
use xtask_aws::deploy::{self, Deployment, Settings};
use xtask_aws::e2e::Expected;
use xtask_aws::engine::{Engine, Running};
use xtask_aws::localstack::{self, LocalStack};
use xtask_aws::ministack::MiniStack;
use xtask_aws::observe::{self, Executions, Upload};

const TIMEOUT: Duration = Duration::from_secs(120);

/// The stack every case shares: stage `test`.
const TEST_STACK: &str = "photopipe-test";

struct Env {
    config: SdkConfig,
    s3: aws_sdk_s3::Client,
    sfn: aws_sdk_sfn::Client,
    bucket: String,
    table: String,
    state_machine: String,
    deployment: Deployment,
    /// The packages deployed, for cases that change a function's code and put it back.
    functions: Vec<build::BuiltFunction>,
    engine: Engine,
    /// The engine's own address, for LocalStack's fault injection.
    endpoint: String,
}

fn images() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("images")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = images().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
}

impl Env {
    async fn new(engine: &Running) -> Result<Env> {
        let functions = build::run(build::Args {
            arm64: false,
            packages: Vec::new(),
        })?;
        let config = deploy::sdk_config(&engine.target()).await;
        let deployment = deploy::deploy(
            &config,
            TEST_STACK,
            &functions,
            &Settings::for_stage("test"),
        )
        .await?;
        engine.prepare_deployment(&config, &deployment).await?;
        let output = |key: &str| deployment.output(key).map(str::to_owned);
        Ok(Env {
            s3: deploy::s3_client(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            bucket: output(infra::stack::outputs::PHOTO_BUCKET)?,
            table: output(infra::stack::outputs::METADATA_TABLE)?,
            state_machine: output(infra::stack::outputs::STATE_MACHINE)?,
            config,
            deployment,
            functions,
            engine: engine.engine(),
            endpoint: engine.endpoint().to_owned(),
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
        let definition = infra::pipeline::definition();
        let branches = definition.parallel_branches();
        let branch_of = |state: &str| branches.get(state).copied();
        let events = observe::history(&self.sfn, &execution.arn).await?;
        let mut history = observe::normalise(&events, &branch_of, &self.bucket);
        // The simulator must do what LocalStack did, given what each task
        // answered. MiniStack records no events inside Parallel branches.
        let mut simulated = (self.engine == Engine::Localstack).then(|| {
            let replayed =
                observe::simulated(&definition, &events, &self.state_machine, &execution.arn);
            let mut simulated = observe::normalise(&replayed, &branch_of, &self.bucket);
            // When a branch fails, AWS records a …StateAborted for every state
            // still running, the failed task's too (the histories `sim replay`
            // compares with show them); LocalStack records none.
            simulated.retain(|e| !e.kind.ends_with("Aborted"));
            simulated
        });
        let mut item = observe::item(
            &aws_sdk_dynamodb::Client::new(&self.config),
            &self.table,
            key,
        )
        .await?
        .map(|i| observe::redact(i, &self.bucket));
        if !execution.succeeded() && observe::path(&history).iter().any(|s| s == "ProcessImage") {
            // When one branch of ProcessImage fails, how far the other got is
            // a race: keep only what is certain. The other branch may record
            // errors of its own as it is stopped, so the failed branch is the
            // one that failed with the execution's error.
            let failed_branch = history
                .iter()
                .filter(|e| e.error.is_some() && e.error == execution.error)
                .find_map(|e| e.state.as_deref().and_then(|s| branches.get(s).copied()));
            let certain = |e: &observe::Event| {
                let branch = e.state.as_deref().and_then(branch_of);
                branch.is_none() || branch == failed_branch
            };
            history.retain(certain);
            if let Some(simulated) = simulated.as_mut() {
                simulated.retain(certain);
            }
            if let Some(Value::Object(item)) = item.as_mut() {
                item.shift_remove("labels");
                item.shift_remove("thumbnail");
            }
        }
        if let Some(difference) = simulated.and_then(|s| observe::first_difference(&history, &s)) {
            bail!(
                "the simulator does not do what {} did with {key}: {difference}",
                self.engine
            );
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

/// The simple cases: one upload each, all uploaded at once by the first
/// that runs; each then waits for its own execution.
const SIMPLE: [(&str, &str, &str); 10] = [
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
    (
        "arithmetic_jpeg",
        "incoming/arithmetic.jpg",
        "arithmetic.jpg",
    ),
    (
        "corrupt_arithmetic_jpeg_from_a_cve",
        "incoming/cve-2017-2862.jpg",
        "arith-progressive-cve-2017-2862.jpg",
    ),
    ("zero_bytes", "incoming/empty.jpg", "empty.jpg"),
    (
        "key_with_spaces_unicode_and_plus",
        "incoming/holiday photos/Zürich + friends.jpg",
        "flower.jpg",
    ),
];

/// The simple cases whose whole history is snapshotted too: the success
/// path and a refusal. The others' outcome snapshots hold path, item,
/// thumbnail and error, and do not change with every state.
const FULL_HISTORY: [&str; 2] = ["jpeg_exif_gps", "gif_not_supported"];

/// A case: runs against one engine's deployment.
type CaseFn = for<'a> fn(&'a Deployed) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// The cases after the simple ones, in the order they run: each may leave
/// the deployment as the next expects it (the restart last, since nothing
/// of the deployment survives it), and `thumbnails_start_nothing` checks
/// what all the others uploaded.
fn cases(engine: Engine) -> Vec<(&'static str, CaseFn)> {
    let mut cases: Vec<(&'static str, CaseFn)> = vec![
        ("duplicate_event", |d| {
            Box::pin(d.recording(duplicate_event))
        }),
        ("ten_at_once", |d| Box::pin(d.recording(ten_at_once))),
    ];
    if engine == Engine::Localstack {
        cases.push(("transient_failure_is_retried", |d| {
            Box::pin(d.recording(transient_failure_is_retried))
        }));
        cases.push(("throttled_services_are_retried", |d| {
            Box::pin(d.recording(throttled_services_are_retried))
        }));
    }
    cases.extend([
        (
            "failed_starts_are_queued_and_redriven",
            (|d| Box::pin(d.recording(failed_starts_are_queued_and_redriven))) as CaseFn,
        ),
        ("versions_of_one_key", |d| {
            Box::pin(d.recording(versions_of_one_key))
        }),
        ("crashing_and_hanging_functions_fail_cleanly", |d| {
            Box::pin(d.recording(crashing_and_hanging_functions_fail_cleanly))
        }),
        ("hostile_files_end_as_the_library_says", |d| {
            Box::pin(d.recording(hostile_files_end_as_the_library_says))
        }),
        ("thumbnails_start_nothing", |d| {
            Box::pin(async { thumbnails_start_nothing(&d.env, &d.uploaded.lock().await).await })
        }),
        ("deploy_review", |d| Box::pin(deploy_review(&d.env))),
        ("upload_follow", |d| Box::pin(d.recording(upload_follow))),
        ("two_stages", |d| Box::pin(two_stages(&d.env))),
        ("sync_skips_cloudformation", |d| {
            Box::pin(d.recording(sync_skips_cloudformation))
        }),
        ("logs_of_a_function", |d| {
            Box::pin(d.recording(logs_of_a_function))
        }),
        ("console_in_a_browser", |d| {
            Box::pin(browser::console_in_a_browser(
                &d.env.config,
                &d.env.deployment,
                &d.env.s3,
                &d.running,
            ))
        }),
    ]);
    if engine == Engine::Localstack {
        // MiniStack 1.x reads neither `MaxConcurrencyPath` nor
        // `ToleratedFailurePercentagePath` (so any failed item fails its Map
        // Run) and has no `ResultWriter`.
        cases.push(("backfill_processes_what_is_there_once", |d| {
            Box::pin(d.recording(backfill_processes_what_is_there_once))
        }));
        cases.push(("a_restart_mid_run_is_reported", |d| {
            Box::pin(async {
                let Running::LocalStack(localstack) = &d.running else {
                    bail!("the restart case runs on LocalStack only");
                };
                a_restart_mid_run_is_reported(&d.env, localstack).await
            })
        }));
    }
    cases
}

/// One engine with the stack deployed, shared by that engine's cases.
struct Deployed {
    running: Running,
    env: Env,
    /// The key of every upload so far, a key uploaded twice twice.
    uploaded: tokio::sync::Mutex<Vec<String>>,
    simple: tokio::sync::OnceCell<Vec<Upload>>,
}

impl Deployed {
    async fn start(engine: Engine) -> Result<Deployed> {
        let running = match engine {
            Engine::Localstack => Running::LocalStack(Box::new(
                LocalStack::start(localstack::select_image()?).await?,
            )),
            Engine::Ministack => Running::MiniStack(MiniStack::start().await?),
        };
        let env = match Env::new(&running).await {
            Ok(env) => env,
            Err(e) => {
                eprintln!("--- {engine} log ---\n{}", running.logs().await);
                return Err(e);
            }
        };
        Ok(Deployed {
            running,
            env,
            uploaded: tokio::sync::Mutex::new(Vec::new()),
            simple: tokio::sync::OnceCell::new(),
        })
    }

    /// Runs `case`, which records the key of every upload it makes.
    async fn recording(
        &self,
        case: impl AsyncFnOnce(&Env, &mut Vec<String>) -> Result<()>,
    ) -> Result<()> {
        case(&self.env, &mut *self.uploaded.lock().await).await
    }

    /// The upload of simple case `name`, all of them uploaded on first use.
    async fn simple_upload(&self, name: &str) -> Result<Upload> {
        let uploads = self
            .simple
            .get_or_try_init(|| async {
                let mut uploads = Vec::new();
                for (_, key, file) in SIMPLE {
                    uploads.push(self.env.upload(key, fixture(file)).await?);
                    self.uploaded.lock().await.push(key.to_owned());
                }
                anyhow::Ok(uploads)
            })
            .await?;
        let i = SIMPLE
            .iter()
            .position(|(case, _, _)| *case == name)
            .with_context(|| format!("no simple case {name}"))?;
        Ok(uploads[i].clone())
    }
}

/// Each engine's cases as trials. The cases of one engine share its
/// deployment and run in order, one at a time: the machine has two cores,
/// and some cases change the functions for the next one to restore.
/// An engine starts with its first selected case and stops before the next
/// engine starts.
struct Harness {
    runtime: tokio::runtime::Runtime,
    current: std::sync::Mutex<Option<Current>>,
}

/// The engine started last, or why it did not start.
struct Current {
    engine: Engine,
    deployed: Result<Arc<Deployed>, String>,
}

impl Harness {
    fn run(
        &self,
        engine: Engine,
        case: impl AsyncFnOnce(&Deployed) -> Result<()>,
    ) -> Result<(), Failed> {
        self.runtime.block_on(async {
            let deployed = self.deployed(engine).await.map_err(Failed::from)?;
            // After every case: MiniStack's function processes and their
            // runtime API servers come and go, and none may have listened
            // beyond loopback.
            let result = case(&deployed)
                .await
                .and_then(|()| deployed.running.check());
            if let Err(e) = &result {
                eprintln!("--- {engine} log ---\n{}", deployed.running.logs().await);
                return Err(Failed::from(format!("{e:?}")));
            }
            Ok(())
        })
    }

    async fn deployed(&self, engine: Engine) -> Result<Arc<Deployed>, String> {
        let previous = {
            let mut slot = self.current.lock().expect("trials run one at a time");
            match &*slot {
                Some(current) if current.engine == engine => return current.deployed.clone(),
                _ => slot.take(),
            }
        };
        // The previous engine stops (its container is removed) before the next starts.
        drop(previous);
        let deployed = Deployed::start(engine)
            .await
            .map(Arc::new)
            .map_err(|e| format!("{engine} did not start with the stack deployed: {e:?}"));
        *self.current.lock().expect("trials run one at a time") = Some(Current {
            engine,
            deployed: deployed.clone(),
        });
        deployed
    }
}

fn main() -> std::process::ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let harness = Arc::new(Harness {
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime"),
        current: std::sync::Mutex::new(None),
    });
    let mut trials = Vec::new();
    for engine in Engine::ALL {
        for (name, _, _) in SIMPLE {
            let harness = harness.clone();
            trials.push(Trial::test(format!("{engine}::{name}"), move || {
                harness.run(engine, async |d| simple_case(d, name).await)
            }));
        }
        for (name, case) in cases(engine) {
            let harness = harness.clone();
            trials.push(Trial::test(format!("{engine}::{name}"), move || {
                harness.run(engine, async |d| case(d).await)
            }));
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Containers are removed when dropped, which needs the runtime.
    let last = harness.current.lock().expect("the trials are over").take();
    harness.runtime.block_on(async { drop(last) });
    conclusion.exit_code()
}

/// A simple case: its outcome, which both engines must match, and for some
/// the whole history.
async fn simple_case(deployed: &Deployed, name: &str) -> Result<()> {
    let env = &deployed.env;
    let upload = deployed.simple_upload(name).await?;
    let outcome = env
        .outcome(&upload)
        .await
        .with_context(|| format!("case {name} on {}", env.engine))?;
    let branches = infra::pipeline::definition().parallel_branches();
    let path: Vec<String> = serde_json::from_value(outcome["path"].clone())?;
    let shared = json!({
        "status": outcome["status"],
        "error": outcome["error"],
        "cause": outcome["cause"],
        "path": observe::top_level(&path, &branches),
        "item": outcome["item"],
        "thumbnail": outcome["thumbnail"],
    });
    insta::assert_yaml_snapshot!(format!("outcome_{name}"), shared);
    if FULL_HISTORY.contains(&name) {
        match env.engine {
            Engine::Localstack => insta::assert_yaml_snapshot!(name, outcome),
            // One full MiniStack history, to see what it records.
            Engine::Ministack if name == "jpeg_exif_gps" => {
                insta::assert_yaml_snapshot!(format!("ministack_{name}"), outcome)
            }
            Engine::Ministack => {}
        }
    }
    if name == "orientation_6" {
        upright_thumbnail(env).await?;
    }
    Ok(())
}

/// `cargo xtask upload --follow` on the deployed stack, found by its name
/// as the command finds it: each image's execution waited for and reported
/// with its path, as the definition predicts.
async fn upload_follow(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("photopipe-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut files = Vec::new();
    for (name, as_name) in [("animated.gif", "follow.gif"), ("flower.jpg", "follow.jpg")] {
        let file = dir.join(as_name);
        std::fs::write(&file, fixture(name))?;
        files.push(file);
    }
    let deployment = deploy::deployed(&env.config, &env.deployment.stack_name).await?;
    let uploads = xtask_aws::e2e::upload(&env.config, &deployment, &files).await?;
    uploaded.extend(uploads.iter().map(|u| u.upload.key.clone()));
    let reports = xtask_aws::e2e::follow(&env.config, &deployment, uploads).await?;
    std::fs::remove_dir_all(&dir)?;
    let outcomes: Vec<(&str, &str, Option<&str>, &str)> = reports
        .iter()
        .map(|r| {
            let last = r.path.last().map_or("", String::as_str);
            (r.file.as_str(), r.status.as_str(), r.error.as_deref(), last)
        })
        .collect();
    ensure!(
        outcomes
            == [
                (
                    "follow.gif",
                    "FAILED",
                    Some("NotSupportedImageType"),
                    "NotSupportedImageType"
                ),
                ("follow.jpg", "SUCCEEDED", None, "MarkCompleted"),
            ]
            && reports.iter().all(|r| r.as_expected()),
        "upload --follow reported {outcomes:?}"
    );
    Ok(())
}

/// The images of the backfill case: what a bucket holds besides good
/// photos (refused formats, a truncated and an empty file, an exploit).
const BACKFILL_IMAGES: [&str; 10] = [
    "flower.jpg",
    "png-alpha.png",
    "jpeg-exif-gps.jpg",
    "orientation-6.jpg",
    "arithmetic.jpg",
    "animated.gif",
    "image.webp",
    "truncated.jpg",
    "empty.jpg",
    "arith-progressive-cve-2017-2862.jpg",
];
const BACKFILL_COPIES: usize = 20;

/// `cargo xtask backfill` over objects that were in the bucket before the
/// pipeline (uploaded with the bucket's notification off): every object
/// ends in the outcome the definition predicts, with one item that records
/// its ETag, the Map Run's results say so, and a second run skips them all.
async fn backfill_processes_what_is_there_once(
    env: &Env,
    uploaded: &mut Vec<String>,
) -> Result<()> {
    let prefix = format!("{}backfill/", photopipe_shared::INCOMING_PREFIX);
    let mut objects = Vec::new();
    for copy in 0..BACKFILL_COPIES {
        for name in BACKFILL_IMAGES {
            objects.push((format!("{prefix}{copy:02}-{name}"), name));
        }
    }
    let etags = put_without_events(env, &prefix, &objects).await?;

    let deployment = deploy::deployed(&env.config, &env.deployment.stack_name).await?;
    let input = |force| backfill::BackfillInput {
        prefix: prefix.clone(),
        force,
        max_concurrency: 10,
        tolerated_failure_percentage: 100,
    };
    let run = async |force| -> Result<xtask_aws::backfill::Summary> {
        let execution = xtask_aws::backfill::start(&env.config, &deployment, &input(force)).await?;
        xtask_aws::backfill::follow(&env.config, &execution, |_| {}).await
    };

    let first = run(false).await?;
    let expected: Vec<(&str, Expected)> = BACKFILL_IMAGES
        .iter()
        .map(|name| (*name, xtask_aws::e2e::expected(&fixture(name))))
        .collect();
    let mut predicted = BTreeMap::from([(backfill::outcome::NOT_AN_IMAGE_KEY.to_owned(), 1)]);
    for (_, outcome) in &expected {
        let name = match outcome {
            Expected::Success => backfill::outcome::PROCESSED,
            Expected::Failure(e) if e == "NotSupportedImageType" => backfill::outcome::REJECTED,
            Expected::Failure(_) => "FAILED",
        };
        *predicted.entry(name.to_owned()).or_default() += BACKFILL_COPIES as u64;
    }
    ensure!(
        first.status == "SUCCEEDED" && first.outcomes == predicted,
        "the first backfill: {first}expected outcomes {predicted:?}"
    );
    // Every object but the folder marker had its ImageProcessing execution.
    uploaded.extend(objects.iter().map(|(key, _)| key.clone()));

    let items = observe::items(&aws_sdk_dynamodb::Client::new(&env.config), &env.table).await?;
    let by_key: BTreeMap<&str, &ImageItem> = items
        .iter()
        .filter(|i| i.image_key.starts_with(&prefix))
        .map(|i| (i.image_key.as_str(), i))
        .collect();
    ensure!(
        by_key.len() == objects.len(),
        "{} objects, {} items",
        objects.len(),
        by_key.len()
    );
    for ((key, name), etag) in objects.iter().zip(&etags) {
        let item = by_key.get(key.as_str()).context("no item")?;
        let (_, outcome) = expected
            .iter()
            .find(|(n, _)| n == name)
            .context("a fixture")?;
        let status = match outcome {
            Expected::Success => Status::Completed,
            Expected::Failure(e) if e == "NotSupportedImageType" => Status::Rejected,
            Expected::Failure(_) => Status::Failed,
        };
        ensure!(
            item.status == status && item.etag.as_deref() == Some(etag.as_str()),
            "{key}: {:?} with ETag {:?}, expected {status:?} with {etag}",
            item.status,
            item.etag
        );
    }

    let second = run(false).await?;
    let all_skipped = BTreeMap::from([
        (backfill::outcome::NOT_AN_IMAGE_KEY.to_owned(), 1),
        (backfill::outcome::SKIPPED.to_owned(), objects.len() as u64),
    ]);
    ensure!(
        second.status == "SUCCEEDED" && second.outcomes == all_skipped,
        "the second backfill should skip everything: {second}"
    );
    Ok(())
}

/// Puts the objects (and a folder marker for `prefix`) with the bucket's
/// event notifications off, as in a bucket that had photos before the
/// pipeline; returns their ETags, unquoted as events give them.
async fn put_without_events(
    env: &Env,
    prefix: &str,
    objects: &[(String, &str)],
) -> Result<Vec<String>> {
    let notifications = env
        .s3
        .get_bucket_notification_configuration()
        .bucket(&env.bucket)
        .send()
        .await
        .map_err(deploy::explain)?;
    let restore = aws_sdk_s3::types::NotificationConfiguration::builder()
        .set_lambda_function_configurations(Some(
            notifications.lambda_function_configurations().to_vec(),
        ))
        .build();
    let set = async |configuration| -> Result<()> {
        env.s3
            .put_bucket_notification_configuration()
            .bucket(&env.bucket)
            .notification_configuration(configuration)
            .send()
            .await
            .map_err(deploy::explain)?;
        Ok(())
    };
    set(aws_sdk_s3::types::NotificationConfiguration::builder().build()).await?;
    let put = async |key: String, bytes: Vec<u8>| -> Result<String> {
        let out = env
            .s3
            .put_object()
            .bucket(&env.bucket)
            .key(&key)
            .body(bytes.into())
            .send()
            .await
            .map_err(deploy::explain)?;
        Ok(out.e_tag().unwrap_or_default().trim_matches('"').to_owned())
    };
    let mut etags = Vec::new();
    let mut put_all = async || -> Result<()> {
        for (key, name) in objects {
            etags.push(put(key.clone(), fixture(name)).await?);
        }
        put(prefix.to_owned(), Vec::new()).await.map(drop)
    };
    let done = put_all().await;
    set(restore).await?;
    done.map(|()| etags)
}

/// A second stage beside the test stack in the same account: its own stack
/// and bucket, and the stack's tags (the stage's, and one given) on its
/// resources; destroyed with its data afterwards.
async fn two_stages(env: &Env) -> Result<()> {
    let functions = build::run(build::Args {
        arm64: false,
        packages: Vec::new(),
    })?;
    let stage = xtask::cli::Stack::of_stage("blue");
    let mut settings = Settings::for_stage(&stage.stage);
    settings.tags.push(("team".into(), "photos".into()));
    let blue = deploy::deploy(&env.config, &stage.name(), &functions, &settings).await?;
    let bucket = blue.output(infra::stack::outputs::PHOTO_BUCKET)?;
    ensure!(
        blue.stack_name == "photopipe-blue" && bucket != env.bucket,
        "stage blue should have its own stack and bucket, got {} with {bucket}",
        blue.stack_name
    );
    let test = deploy::deployed(&env.config, TEST_STACK).await?;
    ensure!(
        test.output(infra::stack::outputs::PHOTO_BUCKET)? == env.bucket,
        "the test stage should be untouched"
    );
    let function = deploy::physical_id(&env.config, &blue.stack_name, "ThumbnailFunction").await?;
    let lambda = aws_sdk_lambda::Client::new(&env.config);
    let arn = lambda
        .get_function()
        .function_name(&function)
        .send()
        .await
        .map_err(deploy::explain)?
        .configuration()
        .and_then(|c| c.function_arn())
        .map(str::to_owned)
        .context("the function has no ARN")?;
    let tags = lambda
        .list_tags()
        .resource(&arn)
        .send()
        .await
        .map_err(deploy::explain)?
        .tags()
        .cloned()
        .unwrap_or_default();
    let tagged = |tags: &std::collections::HashMap<String, String>| {
        tags.get(deploy::STAGE_TAG).map(String::as_str) == Some("blue")
            && tags.get("team").map(String::as_str) == Some("photos")
    };
    let stack_tags: std::collections::HashMap<String, String> =
        aws_sdk_cloudformation::Client::new(&env.config)
            .describe_stacks()
            .stack_name(&blue.stack_name)
            .send()
            .await
            .map_err(deploy::explain)?
            .stacks()
            .iter()
            .flat_map(|s| s.tags())
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect();
    // CloudFormation puts a stack's tags on its resources. Of the engines,
    // MiniStack does it for functions (not buckets) and LocalStack for
    // neither: checked where the engine does it, the stack's own everywhere.
    let result = if !tagged(&stack_tags) {
        Err(anyhow::anyhow!(
            "the stack should carry its tags, got {stack_tags:?}"
        ))
    } else if env.engine == Engine::Ministack && !tagged(&tags) {
        Err(anyhow::anyhow!(
            "the stack's tags should reach its functions, got {tags:?}"
        ))
    } else {
        Ok(())
    };
    deploy::destroy(&env.config, &blue.stack_name, true).await?;
    result
}

/// `deploy --diff` and `--zips` on the deployed stack: the zips the build
/// left deploy as they are (nothing to change), a changed parameter shows
/// as a change set of modified functions that is discarded, not executed,
/// and the deployed definition is ours.
async fn deploy_review(env: &Env) -> Result<()> {
    use xtask_aws::deploy::Plan;
    let built = build::run(build::Args {
        arm64: false,
        packages: Vec::new(),
    })?;
    let dir = built
        .first()
        .and_then(|f| f.zip.parent())
        .context("the build made no zips")?;
    let names: Vec<&str> = infra::stack::LAMBDAS.iter().map(|l| l.package).collect();
    let zips = build::from_dir(dir, &names, Arch::X86_64)?;
    let stack = env.deployment.stack_name.as_str();
    let (config, zips) = (&env.config, &zips);
    let plan = |reserved| async move {
        let settings = Settings {
            reserved_concurrency: reserved,
            ..Settings::for_stage("test")
        };
        deploy::plan(config, stack, zips, &settings).await
    };
    ensure!(
        matches!(plan(None).await?, Plan::UpToDate(_)),
        "the zips that were deployed should leave nothing to change"
    );
    let Plan::Changes(pending) = plan(Some(2)).await? else {
        bail!("reserving concurrency should change the stack");
    };
    let modified: Vec<&str> = pending
        .changes
        .iter()
        .filter(|c| c.action == "Modify" && c.resource_type == "AWS::Lambda::Function")
        .map(|c| c.logical_id.as_str())
        .collect();
    ensure!(
        modified.len() == 3 && pending.changes.iter().all(|c| !c.destroys()),
        "expected the three functions modified and nothing destroyed, got {:?}",
        pending.changes
    );
    pending.discard().await?;
    ensure!(
        matches!(plan(None).await?, Plan::UpToDate(_)),
        "a discarded change set should leave the stack as it was"
    );
    let deployed = deploy::deployed_definition(&env.config, stack).await?;
    let diff = xtask_aws::review::definition_diff(deployed.as_ref(), &deploy::new_definition()?);
    ensure!(
        diff.is_empty(),
        "the deployed definition differs from ours: {diff:?}"
    );
    Ok(())
}

/// `cargo xtask sync`: the functions get the sync build's code through
/// UpdateFunctionCode, a definition changed behind the stack's back is put
/// right through UpdateStateMachine, CloudFormation is not involved, and an
/// upload runs on that code; a deploy then puts the release code back.
async fn sync_skips_cloudformation(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    use xtask_aws::sync::{self, Scope};
    let stack = env.deployment.stack_name.as_str();
    let cfn = aws_sdk_cloudformation::Client::new(&env.config);
    let last_stack_event = || async {
        let events = cfn.describe_stack_events().stack_name(stack).send().await;
        events.map_err(deploy::explain).map(|out| {
            out.stack_events()
                .first()
                .and_then(|e| e.event_id())
                .map(str::to_owned)
        })
    };
    let before = last_stack_event().await?;
    let definition = || async {
        let described = env
            .sfn
            .describe_state_machine()
            .state_machine_arn(&env.state_machine);
        let described = described.send().await.map_err(deploy::explain)?;
        anyhow::Ok(serde_json::from_str::<Value>(described.definition())?)
    };
    let ours = definition().await?;
    let mut stale = ours.clone();
    stale["Comment"] = json!("an older definition");
    env.sfn
        .update_state_machine()
        .state_machine_arn(&env.state_machine)
        .definition(stale.to_string())
        .send()
        .await
        .map_err(deploy::explain)?;

    let settings = deploy::deployed_settings(&env.config, stack).await?;
    sync::sync(&env.config, stack, &settings, Scope::Everything).await?;
    let fast = build::run_with(
        build::Args {
            arm64: false,
            packages: Vec::new(),
        },
        build::Profile::Sync,
    )?;
    let code = |functions: Vec<build::BuiltFunction>| async move {
        let lambda = aws_sdk_lambda::Client::new(&env.config);
        let mut differing = Vec::new();
        for built in &functions {
            let logical = infra::stack::LAMBDAS
                .iter()
                .find(|l| l.package == built.name);
            let logical = logical.context("a zip of no function")?.logical_id;
            let name = deploy::physical_id(&env.config, stack, logical).await?;
            let configuration = lambda.get_function_configuration().function_name(&name);
            let configuration = configuration.send().await.map_err(deploy::explain)?;
            if configuration.code_sha256() != Some(sync::code_sha256(built).as_str()) {
                differing.push(built.name.clone());
            }
        }
        anyhow::Ok(differing)
    };
    let differing = code(fast).await?;
    ensure!(
        differing.is_empty(),
        "sync left the code of {differing:?} as it was"
    );
    let synced = definition().await?;
    ensure!(
        synced == ours,
        "sync should put our definition back, got {synced}"
    );
    ensure!(
        last_stack_event().await? == before,
        "sync should leave CloudFormation alone"
    );

    let upload = env
        .upload("incoming/sync/flower.jpg", fixture("flower.jpg"))
        .await?;
    uploaded.push(upload.key.clone());
    let execution = env.executions().wait(&upload, TIMEOUT).await?;
    ensure!(execution.succeeded(), "on the synced code: {execution:?}");

    deploy::deploy(&env.config, stack, &env.functions, &settings).await?;
    let differing = code(env.functions.clone()).await?;
    ensure!(
        differing.is_empty(),
        "deploy should put the release code of {differing:?} back"
    );
    Ok(())
}

/// `cargo xtask logs thumbnail`: the function's lines for an upload, read
/// back from the log group its configuration names and shown as text.
async fn logs_of_a_function(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    let upload = env
        .upload("incoming/logs/flower.jpg", fixture("flower.jpg"))
        .await?;
    uploaded.push(upload.key.clone());
    let execution = env.executions().wait(&upload, TIMEOUT).await?;
    ensure!(
        execution.succeeded(),
        "the upload should succeed: {execution:?}"
    );
    let stack = env.deployment.stack_name.as_str();
    let group = xtask_aws::logs::log_group(&env.config, stack, "thumbnail").await?;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&env.config);
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3_600);
    let since = i64::try_from(hour_ago.duration_since(std::time::UNIX_EPOCH)?.as_millis())?;
    let mut printed = std::collections::HashSet::new();
    let mut lines = Vec::new();
    // Lambda delivers a function's lines shortly after the invocation.
    for _ in 0..30 {
        lines.extend(xtask_aws::logs::read(&logs, &group, since, &mut printed).await?);
        let wrote = lines.iter().any(|(_, l)| {
            l.contains(" INFO  wrote thumbnail bucket=")
                && l.contains(" key=incoming/logs/flower.jpg ")
                && l.contains(" thumbnail=thumbnails/logs/flower.jpg ")
        });
        if wrote && lines.iter().any(|(_, l)| l.contains(" REPORT RequestId: ")) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let last: Vec<&str> = lines
        .iter()
        .rev()
        .take(10)
        .map(|(_, l)| l.as_str())
        .collect();
    bail!(
        "expected the thumbnail function's line for the upload and Lambda's REPORT in {group}, got {} lines, the last: {last:#?}",
        lines.len()
    )
}

/// Upright thumbnails: orientation 6 stores landscape pixels for a portrait photo.
async fn upright_thumbnail(env: &Env) -> Result<()> {
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
    Ok(())
}

/// LocalStack restarts while executions run, as a crash would: waiting for
/// them ends soon, saying which uploads have no outcome and why, instead of
/// waiting out its timeout (or forever).
async fn a_restart_mid_run_is_reported(env: &Env, localstack: &LocalStack) -> Result<()> {
    let mut uploads = Vec::new();
    for i in 0..5 {
        let key = format!("incoming/restart/photo-{i}.jpg");
        uploads.push(env.upload(&key, fixture("flower.jpg")).await?);
    }
    localstack.restart()?;
    let restarted = tokio::time::Instant::now();
    let Err(error) = env.executions().wait_all(&uploads, TIMEOUT).await else {
        bail!("every execution ended although LocalStack restarted");
    };
    let waited = restarted.elapsed();
    let unfinished = error
        .downcast_ref::<observe::Unfinished>()
        .with_context(|| format!("the wait failed without saying what was lost: {error:#}"))?;
    ensure!(
        unfinished.lost.len() + unfinished.ended.len() == uploads.len()
            && !unfinished.lost.is_empty(),
        "{unfinished}"
    );
    ensure!(
        waited < observe::UNREACHABLE_AFTER + Duration::from_secs(30),
        "it took {waited:?} to notice the restart: {unfinished}"
    );
    let explained = ["no longer exist", "has not answered"]
        .iter()
        .any(|why| unfinished.reason.contains(why));
    ensure!(explained, "no reason given: {unfinished}");
    eprintln!("after the restart, in {waited:?}: {unfinished}");
    Ok(())
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

/// DynamoDB and Rekognition refuse their first two calls each with the
/// throttling errors AWS sends (injected by our LocalStack plugin): the
/// state machine's Retry backs off and the upload succeeds, with every
/// refused attempt in its history.
async fn throttled_services_are_retried(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    let rules = json!([
        { "service": "dynamodb", "operation": "PutItem",
          "error": "ProvisionedThroughputExceededException", "times": 2 },
        { "service": "rekognition", "operation": "DetectLabels",
          "error": "ThrottlingException", "times": 2 },
    ]);
    localstack::set_faults(&env.endpoint, rules).await?;
    let key = "incoming/throttled.jpg";
    let outcome = match env.upload(key, fixture("flower.jpg")).await {
        Ok(upload) => env.outcome(&upload).await,
        Err(e) => Err(e),
    };
    let injected = localstack::faults(&env.endpoint).await;
    localstack::set_faults(&env.endpoint, json!([])).await?;
    uploaded.push(key.to_owned());
    let (outcome, injected) = (outcome?, injected?);
    ensure!(
        outcome["status"] == "SUCCEEDED",
        "the retries did not recover: {outcome}"
    );
    let refused: Vec<Value> = outcome["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !e["error"].is_null())
        .map(|e| json!({ "type": e["type"], "state": e["state"], "error": e["error"] }))
        .collect();
    let counts: Vec<Value> = injected["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| json!({ "operation": r["operation"], "injected": r["injected"], "remaining": r["remaining"] }))
        .collect();
    insta::assert_yaml_snapshot!(
        "throttled_services_are_retried",
        json!({
            "status": outcome["status"],
            "path": outcome["path"],
            "refused": refused,
            "injected": counts,
            "thumbnail": outcome["thumbnail"],
        })
    );
    Ok(())
}

/// The start function, made unable to start executions and repaired again.
struct StartFunction<'a> {
    env: &'a Env,
    lambda: aws_sdk_lambda::Client,
    function: String,
    variables: std::collections::HashMap<String, String>,
}

impl<'a> StartFunction<'a> {
    async fn new(env: &'a Env) -> Result<StartFunction<'a>> {
        let lambda = aws_sdk_lambda::Client::new(&env.config);
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
        Ok(StartFunction {
            env,
            lambda,
            function,
            variables,
        })
    }

    /// Points the function at a state machine that does not exist.
    async fn break_starts(&self) -> Result<()> {
        let mut broken = self.variables.clone();
        broken.insert(
            "STATE_MACHINE_ARN".into(),
            format!("{}-missing", self.env.state_machine),
        );
        self.set_variables(broken).await
    }

    async fn repair(&self) -> Result<()> {
        self.set_variables(self.variables.clone()).await
    }

    async fn set_variables(
        &self,
        variables: std::collections::HashMap<String, String>,
    ) -> Result<()> {
        deploy::set_environment(&self.lambda, &self.function, variables).await?;
        wait_until_updated(&self.lambda, &self.function).await?;
        // LocalStack 4.14 stops the old version's poller of asynchronous
        // events while its 2 s long poll may still take one; that event
        // then waits out a 90 s visibility timeout (event_manager.py). The
        // poller says nothing when it is gone, so wait out its one poll.
        tokio::time::sleep(Duration::from_secs(3)).await;
        Ok(())
    }

    /// Waits until the start-failures queue holds `expected` messages.
    async fn wait_queued(&self, expected: u32) -> Result<()> {
        let sqs = aws_sdk_sqs::Client::new(&self.env.config);
        let queue = self
            .env
            .deployment
            .output(infra::stack::outputs::START_FAILURES_QUEUE)?;
        let count = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let attributes = sqs
                .get_queue_attributes()
                .queue_url(queue)
                .attribute_names(count.clone())
                .send()
                .await
                .map_err(deploy::explain)?;
            let queued = attributes
                .attributes()
                .and_then(|a| a.get(&count))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or_default();
            if queued == expected {
                return Ok(());
            }
            ensure!(
                queued < expected,
                "{queued} messages in the start-failures queue, expected {expected}"
            );
            if tokio::time::Instant::now() > deadline {
                bail!("{queued} of {expected} failed starts reached the start-failures queue");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The start function cannot start executions (its state machine is gone):
/// Lambda retries the S3 event twice, then puts it into the start-failures
/// queue; `cargo xtask redrive` replays it once starts work again, and the
/// upload is processed exactly once.
async fn failed_starts_are_queued_and_redriven(
    env: &Env,
    uploaded: &mut Vec<String>,
) -> Result<()> {
    let starts = StartFunction::new(env).await?;
    starts.break_starts().await?;
    let key = "incoming/started-late.jpg";
    let upload = env.upload(key, fixture("flower.jpg")).await?;
    uploaded.push(key.to_owned());
    starts.wait_queued(1).await?;
    ensure!(
        env.executions().describe_upload(&upload).await?.is_none(),
        "an execution started although every start failed"
    );

    starts.repair().await?;
    let first = xtask_aws::redrive::redrive(&env.config, &env.deployment).await?;
    ensure!(
        first.handled.len() == 1 && first.failed.is_empty(),
        "the redrive did not handle the queued event: {first:?}"
    );
    let execution = env.executions().wait(&upload, TIMEOUT).await?;
    ensure!(
        execution.succeeded(),
        "the redriven upload failed: {execution:?}"
    );
    let again = xtask_aws::redrive::redrive(&env.config, &env.deployment).await?;
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

/// Uploads of one key, with their events delivered newest first (S3
/// promises no order): the same bytes twice, new bytes over old, and an
/// upload deleted before its event arrives. Each version gets its own
/// execution; the item ends as the newest upload left it, and the older
/// ones end in `Superseded` without touching it. The events are held back
/// by breaking the start function, then taken from the start-failures
/// queue and replayed one at a time, each execution finished before the next.
async fn versions_of_one_key(env: &Env, uploaded: &mut Vec<String>) -> Result<()> {
    let (twice, replaced, deleted) = (
        "incoming/versions/twice.jpg",
        "incoming/versions/replaced.jpg",
        "incoming/versions/deleted.jpg",
    );
    let starts = StartFunction::new(env).await?;
    starts.break_starts().await?;
    let uploads = [
        (
            "twice, first",
            env.upload(twice, fixture("flower.jpg")).await?,
        ),
        (
            "twice, second",
            env.upload(twice, fixture("flower.jpg")).await?,
        ),
        (
            "replaced, old",
            env.upload(replaced, fixture("flower.jpg")).await?,
        ),
        (
            "replaced, new",
            env.upload(replaced, fixture("png-alpha.png")).await?,
        ),
        ("deleted", env.upload(deleted, fixture("flower.jpg")).await?),
    ];
    env.s3
        .delete_object()
        .bucket(&env.bucket)
        .key(deleted)
        .send()
        .await
        .map_err(deploy::explain)?;
    uploaded.extend([twice, twice, replaced, replaced, deleted].map(str::to_owned));
    starts.wait_queued(uploads.len() as u32).await?;
    starts.repair().await?;

    let queue = xtask_aws::redrive::StartFailures::new(&env.config, &env.deployment).await?;
    let mut queued = queue.receive().await?;
    ensure!(queued.len() == uploads.len(), "queued: {queued:?}");
    let object = |q: &xtask_aws::redrive::Queued, field: &str| {
        q.event["Records"][0]["s3"]["object"][field]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    queued.sort_by_key(|q| {
        std::cmp::Reverse(photopipe_shared::Sequencer::from_event(&object(
            q,
            "sequencer",
        )))
    });
    let branches = infra::pipeline::definition().parallel_branches();
    let mut outcomes = Vec::new();
    for q in &queued {
        let version = object(q, "versionId");
        let (name, upload) = uploads
            .iter()
            .find(|(_, u)| u.version_id.as_deref() == Some(version.as_str()))
            .with_context(|| format!("an event of no upload: {}", q.event))?;
        if let Err(answer) = queue.replay(q).await? {
            bail!("the start function failed on {name}: {answer}");
        }
        let execution = env.executions().wait(upload, TIMEOUT).await?;
        let history = observe::normalise(
            &observe::history(&env.sfn, &execution.arn).await?,
            &|state| branches.get(state).copied(),
            &env.bucket,
        );
        outcomes.push(json!({
            "upload": name,
            "status": execution.status.as_str(),
            "error": execution.error,
            "path": observe::top_level(&observe::path(&history), &branches),
        }));
    }

    let ddb = aws_sdk_dynamodb::Client::new(&env.config);
    let mut items = serde_json::Map::new();
    for (key, newest) in [(twice, 1), (replaced, 3), (deleted, 4)] {
        let item = observe::item(&ddb, &env.table, key)
            .await?
            .with_context(|| format!("{key} has no item"))?;
        let newest_arn = env.executions().arn_of(&uploads[newest].1)?;
        ensure!(
            item["executionArn"] == newest_arn.as_str(),
            "{key}'s item is not the newest upload's ({newest_arn}): {item}"
        );
        items.insert(
            key.to_owned(),
            json!({
                "item": observe::redact(item, &env.bucket),
                "thumbnail": env.thumbnail(key).await?,
            }),
        );
    }
    insta::assert_yaml_snapshot!(
        "versions_of_one_key",
        json!({ "newestFirst": outcomes, "final": items })
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
    let thumbnail = env
        .functions
        .iter()
        .find(|f| f.name == infra::stack::THUMBNAIL.package)
        .context("the thumbnail function was not built")?;
    let real_code = std::fs::read(&thumbnail.zip)
        .with_context(|| format!("the thumbnail zip {}", thumbnail.zip.display()))?;
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
    // The real code comes back whatever happens, so that a failure here
    // does not fail the cases after it too.
    let tried = async {
        for (fault, script, timeout) in faults {
            // The timeout first: waiting for the new code to serve calls it once.
            if let Some(seconds) = timeout {
                set_timeout(seconds).await?;
            }
            set_code(build::zip_bootstrap(script.as_bytes(), 9)?).await?;
            let key = format!("incoming/thumbnail-{fault}.jpg");
            let upload = env.upload(&key, fixture("flower.jpg")).await?;
            uploaded.push(key.clone());
            let outcome = env.outcome(&upload).await?;
            ensure!(
                outcome["thumbnail"].is_null(),
                "a {fault} left a thumbnail: {outcome}"
            );
            ensure!(
                outcome["item"]["status"] == Status::Failed.as_str(),
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
        anyhow::Ok(())
    }
    .await;
    set_code(real_code).await?;
    set_timeout(original.timeout().unwrap_or(60)).await?;
    tried?;
    // Per engine: MiniStack 1.5.33 names a bootstrap that exits
    // `Runtime.Unknown`, where AWS and LocalStack say `Runtime.ExitError`.
    let snapshot = match env.engine {
        Engine::Localstack => "crashing_and_hanging_functions",
        Engine::Ministack => "ministack_crashing_and_hanging_functions",
    };
    insta::assert_yaml_snapshot!(snapshot, outcomes);
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
/// execution belongs to one upload under `incoming/`. `uploaded` names the
/// key of every upload, a key uploaded twice twice.
/// Mutations of each JPEG and PNG fixture in the hostile run, on top of the
/// fixture itself; the library's own fuzz test runs many more.
const MUTATIONS_PER_FIXTURE: usize = 1;
const MUTATION_SEED: u64 = 0x4057_11E5;

/// Hostile files against the deployed functions, that is the zips'
/// `bootstrap` binaries as cargo-lambda built them: every fixture of
/// `imaging` (bombs, cuts in headers and in scans, arithmetic coding, 12-bit,
/// CMYK, wrong markers, broken chunks, published crashers) and a mutation of
/// each end as the library says on the host, with the same named error. A
/// process exit (`Runtime.ExitError`) is never what the library says.
async fn hostile_files_end_as_the_library_says(
    env: &Env,
    uploaded: &mut Vec<String>,
) -> Result<()> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lambdas/imaging/tests/fixtures");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let mut rng = imaging::mutate::Rng::new(MUTATION_SEED);
    let mut originals = Vec::new();
    for source in [fixtures.clone(), fixtures.join("hostile")] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&source)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        paths.retain(|p| p.is_file() && p.extension().is_some_and(|e| e != "md"));
        paths.sort();
        for path in paths {
            let name = format!(
                "hostile-{}",
                path.file_name().context("a fixture")?.to_string_lossy()
            );
            let bytes = std::fs::read(&path)?;
            std::fs::write(dir.join(&name), &bytes)?;
            originals.push(name.clone());
            let ext = path.extension().unwrap_or_default().to_string_lossy();
            if bytes.is_empty() || !(ext == "jpg" || ext == "png") {
                continue;
            }
            for i in 0..MUTATIONS_PER_FIXTURE {
                let mutated = imaging::mutate::mutate(&bytes, &mut rng);
                std::fs::write(dir.join(format!("{name}.mutation-{i}.{ext}")), mutated)?;
            }
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let reports = xtask_aws::e2e::process(&env.config, &env.deployment, &files).await?;
    uploaded.extend(reports.iter().map(|r| r.key.clone()));
    let wrong: Vec<String> = reports
        .iter()
        .filter(|r| !r.as_expected())
        .map(|r| {
            format!(
                "{}: the library says {:?}, the deployed functions {} {:?} ({:?})",
                r.file, r.expected, r.status, r.error, r.cause
            )
        })
        .collect();
    ensure!(
        wrong.is_empty(),
        "{} of {} hostile files did not end as the library says:\n{}",
        wrong.len(),
        reports.len(),
        wrong.join("\n")
    );
    // What each fixture ends as, for review when it changes.
    let outcomes: BTreeMap<&str, &str> = reports
        .iter()
        .filter(|r| originals.contains(&r.file))
        .map(|r| (r.file.as_str(), r.error.as_deref().unwrap_or(&r.status)))
        .collect();
    insta::assert_yaml_snapshot!("hostile_files", outcomes);
    Ok(())
}

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
    let mut uploads: BTreeMap<&str, usize> = Default::default();
    for key in uploaded {
        *uploads.entry(key).or_default() += 1;
    }
    let mut total = 0;
    for (key, count) in uploads {
        let found = executions.for_key(key).await?;
        ensure!(
            found.len() == count,
            "{key} has {} executions for {count} uploads",
            found.len()
        );
        total += found.len();
    }
    let mut pages = env
        .sfn
        .list_executions()
        .state_machine_arn(&env.state_machine)
        .into_paginator()
        .send();
    let mut all = 0;
    while let Some(page) = pages.next().await {
        all += page.map_err(deploy::explain)?.executions().len();
    }
    ensure!(
        all == total,
        "{all} executions for {total} uploads: something other than an upload started one"
    );
    Ok(())
}
