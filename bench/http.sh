#!/usr/bin/env bash
# HTTP load: AuthZEN decisions against the bare JSON echo route, in one run, on
# one machine, with a real load generator (wrk). Prints both, and the ratio.
#
#   bench/http.sh [ENTITIES] [SECONDS] [CONNECTIONS]     (SERVE_FLAGS="--cache-entities N" ...)
#   DB=postgres://postgres@127.0.0.1:5432/bench_http bench/http.sh ...   (the same, on PostgreSQL)
#
# Generates a ledger of ENTITIES entities (default 1000000) once under
# target/bench-http/, serves it with the release build, and drives the load
# below. With DB set to a postgres:// URL (no query string), the node serves
# that database instead: created if missing and filled once with a copy of the
# same ledger (`turnstile migrate-data`, needs psql; a database that exists
# unmarked must be empty, and is never dropped). The load:
#   - POST /bench/echo             a bare axum JSON echo (the ceiling)
#   - POST /access/v1/evaluation   a random user/operator of a random tenant
#                                  (every entity of the ledger in play: the cache
#                                  mostly misses), then a hot working set of 2000
#                                  requests spread over the ledger, then one
#                                  request repeated
#   - POST /access/v1/evaluations  50 items sharing one random subject, against
#                                  single evaluations of the same kind
# Also reports the server's peak RSS and its cold start (spawn → ready).
set -euo pipefail
cd "$(dirname "$0")/.."

ENTITIES=${1:-1000000}
SECONDS_=${2:-10}
CONNS=${3:-64}
NOW=2026-06-01T00:00:00Z
PORT=${PORT:-18180}
OUT=target/bench-http
mkdir -p "$OUT"

command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)"; exit 1; }; }
cargo build --release --quiet

LEDGER="$OUT/ledger-$ENTITIES.db"
if [ ! -f "$LEDGER.done" ]; then
  rm -f "$LEDGER" "$LEDGER-wal" "$LEDGER-shm"
  target/release/turnstile bench-data --db "$LEDGER" --entities "$ENTITIES" --now "$NOW"
  touch "$LEDGER.done"
