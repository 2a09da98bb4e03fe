//! Distributed Maps: a Map run whose items (from the state's input or an
//! `ItemReader` mock) are batched (`ItemBatcher`) and each run as a child
//! execution, held to the tolerated failure thresholds, with the results
//! optionally written (`ResultWriter`). The parent's history has
//! `MapRunStarted` and `MapRunSucceeded`/`MapRunFailed` instead of the
//! iterations' events; the children are on [`crate::Execution::map_runs`].

use asl::{Expr, ProcessorMode};
use serde_json::{Map, Value, json};

use crate::history::{Event, Kind, json_text};
use crate::jsonpath::Roots;
use crate::mock::Call;
use crate::run::{Run, Scope, Status, Thread};
use crate::states::Items;
use crate::{Failure, template, time};

/// One Map run of a distributed Map state.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRun {
    /// The Map state's name.
    pub state: String,
    pub arn: String,
    /// The child executions, one per item or batch, in item order.
    pub executions: Vec<ChildExecution>,
    /// What the `ResultWriter` wrote: (key, JSON content), manifest last.
    pub written: Vec<(String, Value)>,
}

/// One child execution of a Map run.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildExecution {
    pub name: String,
    pub arn: String,
    pub input: Value,
    pub status: Status,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    pub start_ms: i64,
    pub stop_ms: i64,
    /// Its own history, from `ExecutionStarted`.
    pub events: Vec<Event>,
}

/// Whether a Map runs as a distributed Map (its processor's mode, or an
/// `ItemReader`, which only a distributed Map has).
pub(crate) fn is_distributed(map: &asl::Map) -> bool {
    map.item_reader.is_some()
        || map
            .processor()
            .and_then(|p| p.processor_config.as_ref())
            .and_then(|c| c.mode)
            == Some(ProcessorMode::Distributed)
}

/// What a Map run is held to, read before it starts.
struct Limits {
    concurrency: u64,
    tolerated: (Option<u64>, Option<f64>),
    max_items: Option<f64>,
}

const READER_FAILED: &str = "States.ItemReaderFailed";

