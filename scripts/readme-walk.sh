#!/usr/bin/env bash
# Runs the README's "first ten minutes" as a newcomer pastes it: a fresh release server with
# nothing configured (SQLite, in an empty directory), then one on a fresh PostgreSQL database
# (also started in an empty directory); on each, the walk's blocks run in one bash with
# `set -euo pipefail`, in the server's directory, as a newcomer runs them beside `cargo run`:
# the walk reads files the server writes there (the e-mail in ./data/mail, since no SMTP
# server is configured). Fails when a command fails or an answer is an error envelope
# ({"success": false, "error": {…}}).
#
#   bash scripts/readme-walk.sh                  # SQLite, then PostgreSQL
#   bash scripts/readme-walk.sh postgres         # one backend (sqlite | postgres)
#
# Which blocks run. A ```sh (or ```bash, ```shell) block whose fence line directly follows a
# line `<!-- walk -->` is part of the walk: those of README.md first, then those of docs/*.md
# in name order, all in one shell, so later blocks see the variables of earlier ones. A shell
# block directly after `<!-- illustrative -->` is an example and is not run. A shell block in
# README.md or docs/*.md with neither mark fails this script: every shell block is either run
# here or marked as not meant to be run.
#
# What is changed before running. The walk's line `PASSWORD='…'` (the one line a reader edits)
# gets the password the server printed on stderr ("created the first account: admin@localhost
# with password …"), and `localhost:5000` becomes the server's address (a free port). `curl`
# is wrapped in a shell function that runs the same command and also keeps every answer, so
# that answers captured into variables are checked for error envelopes too, and prints the
# answer of a failed call.
#
# Env: CAREBOOK_BIN (a built carebook; default: `cargo build --release --bin carebook`, then
# target/release/carebook), WALK_PG (PostgreSQL server URL without a database; default
# TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432: a database named
# carebook_walk_… is created by carebook and dropped at the end), WALK_TIMEOUT (seconds per
# walk, default 300). Needs curl, jq, GNU date, python3 and, for PostgreSQL, psql.
set -euo pipefail
if [ -n "${CAREBOOK_BIN:-}" ]; then CAREBOOK_BIN=$(realpath "$CAREBOOK_BIN"); fi
cd "$(dirname "$0")/.."
ROOT=$PWD

BACKENDS=("$@")
[ ${#BACKENDS[@]} -gt 0 ] || BACKENDS=(sqlite postgres)
PG=${WALK_PG:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}}
PG=${PG%/}
TIMEOUT=${WALK_TIMEOUT:-300}

log() { printf '[readme-walk] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in curl jq python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
date -d '+1 day' +%F >/dev/null 2>&1 || die "the walk needs GNU date (date -d '+1 day')"
for b in "${BACKENDS[@]}"; do
    case $b in
        sqlite) ;;
        postgres) command -v psql >/dev/null || die "psql is not installed" ;;
        *) die "unknown backend '$b' (sqlite or postgres)" ;;
    esac
done

if [ -n "${CAREBOOK_BIN:-}" ]; then
    BIN=$CAREBOOK_BIN
else
    log "cargo build --release --bin carebook"
    cargo build --release --bin carebook
    BIN=$ROOT/target/release/carebook
fi
[ -x "$BIN" ] || die "no carebook binary at $BIN"

