//! The transactional outbox: what the store hands the delivery worker and the admin routes.
//!
//! Rows are written by the database itself (a trigger on the audit log, in the transaction of
//! the change) and by the reminder step; the worker claims due rows under a lease, delivers
//! them after commit and settles each one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::page::{Page, Paged};
use super::{AppointmentId, DomainResult};

/// Where an outbox row goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The patient's e-mail address.
    Email,
    /// One webhook subscription.
    Webhook,
}

impl Channel {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "email" => Ok(Self::Email),
            "webhook" => Ok(Self::Webhook),
            _ => Err(format!("unknown outbox channel {raw:?}")),
        }
    }
}

/// Where an outbox row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    Delivered,
    /// Nothing to deliver: e-mail off, no address, the webhook deleted.
    Skipped,
    /// Out of attempts; only an admin's retry sends it again.
    Dead,
}

impl OutboxStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Delivered, Self::Skipped, Self::Dead];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Skipped => "skipped",
            Self::Dead => "dead",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| format!("unknown outbox status {raw:?}"))
    }
}

/// One outbox row as the admin routes show it: ids and states, no personal data.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    /// The event name, e.g. `appointment.booked`, `appointment.reminder`.
    pub event: String,
    pub appointment_id: Option<AppointmentId>,
    pub channel: Channel,
    pub webhook_id: Option<Uuid>,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What a message about an appointment needs, read when the row is claimed (so a late
/// delivery tells the appointment as it is now).
#[derive(Debug, Clone)]
pub struct AppointmentFacts {
    pub appointment_id: AppointmentId,
    pub patient_id: super::PatientId,
    pub doctor_id: super::DoctorId,
    pub slot_id: super::SlotId,
    /// The appointment's status now, e.g. `CONFIRMED`.
    pub status: String,
    pub patient_name: String,
    pub patient_email: String,
    pub doctor_name: String,
    /// The doctor's IANA time zone; dates and times in messages are in it.
    pub doctor_timezone: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The confirm deadline of a PENDING hold.
    pub expires_at: Option<DateTime<Utc>>,
    pub consultation_type: String,
    /// Audit entries of the appointment up to this event: an iCalendar SEQUENCE that grows
    /// with every change.
    pub sequence: i64,
}

/// A webhook's address and signing secret.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub id: Uuid,
    pub url: String,
    pub secret: String,
}

/// A claimed row: the worker owns it until its lease ends.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub item: OutboxItem,
    /// Proves ownership when the row is settled.
    pub lease: Uuid,
    /// `None` when the row names no appointment (or it is gone).
    pub facts: Option<AppointmentFacts>,
    /// The webhook of a webhook row; `None` when it was deleted since.
    pub webhook: Option<WebhookTarget>,
    /// Lead time of a reminder row.
    pub reminder_hours: Option<i32>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Delivered,
    /// Nothing to send; the reason is kept as the row's last error.
    Skipped(String),
    /// Try again after this many seconds.
    Retry {
        after_secs: i64,
        error: String,
    },
    Dead(String),
}

/// The outbox use cases: claiming and settling deliveries, the admin view, reminders.
#[async_trait::async_trait]
pub trait NotifyStore: Send + Sync + 'static {
    /// Claims up to `limit` due pending rows for `lease_secs` seconds and counts the attempt.
    /// A row is due when its retry time has come, no live lease holds it and no earlier
    /// pending row of the same appointment, channel and webhook exists (delivery in order).
    /// Rows leased by another worker are skipped, never waited for.
    async fn claim_outbox(&self, limit: i64, lease_secs: i64) -> DomainResult<Vec<Claimed>>;
    /// Settles rows claimed under one lease, all in one transaction (one commit per worker
    /// step, not one per row); rows whose lease was lost meanwhile are left alone. Returns how
    /// many rows were settled.
    async fn settle_outbox_all(
        &self,
        lease: uuid::Uuid,
        settled: &[(i64, Settlement)],
    ) -> DomainResult<u64>;
    /// Extends the lease of rows `ids` claimed under `lease` (and not settled yet) to
    /// `lease_secs` from now; returns how many were extended.
    async fn renew_outbox_lease(
        &self,
        lease: uuid::Uuid,
        ids: &[i64],
        lease_secs: i64,
    ) -> DomainResult<u64>;
    /// Settles one claimed row; does nothing (`Ok(false)`) when the lease was lost meanwhile.
    async fn settle_outbox(
        &self,
        id: i64,
        lease: uuid::Uuid,
        settlement: Settlement,
    ) -> DomainResult<bool> {
        Ok(self.settle_outbox_all(lease, &[(id, settlement)]).await? == 1)
    }
    /// Rows newest first, optionally of one status.
    async fn list_outbox(
        &self,
        status: Option<OutboxStatus>,
        page: Page,
    ) -> DomainResult<Paged<OutboxItem>>;
    /// Sends a row again: a dead or skipped one becomes pending, and a pending one waiting for
    /// its next attempt is due now; attempts count from zero. A delivered row is refused
    /// (`Conflict` with `INVALID_TRANSITION`), an unknown one is `NotFound`.
    /// Errors: `NotFound("outbox event")`; `Conflict` when it is pending or delivered.
    async fn retry_outbox(&self, id: i64) -> DomainResult<OutboxItem>;
    /// Queues the reminders due now: for each lead time `h` (largest first), CONFIRMED
    /// appointments starting within `h` hours but not within the next smaller lead time.
    /// Each (appointment, lead time, start) is queued once however often this runs.
    /// Returns how many it queued.
    async fn enqueue_reminders(&self, hours: &[u32]) -> DomainResult<u64>;
}
