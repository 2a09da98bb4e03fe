//! Every route of ImageProcessing, taken in the simulator: no Docker, no
//! AWS, the whole set in milliseconds.

use std::collections::BTreeMap;

use infra::scenarios::{self, Scenario};
use serde::Serialize;
use sim::{Simulator, coverage};

#[derive(Serialize)]
struct Ran {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    path: Vec<String>,
}

fn run(scenario: &Scenario) -> sim::Execution {
    Simulator::new(&scenario.mocks).run(
        &infra::pipeline::definition(),
        scenarios::input("incoming/photo.jpg"),
    )
}

#[test]
fn every_scenario_ends_as_it_should() {
    let mut wrong = Vec::new();
    let mut paths = BTreeMap::new();
    for scenario in scenarios::all() {
        let execution = run(&scenario);
        let error = execution.failure.as_ref().map(|f| f.error.clone());
        if execution.status != scenario.status || error.as_deref() != scenario.error {
            wrong.push(format!(
                "{}: expected {:?} {:?}, got {:?} {:?}",
                scenario.name, scenario.status, scenario.error, execution.status, execution.failure
            ));
        }
        paths.insert(
            scenario.name,
            Ran {
                status: execution.status.as_str(),
                error,
                path: execution.path().into_iter().map(str::to_owned).collect(),
            },
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    insta::assert_yaml_snapshot!("simulated_paths", paths);
}

#[test]
fn every_route_has_a_scenario() {
    let machine = infra::pipeline::definition();
    let mut taken = std::collections::BTreeSet::new();
    for scenario in scenarios::all() {
        taken.extend(run(&scenario).routes);
    }
    let missing: Vec<String> = coverage::routes(&machine)
        .into_iter()
        .filter(|route| !taken.contains(route))
        .map(|route| route.to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "routes no scenario takes:\n{}",
        missing.join("\n")
    );
}
