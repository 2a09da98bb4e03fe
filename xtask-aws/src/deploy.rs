//! `cargo xtask deploy` and `cargo xtask destroy`: one code path for AWS and
//! LocalStack. Zips go to an artifacts bucket under content-addressed keys;
//! the stack is created or updated through a change set whose events are
//! streamed until it settles.

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, StackStatus, Tag};
use aws_sdk_cloudformation::{Client as Cfn, types::Parameter};
use aws_sdk_s3::Client as S3;
use aws_sdk_s3::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use infra::stack::{self, LAMBDAS};
use serde_json::Value;

use xtask::build::{self, Arch, BuiltFunction};
pub use xtask::cli::{DeployArgs, DestroyArgs, OutputsArgs, Target};

use crate::review;

/// The SDK configuration for `target`: the SDK's own chains for
/// credentials, region and endpoints, with what the command line says on
/// top. Only when the endpoint is on this machine and the chain finds no
/// credentials at all are LocalStack's `test` credentials used, so a
/// default profile or an SSO session is never silently replaced.
pub async fn sdk_config(target: &Target) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &target.region {
        loader = loader.region(Region::new(region.clone()));
    }
    // Set in code it outranks `AWS_ENDPOINT_URL_<SERVICE>`, so only a flag
    // given on the command line is set here; the SDK reads the variables.
    if let Some(endpoint) = &target.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let mut config = loader.load().await;
    if config.region().is_none() {
        config = config
            .into_builder()
            .region(Region::from_static("us-east-1"))
            .build();
    }
    if local_endpoint(&config) && !finds_credentials(&config).await {
        // LocalStack and MiniStack accept any credentials.
        config = config
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test",
                "test",
                None,
                None,
                "localstack",
            )))
            .build();
    }
    config
}

/// Whether every endpoint the clients will use is on this machine: the
/// configuration's own, or else each `AWS_ENDPOINT_URL_<SERVICE>`.
fn local_endpoint(config: &SdkConfig) -> bool {
    let is_local = |url: &str| {
        let host = url.split("://").nth(1).unwrap_or(url);
        let host = host.split(['/', '?']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        matches!(host, "localhost" | "[::1]" | "::1")
            || host.ends_with(".localhost")
            || host.starts_with("127.")
    };
    match config.endpoint_url() {
        Some(url) => is_local(url),
        None => {
            let services: Vec<String> = std::env::vars()
                .filter(|(k, _)| k.starts_with("AWS_ENDPOINT_URL_"))
                .map(|(_, v)| v)
                .collect();
            !services.is_empty() && services.iter().all(|url| is_local(url))
        }
    }
}

/// Whether the configured credentials chain yields credentials. It may ask
/// the instance metadata service, which on a laptop only times out.
async fn finds_credentials(config: &SdkConfig) -> bool {
    let Some(provider) = config.credentials_provider() else {
        return false;
    };
    let lookup = provider.provide_credentials();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), lookup).await,
        Ok(Ok(_))
    )
}

// The functions' client, so that xtask and the functions agree on addressing;
// the integration tests reach it through here.
pub use photopipe_s3::s3_client;

/// A deployed stack.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub stack_name: String,
    pub outputs: BTreeMap<String, String>,
    /// False when the deploy found nothing to change.
    pub changed: bool,
}

impl Deployment {
    pub fn output(&self, key: &str) -> Result<&str> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("stack {} has no output {key}", self.stack_name))
    }
}

