//! `cargo xtask console`: a web page on localhost to upload photos into the
//! deployed stack and watch each one go through the state machine.
//!
//! Everything the page shows is read from AWS (or LocalStack): uploads go to
//! the bucket's `incoming/` prefix like any client's, so the bucket's event
//! starts the execution; progress comes from the execution history; results
//! and the gallery from the `ImageMetadata` table and the thumbnails in S3.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_sfn::types::ExecutionStatus;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use photopipe_shared::table::ImageItem;
use photopipe_shared::{INCOMING_PREFIX, THUMBNAIL_PREFIX};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::deploy::{self, Deployment, explain};
use crate::engine::{self, Prepared};
use crate::localstack;
use crate::observe::{self, Event, Executions, Upload};
use xtask::build;
use xtask::cli::ConsoleArgs;

const PAGE: &str = include_str!("console/index.html");
/// Where labels come from on AWS.
const REKOGNITION: &str = "Amazon Rekognition DetectLabels";

/// The container the console keeps LocalStack in between runs.
pub const LOCALSTACK_CONTAINER: &str = "photopipe-console";

pub fn run(args: ConsoleArgs) -> Result<()> {
    // Taken first, so that a busy port fails before minutes of building.
    let address = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = std::net::TcpListener::bind(address)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .with_context(|| {
            format!(
                "failed to listen on {address}: is another console running? Choose another port with --port"
            )
        })?;
    let local = !args.target.is_named();
    if !local && args.engine.is_some() {
        bail!(
            "--engine picks a local engine; it does not go with --region, --profile, --endpoint-url or AWS_ENDPOINT_URL"
        );
    }
    let local = if local {
        let functions = build::run(build::Args {
            arm64: false,
            packages: Vec::new(),
        })?;
        Some((functions, engine::prepare(args.engine.unwrap_or_default())?))
    } else {
        None
    };
    let settings = deploy::Settings::for_stage(&args.stack.stage);
    deploy::runtime()?.block_on(async {
        // Held until the console stops: dropping it stops MiniStack.
        let mut engine = None;
        let (config, deployment, labels_source) = match local {
            Some((functions, Prepared::LocalStack(image))) => {
                let endpoint = localstack::start_kept(&image, LOCALSTACK_CONTAINER).await?;
                let config = deploy::sdk_config(&localstack::target(&endpoint)).await;
                let deployment =
                    deploy::deploy(&config, &args.stack.name(), &functions, &settings).await?;
                (config, deployment, localstack::LABELS_SOURCE)
            }
            Some((functions, prepared)) => {
                let running = engine.insert(prepared.start().await?);
                let config = deploy::sdk_config(&running.target()).await;
                let deployment =
                    deploy::deploy(&config, &args.stack.name(), &functions, &settings).await?;
                running.prepare_deployment(&config, &deployment).await?;
                (config, deployment, running.labels_source())
            }
            None => {
                let config = deploy::sdk_config(&args.target).await;
                let deployment = deploy::deployed(&config, &args.stack.name()).await?;
                (config, deployment, REKOGNITION)
            }
        };
        let listener = tokio::net::TcpListener::from_std(listener)
            .context("failed to hand the console's socket to the async runtime")?;
        eprintln!(
            "console: http://{address}/ (stack {} at {}); Ctrl-C stops it",
            deployment.stack_name,
            describe_endpoint(&config)
        );
        let shutdown = async {
            // Without a signal handler the server runs until killed, which is fine.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let served = serve(
            &config,
            &deployment,
            labels_source,
            listener,
            args.max_upload_mib * 1024 * 1024,
            shutdown,
        )
        .await;
        drop(engine);
        served
    })
}

/// The console holds the user's AWS credentials, so only its own page may
/// use it. A `Host` other than its own address is a DNS-rebinding page
/// reading through a name it points at 127.0.0.1; a state-changing request
/// whose `Origin` is another site is a cross-site form or `fetch` (a
/// `text/plain` POST needs no preflight). Both are refused before any handler
/// runs.
async fn same_origin_only(
    port: u16,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match refusal(port, request.method(), request.headers()) {
        Some(why) => (StatusCode::FORBIDDEN, axum::Json(json!({ "error": why }))).into_response(),
        None => next.run(request).await,
    }
}

/// Why a request is refused, if it is.
fn refusal(port: u16, method: &axum::http::Method, headers: &HeaderMap) -> Option<String> {
    let own = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| own.iter().any(|o| o.eq_ignore_ascii_case(h))) {
        return Some(format!(
            "the console answers only at http://127.0.0.1:{port}/ (Host was {host:?})"
        ));
    }
    let safe = matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD);
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("?"));
    match origin {
        Some(origin) if !safe && !own.iter().any(|o| origin == format!("http://{o}")) => Some(
            format!("{method} from another origin ({origin}) refused: use the console's own page"),
        ),
        _ => None,
    }
}

