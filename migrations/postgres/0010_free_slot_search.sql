-- Finding a free slot across doctors (GET /api/available-slots): the earliest AVAILABLE slots
-- in (starts_at, id) order. "A seat left" compares two columns and cannot be an index
-- predicate; full slots are few and are skipped as the scan reads them. Neither index holds a
-- column a booking changes (current_bookings, updated_at), so seat updates stay HOT (0005).
--
-- One specialization: walked per doctor of it, in start order, stopping after the page.
CREATE INDEX time_slots_open_doctor_start_idx
    ON time_slots (doctor_id, starts_at, id) WHERE status = 'AVAILABLE';
-- Every specialization: walked in start order across all doctors, stopping after the page.
CREATE INDEX time_slots_open_start_idx
    ON time_slots (starts_at, id) WHERE status = 'AVAILABLE';
