//! Test harness: the real app on port 0 against a fresh database per test, on either backend.

use std::sync::Arc;
use std::time::Duration;

use carebook::config::{
    AuthSettings, DbSettings, LogFormat, NotifySettings, Secret, SecuritySettings, Settings,
};
use carebook::domain::store::Store;
use carebook::startup::{open_store, Application};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod accounts;
pub mod browser;
mod clock;
pub mod cluster;
mod db;
pub mod pgbouncer;
pub mod port;
pub mod smtp;
mod template;

pub use accounts::{unique_email, Account, PASSWORD};
pub use clock::{next_clock_change, ClockChange};
pub use db::SessionInstant;
pub use pgbouncer::PgBouncer;

/// The database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Generates, for each named `async fn(TestApp)`, a module with one test per backend.
#[macro_export]
macro_rules! backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::TestApp::spawn($crate::common::Backend::Postgres).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await).await
            }
        }
    )*};
}

/// Generates, for each named `async fn(Backend)` (a test that starts its own app), a module
/// with one test per backend.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
        }
    )*};
}

/// A running carebook with its own database.
pub struct TestApp {
    pub base: String,
    /// Sends the admin's token with every request.
    pub client: reqwest::Client,
    /// Sends no token.
    pub anon: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    /// The bootstrap admin's access token, sent by `call` and the helpers built on it.
    pub token: String,
    /// `GET /metrics` on the app's private metrics listener.
    pub metrics: String,
    /// The test database's URL, for the helpers that move time in it behind the app's back.
    db_url: String,
    /// The test database on PostgreSQL, and the server (`postgres://user@host:port`) it is on.
    pg_db: Option<(String, String)>,
    _dir: Option<TempDir>,
    /// The running server; stopped first when the app is dropped.
    server: Option<Instance>,
    /// The PgBouncer the app reaches PostgreSQL through (`TEST_PGBOUNCER=1`); stopped last.
    pooler: Option<PgBouncer>,
}

/// A directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether test apps on the default server reach PostgreSQL through a private PgBouncer in
/// transaction pooling mode, with `DB_STATEMENT_CACHE=off` (`TEST_PGBOUNCER=1`: the second
/// pass of `.ci/run`). Helpers that read or move the database behind the app's back still
/// connect directly.
fn through_pgbouncer() -> bool {
    std::env::var("TEST_PGBOUNCER").is_ok_and(|v| v == "1")
}

/// Settings for an app on database `name` of `server`, through `pooler` when there is one.
fn app_settings(server: &str, name: &str, pooler: Option<&PgBouncer>) -> Settings {
    match pooler {
        Some(p) => {
            let mut s = settings(&format!("{}/{name}", p.server));
            s.db.statement_cache = false;
            s
        }
        None => settings(&format!("{server}/{name}")),
    }
}

pub fn pg_base() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

/// Settings for tests; `tweak` adjusts them before the app starts.
pub fn settings(url: &str) -> Settings {
    Settings {
        host: "127.0.0.1".into(),
        port: 0,
        database_url: Secret(url.into()),
        database_read_url: None,
        pool_size: 10,
        clinic_timezone: chrono_tz::UTC,
        cors_origins: vec!["https://clinic.example".into()],
        log_format: LogFormat::Pretty,
        booking: carebook::config::BookingSettings {
            hold: Duration::from_secs(300),
            // Off unless a test is about it: most tests book far more holds than a patient
            // would be allowed to.
            max_pending_holds: None,
            notice: Default::default(),
        },
        // Tests drive the sweeper themselves through `sweep_once`.
        sweep_interval: Duration::from_secs(3600),
        request_timeout: Duration::from_secs(30),
        availability_cache: Duration::from_millis(1000),
        auth: AuthSettings {
            access_token: Duration::from_secs(15 * 60),
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(12 * 3600),
            admin_email: Some(ADMIN_EMAIL.into()),
            admin_password: Some(Secret(ADMIN_PASSWORD.into())),
            // Off unless a test is about it: most tests call far more than a patient or a
            // script would be allowed to.
            rate_limit_per_minute: 0,
        },
        metrics_addr: Some("127.0.0.1:0".into()),
        db: DbSettings::default(),
        max_in_flight: 512,
        schedule_horizon_days: 60,
        // Tests drive the generator themselves through `generate_once`.
        schedule_interval: Duration::from_secs(24 * 3600),
        // Tests drive the outbox worker themselves through `deliver_once` unless they shorten this.
        notify: NotifySettings {
            poll_interval: Duration::from_secs(3600),
            // Webhook receivers in tests are plain HTTP servers on loopback.
            webhook_allow_http: true,
            ..NotifySettings::default()
        },
        // Open sign-up (most tests register patients and log them in at once) and one master
        // key for every test app, so a second instance on a test's database shares it.
        security: SecuritySettings::with_key(TEST_MASTER_KEY),
        pages: Default::default(),
    }
}

