#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with schemathesis, on both backends.
#
#   bash scripts/fuzz.sh            # release build, SQLite then PostgreSQL
#   FUZZ_EXAMPLES=50 FUZZ_BACKENDS=sqlite bash scripts/fuzz.sh
#
# Installs pinned schemathesis and openapi-spec-validator into ./.venv-ci (nothing assumed
# installed), validates the served document as OpenAPI 3.1, then runs every phase (examples,
# coverage, fuzzing, stateful via the document's links) with positive and negative data.
# Every check runs: no server errors; responses match their schemas, with no undocumented
# status codes, content types or headers; data the document allows is accepted and data it
# refuses is refused; authentication, methods and resources behave as documented. The few
# operations whose 400 can depend on the time, on what is stored or on another field (each
# says which in its 400 response) are listed in schemathesis.toml, where a 400 to data their
# schemas allow is expected. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
EXAMPLES="${FUZZ_EXAMPLES:-100}"
PG="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}"
VENV=.venv-ci

# CPython 3.11 before 3.11.8 fails inside hypothesis with "AST constructor recursion depth
# mismatch" (a CPython bug, gh-106905): take the first interpreter that is new enough.
fixed() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11, 8))' 2>/dev/null; }
PYTHON=""
for py in python3.13 python3.12 /root/.pyenv/versions/3.1[23]*/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1 && fixed "$py"; then PYTHON="$py"; break; fi
done
[ -n "$PYTHON" ] || { echo "fuzz.sh needs CPython >= 3.11.8 (python3.12 or newer)" >&2; exit 1; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION" \
    || ! "$VENV/bin/python" -c "import openapi_spec_validator" 2>/dev/null \
    || ! fixed "$VENV/bin/python"; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION"
fi

cargo build --release --quiet
work="$(mktemp -d)"
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

BIN="${CARGO_TARGET_DIR:-target}/release/carebook"
ADMIN="fuzz@carebook.test"
ADMIN_PW="fuzzing admin passphrase"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

fuzz() {
    local name="$1" url="$2" port
    port="$(free_port)"
    echo "== schemathesis on $name (port $port)"
    # Rate limits and the hold cap are off: one fuzzing admin sends far more than either allows.
    HOST=127.0.0.1 PORT="$port" DATABASE_URL="$url" RUST_LOG=warn \
        ADMIN_EMAIL="$ADMIN" ADMIN_PASSWORD="$ADMIN_PW" RATE_LIMIT_PER_MINUTE=0 \
        MAX_PENDING_HOLDS_PER_PATIENT=0 ACCESS_TOKEN_MINUTES=60 MAIL_DIR=off \
        EXPIRY_SWEEP_INTERVAL_SECONDS=1 "$BIN" serve >"$work/$name.log" 2>&1 &
    pid=$!
    local up=""
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && up=1 && break
        sleep 0.1
    done
    if [ -z "$up" ]; then
        echo "carebook did not become ready on $name; its log:" >&2
        cat "$work/$name.log" >&2
        return 1
    fi
    local token
    token="$(curl -fsS "http://127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
        -d "{\"email\": \"$ADMIN\", \"password\": \"$ADMIN_PW\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')"
    curl -fsS "http://127.0.0.1:$port/api/openapi.json" -o "$work/openapi.json"
    "$VENV/bin/openapi-spec-validator" "$work/openapi.json"
    # Fuzzed as the admin, who may call every route. Logging out or disabling an account would
    # end the fuzzer's own session half-way, so those two operations are left out.
    "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" \
        --url "http://127.0.0.1:$port" \
        --header "Authorization: Bearer $token" \
        --exclude-operation-id logout \
        --exclude-operation-id updateUser \
        --checks all \
        --phases examples,coverage,fuzzing,stateful \
        --mode all \
        --max-examples "$EXAMPLES" \
        --workers 2 \
        --seed 20261125 \
        --request-timeout 10 \
        --suppress-health-check all \
        --generation-database none \
        --no-color
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

for backend in ${FUZZ_BACKENDS:-sqlite postgres}; do
    case $backend in
        sqlite) fuzz sqlite "sqlite:$work/fuzz.db" ;;
        postgres)
            db="carebook_fuzz_$$"
            fuzz postgres "$PG/$db"
            psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true ;;
    esac
done
