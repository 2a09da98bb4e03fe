//! Turns each S3 `ObjectCreated` record into one `ImageProcessing` execution.

use std::fmt;

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use lambda_runtime::{Diagnostic, LambdaEvent};
use photopipe_shared::naming::{self, Revision};
use photopipe_shared::{ErrorName, ExecutionInput, INCOMING_PREFIX, Sequencer};
use serde::Serialize;

use crate::naming::decode_event_key;
use crate::sfn::{StartError, StepFunctions};

/// What the handler needs besides the event, built once per cold start.
#[derive(Debug)]
pub struct Starter<S> {
    pub sfn: S,
    pub state_machine_arn: String,
}

/// The function's result when every record went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub records: Vec<RecordSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSummary {
    /// The decoded key.
    pub key: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Step Functions accepted the start. For a standard workflow that
    /// includes an identical request for an execution that is still running,
    /// which it answers with the original execution.
    Started,
    /// The execution exists already: the event was delivered before.
    Duplicate,
    /// Not an upload under `incoming/`; nothing to do.
    Ignored,
}

/// One record that could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    /// The decoded key when there is one, else what the event carried.
    pub key: String,
    pub reason: String,
    pub transient: bool,
}

impl RecordFailure {
    fn permanent(key: impl Into<String>, reason: impl Into<String>) -> Self {
        RecordFailure {
            key: key.into(),
            reason: reason.into(),
            transient: false,
        }
    }
}

/// Some records failed. The others were started all the same, and starting
/// them again when the event is re-delivered is harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    pub failures: Vec<RecordFailure>,
    pub records: usize,
}

impl HandlerError {
    /// Transient only if every failure is: a retry of the whole event is then
    /// worth it, otherwise at least one record would fail again.
    pub fn error_name(&self) -> ErrorName {
        if self.failures.iter().all(|failure| failure.transient) {
            ErrorName::TransientAwsError
        } else {
            ErrorName::StartExecutionFailed
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} records failed",
            self.failures.len(),
            self.records
        )?;
        for (i, failure) in self.failures.iter().enumerate() {
            let separator = if i == 0 { ": " } else { "; " };
            write!(f, "{separator}{:?}: {}", failure.key, failure.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for HandlerError {}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_name().as_str().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Handles every record, then fails if any record failed.
pub async fn handle<S: StepFunctions>(
    starter: &Starter<S>,
    event: LambdaEvent<S3Event>,
) -> Result<Summary, HandlerError> {
    let records = event.payload.records;
    let mut summaries = Vec::with_capacity(records.len());
    let mut failures = Vec::new();
    for record in &records {
        match starter.start(record).await {
            Ok(summary) => summaries.push(summary),
            Err(failure) => {
                tracing::error!(
                    key = %failure.key,
                    transient = failure.transient,
                    reason = %failure.reason,
                    "could not start an execution"
                );
                failures.push(failure);
            }
        }
    }
    if failures.is_empty() {
        Ok(Summary { records: summaries })
    } else {
        Err(HandlerError {
            failures,
            records: records.len(),
        })
    }
}

impl<S: StepFunctions> Starter<S> {
    async fn start(&self, record: &S3EventRecord) -> Result<RecordSummary, RecordFailure> {
        let object = &record.s3.object;
        let raw_key = object
            .key
            .as_deref()
            .ok_or_else(|| RecordFailure::permanent("", "the record has no object key"))?;
        let key = decode_event_key(raw_key).map_err(|err| {
            RecordFailure::permanent(raw_key, format!("the key does not decode to UTF-8: {err}"))
        })?;

        let event_name = record.event_name.as_deref().unwrap_or_default();
        if !event_name.starts_with("ObjectCreated:") || !key.starts_with(INCOMING_PREFIX) {
            tracing::info!(%key, event_name, "ignoring: not an upload under {INCOMING_PREFIX}");
            return Ok(RecordSummary {
                key,
                outcome: Outcome::Ignored,
                execution_arn: None,
            });
        }

        let bucket = record
            .s3
            .bucket
            .name
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| RecordFailure::permanent(&key, "the record has no bucket name"))?;
        let size = object
            .size
            .and_then(|size| u64::try_from(size).ok())
            .ok_or_else(|| RecordFailure::permanent(&key, "the record has no object size"))?;
        let version_id = object.version_id.as_deref().filter(|v| !v.is_empty());
        let etag = object.e_tag.as_deref().filter(|e| !e.is_empty());

        let event_time = record.event_time.to_rfc3339();
        let revision = Revision::of_object(version_id, etag).unwrap_or_else(|| {
            match object.sequencer.as_deref().filter(|s| !s.is_empty()) {
                Some(sequencer) => Revision::Sequencer(sequencer),
                None => Revision::EventTime(&event_time),
            }
        });
        let name = naming::execution_name(bucket, &key, revision);

        let input = ExecutionInput {
            bucket: bucket.to_owned(),
            key: key.clone(),
            size,
            etag: etag.map(str::to_owned),
            version_id: version_id.map(str::to_owned),
            sequencer: sequencer(&key, object.sequencer.as_deref()),
        };
        let input = serde_json::to_string(&input).map_err(|err| {
            RecordFailure::permanent(
                &key,
                format!("could not serialize the execution input: {err}"),
            )
        })?;

        match self
            .sfn
            .start_execution(&self.state_machine_arn, &name, input)
            .await
        {
            Ok(execution_arn) => {
                tracing::info!(%key, %execution_arn, "started");
                Ok(RecordSummary {
                    key,
                    outcome: Outcome::Started,
                    execution_arn: Some(execution_arn),
                })
            }
            Err(StartError::AlreadyExists) => {
                let execution_arn = naming::execution_arn(&self.state_machine_arn, &name);
                tracing::info!(%key, execution_name = %name, "duplicate event: execution exists");
                Ok(RecordSummary {
                    key,
                    outcome: Outcome::Duplicate,
                    execution_arn,
                })
            }
            Err(StartError::Transient(reason)) => Err(RecordFailure {
                key,
                reason,
                transient: true,
            }),
            Err(StartError::Permanent(reason)) => Err(RecordFailure::permanent(key, reason)),
        }
    }
}

/// The record's sequencer; one S3 never writes (not hexadecimal) orders the
/// execution before every other of its key rather than failing the upload.
fn sequencer(key: &str, sequencer: Option<&str>) -> Sequencer {
    let parsed = sequencer.and_then(Sequencer::from_event);
    if parsed.is_none() {
        tracing::warn!(%key, ?sequencer, "no usable sequencer: ordered before later uploads");
    }
    parsed.unwrap_or_default()
}
