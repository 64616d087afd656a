#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the whole project and its test suite
# (docs/fuzzing.md): gcc, -fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g1, into build-asan/,
# then ctest there with leak detection on and the first sanitizer report fatal.
#
#   scripts/sanitize.sh [CTEST ARGS...]     e.g. scripts/sanitize.sh -L fuzz_replay
# Without arguments: every test. The soak tests (they check that RSS stays flat) turn ASan's quarantine off
# for themselves (tb/soak/CMakeLists.txt), so one ctest run holds them all.
#
# -g1 (line tables, no variable info) rather than -g: the reports' stack traces keep their file:line, and
# the build, most of this script's time, compiles ~1.6x faster (CLI11- and json-heavy files the most).
# Executables are linked -no-pie: a position-independent sanitizer binary carries ~10^6 relative relocations
# (UBSan's check-site data, ASan's globals), which the loader applies at every start, ~0.13 CPU-seconds of
# the ~0.3 each test process took to start (docs/usage.md, "Build time").
# The test code (OV2_TEST_COMPILE_OPTIONS: tb/ and the shared test support) is compiled at -O0, ~2.5x
# faster than -O1 under ASan; the model, the Verilated blocks and the CLI, which the tests run, stay -O1.
#
# Exit status: ctest's (0 = every test passed with no sanitizer report), 2 when the build fails.
# Environment: OV2_ASAN_BUILD (build dir, default build-asan), OV2_ASAN_JOBS (default nproc).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bdir="${OV2_ASAN_BUILD:-$root/build-asan}"
jobs="${OV2_ASAN_JOBS:-$(nproc)}"
bash "$root/scripts/setup.sh"

san="-fsanitize=address,undefined"
# Reports: a leak, an ASan error or a UBSan finding ends the process with a failure (ctest sees it).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

start=$(date +%s)
mkdir -p "$bdir"
log="$bdir/build.log"
echo "sanitize.sh: ASan+UBSan build into $bdir (log: $log)" >&2
# The build runs the test binaries too (gtest_discover_tests lists their tests), under the options above.
if ! { cmake -S "$root" -B "$bdir" $(bash "$root/scripts/fast-build-args.sh" "$bdir") -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Sanitize \
         -DCMAKE_C_FLAGS="$san -fno-omit-frame-pointer -O1 -g1" \
         -DCMAKE_CXX_FLAGS="$san -fno-omit-frame-pointer -O1 -g1" \
         -DOV2_TEST_COMPILE_OPTIONS=-O0 \
         -DCMAKE_EXE_LINKER_FLAGS="$san -no-pie" \
         -DCMAKE_SHARED_LINKER_FLAGS="$san" -DCMAKE_MODULE_LINKER_FLAGS="$san" &&
       cmake --build "$bdir" -j"$jobs"; } >"$log" 2>&1; then
  grep -E "error|Error|ERROR" "$log" | head -40 >&2 || true
  tail -n 20 "$log" >&2
  echo "sanitize.sh: build failed (full log: $log)" >&2
  exit 2
fi
built=$(date +%s)
echo "sanitize.sh: built in $((built - start)) s; running ctest -j$jobs $*" >&2
status=0
(cd "$bdir" && ctest --output-on-failure -j"$jobs" "$@") || status=$?
end=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s; ctest exit $status" >&2
exit "$status"
