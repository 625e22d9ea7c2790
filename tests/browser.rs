//! Browser test: headless Chromium loads `/docs` from a running carebook, and the rendered page
//! must list every operation of `/api/openapi.json`, load nothing from another host and write
//! nothing to the console (no script error, no Content-Security-Policy violation).
//!
//! Needs Debian's `chromium` (`apt-get install chromium`); `CHROMIUM` names another binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use carebook::config::{LogFormat, Secret, Settings};
use carebook::startup::{open_store, Application};
use serde_json::Value;

/// (METHOD, path) as the spec names it, e.g. ("POST", "/api/appointments").
type Operation = (String, String);

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// The browser's own limit is virtual time (it waits for pending requests); this is the wall clock.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_lists_every_operation() {
    let chromium = chromium();
    let app = App::spawn().await;
    let expected = spec_operations(&app.spec().await);

    let (dir, origin) = (app.dir.0.clone(), app.origin.clone());
    let run = tokio::task::spawn_blocking(move || render(&chromium, &dir, &origin))
        .await
        .expect("chromium thread");

    assert_lists_exactly(&run, &expected);
    assert_stays_on(&run, &app.origin);
    assert!(
        run.console.is_empty(),
        "/docs wrote to the console: {:#?}",
        run.console
    );
}

/// `docs/docs-page.png` shows the document served today: `docs/docs-page.txt` lists what the
/// picture shows (title, version, each tag's operations in order) and must match the served
/// document. `UPDATE_DOCS_PAGE=1` rewrites the listing; `scripts/docs-screenshot.sh` does that
/// and takes the picture again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_picture_shows_todays_document() {
    let app = App::spawn().await;
    let shown = picture_listing(&app.spec().await);
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/docs-page.txt");
    if std::env::var_os("UPDATE_DOCS_PAGE").is_some() {
        std::fs::write(&file, &shown).expect("write docs/docs-page.txt");
        return;
    }
    let recorded = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        recorded == shown,
        "docs/docs-page.png shows an older OpenAPI document: run scripts/docs-screenshot.sh \
         (it rewrites the picture and docs/docs-page.txt)\n--- recorded\n{recorded}\n--- served\n{shown}"
    );
}

/// What the picture of `/docs` shows, as text: the title and version, then each tag with its
/// operations (method, path, summary), by path.
fn picture_listing(spec: &Value) -> String {
    let mut out = format!(
        "{} {}\n",
        spec["info"]["title"].as_str().unwrap_or_default(),
        spec["info"]["version"].as_str().unwrap_or_default()
    );
    let tags: Vec<&str> = spec["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    let paths = spec["paths"].as_object().expect("spec has paths");
    for tag in tags {
        out.push_str(&format!("\n{tag}\n"));
        for (path, item) in paths {
            for method in HTTP_METHODS {
                let op = &item[method];
                let tagged = op["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == tag));
                if tagged {
                    let summary = op["summary"].as_str().unwrap_or_default();
                    out.push_str(&format!("  {} {path}  {summary}\n", method.to_uppercase()));
                }
            }
        }
    }
    out
}

/// The rendered page shows each operation of the spec, and nothing else.
fn assert_lists_exactly(run: &Render, expected: &BTreeSet<Operation>) {
    let rendered = rendered_operations(&run.dom);
    let missing: Vec<_> = expected.difference(&rendered).collect();
    assert!(
        missing.is_empty(),
        "/docs does not list {missing:?}\nrendered: {rendered:?}\nchromium stderr tail:\n{}",
        run.stderr_tail
    );
    assert_eq!(&rendered, expected, "/docs lists operations the spec lacks");
}

/// Every request the page made went to carebook, including those for the bundle and the spec.
fn assert_stays_on(run: &Render, origin: &str) {
    let fetched = page_requests(&run.net_log, origin);
    let off_host: Vec<_> = fetched
        .iter()
        .filter(|u| !u.starts_with(&format!("{origin}/")))
        .collect();
    assert!(
        off_host.is_empty(),
        "/docs loaded from other hosts: {off_host:?}"
    );
    for needed in ["/docs/swagger-ui-bundle.js", "/api/openapi.json"] {
        let url = format!("{origin}{needed}");
        assert!(fetched.contains(&url), "{url} not among {fetched:?}");
    }
}

/// The Chromium binary; a missing one fails the test (never a silent skip).
fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "{} not found: this test needs Debian's chromium. Install it with \
         `apt-get update && apt-get install -y --no-install-recommends chromium`, \
         or set CHROMIUM to a Chromium binary",
        path.display()
    );
    path
}

/// What one headless Chromium run produced.
struct Render {
    dom: String,
    net_log: Value,
    /// Console messages (errors, warnings, CSP violations, logs) from Chromium's log.
    console: Vec<String>,
    stderr_tail: String,
}

