-- The two statements of src/store/postgres/search.rs (kept in step by hand), prepared with
-- the same parameters the route binds, then EXPLAIN (ANALYZE, BUFFERS) for a first page of 20
-- (21 asked, to know whether another follows) over today … today+30. Run by bench/search.sh.
PREPARE of_specialization(date, date, timestamptz, timestamptz, timestamptz, uuid, bigint, text) AS
SELECT s.*, d.name AS doctor_name, d.specialization AS doctor_specialization,
       d.clinic_name AS doctor_clinic_name, d.timezone AS doctor_timezone
FROM doctors d
CROSS JOIN LATERAL (
    SELECT t.id, t.doctor_id, t.slot_date, t.slot_time, t.duration_minutes, t.max_capacity,
           t.current_bookings - l.lapsed AS current_bookings,
           t.max_capacity - t.current_bookings + l.lapsed AS available_capacity,
           'AVAILABLE' AS status, t.starts_at, t.created_at, t.updated_at
    FROM time_slots t
    CROSS JOIN LATERAL (
        SELECT count(*)::int AS lapsed FROM appointments a
        WHERE t.current_bookings > 0 AND a.time_slot_id = t.id
          AND a.status = 'PENDING' AND a.expires_at <= now()
    ) l
    WHERE t.status = 'AVAILABLE' AND t.starts_at > now() AND t.doctor_id = d.id
      AND t.starts_at >= coalesce($3, '-infinity'::timestamptz)
      AND t.starts_at < coalesce($4, 'infinity'::timestamptz)
      AND t.slot_date BETWEEN $1 AND $2
      AND (t.starts_at, t.id) > (coalesce($5, '-infinity'::timestamptz),
                                 coalesce($6, '00000000-0000-0000-0000-000000000000'::uuid))
      AND t.current_bookings - l.lapsed < t.max_capacity
    ORDER BY t.starts_at, t.id LIMIT $7) s
WHERE d.is_active AND lower(d.specialization) = lower($8)
ORDER BY s.starts_at, s.id LIMIT $7;

PREPARE of_all(date, date, timestamptz, timestamptz, timestamptz, uuid, bigint) AS
SELECT t.id, t.doctor_id, t.slot_date, t.slot_time, t.duration_minutes, t.max_capacity,
       t.current_bookings - l.lapsed AS current_bookings,
       t.max_capacity - t.current_bookings + l.lapsed AS available_capacity,
       'AVAILABLE' AS status, t.starts_at, t.created_at, t.updated_at,
       d.name AS doctor_name, d.specialization AS doctor_specialization,
       d.clinic_name AS doctor_clinic_name, d.timezone AS doctor_timezone
FROM time_slots t
CROSS JOIN LATERAL (
    SELECT count(*)::int AS lapsed FROM appointments a
    WHERE t.current_bookings > 0 AND a.time_slot_id = t.id
      AND a.status = 'PENDING' AND a.expires_at <= now()
) l
JOIN doctors d ON d.id = t.doctor_id AND d.is_active
WHERE t.status = 'AVAILABLE' AND t.starts_at > now()
  AND t.starts_at >= coalesce($3, '-infinity'::timestamptz)
  AND t.starts_at < coalesce($4, 'infinity'::timestamptz)
  AND t.slot_date BETWEEN $1 AND $2
  AND (t.starts_at, t.id) > (coalesce($5, '-infinity'::timestamptz),
                             coalesce($6, '00000000-0000-0000-0000-000000000000'::uuid))
  AND t.current_bookings - l.lapsed < t.max_capacity
ORDER BY t.starts_at, t.id LIMIT $7;

\echo '== one specialization, common: cardiology (~10 % of the doctors)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
EXECUTE of_specialization(current_date, current_date + 30, (current_date - 1)::timestamp AT TIME ZONE 'UTC',
                          (current_date + 32)::timestamp AT TIME ZONE 'UTC', NULL, NULL, 21, 'cardiology');
\echo '== one specialization, rare: tropical medicine (2 doctors)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
EXECUTE of_specialization(current_date, current_date + 30, (current_date - 1)::timestamp AT TIME ZONE 'UTC',
                          (current_date + 32)::timestamp AT TIME ZONE 'UTC', NULL, NULL, 21, 'tropical medicine');
\echo '== one specialization nobody has'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
EXECUTE of_specialization(current_date, current_date + 30, (current_date - 1)::timestamp AT TIME ZONE 'UTC',
                          (current_date + 32)::timestamp AT TIME ZONE 'UTC', NULL, NULL, 21, 'astrology');
\echo '== every specialization'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
EXECUTE of_all(current_date, current_date + 30, (current_date - 1)::timestamp AT TIME ZONE 'UTC',
               (current_date + 32)::timestamp AT TIME ZONE 'UTC', NULL, NULL, 21);
