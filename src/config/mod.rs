//! Settings from the environment (and `.env`), documented by `carebook --help`.

use std::time::Duration;

use chrono_tz::Tz;
use clap::Args;

mod security;
pub use security::{MasterKey, RawSecurity, Registration, SecuritySettings};

/// A value that must never reach a log line.
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// The embedded database used when neither `DATABASE_URL` nor `DB_HOST` is set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:./data/carebook.db";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Raw settings as read from flags and the environment.
#[derive(Debug, Clone, Args)]
pub struct RawSettings {
    /// Port to listen on.
    #[arg(global = true, long, env = "PORT", default_value_t = 5000)]
    pub port: u16,
    /// Address to bind.
    #[arg(global = true, long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Database URL: postgres://… or postgresql://… for PostgreSQL, sqlite:PATH for SQLite. When absent,
    /// DB_HOST and the other DB_* variables name a PostgreSQL server; with neither, ./data/carebook.db.
    #[arg(global = true, long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// PostgreSQL read replica (postgres://…) for pure reads: availability, lists, gets. Its
    /// answers lag the primary by the replication delay. Needs a PostgreSQL DATABASE_URL.
    #[arg(global = true, long, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<Secret>,
    /// PostgreSQL host, used when DATABASE_URL is absent.
    #[arg(global = true, long, env = "DB_HOST")]
    pub db_host: Option<String>,
    /// PostgreSQL port, used when DATABASE_URL is absent.
    #[arg(global = true, long, env = "DB_PORT", default_value_t = 5432)]
    pub db_port: u16,
    /// PostgreSQL database name (created if missing), used when DATABASE_URL is absent.
    #[arg(global = true, long, env = "DB_NAME", default_value = "carebook")]
    pub db_name: String,
    /// PostgreSQL user, used when DATABASE_URL is absent.
    #[arg(global = true, long, env = "DB_USER", default_value = "postgres")]
    pub db_user: String,
    /// PostgreSQL password, used when DATABASE_URL is absent.
    #[arg(global = true, long, env = "DB_PASSWORD", hide_env_values = true)]
    pub db_password: Option<Secret>,
    /// Largest number of database connections.
    #[arg(global = true, long, env = "DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
    /// Default IANA time zone for doctors registered without one.
    #[arg(global = true, long, env = "CLINIC_TIMEZONE", default_value = "UTC")]
    pub clinic_timezone: String,
    /// Comma-separated origins allowed by CORS; `*` for any; empty for none.
    #[arg(global = true, long, env = "CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
    /// Log format.
    #[arg(global = true, long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Minutes an unconfirmed booking holds its seat.
    #[arg(
        global = true,
        long,
        env = "APPOINTMENT_EXPIRY_MINUTES",
        default_value_t = 5
    )]
    pub appointment_expiry_minutes: u32,
    /// Seconds an unconfirmed booking holds its seat; overrides the minutes when set.
    #[arg(global = true, long, env = "APPOINTMENT_EXPIRY_SECONDS")]
    pub appointment_expiry_seconds: Option<u32>,
    /// Seconds between runs of the expiry sweeper.
    #[arg(
        global = true,
        long,
        env = "EXPIRY_SWEEP_INTERVAL_SECONDS",
        default_value_t = 5
    )]
    pub expiry_sweep_interval_seconds: u32,
    /// Seconds after which a request is answered 503.
    #[arg(
        global = true,
        long,
        env = "REQUEST_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub request_timeout_seconds: u32,
    /// Milliseconds an availability answer may be served from memory (0: off).
    #[arg(
        global = true,
        long,
        env = "AVAILABILITY_CACHE_MS",
        default_value_t = 1000
    )]
    pub availability_cache_ms: u64,
    /// Minutes an access token lives.
    #[arg(
        global = true,
        long,
        env = "ACCESS_TOKEN_MINUTES",
        default_value_t = 15
    )]
    pub access_token_minutes: u32,
    /// Minutes without a refresh after which a session ends (automatic logoff).
    #[arg(
        global = true,
        long,
        env = "SESSION_IDLE_MINUTES",
        default_value_t = 30
    )]
    pub session_idle_minutes: u32,
    /// Hours after login after which a session ends, refreshed or not.
    #[arg(global = true, long, env = "SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u32,
    /// E-mail of an admin account made sure to exist at start.
    #[arg(global = true, long, env = "ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of that admin account when it is created (an existing one is never changed).
    #[arg(global = true, long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
    /// Most live PENDING appointments one patient may hold; 0 for no limit.
    #[arg(
        global = true,
        long,
        env = "MAX_PENDING_HOLDS_PER_PATIENT",
        default_value_t = 3
    )]
    pub max_pending_holds_per_patient: u32,
    /// Requests per minute per signed-in user (per IP when anonymous); 0 turns the limit off.
    #[arg(
        global = true,
        long,
        env = "RATE_LIMIT_PER_MINUTE",
        default_value_t = 6000
    )]
    pub rate_limit_per_minute: u32,
    /// Milliseconds a database statement may run before PostgreSQL cancels it (503). Default
    /// 5000, or half the request timeout when that is shorter.
    #[arg(global = true, long, env = "DB_STATEMENT_TIMEOUT_MS")]
    pub db_statement_timeout_ms: Option<u32>,
    /// Milliseconds a statement may wait for a row or table lock before giving up (503).
    /// Default 2000, or a quarter of the request timeout when that is shorter.
    #[arg(global = true, long, env = "DB_LOCK_TIMEOUT_MS")]
    pub db_lock_timeout_ms: Option<u32>,
    /// Milliseconds a session may sit idle inside a transaction before PostgreSQL ends it.
    #[arg(
        global = true,
        long,
        env = "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        default_value_t = 10000
    )]
    pub db_idle_in_transaction_timeout_ms: u32,
    /// Milliseconds a request waits for a pooled connection before it is answered 503.
    /// Default 2000, or a quarter of the request timeout when that is shorter.
    #[arg(global = true, long, env = "DB_ACQUIRE_TIMEOUT_MS")]
    pub db_acquire_timeout_ms: Option<u32>,
    /// `on`: PostgreSQL statements stay prepared on their connection and the isolation level
    /// and time limits are set once per connection. `off`, for a transaction-pooling PgBouncer:
    /// statements are sent unnamed and every transaction sets them itself.
    #[arg(global = true, long, env = "DB_STATEMENT_CACHE", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    pub db_statement_cache: bool,
    /// Requests answered at once; one more is answered 503 at once (load shedding).
    #[arg(global = true, long, env = "MAX_IN_FLIGHT", default_value_t = 512)]
    pub max_in_flight: u32,
    /// Address of the private listener serving GET /metrics (Prometheus); `off` for none.
    #[arg(
        global = true,
        long,
        env = "METRICS_ADDR",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_addr: String,
    /// Days ahead weekly schedules lay out slots (1-3650).
    #[arg(
        global = true,
        long,
        env = "SCHEDULE_HORIZON_DAYS",
        default_value_t = 60
    )]
    pub schedule_horizon_days: u32,
    /// Minutes between runs of the schedule generator (at least 1; daily by default).
    #[arg(
        global = true,
        long,
        env = "SCHEDULE_GENERATION_INTERVAL_MINUTES",
        default_value_t = 1440
    )]
    pub schedule_generation_interval_minutes: u32,
    /// Minutes ahead a patient may book a slot (or reschedule into one) at the latest; 0 is off.
    #[arg(global = true, long, env = "MIN_NOTICE_MINUTES", default_value_t = 0)]
    pub min_notice_minutes: u32,
    /// Minutes before an appointment's start after which a patient may no longer cancel or
    /// reschedule it; 0 is off.
    #[arg(
        global = true,
        long,
        env = "CANCEL_NOTICE_MINUTES",
        default_value_t = 0
    )]
    pub cancel_notice_minutes: u32,
    /// SMTP server for patient e-mail: smtp://host:port, smtps://user:pass@host (TLS) or
    /// smtp://…?tls=required (STARTTLS). Unset: e-mail is written to MAIL_DIR as .eml files.
    #[arg(global = true, long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// Sender address of patient e-mail.
    #[arg(
        global = true,
        long,
        env = "SMTP_FROM",
        default_value = "carebook@localhost"
    )]
    pub smtp_from: String,
    /// Hours before a confirmed appointment's start at which the patient is reminded,
    /// comma-separated; empty for none.
    #[arg(global = true, long, env = "REMINDER_HOURS", default_value = "24,2")]
    pub reminder_hours: String,
    /// Allow webhook URLs that resolve to loopback, private or link-local addresses.
    #[arg(global = true, long, env = "WEBHOOK_ALLOW_PRIVATE", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Milliseconds between polls of the outbox for due deliveries.
    #[arg(
        global = true,
        long,
        env = "OUTBOX_POLL_INTERVAL_MS",
        default_value_t = 1000
    )]
    pub outbox_poll_interval_ms: u32,
    /// Delivery attempts before an outbox row is dead (retried only by an admin).
    #[arg(global = true, long, env = "OUTBOX_MAX_ATTEMPTS", default_value_t = 10)]
    pub outbox_max_attempts: u32,
    /// Seconds a worker's claim on outbox rows lasts unrenewed (renewed every third of it
    /// while its step runs): how long a crashed instance's rows wait for another instance.
    #[arg(
        global = true,
        long,
        env = "OUTBOX_LEASE_SECONDS",
        default_value_t = 30
    )]
    pub outbox_lease_seconds: u32,
    /// Seconds before the first retry of a failed delivery; doubled per attempt, at most an hour.
    #[arg(
        global = true,
        long,
        env = "OUTBOX_RETRY_BASE_SECONDS",
        default_value_t = 10
    )]
    pub outbox_retry_base_seconds: u32,
    #[command(flatten)]
    pub security: RawSecurity,
}

