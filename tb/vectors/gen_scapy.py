#!/usr/bin/python3
"""Generate an ov2sim scenario (frames.pcap, sa.json, expected.jsonl, README.md) from scapy-built frames.

    gen_scapy.py --out DIR [--suite default|full] [--list]

Layers 2-4 (Ethernet, ARP, IPv4/IPv6 with options and extension headers, UDP, TCP, ICMP) are built with
Debian's scapy; ESP and AH are built with tb/vectors/ipsec_ref.py (standard library + `cryptography`)
because scapy 2.5 cannot build several of them (docs/vectors.md lists its bugs and the workarounds).
selftest.py re-checks every frame with ipsec_ref and, where scapy can, with scapy's SecurityAssociation.

Everything is deterministic: each case draws its keys, IVs and payloads from a random.Random seeded
with the suite seed and the case name, and the pcap timestamps are fixed.
"""
import argparse
import os
import random
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import logging  # noqa: E402
logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, HBHOptUnknown, ICMPv6EchoRequest, IPOption,  # noqa: E402
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
                       PadN, Raw, RouterAlert, raw)

import ipsec_ref as ref  # noqa: E402
from ipsec_ref import Sa  # noqa: E402
from scenario import Scenario  # noqa: E402

SUITE_SEEDS = {'default': 0x0F2D_E0A1, 'full': 0x0F2D_F011}

# CryptoStatus (spec 1.2)
SUCCESS, GENERIC, T_AH, T_ESP, TU_AH, TU_ESP, SYNTAX, PROTO = range(8)

MAC_NIC, MAC_PEER = '02:00:5e:00:00:0a', '02:00:5e:00:00:14'
# Documentation ranges only (RFC 5737, RFC 3849). "local" is the receiver behind the modelled NIC.
ADDR = {
    4: {'local': '192.0.2.10', 'peer': '192.0.2.20', 'other': '192.0.2.99',
        'gw_local': '198.51.100.2', 'gw_peer': '198.51.100.1',
        'in_local': '203.0.113.10', 'in_peer': '203.0.113.20'},
    6: {'local': '2001:db8::10', 'peer': '2001:db8::20', 'other': '2001:db8::99',
        'gw_local': '2001:db8:ffff::2', 'gw_peer': '2001:db8:ffff::1',
        'in_local': '2001:db8:b::10', 'in_peer': '2001:db8:a::20'},
}

HMAC_KEY_BYTES = {'hmac-md5-96': 16, 'hmac-sha1-96': 20, 'hmac-sha256-128': 32, 'hmac-sha384-192': 48,
                  'hmac-sha512-256': 64, 'aes-xcbc-mac-96': 16, 'aes-gmac-128': 16, 'aes-gmac-192': 24,
                  'aes-gmac-256': 32, 'none': 0}


class Built:
    """A frame and what the NIC must expose in it."""

    def __init__(self, frame, dec_off=None, dec=None, nh=None, pad=None, ip=None):
        self.frame, self.dec_off, self.dec, self.nh, self.pad, self.ip = frame, dec_off, dec, nh, pad, ip


def flip(b, index, bit=0x01):
    b = bytearray(b)
    b[index] ^= bit
    return bytes(b)


