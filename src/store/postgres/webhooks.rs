//! Webhook subscriptions on PostgreSQL. A subscription and its events are written by one
//! statement; the audit log's trigger (migration 0011) finds subscribers by event.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::adapter::PgStore;
use super::tx::snapshot;
use crate::domain::page::{Page, Paged};
use crate::domain::webhook::{NewWebhook, Webhook, WebhookStore};
use crate::domain::{DomainError, DomainResult};
use crate::store::retry::retry;
use crate::store::rows;
use crate::store::statements::{query, query_as, query_scalar};
use crate::store::webhook_rows::{event_names, WebhookRow};

/// A webhook's columns with its events joined by commas, `w` being the webhook.
const SELECT: &str = "SELECT w.id, w.url, w.created_at,
       COALESCE((SELECT string_agg(e.event, ',') FROM webhook_events e
                  WHERE e.webhook_id = w.id), '') AS events
  FROM webhooks w";

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, new: NewWebhook) -> DomainResult<Webhook> {
        let id = Uuid::new_v4();
        let names = event_names(&new.events);
        let (names, new) = (&names, &new);
        let created_at: DateTime<Utc> = retry(|| async move {
            Ok(query_scalar(
                "WITH w AS (INSERT INTO webhooks (id, url, secret) VALUES ($1, $2, $3)
                            RETURNING created_at),
                      e AS (INSERT INTO webhook_events (webhook_id, event)
                            SELECT $1, unnest($4::text[]))
                 SELECT created_at FROM w",
            )
            .bind(id)
            .bind(new.url.as_str())
            .bind(new.secret.expose())
            .bind(names)
            .fetch_one(&self.pool)
            .await?)
        })
        .await?;
        Ok(Webhook {
            id,
            url: new.url.as_str().to_owned(),
            events: crate::store::webhook_rows::sorted(&new.events),
            created_at,
        })
    }

    async fn list_webhooks(&self, page: Page) -> DomainResult<Paged<Webhook>> {
        let sql = format!("{SELECT} ORDER BY w.created_at, w.id LIMIT $1 OFFSET $2");
        let sql = sql.as_str();
        let (total, items): (i64, Vec<WebhookRow>) = snapshot(&self.fresh, |mut tx| async move {
            let total = query_scalar("SELECT count(*) FROM webhooks")
                .fetch_one(&mut *tx)
                .await?;
            let items = query_as(sql)
                .bind(page.limit)
                .bind(page.offset)
                .fetch_all(&mut *tx)
                .await?;
            Ok(((total, items), tx))
        })
        .await?;
        rows::paged(total, items)
    }

    async fn delete_webhook(&self, id: Uuid) -> DomainResult<()> {
        let deleted = retry(|| async move {
            Ok(query("DELETE FROM webhooks WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected())
        })
        .await?;
        if deleted == 0 {
            return Err(DomainError::NotFound("webhook"));
        }
        Ok(())
    }
}