/// Accounts, sessions and abuse limits.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub access_token: Duration,
    pub session_idle: Duration,
    pub session_max: Duration,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub max_pending_holds: Option<i64>,
    pub rate_limit_per_minute: u32,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub database_url: Secret,
    /// The read replica serving pure reads (PostgreSQL only); `None` reads from the primary.
    pub database_read_url: Option<Secret>,
    pub pool_size: u32,
    pub clinic_timezone: Tz,
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
    pub hold: Duration,
    pub sweep_interval: Duration,
    pub request_timeout: Duration,
    /// How old an availability answer served from memory may be; zero when off.
    pub availability_cache: Duration,
    pub auth: AuthSettings,
    /// Where `GET /metrics` is served; `None` when off.
    pub metrics_addr: Option<String>,
    /// Database time limits.
    pub db: DbSettings,
    /// Requests answered at once before more are shed with 503.
    pub max_in_flight: usize,
    /// Days ahead weekly schedules lay out slots.
    pub schedule_horizon_days: i64,
    /// Time between runs of the schedule generator.
    pub schedule_interval: Duration,
    /// The notice windows binding patients (`MIN_NOTICE_MINUTES`, `CANCEL_NOTICE_MINUTES`).
    pub notice: crate::domain::reschedule::Notice,
    /// E-mail, webhooks, reminders and the outbox worker.
    pub notify: NotifySettings,
    /// Proxies, sign-up, e-mailed links and the master key.
    pub security: SecuritySettings,
}