pub fn run_deploy(args: DeployArgs) -> Result<ExitCode> {
    let arch = if args.arm64 {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
    let functions = match &args.zips {
        Some(dir) => {
            let names: Vec<&str> = LAMBDAS.iter().map(|l| l.package).collect();
            build::from_dir(dir, &names, arch)?
        }
        None => build::run(build::Args {
            arm64: args.arm64,
            packages: Vec::new(),
        })?,
    };
    runtime()?.block_on(async {
        let config = sdk_config(&args.target).await;
        let stack_name = &args.stack.name();
        let mut settings = Settings::for_stage(&args.stack.stage);
        settings.arch = arch;
        settings.reserved_concurrency = args.reserved_concurrency;
        settings.tags.extend(args.tags.iter().cloned());
        let plan = plan(&config, stack_name, &functions, &settings).await?;
        let pending = match plan {
            Plan::UpToDate(deployment) => {
                if !args.diff {
                    put_back_code(&config, stack_name, &functions).await?;
                    print_outputs(&deployment);
                }
                return Ok(ExitCode::SUCCESS);
            }
            Plan::Changes(pending) => pending,
        };
        let deployed = deployed_definition(&config, stack_name).await?;
        let definition = review::definition_diff(deployed.as_ref(), &new_definition()?);
        let text = review::render(stack_name, &pending.changes, &definition);
        if args.diff {
            print!("{text}");
            pending.discard().await?;
            return Ok(ExitCode::from(2));
        }
        eprint!("{text}");
        let destroyed: Vec<&str> = pending
            .changes
            .iter()
            .filter(|c| c.destroys())
            .map(|c| c.logical_id.as_str())
            .collect();
        if !destroyed.is_empty() {
            let question = format!(
                "this change set removes or replaces {} of stack {stack_name}; execute it? [y/N]",
                destroyed.join(", ")
            );
            if let Err(refused) = review::confirm(&question, &["y", "yes"], args.yes) {
                pending.discard().await?;
                return Err(refused);
            }
        }
        let deployment = pending.execute().await?;
        put_back_code(&config, stack_name, &functions).await?;
        print_outputs(&deployment);
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_destroy(args: DestroyArgs) -> Result<()> {
    let stack_name = &args.stack.name();
    if args.delete_data {
        review::confirm(
            &format!(
                "destroy deletes stack {stack_name} AND its photo bucket with every photo, thumbnail and version, and the ImageMetadata table; type the stack name to confirm:"
            ),
            &[stack_name.as_str()],
            args.yes,
        )?;
    } else {
        review::confirm(
            &format!(
                "destroy deletes stack {stack_name} (its functions, state machine, queue and roles; the photo bucket and table are kept); go ahead? [y/N]"
            ),
            &["y", "yes"],
            args.yes,
        )?;
    }
    runtime()?.block_on(async {
        let config = sdk_config(&args.target).await;
        destroy(&config, stack_name, args.delete_data).await
    })
}

pub fn run_outputs(args: OutputsArgs) -> Result<()> {
    runtime()?.block_on(async {
        let config = sdk_config(&args.target).await;
        let deployment = deployed(&config, &args.stack.name()).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&deployment.outputs)?);
        } else {
            print_outputs(&deployment);
        }
        Ok(())
    })
}

/// The state machine's definition as deployed, with CloudFormation's
/// substitutions made; `None` when the stack does not exist yet.
pub async fn deployed_definition(config: &SdkConfig, stack_name: &str) -> Result<Option<Value>> {
    let Some(stack) = describe(&Cfn::new(config), stack_name).await? else {
        return Ok(None);
    };
    let deployment = deployment(stack_name, &stack, false);
    let Ok(arn) = deployment.output(stack::outputs::STATE_MACHINE) else {
        return Ok(None);
    };
    let described = aws_sdk_sfn::Client::new(config)
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to read the definition of {arn}"))?;
    serde_json::from_str(described.definition())
        .map(Some)
        .context("the deployed definition is not JSON")
}

pub fn new_definition() -> Result<Value> {
    serde_json::to_value(infra::pipeline::definition()).context("failed to render the definition")
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

fn print_outputs(deployment: &Deployment) {
    println!("stack {} outputs:", deployment.stack_name);
    for (key, value) in &deployment.outputs {
        println!("  {key} = {value}");
    }
}

/// How to deploy, beside what: the functions' architecture, their reserved
/// concurrency, and the stack's tags (which CloudFormation puts on every
/// resource that takes tags).
#[derive(Debug, Clone)]
pub struct Settings {
    pub arch: Arch,
    pub reserved_concurrency: Option<u32>,
    pub tags: Vec<(String, String)>,
}

/// The tag that names a resource's stage.
pub const STAGE_TAG: &str = "photopipe:stage";

impl Settings {
    /// x86_64, nothing reserved, and the stage's tag.
    pub fn for_stage(stage: &str) -> Settings {
        Settings {
            arch: Arch::X86_64,
            reserved_concurrency: None,
            tags: vec![(STAGE_TAG.to_owned(), stage.to_owned())],
        }
    }

    fn sdk_tags(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect()
    }
}

/// Uploads the zips and creates or updates the stack.
pub async fn deploy(
    config: &SdkConfig,
    stack_name: &str,
    functions: &[BuiltFunction],
    settings: &Settings,
) -> Result<Deployment> {
    let deployment = match plan(config, stack_name, functions, settings).await? {
        Plan::UpToDate(deployment) => deployment,
        Plan::Changes(pending) => pending.execute().await?,
    };
    put_back_code(config, stack_name, functions).await?;
    Ok(deployment)
}

/// CloudFormation updates a function's code only when its key changes, so
/// code that `cargo xtask sync` put in place would outlive every deploy:
/// each function whose code is not the deployed zip gets it back.
async fn put_back_code(
    config: &SdkConfig,
    stack_name: &str,
    functions: &[BuiltFunction],
) -> Result<()> {
    crate::sync::update_functions(config, stack_name, functions).await
}

/// What deploying would do: nothing, or a change set ready to execute.
#[derive(Debug)]
pub enum Plan<'a> {
    UpToDate(Deployment),
    Changes(Pending<'a>),
}

/// A created change set, not yet executed.
#[derive(Debug)]
pub struct Pending<'a> {
    cfn: Cfn,
    change_set: ChangeSet<'a>,
    kind: ChangeSetType,
    pub changes: Vec<review::Change>,
}

impl Pending<'_> {
    /// Executes the change set, streaming the stack's events until it settles.
    pub async fn execute(self) -> Result<Deployment> {
        self.change_set.execute(&self.cfn).await
    }

    /// Deletes the change set unexecuted, and the empty stack a first
    /// change set made, so nothing is left behind.
    pub async fn discard(self) -> Result<()> {
        let stack_name = self.change_set.stack_name;
        self.cfn
            .delete_change_set()
            .stack_name(stack_name)
            .change_set_name(&self.change_set.name)
            .send()
            .await
            .map_err(explain)
            .context("failed to delete the change set")?;
        if self.kind == ChangeSetType::Create {
            self.cfn
                .delete_stack()
                .stack_name(stack_name)
                .send()
                .await
                .map_err(explain)
                .context("failed to delete the stack the change set was for")?;
        }
        Ok(())
    }
}

