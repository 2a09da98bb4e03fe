//! `cargo bench -p sim`: executions per second of ImageProcessing in the
//! simulator, on one thread: the success path, a refusal, and a run whose
//! first task fails twice before it succeeds (so retries and their
//! backoff on the virtual clock are in the figure).
//!
//! A benchmark, not a test: it prints numbers and asserts nothing about them.
//! On shared cores a rate wanders by a fifth from one second to the next, so
//! each scenario runs for twenty windows of 0.1 s and the median and best
//! windows are printed. `SIM_BENCH_RUNS=N` runs each scenario exactly N times
//! instead, for `valgrind --tool=callgrind`, whose instruction counts do not
//! wander.

use std::time::{Duration, Instant};

use infra::scenarios;
use sim::Simulator;

const WINDOWS: usize = 20;
const WINDOW: Duration = Duration::from_millis(100);

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let fixed: Option<u32> = std::env::var("SIM_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok());
    let machine = infra::pipeline::definition();
    let input = scenarios::input("incoming/photo.jpg");
    println!(
        "{:<28} {:>14} {:>12} {:>10} {:>8}",
        "SCENARIO", "MEDIAN EXEC/S", "BEST EXEC/S", "µS MEDIAN", "EVENTS"
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
        let run = || std::hint::black_box(simulator.run(&machine, input.clone()));
        if let Some(n) = fixed {
            (0..n).for_each(|_| drop(run()));
            continue;
        }
        let mut rates: Vec<f64> = (0..WINDOWS)
            .map(|_| {
                let (mut runs, started) = (0u32, Instant::now());
                while started.elapsed() < WINDOW {
                    drop(run());
                    runs += 1;
                }
                f64::from(runs) / started.elapsed().as_secs_f64()
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        let median = rates[WINDOWS / 2];
        println!(
            "{name:<28} {median:>14.0} {:>12.0} {:>10.1} {events:>8}",
            rates[WINDOWS - 1],
            1e6 / median
        );
    }
}
