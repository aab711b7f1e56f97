#!/usr/bin/env bash
# Property-based conformance of the HTTP API against its own OpenAPI document
# (GET /openapi.json), with schemathesis and every check it has.
#
#   bench/schemathesis.sh [TURNSTILE_BINARY]        (default target/debug/turnstile)
#
# Serves the binary on a fresh SQLite file in a temp dir with a throwaway admin
# token, waits for /health/ready, seeds a small ledger (an account, a tenant in
# trial, a subscription of each kind, two users, one seat operator) so that the
# routes taking an id reach their logic instead of a 404, runs schemathesis
# (all checks, all phases, a fixed seed and a bounded budget), prints a
# summary, stops the server and exits non-zero on any failure.
#
# Environment (all optional):
#   MAX_EXAMPLES   test cases per operation and phase        (default 50: ~30 s on 2 cores; 100: ~1 min)
#   SEED           generation seed                           (default 42)
#   ST_VERSION     schemathesis version, installed with pip when another one is found
#                                                            (default 4.32.5)
#   ST_TIMEOUT     hard limit on the schemathesis run, in s   (default 170)
#   OUT            where the reports and the server log go   (default target/schemathesis)
#   PYTHON         the Python that runs schemathesis          (default python3)
#   ST_ARGS        extra `st run` arguments, e.g. "--baseline bench/schemathesis-baseline.json"
set -euo pipefail
# A binary path given relative to the caller's directory, resolved before the cd.
if [ -n "${1:-}" ]; then BIN=$(realpath -- "$1"); fi
cd "$(dirname "$0")/.."

BIN=${BIN:-target/debug/turnstile}
MAX_EXAMPLES=${MAX_EXAMPLES:-50}
SEED=${SEED:-42}
ST_VERSION=${ST_VERSION:-4.32.5}
ST_TIMEOUT=${ST_TIMEOUT:-170}
OUT=${OUT:-target/schemathesis}
PYTHON=${PYTHON:-python3}

[ -x "$BIN" ] || { echo "schemathesis.sh: no turnstile binary at $BIN (build it, or pass its path)" >&2; exit 2; }
command -v curl >/dev/null || { echo "schemathesis.sh: curl is needed" >&2; exit 2; }

# ------------------------------------------------------------ schemathesis, pinned
installed=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)
if [ "$installed" != "$ST_VERSION" ]; then
  echo "installing schemathesis==$ST_VERSION (found: ${installed:-none})"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

# ------------------------------------------------------------ the server
WORK=$(mktemp -d "${TMPDIR:-/tmp}/turnstile-schemathesis.XXXXXX")
mkdir -p "$OUT"
rm -f "$OUT/report.json" "$OUT/junit.xml" "$OUT/server.log"
SERVER_PID=
ST_PID=
cleanup() {
  local rc=$?
  if [ -n "$ST_PID" ] && kill -0 "$ST_PID" 2>/dev/null; then
    kill -TERM "$ST_PID" 2>/dev/null || true
    wait "$ST_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -f "$WORK/server.log" ] && cp "$WORK/server.log" "$OUT/server.log" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=${PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BASE="http://127.0.0.1:$PORT"
TOKEN="st-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

TURNSTILE_ADMIN_TOKEN="$TOKEN" "$BIN" serve \
  --addr "127.0.0.1:$PORT" --db "$WORK/turnstile.db" --policies policies --no-watch \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

ready=
for _ in $(seq 1 300); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the server exited during start-up:" >&2; cat "$WORK/server.log" >&2; exit 1
  fi
  if curl -sf "$BASE/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "schemathesis.sh: $BASE/health/ready did not answer within 30 s" >&2; cat "$WORK/server.log" >&2; exit 1; }

# ------------------------------------------------------------ a small ledger
seed() { # METHOD PATH BODY
  local code
  code=$(curl -s -o "$WORK/seed.out" -w '%{http_code}' -X "$1" "$BASE$2" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$3")
  case "$code" in 2??) ;; *) echo "schemathesis.sh: seeding $1 $2 answered $code: $(cat "$WORK/seed.out")" >&2; exit 1 ;; esac
}
seed POST /v1/accounts '{"id":"acme","name":"ACME"}'
seed POST /v1/accounts/acme/tenants '{"id":"acme-plant","name":"ACME Plant"}'
seed POST /v1/tenants/acme-plant/subscriptions '{"kind":"shop_floor","quantity":1000,"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z"}'
seed POST /v1/tenants/acme-plant/subscriptions '{"kind":"user","quantity":1000,"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z"}'
seed POST /v1/tenants/acme-plant/users '{"id":"ada","name":"Ada","email":"ada@acme.test","role":"admin"}'
seed POST /v1/tenants/acme-plant/users '{"id":"bob","name":"Bob","email":"bob@acme.test","role":"viewer"}'
seed POST /v1/tenants/acme-plant/operators '{"id":"op1","number":"1","name":"Op One"}'

# ------------------------------------------------------------ schemathesis config
# Path ids name the seeded ledger. The overrides below are the rules a JSON
# Schema cannot state; each is documented on its operation, and a 422 (or, for
# the batch, a 200 carrying the item's error) is the right answer there. Note:
# filters in one [[operations]] entry are OR-ed, so each entry names its
# operation with one `include-name = "METHOD /path"`.
cat >"$WORK/schemathesis.toml" <<'TOML'
# No state kept between runs (no ./.schemathesis crash cache): same seed, same run.
cache.enabled = false

