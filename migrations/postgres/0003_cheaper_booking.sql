-- Cheaper bookings: fewer checks on the hot path, same guarantees.
--
-- An appointment's doctor must be its slot's doctor. Until now two foreign keys checked the
-- slot and the doctor separately (two lookups and two row locks per booking, the doctor's
-- row shared by every concurrent booking of that doctor) and nothing in the database tied
-- the two together. One composite key does both: the slot exists, and it is that doctor's
-- (time_slots.doctor_id references doctors, so the doctor exists too).
ALTER TABLE time_slots ADD CONSTRAINT time_slots_id_doctor_key UNIQUE (id, doctor_id);
ALTER TABLE appointments
    DROP CONSTRAINT appointments_doctor_id_fkey,
    DROP CONSTRAINT appointments_time_slot_id_fkey,
    ADD CONSTRAINT appointments_slot_doctor_fkey
        FOREIGN KEY (time_slot_id, doctor_id) REFERENCES time_slots (id, doctor_id);

-- The access log is append-only and `at` only grows: a BRIN index answers time ranges at a
-- fraction of a B-tree's cost per insert.
DROP INDEX access_log_at_idx;
CREATE INDEX access_log_at_brin ON access_log USING brin (at);
