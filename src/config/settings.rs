//! The checked settings the service runs with.

use std::time::Duration;

use chrono_tz::Tz;

use super::raw::LogFormat;
use super::secret::Secret;
use super::security::SecuritySettings;

/// Accounts, sessions and abuse limits.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub access_token: Duration,
    pub session_idle: Duration,
    pub session_max: Duration,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub rate_limit_per_minute: u32,
}

/// The terms of a booking: how long a hold lasts, how many a patient may hold, and the notice
/// windows that bind patients.
#[derive(Debug, Clone)]
pub struct BookingSettings {
    /// How long a hold lasts unconfirmed (`APPOINTMENT_EXPIRY_MINUTES`).
    pub hold: Duration,
    /// Live holds a patient may have at once (`MAX_PENDING_HOLDS_PER_PATIENT`); `None`: no cap.
    pub max_pending_holds: Option<i64>,
    /// The notice windows binding patients (`MIN_NOTICE_MINUTES`, `CANCEL_NOTICE_MINUTES`).
    pub notice: crate::domain::reschedule::Notice,
}

/// The pages for people (`/`, `/me`, `/desk`, …).
#[derive(Debug, Clone)]
pub struct PageSettings {
    /// The clinic's name at the top of every page (`CLINIC_NAME`).
    pub clinic_name: String,
    /// Session cookies carry `Secure` (`COOKIE_SECURE`, or `PUBLIC_URL` on https).
    pub cookie_secure: bool,
}

impl Default for PageSettings {
    fn default() -> Self {
        Self {
            clinic_name: "carebook clinic".into(),
            cookie_secure: false,
        }
    }
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
    /// Hold length, hold cap and notice windows.
    pub booking: BookingSettings,
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
    /// E-mail, webhooks, reminders and the outbox worker.
    pub notify: NotifySettings,
    /// Proxies, sign-up, e-mailed links and the master key.
    pub security: SecuritySettings,
    /// The clinic's name and the cookies of the pages.
    pub pages: PageSettings,
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
