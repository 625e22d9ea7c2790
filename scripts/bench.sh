#!/usr/bin/env bash
# The benchmark suite, in one command (BENCHMARKS.md is the record of its last full run):
#
#   bash scripts/bench.sh
#
# Builds the release binaries; measures the `pgbench -N` baseline on the local PostgreSQL;
# then, for PostgreSQL (a fresh database) and SQLite (a fresh temp file), starts
# `target/release/carebook serve` on a free loopback port and runs every carebook-bench
# scenario against it (growth seeds 1,000,000 appointments in SQL first); stops the servers
# and writes bench/results/results.{json,md}. About 20 minutes on a 2-core machine.
#
# growth is paired: a second server of the same build runs on an empty database of the same
# backend (idle until then), and growth's windows alternate between it and the seeded server,
# R S R … S R (BENCH_GROWTH_ROUNDS seeded windows, default 4), so that the machine's drift between windows
# weighs on both sides of the ratio.
#
# The server starts with an admin account (ADMIN_EMAIL/ADMIN_PASSWORD, defaults
# bench@carebook.test / "bench admin passphrase") that carebook-bench logs in as. One admin
# sends far more than the per-user rate limit and books many holds per patient, so the server
# runs with RATE_LIMIT_PER_MINUTE=0 and MAX_PENDING_HOLDS_PER_PATIENT=0, and with
# ACCESS_TOKEN_MINUTES=120 so the one token outlives a slow run. Every other check stays on:
# token verification, role and ownership checks, the access record of each booking (kept in
# its audit row).
#
# BENCH_BASELINE_REV=<git revision> also measures that revision in the same run: its release
# `carebook` is built once in a temporary git worktree (target dir and binary cached under
# BENCH_BASELINE_CACHE, default /tmp/carebook-bench-baseline), and on each backend, before the
# current build, carebook-bench runs BENCH_BASELINE_SCENARIOS against it (default: every
# scenario but growth) with --no-login unless BENCH_BASELINE_LOGIN=1 (a revision from before
# authentication has no /auth routes). The report then sets each figure beside its baseline.
#
# Knobs (environment): BENCH_PG (server URL without database, default
# postgres://postgres@127.0.0.1:5432), BENCH_CLIENTS (64), BENCH_READ_CLIENTS (32),
# BENCH_DURATION (seconds per window, 20), BENCH_MAX_BOOKINGS (40000), BENCH_POOL_SIZE
# (carebook's DB_POOL_SIZE, 16), BENCH_HOT_POOL_SIZE (hot-slot again on PostgreSQL at this
# DB_POOL_SIZE, 48: the most a default max_connections of 100 leaves room for; the same as BENCH_POOL_SIZE skips it), BENCH_SEED (1000000), BENCH_GROWTH_ROUNDS (4), BENCH_BACKENDS ("postgres sqlite"),
# BENCH_OUT (bench/results), ADMIN_EMAIL, ADMIN_PASSWORD, BENCH_BASELINE_REV (none),
# BENCH_BASELINE_SCENARIOS, BENCH_BASELINE_CACHE, BENCH_BASELINE_LOGIN (0).
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
# carebook's sqlx is built without TLS, so it talks to PostgreSQL in plain TCP; pgbench and
# psql would otherwise negotiate TLS (sslmode=prefer) and pay for it. Same transport for both.
export PGSSLMODE=disable
CLIENTS=${BENCH_CLIENTS:-64}
READ_CLIENTS=${BENCH_READ_CLIENTS:-32}
PAGE_CLIENTS=${BENCH_PAGE_CLIENTS:-8}
DURATION=${BENCH_DURATION:-20}
MAX_BOOKINGS=${BENCH_MAX_BOOKINGS:-40000}
POOL=${BENCH_POOL_SIZE:-16}
HOT_POOL=${BENCH_HOT_POOL_SIZE:-48}
SEED=${BENCH_SEED:-1000000}
GROWTH_ROUNDS=${BENCH_GROWTH_ROUNDS:-4}
BACKENDS=${BENCH_BACKENDS:-postgres sqlite}
OUT=${BENCH_OUT:-bench/results}
export ADMIN_EMAIL=${ADMIN_EMAIL:-bench@carebook.test}
export ADMIN_PASSWORD=${ADMIN_PASSWORD:-bench admin passphrase}
. bench/serve.sh
BASELINE_REV=${BENCH_BASELINE_REV:-}
BASELINE_SCENARIOS=${BENCH_BASELINE_SCENARIOS:-book-distinct,hot-slot,book-confirm,availability-week,availability-day}
BASELINE_CACHE=${BENCH_BASELINE_CACHE:-/tmp/carebook-bench-baseline}
BASELINE_LOGIN=${BENCH_BASELINE_LOGIN:-0}
BASELINE_SRC=
PG_DB=carebook_bench
REF_DB=carebook_bench_reference
PGBENCH_DB=pgbench_carebook
WORK=$(mktemp -d /tmp/carebook-bench.XXXXXX)
SERVER_PID=
BASE_URL=
REF_PID=
REF_URL=

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
    stop_reference
    if [ -n "$BASELINE_SRC" ]; then
        git worktree remove --force "$BASELINE_SRC" >/dev/null 2>&1 || true
    fi
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $REF_DB WITH (FORCE)" >/dev/null 2>&1 || true
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server BINARY DATABASE_URL LOGFILE: sets SERVER_PID and BASE_URL once /health answers
# (bench/serve.sh: the settings every bench script serves with, DB_POOL_SIZE=$POOL). A revision
# without authentication ignores the admin and limit variables.
start_server() {
    BIN=$1 serve "$2" "$3" || { log "$1 did not start"; exit 1; }
    SERVER_PID=$PID
    BASE_URL=$BASE
    log "$1 pid $SERVER_PID serving $BASE_URL ($2)"
}

