#!/usr/bin/env bash
# Does PostgreSQL keep re-planning the booking statement? Prepares each form of `BOOK` in a
# scratch database (schema 0001+0002, 50 doctors, 1,000 patients, 200,000 slots, 100,000
# appointments, analysed),
# executes it 12 times and prints pg_prepared_statements' generic_plans|custom_plans.
#
#   bash bench/plan-check.sh        # needs psql and PostgreSQL at $BENCH_PG
#
# "optional cap" is the statement before commit 38d992c: `($18 IS NULL OR (SELECT count(*) …) < $18)`.
# Its generic plan carries the count's cost, every custom plan folds it away, so the plan
# cache never switches to the generic plan: 0|12 means every execution was planned again.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=carebook_plan_check
psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
trap 'psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
psql "$PG/$DB" -qX -f migrations/postgres/0001_schema.sql -f migrations/postgres/0002_accounts.sql >/dev/null
psql "$PG/$DB" -qX >/dev/null <<'SQL'
INSERT INTO doctors (id, name, specialization, email, license_number, timezone)
SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, 'D' || g, 'S', 'd' || g || '@x', 'L' || g, 'UTC'
FROM generate_series(1, 50) g;
INSERT INTO patients (id, name, email, phone)
SELECT ('10000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, 'P' || g, 'p' || g || '@x', '+1555'
FROM generate_series(1, 1000) g;
INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes, max_capacity)
SELECT ('20000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid,
       ('00000000-0000-0000-0000-' || lpad((g % 50 + 1)::text, 12, '0'))::uuid,
       current_date + 1 + (g / 50 / 40), time '08:00' + ((g / 50) % 40) * interval '15 min',
       (current_date + 1 + (g / 50 / 40)) + time '08:00' + ((g / 50) % 40) * interval '15 min', 15, 1000
FROM generate_series(1, 200000) g;
-- As after a minute of the benchmark: 100,000 appointments on the first 100,000 slots.
INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                          starts_at, status, consultation_type, expires_at)
SELECT gen_random_uuid(), ('10000000-0000-0000-0000-' || lpad((g % 1000 + 1)::text, 12, '0'))::uuid,
       s.doctor_id, s.id, s.slot_date, s.slot_time, s.starts_at, 'PENDING', 'video', now() + interval '1 hour'
FROM generate_series(1, 100000) g
JOIN time_slots s ON s.id = ('20000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid;
VACUUM ANALYZE;
SQL

# The statement as src/store/postgres/appointments.rs builds it, with CAP where the forms differ.
BOOK="WITH slot AS (
  UPDATE time_slots SET current_bookings = current_bookings + 1, updated_at = now()
  WHERE id = \$3 AND doctor_id = \$2 AND status = 'AVAILABLE' AND current_bookings < max_capacity
    AND starts_at > now() AND (\$4::date IS NULL OR slot_date = \$4) AND (\$5::time IS NULL OR slot_time = \$5)
    AND CAP
  RETURNING id, slot_date, slot_time, starts_at),
ins AS (
  INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                            starts_at, consultation_type, reason_for_visit, expires_at)
  SELECT \$6, \$1, \$2, slot.id, slot.slot_date, slot.slot_time, slot.starts_at, \$7, \$8, now() + make_interval(secs => \$9)
  FROM slot RETURNING *),
audit AS (
  INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, actor, actor_role)
  SELECT id, 'BOOK', NULL, 'PENDING', \$10, \$13 FROM ins),
access AS (
  INSERT INTO access_log (actor_id, actor_role, patient_id, action, route, request_id, outcome, break_glass_reason)
  SELECT \$14, \$13, patient_id, 'create', \$15, \$16, 201, \$17 FROM ins WHERE \$14::uuid IS NOT NULL),
idem AS (
  INSERT INTO idempotency_keys (key, fingerprint, appointment_id)
  SELECT \$11, \$12, id FROM ins WHERE \$11::text IS NOT NULL)
SELECT * FROM ins"
COUNT="(SELECT count(*) FROM appointments WHERE patient_id = \$1 AND status = 'PENDING' AND expires_at > now())"
TYPES="uuid,uuid,uuid,date,time,uuid,text,text,float8,text,text,text,text,uuid,text,text,text,bigint"

check() { # label, CAP text, the cap's value, first slot number
    local sql=${BOOK/CAP/$2} script
    script="PREPARE b($TYPES) AS $sql;"
    for i in $(seq "$4" $(($4 + 11))); do
        script+="EXECUTE b('10000000-0000-0000-0000-$(printf %012d $((i % 1000 + 1)))',
          '00000000-0000-0000-0000-$(printf %012d $((i % 50 + 1)))', '20000000-0000-0000-0000-$(printf %012d "$i")',
          NULL, NULL, gen_random_uuid(), 'video', 'r', 3600, 'actor', NULL, NULL, 'admin',
          'aaaaaaaa-0000-0000-0000-000000000001', '/api/appointments', 'request', NULL, $3);"
    done
    script+="SELECT generic_plans || '|' || custom_plans FROM pg_prepared_statements;"
    printf "%-32s generic|custom = %s\n" "$1" "$(printf "%s\n" "$script" | psql "$PG/$DB" -qXAt -f - | tail -n 1)"
}
check "optional cap (before 38d992c)" "(\$18::bigint IS NULL OR $COUNT < \$18)" NULL 150001
check "BOOK (no cap)" "\$18::bigint IS NULL" NULL 150101
check "BOOK_CAPPED (a cap set)" "$COUNT < \$18" 1000 150201
