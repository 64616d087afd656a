#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages) and builds ov2sim (Release) into build/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j"$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^-- |Consolidate compiler generated dependencies' || true
test -x "$root/build/ov2sim"
