#!/bin/bash
# Runs inside the capture guest (Debian's stock kernel under QEMU, started by make_captures.sh; /init calls
# it). For each scenario: two network namespaces a (sender, 192.0.2.1 / 2001:db8::1) and b (receiver,
# 192.0.2.2 / 2001:db8::2) joined by a veth pair; SAs and policies in both; the RECEIVER's `ip xfrm state`
# saved before any traffic; tcpdump -Q in on b's veth; bounded traffic from a to b; then b's
# `ip -s xfrm state` and /proc/net/xfrm_stat (what the kernel accepted). Results go to /out/<scenario>/.
# No traffic leaves the guest: the guest has no network device but the veth pairs made here.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
OUT=/out
mkdir -p "$OUT"
log() { echo "[capture] $*"; }

# Keys: fixed, made up for this test (never used anywhere else).
K_GCM128_AB=0x000102030405060708090a0b0c0d0e0f_c0ffee01            # 16-byte AES key + 4-byte salt
K_GCM128_BA=0x101112131415161718191a1b1c1d1e1f_c0ffee02
K_GCM256_AB=0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f_5a17a001
K_GCM256_BA=0x404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f_5a17a002
K_AES128_AB=0x6b6579206165732d3132382061202d3e                     # cbc(aes) 128
K_AES128_BA=0x6b6579206165732d3132382062202d3e
K_SHA256_AB=0x686d61632d7368613235362061202d3e2062206b6579206d6174657269616c21  # 32 bytes
K_SHA256_BA=0x686d61632d7368613235362062202d3e2061206b6579206d6174657269616c21
K_SHA1_AB=0x686d61632d73686131206120746f206221414243        # 20 bytes
K_SHA1_BA=0x686d61632d73686131206220746f206121414243
K_SHA512_AB=0x$(printf '%02x' $(seq 64 127))              # 64 bytes
K_SHA512_BA=0x$(printf '%02x' $(seq 128 191))
K_CHACHA_AB=0x$(printf '%02x' $(seq 1 32))_0badc0de         # 32-byte key + 4-byte salt
K_CHACHA_BA=0x$(printf '%02x' $(seq 33 64))_0badc0df
strip() { echo "${1//_/}"; }

A4=192.0.2.1; B4=192.0.2.2; A6=2001:db8::1; B6=2001:db8::2

setup_ns() {
    ip netns add a
    ip netns add b
    for n in a b; do
        # no router solicitations (there is no router): fewer plain frames in the capture
        ip netns exec $n sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/router_solicitations'
        ip -n $n link set lo up
    done
    ip link add va netns a address 02:00:00:00:00:0a type veth peer name vb netns b address 02:00:00:00:00:0b
    ip -n a addr add $A4/24 dev va
    ip -n b addr add $B4/24 dev vb
    ip -n a addr add $A6/64 dev va nodad
    ip -n b addr add $B6/64 dev vb nodad
    ip -n a link set va up
    ip -n b link set vb up
    sleep 2   # link-local DAD, the first MLD reports
}

teardown_ns() {
    ip netns del a 2>/dev/null
    ip netns del b 2>/dev/null
    sleep 0.5
}

# state NS ARGS...: ip xfrm state add in one namespace
state() { local n=$1; shift; ip -n "$n" xfrm state add "$@" || log "FAILED: ip -n $n xfrm state add $*"; }
# both ARGS...: the same state in a and b
both() { state a "$@"; state b "$@"; }
# policies MODE PROTO A_SEL B_SEL A_OUT B_OUT REQID: a->b out in a / in in b, b->a out in b / in in a
policies() {
    local mode=$1 proto=$2 asel=$3 bsel=$4 aout=$5 bout=$6 reqid=$7
    ip -n a xfrm policy add src "$asel" dst "$bsel" dir out tmpl src "$aout" dst "$bout" proto "$proto" reqid "$reqid" mode "$mode"
    ip -n b xfrm policy add src "$asel" dst "$bsel" dir in  tmpl src "$aout" dst "$bout" proto "$proto" reqid "$reqid" mode "$mode"
    ip -n b xfrm policy add src "$bsel" dst "$asel" dir out tmpl src "$bout" dst "$aout" proto "$proto" reqid "$reqid" mode "$mode"
    ip -n a xfrm policy add src "$bsel" dst "$asel" dir in  tmpl src "$bout" dst "$aout" proto "$proto" reqid "$reqid" mode "$mode"
}

