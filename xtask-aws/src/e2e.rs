//! `cargo xtask e2e`: the main job. Builds the functions, starts LocalStack,
//! deploys the stack, uploads images under `incoming/`, waits for every
//! execution their S3 events start, and reports what each one did.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use photopipe_shared::table::{ImageItem, StoredThumbnail};
use photopipe_shared::{INCOMING_PREFIX, Thumbnail};
use serde::Serialize;

use crate::deploy::{self, Deployment, explain};
use crate::engine::{self, Engine};
use crate::observe::{self, Execution, Executions, Upload};
use xtask::build;
use xtask::cli::{E2eArgs, Stack, UploadArgs};
use xtask::project_root;

/// What the pipeline should do with an image, predicted by running the
/// functions' own library code on it locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome", content = "error")]
pub enum Expected {
    Success,
    Failure(String),
}

/// What happened to one image.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReport {
    pub file: String,
    pub key: String,
    pub expected: Expected,
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub path: Vec<String>,
    pub duration_ms: Option<u64>,
    pub format: Option<String>,
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub labels: Vec<String>,
    pub thumbnail: Option<StoredThumbnail>,
    /// How many events the execution's history holds.
    pub events: usize,
}

impl ImageReport {
    pub fn as_expected(&self) -> bool {
        ends_as(&self.expected, &self.status, self.error.as_deref())
    }
}

/// Whether an execution that ended with `status` and `error` did as predicted.
fn ends_as(expected: &Expected, status: &str, error: Option<&str>) -> bool {
    match expected {
        Expected::Success => status == "SUCCEEDED",
        Expected::Failure(name) => status == "FAILED" && error == Some(name),
    }
}

pub fn matches(expected: &Expected, execution: &Execution) -> bool {
    ends_as(
        expected,
        execution.status.as_str(),
        execution.error.as_deref(),
    )
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    engine: Engine,
    /// The engine's image or version.
    engine_description: &'a str,
    /// The same, for LocalStack runs, as earlier reports named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    localstack_image: Option<&'a str>,
    labels_source: &'static str,
    stack: &'a str,
    images: &'a [ImageReport],
}

pub fn run(args: E2eArgs) -> Result<()> {
    let files = sample_files(args.images.as_deref())?;
    let reports = on_local_deployment(&args.stack, args.engine, async |local| {
        let reports = process(&local.config, &local.deployment, &files).await?;
        let report = Report {
            engine: local.engine,
            engine_description: &local.description,
            localstack_image: (local.engine == Engine::Localstack).then_some(&*local.description),
            labels_source: local.labels_source,
            stack: &local.deployment.stack_name,
            images: &reports,
        };
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).context("failed to render the report")?
            );
        } else {
            print_table(&report);
        }
        Ok(reports)
    })?;
    let unexpected: Vec<&ImageReport> = reports.iter().filter(|r| !r.as_expected()).collect();
    if !unexpected.is_empty() {
        let names: Vec<String> = unexpected
            .iter()
            .map(|r| {
                format!(
                    "{} (expected {:?}, got {} {})",
                    r.file,
                    r.expected,
                    r.status,
                    r.error.clone().unwrap_or_default()
                )
            })
            .collect();
        bail!(
            "the pipeline did not do what was expected with: {}",
            names.join(", ")
        );
    }
    Ok(())
}

/// A fresh local engine with the stack deployed on it.
#[derive(Debug)]
pub struct Local {
    pub config: SdkConfig,
    pub deployment: Deployment,
    pub engine: Engine,
    /// The engine's image or version, as the report names it.
    pub description: String,
    pub labels_source: &'static str,
}

/// Builds the functions, starts `engine`, deploys `stack` and runs `work`
/// on it; when `work` fails, the engine's log goes to stderr with the error.
pub fn on_local_deployment<T>(
    stack: &Stack,
    engine: Engine,
    work: impl AsyncFnOnce(&Local) -> Result<T>,
) -> Result<T> {
    let functions = build::run(build::Args {
        arm64: false,
        packages: Vec::new(),
    })?;
    let prepared = engine::prepare(engine)?;
    deploy::runtime()?.block_on(async {
        let running = prepared.start().await?;
        let config = deploy::sdk_config(&running.target()).await;
        let settings = deploy::Settings::for_stage(&stack.stage);
        let deployment = deploy::deploy(&config, &stack.name(), &functions, &settings).await?;
        running.prepare_deployment(&config, &deployment).await?;
        let local = Local {
            config,
            deployment,
            engine,
            description: running.describe(),
            labels_source: running.labels_source(),
        };
        // Interrupted, the engine is stopped all the same: by dropping it.
        let result = tokio::select! {
            result = work(&local) => result.and_then(|value| running.check().map(|()| value)),
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; stopping {}", local.engine)),
        };
        if result.is_err() {
            eprintln!("{}", running.logs().await);
        }
        result
    })
}

