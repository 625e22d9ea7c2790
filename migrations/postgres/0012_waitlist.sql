-- The waitlist (issue 13): a patient waiting for a seat with a doctor between two local dates.
-- When a seat of a matching slot frees (cancel, expiry, reschedule away, time off lifted), the
-- first WAITING entry in line (created_at, then id) gets a PENDING hold on it in the same
-- transaction, and the entry becomes OFFERED with the appointment it was given.
CREATE TABLE waitlist_entries (
    id             uuid PRIMARY KEY,
    patient_id     uuid NOT NULL REFERENCES patients (id),
    doctor_id      uuid NOT NULL REFERENCES doctors (id),
    -- The doctor's local calendar dates, inclusive, compared with time_slots.slot_date.
    from_date      date NOT NULL,
    to_date        date NOT NULL,
    status         text NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'OFFERED')),
    -- The hold it was offered. No foreign key: its check would lock pages of the appointments
    -- primary key that concurrent bookings insert into (see 0007).
    appointment_id uuid,
    offered_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT waitlist_entries_dates_check CHECK (to_date >= from_date),
    CONSTRAINT waitlist_entries_offer_check
        CHECK ((status = 'OFFERED') = (appointment_id IS NOT NULL AND offered_at IS NOT NULL))
);
-- The line of a doctor, read by every offer: only waiting entries, in join order.
CREATE INDEX waitlist_entries_line_idx ON waitlist_entries (doctor_id, created_at, id)
    WHERE status = 'WAITING';
CREATE INDEX waitlist_entries_patient_idx ON waitlist_entries (patient_id, created_at, id);
CREATE INDEX waitlist_entries_created_idx ON waitlist_entries (created_at, id);
