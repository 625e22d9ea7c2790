#!/usr/bin/env bash
# Two builds of the server under the same load at the same time, each on its own fresh
# database, so that the machine's drift (seen here: ±20 % between consecutive minutes, which
# A/B rounds one after the other only average out) hits both alike within each round:
#
#   A=/tmp/carebook-auth B=/tmp/carebook-noauth bash bench/side-by-side.sh
#
# Each round starts both servers (the settings of scripts/bench.sh, via bench/serve.sh), then
# runs `carebook-bench run --scenarios book-distinct` against both at once, CLIENTS clients
# each, for DURATION seconds (the booking budget is set high enough that time ends the window).
# Both compete for the same two cores, so the cheaper build books more: the ratio A ÷ B of the
# two figures of one round compares the cost of a booking in each. Prints each round and the
# median ratio. PostgreSQL's CPU cannot be told apart between the two databases; each server's
# own CPU per booking is printed.
#
# Env: A, B (server binaries; required), ROUNDS (5), DURATION (20), CLIENTS (32 each),
# BACKEND (postgres|sqlite), BENCH_PG, OUT (bench/results/side-by-side). Needs
# `cargo build --release --workspace` first (for target/release/carebook-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
A_BIN=${A:?set A to a carebook binary}
B_BIN=${B:?set B to a carebook binary}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-32}
BACKEND=${BACKEND:-postgres}
OUT=${OUT:-bench/results/side-by-side}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export PGSSLMODE=disable
. bench/serve.sh
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/carebook-sbs.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    for s in a b; do
        psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS carebook_sbs_$s WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start SIDE BINARY: a fresh database and a server for it; sets URL_SIDE, PID_SIDE, BASE_SIDE.
start() {
    local side=$1 url
    if [ "$BACKEND" = sqlite ]; then
        url=sqlite:$WORK/$side.db
        rm -f "$WORK/$side.db"*
    else
        psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS carebook_sbs_$side WITH (FORCE)" >/dev/null
        url=$PG/carebook_sbs_$side
    fi
    BIN=$2
    serve "$url" "$WORK/server-$side.log"
    PIDS+=("$PID")
    printf -v "PID_$side" '%s' "$PID"
    printf -v "BASE_$side" '%s' "$BASE"
}

RATIOS=()
for r in $(seq 1 "$ROUNDS"); do
    PIDS=()
    start a "$A_BIN"
    start b "$B_BIN"
    for s in a b; do
        pid_var=PID_$s base_var=BASE_$s
        target/release/carebook-bench run --base-url "${!base_var}" --label "$BACKEND" \
            --server-pid "${!pid_var}" --scenarios book-distinct --email "$ADMIN_EMAIL" \
            --clients "$CLIENTS" --duration "$DURATION" --max-bookings 200000 \
            --out "$OUT/$s-$r.json" >"$OUT/$s-$r.out" 2>&1 &
        eval "LOAD_$s=\$!"
    done
    wait "$LOAD_a" "$LOAD_b"
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
    RATIOS+=("$(python3 - "$OUT/a-$r.json" "$OUT/b-$r.json" "$r" <<'EOF'
import json, sys
def fig(path):
    s = json.load(open(path))["scenarios"][0]
    t = s["throughput"]
    return t, 1e6 * s["resources"]["server_cpu_cores"] / t
(ta, ca), (tb, cb) = fig(sys.argv[1]), fig(sys.argv[2])
print(f"round {sys.argv[3]}: A {ta:6.0f}/s ({ca:.0f} us/booking)  B {tb:6.0f}/s ({cb:.0f} us/booking)"
      f"  A/B {ta / tb:.3f}", file=sys.stderr)
print(f"{ta / tb:.4f}")
EOF
)")
done
python3 -c 'import statistics, sys; r = sorted(map(float, sys.argv[1:])); print("ratios A/B:", " ".join(f"{x:.3f}" for x in r), " median", f"{statistics.median(r):.3f}")' "${RATIOS[@]}"
