//! `cargo xtask console` in a real browser: headless Chromium driven through
//! WebDriver (chromedriver) against the stack the pipeline test deployed.
//! A JPEG chosen in the file picker goes green state by state and shows its
//! thumbnail and metadata; a GIF dropped on the page fails with
//! `NotSupportedImageType`; an oversized file is refused before it is sent;
//! the gallery survives a restart of the console's server; another site
//! cannot upload through it, nor a DNS-rebinding name read it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use aws_config::SdkConfig;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use xtask_aws::deploy::Deployment;
use xtask_aws::engine::Running;

const MAX_UPLOAD: u64 = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(120);

/// The console's server, stopped when dropped.
struct Console {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Console {
    async fn start(
        config: &SdkConfig,
        deployment: &Deployment,
        labels_source: &'static str,
    ) -> Result<Console> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("failed to listen on 127.0.0.1")?;
        let url = format!("http://{}/", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let (config, deployment) = (config.clone(), deployment.clone());
        let task = tokio::spawn(async move {
            xtask_aws::console::serve(
                &config,
                &deployment,
                labels_source,
                listener,
                MAX_UPLOAD,
                async {
                    stopped.await.ok();
                },
            )
            .await
        });
        Ok(Console {
            url,
            stop: Some(stop),
            task,
        })
    }

    async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        (&mut self.task)
            .await
            .context("the console's server panicked")?
    }
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn chromedriver() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("PHOTOPIPE_CHROMEDRIVER") {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|candidate| candidate.is_file())
        .context(
            "chromedriver is not installed: on Debian `apt-get install chromium chromium-driver` \
             (`.ci/run` does), or set PHOTOPIPE_CHROMEDRIVER to a chromedriver matching your Chrome",
        )
}

