//! The routes through a state machine that tests should cover: each Choice
//! rule and Default, each catcher, each retrier run out of attempts.

use std::fmt;

use asl::{State, StateMachine};

/// One way out of a state other than its plain `Next`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `rule` indexes `Choices`; `None` is the `Default`.
    Choice {
        state: String,
        rule: Option<usize>,
        next: String,
    },
    Catch {
        state: String,
        catcher: usize,
        next: String,
    },
    RetryExhausted {
        state: String,
        retrier: usize,
    },
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Choice {
                state,
                rule: Some(i),
                next,
            } => write!(f, "{state}: Choices[{i}] → {next}"),
            Route::Choice {
                state,
                rule: None,
                next,
            } => write!(f, "{state}: Default → {next}"),
            Route::Catch {
                state,
                catcher,
                next,
            } => write!(f, "{state}: Catch[{catcher}] → {next}"),
            Route::RetryExhausted { state, retrier } => {
                write!(f, "{state}: Retry[{retrier}] exhausted")
            }
        }
    }
}

/// Every route of `machine`, nested states included, in document order.
pub fn routes(machine: &StateMachine) -> Vec<Route> {
    let mut routes = Vec::new();
    for visit in machine.all_states() {
        let (name, state) = (visit.name.to_owned(), visit.state);
        if let State::Choice(choice) = state {
            routes.extend(
                choice
                    .choices
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| Route::Choice {
                        state: name.clone(),
                        rule: Some(i),
                        next: rule.next.clone(),
                    }),
            );
            routes.extend(choice.default.iter().map(|next| Route::Choice {
                state: name.clone(),
                rule: None,
                next: next.clone(),
            }));
        }
        let retriers = match state {
            State::Task(s) => s.retry.len(),
            State::Parallel(s) => s.retry.len(),
            State::Map(s) => s.retry.len(),
            _ => 0,
        };
        routes.extend((0..retriers).map(|retrier| Route::RetryExhausted {
            state: name.clone(),
            retrier,
        }));
        routes.extend(
            state
                .catchers()
                .iter()
                .enumerate()
                .map(|(catcher, c)| Route::Catch {
                    state: name.clone(),
                    catcher,
                    next: c.next.clone(),
                }),
        );
    }
    routes
}
