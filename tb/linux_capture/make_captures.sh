#!/bin/bash
# Reproduces the Linux-kernel IPsec captures under tb/scenarios/linux_*/ (docs/linux-capture.md).
#
#   tb/linux_capture/make_captures.sh [--install] [--skip-vm]
#
#   --install    apt-get install what this needs (qemu-system-x86, linux-image-amd64, debootstrap, cpio,
#                python3-scapy, python3-cryptography); needs root
#   --skip-vm    reuse the last guest output in $VM_DIR/out (only re-derive the scenarios)
#   ONLY=NAME,NAME  (environment) capture only those scenarios (names as in guest/capture.sh)
#
# Steps: a Debian bookworm minbase root (debootstrap, cached in $VM_DIR/root) packed as an initramfs with
# the guest scripts (tb/linux_capture/guest/) and the IPsec/crypto/veth modules of Debian's stock kernel;
# that kernel booted under QEMU/KVM with no network device (-nic none): the guest makes its own network
# namespaces and veth pairs and captures there; results come back base64-encoded on the second serial
# port; expected_from_kernel.py then writes tb/scenarios/linux_<name>/.
# Needs root (debootstrap, /dev/kvm). Work files go to $VM_DIR (default /work/vm), never into the repo.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM_DIR=${VM_DIR:-/work/vm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
PY=/usr/bin/python3
INSTALL=0; SKIP_VM=0
for arg in "$@"; do
    case $arg in
        --install) INSTALL=1 ;;
        --skip-vm) SKIP_VM=1 ;;
        *) echo "usage: $0 [--install] [--skip-vm]" >&2; exit 2 ;;
    esac
done
mkdir -p "$VM_DIR"

if [ $INSTALL = 1 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        qemu-system-x86 linux-image-amd64 debootstrap cpio python3-scapy python3-cryptography
fi

# The guest kernel: the newest Debian linux-image installed (KVER overrides).
if [ -z "${KVER:-}" ]; then
    KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -1)
fi
[ -n "$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] && [ -d "/lib/modules/$KVER" ] || {
    echo "no Debian kernel image: apt-get install linux-image-amd64 (or run with --install)" >&2; exit 1; }
echo "guest kernel: $KVER"

# The accelerator. ACCEL=tcg (default) emulates the CPU: slower (the whole run takes a few minutes) but it
# runs any kernel. ACCEL=kvm needs a hardware-assisted /dev/kvm: on this project's machines /dev/kvm is
# the kvm_pvm module (pagetable-based virtualization), which runs only PVM-enabled guest kernels; Debian's
# stock kernel hangs right after decompression there, before printing anything.
ACCEL=${ACCEL:-tcg}
case $ACCEL in
    tcg) ACCEL_ARGS="-accel tcg -cpu max" ;;
    kvm) ACCEL_ARGS="-enable-kvm -cpu host" ;;
    *) echo "ACCEL must be tcg or kvm" >&2; exit 2 ;;
esac

if [ $SKIP_VM = 0 ]; then
    if [ $ACCEL = kvm ] && [ -d /sys/module/kvm_pvm ]; then
        echo "warning: /dev/kvm is kvm_pvm here: a stock kernel does not boot under it (use ACCEL=tcg)" >&2
    fi
    # 1. the root file system (cached)
    if [ ! -x "$VM_DIR/root/usr/bin/python3" ]; then
        rm -rf "$VM_DIR/root"
        timeout 1200 debootstrap --variant=minbase --include=iproute2,tcpdump,iputils-ping,python3,kmod \
            "$SUITE" "$VM_DIR/root" "$MIRROR"
    fi
    # 2. the initramfs: that root less docs, plus the modules and the guest scripts
    STAGE=$VM_DIR/initramfs
    rm -rf "$STAGE"
    cp -a "$VM_DIR/root" "$STAGE"
    rm -rf "$STAGE"/usr/share/{doc,man,info,locale} "$STAGE"/var/cache/apt/* "$STAGE"/var/lib/apt/lists/*
    M=/lib/modules/$KVER
    mkdir -p "$STAGE$M/kernel/drivers/net"
    for d in net/ipv4 net/ipv6 net/xfrm net/key net/core crypto arch/x86/crypto lib; do
        mkdir -p "$STAGE$M/kernel/$d"
        cp -a "$M/kernel/$d/." "$STAGE$M/kernel/$d/"
    done
    cp -a "$M/kernel/drivers/net/veth.ko"* "$STAGE$M/kernel/drivers/net/"
    cp -a "$M"/modules.builtin* "$M"/modules.order "$STAGE$M/"
    depmod -b "$STAGE" "$KVER"
    install -m 755 "$HERE/guest/init" "$STAGE/init"
    install -m 755 "$HERE/guest/capture.sh" "$STAGE/capture.sh"
    install -m 755 "$HERE/guest/helper.py" "$STAGE/helper.py"
    (cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$VM_DIR/initrd.gz"
    echo "initramfs: $(du -h "$VM_DIR/initrd.gz" | cut -f1)"

    # 3. boot it: no network device, console on ttyS0 (console.log), results on ttyS1 (serial1.txt)
    rm -f "$VM_DIR/console.log" "$VM_DIR/serial1.txt"
    timeout 1200 qemu-system-x86_64 $ACCEL_ARGS -smp 1 -m 2048 \
        -kernel "/boot/vmlinuz-$KVER" -initrd "$VM_DIR/initrd.gz" \
        -append "console=ttyS0 panic=-1 quiet${ONLY:+ ov2.only=$ONLY}" \
        -display none -monitor none -nic none -no-reboot \
        -serial "file:$VM_DIR/console.log" -serial "file:$VM_DIR/serial1.txt" < /dev/null
    echo "guest finished; console: $VM_DIR/console.log"

    # 4. unpack what the guest sent
    if [ -z "${ONLY:-}" ]; then
        rm -rf "$VM_DIR/out"
    else
        for n in ${ONLY//,/ }; do rm -rf "$VM_DIR/out/$n"; done
    fi
    mkdir -p "$VM_DIR/out"
    $PY - "$VM_DIR/serial1.txt" "$VM_DIR/out" <<'EOF'
import base64, io, sys, tarfile
text = open(sys.argv[1], 'rb').read().decode('ascii', 'replace').replace('\r', '')
begin, end = '=====OV2-CAPTURE-BEGIN=====\n', '=====OV2-CAPTURE-END====='
if begin not in text or end not in text:
    sys.exit('no complete capture block on the second serial port (see console.log)')
blob = base64.b64decode(text.split(begin, 1)[1].split(end, 1)[0])
with tarfile.open(fileobj=io.BytesIO(blob), mode='r:gz') as t:
    t.extractall(sys.argv[2])
print('unpacked %d bytes of results' % len(blob))
EOF
    cp "$VM_DIR/console.log" "$VM_DIR/out/console.log"
fi

# 5. the scenarios, expectations derived from what the kernel did
for d in "$VM_DIR"/out/linux_*/; do
    name=$(basename "$d")
    $PY "$HERE/expected_from_kernel.py" --capture "$d" --guest "$VM_DIR/out/guest.txt" \
        --out "$REPO/tb/scenarios/$name"
done
