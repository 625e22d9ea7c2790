//! The channels one worker delivers through.

use super::notice::{DeliveryError, Notice};
use super::{email, webhook};
use crate::domain::outbox::WebhookTarget;

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
