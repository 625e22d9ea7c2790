#!/usr/bin/env bash
# Rewrites docs/docs-page.png, the README's picture of /docs: builds carebook, serves it on a
# throwaway SQLite database and a free port, has headless Chromium photograph the page with
# the network unusable (so the picture shows only what ships in the binary), then stops it.
# Then rewrites docs/docs-page.txt, the listing of what the picture shows, which the browser
# test checks against the served document.
# Needs Debian's chromium (`apt-get install -y --no-install-recommends chromium`), or CHROMIUM.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "$chromium not found: apt-get install -y --no-install-recommends chromium" >&2
    exit 1
fi

cargo build --quiet --bin carebook
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

DATABASE_URL="sqlite:$tmp/carebook.db" HOST=127.0.0.1 PORT=0 LOG_FORMAT=json RUST_LOG=info \
    target/debug/carebook serve >"$tmp/carebook.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
    port=$(grep -o '"port":[0-9]*' "$tmp/carebook.log" | head -1 | cut -d: -f2) || true
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/carebook.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "carebook did not start" >&2; cat "$tmp/carebook.log" >&2; exit 1; }

"$chromium" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$tmp/profile" --proxy-server=127.0.0.1:9 \
    --window-size=1280,1600 --virtual-time-budget=15000 \
    --screenshot="$PWD/docs/docs-page.png" "http://127.0.0.1:$port/docs" 2>"$tmp/chromium.log" ||
    { tail -20 "$tmp/chromium.log" >&2; exit 1; }
echo "wrote docs/docs-page.png"
# The listing of what the picture shows, which the browser test checks against the document.
UPDATE_DOCS_PAGE=1 cargo test --quiet --test browser the_docs_picture_shows_todays_document
echo "wrote docs/docs-page.txt"