impl Run<'_> {
    /// One attempt of a distributed Map's run over `items` (the input's,
    /// unless an `ItemReader` gives them): its events, and its output.
    pub(crate) fn map_run(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        each: &Items<'_>,
        items: &[Value],
        concurrency: u64,
    ) -> Result<Value, Failure> {
        let map = each.map;
        let length = if map.item_reader.is_some() {
            0
        } else {
            items.len()
        };
        thread.push(Kind::MapStarted { length });
        // Values the run cannot start with fail the state before it starts
        // (as recorded: no MapRunStarted, and no MapStateFailed either).
        let checked = self.tolerated(scope, each).and_then(|tolerated| {
            let config = map
                .item_reader
                .as_ref()
                .and_then(|r| r.reader_config.as_ref());
            let field = |name: &str| config.and_then(|c| c.get(name));
            let max_items = self.map_number(
                scope,
                each,
                "MaxItems",
                (
                    field("MaxItems").cloned(),
                    field("MaxItemsPath").and_then(Value::as_str),
                ),
                true,
            )?;
            Ok((tolerated, max_items))
        });
        let (tolerated, max_items) = match checked {
            Ok(checked) => checked,
            Err(f) => {
                self.map_refused = true;
                return Err(f);
            }
        };
        let run_id = self.uuid();
        let machine = self.machine_name();
        let label = map.label.as_deref().unwrap_or(scope.name);
        let arn = format!("{}:mapRun:{machine}/{label}:{run_id}", self.arn_prefix());
        thread.push(Kind::MapRunStarted { arn: arn.clone() });
        let mut run = MapRun {
            state: scope.name.to_owned(),
            arn: arn.clone(),
            executions: Vec::new(),
            written: Vec::new(),
        };
        let limits = Limits {
            concurrency,
            tolerated,
            max_items,
        };
        let ended = self.run_children(thread, scope, each, items, &limits, &mut run, &run_id);
        match &ended {
            Ok(_) => thread.push(Kind::MapRunSucceeded),
            Err(f) => thread.push(Kind::MapRunFailed(f.clone())),
        };
        self.map_runs.push(run);
        let output = ended?;
        thread.push(Kind::MapSucceeded);
        Ok(output)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_children(
        &mut self,
        thread: &mut Thread,
        scope: &Scope<'_>,
        each: &Items<'_>,
        items: &[Value],
        limits: &Limits,
        run: &mut MapRun,
        run_id: &str,
    ) -> Result<Value, Failure> {
        let map = each.map;
        let concurrency = limits.concurrency;
        let read;
        let items = match &map.item_reader {
            Some(reader) => {
                read = self.read_items(scope, each, reader, limits.max_items)?;
                &read[..]
            }
            None => items,
        };
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            inputs.push(self.item_input(scope, each, index, item, thread.clock)?);
        }
        if let Some(batcher) = &map.item_batcher {
            inputs = self.batch(scope, each, batcher, inputs)?;
        }
        let processor = each.processor;
        let machine = self.machine_name();
        let label = map.label.as_deref().unwrap_or(scope.name).to_owned();
        let mut slots: Vec<i64> = Vec::new();
        let limit = usize::try_from(concurrency).unwrap_or(usize::MAX);
        let mut end = thread.clock;
        let total = inputs.len();
        for (index, input) in inputs.into_iter().enumerate() {
            let mut child = Thread::new(thread.clock);
            if concurrency > 0 && slots.len() >= limit {
                slots.sort_unstable();
                child.clock = child.clock.max(slots.remove(0));
            }
            let start_ms = child.clock;
            // Once the run has failed, no more children start.
            if exceeded_at(&run.executions, total, limits.tolerated).is_some_and(|t| t <= start_ms)
            {
                break;
            }
            let name = self.uuid();
            child.push(Kind::ExecutionStarted {
                input: json_text(&input),
                role_arn: self.role_arn(),
            });
            let map_item = json!({"Index": index, "Value": input});
            let ended = self.branch(
                &mut child,
                &processor.states,
                &processor.start_at,
                input.clone(),
                each.variables,
                Some(&map_item),
            );
            child.push(match &ended {
                Ok(output) => Kind::ExecutionSucceeded {
                    output: json_text(output),
                },
                Err(f) => Kind::ExecutionFailed(f.clone()),
            });
            slots.push(child.clock);
            end = end.max(child.clock);
            let (status, output, failure) = match ended {
                Ok(output) => (Status::Succeeded, Some(output), None),
                Err(f) => (Status::Failed, None, Some(f)),
            };
            run.executions.push(ChildExecution {
                arn: format!("{}:execution:{machine}/{label}:{name}", self.arn_prefix()),
                name,
                input,
                status,
                output,
                failure,
                start_ms,
                stop_ms: child.clock,
                events: child.events,
            });
        }
        if let Some(at) = exceeded_at(&run.executions, total, limits.tolerated) {
            // The run fails then, and stops the children still running.
            run.executions
                .iter_mut()
                .filter(|e| e.stop_ms > at)
                .for_each(|e| abort(e, at));
            thread.clock = at;
            return Err(Failure::new(
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            ));
        }
        thread.clock = end;
        match &map.result_writer {
            Some(writer) => self.write_results(scope, each, writer, run, run_id),
            None => Ok(Value::Array(
                self.shaped(Transformation::Compact, run.executions.iter()),
            )),
        }
    }

    /// A template of the Map state (`Parameters`/`Arguments` of its reader
    /// or writer, `BatchInput`) filled against its effective input.
    fn fill_map_template(
        &mut self,
        scope: &Scope<'_>,
        each: &Items<'_>,
        template: &Value,
        field: &str,
    ) -> Result<Value, Failure> {
        if each.jsonata {
            let env = crate::jsonata::Env {
                input: each.input,
                result: None,
                error_output: None,
                context: &scope.context,
                variables: each.variables,
                state: scope.name,
                entered: scope.entered,
                seed: scope.seed,
            };
            crate::jsonata::fill(template, field, &env)
        } else {
            let roots = Roots {
                input: each.input,
                context: &scope.context,
                variables: each.variables,
            };
            self.fill(template, &roots)
        }
    }

    /// A number of the Map state: a literal, a JSONata expression, or what
    /// its `…Path` reads (a number or a numeric string, as recorded), an
    /// integer where `integer` says so.
    fn map_number(
        &mut self,
        scope: &Scope<'_>,
        each: &Items<'_>,
        field: &str,
        (literal, path): (Option<Value>, Option<&str>),
        integer: bool,
    ) -> Result<Option<f64>, Failure> {
        let value = match (literal, path) {
            (Some(v), _) => self.fill_map_template(scope, each, &v, field)?,
            (None, Some(p)) => template::select(
                p,
                &Roots {
                    input: each.input,
                    context: &scope.context,
                    variables: each.variables,
                },
            )?,
            (None, None) => return Ok(None),
        };
        let number = match &value {
            Value::String(s) => s.trim().parse().ok(),
            other => other.as_f64(),
        }
        .filter(|n: &f64| !integer || n.fract() == 0.0);
        number.map(Some).ok_or_else(|| {
            let kind = if integer { "integer" } else { "float" };
            let shown = crate::states::shown(&value);
            let named = match path {
                Some(p) => format!(
                    "{field}Path field refers to value \"{shown}\" which is not a valid {kind}: {p}"
                ),
                None => {
                    format!("{field} field refers to value \"{shown}\" which is not a valid {kind}")
                }
            };
            Failure::runtime(format!("The {named}"))
        })
    }

    /// `ToleratedFailureCount` and `ToleratedFailurePercentage`; neither: 0.
    fn tolerated(
        &mut self,
        scope: &Scope<'_>,
        each: &Items<'_>,
    ) -> Result<(Option<u64>, Option<f64>), Failure> {
        let map = each.map;
        let count = self.map_number(
            scope,
            each,
            "ToleratedFailureCount",
            (
                map.tolerated_failure_count.as_ref().map(expr_value),
                map.tolerated_failure_count_path.as_deref(),
            ),
            true,
        )?;
        let percentage = self.map_number(
            scope,
            each,
            "ToleratedFailurePercentage",
            (
                map.tolerated_failure_percentage.as_ref().map(expr_value),
                map.tolerated_failure_percentage_path.as_deref(),
            ),
            false,
        )?;
        if count.is_some_and(|c| c < 0.0) {
            return Err(Failure::runtime(
                "ToleratedFailureCount cannot be negative.",
            ));
        }
        if percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(Failure::runtime(
                "ToleratedFailurePercentage must be between 0 and 100.",
            ));
        }
        Ok(match (count, percentage) {
            (None, None) => (Some(0), None),
            (c, p) => (c.map(|c| c.max(0.0) as u64), p),
        })
    }

    /// The items an `ItemReader` gives: its mock's answer, read as the
    /// resource and `ReaderConfig` say, cut to `MaxItems`.
    fn read_items(
        &mut self,
        scope: &Scope<'_>,
        each: &Items<'_>,
        reader: &asl::ItemReader,
        max_items: Option<f64>,
    ) -> Result<Vec<Value>, Failure> {
        let parameters = match reader.arguments.as_ref().or(reader.parameters.as_ref()) {
            Some(t) => self.fill_map_template(scope, each, t, "Arguments")?,
            None => json!({}),
        };
        let config = reader.reader_config.clone().unwrap_or(Value::Null);
        if max_items.is_some_and(|n| n < 0.0) {
            return Err(Failure::new(
                READER_FAILED,
                "field MaxItems must be positive",
            ));
        }
        let body = self.read_object(scope, &reader.resource, &parameters)?;
        let mut items = match config.get("InputType").and_then(Value::as_str) {
            Some("MANIFEST") => self.inventory_items(scope, &reader.resource, &config, &body)?,
            _ => parse_items(&reader.resource, &config, body)?,
        };
        if let Some(max) = max_items.filter(|n| *n > 0.0) {
            items.truncate(max as usize);
        }
        Ok(items)
    }

    /// What the reader's mock answers for one object (or listing) the
    /// `ItemReader` asks for.
    fn read_object(
        &mut self,
        scope: &Scope<'_>,
        resource: &str,
        parameters: &Value,
    ) -> Result<Value, Failure> {
        let call = Call {
            state: scope.name,
            resource,
            parameters,
            invocation: self.invoked(scope.name),
            task_token: None,
        };
        self.mocks.read(&call).result
    }

    /// The objects an S3 inventory lists: its manifest names its CSV files,
    /// each read through the reader's mock in turn (which answers the
    /// file's text), their rows keyed by the manifest's `fileSchema`.
    fn inventory_items(
        &mut self,
        scope: &Scope<'_>,
        resource: &str,
        config: &Value,
        body: &Value,
    ) -> Result<Vec<Value>, Failure> {
        let failed = |cause: String| Failure::new(READER_FAILED, cause);
        if let Some(other) = config
            .get("ManifestType")
            .filter(|t| t.as_str() != Some("S3_INVENTORY"))
        {
            return Err(failed(format!(
                "the ItemReader's ManifestType {other} is not simulated"
            )));
        }
        let manifest: Value = serde_json::from_str(&body_text(body))
            .map_err(|e| failed(format!("the manifest is not JSON: {e}")))?;
        let field = |name: &str| manifest.get(name).and_then(Value::as_str);
        if let Some(format) = field("fileFormat").filter(|f| *f != "CSV") {
            return Err(failed(format!(
                "the inventory's fileFormat {format} is not supported: only CSV is"
            )));
        }
        let schema: Vec<&str> = field("fileSchema")
            .ok_or_else(|| failed("the manifest has no fileSchema".into()))?
            .split(',')
            .map(str::trim)
            .collect();
        let bucket = field("destinationBucket").unwrap_or_default();
        let bucket = bucket.strip_prefix("arn:aws:s3:::").unwrap_or(bucket);
        let rows = json!({"CSVHeaderLocation": "GIVEN", "CSVHeaders": schema});
        let mut items = Vec::new();
        let files = manifest.get("files").and_then(Value::as_array);
        for key in files.into_iter().flatten().filter_map(|f| f.get("key")) {
            let parameters = json!({"Bucket": bucket, "Key": key});
            let file = self.read_object(scope, resource, &parameters)?;
            items.extend(csv_items(&rows, &body_text(&file))?);
        }
        Ok(items)
    }

    /// The items grouped by `ItemBatcher`: `{"BatchInput"?, "Items"}` each.
    fn batch(
        &mut self,
        scope: &Scope<'_>,
        each: &Items<'_>,
        batcher: &asl::ItemBatcher,
        inputs: Vec<Value>,
    ) -> Result<Vec<Value>, Failure> {
        let per_batch = self.map_number(
            scope,
            each,
            "MaxItemsPerBatch",
            (
                batcher.max_items_per_batch.as_ref().map(expr_value),
                batcher.max_items_per_batch_path.as_deref(),
            ),
            true,
        )?;
        let bytes = self.map_number(
            scope,
            each,
            "MaxInputBytesPerBatch",
            (
                batcher.max_input_bytes_per_batch.as_ref().map(expr_value),
                batcher.max_input_bytes_per_batch_path.as_deref(),
            ),
            true,
        )?;
        let batch_input = match &batcher.batch_input {
            Some(t) => Some(self.fill_map_template(scope, each, t, "BatchInput")?),
            None => None,
        };
        let per_batch = per_batch
            .filter(|n| *n >= 1.0)
            .map_or(usize::MAX, |n| n as usize);
        // The service's limit is 256 KiB per child execution's input.
        let bytes = bytes.filter(|n| *n >= 1.0).map_or(262_144, |n| n as usize);
        let base = batch_input.as_ref().map_or(0, |b| {
            b.to_string().len() + "{\"BatchInput\":,\"Items\":[]}".len()
        });
        let mut batches: Vec<Vec<Value>> = Vec::new();
        let mut size = base;
        for item in inputs {
            let item_size = item.to_string().len() + 1;
            match batches.last_mut() {
                Some(batch) if batch.len() < per_batch && size + item_size <= bytes => {
                    size += item_size;
                    batch.push(item);
                }
                _ => {
                    size = base + item_size;
                    batches.push(vec![item]);
                }
            }
        }
        Ok(batches
            .into_iter()
            .map(|items| {
                let mut batch = Map::new();
                if let Some(b) = &batch_input {
                    batch.insert("BatchInput".into(), b.clone());
                }
                batch.insert("Items".into(), Value::Array(items));
                Value::Object(batch)
            })
            .collect())
    }

    /// The Map's results as its `ResultWriter` shapes them: written, with a
    /// `Resource`, as `s3:putObject` would (through the writer mock if there
    /// is one), the Map's output then naming the manifest; without one, the
    /// Map's output itself.
    fn write_results(
        &mut self,
        scope: &Scope<'_>,
        each: &Items<'_>,
        writer: &asl::ResultWriter,
        run: &mut MapRun,
        run_id: &str,
    ) -> Result<Value, Failure> {
        let config = WriterConfig::of(writer)?;
        let Some(resource) = writer.resource.as_deref() else {
            let results = self.shaped(config.transformation, run.executions.iter());
            return Ok(Value::Array(results));
        };
        let parameters = match writer.arguments.as_ref().or(writer.parameters.as_ref()) {
            Some(t) => self.fill_map_template(scope, each, t, "Arguments")?,
            None => json!({}),
        };
        let bucket = parameters.get("Bucket").cloned().unwrap_or(Value::Null);
        let prefix = parameters
            .get("Prefix")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let dir = match prefix {
            "" => run_id.to_owned(),
            p => format!("{}/{run_id}", p.trim_end_matches('/')),
        };
        let mut files = Vec::new();
        let mut listed = json!({"FAILED": [], "PENDING": [], "SUCCEEDED": []});
        for status in [Status::Succeeded, Status::Failed] {
            let ended = run
                .executions
                .iter()
                .filter(|e| (e.status == Status::Succeeded) == (status == Status::Succeeded));
            // A failed child's record is written whole whatever the
            // transformation.
            let results = match status {
                Status::Succeeded => self.shaped(config.transformation, ended),
                _ => self.shaped(Transformation::None, ended),
            };
            if results.is_empty() {
                continue;
            }
            let (key, body, size) = config.file(&dir, status.as_str(), results);
            if let Some(Value::Array(list)) = listed.get_mut(status.as_str()) {
                list.push(json!({"Key": key, "Size": size}));
            }
            files.push((key, body));
        }
        let manifest_key = format!("{dir}/manifest.json");
        files.push((
            manifest_key.clone(),
            json!({"DestinationBucket": bucket, "MapRunArn": run.arn, "ResultFiles": listed}),
        ));
        for (key, body) in &files {
            let parameters = json!({"Bucket": bucket, "Key": key, "Body": body});
            let call = Call {
                state: scope.name,
                resource,
                parameters: &parameters,
                invocation: 0,
                task_token: None,
            };
            if let Some(response) = self.mocks.write(&call) {
                response.result.map_err(|f| {
                    Failure::new(
                        "States.ResultWriterFailed",
                        format!("{}: {}", f.error, f.cause),
                    )
                })?;
            }
        }
        run.written = files;
        Ok(json!({
            "MapRunArn": run.arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
        }))
    }

    /// The children's results: their whole records (`NONE`), their outputs
    /// (`COMPACT`, a failure as `{Error, Cause}`), or those outputs with the
    /// arrays among them spliced in (`FLATTEN`).
    fn shaped<'e>(
        &self,
        transformation: Transformation,
        executions: impl Iterator<Item = &'e ChildExecution>,
    ) -> Vec<Value> {
        let machine_arn = self.machine_arn();
        let mut results = Vec::new();
        for e in executions {
            match (transformation, &e.output, &e.failure) {
                (Transformation::None, ..) => results.push(record(e, &machine_arn)),
                (Transformation::Flatten, Some(Value::Array(items)), _) => {
                    results.extend(items.iter().cloned());
                }
                (_, Some(output), _) => results.push(output.clone()),
                (_, None, Some(f)) => results.push(json!({"Error": f.error, "Cause": f.cause})),
                (_, None, None) => results.push(Value::Null),
            }
        }
        results
    }

    /// A random UUID (version 4) from the seeded randomness.
    fn uuid(&mut self) -> String {
        let (a, b) = (self.random(), self.random());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

/// A child's record as `DescribeExecution` gives it, which is what AWS
/// writes for it.
fn record(e: &ChildExecution, machine_arn: &str) -> Value {
    let mut fields = json!({
        "ExecutionArn": e.arn,
        "Input": e.input.to_string(),
        "InputDetails": {"Included": true},
        "Name": e.name,
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "StartDate": time::format(e.start_ms),
        "StateMachineArn": machine_arn,
        "Status": e.status.as_str(),
        "StopDate": time::format(e.stop_ms),
    });
    if let Value::Object(f) = &mut fields {
        match (&e.output, &e.failure) {
            (Some(output), _) => {
                f.insert("Output".into(), json!(output.to_string()));
                f.insert("OutputDetails".into(), json!({"Included": true}));
            }
            (None, Some(failure)) => {
                f.insert("Error".into(), json!(failure.error));
                f.insert("Cause".into(), json!(failure.cause));
            }
            (None, None) => {}
        }
    }
    fields
}

/// What a `ResultWriter`'s `WriterConfig` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Transformation {
    None,
    Compact,
    Flatten,
}

