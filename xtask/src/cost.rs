//! `cargo xtask cost --images N`: what backfilling N photos through
//! ImageBackfill costs on AWS at list prices, and how long it takes. The
//! state transitions and service calls are counted by running both state
//! machines in the simulator, so the model follows the definitions.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;
use sim::history::{Event, Kind, Resource};
use sim::{Mocks, Response, Simulator};

/// List prices, us-east-1, from each service's pricing page (named beside
/// each) as known on the date below, not read live (docs/backfill-cost.md);
/// free tier ignored.
pub mod price {
    pub const AS_OF: &str = "2026-12-02";
    /// AWS Step Functions pricing: Standard workflows, per state transition.
    pub const TRANSITION: f64 = 0.025 / 1_000.0;
    /// AWS Lambda pricing: per request.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1_000_000.0;
    /// AWS Lambda pricing: x86, first 6 billion GB-seconds a month.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_016_666_7;
    /// Amazon Rekognition pricing: Group 1 APIs (DetectLabels), first million images a month.
    pub const DETECT_LABELS: f64 = 0.001;
    /// Amazon S3 pricing: S3 Standard, PUT, COPY, POST and LIST requests.
    pub const S3_PUT_LIST: f64 = 0.005 / 1_000.0;
    /// Amazon S3 pricing: S3 Standard, GET, SELECT and all other requests.
    pub const S3_GET: f64 = 0.0004 / 1_000.0;
    /// Amazon DynamoDB pricing: on-demand, per write request unit.
    pub const DYNAMODB_WRITE: f64 = 0.625 / 1_000_000.0;
    /// Amazon DynamoDB pricing: on-demand, per read request unit.
    pub const DYNAMODB_READ: f64 = 0.125 / 1_000_000.0;
}

/// Default quotas, us-east-1, as AWS's quota pages gave them on the same
/// date; an account's own are in its Service Quotas console.
pub mod quota {
    /// Lambda: concurrent executions per account and region.
    pub const LAMBDA_CONCURRENCY: u32 = 1_000;
    /// Step Functions: StartExecution refill rate per second (Standard), which
    /// each child's `startExecution.sync:2` draws on.
    pub const START_EXECUTION_PER_SECOND: f64 = 300.0;
}

/// Keys per `ListObjectsV2` page, which the ItemReader pays for.
const KEYS_PER_PAGE: u64 = 1_000;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Objects under the prefix.
    #[arg(long, default_value_t = 1_000_000)]
    pub images: u64,
    /// Share of them, in percent, already done: only the lookup runs.
    #[arg(long, default_value_t = 0.0)]
    pub skipped_percent: f64,
    /// extract-metadata's billed duration per invocation, ms.
    #[arg(long, default_value_t = 100.0)]
    pub extract_ms: f64,
    /// thumbnail's billed duration per invocation, ms.
    #[arg(long, default_value_t = 600.0)]
    pub thumbnail_ms: f64,
    /// Wall time of one processed image, start of its child to its end, ms.
    #[arg(long, default_value_t = 3_000.0)]
    pub image_ms: f64,
    /// The account's DetectLabels quota, transactions per second (Service
    /// Quotas; it differs between regions).
    #[arg(long, default_value_t = 50.0)]
    pub rekognition_tps: f64,
    /// The backfill's MaxConcurrency (0: the service's 10,000).
    #[arg(long, default_value_t = infra::backfill::DEFAULT_MAX_CONCURRENCY)]
    pub max_concurrency: u32,
    /// Print JSON alone on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What one object costs in transitions and calls, counted in the simulator.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// The backfill's own states, once per run.
    pub parent_transitions: u64,
    /// The processor's states for an object it hands to ImageProcessing.
    pub processed_transitions: u64,
    /// The processor's states for an object already done.
    pub skipped_transitions: u64,
    /// ImageProcessing's states on the success path, branches included.
    pub pipeline_transitions: u64,
    pub lambda_invocations: u64,
    pub detect_labels: u64,
    pub dynamodb_writes: u64,
}