class Gen:
    def __init__(self, scenario, suite):
        self.S = scenario
        self.suite_seed = SUITE_SEEDS[suite]
        self.full = suite == 'full'
        self.rng = random.Random(self.suite_seed)
        self.spi_rng = random.Random(self.suite_seed ^ 0x5A5A)
        self.spis = set()
        self.ipid = 0x100
        self.seqs = {}
        self.case_name = ''

    def start_case(self, name):
        self.case_name = name
        self.rng = random.Random(zlib.crc32(name.encode()) ^ self.suite_seed)

    # ---- random material ----
    def rb(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def new_spi(self):
        while True:
            spi = self.spi_rng.randrange(0x100, 0xFFFF_FFFF)
            if spi not in self.spis:
                self.spis.add(spi)
                return spi

    def sa(self, op, mode, enc='null', auth='none', icv_len=None, esn=False, seq_hi=0, spi=None):
        kw = {}
        if op == 'esp':
            kind, klen, _, _, slen = ref.ENCRYPTION[enc]
            kw.update(enc=enc, enc_key=self.rb(klen if klen is not None else 16), salt=self.rb(slen))
        if auth != 'none':
            kw.update(auth=auth, auth_key=self.rb(HMAC_KEY_BYTES[auth]))
            if ref.AUTHENTICATION[auth][0] == 'gmac':
                kw['auth_salt'] = self.rb(4)
        return Sa(op, spi if spi is not None else self.new_spi(), mode=mode, icv_len=icv_len, esn=esn,
                  seq_hi=seq_hi, **kw)

    def next_seq(self, sa):
        s = self.seqs.get(sa.spi, 0) + 1
        self.seqs[sa.spi] = s
        return s

    # ---- layers 2-4 (scapy) ----
    def l4(self, version, src, dst, kind='udp', size=None):
        """(L4 bytes with a correct checksum for src/dst, protocol number)."""
        size = self.rng.randrange(16, 120) if size is None else size
        data = self.rb(size)
        ipc = IP(src=src, dst=dst) if version == 4 else IPv6(src=src, dst=dst)
        if kind == 'udp':
            pkt = ipc / UDP(sport=self.rng.randrange(1024, 65535), dport=self.rng.choice([53, 123, 5001, 9000])) / Raw(data)
            proto = ref.IPPROTO_UDP
        elif kind == 'tcp':
            pkt = ipc / TCP(sport=self.rng.randrange(1024, 65535), dport=self.rng.choice([80, 443, 445]),
                            seq=self.rng.getrandbits(32), ack=self.rng.getrandbits(32), flags='PA', window=502) / Raw(data)
            proto = ref.IPPROTO_TCP
        elif kind == 'icmp':
            if version == 4:
                pkt = ipc / ICMP(type=8, id=self.rng.getrandbits(16), seq=1) / Raw(data)
                proto = ref.IPPROTO_ICMP
            else:
                pkt = ipc / ICMPv6EchoRequest(id=self.rng.getrandbits(16), seq=1, data=data)
                proto = ref.IPPROTO_ICMPV6
        else:
            raise ValueError(kind)
        b = raw(pkt)
        return b[20:] if version == 4 else b[40:], proto

    def inner_ip(self, version, kind='udp', size=None, src=None, dst=None):
        """A whole inner IP packet (tunnel mode payload) between the inner hosts."""
        src = src or ADDR[version]['in_peer']
        dst = dst or ADDR[version]['in_local']
        payload, proto = self.l4(version, src, dst, kind, size)
        ip, _ = self.ip(version, src, dst, proto, payload)
        return ip

    def ip(self, version, src, dst, proto, payload, options=None, ext=None, tos=0, ttl=64, flags=0, frag=0,
           ipid=None, tc=0, fl=0, hlim=64):
        """(IP packet bytes, header length including options / extension headers)."""
        if version == 4:
            if ipid is None:
                self.ipid = (self.ipid + 1) & 0xFFFF
                ipid = self.ipid
            h = IP(src=src, dst=dst, proto=proto, tos=tos, ttl=ttl, flags=flags, frag=frag, id=ipid)
            if options:
                h.options = [IPOption(options)]
            b = raw(h / Raw(payload))
        else:
            h = IPv6(src=src, dst=dst, tc=tc, fl=fl, hlim=hlim)
            layers = [x.copy() for x in (ext or [])]
            if layers:
                layers[-1].nh = proto  # before composing: `/` copies the layers
                for x in layers:
                    h = h / x
            else:
                h.nh = proto
            b = raw(h / Raw(payload))
        return b, len(b) - len(payload)

    @staticmethod
    def eth(ip_or_l2, ethertype=None):
        if ethertype is None:
            ethertype = 0x0800 if ip_or_l2[0] >> 4 == 4 else 0x86DD
        f = raw(Ether(dst=MAC_NIC, src=MAC_PEER, type=ethertype) / Raw(ip_or_l2))
        return f + b'\x00' * max(0, 60 - len(f))  # Ethernet minimum frame (FCS not captured)

    # ---- IPsec frames ----
    def esp_frame(self, sa, version, src, dst, payload, nh, seq=None, udp=False, ip_kw=None, esp_kw=None,
                  mutate=None):
        """IP | [UDP 4500] | ESP. mutate(esp_wire, esp_result) -> new esp wire (corruptions)."""
        seq = self.next_seq(sa) if seq is None else seq
        e = ref.esp_protect(sa, seq, payload, nh, self.rb(sa.iv_len), **(esp_kw or {}))
        wire = mutate(e.wire, e) if mutate else e.wire
        if udp:
            l4 = UDP(sport=4500, dport=4500, chksum=0 if version == 4 else None) / Raw(wire)
            if version == 6:
                l4 = IPv6(src=src, dst=dst) / l4
                l4 = raw(l4)[40:]
            else:
                l4 = raw(l4)
            ip, hl = self.ip(version, src, dst, ref.IPPROTO_UDP, l4, **(ip_kw or {}))
            hl += 8
        else:
            ip, hl = self.ip(version, src, dst, ref.IPPROTO_ESP, wire, **(ip_kw or {}))
        return Built(self.eth(ip), 14 + hl + e.ct_offset, payload, e.plaintext[-1], e.plaintext[-2], ip)

    def ah_frame(self, sa, version, src, dst, payload, nh, seq=None, ip_kw=None, esn_in_icv=True, after=None):
        """IP | AH | payload. after(ip_bytes, ah_offset) -> ip bytes changed after signing (en-route edits)."""
        seq = self.next_seq(sa) if seq is None else seq
        ah = ref.ah_header(sa, seq, nh, version, self.rb(sa.iv_len))
        ip, hl = self.ip(version, src, dst, ref.IPPROTO_AH, ah + payload, **(ip_kw or {}))
        ip = ref.ah_sign(sa, ip, hl, esn_in_icv=esn_in_icv)
        if after:
            ip = after(ip, hl)
        return Built(self.eth(ip), 14 + hl + len(ah), payload, None, None, ip)

    def bundle_frame(self, esp_sa, ah_sa, version, src, dst, payload, nh, seq=None, esp_mutate=None,
                     ah_mutate=None):
        """IP | AH | ESP | payload (AH+ESP bundle). esp_mutate runs before AH signs, ah_mutate after."""
        seq = self.next_seq(esp_sa) if seq is None else seq
        self.seqs[ah_sa.spi] = seq
        e = ref.esp_protect(esp_sa, seq, payload, nh, self.rb(esp_sa.iv_len))
        wire = esp_mutate(e.wire, e) if esp_mutate else e.wire
        ah = ref.ah_header(ah_sa, seq, ref.IPPROTO_ESP, version, self.rb(ah_sa.iv_len))
        ip, hl = self.ip(version, src, dst, ref.IPPROTO_AH, ah + wire)
        ip = ref.ah_sign(ah_sa, ip, hl)
        if ah_mutate:
            ip = ah_mutate(ip, hl)
        return Built(self.eth(ip), 14 + hl + len(ah) + e.ct_offset, payload, e.plaintext[-1], e.plaintext[-2], ip)

    # ---- expectations ----
    def exp_ok(self, b, case, sa_name, verdict='accepted', header_info=True, **kw):
        kw.setdefault('sa_delete_req', 0)
        self.S.add_frame(b.frame, case, crypto_done=1, crypto_status=SUCCESS, stack_verdict=verdict,
                         decrypted=b.dec, decrypted_offset=b.dec_off,
                         next_header=b.nh if header_info else None, pad_length=b.pad if header_info else None,
                         sa=sa_name, **kw)

    def exp_fail(self, b, case, sa_name, status, **kw):
        verdict = {T_AH: 'auth_failed', T_ESP: 'auth_failed', TU_AH: 'auth_failed', TU_ESP: 'auth_failed',
                   SYNTAX: 'bad_syntax', PROTO: 'invalid_protocol', GENERIC: 'auth_failed'}[status]
        kw.setdefault('sa_delete_req', 0)
        self.S.add_frame(b.frame, case, crypto_done=1, crypto_status=status, stack_verdict=verdict, sa=sa_name, **kw)

    def exp_none(self, frame, case, verdict='software_ipsec', **kw):
        kw.setdefault('sa_delete_req', 0)
        self.S.add_frame(frame.frame if isinstance(frame, Built) else frame, case, crypto_done=0,
                         crypto_status=SUCCESS, stack_verdict=verdict, **kw)

    # ---- common shapes ----
    def endpoints(self, version, mode):
        a = ADDR[version]
        return (a['gw_peer'], a['gw_local']) if mode == 'tunnel' else (a['peer'], a['local'])

    def payload_for(self, version, mode, kind='udp', size=None, inner_version=None):
        """(payload, next header) for ESP/AH in the given mode."""
        if mode == 'tunnel':
            iv = inner_version or version
            return self.inner_ip(iv, kind, size), (ref.IPPROTO_IPIP if iv == 4 else ref.IPPROTO_IPV6)
        src, dst = self.endpoints(version, mode)
        return self.l4(version, src, dst, kind, size)

    def install(self, name, sas, version, mode, **kw):
        src, dst = self.endpoints(version, mode)
        kw.setdefault('src', src)
        kw.setdefault('dst', dst)
        return self.S.add_sa(name, sas, **kw)

    def simple_esp(self, case, version, mode, enc, auth='none', icv_len=None, kind='udp', size=None,
                   inner_version=None, esn=False, seq_hi=0, count=1, udp=False, ip_kw=None, sa_name=None):
        """Install one ESP SA and send `count` good packets on it."""
        sa = self.sa('esp', mode, enc, auth, icv_len, esn=esn, seq_hi=seq_hi)
        name = sa_name or case
        self.install(name, [sa], version, mode,
                     udp_esp_encapsulation=('none' if not udp else mode))
        src, dst = self.endpoints(version, mode)
        for i in range(count):
            p, nh = self.payload_for(version, mode, kind, size, inner_version)
            b = self.esp_frame(sa, version, src, dst, p, nh, udp=udp, ip_kw=ip_kw)
            self.exp_ok(b, case if count == 1 else '%s #%d' % (case, i + 1), name)
        return sa, name

    def simple_ah(self, case, version, mode, auth, kind='udp', esn=False, seq_hi=0, ip_kw=None, after=None):
        sa = self.sa('ah', mode, auth=auth, esn=esn, seq_hi=seq_hi)
        self.install(case, [sa], version, mode)
        src, dst = self.endpoints(version, mode)
        p, nh = self.payload_for(version, mode, kind)
        b = self.ah_frame(sa, version, src, dst, p, nh, ip_kw=ip_kw, after=after)
        self.exp_ok(b, case, case, header_info=False)
        return sa, case


# ================================================================================================ cases ==
# Each case is a function of a Gen; CASES keeps them in order with the suites they belong to.

CASES = []


def case(*suites):
    def deco(fn):
        CASES.append((fn.__name__, suites, fn))
        return fn
    return deco


def v_name(version):
    return 'v4' if version == 4 else 'v6'


# ---- plain traffic ----

@case('default', 'full')
def plain_arp(g):
    a = ADDR[4]
    f = raw(Ether(dst='ff:ff:ff:ff:ff:ff', src=MAC_PEER) / ARP(op=1, hwsrc=MAC_PEER, psrc=a['peer'], pdst=a['local']))
    g.exp_none(f + b'\x00' * (60 - len(f)), 'ARP request (not IP)', verdict='not_ipsec')


@case('default', 'full')
def plain_ip(g):
    for version, kind in ((4, 'udp'), (4, 'tcp'), (6, 'udp')):
        a = ADDR[version]
        p, proto = g.l4(version, a['peer'], a['local'], kind)
        ip, _ = g.ip(version, a['peer'], a['local'], proto, p)
        g.exp_none(g.eth(ip), 'plain %s %s' % (kind.upper(), v_name(version)), verdict='not_ipsec')


@case('full')
def plain_ip_more(g):
    for version, kind in ((4, 'icmp'), (6, 'icmp'), (6, 'tcp')):
        a = ADDR[version]
        p, proto = g.l4(version, a['peer'], a['local'], kind)
        ip, _ = g.ip(version, a['peer'], a['local'], proto, p)
        g.exp_none(g.eth(ip), 'plain %s %s' % (kind.upper(), v_name(version)), verdict='not_ipsec')
    # UDP to the IKE port 500 and a UDP packet from port 4500 to another port (not ESP-in-UDP)
    a = ADDR[4]
    ike = b'\x11' * 8 + b'\x00' * 8 + b'\x21\x20\x22\x08' + b'\x00' * 4 + struct.pack('!I', 28)
    ip, _ = g.ip(4, a['peer'], a['local'], ref.IPPROTO_UDP, raw(UDP(sport=500, dport=500) / Raw(ike)))
    g.exp_none(g.eth(ip), 'IKE on UDP 500', verdict='not_ipsec')


# ---- ESP: the algorithm matrix ----

ESP_ALGOS_DEFAULT = [
    # (version, mode, enc, auth, icv_len)
    (4, 'tunnel', 'aes-gcm-256', 'none', 16),
    (6, 'transport', 'aes-gcm-128', 'none', 16),
    (6, 'tunnel', 'aes-gcm-192', 'none', 16),
    (4, 'transport', 'aes-cbc-128', 'hmac-sha1-96', None),
    (4, 'tunnel', 'aes-cbc-256', 'hmac-sha256-128', None),
    (4, 'transport', '3des-cbc', 'hmac-sha1-96', None),
    (4, 'transport', 'des-cbc', 'hmac-md5-96', None),
    (6, 'transport', 'null', 'hmac-sha256-128', None),
    (4, 'transport', 'null', 'aes-gmac-128', None),
]

ESP_ALGOS_FULL = (
    [('aes-gcm-%d' % k, 'none', 16) for k in (128, 192, 256)]
    + [('aes-gcm-128', 'none', 8), ('aes-gcm-128', 'none', 12), ('aes-gcm-256', 'none', 8),
       ('aes-gcm-192', 'none', 12)]
    + [('null', 'aes-gmac-%d' % k, None) for k in (128, 192, 256)]
    + [('aes-cbc-%d' % k, a, None) for k in (128, 192, 256) for a in ('hmac-md5-96', 'hmac-sha1-96', 'hmac-sha256-128')]
    + [(e, a, None) for e in ('3des-cbc', 'des-cbc', 'null') for a in ('hmac-md5-96', 'hmac-sha1-96', 'hmac-sha256-128')]
    + [('aes-cbc-128', 'none', None)]
)


def short(enc, auth, icv):
    s = enc.replace('aes-', '').replace('-cbc', '')
    if auth != 'none':
        s += '/' + auth.replace('hmac-', '')
    if icv and icv != 16:
        s += ' icv%d' % icv
    return s


@case('default')
def esp_matrix_default(g):
    kinds = ['udp', 'tcp', 'icmp']
    for i, (version, mode, enc, auth, icv) in enumerate(ESP_ALGOS_DEFAULT):
        g.simple_esp('ESP %s %s %s' % (short(enc, auth, icv), mode, v_name(version)), version, mode, enc, auth, icv,
                     kind=kinds[i % 3])


@case('full')
def esp_matrix_full(g):
    kinds = ['udp', 'tcp', 'icmp']
    n = 0
    for version in (4, 6):
        for mode in ('transport', 'tunnel'):
            for enc, auth, icv in ESP_ALGOS_FULL:
                g.simple_esp('ESP %s %s %s' % (short(enc, auth, icv), mode, v_name(version)), version, mode, enc,
                             auth, icv, kind=kinds[n % 3])
                n += 1


@case('full')
def esp_tunnel_cross_family(g):
    for outer, inner, enc, auth in ((4, 6, 'aes-gcm-128', 'none'), (6, 4, 'aes-gcm-256', 'none'),
                                    (4, 6, 'aes-cbc-128', 'hmac-sha256-128'), (6, 4, 'null', 'hmac-sha1-96')):
        g.simple_esp('ESP %s tunnel %s-in-%s' % (short(enc, auth, 16), v_name(inner), v_name(outer)), outer, 'tunnel',
                     enc, auth, inner_version=inner)


@case('full')
def esp_sizes(g):
    # a full-size 1500-byte IP packet, and a tiny one whose frame needs Ethernet padding
    g.simple_esp('ESP gcm-256 tunnel v4, 1500-byte outer packet', 4, 'tunnel', 'aes-gcm-256', size=1500 - 20 - 8 - 8 - 2 - 16 - 20 - 8 - 2)
    sa = g.sa('esp', 'transport', 'null', 'hmac-sha1-96')
    name = 'ESP null/sha1 tiny (Ethernet padding)'
    g.install(name, [sa], 4, 'transport')
    src, dst = g.endpoints(4, 'transport')
    b = g.esp_frame(sa, 4, src, dst, b'\x00\x01', ref.IPPROTO_UDP)
    assert len(b.ip) + 14 < 60
    g.exp_ok(b, name, name)
    g.simple_esp('ESP gcm-128 transport v4, empty UDP payload', 4, 'transport', 'aes-gcm-128', size=0)


# ---- ESP in one SA: sequence numbers and anti-replay ----

@case('default')
def esp_gcm_transport_replay(g):
    sa = g.sa('esp', 'transport', 'aes-gcm-128')
    name = 'esp-gcm128-tpt-v4'
    g.install(name, [sa], 4, 'transport')
    src, dst = g.endpoints(4, 'transport')
    for seq, what in ((1, 'ok'), (2, 'ok'), (2, 'replay'), (3, 'ok')):
        p, nh = g.payload_for(4, 'transport', 'udp')
        b = g.esp_frame(sa, 4, src, dst, p, nh, seq=seq)
        if what == 'ok':
            g.exp_ok(b, 'ESP gcm-128 transport v4 seq %d' % seq, name)
        else:
            g.exp_ok(b, 'ESP gcm-128 transport v4 seq %d again: replay' % seq, name, verdict='replay')
    # corrupted ICV on the same SA: the NIC reports it, the transport drops it
    p, nh = g.payload_for(4, 'transport', 'udp')
    b = g.esp_frame(sa, 4, src, dst, p, nh, seq=4, mutate=lambda w, e: flip(w, len(w) - 1))
    g.exp_fail(b, 'ESP gcm-128 transport v4: ICV bit flipped', name, T_ESP)


@case('full')
def esp_replay_window(g):
    sa = g.sa('esp', 'transport', 'aes-gcm-128')
    name = 'replay-window-64'
    g.install(name, [sa], 4, 'transport', replay_window=64)
    src, dst = g.endpoints(4, 'transport')
    for seq, verdict, why in ((1, 'accepted', ''), (2, 'accepted', ''), (2, 'replay', 'duplicate'),
                              (100, 'accepted', 'window moves to 100'), (30, 'replay', 'left of the window'),
                              (90, 'accepted', 'inside the window, not seen'), (90, 'replay', 'duplicate'),
                              (101, 'accepted', '')):
        p, nh = g.payload_for(4, 'transport', 'tcp')
        b = g.esp_frame(sa, 4, src, dst, p, nh, seq=seq)
        g.exp_ok(b, 'replay window 64: seq %d %s' % (seq, why or verdict), name, verdict=verdict)
    # a failed packet must not move the window: seq 150 with a bad ICV, then seq 150 good
    p, nh = g.payload_for(4, 'transport', 'udp')
    b = g.esp_frame(sa, 4, src, dst, p, nh, seq=150, mutate=lambda w, e: flip(w, len(w) - 3, 0x80))
    g.exp_fail(b, 'replay window: seq 150 with a bad ICV', name, T_ESP)
    b = g.esp_frame(sa, 4, src, dst, p, nh, seq=150)
    g.exp_ok(b, 'replay window: seq 150 good after the failed copy', name)

    # initial replay_seq from sa.json
    sa2 = g.sa('esp', 'transport', 'aes-cbc-128', 'hmac-sha256-128')
    name2 = 'replay-seq-1000'
    g.install(name2, [sa2], 4, 'transport', replay_window=32, replay_seq=1000)
    for seq, verdict in ((900, 'replay'), (1001, 'accepted'), (990, 'accepted'), (990, 'replay')):
        p, nh = g.payload_for(4, 'transport', 'udp')
        b = g.esp_frame(sa2, 4, src, dst, p, nh, seq=seq)
        g.exp_ok(b, 'replay_seq 1000 window 32: seq %d' % seq, name2, verdict=verdict)

    # replay_window 0: no replay check at all
    sa3 = g.sa('esp', 'transport', 'aes-gcm-256')
    name3 = 'replay-window-0'
    g.install(name3, [sa3], 6, 'transport', replay_window=0)
    s6, d6 = g.endpoints(6, 'transport')
    p, nh = g.payload_for(6, 'transport', 'udp')
    for i in range(2):
        b = g.esp_frame(sa3, 6, s6, d6, p, nh, seq=7)
        g.exp_ok(b, 'replay_window 0: seq 7 #%d accepted' % (i + 1), name3)


# ---- AH ----

@case('default')
def ah_default(g):
    g.simple_ah('AH sha1 transport v4', 4, 'transport', 'hmac-sha1-96', kind='tcp')
    g.simple_ah('AH sha256 transport v6', 6, 'transport', 'hmac-sha256-128', kind='icmp')
    g.simple_ah('AH md5 tunnel v4', 4, 'tunnel', 'hmac-md5-96')
    g.simple_ah('AH gmac-128 transport v4', 4, 'transport', 'aes-gmac-128')


@case('full')
def ah_matrix(g):
    kinds = ['udp', 'tcp', 'icmp']
    n = 0
    for version in (4, 6):
        for mode in ('transport', 'tunnel'):
            for auth in ('hmac-md5-96', 'hmac-sha1-96', 'hmac-sha256-128', 'aes-gmac-128', 'aes-gmac-192',
                         'aes-gmac-256'):
                g.simple_ah('AH %s %s %s' % (auth.replace('hmac-', ''), mode, v_name(version)), version, mode, auth,
                            kind=kinds[n % 3])
                n += 1


def _reroute_v4(ip, hl):
    """What routers may change under AH: TOS/DSCP, DF, TTL (and so the checksum)."""
    p = bytearray(ip)
    p[1] = 0x28
    p[6] |= 0x40
    p[8] = 41
    return ref.ipv4_fix(bytes(p[:hl]), len(p)) + bytes(p[hl:])


def _reroute_v6(ip, hl):
    p = bytearray(ip)
    p[0:4] = bytes([0x62, 0x81, 0x23, 0x45])  # traffic class 0x28, flow label 0x12345
    p[7] = 17
    return bytes(p)


@case('full')
def ah_mutable_fields(g):
    for version, fix in ((4, _reroute_v4), (6, _reroute_v6)):
        g.simple_ah('AH sha256 transport %s: TOS/TTL/flow label changed en route (still good)' % v_name(version),
                    version, 'transport', 'hmac-sha256-128', after=fix)
    g.simple_ah('AH gmac-128 tunnel v4: TOS/DF/TTL changed en route (still good)', 4, 'tunnel', 'aes-gmac-128',
                after=_reroute_v4)
    # an immutable field (the IPv4 ID) changed en route: AH must fail
    sa = g.sa('ah', 'transport', auth='hmac-sha1-96')
    name = 'AH sha1 transport v4: IP ID changed'
    g.install(name, [sa], 4, 'transport')
    src, dst = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport')

    def change_id(ip, hl):
        q = bytearray(ip)
        q[4] ^= 0x01
        return ref.ipv4_fix(bytes(q[:hl]), len(q)) + bytes(q[hl:])
    b = g.ah_frame(sa, 4, src, dst, p, nh, after=change_id)
    g.exp_fail(b, name, name, T_AH)


# ---- AH+ESP bundles (one SA entry, two sec_assoc: ESP first, then AH) ----

def _bundle(g, version, mode, enc, esp_auth, ah_auth, name, icv_len=None):
    esp = g.sa('esp', mode, enc, esp_auth, icv_len)
    ah = g.sa('ah', mode, auth=ah_auth)
    g.install(name, [esp, ah], version, mode)
    return esp, ah


@case('default')
def bundle_default(g):
    name = 'AH sha256 + ESP aes-cbc-128/sha1 bundle transport v4'
    esp, ah = _bundle(g, 4, 'transport', 'aes-cbc-128', 'hmac-sha1-96', 'hmac-sha256-128', name)
    src, dst = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport', 'tcp')
    g.exp_ok(g.bundle_frame(esp, ah, 4, src, dst, p, nh), name, name)


@case('full')
def bundle_full(g):
    for version, mode, enc, esp_auth, ah_auth in (
            (4, 'transport', 'aes-gcm-128', 'none', 'hmac-sha1-96'),
            (6, 'transport', 'aes-cbc-256', 'hmac-sha256-128', 'hmac-sha256-128'),
            (4, 'tunnel', '3des-cbc', 'hmac-md5-96', 'hmac-md5-96'),
            (6, 'tunnel', 'aes-gcm-256', 'none', 'aes-gmac-128'),
            (4, 'transport', 'null', 'aes-gmac-128', 'hmac-sha256-128')):
        name = 'bundle AH %s + ESP %s %s %s' % (ah_auth.replace('hmac-', ''), short(enc, esp_auth, 16), mode,
                                               v_name(version))
        esp, ah = _bundle(g, version, mode, enc, esp_auth, ah_auth, name)
        src, dst = g.endpoints(version, mode)
        p, nh = g.payload_for(version, mode, 'udp')
        g.exp_ok(g.bundle_frame(esp, ah, version, src, dst, p, nh), name, name)
        # AH ICV bad
        p, nh = g.payload_for(version, mode, 'udp')
        b = g.bundle_frame(esp, ah, version, src, dst, p, nh,
                           ah_mutate=lambda ip, hl: flip(ip, hl + 12 + ah.iv_len))
        g.exp_fail(b, name + ': AH ICV bad', name, T_AH if mode == 'transport' else TU_AH)
        # ESP ICV bad, AH computed over the bad ESP (so AH passes)
        p, nh = g.payload_for(version, mode, 'udp')
        b = g.bundle_frame(esp, ah, version, src, dst, p, nh, esp_mutate=lambda w, e: flip(w, len(w) - 1))
        g.exp_fail(b, name + ': ESP ICV bad, AH good', name, T_ESP if mode == 'transport' else TU_ESP)


# ---- transport inside tunnel (two SAs, NextCryptoDone) ----

def _nested(g, version, t_enc, t_auth, i_enc, i_auth, name, outer_udp=False, inner_udp=False, install_inner=True,
            outer_mutate=None, inner_mutate=None, encap='none'):
    a = ADDR[version]
    tun = g.sa('esp', 'tunnel', t_enc, t_auth)
    tpt = g.sa('esp', 'transport', i_enc, i_auth)
    g.S.add_sa(name + ' [tunnel SA]', [tun], src=a['gw_peer'], dst=a['gw_local'], udp_esp_encapsulation=encap)
    if install_inner:
        g.S.add_sa(name + ' [transport SA]', [tpt], src=a['in_peer'], dst=a['in_local'], udp_esp_encapsulation=encap)
    # inner: in_peer -> in_local, ESP transport (optionally in UDP 4500)
    l4, proto = g.l4(version, a['in_peer'], a['in_local'], 'tcp')
    seq_i = g.next_seq(tpt)
    ie = ref.esp_protect(tpt, seq_i, l4, proto, g.rb(tpt.iv_len))
    iwire = inner_mutate(ie.wire, ie) if inner_mutate else ie.wire
    if inner_udp:
        seg = raw(UDP(sport=4500, dport=4500, chksum=0) / Raw(iwire)) if version == 4 else \
            raw(IPv6(src=a['in_peer'], dst=a['in_local']) / UDP(sport=4500, dport=4500) / Raw(iwire))[40:]
        inner, ihl = g.ip(version, a['in_peer'], a['in_local'], ref.IPPROTO_UDP, seg)
        ihl += 8
    else:
        inner, ihl = g.ip(version, a['in_peer'], a['in_local'], ref.IPPROTO_ESP, iwire)
    b = g.esp_frame(tun, version, a['gw_peer'], a['gw_local'], inner,
                    ref.IPPROTO_IPIP if version == 4 else ref.IPPROTO_IPV6, udp=outer_udp, mutate=outer_mutate)
    # the NIC exposes the inner IP header, the inner ESP header + IV and the inner payload decrypted
    # (without the inner SA only the tunnel portion is decrypted: the inner packet as sent)
    b.dec = inner[:ihl + ie.ct_offset] + l4 if install_inner else inner
    return b, tun, tpt


@case('default')
def nested_default(g):
    name = 'transport-over-tunnel v4 (ESP gcm-128 tunnel, ESP cbc-128/sha1 transport)'
    b, _, _ = _nested(g, 4, 'aes-gcm-128', 'none', 'aes-cbc-128', 'hmac-sha1-96', name)
    g.exp_ok(b, name, name + ' [tunnel SA]', next_crypto_done=1, header_info=False)


@case('full')
def nested_full(g):
    name = 'transport-over-tunnel v6 (ESP gcm-256 tunnel, ESP gcm-128 transport)'
    b, _, _ = _nested(g, 6, 'aes-gcm-256', 'none', 'aes-gcm-128', 'none', name)
    g.exp_ok(b, name, name + ' [tunnel SA]', next_crypto_done=1, header_info=False)
    name = 'transport-over-tunnel v4: tunnel ICV bad'
    b, _, _ = _nested(g, 4, 'aes-cbc-256', 'hmac-sha256-128', 'aes-gcm-128', 'none', name,
                      outer_mutate=lambda w, e: flip(w, len(w) - 1))
    g.exp_fail(b, name, name + ' [tunnel SA]', TU_ESP)
    name = 'transport-over-tunnel v4: transport ICV bad'
    b, _, _ = _nested(g, 4, 'aes-gcm-128', 'none', 'aes-cbc-128', 'hmac-sha1-96', name,
                      inner_mutate=lambda w, e: flip(w, len(w) - 1))
    g.exp_fail(b, name, name + ' [tunnel SA]', T_ESP, next_crypto_done=1)
    name = 'transport-over-tunnel v4: no transport SA (inner left to software)'
    b, _, _ = _nested(g, 4, 'aes-gcm-128', 'none', 'aes-gcm-128', 'none', name, install_inner=False)
    # only the tunnel portion was checked: CryptoDone 1, NextCryptoDone 0; the stack does the inner ESP
    g.S.add_frame(b.frame, name, crypto_done=1, next_crypto_done=0, crypto_status=SUCCESS,
                  stack_verdict='software_ipsec', decrypted=b.dec, decrypted_offset=b.dec_off,
                  sa=name + ' [tunnel SA]', sa_delete_req=0)
    name = 'transport over UDP-ESP tunnel v4 (UdpEspEncapsulation transport_over_udp_esp_tunnel)'
    b, _, _ = _nested(g, 4, 'aes-gcm-128', 'none', 'aes-gcm-256', 'none', name, outer_udp=True,
                      encap='transport_over_udp_esp_tunnel')
    g.exp_ok(b, name, name + ' [tunnel SA]', next_crypto_done=1, header_info=False)
    name = 'UDP-ESP transport over tunnel v4 (UdpEspEncapsulation udp_esp_transport_over_tunnel)'
    b, _, _ = _nested(g, 4, 'aes-gcm-256', 'none', 'aes-gcm-128', 'none', name, inner_udp=True,
                      encap='udp_esp_transport_over_tunnel')
    g.exp_ok(b, name, name + ' [tunnel SA]', next_crypto_done=1, header_info=False)


# ---- UDP-encapsulated ESP (RFC 3948) and the other things on port 4500 ----

@case('default', 'full')
def udp_esp(g):
    g.simple_esp('UDP-ESP gcm-128 transport v4 (port 4500)', 4, 'transport', 'aes-gcm-128', udp=True)
    a = ADDR[4]
    ike = b'\x00\x00\x00\x00' + b'\x5a' * 8 + b'\x00' * 8 + b'\x2e\x20\x23\x08' + b'\x00' * 4 + struct.pack('!I', 76)
    ip, _ = g.ip(4, a['peer'], a['local'], ref.IPPROTO_UDP, raw(UDP(sport=4500, dport=4500) / Raw(ike + g.rb(48))))
    g.exp_none(g.eth(ip), 'IKE on UDP 4500 (non-ESP marker)', verdict='not_ipsec')
    ip, _ = g.ip(4, a['peer'], a['local'], ref.IPPROTO_UDP, raw(UDP(sport=4500, dport=4500) / Raw(b'\xff')))
    g.exp_none(g.eth(ip), 'NAT keepalive on UDP 4500 (0xFF)', verdict='not_ipsec')


@case('full')
def udp_esp_full(g):
    g.simple_esp('UDP-ESP cbc-128/sha256 tunnel v4', 4, 'tunnel', 'aes-cbc-128', 'hmac-sha256-128', udp=True)
    g.simple_esp('UDP-ESP gcm-256 transport v6', 6, 'transport', 'aes-gcm-256', udp=True)
    g.simple_esp('UDP-ESP null/sha1 tunnel v6', 6, 'tunnel', 'null', 'hmac-sha1-96', udp=True)
    a = ADDR[6]
    ike = b'\x00\x00\x00\x00' + b'\x3c' * 8 + b'\x00' * 8 + b'\x2e\x20\x23\x08' + b'\x00' * 4 + struct.pack('!I', 28)
    seg = raw(IPv6(src=a['peer'], dst=a['local']) / UDP(sport=4500, dport=4500) / Raw(ike))[40:]
    ip, _ = g.ip(6, a['peer'], a['local'], ref.IPPROTO_UDP, seg)
    g.exp_none(g.eth(ip), 'IKE on UDP 4500 v6 (non-ESP marker)', verdict='not_ipsec')
    # ESP in UDP with an SPI nobody installed
    sa = g.sa('esp', 'transport', 'aes-gcm-128')
    src, dst = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport')
    g.exp_none(g.esp_frame(sa, 4, src, dst, p, nh, udp=True), 'UDP-ESP with an unknown SPI')


# ---- negatives: ICV, lookups, protocol, syntax ----

@case('default')
def icv_default(g):
    src, dst = g.endpoints(4, 'tunnel')
    sa = g.sa('esp', 'tunnel', 'aes-cbc-128', 'hmac-sha256-128')
    name = 'ESP cbc-128/sha256 tunnel v4 ICV bad'
    g.install(name, [sa], 4, 'tunnel')
    p, nh = g.payload_for(4, 'tunnel')
    g.exp_fail(g.esp_frame(sa, 4, src, dst, p, nh, mutate=lambda w, e: flip(w, len(w) - 5)), name, name, TU_ESP)
    for mode, status in (('transport', T_AH), ('tunnel', TU_AH)):
        sa = g.sa('ah', mode, auth='hmac-sha1-96')
        name = 'AH sha1 %s v4 ICV bad' % mode
        g.install(name, [sa], 4, mode)
        s, d = g.endpoints(4, mode)
        p, nh = g.payload_for(4, mode)
        g.exp_fail(g.ah_frame(sa, 4, s, d, p, nh, after=lambda ip, hl: flip(ip, hl + 12)), name, name, status)


@case('full')
def icv_full(g):
    for version, mode, enc, auth, icv, where in (
            (4, 'transport', 'aes-gcm-128', 'none', 16, 'icv'),
            (6, 'tunnel', 'aes-gcm-128', 'none', 8, 'icv'),
            (6, 'transport', 'aes-gcm-256', 'none', 12, 'icv'),
            (4, 'tunnel', 'aes-gcm-192', 'none', 16, 'ct'),
            (4, 'transport', 'null', 'aes-gmac-128', None, 'icv'),
            (6, 'tunnel', 'null', 'aes-gmac-256', None, 'ct'),
            (4, 'tunnel', 'aes-cbc-128', 'hmac-sha1-96', None, 'icv'),
            (6, 'transport', 'aes-cbc-192', 'hmac-md5-96', None, 'icv'),
            (4, 'transport', '3des-cbc', 'hmac-sha256-128', None, 'ct'),
            (6, 'tunnel', 'null', 'hmac-sha256-128', None, 'icv'),
            (4, 'transport', 'aes-cbc-256', 'hmac-sha256-128', None, 'iv'),
            (4, 'transport', 'aes-gcm-128', 'none', 16, 'seq'),
            (4, 'transport', 'aes-gcm-128', 'none', 16, 'trunc')):
        sa = g.sa('esp', mode, enc, auth, icv)
        what = {'icv': 'ICV bit flipped', 'ct': 'ciphertext bit flipped', 'iv': 'IV bit flipped',
                'seq': 'sequence number changed', 'trunc': 'ICV cut by 4 bytes'}[where]
        name = 'ESP %s %s %s: %s' % (short(enc, auth, icv), mode, v_name(version), what)
        g.install(name, [sa], version, mode)
        s, d = g.endpoints(version, mode)
        p, nh = g.payload_for(version, mode, 'udp', size=64)

        def mut(w, e, where=where):
            if where == 'icv':
                return flip(w, len(w) - 1, 0x10)
            if where == 'ct':
                return flip(w, e.ct_offset + 3, 0x04)
            if where == 'iv':
                return flip(w, 8, 0x01)
            if where == 'seq':
                return flip(w, 7, 0x02)
            return w[:-4]
        g.exp_fail(g.esp_frame(sa, version, s, d, p, nh, mutate=mut), name, name,
                   T_ESP if mode == 'transport' else TU_ESP)
    for version, mode, auth in ((4, 'transport', 'hmac-sha1-96'), (6, 'tunnel', 'hmac-sha256-128'),
                                (6, 'transport', 'aes-gmac-128'), (4, 'tunnel', 'hmac-md5-96'),
                                (4, 'transport', 'aes-gmac-256')):
        for where in ('ICV', 'payload'):
            sa = g.sa('ah', mode, auth=auth)
            name = 'AH %s %s %s: %s bit flipped' % (auth.replace('hmac-', ''), mode, v_name(version), where)
            g.install(name, [sa], version, mode)
            s, d = g.endpoints(version, mode)
            p, nh = g.payload_for(version, mode, 'tcp')
            if where == 'ICV':
                off = lambda hl, sa=sa: hl + 12 + sa.iv_len
            else:
                off = lambda hl, sa=sa: hl + ref.ah_length(sa, version) + 5
            b = g.ah_frame(sa, version, s, d, p, nh, after=lambda ip, hl, off=off: flip(ip, off(hl)))
            g.exp_fail(b, name, name, T_AH if mode == 'transport' else TU_AH)


@case('default', 'full')
def lookup_misses(g):
    for version in (4, 6) if g.full else (4,):
        sa = g.sa('esp', 'transport', 'aes-gcm-128')
        name = 'lookup-%s' % v_name(version)
        g.install(name, [sa], version, 'transport')
        s, d = g.endpoints(version, 'transport')
        p, nh = g.payload_for(version, 'transport')
        g.exp_ok(g.esp_frame(sa, version, s, d, p, nh), 'ESP gcm-128 transport %s (lookup reference)' % v_name(version), name)
        # unknown SPI: same keys, SPI nobody installed
        other = Sa('esp', g.new_spi(), mode='transport', enc='aes-gcm-128', enc_key=sa.enc_key, salt=sa.salt)
        p, nh = g.payload_for(version, 'transport')
        g.exp_none(g.esp_frame(other, version, s, d, p, nh), 'ESP %s: unknown SPI' % v_name(version))
        # right SPI, wrong destination
        p, nh = g.l4(version, s, ADDR[version]['other'])
        g.exp_none(g.esp_frame(sa, version, s, ADDR[version]['other'], p, nh),
                   'ESP %s: installed SPI, other destination' % v_name(version))


@case('full')
def lookup_more(g):
    # an outbound SA never matches a received packet
    sa = g.sa('esp', 'transport', 'aes-gcm-128')
    name = 'outbound-only'
    g.install(name, [sa], 4, 'transport', direction='outbound')
    s, d = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport')
    g.exp_none(g.esp_frame(sa, 4, s, d, p, nh), 'ESP whose SPI/dst only has an outbound SA')
    # wildcard endpoints: matches any destination
    sa = g.sa('esp', 'transport', 'aes-gcm-128')
    name = 'wildcard-v4'
    g.S.add_sa(name, [sa], ip_version=4)
    s, d = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport')
    g.exp_ok(g.esp_frame(sa, 4, s, d, p, nh), 'ESP gcm-128 to an SA with wildcard addresses (v4)', name)
    p, nh = g.l4(4, s, ADDR[4]['other'])
    g.exp_ok(g.esp_frame(sa, 4, s, ADDR[4]['other'], p, nh),
             'ESP gcm-128 to an SA with wildcard addresses, another destination', name)
    sa = g.sa('esp', 'tunnel', 'aes-cbc-128', 'hmac-sha1-96')
    name = 'wildcard-dst-v6'
    g.S.add_sa(name, [sa], src=ADDR[6]['gw_peer'])
    s, d = g.endpoints(6, 'tunnel')
    p, nh = g.payload_for(6, 'tunnel')
    g.exp_ok(g.esp_frame(sa, 6, s, d, p, nh), 'ESP cbc-128/sha1 tunnel v6 to an SA with a wildcard destination', name)


@case('default', 'full')
def protocol_mismatch(g):
    s, d = g.endpoints(4, 'transport')
    # AH SA, ESP packet with the same SPI and destination
    ah = g.sa('ah', 'transport', auth='hmac-sha256-128')
    name = 'AH SA, ESP packet'
    g.install(name, [ah], 4, 'transport')
    esp = Sa('esp', ah.spi, mode='transport', enc='aes-gcm-128', enc_key=g.rb(16), salt=g.rb(4))
    p, nh = g.payload_for(4, 'transport')
    g.exp_fail(g.esp_frame(esp, 4, s, d, p, nh), 'ESP packet on an AH SA (same SPI/dst)', name, PROTO)
    if not g.full:
        return
    # ESP SA, AH packet
    esp = g.sa('esp', 'transport', 'aes-gcm-128')
    name = 'ESP SA, AH packet'
    g.install(name, [esp], 4, 'transport')
    ah = Sa('ah', esp.spi, mode='transport', auth='hmac-sha1-96', auth_key=g.rb(20))
    p, nh = g.payload_for(4, 'transport')
    g.exp_fail(g.ah_frame(ah, 4, s, d, p, nh), 'AH packet on an ESP SA (same SPI/dst)', name, PROTO)
    # AH+ESP bundle SA, ESP-only packet (spec 1.2: "the SA says AH but the packet has only ESP")
    name = 'bundle SA, ESP-only packet'
    esp, ah = _bundle(g, 4, 'transport', 'aes-gcm-128', 'none', 'hmac-sha1-96', name)
    p, nh = g.payload_for(4, 'transport')
    g.exp_fail(g.esp_frame(esp, 4, s, d, p, nh), 'ESP-only packet on an AH+ESP bundle SA', name, PROTO)
    name = 'bundle SA, AH-only packet'
    esp, ah = _bundle(g, 4, 'transport', 'aes-gcm-128', 'none', 'hmac-sha1-96', name)
    p, nh = g.payload_for(4, 'transport')
    g.exp_fail(g.ah_frame(ah, 4, s, d, p, nh), 'AH-only packet (no ESP inside) on an AH+ESP bundle SA', name, PROTO)


def _syntax_case(g, version, mode, enc, auth, name, esp_kw=None, mutate=None, size=40):
    sa = g.sa('esp', mode, enc, auth)
    g.install(name, [sa], version, mode)
    s, d = g.endpoints(version, mode)
    p, nh = g.payload_for(version, mode, 'udp', size=size)
    g.exp_fail(g.esp_frame(sa, version, s, d, p, nh, esp_kw=esp_kw, mutate=mutate), name, name, SYNTAX)
    return sa


def _resign(sa, wire_no_icv):
    """Append a valid ICV (non-AEAD SAs) to an ESP packet cut by hand."""
    return wire_no_icv + ref.mac(sa.auth, sa.auth_key, wire_no_icv + (struct.pack('!I', sa.seq_hi) if sa.esn else b''))


@case('default', 'full')
def bad_syntax(g):
    full = g.full
    _syntax_case(g, 4, 'transport', 'aes-gcm-128', 'none', 'ESP gcm-128 transport v4: pad bytes not 1,2,3..',
                 esp_kw={'min_pad': 1, 'pad_fn': lambda n: b'\xaa' * n})
    _syntax_case(g, 4, 'transport', 'aes-gcm-128', 'none', 'ESP gcm-128 transport v4: pad length 200 > payload',
                 esp_kw={'pad_len_field': 200})
    _syntax_case(g, 4, 'transport', 'aes-gcm-128', 'none', 'ESP gcm-128 transport v4: too short for IV+ICV',
                 mutate=lambda w, e: w[:8 + 12])
    if not full:
        return
    _syntax_case(g, 6, 'tunnel', 'aes-cbc-128', 'hmac-sha1-96', 'ESP cbc-128/sha1 tunnel v6: pad bytes 0..',
                 esp_kw={'min_pad': 1, 'pad_fn': lambda n: b'\x00' * n})
    _syntax_case(g, 4, 'tunnel', 'null', 'hmac-sha256-128', 'ESP null/sha256 tunnel v4: pad bytes reversed',
                 esp_kw={'min_pad': 2, 'pad_fn': lambda n: bytes(range(n, 0, -1))})
    _syntax_case(g, 4, 'transport', 'aes-cbc-256', 'hmac-sha256-128', 'ESP cbc-256/sha256 transport v4: pad length 255',
                 esp_kw={'pad_len_field': 255})
    _syntax_case(g, 6, 'transport', 'aes-gcm-256', 'none', 'ESP gcm-256 transport v6: pad length one more than the plaintext holds',
                 esp_kw={'pad_len_field': lambda n: n + 1})
    _syntax_case(g, 4, 'tunnel', 'aes-cbc-128', 'hmac-sha1-96', 'ESP cbc-128/sha1 tunnel v4: too short for IV+ICV',
                 mutate=lambda w, e: w[:8 + 16 + 4])
    _syntax_case(g, 6, 'transport', 'null', 'aes-gmac-128', 'ESP gmac-128 transport v6: only SPI and sequence number',
                 mutate=lambda w, e: w[:8])

    # CBC ciphertext not a whole number of blocks, with a valid ICV over it
    def cut_block(w, e, holder={}):
        sa = holder['sa']
        return _resign(sa, w[:len(w) - sa.icv_len - 4])
    holder = {}
    sa = g.sa('esp', 'transport', 'aes-cbc-128', 'hmac-sha1-96')
    holder['sa'] = sa
    name = 'ESP cbc-128/sha1 transport v4: ciphertext not a multiple of 16 (ICV valid)'
    g.install(name, [sa], 4, 'transport')
    s, d = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport', size=40)
    g.exp_fail(g.esp_frame(sa, 4, s, d, p, nh, mutate=lambda w, e: cut_block(w, e, holder)), name, name, SYNTAX)

    # AH whose header does not fit in the IP packet
    sa = g.sa('ah', 'transport', auth='hmac-sha256-128')
    name = 'AH sha256 transport v4: IP total length ends inside the AH header'
    g.install(name, [sa], 4, 'transport')
    ah = ref.ah_header(sa, 1, ref.IPPROTO_UDP, 4)
    ip, hl = g.ip(4, s, d, ref.IPPROTO_AH, ah[:20])
    g.exp_fail(Built(g.eth(ip)), name, name, SYNTAX)


# ---- ESN ----

@case('default')
def esn_default(g):
    g.simple_esp('ESP gcm-128 transport v4 ESN seq_hi 1', 4, 'transport', 'aes-gcm-128', esn=True, seq_hi=1)
    g.simple_esp('ESP cbc-128/sha256 tunnel v4 ESN seq_hi 2', 4, 'tunnel', 'aes-cbc-128', 'hmac-sha256-128', esn=True,
                 seq_hi=2)


@case('full')
def esn_full(g):
    for version, mode, enc, auth, hi in ((4, 'transport', 'aes-gcm-128', 'none', 1),
                                         (6, 'tunnel', 'aes-gcm-256', 'none', 0x12345678),
                                         (4, 'tunnel', 'aes-cbc-128', 'hmac-sha256-128', 2),
                                         (6, 'transport', '3des-cbc', 'hmac-sha1-96', 0xFFFFFFFF),
                                         (4, 'transport', 'null', 'hmac-md5-96', 7),
                                         (4, 'transport', 'null', 'aes-gmac-128', 3),
                                         (6, 'transport', 'aes-gcm-128', 'none', 0)):
        g.simple_esp('ESP %s %s %s ESN seq_hi 0x%x' % (short(enc, auth, 16), mode, v_name(version), hi), version, mode,
                     enc, auth, esn=True, seq_hi=hi, count=2)
    sa, name = g.simple_ah('AH sha256 transport v4 ESN seq_hi 5', 4, 'transport', 'hmac-sha256-128', esn=True, seq_hi=5)
    # ICVs computed without the high bits (what scapy 2.5 does for non-AEAD ESP): must fail
    sa = g.sa('esp', 'transport', 'aes-cbc-128', 'hmac-sha1-96', esn=True, seq_hi=9)
    name = 'ESP cbc-128/sha1 ESN: ICV without seq_hi'
    g.install(name, [sa], 4, 'transport')
    s, d = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport')
    g.exp_fail(g.esp_frame(sa, 4, s, d, p, nh, esp_kw={'esn_in_icv': False}), name, name, T_ESP)
    sa = g.sa('esp', 'transport', 'aes-gcm-128', esn=True, seq_hi=4)
    name = 'ESP gcm-128 ESN: AAD without seq_hi'
    g.install(name, [sa], 4, 'transport')
    nosa = Sa('esp', sa.spi, mode='transport', enc=sa.enc, enc_key=sa.enc_key, salt=sa.salt)
    p, nh = g.payload_for(4, 'transport')
    g.exp_fail(g.esp_frame(nosa, 4, s, d, p, nh), name, name, T_ESP)
    sa = g.sa('ah', 'transport', auth='hmac-sha1-96', esn=True, seq_hi=3)
    name = 'AH sha1 ESN: ICV without seq_hi'
    g.install(name, [sa], 4, 'transport')
    p, nh = g.payload_for(4, 'transport')
    g.exp_fail(g.ah_frame(sa, 4, s, d, p, nh, esn_in_icv=False), name, name, T_AH)


# ---- dummy packets (next header 59) ----

@case('default', 'full')
def dummy(g):
    combos = [(4, 'transport', 'aes-gcm-128', 'none')]
    if g.full:
        combos.append((6, 'tunnel', 'aes-cbc-128', 'hmac-sha1-96'))
    for version, mode, enc, auth in combos:
        sa = g.sa('esp', mode, enc, auth)
        name = 'ESP %s %s %s: dummy packet (next header 59)' % (short(enc, auth, 16), mode, v_name(version))
        g.install(name, [sa], version, mode)
        s, d = g.endpoints(version, mode)
        b = g.esp_frame(sa, version, s, d, g.rb(24), ref.IPPROTO_NONE)
        g.exp_ok(b, name, name, verdict='dummy_dropped')


# ---- IPv4 options, IPv6 extension headers, fragments ----

RTR_ALERT = b'\x94\x04\x00\x00'
NOP_RR = b'\x01\x07\x07\x04' + b'\x00' * 4  # NOP, Record Route with one empty slot (mutable)


@case('default', 'full')
def ip_options(g):
    g.simple_esp('ESP gcm-128 transport v4 with IPv4 option Router Alert', 4, 'transport', 'aes-gcm-128',
                 ip_kw={'options': RTR_ALERT})
    if not g.full:
        return
    g.simple_esp('ESP cbc-128/sha1 tunnel v4 with IPv4 options NOP+RR', 4, 'tunnel', 'aes-cbc-128', 'hmac-sha1-96',
                 ip_kw={'options': NOP_RR})
    g.simple_ah('AH sha256 transport v4 with Router Alert (immutable option)', 4, 'transport', 'hmac-sha256-128',
                ip_kw={'options': RTR_ALERT})

    def record(ip, hl):
        p = bytearray(ip)
        p[20 + 3] = 8  # RR pointer moves on ...
        p[20 + 4:20 + 8] = bytes([198, 51, 100, 77])  # ... after a router recorded its address
        p[8] -= 1
        return ref.ipv4_fix(bytes(p[:hl]), len(p)) + bytes(p[hl:])
    g.simple_ah('AH sha1 transport v4 with Record Route filled in en route (mutable option)', 4, 'transport',
                'hmac-sha1-96', ip_kw={'options': NOP_RR}, after=record)


def _hbh():
    return IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b'')])


