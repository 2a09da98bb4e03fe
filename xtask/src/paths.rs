//! `cargo xtask paths`: every route through ImageProcessing (each Choice
//! rule, each catcher, each retrier run out) and the simulator scenarios of
//! `infra::scenarios` that take it. A route no scenario takes fails the
//! command, and so `cargo xtask ci`.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Serialize;
use sim::Simulator;
use sim::coverage::{self, Route};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the routes and their scenarios as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Covered {
    route: String,
    scenarios: Vec<&'static str>,
}

pub fn run(args: Args) -> Result<()> {
    let machine = infra::pipeline::definition();
    let mut taken: BTreeMap<Route, Vec<&'static str>> = BTreeMap::new();
    for scenario in infra::scenarios::all() {
        let execution = Simulator::new(&scenario.mocks)
            .run(&machine, infra::scenarios::input("incoming/photo.jpg"));
        for route in execution.routes {
            let names = taken.entry(route).or_default();
            if !names.contains(&scenario.name) {
                names.push(scenario.name);
            }
        }
    }
    let routes: Vec<Covered> = coverage::routes(&machine)
        .into_iter()
        .map(|route| Covered {
            scenarios: taken.remove(&route).unwrap_or_default(),
            route: route.to_string(),
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&routes)?);
    } else {
        for r in &routes {
            let by = if r.scenarios.is_empty() {
                "NONE".to_owned()
            } else {
                r.scenarios.join(", ")
            };
            println!("{:<58} {by}", r.route);
        }
    }
    let missing: Vec<&str> = routes
        .iter()
        .filter(|r| r.scenarios.is_empty())
        .map(|r| r.route.as_str())
        .collect();
    eprintln!(
        "paths: {} routes, {} without a scenario",
        routes.len(),
        missing.len()
    );
    if !missing.is_empty() {
        bail!(
            "no simulator scenario takes {}; add one to infra/src/scenarios.rs",
            missing.join(", ")
        );
    }
    Ok(())
}