/// Counts what a backfill of one new and one finished object does, and what
/// ImageProcessing does for a JPEG that goes all the way.
pub fn counts() -> Result<Counts> {
    let settings = photopipe_shared::thumbnail_settings(photopipe_shared::DEFAULT_THUMBNAIL_SIZE);
    let object = |key: &str| json!({"Key": key, "Etag": "\"e\"", "Size": 48_213});
    let listing = json!({"Contents": [object("incoming/new.jpg"), object("incoming/done.jpg")]});
    let done = json!({"Item": {"status": {"S": "COMPLETED"}, "etag": {"S": "e"},
                               "thumbnail": {"M": {"settings": {"S": settings}}}}});
    let mocks = Mocks::new()
        .reader(infra::backfill::state::BACKFILL, move |_| {
            Response::ok(listing.clone())
        })
        .resource("arn:aws:states:::dynamodb:getItem", move |call| {
            match call.parameters["Key"]["imageKey"]["S"].as_str() {
                Some("incoming/done.jpg") => Response::ok(done.clone()),
                _ => Response::ok(json!({})),
            }
        })
        .resource("arn:aws:states:::states:startExecution.sync:2", |_| {
            Response::ok(json!({"ExecutionArn": "arn:child", "Status": "SUCCEEDED"}))
        });
    let input = serde_json::to_value(infra::backfill::BackfillInput {
        prefix: photopipe_shared::INCOMING_PREFIX.to_owned(),
        force: false,
        max_concurrency: 2,
        tolerated_failure_percentage: 0,
    })?;
    let backfill = Simulator::new(&mocks).run(&infra::backfill::definition(), input);
    let children = &backfill
        .map_runs
        .first()
        .context("the backfill ran no Map Run in the simulator")?
        .executions;
    let [processed, skipped] = children.as_slice() else {
        anyhow::bail!(
            "the backfill's Map Run had {} children, not 2",
            children.len()
        );
    };

    let scenario = infra::scenarios::all()
        .into_iter()
        .find(|s| s.name == "jpeg_is_processed")
        .context("infra::scenarios has no jpeg_is_processed")?;
    let pipeline = Simulator::new(&scenario.mocks).run(
        &infra::pipeline::definition(),
        infra::scenarios::input("incoming/photo.jpg"),
    );
    let calls = |kind: &str, names: &[&str]| {
        pipeline
            .events
            .iter()
            .filter(|e| matches!(&e.kind, Kind::TaskScheduled { resource: Resource::Service { kind: k, name }, .. }
                if &**k == kind && names.contains(&&**name)))
            .count() as u64
    };
    Ok(Counts {
        parent_transitions: entered(&backfill.events),
        processed_transitions: entered(&processed.events),
        skipped_transitions: entered(&skipped.events),
        pipeline_transitions: entered(&pipeline.events),
        lambda_invocations: calls("lambda", &["invoke"]),
        detect_labels: calls("aws-sdk:rekognition", &["detectLabels"]),
        dynamodb_writes: calls("dynamodb", &["putItem", "updateItem"]),
    })
}

/// Step Functions bills each state entered; a Map Run's children each add one.
fn entered(events: &[Event]) -> u64 {
    let states = events
        .iter()
        .filter(|e| matches!(e.kind, Kind::StateEntered { .. }))
        .count();
    states as u64
}

#[derive(Debug, Serialize)]
pub struct Line {
    pub item: &'static str,
    pub quantity: f64,
    pub unit: &'static str,
    pub unit_price: f64,
    pub cost: f64,
}

#[derive(Debug, Serialize)]
pub struct Estimate {
    pub images: u64,
    pub processed: u64,
    pub skipped: u64,
    pub prices_as_of: &'static str,
    pub counts: Counts,
    pub lines: Vec<Line>,
    pub total: f64,
    /// Images per second, and what holds it there.
    pub images_per_second: f64,
    pub bound_by: &'static str,
    pub duration_hours: f64,
}