def _dst(opt_type=0x1E, data=b'\x00\x00\x00\x00'):
    return IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=opt_type, optdata=data)])


@case('default', 'full')
def ipv6_ext(g):
    g.simple_esp('ESP gcm-128 transport v6 after a Hop-by-Hop header', 6, 'transport', 'aes-gcm-128',
                 ip_kw={'ext': [_hbh()]})
    if not g.full:
        return
    g.simple_esp('ESP cbc-256/sha256 tunnel v6 after HBH + Destination Options', 6, 'tunnel', 'aes-cbc-256',
                 'hmac-sha256-128', ip_kw={'ext': [_hbh(), _dst()]})
    g.simple_esp('ESP gcm-256 transport v6 after a Routing header (segments left 0)', 6, 'transport', 'aes-gcm-256',
                 ip_kw={'ext': [IPv6ExtHdrRouting(addresses=[], segleft=0)]})
    g.simple_ah('AH sha256 transport v6 after HBH + Destination Options', 6, 'transport', 'hmac-sha256-128',
                ip_kw={'ext': [_hbh(), _dst()]})

    # AH after a DstOpt whose option may change en route (type 0x3E: change bit set): its data is zeroed
    def change(ip, hl):
        p = bytearray(ip)
        p[hl - 4:hl] = b'\xde\xad\xbe\xef'  # the option data of the 8-byte DstOpt header right before AH
        return bytes(p)
    g.simple_ah('AH sha1 transport v6 after a DstOpt option changed en route (type 0x3E, mutable)', 6, 'transport',
                'hmac-sha1-96', ip_kw={'ext': [_dst(0x3E, b'\x01\x02\x03\x04')]}, after=change)


