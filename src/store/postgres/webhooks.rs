//! Webhook subscriptions: the shared use case (`crate::store::shared::webhooks`).

crate::store::shared::webhooks::webhook_queries!(super::adapter::PgStore);
