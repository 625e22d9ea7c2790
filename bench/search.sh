#!/usr/bin/env bash
# GET /api/available-slots (finding a free slot across doctors) on a large calendar:
#
#   bash bench/search.sh
#
# For PostgreSQL (a fresh database) and SQLite (a fresh temp file): starts the release
# `carebook serve` (which migrates), seeds SEARCH_DOCTORS doctors (default 1,000) with
# SEARCH_DAYS days (default 60) of 16 half-hour slots a day from tomorrow, in SQL
# (generate_series / a recursive CTE), ~20 % of them booked and ~2 % blocked; then drives the
# route over loopback with wrk (SEARCH_CONNECTIONS connections, default 8, 2 threads,
# SEARCH_DURATION seconds, default 15, per case) for: a common specialization (Cardiology,
# ~100 doctors), a rare one (Tropical Medicine, 2 doctors), no specialization (all 1,000),
# the second page of the common one (by cursor), and a specialization nobody has (the whole
# 30-day window searched, nothing found). PostgreSQL also gets EXPLAIN (ANALYZE, BUFFERS) of
# the two statements the store runs (bench/search-plans.sql). Figures go to stdout and to
# SEARCH_OUT (default bench/results/search), with `uptime` before each case.
#
# Needs: psql and a local PostgreSQL (SEARCH_PG, default postgres://postgres@127.0.0.1:5432),
# sqlite3, wrk (apt-get install -y wrk), jq. SEARCH_BACKENDS="postgres sqlite" (default).
# SEARCH_EXTEND_DAYS=365: on PostgreSQL, after the runs above, add slots up to that many days
# ahead (a year: 5.8 million slots) and run the plans and the cases again.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${SEARCH_PG:-postgres://postgres@127.0.0.1:5432}
export PGSSLMODE=disable
DOCTORS=${SEARCH_DOCTORS:-1000}
DAYS=${SEARCH_DAYS:-60}
CONNS=${SEARCH_CONNECTIONS:-8}
DURATION=${SEARCH_DURATION:-15}
BACKENDS=${SEARCH_BACKENDS:-postgres sqlite}
EXTEND=${SEARCH_EXTEND_DAYS:-0}
OUT=${SEARCH_OUT:-bench/results/search}
PG_DB=carebook_search_bench
WORK=$(mktemp -d /tmp/carebook-search.XXXXXX)
SERVER_PID=
PORT=

log() { printf '[search.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

cleanup() {
    stop_server
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {
    PORT=$(free_port)
    HOST=127.0.0.1 PORT=$PORT DATABASE_URL=$1 RATE_LIMIT_PER_MINUTE=0 METRICS_ADDR=off \
        ADMIN_EMAIL=bench@carebook.test ADMIN_PASSWORD='bench admin passphrase' \
        RUST_LOG=warn target/release/carebook serve >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    cat "$WORK/server.log" >&2
    return 1
}

SPECIALIZATIONS="'Cardiology','Dermatology','Neurology','Pediatrics','Oncology','Orthopedics','Psychiatry','Radiology','Urology','General Practice'"

seed_pg() {
    psql "$PG/$PG_DB" -qX -v ON_ERROR_STOP=1 <<SQL
INSERT INTO doctors (id, name, specialization, email, license_number, timezone)
SELECT gen_random_uuid(), 'Dr Bench ' || g,
       CASE WHEN g < 2 THEN 'Tropical Medicine'
            ELSE (ARRAY[$SPECIALIZATIONS])[1 + g % 10] END,
       'bench' || g || '@clinic.test', 'BENCH-' || g, 'UTC'
FROM generate_series(0, $DOCTORS - 1) g;
SQL
    seed_pg_slots 1 "$DAYS"
}

# Slots of every doctor for days $1 … $2 after today.
seed_pg_slots() {
    psql "$PG/$PG_DB" -qX -v ON_ERROR_STOP=1 <<SQL
INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes,
                        max_capacity, current_bookings, status)
SELECT gen_random_uuid(), d.id, day::date, time '08:00' + k * interval '30 minutes',
       (day::date + time '08:00' + k * interval '30 minutes') AT TIME ZONE 'UTC', 30, 1,
       CASE WHEN random() < 0.2 THEN 1 ELSE 0 END,
       CASE WHEN random() < 0.02 THEN 'BLOCKED' ELSE 'AVAILABLE' END
FROM doctors d
CROSS JOIN generate_series(current_date + $1, current_date + $2, interval '1 day') day
CROSS JOIN generate_series(0, 15) k;
VACUUM ANALYZE;
SQL
}

seed_sqlite() {
    sqlite3 "$1" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < $DOCTORS - 1),
     s(i, name) AS (VALUES (0, 'Cardiology'), (1, 'Dermatology'), (2, 'Neurology'),
         (3, 'Pediatrics'), (4, 'Oncology'), (5, 'Orthopedics'), (6, 'Psychiatry'),
         (7, 'Radiology'), (8, 'Urology'), (9, 'General Practice'))
INSERT INTO doctors (id, name, specialization, email, license_number, timezone)
SELECT randomblob(16), 'Dr Bench ' || n,
       CASE WHEN n < 2 THEN 'Tropical Medicine' ELSE (SELECT name FROM s WHERE i = n % 10) END,
       'bench' || n || '@clinic.test', 'BENCH-' || n, 'UTC'
FROM g;
WITH RECURSIVE day(d) AS (SELECT 1 UNION ALL SELECT d + 1 FROM day WHERE d < $DAYS),
     k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < 15)
INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes,
                        max_capacity, current_bookings, status)
SELECT randomblob(16), doc.id, date('now', '+' || d || ' days'),
       time('08:00', '+' || (k * 30) || ' minutes'),
       strftime('%Y-%m-%dT%H:%M:%fZ', date('now', '+' || d || ' days') || ' 08:00',
                '+' || (k * 30) || ' minutes'),
       30, 1,
       CASE WHEN abs(random()) % 100 < 20 THEN 1 ELSE 0 END,
       CASE WHEN abs(random()) % 100 < 2 THEN 'BLOCKED' ELSE 'AVAILABLE' END
FROM doctors doc CROSS JOIN day CROSS JOIN k;
COMMIT;
ANALYZE;
SQL
}

# wrk against one URL; prints a one-line summary and keeps the full output.
measure() {
    local backend=$1 name=$2 url=$3
    local count
    count=$(curl -fs "$url" | jq '.data | length')
    {
        echo "### $backend: $name ($count slots per answer)"
        echo "uptime: $(uptime)"
        wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$url"
        echo
    } | tee -a "$OUT/$backend.txt"
}

run_cases() {
    local backend=$1 base="http://127.0.0.1:$PORT/api/available-slots"
    : >"$OUT/$backend.txt"
    local cursor
    cursor=$(curl -fs "$base?specialization=cardiology" | jq -r '.pagination.next_cursor')
    measure "$backend" "common specialization (cardiology, page 1)" "$base?specialization=cardiology"
    measure "$backend" "common specialization (page 2, by cursor)" "$base?specialization=cardiology&cursor=$cursor"
    measure "$backend" "rare specialization (tropical medicine)" "$base?specialization=tropical%20medicine"
    measure "$backend" "every specialization" "$base"
    measure "$backend" "a specialization nobody has (30 days searched, none found)" "$base?specialization=astrology"
}

log "building the release binary"
cargo build --release --quiet --bin carebook
mkdir -p "$OUT"

for backend in $BACKENDS; do
    case $backend in
    postgres)
        psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
        start_server "$PG/$PG_DB"
        log "postgres: seeding $DOCTORS doctors x $DAYS days x 16 slots"
        time seed_pg
        psql "$PG/$PG_DB" -qXAtc "SELECT 'slots: ' || count(*) FROM time_slots" | tee "$OUT/postgres-plans.txt"
        psql "$PG/$PG_DB" -qXAt -f bench/search-plans.sql | tee -a "$OUT/postgres-plans.txt"
        run_cases postgres
        if [ "$EXTEND" -gt "$DAYS" ]; then
            log "postgres: extending the calendar to $EXTEND days"
            time seed_pg_slots "$((DAYS + 1))" "$EXTEND"
            psql "$PG/$PG_DB" -qXAtc "SELECT 'slots: ' || count(*) FROM time_slots" | tee -a "$OUT/postgres-plans-$EXTEND.txt"
            psql "$PG/$PG_DB" -qXAt -f bench/search-plans.sql | tee -a "$OUT/postgres-plans-$EXTEND.txt"
            run_cases "postgres-$EXTEND-days"
        fi
        stop_server
        ;;
    sqlite)
        db="$WORK/search.db"
        start_server "sqlite:$db"
        stop_server
        log "sqlite: seeding $DOCTORS doctors x $DAYS days x 16 slots"
        time seed_sqlite "$db"
        start_server "sqlite:$db"
        run_cases sqlite
        stop_server
        ;;
    esac
done
log "done: $OUT"
