//! `cargo xtask sync [--watch]`: the inner loop against a deployed stack,
//! skipping CloudFormation where it can. The functions are built with the
//! `sync` profile (incremental, many codegen units) and a function whose zip
//! differs from its deployed code gets it with UpdateFunctionCode; a state
//! machine whose definition alone changed gets it with UpdateStateMachine;
//! any other change to the template goes through a change set, as `deploy`
//! makes it. The stack's template and code-key parameters are left as they
//! were, so the next `deploy` puts the release build back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LastUpdateStatus;
use infra::stack::LAMBDAS;
use serde_json::Value;
use xtask::build::{self, BuiltFunction, Profile};
use xtask::cli::SyncArgs;

use crate::deploy::{self, explain};

pub fn run(args: SyncArgs) -> Result<()> {
    deploy::runtime()?.block_on(async {
        let config = deploy::sdk_config(&args.target).await;
        let stack_name = args.stack.name();
        let settings = deploy::deployed_settings(&config, &stack_name).await?;
        let started = Instant::now();
        sync(&config, &stack_name, &settings, Scope::Everything).await?;
        eprintln!("sync: done in {:.1} s", started.elapsed().as_secs_f64());
        if args.watch {
            watch(&config, &stack_name, &settings).await?;
        }
        Ok(())
    })
}

/// What a round looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Functions,
    Everything,
}

/// One round: build, then update what changed.
pub async fn sync(
    config: &SdkConfig,
    stack_name: &str,
    settings: &deploy::Settings,
    scope: Scope,
) -> Result<()> {
    let arm64 = settings.arch == build::Arch::Arm64;
    let args = build::Args {
        arm64,
        packages: Vec::new(),
    };
    let functions = build::run_with(args, Profile::Sync)?;
    if scope == Scope::Everything {
        if template_differs_beyond_definitions(config, stack_name).await? {
            eprintln!(
                "sync: the template changed beyond the state machines' definitions: deploying a change set"
            );
            deploy::deploy(config, stack_name, &functions, settings).await?;
            return Ok(());
        }
        update_definitions(config, stack_name).await?;
    }
    update_functions(config, stack_name, &functions).await
}

