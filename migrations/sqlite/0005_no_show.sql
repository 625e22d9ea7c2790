-- NO_SHOW (issue 12): a CONFIRMED appointment whose patient did not come, recorded once its
-- slot has started. It keeps its seat, like COMPLETED.
--
-- SQLite cannot change a CHECK in place, so `appointments` is rebuilt with the new status list:
-- its rows are copied aside, the table dropped and created again, the rows put back, and its
-- indexes and triggers (0001, 0003) recreated. Migrations run inside a transaction, where
-- `PRAGMA foreign_keys = OFF` has no effect; instead the foreign keys of the tables that
-- reference appointments (appointment_audit_log, idempotency_keys) are deferred to the commit.
-- Dropping the table counts each of their rows as a violation, putting the same ids back into
-- a table named `appointments` resolves each again, and the commit checks that none is left.
-- The audit log itself is not touched (its append-only triggers stay as they are).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE appointments_copy AS SELECT * FROM appointments;
DROP TABLE appointments;

CREATE TABLE appointments (
    id                  BLOB PRIMARY KEY CHECK (length(id) = 16),
    patient_id          BLOB NOT NULL REFERENCES patients (id),
    doctor_id           BLOB NOT NULL REFERENCES doctors (id),
    time_slot_id        BLOB NOT NULL REFERENCES time_slots (id),
    appointment_date    TEXT NOT NULL,
    appointment_time    TEXT NOT NULL,
    -- The slot's start, copied so lists can be ordered without a join (as on PostgreSQL).
    starts_at           TEXT NOT NULL
                        CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    status              TEXT NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'COMPLETED', 'EXPIRED', 'NO_SHOW')),
    consultation_type   TEXT NOT NULL CHECK (consultation_type IN ('in-person', 'video', 'phone')),
    reason_for_visit    TEXT,
    expires_at          TEXT
                        CHECK (expires_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    confirmed_at        TEXT,
    cancelled_at        TEXT,
    cancellation_reason TEXT,
    completed_at        TEXT,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                          starts_at, status, consultation_type, reason_for_visit, expires_at,
                          confirmed_at, cancelled_at, cancellation_reason, completed_at,
                          created_at, updated_at)
SELECT id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
       starts_at, status, consultation_type, reason_for_visit, expires_at,
       confirmed_at, cancelled_at, cancellation_reason, completed_at,
       created_at, updated_at
FROM appointments_copy ORDER BY rowid;
DROP TABLE appointments_copy;

-- As in 0001.
CREATE UNIQUE INDEX appointments_live_slot_patient_key
    ON appointments (time_slot_id, patient_id) WHERE status IN ('PENDING', 'CONFIRMED');
CREATE INDEX appointments_pending_expiry_idx ON appointments (expires_at) WHERE status = 'PENDING';
CREATE INDEX appointments_pending_slot_idx ON appointments (time_slot_id) WHERE status = 'PENDING';
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at, id);
CREATE INDEX appointments_doctor_idx ON appointments (doctor_id, starts_at, id);

-- As in 0003.
CREATE TRIGGER appointments_doctor_is_slot_doctor_insert BEFORE INSERT ON appointments
WHEN NEW.doctor_id IS NOT (SELECT doctor_id FROM time_slots WHERE id = NEW.time_slot_id)
BEGIN SELECT RAISE(ABORT, 'an appointment''s doctor must be its slot''s doctor'); END;
CREATE TRIGGER appointments_doctor_is_slot_doctor_update
BEFORE UPDATE OF doctor_id, time_slot_id ON appointments
WHEN NEW.doctor_id IS NOT (SELECT doctor_id FROM time_slots WHERE id = NEW.time_slot_id)
BEGIN SELECT RAISE(ABORT, 'an appointment''s doctor must be its slot''s doctor'); END;
