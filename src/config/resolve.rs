//! From raw settings to checked ones: every default that follows another setting, every
//! conflict named, one line for the operator.

use std::time::Duration;

use super::raw::{RawSettings, DEFAULT_DATABASE_URL};
use super::secret::Secret;
use super::settings::*;

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
        let clinic_name = self.clinic_name.trim();
        if clinic_name.is_empty() || clinic_name.chars().count() > 200 {
            return Err("CLINIC_NAME must be 1-200 characters".into());
        }
        let pages = PageSettings {
            clinic_name: clinic_name.to_owned(),
            cookie_secure: self.cookie_secure
                || security
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")),
        };
        Ok(Settings {
            notify,
            security,
            pages,
            schedule_horizon_days: i64::from(self.schedule_horizon_days),
            schedule_interval: Duration::from_secs(
                u64::from(self.schedule_generation_interval_minutes.max(1)) * 60,
            ),
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
            booking: BookingSettings {
                hold: Duration::from_secs(hold_secs),
                max_pending_holds: (self.max_pending_holds_per_patient > 0)
                    .then_some(i64::from(self.max_pending_holds_per_patient)),
                notice: crate::domain::reschedule::Notice {
                    book_secs: i64::from(self.min_notice_minutes) * 60,
                    cancel_secs: i64::from(self.cancel_notice_minutes) * 60,
                },
            },
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
    let postgres = crate::dburl::is_postgres;
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

impl BookingSettings {
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