#[derive(Debug, Clone, Copy)]
struct WriterConfig {
    transformation: Transformation,
    jsonl: bool,
}

impl WriterConfig {
    /// The writer's config, with AWS's defaults: `NONE` when the results
    /// are written to S3, `COMPACT` when they are the Map's output.
    fn of(writer: &asl::ResultWriter) -> Result<WriterConfig, Failure> {
        let config = writer.writer_config.as_ref();
        let field = |name: &str| config.and_then(|c| c.get(name));
        let transformation = match field("Transformation").map(|v| (v, v.as_str())) {
            None if writer.resource.is_some() => Transformation::None,
            None => Transformation::Compact,
            Some((_, Some("NONE"))) => Transformation::None,
            Some((_, Some("COMPACT"))) => Transformation::Compact,
            Some((_, Some("FLATTEN"))) => Transformation::Flatten,
            Some((other, _)) => {
                return Err(Failure::runtime(format!(
                    "the WriterConfig's Transformation {other} is not one of NONE, COMPACT, FLATTEN"
                )));
            }
        };
        let jsonl = match field("OutputType").map(|v| (v, v.as_str())) {
            None | Some((_, Some("JSON"))) => false,
            Some((_, Some("JSONL"))) => true,
            Some((other, _)) => {
                return Err(Failure::runtime(format!(
                    "the WriterConfig's OutputType {other} is not one of JSON, JSONL"
                )));
            }
        };
        Ok(WriterConfig {
            transformation,
            jsonl,
        })
    }

