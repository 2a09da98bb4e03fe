//! `cargo xtask logs FUNCTION [--since 10m] [--follow]`: a function's
//! CloudWatch Logs. The functions log one JSON object per line (tracing's
//! JSON format); each is shown as time, level, message and fields, and any
//! other line (Lambda's START, END and REPORT) as it is.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde_json::Value;
use xtask::cli::LogsArgs;

use crate::deploy::{self, explain};

pub fn run(args: LogsArgs) -> Result<()> {
    deploy::runtime()?.block_on(async {
        let config = deploy::sdk_config(&args.target).await;
        let group = log_group(&config, &args.stack.name(), &args.function).await?;
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        let back = i64::try_from(args.since.as_millis()).unwrap_or(i64::MAX);
        let mut since = millis(SystemTime::now()).saturating_sub(back);
        // Polls overlap by the last millisecond seen, since an event of that
        // millisecond may arrive later; ids already printed are skipped.
        let mut printed = HashSet::new();
        loop {
            for (at, line) in read(&logs, &group, since, &mut printed).await? {
                since = since.max(at);
                println!("{line}");
            }
            if !args.follow {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// Where a function of the stack logs: its `LoggingConfig`'s group, else
/// Lambda's default `/aws/lambda/<name>`.
pub async fn log_group(config: &SdkConfig, stack_name: &str, function: &str) -> Result<String> {
    let package = infra::stack::LAMBDAS
        .into_iter()
        .find(|l| l.package == function)
        .with_context(|| format!("the stack has no function {function}"))?;
    deploy::deployed(config, stack_name).await?;
    let name = deploy::physical_id(config, stack_name, package.logical_id).await?;
    let lambda = aws_sdk_lambda::Client::new(config);
    let configuration = crate::sync::configuration(&lambda, &name).await?;
    Ok(configuration
        .logging_config()
        .and_then(|c| c.log_group())
        .map_or_else(|| format!("/aws/lambda/{name}"), str::to_owned))
}

/// The group's events from `since` (ms) not yet in `printed`, rendered, in
/// the order of their timestamps.
pub async fn read(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    since: i64,
    printed: &mut HashSet<String>,
) -> Result<Vec<(i64, String)>> {
    let mut lines = Vec::new();
    let mut pages = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(since)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(explain)
            .with_context(|| format!("failed to read log group {group}"))?;
        for event in page.events() {
            let at = event.timestamp().unwrap_or_default();
            let message = event.message().unwrap_or_default();
            let id = event
                .event_id()
                .map_or_else(|| format!("{at}:{message}"), str::to_owned);
            if printed.insert(id) {
                lines.push((at, render(at, message)));
            }
        }
    }
    lines.sort_by_key(|(at, _)| *at);
    Ok(lines)
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `12:04:05.120 INFO  thumbnail written key=incoming/a.jpg width=250`.
pub fn render(at_ms: i64, message: &str) -> String {
    let time = clock(at_ms);
    let line = message.trim_end();
    let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(line) else {
        return format!("{time} {line}");
    };
    let level = entry.get("level").and_then(Value::as_str).unwrap_or("");
    let mut text = format!("{time} {level:<5}");
    let fields = entry.get("fields").and_then(Value::as_object);
    if let Some(message) = fields
        .and_then(|f| f.get("message"))
        .and_then(Value::as_str)
    {
        text.push(' ');
        text.push_str(message);
    }
    for (key, value) in fields
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "message")
    {
        text.push_str(&format!(" {key}={}", plain(value)));
    }
    // The invocation's request id, from lambda_runtime's span.
    let request = entry
        .get("spans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|span| span.get("requestId").and_then(Value::as_str));
    if let Some(request) = request {
        text.push_str(&format!(" [{request}]"));
    }
    text
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// UTC time of day, to the millisecond.
fn clock(at_ms: i64) -> String {
    let ms = at_ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_lines_read_as_text() {
        let line = r#"{"level":"INFO","fields":{"message":"thumbnail written","key":"incoming/a.jpg","width":250},"target":"thumbnail","spans":[{"requestId":"r-1","name":"Lambda runtime invoke"}]}"#;
        assert_eq!(
            render(3_723_004, line),
            "01:02:03.004 INFO  thumbnail written key=incoming/a.jpg width=250 [r-1]"
        );
    }

    #[test]
    fn other_lines_are_kept() {
        assert_eq!(
            render(0, "REPORT RequestId: r-1\tDuration: 2.00 ms\n"),
            "00:00:00.000 REPORT RequestId: r-1\tDuration: 2.00 ms"
        );
    }
}