fn describe_endpoint(config: &SdkConfig) -> String {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    match config.endpoint_url() {
        Some(endpoint) => format!("{endpoint} ({region})"),
        None => format!("AWS {region}"),
    }
}

/// Serves the console on `listener` until `shutdown` completes.
pub async fn serve(
    config: &SdkConfig,
    deployment: &Deployment,
    labels_source: &'static str,
    listener: tokio::net::TcpListener,
    max_upload: u64,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let console = Arc::new(Console::new(config, deployment, labels_source, max_upload)?);
    let limit = usize::try_from(max_upload).unwrap_or(usize::MAX);
    let port = listener
        .local_addr()
        .context("failed to read the console's address")?
        .port();
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/api/info", get(info))
        .route("/api/graph.svg", get(graph))
        .route(
            "/api/uploads",
            axum::routing::post(upload).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/api/progress", get(progress))
        .route("/api/image", get(image))
        .route("/api/images", get(images))
        .route("/api/thumbnail", get(thumbnail))
        .with_state(console)
        .layer(axum::middleware::from_fn(move |request, next| {
            same_origin_only(port, request, next)
        }));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the console's server failed")
}

#[derive(Debug)]
struct Console {
    s3: aws_sdk_s3::Client,
    sfn: aws_sdk_sfn::Client,
    ddb: aws_sdk_dynamodb::Client,
    bucket: String,
    table: String,
    info: Value,
    graph: String,
    branches: BTreeMap<String, usize>,
    executions: Executions,
}

impl Console {
    fn new(
        config: &SdkConfig,
        deployment: &Deployment,
        labels_source: &'static str,
        max_upload: u64,
    ) -> Result<Console> {
        let definition = infra::pipeline::definition();
        let bucket = deployment.output(infra::stack::outputs::PHOTO_BUCKET)?;
        let table = deployment.output(infra::stack::outputs::METADATA_TABLE)?;
        let state_machine = deployment.output(infra::stack::outputs::STATE_MACHINE)?;
        let info = json!({
            "stack": deployment.stack_name,
            "endpoint": describe_endpoint(config),
            "local": config.endpoint_url().is_some(),
            "bucket": bucket,
            "table": table,
            "stateMachine": state_machine,
            "incomingPrefix": INCOMING_PREFIX,
            "maxUploadBytes": max_upload,
            "labelsSource": labels_source,
        });
        let sfn = aws_sdk_sfn::Client::new(config);
        Ok(Console {
            s3: deploy::s3_client(config),
            executions: Executions::new(sfn.clone(), state_machine),
            sfn,
            ddb: aws_sdk_dynamodb::Client::new(config),
            bucket: bucket.to_owned(),
            table: table.to_owned(),
            info,
            graph: asl::to_svg(&definition),
            branches: definition.parallel_branches(),
        })
    }
}

/// An error answered as `{"error": message}`.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError(StatusCode::BAD_GATEWAY, format!("{e:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

type Api<T> = std::result::Result<T, ApiError>;
type Shared = State<Arc<Console>>;

async fn info(State(console): Shared) -> axum::Json<Value> {
    axum::Json(console.info.clone())
}

async fn graph(State(console): Shared) -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        console.graph.clone(),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    name: String,
}

/// Puts the body under `incoming/NAME`; the bucket's event does the rest.
async fn upload(
    State(console): Shared,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Api<axum::Json<Value>> {
    let name = file_name(&query.name).ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("{:?} is not a usable file name", query.name),
        )
    })?;
    let key = format!("{INCOMING_PREFIX}{name}");
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("application/octet-stream");
    let size = body.len();
    let put = console
        .s3
        .put_object()
        .bucket(&console.bucket)
        .key(&key)
        .content_type(content_type)
        .body(body.into())
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to upload s3://{}/{key}", console.bucket))?;
    let upload = Upload::new(&console.bucket, &key, &put);
    Ok(axum::Json(json!({
        "bucket": upload.bucket,
        "key": upload.key,
        "etag": upload.etag,
        "versionId": upload.version_id,
        "size": size,
    })))
}

