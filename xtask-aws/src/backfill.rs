//! `cargo xtask backfill`: start ImageBackfill on a deployed stack and, with
//! `--follow`, watch its Map Run to the end.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_sfn::types::{ExecutionStatus, MapRunItemCounts};
use infra::backfill::BackfillInput;
use serde::Serialize;
use serde_json::Value;
use xtask::cli::BackfillArgs;

use crate::deploy::{self, Deployment};

pub fn run(args: BackfillArgs) -> Result<()> {
    deploy::runtime()?.block_on(async {
        let config = deploy::sdk_config(&args.target).await;
        let deployment = deploy::deployed(&config, &args.stack.name()).await?;
        let input = BackfillInput {
            prefix: args.prefix.clone(),
            force: args.force,
            max_concurrency: args.max_concurrency,
            tolerated_failure_percentage: args.tolerated_failure_percentage,
        };
        let execution = start(&config, &deployment, &input).await?;
        if !args.follow {
            if args.json {
                println!("{}", serde_json::json!({ "executionArn": execution }));
            } else {
                println!("{execution}");
            }
            return Ok(());
        }
        eprintln!("backfill: {execution}");
        let summary = follow(&config, &execution, draw_progress).await?;
        eprintln!();
        if args.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            print!("{summary}");
        }
        if summary.status != "SUCCEEDED" {
            bail!("the backfill ended {}", summary.status);
        }
        Ok(())
    })
}

/// Starts ImageBackfill; returns the execution's ARN.
pub async fn start(
    config: &SdkConfig,
    deployment: &Deployment,
    input: &BackfillInput,
) -> Result<String> {
    let machine = deployment.output(infra::stack::outputs::BACKFILL_STATE_MACHINE)?;
    let started = aws_sdk_sfn::Client::new(config)
        .start_execution()
        .state_machine_arn(machine)
        .input(serde_json::to_string(input)?)
        .send()
        .await
        .map_err(deploy::explain)
        .with_context(|| format!("failed to start {machine}"))?;
    Ok(started.execution_arn().to_owned())
}

/// Where the Map Run is: its item counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Items {
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub pending: i64,
    pub running: i64,
    pub timed_out: i64,
    pub aborted: i64,
}

impl From<&MapRunItemCounts> for Items {
    fn from(c: &MapRunItemCounts) -> Items {
        Items {
            total: c.total(),
            succeeded: c.succeeded(),
            failed: c.failed(),
            pending: c.pending(),
            running: c.running(),
            timed_out: c.timed_out(),
            aborted: c.aborted(),
        }
    }
}

impl Items {
    fn done(&self) -> i64 {
        self.succeeded + self.failed + self.timed_out + self.aborted
    }
}

/// How a backfill ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub execution_arn: String,
    pub status: String,
    /// Why the execution failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub map_run_arn: Option<String>,
    pub items: Items,
    /// What the items' outputs say happened to their objects, from the
    /// results the Map Run wrote (`PROCESSED`, `SKIPPED`, `REJECTED`,
    /// `NOT_AN_IMAGE_KEY`; `FAILED` for the items that failed).
    pub outcomes: BTreeMap<String, u64>,
    /// `s3://bucket/key` of the results' manifest.
    pub results: Option<String>,
    pub seconds: f64,
    pub objects_per_second: f64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.items;
        writeln!(f, "backfill {}: {}", self.status, self.execution_arn)?;
        if let Some(error) = &self.error {
            let cause = self.cause.as_deref().unwrap_or_default();
            writeln!(f, "  {error}: {cause}")?;
        }
        writeln!(
            f,
            "  items: {} in all, {} succeeded, {} failed, {} timed out, {} aborted",
            i.total, i.succeeded, i.failed, i.timed_out, i.aborted
        )?;
        for (outcome, count) in &self.outcomes {
            writeln!(f, "  {outcome:<17} {count}")?;
        }
        if let Some(results) = &self.results {
            writeln!(f, "  results: {results}")?;
        }
        writeln!(
            f,
            "  {:.1} s, {:.1} objects/s",
            self.seconds, self.objects_per_second
        )
    }
}

