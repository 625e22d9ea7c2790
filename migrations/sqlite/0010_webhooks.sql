-- Webhook subscriptions (issue 13): the cascade from a deleted webhook and the listing of a
-- webhook's events find its subscriptions by webhook (see migrations/postgres/0014_webhooks.sql).
CREATE INDEX webhook_events_webhook_idx ON webhook_events (webhook_id);
