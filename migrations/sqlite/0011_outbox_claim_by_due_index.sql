-- The worker's claim walks `outbox_due_idx` (pending rows by due time) and stops after one
-- batch. With `outbox_status_idx` present SQLite's planner preferred it for the claim's
-- `status = 'pending'`, read every pending row and sorted them for each claim: under a
-- backlog (bookings faster than deliveries) each claim cost grew with the backlog, and the
-- worker fell further behind. The admin list by status is rare and scans the table by id.
-- (PostgreSQL dropped the same index in its 0015.)
DROP INDEX outbox_status_idx;