@case('default', 'full')
def fragments(g):
    # IPv4: an ESP packet split in two fragments; neither can be processed inline
    sa = g.sa('esp', 'tunnel', 'aes-gcm-128')
    name = 'fragmented-esp-v4'
    g.install(name, [sa], 4, 'tunnel')
    s, d = g.endpoints(4, 'tunnel')
    p, nh = g.payload_for(4, 'tunnel', size=200)
    e = ref.esp_protect(sa, g.next_seq(sa), p, nh, g.rb(8))
    ipid = 0x4242
    ip1, _ = g.ip(4, s, d, ref.IPPROTO_ESP, e.wire[:128], flags=1, frag=0, ipid=ipid)
    ip2, _ = g.ip(4, s, d, ref.IPPROTO_ESP, e.wire[128:], flags=0, frag=16, ipid=ipid)
    g.exp_none(g.eth(ip1), 'ESP v4 first fragment (MF)', sa=name)
    g.exp_none(g.eth(ip2), 'ESP v4 last fragment (offset 128)', sa=name)
    if not g.full:
        return
    # DF alone is not a fragment
    g.simple_esp('ESP gcm-128 transport v4 with DF set (not a fragment)', 4, 'transport', 'aes-gcm-128',
                 ip_kw={'flags': 2})
    # IPv6 fragment header before ESP
    sa = g.sa('esp', 'transport', 'aes-gcm-256')
    name = 'fragmented-esp-v6'
    g.install(name, [sa], 6, 'transport')
    s, d = g.endpoints(6, 'transport')
    p, nh = g.payload_for(6, 'transport', size=200)
    e = ref.esp_protect(sa, g.next_seq(sa), p, nh, g.rb(8))
    ip1, _ = g.ip(6, s, d, ref.IPPROTO_ESP, e.wire[:120], ext=[IPv6ExtHdrFragment(offset=0, m=1, id=0x77)])
    ip2, _ = g.ip(6, s, d, ref.IPPROTO_ESP, e.wire[120:], ext=[IPv6ExtHdrFragment(offset=15, m=0, id=0x77)])
    g.exp_none(g.eth(ip1), 'ESP v6 first fragment (fragment header, M=1)', sa=name)
    g.exp_none(g.eth(ip2), 'ESP v6 last fragment (offset 120)', sa=name)


