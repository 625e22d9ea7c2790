#!/usr/bin/env bash
# The FHIR R4 facade (/fhir/R4) as an integrator meets it: scripts/fhir_walk.py validates every
# answer with fhir.resources 6.4.0 (FHIR R4, 4.0.1) while it reads and searches each resource
# type, books through $find, $hold and $book, races 60 holds for 5 seats and tries what a
# patient or an anonymous caller may not do, on SQLite and then on PostgreSQL.
#
#   bash scripts/fhir-walk.sh                    # SQLite, then PostgreSQL
#   bash scripts/fhir-walk.sh postgres           # one backend (sqlite | postgres)
#
# Installs pinned fhir.resources (and everything it imports) into ./.venv-fhir, builds the
# release binary, and for each backend: starts carebook on a free port (a new SQLite file, or a
# new PostgreSQL database created and dropped here) with an admin from ADMIN_EMAIL and
# ADMIN_PASSWORD and the availability cache off (the walk compares a Slot's seats with the
# JSON API's available-slots after each step), and runs the walk, which lays its fixtures
# through the JSON API and does everything else through FHIR. Fails on any mismatch of the walk
# (a status, a body that is not valid R4, a value, a 5xx), when the server dies or panics, or
# when a walk outlasts its timeout. A failed backend does not stop the next one: the script
# fails at the end, listing each.
#
# Env: TEST_DATABASE_URL (PostgreSQL server URL without a database; default
# postgres://postgres@127.0.0.1:5432), FHIR_WALK_TIMEOUT (seconds per walk, default 300).
# Needs curl, psql for PostgreSQL, and CPython 3.11 to 3.13 (pydantic 1, under fhir.resources
# 6.4.0, is not made for newer ones).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# fhir.resources 6.4.0 and its dependencies, exactly. 6.4.0 is the last release whose models
# are FHIR R4 (4.0.1): 6.5.0 replaced them with R4B (4.3.0) and 7.x with R5, with no R4
# sub-package, and the install below refuses any other FHIR version. It asks for
# pydantic[email] >= 1.7.2 with no upper bound but is written for pydantic 1, so 1.10.x is
# pinned. Installed with --no-deps, then checked with `pip check`. HTTP is urllib's.
PINS=(
    fhir.resources==6.4.0
    pydantic==1.10.27 typing_extensions==4.16.0
    email-validator==2.4.0 dnspython==2.9.2 idna==3.21
)
VENV=$ROOT/.venv-fhir
PG=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
PG=${PG%/}
TIMEOUT=${FHIR_WALK_TIMEOUT:-300}
ADMIN=fhir-walk@carebook.test
ADMIN_PW="fhir walk admin passphrase"

BACKENDS=("$@")
[ ${#BACKENDS[@]} -gt 0 ] || BACKENDS=(sqlite postgres)

log() { printf '[fhir-walk] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
. "$ROOT/scripts/pinned-python.sh"

command -v curl >/dev/null || die "curl is not installed"
for b in "${BACKENDS[@]}"; do
    case $b in
        sqlite) ;;
        postgres) command -v psql >/dev/null || die "psql is not installed" ;;
        *) die "unknown backend '$b' (sqlite or postgres)" ;;
    esac
done

# A fresh install must be the FHIR R4 (4.0.1) line of fhir.resources.
verify_venv() {
    "$VENV/bin/python" -c 'import fhir.resources, pydantic; assert fhir.resources.__fhir_version__ == "4.0.1"' \
        || die "fhir.resources in $VENV is not the FHIR R4 (4.0.1) line"
}
# The newest CPython from 3.11 found; the venv reused while it holds exactly these pins.
pinned_venv "$VENV" fhir-walk 13 "${PINS[@]}"

release_binary

WORK=$(mktemp -d /tmp/carebook-fhir-walk.XXXXXX)
SERVER_PID=
DB_NAME=
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
    if [ -n "$DB_NAME" ]; then
        psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop database $DB_NAME"
        DB_NAME=
    fi
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

FAILED=()

# fhir_walk BACKEND DATABASE_URL
fhir_walk() {
    local backend=$1 url=$2 dir port base up="" rc=0 started
    started=$(date +%s)
    dir=$WORK/$backend
    mkdir -p "$dir"
    port=$(free_port)
    base="http://127.0.0.1:$port"
    log "$backend: starting carebook on 127.0.0.1:$port"
    # Its own directory and a clean environment: the master key and anything else it writes
    # stay in $dir, and no .env or DATABASE_URL of the caller reaches it.
    (cd "$dir" && exec env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 \
        HOST=127.0.0.1 PORT="$port" DATABASE_URL="$url" RUST_LOG=warn METRICS_ADDR=off \
        ADMIN_EMAIL="$ADMIN" ADMIN_PASSWORD="$ADMIN_PW" MAIL_DIR=off AVAILABILITY_CACHE_MS=0 \
        MASTER_KEY_FILE="$dir/master.key" "$BIN" serve >"$dir/server.log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -fsS "$base/health/ready" >/dev/null 2>&1 && up=1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$up" ] || { cat "$dir/server.log" >&2; die "$backend: carebook did not become ready"; }

    log "$backend: the walk through /fhir/R4"
    # No __pycache__ beside the scripts: fhir_walk.py imports fhir_checks.py from there.
    timeout "$TIMEOUT" env ADMIN_EMAIL="$ADMIN" ADMIN_PASSWORD="$ADMIN_PW" FHIR_WALK_BACKEND="$backend" \
        PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" "$ROOT/scripts/fhir_walk.py" "$base" 2>&1 \
        | sed 's/^/    /' >&2 || rc=$?
    [ "$rc" -eq 0 ] || { FAILED+=("$backend: the walk failed (exit $rc)"); log "${FAILED[-1]}"; }
    kill -0 "$SERVER_PID" 2>/dev/null || FAILED+=("$backend: the server died during the walk")
    if grep -q 'panicked' "$dir/server.log"; then
        FAILED+=("$backend: the server panicked (log below)")
        sed 's/^/    /' "$dir/server.log" >&2
    fi
    stop_server
    log "$backend: done in $(($(date +%s) - started)) s"
}

for backend in "${BACKENDS[@]}"; do
    case $backend in
        sqlite)
            fhir_walk sqlite "sqlite:$WORK/sqlite/carebook.db"
            ;;
        postgres)
            psql "$PG/postgres" -qXAtc 'SELECT 1' >/dev/null || die "no PostgreSQL at $PG"
            DB_NAME=carebook_fhir_walk_$(date +%s)_$$
            psql "$PG/postgres" -qXc "CREATE DATABASE \"$DB_NAME\"" >/dev/null
            fhir_walk postgres "$PG/$DB_NAME"
            ;;
    esac
done

if [ ${#FAILED[@]} -gt 0 ]; then
    for f in "${FAILED[@]}"; do log "FAILED: $f"; done
    exit 1
fi
log "passed: ${BACKENDS[*]}"