/// Settings of the outbox worker and its channels.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// `SMTP_URL`; `None` turns e-mail off.
    pub smtp_url: Option<Secret>,
    pub smtp_from: String,
    /// Reminder lead times in hours, largest first.
    pub reminder_hours: Vec<u32>,
    pub webhook_allow_private: bool,
    /// Webhook URLs may be plain `http://`.
    pub webhook_allow_http: bool,
    /// With no SMTP URL, e-mail is written here as `.eml` files; `None` turns that off.
    pub mail_dir: Option<std::path::PathBuf>,
    /// A CA (PEM) that signs the SMTP server's certificate, trusted besides the built-in roots.
    pub smtp_ca_file: Option<std::path::PathBuf>,
    pub poll_interval: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// How long a claim lasts unrenewed; the worker renews it every third of this.
    pub lease: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_from: "carebook@localhost".into(),
            reminder_hours: vec![24, 2],
            webhook_allow_private: false,
            webhook_allow_http: false,
            mail_dir: None,
            smtp_ca_file: None,
            poll_interval: Duration::from_secs(1),
            max_attempts: 10,
            retry_base: Duration::from_secs(10),
            lease: Duration::from_secs(30),
        }
    }
}

/// Parses `REMINDER_HOURS`: distinct whole hours from 1 to 720, largest first.
fn reminder_hours(raw: &str) -> Result<Vec<u32>, String> {
    let mut hours = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u32>() {
            Ok(h @ 1..=720) => hours.push(h),
            _ => {
                return Err(format!(
                    "REMINDER_HOURS: '{part}' is not a whole number of hours from 1 to 720"
                ))
            }
        }
    }
    hours.sort_unstable_by(|a, b| b.cmp(a));
    hours.dedup();
    Ok(hours)
}

/// Database time limits: how long the database may take before a request gives up with 503.
/// Each is shorter than the request timeout, so a request blocked on a lock or a full pool
/// never hangs, and the database stops the statement itself: nothing is committed after the
/// client heard 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbSettings {
    /// PostgreSQL `statement_timeout`.
    pub statement: Duration,
    /// PostgreSQL `lock_timeout`.
    pub lock: Duration,
    /// PostgreSQL `idle_in_transaction_session_timeout`.
    pub idle_in_transaction: Duration,
    /// Waiting for a pooled connection (PostgreSQL).
    pub acquire: Duration,
    /// Prepared statements and per-connection settings (`DB_STATEMENT_CACHE`); off behind a
    /// transaction pooler.
    pub statement_cache: bool,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            statement: Duration::from_secs(5),
            lock: Duration::from_secs(2),
            idle_in_transaction: Duration::from_secs(10),
            acquire: Duration::from_secs(2),
            statement_cache: true,
        }
    }
}

