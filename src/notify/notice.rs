//! One message to deliver, and why a delivery failed.

use crate::domain::outbox::AppointmentFacts;

/// One message to deliver: an outbox row with what it is about.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The outbox row's id: stable across retries (the webhook message id derives from it).
    pub outbox_id: i64,
    /// The event name, e.g. `appointment.booked`, `waitlist.offered`, `appointment.reminder`.
    pub event: String,
    /// When the row was written (the change's commit, give or take).
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub facts: AppointmentFacts,
    /// Lead time of a reminder.
    pub reminder_hours: Option<i32>,
}

/// Why a delivery failed. `message` is stored on the outbox row and shown to admins: it must
/// carry no personal data (no addresses, names or bodies), only what went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// Retrying cannot help (e.g. the receiver refused the address for good): dead at once.
    pub permanent: bool,
    pub message: String,
}

impl DeliveryError {
    /// A failure worth retrying (network, timeouts, 5xx, 4xx from SMTP).
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }

    /// A failure no retry can fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: message.into(),
        }
    }
}