/// Uploads the zips and creates a change set for the stack, unless the
/// stack already has this template and these parameters.
pub async fn plan<'a>(
    config: &SdkConfig,
    stack_name: &'a str,
    functions: &[BuiltFunction],
    settings: &Settings,
) -> Result<Plan<'a>> {
    let cfn = Cfn::new(config);
    let arch = settings.arch;
    let artifacts = upload_artifacts(config, functions, arch).await?;
    let mut parameters = vec![
        parameter(stack::ARTIFACTS_BUCKET_PARAMETER, &artifacts.bucket),
        parameter(stack::ARCHITECTURE_PARAMETER, arch.lambda_name()),
        parameter(
            stack::RESERVED_CONCURRENCY_PARAMETER,
            &settings
                .reserved_concurrency
                .map_or_else(|| "none".to_owned(), |n| n.to_string()),
        ),
    ];
    parameters.extend(artifacts.code_keys);
    let body = template_body()?;
    let kind = change_set_type(&cfn, stack_name).await?;
    let tags = settings.sdk_tags();
    if kind == ChangeSetType::Update
        && unchanged(&cfn, stack_name, &body, &parameters, &tags).await?
    {
        eprintln!("deploy: no changes; stack {stack_name} is up to date");
        return finish(&cfn, stack_name, false).await.map(Plan::UpToDate);
    }
    let change_set = ChangeSet {
        stack_name,
        name: format!(
            "photopipe-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default()
        ),
    };
    match change_set
        .create(&cfn, kind.clone(), &body, parameters, tags)
        .await?
    {
        Some(changes) => Ok(Plan::Changes(Pending {
            cfn,
            change_set,
            kind,
            changes,
        })),
        None => {
            eprintln!("deploy: no changes; stack {stack_name} is up to date");
            finish(&cfn, stack_name, false).await.map(Plan::UpToDate)
        }
    }
}

/// The artifacts bucket and, per function, the parameter naming its zip's key.
struct Artifacts {
    bucket: String,
    code_keys: Vec<Parameter>,
}