/// Loads `origin/docs` with the network unusable (every non-loopback request goes to a dead
/// proxy) and returns the DOM once virtual time has run out, plus Chromium's network log.
fn render(chromium: &Path, dir: &Path, origin: &str) -> Render {
    let (dom, err, net) = (
        dir.join("dom.html"),
        dir.join("stderr"),
        dir.join("net.json"),
    );
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--proxy-server=127.0.0.1:9")
        .arg(format!("--log-net-log={}", net.display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(["--virtual-time-budget=15000", "--dump-dom"])
        .arg(format!("{origin}/docs"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom).expect("dom file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            panic!("chromium still running after {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let stderr_tail = stderr.lines().rev().take(30).collect::<Vec<_>>();
    let stderr_tail = stderr_tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    assert!(
        status.success(),
        "chromium failed ({status}):\n{stderr_tail}"
    );
    let net_log = std::fs::read_to_string(&net).expect("chromium net log");
    Render {
        dom: std::fs::read_to_string(&dom).expect("dumped DOM"),
        net_log: serde_json::from_str(&net_log).expect("net log is JSON"),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
        stderr_tail,
    }
}

/// Every (method, path) under the spec's `paths`; there must be some.
fn spec_operations(spec: &Value) -> BTreeSet<Operation> {
    let paths = spec["paths"].as_object().expect("spec has paths");
    let operations: BTreeSet<_> = paths
        .iter()
        .flat_map(|(path, item)| {
            HTTP_METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    assert!(!operations.is_empty(), "the spec has no operations: {spec}");
    operations
}

/// The operations Swagger UI rendered: each `div.opblock.opblock-<method>` holds a
/// `span.opblock-summary-method` with the method and a `span.opblock-summary-path` whose
/// `data-path` is the spec's path (its text has word-break hints, so the attribute is used).
fn rendered_operations(dom: &str) -> BTreeSet<Operation> {
    dom.split(r#"class="opblock opblock-"#)
        .skip(1)
        .map(|block| {
            let method = between(block, r#"class="opblock-summary-method">"#, "<");
            let path = between(block, r#"data-path=""#, "\"");
            match (method, path) {
                (Some(m), Some(p)) => (m.to_uppercase(), unescape(p)),
                _ => panic!("an operation block without method or path: {block:.400}"),
            }
        })
        .collect()
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

fn unescape(attr: &str) -> String {
    attr.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// URLs of the requests the page itself started (the network log's `initiator` is its
/// origin); Chromium's own background requests have none and are left out.
fn page_requests(net_log: &Value, origin: &str) -> Vec<String> {
    let start_job = net_log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(start_job.is_number(), "net log without event types");
    let events = net_log["events"].as_array().expect("net log events");
    events
        .iter()
        .filter(|e| e["type"] == start_job && e["params"]["initiator"] == origin)
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// A running carebook on port 0 with a SQLite file in its own temporary directory.
struct App {
    origin: String,
    dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl App {
    async fn spawn() -> Self {
        let name = format!("carebook-browser-{}", uuid::Uuid::new_v4().simple());
        let dir = TempDir(std::env::temp_dir().join(name));
        std::fs::create_dir_all(&dir.0).expect("temp dir");
        let settings = Settings {
            host: "127.0.0.1".into(),
            port: 0,
            database_url: Secret(format!("sqlite:{}", dir.0.join("test.db").display())),
            database_read_url: None,
            pool_size: 4,
            clinic_timezone: chrono_tz::UTC,
            cors_origins: Vec::new(),
            log_format: LogFormat::Pretty,
            booking: carebook::config::BookingSettings {
                hold: Duration::from_secs(300),
                max_pending_holds: Some(3),
                notice: Default::default(),
            },
            sweep_interval: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(30),
            availability_cache: Duration::from_millis(1000),
            auth: carebook::config::AuthSettings {
                access_token: Duration::from_secs(900),
                session_idle: Duration::from_secs(1800),
                session_max: Duration::from_secs(12 * 3600),
                admin_email: None,
                admin_password: None,
                rate_limit_per_minute: 0,
            },
            metrics_addr: None,
            db: Default::default(),
            max_in_flight: 512,
            schedule_horizon_days: 60,
            schedule_interval: Duration::from_secs(24 * 3600),
            notify: Default::default(),
            security: carebook::config::SecuritySettings::with_key([42; 32]),
            pages: Default::default(),
        };
        let store = open_store(&settings).await.expect("open store");
        let app = Application::with_store(settings, store)
            .await
            .expect("bind");
        let origin = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Self {
            origin,
            dir,
            stop: Some(stop),
        }
    }

    /// The OpenAPI document the docs page reads.
    async fn spec(&self) -> Value {
        let url = format!("{}/api/openapi.json", self.origin);
        let res = reqwest::get(&url).await.expect("GET /api/openapi.json");
        let status = res.status();
        assert!(
            status.is_success(),
            "GET {url} answered {status}: /docs shows the OpenAPI document served there"
        );
        res.json().await.expect("the spec is JSON")
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