fi
SERVE_DB="$LEDGER"
if [ -n "${DB:-}" ]; then
  case "$DB" in
    postgres://*|postgresql://*) ;;
    *) echo "DB must be a postgres:// URL (without DB: a SQLite file under $OUT)"; exit 1 ;;
  esac
  command -v psql >/dev/null || { echo "psql is needed to prepare $DB"; exit 1; }
  NAME=${DB##*/}
  ADMIN="${DB%/*}/postgres"
  MARK="turnstile bench-http ledger of $ENTITIES entities"
  if [ -z "$(psql "$ADMIN" -Atc "SELECT 1 FROM pg_database WHERE datname = '$NAME'")" ]; then
    psql "$ADMIN" -qc "CREATE DATABASE \"$NAME\""
  fi
  if [ "$(psql "$ADMIN" -Atc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$NAME'")" != "$MARK" ]; then
    echo "copying the ledger into $NAME (once)"
    target/release/turnstile migrate-data --from "sqlite:$LEDGER" --to "$DB" --policies policies --sample 50 \
      || { echo "the copy failed; drop $NAME (or empty it) and run again"; exit 1; }
    psql "$ADMIN" -qc "COMMENT ON DATABASE \"$NAME\" IS '$MARK'"
  fi
  SERVE_DB="$DB"
fi
echo "backend: $(case "$SERVE_DB" in postgres*) echo "postgresql ($NAME)";; *) echo "sqlite ($SERVE_DB)";; esac), $ENTITIES entities"
TENANTS=$(( ENTITIES / 80 )); [ "$TENANTS" -lt 1 ] && TENANTS=1

cat > "$OUT/eval.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tenants = $TENANTS
math.randomseed(42)
request = function()
  local t = math.random(0, tenants - 1)
  local body
  if math.random() < 0.8 then
    body = string.format('{"subject":{"type":"User","id":"u%d-%d"},"action":{"name":"access_management"},"resource":{"type":"Tenant","id":"t%d"}}', t, math.random(0, 19), t)
  else
    body = string.format('{"subject":{"type":"Operator","id":"o%d-%d"},"action":{"name":"record_production"},"resource":{"type":"Tenant","id":"t%d"}}', t, math.random(0, 55), t)
  end
  return wrk.format(nil, "/access/v1/evaluation", nil, body)
end
LUA
cat > "$OUT/eval_hot.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tenants = $TENANTS
math.randomseed(11)
local bodies = {}
for i = 1, 2000 do
  local t = math.random(0, tenants - 1)
  if math.random() < 0.8 then
    bodies[i] = string.format('{"subject":{"type":"User","id":"u%d-%d"},"action":{"name":"access_management"},"resource":{"type":"Tenant","id":"t%d"}}', t, math.random(0, 19), t)
  else
    bodies[i] = string.format('{"subject":{"type":"Operator","id":"o%d-%d"},"action":{"name":"record_production"},"resource":{"type":"Tenant","id":"t%d"}}', t, math.random(0, 55), t)
  end
end
request = function()
  return wrk.format(nil, "/access/v1/evaluation", nil, bodies[math.random(1, 2000)])
end
LUA
cat > "$OUT/single_cat.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tenants = $TENANTS
math.randomseed(7)
request = function()
  local t = math.random(0, tenants - 1)
  local body = string.format('{"subject":{"type":"User","id":"u%d-%d"},"action":{"name":"view"},"resource":{"type":"Category","id":"reports"}}', t, math.random(0, 19))
  return wrk.format(nil, "/access/v1/evaluation", nil, body)
end
LUA
cat > "$OUT/echo.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"subject":{"type":"User","id":"u1-2"},"action":{"name":"access_management"},"resource":{"type":"Tenant","id":"t1"}}'
wrk.path = "/bench/echo"
LUA
cat > "$OUT/batch.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tenants = $TENANTS
local cats = {"production_orders","production_records","reports","workers","users","devices","settings"}
local acts = {"view","edit","approve"}
math.randomseed(7)
request = function()
  local t = math.random(0, tenants - 1)
  local items = {}
  for i = 1, 50 do
    local k = (i - 1) % 21
    items[i] = string.format('{"action":{"name":"%s"},"resource":{"type":"Category","id":"%s"}}', acts[(k % 3) + 1], cats[(k % 7) + 1])
  end
  local body = string.format('{"subject":{"type":"User","id":"u%d-%d"},"evaluations":[%s]}', t, math.random(0, 19), table.concat(items, ","))
  return wrk.format(nil, "/access/v1/evaluations", nil, body)
end
LUA
cat > "$OUT/single_fixed.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"subject":{"type":"User","id":"u1-2"},"action":{"name":"view"},"resource":{"type":"Category","id":"reports"}}'
wrk.path = "/access/v1/evaluation"
LUA

START=$(date +%s%N)
RUST_LOG=warn TURNSTILE_ADMIN_TOKEN=bench target/release/turnstile serve --addr "127.0.0.1:$PORT" --db "$SERVE_DB" \
  --policies policies --no-watch --echo-route ${SERVE_FLAGS:-} > "$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null; do sleep 0.005; done
READY=$(date +%s%N)
echo "cold start (spawn → /health/ready): $(( (READY - START) / 1000000 )) ms"

run() { # name script
  wrk -t1 -c"$CONNS" -d"${SECONDS_}s" --latency -s "$OUT/$2" "http://127.0.0.1:$PORT" > "$OUT/$1.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "$OUT/$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$OUT/$1.txt")
  echo "$1: $rps req/s, p50 $p50, p99 $p99"
  eval "RPS_$1=$rps"
}

# Warm the entity cache with one short pass, then measure.
wrk -t1 -c"$CONNS" -d3s -s "$OUT/eval.lua" "http://127.0.0.1:$PORT" >/dev/null
run echo echo.lua
run evaluation eval.lua
run evaluation_hot eval_hot.lua
run evaluation_fixed single_fixed.lua
run evaluation_category single_cat.lua
run evaluations_50 batch.lua
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
echo "ratio evaluation / echo: random over the ledger $(ratio "$RPS_evaluation" "$RPS_echo"), hot working set $(ratio "$RPS_evaluation_hot" "$RPS_echo"), one request $(ratio "$RPS_evaluation_fixed" "$RPS_echo")"
echo "50-item batch cost in single evaluations of the same kind: $(ratio "$RPS_evaluation_category" "$RPS_evaluations_50")×"
# Latency at a steady offered load (open loop, corrected for coordinated
# omission), where wrk above measures saturation. Needs oha (cargo install oha).
if command -v oha >/dev/null; then
  awk -v tenants="$TENANTS" 'BEGIN { srand(5); for (i = 0; i < 50000; i++) { t = int(rand() * tenants);
    if (rand() < 0.8) printf "{\"subject\":{\"type\":\"User\",\"id\":\"u%d-%d\"},\"action\":{\"name\":\"access_management\"},\"resource\":{\"type\":\"Tenant\",\"id\":\"t%d\"}}\n", t, int(rand() * 20), t;
    else printf "{\"subject\":{\"type\":\"Operator\",\"id\":\"o%d-%d\"},\"action\":{\"name\":\"record_production\"},\"resource\":{\"type\":\"Tenant\",\"id\":\"t%d\"}}\n", t, int(rand() * 56), t } }' > "$OUT/bodies_random.txt"
  head -n 2000 "$OUT/bodies_random.txt" > "$OUT/bodies_hot.txt"
  RATE=${RATE:-5000}
  for set in hot random; do
    oha -z "${SECONDS_}s" -c "$CONNS" -q "$RATE" --latency-correction --no-tui -m POST -T application/json \
      -Z "$OUT/bodies_$set.txt" "http://127.0.0.1:$PORT/access/v1/evaluation" > "$OUT/steady_$set.txt" 2>&1
    echo "evaluation at $RATE req/s offered ($set): p50 $(awk '/50.00%/ {print $3, $4}' "$OUT/steady_$set.txt"), p99 $(awk '/99.00%/ {print $3, $4}' "$OUT/steady_$set.txt")"
  done
else
  echo "(oha not installed: no steady-load latency; cargo install oha)"
fi
echo "server peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' /proc/$PID/status)"