/// Uploads each function's zip, once, under a content-addressed key in the
/// account's artifacts bucket (created when missing).
async fn upload_artifacts(
    config: &SdkConfig,
    functions: &[BuiltFunction],
    arch: Arch,
) -> Result<Artifacts> {
    let s3 = s3_client(config);
    let region = config
        .region()
        .map(ToString::to_string)
        .context("no AWS region configured: pass --region or set AWS_REGION")?;
    let account = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(explain)
        .context(
            "failed to identify the AWS account: check your credentials (--profile) and region",
        )?
        .account
        .context("STS named no account for these credentials")?;
    let bucket = format!("photopipe-artifacts-{account}-{region}");
    ensure_bucket(&s3, &bucket, &region).await?;
    let mut code_keys = Vec::new();
    for lambda in LAMBDAS {
        let function = functions
            .iter()
            .find(|f| f.name == lambda.package)
            .with_context(|| {
                format!("`cargo xtask build` produced no zip for {}", lambda.package)
            })?;
        let key = format!(
            "lambdas/{}/{}/{}.zip",
            lambda.package,
            arch.lambda_name(),
            function.sha256
        );
        upload_once(&s3, &bucket, &key, function).await?;
        code_keys.push(parameter(lambda.code_key_parameter, &key));
    }
    Ok(Artifacts { bucket, code_keys })
}

/// The template as CloudFormation gets it: JSON rather than YAML, since
/// YAML 1.1 parsers read `2012-10-17` as a date.
pub fn template_body() -> Result<String> {
    let template = stack::template()
        .and_then(|t| t.to_json())
        .map_err(|errors| anyhow::anyhow!("the stack is invalid: {errors:?}"))?;
    serde_json::to_string(&template).context("failed to render the template")
}

/// Create or update, by the stack's state; a stack whose creation failed
/// is deleted first, and a busy one is left alone.
async fn change_set_type(cfn: &Cfn, stack_name: &str) -> Result<ChangeSetType> {
    let existing = describe(cfn, stack_name).await?;
    Ok(match existing.as_ref().and_then(|s| s.stack_status()) {
        None | Some(StackStatus::ReviewInProgress) => ChangeSetType::Create,
        Some(StackStatus::RollbackComplete) => {
            eprintln!("deploy: stack {stack_name} failed to create before; deleting it first");
            cfn.delete_stack()
                .stack_name(stack_name)
                .send()
                .await
                .map_err(explain)
                .context("failed to delete the failed stack")?;
            wait_for_stack(cfn, stack_name, &mut HashSet::new()).await?;
            ChangeSetType::Create
        }
        Some(status) if status.as_str().ends_with("_IN_PROGRESS") => {
            bail!("stack {stack_name} is busy ({status}); wait for it to settle and deploy again")
        }
        Some(_) => ChangeSetType::Update,
    })
}

/// One change set of the stack.
#[derive(Debug)]
struct ChangeSet<'a> {
    stack_name: &'a str,
    name: String,
}

