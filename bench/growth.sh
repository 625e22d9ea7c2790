#!/usr/bin/env bash
# `growth` alone, on two fresh SQLite servers: one seeded with a million appointments, one
# empty, windows alternating R S R S R as in scripts/bench.sh, but with neither server
# carrying the history of the other scenarios. Separates what the million rows cost from what
# the seeded server's earlier windows left behind (outbox, audit and access history).
#
#   bash bench/growth.sh [ROUNDS]      # ROUNDS seeded windows, default 2
#
# Needs `cargo build --release --workspace --bins` first. Prints the windows to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/serve.sh
D=$(mktemp -d /tmp/carebook-growth.XXXXXX)
SEEDED_PID=
trap 'kill $SEEDED_PID $PID 2>/dev/null || true; rm -rf "$D"' EXIT
serve "sqlite:$D/seeded.db" "$D/seeded.log"
SEEDED_PID=$PID SEEDED=$BASE
serve "sqlite:$D/reference.db" "$D/reference.log"
target/release/carebook-bench run --base-url "$SEEDED" --label sqlite --server-pid "$SEEDED_PID" \
    --email "$ADMIN_EMAIL" --seed-database-url "sqlite:$D/seeded.db" --reference-url "$BASE" \
    --scenarios growth --clients 64 --duration 20 --max-bookings 40000 \
    --seed-appointments 1000000 --growth-rounds "${1:-2}" --out "$D/growth.json" 2>&1 |
    grep -E 'seeded|window|growth'
python3 - "$D/growth.json" <<'PY'
import json, statistics, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]["paired"]
r, x = statistics.mean(s["reference"]), statistics.mean(s["seeded"])
print(f"reference {[round(v) for v in s['reference']]}, seeded {[round(v) for v in s['seeded']]}: "
      f"growth {100 * (x / r - 1):+.1f} %")
PY
