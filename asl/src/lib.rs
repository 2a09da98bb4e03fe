//! Amazon States Language (ASL) as Rust types.
//!
//! - [`StateMachine`] and the other types in [`types`] model the whole
//!   language, JSONPath and JSONata alike, so any document the service
//!   accepts parses and serializes back without losing or reordering what
//!   its author wrote (state order, rule order, template key order).
//! - [`builder`] writes machines in Rust with handles instead of state names,
//!   so a transition to a missing state cannot be expressed.
//! - [`validate()`] checks a document from outside (a `serde_json::Value`)
//!   and reports every problem with its path, such as
//!   `States.Process.Branches[0].States.Resize`; [`parse()`] validates and
//!   then yields the typed [`StateMachine`].
//! - [`to_mermaid`] draws a machine as a Mermaid `flowchart TD` with node ids
//!   derived from state names, so diagrams stay stable across regenerations.
//! - [`StateMachine::all_states`] visits every state, those of Parallel
//!   branches and Map processors too, with its path and enclosing branch
//!   ([`walk`]).
//! - [`to_svg`] draws the same graph laid out as a standalone SVG for a web
//!   page to inline: each state is a `<g class="state" data-state="…">` that
//!   the page's CSS can colour (see [`svg`] for the whole contract).
//!
//! Architecture invariant: this is a pure data crate. It does no file or
//! network I/O; callers read and write documents themselves.
//!
//! # Builder
//!
//! States are added to a [`StateMachineBuilder`] (or, inside a Parallel or
//! Map, a [`BranchBuilder`]); each returns a [`StateId`] that later states
//! use as their `next`, `Catch` or Choice target. `declare` reserves a name
//! (and its place in the output) so a state can point forward; `define` gives
//! it its body later; `add` does both. `build()` reports every problem at
//! once: a declared but undefined state, a state with neither `.next()` nor
//! `.end()`, a duplicate name, or a handle from another builder (which is how
//! a branch reaching outside itself is refused).
//!
//! ```
//! use asl::builder::*;
//! use asl::{Condition, Retrier};
//! use serde_json::json;
//!
//! let mut sm = StateMachineBuilder::new();
//! sm.comment("Resize an uploaded photo");
//! let extract = sm.declare("ExtractMetadata");
//! let route = sm.declare("IsImage");
//! let process = sm.declare("Process");
//! let done = sm.declare("Done");
//! let failed = sm.declare("Failed");
//!
//! sm.define(
//!     extract,
//!     TaskState::new("${ExtractMetadataFunctionArn}")
//!         .parameters(json!({ "bucket.$": "$.bucket", "key.$": "$.key" }))
//!         .result_selector(json!({ "format.$": "$.Payload.format" }))
//!         .result_path("$.metadata")
//!         .timeout_seconds(30)
//!         .retry(Retrier::new(["Lambda.ServiceException"]).max_attempts(3).backoff_rate(2.0))
//!         .catch(Catch::new(["States.ALL"], failed).result_path("$.error"))
//!         .next(route),
//! );
//! sm.define(
//!     route,
//!     ChoiceState::new()
//!         .when(Condition::string_equals("$.metadata.format", "jpeg"), process)
//!         .otherwise(failed),
//! );
//!
//! // A Parallel branch is a builder of its own; its handles only work there.
//! let mut thumbnail = BranchBuilder::new();
//! thumbnail.add("Thumbnail", TaskState::new("${ThumbnailFunctionArn}").end());
//! let mut index = BranchBuilder::new();
//! index.add("Index", TaskState::new("${IndexFunctionArn}").end());
//! sm.define(process, ParallelState::new().branch(thumbnail).branch(index).next(done));
//!
//! sm.define(done, SucceedState::new());
//! sm.define(failed, FailState::new().error("PhotoRejected").cause_path("$.error.Cause"));
//!
//! // build() also runs the validator, so what it returns is a valid document.
//! let machine = sm.build().expect("every state is defined and reachable");
//! assert_eq!(machine.start_at, "ExtractMetadata");
//! let json = serde_json::to_string_pretty(&machine).expect("a machine always serializes");
//! assert!(json.contains("\"Next\": \"IsImage\""));
//! assert!(asl::to_mermaid(&machine).starts_with("flowchart TD"));
//! ```
//!
//! # Validating a document from outside
//!
//! ```
//! let document = serde_json::json!({
//!     "StartAt": "Resize",
//!     "States": { "Resize": { "Type": "Pass", "Next": "Store" } }
//! });
//! let problems = asl::validate(&document).expect_err("`Store` does not exist");
//! assert_eq!(
//!     problems.to_string(),
//!     "States.Resize: `Next` names `Store`, which is not a state here: add that state or fix the name"
//! );
//! ```

pub mod builder;
mod choice;
mod intrinsics;
pub mod mermaid;
mod paths;
mod resources;
pub mod svg;
pub mod types;
pub mod validate;
pub mod walk;

pub use builder::{BranchBuilder, BuildError, BuildErrors, StateId, StateMachineBuilder};
pub use choice::COMPARISON_OPERATORS;
pub use mermaid::to_mermaid;
pub use svg::to_svg;
pub use types::*;
pub use validate::{Problem, Rule, ValidationErrors, parse, problems, validate};
pub use walk::{Location, StateRef};