impl ChangeSet<'_> {
    /// Creates the change set and describes its changes; `None` (and the
    /// change set deleted) when there is nothing to change.
    async fn create(
        &self,
        cfn: &Cfn,
        kind: ChangeSetType,
        body: &str,
        parameters: Vec<Parameter>,
        tags: Vec<Tag>,
    ) -> Result<Option<Vec<review::Change>>> {
        let stack_name = self.stack_name;
        eprintln!(
            "deploy: creating change set {} ({kind:?}) for stack {stack_name}",
            self.name
        );
        cfn.create_change_set()
            .stack_name(stack_name)
            .change_set_name(&self.name)
            .change_set_type(kind)
            .template_body(body)
            .set_parameters(Some(parameters))
            .set_tags(Some(tags))
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to create a change set for stack {stack_name}"))?;
        let Some(change_set) = self.created(cfn).await? else {
            return Ok(None);
        };
        Ok(Some(
            change_set
                .changes()
                .iter()
                .filter_map(|c| c.resource_change())
                .map(review::Change::of)
                .collect(),
        ))
    }

    /// Waits for the change set to be computed; `None` when it holds no changes.
    async fn created(
        &self,
        cfn: &Cfn,
    ) -> Result<
        Option<aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput>,
    > {
        loop {
            let cs = cfn
                .describe_change_set()
                .stack_name(self.stack_name)
                .change_set_name(&self.name)
                .send()
                .await
                .map_err(explain)
                .context("failed to describe the change set")?;
            match cs.status() {
                Some(ChangeSetStatus::CreateComplete) => return Ok(Some(cs)),
                Some(ChangeSetStatus::Failed) => {
                    let reason = cs.status_reason().unwrap_or_default().to_owned();
                    let _ = cfn
                        .delete_change_set()
                        .stack_name(self.stack_name)
                        .change_set_name(&self.name)
                        .send()
                        .await;
                    if reason.contains("didn't contain changes") || reason.contains("No updates") {
                        return Ok(None);
                    }
                    bail!(
                        "the change set for stack {} failed: {reason}",
                        self.stack_name
                    );
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// Executes the change set, streaming the stack's events until it settles.
    async fn execute(&self, cfn: &Cfn) -> Result<Deployment> {
        let stack_name = self.stack_name;
        let mut seen = seen_events(cfn, stack_name).await;
        cfn.execute_change_set()
            .stack_name(stack_name)
            .change_set_name(&self.name)
            .send()
            .await
            .map_err(explain)
            .context("failed to execute the change set")?;
        match wait_for_stack(cfn, stack_name, &mut seen).await? {
            Some(StackStatus::CreateComplete | StackStatus::UpdateComplete) => {
                finish(cfn, stack_name, true).await
            }
            other => {
                let failures = failure_reasons(cfn, stack_name).await;
                bail!(
                    "stack {stack_name} did not deploy ({}); CloudFormation rolled it back.\nfailing resources:\n{}",
                    other
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_else(|| "deleted".into()),
                    failures.join("\n")
                )
            }
        }
    }
}

/// An SDK error as the service's code and message (the SDK's own `Display`
/// says only "service error"), or the whole chain for transport failures.
pub fn explain<E, R>(error: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match error.as_service_error() {
        Some(e) if e.code().is_some() || e.message().is_some() => anyhow::anyhow!(
            "{}: {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or("no message")
        ),
        _ => anyhow::anyhow!("{}", DisplayErrorContext(&error)),
    }
}

fn parameter(key: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_key(key)
        .parameter_value(value)
        .build()
}

/// The stack as it is deployed now, for tools that use it without deploying.
pub async fn deployed(config: &SdkConfig, stack_name: &str) -> Result<Deployment> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let stack = describe(&Cfn::new(config), stack_name).await?.with_context(|| {
        format!(
            "stack {stack_name} is not deployed in {region}: deploy it first with `cargo xtask deploy` (with the same --region, --profile or --endpoint-url)"
        )
    })?;
    Ok(deployment(stack_name, &stack, false))
}

/// The template the stack was last deployed with, as JSON.
pub async fn deployed_template(config: &SdkConfig, stack_name: &str) -> Result<Value> {
    let deployed = Cfn::new(config)
        .get_template()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to read the template of stack {stack_name}: deploy it first with `cargo xtask deploy`"))?;
    serde_json::from_str(deployed.template_body().unwrap_or_default())
        .with_context(|| format!("the template of stack {stack_name} is not JSON"))
}

/// The architecture, reserved concurrency and tags the stack was last
/// deployed with, so that a change set made without `deploy`'s flags keeps them.
pub async fn deployed_settings(config: &SdkConfig, stack_name: &str) -> Result<Settings> {
    let stack = describe(&Cfn::new(config), stack_name).await?.with_context(|| {
        format!(
            "stack {stack_name} is not deployed: deploy it first with `cargo xtask deploy` (with the same --region, --profile or --endpoint-url)"
        )
    })?;
    let parameter = |key: &str| {
        stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
    };
    Ok(Settings {
        arch: match parameter(stack::ARCHITECTURE_PARAMETER) {
            Some("arm64") => Arch::Arm64,
            _ => Arch::X86_64,
        },
        reserved_concurrency: parameter(stack::RESERVED_CONCURRENCY_PARAMETER)
            .and_then(|n| n.parse().ok()),
        tags: stack
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
    })
}

/// The physical id (a function's name, a bucket's name) of a resource of the stack.
/// Replaces a function's environment variables.
pub async fn set_environment(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    variables: std::collections::HashMap<String, String>,
) -> Result<()> {
    lambda
        .update_function_configuration()
        .function_name(function)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(variables))
                .build(),
        )
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to set the environment of {function}"))?;
    Ok(())
}