# The walk: every marked block, in order, each preceded by a line naming where it comes from.
WORK=$(mktemp -d /tmp/carebook-walk.XXXXXX)
DOCS=(README.md)
for f in docs/*.md; do [ -e "$f" ] && DOCS+=("$f"); done
awk '
    FNR == 1 { prev = ""; fence = 0 }
    fence {
        if ($0 ~ /^[ \t]*```[ \t]*$/) { fence = 0; prev = ""; next }
        if (run) print
        next
    }
    /^[ \t]*```/ {
        fence = 1; run = 0
        if ($0 ~ /^[ \t]*```(sh|bash|shell)[ \t]*$/) {
            if (prev ~ /^[ \t]*<!-- walk -->[ \t]*$/) {
                run = 1
                printf "__walk_block %s:%d\n", FILENAME, FNR
            } else if (prev !~ /^[ \t]*<!-- illustrative -->[ \t]*$/) {
                printf "%s:%d: a shell block marked neither <!-- walk --> nor <!-- illustrative -->\n", \
                    FILENAME, FNR > "/dev/stderr"
                bad = 1
            }
        }
        next
    }
    { prev = $0 }
    END { exit bad }
' "${DOCS[@]}" >"$WORK/blocks.sh" || die "unmarked shell blocks (see above)"
grep -q '^__walk_block README.md:' "$WORK/blocks.sh" || die "README.md has no <!-- walk --> block"
grep -q "^PASSWORD=" "$WORK/blocks.sh" || die "the walk has no PASSWORD='…' line to fill in"
grep -q 'localhost:5000' "$WORK/blocks.sh" || die "the walk never names localhost:5000"
log "walk: $(grep -c '^__walk_block' "$WORK/blocks.sh") blocks from ${DOCS[*]}"

SERVER_PID=
DB_NAME=
cleanup() {
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
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# walk BACKEND [DATABASE_URL]: a fresh server in an empty directory, then the walk against it,
# run in that directory.
walk() {
    local backend=$1 url=${2:-} dir port password i
    dir=$WORK/$backend
    mkdir -p "$dir/run"
    port=$(free_port)
    log "$backend: starting $BIN on 127.0.0.1:$port${url:+ ($url)}"
    # An empty directory and an empty environment: no .env, no DATABASE_URL unless given, so
    # SQLite is the default ./data/carebook.db of a first start, and on either backend the
    # master key and the mail land in ./data. METRICS_ADDR=off: a second instance on the host
    # must not need the metrics port.
    (cd "$dir/run" && exec env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 \
        PORT="$port" HOST=127.0.0.1 METRICS_ADDR=off ${url:+DATABASE_URL="$url"} \
        "$BIN" serve >"$dir/server.out" 2>"$dir/server.err") &
    SERVER_PID=$!
    for i in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.err" >&2; die "$backend: the server exited"; }
        sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null || die "$backend: the server did not answer /health"
    password=$(sed -n 's/^carebook: created the first account: admin@localhost with password //p' \
        "$dir/server.err")
    [ -n "$password" ] || { cat "$dir/server.err" >&2; die "$backend: no first-account password on stderr"; }
    if [ "$backend" = sqlite ] && [ ! -f "$dir/run/data/carebook.db" ]; then
        die "sqlite: the server did not create ./data/carebook.db"
    fi

    {
        echo 'set -euo pipefail'
        cat <<'EOF'
__walk_block() { printf '\n── %s\n' "$1"; }
curl() {
    local out rc=0
    out=$(command curl "$@") || rc=$?
    printf '%s\n' "$out" >>"$WALK_ANSWERS"
    printf '%s\n' "$out"
    if [ "$rc" -ne 0 ]; then
        local arg url=
        for arg in "$@"; do case $arg in http://* | https://*) url=$arg ;; esac; done
        printf 'curl %s failed (exit %s): %s\n' "$url" "$rc" "$out" >&2
    fi
    return "$rc"
}
EOF
        sed -e "s|^PASSWORD=.*|PASSWORD=$(printf '%q' "$password")|" \
            -e "s|localhost:5000|127.0.0.1:$port|g" "$WORK/blocks.sh"
    } >"$dir/walk.sh"

    log "$backend: running the walk"
    : >"$dir/answers"
    local rc=0
    (cd "$dir/run" && WALK_ANSWERS="$dir/answers" timeout "$TIMEOUT" bash "$dir/walk.sh") \
        >"$dir/walk.out" 2>&1 || rc=$?
    sed 's/^/    /' "$dir/walk.out" >&2
    [ "$rc" -eq 0 ] || die "$backend: the walk failed (exit $rc); its script is $dir/walk.sh"
    if grep -Eq '"success"[[:space:]]*:[[:space:]]*false' "$dir/answers" "$dir/walk.out"; then
        grep -E '"success"[[:space:]]*:[[:space:]]*false' "$dir/answers" "$dir/walk.out" >&2
        die "$backend: an answer of the walk is an error envelope"
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || die "$backend: the server died during the walk"
    if grep -q 'panicked' "$dir/server.err" "$dir/server.out"; then
        die "$backend: the server panicked (see $dir/server.err)"
    fi
    cleanup
    log "$backend: the walk passed ($(grep -c '^__walk_block' "$WORK/blocks.sh") blocks, $(wc -l <"$dir/answers") answers)"
}

for backend in "${BACKENDS[@]}"; do
    case $backend in
        sqlite)
            walk sqlite
            ;;
        postgres)
            psql "$PG/postgres" -qXAtc 'SELECT 1' >/dev/null || die "no PostgreSQL at $PG"
            DB_NAME=carebook_walk_$(date +%s)_$$
            walk postgres "$PG/$DB_NAME"
            ;;
    esac
done
rm -rf "$WORK"
log "passed: ${BACKENDS[*]}"