    /// A result file: its key, its content (an array, or JSON Lines as
    /// text) and its size in bytes.
    fn file(&self, dir: &str, status: &str, results: Vec<Value>) -> (String, Value, usize) {
        if self.jsonl {
            let mut text = String::new();
            for result in &results {
                text.push_str(&json_text(result));
                text.push('\n');
            }
            let size = text.len();
            (format!("{dir}/{status}_0.jsonl"), Value::String(text), size)
        } else {
            let body = Value::Array(results);
            let size = json_text(&body).len();
            (format!("{dir}/{status}_0.json"), body, size)
        }
    }
}

/// When the run's failures first exceed a tolerated threshold, if they
/// do: more than `ToleratedFailureCount`, or more than the percentage of
/// all `total` items.
fn exceeded_at(
    children: &[ChildExecution],
    total: usize,
    (count, percentage): (Option<u64>, Option<f64>),
) -> Option<i64> {
    let mut failures: Vec<i64> = children
        .iter()
        .filter(|e| e.status != Status::Succeeded)
        .map(|e| e.stop_ms)
        .collect();
    failures.sort_unstable();
    let over = |failed: usize| {
        count.is_some_and(|c| failed as u64 > c)
            || percentage.is_some_and(|p| failed as f64 * 100.0 / total as f64 > p)
    };
    (1..=failures.len())
        .find(|&failed| over(failed))
        .map(|failed| failures[failed - 1])
}