pub async fn physical_id(config: &SdkConfig, stack_name: &str, logical_id: &str) -> Result<String> {
    let out = Cfn::new(config)
        .describe_stack_resource()
        .stack_name(stack_name)
        .logical_resource_id(logical_id)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to describe {logical_id} of stack {stack_name}"))?;
    out.stack_resource_detail()
        .and_then(|d| d.physical_resource_id())
        .map(str::to_owned)
        .with_context(|| format!("{logical_id} of stack {stack_name} has no physical id"))
}

async fn finish(cfn: &Cfn, stack_name: &str, changed: bool) -> Result<Deployment> {
    let stack = describe(cfn, stack_name)
        .await?
        .with_context(|| format!("stack {stack_name} vanished after deploying"))?;
    Ok(deployment(stack_name, &stack, changed))
}

fn deployment(
    stack_name: &str,
    stack: &aws_sdk_cloudformation::types::Stack,
    changed: bool,
) -> Deployment {
    let outputs = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect();
    Deployment {
        stack_name: stack_name.to_owned(),
        outputs,
        changed,
    }
}

/// Whether the deployed stack already has this template, these parameters
/// and these tags.
async fn unchanged(
    cfn: &Cfn,
    stack_name: &str,
    body: &str,
    parameters: &[Parameter],
    tags: &[Tag],
) -> Result<bool> {
    let deployed = cfn
        .get_template()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(explain)
        .context("failed to read the deployed template")?;
    let same_template = deployed
        .template_body()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .zip(serde_json::from_str::<Value>(body).ok())
        .is_some_and(|(a, b)| a == b);
    if !same_template {
        return Ok(false);
    }
    let stack = describe(cfn, stack_name).await?;
    let deployed: BTreeMap<&str, &str> = stack
        .iter()
        .flat_map(|s| s.parameters())
        .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
        .collect();
    let wanted: BTreeMap<&str, &str> = parameters
        .iter()
        .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
        .collect();
    let deployed_tags: BTreeMap<&str, &str> = stack
        .iter()
        .flat_map(|s| s.tags())
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    let wanted_tags: BTreeMap<&str, &str> = tags
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    Ok(deployed == wanted && deployed_tags == wanted_tags)
}

async fn describe(
    cfn: &Cfn,
    stack_name: &str,
) -> Result<Option<aws_sdk_cloudformation::types::Stack>> {
    match cfn.describe_stacks().stack_name(stack_name).send().await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e) => {
            let message = e
                .as_service_error()
                .and_then(|s| s.meta().message())
                .unwrap_or_default();
            if message.contains("does not exist") {
                Ok(None)
            } else {
                Err(anyhow::Error::new(e).context(format!("failed to describe stack {stack_name}")))
            }
        }
    }
}

async fn seen_events(cfn: &Cfn, stack_name: &str) -> HashSet<String> {
    match cfn
        .describe_stack_events()
        .stack_name(stack_name)
        .send()
        .await
    {
        Ok(out) => out
            .stack_events()
            .iter()
            .filter_map(|e| e.event_id().map(str::to_owned))
            .collect(),
        Err(_) => HashSet::new(),
    }
}

/// Prints new stack events until the stack leaves every `*_IN_PROGRESS`
/// state; `None` when the stack is gone.
async fn wait_for_stack(
    cfn: &Cfn,
    stack_name: &str,
    seen: &mut HashSet<String>,
) -> Result<Option<StackStatus>> {
    loop {
        if let Ok(out) = cfn
            .describe_stack_events()
            .stack_name(stack_name)
            .send()
            .await
        {
            let mut fresh: Vec<_> = out
                .stack_events()
                .iter()
                .filter(|e| e.event_id().is_some_and(|id| seen.insert(id.to_owned())))
                .collect();
            fresh.reverse();
            for e in fresh {
                eprintln!(
                    "  {:<40} {:<36} {:<20} {}",
                    e.logical_resource_id().unwrap_or_default(),
                    e.resource_type().unwrap_or_default(),
                    e.resource_status().map(|s| s.as_str()).unwrap_or_default(),
                    e.resource_status_reason().unwrap_or_default()
                );
            }
        }
        let status = describe(cfn, stack_name)
            .await?
            .and_then(|s| s.stack_status().cloned());
        match &status {
            Some(s) if s.as_str().ends_with("_IN_PROGRESS") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ => return Ok(status),
        }
    }
}