/// Polls the execution and its Map Run until the execution ends, calling
/// `progress` with the item counts as they change.
pub async fn follow(
    config: &SdkConfig,
    execution: &str,
    mut progress: impl FnMut(&Items),
) -> Result<Summary> {
    let sfn = aws_sdk_sfn::Client::new(config);
    let began = Instant::now();
    let mut map_run = None;
    let mut items = Items::default();
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .map_err(deploy::explain)?;
        if map_run.is_none() {
            map_run = sfn
                .list_map_runs()
                .execution_arn(execution)
                .send()
                .await
                .map_err(deploy::explain)?
                .map_runs()
                .first()
                .map(|run| run.map_run_arn().to_owned());
        }
        if let Some(arn) = &map_run {
            let run = sfn
                .describe_map_run()
                .map_run_arn(arn)
                .send()
                .await
                .map_err(deploy::explain)?;
            let now = run.item_counts().map(Items::from).unwrap_or_default();
            if now != items {
                items = now;
                progress(&items);
            }
        }
        if described.status() != &ExecutionStatus::Running {
            let seconds = began.elapsed().as_secs_f64();
            let output: Value = described
                .output()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default();
            let (results, outcomes) = match output.pointer("/ResultWriterDetails") {
                Some(details) => read_results(config, details, &items).await?,
                None => (None, BTreeMap::new()),
            };
            return Ok(Summary {
                execution_arn: execution.to_owned(),
                status: described.status().as_str().to_owned(),
                error: described.error().map(str::to_owned),
                cause: described.cause().map(str::to_owned),
                map_run_arn: map_run,
                objects_per_second: items.total as f64 / seconds.max(0.001),
                items,
                outcomes,
                results,
                seconds,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The outcomes the Map Run's result files record, from its manifest.
async fn read_results(
    config: &SdkConfig,
    details: &Value,
    items: &Items,
) -> Result<(Option<String>, BTreeMap<String, u64>)> {
    let (Some(bucket), Some(key)) = (details["Bucket"].as_str(), details["Key"].as_str()) else {
        return Ok((None, BTreeMap::new()));
    };
    let s3 = deploy::s3_client(config);
    let read = async |key: &str| -> Result<Value> {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(deploy::explain)
            .with_context(|| format!("failed to read s3://{bucket}/{key}"))?;
        let bytes = object.body.collect().await?.into_bytes();
        serde_json::from_slice(&bytes).with_context(|| format!("s3://{bucket}/{key} is not JSON"))
    };
    let manifest = read(key).await?;
    let mut outcomes = BTreeMap::new();
    for file in manifest["ResultFiles"]["SUCCEEDED"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(file_key) = file["Key"].as_str() else {
            continue;
        };
        for entry in read(file_key).await?.as_array().into_iter().flatten() {
            let output: Value = entry["Output"]
                .as_str()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default();
            let outcome = output["outcome"].as_str().unwrap_or("(no outcome)");
            *outcomes.entry(outcome.to_owned()).or_insert(0) += 1;
        }
    }
    let failed = items.failed + items.timed_out + items.aborted;
    if failed > 0 {
        outcomes.insert("FAILED".to_owned(), failed.unsigned_abs());
    }
    Ok((Some(format!("s3://{bucket}/{key}")), outcomes))
}

/// `[#####.....] 512/1000  succeeded 500  failed 12  pending 488` on stderr.
fn draw_progress(items: &Items) {
    const WIDTH: i64 = 30;
    let filled = (items.done() * WIDTH)
        .checked_div(items.total)
        .unwrap_or(0)
        .clamp(0, WIDTH);
    let bar: String = (0..WIDTH)
        .map(|i| if i < filled { '#' } else { '.' })
        .collect();
    eprint!(
        "\r[{bar}] {}/{}  succeeded {}  failed {}  pending {}  running {}   ",
        items.done(),
        items.total,
        items.succeeded,
        items.failed + items.timed_out + items.aborted,
        items.pending,
        items.running,
    );
    let _ = std::io::stderr().flush();
}
