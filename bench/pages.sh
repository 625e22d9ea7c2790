#!/usr/bin/env bash
# The pages' benchmark alone (scripts/bench.sh runs it too, within the whole run): on each
# backend, a fresh server and database, the front desk's day of 20 doctors x 16 slots and a
# doctor's month, each read by BENCH_PAGE_CLIENTS (8) clients for BENCH_DURATION (15) s.
# Prints each page's latencies; the target is p99 <= 20 ms.
#
#   bash bench/pages.sh                 # both backends
#   BENCH_BACKENDS=sqlite bash bench/pages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/serve.sh

PG=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
DURATION=${BENCH_DURATION:-15}
CLIENTS=${BENCH_PAGE_CLIENTS:-8}
WORK=$(mktemp -d /tmp/carebook-pages.XXXXXX)
DB=carebook_bench_pages
cleanup() {
    [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --quiet --workspace --bins
for backend in ${BENCH_BACKENDS:-sqlite postgres}; do
    case $backend in
        sqlite) url=sqlite:$WORK/pages.db ;;
        postgres)
            psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
            url=$PG/$DB ;;
    esac
    serve "$url" "$WORK/server-$backend.log"
    target/release/carebook-bench run --base-url "$BASE" --label "$backend" --server-pid "$PID" \
        --scenarios page-desk-day,page-doctor-month --email "$ADMIN_EMAIL" \
        --page-clients "$CLIENTS" --duration "$DURATION" --out "$WORK/$backend.json"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
    python3 - "$WORK/$backend.json" "$backend" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
for s in run["scenarios"]:
    o = s["ops"]["get"]
    print(f"{sys.argv[2]:8} {s['name']:18} {s['clients']} clients  {s['throughput']:7.0f}/s  "
          f"p50 {o['p50_ms']:5.1f} ms  p95 {o['p95_ms']:5.1f} ms  p99 {o['p99_ms']:5.1f} ms  "
          f"max {o['max_ms']:5.1f} ms  {o['requests']} requests, {s.get('notes', [''])[-1]}")
PY
done
