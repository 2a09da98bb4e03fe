//! CloudFormation as Rust types, and the photopipe stack written with them.
//!
//! Architecture invariant: this crate is pure data. It builds documents and
//! renders them to strings; it never reads or writes files, calls AWS or
//! runs programs. `xtask` decides where the rendered documents go.

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

/// Every generated artifact of the stack, rendered deterministically.
pub fn artifacts() -> Result<Vec<Artifact>, Vec<TemplateError>> {
    let template = stack::template()?.to_yaml()?;
    let definition = pipeline::definition();
    let mut json = serde_json::to_string_pretty(&definition).map_err(pipeline::unwritable)?;
    json.push('\n');
    Ok(vec![
        Artifact {
            path: TEMPLATE_PATH,
            contents: template,
        },
        Artifact {
            path: DEFINITION_PATH,
            contents: json,
        },
        Artifact {
            path: DIAGRAM_PATH,
            contents: asl::to_mermaid(&definition),
        },
    ])
}
