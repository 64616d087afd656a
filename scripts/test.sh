#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs and builds what it needs, then
#   1. the Release build and every test (CTest, one process per test);
#   2. a smoke run of every libFuzzer target (scripts/fuzz.sh --smoke, 10 s each).
# Stage 2 runs even when stage 1 failed, so one run reports everything; the exit status is 0 only when both
# passed.
#   scripts/test.sh [--quick | --sanitize] [CTEST ARGS...]
#     --quick     stage 1 only (CTEST ARGS go to it)
#     --sanitize  also 3. the whole suite built with ASan + UBSan (scripts/sanitize.sh); not yet in CI
#                 (docs/fuzzing.md says why)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=0 sanitize=0
case "${1:-}" in
  --quick) quick=1; shift ;;
  --sanitize) sanitize=1; shift ;;
esac

start=$(date +%s)
status=0
stage() {  # stage NAME COMMAND...: runs it, reports its time and result
  local name="$1" t0 rc=0
  shift
  t0=$(date +%s)
  echo "== test.sh: $name" >&2
  "$@" || rc=$?
  echo "== test.sh: $name: $([ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - t0)) s" >&2
  [ $rc -eq 0 ] || status=1
}
release_suite() {
  bash "$root/scripts/build.sh" && (cd "$root/build" && ctest --output-on-failure -j"$(nproc)" "$@")
}

stage "Release build and tests" release_suite "$@"
if [ $quick = 0 ]; then
  stage "fuzz smoke run" bash "$root/scripts/fuzz.sh" --smoke
fi
if [ $sanitize = 1 ]; then
  stage "ASan + UBSan build and tests" bash "$root/scripts/sanitize.sh"
fi
echo "== test.sh: $([ $status -eq 0 ] && echo "all passed" || echo "FAILED") in $(($(date +%s) - start)) s" >&2
exit $status
