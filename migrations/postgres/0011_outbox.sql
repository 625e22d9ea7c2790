-- The transactional outbox (issue 13). Every audited appointment change that someone should
-- hear about becomes outbox rows in the transaction that audits it: an AFTER INSERT trigger on
-- the audit log writes them, so no write path can forget (booking, confirm, cancel, expiry,
-- reschedule, no-show, completion and waitlist offers all audit). One row per channel and
-- receiver: one for the patient's e-mail when the event sends one, one per webhook subscribed
-- to the event. A worker delivers them after commit (src/notify/worker.rs).

-- Which audit actions are events, under which name, and whether the patient is e-mailed.
CREATE TABLE outbox_actions (
    action text PRIMARY KEY,
    event  text NOT NULL,
    email  boolean NOT NULL
);
INSERT INTO outbox_actions (action, event, email) VALUES
    ('BOOK', 'appointment.booked', true),
    ('CONFIRM', 'appointment.confirmed', true),
    ('CANCEL', 'appointment.cancelled', true),
    ('RESCHEDULED', 'appointment.rescheduled', true),
    ('EXPIRE', 'appointment.expired', false),
    ('COMPLETE', 'appointment.completed', false),
    ('NO_SHOW', 'appointment.no_show', false),
    ('OFFERED_FROM_WAITLIST', 'waitlist.offered', true);

CREATE TABLE webhooks (
    id         uuid PRIMARY KEY,
    url        text NOT NULL,
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A webhook's subscriptions, one row per event, so the trigger finds receivers by index.
CREATE TABLE webhook_events (
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event      text NOT NULL,
    PRIMARY KEY (event, webhook_id)
);

CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    event           text NOT NULL,
    appointment_id  uuid,
    audit_id        bigint,
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    -- No foreign key: a deleted webhook's rows are resolved as skipped by the worker.
    webhook_id      uuid,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'skipped', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    lease_token     uuid,
    last_error      text,
    -- Reminders: one per appointment, lead time and start, however often the job runs.
    dedupe_key      text UNIQUE,
    reminder_hours  integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL))
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_order_idx ON outbox (appointment_id, channel, webhook_id, id) WHERE status = 'pending';
CREATE INDEX outbox_status_idx ON outbox (status, id);

CREATE FUNCTION audit_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (event, appointment_id, audit_id, channel)
    SELECT a.event, NEW.appointment_id, NEW.id, 'email'
      FROM outbox_actions a WHERE a.action = NEW.action AND a.email;
    INSERT INTO outbox (event, appointment_id, audit_id, channel, webhook_id)
    SELECT a.event, NEW.appointment_id, NEW.id, 'webhook', w.webhook_id
      FROM outbox_actions a JOIN webhook_events w ON w.event = a.event
     WHERE a.action = NEW.action;
    RETURN NULL;
END
$$;

CREATE TRIGGER appointment_audit_log_outbox AFTER INSERT ON appointment_audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_to_outbox();

-- The reminder step looks for confirmed appointments by start time.
CREATE INDEX appointments_confirmed_start_idx ON appointments (starts_at) WHERE status = 'CONFIRMED';
