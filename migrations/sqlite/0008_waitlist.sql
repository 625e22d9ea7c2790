-- The waitlist (issue 13), as migrations/postgres/0012_waitlist.sql: a patient waiting for a
-- seat with a doctor between two local dates, offered the first matching seat that frees.
CREATE TABLE waitlist_entries (
    id             BLOB PRIMARY KEY CHECK (length(id) = 16),
    patient_id     BLOB NOT NULL REFERENCES patients (id),
    doctor_id      BLOB NOT NULL REFERENCES doctors (id),
    from_date      TEXT NOT NULL CHECK (from_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    to_date        TEXT NOT NULL
                   CHECK (to_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND to_date >= from_date),
    status         TEXT NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'OFFERED')),
    appointment_id BLOB CHECK (appointment_id IS NULL OR length(appointment_id) = 16),
    offered_at     TEXT,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                   CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    CHECK ((status = 'OFFERED') = (appointment_id IS NOT NULL AND offered_at IS NOT NULL))
) STRICT;
CREATE INDEX waitlist_entries_line_idx ON waitlist_entries (doctor_id, created_at, id)
    WHERE status = 'WAITING';
CREATE INDEX waitlist_entries_patient_idx ON waitlist_entries (patient_id, created_at, id);
CREATE INDEX waitlist_entries_created_idx ON waitlist_entries (created_at, id);
