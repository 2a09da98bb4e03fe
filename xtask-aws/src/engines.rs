//! `cargo xtask engines`: the sample set on LocalStack and on MiniStack, one
//! after the other, and per case every way the two runs disagree.
//!
//! The outcome (status, error, the states visited outside Parallel
//! branches, the table item, the thumbnail's bytes) must agree: a
//! difference there is a bug of one engine or a change that works on one
//! only, and fails the command. The history may differ: MiniStack records no
//! events inside Parallel branches and fewer events overall; those
//! differences are listed, not failed on.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::{Value, json};

use crate::e2e::{self, ImageReport, Local};
use crate::engine::Engine;
use crate::{deploy, observe};
use xtask::cli::{EnginesArgs, Stack};

/// What one engine did with one image, as compared.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub status: String,
    pub error: Option<String>,
    /// Every state entered, as the history records them.
    pub states_visited: Vec<String>,
    /// The same, outside Parallel branches: what both engines record.
    pub top_level_path: Vec<String>,
    pub item: Value,
    /// SHA-256 and size of the thumbnail's bytes.
    pub thumbnail: Option<Value>,
    pub events: usize,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    pub field: &'static str,
    /// False for what the engines legitimately record differently.
    pub outcome: bool,
    pub localstack: Value,
    pub ministack: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    pub file: String,
    pub localstack: Run,
    pub ministack: Run,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub engines: BTreeMap<&'static str, String>,
    pub labels: BTreeMap<&'static str, &'static str>,
    pub cases: Vec<Case>,
    /// Cases whose outcome differs.
    pub disagreements: usize,
}

pub fn run(args: EnginesArgs) -> Result<()> {
    let files = e2e::sample_files(args.images.as_deref())?;
    let mut runs = BTreeMap::new();
    let mut engines = BTreeMap::new();
    let mut labels = BTreeMap::new();
    let branches = infra::pipeline::definition().parallel_branches();
    for engine in Engine::ALL {
        eprintln!("engines: the sample set on {engine}");
        let (description, labels_source, results) =
            e2e::on_local_deployment(&Stack::of_stage("engines"), engine, async |local| {
                let reports = e2e::process(&local.config, &local.deployment, &files).await?;
                let mut results = Vec::new();
                for report in reports {
                    results.push(gather(local, &branches, report).await?);
                }
                Ok((local.description.clone(), local.labels_source, results))
            })?;
        engines.insert(engine.name(), description);
        labels.insert(engine.name(), labels_source);
        runs.insert(engine, results);
    }
    let cases: Vec<Case> = runs[&Engine::Localstack]
        .iter()
        .cloned()
        .zip(runs[&Engine::Ministack].iter().cloned())
        .map(|((file, localstack), (_, ministack))| Case {
            differences: compare(&localstack, &ministack),
            file,
            localstack,
            ministack,
        })
        .collect();
    let disagreements = cases
        .iter()
        .filter(|c| c.differences.iter().any(|d| d.outcome))
        .count();
    let report = Report {
        engines,
        labels,
        cases,
        disagreements,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("failed to render the report")?
        );
    } else {
        print_report(&report);
    }
    if disagreements > 0 {
        bail!("the engines disagree on the outcome of {disagreements} case(s)");
    }
    Ok(())
}

/// Reads back what one execution left behind.
async fn gather(
    local: &Local,
    branches: &BTreeMap<String, usize>,
    report: ImageReport,
) -> Result<(String, Run)> {
    let bucket = local
        .deployment
        .output(infra::stack::outputs::PHOTO_BUCKET)?;
    let table = local
        .deployment
        .output(infra::stack::outputs::METADATA_TABLE)?;
    let ddb = aws_sdk_dynamodb::Client::new(&local.config);
    let item = observe::item(&ddb, table, &report.key)
        .await?
        .map(|item| observe::redact(item, bucket))
        .unwrap_or(Value::Null);
    let s3 = deploy::s3_client(&local.config);
    let thumbnail = match s3
        .get_object()
        .bucket(bucket)
        .key(photopipe_shared::thumbnail_key(&report.key))
        .send()
        .await
    {
        Ok(object) => {
            let bytes = object
                .body
                .collect()
                .await
                .context("failed to read a thumbnail")?
                .into_bytes();
            let sha256 = xtask::build::hex_sha256(&bytes);
            Some(json!({ "sha256": sha256, "size": bytes.len() }))
        }
        Err(_) => None,
    };
    let top_level_path = observe::top_level(&report.path, branches);
    Ok((
        report.file,
        Run {
            status: report.status,
            error: report.error,
            states_visited: report.path,
            top_level_path,
            item,
            thumbnail,
            events: report.events,
            duration_ms: report.duration_ms,
        },
    ))
}

fn compare(a: &Run, b: &Run) -> Vec<Difference> {
    let mut differences = Vec::new();
    let mut check = |field, outcome, x: Value, y: Value| {
        if x != y {
            differences.push(Difference {
                field,
                outcome,
                localstack: x,
                ministack: y,
            });
        }
    };
    check("status", true, json!(a.status), json!(b.status));
    check("error", true, json!(a.error), json!(b.error));
    check(
        "path",
        true,
        json!(a.top_level_path),
        json!(b.top_level_path),
    );
    check("item", true, a.item.clone(), b.item.clone());
    check("thumbnail", true, json!(a.thumbnail), json!(b.thumbnail));
    check(
        "statesVisited",
        false,
        json!(a.states_visited),
        json!(b.states_visited),
    );
    check("events", false, json!(a.events), json!(b.events));
    differences
}

fn print_report(report: &Report) {
    for (engine, description) in &report.engines {
        println!("{engine}: {description}");
        println!("  labels: {}", report.labels[engine]);
    }
    println!();
    for case in &report.cases {
        let outcome = case.differences.iter().any(|d| d.outcome);
        let mark = if outcome { "!" } else { " " };
        println!(
            "{mark}{:<36} localstack {} {} in {} events / ministack {} {} in {} events",
            case.file,
            case.localstack.status,
            case.localstack.error.clone().unwrap_or_default(),
            case.localstack.events,
            case.ministack.status,
            case.ministack.error.clone().unwrap_or_default(),
            case.ministack.events,
        );
        for d in &case.differences {
            let kind = if d.outcome { "outcome" } else { "history" };
            println!(
                "    {kind} {}: localstack {} / ministack {}",
                d.field, d.localstack, d.ministack
            );
        }
    }
    println!();
    println!(
        "{} cases, {} agree on the outcome{}",
        report.cases.len(),
        report.cases.len() - report.disagreements,
        if report.disagreements > 0 {
            " (! marks the others)"
        } else {
            ""
        }
    );
}
