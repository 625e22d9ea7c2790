//! Webhook rows as both adapters read them: the subscription with its events joined by commas.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::webhook::{Webhook, WebhookEvent};
use crate::domain::{DomainError, DomainResult};

/// A `webhooks` row with `events`, its subscribed event names separated by commas.
#[derive(sqlx::FromRow)]
pub struct WebhookRow {
    id: Uuid,
    url: String,
    created_at: DateTime<Utc>,
    events: String,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = DomainError;

    fn try_from(r: WebhookRow) -> DomainResult<Self> {
        let events = r
            .events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(WebhookEvent::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DomainError::Internal(format!("stored webhook event: {e}").into()))?;
        Ok(Self {
            id: r.id,
            url: r.url,
            events: sorted(&events),
            created_at: r.created_at,
        })
    }
}

/// Events distinct, in [`WebhookEvent::ALL`] order.
pub fn sorted(events: &[WebhookEvent]) -> Vec<WebhookEvent> {
    let mut sorted = events.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// The events of a new subscription as stored: distinct, in [`WebhookEvent::ALL`] order.
pub fn event_names(events: &[WebhookEvent]) -> Vec<String> {
    sorted(events)
        .into_iter()
        .map(|e| e.as_str().to_owned())
        .collect()
}