impl Driver {
    fn start() -> Result<Driver> {
        let binary = chromedriver()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("failed to find a free port for chromedriver")?
            .port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        Ok(Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    async fn browser(&self) -> Result<Client> {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "args": [
                "--headless=new",
                // CI runs as root, where Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--window-size=1280,1800",
                // Two names for 127.0.0.1: another site, and a DNS-rebinding one.
                "--host-resolver-rules=MAP attacker.test 127.0.0.1, MAP rebind.test 127.0.0.1",
            ] }),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => return Ok(client),
                Err(e) if Instant::now() > deadline => {
                    bail!("chromedriver at {} started no Chromium: {e}", self.url)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
}

/// Polls `script` (a function body returning a value) until it returns
/// something truthy, and returns that.
async fn wait_for(browser: &Client, what: &str, script: &str, args: Vec<Value>) -> Result<Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let value = browser
            .execute(script, args.clone())
            .await
            .with_context(|| format!("failed to run the check for {what}"))?;
        let truthy = !matches!(&value, Value::Null | Value::Bool(false))
            && value != json!("")
            && value != json!(0);
        if truthy {
            return Ok(value);
        }
        if Instant::now() > deadline {
            let page = browser
                .execute("return document.querySelector('main').innerText", vec![])
                .await
                .unwrap_or_default();
            bail!(
                "timed out waiting for {what}; the page says:\n{}",
                page.as_str().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Saves what the browser shows in `target/`, for a person to look at.
async fn screenshot(browser: &Client, name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(name);
    if let Ok(png) = browser.screenshot().await
        && std::fs::write(&path, png).is_ok()
    {
        eprintln!("browser: screenshot in {}", path.display());
    }
}

/// What one upload's card shows: its status, error, and each state's status.
const CARD: &str = r#"
    const card = [...document.querySelectorAll('.upload')].find(c => c.dataset.name === arguments[0]);
    if (!card) return null;
    const states = {};
    for (const g of card.querySelectorAll('g.state')) states[g.dataset.state] = g.dataset.status || null;
    const img = card.querySelector('img.thumbnail');
    const fields = {};
    for (const dd of card.querySelectorAll('dd[data-field]')) fields[dd.dataset.field] = dd.textContent;
    return {
        status: card.dataset.status,
        error: card.querySelector('.error').hidden ? null : card.querySelector('.error').textContent,
        states,
        thumbnail: img && img.complete ? img.naturalWidth : null,
        fields,
    };
"#;

async fn card_when(browser: &Client, name: &str, statuses: &[&str]) -> Result<Value> {
    let wanted = json!(statuses);
    let script = format!(
        "const c = (() => {{ {CARD} }})(); return c && arguments[1].includes(c.status) && (c.status !== 'SUCCEEDED' || c.thumbnail) ? c : null;"
    );
    wait_for(
        browser,
        &format!("{name} to end as {statuses:?}"),
        &script,
        vec![json!(name), wanted],
    )
    .await
}

/// Chooses `file` in the page's file picker, as a person would.
async fn choose(browser: &Client, file: &Path) -> Result<()> {
    let path = file.to_str().context("temporary path is not UTF-8")?;
    browser
        .find(Locator::Css("#files"))
        .await?
        .send_keys(path)
        .await
        .with_context(|| format!("failed to choose {path} in the file picker"))
}

fn image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("images")
        .join(name)
}

pub async fn console_in_a_browser(
    config: &SdkConfig,
    deployment: &Deployment,
    s3: &aws_sdk_s3::Client,
    engine: &Running,
) -> Result<()> {
    let driver = Driver::start()?;
    let console = Console::start(config, deployment, engine.labels_source()).await?;
    let browser = driver.browser().await?;
    let dir = std::env::temp_dir().join(format!("photopipe-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let scene = Scene {
        browser: &browser,
        console: &console,
        config,
        deployment,
        s3,
        engine,
        dir: &dir,
    };
    let result = scene.play().await;
    screenshot(&browser, "console-end.png").await;
    browser.close().await.ok();
    console.stop().await?;
    std::fs::remove_dir_all(&dir).ok();
    result
}

/// What the browser scenario works with.
struct Scene<'a> {
    browser: &'a Client,
    console: &'a Console,
    config: &'a SdkConfig,
    deployment: &'a Deployment,
    s3: &'a aws_sdk_s3::Client,
    engine: &'a Running,
    /// Where the files chosen in the file picker are written.
    dir: &'a Path,
}

impl Scene<'_> {
    async fn play(&self) -> Result<()> {
        self.the_page_names_the_stack().await?;
        self.a_jpeg_through_the_file_picker().await?;
        self.a_gif_dropped_on_the_page().await?;
        self.a_file_over_the_limit().await?;
        screenshot(self.browser, "console-uploads.png").await;
        self.the_gallery_newest_first().await?;
        let bucket = self
            .deployment
            .output(infra::stack::outputs::PHOTO_BUCKET)?;
        other_sites_cannot_use_the_console(self.browser, self.console, self.s3, bucket).await
    }

    async fn the_page_names_the_stack(&self) -> Result<()> {
        self.browser
            .goto(&self.console.url)
            .await
            .context("failed to open the console")?;
        let target = wait_for(
            self.browser,
            "the console to say which stack it uses",
            "const t = document.querySelector('#target').textContent; return t.includes('stack') ? t : null;",
            vec![],
        )
        .await?;
        let stack = &self.deployment.stack_name;
        ensure!(
            target.as_str().is_some_and(|t| t.contains(stack)),
            "the page does not name stack {stack}: {target}",
        );
        Ok(())
    }

    /// A JPEG through the file picker: every state on its path turns green,
    /// and its thumbnail and metadata are shown.
    async fn a_jpeg_through_the_file_picker(&self) -> Result<()> {
        let jpeg = self.dir.join("browser-photo.jpg");
        std::fs::copy(image("jpeg-exif-gps.jpg"), &jpeg)?;
        choose(self.browser, &jpeg).await?;
        let card = card_when(
            self.browser,
            "browser-photo.jpg",
            &["SUCCEEDED", "FAILED", "error"],
        )
        .await?;
        ensure!(
            card["status"] == "SUCCEEDED",
            "the JPEG did not succeed: {card:#}"
        );
        self.states_coloured_on_success(&card)?;
        ensure!(
            card["thumbnail"] == 250,
            "the thumbnail is not shown 250 px wide: {card:#}"
        );
        let fields = &card["fields"];
        ensure!(fields["format"] == "JPEG", "{card:#}");
        ensure!(fields["dimensions"] == "1024 × 683", "{card:#}");
        ensure!(fields["camera"] == "Canon EOS 400D DIGITAL", "{card:#}");
        ensure!(fields["taken"] == "2008-04-20 19:12:06", "{card:#}");
        ensure!(fields["GPS"] == "-22.951916, -43.210487", "{card:#}");
        ensure!(
            fields["labels"]
                .as_str()
                .is_some_and(|l| l.starts_with("Mobile Phone (from moto")),
            "labels and where they came from: {card:#}"
        );
        Ok(())
    }

    fn states_coloured_on_success(&self, card: &Value) -> Result<()> {
        for state in [
            "ExtractMetadata",
            "CheckImageFormat",
            "StoreMetadata",
            "ProcessImage",
            "MarkCompleted",
        ] {
            ensure!(
                card["states"][state] == "succeeded",
                "{state} is not shown as succeeded: {card:#}"
            );
        }
        // MiniStack records no state of a Parallel branch: the page leaves them
        // uncoloured rather than guess.
        let in_branches = match self.engine {
            Running::LocalStack(_) => json!("succeeded"),
            Running::MiniStack(_) => Value::Null,
        };
        for state in [
            "DetectLabels",
            "StoreLabels",
            "MakeThumbnail",
            "StoreThumbnail",
        ] {
            ensure!(
                card["states"][state] == in_branches,
                "{state} is not shown as {in_branches} on {}: {card:#}",
                self.engine.engine()
            );
        }
        for state in ["RecordFailure", "NotSupportedImageType", "ProcessingFailed"] {
            ensure!(
                card["states"][state].is_null(),
                "{state} should not be coloured: {card:#}"
            );
        }
        Ok(())
    }

    /// A GIF dropped on the page: refused by name.
    async fn a_gif_dropped_on_the_page(&self) -> Result<()> {
        let gif = std::fs::read(image("animated.gif"))?;
        self.browser
            .execute(
                r#"
            const file = new File([new Uint8Array(arguments[0])], 'browser-animated.gif', { type: 'image/gif' });
            const data = new DataTransfer();
            data.items.add(file);
            document.querySelector('#drop').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
            "#,
                vec![json!(gif)],
            )
            .await
            .context("failed to drop the GIF on the page")?;
        let card = card_when(
            self.browser,
            "browser-animated.gif",
            &["SUCCEEDED", "FAILED", "error"],
        )
        .await?;
        ensure!(card["status"] == "FAILED", "the GIF did not fail: {card:#}");
        ensure!(
            card["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("NotSupportedImageType: ") && e.contains("GIF")),
            "the GIF's failure is not shown by name and cause: {card:#}"
        );
        ensure!(
            card["states"]["NotSupportedImageType"] == "failed",
            "{card:#}"
        );
        ensure!(card["states"]["StoreMetadata"].is_null(), "{card:#}");
        Ok(())
    }

    /// A file over the limit is refused before anything is sent.
    async fn a_file_over_the_limit(&self) -> Result<()> {
        let big = self.dir.join("browser-too-big.jpg");
        let mut bytes = std::fs::read(image("jpeg-exif-gps.jpg"))?;
        bytes.resize(usize::try_from(MAX_UPLOAD)? + 1, 0);
        std::fs::write(&big, bytes)?;
        choose(self.browser, &big).await?;
        let card = card_when(self.browser, "browser-too-big.jpg", &["refused"]).await?;
        ensure!(
            card["error"].as_str().is_some_and(|e| e.contains("limit")),
            "the refusal does not say why: {card:#}"
        );
        let bucket = self
            .deployment
            .output(infra::stack::outputs::PHOTO_BUCKET)?;
        let head = self
            .s3
            .head_object()
            .bucket(bucket)
            .key("incoming/browser-too-big.jpg")
            .send()
            .await;
        ensure!(head.is_err(), "the oversized file reached the bucket");
        Ok(())
    }

    /// The gallery is read from the table: newest first, after a reload and
    /// on a new server.
    async fn the_gallery_newest_first(&self) -> Result<()> {
        let new_console =
            Console::start(self.config, self.deployment, self.engine.labels_source()).await?;
        self.browser.goto(&new_console.url).await?;
        let order = wait_for(
            self.browser,
            "the gallery to list both uploads",
            r#"const keys = [...document.querySelectorAll('#gallery .item')].map(i => i.dataset.key);
           return keys.includes('incoming/browser-photo.jpg') && keys.includes('incoming/browser-animated.gif') ? keys : null;"#,
            vec![],
        )
        .await?;
        let position = |key: &str| {
            order
                .as_array()
                .and_then(|keys| keys.iter().position(|k| k == key))
        };
        ensure!(
            position("incoming/browser-animated.gif") < position("incoming/browser-photo.jpg"),
            "the gallery is not newest first: {order}"
        );
        new_console.stop().await
    }
}

/// The console holds AWS credentials: a page of another site cannot upload
/// through it, and a DNS-rebinding name for 127.0.0.1 cannot read it.
async fn other_sites_cannot_use_the_console(
    browser: &Client,
    console: &Console,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<()> {
    let attacker = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let attacker_url = format!("http://attacker.test:{}/", attacker.local_addr()?.port());
    let site = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let page = "<!doctype html><title>another site</title><p>another site";
        while let Ok((mut stream, _)) = attacker.accept().await {
            // One read holds the request line: the answer is the same page anyway.
            let mut request = [0; 4096];
            let _ = stream.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            stream.write_all(response.as_bytes()).await.ok();
        }
    });
    browser.goto(&attacker_url).await?;
    // A form-like POST: `text/plain` and no-cors, so the browser sends it
    // without asking the console first.
    let sent = browser
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               fetch(arguments[0] + 'api/uploads?name=cross-site.jpg', {
                   method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: 'not a photo',
               }).then(r => done(r.type), e => done('blocked: ' + e));"#,
            vec![json!(console.url)],
        )
        .await?;
    site.abort();
    ensure!(
        sent == "opaque",
        "the cross-site request never reached the console: {sent}"
    );
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("incoming/cross-site.jpg")
        .send()
        .await;
    ensure!(
        head.is_err(),
        "a page of another site uploaded through the console"
    );

    let rebound = console.url.replace("127.0.0.1", "rebind.test");
    browser.goto(&rebound).await?;
    let answer = browser
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               fetch('/api/images').then(r => r.text().then(t => done([r.status, t])), e => done(String(e)));"#,
            vec![],
        )
        .await?;
    ensure!(
        answer[0] == 403
            && answer[1]
                .as_str()
                .is_some_and(|t| t.contains("answers only at")),
        "the console answered a DNS-rebinding name: {answer}"
    );
    Ok(())
}