/// A child the failed run stopped at `at`: its later events never happen,
/// its running states are aborted, and so is it.
fn abort(child: &mut ChildExecution, at: i64) {
    let mut thread = Thread::new(child.start_ms);
    thread.events = std::mem::take(&mut child.events);
    thread.abort(at, None, false);
    thread.push(Kind::ExecutionAborted);
    child.events = thread.events;
    (child.status, child.output, child.failure, child.stop_ms) = (Status::Aborted, None, None, at);
}

fn expr_value<T: serde::Serialize>(e: &Expr<T>) -> Value {
    match e {
        Expr::Literal(v) => serde_json::to_value(v).unwrap_or(Value::Null),
        Expr::Jsonata(s) => Value::String(s.clone()),
    }
}

/// The items in what a reader's resource answered.
fn parse_items(resource: &str, config: &Value, body: Value) -> Result<Vec<Value>, Failure> {
    let failed = |cause: &str| Failure::new(READER_FAILED, cause);
    if resource.ends_with(":listObjectsV2") {
        let contents = match body {
            Value::Array(items) => items,
            Value::Object(mut fields) => match fields.remove("Contents") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => return Err(failed("listObjectsV2 did not answer a listing")),
        };
        // The service names the entity tag `Etag`, as it gives the items.
        return Ok(contents
            .into_iter()
            .map(|mut item| {
                if let Value::Object(fields) = &mut item
                    && let Some(tag) = fields.remove("ETag")
                {
                    fields.insert("Etag".into(), tag);
                }
                item
            })
            .collect());
    }
    let input_type = config
        .get("InputType")
        .and_then(Value::as_str)
        .unwrap_or("JSON");
    match input_type {
        "JSON" => {
            let value = match &body {
                Value::String(s) => serde_json::from_str(s)
                    .map_err(|e| failed(&format!("the object is not JSON: {e}")))?,
                other => other.clone(),
            };
            match value {
                Value::Array(items) => Ok(items),
                _ => Err(failed("Attempting to map over non-iterable node.")),
            }
        }
        "JSONL" => body_text(&body)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| failed(&format!("bad JSON line: {e}"))))
            .collect(),
        "CSV" => csv_items(config, &body_text(&body)),
        other => Err(failed(&format!(
            "the ItemReader's InputType {other} is not simulated"
        ))),
    }
}

