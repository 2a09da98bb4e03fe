//! CloudFormation as Rust types, and the photopipe stack written with them.
//!
//! Architecture invariant: this crate is pure data. It builds documents and
//! renders them to strings; it never reads or writes files, calls AWS or
//! runs programs. `xtask` decides where the rendered documents go.

pub mod backfill;
pub mod cfn;
pub mod permissions;
pub mod pipeline;
pub mod resources;
pub mod scenarios;
pub mod stack;
mod yaml;

pub use cfn::{Template, TemplateError};

/// A generated file, relative to the workspace root, and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: &'static str,
    pub contents: String,
}

/// Where `cargo xtask synth` writes each artifact.
pub const TEMPLATE_PATH: &str = "infra/generated/template.yaml";
pub const DEFINITION_PATH: &str = "infra/generated/image-processing.asl.json";
pub const DIAGRAM_PATH: &str = "infra/generated/image-processing.mmd";
pub const BACKFILL_DEFINITION_PATH: &str = "infra/generated/image-backfill.asl.json";
pub const BACKFILL_DIAGRAM_PATH: &str = "infra/generated/image-backfill.mmd";

/// Every generated artifact of the stack, rendered deterministically.
pub fn artifacts() -> Result<Vec<Artifact>, Vec<TemplateError>> {
    let template = stack::template()?.to_yaml()?;
    let mut artifacts = vec![Artifact {
        path: TEMPLATE_PATH,
        contents: template,
    }];
    let machines = [
        (
            pipeline::STATE_MACHINE_NAME,
            pipeline::definition(),
            DEFINITION_PATH,
            DIAGRAM_PATH,
        ),
        (
            backfill::STATE_MACHINE_NAME,
            backfill::definition(),
            BACKFILL_DEFINITION_PATH,
            BACKFILL_DIAGRAM_PATH,
        ),
    ];
    for (name, definition, json_path, diagram_path) in machines {
        let mut json =
            serde_json::to_string_pretty(&definition).map_err(|e| pipeline::unwritable(name, e))?;
        json.push('\n');
        artifacts.push(Artifact {
            path: json_path,
            contents: json,
        });
        artifacts.push(Artifact {
            path: diagram_path,
            contents: asl::to_mermaid(&definition),
        });
    }
    Ok(artifacts)
}