# traffic SRC DST: from a (SRC) to b (DST): 8 pings (6 x 56, 2 x 1000 bytes), 9 UDP datagrams of
# 0..1000 bytes (every ESP padding length), one TCP connection carrying 2000 bytes.
traffic() {
    local src=$1 dst=$2 d=$3
    ip netns exec a timeout 20 ping -n -c 6 -i 0.2 -W 2 -I "$src" "$dst" >> "$d/traffic.log" 2>&1
    ip netns exec a timeout 20 ping -n -c 2 -i 0.2 -W 2 -s 1000 -I "$src" "$dst" >> "$d/traffic.log" 2>&1
    ip netns exec b timeout 60 python3 /helper.py udprecv "$dst" 5001 9 40 >> "$d/traffic.log" 2>&1 &
    local urx=$!
    wait_listen b "$dst" 5001 udp
    ip netns exec a timeout 30 python3 /helper.py udpsend "$src" "$dst" 5001 0 1 13 14 15 16 17 100 1000 >> "$d/traffic.log" 2>&1
    wait $urx
    ip netns exec b timeout 60 python3 /helper.py tcpserve "$dst" 5002 40 >> "$d/traffic.log" 2>&1 &
    local trx=$!
    wait_listen b "$dst" 5002 tcp
    ip netns exec a timeout 30 python3 /helper.py tcpsend "$src" "$dst" 5002 2000 >> "$d/traffic.log" 2>&1
    wait $trx
}

# wait_listen NS ADDR PORT udp|tcp: until a socket listens there (ss is not in minbase: read /proc/net)
wait_listen() {
    local n=$1 port
    port=$(printf '%04X' "$3")
    for _ in $(seq 100); do
        if ip netns exec "$n" cat "/proc/net/$4" "/proc/net/${4}6" | awk '{print $2}' | grep -q ":$port\$"; then
            return
        fi
        sleep 0.1
    done
    log "no listener on $2 port $3 in $n"
}

# plain SRC DST: 2 pings no policy covers (outer addresses of a tunnel scenario): unprotected frames
plain() {
    ip netns exec a timeout 10 ping -n -c 2 -i 0.2 -W 2 -I "$1" "$2" >> "$3/traffic.log" 2>&1
}

run_scenario() {
    local name=$1 setup=$2 run=$3
    # ONLY (kernel command line ov2.only=NAME,NAME): run just those scenarios
    if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$name,"* ]]; then return; fi
    local d=$OUT/$name
    mkdir -p "$d"
    log "scenario $name"
    setup_ns
    $setup > "$d/setup.log" 2>&1
    # the receiver's SAs as `ip xfrm state` prints them, BEFORE any traffic (anti-replay context at its start)
    ip -n b xfrm state > "$d/sa.xfrm"
    ip -n a xfrm state > "$d/sender-sa.xfrm"
    { echo "## ip -n b xfrm policy"; ip -n b xfrm policy; echo "## ip -n a xfrm policy"; ip -n a xfrm policy; } > "$d/policies.txt"
    ip netns exec b cat /proc/net/xfrm_stat > "$d/xfrm_stat-before.txt"
    ip netns exec b timeout 60 tcpdump -i vb -Q in -U -n -s 0 -w "$d/frames.pcap" 2> "$d/tcpdump.log" &
    local cap=$!
    # the same link seen from the sender: what a put on the wire (the receiver's tap also shows each
    # tunnel-mode packet a second time, after decapsulation, when the kernel re-injects it on vb)
    ip netns exec a timeout 60 tcpdump -i va -Q out -U -n -s 0 -w "$d/sender-out.pcap" 2> "$d/tcpdump-a.log" &
    local cap_a=$!
    for _ in $(seq 50); do grep -q "listening on" "$d/tcpdump.log" && grep -q "listening on" "$d/tcpdump-a.log" && break; sleep 0.1; done
    sleep 0.3
    $run "$d" > /dev/null 2>&1
    sleep 1
    kill -INT $cap $cap_a; wait $cap $cap_a
    ip -n b -s xfrm state > "$d/state-after.txt"
    ip netns exec b cat /proc/net/xfrm_stat > "$d/xfrm_stat-after.txt"
    ip -n b -s link show vb > "$d/link-after.txt"
    ip netns exec b tcpdump -r "$d/frames.pcap" -n -v > "$d/frames.txt" 2>&1
    log "$name: $(grep -c . "$d/frames.txt") lines of tcpdump, $(cat $d/traffic.log | tr '\n' ' ')"
    teardown_ns
}

# ---- (a) ESP transport, rfc4106(gcm(aes)) 128-bit key, ICV 128, IPv4
setup_gcm128_transport_v4() {
    both src $A4 dst $B4 proto esp spi 0x1a000001 reqid 1 mode transport replay-window 32 \
        aead 'rfc4106(gcm(aes))' $(strip $K_GCM128_AB) 128
    both src $B4 dst $A4 proto esp spi 0x1a000002 reqid 1 mode transport replay-window 32 \
        aead 'rfc4106(gcm(aes))' $(strip $K_GCM128_BA) 128
    policies transport esp $A4/32 $B4/32 $A4 $B4 1
}
run_v4() { traffic $A4 $B4 "$1"; }

