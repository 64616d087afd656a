#!/usr/bin/env bash
# The cmake arguments with which build.sh, sanitize.sh and fuzz.sh configure a build directory from nothing
# (as CI always does; docs/usage.md, "Build time"):
#   scripts/fast-build-args.sh BUILD_DIR    prints them (nothing once BUILD_DIR is configured: its cache
#                                           keeps them, and a developer's choice stays)
#  - -DOV2_UNITY_BUILD=ON: each target compiled in batches of files (root CMakeLists.txt); a later
#    `cmake -DOV2_UNITY_BUILD=OFF BUILD_DIR` makes incremental builds file by file again;
#  - -G Ninja when installed: it compiles a test's objects while the libraries it links are still being
#    built, which keeps both cores busy where make waits for whole targets.
set -euo pipefail
bdir="$1"
[ -f "$bdir/CMakeCache.txt" ] && exit 0
args=(-DOV2_UNITY_BUILD=ON)
if command -v ninja >/dev/null; then args+=(-G Ninja); fi
echo "${args[@]}"