# Every check (what `--checks all` does). Set here rather than on the command
# line: a check named on the command line wins over an operation's
# `enabled = false` below.
checks.enabled = true

[parameters]
"path.account" = "acme"
"path.tenant" = "acme-plant"
"path.user" = "bob"
"path.operator" = "op1"
"path.number" = 1

# `ends_at` must be after `starts_at` (cross-field).
[[operations]]
include-name = "POST /v1/tenants/{tenant}/subscriptions"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# `ends_at` must be after the stored subscription's `starts_at` (state).
[[operations]]
include-name = "PATCH /v1/tenants/{tenant}/subscriptions/{number}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# `role` must be one of the tenant's roles (state; 422 by design, see
# tests/integration/ledger_api.rs).
[[operations]]
include-name = "POST /v1/tenants/{tenant}/users"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "PATCH /v1/users/{user}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# An account with several tenants must name one: 422 `tenant_required` (state).
# A `tenant` the account lacks is a 404; with `account` pinned above, the
# stateful phase would blame that 404 on the account it had just created.
[[operations]]
include-name = "POST /v1/accounts/{account}/hubs"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
checks.ensure_resource_availability.enabled = false

# `at` must not be in the future (clock).
[[operations]]
include-name = "POST /v1/operators/{operator}/production"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Entities are checked against the serving Cedar schema (types, attributes): 422 `invalid_entities`.
[[operations]]
include-name = "PUT /v1/entities"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# AuthZEN batch: an item that cannot be evaluated is a deny carrying its
# error in a 200, not a failed batch.
[[operations]]
include-name = "POST /access/v1/evaluations"
checks.negative_data_rejection.expected-statuses = ["200", "400", "401", "413"]

# `page.token` is opaque: only a `next_token` the service gave (or "") is
# valid, which no schema can generate. Searches start at the first page.
[[operations]]
include-name = "POST /access/v1/search/subject"
parameters = { "body.page.token" = "" }

[[operations]]
include-name = "POST /access/v1/search/resource"
parameters = { "body.page.token" = "" }

[[operations]]
include-name = "POST /access/v1/search/action"
parameters = { "body.page.token" = "" }
TOML

# ------------------------------------------------------------ the run
echo "schemathesis $ST_VERSION against $BASE/openapi.json (max $MAX_EXAMPLES examples per operation, seed $SEED)"
started=$(date +%s)
set +e
# In the background, so that a signal to this script stops the run at once
# (bash runs traps only between foreground commands). The console script may
# not be on PATH (pip --user, venvs): its entry point is called directly.
# shellcheck disable=SC2086  # ST_ARGS is a list of words on purpose
timeout --signal=TERM --kill-after=10 "$ST_TIMEOUT" \
  "$PYTHON" -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "st"; schemathesis()' \
  --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --generation-database none \
  --continue-on-failure \
  --request-timeout 10 \
  --no-color \
  --report junit,json \
  --report-dir "$OUT" \
  --report-junit-path "$OUT/junit.xml" \
  --report-json-path "$OUT/report.json" \
  ${ST_ARGS:-} &
ST_PID=$!
wait "$ST_PID"
st_rc=$?
ST_PID=
set -e
elapsed=$(( $(date +%s) - started ))

# ------------------------------------------------------------ summary
server_alive=1
kill -0 "$SERVER_PID" 2>/dev/null || server_alive=0
echo
echo "==================== schemathesis summary ===================="
if [ -s "$OUT/report.json" ]; then
  "$PYTHON" - "$OUT/report.json" "$elapsed" <<'PY' || echo "(the JSON report could not be read)"
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(f"the report is incomplete; the run took {sys.argv[2]} s")
ops, tc = r.get("operations", {}), r.get("test_cases", {})
print(f"schemathesis {r.get('schemathesis_version')}, seed {r.get('seed')}, {sys.argv[2]} s "
      f"(run: {r.get('running_time', 0):.1f} s, {r.get('stop_reason')})")
print(f"operations: {ops.get('tested')} tested of {ops.get('selected')} selected, {ops.get('errored', 0)} errored")
print(f"test cases: {tc.get('generated')} generated, {tc.get('unique_failures', 0)} unique failures, "
      f"{tc.get('errored', 0)} errored")
for f in r.get("failures", []):
    print(f"  {f.get('code')} {f.get('title')}: {f.get('count')}")
    for op in f.get("operations", []):
        print(f"      {op}")
for e in r.get("errors", []):
    print(f"  error: {json.dumps(e)[:300]}")
for name, w in (r.get("warnings") or {}).items():
    if w:
        print(f"  warning: {name}")
PY
else
  echo "no JSON report (schemathesis exit code $st_rc, after $elapsed s)"
fi
echo "reports: $OUT/junit.xml, $OUT/report.json; server log: $OUT/server.log"

if [ "$st_rc" -eq 124 ] || [ "$st_rc" -eq 137 ]; then
  echo "FAILED: schemathesis did not finish within $ST_TIMEOUT s" >&2
  exit 1
fi
if [ "$server_alive" -eq 0 ]; then
  echo "FAILED: the server died during the run (see $OUT/server.log)" >&2
  exit 1
fi
if [ "$st_rc" -ne 0 ]; then
  echo "FAILED: schemathesis exit code $st_rc" >&2
  exit 1
fi
echo "OK: the API conforms to its OpenAPI document"