/// The last path component of a browser's file name, if it is one a key can hold.
fn file_name(name: &str) -> Option<&str> {
    let name = name.rsplit(['/', '\\']).next()?.trim();
    let usable = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 200
        && !name.chars().any(char::is_control);
    usable.then_some(name)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadRef {
    key: String,
    etag: String,
    #[serde(default)]
    version_id: Option<String>,
}

/// Where the execution of an upload is: each state's status, and the
/// execution's own status, error and cause once it has ended.
async fn progress(
    State(console): Shared,
    Query(upload): Query<UploadRef>,
) -> Api<axum::Json<Value>> {
    let upload = Upload {
        bucket: console.bucket.clone(),
        key: upload.key,
        etag: upload.etag,
        version_id: upload.version_id,
    };
    let Some(described) = console.executions.describe_upload(&upload).await? else {
        return Ok(axum::Json(json!({ "execution": null })));
    };
    let arn = described.execution_arn();
    let status = described.status();
    let events = observe::history(&console.sfn, arn).await?;
    let events = observe::normalise(&events, &|state| console.branches.get(state).copied(), "");
    Ok(axum::Json(json!({
        "execution": {
            "arn": arn,
            "status": status.as_str(),
            "error": described.error(),
            "cause": described.cause(),
        },
        "done": *status != ExecutionStatus::Running,
        "states": states(&events),
    })))
}

/// Each state's latest status: `entered`, `retrying`, `succeeded` or
/// `failed`, with the attempts its task made and the last error and cause.
fn states(events: &[Event]) -> BTreeMap<String, Value> {
    let mut states: BTreeMap<String, Value> = BTreeMap::new();
    // Parallel and Map states entered so far.
    let mut containers = std::collections::HashSet::new();
    for event in events {
        let Some(name) = &event.state else { continue };
        let kind = event.kind.as_str();
        let state = states
            .entry(name.clone())
            .or_insert_with(|| json!({ "status": "entered", "attempts": 0 }));
        let own = |k: &str| k.starts_with("ParallelState") || k.starts_with("MapState");
        if kind.ends_with("StateEntered") && own(kind) {
            containers.insert(name.as_str());
        } else if containers.contains(name.as_str()) && !own(kind) {
            // A task of one of its branches, where the engine (MiniStack)
            // records them without their states: not the container's own.
            continue;
        }
        if kind.ends_with("StateEntered") {
            state["status"] = json!(if kind == "FailStateEntered" {
                "failed"
            } else {
                "entered"
            });
        } else if kind.ends_with("Scheduled") {
            let attempts = state["attempts"].as_u64().unwrap_or(0) + 1;
            state["attempts"] = json!(attempts);
            if attempts > 1 {
                state["status"] = json!("retrying");
            }
        } else if kind.ends_with("Failed")
            || kind.ends_with("TimedOut")
            || kind.ends_with("Aborted")
        {
            state["status"] = json!("failed");
        } else if kind.ends_with("StateExited") && state["status"] != "failed" {
            state["status"] = json!("succeeded");
        }
        if event.error.is_some() {
            state["error"] = json!(event.error);
            state["cause"] = json!(event.cause);
        }
    }
    states
}

#[derive(Debug, Deserialize)]
struct KeyQuery {
    key: String,
}

/// The table item of one image.
async fn image(State(console): Shared, Query(query): Query<KeyQuery>) -> Api<axum::Json<Value>> {
    let item = observe::image_item(&console.ddb, &console.table, &query.key)
        .await?
        .map_or(Value::Null, |item| present(&item));
    Ok(axum::Json(json!({ "item": item })))
}

/// Every image the table holds, newest first.
async fn images(State(console): Shared) -> Api<axum::Json<Value>> {
    let mut items = observe::items(&console.ddb, &console.table).await?;
    items.sort_by(|a, b| {
        time(b)
            .cmp(time(a))
            .then_with(|| a.image_key.cmp(&b.image_key))
    });
    let items: Vec<Value> = items.iter().map(present).collect();
    Ok(axum::Json(json!({ "items": items })))
}

fn time(item: &ImageItem) -> &str {
    item.uploaded_at
        .as_deref()
        .or(item.updated_at.as_deref())
        .unwrap_or_default()
}

/// A table item as the page uses it: EXIF and labels parsed from the JSON
/// strings the state machine stores.
fn present(item: &ImageItem) -> Value {
    let mut json = serde_json::to_value(item).expect("an item always serializes");
    json["exif"] = json!(item.exif());
    json["labels"] = json!(item.labels());
    json
}

/// A thumbnail from the bucket; nothing outside `thumbnails/` is served.
async fn thumbnail(State(console): Shared, Query(query): Query<KeyQuery>) -> Api<Response> {
    if !query.key.starts_with(THUMBNAIL_PREFIX) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("only keys under {THUMBNAIL_PREFIX} are served"),
        ));
    }
    let object = console
        .s3
        .get_object()
        .bucket(&console.bucket)
        .key(&query.key)
        .send()
        .await
        .map_err(explain)
        .with_context(|| format!("failed to read s3://{}/{}", console.bucket, query.key))?;
    let content_type = object
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_owned();
    let bytes = object
        .body
        .collect()
        .await
        .with_context(|| format!("failed to read s3://{}/{}", console.bucket, query.key))?
        .into_bytes();
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, Method};

    fn event(kind: &str, state: &str, error: Option<&str>) -> Event {
        Event {
            kind: kind.into(),
            state: Some(state.into()),
            input: None,
            output: None,
            error: error.map(str::to_owned),
            cause: error.map(|_| json!("why")),
        }
    }

    #[test]
    fn a_retried_task_shows_retrying_then_succeeded() {
        let mut events = vec![
            event("TaskStateEntered", "Extract", None),
            event("TaskScheduled", "Extract", None),
            event(
                "TaskFailed",
                "Extract",
                Some("Lambda.TooManyRequestsException"),
            ),
            event("TaskScheduled", "Extract", None),
        ];
        let s = states(&events);
        assert_eq!(s["Extract"]["status"], "retrying");
        assert_eq!(s["Extract"]["attempts"], 2);
        assert_eq!(s["Extract"]["error"], "Lambda.TooManyRequestsException");
        events.push(event("TaskSucceeded", "Extract", None));
        events.push(event("TaskStateExited", "Extract", None));
        assert_eq!(states(&events)["Extract"]["status"], "succeeded");
    }

    /// MiniStack records the tasks of Parallel branches without their
    /// states: they are not the Parallel state's own attempts or failures.
    #[test]
    fn branch_tasks_attributed_to_their_parallel_state_do_not_colour_it() {
        let events = vec![
            event("ParallelStateEntered", "Process", None),
            event("TaskScheduled", "Process", None),
            event("TaskScheduled", "Process", None),
            event(
                "TaskFailed",
                "Process",
                Some("Rekognition.ThrottlingException"),
            ),
            event("TaskScheduled", "Process", None),
            event("TaskSucceeded", "Process", None),
        ];
        let running = states(&events);
        assert_eq!(running["Process"]["status"], "entered");
        assert_eq!(running["Process"]["attempts"], 0);
        let mut events = events;
        events.push(event("ParallelStateExited", "Process", None));
        assert_eq!(states(&events)["Process"]["status"], "succeeded");
    }

    #[test]
    fn a_caught_failure_stays_failed_and_fail_states_fail() {
        let events = vec![
            event("TaskStateEntered", "Thumb", None),
            event("TaskScheduled", "Thumb", None),
            event("TaskFailed", "Thumb", Some("CorruptImage")),
            event("TaskStateExited", "Thumb", None),
            event("FailStateEntered", "ProcessingFailed", None),
            event("ExecutionFailed", "ProcessingFailed", Some("CorruptImage")),
        ];
        let s = states(&events);
        assert_eq!(s["Thumb"]["status"], "failed");
        assert_eq!(s["Thumb"]["cause"], "why");
        assert_eq!(s["ProcessingFailed"]["status"], "failed");
        assert_eq!(s["ProcessingFailed"]["error"], "CorruptImage");
    }

    #[test]
    fn file_names_lose_their_directories() {
        assert_eq!(file_name("C:\\photos\\cat.jpg"), Some("cat.jpg"));
        assert_eq!(file_name("a/b/with space.png"), Some("with space.png"));
        assert_eq!(file_name(".."), None);
        assert_eq!(file_name(""), None);
        assert_eq!(file_name("bad\nname"), None);
    }

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn only_the_consoles_own_host_is_served() {
        let own = headers(&[(header::HOST, "127.0.0.1:8080")]);
        assert_eq!(refusal(8080, &Method::GET, &own), None);
        let localhost = headers(&[(header::HOST, "localhost:8080")]);
        assert_eq!(refusal(8080, &Method::GET, &localhost), None);
        for host in ["rebind.example:8080", "127.0.0.1:9090", "127.0.0.1"] {
            let other = headers(&[(header::HOST, host)]);
            assert!(refusal(8080, &Method::GET, &other).is_some(), "{host}");
        }
        assert!(refusal(8080, &Method::GET, &HeaderMap::new()).is_some());
    }

    #[test]
    fn state_changing_requests_from_another_origin_are_refused() {
        let cross = headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://attacker.example"),
        ]);
        assert!(refusal(8080, &Method::POST, &cross).is_some());
        // Reading is harmless cross-origin: the browser keeps the answer from the page.
        assert_eq!(refusal(8080, &Method::GET, &cross), None);
        let own = headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8080"),
        ]);
        assert_eq!(refusal(8080, &Method::POST, &own), None);
        let null = headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "null")]);
        assert!(refusal(8080, &Method::POST, &null).is_some());
    }
}
