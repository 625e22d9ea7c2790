-- An appointment's doctor must be its slot's doctor, whatever the code does (PostgreSQL
-- enforces the same with a composite foreign key, in its own 0003).
CREATE TRIGGER appointments_doctor_is_slot_doctor_insert BEFORE INSERT ON appointments
WHEN NEW.doctor_id IS NOT (SELECT doctor_id FROM time_slots WHERE id = NEW.time_slot_id)
BEGIN SELECT RAISE(ABORT, 'an appointment''s doctor must be its slot''s doctor'); END;
CREATE TRIGGER appointments_doctor_is_slot_doctor_update
BEFORE UPDATE OF doctor_id, time_slot_id ON appointments
WHEN NEW.doctor_id IS NOT (SELECT doctor_id FROM time_slots WHERE id = NEW.time_slot_id)
BEGIN SELECT RAISE(ABORT, 'an appointment''s doctor must be its slot''s doctor'); END;
