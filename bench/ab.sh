#!/usr/bin/env bash
# A/B rounds: the current build against an earlier revision, alternating on the same machine,
# so that drift in the machine's speed (seen here: ±15 % between minutes) hits both alike.
# Each round starts each server on a fresh database, runs SCENARIOS with carebook-bench at the
# settings of scripts/bench.sh, and the report gives each round's figures and the median of the
# per-round ratios current ÷ baseline.
#
#   BENCH_BASELINE_REV=3634b41 bash bench/ab.sh
#   ROUNDS=8 SCENARIOS=book-distinct,book-confirm BACKEND=sqlite bash bench/ab.sh
#   VARIANT=pgbouncer bash bench/ab.sh   # the current build straight to PostgreSQL (baseline)
#                                        # against itself through PgBouncer, DB_STATEMENT_CACHE=off
#
# Env: BENCH_BASELINE_REV (required; a revision before authentication is driven with
# --no-login), ROUNDS (6), SCENARIOS (book-distinct,hot-slot,book-confirm,availability-week), BACKEND
# (postgres|sqlite), DURATION (20 s a window), MAX_BOOKINGS (40000, a booking window ends at either), CLIENTS (64), READ_CLIENTS (32), POOL (16),
# OUT (bench/results/ab). The baseline binary is built as scripts/bench.sh builds it (and
# cached in the same place).
set -euo pipefail
cd "$(dirname "$0")/.."
VARIANT=${VARIANT:-}
if [ "$VARIANT" = pgbouncer ]; then
    REV=HEAD
    REV_LABEL="itself straight to PostgreSQL; current: through PgBouncer with DB_STATEMENT_CACHE=off"
    OUT=${OUT:-bench/results/pgbouncer}
else
    REV=${BENCH_BASELINE_REV:?set BENCH_BASELINE_REV}
fi
ROUNDS=${ROUNDS:-6}
SCENARIOS=${SCENARIOS:-book-distinct,hot-slot,book-confirm,availability-week}
BACKEND=${BACKEND:-postgres}
DURATION=${DURATION:-20}
MAX_BOOKINGS=${MAX_BOOKINGS:-40000}
CLIENTS=${CLIENTS:-64}
READ_CLIENTS=${READ_CLIENTS:-32}
POOL=${POOL:-16}
OUT=${OUT:-bench/results/ab}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
CACHE=${BENCH_BASELINE_CACHE:-/tmp/carebook-bench-baseline}
export PGSSLMODE=disable
export ADMIN_EMAIL=${ADMIN_EMAIL:-bench@carebook.test}
export ADMIN_PASSWORD=${ADMIN_PASSWORD:-bench admin passphrase}
DB=carebook_ab
WORK=$(mktemp -d /tmp/carebook-ab.XXXXXX)
PID=

