//! The settings as flags and environment variables read them, before any check.

use clap::Args;

use super::secret::Secret;
use super::security::RawSecurity;

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
    /// The clinic's name, shown at the top of every page.
    #[arg(
        global = true,
        long,
        env = "CLINIC_NAME",
        default_value = "carebook clinic"
    )]
    pub clinic_name: String,
    /// Mark the pages' session cookies `Secure` (sent over HTTPS only). On by itself when
    /// PUBLIC_URL is an https:// address; set it when a TLS proxy serves carebook otherwise.
    #[arg(global = true, long, env = "COOKIE_SECURE", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub cookie_secure: bool,
    #[command(flatten)]
    pub security: RawSecurity,
}

/// `on`/`off` (also `true`/`false`, `1`/`0`), for switches an operator writes in an env file.
fn on_off(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        other => Err(format!("expected on or off, got {other:?}")),
    }
}
