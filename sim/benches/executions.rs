//! `cargo bench -p sim`: executions per second of ImageProcessing in the
//! simulator, on one thread: the success path, a refusal, and a run whose
//! first task fails twice before it succeeds (so retries and their
//! backoff on the virtual clock are in the figure).
//!
//! A benchmark, not a test: it prints numbers and asserts nothing about them.

use std::time::{Duration, Instant};

use infra::scenarios;
use sim::Simulator;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let machine = infra::pipeline::definition();
    let input = scenarios::input("incoming/photo.jpg");
    println!(
        "{:<28} {:>12} {:>10} {:>8}",
        "SCENARIO", "EXECUTIONS/S", "µS EACH", "EVENTS"
    );
    for name in [
        "jpeg_is_processed",
        "gif_is_refused",
        "transient_error_is_retried",
    ] {
        let scenario = scenarios::all()
            .into_iter()
            .find(|s| s.name == name)
            .expect("a scenario of infra::scenarios");
        let simulator = Simulator::new(&scenario.mocks);
        let events = simulator.run(&machine, input.clone()).events.len();
        let (mut runs, started) = (0u32, Instant::now());
        while started.elapsed() < Duration::from_secs(2) {
            std::hint::black_box(simulator.run(&machine, input.clone()));
            runs += 1;
        }
        let each = started.elapsed() / runs;
        println!(
            "{name:<28} {:>12.0} {:>10.1} {events:>8}",
            f64::from(runs) / started.elapsed().as_secs_f64(),
            each.as_secs_f64() * 1e6
        );
    }
}