# start_reference BACKEND: a second server of the current build on an empty database of that
# backend (REF_PID, REF_URL); growth alternates its windows between it and the seeded server.
start_reference() {
    local saved_pid=$SERVER_PID saved_url=$BASE_URL url
    case $1 in
        postgres)
            psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $REF_DB WITH (FORCE)" >/dev/null
            url=$PG/$REF_DB
            ;;
        *) url=sqlite:$WORK/reference.db ;;
    esac
    start_server target/release/carebook "$url" "$WORK/server-$1-reference.log"
    REF_PID=$SERVER_PID
    REF_URL=$BASE_URL
    SERVER_PID=$saved_pid
    BASE_URL=$saved_url
}

stop_reference() {
    local saved=$SERVER_PID
    SERVER_PID=$REF_PID
    stop_server
    SERVER_PID=$saved
    REF_PID=
}

# build_baseline: sets BASELINE_BIN to the release carebook of BASELINE_REV, building it in a
# temporary worktree with its own target dir the first time (several minutes on 2 cores).
build_baseline() {
    local sha
    sha=$(git rev-parse --verify "$BASELINE_REV^{commit}")
    BASELINE_SHORT=$(git rev-parse --short "$sha")
    BASELINE_BIN=$BASELINE_CACHE/carebook-$sha
    if [ -x "$BASELINE_BIN" ]; then
        log "baseline: reusing $BASELINE_BIN"
        return 0
    fi
    mkdir -p "$BASELINE_CACHE"
    BASELINE_SRC=$WORK/baseline-src
    log "baseline: building carebook at $BASELINE_SHORT in $BASELINE_SRC"
    git worktree add --detach "$BASELINE_SRC" "$sha" >/dev/null
    CARGO_TARGET_DIR=$BASELINE_CACHE/target cargo build --release --locked \
        --manifest-path "$BASELINE_SRC/Cargo.toml" -p carebook --bin carebook
    cp "$BASELINE_CACHE/target/release/carebook" "$BASELINE_BIN.tmp"
    mv "$BASELINE_BIN.tmp" "$BASELINE_BIN"
    git worktree remove --force "$BASELINE_SRC"
    BASELINE_SRC=
}

# fresh_database BACKEND NAME: sets URL and EXTRA for an empty database of that backend.
fresh_database() {
    case $1 in
        postgres)
            psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
            URL=$PG/$PG_DB
            EXTRA=(--pg-stats-url "$URL")
            ;;
        sqlite)
            URL=sqlite:$WORK/$2.db
            EXTRA=()
            ;;
        *) log "unknown backend $1"; exit 1 ;;
    esac
}

log "building release binaries"
cargo build --release --workspace --bins
BENCH=target/release/carebook-bench
if [ -n "$BASELINE_REV" ]; then build_baseline; fi

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
        --max-bookings "$MAX_BOOKINGS" --seed-appointments "$SEED" --growth-rounds "$GROWTH_ROUNDS")