pub fn estimate(args: &Args, c: Counts) -> Estimate {
    let n = args.images;
    let skipped = (n as f64 * args.skipped_percent.clamp(0.0, 100.0) / 100.0).round() as u64;
    let processed = n - skipped;
    let (p, s) = (processed as f64, skipped as f64);
    let mut lines = Vec::new();
    let mut line = |item: &'static str, quantity: f64, unit: &'static str, unit_price: f64| {
        lines.push(Line {
            item,
            quantity,
            unit,
            unit_price,
            cost: quantity * unit_price,
        });
    };
    let transitions = c.parent_transitions as f64
        + (p + s) // one per child execution the Map Run starts
        + p * (c.processed_transitions + c.pipeline_transitions) as f64
        + s * c.skipped_transitions as f64;
    line(
        "Step Functions state transitions",
        transitions,
        "transition",
        price::TRANSITION,
    );
    let invocations = p * c.lambda_invocations as f64;
    line(
        "Lambda requests",
        invocations,
        "request",
        price::LAMBDA_REQUEST,
    );
    let gb_seconds = p
        * (gb_seconds(infra::stack::EXTRACT_METADATA, args.extract_ms)
            + gb_seconds(infra::stack::THUMBNAIL, args.thumbnail_ms));
    line(
        "Lambda compute",
        gb_seconds,
        "GB-second",
        price::LAMBDA_GB_SECOND,
    );
    line(
        "Rekognition DetectLabels",
        p * c.detect_labels as f64,
        "image",
        price::DETECT_LABELS,
    );
    // The listing's pages; one thumbnail each; the results and manifest.
    let puts = (n.div_ceil(KEYS_PER_PAGE) as f64) + p + 3.0;
    line(
        "S3 LIST and PUT requests",
        puts,
        "request",
        price::S3_PUT_LIST,
    );
    // extract-metadata's ranged GET, Rekognition's GET, thumbnail's GET and HEAD.
    line(
        "S3 GET and HEAD requests",
        4.0 * p,
        "request",
        price::S3_GET,
    );
    // The lookup reads strongly consistently: one unit per item under 4 KB.
    line(
        "DynamoDB reads (lookup)",
        n as f64,
        "read unit",
        price::DYNAMODB_READ,
    );
    // Items stay under 1 KB: one unit per write.
    let writes = p * c.dynamodb_writes as f64;
    line(
        "DynamoDB writes",
        writes,
        "write unit",
        price::DYNAMODB_WRITE,
    );
    let total = lines.iter().map(|l| l.cost).sum();

    let concurrency = match args.max_concurrency {
        0 => 10_000,
        n => n,
    };
    let bounds = [
        (
            f64::from(concurrency.min(quota::LAMBDA_CONCURRENCY)) * 1_000.0 / args.image_ms,
            "concurrency (MaxConcurrency, or Lambda's 1,000 concurrent executions)",
        ),
        (
            args.rekognition_tps / c.detect_labels.max(1) as f64,
            "Rekognition's DetectLabels quota (--rekognition-tps)",
        ),
        (
            quota::START_EXECUTION_PER_SECOND,
            "Step Functions' StartExecution rate (300 a second)",
        ),
    ];
    let (images_per_second, bound_by) = bounds
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((1.0, ""));
    Estimate {
        images: n,
        processed,
        skipped,
        prices_as_of: price::AS_OF,
        counts: c,
        lines,
        total,
        images_per_second,
        bound_by,
        duration_hours: p / images_per_second / 3_600.0,
    }
}

fn gb_seconds(lambda: infra::stack::LambdaPackage, ms: f64) -> f64 {
    f64::from(lambda.memory_size) / 1_024.0 * ms / 1_000.0
}

