#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs and builds what it needs, then
#   1. the Release build and every test (CTest, one process per test);
#   2. the whole suite built with AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh);
#   3. a smoke run of every libFuzzer target (scripts/fuzz.sh --smoke, 10 s each, nproc at a time).
# The fuzz targets are built (clang) while the sanitizer build runs: that build's two longest translation units
# leave a core idle for minutes, and the fuzz build alone did too (docs/usage.md, "Build time"). The
# fuzzing itself runs afterwards, alone, so each target still gets its 10 s of the machine.
# Every stage runs even when an earlier one failed, so one run reports everything; the exit status is 0
# only when all passed.
#   scripts/test.sh [--quick] [CTEST ARGS...]   --quick: stage 1 only (CTEST ARGS go to it)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi

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

# fuzz_smoke: waits for the fuzz build started beside the sanitizer stage, shows its output, then fuzzes.
fuzz_smoke() {
  local rc=0
  wait "$fuzz_build" || rc=$?
  cat "$fuzz_build_out" >&2
  echo "test.sh: the fuzz build (beside the sanitizer stage) took $(cat "$fuzz_build_out.time") s" >&2
  [ $rc -eq 0 ] || return $rc
  bash "$root/scripts/fuzz.sh" --smoke --no-build --jobs "$(nproc)"
}

stage "Release build and tests" release_suite "$@"
if [ $quick = 0 ]; then
  fuzz_build_out="$(mktemp)"
  trap 'rm -f "$fuzz_build_out" "$fuzz_build_out.time"' EXIT
  ( t0=$(date +%s); rc=0; bash "$root/scripts/fuzz.sh" --build-only || rc=$?
    echo $(($(date +%s) - t0)) >"$fuzz_build_out.time"; exit $rc ) >"$fuzz_build_out" 2>&1 &
  fuzz_build=$!
  stage "ASan + UBSan build and tests" bash "$root/scripts/sanitize.sh"
  stage "fuzz smoke run" fuzz_smoke
fi
echo "== test.sh: $([ $status -eq 0 ] && echo "all passed" || echo "FAILED") in $(($(date +%s) - start)) s" >&2
exit $status