impl RawSettings {
    /// Checks and derives the settings; the error is one line for the operator.
    pub fn validate(self) -> Result<Settings, String> {
        let clinic_timezone = self.clinic_timezone.trim().parse().map_err(|_| {
            format!(
                "CLINIC_TIMEZONE '{}' is not an IANA time zone",
                self.clinic_timezone
            )
        })?;
        let hold_secs = match self.appointment_expiry_seconds {
            Some(s) => u64::from(s),
            None => u64::from(self.appointment_expiry_minutes) * 60,
        };
        if hold_secs == 0 {
            return Err("the appointment expiry must be at least one second".into());
        }
        if self.access_token_minutes == 0 || self.session_idle_minutes == 0 {
            return Err("ACCESS_TOKEN_MINUTES and SESSION_IDLE_MINUTES must be at least 1".into());
        }
        if self.session_max_hours == 0 {
            return Err("SESSION_MAX_HOURS must be at least 1".into());
        }
        if self.admin_email.is_some() != self.admin_password.is_some() {
            return Err("set ADMIN_EMAIL and ADMIN_PASSWORD together, or neither".into());
        }
        if self.availability_cache_ms > 60_000 {
            return Err("AVAILABILITY_CACHE_MS must be at most 60000 (one minute)".into());
        }
        if self.db_pool_size == 0 {
            return Err("DB_POOL_SIZE must be at least 1".into());
        }
        let database_url = match (&self.database_url, &self.db_host) {
            (Some(url), _) if !url.0.trim().is_empty() => url.clone(),
            (_, Some(host)) if !host.trim().is_empty() => Secret(postgres_url(&self)),
            _ => Secret(DEFAULT_DATABASE_URL.into()),
        };
        let database_read_url = read_url(self.database_read_url.as_ref(), &database_url)?;
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let request_ms = u64::from(self.request_timeout_seconds.max(1)) * 1000;
        // A limit left unset follows the request timeout (it must stay below it); only a value
        // the operator set can conflict with it, and then the message names both.
        let limit = |name: &str, set: Option<u32>, default: u64, share: u64| match set {
            None => Ok(Duration::from_millis(
                default.min(request_ms / share).max(1),
            )),
            Some(v) if v == 0 || u64::from(v) >= request_ms => Err(format!(
                "{name} ({v}) must be at least 1 and below REQUEST_TIMEOUT_SECONDS ({} s = \
                     {request_ms} ms): lower it or raise the request timeout",
                request_ms / 1000
            )),
            Some(v) => Ok(ms(v)),
        };
        let db = DbSettings {
            statement: limit(
                "DB_STATEMENT_TIMEOUT_MS",
                self.db_statement_timeout_ms,
                5000,
                2,
            )?,
            lock: limit("DB_LOCK_TIMEOUT_MS", self.db_lock_timeout_ms, 2000, 4)?,
            idle_in_transaction: ms(self.db_idle_in_transaction_timeout_ms),
            acquire: limit("DB_ACQUIRE_TIMEOUT_MS", self.db_acquire_timeout_ms, 2000, 4)?,
            statement_cache: self.db_statement_cache,
        };
        if db.idle_in_transaction.is_zero() {
            return Err("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS must be at least 1".into());
        }
        let metrics_addr = match self.metrics_addr.trim() {
            "" | "off" => None,
            addr => Some(addr.to_owned()),
        };
        if self.max_in_flight == 0 {
            return Err("MAX_IN_FLIGHT must be at least 1".into());
        }
        if !(1..=3650).contains(&self.schedule_horizon_days) {
            return Err("SCHEDULE_HORIZON_DAYS must be between 1 and 3650".into());
        }
        if self.outbox_max_attempts == 0 || self.outbox_poll_interval_ms == 0 {
            return Err(
                "OUTBOX_MAX_ATTEMPTS and OUTBOX_POLL_INTERVAL_MS must be at least 1".into(),
            );
        }
        if !(3..=3600).contains(&self.outbox_lease_seconds) {
            return Err("OUTBOX_LEASE_SECONDS must be from 3 to 3600".into());
        }
        let notify = NotifySettings {
            smtp_url: self.smtp_url.clone().filter(|u| !u.0.trim().is_empty()),
            smtp_from: self.smtp_from.clone(),
            reminder_hours: reminder_hours(&self.reminder_hours)?,
            webhook_allow_private: self.webhook_allow_private,
            webhook_allow_http: self.security.webhook_allow_http,
            mail_dir: self.security.mail_dir(),
            smtp_ca_file: self.security.smtp_ca_file.clone(),
            poll_interval: ms(self.outbox_poll_interval_ms),
            max_attempts: self.outbox_max_attempts,
            retry_base: Duration::from_secs(u64::from(self.outbox_retry_base_seconds.max(1))),
            lease: Duration::from_secs(u64::from(self.outbox_lease_seconds)),
        };
        let security = self.security.validate(&database_url.0)?;
        Ok(Settings {
            notify,
            security,
            schedule_horizon_days: i64::from(self.schedule_horizon_days),
            schedule_interval: Duration::from_secs(
                u64::from(self.schedule_generation_interval_minutes.max(1)) * 60,
            ),
            notice: crate::domain::reschedule::Notice {
                book_secs: i64::from(self.min_notice_minutes) * 60,
                cancel_secs: i64::from(self.cancel_notice_minutes) * 60,
            },
            max_in_flight: self.max_in_flight as usize,
            metrics_addr,
            db,
            host: self.host,
            port: self.port,
            database_url,
            database_read_url,
            pool_size: self.db_pool_size,
            clinic_timezone,
            cors_origins: self
                .cors_origins
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            log_format: self.log_format,
            hold: Duration::from_secs(hold_secs),
            sweep_interval: Duration::from_secs(u64::from(
                self.expiry_sweep_interval_seconds.max(1),
            )),
            request_timeout: Duration::from_secs(u64::from(self.request_timeout_seconds.max(1))),
            availability_cache: Duration::from_millis(self.availability_cache_ms),
            auth: AuthSettings {
                access_token: Duration::from_secs(u64::from(self.access_token_minutes) * 60),
                session_idle: Duration::from_secs(u64::from(self.session_idle_minutes) * 60),
                session_max: Duration::from_secs(u64::from(self.session_max_hours) * 3600),
                admin_email: self.admin_email,
                admin_password: self.admin_password,
                max_pending_holds: (self.max_pending_holds_per_patient > 0)
                    .then_some(i64::from(self.max_pending_holds_per_patient)),
                rate_limit_per_minute: self.rate_limit_per_minute,
            },
        })
    }
}

