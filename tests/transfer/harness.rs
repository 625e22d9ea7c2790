//! A carebook server on a database of the test's own, stopped on demand, and those databases.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use carebook::config::{RawSettings, Settings};
use carebook::domain::store::Store;
use carebook::startup::{open_store, Application};

pub const ADMIN_EMAIL: &str = "admin@carebook.test";
pub const ADMIN_PASSWORD: &str = "test admin passphrase";
/// The password of every account the tests create.
pub const PASSWORD: &str = "a long test passphrase";

/// The PostgreSQL server tests use (`TEST_DATABASE_URL`, as the HTTP suite).
pub fn pg_base() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    settings: RawSettings,
}

/// Settings for `url` as the binary would read them from flags: port 0, the test admin, no
/// rate limit or hold cap, no metrics listener, the sweeper left to the tests.
pub fn settings(url: &str) -> Settings {
    let args = [
        "carebook",
        "--database-url",
        url,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db-pool-size",
        "4",
        "--admin-email",
        ADMIN_EMAIL,
        "--admin-password",
        ADMIN_PASSWORD,
        "--rate-limit-per-minute",
        "0",
        "--registration",
        "open",
        "--max-pending-holds-per-patient",
        "0",
        "--metrics-addr",
        "off",
        "--expiry-sweep-interval-seconds",
        "3600",
        // One key for every database of these tests: an import reads secrets sealed by the
        // export's source.
        "--master-key",
        "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
    ];
    Cli::try_parse_from(args)
        .expect("test settings parse")
        .settings
        .validate()
        .expect("test settings are valid")
}

/// A database of the test's own, removed when dropped.
pub enum Db {
    Pg { url: String, name: String },
    Sqlite { url: String, dir: PathBuf },
}

impl Db {
    /// A PostgreSQL database name nobody uses yet (created by whatever opens it first).
    pub fn fresh_pg() -> Self {
        let name = format!("carebook_transfer_{}", uuid::Uuid::new_v4().simple());
        Db::Pg {
            url: format!("{}/{name}", pg_base()),
            name,
        }
    }

    /// A SQLite path in a new temporary folder (the file does not exist yet).
    pub fn fresh_sqlite() -> Self {
        let dir = scratch_dir("db");
        Db::Sqlite {
            url: format!("sqlite:{}", dir.join("carebook.db").display()),
            dir,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Db::Pg { url, .. } | Db::Sqlite { url, .. } => url,
        }
    }

    /// The SQLite file (panics on PostgreSQL).
    pub fn sqlite_file(&self) -> PathBuf {
        match self {
            Db::Sqlite { dir, .. } => dir.join("carebook.db"),
            Db::Pg { .. } => panic!("not a SQLite database"),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        match self {
            Db::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Db::Pg { name, .. } => {
                let (url, name) = (format!("{}/postgres", pg_base()), name.clone());
                // Drop cannot await: a thread with its own runtime.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async move {
                        use sqlx::Connection;
                        if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                            let _ = sqlx::query(&sql).execute(&mut c).await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A new empty folder under the system's temporary directory (removed by its owner).
pub fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "carebook-transfer-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A folder removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(what: &str) -> Self {
        Self(scratch_dir(what))
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running carebook, signed in as the test admin.
pub struct Server {
    pub base: String,
    pub token: String,
    pub store: Arc<dyn Store>,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Opens (creating and migrating) the database at `url`, serves it and logs in as admin.
    pub async fn start(url: &str) -> Self {
        let s = settings(url);
        let store = open_store(&s).await.expect("open the store");
        let app = Application::with_store(s, store.clone())
            .await
            .expect("bind");
        let base = format!("http://127.0.0.1:{}/api", app.port());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let mut server = Self {
            base,
            token: String::new(),
            store,
            client: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        };
        server.token = server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        server
    }

    /// Stops serving and waits until the store is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Logs in; the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = json!({"email": email, "password": password});
        let (s, b) = self
            .call_as(None, Method::POST, "/auth/login", body, &[])
            .await;
        assert_eq!(s, StatusCode::OK, "login as {email}: {b}");
        b["data"]["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// A request with an optional bearer token and extra headers; status and JSON body.
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{path}: non-JSON body {status}: {text}"));
        (status, json)
    }

    /// GET as admin.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call_as(Some(&self.token), Method::GET, path, Value::Null, &[])
            .await
    }

    /// POST or PATCH as admin; panics unless the answer is `want`; the `data`.
    pub async fn send(&self, method: Method, path: &str, body: Value, want: u16) -> Value {
        let (s, b) = self
            .call_as(Some(&self.token), method, path, body, &[])
            .await;
        assert_eq!(s.as_u16(), want, "{path}: {b}");
        b["data"].clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs a command-line tool the README tells operators to run; a tool that is not installed
/// fails the test, naming the package that provides it.
pub fn run_tool(program: &str, args: &[&str], package: &str) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program}` ({e}): the README's backup steps need it; install it \
                 with `apt-get install -y {package}`"
            )
        });
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `path` exists (for the SQLite companion files).
pub fn exists(path: &Path) -> bool {
    path.try_exists().unwrap_or(false)
}

/// Runs `carebook <args>` on the database at `url`, in an empty folder (no `.env`); the exit
/// success and stderr.
pub fn carebook(url: &str, args: &[&str], cwd: &Path) -> (bool, String) {
    carebook_with(url, args, cwd, &[])
}

/// [`carebook`] with more environment variables.
pub fn carebook_with(url: &str, args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_carebook"))
        .args(args)
        .current_dir(cwd)
        .env("DATABASE_URL", url)
        .env_remove("DB_HOST")
        .env("METRICS_ADDR", "off")
        .env(
            "CAREBOOK_MASTER_KEY",
            "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
        )
        .envs(env.iter().copied())
        .output()
        .expect("run carebook");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
