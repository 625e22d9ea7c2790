-- Issue 14's "CHECKs re-parsed per statement". PostgreSQL re-reads each table CHECK's stored
-- expression (stringToNode) in every statement that inserts into or updates the table, and an
-- UPDATE evaluates every CHECK of the table, also on columns it does not set: the booking's
-- seat update checked the slot's duration, capacity and status each time. In a profile of
-- `book-distinct` constraint checking was about a tenth of PostgreSQL's CPU per booking.
-- A domain's constraint is kept parsed in each backend's type cache and is checked only where
-- a value is assigned to the column. Same values allowed as before; the CHECKs relating two
-- columns (seats within capacity, a webhook row has a webhook) stay table constraints.
-- Clients see the base types (text, integer): PostgreSQL describes domain columns by them.
CREATE DOMAIN slot_status AS text CHECK (VALUE IN ('AVAILABLE', 'BLOCKED'));
CREATE DOMAIN slot_minutes AS integer CHECK (VALUE BETWEEN 5 AND 480);
CREATE DOMAIN slot_capacity AS integer CHECK (VALUE BETWEEN 1 AND 1000);
CREATE DOMAIN appointment_status AS text
    CHECK (VALUE IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'COMPLETED', 'EXPIRED', 'NO_SHOW'));
CREATE DOMAIN consultation_kind AS text CHECK (VALUE IN ('in-person', 'video', 'phone'));
CREATE DOMAIN blood_group AS text CHECK (VALUE IN ('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-'));
CREATE DOMAIN hold_count AS integer CHECK (VALUE >= 0);
CREATE DOMAIN access_action AS text CHECK (VALUE IN ('read', 'list', 'create', 'update'));
CREATE DOMAIN outbox_channel AS text CHECK (VALUE IN ('email', 'webhook'));
CREATE DOMAIN outbox_status AS text CHECK (VALUE IN ('pending', 'delivered', 'skipped', 'dead'));

ALTER TABLE time_slots
    DROP CONSTRAINT time_slots_status_check,
    DROP CONSTRAINT time_slots_duration_minutes_check,
    DROP CONSTRAINT time_slots_max_capacity_check,
    ALTER COLUMN status TYPE slot_status,
    ALTER COLUMN duration_minutes TYPE slot_minutes,
    ALTER COLUMN max_capacity TYPE slot_capacity;

-- The hold counter's trigger fires on UPDATE OF status: a column in a trigger's column list
-- cannot change type under it, so the trigger is dropped and created again, unchanged.
DROP TRIGGER appointments_count_pending_holds ON appointments;
ALTER TABLE appointments
    DROP CONSTRAINT appointments_status_check,
    DROP CONSTRAINT appointments_consultation_type_check,
    ALTER COLUMN status TYPE appointment_status,
    ALTER COLUMN consultation_type TYPE consultation_kind;
CREATE TRIGGER appointments_count_pending_holds
    AFTER INSERT OR DELETE OR UPDATE OF status ON appointments
    FOR EACH ROW EXECUTE FUNCTION count_pending_holds();

ALTER TABLE patients
    DROP CONSTRAINT patients_blood_group_check,
    DROP CONSTRAINT patients_pending_holds_check,
    ALTER COLUMN blood_group TYPE blood_group,
    ALTER COLUMN pending_holds TYPE hold_count;

ALTER TABLE access_log
    DROP CONSTRAINT access_log_action_check,
    ALTER COLUMN action TYPE access_action;

ALTER TABLE outbox
    DROP CONSTRAINT outbox_channel_check,
    DROP CONSTRAINT outbox_status_check,
    ALTER COLUMN channel TYPE outbox_channel,
    ALTER COLUMN status TYPE outbox_status;
