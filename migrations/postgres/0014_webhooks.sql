-- Webhook subscriptions (issue 13): deleting a webhook cascades to its subscriptions, and
-- listing a webhook's events reads them by webhook; the primary key (event, webhook_id) serves
-- only the trigger's lookup by event, so without this index both would scan the table (and,
-- under SERIALIZABLE, predicate-lock all of it).
CREATE INDEX webhook_events_webhook_idx ON webhook_events (webhook_id);
