#!/usr/bin/env bash
# Installs the Debian 12 packages ov2sim needs (only the missing ones), as root or via sudo.
set -euo pipefail
packages=(cmake g++ make pkg-config libsystemc-dev verilator libbotan-2-dev libgtest-dev libpcap-dev
          libcli11-dev nlohmann-json3-dev libfmt-dev python3-scapy python3-cryptography gtkwave gnuplot-nox
          ninja-build clang libclang-rt-14-dev)  # ninja: scripts/fast-build-args.sh; clang + its libFuzzer runtime: scripts/fuzz.sh
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