# ---- SA lifetime: SaDeleteReq ----

@case('full')
def sa_delete_req(g):
    s, d = g.endpoints(4, 'transport')
    sa = g.sa('esp', 'transport', 'aes-gcm-128')
    out = g.sa('esp', 'transport', 'aes-gcm-128')
    name = 'lifetime-3-packets'
    g.S.add_sa(name + '-out', [out], src=d, dst=s, direction='outbound', pair=name)
    g.install(name, [sa], 4, 'transport', pair=name + '-out', delete_policy={'packet_lifetime': 3})
    for i in range(3):
        p, nh = g.payload_for(4, 'transport')
        g.exp_ok(g.esp_frame(sa, 4, s, d, p, nh), 'packet lifetime 3: packet %d' % (i + 1), name,
                 sa_delete_req=1 if i == 2 else 0)
    sa = g.sa('esp', 'transport', 'aes-cbc-128', 'hmac-sha1-96')
    name = 'seq-wrap-margin-256'
    g.install(name, [sa], 4, 'transport', delete_policy={'seq_wrap_margin': 256})
    for seq, req in ((0xFFFF0000, 0), (0xFFFFFF80, 1)):
        p, nh = g.payload_for(4, 'transport')
        g.exp_ok(g.esp_frame(sa, 4, s, d, p, nh, seq=seq), 'sequence number 0x%08x, wrap margin 256' % seq, name,
                 sa_delete_req=req)


