//! `cargo xtask load`: N uploads at once into a fresh LocalStack deployment,
//! then throughput, latencies per execution and per state, the outcomes, and
//! a reconciliation that proves nothing was lost: every object under
//! `incoming/` has exactly one execution and one table item that agree, and
//! every success one thumbnail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use photopipe_shared::table::{ImageItem, Status};
use photopipe_shared::{INCOMING_PREFIX, THUMBNAIL_PREFIX, thumbnail_key};
use serde::Serialize;

use crate::deploy::{self, explain};
use crate::e2e::{self, Expected, Observer};
use crate::engine::Engine;
use crate::observe::{self, Execution, Executions, Unfinished, Upload};
use xtask::cli::{LoadArgs, Stack};

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(mut millis: Vec<u64>) -> Option<Percentiles> {
        millis.sort_unstable();
        let at =
            |q: f64| millis[((millis.len() as f64 * q).ceil() as usize).clamp(1, millis.len()) - 1];
        (!millis.is_empty()).then(|| Percentiles {
            count: millis.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub engine: Engine,
    /// The engine's image or version.
    pub engine_description: String,
    /// The same, for LocalStack runs, as earlier reports named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localstack_image: Option<String>,
    pub uploads: usize,
    /// From the first upload to the last execution's end (or to giving up).
    pub wall_seconds: f64,
    /// Executions that ended, per second of `wall_seconds`.
    pub images_per_second: f64,
    /// Upload acknowledged → execution ended.
    pub end_to_end_ms: Option<Percentiles>,
    /// Execution started → ended, as Step Functions reports it.
    pub execution_ms: Option<Percentiles>,
    pub state_ms: BTreeMap<String, Percentiles>,
    /// `SUCCEEDED`, or `FAILED <error>`, with how many ended so.
    pub outcomes: BTreeMap<String, usize>,
    /// Uploads that did not end as the functions' library code predicts.
    pub unexpected: Vec<String>,
    /// Every way the bucket, the executions and the table disagree.
    pub mismatches: Vec<String>,
    /// Uploads whose execution never ended while the run waited, and why:
    /// the engine restarted, stopped answering, or the wait timed out.
    pub lost: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_reason: Option<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.unexpected.is_empty() && self.mismatches.is_empty() && self.lost.is_empty()
    }
}

pub fn run(args: LoadArgs) -> Result<()> {
    anyhow::ensure!(args.uploads > 0, "--uploads must be at least 1");
    let files = e2e::sample_files(args.images.as_deref())?;
    let report = e2e::on_local_deployment(&Stack::of_stage("load"), args.engine, async |local| {
        load(local, &files, args.uploads).await
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("failed to render the report")?
        );
    } else {
        print_report(&report);
    }
    if !report.ok() {
        bail!(
            "{} uploads lost, {} unexpected outcomes and {} mismatches under load",
            report.lost.len(),
            report.unexpected.len(),
            report.mismatches.len()
        );
    }
    Ok(())
}

struct Sample {
    name: String,
    bytes: Vec<u8>,
    expected: Expected,
}

/// Uploads `uploads` images at once, cycling through `files`, and reports.
pub async fn load(local: &e2e::Local, files: &[PathBuf], uploads: usize) -> Result<Report> {
    let samples = read_samples(files)?;
    let observer = Observer::new(&local.config, &local.deployment)?;
    let s3 = deploy::s3_client(&local.config);
    let started = Instant::now();
    let acknowledged = upload_all(&s3, &observer.bucket, &samples, uploads).await?;
    eprintln!(
        "load: {uploads} uploads acknowledged in {:.1} s; waiting for their executions",
        started.elapsed().as_secs_f64()
    );
    let uploaded: Vec<Upload> = acknowledged.iter().map(|a| a.upload.clone()).collect();
    let timeout = e2e::TIMEOUT.max(Duration::from_secs(uploads as u64));
    let (executions, lost) = match observer.executions.wait_all(&uploaded, timeout).await {
        Ok(executions) => (executions, None),
        Err(e) => {
            let mut unfinished = e.downcast::<Unfinished>()?;
            eprintln!("load: {unfinished}");
            (std::mem::take(&mut unfinished.ended), Some(unfinished))
        }
    };
    let wall = started.elapsed();
    let mut report = Report {
        engine: local.engine,
        engine_description: local.description.clone(),
        localstack_image: (local.engine == Engine::Localstack).then(|| local.description.clone()),
        uploads,
        wall_seconds: wall.as_secs_f64(),
        images_per_second: executions.len() as f64 / wall.as_secs_f64(),
        end_to_end_ms: None,
        execution_ms: None,
        state_ms: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        unexpected: Vec::new(),
        mismatches: Vec::new(),
        lost: Vec::new(),
        lost_reason: None,
    };
    // When executions were lost, the engine that holds the histories is what failed.
    let histories = lost.is_none().then_some(&observer.sfn);
    measure(&mut report, &executions, &acknowledged, &samples, histories).await?;
    match lost {
        Some(unfinished) => {
            report.lost = unfinished.lost;
            report.lost_reason = Some(unfinished.reason);
        }
        None => report.mismatches = reconcile(&observer, &s3).await?,
    }
    Ok(report)
}

fn read_samples(files: &[PathBuf]) -> Result<Vec<Sample>> {
    files
        .iter()
        .map(|file| {
            let bytes = std::fs::read(file)
                .with_context(|| format!("failed to read {}", file.display()))?;
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .context("image file names must be UTF-8")?
                .to_owned();
            let expected = e2e::expected(&bytes);
            Ok(Sample {
                name,
                bytes,
                expected,
            })
        })
        .collect()
}

/// An upload S3 acknowledged: the `index`th, of sample `index % samples`.
struct Acknowledged {
    index: usize,
    upload: Upload,
    at: SystemTime,
}

/// Puts `uploads` objects at once, cycling through the samples; in upload order.
async fn upload_all(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    samples: &[Sample],
    uploads: usize,
) -> Result<Vec<Acknowledged>> {
    let mut puts = tokio::task::JoinSet::new();
    for index in 0..uploads {
        let sample = &samples[index % samples.len()];
        let key = format!("{INCOMING_PREFIX}load/{index:04}-{}", sample.name);
        let (s3, bucket, body) = (s3.clone(), bucket.to_owned(), sample.bytes.clone());
        puts.spawn(async move {
            let put = s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body.into())
                .send()
                .await
                .map_err(explain)
                .with_context(|| format!("failed to upload s3://{bucket}/{key}"))?;
            anyhow::Ok(Acknowledged {
                index,
                upload: Upload::new(&bucket, &key, &put),
                at: SystemTime::now(),
            })
        });
    }
    let mut done = Vec::with_capacity(uploads);
    while let Some(result) = puts.join_next().await {
        done.push(result.context("an upload task panicked")??);
    }
    done.sort_by_key(|a| a.index);
    Ok(done)
}

