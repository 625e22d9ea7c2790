#!/usr/bin/env bash
# The README's first ten minutes as a client team does them: a Python client generated with
# openapi-python-client from the document a fresh release server serves, then the walk
# (scripts/client_walk.py) through that client's typed functions and models, on SQLite and then
# on PostgreSQL.
#
#   bash scripts/client-walk.sh                  # SQLite, then PostgreSQL
#   bash scripts/client-walk.sh postgres         # one backend (sqlite | postgres)
#
# Installs pinned openapi-python-client (and everything it and the generated client import)
# into ./.venv-client, builds the release binary, and for each backend: starts carebook on a
# free port (a new SQLite file, or a new PostgreSQL database created and dropped here),
# downloads /api/openapi.json, generates the client with --fail-on-warning, installs it into the
# venv and runs the walk. Fails when the generator reports anything (a skipped endpoint,
# response or model, a failed post-hook), when the generated client lacks an operation or a
# schema, or on any mismatch of the walk: a status, a model an answer does not parse into, a
# value. A generator report does not stop the walk: it runs anyway so one run lists every
# problem, and the script fails at the end.
#
# Env: TEST_DATABASE_URL (PostgreSQL server URL without a database; default
# postgres://postgres@127.0.0.1:5432), CLIENT_WALK_TIMEOUT (seconds per walk, default 300).
# Needs curl, psql for PostgreSQL, and CPython >= 3.11 (the generator and the client it writes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# openapi-python-client and its dependencies, exactly (installed with --no-deps, then checked
# with `pip check`), plus setuptools to install the generated package (`--meta setup`).
PINS=(
    openapi-python-client==0.29.1
    annotated-doc==0.0.7 annotated-types==0.8.0 anyio==4.16.0 attrs==26.1.0
    certifi==2026.10.19.post1 h11==0.16.0 httpcore==1.0.9 httpx==0.28.1 idna==3.21
    Jinja2==3.1.6 markdown-it-py==4.3.0 MarkupSafe==3.0.4 mdurl==0.1.2 pydantic==2.14.4
    pydantic_core==2.50.5 Pygments==2.21.0 rich==15.0.0 ruamel.yaml==0.19.1 ruff==0.17.6
    shellingham==1.5.4 typer==0.27.3 typing-inspection==0.4.5 typing_extensions==4.16.0
    setuptools==84.2.1
)
VENV=$ROOT/.venv-client
PG=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
PG=${PG%/}
TIMEOUT=${CLIENT_WALK_TIMEOUT:-300}
ADMIN=client-walk@carebook.test
ADMIN_PW="client walk admin passphrase"

BACKENDS=("$@")
[ ${#BACKENDS[@]} -gt 0 ] || BACKENDS=(sqlite postgres)

log() { printf '[client-walk] %s\n' "$*" >&2; }
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

# The newest CPython from 3.11 found; the venv reused while it holds exactly these pins.
pinned_venv "$VENV" client-walk 99 "${PINS[@]}"

release_binary

WORK=$(mktemp -d /tmp/carebook-client-walk.XXXXXX)
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
    "$VENV/bin/python" -m pip uninstall --quiet --yes carebook-client >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

FAILED=()

# client_walk BACKEND DATABASE_URL
client_walk() {
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
        ADMIN_EMAIL="$ADMIN" ADMIN_PASSWORD="$ADMIN_PW" MAIL_DIR=off \
        MASTER_KEY_FILE="$dir/master.key" "$BIN" serve >"$dir/server.log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -fsS "$base/health/ready" >/dev/null 2>&1 && up=1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$up" ] || { cat "$dir/server.log" >&2; die "$backend: carebook did not become ready"; }

    curl -fsS "$base/api/openapi.json" -o "$dir/openapi.json"
    # The generator knows no YAML media type: as its documentation advises, the YAML document
    # (a string) is read as text.
    printf 'content_type_overrides:\n  application/yaml: text/plain\n' >"$dir/generator.yaml"
    # ruff (a pin) runs as the generator's post-hook: the venv's bin goes first on PATH.
    (cd "$dir" && PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate \
        --path openapi.json --config generator.yaml --meta setup --output-path client \
        --fail-on-warning) \
        >"$dir/generate.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || grep -Eq 'WARNING|ERROR|encountered|Skipping' "$dir/generate.log"; then
        sed 's/^/    /' "$dir/generate.log" >&2
        FAILED+=("$backend: openapi-python-client reported problems with the served document (exit $rc, above)")
        log "${FAILED[-1]}"
    fi
    [ -f "$dir/client/setup.py" ] || die "$backend: no client was generated"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --no-build-isolation --force-reinstall "$dir/client" >"$dir/install.log" 2>&1 \
        || { cat "$dir/install.log" >&2; die "$backend: the generated client does not install"; }

    log "$backend: the walk through the generated client"
    rc=0
    timeout "$TIMEOUT" "$VENV/bin/python" "$ROOT/scripts/client_walk.py" --base-url "$base" \
        --document "$dir/openapi.json" --admin-email "$ADMIN" --admin-password "$ADMIN_PW" \
        2>&1 | sed 's/^/    /' >&2 || rc=$?
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
            client_walk sqlite "sqlite:$WORK/sqlite/carebook.db"
            ;;
        postgres)
            psql "$PG/postgres" -qXAtc 'SELECT 1' >/dev/null || die "no PostgreSQL at $PG"
            DB_NAME=carebook_client_walk_$(date +%s)_$$
            psql "$PG/postgres" -qXc "CREATE DATABASE \"$DB_NAME\"" >/dev/null
            client_walk postgres "$PG/$DB_NAME"
            ;;
    esac
done

if [ ${#FAILED[@]} -gt 0 ]; then
    for f in "${FAILED[@]}"; do log "FAILED: $f"; done
    exit 1
fi
log "passed: ${BACKENDS[*]}"
