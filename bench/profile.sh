#!/usr/bin/env bash
# Profiles one scenario (see docs/performance-notes.md): starts target/release/carebook on a
# fresh database, drives SCENARIO with carebook-bench, records `perf record -a -g` for
# PERF_SECS seconds in the middle of the window, then writes text summaries (CPU by process,
# top symbols of the server and of PostgreSQL, PostgreSQL executor phases) to OUT.
#
#   bash bench/profile.sh book-distinct                      # PostgreSQL, 25 s window
#   DBURL=sqlite:/tmp/prof.db bash bench/profile.sh book-distinct
#   bash bench/profile.sh pgbench                            # pgbench -N -c 64 instead
#
# Env: DBURL (default postgres://postgres@127.0.0.1:5432/carebook_bench_prof), POOL (16),
# DURATION (25), PERF_DELAY (seconds before recording, 10), PERF_SECS (10), OUT
# (bench/results/profiles), ADMIN_EMAIL/ADMIN_PASSWORD (the admin the server makes sure of and
# carebook-bench logs in as; rate limit and hold cap off, as in scripts/bench.sh), BIN (the
# server, default target/release/carebook), NO_LOGIN=1 (for a server from before authentication). Needs perf
# and root (or perf_event_paranoid <= 0). Run `cargo build --release --workspace --bins` first.
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:?usage: bench/profile.sh SCENARIO|pgbench}
PG=postgres://postgres@127.0.0.1:5432
DBURL=${DBURL:-$PG/carebook_bench_prof}
POOL=${POOL:-16}
DURATION=${DURATION:-25}
PERF_DELAY=${PERF_DELAY:-10}
PERF_SECS=${PERF_SECS:-10}
OUT=${OUT:-bench/results/profiles}
BIN=${BIN:-target/release/carebook}
export PGSSLMODE=disable
export ADMIN_EMAIL=${ADMIN_EMAIL:-bench@carebook.test}
export ADMIN_PASSWORD=${ADMIN_PASSWORD:-bench admin passphrase}
WORK=$(mktemp -d /tmp/carebook-profile.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS carebook_bench_prof WITH (FORCE)" >/dev/null 2>&1 || true
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS pgbench_prof WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"
NAME=$SCENARIO
[[ $DBURL == sqlite:* ]] && NAME=sqlite-$SCENARIO

if [ "$SCENARIO" = pgbench ]; then
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS pgbench_prof WITH (FORCE)" -c "CREATE DATABASE pgbench_prof" >/dev/null
    pgbench -i -s 10 -q "$PG/pgbench_prof" >/dev/null 2>&1
    pgbench -N -c 64 -j 2 -T "$DURATION" -M prepared "$PG/pgbench_prof" >"$WORK/load.txt" 2>&1 &
    LOAD=$!
else
    if [[ $DBURL == sqlite:* ]]; then
        rm -f "${DBURL#sqlite:}" "${DBURL#sqlite:}-wal" "${DBURL#sqlite:}-shm"
        STATS=()
    else
        psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS carebook_bench_prof WITH (FORCE)" >/dev/null
        STATS=(--pg-stats-url "$DBURL")
    fi
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    DATABASE_URL=$DBURL HOST=127.0.0.1 PORT=$PORT DB_POOL_SIZE=$POOL LOG_FORMAT=json \
        APPOINTMENT_EXPIRY_MINUTES=60 RATE_LIMIT_PER_MINUTE=0 MAX_PENDING_HOLDS_PER_PATIENT=0 \
        ACCESS_TOKEN_MINUTES=120 "$BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do curl -fsS -m 2 "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.2; done
    target/release/carebook-bench run --base-url "http://127.0.0.1:$PORT/api" --label "$NAME" \
        --scenarios "$SCENARIO" --duration "$DURATION" --max-bookings 200000 --server-pid "$SERVER_PID" \
        "${STATS[@]}" ${NO_LOGIN:+--no-login} --out "$OUT/$NAME.json" 2>"$WORK/load.txt" &
    LOAD=$!
fi
sleep "$PERF_DELAY"
perf record -a -g -F 499 -o "$WORK/perf.data" -- sleep "$PERF_SECS" 2>/dev/null
wait "$LOAD"
cat "$WORK/load.txt" >&2

report() { perf report -i "$WORK/perf.data" --stdio -g none "$@" 2>/dev/null | grep -v '^#' | grep -v '^$' || true; }
{
    echo "# perf record -a -g -F 499, ${PERF_SECS} s in the middle of the $NAME window (pool $POOL)"
    echo; echo "## CPU samples by process (comm) and thread"
    report --no-children --sort comm | head -8
    report --no-children --sort pid | head -8
    if [ -n "$SERVER_PID" ]; then
        echo; echo "## carebook (pid $SERVER_PID): kernel vs user, top symbols (self)"
        report --no-children --pid "$SERVER_PID" --sort dso | head -6
        report --no-children --pid "$SERVER_PID" --sort sym | head -30 | cut -c1-160
        echo; echo "## carebook: kernel paths (inclusive)"
        report --children --pid "$SERVER_PID" --sort sym | grep -E '\] (do_syscall_64|tcp_sendmsg|__x64_sys_sendto|__x64_sys_recvfrom|do_writev|vfs_write|__x64_sys_futex|__x64_sys_epoll_wait|ext4_buffered_write_iter)$'
    fi
    echo; echo "## postgres: top symbols (self)"
    report --no-children --comm postgres --sort sym | head -25
    echo; echo "## postgres: executor phases (inclusive)"
    report --children --comm postgres --sort sym | grep -E '\] (PostgresMain|PortalRun|standard_ExecutorStart|standard_ExecutorRun|ExecScan|AfterTriggerEndQuery|SPI_execute_snapshot|ExecConstraints|stringToNode|ExecInsertIndexTuples|XLogFlush|CommitTransactionCommand|pq_getbyte|GetCachedPlan|PredicateLockTID|PredicateLockPage|CheckForSerializableConflictIn|index_getnext_slot)$'
} >"$OUT/$NAME.txt"
echo "wrote $OUT/$NAME.txt" >&2
