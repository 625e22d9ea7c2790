#!/usr/bin/env bash
# Bookings under a login flood: `book-distinct` windows with and without a client sending
# FLOOD_RATE logins a second (default 50), on one server per round: quiet then flooded in odd
# rounds, flooded then quiet in even ones, so drift and the database's growth weigh on both
# sides. The report gives each round's bookings/s quiet and flooded, the median of the
# per-round ratios flooded ÷ quiet, and what the flood's logins were answered.
#
#   bash bench/login-flood.sh
#   FLOOD_MODE=accounts ROUNDS=4 BACKEND=sqlite bash bench/login-flood.sh
#
# FLOOD_MODE: `guesses` (default) sends wrong passwords for a few accounts from one address,
# as an attacker would; `accounts` logs in with the right password of one account, each login
# a full password check. Env: ROUNDS (4), BACKEND (postgres|sqlite), DURATION (20 s a window),
# CLIENTS (64), POOL (16), FLOOD_RATE (50), OUT (bench/results/login-flood).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-4}
BACKEND=${BACKEND:-postgres}
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-64}
POOL=${POOL:-16}
FLOOD_RATE=${FLOOD_RATE:-50}
FLOOD_MODE=${FLOOD_MODE:-guesses}
OUT=${OUT:-bench/results/login-flood}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export PGSSLMODE=disable
DB=carebook_flood
WORK=$(mktemp -d /tmp/carebook-flood.XXXXXX)
FLOOD_PID=
source bench/serve.sh

log() { printf '[login-flood.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
    [ -z "$FLOOD_PID" ] || kill "$FLOOD_PID" 2>/dev/null || true
    [ -z "$PID" ] || { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release --workspace --bins
mkdir -p "$OUT"

# The flood: FLOOD_RATE logins a second, spread over a few threads on keep-alive connections,
# until killed; tallies the answers' statuses in $1.
flood() {
    python3 - "$BASE" "$FLOOD_RATE" "$FLOOD_MODE" "$1" <<'PY' &
import http.client, json, sys, threading, time, urllib.parse
base, rate, mode, tally_path = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
url = urllib.parse.urlparse(base)
tally, lock = {}, threading.Lock()
THREADS = 5
def body(n):
    if mode == "accounts":
        return {"email": "bench@carebook.test", "password": "bench admin passphrase"}
    return {"email": f"victim{n % 5}@flood.test", "password": f"guess number {n}"}
def worker(k):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    n, start = k, time.monotonic()
    while True:
        due = start + (n // THREADS) * THREADS / rate
        time.sleep(max(0.0, due - time.monotonic()))
        try:
            conn.request("POST", url.path + "/auth/login", json.dumps(body(n)),
                         {"content-type": "application/json"})
            r = conn.getresponse(); r.read(); status = r.status
        except Exception:
            conn.close(); conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            status = "error"
        with lock:
            tally[status] = tally.get(status, 0) + 1
            if sum(tally.values()) % 50 == 0:
                open(tally_path, "w").write(json.dumps(tally))
        n += THREADS
for k in range(THREADS):
    threading.Thread(target=worker, args=(k,), daemon=True).start()
while True:
    time.sleep(1)
    with lock:
        open(tally_path, "w").write(json.dumps(tally))
PY
    FLOOD_PID=$!
}

window() {
    local label=$1
    target/release/carebook-bench run --base-url "$BASE" --label "$BACKEND" --server-pid "$PID" \
        --scenarios book-distinct --clients "$CLIENTS" --duration "$DURATION" \
        --out "$OUT/$label.json" >"$WORK/bench.log" 2>&1 || { tail -20 "$WORK/bench.log" >&2; exit 1; }
}

quiet_window() {
    log "round $1: quiet"
    window "quiet-$1"
}

flooded_window() {
    log "round $1: flooded ($FLOOD_RATE logins/s, $FLOOD_MODE)"
    flood "$OUT/flood-$1.json"
    window "flooded-$1"
    kill "$FLOOD_PID" 2>/dev/null || true
    wait "$FLOOD_PID" 2>/dev/null || true
    FLOOD_PID=
}

for r in $(seq 1 "$ROUNDS"); do
    case $BACKEND in
        postgres)
            psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
            url="$PG/$DB" ;;
        sqlite) rm -rf "$WORK/db"; mkdir -p "$WORK/db"; url="sqlite:$WORK/db/carebook.db" ;;
    esac
    serve "$url" "$WORK/server-$r.log" CAREBOOK_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
    # Odd rounds measure quiet first, even rounds flooded first: the second window of a round
    # runs on a database the first has grown, and that must not weigh on one side only.
    if [ $((r % 2)) -eq 1 ]; then
        quiet_window "$r"; flooded_window "$r"
    else
        flooded_window "$r"; quiet_window "$r"
    fi
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=
done

python3 - "$OUT" "$ROUNDS" "$BACKEND" "$FLOOD_RATE" "$FLOOD_MODE" "$(git rev-parse --short HEAD)" <<'PY' | tee "$OUT/report.md"
import json, statistics, sys
out, rounds, backend, rate, mode, head = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def tput(label):
    run = json.load(open(f"{out}/{label}.json"))
    return next(s for s in run["scenarios"] if s["name"] == "book-distinct")["throughput"]
print(f"# Bookings under a login flood ({backend}, {rate} logins/s, {mode}, at {head})\n")
print("| round | quiet bookings/s | flooded bookings/s | ratio | flood answers |")
print("|---|--:|--:|--:|---|")
ratios = []
for r in range(1, rounds + 1):
    q, f = tput(f"quiet-{r}"), tput(f"flooded-{r}")
    ratios.append(f / q)
    tally = json.load(open(f"{out}/flood-{r}.json"))
    print(f"| {r} | {q:.0f} | {f:.0f} | {f / q:.3f} | {tally} |")
print(f"\nmedian flooded ÷ quiet: **{statistics.median(ratios):.3f}**")
PY
