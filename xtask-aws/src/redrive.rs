//! `cargo xtask redrive`: replays the S3 events the start function gave up
//! on. Lambda puts each one, after its retries, into the stack's
//! start-failures queue (the function's on-failure destination); this sends
//! the original event to the function again, synchronously, and deletes the
//! message once the function has handled it. Execution names are a function
//! of the object revision, so a replay never processes an upload twice.

use std::collections::HashSet;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::Value;

use crate::deploy::{self, Deployment, explain};
use xtask::cli::RedriveArgs;

/// What one redrive did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redriven {
    /// The function's answer for each event it handled; its messages are deleted.
    pub handled: Vec<Value>,
    /// Events the function failed on again, with its error; their messages stay.
    pub failed: Vec<Value>,
}

pub fn run(args: RedriveArgs) -> Result<()> {
    let redriven = deploy::runtime()?.block_on(async {
        let config = deploy::sdk_config(&args.target).await;
        let deployment = deploy::deployed(&config, &args.stack.name()).await?;
        redrive(&config, &deployment).await
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&redriven)?);
    } else {
        println!(
            "redrive: {} events handled, {} failed again",
            redriven.handled.len(),
            redriven.failed.len()
        );
        for failed in &redriven.failed {
            println!("! {failed}");
        }
    }
    anyhow::ensure!(
        redriven.failed.is_empty(),
        "{} events still fail; their messages stay in the queue for the next redrive",
        redriven.failed.len()
    );
    Ok(())
}

/// Replays every message in the start-failures queue once.
pub async fn redrive(config: &SdkConfig, deployment: &Deployment) -> Result<Redriven> {
    let queue = StartFailures::new(config, deployment).await?;
    let mut redriven = Redriven::default();
    for queued in queue.receive().await? {
        match queue.replay(&queued).await? {
            Ok(answer) => redriven.handled.push(answer),
            Err(answer) => redriven.failed.push(answer),
        }
    }
    Ok(redriven)
}

/// The start-failures queue and the function its events are replayed to.
#[derive(Debug)]
pub struct StartFailures {
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
    queue: String,
    function: String,
}

/// One S3 event the start function gave up on.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The event, as S3 sent it to the function.
    pub event: Value,
    receipt: Option<String>,
}

impl StartFailures {
    pub async fn new(config: &SdkConfig, deployment: &Deployment) -> Result<StartFailures> {
        let queue = deployment.output(infra::stack::outputs::START_FAILURES_QUEUE)?;
        let function = deploy::physical_id(
            config,
            &deployment.stack_name,
            infra::stack::START_EXECUTION.logical_id,
        )
        .await?;
        Ok(StartFailures {
            sqs: aws_sdk_sqs::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            queue: queue.to_owned(),
            function,
        })
    }

    /// Every message in the queue, once each. They stay invisible to others
    /// for five minutes, then come back unless [`StartFailures::replay`]
    /// handled them.
    pub async fn receive(&self) -> Result<Vec<Queued>> {
        let queue = &self.queue;
        let mut queued = Vec::new();
        // A message received twice means the queue holds nothing new.
        let mut seen = HashSet::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .visibility_timeout(300)
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(explain)
                .with_context(|| format!("failed to receive from {queue}"))?;
            let fresh: Vec<_> = received
                .messages()
                .iter()
                .filter(|m| m.message_id().is_some_and(|id| seen.insert(id.to_owned())))
                .collect();
            if fresh.is_empty() {
                return Ok(queued);
            }
            for message in fresh {
                let mut record: Value = serde_json::from_str(message.body().unwrap_or_default())
                    .with_context(|| {
                        format!("a message in {queue} is not a Lambda destination record")
                    })?;
                let event = record["requestPayload"].take();
                anyhow::ensure!(
                    event.is_object(),
                    "a message in {queue} carries no requestPayload: {record}"
                );
                queued.push(Queued {
                    event,
                    receipt: message.receipt_handle().map(str::to_owned),
                });
            }
        }
    }

    /// Sends the event to the start function again, synchronously: `Ok` with
    /// its answer once it handled the event (the message is then deleted),
    /// `Err` with its error when it failed again (the message stays).
    pub async fn replay(&self, queued: &Queued) -> Result<Result<Value, Value>> {
        let (queue, function) = (&self.queue, &self.function);
        let response = self
            .lambda
            .invoke()
            .function_name(function)
            .payload(serde_json::to_vec(&queued.event)?.into())
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to invoke {function}"))?;
        let answer: Value = response
            .payload()
            .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
            .unwrap_or(Value::Null);
        if response.function_error().is_some() {
            return Ok(Err(answer));
        }
        if let Some(handle) = &queued.receipt {
            self.sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(handle)
                .send()
                .await
                .map_err(explain)
                .with_context(|| format!("failed to delete a handled message from {queue}"))?;
        }
        Ok(Ok(answer))
    }
}
