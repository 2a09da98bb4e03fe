//! An in-process Step Functions simulator on the `asl` types.
//!
//! [`Simulator::run`] executes a [`asl::StateMachine`] against mocked task
//! results on a virtual clock and records the execution history in the
//! service's own event shape ([`Execution::history`] gives the SDK's
//! `HistoryEvent`s), so a workflow that waits an hour finishes in
//! microseconds with the timestamps it would have had.
//!
//! Architecture invariant: no I/O. Task results come from [`Mocks`]:
//! closures per resource, or a Step Functions Local mock configuration file
//! that the caller has read.

mod failure;
pub mod intrinsics;
pub mod jsonpath;

pub use failure::Failure;
mod choice;
pub mod coverage;
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