pub fn run(args: Args) -> Result<()> {
    eprintln!("cost: counting state transitions and calls in the simulator");
    let e = estimate(&args, counts()?);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    let c = e.counts;
    println!(
        "backfill of {} objects: {} processed, {} already done",
        e.images, e.processed, e.skipped
    );
    println!(
        "per processed object: {} processor + {} ImageProcessing transitions, {} Lambda invocations, \
         {} DynamoDB writes; per object already done: {} transitions; per run: {}",
        c.processed_transitions,
        c.pipeline_transitions,
        c.lambda_invocations,
        c.dynamodb_writes,
        c.skipped_transitions,
        c.parent_transitions
    );
    println!(
        "{:<34} {:>14} {:>12} {:>16} {:>12}",
        "item", "quantity", "unit", "unit price $", "cost $"
    );
    for l in &e.lines {
        println!(
            "{:<34} {:>14.0} {:>12} {:>16.10} {:>12.2}",
            l.item, l.quantity, l.unit, l.unit_price, l.cost
        );
    }
    println!(
        "{:<34} {:>14} {:>12} {:>16} {:>12.2}",
        "total", "", "", "", e.total
    );
    println!(
        "duration: {:.1} h at {:.0} images a second, bound by {}",
        e.duration_hours, e.images_per_second, e.bound_by
    );
    println!(
        "list prices for us-east-1 as of {}, free tier ignored; durations are assumptions \
         (--extract-ms, --thumbnail-ms, --image-ms); docs/backfill-cost.md says where each figure comes from",
        e.prices_as_of
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(images: u64, skipped_percent: f64, max_concurrency: u32) -> Args {
        Args {
            images,
            skipped_percent,
            max_concurrency,
            ..crate::default_args()
        }
    }

    #[test]
    fn the_simulator_counts_every_state_of_both_machines() {
        let c = counts().expect("the simulator counts");
        let expected = Counts {
            // Backfill, the Map state.
            parent_transitions: 1,
            // IsImageKey, LookUpItem, IsDone, ItsSequencer, ProcessImage, Processed.
            processed_transitions: 6,
            // IsImageKey, LookUpItem, IsDone, AlreadyDone.
            skipped_transitions: 4,
            // ExtractMetadata, CheckImageFormat, StoreMetadata, ProcessImage,
            // DetectLabels, StoreLabels, MakeThumbnail, StoreThumbnail, MarkCompleted.
            pipeline_transitions: 9,
            lambda_invocations: 2,
            detect_labels: 1,
            // StoreMetadata, StoreLabels, StoreThumbnail, MarkCompleted.
            dynamodb_writes: 4,
        };
        assert_eq!(c, expected, "docs/backfill-cost.md quotes these");
    }

    #[test]
    fn the_lines_add_up_and_grow_with_the_objects() {
        let c = counts().expect("the simulator counts");
        let one = estimate(&args(1, 0.0, 100), c);
        let million = estimate(&args(1_000_000, 0.0, 100), c);
        let sum: f64 = million.lines.iter().map(|l| l.cost).sum();
        assert!((sum - million.total).abs() < 1e-9);
        assert!(million.total > 900_000.0 * one.total && million.total < 1_000_000.0 * one.total);
    }

    #[test]
    fn an_object_already_done_costs_its_lookup_alone() {
        let c = counts().expect("the simulator counts");
        let done = estimate(&args(1_000_000, 100.0, 100), c);
        let lookup = 1_000_000.0
            * ((c.skipped_transitions + 1) as f64 * price::TRANSITION + price::DYNAMODB_READ);
        let listing = 1_000.0 * price::S3_PUT_LIST;
        assert!(
            (done.total - lookup - listing).abs() < 0.01,
            "{} vs {}",
            done.total,
            lookup + listing
        );
        assert_eq!(done.duration_hours, 0.0);
    }

    #[test]
    fn the_tightest_quota_sets_the_pace() {
        let c = counts().expect("the simulator counts");
        let slow = estimate(&args(1_000, 0.0, 10), c);
        assert!(
            slow.bound_by.starts_with("concurrency"),
            "{}",
            slow.bound_by
        );
        let wide = estimate(&args(1_000, 0.0, 0), c);
        assert!(
            wide.bound_by.starts_with("Rekognition"),
            "{}",
            wide.bound_by
        );
        assert_eq!(wide.images_per_second, 50.0);
    }
}