/// The master key of every test app.
pub const TEST_MASTER_KEY: [u8; 32] = [42; 32];
/// The same key as `CAREBOOK_MASTER_KEY` spells it.
pub const TEST_MASTER_KEY_BASE64: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// The test apps' master key, for channels and key rings a test builds itself.
pub fn test_vault() -> Arc<carebook::auth::vault::Vault> {
    Arc::new(carebook::auth::vault::Vault::new(&TEST_MASTER_KEY))
}

/// Another carebook instance on a test app's database, as a second server would run: its own
/// pools, signing-key cache and revocation list. Stops when dropped.
pub struct Instance {
    pub base: String,
    /// `GET /metrics` on the instance's private metrics listener.
    pub metrics: String,
    pub store: Arc<dyn Store>,
    pub auth: Arc<carebook::auth::Auth>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Instance {
    /// Opens the store named by `s`, binds and serves until dropped.
    async fn start(s: Settings) -> Self {
        Self::try_start(s).await.expect("start a test instance")
    }

    /// [`Instance::start`], or why the application refused to start.
    async fn try_start(s: Settings) -> Result<Self, String> {
        let store = open_store(&s).await.map_err(|e| e.to_string())?;
        let app = match Application::with_store(s, store.clone()).await {
            Ok(app) => app,
            Err(e) => {
                store.close().await;
                return Err(e.to_string());
            }
        };
        let base = format!("http://127.0.0.1:{}/api", app.port());
        let metrics = format!(
            "http://127.0.0.1:{}/metrics",
            app.metrics_port().expect("metrics listener")
        );
        let auth = app.auth();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Ok(Self {
            base,
            metrics,
            store,
            auth,
            stop: Some(tx),
        })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The admin account every test app starts with.
pub const ADMIN_EMAIL: &str = "admin@carebook.test";
pub const ADMIN_PASSWORD: &str = "test admin passphrase";

impl TestApp {
    /// Starts the app with default test settings.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts the app after `tweak` has adjusted the settings.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_in(backend, &pg_base(), tweak).await
    }

    /// Starts the app on a fresh database of the PostgreSQL server at `server`
    /// (`postgres://user@host:port`), after `tweak` has adjusted the settings.
    pub async fn spawn_on(server: &str, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_in(Backend::Postgres, server, tweak).await
    }

    async fn spawn_in(backend: Backend, server: &str, tweak: impl FnOnce(&mut Settings)) -> Self {
        let (url, pg_db, dir) = match backend {
            Backend::Postgres => {
                let name = format!("carebook_test_{}", uuid::Uuid::new_v4().simple());
                template::create_from_template(server, &name).await;
                let url = format!("{server}/{name}");
                (url, Some((name, server.to_owned())), None)
            }
            Backend::Sqlite => {
                let dir = std::env::temp_dir()
                    .join(format!("carebook-test-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                (
                    format!("sqlite:{}", dir.join("test.db").display()),
                    None,
                    Some(TempDir(dir)),
                )
            }
        };
        let pooler = match &pg_db {
            // Fewer server connections than the app's twenty client ones, so transactions
            // hop between them, and the parallel tests stay inside max_connections.
            Some(_) if through_pgbouncer() && server == pg_base() => Some(PgBouncer::start(
                server,
                &[("default_pool_size", "8".into())],
            )),
            _ => None,
        };
        Self::spawn_with_pooler(backend, url, pg_db, dir, pooler, tweak).await
    }

    /// Starts the app on a fresh PostgreSQL database reached through a private PgBouncer in
    /// transaction pooling mode (the shipped configuration with `overrides`), with
    /// `DB_STATEMENT_CACHE=off`, after `tweak` has adjusted the settings.
    pub async fn spawn_through_pgbouncer(
        overrides: &[(&str, String)],
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let server = pg_base();
        let name = format!("carebook_test_{}", uuid::Uuid::new_v4().simple());
        template::create_from_template(&server, &name).await;
        let url = format!("{server}/{name}");
        let pooler = Some(PgBouncer::start(&server, overrides));
        Self::spawn_with_pooler(
            Backend::Postgres,
            url,
            Some((name, server)),
            None,
            pooler,
            tweak,
        )
        .await
    }

    async fn spawn_with_pooler(
        backend: Backend,
        url: String,
        pg_db: Option<(String, String)>,
        dir: Option<TempDir>,
        pooler: Option<PgBouncer>,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut s = match &pg_db {
            Some((name, server)) => app_settings(server, name, pooler.as_ref()),
            None => settings(&url),
        };
        tweak(&mut s);
        let server = Instance::start(s).await;
        let anon = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        let mut app = Self {
            base: server.base.clone(),
            client: anon.clone(),
            anon,
            store: server.store.clone(),
            backend,
            token: String::new(),
            metrics: server.metrics.clone(),
            db_url: url,
            pg_db,
            _dir: dir,
            server: Some(server),
            pooler,
        };
        app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .expect("admin token")
            .to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        let bearer = format!("Bearer {}", app.token);
        headers.insert(
            reqwest::header::AUTHORIZATION,
            bearer.parse().expect("header value"),
        );
        app.client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .default_headers(headers)
            .build()
            .unwrap();
        app
    }

    /// The PgBouncer (`postgres://user@host:port`) the app reaches PostgreSQL through, if any.
    pub fn pooler_server(&self) -> Option<&str> {
        self.pooler.as_ref().map(|p| p.server.as_str())
    }

    /// The name of the app's PostgreSQL database (panics on SQLite).
    pub fn database_name(&self) -> &str {
        &self.pg_db.as_ref().expect("a PostgreSQL app").0
    }

    /// Starts another instance on this app's database (with the same test settings).
    pub async fn another_instance(&self) -> Instance {
        self.another_instance_with(|_| {}).await
    }

    /// Starts another instance on this app's database, its settings adjusted by `tweak`.
    pub async fn another_instance_with(&self, tweak: impl FnOnce(&mut Settings)) -> Instance {
        let mut s = match &self.pg_db {
            Some((name, server)) => app_settings(server, name, self.pooler.as_ref()),
            None => settings(&self.db_url),
        };
        tweak(&mut s);
        Instance::start(s).await
    }

    /// Starts another instance as [`TestApp::another_instance_with`] does, or says why the
    /// application refused to start.
    pub async fn another_instance_result(
        &self,
        tweak: impl FnOnce(&mut Settings),
    ) -> Result<Instance, String> {
        let mut s = self.settings_for_tools();
        tweak(&mut s);
        Instance::try_start(s).await
    }

    /// The settings this app's instances start with (for tools a test runs itself).
    pub fn settings_for_tools(&self) -> Settings {
        match &self.pg_db {
            Some((name, server)) => app_settings(server, name, self.pooler.as_ref()),
            None => settings(&self.db_url),
        }
    }

    /// The test database's URL, for a carebook process of the test's own.
    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    /// Logs in and returns the token pair (`data` of the answer); panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let (s, b) = self
            .call_as(
                None,
                Method::POST,
                "/auth/login",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login as {email}: {b}");
        b["data"].clone()
    }

    /// Sends a request with the given bearer token (none when `None`).
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = self.anon.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("non-JSON body {status}: {text}"));
        (status, json)
    }

    /// Sends a request as the admin; `body` of `Value::Null` sends none. Returns status and
    /// JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.call_as(Some(&self.token), method, path, body).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Value::Null).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, body).await
    }

