#!/usr/bin/env bash
# How fast the outbox worker drains a booking burst's backlog on PostgreSQL: a fresh database,
# a server left idle for IDLE seconds (default 60: its worker polls the empty outbox every
# second, as a fresh deployment's does before its first patients), one `book-distinct` window
# (64 clients, 20 s) that leaves a backlog of notifications, then the
# pending count every 3 s, and the claim's plan (EXPLAIN ANALYZE in a rolled-back transaction
# with the claim's settings) while the outbox's statistics are still those of an empty table.
#
#   bash bench/outbox-drain.sh
#
# Env: BENCH_PG (server URL without database), BIN (default target/release/carebook). Needs
# `cargo build --release --workspace --bins` first. Prints to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export PGSSLMODE=disable
. bench/serve.sh
DB=carebook_outbox_drain
LOG=$(mktemp /tmp/carebook-outbox-drain.XXXXXX)
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -f "$LOG" "$LOG.json";
      psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
serve "$PG/$DB" "$LOG"
sleep "${IDLE:-60}"
target/release/carebook-bench run --base-url "$BASE" \
    --scenarios book-distinct --clients 64 --duration 20 --out "$LOG.json" 2>&1 | grep 'book-distinct:'
sql() { psql "$PG/$DB" -XAtc "$1"; }
echo "outbox rows, changed since the last ANALYZE: $(sql "SELECT n_live_tup || ', ' || n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'outbox'")"
for i in 1 2 3 4 5 6 7; do
    echo "t+$((3 * i - 3)) s: $(sql "SELECT count(*) FROM outbox WHERE status = 'pending'") pending"
    sleep 3
done
# The claim as the store runs it (src/store/postgres/outbox.rs: CLAIM_TX, then CLAIM).
python3 - "$LOG.sql" <<'PY'
import re, sys
s = open("src/store/postgres/outbox.rs").read()
tx = re.search(r'const CLAIM_TX: &str = "(.*?)";', s, re.S).group(1).replace("\\\n", "")
tx = re.sub(r"\s+", " ", tx)
claim = re.search(r'const CLAIM: &str = "(.*?)";', s, re.S).group(1)
claim = claim.replace("$1", "50").replace("$2", "240").replace("$3", "gen_random_uuid()")
open(sys.argv[1], "w").write(f"BEGIN {tx};\nEXPLAIN (ANALYZE) {claim};\nROLLBACK;\n")
PY
psql "$PG/$DB" -qX -f "$LOG.sql" | grep -E 'Execution Time|Planning Time|JIT|Scan using outbox_due_idx|Bitmap'
rm -f "$LOG.sql"
