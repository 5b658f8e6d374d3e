#!/usr/bin/env bash
# ctest systemd_units: checks the unit files in systemd/ with systemd-analyze.
#   systemd_units.sh SOURCE_DIR REELBATCH_BINARY
# 1. `systemd-analyze verify` on reelbatch.service and an instance of
#    reelbatch-submit@.service / .timer. verify checks that ExecStart= names an
#    executable, so the units are verified from a copy whose /usr/bin/reelbatch
#    is the binary just built (nothing else changes). It works in a container
#    without systemd as PID 1 (it loads the units offline).
# 2. `systemd-analyze security --offline=true` on both services: fails when
#    the overall exposure is above 2.0 (issue 12).
# Exits 77 (ctest: skipped) when systemd-analyze is not installed.
set -euo pipefail
src=$1
bin=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not installed (Debian package systemd): unit files not checked"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in reelbatch.service reelbatch-submit@.service reelbatch-submit@.timer; do
  sed "s|/usr/bin/reelbatch|$bin|g" "$src/systemd/$f" > "$work/$f"
done
cd "$work"
status=0
echo "== systemd-analyze verify"
if ! out=$(systemd-analyze verify reelbatch.service reelbatch-submit@nightly.csv.service \
             reelbatch-submit@nightly.csv.timer 2>&1); then
  echo "$out"
  echo "FAIL: systemd-analyze verify"
  status=1
elif [ -n "$out" ]; then
  echo "$out"
  echo "FAIL: systemd-analyze verify printed warnings"
  status=1
else
  echo "ok"
fi
echo "== systemd-analyze security --offline=true (limit 2.0)"
for unit in reelbatch.service reelbatch-submit@.service; do
  out=$(systemd-analyze security --offline=true --no-pager "$src/systemd/$unit" 2>&1 || true)
  score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' | tail -1)
  if [ -z "$score" ]; then
    printf '%s\n' "$out"
    echo "FAIL: $unit: no exposure score in the output"
    status=1
    continue
  fi
  echo "$unit: $score"
  if awk -v s="$score" 'BEGIN { exit !(s > 2.0) }'; then
    printf '%s\n' "$out" | grep '✗' || true
    echo "FAIL: $unit scores $score, above 2.0"
    status=1
  fi
done
exit $status