log() { printf '[ab.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
stop() {
    [ -n "$PID" ] || return 0
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
}
cleanup() {
    stop
    [ -z "${PGB_PID:-}" ] || kill "$PGB_PID" 2>/dev/null || true
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release --workspace --bins
SHA=$(git rev-parse --verify "$REV^{commit}")
BASE_BIN=$CACHE/carebook-$SHA
if [ "$VARIANT" = pgbouncer ]; then
    BASE_BIN=target/release/carebook
    # deploy/pgbouncer.ini with local trust auth, on a free port.
    PGB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    chmod 755 "$WORK"
    printf '"postgres" ""\n' >"$WORK/users.txt"
    sed -e "s/^listen_port = .*/listen_port = $PGB_PORT/" -e 's/^auth_type = .*/auth_type = trust/' \
        -e "s#^auth_file = .*#auth_file = $WORK/users.txt#" deploy/pgbouncer.ini >"$WORK/pgbouncer.ini"
    printf 'logfile =\npidfile =\nunix_socket_dir =\n' >>"$WORK/pgbouncer.ini"
    if [ "$(id -u)" = 0 ]; then as=(-u postgres); else as=(); fi
    pgbouncer "${as[@]}" "$WORK/pgbouncer.ini" >"$WORK/pgbouncer.log" 2>&1 &
    PGB_PID=$!
elif [ ! -x "$BASE_BIN" ]; then
    log "building the baseline $REV"
    mkdir -p "$CACHE"
    git worktree add --detach "$WORK/src" "$SHA" >/dev/null
    CARGO_TARGET_DIR=$CACHE/target cargo build --release --locked \
        --manifest-path "$WORK/src/Cargo.toml" -p carebook --bin carebook
    cp "$CACHE/target/release/carebook" "$BASE_BIN"
    git worktree remove --force "$WORK/src"
fi
# The baseline has no /auth routes when it predates authentication.
BASE_LOGIN=()
git cat-file -e "$SHA:src/auth" 2>/dev/null || BASE_LOGIN=(--no-login)

run() { # label, binary, login args...
    local label=$1 bin=$2 url port cache=on
    shift 2
    case $BACKEND in
        postgres)
            psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
            # Created here, not by carebook: PgBouncer holds back logins to a database it was
            # just refused (server_login_retry), which would only time the retry.
            psql "$PG/postgres" -qXc "CREATE DATABASE $DB" >/dev/null
            url=$PG/$DB
            if [ "$VARIANT" = pgbouncer ] && [[ $label == head-* ]]; then
                url=postgres://postgres@127.0.0.1:$PGB_PORT/$DB
                cache=off
            fi ;;
        sqlite) rm -f "$WORK"/ab.db*; url=sqlite:$WORK/ab.db ;;
        *) log "unknown BACKEND $BACKEND"; exit 1 ;;
    esac
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    DATABASE_URL=$url HOST=127.0.0.1 PORT=$port DB_POOL_SIZE=$POOL LOG_FORMAT=json \
        APPOINTMENT_EXPIRY_MINUTES=60 RATE_LIMIT_PER_MINUTE=0 MAX_PENDING_HOLDS_PER_PATIENT=0 \
        ACCESS_TOKEN_MINUTES=120 DB_STATEMENT_CACHE=$cache "$bin" serve >"$WORK/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 150); do
        curl -fsS -m 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    target/release/carebook-bench run --base-url "http://127.0.0.1:$port/api" --label "$BACKEND" \
        --server-pid "$PID" --scenarios "$SCENARIOS" "$@" --clients "$CLIENTS" \
        --read-clients "$READ_CLIENTS" --duration "$DURATION" --max-bookings "$MAX_BOOKINGS" \
        --out "$OUT/$label.json" >"$WORK/bench.log" 2>&1 || { tail -20 "$WORK/bench.log" >&2; exit 1; }
    stop
}

mkdir -p "$OUT"
rm -f "$OUT"/*.json
for r in $(seq 1 "$ROUNDS"); do
    # Alternate which goes first, so neither always runs on the warmer machine.
    if [ $((r % 2)) = 1 ]; then
        log "round $r: baseline $REV, then current"
        run "base-$r" "$BASE_BIN" "${BASE_LOGIN[@]}"
        run "head-$r" target/release/carebook
    else
        log "round $r: current, then baseline $REV"
        run "head-$r" target/release/carebook
        run "base-$r" "$BASE_BIN" "${BASE_LOGIN[@]}"
    fi
done

python3 - "$OUT" "$ROUNDS" "${REV_LABEL:-$REV}" "$(git rev-parse --short HEAD)" "$BACKEND" <<'PY' | tee "$OUT/report.md"
import json, statistics, sys
out, rounds, rev, head, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def figures(path):
    return {s["name"]: s for s in json.load(open(path))["scenarios"] if s.get("throughput")}
runs = [(figures(f"{out}/base-{r}.json"), figures(f"{out}/head-{r}.json")) for r in range(1, rounds + 1)]
print(f"# A/B on {backend}: {head} (current) against {rev}, {rounds} alternating rounds\n")
print("| scenario | baseline /s per round | current /s per round | ratio per round | median ratio |")
print("|---|---|---|---|--:|")
for name in runs[0][0]:
    b = [round(x[name]["throughput"]) for x, _ in runs]
    h = [round(y[name]["throughput"]) for _, y in runs]
    ratios = [y / x for x, y in zip(b, h)]
    print(f"| {name} | {', '.join(map(str, b))} | {', '.join(map(str, h))} | "
          f"{', '.join(f'{q:.3f}' for q in ratios)} | **{statistics.median(ratios):.3f}** |")
print()
print("CPU per operation (µs, median over rounds): carebook / postgres")
for name in runs[0][0]:
    def per(side, key):
        vals = [side(x)[name]["resources"].get(key, 0) / side(x)[name]["throughput"] * 1e6 for x in runs]
        return round(statistics.median(vals))
    base = lambda pair: pair[0]
    cur = lambda pair: pair[1]
    print(f"- {name}: baseline {per(base, 'server_cpu_cores')} / {per(base, 'postgres_cpu_cores')}, "
          f"current {per(cur, 'server_cpu_cores')} / {per(cur, 'postgres_cpu_cores')}")
PY
