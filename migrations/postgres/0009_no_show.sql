-- NO_SHOW (issue 12): a CONFIRMED appointment whose patient did not come, recorded once its
-- slot has started. It keeps its seat, like COMPLETED. The status CHECK of 0001 (named by
-- PostgreSQL after the column) gains the value; existing rows all satisfy it.
ALTER TABLE appointments
    DROP CONSTRAINT appointments_status_check,
    ADD CONSTRAINT appointments_status_check
        CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'COMPLETED', 'EXPIRED', 'NO_SHOW'));