/// Replaces the code of every function whose deployed zip is not this one:
/// `sync`'s update, and `deploy`'s repair of what `sync` left.
pub async fn update_functions(
    config: &SdkConfig,
    stack_name: &str,
    functions: &[BuiltFunction],
) -> Result<()> {
    let lambda = aws_sdk_lambda::Client::new(config);
    for package in LAMBDAS {
        let built = functions
            .iter()
            .find(|f| f.name == package.package)
            .with_context(|| format!("the build made no zip for {}", package.package))?;
        let name = deploy::physical_id(config, stack_name, package.logical_id).await?;
        let deployed = configuration(&lambda, &name).await?;
        if deployed.code_sha256() == Some(code_sha256(built).as_str()) {
            continue;
        }
        let started = Instant::now();
        let zip = std::fs::read(&built.zip)
            .with_context(|| format!("failed to read {}", built.zip.display()))?;
        lambda
            .update_function_code()
            .function_name(&name)
            .zip_file(Blob::new(zip))
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to update the code of {name}"))?;
        wait_until_updated(&lambda, &name).await?;
        eprintln!(
            "{}: code of {} replaced ({} bytes) in {:.1} s",
            package.package,
            name,
            built.size,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// A deployed function's configuration (code hash, update status, logging).
pub async fn configuration(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> Result<aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput> {
    lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to read the configuration of {name}"))
}

async fn wait_until_updated(lambda: &aws_sdk_lambda::Client, name: &str) -> Result<()> {
    loop {
        let configuration = configuration(lambda, name).await?;
        match configuration.last_update_status() {
            Some(LastUpdateStatus::InProgress) => {}
            Some(LastUpdateStatus::Failed) => bail!(
                "Lambda failed to update {name}: {}",
                configuration
                    .last_update_status_reason()
                    .unwrap_or("no reason given")
            ),
            _ => return Ok(()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `CodeSha256` Lambda gives a function with this zip: the digest in base64.
pub fn code_sha256(built: &BuiltFunction) -> String {
    let hex = &built.sha256;
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    aws_smithy_types::base64::encode(bytes)
}

/// The template as synthesized and as deployed, each without the state
/// machines' `DefinitionString`s, and whether the two differ.
async fn template_differs_beyond_definitions(config: &SdkConfig, stack_name: &str) -> Result<bool> {
    let (deployed, _) = without_definitions(deploy::deployed_template(config, stack_name).await?);
    let (wanted, _) = without_definitions(serde_json::from_str(&deploy::template_body()?)?);
    Ok(deployed != wanted)
}

/// Takes each state machine's `DefinitionString` out of `template`.
fn without_definitions(mut template: Value) -> (Value, BTreeMap<String, String>) {
    let mut definitions = BTreeMap::new();
    if let Some(resources) = template["Resources"].as_object_mut() {
        for (id, resource) in resources {
            if resource["Type"] != "AWS::StepFunctions::StateMachine" {
                continue;
            }
            let taken = resource["Properties"]
                .as_object_mut()
                .and_then(|p| p.remove("DefinitionString"));
            if let Some(Value::String(definition)) = taken {
                definitions.insert(id.clone(), definition);
            }
        }
    }
    (template, definitions)
}

/// Puts each state machine's new definition in place with UpdateStateMachine,
/// its `${…}` substitutions filled with the values the deployed one has.
async fn update_definitions(config: &SdkConfig, stack_name: &str) -> Result<()> {
    let (_, deployed) = without_definitions(deploy::deployed_template(config, stack_name).await?);
    let (_, wanted) = without_definitions(serde_json::from_str(&deploy::template_body()?)?);
    let sfn = aws_sdk_sfn::Client::new(config);
    for (id, definition) in &wanted {
        let arn = deploy::physical_id(config, stack_name, id).await?;
        let described = sfn
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to read the definition of {arn}"))?;
        let current: Value = serde_json::from_str(described.definition())
            .with_context(|| format!("the definition of {arn} is not JSON"))?;
        let values = deployed
            .get(id)
            .and_then(|template| serde_json::from_str(template).ok())
            .map(|template| substitutions(&template, &current))
            .unwrap_or_default();
        let new = substitute(definition, &values).with_context(|| {
            format!("cannot fill in the new definition of {id}: deploy with `cargo xtask deploy`")
        })?;
        if serde_json::from_str::<Value>(&new).ok().as_ref() == Some(&current) {
            continue;
        }
        let started = Instant::now();
        sfn.update_state_machine()
            .state_machine_arn(&arn)
            .definition(&new)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to update the definition of {arn}"))?;
        eprintln!(
            "sync: {id} definition updated in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The value of each `${Name}` of `template` in `resolved`, which is the
/// same JSON with CloudFormation's substitutions made.
fn substitutions(template: &Value, resolved: &Value) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    collect(template, resolved, &mut values);
    values
}

fn collect(template: &Value, resolved: &Value, values: &mut BTreeMap<String, String>) {
    match (template, resolved) {
        (Value::String(pattern), Value::String(text)) => match_placeholders(pattern, text, values),
        (Value::Array(a), Value::Array(b)) => {
            a.iter().zip(b).for_each(|(a, b)| collect(a, b, values));
        }
        (Value::Object(a), Value::Object(b)) => {
            for (key, a) in a {
                if let Some(b) = b.get(key) {
                    collect(a, b, values);
                }
            }
        }
        _ => {}
    }
}

/// Matches `a${X}b${Y}` against `text`, each placeholder taking what lies
/// before the next literal.
fn match_placeholders(pattern: &str, text: &str, values: &mut BTreeMap<String, String>) {
    let Some((literal, mut rest)) = pattern.split_once("${") else {
        return;
    };
    let Some(mut text) = text.strip_prefix(literal) else {
        return;
    };
    while let Some((name, after)) = rest.split_once('}') {
        let (literal, next) = after.split_once("${").unwrap_or((after, ""));
        let end = if next.is_empty() && literal.is_empty() {
            text.len()
        } else if next.is_empty() {
            match text.strip_suffix(literal) {
                Some(value) => value.len(),
                None => return,
            }
        } else {
            match text.find(literal) {
                Some(end) if !literal.is_empty() => end,
                _ => return,
            }
        };
        values.insert(name.to_owned(), text[..end].to_owned());
        text = &text[end + literal.len()..];
        if next.is_empty() {
            return;
        }
        rest = next;
    }
}

/// `definition` with every `${Name}` replaced; an error names those it has no value for.
fn substitute(definition: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    let mut unknown = Vec::new();
    while let Some((before, after)) = rest.split_once("${") {
        out.push_str(before);
        let Some((name, after)) = after.split_once('}') else {
            bail!("an unclosed ${{ in the definition");
        };
        match values.get(name) {
            // The values sit inside JSON strings: escape them as such.
            Some(value) => {
                let quoted = serde_json::to_string(value)?;
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            None => unknown.push(name),
        }
        rest = after;
    }
    out.push_str(rest);
    if !unknown.is_empty() {
        bail!(
            "the deployed definition gives no value for {}",
            unknown.join(", ")
        );
    }
    Ok(out)
}

/// Runs a round whenever a source file is saved. Function code alone is
/// synced in this process; a change that may touch the template (infra,
/// asl, sim, the shared crate, the manifests) runs `sync` anew, so that the
/// definitions come from the code as saved.
async fn watch(config: &SdkConfig, stack_name: &str, settings: &deploy::Settings) -> Result<()> {
    let root = xtask::project_root();
    eprintln!("sync: watching lambdas/, infra/, asl/ and sim/ (Ctrl-C stops)");
    let mut seen = sources(&root);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = sources(&root);
        let changed: Vec<&PathBuf> = now
            .iter()
            .filter(|(path, time)| seen.get(*path) != Some(time))
            .map(|(path, _)| path)
            .chain(seen.keys().filter(|path| !now.contains_key(*path)))
            .collect();
        if changed.is_empty() {
            continue;
        }
        let saved = changed
            .iter()
            .filter_map(|path| now.get(*path))
            .max()
            .copied()
            .unwrap_or_else(SystemTime::now);
        let shown: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
        eprintln!("sync: {} changed", shown.join(", "));
        let template = changed.iter().any(|path| may_change_template(path));
        let round = if template {
            rerun(&root).await
        } else {
            sync(config, stack_name, settings, Scope::Functions).await
        };
        match round {
            Ok(()) => eprintln!(
                "sync: live {:.1} s after the save",
                saved.elapsed().unwrap_or_default().as_secs_f64()
            ),
            // A compile error or a refused update: say so and keep watching.
            Err(error) => eprintln!("sync: {error:#}"),
        }
        seen = sources(&root);
    }
}

fn may_change_template(path: &Path) -> bool {
    ["infra", "asl", "sim", "lambdas/shared"]
        .iter()
        .any(|dir| path.starts_with(dir))
        || path.components().count() == 1
}

/// This command again, without `--watch`, rebuilt by cargo if it must be.
async fn rerun(root: &Path) -> Result<()> {
    let args: Vec<_> = std::env::args_os()
        .skip(1)
        .filter(|a| a.to_str() != Some("--watch"))
        .collect();
    let status = xtask::cargo_command(env!("CARGO"))
        .args(["run", "--quiet", "--package", "xtask-aws", "--"])
        .args(args)
        .current_dir(root)
        .status()
        .context("failed to run cargo for xtask-aws")?;
    if !status.success() {
        bail!("sync failed ({status})");
    }
    Ok(())
}

/// Every Rust source and manifest the stack is built from, relative to the
/// root, with when it was last written.
fn sources(root: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut files = BTreeMap::new();
    for top in ["lambdas", "infra", "asl", "sim", "Cargo.toml", "Cargo.lock"] {
        walk(root, &root.join(top), &mut files);
    }
    files
}

fn walk(root: &Path, path: &Path, files: &mut BTreeMap<PathBuf, SystemTime>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let skip = ["target", "generated", "snapshots", "tests", "benches"];
        if path
            .file_name()
            .is_some_and(|n| skip.iter().any(|s| n == *s))
        {
            return;
        }
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            walk(root, &entry.path(), files);
        }
    } else if (path.extension().is_some_and(|e| e == "rs" || e == "toml")
        || path.file_name().is_some_and(|n| n == "Cargo.lock"))
        && let (Ok(relative), Ok(modified)) = (path.strip_prefix(root), meta.modified())
    {
        files.insert(relative.to_owned(), modified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutions_are_read_back_from_the_deployed_definition() {
        let template = json!({"States": {"A": {"Resource": "${Fn}", "Parameters": {
            "TableName": "${Table}", "Key": "arn:aws:s3:::${Bucket}/incoming/*"}}}});
        let resolved = json!({"States": {"A": {"Resource": "arn:aws:lambda:us-east-1:1:function:f", "Parameters": {
            "TableName": "t-1", "Key": "arn:aws:s3:::photos/incoming/*"}}}});
        let values = substitutions(&template, &resolved);
        assert_eq!(values["Fn"], "arn:aws:lambda:us-east-1:1:function:f");
        assert_eq!(values["Table"], "t-1");
        assert_eq!(values["Bucket"], "photos");
        let filled =
            substitute(r#"{"R":"${Fn}","T":"${Table}"}"#, &values).expect("every value known");
        assert_eq!(
            filled,
            r#"{"R":"arn:aws:lambda:us-east-1:1:function:f","T":"t-1"}"#
        );
    }

    #[test]
    fn a_new_placeholder_is_named() {
        let error = substitute(r#"{"R":"${New}"}"#, &BTreeMap::new()).expect_err("no value");
        assert!(error.to_string().contains("New"), "{error}");
    }

    #[test]
    fn two_placeholders_in_one_string() {
        let mut values = BTreeMap::new();
        match_placeholders("${A}-x-${B}", "one-x-two", &mut values);
        assert_eq!(
            values,
            BTreeMap::from([("A".into(), "one".into()), ("B".into(), "two".into())])
        );
    }
}
