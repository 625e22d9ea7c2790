#!/usr/bin/env bash
# Whether the expiry sweeper stalls SQLite's writes while it works through many overdue holds
# (see docs/performance-notes.md):
#   bash bench/sweep-stall.sh control; bash bench/sweep-stall.sh overdue
# Needs `cargo build --release --workspace --bins` first.
# book-distinct twice on one SQLite server; between them
# "overdue" makes every PENDING hold overdue so the sweeper works through ~40k overdue holds during the second.
set -e
cd "$(dirname "$0")/.."
MODE=$1; D=$(mktemp -d)
. bench/serve.sh
serve "sqlite:$D/a.db" "$D/log"
P=$PID
run() { target/release/carebook-bench run --base-url "$BASE" --label $1 --server-pid $P --scenarios book-distinct --email "$ADMIN_EMAIL" --clients 64 --duration 20 --out $D/$1.json 2>&1 | grep -E "/s \(|p99" | head -2; }
run first >/dev/null
if [ "$MODE" = overdue ]; then
  sqlite3 $D/a.db "PRAGMA busy_timeout=10000; UPDATE appointments SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute') WHERE status = 'PENDING'; SELECT 'overdue holds: ' || changes();"
fi
run second
sqlite3 $D/a.db "SELECT 'expired during the run: ' || count(*) FROM appointments WHERE status = 'EXPIRED'"
kill $P; wait $P 2>/dev/null || true; rm -rf $D
