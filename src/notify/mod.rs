//! Telling people about appointment changes after they commit: the outbox worker
//! ([`worker`]), its channels ([`email`], [`webhook`]) and the reminder step ([`reminders`]).

pub mod email;
pub mod reminders;
pub mod webhook;
pub mod worker;

use crate::domain::outbox::{AppointmentFacts, WebhookTarget};

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

/// The channels one worker delivers through, built once from the settings.
pub struct Channels {
    /// `None` when `SMTP_URL` is unset: e-mail rows are skipped.
    pub mailer: Option<email::Mailer>,
    pub webhooks: webhook::Sender,
    /// Opens the webhooks' sealed secrets.
    pub vault: std::sync::Arc<crate::auth::vault::Vault>,
}

impl Channels {
    /// Builds the channels; the error is one line for the operator (e.g. a bad `SMTP_URL`).
    pub fn from_settings(
        settings: &crate::config::NotifySettings,
        vault: std::sync::Arc<crate::auth::vault::Vault>,
    ) -> Result<Self, String> {
        Ok(Self {
            mailer: email::Mailer::from_settings(settings)?,
            webhooks: webhook::Sender::new(
                settings.webhook_allow_private,
                settings.webhook_allow_http,
            ),
            vault,
        })
    }

    /// Sends a webhook row's notice to its target, signed with its (unsealed) secret.
    pub async fn post(&self, target: &WebhookTarget, notice: &Notice) -> Result<(), DeliveryError> {
        use crate::auth::vault::{Vault, WEBHOOK_AAD};
        let mut target = target.clone();
        if Vault::is_sealed(&target.secret) {
            target.secret = self
                .vault
                .open(WEBHOOK_AAD, &target.secret)
                .map_err(|e| DeliveryError::permanent(format!("the webhook secret {e}")))?;
        }
        self.webhooks.send(&target, notice).await
    }
}
