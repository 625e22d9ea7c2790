-- Bookings of different slots by different patients must not fail each other's
-- serialization checks. Under SERIALIZABLE, PostgreSQL records what a statement read as
-- predicate locks: on B-tree indexes at the granularity of a leaf page, not of a key. A
-- write that adds an entry to a leaf page another transaction read conflicts with it, and two
-- bookings that each read a page the other writes to form a cycle: one of them fails with
-- 40001 and is retried. Two places did that for bookings of unrelated slots and patients:
--
-- 1. The seat count. `UPDATE time_slots SET current_bookings = …` found the slot through an
--    index (a page lock) and, with the heap page full (fillfactor 100), wrote the new row
--    version to another page: a non-HOT update, which inserts into every index of the table,
--    including the leaf page every other booking of a nearby slot id had read. With room on
--    the page the update is HOT (no indexed column changes), adds no index entry and
--    conflicts with nobody but bookings of the same slot. Same for patients, whose row now
--    carries the hold count below.
ALTER TABLE time_slots SET (fillfactor = 50);
ALTER TABLE patients SET (fillfactor = 50);

-- 2. The hold cap. `SELECT count(*) FROM appointments WHERE patient_id = $1 AND status =
--    'PENDING' …` read a range of an appointments index, and every booking inserts into that
--    index: with a few thousand holds the index has a handful of leaf pages, so concurrent
--    bookings of different patients read and wrote the same pages (measured: more than half
--    of the attempts failed at 64 concurrent bookings; on a young table the planner also
--    picked a full scan of another index, or of the table: a relation-wide lock). The count
--    now lives on the patient's row, kept by a trigger on every write path (booking, confirm,
--    cancel, expiry, import), and the booking reads that one row.
ALTER TABLE patients ADD COLUMN pending_holds integer NOT NULL DEFAULT 0
    CONSTRAINT patients_pending_holds_check CHECK (pending_holds >= 0);
UPDATE patients p SET pending_holds = c.n
FROM (SELECT patient_id, count(*) AS n FROM appointments WHERE status = 'PENDING' GROUP BY patient_id) c
WHERE p.id = c.patient_id;

CREATE FUNCTION count_pending_holds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was boolean := TG_OP <> 'INSERT' AND OLD.status = 'PENDING';
    now_pending boolean := TG_OP <> 'DELETE' AND NEW.status = 'PENDING';
BEGIN
    IF was AND NOT now_pending THEN
        UPDATE patients SET pending_holds = pending_holds - 1 WHERE id = OLD.patient_id;
    ELSIF now_pending AND NOT was THEN
        UPDATE patients SET pending_holds = pending_holds + 1 WHERE id = NEW.patient_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER appointments_count_pending_holds
    AFTER INSERT OR DELETE OR UPDATE OF status ON appointments
    FOR EACH ROW EXECUTE FUNCTION count_pending_holds();
