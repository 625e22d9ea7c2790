//! Webhook subscriptions, for both adapters: a subscription and its events in one write
//! transaction. The audit log's trigger finds subscribers by event.

/// `impl WebhookStore` for `$store`, expanded in an adapter's `webhooks` module (see
/// [`super`] for what the expansion site supplies).
macro_rules! webhook_queries {
    ($store:ty) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use uuid::Uuid;

        use super::tx::{in_write, snapshot};
        use crate::domain::page::{Page, Paged};
        use crate::domain::webhook::{NewWebhook, Webhook, WebhookStore};
        use crate::domain::{DomainError, DomainResult};
        use crate::store::rows;
        use crate::store::shared::count_and_page;
        use crate::store::statements::{query, query_scalar};
        use crate::store::webhook_rows::{event_names, sorted, WebhookRow};

        #[async_trait]
        impl WebhookStore for $store {
            async fn create_webhook(&self, new: NewWebhook) -> DomainResult<Webhook> {
                let id = Uuid::new_v4();
                let names = event_names(&new.events);
                let (names, new) = (&names, &new);
                let created_at: DateTime<Utc> = in_write(self.writes(), |mut tx| async move {
                    let created_at = query_scalar(
                        "INSERT INTO webhooks (id, url, secret) VALUES ($1, $2, $3)
                         RETURNING created_at",
                    )
                    .bind(id)
                    .bind(new.url.as_str())
                    .bind(new.secret.expose())
                    .fetch_one(&mut *tx)
                    .await?;
                    for name in names {
                        query("INSERT INTO webhook_events (webhook_id, event) VALUES ($1, $2)")
                            .bind(id)
                            .bind(name)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Ok((created_at, tx))
                })
                .await?;
                Ok(Webhook {
                    id,
                    url: new.url.as_str().to_owned(),
                    events: sorted(&new.events),
                    created_at,
                })
            }

            async fn list_webhooks(&self, page: Page) -> DomainResult<Paged<Webhook>> {
                let (total, items): (i64, Vec<WebhookRow>) =
                    snapshot(self.fresh(), |mut tx| async move {
                        let count = "SELECT count(*) FROM webhooks";
                        let list = concat!(
                            "SELECT w.id, w.url, w.created_at,
                                    COALESCE((SELECT string_agg(e.event, ',') FROM webhook_events e
                                               WHERE e.webhook_id = w.id), '') AS events
                             FROM webhooks w ORDER BY w.created_at, w.",
                            seq_sql!(),
                            " LIMIT $1 OFFSET $2"
                        );
                        Ok((count_and_page!(tx, count, list, page), tx))
                    })
                    .await?;
                rows::paged(total, items)
            }

            async fn delete_webhook(&self, id: Uuid) -> DomainResult<()> {
                let deleted = in_write(self.writes(), |mut tx| async move {
                    // The foreign key cascades too; explicit so that it holds whatever
                    // SQLite's foreign_keys setting.
                    query("DELETE FROM webhook_events WHERE webhook_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let deleted = query("DELETE FROM webhooks WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    Ok((deleted, tx))
                })
                .await?;
                if deleted == 0 {
                    return Err(DomainError::NotFound("webhook"));
                }
                Ok(())
            }
        }
    };
}
pub(crate) use webhook_queries;