INPUTS=()
for backend in $BACKENDS; do
    if [ -n "$BASELINE_REV" ]; then
        fresh_database "$backend" baseline
        start_server "$BASELINE_BIN" "$URL" "$WORK/server-$backend-baseline.log"
        log "running $BASELINE_SCENARIOS on $backend at $BASELINE_SHORT (baseline)"
        LOGIN=(--no-login)
        if [ "$BASELINE_LOGIN" = 1 ]; then LOGIN=(--email "$ADMIN_EMAIL"); fi
        "$BENCH" run --base-url "$BASE_URL" --label "$backend" --server-pid "$SERVER_PID" \
            --scenarios "$BASELINE_SCENARIOS" "${LOGIN[@]}" --seed-database-url "$URL" \
            "${COMMON[@]}" "${EXTRA[@]}" --out "$WORK/$backend-baseline.json"
        stop_server
        INPUTS+=(--baseline "$WORK/$backend-baseline.json")
    fi
    fresh_database "$backend" carebook
    start_server target/release/carebook "$URL" "$WORK/server-$backend.log"
    start_reference "$backend"
    log "running every scenario on $backend"
    # The password reaches carebook-bench through the environment, not its command line.
    "$BENCH" run --base-url "$BASE_URL" --label "$backend" --server-pid "$SERVER_PID" \
        --email "$ADMIN_EMAIL" --seed-database-url "$URL" --reference-url "$REF_URL" \
        "${COMMON[@]}" "${EXTRA[@]}" --out "$WORK/$backend.json"
    stop_server
    stop_reference
    INPUTS+=(--input "$WORK/$backend.json")
    # The pages on a server of their own: the desk's day has a column per active doctor, and
    # the scenarios above leave dozens.
    fresh_database "$backend" pages
    start_server target/release/carebook "$URL" "$WORK/server-$backend-pages.log"
    log "running the page scenarios on $backend"
    "$BENCH" run --base-url "$BASE_URL" --label "$backend-pages" --server-pid "$SERVER_PID" \
        --scenarios page-desk-day,page-doctor-month --email "$ADMIN_EMAIL" \
        "${COMMON[@]}" --page-clients "$PAGE_CLIENTS" "${EXTRA[@]}" --out "$WORK/$backend-pages.json"
    stop_server
    INPUTS+=(--input "$WORK/$backend-pages.json")
    if [ "$backend" = postgres ] && [ "$HOT_POOL" != "$POOL" ]; then
        # The hot slot again at the largest pool size the issue names: more connections mean
        # more bookings of one slot in flight at once.
        fresh_database postgres carebook
        saved_pool=$POOL
        POOL=$HOT_POOL
        start_server target/release/carebook "$URL" "$WORK/server-postgres-pool$HOT_POOL.log"
        POOL=$saved_pool
        log "running hot-slot on postgres at DB_POOL_SIZE=$HOT_POOL"
        "$BENCH" run --base-url "$BASE_URL" --label "postgres-pool$HOT_POOL" \
            --server-pid "$SERVER_PID" --scenarios hot-slot --email "$ADMIN_EMAIL" \
            --seed-database-url "$URL" "${COMMON[@]}" "${EXTRA[@]}" \
            --out "$WORK/postgres-pool$HOT_POOL.json"
        stop_server
        INPUTS+=(--input "$WORK/postgres-pool$HOT_POOL.json")
    fi
done
if [ -n "$BASELINE_REV" ]; then
    BASELINE_META=(--meta "baseline=carebook at $BASELINE_SHORT (BENCH_BASELINE_REV=$BASELINE_REV), same load generator$([ "$BASELINE_LOGIN" = 1 ] || echo ' without login'), measured just before the current build on each backend")
else
    BASELINE_META=()
fi

# --- Report --------------------------------------------------------------------------------
mkdir -p "$OUT"
mem_total=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
"$BENCH" report "${INPUTS[@]}" --pgbench-output "$WORK/pgbench.txt" \
    --pgbench-sample "$WORK/pgbench-sample.json" \
    --meta "command=$(env | grep -E '^BENCH_' | sort | tr '\n' ' ')bash scripts/bench.sh" \
    --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --meta "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --meta "machine=$(nproc) cores, $mem_total, $cpu_model, $(uname -sr)" \
    --meta "postgresql=$(psql "$PG/postgres" -qXAtc 'SELECT version()' | cut -d' ' -f1-2)" \
    --meta "postgresql settings=sslmode=disable (pgbench and carebook alike), fsync=$(pgsetting fsync), synchronous_commit=$(pgsetting synchronous_commit), wal_sync_method=$(pgsetting wal_sync_method), shared_buffers=$(pgsetting shared_buffers), max_connections=$(pgsetting max_connections)" \
    --meta "carebook settings=DB_POOL_SIZE=$POOL, APPOINTMENT_EXPIRY_MINUTES=60, LOG_FORMAT=json (RUST_LOG default info), RATE_LIMIT_PER_MINUTE=0, MAX_PENDING_HOLDS_PER_PATIENT=0, MAIL_DIR=off (e-mail off, as with no SMTP_URL before), ACCESS_TOKEN_MINUTES=120, load generator logged in as the admin ADMIN_EMAIL; server and load generator on the same machine" \
    "${BASELINE_META[@]}" \
    --meta "load=$CLIENTS booking clients, $READ_CLIENTS availability clients, $DURATION s windows (at most $MAX_BOOKINGS bookings each), growth after $SEED seeded appointments, paired with an empty reference server in $((2 * GROWTH_ROUNDS + 1)) alternating windows" \
    --out-json "$OUT/results.json" --out-md "$OUT/results.md"
log "wrote $OUT/results.json and $OUT/results.md"
cat "$OUT/results.md"
