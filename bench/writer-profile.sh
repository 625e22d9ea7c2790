#!/usr/bin/env bash
# Where SQLite's single writer spends a booking: per-thread CPU of the server and a `perf`
# profile of its busiest thread (the writer connection's `sqlx-sqlite-worker`) during a
# `book-distinct` window (64 clients, 20 s), on a fresh SQLite file; SEED=N first inserts N
# appointments with `carebook-bench seed` (as `growth` does); PRE=N first runs N unprofiled
# `book-distinct` windows through the API, each followed by a wait until the outbox worker has
# settled every notification they queued.
#
#   bash bench/writer-profile.sh                 # empty database
#   SEED=1000000 bash bench/writer-profile.sh    # after a million appointments
#
# TRACE=1 records the writer thread's system calls instead (`perf trace -s`: count and time of
# each pwrite, fsync, futex), which shows how many WAL writes a booking costs.
#
# Env: BIN (the server, default target/release/carebook), SEED, PERF_DELAY (seconds into the
# window before recording, 12), PERF_SECS (5). Needs perf and root (or perf_event_paranoid
# <= 0), and `cargo build --release --workspace --bins` first. Prints to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/serve.sh
DELAY=${PERF_DELAY:-12}
SECS=${PERF_SECS:-5}
D=$(mktemp -d /tmp/carebook-writer-profile.XXXXXX)
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -rf "$D"' EXIT
serve "sqlite:$D/t.db" "$D/server.log"
if [ -n "${SEED:-}" ]; then
    target/release/carebook-bench seed --database-url "sqlite:$D/t.db" --appointments "$SEED" >/dev/null
fi
pending() {
    python3 -c "import sqlite3, sys; c = sqlite3.connect('file:$D/t.db?mode=ro', uri=True)
print(c.execute(\"SELECT count(*) FROM outbox WHERE status = 'pending'\").fetchone()[0])"
}
for _ in $(seq 1 "${PRE:-0}"); do
    target/release/carebook-bench run --base-url "$BASE" \
        --scenarios book-distinct --clients 64 --duration 20 --out "$D/pre.json" >"$D/pre.out" 2>&1
    while [ "$(pending)" -gt 0 ]; do sleep 1; done
done
target/release/carebook-bench run --base-url "$BASE" \
    --scenarios book-distinct --clients 64 --duration 20 --out "$D/r.json" >"$D/bench.out" 2>&1 &
BENCH=$!
sleep "$DELAY"
# Each thread's utime + stime in clock ticks (100 per second), by name and id.
snap() {
    for t in /proc/"$PID"/task/*; do
        echo "$(cat "$t/comm" 2>/dev/null)-$(basename "$t") $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null)"
    done | sort
}
snap >"$D/a"
TID=$(for t in /proc/"$PID"/task/*; do
    echo "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null) $(basename "$t") $(cat "$t/comm" 2>/dev/null)"
done | grep sqlx | sort -nr | head -1 | awk '{print $2}')
if [ "${TRACE:-0}" = 1 ]; then
    perf trace -s -t "$TID" -o "$D/trace.txt" -- sleep "$SECS" 2>/dev/null || true
else
    perf record -q -F 999 -g -t "$TID" -o "$D/perf.data" -- sleep "$SECS" 2>/dev/null
fi
snap >"$D/b"
echo "## thread CPU over $SECS s (% of one core)"
join "$D/a" "$D/b" | awk -v s="$SECS" '{d = ($3 - $2) / s; if (d > 0.5) printf "%-24s %5.1f%%\n", $1, d}' | sort -k2 -nr
wait "$BENCH"
python3 - "$D/r.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
r = s["resources"]
print(f"## window: {s['throughput']:.0f} bookings/s, machine {r['machine_busy_pct']:.0f} % busy, "
      f"{r['machine_iowait_pct']:.0f} % iowait, p50 {s['ops']['book']['p50_ms']:.1f} ms")
PY
if [ "${TRACE:-0}" = 1 ]; then
    echo "## writer thread: system calls (perf trace -s)"
    grep -vE '^\s*$' "$D/trace.txt" || true
else
echo "## writer thread: self"
perf report -i "$D/perf.data" --no-children --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 || true
echo "## writer thread: inclusive (I/O, SQLite, wake-ups)"
perf report -i "$D/perf.data" --children --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9]' |
    grep -E 'pwrite|pread|fsync|sqlite3|wake|futex|Moveto|pcache|filemap_read' | head -40 || true
echo "## who reads pages from the file (callers of pread)"
perf report -i "$D/perf.data" --no-children --sort sym --stdio -S __libc_pread -G 2>/dev/null |
    grep -E 'sqlite3[A-Za-z]+' -o | sort | uniq -c | sort -nr | head -15 || true
fi
ls -l "$D"/t.db*
python3 -c "import sqlite3; c = sqlite3.connect('file:$D/t.db?mode=ro', uri=True)
for t in ('appointments', 'appointment_audit_log', 'access_log', 'outbox', 'time_slots'):
    print(t, c.execute(f'SELECT count(*) FROM {t}').fetchone()[0])"
