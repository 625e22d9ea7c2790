//! Outbox rows, as both adapters read them, and their mapping to domain types.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::corrupt;
use crate::domain::outbox::{
    AppointmentFacts, Channel, Claimed, OutboxItem, OutboxStatus, Settlement, WebhookTarget,
};
use crate::domain::{AppointmentId, DoctorId, DomainError, PatientId, SlotId};

/// Columns of [`OutboxRow`] from the outbox rows `o`.
pub const OUTBOX_COLUMNS: &str = "o.id, o.event, o.appointment_id, o.channel, o.webhook_id, \
     o.status, o.attempts, o.next_attempt_at, o.last_error, o.created_at, o.delivered_at";

/// An `outbox` row as the admin routes show it.
#[derive(sqlx::FromRow)]
pub struct OutboxRow {
    id: i64,
    event: String,
    appointment_id: Option<AppointmentId>,
    channel: String,
    webhook_id: Option<Uuid>,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<OutboxRow> for OutboxItem {
    type Error = DomainError;
    fn try_from(r: OutboxRow) -> Result<Self, DomainError> {
        Ok(Self {
            id: r.id,
            event: r.event,
            appointment_id: r.appointment_id,
            channel: Channel::parse(&r.channel).map_err(corrupt("outbox channel"))?,
            webhook_id: r.webhook_id,
            status: OutboxStatus::parse(&r.status).map_err(corrupt("outbox status"))?,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        })
    }
}

/// A claimed row with what its message needs; the fact columns are NULL when the row names
/// no appointment, and the webhook columns when it names no (remaining) webhook.
#[derive(sqlx::FromRow)]
pub struct ClaimRow {
    #[sqlx(flatten)]
    row: OutboxRow,
    reminder_hours: Option<i32>,
    status_now: Option<String>,
    patient_id: Option<PatientId>,
    doctor_id: Option<DoctorId>,
    slot_id: Option<SlotId>,
    patient_name: Option<String>,
    patient_email: Option<String>,
    doctor_name: Option<String>,
    doctor_timezone: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    duration_minutes: Option<i32>,
    expires_at: Option<DateTime<Utc>>,
    consultation_type: Option<String>,
    sequence: Option<i64>,
    hook_id: Option<Uuid>,
    hook_url: Option<String>,
    hook_secret: Option<String>,
}

impl ClaimRow {
    /// The claimed row under `lease`.
    pub fn into_claimed(self, lease: Uuid) -> Result<Claimed, DomainError> {
        let facts = self.facts();
        let webhook = match (self.hook_id, self.hook_url, self.hook_secret) {
            (Some(id), Some(url), Some(secret)) => Some(WebhookTarget { id, url, secret }),
            _ => None,
        };
        Ok(Claimed {
            item: self.row.try_into()?,
            lease,
            facts,
            webhook,
            reminder_hours: self.reminder_hours,
        })
    }

    fn facts(&self) -> Option<AppointmentFacts> {
        let starts_at = self.starts_at?;
        Some(AppointmentFacts {
            appointment_id: self.row.appointment_id?,
            patient_id: self.patient_id?,
            doctor_id: self.doctor_id?,
            slot_id: self.slot_id?,
            status: self.status_now.clone()?,
            patient_name: self.patient_name.clone()?,
            patient_email: self.patient_email.clone()?,
            doctor_name: self.doctor_name.clone()?,
            doctor_timezone: self.doctor_timezone.clone()?,
            starts_at,
            ends_at: starts_at + chrono::Duration::minutes(i64::from(self.duration_minutes?)),
            expires_at: self.expires_at,
            consultation_type: self.consultation_type.clone()?,
            sequence: self.sequence.unwrap_or(0),
        })
    }
}

/// The stored status, error and retry delay of a settlement.
pub fn settlement_columns(s: &Settlement) -> (&'static str, Option<&str>, f64) {
    match s {
        Settlement::Delivered => ("delivered", None, 0.0),
        Settlement::Skipped(why) => ("skipped", Some(why), 0.0),
        Settlement::Retry { after_secs, error } => ("pending", Some(error), *after_secs as f64),
        Settlement::Dead(why) => ("dead", Some(why), 0.0),
    }
}

/// Why a row could not be retried: it does not exist, or it was delivered already.
pub fn refusal(status: Option<String>) -> DomainError {
    match status.as_deref() {
        None => DomainError::NotFound("outbox event"),
        Some(s) => DomainError::conflict(
            "INVALID_TRANSITION",
            format!(
                "This delivery is {s}; only a pending, dead or skipped delivery can be retried"
            ),
        ),
    }
}