# ---- (b) ESP tunnel, cbc(aes) 128 + hmac(sha256) truncated to 128, IPv6 (inner 2001:db8:a::1 -> 2001:db8:b::2)
setup_cbc_sha256_tunnel_v6() {
    ip -n a addr add 2001:db8:a::1/128 dev lo
    ip -n b addr add 2001:db8:b::2/128 dev lo
    ip -n a -6 route add 2001:db8:b::2/128 via $B6 src 2001:db8:a::1
    ip -n b -6 route add 2001:db8:a::1/128 via $A6 src 2001:db8:b::2
    both src $A6 dst $B6 proto esp spi 0x1b000001 reqid 2 mode tunnel replay-window 32 \
        enc 'cbc(aes)' $K_AES128_AB auth-trunc 'hmac(sha256)' $K_SHA256_AB 128
    both src $B6 dst $A6 proto esp spi 0x1b000002 reqid 2 mode tunnel replay-window 32 \
        enc 'cbc(aes)' $K_AES128_BA auth-trunc 'hmac(sha256)' $K_SHA256_BA 128
    policies tunnel esp 2001:db8:a::1/128 2001:db8:b::2/128 $A6 $B6 2
}
run_tunnel_v6() { plain $A6 $B6 "$1"; traffic 2001:db8:a::1 2001:db8:b::2 "$1"; plain $A6 $B6 "$1"; }

# ---- (c) AH transport, hmac(sha1) (96-bit ICV), IPv4
setup_ah_sha1_transport_v4() {
    both src $A4 dst $B4 proto ah spi 0x1c000001 reqid 3 mode transport replay-window 32 \
        auth 'hmac(sha1)' $K_SHA1_AB
    both src $B4 dst $A4 proto ah spi 0x1c000002 reqid 3 mode transport replay-window 32 \
        auth 'hmac(sha1)' $K_SHA1_BA
    policies transport ah $A4/32 $B4/32 $A4 $B4 3
}

# ---- (d) ESP transport, cbc(aes) 128 + hmac(sha1) 96, extended sequence numbers, IPv4.
# Both directions start at ESN 0x1_00000100: every ICV covers seq_hi 1 (no wrap during the capture).
setup_cbc_sha1_esn_transport_v4() {
    local esn="replay-window 128 flag esn"
    state a src $A4 dst $B4 proto esp spi 0x1d000001 reqid 4 mode transport $esn replay-oseq-hi 1 replay-oseq 0x100 \
        enc 'cbc(aes)' $K_AES128_AB auth-trunc 'hmac(sha1)' $K_SHA1_AB 96
    state b src $A4 dst $B4 proto esp spi 0x1d000001 reqid 4 mode transport $esn replay-seq-hi 1 replay-seq 0x100 \
        enc 'cbc(aes)' $K_AES128_AB auth-trunc 'hmac(sha1)' $K_SHA1_AB 96
    state b src $B4 dst $A4 proto esp spi 0x1d000002 reqid 4 mode transport $esn replay-oseq-hi 1 replay-oseq 0x100 \
        enc 'cbc(aes)' $K_AES128_BA auth-trunc 'hmac(sha1)' $K_SHA1_BA 96
    state a src $B4 dst $A4 proto esp spi 0x1d000002 reqid 4 mode transport $esn replay-seq-hi 1 replay-seq 0x100 \
        enc 'cbc(aes)' $K_AES128_BA auth-trunc 'hmac(sha1)' $K_SHA1_BA 96
    policies transport esp $A4/32 $B4/32 $A4 $B4 4
}

# ---- (e) algorithms IPsecOV2 cannot name: rfc7539esp(chacha20,poly1305) on IPv4, cbc(aes) + hmac(sha512) on IPv6
setup_unnameable() {
    both src $A4 dst $B4 proto esp spi 0x1e000001 reqid 5 mode transport replay-window 32 \
        aead 'rfc7539esp(chacha20,poly1305)' $(strip $K_CHACHA_AB) 128
    both src $B4 dst $A4 proto esp spi 0x1e000002 reqid 5 mode transport replay-window 32 \
        aead 'rfc7539esp(chacha20,poly1305)' $(strip $K_CHACHA_BA) 128
    policies transport esp $A4/32 $B4/32 $A4 $B4 5
    both src $A6 dst $B6 proto esp spi 0x1e000003 reqid 6 mode transport replay-window 32 \
        enc 'cbc(aes)' $K_AES128_AB auth-trunc 'hmac(sha512)' $K_SHA512_AB 256
    both src $B6 dst $A6 proto esp spi 0x1e000004 reqid 6 mode transport replay-window 32 \
        enc 'cbc(aes)' $K_AES128_BA auth-trunc 'hmac(sha512)' $K_SHA512_BA 256
    policies transport esp $A6/128 $B6/128 $A6 $B6 6
}
run_v4_v6() { traffic $A4 $B4 "$1"; traffic $A6 $B6 "$1"; }

