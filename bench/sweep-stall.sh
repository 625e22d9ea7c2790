#!/usr/bin/env bash
# Issue 14 "no stall of all writes while the sweeper runs", measured on SQLite (see BENCHMARKS.md):
#   bash bench/sweep-stall.sh control; bash bench/sweep-stall.sh overdue
# Needs `cargo build --release --workspace --bins` first.
# book-distinct twice on one SQLite server; between them
# "overdue" makes every PENDING hold overdue so the sweeper works through ~40k overdue holds during the second.
set -e
cd "$(dirname "$0")/.."
MODE=$1; BIN=target/release/carebook; D=$(mktemp -d); port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ADMIN_EMAIL=bench@carebook.test ADMIN_PASSWORD="bench admin passphrase"
DATABASE_URL=sqlite:$D/a.db HOST=127.0.0.1 PORT=$port DB_POOL_SIZE=16 LOG_FORMAT=json APPOINTMENT_EXPIRY_MINUTES=60 RATE_LIMIT_PER_MINUTE=0 MAX_PENDING_HOLDS_PER_PATIENT=0 ACCESS_TOKEN_MINUTES=120 "$BIN" serve >$D/log 2>&1 &
P=$!
for _ in $(seq 1 100); do curl -fsS -m 2 "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break; sleep 0.2; done
run() { target/release/carebook-bench run --base-url "http://127.0.0.1:$port/api" --label $1 --server-pid $P --scenarios book-distinct --email "$ADMIN_EMAIL" --clients 64 --duration 20 --out $D/$1.json 2>&1 | grep -E "/s \(|p99" | head -2; }
run first >/dev/null
if [ "$MODE" = overdue ]; then
  sqlite3 $D/a.db "PRAGMA busy_timeout=10000; UPDATE appointments SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute') WHERE status = 'PENDING'; SELECT 'overdue holds: ' || changes();"
fi
run second
sqlite3 $D/a.db "SELECT 'expired during the run: ' || count(*) FROM appointments WHERE status = 'EXPIRED'"
kill $P; wait $P 2>/dev/null || true; rm -rf $D
