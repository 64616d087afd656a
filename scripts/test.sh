#!/usr/bin/env bash
# The whole test suite: builds what it needs, then runs every test (CTest, one process per test).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" "$@"
