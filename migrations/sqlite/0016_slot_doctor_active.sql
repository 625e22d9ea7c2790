-- Whether a slot's doctor takes bookings, kept on the slot by triggers so the booking reads it
-- from the slot row it reads anyway.
ALTER TABLE time_slots ADD COLUMN doctor_active INTEGER NOT NULL DEFAULT 1 CHECK (doctor_active IN (0, 1));

CREATE TRIGGER time_slots_doctor_active AFTER INSERT ON time_slots
WHEN NOT coalesce((SELECT is_active FROM doctors WHERE id = NEW.doctor_id), 1)
BEGIN
    UPDATE time_slots SET doctor_active = 0 WHERE id = NEW.id;
END;

CREATE TRIGGER doctors_active_to_slots AFTER UPDATE OF is_active ON doctors
WHEN OLD.is_active IS NOT NEW.is_active
BEGIN
    UPDATE time_slots SET doctor_active = NEW.is_active WHERE doctor_id = NEW.id;
END;
