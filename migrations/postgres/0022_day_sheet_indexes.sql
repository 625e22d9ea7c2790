-- The front desk's day reads every doctor's slots on one date, then the appointments on those
-- slots whatever their status: neither the (doctor, date, time) key nor the partial index of
-- PENDING holds serves those lookups, which would otherwise scan both tables.
CREATE INDEX time_slots_date_idx ON time_slots (slot_date);
CREATE INDEX appointments_slot_idx ON appointments (time_slot_id);