/// The replica's URL when one is set: PostgreSQL on both sides, or an error. SQLite has no
/// replicas, so a read URL next to it is a mistake to report, not a setting to ignore.
fn read_url(read: Option<&Secret>, primary: &Secret) -> Result<Option<Secret>, String> {
    let Some(read) = read.filter(|r| !r.0.trim().is_empty()) else {
        return Ok(None);
    };
    let postgres = |url: &str| {
        crate::store::Backend::from_url(url).ok() == Some(crate::store::Backend::Postgres)
    };
    if !postgres(&primary.0) {
        return Err(
            "DATABASE_READ_URL needs a PostgreSQL DATABASE_URL (SQLite has no replicas)".into(),
        );
    }
    if !postgres(&read.0) {
        return Err("DATABASE_READ_URL must be a postgres:// or postgresql:// URL".into());
    }
    Ok(Some(read.clone()))
}

/// `on`/`off` (also `true`/`false`, `1`/`0`), for switches an operator writes in an env file.
fn on_off(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        other => Err(format!("expected on or off, got {other:?}")),
    }
}

/// Builds a PostgreSQL URL from the `DB_*` variables, percent-encoding the user and password.
fn postgres_url(raw: &RawSettings) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let auth = match &raw.db_password {
        Some(p) if !p.0.is_empty() => format!("{}:{}", enc(&raw.db_user), enc(&p.0)),
        _ => enc(&raw.db_user),
    };
    let host = raw.db_host.as_deref().unwrap_or("localhost");
    format!(
        "postgres://{auth}@{host}:{}/{}",
        raw.db_port,
        enc(&raw.db_name)
    )
}

impl Settings {
    /// The hold in whole seconds.
    pub fn hold_secs(&self) -> i64 {
        self.hold.as_secs() as i64
    }

    /// The hold for humans: "5 minutes", "90 seconds".
    pub fn hold_description(&self) -> String {
        let s = self.hold.as_secs();
        match (s % 60, s / 60) {
            (0, 1) => "1 minute".into(),
            (0, m) => format!("{m} minutes"),
            _ if s == 1 => "1 second".into(),
            _ => format!("{s} seconds"),
        }
    }
}

#[cfg(test)]
mod tests;
