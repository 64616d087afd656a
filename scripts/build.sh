#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages) and builds ov2sim (Release) into build/.
# The compiler's output goes to build/build.log; it is shown only when the build fails.
# The test code is compiled at -O1 (the model, the Verilated blocks and the CLI at -O3): it compiles in
# about half the time, and the tests' run time is the model's (docs/usage.md, "Build time").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
mkdir -p "$root/build"
log="$root/build/build.log"
echo "ov2sim: building into $root/build (log: $log)" >&2
if ! { cmake -S "$root" -B "$root/build" $(bash "$root/scripts/fast-build-args.sh" "$root/build") -DCMAKE_BUILD_TYPE=Release \
         -DOV2_TEST_COMPILE_OPTIONS=-O1 &&
       cmake --build "$root/build" -j"$(nproc)"; } >"$log" 2>&1; then
  grep -E "error|Error" "$log" | head -40 >&2 || true
  tail -n 30 "$log" >&2
  echo "ov2sim: build failed (full log: $log)" >&2
  exit 1
fi
