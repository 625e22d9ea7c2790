# Sourced by bench scripts: `serve DATABASE_URL LOGFILE [NAME=value …]` starts "$BIN serve"
# (default target/release/carebook) on a free loopback port with the settings of
# scripts/bench.sh (rate limit and hold cap off, e-mail off: MAIL_DIR=off, the admin ADMIN_EMAIL/ADMIN_PASSWORD that
# carebook-bench logs in as, DB_POOL_SIZE=$POOL, default 16, metrics on a free port of their own,
# so that two servers can run side by side) and any extra variables, waits until /health
# answers, and sets PID and BASE (the API's base URL).
BIN=${BIN:-target/release/carebook}
export ADMIN_EMAIL=${ADMIN_EMAIL:-bench@carebook.test}
export ADMIN_PASSWORD=${ADMIN_PASSWORD:-bench admin passphrase}
PID=
BASE=

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

serve() {
    local url=$1 log=$2 port metrics
    shift 2
    port=$(free_port)
    metrics=$(free_port)
    DATABASE_URL=$url HOST=127.0.0.1 PORT=$port METRICS_ADDR=127.0.0.1:$metrics \
        DB_POOL_SIZE=${POOL:-16} LOG_FORMAT=json \
        APPOINTMENT_EXPIRY_MINUTES=60 RATE_LIMIT_PER_MINUTE=0 MAX_PENDING_HOLDS_PER_PATIENT=0 MAIL_DIR=off \
        ACCESS_TOKEN_MINUTES=120 env "$@" "$BIN" serve >"$log" 2>&1 &
    PID=$!
    BASE=http://127.0.0.1:$port/api
    for _ in $(seq 1 150); do
        curl -fsS -m 2 "$BASE/health" >/dev/null 2>&1 && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "$BIN did not start; its log:" >&2
    tail -20 "$log" >&2
    return 1
}