/// Outcomes, what was not as predicted, and the latencies (per state only
/// with `histories`).
async fn measure(
    report: &mut Report,
    executions: &[Execution],
    acknowledged: &[Acknowledged],
    samples: &[Sample],
    histories: Option<&aws_sdk_sfn::Client>,
) -> Result<()> {
    let by_key: HashMap<&str, &Acknowledged> = acknowledged
        .iter()
        .map(|a| (a.upload.key.as_str(), a))
        .collect();
    let mut end_to_end = Vec::new();
    let mut states: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for execution in executions {
        let upload = by_key[execution.key.as_str()];
        let expected = &samples[upload.index % samples.len()].expected;
        *report.outcomes.entry(outcome(execution)).or_default() += 1;
        if !e2e::matches(expected, execution) {
            report.unexpected.push(format!(
                "{}: expected {expected:?}, got {}",
                execution.key,
                outcome(execution)
            ));
        }
        if let Some(stop) = execution.stop {
            end_to_end.push(millis(stop.duration_since(upload.at).unwrap_or_default()));
        }
        if let Some(sfn) = histories {
            let history = observe::history(sfn, &execution.arn).await?;
            for (state, took) in observe::state_durations(&history) {
                states.entry(state).or_default().push(millis(took));
            }
        }
    }
    report.end_to_end_ms = Percentiles::of(end_to_end);
    report.execution_ms = Percentiles::of(
        executions
            .iter()
            .filter_map(Execution::duration)
            .map(millis)
            .collect(),
    );
    report.state_ms = states
        .into_iter()
        .filter_map(|(state, ms)| Some((state, Percentiles::of(ms)?)))
        .collect();
    Ok(())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn outcome(execution: &Execution) -> String {
    match &execution.error {
        Some(error) => format!("{} {error}", execution.status.as_str()),
        None => execution.status.as_str().to_owned(),
    }
}

/// Every disagreement between the objects under `incoming/`, the executions,
/// the table and the thumbnails. Empty when nothing was lost.
async fn reconcile(observer: &Observer, s3: &aws_sdk_s3::Client) -> Result<Vec<String>> {
    let objects = list_keys(s3, &observer.bucket, INCOMING_PREFIX).await?;
    let thumbnails: HashSet<String> = list_keys(s3, &observer.bucket, THUMBNAIL_PREFIX)
        .await?
        .into_iter()
        .collect();
    let items: HashMap<String, ImageItem> = observe::items(&observer.ddb, &observer.table)
        .await?
        .into_iter()
        .map(|item| (item.image_key.clone(), item))
        .collect();
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut statuses: HashMap<String, aws_sdk_sfn::types::ExecutionStatus> = HashMap::new();
    let mut finder = Executions::new(observer.sfn.clone(), observer.executions.state_machine());
    for (arn, status, key, _) in finder.all().await? {
        by_key.entry(key).or_default().push(arn.clone());
        statuses.insert(arn, status);
    }
    let mut mismatches = Vec::new();
    for key in &objects {
        let arns = by_key.remove(key).unwrap_or_default();
        let [arn] = arns.as_slice() else {
            mismatches.push(format!("{key}: {} executions, expected one", arns.len()));
            continue;
        };
        let succeeded = statuses[arn] == aws_sdk_sfn::types::ExecutionStatus::Succeeded;
        let Some(item_status) = items.get(key).map(|i| i.status) else {
            mismatches.push(format!("{key}: no table item"));
            continue;
        };
        let agree = match item_status {
            Status::Completed => succeeded,
            Status::Failed | Status::Rejected => !succeeded,
            Status::Processing => false,
        };
        if !agree {
            mismatches.push(format!(
                "{key}: the execution {} but the item says {}",
                statuses[arn].as_str(),
                item_status.as_str()
            ));
        }
        if succeeded && !thumbnails.contains(&thumbnail_key(key)) {
            mismatches.push(format!("{key}: succeeded without a thumbnail"));
        }
    }
    for (key, arns) in by_key {
        mismatches.push(format!(
            "{} executions for {key:?}, which is not an object under {INCOMING_PREFIX}",
            arns.len()
        ));
    }
    let objects: HashSet<&String> = objects.iter().collect();
    for key in items.keys().filter(|k| !objects.contains(k)) {
        mismatches.push(format!(
            "a table item for {key}, which is not in the bucket"
        ));
    }
    Ok(mismatches)
}

async fn list_keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(explain)
            .with_context(|| format!("failed to list s3://{bucket}/{prefix}"))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    Ok(keys)
}

