#!/usr/bin/env bash
# Patient search at clinic scale: seeds PATIENTS patients (default 100,000) in SQL into a fresh
# database of each backend, starts the release `carebook` on it, and has wrk send
# `GET /api/patients?q=…` as the admin from CONNECTIONS connections (default 2: two desks
# searching at the same moment, on a machine of two cores that also runs wrk and the
# database) for DURATION seconds (default 15), each request a different search: a name word's
# first letters (a common one and a rare one), a full surname, a phone group, a date of birth.
# Every answer also writes its access records. Reports wrk's latency distribution
# (p50/p90/p99) and requests a second per backend; CONNECTIONS=8 shows the saturated machine.
#
#   bash bench/patient-search.sh
#   PATIENTS=20000 BACKENDS=sqlite CONNECTIONS=8 bash bench/patient-search.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PATIENTS=${PATIENTS:-100000}
CONNECTIONS=${CONNECTIONS:-2}
THREADS=$((CONNECTIONS < 2 ? CONNECTIONS : 2))
DURATION=${DURATION:-15}
BACKENDS=${BACKENDS:-postgres sqlite}
OUT=${OUT:-bench/results/patient-search}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export PGSSLMODE=disable
DB=carebook_search
WORK=$(mktemp -d /tmp/carebook-search.XXXXXX)
source bench/serve.sh
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)" >&2; exit 1; }

cleanup() {
    [ -z "$PID" ] || { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cargo build --release --bin carebook
mkdir -p "$OUT"

# Names: 40 first names × 60 surnames, with the row number, so words repeat as in life.
FIRST="'Maria','Ana','John','Oscar','Fatima','Wei','Olga','Pedro','Aisha','Liam','Noah','Emma','Sofia','Lucas','Mia','Ivan','Chen','Yuki','Omar','Sara','Lena','Hugo','Nina','Paul','Rosa','Tom','Eva','Ali','Zoe','Max','Leo','Ida','Kai','Jin','Ada','Ben','Amy','Dan','Eli','Fay'"
LAST="'Garcia','Lopez','Smith','Wilde','Khan','Zhang','Ivanova','Santos','Okafor','Murphy','Jensen','Rossi','Muller','Silva','Kim','Novak','Haddad','Tanaka','Cohen','Dubois','Costa','Berg','Nagy','Popescu','Horvat','Schmidt','Nguyen','Patel','Moreau','Fischer','Weber','Klein','Wolf','Braun','Becker','Hoffmann','Koch','Richter','Bauer','Vogel','Lang','Frank','Kaiser','Hahn','Keller','Roth','Beck','Lorenz','Baumann','Franke','Albrecht','Winter','Simon','Kraus','Vogt','Stein','Jung','Otto','Sommer','Brandt'"

seed_pg() {
    psql "$PG/$DB" -qX <<SQL
INSERT INTO patients (id, name, email, phone, date_of_birth)
SELECT gen_random_uuid(),
       (ARRAY[$FIRST])[1 + n % 40] || ' ' || (ARRAY[$LAST])[1 + (n / 40) % 60],
       'p' || n || '@seed.test',
       '+1 555 ' || lpad((n % 1000)::text, 3, '0') || ' ' || lpad((n % 10000)::text, 4, '0'),
       date '1940-01-01' + (n * 7919 % 29000)
FROM generate_series(1, $PATIENTS) AS n;
VACUUM ANALYZE patients;
SQL
}

seed_sqlite() {
    local file=$1
    sqlite3 "$file" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $PATIENTS),
     f(k, v) AS (SELECT key, value FROM json_each(json_array($FIRST))),
     l(k, v) AS (SELECT key, value FROM json_each(json_array($LAST)))
INSERT INTO patients (id, name, email, phone, date_of_birth)
SELECT randomblob(16),
       (SELECT v FROM f WHERE k = i % 40) || ' ' || (SELECT v FROM l WHERE k = (i / 40) % 60),
       'p' || i || '@seed.test',
       '+1 555 ' || printf('%03d', i % 1000) || ' ' || printf('%04d', i % 10000),
       date('1940-01-01', '+' || (i * 7919 % 29000) || ' days')
FROM n;
ANALYZE;
SQL
}

# Each request a different search, in turn.
cat >"$WORK/search.lua" <<'LUA'
local queries = {"mar", "maria", "garcia", "zhang", "wo", "ivanova%20olga", "0042", "1975-03-14",
                 "li", "santos", "ha", "p12345", "kaiser", "no", "7919", "beck"}
local i = 0
request = function()
  i = i + 1
  local q = queries[(i % #queries) + 1]
  return wrk.format("GET", wrk.path .. "?q=" .. q .. "&limit=20", {["Authorization"] = "Bearer " .. token})
end
init = function(args) token = args[1] end
LUA

for backend in $BACKENDS; do
    case $backend in
        postgres)
            psql "$PG/postgres" -qXc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
            url="$PG/$DB" ;;
        sqlite) url="sqlite:$WORK/carebook.db" ;;
    esac
    # Migrate, then seed behind the server's back, then serve.
    DATABASE_URL=$url target/release/carebook migrate >/dev/null 2>&1
    case $backend in
        postgres) seed_pg ;;
        sqlite) seed_sqlite "$WORK/carebook.db" ;;
    esac
    serve "$url" "$WORK/server-$backend.log" CAREBOOK_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
    token=$(curl -fsS "$BASE/auth/login" -H 'content-type: application/json' \
        -d "{\"email\": \"$ADMIN_EMAIL\", \"password\": \"$ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
    # Warm the caches once, then measure.
    wrk -t "$THREADS" -c "$CONNECTIONS" -d 3 -s "$WORK/search.lua" "$BASE/patients" -- "$token" >/dev/null
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency -s "$WORK/search.lua" "$BASE/patients" -- "$token" \
        | tee "$OUT/$backend.txt"
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=
done
