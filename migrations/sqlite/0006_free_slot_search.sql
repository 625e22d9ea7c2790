-- Finding a free slot across doctors (GET /api/available-slots); see
-- migrations/postgres/0010_free_slot_search.sql.
CREATE INDEX time_slots_open_doctor_start_idx
    ON time_slots (doctor_id, starts_at, id) WHERE status = 'AVAILABLE';
CREATE INDEX time_slots_open_start_idx
    ON time_slots (starts_at, id) WHERE status = 'AVAILABLE';
