-- Whether a slot's doctor takes bookings, kept on the slot by triggers so the booking statement
-- checks it in the row it updates anyway: reading `doctors` there would cost every booking a
-- second index lookup and predicate lock for a change made once in a doctor's life.
ALTER TABLE time_slots ADD COLUMN doctor_active boolean NOT NULL DEFAULT true;

CREATE FUNCTION slot_takes_doctor_active() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.doctor_active := coalesce((SELECT is_active FROM doctors WHERE id = NEW.doctor_id), true);
    RETURN NEW;
END $$;
CREATE TRIGGER time_slots_doctor_active BEFORE INSERT ON time_slots
    FOR EACH ROW EXECUTE FUNCTION slot_takes_doctor_active();

CREATE FUNCTION doctor_active_to_slots() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE time_slots SET doctor_active = NEW.is_active WHERE doctor_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER doctors_active_to_slots AFTER UPDATE OF is_active ON doctors
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION doctor_active_to_slots();
