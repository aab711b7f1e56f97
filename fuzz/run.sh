#!/usr/bin/env bash
# Fuzzes turnstile's parsers with cargo-fuzz (libFuzzer) for a given time.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Targets: authzen_request (JSON body reader, AuthZEN parser, a decision),
# entity_import (Cedar entity JSON against the Todo pack), policy_pack (the
# pack loader: schema, policies, catalogue), scenario_file (scenario parser).
# Each starts from a seed corpus made of the repository's own files (copied
# into fuzz/corpus/, not committed); crashes land in fuzz/artifacts/<target>/.
# Runs on the stable toolchain (no sanitizer: `-s none`; RUSTC_BOOTSTRAP lets
# cargo-fuzz pass its flags). Installs cargo-fuzz if it is missing.
# Prints, per target, the executions and whether it found a crash; exits 1 on
# any crash.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(authzen_request entity_import policy_pack scenario_file)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1

seed() { # TARGET FILES...
  local dir="corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/" ; done
}
seed authzen_request ../fixtures/authzen/*.json
printf '%s' '{"subject":{"type":"User","id":"ada"},"action":{"name":"access_management"},"resource":{"type":"Tenant","id":"acme"},"context":{"x":1}}' > corpus/authzen_request/evaluation.json
seed entity_import ../examples/todo/entities.json
seed policy_pack ../policies/*.cedar
seed scenario_file ../fixtures/scenarios/*.yaml

cargo fuzz build -s none -O >/dev/null
crashed=0
for t in "${TARGETS[@]}"; do
  mkdir -p "artifacts/$t"
  log="artifacts/$t/last-run.log"
  set +e
  cargo fuzz run -s none -O "$t" "corpus/$t" -- -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if [ "$rc" -eq 0 ]; then
    echo "$t: ${SECONDS_PER_TARGET} s, $execs executions, no crash"
  else
    crashed=1
    echo "$t: CRASH after $execs executions (exit $rc); see fuzz/$log and fuzz/artifacts/$t/"
    grep -m1 -A3 "panicked\|ERROR: libFuzzer" "$log" || true
  fi
done
exit "$crashed"