# ---- SAs with algorithms IPsecOV2 cannot name: refused by the driver, packets left to software ----

@case('full')
def not_offloadable(g):
    for version, mode, enc, auth, icv in ((4, 'tunnel', 'aes-ctr', 'hmac-sha256-128', None),
                                          (4, 'transport', 'aes-cbc-128', 'hmac-sha384-192', None),
                                          (6, 'transport', 'aes-cbc-256', 'hmac-sha512-256', None),
                                          (4, 'tunnel', 'aes-ccm', 'none', 16),
                                          (4, 'transport', 'chacha20-poly1305', 'none', 16),
                                          (4, 'tunnel', 'null', 'aes-xcbc-mac-96', None)):
        sa = g.sa('esp', mode, enc, auth, icv)
        name = 'ESP %s %s %s (not offloadable)' % (short(enc, auth, 16), mode, v_name(version))
        g.install(name, [sa], version, mode)
        s, d = g.endpoints(version, mode)
        p, nh = g.payload_for(version, mode)
        g.exp_none(g.esp_frame(sa, version, s, d, p, nh), name, sa=name)
    sa = g.sa('ah', 'transport', auth='hmac-sha384-192')
    name = 'AH sha384 transport v4 (not offloadable)'
    g.install(name, [sa], 4, 'transport')
    s, d = g.endpoints(4, 'transport')
    p, nh = g.payload_for(4, 'transport')
    g.exp_none(g.ah_frame(sa, 4, s, d, p, nh), name, sa=name)


