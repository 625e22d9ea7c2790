#!/usr/bin/env bash
# What each part of a booking costs PostgreSQL (see docs/performance-notes.md):
#
#   bash bench/ablate.sh
#
# For each experiment: a fresh database migrated by the release `carebook serve`, then the
# experiment's SQL (removing one part of what a booking writes), then `carebook-bench run
# --scenarios book-distinct` (64 clients, 20 s, authentication on, the settings of
# scripts/bench.sh), back to back with a control run on the untouched schema. Prints
# bookings/s and PostgreSQL CPU per booking for each. The removed parts are not optional: a
# database without them is not a valid carebook database; the point is the upper bound of what
# each lead could save. Needs `cargo build --release --workspace --bins` first.
#
# Some experiments change the server's settings instead of the schema (ENVS below), e.g. the log
# level or the outbox worker's poll interval; an experiment name may also be NAME@BINARY to run
# another build of the server (e.g. `control@/tmp/carebook-before`).
#
# Knobs: BENCH_PG (server URL without database), ABLATE_DURATION (20), ABLATE_ONLY (names),
# ABLATE_SQLITE=1 (run on a fresh SQLite file instead; settings and binaries only, no SQL),
# ABLATE_OUT (bench/results/ablate; a run overwrites the files of the same names there).
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export PGSSLMODE=disable
. bench/serve.sh
DURATION=${ABLATE_DURATION:-20}
DB=carebook_ablate
OUT=${ABLATE_OUT:-bench/results/ablate}
mkdir -p "$OUT"
# Server logs (tens of MB a run) stay out of the results directory.
LOGS=$(mktemp -d /tmp/carebook-ablate.XXXXXX)

declare -A SQL=(
    [control]=""
    [no_outbox_trigger]="DROP TRIGGER appointment_audit_log_outbox ON appointment_audit_log;"
    [outbox_trigger_noop]="CREATE OR REPLACE FUNCTION audit_to_outbox() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';"
    [outbox_trigger_email_only]="CREATE OR REPLACE FUNCTION audit_to_outbox() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN INSERT INTO outbox (event, appointment_id, audit_id, channel) SELECT a.event, NEW.appointment_id, NEW.id, ''email'' FROM outbox_actions a WHERE a.action = NEW.action AND a.email; RETURN NULL; END';"
    [no_pending_holds_trigger]="DROP TRIGGER appointments_count_pending_holds ON appointments;"
    [no_access_log_rows]="CREATE FUNCTION skip_row() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'; CREATE TRIGGER skip BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION skip_row();"
    [no_foreign_keys]="DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text IN ('appointments', 'appointment_audit_log', 'access_log', 'outbox', 'idempotency_keys') LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); END LOOP; END \$\$;"
    [no_check_constraints]="DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint WHERE contype = 'c' AND conrelid::regclass::text IN ('appointments', 'time_slots', 'appointment_audit_log', 'access_log', 'outbox', 'patients') LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); END LOOP; END \$\$;"
    [no_domain_constraints]="DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT contypid::regtype AS d, conname FROM pg_constraint WHERE contype = 'c' AND contypid <> 0 LOOP EXECUTE format('ALTER DOMAIN %s DROP CONSTRAINT %I', r.d, r.conname); END LOOP; END \$\$;"
    [no_secondary_appointment_indexes]="DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT i.indexrelid::regclass AS ix FROM pg_index i WHERE i.indrelid = 'appointments'::regclass AND NOT i.indisprimary AND NOT i.indisunique LOOP EXECUTE format('DROP INDEX %s', r.ix); END LOOP; END \$\$;"
)
# Every removal at once (with the settings of quiet_logs below): the floor of what a booking
# could cost if none of those parts had to be written.
SQL[all_removed]="${SQL[no_outbox_trigger]} ${SQL[no_pending_holds_trigger]} ${SQL[no_access_log_rows]} ${SQL[no_foreign_keys]} ${SQL[no_check_constraints]} ${SQL[no_domain_constraints]} ${SQL[no_secondary_appointment_indexes]}"

# Settings an experiment runs the server with (on the untouched schema).
declare -A ENVS=(
    # Only warnings logged: no request or "booked" line written on the request path.
    [quiet_logs]="RUST_LOG=warn"
    # The outbox worker never polls in the window: rows are written but not claimed or settled.
    [no_outbox_worker]="OUTBOX_POLL_INTERVAL_MS=4000000000"
    [all_removed]="RUST_LOG=warn"
)
ORDER=(control no_outbox_trigger no_pending_holds_trigger no_access_log_rows no_foreign_keys
       no_secondary_appointment_indexes control)
if [ -n "${ABLATE_ONLY:-}" ]; then read -r -a ORDER <<<"$ABLATE_ONLY"; fi

SERVER_PID=
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
trap 'stop_server; rm -rf "$LOGS"; psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

RUN=0
for spec in "${ORDER[@]}"; do
    RUN=$((RUN + 1))
    name=${spec%@*}
    bin=target/release/carebook
    label=$name
    if [[ $spec == *@* ]]; then
        bin=${spec#*@}
        label=$name-$(basename "$bin")
    fi
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
    DBURL=$PG/$DB
    STATS=(--pg-stats-url "$PG/$DB")
    if [ "${ABLATE_SQLITE:-0}" = 1 ]; then
        [ -z "${SQL[$name]:-}" ] || { echo "$name: SQL experiments are PostgreSQL only" >&2; exit 2; }
        DBURL=sqlite:$LOGS/ablate-$RUN.db
        STATS=()
        label=sqlite-$label
    fi
    BIN=$bin
    # shellcheck disable=SC2086 # each experiment's variables, NAME=value separated by spaces
    serve "$DBURL" "$LOGS/server-$RUN.log" ${ENVS[$name]:-}
    SERVER_PID=$PID
    if [ -n "${SQL[$name]:-}" ]; then psql "$PG/$DB" -qXv ON_ERROR_STOP=1 -c "${SQL[$name]}" >/dev/null; fi
    target/release/carebook-bench run --base-url "$BASE" --label postgres \
        --server-pid "$SERVER_PID" --scenarios book-distinct --email "$ADMIN_EMAIL" \
        --clients 64 --duration "$DURATION" "${STATS[@]}" \
        --out "$OUT/$label-$RUN.json" >"$OUT/$label-$RUN.out" 2>&1
    stop_server
    python3 - "$OUT/$label-$RUN.json" "$label" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
r = s["resources"]
r["postgres_cpu_cores"] = r.get("postgres_cpu_cores") or 0
t = s["throughput"]
print(f"{sys.argv[2]:34s} {t:7.0f} bookings/s  postgres {r['postgres_cpu_cores']:.2f} cores = "
      f"{1e6 * r['postgres_cpu_cores'] / t:4.0f} us/booking  carebook {1e6 * r['server_cpu_cores'] / t:4.0f} us/booking  "
      f"statuses {s['ops']['book']['statuses']}")
EOF
done
