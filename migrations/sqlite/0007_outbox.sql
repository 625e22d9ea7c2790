-- The transactional outbox (issue 13); see migrations/postgres/0011_outbox.sql for the design.
-- An AFTER INSERT trigger on the audit log writes one row per channel and receiver in the
-- transaction that audits the change.

CREATE TABLE outbox_actions (
    action TEXT PRIMARY KEY,
    event  TEXT NOT NULL,
    email  INTEGER NOT NULL CHECK (email IN (0, 1))
) STRICT;
INSERT INTO outbox_actions (action, event, email) VALUES
    ('BOOK', 'appointment.booked', 1),
    ('CONFIRM', 'appointment.confirmed', 1),
    ('CANCEL', 'appointment.cancelled', 1),
    ('RESCHEDULED', 'appointment.rescheduled', 1),
    ('EXPIRE', 'appointment.expired', 0),
    ('COMPLETE', 'appointment.completed', 0),
    ('NO_SHOW', 'appointment.no_show', 0),
    ('OFFERED_FROM_WAITLIST', 'waitlist.offered', 1);

CREATE TABLE webhooks (
    id         BLOB PRIMARY KEY CHECK (length(id) = 16),
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE webhook_events (
    webhook_id BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    PRIMARY KEY (event, webhook_id)
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    event           TEXT NOT NULL,
    appointment_id  BLOB,
    audit_id        INTEGER,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    webhook_id      BLOB,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'skipped', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    lease_until     TEXT,
    lease_token     BLOB,
    last_error      TEXT,
    dedupe_key      TEXT UNIQUE,
    reminder_hours  INTEGER,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    delivered_at    TEXT,
    CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL))
) STRICT;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_order_idx ON outbox (appointment_id, channel, webhook_id, id) WHERE status = 'pending';
CREATE INDEX outbox_status_idx ON outbox (status, id);

CREATE TRIGGER appointment_audit_log_outbox AFTER INSERT ON appointment_audit_log
BEGIN
    INSERT INTO outbox (event, appointment_id, audit_id, channel)
    SELECT a.event, NEW.appointment_id, NEW.id, 'email'
      FROM outbox_actions a WHERE a.action = NEW.action AND a.email = 1;
    INSERT INTO outbox (event, appointment_id, audit_id, channel, webhook_id)
    SELECT a.event, NEW.appointment_id, NEW.id, 'webhook', w.webhook_id
      FROM outbox_actions a JOIN webhook_events w ON w.event = a.event
     WHERE a.action = NEW.action;
END;

-- The reminder step looks for confirmed appointments by start time.
CREATE INDEX appointments_confirmed_start_idx ON appointments (starts_at) WHERE status = 'CONFIRMED';
