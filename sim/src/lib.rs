//! An in-process Step Functions simulator on the `asl` types.
//!
//! [`Simulator::run`] executes a [`asl::StateMachine`] against mocked task
//! results on a virtual clock and records the execution history in the
//! service's own event shape ([`Execution::history`] gives the SDK's
//! `HistoryEvent`s), so a workflow that waits an hour finishes in
//! microseconds with the timestamps it would have had.
//!
//! Architecture invariant: no I/O. Task results come from [`Mocks`]:
//! closures per state or per resource, a Step Functions Local mock
//! configuration the caller has read, or a recorded history
//! ([`recorded::mocks`]).
//!
//! A distributed Map runs too: its items from the input or from an
//! `ItemReader` mock ([`Mocks::reader`]), selected, batched and each run as
//! a child execution, held to its tolerated failures, its results written
//! as `ResultWriter` would ([`Mocks::writer`]); the parent's history has
//! its `MapRunStarted`/`MapRunSucceeded`/`MapRunFailed`, and
//! [`Execution::map_runs`] the children.
//!
//! Both query languages run, per state (its own `QueryLanguage` or the
//! machine's): JSONPath, and JSONata through `jsonata-rs`, with `$states`,
//! the workflow variables and AWS's extra functions bound. `$now()`,
//! `$millis()`, `$random()` and `$uuid()` come from the virtual clock and
//! the seed, so a JSONata execution is as repeatable as a JSONPath one.
//!
//! ```
//! use serde_json::json;
//! use sim::{Mocks, Response, Simulator, Status};
//!
//! let machine: asl::StateMachine = asl::parse(&json!({
//!     "StartAt": "ChargeCard",
//!     "States": {
//!         "ChargeCard": {
//!             "Type": "Task",
//!             "Resource": "arn:aws:states:::lambda:invoke",
//!             "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
//!             "Retry": [{"ErrorEquals": ["Payments.Throttled"], "IntervalSeconds": 3600}],
//!             "ResultSelector": {"charged.$": "$.Payload.charged"},
//!             "ResultPath": "$.payment",
//!             "Next": "StoreOrder"
//!         },
//!         "StoreOrder": {
//!             "Type": "Task",
//!             "Resource": "arn:aws:states:::dynamodb:putItem",
//!             "Parameters": {"TableName": "orders", "Item": {"id": {"N.$": "States.JsonToString($.order)"}}},
//!             "ResultPath": null,
//!             "End": true
//!         }
//!     }
//! }))
//! .expect("a valid state machine");
//! let mocks = Mocks::new()
//!     // A state's own mock wins over its resource's.
//!     .state("ChargeCard", |call| match call.invocation {
//!         0 => Response::throw("Payments.Throttled", "slow down"),
//!         _ => Response::ok(json!({"Payload": {"charged": true}})).taking(1_200),
//!     })
//!     .resource("arn:aws:states:::dynamodb:putItem", |_| Response::ok(json!({})));
//! let execution = Simulator::new(&mocks).run(&machine, json!({"order": 42}));
//! assert_eq!(execution.status, Status::Succeeded);
//! assert_eq!(execution.path(), ["ChargeCard", "StoreOrder"]);
//! assert_eq!(execution.output, Some(json!({"order": 42, "payment": {"charged": true}})));
//! // The hour's backoff took no time, but the history has it.
//! let (first, last) = (&execution.events[0], &execution.events[execution.events.len() - 1]);
//! assert!(last.at_ms - first.at_ms >= 3_600_000);
//! ```

mod choice;
pub mod coverage;
mod distributed;
mod failure;
pub mod intrinsics;
mod jsonata;
mod jsonata_format;
mod jsonata_library;
mod jsonata_order;
mod jsonata_states;
pub mod jsonpath;

pub use distributed::{ChildExecution, MapRun};
pub use failure::Failure;
pub mod history;
#[cfg(feature = "sdk")]
pub mod history_sdk;
pub mod mock;
pub mod recorded;
mod run;
mod states;
mod template;
mod time;

pub use mock::{Call, MockError, Mocks, Response};
pub use run::{Execution, Options, Simulator, Status};
