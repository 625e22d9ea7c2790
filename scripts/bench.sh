#!/usr/bin/env bash
# The benchmark suite of issue 5, in one command:
#
#   bash scripts/bench.sh
#
# Builds the release binaries; measures the `pgbench -N` baseline on the local PostgreSQL;
# then, for PostgreSQL (a fresh database) and SQLite (a fresh temp file), starts
# `target/release/carebook serve` on a free loopback port and runs every carebook-bench
# scenario against it (growth seeds 1,000,000 appointments in SQL first); stops the servers
# and writes bench/results/results.{json,md}. About 10 minutes on a 2-core machine.
#
# Knobs (environment): BENCH_PG (server URL without database, default
# postgres://postgres@127.0.0.1:5432), BENCH_CLIENTS (64), BENCH_READ_CLIENTS (32),
# BENCH_DURATION (seconds per window, 20), BENCH_MAX_BOOKINGS (40000), BENCH_POOL_SIZE
# (carebook's DB_POOL_SIZE, 16), BENCH_SEED (1000000), BENCH_BACKENDS ("postgres sqlite"),
# BENCH_OUT (bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
# carebook's sqlx is built without TLS, so it talks to PostgreSQL in plain TCP; pgbench and
# psql would otherwise negotiate TLS (sslmode=prefer) and pay for it. Same transport for both.
export PGSSLMODE=disable
CLIENTS=${BENCH_CLIENTS:-64}
READ_CLIENTS=${BENCH_READ_CLIENTS:-32}
DURATION=${BENCH_DURATION:-20}
MAX_BOOKINGS=${BENCH_MAX_BOOKINGS:-40000}
POOL=${BENCH_POOL_SIZE:-16}
SEED=${BENCH_SEED:-1000000}
BACKENDS=${BENCH_BACKENDS:-postgres sqlite}
OUT=${BENCH_OUT:-bench/results}
PG_DB=carebook_bench
PGBENCH_DB=pgbench_carebook
WORK=$(mktemp -d /tmp/carebook-bench.XXXXXX)
SERVER_PID=
BASE_URL=

log() { printf '[bench.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

cleanup() {
    stop_server
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server DATABASE_URL LOGFILE: sets SERVER_PID and BASE_URL once /health answers.
start_server() {
    local port
    port=$(free_port)
    DATABASE_URL=$1 HOST=127.0.0.1 PORT=$port DB_POOL_SIZE=$POOL LOG_FORMAT=json \
        APPOINTMENT_EXPIRY_MINUTES=60 target/release/carebook serve >"$2" 2>&1 &
    SERVER_PID=$!
    BASE_URL=http://127.0.0.1:$port/api
    for _ in $(seq 1 150); do
        if curl -fsS -m 2 "$BASE_URL/health" >/dev/null 2>&1; then
            log "carebook pid $SERVER_PID serving $BASE_URL ($1)"
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    log "carebook did not start; its log:"
    tail -20 "$2" >&2
    exit 1
}

log "building release binaries"
cargo build --release --workspace --bins
BENCH=target/release/carebook-bench

psql "$PG/postgres" -qXAtc "SELECT 1" >/dev/null || { log "no PostgreSQL at $PG"; exit 1; }
pgsetting() { psql "$PG/postgres" -qXAtc "SHOW $1"; }

# --- Baseline: pgbench -N, same server, same client count ------------------------------------
log "pgbench baseline: -i -s 10, then -N -c $CLIENTS -j 2 -T $DURATION -M prepared"
psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)" >/dev/null
psql "$PG/postgres" -qXc "CREATE DATABASE $PGBENCH_DB" >/dev/null
pgbench -i -s 10 -q "$PG/$PGBENCH_DB" >"$WORK/pgbench-init.txt" 2>&1
psql "$PG/$PGBENCH_DB" -qXc "CHECKPOINT" >/dev/null
# Watch the middle of the run: wait events and commits per WAL flush.
( sleep 2 && "$BENCH" pg-sample --database-url "$PG/$PGBENCH_DB" --seconds $((DURATION - 4)) \
    --out "$WORK/pgbench-sample.json" ) &
SAMPLER=$!
pgbench -N -c "$CLIENTS" -j 2 -T "$DURATION" -M prepared "$PG/$PGBENCH_DB" >"$WORK/pgbench.txt" 2>&1
wait "$SAMPLER" || log "pgbench sampling failed"
grep -E '^(tps|latency average|number of (clients|threads|failed))' "$WORK/pgbench.txt" >&2 || true
psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)" >/dev/null

COMMON=(--clients "$CLIENTS" --read-clients "$READ_CLIENTS" --duration "$DURATION"
        --max-bookings "$MAX_BOOKINGS" --seed-appointments "$SEED")
INPUTS=()
for backend in $BACKENDS; do
    case $backend in
        postgres)
            psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
            URL=$PG/$PG_DB
            EXTRA=(--pg-stats-url "$URL")
            ;;
        sqlite)
            URL=sqlite:$WORK/carebook.db
            EXTRA=()
            ;;
        *) log "unknown backend $backend"; exit 1 ;;
    esac
    start_server "$URL" "$WORK/server-$backend.log"
    log "running every scenario on $backend"
    "$BENCH" run --base-url "$BASE_URL" --label "$backend" --server-pid "$SERVER_PID" \
        --seed-database-url "$URL" "${COMMON[@]}" "${EXTRA[@]}" --out "$WORK/$backend.json"
    stop_server
    INPUTS+=(--input "$WORK/$backend.json")
done

# --- Report --------------------------------------------------------------------------------
mkdir -p "$OUT"
mem_total=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
"$BENCH" report "${INPUTS[@]}" --pgbench-output "$WORK/pgbench.txt" \
    --pgbench-sample "$WORK/pgbench-sample.json" \
    --meta "command=bash scripts/bench.sh" \
    --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --meta "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --meta "machine=$(nproc) cores, $mem_total, $cpu_model, $(uname -sr)" \
    --meta "postgresql=$(psql "$PG/postgres" -qXAtc 'SELECT version()' | cut -d' ' -f1-2)" \
    --meta "postgresql settings=sslmode=disable (pgbench and carebook alike), fsync=$(pgsetting fsync), synchronous_commit=$(pgsetting synchronous_commit), wal_sync_method=$(pgsetting wal_sync_method), shared_buffers=$(pgsetting shared_buffers), max_connections=$(pgsetting max_connections)" \
    --meta "carebook settings=DB_POOL_SIZE=$POOL, APPOINTMENT_EXPIRY_MINUTES=60, LOG_FORMAT=json (RUST_LOG default info), server and load generator on the same machine" \
    --meta "load=$CLIENTS booking clients, $READ_CLIENTS availability clients, $DURATION s windows (at most $MAX_BOOKINGS bookings each), growth after $SEED seeded appointments" \
    --out-json "$OUT/results.json" --out-md "$OUT/results.md"
log "wrote $OUT/results.json and $OUT/results.md"
cat "$OUT/results.md"