/// The text of an object a reader's mock answered: the string itself, or
/// the `Body` of a `getObject` response.
fn body_text(body: &Value) -> String {
    match body {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("Body") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => body.to_string(),
        },
        other => other.to_string(),
    }
}

/// CSV rows as objects of strings, keyed by the first row or `CSVHeaders`.
fn csv_items(config: &Value, text: &str) -> Result<Vec<Value>, Failure> {
    let mut rows = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(csv_fields);
    let given = config.get("CSVHeaderLocation").and_then(Value::as_str) == Some("GIVEN");
    let headers: Vec<String> = if given {
        config
            .get("CSVHeaders")
            .and_then(Value::as_array)
            .map(|h| h.iter().map(crate::states::shown).collect())
            .unwrap_or_default()
    } else {
        rows.next().unwrap_or_default()
    };
    let mut seen = std::collections::HashSet::new();
    if !headers.iter().all(|h| seen.insert(h)) {
        return Err(Failure::new(
            READER_FAILED,
            "CSV headers cannot contain duplicates.",
        ));
    }
    Ok(rows
        .map(|fields| {
            let mut item = Map::new();
            for (i, header) in headers.iter().enumerate() {
                let value = fields.get(i).cloned().unwrap_or_default();
                item.insert(header.clone(), Value::String(value));
            }
            Value::Object(item)
        })
        .collect())
}

/// One CSV line's fields (double quotes as RFC 4180 has them).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let Some(field) = fields.last_mut() else {
            break;
        };
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(String::new()),
            (c, _) => field.push(c),
        }
    }
    fields
}
