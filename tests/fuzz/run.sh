#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang-15 in their own tree
# and runs each for SECONDS (default 30), one after the other, at nice 19.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      # default: every target
#
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_JOBS (build
# parallelism, default 1), FUZZ_RUNS (stop each target after this many
# executions instead of SECONDS), FUZZ_ARGS (extra libFuzzer flags).
# The checked-in seeds (tests/fuzz/corpus/<target>/) are read, never
# written: new inputs go to $FUZZ_BUILD_DIR/corpus/<target>/ and crashes to
# $FUZZ_BUILD_DIR/artifacts/<target>/. Prints one line per target (execs,
# cov, ft, corpus size, crash or not). Exits 77 (skipped) when clang-15 or
# libFuzzer is missing, 1 when a target crashed or failed to build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-30}"
shift || true
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${FUZZ_JOBS:-1}"

if ! command -v clang++-15 >/dev/null || ! command -v clang-15 >/dev/null; then
  echo "fuzz: clang-15 not installed (apt-get install clang-15 libfuzzer-15-dev); skipped"
  exit 77
fi
if ! ls /usr/lib/llvm-15/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 &&
   ! ls /usr/lib/llvm-15/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
  echo "fuzz: libFuzzer runtime not installed (apt-get install libfuzzer-15-dev); skipped"
  exit 77
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_url fuzz_retry_after fuzz_juhuo fuzz_turing fuzz_vibegen fuzz_seedance2 fuzz_openai
           fuzz_manifest_csv fuzz_manifest_jsonl fuzz_config fuzz_admin)
fi

export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-15 CXX=clang++-15 cmake -S "$root" -B "$build" -DREELBATCH_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
nice -n 19 cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1 || {
  tail -n 40 "$build/build.log"
  echo "fuzz: build failed (log: $build/build.log)"
  exit 1
}

limit=(-max_total_time="$seconds")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
failed=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  art="$build/artifacts/$t"
  mkdir -p "$work" "$art"
  log="$build/$t.log"
  # -rss_limit_mb: ASan's shadow memory counts; 2 GB leaves room on small CI machines.
  if nice -n 19 "$build/tests/fuzz/$t" "${limit[@]}" -print_final_stats=1 -rss_limit_mb=2048 \
       -max_len=65536 -timeout=10 -artifact_prefix="$art/" ${FUZZ_ARGS:-} "$work" "$root/tests/fuzz/corpus/$t" \
       >"$log" 2>&1; then
    verdict="ok"
  else
    verdict="CRASH (see $log, inputs in $art/)"
    failed=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
  printf '%-20s execs=%-10s cov=%-6s ft=%-6s corp=%-12s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$verdict"
done
exit "$failed"
