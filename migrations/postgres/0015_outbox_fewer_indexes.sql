-- Every booking writes an outbox row (0011), and every index on `outbox` is one more insertion
-- per booking. Two of the five served no hot path:
-- - the UNIQUE constraint on `dedupe_key` indexed the NULL key of every non-reminder row; a
--   partial unique index over reminder keys alone keeps "one reminder per key" and skips them;
-- - `outbox_status_idx` only served the admin list by status, a rare read that can scan.
ALTER TABLE outbox DROP CONSTRAINT outbox_dedupe_key_key;
CREATE UNIQUE INDEX outbox_reminder_key ON outbox (dedupe_key) WHERE dedupe_key IS NOT NULL;
DROP INDEX outbox_status_idx;