    /// Creates a doctor and returns its id.
    pub async fn doctor(&self) -> String {
        self.doctor_in("UTC").await
    }

    /// Creates a doctor working in `tz` and returns its id.
    pub async fn doctor_in(&self, tz: &str) -> String {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let (s, b) = self
            .post(
                "/doctors",
                json!({"name": "Dr Test", "specialization": "Cardiology", "email": format!("d{n}@clinic.test"),
                       "license_number": format!("LIC-{n}"), "timezone": tz}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a patient and returns its id.
    pub async fn patient(&self) -> String {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let (s, b) = self
            .post("/patients", json!({"name": "Pat Test", "email": format!("p{n}@mail.test"), "phone": "+1 555 010 0000"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a slot `days` days from now at `time` with `capacity` seats; returns its id.
    pub async fn slot(&self, doctor: &str, days: i64, time: &str, capacity: i64) -> String {
        let date = (chrono::Utc::now() + chrono::Duration::days(days))
            .date_naive()
            .to_string();
        let (s, b) = self
            .post(
                &format!("/doctors/{doctor}/time-slots"),
                json!({"slot_date": date, "slot_time": time, "max_capacity": capacity}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Books and returns (status, body).
    pub async fn book(&self, patient: &str, doctor: &str, slot: &str) -> (StatusCode, Value) {
        self.post(
            "/appointments",
            json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot}),
        )
        .await
    }

    /// The slot as the API reports it.
    pub async fn slot_view(&self, doctor: &str, slot: &str) -> Value {
        let (s, b) = self.get(&format!("/doctors/{doctor}/time-slots")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == slot)
            .cloned()
            .expect("slot listed")
    }

    /// Live appointments (PENDING, CONFIRMED, COMPLETED) of a doctor on a slot, counted via the API.
    pub async fn live_on_slot(&self, doctor: &str, slot: &str) -> usize {
        let mut n = 0;
        for status in ["PENDING", "CONFIRMED", "COMPLETED"] {
            let mut offset = 0;
            loop {
                let (s, b) = self
                    .get(&format!(
                        "/appointments/doctor/{doctor}?status={status}&limit=100&offset={offset}"
                    ))
                    .await;
                assert_eq!(s, StatusCode::OK, "{b}");
                let items = b["data"].as_array().unwrap();
                n += items.iter().filter(|a| a["time_slot_id"] == slot).count();
                if items.len() < 100 {
                    break;
                }
                offset += 100;
            }
        }
        n
    }
}

/// Asserts the error envelope and code.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// The fields named in a validation error.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server before its database goes.
        drop(self.server.take());
        if let Some((db, server)) = self.pg_db.take() {
            drop_database(&server, &db);
        }
    }
}

/// Drops database `db` of `server`, from a separate thread and runtime: Drop cannot await.
fn drop_database(server: &str, db: &str) {
    let url = format!("{server}/postgres");
    let db = db.to_owned();
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use sqlx::Connection;
            if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                    .execute(&mut c)
                    .await;
            }
        });
    })
    .join();
}
