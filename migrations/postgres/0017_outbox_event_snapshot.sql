-- A message tells what happened at its event, not what the appointment looks like when the
-- worker gets to it: a booking confirmed and rescheduled within one poll must still be mailed
-- as "booking received" at its first time, with its confirm deadline. The outbox row keeps the
-- slot and the hold deadline the appointment had at the event (the status is the audit row's
-- new status). Reminders (no audit row) still read the appointment as it is.
ALTER TABLE outbox ADD COLUMN slot_id uuid, ADD COLUMN expires_at timestamptz;

-- An AFTER trigger fires at the end of the statement that audits, so the appointment it reads
-- is the one that statement wrote (the booking and transition statements are single CTEs).
CREATE OR REPLACE FUNCTION audit_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (event, appointment_id, audit_id, channel, slot_id, expires_at)
    SELECT a.event, NEW.appointment_id, NEW.id, 'email', ap.time_slot_id, ap.expires_at
      FROM outbox_actions a LEFT JOIN appointments ap ON ap.id = NEW.appointment_id
     WHERE a.action = NEW.action AND a.email;
    INSERT INTO outbox (event, appointment_id, audit_id, channel, webhook_id, slot_id, expires_at)
    SELECT a.event, NEW.appointment_id, NEW.id, 'webhook', w.webhook_id, ap.time_slot_id, ap.expires_at
      FROM outbox_actions a JOIN webhook_events w ON w.event = a.event
      LEFT JOIN appointments ap ON ap.id = NEW.appointment_id
     WHERE a.action = NEW.action;
    RETURN NULL;
END
$$;

-- Every change the outbox tells of now e-mails the patient too: a hold that lapsed (the seat is
-- gone; book again), a completed visit (a review may now be left) and a recorded no-show.
UPDATE outbox_actions SET email = true WHERE action IN ('EXPIRE', 'COMPLETE', 'NO_SHOW');
