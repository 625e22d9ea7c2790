#!/usr/bin/env bash
# The pages for people in Debian's chromium, on both backends: scripts/browser_walk.py drives a
# patient's whole booking flow (partly with the keyboard alone) and runs axe-core on every page
# and state; any violation, console error or failed step fails the walk.
#
#   bash scripts/browser-walk.sh                  # release build, SQLite then PostgreSQL
#   SHOTS=docs/screenshots bash scripts/browser-walk.sh   # also rewrites the screenshots
#
# Installs pinned Playwright (its Python package only: the browser is /usr/bin/chromium, never
# a download) into ./.venv-browser and axe-core from npm into ./.browser-npm.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION=1.65.3
AXE_VERSION=4.14.1
PG="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}"
VENV=.venv-browser
NPM_DIR=.browser-npm
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "browser-walk.sh needs chromium (apt-get install chromium)" >&2; exit 1; }

if ! "$VENV/bin/python" -c "import playwright, sys; from importlib.metadata import version; sys.exit(version('playwright') != '$PLAYWRIGHT_VERSION')" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
fi
AXE_JS="$NPM_DIR/node_modules/axe-core/axe.min.js"
if ! grep -q "axe v$AXE_VERSION" "$AXE_JS" 2>/dev/null; then
    npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" "axe-core@$AXE_VERSION" >/dev/null
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
ADMIN="walk@carebook.test"
ADMIN_PW="browser walk admin passphrase"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

walk() {
    local name="$1" url="$2" port
    port="$(free_port)"
    echo "== browser walk on $name (port $port)"
    HOST=127.0.0.1 PORT="$port" DATABASE_URL="$url" RUST_LOG=warn REGISTRATION=open \
        ADMIN_EMAIL="$ADMIN" ADMIN_PASSWORD="$ADMIN_PW" MAIL_DIR=off METRICS_ADDR=off \
        CLINIC_NAME="Riverside Clinic" "$BIN" serve >"$work/$name.log" 2>&1 &
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
    local shots=""
    # One set of screenshots is enough: SQLite's (the quick start's database).
    [ "$name" = sqlite ] && shots="${SHOTS:-}"
    BASE="http://127.0.0.1:$port" ADMIN_EMAIL="$ADMIN" ADMIN_PASSWORD="$ADMIN_PW" \
        AXE_JS="$AXE_JS" CHROMIUM="$CHROMIUM" SHOTS="$shots" \
        "$VENV/bin/python" scripts/browser_walk.py || { echo "carebook's log:" >&2; tail -50 "$work/$name.log" >&2; return 1; }
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

for backend in ${WALK_BACKENDS:-sqlite postgres}; do
    case $backend in
        sqlite) walk sqlite "sqlite:$work/walk.db" ;;
        postgres)
            db="carebook_browser_$$"
            walk postgres "$PG/$db"
            psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true ;;
    esac
done
