//! Execution histories as LocalStack writes them, made readable by the SDK.
//!
//! LocalStack 4.14 sometimes writes a `TaskScheduled` event whose
//! `timeoutInSeconds` holds the state's input (an object or a string) when a
//! Parallel branch is cut short. The SDK reads that field as a number, so one
//! such event makes the whole GetExecutionHistory page unreadable. The
//! interceptor here repairs the body before the SDK parses it.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use aws_sdk_sfn::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::error::BoxError;
use aws_smithy_types::body::SdkBody;
use http_body::{Body, Frame};
use serde_json::Value;

/// Fields of `taskScheduledEventDetails` that the SDK reads as integers.
const NUMBERS: [&str; 2] = ["timeoutInSeconds", "heartbeatInSeconds"];

/// Removes the integer fields of `TaskScheduled` events that hold anything
/// else; the events keep everything the SDK can read. Returns whether
/// anything was removed.
pub fn repair_history(body: &mut Value) -> bool {
    let mut repaired = false;
    let events = body.get_mut("events").and_then(Value::as_array_mut);
    for event in events.into_iter().flatten() {
        let Some(details) = event
            .get_mut("taskScheduledEventDetails")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for field in NUMBERS {
            // Null is how an absent value may be written, and the SDK reads it.
            if details
                .get(field)
                .is_some_and(|v| !v.is_i64() && !v.is_null())
            {
                details.shift_remove(field);
                repaired = true;
            }
        }
    }
    repaired
}

/// A GetExecutionHistory response body with [`repair_history`] applied; any
/// body that is not such JSON is passed on unchanged for the SDK to report.
fn repaired(body: Vec<u8>) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if !repair_history(&mut value) {
        return body;
    }
    serde_json::to_vec(&value).unwrap_or(body)
}

/// Repairs GetExecutionHistory responses. Attach it to that operation only:
/// it reads every successful response body whole.
#[derive(Debug)]
pub struct RepairHistory;

impl Intercept for RepairHistory {
    fn name(&self) -> &'static str {
        "RepairHistory"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        if !response.status().is_success() {
            return Ok(());
        }
        // The body is still a stream here and interceptors cannot wait for
        // it, so the repair happens as the SDK reads it; the length changes.
        response.headers_mut().remove("content-length");
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = SdkBody::from_body_1_x(Repairing {
            inner: body,
            received: Vec::new(),
            done: false,
        });
        Ok(())
    }
}

/// Collects the whole body, then yields it repaired as one frame.
struct Repairing {
    inner: SdkBody,
    received: Vec<u8>,
    done: bool,
}

impl Body for Repairing {
    type Data = <SdkBody as Body>::Data;
    type Error = <SdkBody as Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        while !this.done {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers are dropped: the SDK reads none for this operation.
                    if let Ok(data) = frame.into_data() {
                        this.received.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    this.done = true;
                    let body = repaired(std::mem::take(&mut this.received));
                    return Poll::Ready(Some(Ok(Frame::data(body.into()))));
                }
            }
        }
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
    use serde_json::json;

    use super::*;

    /// A page shaped like the ones LocalStack 4.14 writes for a truncated
    /// JPEG: the labels branch's `TaskScheduled` carries the state input as
    /// its timeout, the thumbnail branch's is well formed.
    fn broken_page() -> Value {
        let input = json!({ "bucket": "photos", "key": "incoming/truncated.jpg" });
        json!({ "events": [
            {
                "timestamp": 1_780_000_000.0,
                "type": "ExecutionStarted",
                "id": 1,
                "previousEventId": 0,
                "executionStartedEventDetails": {
                    "input": input.to_string(),
                    "roleArn": "arn:aws:iam::000000000000:role/photopipe",
                },
            },
            {
                "timestamp": 1_780_000_001.0,
                "type": "TaskScheduled",
                "id": 2,
                "previousEventId": 1,
                "taskScheduledEventDetails": {
                    "resourceType": "aws-sdk:rekognition",
                    "resource": "detectLabels",
                    "region": "us-east-1",
                    "parameters": "{}",
                    "timeoutInSeconds": input,
                    "heartbeatInSeconds": input.to_string(),
                },
            },
            {
                "timestamp": 1_780_000_001.5,
                "type": "TaskScheduled",
                "id": 3,
                "previousEventId": 1,
                "taskScheduledEventDetails": {
                    "resourceType": "lambda",
                    "resource": "invoke",
                    "region": "us-east-1",
                    "parameters": "{}",
                    "timeoutInSeconds": 60,
                    "heartbeatInSeconds": null,
                },
            },
        ]})
    }

    #[test]
    fn removes_only_what_is_not_an_integer() {
        let mut page = broken_page();
        assert!(repair_history(&mut page));
        let labels = &page["events"][1]["taskScheduledEventDetails"];
        assert!(labels.get("timeoutInSeconds").is_none());
        assert!(labels.get("heartbeatInSeconds").is_none());
        assert_eq!(labels["resource"], "detectLabels");
        let thumbnail = &page["events"][2]["taskScheduledEventDetails"];
        assert_eq!(thumbnail["timeoutInSeconds"], 60);
        assert!(thumbnail["heartbeatInSeconds"].is_null());
        assert!(
            !repair_history(&mut page),
            "a repaired page needs no repair"
        );
    }

    #[test]
    fn leaves_other_bodies_alone() {
        let not_json = b"<html>busy</html>".to_vec();
        assert_eq!(repaired(not_json.clone()), not_json);
        let sound = serde_json::to_vec(&json!({ "events": [] })).expect("JSON");
        assert_eq!(repaired(sound.clone()), sound);
    }

    /// Answers every request with `body`, as Step Functions would.
    fn serve(body: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let address = listener.local_addr().expect("its address");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.expect("a connection");
                let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("a header line");
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().expect("a length");
                    }
                }
                let mut request = vec![0; length];
                reader.read_exact(&mut request).expect("the request body");
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                )
                .expect("the response head");
                stream.write_all(&body).expect("the response body");
            }
        });
        format!("http://{address}")
    }

    fn client(endpoint: &str) -> aws_sdk_sfn::Client {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }

    #[tokio::test]
    async fn the_sdk_reads_a_repaired_history() {
        let sfn = client(&serve(serde_json::to_vec(&broken_page()).expect("JSON")));
        let execution = "arn:aws:states:us-east-1:000000000000:execution:p:e";

        let unrepaired = sfn
            .get_execution_history()
            .execution_arn(execution)
            .send()
            .await;
        let error =
            aws_sdk_sfn::error::DisplayErrorContext(unrepaired.expect_err("an unreadable page"))
                .to_string();
        assert!(
            error.contains("failed to parse JSON"),
            "the page must break the SDK as LocalStack's do: {error}"
        );

        let events = crate::observe::history(&sfn, execution)
            .await
            .expect("the repaired history");
        let kinds: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
        assert_eq!(
            kinds,
            ["ExecutionStarted", "TaskScheduled", "TaskScheduled"]
        );
        let timeouts: Vec<Option<i64>> = events
            .iter()
            .filter_map(|e| e.task_scheduled_event_details())
            .map(|d| d.timeout_in_seconds())
            .collect();
        assert_eq!(timeouts, [None, Some(60)]);
    }
}