SUITES = {
    'default': 'The bundled demo: a readable mix of ESP and AH, tunnel and transport, IPv4 and IPv6, '
               'plain traffic, corrupted packets, one replay.',
    'full': 'Every generated case: the ESP/AH algorithm matrix in both modes and IP versions, bundles, '
            'transport-over-tunnel, UDP-ESP, ESN, anti-replay, lookups, syntax and ICV negatives, '
            'options/extension headers, fragments, SA lifetimes and SAs IPsecOV2 cannot name.',
}


def build(suite):
    s = Scenario('default' if suite == 'default' else 'scapy_full', SUITES[suite])
    g = Gen(s, suite)
    for name, suites, fn in CASES:
        if suite in suites:
            g.start_case(name)
            fn(g)
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=False, help='scenario directory to write')
    ap.add_argument('--suite', default='default', choices=sorted(SUITES))
    ap.add_argument('--list', action='store_true', help='print the frames and their expected result')
    a = ap.parse_args(argv)
    s = build(a.suite)
    if a.list:
        for e in s.expected:
            print('%4d  cd=%d ncd=%d st=%d %-15s %s' % (e['frame'], e['crypto_done'], e['next_crypto_done'],
                                                     e['crypto_status'], e['stack_verdict'], e['case']))
    if a.out:
        s.write(a.out)
        print('%s: %d frames, %d SAs -> %s' % (a.suite, len(s.frames), len(s.sas), a.out))
    elif not a.list:
        ap.error('--out DIR (or --list) is required')


if __name__ == '__main__':
    main()