# ---- (f) ESP tunnel, rfc4106(gcm(aes)) 256-bit key, IPv4 (inner 198.51.100.1 -> 203.0.113.2)
setup_gcm256_tunnel_v4() {
    ip -n a addr add 198.51.100.1/32 dev lo
    ip -n b addr add 203.0.113.2/32 dev lo
    ip -n a route add 203.0.113.2/32 via $B4 src 198.51.100.1
    ip -n b route add 198.51.100.1/32 via $A4 src 203.0.113.2
    both src $A4 dst $B4 proto esp spi 0x1f000001 reqid 7 mode tunnel replay-window 32 \
        aead 'rfc4106(gcm(aes))' $(strip $K_GCM256_AB) 128
    both src $B4 dst $A4 proto esp spi 0x1f000002 reqid 7 mode tunnel replay-window 32 \
        aead 'rfc4106(gcm(aes))' $(strip $K_GCM256_BA) 128
    policies tunnel esp 198.51.100.1/32 203.0.113.2/32 $A4 $B4 7
}
run_tunnel_v4() { plain $A4 $B4 "$1"; traffic 198.51.100.1 203.0.113.2 "$1"; plain $A4 $B4 "$1"; }

# ---- (g) ESP in UDP (RFC 3948, port 4500), transport, rfc4106(gcm(aes)) 128, IPv4
setup_gcm128_udpencap_transport_v4() {
    both src $A4 dst $B4 proto esp spi 0x1a100001 reqid 8 mode transport replay-window 32 \
        aead 'rfc4106(gcm(aes))' $(strip $K_GCM128_AB) 128 encap espinudp 4500 4500 0.0.0.0
    both src $B4 dst $A4 proto esp spi 0x1a100002 reqid 8 mode transport replay-window 32 \
        aead 'rfc4106(gcm(aes))' $(strip $K_GCM128_BA) 128 encap espinudp 4500 4500 0.0.0.0
    policies transport esp $A4/32 $B4/32 $A4 $B4 8
}
run_udpencap_v4() {
    # the kernel hands ESP-in-UDP to xfrm only on a socket with UDP_ENCAP_ESPINUDP (what an IKE daemon holds)
    ip netns exec b timeout 30 python3 /helper.py encapsock 0.0.0.0 4500 20 >> "$1/traffic.log" 2>&1 &
    local eb=$!
    ip netns exec a timeout 30 python3 /helper.py encapsock 0.0.0.0 4500 20 >> "$1/traffic.log" 2>&1 &
    local ea=$!
    # the encapsulation handler takes a moment to be switched on (a first run lost the first pings,
    # XfrmInTmplMismatch): wait before sending
    sleep 3
    traffic $A4 $B4 "$1"
    kill $eb $ea 2>/dev/null; wait $eb $ea 2>/dev/null
}

{
    echo "uname: $(uname -a)"
    echo "kernel cmdline: $(cat /proc/cmdline)"
    echo "iproute2: $(ip -V)"
    echo "tcpdump: $(tcpdump --version 2>&1 | head -2 | tr '\n' ' ')"
    echo "python: $(python3 --version)"
    echo "debian: $(cat /etc/debian_version)"
} > "$OUT/guest.txt"

run_scenario linux_esp_gcm128_transport_v4        setup_gcm128_transport_v4        run_v4
run_scenario linux_esp_cbc_sha256_tunnel_v6       setup_cbc_sha256_tunnel_v6       run_tunnel_v6
run_scenario linux_ah_sha1_transport_v4           setup_ah_sha1_transport_v4       run_v4
run_scenario linux_esp_cbc_sha1_esn_transport_v4  setup_cbc_sha1_esn_transport_v4  run_v4
run_scenario linux_unnameable_chacha_sha512       setup_unnameable                 run_v4_v6
run_scenario linux_esp_gcm256_tunnel_v4           setup_gcm256_tunnel_v4           run_tunnel_v4
run_scenario linux_esp_gcm128_udpencap_transport_v4 setup_gcm128_udpencap_transport_v4 run_udpencap_v4

lsmod > "$OUT/lsmod.txt"
grep -E 'aes|gcm|sha|chacha|poly|authenc|cbc' /proc/crypto | grep -E '^(name|driver)' > "$OUT/crypto.txt"
log "done"
