#!/usr/bin/env bash
# Runs the bundled example manifest against the built-in emulator:
#   examples/demo.sh          examples/manifest.csv (14 rows, juhuo)
#   examples/demo.sh mixed    examples/mixed.csv (65 rows over all five providers)
# Interrupt it (Ctrl-C, or kill -9 the reelbatch process) and run it again:
# finished rows are kept, submitted tasks are polled, nothing is paid twice.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${REELBATCH_BIN:-$root/build/reelbatch}
port=${REELBATCH_DEMO_PORT:-18787}
manifest=manifest config=reelbatch.toml
if [ "${1:-}" = mixed ]; then manifest=mixed config=mixed.toml; shift; fi
# The emulator accepts any key of each document's form (juhuo: sk- + 32 letters/digits).
export JUHUO_API_KEY=${JUHUO_API_KEY:-sk-reelbatchdemo0000000000000000000}
export TURING_API_KEY=${TURING_API_KEY:-demo-turing-key}
export VIBEGEN_API_KEY=${VIBEGEN_API_KEY:-sk-video-reelbatchdemo}
export SEEDANCE2_API_KEY=${SEEDANCE2_API_KEY:-demo-seedance2-key}
export OPENAI_API_KEY=${OPENAI_API_KEY:-sk-demo-openai}
[ -x "$bin" ] || { echo "no reelbatch binary at $bin: build first (see README.md)" >&2; exit 2; }
mkdir -p "$here/out"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if ! up; then
  "$bin" emulator --listen "127.0.0.1:$port" --time-scale 0.1 \
    --state "$here/out/emulator-state.json" >"$here/out/emulator.log" 2>&1 &
  emulator_pid=$!
  trap 'kill "$emulator_pid" 2>/dev/null; wait "$emulator_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do up && break; sleep 0.1; done
  up || { echo "the emulator did not start; see $here/out/emulator.log" >&2; exit 2; }
fi
"$bin" run "$here/$manifest.csv" --config "$here/$config" "$@"