fn print_report(report: &Report) {
    println!("engine: {} ({})", report.engine, report.engine_description);
    println!(
        "{} uploads, {} ended in {:.1} s: {:.2} images/s",
        report.uploads,
        report.uploads - report.lost.len(),
        report.wall_seconds,
        report.images_per_second
    );
    println!();
    print_latencies(report);
    println!();
    for (outcome, count) in &report.outcomes {
        println!("{count:>6}  {outcome}");
    }
    println!();
    if report.ok() {
        println!(
            "reconciled: every object under {INCOMING_PREFIX} has one execution and one table item that agree, every success a thumbnail; every outcome as predicted"
        );
    }
    if let Some(reason) = &report.lost_reason {
        println!(
            "! {} uploads have no outcome (nothing reconciled): {reason}",
            report.lost.len()
        );
    }
    for line in report
        .lost
        .iter()
        .map(|key| format!("lost: {key}"))
        .chain(report.unexpected.iter().cloned())
        .chain(report.mismatches.iter().cloned())
    {
        println!("! {line}");
    }
}

fn print_latencies(report: &Report) {
    if report.execution_ms.is_none() {
        println!("no execution ended: no latencies");
        return;
    }
    println!(
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>8}",
        "LATENCY (ms)", "COUNT", "P50", "P95", "P99", "MAX"
    );
    let row = |name: &str, p: &Percentiles| {
        println!(
            "{name:<28} {:>6} {:>8} {:>8} {:>8} {:>8}",
            p.count, p.p50, p.p95, p.p99, p.max
        );
    };
    if let Some(p) = &report.end_to_end_ms {
        row("upload → end", p);
    }
    if let Some(p) = &report.execution_ms {
        row("execution", p);
    }
    for (state, p) in &report.state_ms {
        row(&format!("  {state}"), p);
    }
}