/// The files of `dir`, or the samples in integration-tests/images.
pub fn sample_files(dir: Option<&Path>) -> Result<Vec<PathBuf>> {
    match dir {
        Some(dir) => image_files(dir),
        None => image_files(&project_root().join("integration-tests/images")),
    }
}

pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("failed to read the image directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} holds no images", dir.display());
    }
    Ok(files)
}

/// The outcome predicted for `bytes`: the state machine's own definition run
/// in the simulator, on what the functions' library code makes of them.
pub fn expected(bytes: &[u8]) -> Expected {
    let key = format!("{INCOMING_PREFIX}image");
    let bucket = "photos";
    let image = bytes.to_vec();
    let thumbnail = move || {
        let options = imaging::ThumbnailOptions::default();
        let made = imaging::make_thumbnail(&image, &options)?;
        Ok(Thumbnail {
            bucket: bucket.to_owned(),
            key: photopipe_shared::thumbnail_key(&key),
            width: made.width,
            height: made.height,
            size: made.bytes.len() as u64,
            content_type: made.content_type().to_owned(),
            settings: photopipe_shared::thumbnail_settings(options.size),
        })
    };
    let metadata = imaging::metadata(bytes).map_err(photopipe_shared::Failure::from);
    let mocks = infra::scenarios::pipeline_mocks(metadata, thumbnail, &[]);
    let execution = sim::Simulator::new(&mocks).run(
        &infra::pipeline::definition(),
        infra::scenarios::input(&format!("{INCOMING_PREFIX}image")),
    );
    match execution.failure {
        None => Expected::Success,
        Some(failure) => Expected::Failure(failure.error),
    }
}

/// Uploads every file and reports on the execution each upload started.
pub async fn process(
    config: &SdkConfig,
    deployment: &Deployment,
    files: &[PathBuf],
) -> Result<Vec<ImageReport>> {
    let uploads = upload(config, deployment, files).await?;
    follow(config, deployment, uploads).await
}

/// One uploaded file and what it should do.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub file: String,
    pub upload: Upload,
    pub expected: Expected,
}

/// Puts every file under `incoming/` in the stack's photo bucket.
pub async fn upload(
    config: &SdkConfig,
    deployment: &Deployment,
    files: &[PathBuf],
) -> Result<Vec<Uploaded>> {
    let s3 = deploy::s3_client(config);
    let bucket = deployment.output(infra::stack::outputs::PHOTO_BUCKET)?;
    let mut uploads = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .context("image file names must be UTF-8")?;
        let bytes =
            std::fs::read(file).with_context(|| format!("failed to read {}", file.display()))?;
        let key = format!("{INCOMING_PREFIX}{name}");
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(bytes.clone().into())
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to upload s3://{bucket}/{key}"))?;
        uploads.push(Uploaded {
            file: name.to_owned(),
            upload: Upload::new(bucket, &key, &put),
            expected: expected(&bytes),
        });
    }
    eprintln!(
        "uploaded {} images to s3://{bucket}/{INCOMING_PREFIX}",
        uploads.len()
    );
    Ok(uploads)
}

/// Waits for the execution of every upload and reports on each.
pub async fn follow(
    config: &SdkConfig,
    deployment: &Deployment,
    uploads: Vec<Uploaded>,
) -> Result<Vec<ImageReport>> {
    let observer = Observer::new(config, deployment)?;
    let all: Vec<Upload> = uploads.iter().map(|u| u.upload.clone()).collect();
    let executions = observer.executions.wait_all(&all, TIMEOUT).await?;
    let mut reports = Vec::new();
    for (uploaded, execution) in uploads.into_iter().zip(executions) {
        reports.push(
            observer
                .report(&uploaded.file, uploaded.expected, execution)
                .await?,
        );
    }
    Ok(reports)
}

/// `cargo xtask upload`: the images into a deployed stack, and with
/// `--follow` what became of each.
pub fn run_upload(args: UploadArgs) -> Result<()> {
    deploy::runtime()?.block_on(async {
        let config = deploy::sdk_config(&args.target).await;
        let deployment = deploy::deployed(&config, &args.stack.name()).await?;
        let uploads = upload(&config, &deployment, &args.images).await?;
        if !args.follow {
            let keys: Vec<&str> = uploads.iter().map(|u| u.upload.key.as_str()).collect();
            if args.json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                keys.iter().for_each(|key| println!("{key}"));
            }
            return Ok(());
        }
        let reports = follow(&config, &deployment, uploads).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        } else {
            print_images(&reports);
        }
        Ok(())
    })
}

/// How long an execution may take before e2e gives up on it.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// What reports need to read back what the pipeline left behind.
#[derive(Debug)]
pub struct Observer {
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub executions: Executions,
    pub bucket: String,
    pub table: String,
    branches: BTreeMap<String, usize>,
}

