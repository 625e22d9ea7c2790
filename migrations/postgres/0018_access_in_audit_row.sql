-- A person's appointment write (book, confirm, cancel, complete, reschedule, no-show) already
-- adds one `appointment_audit_log` row in its transaction. Its PHI access record now lives in
-- that same row instead of a second row in `access_log`: one heap row, three index entries and
-- a sequence step fewer per booking (issue 10's "booking within 5 % of before authentication").
-- The columns stay NULL for the system's rows (sweeper, waitlist offers) and for rows written
-- before this migration; those writes' access records are in `access_log` as before.
ALTER TABLE appointment_audit_log
    ADD COLUMN actor_id           uuid,
    ADD COLUMN route              text,
    ADD COLUMN request_id         text,
    ADD COLUMN break_glass_reason text;

-- Every access record, wherever it is kept: what `GET /api/audit/access` and a patient's
-- access log read. A record kept in an audit row takes its patient from the appointment, its
-- action and outcome from the audit action (BOOK answered 201 `create`, the rest 200
-- `update`), and its id from 2^52 up so ids stay unique across both tables. Read-only: a view
-- of this form cannot be written through, and both tables refuse UPDATE and DELETE.
CREATE VIEW access_records AS
SELECT id, at, actor_id, actor_role, patient_id, action::text AS action, route, request_id,
       outcome, break_glass_reason
FROM access_log
UNION ALL
SELECT l.id + 4503599627370496, l.at, l.actor_id, l.actor_role, a.patient_id,
       CASE WHEN l.action = 'BOOK' THEN 'create' ELSE 'update' END, l.route, l.request_id,
       CASE WHEN l.action = 'BOOK' THEN 201 ELSE 200 END, l.break_glass_reason
FROM appointment_audit_log l
JOIN appointments a ON a.id = l.appointment_id
WHERE l.actor_id IS NOT NULL;