async fn failure_reasons(cfn: &Cfn, stack_name: &str) -> Vec<String> {
    let Ok(out) = cfn
        .describe_stack_events()
        .stack_name(stack_name)
        .send()
        .await
    else {
        return vec!["(stack events unavailable)".into()];
    };
    out.stack_events()
        .iter()
        .filter(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"))
        })
        .map(|e| {
            format!(
                "  {} ({}): {}",
                e.logical_resource_id().unwrap_or_default(),
                e.resource_type().unwrap_or_default(),
                e.resource_status_reason().unwrap_or_default()
            )
        })
        .collect()
}

async fn ensure_bucket(s3: &S3, bucket: &str, region: &str) -> Result<()> {
    if s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    eprintln!("deploy: creating artifacts bucket {bucket}");
    let mut create = s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to create the artifacts bucket {bucket}"))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to block public access to {bucket}"))?;
    Ok(())
}

/// Uploads a zip unless its content-addressed key is already there.
async fn upload_once(s3: &S3, bucket: &str, key: &str, function: &BuiltFunction) -> Result<()> {
    if s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
    {
        eprintln!("deploy: s3://{bucket}/{key} is already there");
        return Ok(());
    }
    let body = ByteStream::from_path(&function.zip)
        .await
        .with_context(|| format!("failed to read {}", function.zip.display()))?;
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .send()
        .await
        .map_err(explain)
        .with_context(|| {
            format!(
                "failed to upload {} to s3://{bucket}/{key}",
                function.zip.display()
            )
        })?;
    eprintln!("deploy: uploaded {} to s3://{bucket}/{key}", function.name);
    Ok(())
}

/// Deletes the stack, and with `delete_data` the bucket and table it retains.
pub async fn destroy(config: &SdkConfig, stack_name: &str, delete_data: bool) -> Result<()> {
    let cfn = Cfn::new(config);
    let Some(stack) = describe(&cfn, stack_name).await? else {
        eprintln!("destroy: stack {stack_name} does not exist; nothing to do");
        return Ok(());
    };
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(str::to_owned)
    };
    let bucket = output(stack::outputs::PHOTO_BUCKET);
    let table = output(stack::outputs::METADATA_TABLE);
    let mut seen = seen_events(&cfn, stack_name).await;
    eprintln!("destroy: deleting stack {stack_name}");
    cfn.delete_stack()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(explain)
        .context("failed to delete the stack")?;
    match wait_for_stack(&cfn, stack_name, &mut seen).await? {
        None | Some(StackStatus::DeleteComplete) => {}
        Some(other) => {
            let failures = failure_reasons(&cfn, stack_name).await;
            bail!(
                "stack {stack_name} was not deleted ({other}):\n{}",
                failures.join("\n")
            );
        }
    }
    eprintln!("destroy: stack {stack_name} deleted");
    if !delete_data {
        for (what, name) in [("bucket", &bucket), ("table", &table)] {
            if let Some(name) = name {
                eprintln!("destroy: kept the {what} {name}; pass --delete-data to delete it");
            }
        }
        return Ok(());
    }
    if let Some(bucket) = bucket {
        empty_and_delete_bucket(&s3_client(config), &bucket).await?;
        eprintln!("destroy: deleted bucket {bucket}");
    }
    if let Some(table) = table {
        aws_sdk_dynamodb::Client::new(config)
            .delete_table()
            .table_name(&table)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to delete table {table}"))?;
        eprintln!("destroy: deleted table {table}");
    }
    Ok(())
}

/// Deletes every version and delete marker (the photo bucket keeps
/// versions), then the bucket.
async fn empty_and_delete_bucket(s3: &S3, bucket: &str) -> Result<()> {
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to list the versions in s3://{bucket}"))?;
        let versions = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            );
        let objects: Vec<_> = versions
            .filter_map(|(key, version)| {
                aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(key?)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        if objects.is_empty() {
            break;
        }
        let delete = aws_sdk_s3::types::Delete::builder()
            .set_objects(Some(objects))
            .build()
            .context("failed to build a delete request")?;
        s3.delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(explain)
            .with_context(|| format!("failed to delete objects in s3://{bucket}"))?;
    }
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to delete bucket {bucket}"))?;
    Ok(())
}