impl Observer {
    pub fn new(config: &SdkConfig, deployment: &Deployment) -> Result<Observer> {
        let sfn = aws_sdk_sfn::Client::new(config);
        let state_machine = deployment.output(infra::stack::outputs::STATE_MACHINE)?;
        Ok(Observer {
            executions: Executions::new(sfn.clone(), state_machine),
            sfn,
            ddb: aws_sdk_dynamodb::Client::new(config),
            bucket: deployment
                .output(infra::stack::outputs::PHOTO_BUCKET)?
                .to_owned(),
            table: deployment
                .output(infra::stack::outputs::METADATA_TABLE)?
                .to_owned(),
            branches: infra::pipeline::definition().parallel_branches(),
        })
    }

    /// The history of an ended execution, normalised.
    pub async fn events(&self, execution: &Execution) -> Result<Vec<observe::Event>> {
        Ok(observe::normalise(
            &observe::history(&self.sfn, &execution.arn).await?,
            &|state| self.branches.get(state).copied(),
            &self.bucket,
        ))
    }

    /// Gathers what an ended execution left behind.
    pub async fn report(
        &self,
        file: &str,
        expected: Expected,
        execution: Execution,
    ) -> Result<ImageReport> {
        let events = self.events(&execution).await?;
        let item = observe::image_item(&self.ddb, &self.table, &execution.key).await?;
        let item = item.as_ref();
        Ok(ImageReport {
            file: file.to_owned(),
            key: execution.key.clone(),
            expected,
            status: execution.status.as_str().to_owned(),
            error: execution.error.clone(),
            cause: execution.cause.clone(),
            path: observe::path(&events),
            duration_ms: execution
                .duration()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            format: item.and_then(|i| i.format.clone()),
            width: item.and_then(|i| i.width).map(u64::from),
            height: item.and_then(|i| i.height).map(u64::from),
            labels: item.map(ImageItem::labels).unwrap_or_default(),
            thumbnail: item.and_then(|i| i.thumbnail.clone()),
            events: events.len(),
        })
    }
}

fn print_table(report: &Report<'_>) {
    println!("engine: {} ({})", report.engine, report.engine_description);
    println!("labels: {}", report.labels_source);
    println!();
    print_images(report.images);
}

/// One row per image, with its path through the state machine.
fn print_images(images: &[ImageReport]) {
    println!(
        "{:<28} {:<10} {:<26} {:>9}  {:<6} {:>11}  {:<30} THUMBNAIL",
        "IMAGE", "STATUS", "ERROR", "DURATION", "FORMAT", "DIMENSIONS", "LABELS"
    );
    for r in images {
        let mark = if r.as_expected() { " " } else { "!" };
        let dims = r
            .width
            .zip(r.height)
            .map(|(w, h)| format!("{w}x{h}"))
            .unwrap_or_default();
        let thumb = r
            .thumbnail
            .as_ref()
            .map(|t| format!("{}x{} {} B", t.width, t.height, t.size))
            .unwrap_or_default();
        let duration = r
            .duration_ms
            .map(|d| format!("{:.2} s", d as f64 / 1000.0))
            .unwrap_or_default();
        let mut labels = r.labels.join(", ");
        if labels.len() > 30 {
            labels.truncate(27);
            labels.push_str("...");
        }
        println!(
            "{mark}{:<27} {:<10} {:<26} {:>9}  {:<6} {:>11}  {:<30} {}",
            r.file,
            r.status,
            r.error.clone().unwrap_or_default(),
            duration,
            r.format.clone().unwrap_or_default(),
            dims,
            labels,
            thumb
        );
        println!("  path: {}", r.path.join(" → "));
    }
    let unexpected = images.iter().filter(|r| !r.as_expected()).count();
    println!();
    println!(
        "{} images, {} as expected{}",
        images.len(),
        images.len() - unexpected,
        if unexpected > 0 {
            " (! marks the others)"
        } else {
            ""
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_predicts_each_sample_from_what_the_functions_make_of_it() {
        let failure = |name: &str| Expected::Failure(name.to_owned());
        let predicted: BTreeMap<String, Expected> = sample_files(None)
            .expect("the samples")
            .iter()
            .map(|file| {
                let name = file
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                (
                    name,
                    expected(&std::fs::read(file).expect("a readable sample")),
                )
            })
            .collect();
        let wanted = BTreeMap::from([
            ("animated.gif", failure("NotSupportedImageType")),
            (
                "arith-progressive-cve-2017-2862.jpg",
                failure("CorruptImage"),
            ),
            ("arithmetic.jpg", Expected::Success),
            ("casio-portrait.jpg", Expected::Success),
            ("empty.jpg", failure("EmptyObject")),
            ("flower.jpg", Expected::Success),
            ("fresh-flower.jpg", Expected::Success),
            ("image.webp", failure("NotSupportedImageType")),
            ("jpeg-exif-gps.jpg", Expected::Success),
            ("orientation-6.jpg", Expected::Success),
            ("png-alpha.png", Expected::Success),
            ("truncated.jpg", failure("CorruptImage")),
        ]);
        let wanted: BTreeMap<String, Expected> =
            wanted.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(predicted, wanted);
    }
}
