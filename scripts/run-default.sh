#!/usr/bin/env bash
# The main job: builds what it needs, then simulates the bundled default scenario (a mix of ESP/AH,
# tunnel/transport, IPv4/IPv6 traffic, some of it corrupted) and prints the summary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build.sh"
scenario="$root/tb/scenarios/default"
exec "$root/build/ov2sim" run --pcap "$scenario/frames.pcap" --sa "$scenario/sa.json" --out "${1:-$root/out/default}"
